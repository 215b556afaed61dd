-- setTimeout, setInterval, setImmediate and their timer objects, on libuv's timers and one
-- check handle (libuv's phases are Node's: timers, poll for I/O, then immediates).
local core = require "lode_core"
local Object = require "lode.class"

local timers = {}

local TIMEOUT_MAX = 2147483647

local function check_callback(fn)
  if type(fn) ~= "function" then
    error(require("lode.errors").ERR_INVALID_ARG_TYPE("callback", "function", fn), 3)
  end
end

local function pack_args(...)
  if select("#", ...) == 0 then return nil end
  return table.pack(...)
end

-- ---- Timeout ----

local Timeout = Object:extend("Timeout")
timers.Timeout = Timeout

function Timeout:constructor(fn, ms, args, repeats)
  ms = tonumber(ms) or 1
  if ms < 1 or ms > TIMEOUT_MAX or ms ~= ms then ms = 1 end
  ms = math.floor(ms)
  self._onTimeout = fn
  self._idleTimeout = ms
  self._repeat = repeats and ms or nil
  self._args = args
  self._destroyed = false
  self._h = core.timer(self)
  self._h:start(ms, self._repeat or 0)
end

function Timeout:_ontimeout()
  if not self._repeat then self._destroyed = true end
  local args = self._args
  if args then self._onTimeout(table.unpack(args, 1, args.n)) else self._onTimeout() end
  if self._destroyed and self._h and self._repeat == nil and not self._h:is_active() then
    self:close()
  end
end

function Timeout:ref()
  if self._h then self._h:ref() end
  return self
end

function Timeout:unref()
  if self._h then self._h:unref() end
  return self
end

function Timeout:hasRef()
  return self._h ~= nil and self._h:has_ref()
end

-- Starts the timer again from now with its original delay (and revives a fired one).
function Timeout:refresh()
  if self._h then
    self._destroyed = false
    self._h:start(self._idleTimeout, self._repeat or 0)
  end
  return self
end

function Timeout:close()
  self._destroyed = true
  local h = self._h
  if h then
    self._h = nil
    h:close()
  end
  return self
end

Timeout.__close = Timeout.close

function timers.setTimeout(fn, ms, ...)
  check_callback(fn)
  return Timeout.new(fn, ms, pack_args(...), false)
end

function timers.setInterval(fn, ms, ...)
  check_callback(fn)
  return Timeout.new(fn, ms, pack_args(...), true)
end

function timers.clearTimeout(t)
  if type(t) == "table" and t.close and Object.instanceof(t, Timeout) then t:close() end
end
timers.clearInterval = timers.clearTimeout

-- ---- Immediate ----

local Immediate = Object:extend("Immediate")
timers.Immediate = Immediate

local queue = {}      -- immediates waiting, in order
local refed = 0       -- how many of them keep the loop alive

function Immediate:constructor(fn, args)
  self._onImmediate = fn
  self._args = args
  self._ref = true
  self._queued = true
  queue[#queue + 1] = self
  refed = refed + 1
  core.immediate_pending(refed)
end

local function dequeued(imm)
  imm._queued = false
  if imm._ref then
    refed = refed - 1
    core.immediate_pending(refed)
  end
end

function Immediate:ref()
  if not self._ref and self._queued then
    refed = refed + 1
    core.immediate_pending(refed)
  end
  self._ref = true
  return self
end

function Immediate:unref()
  if self._ref and self._queued then
    refed = refed - 1
    core.immediate_pending(refed)
  end
  self._ref = false
  return self
end

function Immediate:hasRef() return self._ref end

local function report(e) return { e, debug.traceback(nil, 2) } end

local function call_immediate(imm)
  local args = imm._args
  if args then imm._onImmediate(table.unpack(args, 1, args.n)) else imm._onImmediate() end
end

-- Called from the check phase: runs the immediates queued before this turn; those queued while
-- running wait for the next turn, as in Node. One failing immediate does not lose the others.
local function run_immediates()
  local batch = queue
  if #batch == 0 then return end
  queue = {}
  local process = require "lode.process"
  for i = 1, #batch do
    local imm = batch[i]
    if imm._queued then
      dequeued(imm)
      local ok, err = xpcall(call_immediate, report, imm)
      if not ok then process._fatal(err[1], err[2]) end
      ok, err = xpcall(process._tickCallback, report)
      if not ok then process._fatal(err[1], err[2]) end
    end
  end
end
timers._runImmediates = run_immediates

function timers.setImmediate(fn, ...)
  check_callback(fn)
  return Immediate.new(fn, pack_args(...))
end

function timers.clearImmediate(imm)
  if type(imm) == "table" and imm._queued then dequeued(imm) end
end

return timers
