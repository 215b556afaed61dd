-- The file-over-TLS server: lode's side of servers/node-file-tls.js. Serves ./www; key.pem/cert.pem
-- are read from the working folder.
--   build-bench/lode bench/servers/lode-file-tls.lua PORT
local http2 = require "http2"
local fs = require "fs"

local server = http2.createSecureServer({
  key = fs.readFileSync("key.pem"),
  cert = fs.readFileSync("cert.pem"),
})
server:on("stream", function(stream, headers)
  stream:respondWithFile("www" .. headers[":path"], { ["content-type"] = "application/octet-stream" })
end)
server:listen(tonumber(arg[1]) or 8007, "127.0.0.1")
