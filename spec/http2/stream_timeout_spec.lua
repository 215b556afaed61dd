-- Timeouts: stream:setTimeout (the document's cancel example), session and server timeouts.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("timeouts", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("stream:setTimeout cancels an idle request with NGHTTP2_CANCEL (the document's example)", function()
    local port, srst
    server, port = U.server(function(stream)
      stream:on("error", function() end)
      stream:on("close", function() srst = stream.rstCode end)
    end)
    client = U.connect(port)
    local NGHTTP2_CANCEL = http2.constants.NGHTTP2_CANCEL
    local req = client:request({ [":path"] = "/" })
    local fired, closed = 0, false
    req:setTimeout(50, function()
      fired = fired + 1
      req:close(NGHTTP2_CANCEL)
    end)
    req:on("error", function() end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed and srst end)
    assert.equal(1, fired)
    assert.equal(NGHTTP2_CANCEL, req.rstCode)
    assert.equal(NGHTTP2_CANCEL, srst)
    assert.is_nil(rawget(req, "_timer"))
  end)

  it("a stream that closes first never times out and leaves no timer", function()
    local port
    server, port = U.server(function(stream) stream:respond({ [":status"] = 200 }, { endStream = true }) end)
    client = U.connect(port)
    local req = client:request({})
    req:setTimeout(100, helper.must_not_call("stream timeout"))
    local closed
    req:on("close", function() closed = true end)
    req:resume()
    U.run_loop(function() return closed end)
    assert.is_nil(rawget(req, "_timer"))
    helper.wait(150)
  end)

  it("setTimeout(0) disarms the stream timer", function()
    local port
    server, port = U.server(function() end)
    client = U.connect(port)
    local req = client:request({})
    req:on("error", function() end)
    req:setTimeout(30, helper.must_not_call("stream timeout"))
    req:setTimeout(0)
    assert.is_nil(rawget(req, "_timer"))
    helper.wait(80)
    req:close()
  end)

  it("incoming data keeps the stream timeout from firing", function()
    local port
    local timers = require "lode.timers"
    server, port = U.server(function(stream)
      stream:respond()
      local n = 0
      local iv
      iv = timers.setInterval(function()
        n = n + 1
        if n == 8 then timers.clearInterval(iv); stream:finish("end") else stream:write("tick") end
      end, 50)
    end)
    client = U.connect(port)
    local req = client:request({})
    req:setTimeout(200, helper.must_not_call("stream timeout"))
    local body, closed = {}, false
    req:on("data", function(c) body[#body + 1] = c end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal(string.rep("tick", 7) .. "end", table.concat(body))
  end)

  it("session:setTimeout emits 'timeout' on an idle session", function()
    local port
    server, port = U.server(function() end)
    client = U.connect(port)
    local fired = false
    client:setTimeout(50, function() fired = true end)
    U.run_loop(function() return fired end, 2000)
    assert.is_true(fired)
    assert.is_nil(rawget(client, "_timer"))
  end)

  it("server:setTimeout emits the server's 'timeout' with the idle session", function()
    local port
    server, port = U.server(function() end)
    local got
    server:setTimeout(50, function(session) got = session end)
    client = U.connect(port)
    U.run_loop(function() return got end, 2000)
    assert.is_true(getmetatable(got) == http2.ServerHttp2Session or got.altsvc ~= nil)
  end)

  it("a server session without a 'timeout' listener is destroyed when idle", function()
    local port
    server, port = U.server(function() end)
    server.timeout = 50
    client = U.connect(port)
    local closed = false
    client:on("close", function() closed = true end)
    client:on("error", function() end)
    U.run_loop(function() return closed end, 2000)
    assert.is_true(closed)
  end)
end)

describe("timeout example", function()
  local server
  after_each(function() U.close_server(server); server = nil end)

  it("examples/http2_stream_timeout.lua cancels the idle request", function()
    local port, srst
    server, port = U.server(function(stream)
      stream:on("error", function() end)
      stream:on("close", function() srst = stream.rstCode end)
    end)
    local err, out = U.run(helper.lode, { "examples/http2_stream_timeout.lua", tostring(port), "100" })
    assert.is_nil(err)
    assert.equal("closed with 8\n", out)
    U.run_loop(function() return srst end)
    assert.equal(http2.constants.NGHTTP2_CANCEL, srst)
  end)
end)
