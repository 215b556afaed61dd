-- AbortController / AbortSignal, as the http2 request option `signal` uses them.
local abort = require "lode.abort"
local helper = require "spec.helper"
local AbortController, AbortSignal = abort.AbortController, abort.AbortSignal

describe("AbortController", function()
  it("starts with a signal that is not aborted", function()
    local ac = AbortController.new()
    assert.is_false(ac.signal.aborted)
    assert.is_nil(ac.signal.reason)
  end)

  it("aborts its signal once, emitting 'abort' with an AbortError", function()
    local ac = AbortController()
    local seen = {}
    ac.signal:on("abort", function(reason) seen[#seen + 1] = reason end)
    ac:abort()
    ac:abort()
    assert.is_true(ac.signal.aborted)
    assert.equal(1, #seen)
    assert.equal("AbortError", seen[1].name)
    assert.equal("ABORT_ERR", seen[1].code)
  end)

  it("keeps a reason given to abort()", function()
    local ac = AbortController.new()
    ac:abort("why")
    assert.equal("why", ac.signal.reason)
  end)
end)

describe("AbortSignal", function()
  it("raises its reason from throwIfAborted() once aborted", function()
    local s = AbortSignal.abort("gone")
    local ok, err = pcall(s.throwIfAborted, s)
    assert.is_false(ok)
    assert.equal("gone", err)
  end)

  it("aborts by itself after timeout(ms) with a TimeoutError", function()
    local s = AbortSignal.timeout(10)
    -- The signal's own timer is unreferenced; this one keeps the loop running meanwhile.
    local keep = require("lode.timers").setTimeout(function() end, 1000)
    helper.run_loop(function() return s.aborted end, 2000)
    keep:close()
    assert.equal("TimeoutError", s.reason.name)
  end)

  it("calls onabort", function()
    local ac = AbortController.new()
    local called = false
    ac.signal.onabort = function() called = true end
    ac:abort()
    assert.is_true(called)
  end)
end)
