-- Http2Session: ping, settings, goaway, localSettings/remoteSettings, state, socket proxy,
-- destroy/close, timeouts, ref/unref, setLocalWindowSize.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local function ok_server()
  return U.server(function(stream) stream:respond({ [":status"] = 200 }); stream:finish("ok") end)
end

describe("Http2Session", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  describe(":ping()", function()
    it("gets the payload back with the round-trip time, and the peer sees 'ping'", function()
      local port
      server, port = ok_server()
      local seen
      server:on("session", function(s) s:on("ping", function(p) seen = p end) end)
      client = U.connect(port)
      local got
      assert.is_true(client:ping("abcdefgh", function(err, ms, payload) got = { err, ms, payload } end))
      helper.run_loop(function() return got end)
      assert.is_nil(got[1])
      assert.is_number(got[2])
      assert.equal("abcdefgh", got[3])
      assert.equal("abcdefgh", seen)
    end)

    it("sends a payload of its own when none is given", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      local got
      client:ping(function(err, _, payload) got = { err, payload } end)
      helper.run_loop(function() return got end)
      assert.is_nil(got[1])
      assert.equal(8, #got[2])
    end)

    it("raises ERR_HTTP2_PING_LENGTH (RangeError) for a payload that is not 8 bytes", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      helper.assert_throws(function() client:ping("abc", function() end) end,
        { code = "ERR_HTTP2_PING_LENGTH", name = "RangeError" })
      helper.assert_throws(function() client:ping("abcdefgh") end, { code = "ERR_INVALID_ARG_TYPE" })
    end)

    it("returns false past maxOutstandingPings", function()
      local port
      server, port = ok_server()
      client = U.connect(port, { maxOutstandingPings = 2 })
      local n, cancelled = 0, nil
      local function cb(err) if err then cancelled = err else n = n + 1 end end
      assert.is_true(client:ping(cb))
      assert.is_true(client:ping(cb))
      assert.is_false(client:ping(cb))
      helper.run_loop(function() return n == 2 and cancelled end)
      -- As Node 20: the refused ping's callback gets ERR_HTTP2_PING_CANCEL.
      assert.equal("ERR_HTTP2_PING_CANCEL", cancelled.code)
    end)

    it("before 'connect' is cancelled as Node 20 does, and the session lives on", function()
      local port
      server, port = ok_server()
      client = http2.connect("http://127.0.0.1:" .. port)
      local got, connected
      client:on("connect", function() connected = true end)
      assert.is_nil(client:ping(function(err) got = err end))
      helper.run_loop(function() return got and connected end)
      assert.equal("ERR_HTTP2_PING_CANCEL", got.code)
      -- The connection was not broken: a ping after 'connect' goes through.
      local rtt
      client:ping("12345678", function(err, ms, payload) rtt = { err, ms, payload } end)
      helper.run_loop(function() return rtt end)
      assert.is_nil(rtt[1])
      assert.is_number(rtt[2])
      assert.equal("12345678", rtt[3])
      assert.is_false(client.destroyed)
    end)

    it("cancels outstanding pings with ERR_HTTP2_PING_CANCEL on destroy", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      local got
      client:ping(function(err) got = err end)
      client:destroy()
      U.run_loop(function() return got end)
      assert.equal("ERR_HTTP2_PING_CANCEL", got.code)
    end)
  end)

  describe(":settings()", function()
    it("emits 'remoteSettings' and 'localSettings' and acknowledges with the callback", function()
      local port
      server, port = ok_server()
      client = http2.connect("http://127.0.0.1:" .. port)
      local remote, locals = nil, 0
      client:on("remoteSettings", function(s) remote = s end)
      client:on("localSettings", function() locals = locals + 1 end)
      helper.run_loop(function() return remote and locals == 1 end)
      assert.is_number(remote.maxFrameSize)
      assert.is_false(client.pendingSettingsAck)
      local got
      client:settings({ enablePush = false, headerTableSize = 1024 }, function(err, s, ms)
        got = { err, s, ms }
      end)
      assert.is_true(client.pendingSettingsAck)
      helper.run_loop(function() return got end)
      assert.is_nil(got[1])
      assert.is_false(got[2].enablePush)
      assert.equal(1024, got[2].headerTableSize)
      assert.is_number(got[3])
      assert.is_false(client.localSettings.enablePush)
      assert.equal(2, locals)
    end)

    it("validates with ERR_HTTP2_INVALID_SETTING_VALUE", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      helper.assert_throws(function() client:settings({ maxFrameSize = 1 }) end,
        { code = "ERR_HTTP2_INVALID_SETTING_VALUE", name = "RangeError" })
      helper.assert_throws(function() client:settings({ enablePush = 1 }) end,
        { code = "ERR_HTTP2_INVALID_SETTING_VALUE", name = "TypeError" })
    end)

    it("applies createServer's settings to the server's side", function()
      local server2 = http2.createServer({
        settings = { maxConcurrentStreams = 7, initialWindowSize = 100000 },
      })
      server2:listen(0, "127.0.0.1")
      server = server2
      client = U.connect(server2:address().port)
      helper.run_loop(function() return client.remoteSettings.maxConcurrentStreams == 7 end)
      assert.equal(100000, client.remoteSettings.initialWindowSize)
    end)

    it("createServer raises ERR_HTTP2_INVALID_SETTING_VALUE for bad settings", function()
      helper.assert_throws(function() http2.createServer({ settings = { initialWindowSize = -1 } }) end,
        { code = "ERR_HTTP2_INVALID_SETTING_VALUE" })
    end)
  end)

  describe(":goaway()", function()
    it("delivers code, last stream id and opaque data to the peer's 'goaway'", function()
      local port
      server, port = ok_server()
      local got
      client = U.connect(port)
      client:on("goaway", function(code, last, opaque) got = { code, last, opaque } end)
      client:on("error", function() end)
      U.get(client, {})
      for s in pairs(server._sessions) do
        s:on("error", function() end)
        s:goaway(11, 1, "opaque!")
      end
      helper.run_loop(function() return got end)
      assert.same({ 11, 1, "opaque!" }, got)
    end)

    it("a GOAWAY with NO_ERROR closes the receiving session gracefully", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      U.get(client, {})
      local events = {}
      client:on("goaway", function(code) events[#events + 1] = "goaway " .. code end)
      client:on("close", function() events[#events + 1] = "close" end)
      for s in pairs(server._sessions) do s:close() end
      helper.run_loop(function() return events[2] end)
      assert.same({ "goaway 0", "close" }, events)
    end)
  end)

  describe(":destroy()", function()
    it("emits 'error' then 'close' with the given error", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      local events = {}
      client:on("error", function(e) events[#events + 1] = e.message end)
      client:on("close", function() events[#events + 1] = "close" end)
      client:destroy(Error.new("bye"))
      assert.is_true(client.destroyed)
      U.run_loop(function() return #events == 2 end)
      assert.same({ "bye", "close" }, events)
    end)

    it("destroys open streams, which emit 'close'", function()
      local port
      server, port = U.server(function() end) -- never answers
      client = U.connect(port)
      local req = client:request({})
      local closed = false
      req:on("close", function() closed = true end)
      client:destroy()
      U.run_loop(function() return closed end)
      assert.is_true(req.destroyed)
    end)
  end)

  describe("properties", function()
    it("has state with nghttp2's nine fields", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      U.get(client, {})
      local st = client.state
      for _, k in ipairs { "effectiveLocalWindowSize", "effectiveRecvDataLength", "nextStreamID",
        "localWindowSize", "lastProcStreamID", "remoteWindowSize", "outboundQueueSize",
        "deflateDynamicTableSize", "inflateDynamicTableSize" } do
        assert.is_number(st[k], k)
      end
      assert.equal(3, st.nextStreamID)
    end)

    it("has a socket proxy that forbids manipulation", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      for _, m in ipairs { "destroy", "emit", "finish", "pause", "read", "resume", "write" } do
        helper.assert_throws(function() client.socket[m](client.socket) end,
          { code = "ERR_HTTP2_NO_SOCKET_MANIPULATION" })
      end
      assert.equal(port, client.socket.remotePort)
      assert.equal("127.0.0.1", client.socket.remoteAddress)
    end)

    it("setTimeout() emits 'timeout' after inactivity", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      local fired = false
      client:setTimeout(30, function() fired = true end)
      helper.run_loop(function() return fired end)
    end)

    it("setLocalWindowSize() grows the connection window", function()
      local port
      server, port = ok_server()
      client = U.connect(port)
      client:setLocalWindowSize(32 * 1024 * 1024)
      assert.equal(32 * 1024 * 1024, client.state.localWindowSize)
      helper.assert_throws(function() client:setLocalWindowSize(-1) end, { code = "ERR_OUT_OF_RANGE" })
    end)

    it("unref() lets the loop end with the session open", function()
      local port
      server, port = ok_server()
      server:unref()
      client = U.connect(port)
      client:unref()
      for s in pairs(server._sessions) do s:unref() end
      local core = require "lode_core"
      U.run_loop(function() return not core.alive() end, 2000)
      client:ref()
      server:ref()
    end)
  end)
end)
