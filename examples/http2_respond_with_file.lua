-- respondWithFile with statCheck and onError (the document's "example using a file path"):
-- ./<path> is served; a missing file is a 404.
--   lode examples/http2_respond_with_file.lua [port]
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream, headers)
  local function statCheck(stat, h)
    h["last-modified"] = stat.mtime:toUTCString()
  end
  local function onError(err)
    -- stream:respond() can throw if the stream has been destroyed by the other side.
    local ok, e = pcall(function()
      if err.code == "ENOENT" then
        stream:respond({ [":status"] = 404 })
      else
        stream:respond({ [":status"] = 500 })
      end
    end)
    if not ok then print(e) end -- Perform actual error handling.
    stream:finish()
  end
  stream:respondWithFile("." .. headers[":path"],
    { ["content-type"] = "text/plain; charset=utf-8" },
    { statCheck = statCheck, onError = onError })
end)
server:listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
