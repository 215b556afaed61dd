-- stream.Writable: write/finish, backpressure and 'drain', callbacks and their timing, cork,
-- writev, encodings, errors and destroy. Expected event orders are Node 20's.
local helper = require "spec.helper"
local stream = require "lode.stream"
local process = require "lode.process"
local timers = require "lode.timers"

local Writable = stream.Writable

-- helper.run_loop, with the loop kept alive so that work queued with nextTick alone runs too.
local function run_until(cond)
  local keep = timers.setInterval(function() end, 1)
  local ok, err = pcall(helper.run_loop, cond, 2000)
  timers.clearInterval(keep)
  if not ok then error(err, 2) end
end

-- A Writable that records what reaches _write (and events, callbacks) into log. With async,
-- each write completes on a later loop turn.
local function sink(log, opts)
  opts = opts or {}
  opts.write = opts.write or function(_, chunk, enc, cb)
    log[#log + 1] = "_write:" .. tostring(chunk) .. ":" .. tostring(enc)
    if opts.async then timers.setImmediate(cb) else cb() end
  end
  local w = Writable.new(opts)
  for _, ev in ipairs({ "drain", "prefinish", "finish", "close", "error" }) do
    w:on(ev, function(a)
      log[#log + 1] = ev == "error" and ("error:" .. tostring(a.code or a.message)) or ev
    end)
  end
  return w
end

local function cb_logger(log, name)
  return function(err)
    log[#log + 1] = name .. (err and (":" .. tostring(err.code or err.message)) or "")
  end
end

describe("Writable:write()", function()
  it("calls _write synchronously on an idle stream", function()
    local log = {}
    local w = sink(log)
    w:write("a")
    assert.same({ "_write:a:buffer" }, log)
  end)

  it("returns false once writableLength reaches highWaterMark, then emits 'drain'", function()
    local log = {}
    local w = sink(log, { highWaterMark = 5, async = true })
    assert.is_true(w:write("abc"))
    assert.equal(3, w.writableLength)
    assert.is_false(w:write("de"))
    assert.equal(5, w.writableLength)
    assert.is_true(w.writableNeedDrain)
    run_until(function() return log[#log] == "drain" end)
    assert.same({ "_write:abc:buffer", "_write:de:buffer", "drain" }, log)
    assert.equal(0, w.writableLength)
    assert.is_false(w.writableNeedDrain)
  end)

  it("calls the callback on the next tick when _write completes synchronously", function()
    local log = {}
    local w = sink(log)
    w:write("x", cb_logger(log, "cb"))
    log[#log + 1] = "returned"
    run_until(function() return #log == 3 end)
    assert.same({ "_write:x:buffer", "returned", "cb" }, log)
  end)

  it("queues writes behind a pending one and starts the next before the callback", function()
    local log = {}
    local w = sink(log, { async = true })
    w:write("1", cb_logger(log, "cb1"))
    w:write("2", cb_logger(log, "cb2"))
    w:write("3", cb_logger(log, "cb3"))
    assert.same({ "_write:1:buffer" }, log)
    assert.equal(3, w.writableLength)
    run_until(function() return #log == 6 end)
    assert.same({ "_write:1:buffer", "_write:2:buffer", "cb1", "_write:3:buffer", "cb2", "cb3" }, log)
  end)

  it("raises ERR_STREAM_NULL_VALUES for write(nil)", function()
    local w = sink({})
    helper.assert_throws(function() w:write(nil) end, { code = "ERR_STREAM_NULL_VALUES", name = "TypeError" })
  end)

  it("raises ERR_INVALID_ARG_TYPE for a chunk that is not a string", function()
    local w = sink({})
    helper.assert_throws(function() w:write(42) end, { code = "ERR_INVALID_ARG_TYPE" })
  end)

  it("raises ERR_UNKNOWN_ENCODING for an unknown encoding", function()
    local w = sink({})
    helper.assert_throws(function() w:write("x", "klingon") end, { code = "ERR_UNKNOWN_ENCODING" })
  end)

  it("decodes a chunk written in an encoding to bytes, passed as 'buffer'", function()
    local log = {}
    local w = sink(log)
    w:write("616263", "hex")
    w:write("YWJj", "base64")
    w:setDefaultEncoding("hex")
    w:write("7a7a")
    assert.same({ "_write:abc:buffer", "_write:abc:buffer", "_write:zz:buffer" }, log)
  end)

  it("passes the chunk and its encoding unchanged with decodeStrings = false", function()
    local log = {}
    local w = sink(log, { decodeStrings = false })
    w:write("abc")
    w:write("616263", "hex")
    assert.same({ "_write:abc:utf8", "_write:616263:hex" }, log)
  end)

  it("takes any value but nil in objectMode and counts items", function()
    local got = {}
    local w = Writable.new({
      objectMode = true,
      highWaterMark = 2,
      write = function(_, v, _, cb) got[#got + 1] = v; timers.setImmediate(cb) end,
    })
    assert.equal(2, w.writableHighWaterMark)
    assert.is_true(w:write({ a = 1 }))
    assert.is_false(w:write(false))
    assert.equal(2, w.writableLength)
    run_until(function() return w.writableLength == 0 end)
    assert.same({ { a = 1 }, false }, got)
    assert.equal(16, Writable.new({ objectMode = true }).writableHighWaterMark)
  end)
end)

describe("Writable:finish()", function()
  it("runs final, then 'prefinish', the callback, 'finish' and 'close'", function()
    local log = {}
    local w = sink(log, {
      final = function(_, cb) log[#log + 1] = "_final"; cb() end,
    })
    w:write("a", cb_logger(log, "cb a"))
    w:finish("b", cb_logger(log, "finish cb"))
    assert.is_true(w.writableEnded)
    assert.is_false(w.writableFinished)
    run_until(function() return log[#log] == "close" end)
    assert.same({ "_write:a:buffer", "_write:b:buffer", "_final", "prefinish", "cb a", "finish cb",
      "finish", "close" }, log)
    assert.is_true(w.writableFinished)
    assert.is_true(w.destroyed)
  end)

  it("emits 'finish' only after every write callback", function()
    local log = {}
    local w = sink(log, { async = true })
    w:write("1", cb_logger(log, "cb1"))
    w:write("2", cb_logger(log, "cb2"))
    w:finish()
    run_until(function() return log[#log] == "close" end)
    assert.same({ "_write:1:buffer", "_write:2:buffer", "cb1", "cb2", "prefinish", "finish", "close" }, log)
  end)

  it("waits for an asynchronous final", function()
    local log = {}
    local done
    local w = sink(log, { final = function(_, cb) log[#log + 1] = "_final"; done = cb end })
    w:finish()
    run_until(function() return done end)
    helper.wait(5)
    assert.same({ "_final" }, log)
    done()
    run_until(function() return log[#log] == "close" end)
    assert.same({ "_final", "prefinish", "finish", "close" }, log)
  end)

  it("takes the callback in any position: finish(cb), finish(chunk, cb)", function()
    local log = {}
    local w = sink(log)
    w:finish(cb_logger(log, "cb"))
    local w2 = sink(log)
    w2:finish("x", cb_logger(log, "cb2"))
    run_until(function() return #log >= 9 end)
    assert.same({ "prefinish", "_write:x:buffer", "prefinish", "cb", "finish", "cb2", "finish",
      "close", "close" }, log)
  end)

  it("gives ERR_STREAM_ALREADY_FINISHED to the callback of a second finish()", function()
    local log = {}
    local w = sink(log)
    w:finish()
    run_until(function() return w.writableFinished end)
    w:finish(cb_logger(log, "again"))
    run_until(function() return log[#log] ~= "close" and log[#log] ~= "finish" end)
    assert.equal("again:ERR_STREAM_ALREADY_FINISHED", log[#log])
  end)

  it("turns writable false and writableEnded true at once", function()
    local w = sink({})
    assert.is_true(w.writable)
    w:finish()
    assert.is_false(w.writable)
    assert.is_true(w.writableEnded)
  end)

  it("keeps the stream alive with autoDestroy = false", function()
    local log = {}
    local w = sink(log, { autoDestroy = false })
    w:finish()
    run_until(function() return w.writableFinished end)
    helper.wait(5)
    assert.same({ "prefinish", "finish" }, log)
    assert.is_false(w.destroyed)
  end)

  it("emits no 'close' with emitClose = false", function()
    local log = {}
    local w = sink(log, { emitClose = false })
    w:finish()
    run_until(function() return w.destroyed end)
    helper.wait(5)
    assert.same({ "prefinish", "finish" }, log)
  end)
end)

describe("Writable errors", function()
  it("emits ERR_STREAM_WRITE_AFTER_END for a write after finish(), and its callback gets it", function()
    local log = {}
    local w = sink(log)
    w:finish()
    assert.is_false(w:write("late", cb_logger(log, "cb")))
    run_until(function() return log[#log] == "close" end)
    assert.same({ "prefinish", "cb:ERR_STREAM_WRITE_AFTER_END", "error:ERR_STREAM_WRITE_AFTER_END", "close" },
      log)
  end)

  it("reports an error from _write to its callback, then 'error' and 'close', no 'finish'", function()
    local log = {}
    local w = sink(log, { write = function(_, _, _, cb) cb({ message = "disk full" }) end })
    assert.is_false(w:write("x", cb_logger(log, "cb")))
    w:finish()
    run_until(function() return log[#log] == "close" end)
    assert.same({ "cb:disk full", "error:disk full", "close" }, log)
    assert.equal("disk full", w.errored.message)
  end)

  it("emits ERR_MULTIPLE_CALLBACK when _write calls back twice", function()
    local log = {}
    sink(log, { write = function(_, _, _, cb) cb(); cb() end }):write("x")
    run_until(function() return log[#log] == "close" end)
    assert.same({ "error:ERR_MULTIPLE_CALLBACK", "close" }, log)
  end)

  it("reports an error from final through 'error', 'close', then the finish() callback", function()
    local log = {}
    local w = sink(log, { final = function(_, cb) cb({ message = "final failed" }) end })
    w:finish(cb_logger(log, "cb"))
    run_until(function() return #log == 3 end)
    assert.same({ "error:final failed", "close", "cb:final failed" }, log)
  end)

  it("raises an 'error' nobody listens for as an uncaught error", function()
    local errors = require "lode.errors"
    local w = Writable.new({ write = function(_, _, _, cb) cb(errors.Error.new("unheard")) end })
    w:write("x")
    local got
    local keep = timers.setInterval(function() end, 1)
    helper.run_loop(function()
      got = got or helper.take_uncaught()[1]
      return got ~= nil
    end, 2000, true)
    timers.clearInterval(keep)
    assert.equal("unheard", got.message)
  end)
end)

describe("Writable:destroy()", function()
  it("fails the pending writes and finish() callbacks with ERR_STREAM_DESTROYED", function()
    local log = {}
    local w = sink(log, { async = true })
    w:write("a", cb_logger(log, "cb a"))
    w:write("b", cb_logger(log, "cb b"))
    w:finish(cb_logger(log, "finish cb"))
    w:destroy()
    assert.is_true(w.destroyed)
    assert.is_false(w.writable)
    run_until(function() return #log == 5 end)
    -- The write in progress still completes; the queued one and finish() fail.
    assert.same({ "_write:a:buffer", "close", "cb a", "cb b:ERR_STREAM_DESTROYED",
      "finish cb:ERR_STREAM_DESTROYED" }, log)
  end)

  it("emits 'error' then 'close' for destroy(err), once even if called twice", function()
    local log = {}
    local w = sink(log)
    w:destroy({ message = "boom" })
    w:destroy({ message = "again" })
    run_until(function() return log[#log] == "close" end)
    helper.wait(5)
    assert.same({ "error:boom", "close" }, log)
  end)

  it("fails a write after destroy with ERR_STREAM_DESTROYED", function()
    local log = {}
    local w = sink(log)
    w:destroy()
    w:write("x", cb_logger(log, "cb"))
    run_until(function() return #log == 2 end)
    assert.same({ "close", "cb:ERR_STREAM_DESTROYED" }, log)
  end)

  it("calls destroy(self, err, cb) with the error", function()
    local seen
    local w = Writable.new({
      write = function(_, _, _, cb) cb() end,
      destroy = function(self, err, cb) seen = { self, err }; cb(err) end,
    })
    w:on("error", function() end)
    local e = { message = "x" }
    w:destroy(e)
    assert.equal(w, seen[1])
    assert.equal(e, seen[2])
  end)
end)

describe("Writable:cork()", function()
  it("buffers writes until uncork(), then hands them to writev as {chunk=, encoding=}", function()
    local log = {}
    local w = Writable.new({
      write = function(_, c, _, cb) log[#log + 1] = "_write:" .. c; cb() end,
      writev = function(_, chunks, cb)
        local parts = {}
        for i, c in ipairs(chunks) do parts[i] = c.chunk .. "/" .. c.encoding end
        log[#log + 1] = "_writev:" .. table.concat(parts, ",")
        cb()
      end,
    })
    w:cork()
    w:write("a", cb_logger(log, "cb a"))
    w:write("b")
    w:write("c", cb_logger(log, "cb c"))
    assert.equal(1, w.writableCorked)
    assert.equal(3, w.writableLength)
    assert.same({}, log)
    process.nextTick(function() w:uncork() end)
    run_until(function() return #log == 3 end)
    assert.same({ "_writev:a/buffer,b/buffer,c/buffer", "cb a", "cb c" }, log)
    assert.equal(0, w.writableCorked)
  end)

  it("needs as many uncork() calls as cork() calls", function()
    local log = {}
    local w = sink(log)
    w:cork(); w:cork()
    w:write("x")
    w:uncork()
    assert.same({}, log)
    w:uncork()
    assert.same({ "_write:x:buffer" }, log)
  end)

  it("is undone by finish()", function()
    local log = {}
    local w = sink(log)
    w:cork()
    w:write("x")
    w:finish()
    assert.same({ "_write:x:buffer", "prefinish" }, log)
    assert.equal(0, w.writableCorked)
  end)
end)

describe("Writable subclasses", function()
  it("implement _write and _final as methods, receiving the stream first", function()
    local Collector = Writable:extend("Collector")
    function Collector:constructor()
      Writable.constructor(self)
      self.parts = {}
    end
    function Collector:_write(chunk, _, cb)
      self.parts[#self.parts + 1] = chunk
      cb()
    end
    function Collector:_final(cb)
      self.body = table.concat(self.parts)
      cb()
    end
    local c = Collector.new()
    c:write("he")
    c:finish("llo")
    run_until(function() return c.writableFinished end)
    assert.equal("hello", c.body)
  end)

  it("use _writev for batches when they define it", function()
    local V = Writable:extend("V")
    local batches = {}
    function V._writev(_, chunks, cb)
      batches[#batches + 1] = #chunks
      timers.setImmediate(cb)
    end
    local v = V.new()
    v:write("1"); v:write("2"); v:write("3")
    v:finish()
    run_until(function() return v.writableFinished end)
    assert.same({ 1, 2 }, batches)
  end)

  it("emit 'error' ERR_STREAM_CANNOT_PIPE for pipe()", function()
    local log = {}
    local w = sink(log)
    w:pipe(sink({}))
    run_until(function() return log[#log] == "close" end)
    assert.same({ "error:ERR_STREAM_CANNOT_PIPE", "close" }, log)
  end)
end)

describe("Writable properties", function()
  it("default to Node's values", function()
    local w = Writable.new()
    assert.is_true(w.writable)
    assert.is_false(w.writableEnded)
    assert.is_false(w.writableFinished)
    assert.is_false(w.writableNeedDrain)
    assert.is_false(w.writableObjectMode)
    assert.is_false(w.destroyed)
    assert.is_false(w.closed)
    assert.equal(16384, w.writableHighWaterMark)
    assert.equal(0, w.writableLength)
    assert.equal(0, w.writableCorked)
  end)

  it("raise ERR_METHOD_NOT_IMPLEMENTED from write() without _write", function()
    helper.assert_throws(function() Writable.new():write("x") end, { code = "ERR_METHOD_NOT_IMPLEMENTED" })
  end)
end)
