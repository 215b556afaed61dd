-- lode.events: Node's EventEmitter (lib/events.js).

local EventEmitter = require "lode.events"
local errors = require "lode.errors"

-- Records calls: rec.fn is a listener appending its label and arguments to rec.calls.
local function recorder()
  local rec = { calls = {} }
  function rec.listener(label)
    return function(...)
      rec.calls[#rec.calls + 1] = { label, select("#", ...), ... }
    end
  end
  return rec
end

describe("EventEmitter", function()
  it("is what the module returns, and also its .EventEmitter field", function()
    assert.equal(EventEmitter, EventEmitter.EventEmitter)
  end)

  it("is created with EventEmitter.new() or EventEmitter()", function()
    assert.is_true(EventEmitter.new():emit("x") == false)
    assert.is_true(EventEmitter():emit("x") == false)
  end)

  it("is subclassed in one line, without calling its constructor", function()
    local Stream = EventEmitter:extend("Stream")
    function Stream:constructor(name) self.name = name end
    local got
    local s = Stream.new("s1"):on("data", function(chunk) got = chunk end)
    s:emit("data", "abc")
    assert.equal("abc", got)
    assert.equal("s1", s.name)
  end)

  it("may also be subclassed calling EventEmitter.constructor", function()
    local Sub = EventEmitter:extend("Sub")
    function Sub:constructor() EventEmitter.constructor(self) end
    local n = 0
    local s = Sub.new()
    s:on("x", function() n = n + 1 end)
    s:emit("x")
    assert.equal(1, n)
  end)
end)

describe("EventEmitter:on()", function()
  it("returns the emitter, so calls chain", function()
    local e = EventEmitter.new()
    assert.equal(e, e:on("a", function() end))
  end)

  it("calls listeners in the order they were added", function()
    local e, rec = EventEmitter.new(), recorder()
    e:on("x", rec.listener("first")):on("x", rec.listener("second"))
    e:emit("x")
    assert.same({ { "first", 0 }, { "second", 0 } }, rec.calls)
  end)

  it("calls a function added twice twice", function()
    local e, n = EventEmitter.new(), 0
    local f = function() n = n + 1 end
    e:on("x", f):on("x", f)
    e:emit("x")
    assert.equal(2, n)
  end)

  it("is also called addListener", function()
    assert.equal(EventEmitter.on, EventEmitter.addListener)
  end)

  it("raises ERR_INVALID_ARG_TYPE for a listener that is not a function", function()
    local ok, err = pcall(EventEmitter.on, EventEmitter.new(), "x", 5)
    assert.is_false(ok)
    assert.equal('The "listener" argument must be of type function. Received type number (5)', err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE for a nil event name", function()
    local ok, err = pcall(EventEmitter.on, EventEmitter.new(), nil, function() end)
    assert.is_false(ok)
    assert.equal("ERR_INVALID_ARG_TYPE", err.code)
  end)

  it("accepts any non-nil value as the event name", function()
    local e, key, got = EventEmitter.new(), {}, nil
    e:on(key, function(v) got = v end)
    e:emit(key, 42)
    assert.equal(42, got)
  end)
end)

describe("EventEmitter:emit()", function()
  it("returns true when the event had listeners, false otherwise", function()
    local e = EventEmitter.new():on("x", function() end)
    assert.is_true(e:emit("x"))
    assert.is_false(e:emit("y"))
  end)

  it("passes every argument, nils in the middle and at the end included", function()
    local e, rec = EventEmitter.new(), recorder()
    e:on("x", rec.listener("l"))
    e:emit("x", 1, nil, "b", nil)
    assert.same({ { "l", 4, 1, nil, "b", nil } }, rec.calls)
  end)

  it("passes the arguments to each of several listeners", function()
    local e, rec = EventEmitter.new(), recorder()
    e:on("x", rec.listener("a")):on("x", rec.listener("b"))
    e:emit("x", "v")
    assert.same({ { "a", 1, "v" }, { "b", 1, "v" } }, rec.calls)
  end)

  it("still calls the other listeners when one removes a later one", function()
    local e, rec = EventEmitter.new(), recorder()
    local b = rec.listener("b")
    e:on("x", function() e:off("x", b) end)
    e:on("x", b)
    e:emit("x")
    assert.same({ { "b", 0 } }, rec.calls)
    e:emit("x")
    assert.same({ { "b", 0 } }, rec.calls)
  end)

  it("does not call a listener added during the same emit", function()
    local e, rec = EventEmitter.new(), recorder()
    e:on("x", function() e:on("x", rec.listener("late")) end)
    e:emit("x")
    assert.same({}, rec.calls)
    assert.equal(2, e:listenerCount("x"))
  end)

  it("raises an error object emitted as 'error' with no listener, as it is", function()
    local e, err = EventEmitter.new(), errors.TypeError("bad")
    local ok, raised = pcall(e.emit, e, "error", err)
    assert.is_false(ok)
    assert.equal(err, raised)
  end)

  it("wraps any other 'error' value with no listener in ERR_UNHANDLED_ERROR", function()
    local e = EventEmitter.new()
    local ok, raised = pcall(e.emit, e, "error", "boom")
    assert.is_false(ok)
    assert.equal("ERR_UNHANDLED_ERROR", raised.code)
    assert.equal("Unhandled error. ('boom')", raised.message)
    assert.equal("boom", raised.context)
  end)

  it("raises ERR_UNHANDLED_ERROR for an 'error' without a value", function()
    local ok, raised = pcall(EventEmitter.emit, EventEmitter.new(), "error")
    assert.is_false(ok)
    assert.equal("Unhandled error. (nil)", raised.message)
  end)

  it("hands 'error' to its listeners without raising", function()
    local e, got = EventEmitter.new(), nil
    e:on("error", function(err) got = err end)
    assert.is_true(e:emit("error", "boom"))
    assert.equal("boom", got)
  end)

  it("calls errorMonitor listeners before 'error' listeners, without handling the error", function()
    local e, seen = EventEmitter.new(), {}
    e:on(EventEmitter.errorMonitor, function(err) seen[#seen + 1] = "monitor " .. err end)
    local ok = pcall(e.emit, e, "error", "x")
    assert.is_false(ok)
    e:on("error", function(err) seen[#seen + 1] = "handler " .. err end)
    e:emit("error", "y")
    assert.same({ "monitor x", "monitor y", "handler y" }, seen)
  end)

  it("allocates nothing with one listener or with several", function()
    local one = EventEmitter.new():on("x", function() end)
    local many = EventEmitter.new()
    for _ = 1, 3 do many:on("x", function() end) end
    collectgarbage("stop")
    local before = collectgarbage("count")
    for _ = 1, 10000 do
      one:emit("x", 1, 2)
      many:emit("x", 1, 2)
    end
    local grown = collectgarbage("count") - before
    collectgarbage("restart")
    assert.is_true(grown < 1, "emit allocated " .. grown .. " KB")
  end)
end)

describe("EventEmitter:once()", function()
  it("calls the listener for the first emit only", function()
    local e, rec = EventEmitter.new(), recorder()
    e:once("x", rec.listener("once"))
    assert.is_true(e:emit("x", 1))
    assert.is_false(e:emit("x", 2))
    assert.same({ { "once", 1, 1 } }, rec.calls)
  end)

  it("removes the listener before calling it", function()
    local e, count = EventEmitter.new(), nil
    e:once("x", function() count = e:listenerCount("x") end)
    e:emit("x")
    assert.equal(0, count)
  end)

  it("is removed by removeListener with the original function", function()
    local e, f = EventEmitter.new(), function() end
    e:once("x", f)
    e:removeListener("x", f)
    assert.equal(0, e:listenerCount("x"))
  end)

  it("returns the emitter", function()
    local e = EventEmitter.new()
    assert.equal(e, e:once("x", function() end))
  end)
end)

describe("EventEmitter:prependListener() and :prependOnceListener()", function()
  it("put the listener before the existing ones", function()
    local e, rec = EventEmitter.new(), recorder()
    e:on("x", rec.listener("on"))
    e:prependListener("x", rec.listener("prepended"))
    e:prependOnceListener("x", rec.listener("prepended once"))
    e:emit("x")
    e:emit("x")
    assert.same({ { "prepended once", 0 }, { "prepended", 0 }, { "on", 0 }, { "prepended", 0 }, { "on", 0 } },
      rec.calls)
  end)
end)

describe("EventEmitter:removeListener()", function()
  it("removes the most recently added instance of the listener only", function()
    local e, f, g = EventEmitter.new(), function() end, function() end
    e:on("x", f):on("x", g):on("x", f)
    e:removeListener("x", f)
    assert.same({ f, g }, e:listeners("x"))
  end)

  it("emits 'removeListener' after removing, with the function as it was given", function()
    local e, f, seen = EventEmitter.new(), function() end, nil
    e:once("x", f)
    e:on("removeListener", function(name, listener)
      seen = { name, listener, e:listenerCount("x") }
    end)
    e:removeListener("x", f)
    assert.same({ "x", f, 0 }, seen)
  end)

  it("ignores a listener that is not there", function()
    local e, f = EventEmitter.new(), function() end
    e:on("x", f)
    assert.equal(e, e:removeListener("x", function() end))
    assert.equal(e, e:removeListener("y", f))
    assert.equal(1, e:listenerCount("x"))
  end)

  it("is also called off", function()
    assert.equal(EventEmitter.removeListener, EventEmitter.off)
  end)
end)

describe("EventEmitter:removeAllListeners()", function()
  it("removes the listeners of one event", function()
    local e = EventEmitter.new():on("x", function() end):on("x", function() end):on("y", function() end)
    e:removeAllListeners("x")
    assert.same({ "y" }, e:eventNames())
  end)

  it("removes every listener without an event", function()
    local e = EventEmitter.new():on("x", function() end):on("y", function() end)
    assert.equal(e, e:removeAllListeners())
    assert.same({}, e:eventNames())
    assert.is_false(e:emit("x"))
  end)

  it("emits 'removeListener' for each, last added first, its own listeners last", function()
    local e, removed = EventEmitter.new(), {}
    local a, b, c = function() end, function() end, function() end
    e:on("x", a):on("x", b):on("y", c)
    e:on("removeListener", function(name, listener)
      removed[#removed + 1] = name .. ":" .. (listener == a and "a" or listener == b and "b" or
        listener == c and "c" or "?")
    end)
    e:removeAllListeners()
    assert.same({ "x:b", "x:a", "y:c" }, removed)
    assert.same({}, e:eventNames())
  end)
end)

describe("EventEmitter 'newListener'", function()
  it("is emitted before the listener is added, with the event and the listener", function()
    local e, f, seen = EventEmitter.new(), function() end, nil
    e:on("newListener", function(name, listener)
      seen = { name, listener, e:listenerCount(name) }
    end)
    e:once("x", f)
    assert.same({ "x", f, 0 }, seen)
  end)

  it("does not report the 'newListener' listener to itself", function()
    local e, count = EventEmitter.new(), 0
    e:on("newListener", function() count = count + 1 end)
    assert.equal(0, count)
  end)
end)

describe("EventEmitter:listenerCount()", function()
  it("counts the listeners of an event", function()
    local e = EventEmitter.new():on("x", function() end):once("x", function() end)
    assert.equal(2, e:listenerCount("x"))
    assert.equal(0, e:listenerCount("y"))
  end)

  it("counts only the given listener when there is one", function()
    local e, f = EventEmitter.new(), function() end
    e:on("x", f):on("x", function() end):once("x", f)
    assert.equal(2, e:listenerCount("x", f))
  end)
end)

describe("EventEmitter:listeners() and :rawListeners()", function()
  it("return copies", function()
    local e = EventEmitter.new():on("x", function() end)
    local list = e:listeners("x")
    list[1] = nil
    assert.equal(1, #e:listeners("x"))
  end)

  it("return once listeners as given, and once wrappers, respectively", function()
    local e, f = EventEmitter.new(), function() end
    e:once("x", f)
    assert.equal(f, e:listeners("x")[1])
    assert.are_not.equal(f, e:rawListeners("x")[1])
  end)

  it("give wrappers that call the listener once and remove it", function()
    local e, n = EventEmitter.new(), 0
    e:once("x", function() n = n + 1 end)
    local wrapper = e:rawListeners("x")[1]
    wrapper()
    wrapper()
    assert.equal(1, n)
    assert.equal(0, e:listenerCount("x"))
  end)

  it("return an empty sequence for an event without listeners", function()
    assert.same({}, EventEmitter.new():listeners("x"))
  end)
end)

describe("EventEmitter:eventNames()", function()
  it("lists the events with listeners in the order they got their first one", function()
    local key = {}
    local e = EventEmitter.new():on("b", function() end):on("a", function() end):on(key, function() end)
    e:on("b", function() end)
    assert.same({ "b", "a", key }, e:eventNames())
  end)

  it("drops an event when its last listener goes", function()
    local f = function() end
    local e = EventEmitter.new():on("a", f):on("b", f)
    e:off("a", f)
    assert.same({ "b" }, e:eventNames())
  end)
end)

describe("EventEmitter:setMaxListeners() and :getMaxListeners()", function()
  local saved, warnings

  before_each(function()
    saved = package.loaded["lode.process"]
    warnings = {}
    package.loaded["lode.process"] = { emitWarning = function(w) warnings[#warnings + 1] = w end }
  end)

  after_each(function()
    package.loaded["lode.process"] = saved
  end)

  it("defaults to EventEmitter.defaultMaxListeners, 10", function()
    assert.equal(10, EventEmitter.new():getMaxListeners())
  end)

  it("sets the limit and returns the emitter", function()
    local e = EventEmitter.new()
    assert.equal(e, e:setMaxListeners(3))
    assert.equal(3, e:getMaxListeners())
  end)

  it("raises for a negative or non-number limit", function()
    local e = EventEmitter.new()
    local ok, err = pcall(e.setMaxListeners, e, -1)
    assert.is_false(ok)
    assert.equal('The value of "setMaxListeners" is out of range. It must be >= 0. Received -1', err.message)
    ok, err = pcall(e.setMaxListeners, e, "5")
    assert.is_false(ok)
    assert.equal("ERR_INVALID_ARG_TYPE", err.code)
  end)

  it("warns once when an event gets more listeners than the limit", function()
    local e = EventEmitter.new():setMaxListeners(2)
    for _ = 1, 4 do e:on("x", function() end) end
    assert.equal(1, #warnings)
    assert.equal("MaxListenersExceededWarning", warnings[1].name)
    assert.equal(3, warnings[1].count)
    assert.equal("x", warnings[1].type)
    assert.equal(e, warnings[1].emitter)
    local expected = "Possible EventEmitter memory leak detected. 3 x listeners added"
    assert.equal(expected, warnings[1].message:sub(1, #expected))
  end)

  it("does not warn with a limit of 0", function()
    local e = EventEmitter.new():setMaxListeners(0)
    for _ = 1, 20 do e:on("x", function() end) end
    assert.equal(0, #warnings)
  end)
end)
