-- 'frameError' (a frame nghttp2 could not send) and a client stream's pending/'ready' lifecycle.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local function ok_server()
  return U.server(function(stream) stream:respond({ [":status"] = 200 }); stream:finish("ok") end)
end

describe("'frameError'", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("is emitted on the stream (type, code, id) when its header block is too large to send", function()
    local port
    server, port = ok_server()
    client = U.connect(port, { maxSendHeaderBlockLength = 200 })
    local req = client:request({ ["x-big"] = ("a"):rep(1000) })
    local fe, err, closed, session_fe
    client:on("frameError", function() session_fe = true end)
    req:on("frameError", function(ftype, code, id) fe = { ftype, code, id } end)
    req:on("error", function(e) err = e end)
    req:on("close", function() closed = true end)
    helper.run_loop(function() return closed end)
    assert.same(1, fe[1]) -- HEADERS
    -- Node 20 reports the RFC 7540 code for nghttp2's NGHTTP2_ERR_FRAME_SIZE_ERROR (-522): 6.
    assert.equal(http2.constants.NGHTTP2_FRAME_SIZE_ERROR, fe[2])
    assert.equal(6, fe[2])
    assert.equal(req.id, fe[3])
    assert.is_nil(session_fe)
    assert.equal("ERR_HTTP2_STREAM_ERROR", err.code)
    assert.equal(http2.constants.NGHTTP2_REFUSED_STREAM, req.rstCode)
    -- As Node, the session is closed afterwards.
    helper.run_loop(function() return client.closed end)
    assert.is_true(client.closed)
  end)

  it("#interop carries the same (type, code, id) as a Node 20 client's", function()
    local port
    server, port = ok_server()
    local err, out = U.node([[
      const http2 = require('http2');
      const c = http2.connect('http://127.0.0.1:' + process.argv[1], { maxSendHeaderBlockLength: 200 });
      const r = c.request({ 'x-big': 'a'.repeat(1000) });
      r.on('frameError', (t, code, id) => console.log(t, code, id));
      r.on('error', () => {});
      r.on('close', () => c.close());
    ]], { port })
    assert.is_nil(err)
    client = U.connect(port, { maxSendHeaderBlockLength = 200 })
    local req = client:request({ ["x-big"] = ("a"):rep(1000) })
    local fe, closed
    req:on("frameError", function(ftype, code, id) fe = ftype .. " " .. code .. " " .. id end)
    req:on("error", function() end)
    req:on("close", function() closed = true end)
    helper.run_loop(function() return closed end)
    assert.equal(out, fe .. "\n")
  end)

  it("a small enough header block goes through under maxSendHeaderBlockLength", function()
    local port
    server, port = ok_server()
    client = U.connect(port, { maxSendHeaderBlockLength = 200 })
    local req = client:request({ ["x-small"] = "a" })
    req:on("frameError", helper.must_call(function() end, 0))
    local status
    req:on("response", function(h) status = h[":status"] end)
    req:resume()
    helper.run_loop(function() return status end)
    assert.equal(200, status)
  end)
end)

describe("client stream pending / 'ready'", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("is pending without an id until 'connect', then 'ready' with the id", function()
    local port
    server, port = ok_server()
    client = http2.connect("http://127.0.0.1:" .. port)
    local req = client:request()
    assert.is_true(req.pending)
    assert.is_nil(req.id)
    local ready
    req:on("ready", function() ready = { req.id, req.pending } end)
    local status
    req:on("response", function(h) status = h[":status"] end)
    req:resume()
    helper.run_loop(function() return ready and status end)
    assert.equal(1, ready[1])
    assert.is_false(ready[2])
    assert.equal(200, status)
    -- A request once connected has its id at once.
    local req2 = client:request()
    assert.is_false(req2.pending)
    assert.equal(3, req2.id)
    req2:resume()
    local done
    req2:on("close", function() done = true end)
    helper.run_loop(function() return done end)
  end)
end)
