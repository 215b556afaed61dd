-- #tls ORIGIN frames (RFC 8336): the `origins` option and serverSession:origin(), the client's
-- 'origin' event and session.originSet — with lode's client and Node 20's.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local F = helper.fixtures .. "/"
local CA = fs.readFileSync(F .. "ca.pem", "utf8")

local defer = helper.defer

local function origin_server(options, on_session)
  options = options or {}
  options.key = fs.readFileSync(F .. "localhost-key.pem", "utf8")
  options.cert = fs.readFileSync(F .. "localhost.pem", "utf8")
  local server = http2.createSecureServer(options)
  server:on("stream", function(stream)
    stream:respond({ [":status"] = 200 })
    stream:finish("ok")
  end)
  if on_session then server:on("session", on_session) end
  server:listen(0, "127.0.0.1")
  defer(function() U.close_server(server) end)
  return server, server:address().port
end

describe("#tls ORIGIN frames", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("sends the `origins` option and serverSession:origin() to lode's client", function()
    local _, port = origin_server({ origins = { "https://example.org", "https://Example.com:8443/x" } },
      function(session) session:origin("https://third.example") end)
    local client = http2.connect("https://localhost:" .. port, { ca = CA })
    defer(function() U.close_client(client) end)
    local got = {}
    client:on("origin", function(list) got[#got + 1] = table.concat(list, " ") end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.same({ "https://example.org https://example.com:8443", "https://third.example" }, got)
    assert.same({ "https://localhost:" .. port, "https://example.org", "https://example.com:8443",
      "https://third.example" }, client.originSet)
  end)

  it("reaches Node 20's client as 'origin' events", function()
    local _, port = origin_server({ origins = { "https://example.org" } })
    local err, out = U.node([[
      const h = require('http2'), fs = require('fs');
      const c = h.connect('https://localhost:' + process.argv[1], { ca: fs.readFileSync(process.argv[2]),
        autoSelectFamily: true });
      c.on('origin', o => console.log('origin', o.join(',')));
      const r = c.request({ ':path': '/' });
      r.resume();
      r.on('end', () => { console.log(c.originSet.join(',')); c.close(); });
    ]], { port, F .. "ca.pem" })
    assert.is_nil(err)
    assert.equal("origin https://example.org\nhttps://localhost:" .. port .. ",https://example.org\n", out)
  end)

  it("has no originSet on an h2c session", function()
    local server, port = U.server(function(stream) stream:respond({ [":status"] = 200 }); stream:finish() end)
    defer(function() U.close_server(server) end)
    local client = U.connect(port)
    defer(function() U.close_client(client) end)
    assert.is_nil(client.originSet)
  end)

  it("rejects an origin that serializes to 'null' with ERR_HTTP2_INVALID_ORIGIN", function()
    local session
    local _, port = origin_server(nil, function(s) session = s end)
    local client = http2.connect("https://localhost:" .. port, { ca = CA })
    defer(function() U.close_client(client) end)
    U.run_loop(function() return session ~= nil end, 5000)
    helper.assert_throws(function() session:origin("file:///etc/passwd") end,
      { code = "ERR_HTTP2_INVALID_ORIGIN" })
    helper.assert_throws(function() session:origin(12) end, { code = "ERR_INVALID_ARG_TYPE" })
    helper.assert_throws(function() session:origin("https://" .. string.rep("a", 16400) .. ".example") end,
      { code = "ERR_HTTP2_ORIGIN_LENGTH" })
  end)
end)
