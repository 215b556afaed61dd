-- The file server: lode's side of ../shared/anchors/node-file.js, line for line. Serves ./www.
--   build-bench/lode bench/servers/lode-file.lua PORT
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream, headers)
  stream:respondWithFile("www" .. headers[":path"], { ["content-type"] = "application/octet-stream" })
end)
server:listen(tonumber(arg[1]) or 8005, "127.0.0.1")
