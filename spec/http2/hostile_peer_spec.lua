-- #interop hostile peers (python3-h2's hyperframe/hpack, raw frames): malformed input gets the
-- right RST_STREAM or GOAWAY while other sessions on the same server keep working.
local helper = require "spec.helper"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

-- Sends the preface, SETTINGS, then the frames of `case`, and prints every frame received as
-- "TYPE stream_id error_code" until the connection closes or 1 s passes.
local PEER = [[
import socket, sys, time
from hyperframe.frame import (Frame, SettingsFrame, HeadersFrame, DataFrame, WindowUpdateFrame,
                              RstStreamFrame, GoAwayFrame, PingFrame)
from hpack import Encoder
port, case = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(('127.0.0.1', port))
enc = Encoder()
def req(sid, extra=(), end=True):
    f = HeadersFrame(sid)
    f.data = enc.encode([(':method', 'GET'), (':path', '/'), (':scheme', 'http'),
                         (':authority', 'x')] + list(extra))
    f.flags.add('END_HEADERS')
    if end: f.flags.add('END_STREAM')
    return f.serialize()
out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize()
if case == 'data_on_stream_0':
    d = DataFrame(1); d.data = b'x'; raw = bytearray(d.serialize()); raw[5:9] = b'\0\0\0\0'
    out += bytes(raw)
elif case == 'uppercase_header':
    out += req(1, [('X-Upper', 'v')]) + req(3)
elif case == 'window_overflow':
    out += req(1, end=False) + WindowUpdateFrame(1, window_increment=0x7fffffff).serialize() \
         + WindowUpdateFrame(1, window_increment=0x7fffffff).serialize()
elif case == 'bad_preface':
    out = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
elif case == 'ping_flood':
    out += b''.join(PingFrame(0, opaque_data=b'12345678').serialize() for _ in range(20000))
s.sendall(out)
s.settimeout(1.0)
buf = b''
end = time.time() + 2
try:
    while time.time() < end:
        chunk = s.recv(65536)
        if not chunk: break
        buf += chunk
except (socket.timeout, ConnectionResetError):
    pass
names = {0: 'DATA', 1: 'HEADERS', 3: 'RST_STREAM', 4: 'SETTINGS', 6: 'PING', 7: 'GOAWAY',
         8: 'WINDOW_UPDATE'}
i = 0
while i + 9 <= len(buf):
    length = int.from_bytes(buf[i:i+3], 'big'); t = buf[i+3]
    sid = int.from_bytes(buf[i+5:i+9], 'big') & 0x7fffffff
    payload = buf[i+9:i+9+length]
    code = ''
    if t == 3: code = int.from_bytes(payload[0:4], 'big')
    if t == 7: code = int.from_bytes(payload[4:8], 'big')
    if t != 6: print(names.get(t, t), sid, code)
    i += 9 + length
]]

describe("#interop hostile peer", function()
  local server, port, client
  before_each(function()
    server, port = U.server(function(stream)
      stream:on("error", function() end) -- resets by nghttp2 for the peer's faults
      stream:respond({ [":status"] = 200 })
      stream:finish("ok")
    end)
    server:on("sessionError", function() end)
    client = U.connect(port)
  end)
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  local function hostile(case)
    local err, out, errout = U.run("/usr/bin/python3", { "-c", PEER, tostring(port), case })
    assert.is_nil(err, errout)
    -- Another session on the same server still works.
    local res = U.get(client, {})
    assert.equal("ok", res.body)
    return out
  end

  it("DATA on stream 0: GOAWAY PROTOCOL_ERROR", function()
    assert.matches("GOAWAY 0 1", hostile("data_on_stream_0"))
  end)

  it("an upper-case header name: RST_STREAM PROTOCOL_ERROR, the next stream is served", function()
    local out = hostile("uppercase_header")
    assert.matches("RST_STREAM 1 1", out)
    assert.matches("HEADERS 3", out)
  end)

  it("a stream window past 2^31-1: RST_STREAM FLOW_CONTROL_ERROR", function()
    assert.matches("RST_STREAM 1 3", hostile("window_overflow"))
  end)

  it("an HTTP/1 request instead of the preface: the connection is closed", function()
    local out = hostile("bad_preface")
    assert.not_matches("HEADERS", out)
  end)

  it("a PING flood is answered without the server falling over", function()
    local out = hostile("ping_flood")
    assert.is_string(out)
    helper.wait(10)
  end)
end)
