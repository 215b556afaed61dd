-- #interop maxSessionRejectedStreams (Node's rejected_stream_count_): streams the server refuses
-- (over maxSessionMemory, or over its maxConcurrentStreams counting the streams it pushed) are
-- reset with ENHANCE_YOUR_CALM and counted; more than the
-- limit in a row tears the session down (GOAWAY INTERNAL_ERROR, 'sessionError' ERR_HTTP2_ERROR),
-- as Node 20 does; other sessions keep working. Also the rapid-reset bucket (CVE-2023-44487) Node
-- 20 has from nghttp2 1.57. Peers are raw python3-h2 clients (h2peers.lua) and lode clients.
local helper = require "spec.helper"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")
local P = dofile(here .. "h2peers.lua")

local ENHANCE_YOUR_CALM, INTERNAL_ERROR = 11, 2

local function serve(stream, headers)
  stream:on("error", function() end)
  stream:respond({ [":status"] = 200 })
  if headers[":path"] == "/big" then stream:finish(("\0"):rep(3000000)) else stream:finish("ok") end
end

describe("#interop maxSessionRejectedStreams", function()
  local server, port, client, session_errors, child
  local function start(options)
    server, port = U.server(options, serve)
    session_errors = {}
    server:on("sessionError", function(e) session_errors[#session_errors + 1] = e end)
    client = U.connect(port)
  end
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    U.kill(child)
    client, server, child = nil, nil, nil
  end)

  local function peer(script, ...)
    local args = { "-c", script, tostring(port) }
    for _, a in ipairs({ ... }) do args[#args + 1] = tostring(a) end
    local err, out, errout = U.run("/usr/bin/python3", args)
    assert.is_nil(err, errout)
    return out
  end

  local function rsts(out, code)
    local ids = {}
    for id, c in out:gmatch("RST_STREAM (%d+) (%d+)") do
      if tonumber(c) == code then ids[#ids + 1] = tonumber(id) end
    end
    return ids
  end

  -- Another session on the same server still works.
  local function others_work()
    assert.equal("ok", U.get(client, { [":path"] = "/small" }).body)
  end

  it("limit + 1 refusals in a row: each reset with ENHANCE_YOUR_CALM, the session lives", function()
    start({ maxSessionMemory = 1, maxSessionRejectedStreams = 3 })
    local out = peer(P.FILL, 4, "drain")
    assert.same({ 3, 5, 7, 9 }, rsts(out, ENHANCE_YOUR_CALM))
    assert.not_matches("GOAWAY", out)
    -- The stream that was admitted goes on, and once the memory is back new streams are served.
    assert.matches("BODY 3000000 END", out)
    assert.matches("HEADERS 11", out)
    assert.same({}, session_errors)
    others_work()
  end)

  it("one refusal more: GOAWAY INTERNAL_ERROR, connection closed, 'sessionError' ERR_HTTP2_ERROR",
    function()
    start({ maxSessionMemory = 1, maxSessionRejectedStreams = 3 })
    local out = peer(P.FILL, 6, "x")
    -- Streams 3..9 are refused; stream 11 is one too many: nothing for it or 13.
    assert.same({ 3, 5, 7, 9 }, rsts(out, ENHANCE_YOUR_CALM))
    assert.not_matches("RST_STREAM 11 ", out)
    assert.matches("GOAWAY " .. INTERNAL_ERROR, out)
    assert.matches("CLOSED", out)
    helper.run_loop(function() return #session_errors > 0 end)
    assert.equal("ERR_HTTP2_ERROR", session_errors[1].code)
    assert.equal("The user callback function failed", session_errors[1].message)
    others_work()
  end)

  it("defaults to 100: 101 refusals in a row keep the session, 102 end it", function()
    start({ maxSessionMemory = 1 })
    local out = peer(P.FILL, 101, "x")
    assert.equal(101, #rsts(out, ENHANCE_YOUR_CALM))
    assert.not_matches("GOAWAY", out)
    out = peer(P.FILL, 102, "x")
    assert.equal(101, #rsts(out, ENHANCE_YOUR_CALM))
    assert.matches("GOAWAY " .. INTERNAL_ERROR, out)
    others_work()
  end)

  -- A client with a request open and two streams pushed to it asks for one more: three streams
  -- against maxConcurrentStreams = 2 (nghttp2 counts only the client's own), refused.
  local function over_concurrency(to_port)
    local c = U.connect(to_port)
    client = c -- closed by after_each
    local pushes, res = 0, {}
    c:on("stream", function(pushed)
      pushes = pushes + 1
      pushed:on("data", function() end)
      if pushes == 2 then
        local req = c:request({ [":path"] = "/second" })
        req:on("error", function(e) res.err = e end)
        req:on("response", function(h) res.status = h[":status"] end)
        req:on("close", function() res.rst = req.rstCode end)
        req:resume()
      end
    end)
    local parent = c:request({ [":path"] = "/push" })
    parent:on("data", function() end)
    parent:on("error", function() end)
    helper.run_loop(function() return res.rst ~= nil end)
    return res
  end

  local function push_twice(stream, headers)
    stream:on("error", function() end)
    stream:respond({ [":status"] = 200 })
    if headers[":path"] ~= "/push" then stream:finish("ok") return end
    for i = 1, 2 do
      stream:pushStream({ [":path"] = "/p" .. i }, function(err, pushed)
        assert.is_nil(err)
        pushed:on("error", function() end)
        pushed:respond({ [":status"] = 200 })
        pushed:write("x") -- stays open
      end)
    end
    stream:write("parent") -- stays open
  end

  it("over maxConcurrentStreams, pushed streams counted: RST_STREAM ENHANCE_YOUR_CALM", function()
    server, port = U.server({ settings = { maxConcurrentStreams = 2 } }, push_twice)
    local res = over_concurrency(port)
    assert.is_nil(res.status)
    assert.equal(ENHANCE_YOUR_CALM, res.rst)
    assert.equal("ERR_HTTP2_STREAM_ERROR", res.err.code)
  end)

  it("over maxConcurrentStreams, pushed streams counted: a Node 20 server refuses the same way", function()
    child, port = U.node_server([[
      const http2 = require('http2');
      const server = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
      server.on('stream', (s, h) => {
        s.on('error', () => {});
        s.respond({ ':status': 200 });
        if (h[':path'] !== '/push') return s.end('ok');
        for (let i = 1; i <= 2; i++) s.pushStream({ ':path': '/p' + i }, (err, ps) => {
          ps.on('error', () => {}); ps.respond({ ':status': 200 }); ps.write('x');
        });
        s.write('parent');
      });
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));
    ]])
    local res = over_concurrency(port)
    assert.is_nil(res.status)
    assert.equal(ENHANCE_YOUR_CALM, res.rst)
  end)

  it("a HEADERS + RST_STREAM flood: 1000 resets pass, the next gets GOAWAY INTERNAL_ERROR", function()
    start()
    local out = peer(P.RESET, 1100)
    -- Stream 2001 carries the 1001st reset (Node 20 sends the same frame).
    assert.equal("GOAWAY 2001 " .. INTERNAL_ERROR .. "\n", out)
    out = peer(P.RESET, 900)
    assert.equal("", out)
    others_work()
  end)
end)
