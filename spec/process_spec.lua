-- process: the facts of this process, hrtime, memoryUsage, emitWarning, stdout.
local helper = require "spec.helper"
local process = require "lode.process"
local perf = require("lode.perf_hooks").performance

describe("process", function()
  it("has the pid, platform, execPath and versions", function()
    assert.is_true(math.type(process.pid) == "integer" and process.pid > 0)
    assert.equal("linux", process.platform)
    assert.matches("lode$", process.execPath)
    assert.equal("5.4", process.versions.lua)
    assert.matches("^%d+%.%d+%.%d+$", process.versions.uv)
  end)

  it("returns the working directory from cwd()", function()
    assert.equal(helper.sh("pwd"):gsub("\n$", ""), process.cwd())
  end)

  it("reads and writes the environment through process.env", function()
    process.env.LODE_SPEC_VAR = 42
    assert.equal("42", process.env.LODE_SPEC_VAR)
    assert.equal("42\n", helper.sh("echo $LODE_SPEC_VAR"))
    process.env.LODE_SPEC_VAR = nil
  end)

  it("measures elapsed time with hrtime(prev) as { seconds, nanoseconds }", function()
    local t0 = process.hrtime()
    helper.wait(20)
    local d = process.hrtime(t0)
    local ms = d[1] * 1000 + d[2] / 1e6
    assert.is_true(ms >= 19 and ms < 2000, tostring(ms))
    assert.is_true(d[2] >= 0 and d[2] < 1e9)
  end)

  it("gives nanoseconds as an integer from hrtime.bigint()", function()
    local a = process.hrtime.bigint()
    local b = process.hrtime.bigint()
    assert.equal("integer", math.type(a))
    assert.is_true(b >= a)
  end)

  it("reports rss and the Lua heap from memoryUsage()", function()
    local m = process.memoryUsage()
    assert.is_true(m.rss > 1000000)
    assert.is_true(m.heapUsed > 0)
  end)

  it("emits 'warning' for emitWarning() on the next tick", function()
    local got
    local function on(w) got = w end
    process:on("warning", on)
    process.emitWarning("careful", "DeprecationWarning", "DEP0001")
    assert.is_nil(got)
    helper.run_loop(function() return got end)
    process:removeListener("warning", on)
    assert.equal("careful", got.message)
    assert.equal("DeprecationWarning", got.name)
    assert.equal("DEP0001", got.code)
  end)

  it("prints a warning nobody listens to on stderr, as node does", function()
    local out = helper.sh("(" .. helper.q(helper.lode) ..
      [[ -e 'process.emitWarning("careful")' 2>&1 >/dev/null)]])
    assert.matches("^%(lode:%d+%) Warning: careful\n$", out)
  end)

  it("writes to stdout with process.stdout:write()", function()
    local out = helper.sh(helper.q(helper.lode) ..
      [[ -e 'process.stdout:write("a"); process.stdout:write("b\n")']])
    assert.equal("ab\n", out)
  end)
end)

describe("performance.now()", function()
  it("counts milliseconds since start, with sub-millisecond resolution", function()
    local a = perf.now()
    helper.wait(10)
    local b = perf.now()
    assert.is_true(b - a >= 9, tostring(b - a))
    assert.is_true(a > 0)
    assert.equal("float", math.type(b))
  end)
end)
