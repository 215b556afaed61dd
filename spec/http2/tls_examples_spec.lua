-- #tls The document's secure-server, client and ALPN examples run from examples/, and
-- SSLKEYLOGFILE gets the key log of an http2 session.
local helper = require "spec.helper"
local cp = require "lode.child_process"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local ROOT = helper.root
local LODE = helper.lode
local F = helper.fixtures .. "/"

local defer = helper.defer

-- Runs an example server on a free port (picked by asking the OS through a throwaway server);
-- waits until it accepts TLS connections.
local function example_server(name)
  local probe = require("lode.net").createServer()
  probe:listen(0, "127.0.0.1")
  local port = probe:address().port
  local closed = false
  probe:close(function() closed = true end)
  U.run_loop(function() return closed end, 2000)
  local child = cp.spawn(LODE, { ROOT .. "/examples/" .. name, tostring(port) })
  defer(function() U.kill(child) end)
  local up = false
  for _ = 1, 50 do
    local err = U.run("curl", { "-s", "-o", "/dev/null", "-k", "https://127.0.0.1:" .. port .. "/" }, 5000)
    if not err then up = true break end
    helper.wait(100)
  end
  assert.is_true(up, name .. " did not start")
  return port
end

describe("#tls examples", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("runs http2_secure_server.lua and http2_secure_client.lua against each other", function()
    local port = example_server("http2_secure_server.lua")
    local err, out = U.run(LODE, { ROOT .. "/examples/http2_secure_client.lua",
      "https://localhost:" .. port })
    assert.is_nil(err)
    assert.matches(":status: 200", out, 1, true)
    assert.matches("content-type: text/html; charset=utf-8", out, 1, true)
    assert.matches("\n<h1>Hello World</h1>\n$", out)
  end)

  it("runs http2_alpn.lua: h2 and HTTP/1.1 on one port", function()
    local port = example_server("http2_alpn.lua")
    local err, out = U.run("curl", { "-s", "--http2", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal('{"alpnProtocol":"h2","httpVersion":"2.0"}', out)
    err, out = U.run("curl", { "-s", "--http1.1", "--cacert", F .. "ca.pem",
      "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.equal('{"alpnProtocol":"http/1.1","httpVersion":"1.1"}', out)
  end)

  it("writes the client's key log to SSLKEYLOGFILE", function()
    local port = example_server("http2_secure_server.lua")
    local log = os.tmpname()
    defer(function() os.remove(log) end)
    local done, res = false, nil
    cp.execFile(LODE, { ROOT .. "/examples/http2_secure_client.lua", "https://localhost:" .. port },
      { env = { SSLKEYLOGFILE = log, PATH = os.getenv("PATH") }, timeout = 10000 },
      function(err, out) done = true; res = { err, out } end)
    U.run_loop(function() return done end, 12000)
    assert.is_nil(res[1])
    local f = assert(io.open(log, "rb"))
    local text = f:read("a")
    f:close()
    assert.matches("^CLIENT_RANDOM %x+ %x+\n", text)
  end)
end)
