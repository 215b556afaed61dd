-- The C entry point for hosts: lode_embed_open/step on a host's loop or lode's own.
local helper = require "spec.helper"

describe("lode_embed_open() #embed", function()
  it("gives two lua_States in one process their own loops, driven a step at a time", function()
    local build = os.getenv("LODE_TEST_BUILD") or (helper.root .. "/build")
    local out, code = helper.sh(helper.q(build .. "/embed_two_states"))
    assert.equal(0, code, out)
    assert.matches("own%-loop done", out)
    assert.matches("host%-loop done", out)
    assert.matches("frames<1000: yes", out)
    assert.matches("uv_loop_close: ok", out)
  end)
end)
