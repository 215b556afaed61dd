-- http2stream.setTimeout() + close(NGHTTP2_CANCEL): the client cancels a stalled request, and
-- both ends see rstCode 8 (CANCEL).
local http2 = require "http2"
local NGHTTP2_CANCEL = http2.constants.NGHTTP2_CANCEL
local server = http2.createServer()
local codes, client = {}, nil
local function closed(side, code)
  codes[side] = code
  if codes.client and codes.server then
    print("client stream rstCode: " .. tostring(codes.client))
    print("server stream rstCode: " .. tostring(codes.server))
    client:close()
    server:close()
  end
end
server:on("stream", function(stream)
  stream:on("close", function() closed("server", stream.rstCode) end)
  -- never responds
end)
server:listen(0, "127.0.0.1", function()
  client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/" })
  -- Cancel the stream if there's no activity after 200 ms
  req:setTimeout(200, function() req:close(NGHTTP2_CANCEL) end)
  req:on("close", function() closed("client", req.rstCode) end)
end)
