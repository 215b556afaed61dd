-- Node's perf_hooks: `performance` (now, timeOrigin, mark/measure) and PerformanceObserver.
--
--   local obs = PerformanceObserver.new(function(list) for _, e in ipairs(list:getEntries()) ... end)
--   obs:observe({ entryTypes = { "http2" } })
--
-- Producers (lode.http2.metrics) check `observing[type]` before building anything: with nobody
-- observing an entry type, producing it costs one table read.
local core = require "lode_core"
local Object = require "lode.class"
local errors = require "lode.errors"

local origin_ns = core.hrtime()
local origin_wall_ms = os.time() * 1000.0

local performance = {
  timeOrigin = origin_wall_ms,
}

-- Milliseconds since the process started, with sub-millisecond resolution.
function performance.now()
  return (core.hrtime() - origin_ns) / 1e6
end

local marks = {}

function performance.mark(name)
  local entry = { name = name, entryType = "mark", startTime = performance.now(), duration = 0 }
  marks[name] = entry
  return entry
end

function performance.measure(name, start_mark, end_mark)
  local s = start_mark and marks[start_mark] and marks[start_mark].startTime or 0
  local e = end_mark and marks[end_mark] and marks[end_mark].startTime or performance.now()
  return { name = name, entryType = "measure", startTime = s, duration = e - s }
end

function performance.clearMarks(name)
  if name then marks[name] = nil else marks = {} end
end

-- ---- PerformanceEntry, PerformanceObserverEntryList, PerformanceObserver ----

local PerformanceEntry = Object:extend("PerformanceEntry")

function PerformanceEntry:constructor(name, entry_type, start_time, duration, detail)
  self.name = name
  self.entryType = entry_type
  self.startTime = start_time
  self.duration = duration
  self.detail = detail
  -- Node still answers the http2 fields on the entry itself (deprecated accessors, DEP0152).
  if detail then for k, v in pairs(detail) do if self[k] == nil then self[k] = v end end end
end

local EntryList = Object:extend("PerformanceObserverEntryList")

function EntryList:constructor(entries) self._entries = entries end
function EntryList:getEntries()
  local out = {}
  for i, e in ipairs(self._entries) do out[i] = e end
  return out
end
function EntryList:getEntriesByType(t)
  local out = {}
  for _, e in ipairs(self._entries) do if e.entryType == t then out[#out + 1] = e end end
  return out
end
function EntryList:getEntriesByName(name, t)
  local out = {}
  for _, e in ipairs(self._entries) do
    if e.name == name and (t == nil or e.entryType == t) then out[#out + 1] = e end
  end
  return out
end

local SUPPORTED = { "function", "gc", "http", "http2", "mark", "measure", "net", "resource", "dns" }
local SUPPORTED_SET = {}
for _, t in ipairs(SUPPORTED) do SUPPORTED_SET[t] = true end

-- observing[type] = how many connected observers want it.
local observing = {}
local observers = {} -- observer -> true while connected

local PerformanceObserver = Object:extend("PerformanceObserver")
PerformanceObserver.supportedEntryTypes = SUPPORTED

function PerformanceObserver:constructor(callback)
  if type(callback) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", callback), 3)
  end
  self._callback = callback
  self._types = {}
  self._buffer = {}
end

-- observe({ entryTypes = { ... } }) or observe({ type = "http2" })
function PerformanceObserver:observe(options)
  if type(options) ~= "table" then error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2) end
  local list = options.entryTypes
  if list ~= nil and options.type ~= nil then
    error(errors.ERR_INVALID_ARG_VALUE("options.entryTypes", list,
      "options.entryTypes can not set with options.type together"), 2)
  end
  if list == nil then
    if options.type == nil then error(errors.ERR_MISSING_ARGS("options.entryTypes", "options.type"), 2) end
    list = { options.type }
  elseif type(list) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options.entryTypes", "string[]", list), 2)
  end
  if options.entryTypes ~= nil then self:disconnect() end
  for _, t in ipairs(list) do
    if type(t) == "string" and SUPPORTED_SET[t] and not self._types[t] then
      self._types[t] = true
      observing[t] = (observing[t] or 0) + 1
    end
  end
  observers[self] = next(self._types) ~= nil or nil
end

function PerformanceObserver:disconnect()
  for t in pairs(self._types) do
    observing[t] = observing[t] - 1
    if observing[t] == 0 then observing[t] = nil end
  end
  self._types = {}
  self._buffer = {}
  observers[self] = nil
end

function PerformanceObserver:takeRecords()
  local b = self._buffer
  self._buffer = {}
  return b
end

local pending = false
local function flush()
  pending = false
  for obs in pairs(observers) do
    if #obs._buffer > 0 then
      local entries = obs._buffer
      obs._buffer = {}
      obs._callback(EntryList.new(entries), obs)
    end
  end
end

-- Queues an entry for every observer of its type; callbacks run together on a later turn.
local function enqueue(entry)
  local t = entry.entryType
  for obs in pairs(observers) do
    if obs._types[t] then obs._buffer[#obs._buffer + 1] = entry end
  end
  if not pending then
    pending = true
    require("lode.timers").setImmediate(flush)
  end
end

return {
  performance = performance,
  PerformanceObserver = PerformanceObserver,
  PerformanceEntry = PerformanceEntry,
  PerformanceObserverEntryList = EntryList,
  -- For producers (lode.http2.metrics).
  _observing = observing,
  _enqueue = enqueue,
}
