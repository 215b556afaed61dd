-- Node's http2 performance entries (lib/internal/http2/util.js + core.js): an 'Http2Session'
-- entry when a session closes and an 'Http2Stream' entry when a stream closes, to observers of
-- the 'http2' entry type. core.lua calls start() only when someone observes (M.on()); every
-- other hook is behind `rawget(obj, "_perf")`, so unobserved sessions pay nothing else.
local core = require "lode_core"
local perf = require "lode.perf_hooks"

local observing = perf._observing
local hrtime = core.hrtime
local performance = perf.performance
local PerformanceEntry = perf.PerformanceEntry

local M = {}

function M.on() return observing.http2 ~= nil end

local function now_ms() return hrtime() / 1e6 end
M.now_ms = now_ms

function M.session_start(session)
  session._perf = { start = now_ms(), rel = performance.now(), streamCount = 0, totalDuration = 0,
    open = 0, maxConcurrentStreams = 0, pingRTT = 0 }
end

function M.stream_start(stream)
  local sp = rawget(stream.session, "_perf")
  if not sp then return end
  stream._perf = { start = now_ms(), rel = performance.now(), bytesRead = 0, bytesWritten = 0 }
  sp.open = sp.open + 1
  if sp.open > sp.maxConcurrentStreams then sp.maxConcurrentStreams = sp.open end
end

-- Marks: the first time a thing happens on a stream, in ms since the stream started.
function M.mark(p, field)
  if p[field] == nil then p[field] = now_ms() - p.start end
end

function M.stream_end(stream)
  local p = stream._perf
  stream._perf = nil
  local duration = now_ms() - p.start
  local sp = rawget(stream.session, "_perf")
  if sp then
    sp.open = sp.open - 1
    sp.streamCount = sp.streamCount + 1
    sp.totalDuration = sp.totalDuration + duration
  end
  if not M.on() then return end
  perf._enqueue(PerformanceEntry.new("Http2Stream", "http2", p.rel, duration, {
    bytesRead = p.bytesRead,
    bytesWritten = p.bytesWritten,
    id = stream.id,
    timeToFirstByte = p.timeToFirstByte or 0,
    timeToFirstByteSent = p.timeToFirstByteSent or 0,
    timeToFirstHeader = p.timeToFirstHeader or 0,
  }))
end

-- Called while the native session still answers (its on_close).
function M.session_end(session)
  local p = session._perf
  session._perf = nil
  if not M.on() then return end
  local bytes_read, bytes_written, frames_received, frames_sent = session._box:stats()
  perf._enqueue(PerformanceEntry.new("Http2Session", "http2", p.rel, now_ms() - p.start, {
    bytesRead = bytes_read,
    bytesWritten = bytes_written,
    framesReceived = frames_received,
    framesSent = frames_sent,
    maxConcurrentStreams = p.maxConcurrentStreams,
    pingRTT = p.pingRTT,
    streamAverageDuration = p.streamCount > 0 and p.totalDuration / p.streamCount or 0,
    streamCount = p.streamCount,
    type = session._type == 0 and "server" or "client",
  }))
end

return M
