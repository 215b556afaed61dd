-- The document's "simple TCP server" for the CONNECT example: answers "hello <name>".
--   lode examples/http2_connect_tcp_server.lua [port]
local net = require "net"

local server = net.createServer(function(socket)
  local name = ""
  socket:setEncoding("utf8")
  socket:on("data", function(chunk) name = name .. chunk end)
  socket:on("end", function() socket:finish("hello " .. name) end)
end)

server:listen(tonumber(arg and arg[1]) or 8000)
