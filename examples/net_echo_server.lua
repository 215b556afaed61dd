-- An echo server: every byte a client sends comes back. Port from the first argument, or a free
-- one; the port is printed once listening.
--
--   build/lode examples/net_echo_server.lua 8124
--   node -e "const s=require('net').connect(8124,'127.0.0.1',()=>{s.end('hi')});s.pipe(process.stdout)"
local net = require "net"

local server = net.createServer(function(socket)
  socket:on("error", function(err) console.error("socket error:", err.message) end)
  socket:pipe(socket)
end)

server:on("error", function(err)
  console.error(err.message)
  process.exit(1)
end)

server:listen(tonumber(arg[1]) or 0, "127.0.0.1", function()
  print(server:address().port)
end)
