-- AbortSignal on ClientHttp2Session:request(headers, { signal }).
local helper = require "spec.helper"
local http2 = require "lode.http2"
local abort = require "lode.abort"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("request { signal }", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("abort() errors the stream with an AbortError and resets it with CANCEL", function()
    local port, srst
    server, port = U.server(function(stream)
      stream:on("error", function() end)
      stream:on("close", function() srst = stream.rstCode end)
      stream:respond({ [":status"] = 200 })
    end)
    client = U.connect(port)
    local ac = AbortController.new()
    local req = client:request({}, { signal = ac.signal })
    local err, closed
    req:on("response", function() ac:abort() end)
    req:on("error", function(e) err = e end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed and srst end)
    assert.equal("AbortError", err.name)
    assert.equal("ABORT_ERR", err.code)
    assert.equal(http2.constants.NGHTTP2_CANCEL, req.rstCode)
    assert.equal(http2.constants.NGHTTP2_CANCEL, srst)
    assert.is_true(req.destroyed)
  end)

  it("an already-aborted signal destroys the stream at once", function()
    local port
    local seen = 0
    server, port = U.server(function(stream)
      seen = seen + 1
      stream:respond({ [":status"] = 200 }, { endStream = true })
    end)
    client = U.connect(port)
    local req = client:request({}, { signal = abort.AbortSignal.abort() })
    assert.is_true(req.destroyed)
    local err, closed
    req:on("error", function(e) err = e end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal("ABORT_ERR", err.code)
    -- The session still works, and the aborted request never reached the server.
    local res = U.get(client, {})
    assert.equal(200, res.status)
    assert.equal(1, seen)
  end)

  it("the abort listener goes when the stream closes", function()
    local port
    server, port = U.server(function(stream) stream:respond({ [":status"] = 200 }, { endStream = true }) end)
    client = U.connect(port)
    local ac = AbortController.new()
    local req = client:request({}, { signal = ac.signal })
    assert.equal(1, ac.signal:listenerCount("abort"))
    local closed
    req:on("close", function() closed = true end)
    req:resume()
    U.run_loop(function() return closed end)
    assert.equal(0, ac.signal:listenerCount("abort"))
    ac:abort()
    assert.equal(0, req.rstCode)
  end)

  it("a signal that is not an AbortSignal is ERR_INVALID_ARG_TYPE", function()
    local port
    server, port = U.server(function() end)
    client = U.connect(port)
    helper.assert_throws(function() client:request({}, { signal = 5 }) end, { code = "ERR_INVALID_ARG_TYPE" })
  end)
end)
