-- The file server of ../shared/anchors/node-file.js: serves ./www + :path with respondWithFile.
--   lode examples/http2_file_server.lua [port]
local http2 = require "http2"

local server = http2.createServer()
server:on("stream", function(stream, headers)
  stream:respondWithFile("www" .. headers[":path"], { ["content-type"] = "application/octet-stream" })
end)
server:listen(tonumber(arg and arg[1]) or 8005, "127.0.0.1")
