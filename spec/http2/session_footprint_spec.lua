-- What keeps an idle server session small (bench/README.md, "Idle connections") must not change
-- what sessions do: one read buffer shared by every session of the loop, the server's session
-- bookkeeping without a 'close' listener per session, the socket proxy made on first use, and
-- nghttp2's page-sized calloc blocks on pages of their own.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("server sessions' footprint", function()
  local server, clients
  after_each(function()
    for _, c in ipairs(clients or {}) do U.close_client(c) end
    U.close_server(server)
    server, clients = nil, nil
    helper.verify_calls()
  end)

  it("keeps each connection's request body its own when many sessions read in one loop turn", function()
    local port
    server, port = U.server(function(stream, headers)
      local parts = {}
      stream:on("data", function(c) parts[#parts + 1] = c end)
      stream:on("end", function()
        stream:respond({ [":status"] = 200 })
        stream:finish(headers["x-id"] .. ":" .. table.concat(parts))
      end)
    end)
    clients = {}
    local results, bodies = {}, {}
    for i = 1, 8 do
      clients[i] = U.connect(port)
      -- Distinct bytes per connection, larger than one read, so reads of different sessions
      -- interleave in the shared buffer.
      bodies[i] = string.rep(string.char(64 + i), 100000 + i)
    end
    for i = 1, 8 do
      local req = clients[i]:request({ [":method"] = "POST", [":path"] = "/", ["x-id"] = tostring(i) },
        { endStream = false })
      local chunks = {}
      req:on("data", function(c) chunks[#chunks + 1] = c end)
      req:on("end", function() results[i] = table.concat(chunks) end)
      req:finish(bodies[i])
    end
    U.run_loop(function()
      for i = 1, 8 do if results[i] == nil then return false end end
      return true
    end, 20000)
    for i = 1, 8 do assert.equal(i .. ":" .. bodies[i], results[i]) end
  end)

  it("tracks sessions without a 'close' listener and closes once the last one is gone", function()
    local port
    server, port = U.server(function(stream) stream:respond({ [":status"] = 204 }) end)
    local sessions = {}
    server:on("session", function(s) sessions[#sessions + 1] = s end)
    clients = { U.connect(port), U.connect(port) }
    U.run_loop(function() return #sessions == 2 end)
    for _, s in ipairs(sessions) do
      assert.equal(0, s:listenerCount("close")) -- as Node: the server adds none
      assert.equal(1, s:listenerCount("error")) -- Node's sessionOnError
      assert.is_true(server._sessions[s])
    end
    assert.equal(2, server._nsessions)
    local order = {}
    sessions[1]:on("close", function()
      order[#order + 1] = "session closed, in set: " .. tostring(server._sessions[sessions[1]] ~= nil)
    end)
    server:close(helper.must_call(function() order[#order + 1] = "server" end))
    U.close_client(clients[1])
    U.run_loop(function() return server._nsessions == 1 end)
    assert.same({ "session closed, in set: false" }, order)
    assert.is_false(server.listening)
    U.close_client(clients[2])
    U.run_loop(function() return #order == 2 end)
    assert.equal("server", order[2])
    assert.equal(0, server._nsessions)
    assert.is_nil(next(server._sessions))
    server = nil
  end)

  it("emits 'connection' and 'connect' with the session's socket when listened to", function()
    local port
    server, port = U.server()
    local conn_socket, connect_args, session
    server:on("connection", helper.must_call(function(sock) conn_socket = sock end))
    server:on("session", function(s)
      session = s
      s:on("connect", helper.must_call(function(a, b) connect_args = { a, b } end))
    end)
    clients = { U.connect(port) }
    U.run_loop(function() return connect_args ~= nil end)
    assert.equal(session, connect_args[1])
    assert.equal(session.socket, connect_args[2])
    assert.equal(session.socket, conn_socket)
    assert.equal("127.0.0.1", session.socket.remoteAddress)
  end)

  it("starts sessions with the class defaults and still sets them per session", function()
    local port
    server, port = U.server()
    local session
    server:on("session", function(s) session = s end)
    clients = { U.connect(port) }
    U.run_loop(function() return session ~= nil end)
    assert.is_false(session.closed)
    assert.is_false(session.destroyed)
    assert.is_false(session.connecting)
    assert.is_false(session.encrypted)
    assert.equal("h2c", session.alpnProtocol)
    local closed = false
    session:on("close", function() closed = true end)
    session:destroy()
    assert.is_true(session.destroyed)
    U.run_loop(function() return closed end)
    assert.is_true(session.closed)
    assert.is_false(http2.Http2Session.destroyed) -- the class default is untouched
  end)

  it("serves many streams on one session (nghttp2's stream map lives on pages of its own)", function()
    local port
    server, port = U.server(function(stream, headers)
      stream:respond({ [":status"] = 200 })
      stream:finish(headers[":path"])
    end)
    clients = { U.connect(port) }
    local done, bad = 0, {}
    for i = 1, 600 do
      local req = clients[1]:request({ [":path"] = "/" .. i })
      local chunks = {}
      req:on("data", function(c) chunks[#chunks + 1] = c end)
      req:on("end", function()
        if table.concat(chunks) ~= "/" .. i then bad[#bad + 1] = i end
        done = done + 1
      end)
    end
    U.run_loop(function() return done == 600 end, 20000)
    assert.same({}, bad)
  end)
end)
