-- #interop Http2Session:destroy() with streams open, on the wire and locally, as Node 20 does it:
-- each open stream is closed with the session's code (the code it was destroyed with, or the
-- GOAWAY code it received) as its rstCode; on the wire RST_STREAM(code) for every stream but the
-- last, then GOAWAY(code) (Node flushes each reset when it submits the next one, and the last
-- is still queued when Http2Session::Close terminates the session, so nghttp2 drops it).
-- The peer is a raw python3-h2 client that records the frames; the same peer against a Node 20
-- server must see the same frames.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, ENHANCE_YOUR_CALM = 0, 1, 2, 11

-- argv: port nreq mode. Opens nreq streams (POST, no END_STREAM), then, with mode "goawayN",
-- sends GOAWAY(N) once the response HEADERS on stream 1 came. Prints every RST_STREAM and
-- GOAWAY the server sends until it closes the connection ("CLOSED").
local PEER = [==[
import socket, sys, time
from hyperframe.frame import SettingsFrame, HeadersFrame, GoAwayFrame
from hpack import Encoder
port, nreq, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(10.0)
enc = Encoder()
def req(sid):
    h = HeadersFrame(sid)
    h.data = enc.encode([(':method', 'POST'), (':path', '/r%d' % sid), (':scheme', 'http'),
                         (':authority', 'x')])
    h.flags.add('END_HEADERS')
    return h.serialize()
out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize()
for i in range(nreq): out += req(2 * i + 1)
s.sendall(out)
pending = b''
while True:
    while len(pending) >= 9:
        length = int.from_bytes(pending[0:3], 'big')
        if len(pending) < 9 + length: break
        t, fl = pending[3], pending[4]
        sid = int.from_bytes(pending[5:9], 'big') & 0x7fffffff
        p = pending[9:9+length]
        pending = pending[9+length:]
        if t == 4 and not (fl & 1):
            s.sendall(SettingsFrame(0, flags=['ACK']).serialize())
        elif t == 3:
            print('RST_STREAM', sid, int.from_bytes(p[0:4], 'big'))
        elif t == 7:
            print('GOAWAY', int.from_bytes(p[0:4], 'big') & 0x7fffffff, int.from_bytes(p[4:8], 'big'))
        elif t == 1 and sid == 1 and mode.startswith('goaway'):
            s.sendall(GoAwayFrame(0, last_stream_id=0, error_code=int(mode[6:])).serialize())
    try:
        chunk = s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        print('TIMEOUT'); break
    if not chunk:
        print('CLOSED'); break
    pending += chunk
]==]

-- The server's side in Node, for the comparison: the same handler as the lode one below.
local NODE_SERVER = [==[
  const http2 = require('http2');
  const [nreq, how] = [+process.argv[1], process.argv[2]];
  const server = http2.createServer();
  let n = 0;
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    if (stream.id === 1) { stream.respond({ ':status': 200 }); stream.write('partial'); }
    if (++n !== nreq) return;
    const session = stream.session;
    session.on('error', () => {});
    setTimeout(() => {
      if (how === 'destroy') session.destroy();
      else if (how === 'error') session.destroy(new Error('boom'));
      else if (how === 'code') session.destroy(11);
    }, 50);
  });
  server.listen(0, '127.0.0.1', () => console.log(server.address().port));
]==]

local function frames(out)
  local t = {}
  for line in out:gmatch("[^\n]+") do t[#t + 1] = line end
  return table.concat(t, "\n")
end

describe("#interop Http2Session:destroy() with streams open", function()
  local server, child
  after_each(function()
    U.close_server(server)
    U.kill(child)
    server, child = nil, nil
  end)

  -- A lode server doing what NODE_SERVER does; returns the peer's frames, the server streams'
  -- events and the session's error.
  local function lode_run(nreq, how, peer_mode)
    local streams, session_err, session_closed = {}, nil, false
    local n = 0
    local port
    server, port = U.server(function(stream)
      local rec = { id = stream.id, events = {} }
      streams[#streams + 1] = rec
      stream:on("aborted", function() rec.events[#rec.events + 1] = "aborted" end)
      stream:on("error", function(e) rec.err = e.code or tostring(e) end)
      stream:on("close", function()
        rec.events[#rec.events + 1] = "close"
        rec.rstCode = stream.rstCode
      end)
      if stream.id == 1 then
        stream:respond({ [":status"] = 200 })
        stream:write("partial")
      end
      n = n + 1
      if n ~= nreq then return end
      local session = stream.session
      session:on("error", function(e) session_err = e end)
      session:on("close", function() session_closed = true end)
      setTimeout(function()
        if how == "destroy" then session:destroy()
        elseif how == "error" then session:destroy(Error.new("boom"))
        elseif how == "code" then session:destroy(ENHANCE_YOUR_CALM) end
      end, 50)
    end)
    local err, out, errout = U.run("/usr/bin/python3", { "-c", PEER, tostring(port), tostring(nreq),
                                                         peer_mode or "plain" })
    assert.is_nil(err, errout)
    U.run_loop(function() return session_closed end, 5000)
    return frames(out), streams, session_err
  end

  local function node_run(nreq, how, peer_mode)
    local port
    child, port = U.node_server(NODE_SERVER:gsub("process%.argv%[1%], process%.argv%[2%]",
      tostring(nreq) .. ", '" .. how .. "'"))
    local err, out, errout = U.run("/usr/bin/python3", { "-c", PEER, tostring(port), tostring(nreq),
                                                         peer_mode or "plain" })
    assert.is_nil(err, errout)
    return frames(out)
  end

  local function assert_streams(streams, n, code, err_code)
    assert.equal(n, #streams)
    for _, rec in ipairs(streams) do
      assert.same({ "aborted", "close" }, rec.events, "stream " .. rec.id)
      assert.equal(code, rec.rstCode, "stream " .. rec.id)
      assert.equal(err_code, rec.err, "stream " .. rec.id)
    end
  end

  it("destroy(): RST_STREAM NO_ERROR but for the last stream, GOAWAY NO_ERROR; rstCode 0", function()
    local out, streams, serr = lode_run(3, "destroy")
    assert.equal("RST_STREAM 1 0\nRST_STREAM 3 0\nGOAWAY 5 0\nCLOSED", out)
    assert_streams(streams, 3, NO_ERROR, nil)
    assert.is_nil(serr)
  end)

  it("destroy() with one stream open: only GOAWAY", function()
    local out, streams = lode_run(1, "destroy")
    assert.equal("GOAWAY 1 0\nCLOSED", out)
    assert_streams(streams, 1, NO_ERROR, nil)
  end)

  it("destroy(err): INTERNAL_ERROR on every stream, the error on each, GOAWAY INTERNAL_ERROR", function()
    local out, streams, serr = lode_run(3, "error")
    assert.equal("RST_STREAM 1 2\nRST_STREAM 3 2\nGOAWAY 5 2\nCLOSED", out)
    assert.equal(3, #streams)
    for _, rec in ipairs(streams) do
      assert.equal(INTERNAL_ERROR, rec.rstCode)
      assert.is_not_nil(rec.err)
    end
    assert.equal("boom", serr.message)
  end)

  it("destroy(code): that code on the wire and as rstCode, ERR_HTTP2_SESSION_ERROR", function()
    local out, streams, serr = lode_run(4, "code")
    assert.equal("RST_STREAM 1 11\nRST_STREAM 3 11\nRST_STREAM 5 11\nGOAWAY 7 11\nCLOSED", out)
    assert_streams(streams, 4, ENHANCE_YOUR_CALM, "ERR_HTTP2_SESSION_ERROR")
    assert.equal("ERR_HTTP2_SESSION_ERROR", serr.code)
  end)

  it("a GOAWAY with an error from the peer: its code as rstCode, GOAWAY NO_ERROR back", function()
    local out, streams, serr = lode_run(3, "none", "goaway" .. PROTOCOL_ERROR)
    assert.equal("RST_STREAM 1 1\nRST_STREAM 3 1\nGOAWAY 5 0\nCLOSED", out)
    assert_streams(streams, 3, PROTOCOL_ERROR, "ERR_HTTP2_SESSION_ERROR")
    assert.equal("ERR_HTTP2_SESSION_ERROR", serr.code)
  end)

  for _, case in ipairs {
    { 3, "destroy" }, { 1, "destroy" }, { 3, "error" }, { 4, "code" }, { 3, "none", "goaway1" },
  } do
    it(("the same frames as a Node 20 server: %d streams, %s %s"):format(case[1], case[2], case[3] or ""),
      function()
        local node_out = node_run(case[1], case[2], case[3])
        U.kill(child)
        child = nil
        local lode_out = lode_run(case[1], case[2], case[3])
        assert.equal(node_out, lode_out)
      end)
  end
end)

describe("a connection that drops with streams open", function()
  local server
  after_each(function()
    U.close_server(server)
    server = nil
  end)

  -- Opens three streams (no END_STREAM), waits, and closes the socket.
  local DROPPER = [==[
import socket, sys, time
from hyperframe.frame import SettingsFrame, HeadersFrame
from hpack import Encoder
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
enc = Encoder()
out = b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' + SettingsFrame(0).serialize()
for sid in (1, 3, 5):
    h = HeadersFrame(sid)
    h.data = enc.encode([(':method', 'POST'), (':path', '/'), (':scheme', 'http'), (':authority', 'x')])
    h.flags.add('END_HEADERS')
    out += h.serialize()
s.sendall(out)
time.sleep(0.3)
s.close()
]==]

  it("closes them oldest first, as Node", function()
    local order = {}
    local port
    server, port = U.server(function(stream)
      stream:on("error", function() end)
      stream:on("close", function() order[#order + 1] = stream.id end)
    end)
    local err, _, errout = U.run("/usr/bin/python3", { "-c", DROPPER, tostring(port) })
    assert.is_nil(err, errout)
    U.run_loop(function() return #order == 3 end, 5000)
    assert.same({ 1, 3, 5 }, order)
  end)
end)
