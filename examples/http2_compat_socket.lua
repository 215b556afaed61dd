-- The document's response.socket example: the socket proxy gives the peer's address.
--   lode examples/http2_compat_socket.lua [port]
local http2 = require "http2"

http2.createServer(function(req, res)
  local ip = req.socket.remoteAddress
  local port = req.socket.remotePort
  res:finish(string.format("Your IP address is %s and your source port is %s.", ip, port))
end):listen(tonumber(arg and arg[1]) or 3000)
