-- net.Socket: connect, data both ways, errors, timeouts, half-close, backpressure, GC safety.
local helper = require "spec.helper"
local core = require "lode_core"
local net = require "lode.net"
local child_process = require "lode.child_process"

local function listen(server, host)
  local listening = false
  server:listen(0, host or "127.0.0.1", function() listening = true end)
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

local function echo_server(options)
  return net.createServer(options, function(socket) socket:pipe(socket) end)
end

-- Collects a socket's data and waits for 'close'.
local function collect(socket)
  local res = { chunks = {} }
  socket:on("data", function(d) res.chunks[#res.chunks + 1] = d end)
  socket:on("end", function() res.ended = true end)
  socket:on("close", function(had) res.closed, res.hadError = true, had end)
  socket:on("error", function(e) res.err = e end)
  return res
end

local defer = helper.defer
after_each(helper.run_deferred)

describe("net.Socket", function()
  after_each(function() helper.verify_calls() end)

  it("connects to a lode server and echoes (connect, ready, end, close)", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local events = {}
    local client = net.connect(port, "127.0.0.1", helper.must_call(function()
      events[#events + 1] = "connect-cb"
    end))
    assert.is_true(client.connecting)
    assert.is_true(client.pending)
    assert.equal("opening", client.readyState)
    client:on("ready", function() events[#events + 1] = "ready" end)
    local res = collect(client)
    client:write("hello ")
    client:finish("world")
    helper.run_loop(function() return res.closed end)
    assert.equal("hello world", table.concat(res.chunks))
    assert.is_true(res.ended)
    assert.is_false(res.hadError)
    assert.same({ "connect-cb", "ready" }, events)
    assert.equal(11, client.bytesRead)
    assert.equal(11, client.bytesWritten)
    assert.equal("closed", client.readyState)
  end)

  it("knows its addresses once connected", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect({ port = port, host = "127.0.0.1" })
    defer(function() client:destroy() end)
    local ok = false
    client:on("connect", function() ok = true end)
    helper.run_loop(function() return ok end)
    assert.equal("127.0.0.1", client.remoteAddress)
    assert.equal(port, client.remotePort)
    assert.equal("IPv4", client.remoteFamily)
    assert.equal("127.0.0.1", client.localAddress)
    assert.is_true(client.localPort > 0)
    assert.equal("IPv4", client.localFamily)
    assert.same({ address = "127.0.0.1", family = "IPv4", port = client.localPort }, client:address())
    assert.is_false(client.pending)
    assert.equal("open", client.readyState)
  end)

  it("Socket.new() then socket:connect() works", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.Socket.new()
    assert.is_true(client.pending)
    assert.is_false(client.connecting)
    assert.is_nil(client.remoteAddress)
    local res = collect(client)
    assert.equal(client, client:connect(port, "127.0.0.1", helper.must_call()))
    client:finish("x")
    helper.run_loop(function() return res.closed end)
    assert.equal("x", table.concat(res.chunks))
  end)

  it("talks to a Node server #interop", function()
    local proc = child_process.spawn("node", { "-e", [[
      const s = require('net').createServer(c => { c.on('data', d => c.end('node got ' + d)); });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));
      process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
    ]] })
    defer(function() proc:kill() end)
    local out = {}
    proc.stdout:on("data", function(d) out[#out + 1] = d end)
    helper.run_loop(function() return table.concat(out):find("\n") ~= nil end, 10000)
    local port = tonumber(table.concat(out):match("%d+"))
    local client = net.connect(port, "127.0.0.1")
    local res = collect(client)
    client:write("lode")
    helper.run_loop(function() return res.closed end)
    assert.equal("node got lode", table.concat(res.chunks))
    proc.stdin:finish()
  end)

  it("resolves localhost", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "localhost")
    local res = collect(client)
    local looked_up
    client:on("lookup", function(err, address, family, host)
      looked_up = { err = err, address = address, family = family, host = host }
    end)
    client:finish("via name")
    helper.run_loop(function() return res.closed end)
    assert.equal("via name", table.concat(res.chunks))
    assert.equal("localhost", looked_up.host)
    -- The lookup's first address: 127.0.0.1 here, ::1 with Debian's /etc/hosts.
    local first
    core.getaddrinfo("localhost", 0, function(_, list) first = list[1] end)
    helper.run_loop(function() return first ~= nil end)
    assert.equal(first.address, looked_up.address)
    assert.equal(first.family, looked_up.family)
  end)

  it("reports ECONNREFUSED with Node's message, then closes with hadError", function()
    local server = echo_server()
    local port = listen(server)
    close(server)
    local client = net.connect(port, "127.0.0.1")
    client:on("connect", helper.must_not_call("connect"))
    local res = collect(client)
    helper.run_loop(function() return res.closed end)
    assert.equal("ECONNREFUSED", res.err.code)
    assert.equal("connect", res.err.syscall)
    assert.equal(-111, res.err.errno)
    assert.equal("127.0.0.1", res.err.address)
    assert.equal(port, res.err.port)
    assert.equal("connect ECONNREFUSED 127.0.0.1:" .. port, res.err.message)
    assert.is_true(res.hadError)
  end)

  it("reports ENOTFOUND for a name that does not resolve", function()
    local client = net.connect(80, "nonexistent.invalid")
    local res = collect(client)
    helper.run_loop(function() return res.closed end, 10000)
    assert.equal("ENOTFOUND", res.err.code)
    assert.equal("getaddrinfo", res.err.syscall)
    assert.equal("nonexistent.invalid", res.err.hostname)
    assert.equal("getaddrinfo ENOTFOUND nonexistent.invalid", res.err.message)
  end)

  it("validates the port and the arguments", function()
    helper.assert_throws(function() net.connect(65536) end, { code = "ERR_SOCKET_BAD_PORT" })
    helper.assert_throws(function() net.connect({}) end, { code = "ERR_MISSING_ARGS" })
  end)

  it("setTimeout emits 'timeout' on an idle socket and keeps it open", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    defer(function() client:destroy() end)
    local fired = 0
    client:setTimeout(50, helper.must_call(function() fired = fired + 1 end))
    assert.equal(50, client.timeout)
    helper.run_loop(function() return fired > 0 end)
    assert.is_false(client.destroyed)
    client:setTimeout(0)
    assert.equal(0, client.timeout)
  end)

  it("activity postpones the timeout", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    defer(function() client:destroy() end)
    local fired = false
    client:setTimeout(80, function() fired = true end)
    client:resume()
    for _ = 1, 4 do
      helper.wait(40)
      client:write("x")
    end
    assert.is_false(fired)
    helper.run_loop(function() return fired end)
  end)

  it("half-close: the client's finish() shuts down writing, reading goes on", function()
    local server = net.createServer({ allowHalfOpen = true }, function(socket)
      socket:on("end", function()
        setTimeout(function() socket:finish("late reply") end, 20)
      end)
      socket:resume()
    end)
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect({ port = port, host = "127.0.0.1", allowHalfOpen = true })
    local res = collect(client)
    local finished = false
    client:on("finish", function() finished = true end)
    client:finish("bye")
    helper.run_loop(function() return finished end)
    assert.is_false(res.closed == true)
    helper.run_loop(function() return res.closed end)
    assert.equal("late reply", table.concat(res.chunks))
  end)

  it("without allowHalfOpen the socket ends its side when the peer ends", function()
    local server = net.createServer(function(socket) socket:finish("only this") end)
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    local res = collect(client)
    helper.run_loop(function() return res.closed end)
    assert.equal("only this", table.concat(res.chunks))
    assert.is_true(client.writableEnded)
  end)

  it("echoes 8 MiB byte-exact with backpressure ('drain')", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    local parts = {}
    for i = 1, 128 do parts[i] = string.rep(string.char(i % 256), 1024) .. tostring(i) end
    local block = table.concat(parts)
    local total = 8 * 1024 * 1024
    local sent, full, drains, writes = 0, 0, 0, {}
    local got, got_len = {}, 0
    client:on("data", function(d)
      got[#got + 1] = d
      got_len = got_len + #d
    end)
    local closed = false
    client:on("close", function() closed = true end)
    local function pump()
      while sent < total do
        local chunk = block:sub(1, math.min(#block, total - sent))
        sent = sent + #chunk
        writes[#writes + 1] = chunk
        if not client:write(chunk) then
          full = full + 1
          client:once("drain", function()
            drains = drains + 1
            pump()
          end)
          return
        end
      end
      client:finish()
    end
    client:on("connect", pump)
    helper.run_loop(function() return closed end, 20000)
    assert.is_true(full > 0)
    assert.equal(full, drains)
    assert.equal(total, got_len)
    assert.is_true(table.concat(got) == table.concat(writes), "echoed bytes differ")
  end)

  it("destroy(err) emits that error and 'close' with hadError", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    local res = collect(client)
    local boom = Error and Error.new("boom") or { message = "boom" }
    client:on("connect", function() client:destroy(boom) end)
    helper.run_loop(function() return res.closed end)
    assert.equal(boom, res.err)
    assert.is_true(res.hadError)
    assert.is_true(client.destroyed)
  end)

  it("can be destroyed from inside its own 'data' callback", function()
    local server = net.createServer(function(socket) socket:write("a") end)
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    local closed = false
    client:on("data", helper.must_call(function()
      client:destroy()
      collectgarbage()
    end))
    client:on("close", function() closed = true end)
    helper.run_loop(function() return closed end)
  end)

  it("keeps connecting and talking when nothing references it (GC)", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local got, closed = {}, false
    do
      local client = net.connect(port, "127.0.0.1")
      client:on("data", function(d) got[#got + 1] = d end)
      client:on("close", function() closed = true end)
      client:on("connect", function()
        collectgarbage()
        collectgarbage()
      end)
      client:finish("gc safe")
    end
    collectgarbage()
    collectgarbage()
    helper.run_loop(function() return closed end)
    assert.equal("gc safe", table.concat(got))
  end)

  it("setNoDelay and setKeepAlive return the socket", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    defer(function() client:destroy() end)
    local ok = false
    client:on("connect", function() ok = true end)
    helper.run_loop(function() return ok end)
    assert.equal(client, client:setNoDelay(true))
    assert.equal(client, client:setKeepAlive(true, 1000))
  end)

  it("unref() and ref() toggle the handle's hold on the loop", function()
    local server = echo_server()
    defer(function() close(server) end)
    local port = listen(server)
    local client = net.connect(port, "127.0.0.1")
    defer(function() client:destroy() end)
    client:unref()
    assert.is_false(client._handle:has_ref())
    client:ref()
    assert.is_true(client._handle:has_ref())
  end)
end)

describe("net.isIP", function()
  it("tells IPv4, IPv6 and neither apart as Node does", function()
    assert.equal(4, net.isIP("127.0.0.1"))
    assert.equal(6, net.isIP("::1"))
    assert.equal(6, net.isIP("::"))
    assert.equal(6, net.isIP("::ffff:1.2.3.4"))
    assert.equal(6, net.isIP("fe80::1%eth0"))
    assert.equal(6, net.isIP("1:2:3:4:5:6:7:8"))
    assert.equal(6, net.isIP("1:2:3:4:5:6:7::"))
    assert.equal(6, net.isIP("1:2:3:4:5:6:1.2.3.4"))
    assert.equal(0, net.isIP("1:2:3:4:5:6:7:8:9"))
    assert.equal(0, net.isIP("1::2::3"))
    assert.equal(0, net.isIP(":1"))
    assert.equal(0, net.isIP("01.2.3.4"))
    assert.equal(0, net.isIP("256.1.1.1"))
    assert.equal(0, net.isIP("localhost"))
    assert.equal(0, net.isIP(nil))
    assert.is_true(net.isIPv4("10.0.0.1"))
    assert.is_false(net.isIPv4("::1"))
    assert.is_true(net.isIPv6("::1"))
    assert.is_false(net.isIPv6("10.0.0.1"))
  end)
end)
