-- A TLS echo server with the test certificate (Node's tls.createServer example, translated).
--   build/lode examples/tls_echo_server.lua [port]
--   openssl s_client -connect 127.0.0.1:8000 -servername localhost -CAfile spec/fixtures/ca.pem
local tls = require "tls"
local fs = require "fs"

local dir = (arg and arg[0] or ""):match("^(.*)/examples/") or "."
local options = {
  key = fs.readFileSync(dir .. "/spec/fixtures/localhost-key.pem"),
  cert = fs.readFileSync(dir .. "/spec/fixtures/localhost.pem"),
  ALPNProtocols = { "h2", "http/1.1" },
}

local server = tls.createServer(options, function(socket)
  console.log("server connected", socket.authorized and "authorized" or "unauthorized",
    socket.servername, socket.alpnProtocol)
  socket:write("welcome!\n")
  socket:setEncoding("utf8")
  socket:pipe(socket)
end)
server:on("tlsClientError", function(err) console.error("tlsClientError:", err.message) end)
server:listen(tonumber(process.argv[3]) or 8000, function()
  console.log("server bound on port", server:address().port)
end)
