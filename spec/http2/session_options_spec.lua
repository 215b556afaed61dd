-- Session options with an effect on the wire: maxSessionInvalidFrames, maxReservedRemoteStreams,
-- peerMaxConcurrentStreams, maxSettings, maxDeflateDynamicTableSize, protocol
-- (maxSendHeaderBlockLength: frame_error_spec; maxOutstandingPings: session_spec;
-- maxSessionMemory, maxSessionRejectedStreams, createConnection: specs of their own).
local helper = require "spec.helper"
local http2 = require "lode.http2"
local cp = require "lode.child_process"
local timers = require "lode.timers"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

-- A peer (python3-h2) that sends `n` requests with an upper-case header name (each an invalid
-- frame to nghttp2) and prints the frames it receives as "TYPE stream_id error_code".
local INVALID_PEER = [[
import socket, sys, time
from hyperframe.frame import SettingsFrame, HeadersFrame
from hpack import Encoder
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(('127.0.0.1', port))
enc = Encoder()
def req(sid):
    f = HeadersFrame(sid)
    f.data = enc.encode([(':method', 'GET'), (':path', '/'), (':scheme', 'http'),
                         (':authority', 'x'), ('X-Upper', 'v')])
    f.flags.add('END_HEADERS'); f.flags.add('END_STREAM')
    return f.serialize()
out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize()
out += b''.join(req(2 * i + 1) for i in range(n))
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
i = 0
while i + 9 <= len(buf):
    length = int.from_bytes(buf[i:i+3], 'big'); t = buf[i+3]
    sid = int.from_bytes(buf[i+5:i+9], 'big') & 0x7fffffff
    payload = buf[i+9:i+9+length]
    if t == 3: print('RST_STREAM', sid, int.from_bytes(payload[0:4], 'big'))
    if t == 7: print('GOAWAY', sid, int.from_bytes(payload[4:8], 'big'))
    i += 9 + length
]]

-- A server that never sends its SETTINGS: prints its port, then the stream id of every HEADERS
-- frame received in 1 s.
local SILENT_SERVER = [[
import socket, sys, time
l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)
print(l.getsockname()[1], flush=True)
c, _ = l.accept()
c.settimeout(0.2)
buf = b''
end = time.time() + 1
while time.time() < end:
    try:
        chunk = c.recv(65536)
    except socket.timeout:
        continue
    if not chunk: break
    buf += chunk
buf = buf[24:]
i = 0
while i + 9 <= len(buf):
    length = int.from_bytes(buf[i:i+3], 'big'); t = buf[i+3]
    sid = int.from_bytes(buf[i+5:i+9], 'big') & 0x7fffffff
    if t == 1: print('HEADERS', sid, flush=True)
    i += 9 + length
c.close()
]]

-- A client (python3-h2 framing) that sends a SETTINGS frame of `n` entries, or two GET requests
-- one after the other; prints "SETTINGS_ACK", "GOAWAY code" and "HEADERS stream_id length" for
-- the frames it gets back.
local RAW_CLIENT = [[
import socket, sys, time
from hyperframe.frame import SettingsFrame, HeadersFrame
from hpack import Encoder
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(('127.0.0.1', port))
enc = Encoder()
out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
if mode == 'settings':
    f = SettingsFrame(0)
    body = b''.join((3).to_bytes(2, 'big') + (100).to_bytes(4, 'big') for _ in range(n))
    out += len(body).to_bytes(3, 'big') + b'\x04\x00\x00\x00\x00\x00' + body
else:
    out += SettingsFrame(0).serialize()
s.sendall(out)
def req(sid):
    f = HeadersFrame(sid)
    f.data = enc.encode([(':method', 'GET'), (':path', '/'), (':scheme', 'http'), (':authority', 'x')])
    f.flags.add('END_HEADERS'); f.flags.add('END_STREAM')
    return f.serialize()
s.settimeout(0.3)
buf = b''
end = time.time() + 1.5
sent = 0
while time.time() < end:
    if mode == 'requests' and sent < n and (sent == 0 or buf.count(b'ok') >= sent):
        s.sendall(req(2 * sent + 1)); sent += 1
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        continue
    except ConnectionResetError:
        break
    if not chunk: break
    buf += chunk
i = 0
while i + 9 <= len(buf):
    length = int.from_bytes(buf[i:i+3], 'big'); t = buf[i+3]; flags = buf[i+4]
    sid = int.from_bytes(buf[i+5:i+9], 'big') & 0x7fffffff
    payload = buf[i+9:i+9+length]
    if t == 4 and flags & 1: print('SETTINGS_ACK')
    if t == 7: print('GOAWAY', int.from_bytes(payload[4:8], 'big'))
    if t == 1: print('HEADERS', sid, length)
    i += 9 + length
]]

describe("session options", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  describe("maxSessionInvalidFrames", function()
    local function run(options, n)
      local port
      server, port = U.server(options, function(stream)
        stream:on("error", function() end)
        stream:respond({ [":status"] = 200 })
        stream:finish("ok")
      end)
      local session_err, server_err
      server:on("session", function(s) s:on("error", function(e) session_err = e end) end)
      server:on("sessionError", function(e) server_err = e end)
      local err, out, errout = U.run("/usr/bin/python3", { "-c", INVALID_PEER, tostring(port), tostring(n) })
      assert.is_nil(err, errout)
      return out, session_err, server_err
    end

    it("past the limit fails the session with ERR_HTTP2_TOO_MANY_INVALID_FRAMES, as Node", function()
      local out, session_err, server_err = run({ maxSessionInvalidFrames = 2 }, 10)
      assert.equal("ERR_HTTP2_TOO_MANY_INVALID_FRAMES", session_err.code)
      assert.equal("Too many invalid HTTP/2 frames", session_err.message)
      assert.equal("ERR_HTTP2_TOO_MANY_INVALID_FRAMES", server_err.code)
      -- Node sends GOAWAY INTERNAL_ERROR; the streams before the limit were reset.
      assert.matches("GOAWAY 0 2", out)
      assert.not_matches("RST_STREAM 19", out)
    end)

    it("under the limit (default 1000) each invalid stream is only reset", function()
      local out, session_err = run(nil, 10)
      assert.is_nil(session_err)
      assert.matches("RST_STREAM 19 1", out)
      assert.not_matches("GOAWAY", out)
    end)
  end)

  describe("maxReservedRemoteStreams", function()
    local function pushes(limit)
      local port
      server, port = U.server(function(stream)
        for i = 1, 3 do
          stream:pushStream({ [":path"] = "/p" .. i }, function(err, ps)
            if err then return end
            ps:on("error", function() end)
            -- Kept reserved (no HEADERS yet) for a while.
            timers.setTimeout(function()
              if not ps.destroyed then ps:respond(); ps:finish("x") end
            end, 100)
          end)
        end
        timers.setTimeout(function() stream:respond(); stream:finish("main") end, 200)
      end)
      client = U.connect(port, { maxReservedRemoteStreams = limit })
      local n, closed = 0, false
      client:on("stream", function(ps) n = n + 1; ps:on("error", function() end); ps:resume() end)
      local req = client:request()
      req:resume()
      req:on("close", function() closed = true end)
      helper.run_loop(function() return closed end)
      return n
    end

    it("bounds the pushed streams the client accepts", function()
      assert.equal(1, pushes(1))
    end)

    it("lets them all through when large enough", function()
      assert.equal(3, pushes(10))
    end)
  end)

  describe("peerMaxConcurrentStreams", function()
    local function headers_seen(options)
      local child = cp.spawn("/usr/bin/python3", { "-c", SILENT_SERVER })
      local buf, exited = "", false
      child.stdout:on("data", function(d) buf = buf .. d end)
      child:on("exit", function() exited = true end)
      helper.run_loop(function() return buf:match("^%d+\n") end, 5000)
      local port = tonumber(buf:match("^(%d+)\n"))
      client = http2.connect("http://127.0.0.1:" .. port, options)
      client:on("error", function() end)
      for _ = 1, 3 do
        local req = client:request()
        req:on("error", function() end)
      end
      helper.run_loop(function() return exited end, 5000)
      local n = 0
      for _ in buf:gmatch("HEADERS %d+") do n = n + 1 end
      return n
    end

    it("limits the streams opened before the peer's SETTINGS arrive", function()
      assert.equal(1, headers_seen({ peerMaxConcurrentStreams = 1 }))
    end)

    it("defaults to 100", function()
      assert.equal(3, headers_seen(nil))
    end)
  end)

  local function raw_client(options, mode, n)
    local port
    server, port = U.server(options, function(stream)
      stream:respond({ [":status"] = 200, ["x-long-header-name"] = string.rep("v", 200) })
      stream:finish("ok")
    end)
    local err, out, errout = U.run("/usr/bin/python3",
      { "-c", RAW_CLIENT, tostring(port), mode, tostring(n) })
    assert.is_nil(err, errout)
    return out
  end

  describe("maxSettings", function()
    it("fails a session whose peer sends more settings in one frame (GOAWAY ENHANCE_YOUR_CALM)", function()
      assert.matches("GOAWAY 11", raw_client({ maxSettings = 8 }, "settings", 9))
    end)

    it("acknowledges a SETTINGS frame of that many entries", function()
      local out = raw_client({ maxSettings = 8 }, "settings", 8)
      assert.matches("SETTINGS_ACK", out)
      assert.not_matches("GOAWAY", out)
    end)
  end)

  describe("maxDeflateDynamicTableSize", function()
    local function header_lengths(options)
      local out = raw_client(options, "requests", 2)
      local a, b = out:match("HEADERS 1 (%d+)\nHEADERS 3 (%d+)")
      assert.is_truthy(a, out)
      return tonumber(a), tonumber(b)
    end

    it("lets the second response's headers come from the dynamic table by default", function()
      local first, second = header_lengths(nil)
      assert.is_true(second < first - 150, first .. " then " .. second)
    end)

    it("at 0 sends every response's headers in full", function()
      local first, second = header_lengths({ maxDeflateDynamicTableSize = 0 })
      -- The first block also carries the table size update (one byte).
      assert.is_true(second >= first - 1 and second > 200, first .. " then " .. second)
    end)
  end)

  describe("protocol", function()
    local function h2c_server()
      local port
      server, port = U.server(function(stream)
        stream:respond({ [":status"] = 200 })
        stream:finish("ok")
      end)
      return port
    end

    it("is the protocol of an authority that has none", function()
      local port = h2c_server()
      client = http2.connect({ hostname = "127.0.0.1", port = port }, { protocol = "http:" })
      local res = U.get(client, { [":path"] = "/" })
      assert.equal("ok", res.body)
      assert.is_false(client.encrypted)
    end)

    it("gives way to the authority's own protocol", function()
      local port = h2c_server()
      client = http2.connect("http://127.0.0.1:" .. port, { protocol = "https:" })
      local res = U.get(client, { [":path"] = "/" })
      assert.equal("ok", res.body)
      assert.is_false(client.encrypted)
    end)

    it("defaults to https: for an authority without one, as Node", function()
      local port = h2c_server()
      client = http2.connect({ hostname = "127.0.0.1", port = port })
      local err
      client:on("error", function(e) err = e end)
      helper.run_loop(function() return err ~= nil end, 5000)
      assert.is_true(client.encrypted)
      assert.equal("ERR_SSL_WRONG_VERSION_NUMBER", err.code)
    end)

    it("raises ERR_HTTP2_UNSUPPORTED_PROTOCOL for anything but http: and https:", function()
      helper.assert_throws(function()
        http2.connect({ hostname = "127.0.0.1", port = 1 }, { protocol = "ftp:" })
      end, { code = "ERR_HTTP2_UNSUPPORTED_PROTOCOL" })
    end)
  end)
end)
