-- A request that ends with its headers (a GET) gets a server stream that is not yet a Duplex:
-- respond() and finish() go straight to nghttp2, and the Duplex is made only when something
-- else is used. Whatever the handler does, and whenever, the stream must behave as the full
-- ServerHttp2Stream would: these tests touch it at each point of its life.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local Object = require "lode.class"
local timers = require "lode.timers"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("ServerHttp2Stream of a request without a body", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  local function serve(handler)
    local port
    server, port = U.server(handler)
    client = U.connect(port)
  end

  it("is a ServerHttp2Stream and an Http2Stream with its id, session and end of request", function()
    local seen
    serve(function(stream)
      seen = { server = Object.instanceof(stream, http2.ServerHttp2Stream),
        base = Object.instanceof(stream, http2.Http2Stream), id = stream.id,
        session = stream.session, ended = stream.endAfterHeaders }
      stream:respond({ [":status"] = 200 })
      stream:finish("ok")
    end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal("ok", res.body)
    assert.is_true(seen.server)
    assert.is_true(seen.base)
    assert.equal(1, seen.id)
    assert.is_true(seen.ended)
    assert.is_truthy(seen.session)
  end)

  it("finish(body) without respond() answers 200 with the body", function()
    serve(function(stream) stream:finish("body") end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.equal("body", res.body)
  end)

  it("emits 'finish' and 'close' to listeners added after finish()", function()
    local events = {}
    serve(function(stream)
      stream:respond({ [":status"] = 200 })
      stream:finish("x")
      stream:on("finish", function() events[#events + 1] = "finish" end)
      stream:on("close", function() events[#events + 1] = "close" end)
    end)
    U.get(client, { [":path"] = "/" })
    U.run_loop(function() return #events == 2 end, 5000)
    assert.same({ "finish", "close" }, events)
  end)

  it("reads as closed and destroyed with rstCode 0 once closed, without a late 'close'", function()
    local stream, late_close = nil, false
    serve(function(s)
      stream = s
      s:respond({ [":status"] = 200 })
      s:finish("x")
    end)
    U.get(client, { [":path"] = "/" })
    helper.wait(50) -- the server's close of the stream
    assert.is_true(stream.destroyed)
    assert.is_true(stream.closed)
    assert.equal(0, stream.rstCode)
    assert.is_true(stream.headersSent)
    stream:on("close", function() late_close = true end)
    helper.wait(50)
    assert.is_false(late_close)
  end)

  it("raises ERR_HTTP2_HEADERS_SENT on a second respond()", function()
    local err
    serve(function(stream)
      stream:respond({ [":status"] = 200 })
      local ok, e = pcall(stream.respond, stream, { [":status"] = 200 })
      err = not ok and e
      stream:finish()
    end)
    U.get(client, { [":path"] = "/" })
    assert.equal("ERR_HTTP2_HEADERS_SENT", err.code)
  end)

  it("raises ERR_HTTP2_INVALID_STREAM on respond() after the stream closed", function()
    local stream
    serve(function(s) stream = s end)
    local req = client:request({ [":path"] = "/" })
    req:on("error", function() end)
    U.run_loop(function() return stream ~= nil end, 5000)
    req:close(http2.constants.NGHTTP2_CANCEL)
    U.run_loop(function() return stream.destroyed end, 5000)
    local ok, e = pcall(stream.respond, stream, { [":status"] = 200 })
    assert.is_false(ok)
    assert.equal("ERR_HTTP2_INVALID_STREAM", e.code)
    assert.equal(http2.constants.NGHTTP2_CANCEL, stream.rstCode)
  end)

  it("emits ERR_STREAM_WRITE_AFTER_END on a write after finish()", function()
    local err
    serve(function(stream)
      stream:on("error", function(e) err = e end)
      stream:finish("a")
      stream:write("b")
    end)
    local res = U.get(client, { [":path"] = "/" })
    U.run_loop(function() return err ~= nil end, 5000)
    assert.equal("ERR_STREAM_WRITE_AFTER_END", err.code)
    assert.equal("a", res.body)
  end)

  it("keeps a field the handler set on it once it becomes a Duplex", function()
    local kept
    serve(function(stream)
      stream.user = "me"
      stream:on("close", function() kept = stream.user end)
      stream:finish("x")
    end)
    U.get(client, { [":path"] = "/" })
    U.run_loop(function() return kept ~= nil end, 5000)
    assert.equal("me", kept)
  end)

  it("answers a handler that responds later, from a timer", function()
    serve(function(stream)
      timers.setTimeout(function()
        stream:respond({ [":status"] = 201 })
        stream:finish("later")
      end, 10)
    end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(201, res.status)
    assert.equal("later", res.body)
  end)

  it("has a readable side that ends at once for a handler that reads it", function()
    local ended = false
    serve(function(stream)
      stream:on("end", function() ended = true end)
      stream:resume()
      stream:finish("x")
    end)
    U.get(client, { [":path"] = "/" })
    U.run_loop(function() return ended end, 5000)
    assert.is_true(ended)
  end)

  it("turns into a Duplex for tostring()", function()
    local s
    serve(function(stream)
      s = tostring(stream)
      stream:finish()
    end)
    U.get(client, { [":path"] = "/" })
    assert.is_string(s)
  end)
end)

describe("Compatibility API request without a body", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  it("gives method, url, authority, scheme and headers, and 'end' to a reader", function()
    local seen, ended = nil, false
    server = http2.createServer(function(req, res)
      seen = { method = req.method, url = req.url, authority = req.authority, scheme = req.scheme,
        path = req.headers[":path"], instance = Object.instanceof(req, http2.Http2ServerRequest) }
      req:on("end", function() ended = true end)
      req:resume()
      res:finish("ok")
    end)
    server:listen(0, "127.0.0.1")
    client = U.connect(server:address().port)
    local res = U.get(client, { [":path"] = "/q?x=1" })
    U.run_loop(function() return ended end, 5000)
    assert.equal("ok", res.body)
    assert.same({ method = "GET", url = "/q?x=1", authority = "127.0.0.1:" .. server:address().port,
      scheme = "http", path = "/q?x=1", instance = true }, seen)
  end)

  it("emits the response's 'finish' and 'close' and completes the request", function()
    local events, complete = {}, nil
    server = http2.createServer(function(req, res)
      res:on("finish", function() events[#events + 1] = "finish" end)
      res:on("close", function()
        events[#events + 1] = "close"
        complete = req.complete
      end)
      res:finish("ok")
    end)
    server:listen(0, "127.0.0.1")
    client = U.connect(server:address().port)
    U.get(client, { [":path"] = "/" })
    U.run_loop(function() return #events == 2 end, 5000)
    assert.same({ "finish", "close" }, events)
    assert.is_true(complete)
  end)

  it("keeps fields the handler sets on the request, aborted among them", function()
    local seen
    server = http2.createServer(function(req, res)
      req.aborted = "set"
      req.user = "me"
      seen = { aborted = req.aborted, user = req.user }
      res:finish()
    end)
    server:listen(0, "127.0.0.1")
    client = U.connect(server:address().port)
    U.get(client, { [":path"] = "/" })
    assert.same({ aborted = "set", user = "me" }, seen)
  end)

  it("lets the handler set url, which changes the :path header", function()
    local path
    server = http2.createServer(function(req, res)
      req.url = "/rewritten"
      path = req.headers[":path"]
      res:finish()
    end)
    server:listen(0, "127.0.0.1")
    client = U.connect(server:address().port)
    U.get(client, { [":path"] = "/" })
    assert.equal("/rewritten", path)
  end)
end)

describe("ClientHttp2Stream of a GET", function()
  local server, client
  before_each(function()
    local port
    server, port = U.server(function(stream, headers)
      stream:respond({ [":status"] = 200 })
      stream:finish(headers[":path"] == "/big" and string.rep("x", 100000) or "hello")
    end)
    client = U.connect(port)
  end)
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  it("is a ClientHttp2Stream that emits 'ready', 'response', 'data', 'end' and 'close' in order", function()
    local events, body = {}, {}
    local req = client:request({ [":path"] = "/" })
    assert.is_true(Object.instanceof(req, http2.ClientHttp2Stream))
    req:on("ready", function() events[#events + 1] = "ready" end)
    req:on("response", function(h) events[#events + 1] = "response " .. h[":status"] end)
    req:on("data", function(c) body[#body + 1] = c end)
    req:on("end", function() events[#events + 1] = "end" end)
    req:on("close", function() events[#events + 1] = "close" end)
    U.run_loop(function() return events[#events] == "close" end, 5000)
    assert.same({ "ready", "response 200", "end", "close" }, events)
    assert.equal("hello", table.concat(body))
    assert.is_true(req.destroyed)
    assert.is_true(req.closed)
    assert.is_true(req.readableEnded)
    assert.equal(0, req.rstCode)
  end)

  it("keeps an unread body, as Node does, and ends once it is read", function()
    local events = {}
    local req = client:request({ [":path"] = "/" })
    req:on("end", function() events[#events + 1] = "end" end)
    req:on("close", function() events[#events + 1] = "close" end)
    helper.wait(100)
    assert.same({}, events)
    assert.equal(5, req.readableLength)
    req:resume()
    U.run_loop(function() return events[#events] == "close" end, 5000)
    assert.same({ "end", "close" }, events)
  end)

  it("buffers the body while paused and gives all of it on resume()", function()
    local req = client:request({ [":path"] = "/big" })
    local got = {}
    req:on("response", function() req:pause() end)
    req:on("data", function(c) got[#got + 1] = c end)
    helper.wait(50)
    local before = #table.concat(got)
    local ended = false
    req:on("end", function() ended = true end)
    req:resume()
    U.run_loop(function() return ended end, 5000)
    assert.equal(0, before)
    assert.equal(100000, #table.concat(got))
  end)

  it("decodes with setEncoding() called after the request was sent", function()
    local req = client:request({ [":path"] = "/" })
    req:setEncoding("hex")
    local got, ended = {}, false
    req:on("data", function(c) got[#got + 1] = c end)
    req:on("end", function() ended = true end)
    U.run_loop(function() return ended end, 5000)
    assert.equal("68656c6c6f", table.concat(got))
  end)

  it("emits 'finish' to a listener added after the request was sent", function()
    local finished = false
    local req = client:request({ [":path"] = "/" })
    req:on("finish", function() finished = true end)
    req:resume()
    U.run_loop(function() return finished end, 5000)
    assert.is_true(req.writableEnded)
  end)

  it("does not emit 'close' to a listener added after it closed", function()
    local req = client:request({ [":path"] = "/" })
    local closed = false
    req:on("data", function() end)
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end, 5000)
    local late = false
    req:on("close", function() late = true end)
    helper.wait(50)
    assert.is_false(late)
    assert.is_true(req.destroyed)
  end)
end)
