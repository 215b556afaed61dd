-- #tls http2.createSecureServer: h2 over TLS (ALPN h2) against real peers — curl, nghttp, h2load,
-- Node 20's client — plus bad keys, garbage on the port, unknownProtocol and SSLKEYLOGFILE.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local net = require "lode.net"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local F = helper.fixtures .. "/"
local KEY = fs.readFileSync(F .. "localhost-key.pem", "utf8")
local CERT = fs.readFileSync(F .. "localhost.pem", "utf8")

local defer = helper.defer

local function secure_server(options)
  options = options or {}
  options.key = options.key or KEY
  options.cert = options.cert or CERT
  local server = http2.createSecureServer(options)
  server:on("stream", function(stream, headers)
    local parts = {}
    stream:on("data", function(c) parts[#parts + 1] = c end)
    stream:on("end", function()
      local s = stream.session
      stream:respond({ [":status"] = 200, ["x-scheme"] = headers[":scheme"],
        ["x-enc"] = tostring(s.encrypted), ["x-alpn"] = tostring(s.alpnProtocol),
        ["x-len"] = #table.concat(parts) })
      stream:finish("secure hello")
    end)
  end)
  server:listen(0, "127.0.0.1")
  defer(function() U.close_server(server) end)
  return server, server:address().port
end

describe("#tls http2.createSecureServer", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("answers curl --http2 --cacert over TLS with ALPN h2", function()
    local _, port = secure_server()
    local err, out = U.run("curl", { "-s", "-i", "--http2", "--cacert", F .. "ca.pem",
      "-w", "\n%{http_version}", "https://localhost:" .. port .. "/x" })
    assert.is_nil(err)
    assert.matches("^HTTP/2 200", out)
    assert.matches("x%-scheme: https", out)
    assert.matches("x%-enc: true", out)
    assert.matches("x%-alpn: h2", out)
    assert.matches("secure hello\n2$", out)
  end)

  it("takes a POST body from curl over TLS", function()
    local _, port = secure_server()
    local body = os.tmpname()
    defer(function() os.remove(body) end)
    local f = assert(io.open(body, "wb"))
    f:write(string.rep("z", 300000))
    f:close()
    local err, out = U.run("curl", { "-s", "-i", "--http2", "--cacert", F .. "ca.pem",
      "--data-binary", "@" .. body, "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.matches("x%-len: 300000", out)
  end)

  it("speaks to nghttp -nv over TLS", function()
    local _, port = secure_server()
    local err, out = U.run("nghttp", { "-nv", "https://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.matches("recv SETTINGS frame", out)
    assert.matches("recv %(stream_id=13%) :status: 200", out)
  end)

  it("serves h2load -n 20000 -c 10 -m 100 over TLS, all 2xx", function()
    local _, port = secure_server()
    local err, out = U.run("h2load", { "-n", "20000", "-c", "10", "-m", "100", "-t", "1",
      "https://127.0.0.1:" .. port .. "/" }, 60000)
    assert.is_nil(err)
    assert.matches("requests: 20000 total, 20000 started, 20000 done, 20000 succeeded", out)
    assert.matches("status codes: 20000 2xx", out)
  end)

  it("serves Node 20's http2.connect with ca", function()
    local _, port = secure_server()
    local err, out = U.node([[
      const h = require('http2'), fs = require('fs');
      const c = h.connect('https://localhost:' + process.argv[1], { ca: fs.readFileSync(process.argv[2]),
        autoSelectFamily: true });
      c.on('error', e => { console.log('ERR', e.code); process.exit(1); });
      const r = c.request({ ':path': '/n' });
      let b = '';
      r.on('response', hd => console.log(hd[':status'], c.alpnProtocol, c.encrypted, hd['x-scheme']));
      r.on('data', d => b += d);
      r.on('end', () => { console.log(b); c.close(); });
    ]], { port, F .. "ca.pem" })
    assert.is_nil(err)
    assert.equal("200 h2 true https\nsecure hello\n", out)
  end)

  it("gives sessions a TLS face: encrypted, alpnProtocol, socket", function()
    local server, port = secure_server()
    local seen
    server:on("session", function(s)
      seen = { enc = s.encrypted, alpn = s.alpnProtocol, senc = s.socket.encrypted,
        salpn = s.socket.alpnProtocol, proto = s.socket:getProtocol(),
        cipher = s.socket:getCipher().name, sni = s.socket.servername }
    end)
    local err = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem", "-o", "/dev/null",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.same({ enc = true, alpn = "h2", senc = true, salpn = "h2", proto = "TLSv1.2",
      cipher = seen.cipher, sni = "localhost" }, seen)
    assert.matches("^ECDHE%-", seen.cipher)
  end)

  it("asks for a client certificate with requestCert and shows it on session.socket", function()
    local server, port = secure_server({ requestCert = true, ca = fs.readFileSync(F .. "ca.pem", "utf8") })
    local seen
    server:on("session", function(s)
      seen = { authorized = s.socket.authorized, cn = s.socket:getPeerCertificate().subject.CN }
    end)
    local err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "--cert", F .. "client.pem", "--key", F .. "client-key.pem", "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal("secure hello", out)
    assert.same({ authorized = true, cn = "lode client" }, seen)
  end)

  it("drops a client without a certificate when requestCert rejects unauthorized ones", function()
    local _, port = secure_server({ requestCert = true, ca = fs.readFileSync(F .. "ca.pem", "utf8") })
    local err = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_not_nil(err)
  end)

  it("serves another certificate by SNI with server:addContext", function()
    local server, port = secure_server()
    server:addContext("*.other.example", { key = fs.readFileSync(F .. "other-key.pem", "utf8"),
      cert = fs.readFileSync(F .. "other.pem", "utf8") })
    local err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "--resolve", "www.other.example:" .. port .. ":127.0.0.1", "-w", " %{http_version}",
      "https://www.other.example:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal("secure hello 2", out)
    err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal("secure hello", out)
  end)

  it("asks SNICallback for the certificate of the client's server name", function()
    local tls = require "lode.tls"
    local other = tls.createSecureContext({ key = fs.readFileSync(F .. "other-key.pem", "utf8"),
      cert = fs.readFileSync(F .. "other.pem", "utf8") })
    local names = {}
    local _, port = secure_server({ SNICallback = function(name, cb)
      names[#names + 1] = name
      cb(nil, name == "other.example" and other or nil)
    end })
    local client = http2.connect("https://127.0.0.1:" .. port, { servername = "other.example",
      ca = fs.readFileSync(F .. "ca.pem", "utf8") })
    defer(function() U.close_client(client) end)
    client:on("error", function() end)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.same({ "other.example" }, names)
  end)

  it("raises at once on a bad key", function()
    local ok, e = pcall(http2.createSecureServer, { key = "not a key", cert = CERT })
    assert.is_false(ok)
    assert.is_string(e.code)
    assert.matches("ERR_OSSL", e.code)
  end)

  it("raises at once on a key that does not match the certificate", function()
    local ok, e = pcall(http2.createSecureServer,
      { key = fs.readFileSync(F .. "other-key.pem", "utf8"), cert = CERT })
    assert.is_false(ok)
    assert.equal("ERR_OSSL_X509_KEY_VALUES_MISMATCH", e.code)
  end)

  it("takes an encrypted key with its passphrase", function()
    local _, port = secure_server({ key = fs.readFileSync(F .. "localhost-rsa-key-enc.pem", "utf8"),
      cert = fs.readFileSync(F .. "localhost-rsa.pem", "utf8"), passphrase = "lode-pass" })
    local err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal("secure hello", out)
  end)

  it("closes only the connection that sent garbage to the TLS port, with 'tlsClientError'", function()
    local server, port = secure_server()
    local closed, tls_err = false, nil
    server:on("tlsClientError", function(e) tls_err = e end)
    local sock = net.connect(port, "127.0.0.1")
    defer(function() sock:destroy() end)
    sock:on("error", function() end)
    sock:on("close", function() closed = true end)
    sock:write("GET / HTTP/1.1\r\nHost: x\r\n\r\n" .. string.rep("\0garbage", 100))
    U.run_loop(function() return closed end, 5000)
    assert.is_true(closed)
    assert.is_string(tls_err and tls_err.code) -- 'tlsClientError', as Node emits it
    assert.is_true(server.listening)
    local err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal("secure hello", out)
  end)

  it("emits 'unknownProtocol' for a client without ALPN, closed after unknownProtocolTimeout", function()
    local server, port = secure_server({ unknownProtocolTimeout = 100 })
    local got
    server:on("unknownProtocol", function(sock) got = sock.alpnProtocol end)
    local t0 = os.time()
    local err = U.run("curl", { "-s", "--no-alpn", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_not_nil(err) -- no answer: the server closes the connection after the timeout
    assert.is_false(got)
    assert.is_true(os.time() - t0 < 5)
  end)

  it("sends Node's 403 text to a client without ALPN when nobody listens", function()
    local _, port = secure_server()
    local err, out = U.run("curl", { "-s", "-i", "--no-alpn", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" }, 5000)
    assert.is_nil(err)
    assert.matches("^HTTP/1%.0 403 Forbidden\r\nContent%-Type: text/plain\r\n\r\n" ..
      "Missing ALPN Protocol, expected `h2` to be available%.\n", out)
  end)

  it("fails the handshake of a client offering only http/1.1, as Node does", function()
    local _, port = secure_server()
    local err = U.run("curl", { "-s", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" }, 5000)
    assert.is_not_nil(err)
    assert.equal(35, err.code) -- CURLE_SSL_CONNECT_ERROR
  end)

  it("writes NSS key log lines to SSLKEYLOGFILE and emits 'keylog'", function()
    local server, port = secure_server()
    local lines = {}
    server:on("keylog", function(line) lines[#lines + 1] = line end)
    local err = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem", "-o", "/dev/null",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.is_true(#lines >= 1)
    assert.matches("^CLIENT_RANDOM %x+ %x+\n$", lines[1])
  end)
end)
