-- The TLS hello server: lode's side of ../shared/anchors/node-tls.js, line for line.
-- key.pem/cert.pem are read from the working folder.
--   build-bench/lode bench/servers/lode-tls-hello.lua PORT
local http2 = require "http2"
local fs = require "fs"

local server = http2.createSecureServer({
  key = fs.readFileSync("key.pem"),
  cert = fs.readFileSync("cert.pem"),
})
server:on("stream", function(stream)
  stream:respond({ ["content-type"] = "text/plain; charset=utf-8", [":status"] = 200 })
  stream:finish("hello world")
end)
server:listen(tonumber(arg[1]) or 8443, "127.0.0.1")
