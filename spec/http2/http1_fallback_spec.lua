-- #tls #h1 createSecureServer({ allowHTTP1 = true }): HTTP/1.1 clients on the same TLS port go
-- through llhttp and the server's 'request' event (httpVersion '1.1'); h2 clients still get h2.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local F = helper.fixtures .. "/"

local defer = helper.defer

local function fallback_server()
  local server = http2.createSecureServer({ allowHTTP1 = true,
    key = fs.readFileSync(F .. "localhost-key.pem", "utf8"),
    cert = fs.readFileSync(F .. "localhost.pem", "utf8") })
  local seen = {}
  server:on("request", function(req, res)
    local parts = {}
    req:on("data", function(c) parts[#parts + 1] = c end)
    req:on("end", function()
      local body = table.concat(parts)
      seen[#seen + 1] = { method = req.method, url = req.url, version = req.httpVersion,
        host = req.headers.host, len = #body }
      res:setHeader("x-version", req.httpVersion)
      res.statusCode = req.url == "/missing" and 404 or 200
      if req.url == "/chunked" then
        res:write("part one, ")
        res:finish("part two")
      else
        res:finish(req.method .. " " .. req.url .. " " .. #body)
      end
    end)
  end)
  server:listen(0, "127.0.0.1")
  defer(function() if not server._close_emitted then U.close_server(server) end end)
  return server, server:address().port, seen
end

local function tmpfile(content)
  local name = os.tmpname()
  defer(function() os.remove(name) end)
  local f = assert(io.open(name, "wb"))
  f:write(content)
  f:close()
  return name
end

describe("#tls #h1 allowHTTP1", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("serves curl --http1.1 through 'request' with httpVersion 1.1", function()
    local _, port, seen = fallback_server()
    local err, out = U.run("curl", { "-s", "-i", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/one" })
    assert.is_nil(err)
    assert.matches("^HTTP/1%.1 200 OK\r\n", out)
    assert.matches("x%-version: 1%.1\r\n", out)
    assert.matches("Content%-Length: 10\r\n", out)
    assert.matches("\r\n\r\nGET /one 0$", out)
    assert.equal("1.1", seen[1].version)
    assert.equal("localhost:" .. port, seen[1].host)
  end)

  it("keeps the connection alive across requests (one TLS handshake)", function()
    local _, port = fallback_server()
    local err, out, errout = U.run("curl", { "-sv", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/a", "https://localhost:" .. port .. "/b" })
    assert.is_nil(err)
    assert.equal("GET /a 0GET /b 0", out)
    assert.matches("Re%-using existing connection", errout)
  end)

  it("sends a chunked response when the length is not known", function()
    local _, port = fallback_server()
    local err, out = U.run("curl", { "-s", "-i", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/chunked" })
    assert.is_nil(err)
    assert.matches("Transfer%-Encoding: chunked\r\n", out)
    assert.matches("\r\n\r\npart one, part two$", out)
  end)

  it("reads a Content-Length request body", function()
    local _, port, seen = fallback_server()
    local file = tmpfile(string.rep("b", 200000))
    local err, out = U.run("curl", { "-s", "--http1.1", "--cacert", F .. "ca.pem",
      "--data-binary", "@" .. file, "https://localhost:" .. port .. "/up" })
    assert.is_nil(err)
    assert.equal("POST /up 200000", out)
    assert.equal(200000, seen[1].len)
  end)

  it("reads a chunked request body", function()
    local _, port = fallback_server()
    local file = tmpfile(string.rep("c", 50000))
    local err, out = U.run("curl", { "-s", "--http1.1", "--cacert", F .. "ca.pem",
      "-H", "Transfer-Encoding: chunked", "--data-binary", "@" .. file,
      "https://localhost:" .. port .. "/chunks" })
    assert.is_nil(err)
    assert.equal("POST /chunks 50000", out)
  end)

  it("uses the status code set on res", function()
    local _, port = fallback_server()
    local err, out = U.run("curl", { "-s", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
      "--http1.1", "--cacert", F .. "ca.pem", "https://localhost:" .. port .. "/missing" })
    assert.is_nil(err)
    assert.equal("404 1.1", out)
  end)

  it("still speaks h2 to curl --http2 on the same port", function()
    local _, port = fallback_server()
    local err, out = U.run("curl", { "-s", "-w", " %{http_version}", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/h2" })
    assert.is_nil(err)
    assert.matches(" 2$", out)
  end)

  it("serves Node 20's https.get (keep-alive agent, no ALPN)", function()
    local _, port = fallback_server()
    local err, out = U.node([[
      const https = require('https'), fs = require('fs');
      const agent = new https.Agent({ keepAlive: true });
      const ca = fs.readFileSync(process.argv[2]);
      let n = 0;
      function go() {
        https.get({ host: 'localhost', port: +process.argv[1], path: '/n' + n, ca, agent,
          autoSelectFamily: true }, r => {
          let b = '';
          r.on('data', d => b += d);
          r.on('end', () => {
            console.log(r.statusCode, r.httpVersion, r.headers['x-version'], b);
            if (++n < 3) go(); else agent.destroy();
          });
        }).on('error', e => { console.log('ERR', e.code); process.exit(1); });
      }
      go();
    ]], { port, F .. "ca.pem" })
    assert.is_nil(err)
    assert.equal("200 1.1 1.1 GET /n0 0\n200 1.1 1.1 GET /n1 0\n200 1.1 1.1 GET /n2 0\n", out)
  end)

  it("counts a keep-alive HTTP/1.1 connection until server:close() ends it while idle", function()
    local server, port = fallback_server()
    local tls = require "lode.tls"
    local sock = tls.connect({ host = "127.0.0.1", port = port, servername = "localhost",
      ca = fs.readFileSync(F .. "ca.pem", "utf8"), ALPNProtocols = { "http/1.1" } })
    defer(function() sock:destroy() end)
    local got, sock_closed = "", false
    sock:on("data", function(d) got = got .. d end)
    sock:on("error", function() end)
    sock:on("close", function() sock_closed = true end)
    sock:write("GET /ka HTTP/1.1\r\nHost: localhost\r\n\r\n")
    U.run_loop(function() return got:find("GET /ka 0", 1, true) ~= nil end, 5000)
    assert.equal(1, server._nsessions)
    local closed = false
    server:close(function() closed = true end)
    U.run_loop(function() return closed and sock_closed end, 5000)
    assert.is_true(closed)
    assert.equal(0, server._nsessions)
  end)

  it("answers 400 to a request llhttp refuses, and closes", function()
    local _, port = fallback_server()
    local err, out = U.run("sh", { "-c", "printf 'BREW / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | " ..
      "timeout 5 openssl s_client -quiet -alpn http/1.1 -connect 127.0.0.1:" .. port .. " 2>/dev/null" })
    assert.is_nil(err)
    assert.matches("^HTTP/1%.1 400 Bad Request\r\n", out)
  end)
end)
