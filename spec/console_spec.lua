-- console: what a person prototyping at a prompt reads. Each case runs lode as a process and
-- reads what it printed.
local helper = require "spec.helper"

local function run(code)
  local cmd = helper.q(helper.lode) .. " -e " .. helper.q(code)
  -- helper.sh merges stderr into stdout: a subshell picks one stream first.
  return helper.sh("(" .. cmd .. " 2>/dev/null)"), helper.sh("(" .. cmd .. " 2>&1 >/dev/null)")
end

describe("console", function()
  it("log() formats like util.format and ends the line", function()
    local out = run([[console.log("%s is %d", "x", 42, { a = 1 })]])
    assert.equal("x is 42 { a = 1 }\n", out)
  end)

  it("info() and debug() go to stdout", function()
    local out, err = run([[console.info("i"); console.debug("d")]])
    assert.equal("i\nd\n", out)
    assert.equal("", err)
  end)

  it("error() and warn() go to stderr", function()
    local out, err = run([[console.error("e"); console.warn("w")]])
    assert.equal("", out)
    assert.equal("e\nw\n", err)
  end)

  it("dir() prints a nested table with util.inspect", function()
    local out = run([[console.dir({ 1, { b = "s" } })]])
    assert.equal("{ 1, { b = 's' } }\n", out)
  end)

  it("dir() honours depth", function()
    local out = run([[console.dir({ a = { b = { c = {} } } }, { depth = 0 })]])
    assert.equal("{ a = {...} }\n", out)
  end)

  it("time()/timeEnd() print the label and the elapsed milliseconds", function()
    local out = run([[console.time("t"); console.timeEnd("t")]])
    assert.matches("^t: %d+%.%d%d%dms\n$", out)
  end)

  it("count() counts per label", function()
    local out = run([[console.count(); console.count(); console.count("x")]])
    assert.equal("default: 1\ndefault: 2\nx: 1\n", out)
  end)

  it("assert() prints only when the value is false", function()
    local _, err = run([[console.assert(true, "no"); console.assert(false, "yes %d", 1)]])
    assert.equal("Assertion failed: yes 1\n", err)
  end)
end)
