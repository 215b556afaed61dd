-- The document's HTTP/2 CONNECT proxy: tunnels each CONNECT stream to :authority over TCP.
--   lode examples/http2_connect_proxy.lua [port]
local http2 = require "http2"
local net = require "net"
local NGHTTP2_REFUSED_STREAM = http2.constants.NGHTTP2_REFUSED_STREAM

local proxy = http2.createServer()
proxy:on("stream", function(stream, headers)
  if headers[":method"] ~= "CONNECT" then
    -- Only accept CONNECT requests
    stream:close(NGHTTP2_REFUSED_STREAM)
    return
  end
  local auth = URL.new("tcp://" .. headers[":authority"])
  -- It's a very good idea to verify that hostname and port are things this proxy should be
  -- connecting to.
  local socket
  socket = net.connect(auth.port, auth.hostname, function()
    stream:respond()
    socket:pipe(stream)
    stream:pipe(socket)
  end)
  socket:on("error", function()
    stream:close(http2.constants.NGHTTP2_CONNECT_ERROR)
  end)
end)

proxy:listen(tonumber(arg and arg[1]) or 8001)
