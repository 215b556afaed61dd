-- Node's EventEmitter (lib/events.js) for Lua.
--
--   local EventEmitter = require "lode.events"          -- `require "events"` under lode
--   local emitter = EventEmitter.new()                  -- or EventEmitter()
--   emitter:on("data", function(chunk) print(chunk) end)
--   emitter:emit("data", "hello")                       --> true
--
-- Listeners are functions and get the event's arguments only (no self: reach the emitter by
-- closure). Every argument is passed, nils included: emit("x", nil, "b") delivers both.
--
-- Subclassing is one line; calling EventEmitter.constructor from a subclass constructor is
-- allowed but not needed, because the listener storage is created with the first listener:
--
--   local Stream = EventEmitter:extend("Stream")
--   function Stream:constructor(opts) self.opts = opts end
--
-- Storage, on the instance: `_events` maps an event name to its only listener, or to a sequence
-- of listeners when there are several (Node's layout: one listener costs no table);
-- `_eventNames` lists the names in the order they were first listened to; `_maxListeners` is
-- set by setMaxListeners. A stored sequence is never modified: adding or removing a listener
-- stores a new one. So emit runs over the sequence it fetched even while listeners come and go
-- (Node copies the array at each emit instead), and emitting allocates nothing.

local Object = require "lode.class"
local errors = require "lode.errors"
local util = require "lode.util"

local EventEmitter = Object:extend("EventEmitter")
EventEmitter.EventEmitter = EventEmitter

--- The listener count above which a warning is printed, for emitters without setMaxListeners.
EventEmitter.defaultMaxListeners = 10

--- A key for listeners that see every 'error' event before the 'error' listeners do, without
-- counting as handling it (Node's events.errorMonitor).
EventEmitter.errorMonitor = setmetatable({}, {
  __name = "Symbol",
  __tostring = function() return "Symbol(events.errorMonitor)" end,
})
local errorMonitor = EventEmitter.errorMonitor

-- once() wrapper -> the listener it wraps. Weak keys: a wrapper lives as long as it is stored.
local once_listener = setmetatable({}, { __mode = "k" })

local function unwrap(fn)
  return once_listener[fn] or fn
end

local function check_listener(listener)
  if type(listener) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("listener", "function", listener), 3)
  end
end

local function check_event_name(event)
  if event == nil then
    error(errors.ERR_INVALID_ARG_TYPE("eventName", { "string", "table" }, nil), 3)
  end
end

function EventEmitter.constructor()
  -- Nothing to do: see "Storage" above.
end

local function remove_name(self, event)
  local names = self._eventNames
  for i = #names, 1, -1 do
    if names[i] == event then
      table.remove(names, i)
      return
    end
  end
end

local function check_leak(self, event, list)
  local max = self:getMaxListeners()
  if max > 0 and #list > max and not list.warned then
    list.warned = true
    local warning = errors.Error.new(string.format(
      "Possible EventEmitter memory leak detected. %d %s listeners added to %s. " ..
      "MaxListeners is %s. Use emitter.setMaxListeners() to increase limit",
      #list, tostring(event), util.inspect(self, { depth = -1 }), util.inspect(max)))
    warning.name = "MaxListenersExceededWarning"
    warning.emitter = self
    warning.type = event
    warning.count = #list
    util._emit_warning(warning)
  end
end

local function add_listener(self, event, listener, prepend)
  local events = self._events
  if events ~= nil and events.newListener ~= nil then
    -- Emitted before the listener is added, so a 'newListener' listener never sees itself.
    self:emit("newListener", event, unwrap(listener))
    events = self._events -- the handler may have removed every listener
  end
  if events == nil then
    events = {}
    self._events = events
    self._eventNames = {}
  end

  local existing = events[event]
  if existing == nil then
    events[event] = listener
    local names = self._eventNames
    names[#names + 1] = event
  else
    local list
    if type(existing) == "function" then
      list = prepend and { listener, existing } or { existing, listener }
    else
      local n = #existing
      list = table.move(existing, 1, n, prepend and 2 or 1, {})
      list[prepend and 1 or n + 1] = listener
      list.warned = existing.warned
    end
    events[event] = list
    check_leak(self, event, list)
  end
  return self
end

--- emitter:on(event, listener) -> emitter. Alias: addListener.
function EventEmitter:on(event, listener)
  check_event_name(event)
  check_listener(listener)
  return add_listener(self, event, listener, false)
end
EventEmitter.addListener = EventEmitter.on

--- emitter:prependListener(event, listener) -> emitter: adds it before the others.
function EventEmitter:prependListener(event, listener)
  check_event_name(event)
  check_listener(listener)
  return add_listener(self, event, listener, true)
end

local function once_wrap(self, event, listener)
  local fired = false
  local wrapper
  wrapper = function(...)
    if not fired then
      fired = true
      self:removeListener(event, wrapper)
      return listener(...)
    end
  end
  once_listener[wrapper] = listener
  return wrapper
end

--- emitter:once(event, listener) -> emitter: the listener is removed before its first call.
function EventEmitter:once(event, listener)
  check_event_name(event)
  check_listener(listener)
  return add_listener(self, event, once_wrap(self, event, listener), false)
end

--- emitter:prependOnceListener(event, listener) -> emitter
function EventEmitter:prependOnceListener(event, listener)
  check_event_name(event)
  check_listener(listener)
  return add_listener(self, event, once_wrap(self, event, listener), true)
end

--- emitter:removeListener(event, listener) -> emitter. Alias: off.
-- Removes the most recently added instance of listener (or of a once() wrapper of it), then
-- emits 'removeListener' with it.
function EventEmitter:removeListener(event, listener)
  check_listener(listener)
  local events = self._events
  local list = events and events[event]
  if list == nil then return self end

  local removed
  if type(list) == "function" then
    if list ~= listener and once_listener[list] ~= listener then return self end
    removed = list
    events[event] = nil
    remove_name(self, event)
  else
    local n, position = #list, nil
    for i = n, 1, -1 do
      if list[i] == listener or once_listener[list[i]] == listener then
        position = i
        break
      end
    end
    if position == nil then return self end
    removed = list[position]
    if n == 2 then
      events[event] = list[3 - position] -- back to a single listener
    else
      local rest = table.move(list, 1, position - 1, 1, {})
      table.move(list, position + 1, n, position, rest)
      rest.warned = list.warned
      events[event] = rest
    end
  end

  if events.removeListener ~= nil then
    self:emit("removeListener", event, unwrap(removed))
  end
  return self
end
EventEmitter.off = EventEmitter.removeListener

--- emitter:removeAllListeners([event]) -> emitter
-- Without an event, removes every listener of every event ('removeListener' ones last).
function EventEmitter:removeAllListeners(event)
  local events = self._events
  if events == nil then return self end

  -- Nobody listens for 'removeListener': no need to remove one by one.
  if events.removeListener == nil then
    if event == nil then
      self._events, self._eventNames = nil, nil
    elseif events[event] ~= nil then
      events[event] = nil
      remove_name(self, event)
    end
    return self
  end

  if event == nil then
    local names = table.move(self._eventNames, 1, #self._eventNames, 1, {})
    for _, name in ipairs(names) do
      if name ~= "removeListener" then self:removeAllListeners(name) end
    end
    self:removeAllListeners("removeListener")
    self._events, self._eventNames = nil, nil
    return self
  end

  local listeners = events[event]
  if type(listeners) == "function" then
    self:removeListener(event, listeners)
  elseif listeners ~= nil then
    for i = #listeners, 1, -1 do -- last added first, as Node
      self:removeListener(event, listeners[i])
    end
  end
  return self
end

-- An 'error' event: errorMonitor listeners first; with no 'error' listener, raise.
local function emit_error(self, handler, ...)
  local events = self._events
  if events ~= nil and events[errorMonitor] ~= nil then
    self:emit(errorMonitor, ...)
    handler = self._events and self._events.error
  end
  if handler == nil then
    -- An error object is raised as it is; any other value wrapped in ERR_UNHANDLED_ERROR.
    error(errors.wrap_unhandled((...)), 0)
  end
  if type(handler) == "function" then
    handler(...)
  else
    for i = 1, #handler do handler[i](...) end
  end
  return true
end

--- emitter:emit(event, ...) -> boolean: calls the listeners in order with all the arguments;
-- true if there were listeners.
function EventEmitter:emit(event, ...)
  local events = self._events
  local handler = events and events[event]
  if event == "error" then return emit_error(self, handler, ...) end
  if handler == nil then return false end
  if type(handler) == "function" then
    handler(...)
  else
    for i = 1, #handler do handler[i](...) end
  end
  return true
end

--- emitter:listenerCount(event[, listener]) -> integer
-- With listener, counts only that function (once() wrappers of it included).
function EventEmitter:listenerCount(event, listener)
  local events = self._events
  local h = events and events[event]
  if h == nil then return 0 end
  if type(h) == "function" then
    if listener ~= nil then
      return (h == listener or once_listener[h] == listener) and 1 or 0
    end
    return 1
  end
  if listener ~= nil then
    local matching = 0
    for i = 1, #h do
      if h[i] == listener or once_listener[h[i]] == listener then matching = matching + 1 end
    end
    return matching
  end
  return #h
end

local function copy_listeners(self, event, raw)
  local events = self._events
  local h = events and events[event]
  if h == nil then return {} end
  if type(h) == "function" then return { raw and h or unwrap(h) } end
  local out = {}
  for i = 1, #h do out[i] = raw and h[i] or unwrap(h[i]) end
  return out
end

--- emitter:listeners(event) -> sequence: a copy, once() listeners as they were given.
function EventEmitter:listeners(event)
  return copy_listeners(self, event, false)
end

--- emitter:rawListeners(event) -> sequence: a copy, once() wrappers included (calling one
-- calls the listener once and removes it).
function EventEmitter:rawListeners(event)
  return copy_listeners(self, event, true)
end

--- emitter:eventNames() -> sequence of the events that have listeners, in the order they got
-- their first one.
function EventEmitter:eventNames()
  local names = self._eventNames
  if names == nil then return {} end
  return table.move(names, 1, #names, 1, {})
end

--- emitter:setMaxListeners(n) -> emitter. 0 or math.huge: no limit.
function EventEmitter:setMaxListeners(n)
  if type(n) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("setMaxListeners", "number", n), 2)
  end
  if n ~= n or n < 0 then
    error(errors.ERR_OUT_OF_RANGE("setMaxListeners", ">= 0", n), 2)
  end
  self._maxListeners = n
  return self
end

--- emitter:getMaxListeners() -> number
function EventEmitter:getMaxListeners()
  local n = self._maxListeners
  if n == nil then return EventEmitter.defaultMaxListeners end
  return n
end

return EventEmitter
