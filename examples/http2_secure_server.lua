-- The document's first example: an HTTP/2 server over TLS, the kind browsers speak to.
--   http2_secure_server.lua [port [key.pem cert.pem]]
-- Without a key and certificate it uses the test ones in spec/fixtures (signed by its ca.pem).
local http2 = require "http2"
local fs = require "fs"

local fixtures = (debug.getinfo(1, "S").source:match("^@(.*)/examples/") or ".") .. "/spec/fixtures/"
local server = http2.createSecureServer({
  key = fs.readFileSync(process.argv[4] or fixtures .. "localhost-key.pem"),
  cert = fs.readFileSync(process.argv[5] or fixtures .. "localhost.pem"),
})
server:on("error", function(err) console.error(err) end)

server:on("stream", function(stream, headers) -- luacheck: ignore headers
  -- stream is a Duplex
  stream:respond({
    ["content-type"] = "text/html; charset=utf-8",
    [":status"] = 200,
  })
  stream:finish("<h1>Hello World</h1>")
end)

server:listen(tonumber(process.argv[3]) or 8443)
