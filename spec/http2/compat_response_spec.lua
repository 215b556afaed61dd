-- Http2ServerResponse (the Compatibility API): headers, status, writeHead, write/finish, trailers,
-- push, HEAD/204/304, events. The peer is lode's own client unless the title says otherwise.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local process = require "lode.process"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("Http2ServerResponse", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  -- A compat server answering with handler; returns the response seen by lode's client.
  local function serve(handler, headers, body)
    local port
    server = http2.createServer(handler)
    server:listen(0, "127.0.0.1")
    port = server:address().port
    client = U.connect(port)
    return U.get(client, headers or { [":path"] = "/" }, body)
  end

  it("sends setHeader values with finish(data), with a date header", function()
    local res = serve(function(_, r)
      r:setHeader("Content-Type", "text/plain; charset=utf-8")
      r:finish("hello world")
    end)
    assert.equal(200, res.status)
    assert.equal("text/plain; charset=utf-8", res.headers["content-type"])
    assert.truthy(res.headers.date:match("GMT$"))
    assert.equal("hello world", res.body)
  end)

  it("sends an array given to setHeader as repeated fields", function()
    local res = serve(function(_, r)
      r:setHeader("Set-Cookie", { "type=ninja", "language=javascript" })
      r:finish()
    end)
    assert.same({ "type=ninja", "language=javascript" }, res.headers["set-cookie"])
  end)

  it("merges writeHead headers over setHeader ones, writeHead winning", function()
    local res = serve(function(_, r)
      r:setHeader("Content-Type", "text/html; charset=utf-8")
      r:setHeader("X-Foo", "bar")
      assert.equal(r, r:writeHead(201, { ["Content-Type"] = "text/plain; charset=utf-8" }))
      r:finish("ok")
    end)
    assert.equal(201, res.status)
    assert.equal("text/plain; charset=utf-8", res.headers["content-type"])
    assert.equal("bar", res.headers["x-foo"])
    assert.equal("ok", res.body)
  end)

  it("accepts writeHead headers as a flat raw list", function()
    local res = serve(function(_, r)
      r:writeHead(202, { "X-A", "1", "x-b", "2" })
      r:finish()
    end)
    assert.equal(202, res.status)
    assert.equal("1", res.headers["x-a"])
    assert.equal("2", res.headers["x-b"])
  end)

  it("emits one process warning for a statusMessage and ignores it", function()
    local warned = {}
    local function on_warning(w) warned[#warned + 1] = w end
    process:on("warning", on_warning)
    local res = serve(function(_, r)
      r:writeHead(200, "Fine", { ["x-a"] = "1" })
      assert.equal("", r.statusMessage)
      r:finish()
    end)
    U.run_loop(function() return #warned > 0 end)
    process:removeListener("warning", on_warning)
    assert.equal(200, res.status)
    assert.equal("1", res.headers["x-a"])
    assert.equal("UnsupportedWarning", warned[1].name)
  end)

  it("raises ERR_HTTP2_HEADERS_SENT for a second writeHead and a late setHeader", function()
    local e1, e2, e3
    serve(function(_, r)
      r:writeHead(200)
      e1 = helper.assert_throws(function() r:writeHead(201) end, { code = "ERR_HTTP2_HEADERS_SENT" })
      e2 = helper.assert_throws(function() r:setHeader("a", "b") end, { code = "ERR_HTTP2_HEADERS_SENT" })
      e3 = helper.assert_throws(function() r:removeHeader("a") end, { code = "ERR_HTTP2_HEADERS_SENT" })
      r:finish()
    end)
    assert.truthy(e1 and e2 and e3)
  end)

  it("getHeader/hasHeader/getHeaderNames/getHeaders/removeHeader are case-insensitive", function()
    local seen
    local res = serve(function(_, r)
      r:setHeader("X-One", "1")
      r:setHeader("x-two", { "a", "b" })
      r:setHeader("X-Gone", "x")
      r:removeHeader("x-GONE")
      seen = {
        one = r:getHeader("x-one"), two = r:getHeader("X-TWO"), has = r:hasHeader("X-ONE"),
        hasnt = r:hasHeader("x-gone"), names = r:getHeaderNames(), all = r:getHeaders(),
      }
      r:finish()
    end)
    assert.equal("1", seen.one)
    assert.same({ "a", "b" }, seen.two)
    assert.is_true(seen.has)
    assert.is_false(seen.hasnt)
    assert.same({ "x-one", "x-two" }, seen.names)
    assert.same({ ["x-one"] = "1", ["x-two"] = { "a", "b" } }, seen.all)
    assert.is_nil(res.headers["x-gone"])
  end)

  it("raises TypeErrors for invalid header names and values", function()
    local errs = {}
    serve(function(_, r)
      errs[1] = helper.assert_throws(function() r:setHeader("x y", "a") end,
        { code = "ERR_INVALID_HTTP_TOKEN", name = "TypeError" })
      errs[2] = helper.assert_throws(function() r:setHeader("x", "a\nb") end,
        { code = "ERR_INVALID_CHAR", name = "TypeError" })
      errs[3] = helper.assert_throws(function() r:setHeader(":path", "/") end,
        { code = "ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED", name = "TypeError" })
      errs[4] = helper.assert_throws(function() r:setHeader(1, "a") end,
        { code = "ERR_INVALID_ARG_TYPE", name = "TypeError" })
      r:finish()
    end)
    assert.equal(4, #errs)
    assert.equal('Header name must be a valid HTTP token ["x y"]', errs[1].message)
  end)

  it("validates statusCode on assignment and sends it", function()
    local e1, e2
    local res = serve(function(_, r)
      e1 = helper.assert_throws(function() r.statusCode = 99 end,
        { code = "ERR_HTTP2_STATUS_INVALID", name = "RangeError" })
      e2 = helper.assert_throws(function() r.statusCode = 102 end,
        { code = "ERR_HTTP2_INFO_STATUS_NOT_ALLOWED", name = "RangeError" })
      r.statusCode = 404
      assert.equal(404, r.statusCode)
      r:finish("nope")
    end)
    assert.truthy(e1 and e2)
    assert.equal(404, res.status)
    assert.equal("nope", res.body)
  end)

  it("sends no date header when sendDate is false", function()
    local res = serve(function(_, r)
      r.sendDate = false
      r:finish("x")
    end)
    assert.is_nil(res.headers.date)
    assert.equal("x", res.body)
  end)

  it("streams with write() then finish(), tracking headersSent/finished/writableEnded", function()
    local flags = {}
    local res = serve(function(_, r)
      flags[1] = r.headersSent
      assert.is_true(r:write("a"))
      flags[2] = r.headersSent
      r:write("b", function() flags.cb = true end)
      flags[3] = r.finished
      r:finish("c", function() flags.finish_cb = true end)
      flags[4] = r.finished
      flags[5] = r.writableEnded
    end)
    assert.equal("abc", res.body)
    assert.same({ false, true, false, true, true }, { flags[1], flags[2], flags[3], flags[4], flags[5] })
    U.run_loop(function() return flags.finish_cb end)
    assert.is_true(flags.cb)
  end)

  it("decodes write() and finish() chunks given with an encoding", function()
    local res = serve(function(_, r)
      r:write("4142", "hex")
      r:finish("QkM=", "base64")
    end)
    assert.equal("ABBC", res.body)
  end)

  it("returns false from write() under backpressure and emits 'drain'", function()
    local falsy, drained = false, false
    local big = string.rep("x", 64 * 1024)
    local res = serve(function(_, r)
      local function pump()
        for _ = 1, 64 do
          if not r:write(big) then
            falsy = true
            r:once("drain", function() drained = true; r:finish() end)
            return
          end
        end
        r:finish()
      end
      pump()
    end)
    assert.is_true(falsy)
    assert.is_true(drained)
    assert.is_true(#res.body >= 64 * 1024)
  end)

  it("emits 'finish' then 'close' on the response", function()
    local order = {}
    serve(function(_, r)
      r:on("finish", function() order[#order + 1] = "finish" end)
      r:on("close", function() order[#order + 1] = "close" end)
      r:finish("x")
    end)
    U.run_loop(function() return #order == 2 end)
    assert.same({ "finish", "close" }, order)
  end)

  it("sends trailers added with addTrailers()", function()
    local port
    server = http2.createServer(function(_, r)
      r:write("body")
      r:addTrailers({ ["X-Checksum"] = "abc" })
      r:finish()
    end)
    server:listen(0, "127.0.0.1")
    port = server:address().port
    client = U.connect(port)
    local req = client:request({ [":path"] = "/" })
    local trailers, closed
    req:on("trailers", function(t) trailers = t end)
    req:resume()
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal("abc", trailers["x-checksum"])
  end)

  it("sends no body for HEAD requests", function()
    local res = serve(function(_, r)
      r:setHeader("content-length", "5")
      r:finish("hello")
    end, { [":path"] = "/", [":method"] = "HEAD" })
    assert.equal(200, res.status)
    assert.equal("", res.body)
  end)

  it("sends no body with a 204 or 304 status", function()
    local res = serve(function(_, r)
      r.statusCode = 204
      r:write("ignored")
      r:finish("ignored")
    end)
    assert.equal(204, res.status)
    assert.equal("", res.body)
    U.close_client(client)
    U.close_server(server)
    res = serve(function(_, r)
      r:writeHead(304)
      r:finish("ignored")
    end)
    assert.equal(304, res.status)
    assert.equal("", res.body)
  end)

  it("exposes req, stream, socket and a proxy that refuses manipulation", function()
    local seen = {}
    serve(function(q, r)
      seen.req = r.req == q
      seen.stream = r.stream == q.stream
      seen.addr = r.socket.remoteAddress
      seen.conn = r.connection.localPort
      helper.assert_throws(function() r.socket:write("x") end, { code = "ERR_HTTP2_NO_SOCKET_MANIPULATION" })
      helper.assert_throws(function() r.socket:pause() end, { code = "ERR_HTTP2_NO_SOCKET_MANIPULATION" })
      seen.destroyed = r.socket.destroyed
      r:finish()
    end)
    assert.is_true(seen.req)
    assert.is_true(seen.stream)
    assert.equal("127.0.0.1", seen.addr)
    assert.equal(server:address().port, seen.conn)
    assert.is_false(seen.destroyed)
  end)

  it("pushes a response with createPushResponse()", function()
    local port
    server = http2.createServer(function(_, r)
      r:createPushResponse({ [":path"] = "/pushed" }, helper.must_call(function(err, pr)
        assert.is_nil(err)
        pr:setHeader("x-pushed", "yes")
        pr:finish("pushed body")
      end))
      r:finish("main")
    end)
    server:listen(0, "127.0.0.1")
    port = server:address().port
    client = U.connect(port)
    local pushed = {}
    client:on("stream", function(ps, h)
      pushed.path = h[":path"]
      ps:on("push", function(rh) pushed.header = rh["x-pushed"] end)
      local chunks = {}
      ps:on("data", function(c) chunks[#chunks + 1] = c end)
      ps:on("end", function() pushed.body = table.concat(chunks) end)
    end)
    local res = U.get(client, { [":path"] = "/" })
    U.run_loop(function() return pushed.body ~= nil end)
    assert.equal("main", res.body)
    assert.equal("/pushed", pushed.path)
    assert.equal("yes", pushed.header)
    assert.equal("pushed body", pushed.body)
  end)

  it("destroys the stream on a timeout nobody listens for", function()
    local sr
    local res = serve(function(_, r)
      sr = r
      r:setTimeout(30)
      r:write("partial")
    end)
    assert.equal("partial", res.body)
    assert.is_true(sr.stream.destroyed)
    assert.is_false(sr.finished)
  end)

  it("leaves a timed-out stream alone when the response listens for 'timeout'", function()
    local res = serve(function(_, r)
      r:setTimeout(30, helper.must_call(function()
        r:finish("late")
      end))
      r:write("early ")
    end)
    assert.equal("early late", res.body)
    assert.equal(0, res.req_rst)
  end)
end)
