-- http2.connect(authority, { createConnection = fn }): Node calls fn(authority as a URL, options)
-- and runs the session over the socket it returns. A lode net.Socket hands its connection to the
-- session (src/core/session.c lode_session_attach) once connected; any other Duplex (a
-- tls.TLSSocket, a user's stream) carries the session's bytes through Lua (lode_session_attach_user).
local helper = require "spec.helper"
local http2 = require "lode.http2"
local net = require "lode.net"
local tls = require "lode.tls"
local fs = require "lode.fs"
local Duplex = require("lode.stream").Duplex
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local NODE_SERVER = [[
const http2 = require('http2');
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  stream.respond({ ':status': 200, 'x-peer': 'node' });
  stream.end('node says ' + headers[':path'] + ' on ' + stream.session.socket.remotePort);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
]]

describe("http2.connect() with createConnection", function()
  local server, client, child, sockets
  before_each(function() sockets = {} end)
  after_each(function()
    U.close_client(client)
    for _, s in ipairs(sockets) do if not s.destroyed then s:destroy() end end
    U.close_server(server)
    U.kill(child)
    client, server, child = nil, nil, nil
    helper.verify_calls()
  end)

  local function lode_server()
    local port
    server, port = U.server(function(stream, headers)
      stream:respond({ [":status"] = 200 })
      stream:finish("lode says " .. headers[":path"] .. " on " .. stream.session.socket.remotePort)
    end)
    return port
  end

  -- A createConnection that records its arguments and opens a net.Socket to port.
  local function creator(port, calls)
    return function(url, options)
      local sock = net.connect(port, "127.0.0.1")
      sockets[#sockets + 1] = sock
      calls[#calls + 1] = { url = url, options = options, sock = sock }
      return sock
    end
  end

  it("is called once with the authority as a URL and a copy of the options", function()
    local port = lode_server()
    local calls = {}
    local options = { createConnection = creator(port, calls), peerMaxConcurrentStreams = 7 }
    client = http2.connect("http://127.0.0.1:" .. port .. "/ignored", options)
    assert.equal(1, #calls)
    assert.equal("http://127.0.0.1:" .. port .. "/ignored", calls[1].url.href)
    assert.equal("127.0.0.1", calls[1].url.hostname)
    assert.equal(tostring(port), calls[1].url.port)
    assert.equal(7, calls[1].options.peerMaxConcurrentStreams)
    assert.are_not.equal(options, calls[1].options)
    local res = U.get(client, { [":path"] = "/a" })
    assert.equal(200, res.status)
  end)

  it("carries requests and responses to a lode server over the returned socket", function()
    local port = lode_server()
    local calls = {}
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = creator(port, calls) })
    -- Made before the socket is connected: pending, then 'ready' and sent.
    local first = client:request({ [":path"] = "/early" })
    assert.is_true(first.pending)
    local body, status = {}, nil
    first:on("response", function(h) status = h[":status"] end)
    first:on("data", function(c) body[#body + 1] = c end)
    local ended
    first:on("end", function() ended = true end)
    helper.run_loop(function() return ended end)
    assert.equal(200, status)
    -- The server saw the socket's own local port: the session runs over that connection.
    local sock = calls[1].sock
    assert.equal("lode says /early on " .. sock.localPort, table.concat(body))
    assert.equal(port, client.socket.remotePort)
    assert.equal(sock.localPort, client.socket.localPort)
    for i = 1, 3 do
      local res = U.get(client, { [":path"] = "/n" .. i })
      assert.equal("lode says /n" .. i .. " on " .. sock.localPort, res.body)
    end
  end)

  it("#interop carries requests and responses to a Node 20 server", function()
    local port
    child, port = U.node_server(NODE_SERVER)
    local calls = {}
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = creator(port, calls) })
    local connected = false
    client:on("connect", helper.must_call(function() connected = true end))
    local res = U.get(client, { [":path"] = "/from-lode" })
    assert.is_true(connected)
    assert.equal(1, #calls)
    assert.equal("http://127.0.0.1:" .. port, calls[1].url.origin)
    assert.equal(200, res.status)
    assert.equal("node", res.headers["x-peer"])
    assert.equal("node says /from-lode on " .. calls[1].sock.localPort, res.body)
  end)

  it("#interop bytes the socket read before it was handed over reach the session (Node's replay)",
    function()
    local port
    child, port = U.node_server([[
      const http2 = require('http2');
      const server = http2.createServer({ settings: { maxConcurrentStreams: 77 } });
      server.on('stream', (stream) => { stream.respond({ ':status': 200 }); stream.end('late'); });
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    ]])
    -- Node's server sends its SETTINGS on accept; this socket reads them into its buffer.
    local sock = net.connect(port, "127.0.0.1")
    sockets[1] = sock
    helper.run_loop(function() return sock.readableLength > 0 end)
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = function() return sock end })
    local settings
    client:on("remoteSettings", function(s) settings = s end)
    local res = U.get(client, {})
    assert.equal("late", res.body)
    assert.equal(77, settings.maxConcurrentStreams)
  end)

  it("the socket stops owning the connection and is destroyed when the session closes", function()
    local port = lode_server()
    local calls = {}
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = creator(port, calls) })
    local sock = calls[1].sock
    sock:on("data", helper.must_call(function() end, 0)) -- h2 bytes never reach the socket
    local sock_closed, session_closed
    sock:on("close", function() sock_closed = session_closed == true end)
    client:on("close", function() session_closed = true end)
    assert.equal(200, U.get(client, {}).status)
    assert.is_false(sock.destroyed)
    client:close()
    helper.run_loop(function() return sock_closed ~= nil end)
    assert.is_true(sock_closed)
    assert.is_true(sock.destroyed)
  end)

  it("a socket that fails to connect destroys the session with its error", function()
    local port = lode_server()
    U.close_server(server) -- nothing listens there now
    server = nil
    client = http2.connect("http://127.0.0.1:" .. port,
      { createConnection = function() return net.connect(port, "127.0.0.1") end })
    local err, closed
    client:on("error", function(e) err = e end)
    client:on("close", function() closed = true end)
    client:on("connect", helper.must_call(function() end, 0))
    helper.run_loop(function() return closed end)
    assert.equal("ECONNREFUSED", err.code)
    assert.is_true(client.destroyed)
  end)

  it("a session destroyed before its socket connects destroys the socket", function()
    local port = lode_server()
    local calls = {}
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = creator(port, calls) })
    local sock = calls[1].sock
    local sock_closed
    sock:on("close", function() sock_closed = true end)
    client:on("connect", helper.must_call(function() end, 0))
    client:destroy()
    helper.run_loop(function() return sock_closed end)
    assert.is_true(sock.destroyed)
  end)

  it("a socket destroyed before it connects destroys the session with ERR_SOCKET_CLOSED", function()
    local port = lode_server()
    local calls = {}
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = creator(port, calls) })
    local err, closed
    client:on("error", function(e) err = e end)
    client:on("close", function() closed = true end)
    calls[1].sock:destroy()
    helper.run_loop(function() return closed end)
    assert.equal("ERR_SOCKET_CLOSED", err.code)
  end)

  it("a socket already bound to a session raises ERR_HTTP2_SOCKET_BOUND", function()
    local port = lode_server()
    local sock = net.connect(port, "127.0.0.1")
    sockets[1] = sock
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = function() return sock end })
    local ok, e = pcall(http2.connect, "http://127.0.0.1:" .. port,
      { createConnection = function() return sock end })
    assert.is_false(ok)
    assert.equal("ERR_HTTP2_SOCKET_BOUND", e.code)
    assert.equal(200, U.get(client, {}).status)
  end)

  local F = helper.fixtures .. "/"
  local function tls_creator(calls)
    return function(url)
      local sock = tls.connect(tonumber(url.port), "127.0.0.1", { ALPNProtocols = { "h2" },
        servername = "localhost", ca = fs.readFileSync(F .. "ca.pem", "utf8") })
      sockets[#sockets + 1] = sock
      calls[#calls + 1] = { url = url, sock = sock }
      return sock
    end
  end

  it("#tls a tls.TLSSocket carries the session to a lode secure server", function()
    server = http2.createSecureServer({ key = fs.readFileSync(F .. "localhost-key.pem", "utf8"),
      cert = fs.readFileSync(F .. "localhost.pem", "utf8") })
    server:on("stream", function(stream, headers)
      stream:respond({ [":status"] = 200, ["x-scheme"] = headers[":scheme"] })
      stream:finish("lode over tls " .. stream.session.socket.remotePort)
    end)
    server:listen(0, "127.0.0.1")
    local port = server:address().port
    local calls = {}
    client = http2.connect("https://localhost:" .. port, { createConnection = tls_creator(calls) })
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.equal("https", res.headers["x-scheme"])
    assert.equal("lode over tls " .. calls[1].sock.localPort, res.body)
    assert.is_true(client.encrypted)
    assert.equal("h2", client.alpnProtocol)
    assert.equal(port, client.socket.remotePort)
  end)

  it("#tls #interop a tls.TLSSocket carries the session to a Node 20 secure server", function()
    local port
    child, port = U.node_server(string.format([[
      const h = require('http2'), fs = require('fs');
      const s = h.createSecureServer({ key: fs.readFileSync(%q), cert: fs.readFileSync(%q) });
      s.on('stream', (st, hd) => { st.respond({ ':status': 200, 'x-scheme': hd[':scheme'],
        'x-alpn': st.session.alpnProtocol }); st.end('node over tls ' + st.session.socket.remotePort); });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));
    ]], F .. "localhost-key.pem", F .. "localhost.pem"))
    local calls = {}
    client = http2.connect("https://localhost:" .. port, { createConnection = tls_creator(calls) })
    for i = 1, 2 do
      local res = U.get(client, { [":path"] = "/" .. i })
      assert.equal(200, res.status)
      assert.equal("https", res.headers["x-scheme"])
      assert.equal("h2", res.headers["x-alpn"])
      assert.equal("node over tls " .. calls[1].sock.localPort, res.body)
    end
  end)

  it("#interop a user's Duplex (over a net.Socket) carries the session to a Node 20 server", function()
    local port
    child, port = U.node_server(NODE_SERVER)
    local inner = net.connect(port, "127.0.0.1")
    sockets[1] = inner
    local wrote = 0
    local duplex = Duplex.new({
      read = function() end,
      write = function(_, chunk, _, cb)
        wrote = wrote + #chunk
        inner:write(chunk, cb)
      end,
      final = function(_, cb) inner:finish(); cb() end,
    })
    inner:on("data", function(d) duplex:push(d) end)
    inner:on("end", function() duplex:push(nil) end)
    client = http2.connect("http://127.0.0.1:" .. port, { createConnection = function() return duplex end })
    local res = U.get(client, { [":path"] = "/duplex" })
    assert.equal(200, res.status)
    assert.equal("node says /duplex on " .. inner.localPort, res.body)
    assert.is_true(wrote > 24) -- the preface and more went through the user's write
    client:close()
    helper.run_loop(function() return duplex.destroyed end)
  end)

  it("something that is not a Duplex raises ERR_INVALID_ARG_VALUE", function()
    local ok, e = pcall(http2.connect, "http://127.0.0.1:1", { createConnection = function() return {} end })
    assert.is_false(ok)
    assert.equal("ERR_INVALID_ARG_VALUE", e.code)
  end)
end)
