-- #tls http2.connect('https://...'): lode's h2 client over TLS against Node 20's
-- createSecureServer and lode's own, with certificate checks reaching 'error' with Node's codes.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local F = helper.fixtures .. "/"
local function read(name) return fs.readFileSync(F .. name, "utf8") end
local CA = read("ca.pem")

local defer = helper.defer

local function lode_server(cert, key)
  local server = http2.createSecureServer({ key = read(key), cert = read(cert) })
  server:on("stream", function(stream)
    stream:respond({ [":status"] = 200 })
    stream:finish("from lode")
  end)
  server:listen(0, "127.0.0.1")
  defer(function() U.close_server(server) end)
  return server:address().port
end

-- Connects and runs the loop until 'connect' or 'error'; returns the client and the error.
local function connect(url, options)
  local client = http2.connect(url, options)
  defer(function() U.close_client(client) end)
  local err, up
  client:on("error", function(e) err = e end)
  client:once("connect", function() up = true end)
  U.run_loop(function() return up or err ~= nil end, 5000)
  return client, err
end

describe("#tls http2.connect over https", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("talks h2 to Node 20's createSecureServer with ca", function()
    local child, port = U.node_server(string.format([[
      const h = require('http2'), fs = require('fs');
      const s = h.createSecureServer({ key: fs.readFileSync(%q), cert: fs.readFileSync(%q) });
      s.on('stream', (st, hd) => { st.respond({ ':status': 200, 'x-scheme': hd[':scheme'],
        'x-alpn': st.session.alpnProtocol }); st.end('from node'); });
      s.listen(0, '127.0.0.1', () => console.log(s.address().port));
    ]], F .. "localhost-key.pem", F .. "localhost.pem"))
    defer(function() U.kill(child) end)
    assert.is_number(port)
    local client, err = connect("https://localhost:" .. port, { ca = CA })
    assert.is_nil(err)
    assert.is_true(client.encrypted)
    assert.equal("h2", client.alpnProtocol)
    assert.equal("h2", client.socket.alpnProtocol)
    assert.is_true(client.socket.authorized)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.equal("https", res.headers["x-scheme"])
    assert.equal("h2", res.headers["x-alpn"])
    assert.equal("from node", res.body)
  end)

  it("talks to lode's createSecureServer", function()
    local port = lode_server("localhost.pem", "localhost-key.pem")
    local client, err = connect("https://localhost:" .. port, { ca = CA })
    assert.is_nil(err)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(200, res.status)
    assert.equal("from lode", res.body)
  end)

  it("rejects a self-signed certificate with DEPTH_ZERO_SELF_SIGNED_CERT", function()
    local port = lode_server("selfsigned.pem", "selfsigned-key.pem")
    local client, err = connect("https://localhost:" .. port, { ca = CA })
    assert.is_not_nil(err)
    assert.equal("DEPTH_ZERO_SELF_SIGNED_CERT", err.code)
    U.run_loop(function() return client.destroyed end, 2000)
    assert.is_true(client.destroyed)
  end)

  it("rejects an expired certificate with CERT_HAS_EXPIRED", function()
    local port = lode_server("expired.pem", "expired-key.pem")
    local _, err = connect("https://localhost:" .. port, { ca = CA })
    assert.equal("CERT_HAS_EXPIRED", err and err.code)
  end)

  it("rejects a certificate for another name with ERR_TLS_CERT_ALTNAME_INVALID", function()
    local port = lode_server("other.pem", "other-key.pem")
    local _, err = connect("https://localhost:" .. port, { ca = CA })
    assert.equal("ERR_TLS_CERT_ALTNAME_INVALID", err and err.code)
  end)

  it("rejects a server the default trust store does not know", function()
    local port = lode_server("localhost.pem", "localhost-key.pem")
    local _, err = connect("https://localhost:" .. port)
    assert.equal("UNABLE_TO_VERIFY_LEAF_SIGNATURE", err and err.code)
  end)

  it("connects anyway with rejectUnauthorized = false", function()
    local port = lode_server("selfsigned.pem", "selfsigned-key.pem")
    local client, err = connect("https://localhost:" .. port, { rejectUnauthorized = false })
    assert.is_nil(err)
    assert.is_false(client.socket.authorized)
    assert.equal("DEPTH_ZERO_SELF_SIGNED_CERT", client.socket.authorizationError)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal("from lode", res.body)
  end)

  it("reports a TLS handshake failure against a plain-text server", function()
    local server, port = U.server(function(stream) stream:respond({ [":status"] = 200 }) end)
    defer(function() U.close_server(server) end)
    local _, err = connect("https://127.0.0.1:" .. port, { ca = CA })
    assert.is_not_nil(err)
    assert.is_string(err.code)
  end)
end)
