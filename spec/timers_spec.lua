-- timers: setTimeout, setInterval, setImmediate, process.nextTick, and their ordering.
local helper = require "spec.helper"
local timers = require "lode.timers"
local process = require "lode.process"

describe("setTimeout()", function()
  it("calls the callback with the extra arguments after the delay", function()
    local got
    local hrtime = require("lode_core").hrtime
    local t0 = hrtime()
    timers.setTimeout(function(a, b) got = { a, b, (hrtime() - t0) / 1e6 } end, 30, "x", nil)
    helper.run_loop(function() return got end)
    assert.equal("x", got[1])
    assert.is_nil(got[2])
    assert.is_true(got[3] >= 29)
  end)

  it("is cancelled by clearTimeout()", function()
    local fired = false
    local t = timers.setTimeout(function() fired = true end, 10)
    timers.clearTimeout(t)
    helper.wait(30)
    assert.is_false(fired)
  end)

  it("raises ERR_INVALID_ARG_TYPE when the callback is not a function", function()
    helper.assert_throws(function() timers.setTimeout("nope", 1) end,
      { code = "ERR_INVALID_ARG_TYPE", name = "TypeError" })
  end)

  it("treats a negative or absurd delay as 1 ms", function()
    local fired = false
    timers.setTimeout(function() fired = true end, -5)
    helper.run_loop(function() return fired end, 1000)
    assert.is_true(fired)
  end)

  it("restarts its delay with refresh()", function()
    local fired_at
    local core = require "lode_core"
    local t0 = core.hrtime()
    local t = timers.setTimeout(function() fired_at = (core.hrtime() - t0) / 1e6 end, 40)
    timers.setTimeout(function() t:refresh() end, 25)
    helper.run_loop(function() return fired_at end)
    assert.is_true(fired_at >= 60, "fired at " .. tostring(fired_at))
  end)

  it("reports hasRef() and follows unref()/ref()", function()
    local t = timers.setTimeout(function() end, 10)
    assert.is_true(t:hasRef())
    t:unref()
    assert.is_false(t:hasRef())
    t:ref()
    assert.is_true(t:hasRef())
    timers.clearTimeout(t)
  end)

  it("does not keep the process alive once unref()ed", function()
    local out, code = helper.sh(helper.q(helper.lode) ..
      [[ -e 'setTimeout(function() console.log("fired") end, 3000):unref()']])
    assert.equal("", out)
    assert.equal(0, code)
  end)

  it("keeps firing when nothing references the timer object", function()
    local fired = false
    timers.setTimeout(function() fired = true end, 20)
    collectgarbage()
    collectgarbage()
    helper.run_loop(function() return fired end)
    assert.is_true(fired)
  end)
end)

describe("setInterval()", function()
  it("repeats until clearInterval()", function()
    local n = 0
    local t
    t = timers.setInterval(function()
      n = n + 1
      if n == 3 then timers.clearInterval(t) end
    end, 5)
    helper.run_loop(function() return n >= 3 end)
    helper.wait(30)
    assert.equal(3, n)
  end)
end)

describe("setImmediate()", function()
  it("runs the callback with its arguments", function()
    local got
    timers.setImmediate(function(...) got = table.pack(...) end, 1, nil, 3)
    helper.run_loop(function() return got end)
    assert.same({ 1, nil, 3, n = 3 }, got)
  end)

  it("is cancelled by clearImmediate()", function()
    local fired = false
    local imm = timers.setImmediate(function() fired = true end)
    timers.clearImmediate(imm)
    local after = false
    timers.setImmediate(function() after = true end)
    helper.run_loop(function() return after end)
    assert.is_false(fired)
  end)

  it("defers immediates queued while immediates run to the next turn", function()
    local order = {}
    timers.setImmediate(function()
      order[#order + 1] = "a"
      timers.setImmediate(function() order[#order + 1] = "c" end)
    end)
    timers.setImmediate(function() order[#order + 1] = "b" end)
    helper.run_loop(function() return #order == 3 end)
    assert.same({ "a", "b", "c" }, order)
  end)

  it("runs before a zero timeout scheduled from a timer callback (check phase comes first)", function()
    local order = {}
    timers.setTimeout(function()
      timers.setTimeout(function() order[#order + 1] = "timeout" end, 0)
      timers.setImmediate(function() order[#order + 1] = "immediate" end)
    end, 1)
    helper.run_loop(function() return #order == 2 end)
    assert.same({ "immediate", "timeout" }, order)
  end)

  it("does not lose the other immediates when one raises", function()
    local ran = false
    timers.setImmediate(function() error("first fails", 0) end)
    timers.setImmediate(function() ran = true end)
    helper.run_loop(function() return ran end, nil, true)
    local errs = helper.take_uncaught()
    assert.equal(1, #errs)
    assert.equal("first fails", errs[1])
  end)
end)

describe("process.nextTick()", function()
  it("runs before immediates and timers, in FIFO order", function()
    local order = {}
    timers.setTimeout(function() order[#order + 1] = "timeout" end, 0)
    timers.setImmediate(function() order[#order + 1] = "immediate" end)
    process.nextTick(function(x) order[#order + 1] = x end, "tick1")
    process.nextTick(function() order[#order + 1] = "tick2" end)
    helper.run_loop(function() return #order == 4 end)
    assert.same({ "tick1", "tick2" }, { order[1], order[2] })
  end)

  it("runs ticks queued by ticks before anything else", function()
    local order = {}
    timers.setImmediate(function() order[#order + 1] = "immediate" end)
    process.nextTick(function()
      order[#order + 1] = "outer"
      process.nextTick(function() order[#order + 1] = "inner" end)
    end)
    helper.run_loop(function() return #order == 3 end)
    assert.same({ "outer", "inner", "immediate" }, order)
  end)

  it("runs right after the callback that queued it, before the next callback", function()
    local order = {}
    timers.setTimeout(function()
      order[#order + 1] = "t1"
      process.nextTick(function() order[#order + 1] = "tick" end)
    end, 5)
    timers.setTimeout(function() order[#order + 1] = "t2" end, 5)
    helper.run_loop(function() return #order == 3 end)
    assert.same({ "t1", "tick", "t2" }, order)
  end)
end)
