-- The lode executable's small-block allocator (src/cli/alloc.c): release builds run every Lua
-- state on it; sanitized and debug builds keep malloc, so this C driver is its test.
local helper = require "spec.helper"

describe("the lode executable's Lua allocator", function()
  it("keeps every block's bytes through allocations, resizes and frees, and runs a Lua state", function()
    local build = os.getenv("LODE_TEST_BUILD") or (helper.root .. "/build")
    local out, code = helper.sh(helper.q(build .. "/alloc_blocks"))
    assert.equal(0, code, out)
    assert.matches("^ok", out)
  end)
end)
