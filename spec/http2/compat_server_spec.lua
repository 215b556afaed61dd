-- The Compatibility API on Http2Server: createServer([options, ]handler), 'request',
-- 'checkContinue' and Expect handling, custom request/response classes, server timeouts.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("http2.createServer() with the Compatibility API", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  local function listen(s)
    server = s
    server:listen(0, "127.0.0.1")
    client = U.connect(server:address().port)
  end

  it("registers the handler on 'request' with Http2ServerRequest/Response objects", function()
    listen(http2.createServer(helper.must_call(function(req, res)
      assert.is_true(http2.Http2ServerRequest.instanceof(req, http2.Http2ServerRequest))
      assert.is_true(http2.Http2ServerResponse.instanceof(res, http2.Http2ServerResponse))
      res:finish("hi")
    end)))
    assert.equal(1, server:listenerCount("request"))
    assert.equal("hi", U.get(client, { [":path"] = "/" }).body)
  end)

  it("takes options before the handler", function()
    listen(http2.createServer({ settings = { maxConcurrentStreams = 7 } }, function(_, res)
      res:finish("opt")
    end))
    assert.equal("opt", U.get(client, { [":path"] = "/" }).body)
    assert.equal(7, client.remoteSettings.maxConcurrentStreams)
  end)

  it("turns on for a 'request' listener added later, beside 'stream' listeners", function()
    local s = http2.createServer()
    local streams = 0
    s:on("stream", function() streams = streams + 1 end)
    s:on("request", function(_, res) res:finish("late") end)
    listen(s)
    assert.equal("late", U.get(client, { [":path"] = "/" }).body)
    assert.equal(1, streams)
  end)

  it("raises for a handler that is not a function", function()
    helper.assert_throws(function() http2.createServer({}, 42) end, { code = "ERR_INVALID_ARG_TYPE" })
  end)

  it("uses Http2ServerRequest/Http2ServerResponse subclasses from the options", function()
    local MyReq = http2.Http2ServerRequest:extend("MyReq")
    function MyReq:greeting() return "hello " .. self.url end
    local MyRes = http2.Http2ServerResponse:extend("MyRes")
    function MyRes:send(s) self:setHeader("x-sent", "1"); self:finish(s) end
    listen(http2.createServer({ Http2ServerRequest = MyReq, Http2ServerResponse = MyRes }, function(req, res)
      res:send(req:greeting())
    end))
    local r = U.get(client, { [":path"] = "/sub" })
    assert.equal("hello /sub", r.body)
    assert.equal("1", r.headers["x-sent"])
  end)

  it("answers Expect: 100-continue with a 100 by itself, then emits 'request'", function()
    listen(http2.createServer(helper.must_call(function(req, res)
      local body = {}
      req:on("data", function(c) body[#body + 1] = c end)
      req:on("end", function() res:finish("got " .. table.concat(body)) end)
    end)))
    local req = client:request({ [":path"] = "/", [":method"] = "POST", expect = "100-continue" })
    local continued, chunks, closed = false, {}, false
    req:on("continue", function() continued = true; req:finish("data") end)
    req:on("data", function(c) chunks[#chunks + 1] = c end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.is_true(continued)
    assert.equal("got data", table.concat(chunks))
  end)

  it("emits 'checkContinue' instead of 'request' when listened for", function()
    local s = http2.createServer(helper.must_not_call("request"))
    s:on("checkContinue", helper.must_call(function(req, res)
      assert.is_true(res:writeContinue())
      req:resume()
      req:on("end", function() res:finish("checked") end)
    end))
    listen(s)
    local req = client:request({ [":path"] = "/", [":method"] = "POST", expect = "100-continue" })
    local chunks, closed = {}, false
    req:on("continue", function() req:finish("x") end)
    req:on("data", function(c) chunks[#chunks + 1] = c end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal("checked", table.concat(chunks))
  end)

  it("lets a 'checkContinue' listener refuse with a final status", function()
    local s = http2.createServer(helper.must_not_call("request"))
    s:on("checkContinue", function(_, res)
      res.statusCode = 413
      res:finish()
    end)
    listen(s)
    local r = U.get(client, { [":path"] = "/", [":method"] = "POST", expect = "100-continue" }, "")
    assert.equal(413, r.status)
  end)

  it("answers an unknown expectation with 417 unless 'checkExpectation' is listened for", function()
    listen(http2.createServer(helper.must_not_call("request")))
    assert.equal(417, U.get(client, { [":path"] = "/", expect = "magic" }).status)
    server:on("checkExpectation", helper.must_call(function(_, res)
      res.statusCode = 202
      res:finish()
    end))
    assert.equal(202, U.get(client, { [":path"] = "/", expect = "magic" }).status)
  end)

  it("leaves timed-out streams to a server 'timeout' listener", function()
    local s = http2.createServer(function(_, res)
      res:setTimeout(30)
      res:write("a")
      res.stream:once("timeout", function() res:finish("b") end)
    end)
    s:on("timeout", function() end)
    listen(s)
    assert.equal("ab", U.get(client, { [":path"] = "/" }).body)
  end)
end)
