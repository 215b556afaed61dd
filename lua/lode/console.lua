-- Node's console: log/info/debug to stdout, error/warn to stderr, dir, time/timeEnd, assert.
local core = require "lode_core"
local util = require "lode.util"

local console = {}
local timers = {}
local counts = {}
local indent = ""

local function out(write, ...)
  local s = util.format(...)
  if indent ~= "" then s = indent .. s:gsub("\n", "\n" .. indent) end
  write(s .. "\n")
end

function console.log(...) out(core.write_stdout, ...) end
console.info = console.log
console.debug = console.log
function console.error(...) out(core.write_stderr, ...) end
console.warn = console.error

function console.dir(obj, options)
  out(core.write_stdout, "%s", util.inspect(obj, options))
end

function console.time(label)
  timers[label or "default"] = core.hrtime()
end

local function elapsed(label)
  label = label or "default"
  local t0 = timers[label]
  if not t0 then
    require("lode.process").emitWarning(string.format("No such label '%s' for console.timeEnd()", label))
    return nil
  end
  local ms = (core.hrtime() - t0) / 1e6
  return label, ms >= 1000 and string.format("%.3fs", ms / 1000) or string.format("%.3fms", ms)
end

function console.timeEnd(label)
  local l, t = elapsed(label)
  if l then
    timers[l] = nil
    out(core.write_stdout, "%s: %s", l, t)
  end
end

function console.timeLog(label, ...)
  local l, t = elapsed(label)
  if l then
    if select("#", ...) > 0 then
      out(core.write_stdout, "%s: %s %s", l, t, util.format(...))
    else
      out(core.write_stdout, "%s: %s", l, t)
    end
  end
end

function console.count(label)
  label = label or "default"
  counts[label] = (counts[label] or 0) + 1
  out(core.write_stdout, "%s: %d", label, counts[label])
end

function console.countReset(label) counts[label or "default"] = nil end

function console.assert(value, ...)
  if not value then
    if select("#", ...) > 0 then
      out(core.write_stderr, "Assertion failed: " .. util.format(...))
    else
      out(core.write_stderr, "Assertion failed")
    end
  end
end

function console.trace(...)
  out(core.write_stderr, "Trace: " .. util.format(...) .. "\n" .. debug.traceback("", 2):sub(2))
end

function console.group(...)
  if select("#", ...) > 0 then console.log(...) end
  indent = indent .. "  "
end

function console.groupEnd() indent = indent:sub(3) end

return console
