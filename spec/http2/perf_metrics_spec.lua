-- perf_hooks.PerformanceObserver with Http2Session and Http2Stream entries.
local helper = require "spec.helper"
local perf_hooks = require "lode.perf_hooks"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")
local PerformanceObserver = perf_hooks.PerformanceObserver

local SESSION_FIELDS = { "bytesRead", "bytesWritten", "framesReceived", "framesSent",
  "maxConcurrentStreams", "pingRTT", "streamAverageDuration", "streamCount" }
local STREAM_FIELDS = { "bytesRead", "bytesWritten", "id", "timeToFirstByte", "timeToFirstByteSent",
  "timeToFirstHeader" }

describe("http2 performance entries", function()
  local server, client, obs
  after_each(function()
    if obs then obs:disconnect() end
    U.close_client(client)
    U.close_server(server)
    client, server, obs = nil, nil, nil
    helper.verify_calls()
  end)

  -- One request for a 5000-byte body; returns every entry observed.
  local function exchange(ping)
    local entries = {}
    obs = PerformanceObserver.new(function(list, o)
      assert.equal(obs, o)
      for _, e in ipairs(list:getEntries()) do entries[#entries + 1] = e end
    end)
    obs:observe({ entryTypes = { "http2" } })
    local port
    server, port = U.server(function(stream)
      stream:respond()
      stream:finish(string.rep("x", 5000))
    end)
    client = U.connect(port)
    if ping then
      local rtt
      client:ping(function(_, d) rtt = d end)
      U.run_loop(function() return rtt end)
    end
    local res = U.get(client, {})
    assert.equal(5000, #res.body)
    U.close_client(client)
    client = nil
    U.close_server(server)
    server = nil
    U.run_loop(function() return #entries >= 4 end)
    local by = {}
    for _, e in ipairs(entries) do
      local key = e.name .. ":" .. (e.detail.type or (e.detail.bytesRead > 0 and "client" or "server"))
      by[key] = e
    end
    return by, entries
  end

  it("delivers an Http2Session entry per session with every documented field", function()
    local by = exchange()
    for _, key in ipairs { "Http2Session:client", "Http2Session:server" } do
      local e = by[key]
      assert.is_table(e, key)
      assert.equal("http2", e.entryType)
      assert.equal("Http2Session", e.name)
      assert.is_number(e.startTime)
      assert.is_true(e.duration >= 0)
      for _, f in ipairs(SESSION_FIELDS) do assert.is_number(e.detail[f], f) end
      assert.equal(1, e.detail.streamCount)
      assert.equal(1, e.detail.maxConcurrentStreams)
      assert.is_true(e.detail.framesSent > 0 and e.detail.framesReceived > 0)
      assert.equal(e.detail.bytesRead, e.bytesRead) -- Node's deprecated accessors
    end
    -- One TCP connection: what one side wrote the other read.
    assert.equal(by["Http2Session:client"].detail.bytesWritten, by["Http2Session:server"].detail.bytesRead)
    -- The server's last frames (its GOAWAY) may reach a client that is already destroyed.
    local sd, cd = by["Http2Session:server"].detail, by["Http2Session:client"].detail
    assert.is_true(sd.bytesWritten >= cd.bytesRead)
    assert.is_true(by["Http2Session:client"].detail.bytesRead > 5000)
  end)

  it("delivers an Http2Stream entry per stream with every documented field", function()
    local by = exchange()
    local c, s = by["Http2Stream:client"], by["Http2Stream:server"]
    for _, e in ipairs { c, s } do
      assert.equal("http2", e.entryType)
      for _, f in ipairs(STREAM_FIELDS) do assert.is_number(e.detail[f], f) end
      assert.equal(1, e.detail.id)
    end
    assert.equal(5000, c.detail.bytesRead)
    assert.equal(5000, s.detail.bytesWritten)
    assert.is_true(c.detail.timeToFirstHeader > 0)
    assert.is_true(c.detail.timeToFirstByte >= c.detail.timeToFirstHeader)
    assert.is_true(s.detail.timeToFirstByteSent > 0)
  end)

  it("records the ping round trip in pingRTT", function()
    local by = exchange(true)
    assert.is_true(by["Http2Session:client"].detail.pingRTT > 0)
  end)

  it("costs nothing when nobody observes: no per-session or per-stream records", function()
    local port, sstream
    server, port = U.server(function(stream)
      sstream = stream
      stream:respond({}, { endStream = true })
    end)
    client = U.connect(port)
    local req = client:request({})
    assert.is_nil(rawget(client, "_perf"))
    assert.is_nil(rawget(req, "_perf"))
    req:resume()
    U.run_loop(function() return sstream end)
    assert.is_nil(rawget(sstream, "_perf"))
    assert.is_nil(rawget(sstream.session, "_perf"))
  end)

  it("disconnect() stops the deliveries", function()
    obs = PerformanceObserver.new(helper.must_not_call("observer"))
    obs:observe({ type = "http2" })
    obs:disconnect()
    local port
    server, port = U.server(function(stream) stream:respond({}, { endStream = true }) end)
    client = U.connect(port)
    U.get(client, {})
    helper.wait(20)
  end)

  it("validates the callback and the options", function()
    helper.assert_throws(function() PerformanceObserver.new(5) end, { code = "ERR_INVALID_ARG_TYPE" })
    local o = PerformanceObserver.new(function() end)
    helper.assert_throws(function() o:observe({}) end, { code = "ERR_MISSING_ARGS" })
    helper.assert_throws(function() o:observe(5) end, { code = "ERR_INVALID_ARG_TYPE" })
    assert.is_truthy(table.concat(PerformanceObserver.supportedEntryTypes, ","):find("http2"))
  end)
end)

describe("perf example", function()
  it("examples/http2_perf_observer.lua prints both kinds of entries", function()
    local err, out = U.run(helper.lode, { "examples/http2_perf_observer.lua" })
    assert.is_nil(err)
    assert.matches("http2\tHttp2Session\n\tclient\tstreams 1", out)
    assert.matches("http2\tHttp2Session\n\tserver\tstreams 1", out)
    assert.matches("http2\tHttp2Stream\n\tid 1\tbytesRead 5\n", out)
  end)
end)
