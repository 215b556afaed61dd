-- Shared by the specs: run the loop until something happens (or fail on a timeout), count the
-- calls a test expects (Node's mustCall), catch uncaught errors so they fail the test that caused
-- them, and find the peers and the build.
local lode = require "lode"
local core = require "lode_core"
local process = require "lode.process"
local timers = require "lode.timers"

local helper = {}

local uncaught = {}
process:on("uncaughtException", function(err) uncaught[#uncaught + 1] = err end)

-- Raises the first error that reached 'uncaughtException' since the last call.
function helper.check_uncaught()
  if #uncaught > 0 then
    local err = uncaught[1]
    uncaught = {}
    error(err, 0)
  end
end

-- Returns the uncaught errors collected so far and forgets them (for tests that expect some).
function helper.take_uncaught()
  local list = uncaught
  uncaught = {}
  return list
end

-- Runs the loop until cond() is true. Fails after timeout_ms (default 5000), or at the first
-- uncaught error unless keep_uncaught is set (then helper.take_uncaught() gets them).
function helper.run_loop(cond, timeout_ms, keep_uncaught)
  cond = cond or function() return false end
  timeout_ms = timeout_ms or 5000
  local timed_out = false
  -- Unreferenced: the guard must not be what keeps the loop alive.
  local t = timers.setTimeout(function() timed_out = true end, timeout_ms):unref()
  local ok, err = pcall(function()
    while not cond() do
      if not keep_uncaught then helper.check_uncaught() end
      if timed_out then error(string.format("run_loop: timed out after %d ms", timeout_ms), 0) end
      if not core.alive() then
        -- Only nextTicks may be left: run them (run() drains the queue first), then judge.
        lode.run("nowait")
        if not cond() and not core.alive() then
          error("run_loop: the loop has nothing left to do and the condition is still false", 0)
        end
      else
        lode.run("once")
      end
    end
    if not keep_uncaught then helper.check_uncaught() end
  end)
  t:close()
  if not ok then error(err, 2) end
end

-- busted keeps only the last finally() of a test: a spec registers its cleanups with
-- helper.defer(fn) and runs them, last first, from its after_each with helper.run_deferred().
local deferred = {}
function helper.defer(fn) deferred[#deferred + 1] = fn end
function helper.run_deferred()
  local list = deferred
  deferred = {}
  for i = #list, 1, -1 do list[i]() end
end

-- Runs the loop for ms milliseconds (lets pending I/O settle).
function helper.wait(ms)
  local done = false
  timers.setTimeout(function() done = true end, ms)
  helper.run_loop(function() return done end, ms + 5000)
end

-- Runs until nothing keeps the loop alive (or timeout).
function helper.drain(timeout_ms)
  local t = timers.setTimeout(function() end, timeout_ms or 5000)
  t:unref()
  local deadline = core.hrtime() + (timeout_ms or 5000) * 1e6
  while core.alive() do
    if core.hrtime() > deadline then
      t:close()
      error("drain: handles still open after " .. (timeout_ms or 5000) .. " ms", 2)
    end
    lode.run("once")
  end
  t:close()
  helper.check_uncaught()
end

-- must_call(fn, n): a wrapper that must be called exactly n times (default 1) before
-- helper.verify_calls() (called by after_each in specs that use it).
local expected = {}
function helper.must_call(fn, n)
  local rec = { n = n or 1, calls = 0, where = debug.traceback("", 2) }
  expected[#expected + 1] = rec
  return function(...)
    rec.calls = rec.calls + 1
    if fn then return fn(...) end
  end
end

function helper.must_not_call(what)
  return function() error("must not be called: " .. tostring(what), 2) end
end

function helper.verify_calls()
  local list = expected
  expected = {}
  for _, rec in ipairs(list) do
    if rec.calls ~= rec.n then
      error(string.format("expected %d call(s), got %d%s", rec.n, rec.calls, rec.where), 0)
    end
  end
end

-- expects_error{ code = ..., name = ... } returns a checker for an error value.
function helper.expects_error(want)
  return function(err)
    assert(type(err) == "table", "expected an error object, got " .. tostring(err))
    for k, v in pairs(want) do
      if err[k] ~= v then
        error(string.format("error.%s: expected %s, got %s (%s)", k, tostring(v), tostring(err[k]),
          tostring(err)), 2)
      end
    end
    return true
  end
end

-- Raises unless fn raises an error whose fields match want.
function helper.assert_throws(fn, want)
  local ok, err = pcall(fn)
  if ok then error("expected an error " .. (want.code or ""), 2) end
  helper.expects_error(want)(err)
  return err
end

-- Paths.
helper.root = (debug.getinfo(1, "S").source:match("^@(.*)/spec/helper%.lua$")) or "."
helper.lode = process.execPath
helper.fixtures = helper.root .. "/spec/fixtures"

-- Runs a shell command synchronously (for commands that do not need this process's loop).
function helper.sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or code
end

-- Quotes a string for the shell.
function helper.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Files made and checked with Lua's own io and the shell, beside the API under test.
function helper.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

function helper.read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function helper.exists(path)
  return os.execute("test -e " .. helper.q(path)) == true
end

return helper
