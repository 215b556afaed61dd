-- Examples not covered by a feature's own spec, each run as its own lode process and talked to
-- by a real peer.
local helper = require "spec.helper"
local cp = require "lode.child_process"

-- Starts `lode examples/NAME 0` and waits for the port it prints (pattern's capture).
local function start(name, pattern)
  local child = cp.spawn(helper.lode, { helper.root .. "/examples/" .. name, "0" })
  local out, port, exited = "", nil, false
  child.stdout:on("data", function(d)
    out = out .. d
    port = port or tonumber(out:match(pattern))
  end)
  child:on("exit", function() exited = true end)
  helper.run_loop(function() return port or exited end, 10000)
  assert(port, name .. " printed no port: " .. out)
  return child, port, function()
    child:kill("SIGKILL")
    helper.run_loop(function() return exited end, 5000)
  end
end

local function exec(file, args)
  local done, res = false, nil
  cp.execFile(file, args, { timeout = 15000 }, function(err, out, errout)
    done, res = true, { err, out, errout }
  end)
  helper.run_loop(function() return done end, 17000)
  return res[1], res[2], res[3]
end

describe("examples/tls_echo_server.lua and examples/tls_client.lua #tls", function()
  local stop
  after_each(function() if stop then stop() end; stop = nil end)

  it("echo what the client sends over an authorized TLS connection", function()
    local _, port
    _, port, stop = start("tls_echo_server.lua", "port (%d+)")
    local err, out = exec(helper.lode, { helper.root .. "/examples/tls_client.lua", tostring(port) })
    assert.is_nil(err, tostring(err))
    assert.matches("client connected authorized h2", out, 1, true)
    assert.matches("welcome!\nhello over TLS\n", out, 1, true)
  end)
end)

describe("examples/http2_hello.lua (the benchmark's hello world)", function()
  local stop
  after_each(function() if stop then stop() end; stop = nil end)

  it("answers hello world with text/plain to h2load, every request 2xx", function()
    -- It prints nothing, so it gets a free port found here first.
    local probe = require("lode.net").createServer()
    probe:listen(0, "127.0.0.1")
    local port = probe:address().port
    local closed = false
    probe:close(function() closed = true end)
    helper.run_loop(function() return closed end)
    local child = cp.spawn(helper.lode, { helper.root .. "/examples/http2_hello.lua", tostring(port) })
    stop = function() child:kill("SIGKILL") end
    helper.wait(300)
    local url = "http://127.0.0.1:" .. port .. "/"
    local err, out = exec("curl", { "-s", "-i", "--http2-prior-knowledge", url })
    assert.is_nil(err, tostring(err))
    assert.matches("content%-type: text/plain; charset=utf%-8", out)
    assert.matches("\r\n\r\nhello world$", out)
    local _, load = exec("h2load", { "-n", "2000", "-c", "4", "-m", "10", url })
    assert.matches("2000 succeeded", load, 1, true)
  end)
end)
