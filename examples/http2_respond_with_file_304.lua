-- statCheck cancelling the send for a 304 (the document's conditional-request example).
--   lode examples/http2_respond_with_file_304.lua [port] [file]
local http2 = require "http2"
local file = arg and arg[2] or "/etc/hostname"

local server = http2.createServer()
server:on("stream", function(stream)
  local function statCheck()
    -- Check the stat here...
    stream:respond({ [":status"] = 304 })
    return false -- Cancel the send operation
  end
  stream:respondWithFile(file, { ["content-type"] = "text/plain; charset=utf-8" }, { statCheck = statCheck })
end)
server:listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
