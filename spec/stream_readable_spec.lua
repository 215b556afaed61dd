-- stream.Readable: push/read, flowing and paused modes, setEncoding, unshift, destroy, and the
-- encodings and StringDecoder under setEncoding. Expected event orders are Node 20's.
local helper = require "spec.helper"
local stream = require "lode.stream"
local process = require "lode.process"
local lode = require "lode"
local timers = require "lode.timers"
local StringDecoder = require("lode.string_decoder").StringDecoder
local encoding = require "lode.encoding"

local Readable = stream.Readable

-- A Readable whose data comes only from push() (its _read does nothing).
local function source(opts)
  opts = opts or {}
  opts.read = opts.read or function() end
  return Readable.new(opts)
end

-- Records the events of r (with their first argument) into a list.
local function record(r, events)
  local log = {}
  for _, ev in ipairs(events) do
    r:on(ev, function(a)
      if a ~= nil and ev ~= "error" then log[#log + 1] = ev .. ":" .. tostring(a)
      elseif ev == "error" then log[#log + 1] = "error:" .. tostring(a.code or a.message)
      else log[#log + 1] = ev end
    end)
  end
  return log
end

-- helper.run_loop, with the loop kept alive so that work queued with nextTick alone runs too.
local function run_until(cond)
  local keep = timers.setInterval(function() end, 1)
  local ok, err = pcall(helper.run_loop, cond, 2000)
  timers.clearInterval(keep)
  if not ok then error(err, 2) end
end

local function ticks(n)
  local done = 0
  local function step()
    done = done + 1
    if done < n then process.nextTick(step) end
  end
  process.nextTick(step)
  run_until(function() return done >= n end)
end

describe("Readable:push()", function()
  it("returns true below highWaterMark and false once it is reached", function()
    local r = source({ highWaterMark = 4 })
    assert.is_true(r:push("ab"))
    assert.is_false(r:push("cd"))
    assert.equal(4, r.readableLength)
  end)

  it("ends the stream with push(nil) and returns false", function()
    local r = source()
    local log = record(r, { "data", "end", "close" })
    r:push("x")
    assert.is_false(r:push(nil))
    run_until(function() return #log == 3 end)
    assert.same({ "data:x", "end", "close" }, log)
  end)

  it("emits 'error' ERR_STREAM_PUSH_AFTER_EOF for a chunk after push(nil)", function()
    local r = source()
    local log = record(r, { "error", "close" })
    r:push(nil)
    assert.is_false(r:push("late"))
    run_until(function() return #log == 2 end)
    assert.same({ "error:ERR_STREAM_PUSH_AFTER_EOF", "close" }, log)
  end)

  it("returns false and drops the chunk once the stream is destroyed", function()
    local r = source()
    r:destroy()
    assert.is_false(r:push("x"))
    assert.equal(0, r.readableLength)
  end)

  it("turns a chunk pushed with an encoding into its bytes", function()
    local r = source()
    r:push("68656c6c6f", "hex")
    r:push("IQ==", "base64")
    assert.equal("hello!", r:read())
  end)

  it("emits 'data' synchronously when flowing with nothing buffered", function()
    local r = source()
    local got = {}
    r:on("data", function(c) got[#got + 1] = c end)
    ticks(2) -- the flow starts on the next tick
    r:push("now")
    assert.same({ "now" }, got)
    assert.equal(0, r.readableLength)
  end)

  it("emits 'error' ERR_INVALID_ARG_TYPE for a chunk that is not a string", function()
    local r = source()
    local log = record(r, { "error" })
    assert.is_false(r:push(42))
    run_until(function() return #log == 1 end)
    assert.same({ "error:ERR_INVALID_ARG_TYPE" }, log)
  end)

  it("takes any value but nil in objectMode, false and 0 included", function()
    local r = source({ objectMode = true })
    local got = {}
    r:on("data", function(v) got[#got + 1] = v end)
    local ended = false
    r:on("end", function() ended = true end)
    r:push(false); r:push(0); r:push(""); r:push({ 1 }); r:push(nil)
    run_until(function() return ended end)
    assert.equal(4, #got)
    assert.is_false(got[1])
    assert.equal(0, got[2])
    assert.equal("", got[3])
    assert.same({ 1 }, got[4])
  end)
end)

describe("Readable flowing mode", function()
  it("starts when a 'data' listener is added, on the next tick", function()
    local r = source()
    r:push("a")
    local got = {}
    assert.is_nil(r.readableFlowing)
    r:on("data", function(c) got[#got + 1] = c end)
    assert.is_true(r.readableFlowing)
    assert.same({}, got)
    run_until(function() return #got == 1 end)
    assert.same({ "a" }, got)
  end)

  it("starts with once('data') too", function()
    local r = source()
    r:push("1"); r:push("2")
    local got = {}
    r:once("data", function(c) got[#got + 1] = c end)
    run_until(function() return #got == 1 end)
    ticks(3)
    assert.same({ "1" }, got)
    assert.is_true(r.readableFlowing)
  end)

  it("emits 'end' after every 'data', then 'close'", function()
    local r = source()
    local log = record(r, { "data", "end", "close" })
    r:push("a"); r:push("b"); r:push(nil)
    run_until(function() return #log == 4 end)
    assert.same({ "data:a", "data:b", "end", "close" }, log)
  end)

  it("never ends a stream nobody reads", function()
    local r = source()
    local ended = false
    r:on("end", function() ended = true end)
    r:push("unread"); r:push(nil)
    helper.wait(20)
    assert.is_false(ended)
    assert.is_false(r.readableEnded)
    r:resume()
    run_until(function() return ended end)
    assert.is_true(r.readableEnded)
  end)

  it("stops 'data' on pause() and delivers the buffered chunks on resume()", function()
    local r = source()
    local got = {}
    r:on("data", function(c) got[#got + 1] = c end)
    r:pause()
    assert.is_true(r:isPaused())
    assert.is_false(r.readableFlowing)
    r:push("1"); r:push("2")
    helper.wait(5)
    assert.same({}, got)
    assert.equal(2, r.readableLength)
    r:resume()
    assert.is_false(r:isPaused())
    run_until(function() return #got == 2 end)
    assert.same({ "1", "2" }, got)
  end)

  it("emits 'pause' and 'resume'", function()
    local r = source()
    local log = record(r, { "pause", "resume" })
    r:resume()
    run_until(function() return #log == 1 end)
    r:pause()
    assert.same({ "resume", "pause" }, log)
  end)

  it("reports readableFlowing as nil, then true, then false", function()
    local r = source()
    assert.is_nil(r.readableFlowing)
    r:resume()
    assert.is_true(r.readableFlowing)
    r:pause()
    assert.is_false(r.readableFlowing)
  end)

  it("is not started by a 'data' listener after pause()", function()
    local r = source()
    r:pause()
    r:push("x")
    local got = {}
    r:on("data", function(c) got[#got + 1] = c end)
    helper.wait(5)
    assert.same({}, got)
    assert.is_false(r.readableFlowing)
  end)
end)

describe("Readable:read()", function()
  it("returns everything buffered without an argument", function()
    local r = source()
    r:push("ab"); r:push("cd")
    assert.equal("abcd", r:read())
    assert.equal(0, r.readableLength)
  end)

  it("returns exactly n bytes, across chunk boundaries", function()
    local r = source()
    r:push("abc"); r:push("de"); r:push("fgh")
    assert.equal("ab", r:read(2))
    assert.equal("cdef", r:read(4))
    assert.equal(2, r.readableLength)
    assert.equal("gh", r:read(2))
  end)

  it("returns nil while fewer than n bytes are buffered", function()
    local r = source()
    r:push("abc")
    assert.is_nil(r:read(4))
    assert.equal(3, r.readableLength)
  end)

  it("returns the rest for read(n) once the stream has ended", function()
    local r = source()
    r:push("abc"); r:push(nil)
    assert.equal("abc", r:read(10))
    assert.is_nil(r:read())
  end)

  it("returns one item per call in objectMode, whatever n is", function()
    local r = source({ objectMode = true })
    r:push("a"); r:push("b")
    assert.equal("a", r:read(100))
    assert.equal("b", r:read())
  end)

  it("calls read(self, n) with the highWaterMark when it needs data", function()
    local calls = {}
    local r = Readable.new({
      highWaterMark = 8,
      read = function(self, n)
        calls[#calls + 1] = n
        self:push("xy")
      end,
    })
    assert.equal("xy", r:read(2))
    assert.same({ 8 }, calls)
  end)

  it("raises highWaterMark to the next power of two for a larger read(n)", function()
    local r = source()
    r:push("0123456789")
    assert.is_nil(r:read(20000))
    assert.equal(32768, r.readableHighWaterMark)
  end)

  it("drives 'readable': a read() loop consumes each batch, then 'end'", function()
    local r = source({ highWaterMark = 4 })
    local log = {}
    r:on("readable", function()
      log[#log + 1] = "readable"
      while true do
        local c = r:read()
        if c == nil then break end
        log[#log + 1] = c
      end
    end)
    r:on("end", function() log[#log + 1] = "end" end)
    r:push("ab"); r:push("cdef")
    process.nextTick(function() r:push("g"); r:push(nil) end)
    run_until(function() return log[#log] == "end" end)
    assert.same({ "readable", "abcdef", "readable", "g", "readable", "end" }, log)
  end)

  it("switches to paused mode with a 'readable' listener", function()
    local r = source()
    r:on("readable", function() end)
    assert.is_false(r.readableFlowing)
  end)

  it("sends a read() result to 'data' listeners too", function()
    local r = source()
    r:pause()
    local got = {}
    r:on("data", function(c) got[#got + 1] = c end)
    r:push("zz")
    assert.equal("zz", r:read())
    assert.same({ "zz" }, got)
  end)
end)

describe("Readable:setEncoding()", function()
  it("never splits a UTF-8 character across 'data' chunks", function()
    local r = source()
    r:setEncoding("utf8")
    local got = {}
    r:on("data", function(c) got[#got + 1] = c end)
    local ended = false
    r:on("end", function() ended = true end)
    -- "€" is E2 82 AC, "😀" is F0 9F 98 80.
    r:push("a\226"); r:push("\130"); r:push("\172b\240\159"); r:push("\152\128"); r:push(nil)
    run_until(function() return ended end)
    assert.same({ "a", "€b", "😀" }, got)
  end)

  it("replaces an incomplete character at the end with U+FFFD", function()
    local r = source({ encoding = "utf8" })
    r:push("ok\226\130"); r:push(nil)
    assert.equal("ok\239\191\189", r:read())
  end)

  it("decodes to hex and base64 (holding incomplete base64 groups)", function()
    local r = source()
    r:setEncoding("hex")
    r:push("\1\255")
    assert.equal("01ff", r:read())
    local b = source({ encoding = "base64" })
    local got = {}
    b:on("data", function(c) got[#got + 1] = c end)
    local ended = false
    b:on("end", function() ended = true end)
    b:push("a"); b:push("bc"); b:push("d"); b:push(nil)
    run_until(function() return ended end)
    assert.same({ "YWJj", "ZA==" }, got)
  end)

  it("decodes latin1 bytes to their UTF-8 text", function()
    local r = source({ encoding = "latin1" })
    r:push("\233\255")
    assert.equal("éÿ", r:read())
  end)

  it("converts what is already buffered and sets readableEncoding", function()
    local r = source()
    r:push("\226\130"); r:push("\172")
    assert.is_nil(r.readableEncoding)
    r:setEncoding("utf-8")
    assert.equal("utf8", r.readableEncoding)
    assert.equal("€", r:read())
  end)

  it("keeps a chunk pushed in the stream's own encoding as it is", function()
    local r = source({ encoding = "hex" })
    r:push("6869", "hex")
    r:push("hi")
    assert.equal("68696869", r:read())
  end)

  it("raises ERR_UNKNOWN_ENCODING for an unknown encoding", function()
    helper.assert_throws(function() source():setEncoding("klingon") end,
      { code = "ERR_UNKNOWN_ENCODING", name = "TypeError" })
  end)
end)

describe("Readable:unshift()", function()
  it("puts a chunk back at the front of the buffer", function()
    local r = source()
    r:push("abcdef")
    assert.equal("ab", r:read(2))
    r:unshift("XY")
    assert.equal("XYc", r:read(3))
    assert.equal("def", r:read())
  end)

  it("emits 'error' ERR_STREAM_UNSHIFT_AFTER_END_EVENT after 'end' (autoDestroy off)", function()
    local r = source({ autoDestroy = false })
    local log = record(r, { "end", "error" })
    r:resume()
    r:push(nil)
    run_until(function() return #log == 1 end)
    r:unshift("late")
    run_until(function() return #log == 2 end)
    assert.same({ "end", "error:ERR_STREAM_UNSHIFT_AFTER_END_EVENT" }, log)
  end)
end)

describe("Readable:destroy()", function()
  it("emits 'error' then 'close' on a later tick for destroy(err)", function()
    local r = source()
    local log = record(r, { "error", "close", "end" })
    local err = { message = "bad" }
    r:destroy(err)
    assert.same({}, log)
    assert.is_true(r.destroyed)
    assert.equal(err, r.errored)
    run_until(function() return #log == 2 end)
    assert.same({ "error:bad", "close" }, log)
    assert.is_true(r.closed)
  end)

  it("emits only 'close' without an error, and no 'end' for unread data", function()
    local r = source()
    r:push("pending")
    local log = record(r, { "end", "close" })
    r:destroy()
    run_until(function() return #log == 1 end)
    ticks(2)
    assert.same({ "close" }, log)
  end)

  it("is harmless twice: one 'error', one 'close', the first error kept", function()
    local r = source()
    local log = record(r, { "error", "close" })
    r:destroy({ message = "first" })
    r:destroy({ message = "second" })
    run_until(function() return #log == 2 end)
    ticks(3)
    assert.same({ "error:first", "close" }, log)
    assert.equal("first", r.errored.message)
  end)

  it("passes the error to destroy(self, err, cb) and waits for its callback", function()
    local seen, finish
    local r = Readable.new({
      read = function() end,
      destroy = function(_, err, cb)
        seen = err
        finish = function() cb(err) end
      end,
    })
    local log = record(r, { "error", "close" })
    r:destroy({ message = "x" })
    assert.equal("x", seen.message)
    helper.wait(5)
    assert.same({}, log)
    finish()
    run_until(function() return #log == 2 end)
    assert.same({ "error:x", "close" }, log)
  end)

  it("calls the destroy callback with the error", function()
    local r = source()
    r:on("error", function() end)
    local got = "not called"
    r:destroy({ message = "e" }, function(err) got = err end)
    assert.equal("e", got.message)
  end)

  it("emits no 'close' with emitClose = false", function()
    local r = source({ emitClose = false })
    local log = record(r, { "close" })
    r:destroy()
    helper.wait(5)
    assert.same({}, log)
    assert.is_true(r.closed)
  end)

  it("turns an error raised by _read into 'error' and 'close'", function()
    local r = Readable.new({ read = function() error({ message = "readfail" }) end })
    local log = record(r, { "error", "close" })
    r:resume()
    run_until(function() return #log == 2 end)
    assert.same({ "error:readfail", "close" }, log)
  end)
end)

describe("Readable properties", function()
  it("default to Node's values", function()
    local r = source()
    assert.is_true(r.readable)
    assert.is_false(r.readableEnded)
    assert.is_false(r.destroyed)
    assert.is_false(r.closed)
    assert.is_false(r.readableObjectMode)
    assert.equal(16384, r.readableHighWaterMark)
    assert.equal(0, r.readableLength)
    assert.is_nil(r.errored)
    assert.equal(16, source({ objectMode = true }).readableHighWaterMark)
  end)

  it("count bytes in readableLength, and items in objectMode", function()
    local r = source()
    r:push("abc"); r:push("€")
    assert.equal(6, r.readableLength)
    local o = source({ objectMode = true })
    o:push({}); o:push("long string")
    assert.equal(2, o.readableLength)
  end)

  it("turn readable false and readableEnded true at 'end'", function()
    local r = source()
    r:resume()
    r:push(nil)
    local at_end
    r:on("end", function() at_end = { r.readable, r.readableEnded } end)
    run_until(function() return at_end end)
    assert.same({ false, true }, at_end)
  end)

  it("raise ERR_INVALID_ARG_VALUE for a bad highWaterMark", function()
    helper.assert_throws(function() source({ highWaterMark = -1 }) end, { code = "ERR_INVALID_ARG_VALUE" })
  end)
end)

describe("Readable subclasses", function()
  it("implement _read as a method, receiving the stream first", function()
    local Counter = Readable:extend("Counter")
    function Counter:constructor(limit)
      Readable.constructor(self)
      self.n, self.limit = 0, limit
    end
    function Counter:_read()
      self.n = self.n + 1
      if self.n > self.limit then self:push(nil) else self:push(tostring(self.n)) end
    end
    local c = Counter.new(3)
    local got = {}
    c:on("data", function(chunk) got[#got + 1] = chunk end)
    local ended = false
    c:on("end", function() ended = true end)
    run_until(function() return ended end)
    assert.same({ "1", "2", "3" }, got)
  end)

  it("raise ERR_METHOD_NOT_IMPLEMENTED through 'error' without _read", function()
    local r = Readable.new()
    local log = record(r, { "error" })
    r:read()
    run_until(function() return #log == 1 end)
    assert.same({ "error:ERR_METHOD_NOT_IMPLEMENTED" }, log)
  end)
end)

describe("Readable:read_all()", function()
  it("returns the whole body inside a coroutine", function()
    local r = source()
    local body
    lode.spawn(function() body = r:read_all() end)
    r:push("he"); r:push("llo")
    process.nextTick(function() r:push(nil) end)
    run_until(function() return body end)
    assert.equal("hello", body)
  end)

  it("raises the stream's error", function()
    local r = source()
    local ok, err
    lode.spawn(function() ok, err = pcall(r.read_all, r) end)
    r:destroy({ message = "broken" })
    run_until(function() return ok ~= nil end)
    assert.is_false(ok)
    assert.equal("broken", err.message)
  end)
end)

describe("StringDecoder", function()
  local function decode(enc, pieces)
    local d = StringDecoder.new(enc)
    local out = {}
    for _, p in ipairs(pieces) do out[#out + 1] = d:write(p) end
    out[#out + 1] = d:finish()
    return out
  end

  it("holds an incomplete UTF-8 character until its last byte", function()
    assert.same({ "", "", "€", "" }, decode("utf8", { "\226", "\130", "\172" }))
  end)

  it("replaces invalid UTF-8 as Node does, one U+FFFD per maximal subpart", function()
    local R = "\239\191\189"
    assert.same({ "", R .. "A", "" }, decode("utf8", { "\226\130", "A" }))
    assert.same({ R .. R, "" }, decode("utf8", { "\192\175" }))
    assert.same({ "", "", R .. R }, decode("utf8", { "\244", "\144" }))
    assert.same({ "", R .. "A€", "" }, decode("utf8", { "\240", "A\226\130\172" }))
  end)

  it("decodes base64 in groups of three bytes", function()
    assert.same({ "", "AQID", "", "BAU=" }, decode("base64", { "\1\2", "\3\4", "\5" }))
  end)

  it("joins UTF-16LE surrogate pairs split across writes", function()
    assert.same({ "", "", "", "😀", "" }, decode("utf16le", { "\61", "\216", "\0", "\222" }))
  end)

  it("also ends with d['end'](d)", function()
    local d = StringDecoder.new("utf8")
    d:write("\226")
    assert.equal("\239\191\189", d["end"](d))
  end)
end)

describe("encoding", function()
  it("normalizes Node's names, any case", function()
    assert.equal("utf8", encoding.normalize("UTF-8"))
    assert.equal("latin1", encoding.normalize("binary"))
    assert.equal("utf16le", encoding.normalize("ucs2"))
    assert.is_nil(encoding.normalize("nope"))
  end)

  it("turns text into bytes as Buffer.from(s, enc) does", function()
    assert.equal("\171", encoding.from("abzz12", "hex"))
    assert.equal("\233", encoding.from("é", "latin1"))
    assert.equal("\172", encoding.from("€", "latin1"))
    assert.equal("abc", encoding.from("YWJj", "base64"))
    assert.equal("a\0", encoding.from("a", "utf16le"))
  end)

  it("turns bytes into text as buf.toString(enc) does", function()
    assert.equal("e9ff", encoding.toString("\233\255", "hex"))
    assert.equal("iA", encoding.toString("\233\127A", "ascii"):gsub("\127", ""))
    assert.equal("é", encoding.toString("\233", "latin1"))
    assert.equal("a\239\191\189b", encoding.toString("a\255b", "utf8"))
  end)
end)
