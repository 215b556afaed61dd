-- Http2Stream, ServerHttp2Stream, ClientHttp2Stream: lifecycle, resets, push, informational
-- headers, trailers, limits.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("Http2Stream", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("has id, sentHeaders, state and session", function()
    local port, sst
    server, port = U.server(function(stream)
      sst = { id = stream.id, state = stream.state.state, lwin = stream.state.localWindowSize,
        session = stream.session }
      stream:respond({ [":status"] = 200, ["x-a"] = "1" })
      sst.sent = stream.sentHeaders
      stream:finish()
    end)
    client = U.connect(port)
    local res, req = U.get(client, { [":path"] = "/p" })
    assert.equal(200, res.status)
    assert.equal(1, req.id)
    assert.equal(1, sst.id)
    assert.is_number(sst.state)
    assert.is_number(sst.lwin)
    assert.equal("1", sst.sent["x-a"])
    assert.equal("/p", req.sentHeaders[":path"])
    assert.is_true(req.closed)
    assert.equal(0, req.rstCode)
  end)

  it("write(chunk, encoding) sends the bytes the encoded text stands for", function()
    local port
    server, port = U.server(function(stream)
      stream:respond({ [":status"] = 200 })
      stream:write("68656c6c6f", "hex")
      stream:write("IA==", "base64")
      stream:finish("776f726c64", "hex")
    end)
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal("hello world", res.body)
  end)

  it("close(code) resets the stream: both sides see rstCode, the peer an error", function()
    local port
    local sside = {}
    server, port = U.server(function(stream)
      stream:on("error", function(e) sside.err = e end)
      stream:on("close", function() sside.rst = stream.rstCode end)
      stream:close(http2.constants.NGHTTP2_REFUSED_STREAM)
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(7, res.req_rst)
    assert.equal("ERR_HTTP2_STREAM_ERROR", res.err.code)
    assert.matches("NGHTTP2_REFUSED_STREAM", res.err.message)
    U.run_loop(function() return sside.rst end)
    assert.equal(7, sside.rst)
  end)

  it("emits 'aborted' on the server when the client resets a request mid-body", function()
    local port
    local aborted, closed = false, false
    server, port = U.server(function(stream)
      stream:on("aborted", function() aborted = true end)
      stream:on("close", function() closed = true end)
      stream:on("data", function() end)
    end)
    client = U.connect(port)
    local req = client:request({ [":method"] = "POST" })
    req:write("partial")
    helper.wait(20)
    req:close(http2.constants.NGHTTP2_CANCEL)
    helper.run_loop(function() return closed end)
    assert.is_true(aborted)
  end)

  it("sendTrailers() raises ERR_HTTP2_TRAILERS_NOT_READY before 'wantTrailers'", function()
    local port, err
    server, port = U.server(function(stream)
      stream:respond({ [":status"] = 200 }, { waitForTrailers = true })
      err = select(2, pcall(stream.sendTrailers, stream, { a = "b" }))
      stream:on("wantTrailers", function() stream:sendTrailers({ a = "b" }) end)
      stream:finish()
    end)
    client = U.connect(port)
    U.get(client, {})
    assert.equal("ERR_HTTP2_TRAILERS_NOT_READY", err.code)
  end)

  it("sends informational headers with additionalHeaders(), seen as client 'headers'", function()
    local port
    server, port = U.server(function(stream)
      stream:additionalHeaders({ [":status"] = 103, link = "</style.css>; rel=preload" })
      stream:respond({ [":status"] = 200 })
      stream:finish("x")
      helper.assert_throws(function() stream:additionalHeaders({}) end,
        { code = "ERR_HTTP2_HEADERS_AFTER_RESPOND" })
    end)
    client = U.connect(port)
    local req = client:request({})
    local info
    req:on("headers", function(h) info = h end)
    req:resume()
    local done
    req:on("close", function() done = true end)
    helper.run_loop(function() return done end)
    assert.equal(103, info[":status"])
    assert.equal("</style.css>; rel=preload", info.link)
  end)

  it("pushStream() pushes a stream the client gets as 'stream' and 'push'", function()
    local port
    local nested_err
    server, port = U.server(function(stream)
      assert.is_true(stream.pushAllowed)
      stream:pushStream({ [":path"] = "/pushed.css" }, function(err, push, headers)
        assert.is_nil(err)
        assert.equal("/pushed.css", headers[":path"])
        nested_err = select(2, pcall(push.pushStream, push, {}, function() end))
        push:respond({ [":status"] = 200, ["content-type"] = "text/css" })
        push:finish("body{}")
        stream:respond({ [":status"] = 200 })
        stream:finish("main")
      end)
    end)
    client = U.connect(port)
    local pushed = {}
    client:on("stream", function(ps, headers)
      pushed.path = headers[":path"]
      ps:on("push", function(h) pushed.status = h[":status"] end)
      ps:setEncoding("utf8")
      ps:on("data", function(d) pushed.body = (pushed.body or "") .. d end)
      ps:on("close", function() pushed.closed = true end)
    end)
    local res = U.get(client, {})
    helper.run_loop(function() return pushed.closed end)
    assert.equal("main", res.body)
    assert.equal("/pushed.css", pushed.path)
    assert.equal(200, pushed.status)
    assert.equal("body{}", pushed.body)
    assert.equal("ERR_HTTP2_NESTED_PUSH", nested_err.code)
  end)

  it("pushAllowed is false when the client disabled push", function()
    local port, allowed
    server, port = U.server(function(stream)
      allowed = stream.pushAllowed
      stream:respond({}, { endStream = true })
    end)
    client = U.connect(port, { settings = { enablePush = false } })
    helper.wait(20)
    U.get(client, {})
    assert.is_false(allowed)
  end)

  it("resets a request with more header pairs than maxHeaderListPairs (ENHANCE_YOUR_CALM)", function()
    local port
    local seen = 0
    server, port = U.server({ maxHeaderListPairs = 8 }, function(stream)
      seen = seen + 1
      stream:respond({}, { endStream = true })
    end)
    client = U.connect(port)
    local h = {}
    for i = 1, 20 do h["x-h" .. i] = "v" end
    local res = U.get(client, h)
    assert.equal(11, res.req_rst)
    assert.equal(0, seen)
    local ok = U.get(client, { ["x-one"] = "1" })
    assert.equal(200, ok.status)
  end)

  it("resets a request whose header list exceeds maxHeaderListSize", function()
    local port
    server, port = U.server({ settings = { maxHeaderListSize = 200 } }, function(stream)
      stream:respond({}, { endStream = true })
    end)
    client = U.connect(port)
    helper.wait(20)
    local res = U.get(client, { ["x-big"] = string.rep("a", 300) })
    assert.equal(11, res.req_rst)
  end)

  it("marks sensitive headers never-indexed both ways", function()
    local port, got
    server, port = U.server(function(stream, headers)
      got = headers[http2.sensitiveHeaders]
      stream:respond({ [":status"] = 200, secret = "s", [http2.sensitiveHeaders] = { "secret" } })
      stream:finish()
    end)
    client = U.connect(port)
    local res = U.get(client, { authorization = "x", token = "t", [http2.sensitiveHeaders] = { "token" } })
    table.sort(got)
    assert.same({ "authorization", "token" }, got)
    assert.same({ "secret" }, res.headers[http2.sensitiveHeaders])
  end)
end)
