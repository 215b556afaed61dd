-- Node's perf_hooks: `performance` (now, timeOrigin, mark/measure). PerformanceObserver and the
-- http2 entries arrive with the metrics change.
local core = require "lode_core"

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

return { performance = performance }
