-- The document's ALPN negotiation example: HTTP/2 and HTTPS (HTTP/1.1) on one TLS port.
--   http2_alpn.lua [port [key.pem cert.pem]]
-- Try: curl --cacert spec/fixtures/ca.pem https://localhost:4443/ (h2) and with --http1.1.
local http2 = require "http2"
local fs = require "fs"

local fixtures = (debug.getinfo(1, "S").source:match("^@(.*)/examples/") or ".") .. "/spec/fixtures/"
local cert = fs.readFileSync(process.argv[5] or fixtures .. "localhost.pem")
local key = fs.readFileSync(process.argv[4] or fixtures .. "localhost-key.pem")

local function onRequest(req, res)
  -- Detects if it is a HTTPS request or HTTP/2
  local alpnProtocol = (req.httpVersion == "2.0" and req.stream.session or req).socket.alpnProtocol
  res:writeHead(200, { ["content-type"] = "application/json" })
  res:finish(string.format('{"alpnProtocol":%s,"httpVersion":"%s"}',
    alpnProtocol and ('"' .. alpnProtocol .. '"') or "false", req.httpVersion))
end

http2.createSecureServer({ cert = cert, key = key, allowHTTP1 = true }, onRequest)
  :listen(tonumber(process.argv[3]) or 4443)
