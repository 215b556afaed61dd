-- ALTSVC: ServerHttp2Session:altsvc(alt, originOrStream) and the client's 'altsvc' event.
local helper = require "spec.helper"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("altsvc", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  it("the client gets 'altsvc' for an origin and for a stream", function()
    local port
    server, port = U.server(function(stream)
      stream.session:altsvc('h2=":9000"', stream.id)
      stream:respond()
      stream:finish("ok")
    end)
    server:on("session", function(s) s:altsvc('h2=":8000"', "https://example.org:8111/x?y") end)
    local got = {}
    client = U.connect(port)
    client:on("altsvc", function(alt, origin, id) got[#got + 1] = { alt, origin, id } end)
    local res = U.get(client, {})
    assert.equal("ok", res.body)
    U.run_loop(function() return #got == 2 end)
    assert.same({ 'h2=":8000"', "https://example.org:8111", 0 }, got[1])
    assert.same({ 'h2=":9000"', "", 1 }, got[2])
  end)

  it("nghttp sees the ALTSVC frames", function()
    local port
    server, port = U.server(function(stream)
      stream.session:altsvc('h2=":9000"', stream.id)
      stream.session:altsvc('h3=":443"; ma=60', { origin = "http://a.example" })
      stream:respond({}, { endStream = true })
    end)
    local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.matches("recv ALTSVC frame <length=12, flags=0x00, stream_id=13>\n" ..
      '%s*%(origin=%[%], altsvc_field_value=%[h2=":9000"%]%)', out)
    assert.matches('%(origin=%[http://a.example%], altsvc_field_value=%[h3=":443"; ma=60%]%)', out)
  end)

  it("Node 20's client emits 'altsvc' with (alt, origin, streamId)", function()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    server:on("session", function(s) s:altsvc('h2=":8000"', "http://example.com") end)
    local err, out = U.node([[
      const http2 = require('http2');
      const c = http2.connect('http://127.0.0.1:' + process.argv[1]);
      c.on('altsvc', (alt, origin, id) => { console.log(JSON.stringify([alt, origin, id])); c.close(); });
    ]], { port })
    assert.is_nil(err)
    assert.equal('["h2=\\":8000\\"","http://example.com",0]\n', out)
  end)

  it("validates like Node", function()
    local port, session
    server, port = U.server(function() end)
    server:on("session", function(s) session = s end)
    client = U.connect(port)
    U.run_loop(function() return session end)
    helper.assert_throws(function() session:altsvc("h2", 0) end, { code = "ERR_OUT_OF_RANGE" })
    helper.assert_throws(function() session:altsvc("h2", 2 ^ 32) end, { code = "ERR_OUT_OF_RANGE" })
    helper.assert_throws(function() session:altsvc("h2", true) end, { code = "ERR_INVALID_ARG_TYPE" })
    helper.assert_throws(function() session:altsvc("h2", { origin = "" }) end,
      { code = "ERR_HTTP2_ALTSVC_INVALID_ORIGIN" })
    helper.assert_throws(function() session:altsvc("h2", { origin = "null" }) end,
      { code = "ERR_HTTP2_ALTSVC_INVALID_ORIGIN" })
    helper.assert_throws(function() session:altsvc(1, "http://a.example") end,
      { code = "ERR_INVALID_ARG_TYPE" })
    helper.assert_throws(function() session:altsvc("h2=\"\\\"", "http://a.example") end,
      { code = "ERR_INVALID_CHAR" })
    helper.assert_throws(function() session:altsvc("\1", "http://a.example") end,
      { code = "ERR_INVALID_CHAR" })
    helper.assert_throws(function() session:altsvc(string.rep("a", 16383), 1) end,
      { code = "ERR_HTTP2_ALTSVC_LENGTH" })
  end)
end)

describe("altsvc example", function()
  it("examples/http2_altsvc.lua sends both frames", function()
    local cp = require "lode.child_process"
    local port = 21000 + math.random(0, 8999)
    local child = cp.spawn(helper.lode, { "examples/http2_altsvc.lua", tostring(port) })
    local ok, e = pcall(function()
      helper.wait(400)
      local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/" })
      assert.is_nil(err)
      assert.matches("%(origin=%[https://example.org:80%], altsvc_field_value=%[h2=:8000%]%)", out)
      assert.matches("stream_id=13>\n%s*%(origin=%[%], altsvc_field_value=%[h2=:8000%]%)", out)
    end)
    U.kill(child)
    assert(ok, e)
  end)
end)
