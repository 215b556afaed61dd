-- A TLS client (Node's tls.connect example, translated), trusting the test CA.
--   build/lode examples/tls_client.lua [port]   (with examples/tls_echo_server.lua running)
local tls = require "tls"
local fs = require "fs"

local dir = (arg and arg[0] or ""):match("^(.*)/examples/") or "."
local socket
socket = tls.connect(tonumber(process.argv[3]) or 8000, "localhost", {
  ca = fs.readFileSync(dir .. "/spec/fixtures/ca.pem"),
  ALPNProtocols = { "h2" },
}, function()
  console.log("client connected", socket.authorized and "authorized" or "unauthorized",
    socket.alpnProtocol, socket:getCipher().name)
  socket:finish("hello over TLS\n")
end)
socket:setEncoding("utf8")
socket:on("data", function(data) io.write(data) end)
socket:on("end", function() console.log("server ends connection") end)
socket:on("error", function(err) console.error(tostring(err)) end)
