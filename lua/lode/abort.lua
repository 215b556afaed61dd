-- AbortController and AbortSignal (globals under lode, as in Node).
--
--   local ac = AbortController.new()
--   local req = client:request(headers, { signal = ac.signal })
--   ac:abort()          -- the stream gets an 'error' with an AbortError and is reset
local EventEmitter = require "lode.events"
local errors = require "lode.errors"
local timers = require "lode.timers"

local AbortSignal = EventEmitter:extend("AbortSignal")

function AbortSignal:constructor()
  self.aborted = false
  self.reason = nil
  self.onabort = nil
end

-- Marks the signal aborted (once) and tells its listeners.
function AbortSignal:_abort(reason)
  if self.aborted then return end
  if reason == nil then reason = errors.AbortError("This operation was aborted") end
  self.aborted = true
  self.reason = reason
  if type(self.onabort) == "function" then self.onabort(reason) end
  self:emit("abort", reason)
end

-- Raises the signal's reason when it is aborted.
function AbortSignal:throwIfAborted()
  if self.aborted then error(self.reason, 2) end
end

-- DOM-style names beside the EventEmitter ones.
function AbortSignal:addEventListener(event, fn, options)
  if type(options) == "table" and options.once then return self:once(event, fn) end
  return self:on(event, fn)
end

function AbortSignal:removeEventListener(event, fn)
  return self:removeListener(event, fn)
end

-- A signal that is already aborted.
function AbortSignal.abort(reason)
  local s = AbortSignal.new()
  s:_abort(reason)
  return s
end

-- A signal that aborts after ms milliseconds without keeping the process alive.
function AbortSignal.timeout(ms)
  local s = AbortSignal.new()
  timers.setTimeout(function()
    local err = errors.Error("The operation was aborted due to timeout")
    err.name, err.code = "TimeoutError", 23
    s:_abort(err)
  end, ms):unref()
  return s
end

local AbortController = require("lode.class"):extend("AbortController")

function AbortController:constructor()
  self.signal = AbortSignal.new()
end

function AbortController:abort(reason)
  self.signal:_abort(reason)
end

return { AbortController = AbortController, AbortSignal = AbortSignal }
