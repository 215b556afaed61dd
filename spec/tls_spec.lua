-- tls: createServer / connect over the mbedTLS engine, against real peers (openssl s_client,
-- curl, Node's tls) on loopback, every certificate failure code, tickets, keylog. #tls
local helper = require "spec.helper"
local tls = require "lode.tls"
local fs = require "lode.fs"
local child_process = require "lode.child_process"

local F = helper.fixtures .. "/"
local function fixture(name) return fs.readFileSync(F .. name, "latin1") end
local CA = fixture("ca.pem")
local KEY, CERT = fixture("localhost-key.pem"), fixture("localhost.pem")

local function run_peer(file, args)
  local res = {}
  child_process.execFile(file, args, { timeout = 15000 }, function(err, stdout, stderr)
    res.err, res.stdout, res.stderr, res.done = err, stdout, stderr, true
  end)
  return res
end

local function listen(server)
  local listening = false
  server:listen(0, "127.0.0.1", function() listening = true end)
  helper.run_loop(function() return listening end)
  return server:address().port
end

local function close(server)
  if server and server.listening then
    local closed = false
    server:close(function() closed = true end)
    helper.run_loop(function() return closed end, 5000)
  end
end

-- A server that answers each connection's first data with `reply` and ends it.
local function answer_server(options, reply)
  options = options or {}
  options.key = options.key or KEY
  options.cert = options.cert or CERT
  local server = tls.createServer(options, function(socket)
    socket:on("data", function(d)
      socket:finish(type(reply) == "function" and reply(d, socket) or reply or d)
    end)
    socket:on("error", function() end)
  end)
  return server
end

-- Connects and collects: secure, data, error, close.
local function connect(options)
  local res = { chunks = {} }
  local socket
  socket = tls.connect(options, function() res.secure = true end)
  socket:on("data", function(d) res.chunks[#res.chunks + 1] = d end)
  socket:on("error", function(e) res.error = e end)
  socket:on("close", function() res.closed = true end)
  res.socket = socket
  return res
end

local function server_with(cert, key)
  local server = answer_server({ cert = fixture(cert), key = fixture(key) }, "ok")
  local port = listen(server)
  return server, port
end

describe("tls.createServer and tls.connect", function()
  after_each(function() helper.verify_calls() end)

  it("round-trips bytes with ALPN and SNI, both sides seeing the negotiation", function()
    local seen
    local server = answer_server({ ALPNProtocols = { "h2", "http/1.1" } }, function(d, s)
      seen = { alpn = s.alpnProtocol, servername = s.servername, proto = s:getProtocol() }
      return "pong:" .. d
    end)
    finally(function() close(server) end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA, ALPNProtocols = { "h2" } })
    res.socket:on("secureConnect", function() res.socket:write("ping") end)
    helper.run_loop(function() return res.closed end)
    assert.is_nil(res.error)
    assert.equal("pong:ping", table.concat(res.chunks))
    assert.same({ alpn = "h2", servername = "localhost", proto = "TLSv1.2" }, seen)
    local s = res.socket
    assert.is_true(s.encrypted)
    assert.is_true(s.authorized)
    assert.equal("h2", s.alpnProtocol)
    assert.equal("TLSv1.2", s:getProtocol())
    assert.equal("ECDHE-ECDSA-AES128-GCM-SHA256", s:getCipher().name)
    assert.equal("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", s:getCipher().standardName)
    local cert = s:getPeerCertificate(true)
    assert.equal("localhost", cert.subject.CN)
    assert.equal("lode test CA", cert.issuer.CN)
    assert.equal("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
      cert.subjectaltname)
    assert.equal("Nov 20 05:18:56 2046 GMT", cert.valid_to)
    assert.matches("^%x%x:", cert.fingerprint256)
    assert.equal(95, #cert.fingerprint256)
    assert.equal(256, cert.bits)
  end)

  it("alpnProtocol is false when nothing was negotiated", function()
    local server = answer_server(nil, "x")
    finally(function() close(server) end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA })
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.is_false(res.socket.alpnProtocol)
    assert.equal("x", table.concat(res.chunks))
  end)

  it("carries a large body both ways", function()
    local server = tls.createServer({ key = KEY, cert = CERT }, function(socket)
      socket:pipe(socket)
    end)
    finally(function() close(server) end)
    local port = listen(server)
    local body = string.rep("0123456789abcdef", 64 * 1024) -- 1 MiB
    local res = connect({ port = port, host = "localhost", ca = CA })
    local got = 0
    res.socket:on("data", function(d)
      got = got + #d
      if got == #body then res.socket:finish() end
    end)
    res.socket:write(body)
    helper.run_loop(function() return res.closed end, 10000)
    assert.equal(#body, #table.concat(res.chunks))
    assert.equal(body, table.concat(res.chunks))
  end)

  it("serves an RSA certificate with an encrypted key (passphrase)", function()
    local server = answer_server({ cert = fixture("localhost-rsa.pem"),
      key = fixture("localhost-rsa-key-enc.pem"), passphrase = "lode-pass" }, "rsa")
    finally(function() close(server) end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA })
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.equal("rsa", table.concat(res.chunks))
    assert.equal("ECDHE-RSA-AES128-GCM-SHA256", res.socket:getCipher().name)
  end)

  it("raises at once for a bad key, a wrong passphrase, a mismatched key", function()
    local err = helper.assert_throws(function()
      tls.createServer({ key = "not a key", cert = CERT })
    end, { code = "ERR_OSSL_UNSUPPORTED" })
    assert.matches("Invalid private key", err.message)
    helper.assert_throws(function()
      tls.createServer({ key = fixture("localhost-rsa-key-enc.pem"),
        cert = fixture("localhost-rsa.pem"), passphrase = "wrong" })
    end, { code = "ERR_OSSL_BAD_DECRYPT" })
    helper.assert_throws(function()
      tls.createServer({ key = fixture("other-key.pem"), cert = CERT })
    end, { code = "ERR_OSSL_X509_KEY_VALUES_MISMATCH" })
    helper.assert_throws(function()
      tls.createServer({ key = KEY, cert = "garbage" })
    end, { code = "ERR_OSSL_PEM_NO_START_LINE" })
    helper.assert_throws(function()
      tls.createSecureContext({ ciphers = "NOPE-NOTHING" })
    end, { code = "ERR_SSL_NO_CIPHER_MATCH" })
    helper.assert_throws(function()
      tls.createSecureContext({ minVersion = "TLSv9" })
    end, { code = "ERR_TLS_INVALID_PROTOCOL_VERSION" })
  end)

  it("closes only the connection that sent garbage ('tlsClientError')", function()
    local server = answer_server(nil, "fine")
    finally(function() close(server) end)
    local client_errors = {}
    server:on("tlsClientError", function(err, socket)
      client_errors[#client_errors + 1] = { code = err.code, socket = socket }
    end)
    local port = listen(server)
    local net = require "lode.net"
    local raw = net.connect(port, "127.0.0.1")
    local raw_closed = false
    raw:on("error", function() end)
    raw:on("close", function() raw_closed = true end)
    raw:resume()
    raw:write("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    helper.run_loop(function() return raw_closed end)
    assert.equal(1, #client_errors)
    assert.equal("ERR_SSL_WRONG_VERSION_NUMBER", client_errors[1].code)
    assert.is_true(client_errors[1].socket.destroyed)
    local res = connect({ port = port, host = "localhost", ca = CA })
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.equal("fine", table.concat(res.chunks))
    assert.is_true(server.listening)
  end)
end)

describe("certificate verification (lode's client)", function()
  local cases = {
    { "selfsigned.pem", "selfsigned-key.pem", "DEPTH_ZERO_SELF_SIGNED_CERT",
      "self-signed certificate" },
    { "localhost.pem", "localhost-key.pem", "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "unable to verify the first certificate", { ca = fixture("selfsigned.pem") } },
    { "localhost-chain.pem", "localhost-key.pem", "SELF_SIGNED_CERT_IN_CHAIN",
      "self-signed certificate in certificate chain", { ca = fixture("selfsigned.pem") } },
    { "expired.pem", "expired-key.pem", "CERT_HAS_EXPIRED", "certificate has expired" },
  }
  for _, case in ipairs(cases) do
    it("fails with " .. case[3], function()
      local server, port = server_with(case[1], case[2])
      finally(function() close(server) end)
      local opts = { port = port, host = "localhost", ca = CA }
      for k, v in pairs(case[5] or {}) do opts[k] = v end
      local res = connect(opts)
      helper.run_loop(function() return res.closed end)
      assert.is_nil(res.secure)
      assert.equal(case[3], res.error and res.error.code)
      assert.equal(case[4], res.error.message)
      -- rejectUnauthorized = false: connected, with the reason kept.
      opts.rejectUnauthorized = false
      local res2 = connect(opts)
      res2.socket:on("secureConnect", function() res2.socket:write("x") end)
      helper.run_loop(function() return res2.closed end)
      assert.is_true(res2.secure)
      assert.is_false(res2.socket.authorized)
      assert.equal(case[3], res2.socket.authorizationError)
      assert.equal("ok", table.concat(res2.chunks))
    end)
  end

  it("fails with ERR_TLS_CERT_ALTNAME_INVALID for another name", function()
    local server, port = server_with("other.pem", "other-key.pem")
    finally(function() close(server) end)
    local res = connect({ port = port, host = "127.0.0.1", servername = "localhost", ca = CA })
    helper.run_loop(function() return res.closed end)
    assert.equal("ERR_TLS_CERT_ALTNAME_INVALID", res.error and res.error.code)
    assert.equal("Hostname/IP does not match certificate's altnames: Host: localhost. is not in " ..
      "the cert's altnames: DNS:other.example, DNS:*.other.example", res.error.message)
    assert.equal("Host: localhost. is not in the cert's altnames: DNS:other.example, " ..
      "DNS:*.other.example", res.error.reason)
  end)

  it("checks an IP host against the IP SANs, and honours checkServerIdentity", function()
    local server, port = server_with("localhost.pem", "localhost-key.pem")
    finally(function() close(server) end)
    local res = connect({ port = port, host = "127.0.0.1", ca = CA })
    res.socket:on("secureConnect", function() res.socket:write("x") end)
    helper.run_loop(function() return res.closed end)
    assert.is_true(res.socket.authorized)
    assert.is_false(res.socket.servername) -- no SNI for an address
    local called
    local res2 = connect({ port = port, host = "localhost", ca = CA,
      checkServerIdentity = function(host, cert)
        called = { host, cert.subject.CN }
        local e = require("lode.errors").Error.new("nope")
        e.code = "MY_CHECK"
        return e
      end })
    helper.run_loop(function() return res2.closed end)
    assert.same({ "localhost", "localhost" }, called)
    assert.equal("MY_CHECK", res2.error.code)
  end)

  it("tls.checkServerIdentity matches Node's messages", function()
    local cert = { subject = { CN = "localhost" },
      subjectaltname = "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" }
    assert.is_nil(tls.checkServerIdentity("localhost", cert))
    assert.is_nil(tls.checkServerIdentity("::1", cert))
    assert.equal("Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the " ..
      "cert's list: 127.0.0.1, ::1", tls.checkServerIdentity("10.0.0.1", cert).message)
    local wild = { subject = {}, subjectaltname = "DNS:*.example.com" }
    assert.is_nil(tls.checkServerIdentity("a.example.com", wild))
    assert.is_not_nil(tls.checkServerIdentity("a.b.example.com", wild))
    assert.is_nil(tls.checkServerIdentity("x.y", { subject = { CN = "x.y" } }))
  end)
end)

describe("client certificates, SNI, tickets, keylog", function()
  it("requestCert: the server sees the client's certificate", function()
    local seen = {}
    local server = tls.createServer({ key = KEY, cert = CERT, ca = CA, requestCert = true,
      rejectUnauthorized = false }, function(s)
      seen[#seen + 1] = { authorized = s.authorized, err = s.authorizationError,
        cn = (s:getPeerCertificate().subject or {}).CN }
      s:finish("hi")
    end)
    finally(function() close(server) end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA, cert = fixture("client.pem"),
      key = fixture("client-key.pem") })
    helper.run_loop(function() return res.closed end)
    local res2 = connect({ port = port, host = "localhost", ca = CA })
    helper.run_loop(function() return res2.closed end)
    assert.same({ authorized = true, cn = "lode client" }, seen[1])
    assert.same({ authorized = false, err = "UNABLE_TO_GET_ISSUER_CERT" }, seen[2])
  end)

  it("SNICallback and addContext choose the certificate by name", function()
    local names = {}
    local other = tls.createSecureContext({ key = fixture("other-key.pem"),
      cert = fixture("other.pem") })
    local server = answer_server({ SNICallback = function(name, cb)
      names[#names + 1] = name
      -- Asynchronous, as Node allows.
      require("lode.timers").setTimeout(function()
        cb(nil, name == "www.other.example" and other or nil)
      end, 1)
    end }, "sni")
    local server2
    finally(function() close(server); close(server2) end)
    local port = listen(server)
    local res = connect({ port = port, host = "127.0.0.1", servername = "www.other.example", ca = CA })
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.is_nil(res.error)
    assert.equal("other.example", res.socket:getPeerCertificate().subject.CN)
    local res2 = connect({ port = port, host = "localhost", ca = CA })
    res2.socket:on("secureConnect", function() res2.socket:write("a") end)
    helper.run_loop(function() return res2.closed end)
    assert.equal("localhost", res2.socket:getPeerCertificate().subject.CN)
    assert.same({ "www.other.example", "localhost" }, names)

    server2 = answer_server(nil, "ctx")
    server2:addContext("*.other.example", { key = fixture("other-key.pem"),
      cert = fixture("other.pem") })
    local port2 = listen(server2)
    local res3 = connect({ port = port2, host = "127.0.0.1", servername = "a.other.example", ca = CA })
    res3.socket:on("secureConnect", function() res3.socket:write("a") end)
    helper.run_loop(function() return res3.closed end)
    assert.equal("other.example", res3.socket:getPeerCertificate().subject.CN)
    assert.equal("ctx", table.concat(res3.chunks))
  end)

  it("resumes a session from its ticket", function()
    local server = answer_server(nil, "t")
    finally(function() close(server) end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA })
    local session
    res.socket:on("session", function(s) session = s end)
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.is_false(res.socket:isSessionReused())
    assert.is_string(session)
    local res2 = connect({ port = port, host = "localhost", ca = CA, session = session })
    res2.socket:on("secureConnect", function() res2.socket:write("a") end)
    helper.run_loop(function() return res2.closed end)
    assert.is_true(res2.socket:isSessionReused())
    assert.is_true(res2.socket.authorized)
    assert.equal("t", table.concat(res2.chunks))
  end)

  it("emits 'keylog' lines on the client and the server", function()
    local server = answer_server(nil, "k")
    finally(function() close(server) end)
    local server_lines = {}
    server:on("keylog", function(line, socket)
      server_lines[#server_lines + 1] = line
      assert.is_true(socket.encrypted)
    end)
    local port = listen(server)
    local res = connect({ port = port, host = "localhost", ca = CA })
    local lines = {}
    res.socket:on("keylog", function(line) lines[#lines + 1] = line end)
    res.socket:on("secureConnect", function() res.socket:write("a") end)
    helper.run_loop(function() return res.closed end)
    assert.equal(1, #lines)
    assert.matches("^CLIENT_RANDOM " .. string.rep("%x", 64) .. " " .. string.rep("%x", 96) .. "\n$",
      lines[1])
    assert.same(lines, server_lines)
  end)

  it("appends to SSLKEYLOGFILE", function()
    local path = os.tmpname()
    finally(function() os.remove(path) end)
    local script = [[
      local tls = require "tls"
      local fs = require "fs"
      local F = ...
      local s = tls.createServer({ key = fs.readFileSync(F .. "localhost-key.pem"),
        cert = fs.readFileSync(F .. "localhost.pem") }, function(c) c:finish("x") end)
      s:listen(0, "127.0.0.1", function()
        local c = tls.connect(s:address().port, "localhost", { ca = fs.readFileSync(F .. "ca.pem") })
        c:on("data", function() end)
        c:on("close", function() s:close() end)
      end)
    ]]
    local out, code = helper.sh("SSLKEYLOGFILE=" .. helper.q(path) .. " " .. helper.q(helper.lode) ..
      " -e " .. helper.q(script:gsub("%.%.%.", helper.q(F))))
    assert.equal(0, code, out)
    local f = assert(io.open(path))
    local text = f:read("a")
    f:close()
    -- One line from the client and one from the server, the same secret.
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(2, #lines)
    assert.equal(lines[1], lines[2])
    assert.matches("^CLIENT_RANDOM ", lines[1])
  end)
end)

describe("real peers #interop", function()
  it("openssl s_client negotiates h2 with SNI", function()
    local seen
    local server = answer_server({ ALPNProtocols = { "h2" } }, function(_, s)
      seen = s.servername
      return "hello s_client\n"
    end)
    finally(function() close(server) end)
    local port = listen(server)
    local res = {}
    local proc = child_process.spawn("openssl", { "s_client", "-connect", "127.0.0.1:" .. port,
      "-alpn", "h2", "-servername", "localhost", "-CAfile", F .. "ca.pem", "-quiet",
      "-verify_return_error" })
    local out = {}
    proc.stdout:on("data", function(d) out[#out + 1] = d end)
    proc.stderr:on("data", function(d) out[#out + 1] = d end)
    proc:on("exit", function(code) res.code = code end)
    proc.stdin:write("hi\n")
    helper.run_loop(function() return res.code ~= nil end, 15000)
    local text = table.concat(out)
    assert.matches("hello s_client", text)
    assert.equal("localhost", seen)
    -- And the details s_client prints without -quiet.
    local r = run_peer("sh", { "-c", "echo hi | openssl s_client -connect 127.0.0.1:" .. port ..
      " -alpn h2 -servername localhost -CAfile " .. F .. "ca.pem 2>&1" })
    helper.run_loop(function() return r.done end, 15000)
    assert.matches("ALPN protocol: h2", r.stdout)
    assert.matches("Verify return code: 0 %(ok%)", r.stdout)
    assert.matches("Protocol  *: TLSv1.2", r.stdout)
  end)

  it("curl verifies the server against the test CA", function()
    local server = answer_server(nil,
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
    finally(function() close(server) end)
    local port = listen(server)
    local r = run_peer("curl", { "-s", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/", "-w", " %{ssl_verify_result} %{http_code}" })
    helper.run_loop(function() return r.done end, 15000)
    assert.equal("hello 0 200", r.stdout)
  end)

  it("Node's tls.connect with ca talks to lode's server (ALPN)", function()
    local seen
    local server = answer_server({ ALPNProtocols = { "h2", "http/1.1" } }, function(d, s)
      seen = s.servername
      return "lode got " .. d
    end)
    finally(function() close(server) end)
    local port = listen(server)
    local r = run_peer("node", { "-e", [[
      const tls = require('tls'), fs = require('fs');
      const c = tls.connect({ port: +process.argv[1], host: 'localhost', servername: 'localhost',
        autoSelectFamily: true,
        ca: fs.readFileSync(process.argv[2]), ALPNProtocols: ['h2'] }, () => {
        process.stdout.write(c.authorized + ' ' + c.alpnProtocol + ' ' + c.getProtocol() + ' ');
        c.write('node');
      });
      c.on('data', d => process.stdout.write(d));
    ]], tostring(port), F .. "ca.pem" })
    helper.run_loop(function() return r.done end, 15000)
    assert.equal("true h2 TLSv1.2 lode got node", r.stdout, r.stderr)
    assert.equal("localhost", seen)
  end)

  it("lode's tls.connect talks to Node's tls.createServer (ALPN, SNI)", function()
    local proc = child_process.spawn("node", { "-e", [[
      const tls = require('tls'), fs = require('fs'), F = process.argv[1];
      const s = tls.createServer({ key: fs.readFileSync(F + 'localhost-key.pem'),
        cert: fs.readFileSync(F + 'localhost.pem'), ALPNProtocols: ['h2', 'http/1.1'] }, c => {
        c.on('data', d => c.end('node saw ' + c.servername + ' ' + c.alpnProtocol + ' ' + d));
      });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));
      process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
    ]], F })
    finally(function() proc:kill() end)
    local out = {}
    proc.stdout:on("data", function(d) out[#out + 1] = d end)
    helper.run_loop(function() return table.concat(out):find("\n") ~= nil end, 10000)
    local port = tonumber(table.concat(out):match("%d+"))
    local res = connect({ port = port, host = "127.0.0.1", servername = "localhost", ca = CA,
      ALPNProtocols = { "http/1.1" } })
    res.socket:on("secureConnect", function() res.socket:write("lode") end)
    helper.run_loop(function() return res.closed end, 10000)
    assert.is_nil(res.error)
    assert.equal("http/1.1", res.socket.alpnProtocol)
    assert.equal("node saw localhost http/1.1 lode", table.concat(res.chunks))
    proc.stdin:finish()
  end)
end)
