-- Http2Server over h2c: createServer, listen, address, 'stream', respond, write/finish, request
-- bodies, close. The peer is lode's own client unless the title says otherwise.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("http2.createServer()", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("listens on port 0 and reports the bound address", function()
    server = http2.createServer()
    local listening = false
    server:listen(0, "127.0.0.1", helper.must_call(function() listening = true end))
    U.run_loop(function() return listening end)
    local a = server:address()
    assert.equal("127.0.0.1", a.address)
    assert.equal("IPv4", a.family)
    assert.is_true(a.port > 0)
  end)

  it("listens on :: when no host is given, as Node does", function()
    server = http2.createServer()
    local listening = false
    server:listen(0, function() listening = true end)
    U.run_loop(function() return listening end)
    assert.equal("::", server:address().address)
  end)

  it("emits 'stream' with headers, flags and rawHeaders", function()
    local got
    local port
    server, port = U.server(function(stream, headers, flags, raw)
      got = { headers = headers, flags = flags, raw = raw }
      stream:respond({ [":status"] = 204 })
    end)
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/a?b=1", ["x-foo"] = "bar" })
    assert.equal(204, res.status)
    assert.equal("GET", got.headers[":method"])
    assert.equal("/a?b=1", got.headers[":path"])
    assert.equal("http", got.headers[":scheme"])
    assert.equal("127.0.0.1:" .. port, got.headers[":authority"])
    assert.equal("bar", got.headers["x-foo"])
    assert.equal(5, got.flags) -- END_STREAM | END_HEADERS
    assert.equal(0, #got.raw % 2)
    assert.equal(":", got.raw[1]:sub(1, 1))
    assert.same({}, got.headers[http2.sensitiveHeaders])
  end)

  it("sends status, headers and a body with respond() and finish()", function()
    local port
    server, port = U.server(function(stream)
      stream:respond({ [":status"] = 200, ["content-type"] = "text/plain", ["x-list"] = { "a", "b" } })
      stream:write("hello ")
      stream:finish("world")
    end)
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.equal("text/plain", res.headers["content-type"])
    assert.equal("a, b", res.headers["x-list"])
    assert.is_string(res.headers.date)
    assert.equal("hello world", res.body)
  end)

  it("responds 200 implicitly when the body is written first", function()
    local port
    server, port = U.server(function(stream) stream:finish("implicit") end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(200, res.status)
    assert.equal("implicit", res.body)
  end)

  it("delivers a request body as 'data' and 'end'", function()
    local port
    server, port = U.server(function(stream)
      local parts = {}
      stream:on("data", function(c) parts[#parts + 1] = c end)
      stream:on("end", function()
        stream:respond({ [":status"] = 200 })
        stream:finish("len=" .. #table.concat(parts))
      end)
    end)
    client = U.connect(port)
    local res = U.get(client, { [":method"] = "POST" }, string.rep("x", 100000))
    assert.equal("len=100000", res.body)
  end)

  it("ends the stream with respond(headers, { endStream = true })", function()
    local port
    server, port = U.server(function(stream)
      stream:respond({ [":status"] = 200 }, { endStream = true })
      assert.is_true(stream.headersSent)
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(200, res.status)
    assert.equal("", res.body)
  end)

  it("raises ERR_HTTP2_HEADERS_SENT on a second respond()", function()
    local port, err
    server, port = U.server(function(stream)
      stream:respond({ [":status"] = 200 })
      err = select(2, pcall(stream.respond, stream, { [":status"] = 200 }))
      stream:finish()
    end)
    client = U.connect(port)
    U.get(client, {})
    helper.expects_error({ code = "ERR_HTTP2_HEADERS_SENT" })(err)
  end)

  it("raises ERR_HTTP2_STATUS_INVALID for a status out of range", function()
    local port, err
    server, port = U.server(function(stream)
      err = select(2, pcall(stream.respond, stream, { [":status"] = 99 }))
      stream:respond({ [":status"] = 500 }, { endStream = true })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(500, res.status)
    helper.expects_error({ code = "ERR_HTTP2_STATUS_INVALID", name = "RangeError" })(err)
  end)

  it("emits 'session' and 'connection' for each connection", function()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    local sessions = 0
    server:on("session", helper.must_call(function(s)
      sessions = sessions + 1
      assert.equal("h2c", s.alpnProtocol)
      assert.is_false(s.encrypted)
    end))
    server:on("connection", helper.must_call())
    client = U.connect(port)
    U.get(client, {})
    assert.equal(1, sessions)
  end)

  it("close() stops accepting, leaves open sessions alone, calls back once they are gone (Node 20)",
    function()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    client = U.connect(port)
    U.get(client, {})
    local closed = false
    server:close(function() closed = true end)
    -- New connections are refused...
    local refused
    local c2 = http2.connect("http://127.0.0.1:" .. port)
    c2:on("error", function(e) refused = e end)
    helper.run_loop(function() return refused end)
    assert.equal("ECONNREFUSED", refused.code)
    -- ...while the idle session stays open and keeps serving, and close waits for it.
    local waited = false
    setTimeout(function() waited = true end, 200)
    helper.run_loop(function() return waited end)
    assert.is_false(client.closed)
    assert.equal(200, U.get(client, {}).status)
    assert.is_false(closed)
    client:close()
    helper.run_loop(function() return closed end)
    server = nil
  end)

  it("keeps serving other streams when a 'stream' handler raises (INTERNAL_ERROR reset)", function()
    local port
    server, port = U.server(function(stream, headers)
      if headers[":path"] == "/boom" then error("boom") end
      stream:respond({ [":status"] = 200 })
      stream:finish("ok")
    end)
    client = U.connect(port)
    local check = helper.check_uncaught
    helper.check_uncaught = function() end
    local ok, res1 = pcall(U.get, client, { [":path"] = "/boom" })
    helper.check_uncaught = check
    assert.is_true(ok, tostring(res1))
    local uncaught = helper.take_uncaught()
    assert.equal(1, #uncaught)
    assert.matches("boom", tostring(uncaught[1]))
    assert.equal(2, res1.req_rst)
    assert.equal("ERR_HTTP2_STREAM_ERROR", res1.err.code)
    local res2 = U.get(client, { [":path"] = "/fine" })
    assert.equal("ok", res2.body)
  end)

  it("survives dropping every reference and a full collectgarbage()", function()
    local port
    server, port = U.server(function(stream)
      collectgarbage()
      stream:respond({ [":status"] = 200 })
      collectgarbage()
      stream:finish("still here")
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    collectgarbage()
    assert.equal("still here", res.body)
  end)

  it("is safe to destroy the session from its own 'stream' handler", function()
    local port
    server, port = U.server(function(stream)
      stream.session:destroy()
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.is_true(res.closed)
    assert.is_nil(res.status)
  end)
end)

describe("Http2Server options", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  it("setTimeout() emits the server's 'timeout' with the idle session", function()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    local got
    server:setTimeout(30, function(session) got = session end)
    assert.equal(30, server.timeout)
    client = U.connect(port)
    helper.run_loop(function() return got end)
    assert.equal("h2c", got.alpnProtocol)
  end)

  it("updateSettings() applies to sessions accepted afterwards", function()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    server:updateSettings({ maxConcurrentStreams = 3 })
    client = U.connect(port)
    helper.run_loop(function() return client.remoteSettings.maxConcurrentStreams == 3 end)
    helper.assert_throws(function() server:updateSettings({ maxFrameSize = 1 }) end,
      { code = "ERR_HTTP2_INVALID_SETTING_VALUE" })
  end)

  it("emits 'sessionError' when a session fails", function()
    local port
    server, port = U.server(function() end)
    local got
    server:on("sessionError", function(err) got = err end)
    client = U.connect(port)
    client:on("error", function() end) -- the GOAWAY(INTERNAL_ERROR) it gets
    for s in pairs(server._sessions) do s:destroy(Error.new("boom")) end
    U.run_loop(function() return got end)
    assert.equal("boom", got.message)
  end)

  it("validates createServer() arguments", function()
    helper.assert_throws(function() http2.createServer(5) end, { code = "ERR_INVALID_ARG_TYPE" })
    helper.assert_throws(function() http2.createServer({ maxHeaderListPairs = "x" }) end,
      { code = "ERR_INVALID_ARG_TYPE" })
  end)

  it("runs the document's server example and the client example against it #interop", function()
    local cp = require "lode.child_process"
    local port = 21000 + math.random(10000)
    local child = cp.spawn(helper.lode, { helper.root .. "/examples/http2_server.lua", tostring(port) })
    local ok, err = pcall(function()
      helper.wait(300)
      local e, out = U.run(helper.lode, { helper.root .. "/examples/http2_client.lua",
        "http://127.0.0.1:" .. port })
      assert.is_nil(e)
      assert.matches(":status: 200", out)
      assert.matches("<h1>Hello World</h1>", out)
    end)
    U.kill(child)
    assert(ok, err)
  end)
end)
