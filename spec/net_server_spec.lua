-- net.Server: listen, address, close, errors, real peers (Node's net client), GC safety.
local helper = require "spec.helper"
local net = require "lode.net"
local child_process = require "lode.child_process"

-- Runs `node -e code args...` while this loop serves; returns a table filled on completion.
local function node(code, ...)
  local res = {}
  child_process.execFile("node", { "-e", code, ... }, function(err, stdout, stderr)
    res.err, res.stdout, res.stderr, res.done = err, stdout, stderr, true
  end)
  return res
end

local function echo_server(options)
  local server = net.createServer(options, function(socket) socket:pipe(socket) end)
  return server
end

local function listen(server, ...)
  local listening = false
  server:listen(0, ..., function() listening = true end)
  helper.run_loop(function() return listening end)
  return server:address().port
end

local function close(server)
  if server and server.listening then
    local closed = false
    server:close(function() closed = true end)
    helper.run_loop(function() return closed end)
  end
end

local defer = helper.defer
after_each(helper.run_deferred)

describe("net.Server", function()
  after_each(function() helper.verify_calls() end)

  it("listens on 127.0.0.1 port 0 and reports a free port", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server, "127.0.0.1")
    assert.is_true(server.listening)
    local a = server:address()
    assert.is_true(port > 0)
    assert.same({ address = "127.0.0.1", family = "IPv4", port = port }, a)
  end)

  it("listens on :: by default, like Node", function()
    local server = echo_server()
    defer(function() close(server) end)
    listen(server)
    assert.equal("::", server:address().address)
    assert.equal("IPv6", server:address().family)
  end)

  it("takes listen({ port =, host = }, cb)", function()
    local server = echo_server()
    defer(function() close(server) end)
    local done = false
    server:listen({ port = 0, host = "127.0.0.1" }, helper.must_call(function() done = true end))
    assert.is_false(server.listening and false)
    helper.run_loop(function() return done end)
    assert.equal("127.0.0.1", server:address().address)
  end)

  it("emits 'listening' asynchronously", function()
    local server = echo_server()
    defer(function() close(server) end)
    local fired = false
    server:on("listening", function() fired = true end)
    server:listen(0, "127.0.0.1")
    assert.is_false(fired)
    helper.run_loop(function() return fired end)
  end)

  it("echoes to Node's net client #interop", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server, "127.0.0.1")
    local res = node("const s=require('net').connect(" .. port .. ",'127.0.0.1',()=>{s.write('hi');s.end()});"
      .. "s.on('data',d=>process.stdout.write(d))")
    helper.run_loop(function() return res.done end, 10000)
    assert.is_nil(res.err)
    assert.equal("hi", res.stdout)
  end)

  it("emits 'connection' with a Socket that knows both ends", function()
    local server
    local seen
    server = net.createServer(helper.must_call(function(socket)
      seen = {
        remoteAddress = socket.remoteAddress, remoteFamily = socket.remoteFamily,
        localPort = socket.localPort, localAddress = socket.localAddress,
        remotePort = socket.remotePort,
      }
      socket:finish()
    end))
    defer(function() close(server) end)
    local port = listen(server, "127.0.0.1")
    local client = net.connect(port, "127.0.0.1")
    defer(function() client:destroy() end)
    local client_port
    client:on("connect", function() client_port = client.localPort end)
    local ended = false
    client:on("end", function() ended = true end)
    client:resume()
    helper.run_loop(function() return ended end)
    assert.equal("127.0.0.1", seen.remoteAddress)
    assert.equal("IPv4", seen.remoteFamily)
    assert.equal(port, seen.localPort)
    assert.equal("127.0.0.1", seen.localAddress)
    assert.equal(client_port, seen.remotePort)
  end)

  it("reports EADDRINUSE with Node's message", function()
    local a = echo_server()
    defer(function() close(a) end)
    local port = listen(a, "127.0.0.1")
    local b = echo_server()
    local err
    b:on("error", function(e) err = e end)
    b:listen(port, "127.0.0.1")
    helper.run_loop(function() return err ~= nil end)
    assert.equal("EADDRINUSE", err.code)
    assert.equal("listen", err.syscall)
    assert.equal(port, err.port)
    assert.equal("127.0.0.1", err.address)
    assert.equal("listen EADDRINUSE: address already in use 127.0.0.1:" .. port, err.message)
    assert.is_false(b.listening)
  end)

  it("raises ERR_SOCKET_BAD_PORT for a port out of range", function()
    local s = net.createServer()
    helper.assert_throws(function() s:listen(65536) end, { code = "ERR_SOCKET_BAD_PORT" })
    helper.assert_throws(function() s:listen(-1) end, { code = "ERR_SOCKET_BAD_PORT" })
  end)

  it("raises ERR_SERVER_ALREADY_LISTEN when listening twice", function()
    local server = echo_server()
    defer(function() close(server) end)
    listen(server, "127.0.0.1")
    helper.assert_throws(function() server:listen(0) end, { code = "ERR_SERVER_ALREADY_LISTEN" })
  end)

  it("close(cb) waits for open connections to end", function()
    local conn
    local server = net.createServer(function(socket) conn = socket end)
    local port = listen(server, "127.0.0.1")
    local client = net.connect(port, "127.0.0.1")
    client:resume()
    helper.run_loop(function() return conn ~= nil end)
    local count
    server:getConnections(function(err, n) assert.is_nil(err); count = n end)
    helper.run_loop(function() return count ~= nil end)
    assert.equal(1, count)
    local closed = false
    server:close(helper.must_call(function(err) assert.is_nil(err); closed = true end))
    assert.is_false(server.listening)
    helper.wait(30)
    assert.is_false(closed)
    client:finish()
    helper.run_loop(function() return closed end)
  end)

  it("close(cb) without listening passes ERR_SERVER_NOT_RUNNING", function()
    local s = net.createServer()
    local got
    s:close(function(err) got = err end)
    helper.run_loop(function() return got ~= nil end)
    assert.equal("ERR_SERVER_NOT_RUNNING", got.code)
    assert.equal("Server is not running.", got.message)
  end)

  it("listens and connects on IPv6 ::1", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server, "::1")
    assert.same({ address = "::1", family = "IPv6", port = port }, server:address())
    local got = {}
    local remote, client
    client = net.connect(port, "::1", function()
      remote = { client.remoteAddress, client.remoteFamily }
    end)
    client:on("data", function(d) got[#got + 1] = d end)
    client:finish("six")
    local closed = false
    client:on("close", function() closed = true end)
    helper.run_loop(function() return closed end)
    assert.equal("six", table.concat(got))
    assert.same({ "::1", "IPv6" }, remote)
  end)

  it("keeps serving when nothing references it (GC)", function()
    local weak = setmetatable({}, { __mode = "v" })
    local port
    do
      local s = echo_server()
      port = listen(s, "127.0.0.1")
      weak[1] = s
    end
    collectgarbage()
    collectgarbage()
    defer(function() close(weak[1]) end)
    assert.is_not_nil(weak[1]) -- pinned by its open handle
    local got, closed = {}, false
    local client = net.connect(port, "127.0.0.1")
    client:on("data", function(d)
      got[#got + 1] = d
      collectgarbage()
    end)
    client:on("close", function() closed = true end)
    collectgarbage()
    client:finish("still here")
    helper.run_loop(function() return closed end)
    assert.equal("still here", table.concat(got))
  end)

  it("unref() lets the loop end while listening", function()
    local server = echo_server()
    defer(function() close(server) end)
    listen(server, "127.0.0.1")
    assert.is_true(server._handle:has_ref())
    server:unref()
    assert.is_false(server._handle:has_ref())
    server:ref()
    assert.is_true(server._handle:has_ref())
  end)

  it("with allowHalfOpen keeps writing after the client ends", function()
    local server = net.createServer({ allowHalfOpen = true }, function(socket)
      local got = {}
      socket:on("data", function(d) got[#got + 1] = d end)
      socket:on("end", function()
        socket:write("you said: ")
        socket:finish(table.concat(got))
      end)
    end)
    defer(function() close(server) end)
    local port = listen(server, "127.0.0.1")
    local client = net.connect(port, "127.0.0.1")
    local got, closed = {}, false
    client:on("data", function(d) got[#got + 1] = d end)
    client:on("close", function() closed = true end)
    client:finish("hello")
    helper.run_loop(function() return closed end)
    assert.equal("you said: hello", table.concat(got))
  end)

  it("runs the echo example, driven by Node #interop", function()
    local ex = child_process.spawn(helper.lode, { helper.root .. "/examples/net_echo_server.lua" })
    defer(function() ex:kill() end)
    local out = {}
    ex.stdout:on("data", function(d) out[#out + 1] = d end)
    helper.run_loop(function() return table.concat(out):find("\n") ~= nil end)
    local port = tonumber(table.concat(out):match("(%d+)"))
    local res = node("const s=require('net').connect(" .. port .. ",'127.0.0.1',()=>{s.end('ping')});"
      .. "s.on('data',d=>process.stdout.write(d))")
    helper.run_loop(function() return res.done end, 10000)
    assert.equal("ping", res.stdout)
    local exited = false
    ex:on("exit", function() exited = true end)
    ex:kill()
    helper.run_loop(function() return exited end)
  end)
end)
