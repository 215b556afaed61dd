-- http2stream.setTimeout: cancel the stream after msecs without activity (the document's example).
--   lode examples/http2_stream_timeout.lua [port] [msecs]
local http2 = require "http2"
local client = http2.connect("http://127.0.0.1:" .. (arg and arg[1] or "8000"))
local NGHTTP2_CANCEL = http2.constants.NGHTTP2_CANCEL
local req = client:request({ [":path"] = "/" })

-- Cancel the stream if there's no activity after 5 seconds
req:setTimeout(tonumber(arg and arg[2]) or 5000, function() req:close(NGHTTP2_CANCEL) end)
req:on("error", function(err) print(err.message) end)
req:on("close", function()
  print("closed with " .. req.rstCode)
  client:close()
end)
