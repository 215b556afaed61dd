-- Readable:pipe()/unpipe() with backpressure, stream.pipeline() and stream.finished().
-- Expected orders are Node 20's.
local helper = require "spec.helper"
local stream = require "lode.stream"
local timers = require "lode.timers"
local process = require "lode.process"

local Readable, Writable, PassThrough = stream.Readable, stream.Writable, stream.PassThrough

local function run_until(cond)
  local keep = timers.setInterval(function() end, 1)
  local ok, err = pcall(helper.run_loop, cond, 2000)
  timers.clearInterval(keep)
  if not ok then error(err, 2) end
end

local function source(opts)
  opts = opts or {}
  opts.read = opts.read or function() end
  return Readable.new(opts)
end

-- A Writable that keeps what it gets in .got (and logs into log, if given); delay > 0 makes
-- each write take that many milliseconds.
local function sink(opts, log)
  opts = opts or {}
  local delay = opts.delay
  opts.delay = nil
  local w
  opts.write = function(_, chunk, _, cb)
    w.got[#w.got + 1] = chunk
    if log then log[#log + 1] = "write:" .. chunk end
    if delay then timers.setTimeout(cb, delay) else cb() end
  end
  w = Writable.new(opts)
  w.got = {}
  return w
end

describe("Readable:pipe()", function()
  it("returns the destination, writes every chunk and ends it", function()
    local r = source()
    local w = sink()
    assert.equal(w, r:pipe(w))
    local finished = false
    w:on("finish", function() finished = true end)
    r:push("a"); r:push("b"); r:push(nil)
    run_until(function() return finished end)
    assert.same({ "a", "b" }, w.got)
  end)

  it("leaves the destination open with { end = false }", function()
    local r = source()
    local w = sink()
    r:pipe(w, { ["end"] = false })
    local ended = false
    r:on("end", function() ended = true end)
    r:push("z"); r:push(nil)
    run_until(function() return ended end)
    helper.wait(5)
    assert.is_false(w.writableEnded)
    assert.same({ "z" }, w.got)
  end)

  it("pauses the source while write() returns false and resumes it on 'drain'", function()
    local log = {}
    local n = 0
    local r = Readable.new({
      highWaterMark = 4,
      read = function(self)
        n = n + 1
        if n <= 4 then self:push("x" .. n) else self:push(nil) end
      end,
    })
    local w = sink({ highWaterMark = 3, delay = 1 }, log)
    r:on("pause", function() log[#log + 1] = "pause" end)
    r:on("resume", function() log[#log + 1] = "resume" end)
    w:on("drain", function() log[#log + 1] = "drain" end)
    local finished = false
    w:on("finish", function() finished = true end)
    r:pipe(w)
    run_until(function() return finished end)
    -- Node's exact sequence: the chunk already handed to 'data' when write() says false is
    -- still written ("x2", "x4"), and the writable ends before a last 'drain'.
    assert.same({ "resume", "write:x1", "pause", "write:x2", "drain", "resume", "write:x3", "pause",
      "write:x4" }, log)
  end)

  it("emits 'pipe' and 'unpipe' on the destination", function()
    local r = source()
    local w = sink()
    local log = {}
    w:on("pipe", function(src) log[#log + 1] = src == r and "pipe" or "?" end)
    w:on("unpipe", function(src) log[#log + 1] = src == r and "unpipe" or "?" end)
    r:pipe(w)
    r:unpipe(w)
    assert.same({ "pipe", "unpipe" }, log)
  end)

  it("stops writing after unpipe(dest) and pauses the source", function()
    local r = source()
    local w = sink()
    r:pipe(w)
    r:push("1")
    run_until(function() return #w.got == 1 end)
    r:unpipe(w)
    assert.is_false(r.readableFlowing)
    r:push("2")
    helper.wait(5)
    assert.same({ "1" }, w.got)
    assert.equal(1, r.readableLength)
  end)

  it("unpipes every destination with unpipe()", function()
    local r = source()
    local a, b = sink(), sink()
    local log = {}
    a:on("unpipe", function() log[#log + 1] = "a" end)
    b:on("unpipe", function() log[#log + 1] = "b" end)
    r:pipe(a); r:pipe(b)
    r:unpipe()
    assert.same({ "a", "b" }, log)
    assert.is_true(r:isPaused())
  end)

  it("feeds several destinations, pacing the source by the slowest", function()
    local r = source()
    local fast, slow = sink({ highWaterMark = 100 }), sink({ highWaterMark = 1, delay = 5 })
    r:pipe(fast); r:pipe(slow)
    r:push("1"); r:push("2"); r:push("3"); r:push(nil)
    local done = 0
    fast:on("finish", function() done = done + 1 end)
    slow:on("finish", function() done = done + 1 end)
    run_until(function() return done == 2 end)
    assert.same({ "1", "2", "3" }, fast.got)
    assert.same({ "1", "2", "3" }, slow.got)
  end)

  it("chains: a:pipe(b):pipe(c)", function()
    local r = source()
    local p = PassThrough.new()
    local w = sink()
    r:pipe(p):pipe(w)
    local finished = false
    w:on("finish", function() finished = true end)
    r:push("x"); r:push("y"); r:push(nil)
    run_until(function() return finished end)
    assert.equal("xy", table.concat(w.got))
  end)

  it("ends the destination when the source has already ended", function()
    local r = source()
    r:resume()
    r:push(nil)
    run_until(function() return r.readableEnded end)
    local w = sink()
    r:pipe(w)
    run_until(function() return w.writableFinished end)
    assert.same({}, w.got)
  end)

  it("unpipes when the destination errors, and the error still reaches 'error'", function()
    local r = source()
    local w = Writable.new({ write = function(_, _, _, cb) cb({ message = "dest broke" }) end })
    local log = {}
    w:on("error", function(e) log[#log + 1] = "error:" .. e.message end)
    w:on("unpipe", function() log[#log + 1] = "unpipe" end)
    r:pipe(w)
    r:push("x")
    run_until(function() return #log == 2 end)
    assert.same({ "unpipe", "error:dest broke" }, log)
  end)

  it("works for old-style streams through Stream:pipe()", function()
    local src = stream.Stream.new()
    src.readable = true
    local w = sink()
    src:pipe(w)
    src:emit("data", "legacy")
    src:emit("end")
    run_until(function() return w.writableFinished end)
    assert.same({ "legacy" }, w.got)
  end)
end)

describe("stream.pipeline()", function()
  it("pipes the streams, returns the last one and calls back once it finished", function()
    local n = 0
    local src = Readable.new({
      read = function(self)
        n = n + 1
        if n <= 3 then self:push("c" .. n) else self:push(nil) end
      end,
    })
    local up = stream.Transform.new({ transform = function(_, c, _, cb) cb(nil, c:upper()) end })
    local dst = sink()
    local result
    local ret = stream.pipeline(src, up, dst, function(err) result = { err = err } end)
    assert.equal(dst, ret)
    run_until(function() return result end)
    assert.is_nil(result.err)
    assert.same({ "C1", "C2", "C3" }, dst.got)
    assert.is_true(src.destroyed and up.destroyed and dst.destroyed)
  end)

  it("takes the streams as one sequence", function()
    local src, dst = source(), sink()
    local done = false
    stream.pipeline({ src, dst }, function() done = true end)
    src:push("s"); src:push(nil)
    run_until(function() return done end)
    assert.same({ "s" }, dst.got)
  end)

  it("destroys every stream at the first error and passes it to the callback", function()
    local src = Readable.new({ read = function(self) self:push("x") end })
    local bad = stream.Transform.new({ transform = function(_, _, _, cb) cb({ message = "tfail" }) end })
    local dst = sink()
    local result
    stream.pipeline(src, bad, dst, function(err) result = err end)
    run_until(function() return result end)
    assert.equal("tfail", result.message)
    assert.is_true(src.destroyed)
    assert.is_true(bad.destroyed)
    assert.is_true(dst.destroyed)
  end)

  it("reports ERR_STREAM_PREMATURE_CLOSE when a stream closes early", function()
    local src, dst = source(), sink()
    local result
    stream.pipeline(src, dst, function(err) result = err end)
    process.nextTick(function() src:destroy() end)
    run_until(function() return result end)
    assert.equal("ERR_STREAM_PREMATURE_CLOSE", result.code)
  end)

  it("raises ERR_INVALID_ARG_TYPE without a callback and ERR_MISSING_ARGS with one stream", function()
    helper.assert_throws(function() stream.pipeline(source(), sink()) end, { code = "ERR_INVALID_ARG_TYPE" })
    helper.assert_throws(function() stream.pipeline(source(), function() end) end,
      { code = "ERR_MISSING_ARGS" })
  end)
end)

describe("stream.finished()", function()
  it("calls back once a Readable has ended", function()
    local r = source()
    local result
    stream.finished(r, function(err) result = { err = err, ended = r.readableEnded } end)
    r:resume()
    r:push("a"); r:push(nil)
    run_until(function() return result end)
    assert.same({ ended = true }, result)
  end)

  it("calls back once a Writable has finished", function()
    local w = sink()
    local result
    stream.finished(w, function(err) result = { err = err, finished = w.writableFinished } end)
    w:finish("x")
    run_until(function() return result end)
    assert.same({ finished = true }, result)
  end)

  it("reports ERR_STREAM_PREMATURE_CLOSE for a stream destroyed before its end", function()
    local r = source()
    local result
    stream.finished(r, function(err) result = err end)
    r:destroy()
    run_until(function() return result end)
    assert.equal("ERR_STREAM_PREMATURE_CLOSE", result.code)
  end)

  it("passes on the stream's error", function()
    local r = source()
    r:on("error", function() end)
    local result
    stream.finished(r, function(err) result = err end)
    r:destroy({ message = "broken" })
    run_until(function() return result end)
    assert.equal("broken", result.message)
  end)

  it("calls back on the next tick for a stream that is already done", function()
    local w = sink()
    w:finish()
    run_until(function() return w.closed end)
    local called = false
    stream.finished(w, function() called = true end)
    assert.is_false(called)
    run_until(function() return called end)
  end)

  it("returns a cleanup function that stops the callback", function()
    local r = source()
    local called = false
    local cleanup = stream.finished(r, function() called = true end)
    cleanup()
    r:resume()
    r:push(nil)
    run_until(function() return r.destroyed end)
    helper.wait(5)
    assert.is_false(called)
  end)

  it("takes options: { readable = false } waits only for the writable side", function()
    local d = stream.Duplex.new({ read = function() end, write = function(_, _, _, cb) cb() end })
    local result
    stream.finished(d, { readable = false }, function(err) result = { err = err } end)
    d:finish()
    run_until(function() return result end)
    assert.is_nil(result.err)
    assert.is_false(d.readableEnded)
  end)
end)
