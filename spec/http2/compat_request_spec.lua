-- Http2ServerRequest (the Compatibility API): the request's fields, its body as a Readable,
-- trailers, the socket proxy, aborts, destroy and timeouts. The peer is lode's own client.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local Writable = require("lode.stream").Writable
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("Http2ServerRequest", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  local function start(handler)
    server = http2.createServer(handler)
    server:listen(0, "127.0.0.1")
    local port = server:address().port
    client = U.connect(port)
    return port
  end

  it("has method, url, authority, scheme, headers, rawHeaders and httpVersion", function()
    local seen
    local port = start(function(req, res)
      seen = {
        method = req.method, url = req.url, authority = req.authority, scheme = req.scheme,
        foo = req.headers["x-foo"], raw = req.rawHeaders, v = req.httpVersion,
        major = req.httpVersionMajor, minor = req.httpVersionMinor, stream = req.stream == res.stream,
      }
      res:finish()
    end)
    U.get(client, { [":path"] = "/status?name=ryan", ["X-Foo"] = "bar" })
    assert.equal("GET", seen.method)
    assert.equal("/status?name=ryan", seen.url)
    assert.equal("127.0.0.1:" .. port, seen.authority)
    assert.equal("http", seen.scheme)
    assert.equal("bar", seen.foo)
    assert.equal("2.0", seen.v)
    assert.equal(2, seen.major)
    assert.equal(0, seen.minor)
    assert.is_true(seen.stream)
    local map = {}
    for i = 1, #seen.raw, 2 do map[seen.raw[i]] = seen.raw[i + 1] end
    assert.equal("GET", map[":method"])
    assert.equal("bar", map["x-foo"])
    assert.equal(0, #seen.raw % 2)
  end)

  it("falls back to the host header for authority", function()
    local seen
    start(function(req, res)
      seen = req.authority
      res:finish()
    end)
    U.get(client, { [":path"] = "/", [":authority"] = nil, host = "example.org" })
    assert.equal("example.org", seen)
  end)

  it("has a writable url that rewrites :path", function()
    local seen
    start(function(req, res)
      req.url = "/rewritten"
      seen = { url = req.url, path = req.headers[":path"] }
      res:finish()
    end)
    U.get(client, { [":path"] = "/orig" })
    assert.same({ url = "/rewritten", path = "/rewritten" }, seen)
  end)

  it("reads the body with 'data' and 'end', then is complete", function()
    local chunks, complete_before, complete_after = {}, nil, nil
    start(function(req, res)
      complete_before = req.complete
      req:on("data", function(c) chunks[#chunks + 1] = c end)
      req:on("end", function()
        complete_after = req.complete
        res:finish("got " .. #table.concat(chunks))
      end)
    end)
    local res = U.get(client, { [":path"] = "/", [":method"] = "POST" }, string.rep("z", 100000))
    assert.equal("got 100000", res.body)
    assert.is_false(complete_before)
    assert.is_true(complete_after)
  end)

  it("sets the encoding of body chunks with setEncoding", function()
    local got
    start(function(req, res)
      req:setEncoding("hex")
      local s = ""
      req:on("data", function(c) s = s .. c end)
      req:on("end", function() got = s; res:finish() end)
    end)
    U.get(client, { [":path"] = "/", [":method"] = "POST" }, "AB")
    assert.equal("4142", got)
  end)

  it("closes a stream whose large body nobody reads once the response is sent", function()
    start(function(_, res) res:finish("early") end)
    local res = U.get(client, { [":path"] = "/", [":method"] = "POST" }, string.rep("u", 1024 * 1024))
    assert.equal("early", res.body)
    assert.is_true(res.closed)
  end)

  it("pipes the body into a Writable", function()
    local parts = {}
    start(function(req, res)
      local sink = Writable.new({
        write = function(_, chunk, _, cb) parts[#parts + 1] = chunk; cb() end,
      })
      sink:on("finish", function() res:finish("ok") end)
      req:pipe(sink)
    end)
    local res = U.get(client, { [":path"] = "/", [":method"] = "PUT" }, string.rep("p", 300000))
    assert.equal("ok", res.body)
    assert.equal(300000, #table.concat(parts))
  end)

  it("has trailers and rawTrailers after 'end'", function()
    local seen
    start(function(req, res)
      req:resume()
      req:on("end", function()
        seen = { t = req.trailers["x-sum"], raw = req.rawTrailers }
        res:finish()
      end)
    end)
    local req = client:request({ [":path"] = "/", [":method"] = "POST" }, { waitForTrailers = true })
    req:on("wantTrailers", function() req:sendTrailers({ ["x-sum"] = "42" }) end)
    req:finish("body")
    req:resume()
    local closed = false
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal("42", seen.t)
    assert.same({ "x-sum", "42" }, seen.raw)
  end)

  it("emits 'close' once the stream closes", function()
    start(function(req, res)
      req:on("close", helper.must_call())
      res:finish()
    end)
    U.get(client, { [":path"] = "/" })
    U.run_loop(function() return server._nsessions == 1 end)
    helper.wait(20)
  end)

  it("emits 'aborted' when the client resets mid-request", function()
    local aborted, flag, complete
    start(function(req)
      req:on("aborted", function()
        aborted = true
        flag = req.aborted
        complete = req.complete
      end)
      req:resume()
    end)
    local req = client:request({ [":path"] = "/", [":method"] = "POST" })
    req:write("part")
    U.run_loop(function() return server._nsessions >= 1 end)
    helper.wait(30)
    req:close(8)
    U.run_loop(function() return aborted end)
    assert.is_true(flag)
    assert.is_true(complete)
  end)

  it("routes the socket proxy's properties to the session and refuses manipulation", function()
    local seen = {}
    start(function(req, res)
      local s = req.socket
      seen.addr = s.remoteAddress
      seen.port = s.remotePort
      seen.same = req.connection.localPort
      for _, m in ipairs { "pause", "read", "resume", "write" } do
        helper.assert_throws(function() s[m](s) end, { code = "ERR_HTTP2_NO_SOCKET_MANIPULATION" })
      end
      seen.writable = s.writable
      res:finish()
    end)
    U.get(client, { [":path"] = "/" })
    assert.equal("127.0.0.1", seen.addr)
    assert.is_number(seen.port)
    assert.equal(server:address().port, seen.same)
    assert.is_true(seen.writable)
  end)

  it("destroy(err) resets the stream and emits 'error' on the request", function()
    local got
    start(function(req)
      req:on("error", function(e) got = e end)
      req:destroy(Error("boom"))
    end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal("boom", got.message)
    assert.equal(2, res.req_rst) -- INTERNAL_ERROR
  end)

  it("calls a setTimeout callback and leaves the stream to it", function()
    start(function(req, res)
      req:setTimeout(30, helper.must_call(function() res:finish("timed") end))
    end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal("timed", res.body)
  end)
end)
