-- require "lode": the event loop and the coroutine layer, for plain lua5.4 and the runtime alike.
--
--   local lode = require "lode"
--   local http2 = require "lode.http2"
--   ... set up servers and clients ...
--   lode.run()            -- until nothing keeps the loop alive ("once", "nowait" also work)
local core = require "lode_core"
local process = require "lode.process"
local timers = require "lode.timers"

local lode = { version = core.version }

local installed = false

-- Connects the C loop to the Lua runtime once: uncaught errors, nextTick, setImmediate.
function lode.install()
  if installed then return end
  installed = true
  core.set_handlers {
    fatal = process._fatal,
    tick = process._tickCallback,
    immediate = timers._runImmediates,
  }
end

-- Runs the loop. Returns true while handles remain (for "once" and "nowait").
function lode.run(mode)
  lode.install()
  return core.run(mode or "default")
end

function lode.stop() core.stop() end

-- ---- coroutines ----

-- Runs fn(...) in a coroutine; an error in it goes where uncaught errors go.
function lode.spawn(fn, ...)
  local co = coroutine.create(fn)
  local function step(...)
    local ok, err = coroutine.resume(co, ...)
    if not ok then process._fatal(err, debug.traceback(co)) end
  end
  step(...)
  return co
end

local function running_coroutine(what)
  local co, main = coroutine.running()
  if main then error(what .. " must be called inside lode.spawn (a coroutine)", 3) end
  return co
end

-- Waits for emitter's event and returns its arguments; raises if 'error' comes first.
function lode.await(emitter, event)
  local co = running_coroutine("lode.await")
  local on_event, on_error
  on_event = function(...)
    emitter:removeListener("error", on_error)
    local ok, err = coroutine.resume(co, true, ...)
    if not ok then process._fatal(err, debug.traceback(co)) end
  end
  on_error = function(err)
    emitter:removeListener(event, on_event)
    local ok, e = coroutine.resume(co, false, err)
    if not ok then process._fatal(e, debug.traceback(co)) end
  end
  emitter:once(event, on_event)
  if event ~= "error" then emitter:once("error", on_error) end
  local res = table.pack(coroutine.yield())
  if not res[1] then error(res[2], 2) end
  return table.unpack(res, 2, res.n)
end

function lode.sleep(ms)
  local co = running_coroutine("lode.sleep")
  timers.setTimeout(function()
    local ok, err = coroutine.resume(co)
    if not ok then process._fatal(err, debug.traceback(co)) end
  end, ms)
  coroutine.yield()
end

lode.install()
return lode
