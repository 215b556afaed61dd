-- The anchor's hello world (../shared/anchors/node-hello.js), over h2c.
local http2 = require "http2"
local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({ ["content-type"] = "text/plain; charset=utf-8", [":status"] = 200 })
  stream:finish("hello world")
end)
server:listen(tonumber(process.argv[3]) or 8001, "127.0.0.1")
