-- http2session.goaway(): the server sends GOAWAY with a code, last stream id and opaque data;
-- the client's 'goaway' event gets them.
local http2 = require "http2"
local server = http2.createServer()
server:on("session", function(session)
  session:goaway(http2.constants.NGHTTP2_NO_ERROR, 0, "bye!")
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  client:on("goaway", function(errorCode, lastStreamID, opaqueData)
    print(string.format("goaway code=%d lastStreamID=%d opaqueData=%s", errorCode, lastStreamID, opaqueData))
    client:close()
    server:close()
  end)
end)
