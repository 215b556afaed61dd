-- lua_close with everything open (an http2 server with a request in flight, its client session,
-- the same over TLS, net and tls sockets writing, an interval, fs requests and a DNS lookup in
-- flight, handles closed whose close callbacks have not run): after it nothing of lode runs or
-- is touched, and the host's loop is left with no lode handle (spec/c/embed_close.c, run under
-- AddressSanitizer by tools/test.sh).
local helper = require "spec.helper"

local function run(args)
  local build = os.getenv("LODE_TEST_BUILD") or (helper.root .. "/build")
  return helper.sh("LODE_FIXTURES=" .. helper.q(helper.fixtures) .. " " .. helper.q(build .. "/embed_close")
    .. " " .. args .. " 2>&1")
end

describe("lua_close() with lode busy #embed", function()
  it("leaves the host's loop with nothing of lode on it, the host running on after it", function()
    local out, code = run("host")
    assert.equal(0, code, out)
    assert.matches("closed", out)
    assert.matches("uv_loop_close: ok", out)
    assert.not_matches("AddressSanitizer", out)
  end)

  it("stops serving a peer that keeps sending to the server after lua_close", function()
    local out, code = run("host peer")
    assert.equal(0, code, out)
    assert.matches("peer sent: [1-9]", out)
    assert.matches("uv_loop_close: ok", out)
    assert.not_matches("AddressSanitizer", out)
  end)

  it("closes a loop of lode's own", function()
    local out, code = run("own")
    assert.equal(0, code, out)
    assert.matches("uv_loop_close: ok", out)
    assert.not_matches("AddressSanitizer", out)
  end)
end)
