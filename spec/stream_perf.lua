-- A micro-benchmark of the stream hot paths (not a spec: busted's *_spec pattern skips it).
--   build-stream/lode spec/stream_perf.lua [count]
local stream = require "lode.stream"
local lode = require "lode"

local N = tonumber(arg and arg[1]) or 1000000
local clock = os.clock

local function report(name, t0, n)
  local dt = clock() - t0
  print(string.format("%-44s %8.3f s  %6.0f ns/op", name, dt, dt * 1e9 / n))
end

local function run_until(cond)
  while not cond() do lode.run("nowait") end
end

-- 1. Writable: write(chunk) on an idle stream whose _write completes synchronously.
do
  local bytes = 0
  local w = stream.Writable.new({ write = function(_, chunk, _, cb) bytes = bytes + #chunk; cb() end })
  local t0 = clock()
  for _ = 1, N do w:write("0123456789abcdef") end
  local finished = false
  w:finish(function() finished = true end)
  run_until(function() return finished end)
  report("Writable:write() x" .. N .. " (sync _write)", t0, N)
  assert(bytes == 16 * N)
end

-- 2. Writable: write(chunk, cb) with a callback (the callback runs on the next tick).
do
  local calls = 0
  local function cb() calls = calls + 1 end
  local w = stream.Writable.new({ write = function(_, _, _, done) done() end })
  local t0 = clock()
  for _ = 1, N do w:write("0123456789abcdef", cb) end
  run_until(function() return calls == N end)
  report("Writable:write(chunk, cb) x" .. N, t0, N)
end

-- 3. PassThrough: write 1M chunks, read them back through 'data'.
do
  local p = stream.PassThrough.new()
  local got = 0
  p:on("data", function(chunk) got = got + #chunk end)
  local ended = false
  p:on("end", function() ended = true end)
  lode.run("nowait") -- let resume() start the flow
  local t0 = clock()
  for _ = 1, N do p:write("0123456789abcdef") end
  p:finish()
  run_until(function() return ended end)
  report("PassThrough write -> 'data' x" .. N, t0, N)
  assert(got == 16 * N)
end

-- 4. Readable: push(chunk) in flowing mode ('data' emitted directly).
do
  local r = stream.Readable.new({ read = function() end })
  local got = 0
  r:on("data", function(chunk) got = got + #chunk end)
  lode.run("nowait")
  local t0 = clock()
  for _ = 1, N do r:push("0123456789abcdef") end
  r:push(nil)
  report("Readable:push() flowing x" .. N, t0, N)
  assert(got == 16 * N)
end

-- 5. Readable: push 1M chunks paused, then drain them with read().
do
  local r = stream.Readable.new({ read = function() end, highWaterMark = 1 << 30 })
  local t0 = clock()
  for _ = 1, N do r:push("0123456789abcdef") end
  r:push(nil)
  local got = 0
  while true do
    local c = r:read(4096)
    if c == nil then break end
    got = got + #c
  end
  report("Readable:push() x" .. N .. " then read(4096)", t0, N)
  assert(got == 16 * N)
end

-- 6. Stream creation.
do
  local t0 = clock()
  local M = N // 10
  for _ = 1, M do stream.Duplex.new({ read = function() end, write = function() end }) end
  report("Duplex.new() x" .. M, t0, M)
end
