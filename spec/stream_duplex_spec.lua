-- stream.Duplex, Transform and PassThrough: two sides in one stream, allowHalfOpen, transform
-- callbacks, flush, and backpressure between the sides. Expected orders are Node 20's.
local helper = require "spec.helper"
local stream = require "lode.stream"
local timers = require "lode.timers"

local Duplex, Transform, PassThrough = stream.Duplex, stream.Transform, stream.PassThrough

local function run_until(cond)
  local keep = timers.setInterval(function() end, 1)
  local ok, err = pcall(helper.run_loop, cond, 2000)
  timers.clearInterval(keep)
  if not ok then error(err, 2) end
end

local function record(s, events)
  local log = {}
  for _, ev in ipairs(events) do
    s:on(ev, function(a)
      if ev == "error" then log[#log + 1] = "error:" .. tostring(a.code or a.message)
      elseif ev == "data" then log[#log + 1] = "data:" .. tostring(a)
      else log[#log + 1] = ev end
    end)
  end
  return log
end

-- Everything a readable side gives until 'end', joined.
local function collect(r)
  local parts, done = {}, false
  r:on("data", function(c) parts[#parts + 1] = c end)
  r:on("end", function() done = true end)
  return function() return done and table.concat(parts) or nil end, parts
end

describe("Duplex", function()
  it("has independent readable and writable sides", function()
    local written = {}
    local d = Duplex.new({
      read = function() end,
      write = function(_, c, _, cb) written[#written + 1] = c; cb() end,
    })
    d:write("in")
    d:push("out")
    assert.same({ "in" }, written)
    assert.equal("out", d:read())
    assert.equal(0, d.writableLength)
  end)

  it("stays writable after the readable side ends (allowHalfOpen defaults to true)", function()
    local d = Duplex.new({ read = function() end, write = function(_, _, _, cb) cb() end })
    assert.is_true(d.allowHalfOpen)
    local log = record(d, { "end", "finish", "close" })
    d:resume()
    d:push(nil)
    run_until(function() return #log == 1 end)
    helper.wait(5)
    assert.same({ "end" }, log)
    assert.is_true(d.writable)
    assert.is_false(d.destroyed)
    d:finish()
    run_until(function() return #log == 3 end)
    assert.same({ "end", "finish", "close" }, log)
  end)

  it("ends the writable side at the readable 'end' with allowHalfOpen = false", function()
    local d = Duplex.new({
      allowHalfOpen = false,
      read = function() end,
      write = function(_, _, _, cb) cb() end,
      final = function(_, cb) cb() end,
    })
    local log = record(d, { "data", "end", "finish", "close" })
    d:push("a")
    d:push(nil)
    run_until(function() return log[#log] == "close" end)
    assert.same({ "data:a", "end", "finish", "close" }, log)
    assert.is_true(d.writableFinished)
  end)

  it("closes only once both sides are done", function()
    local d = Duplex.new({ read = function() end, write = function(_, _, _, cb) cb() end })
    local log = record(d, { "finish", "end", "close" })
    d:finish()
    run_until(function() return #log == 1 end)
    helper.wait(5)
    assert.same({ "finish" }, log)
    d:resume()
    d:push(nil)
    run_until(function() return #log == 3 end)
    assert.same({ "finish", "end", "close" }, log)
  end)

  it("takes readable = false and writable = false", function()
    local d = Duplex.new({ readable = false, write = function(_, _, _, cb) cb() end })
    assert.is_false(d.readable)
    assert.is_true(d.readableEnded)
    local w = Duplex.new({ writable = false, read = function() end })
    assert.is_false(w.writable)
    assert.is_true(w.writableFinished)
    local log = record(d, { "finish", "close" })
    d:finish()
    run_until(function() return #log == 2 end)
    assert.same({ "finish", "close" }, log)
  end)

  it("takes separate objectMode and highWaterMark options per side", function()
    local d = Duplex.new({ readableObjectMode = true, writableHighWaterMark = 7 })
    assert.is_true(d.readableObjectMode)
    assert.is_false(d.writableObjectMode)
    assert.equal(16, d.readableHighWaterMark)
    assert.equal(7, d.writableHighWaterMark)
  end)

  it("destroys both sides: not readable, not writable, one 'close'", function()
    local d = Duplex.new({ read = function() end, write = function(_, _, _, cb) cb() end })
    local log = record(d, { "error", "close" })
    d:destroy({ message = "gone" })
    assert.is_true(d.destroyed)
    assert.is_false(d.readable)
    assert.is_false(d.writable)
    run_until(function() return #log == 2 end)
    assert.same({ "error:gone", "close" }, log)
  end)

  it("can be subclassed with _read and _write methods", function()
    local Echo = Duplex:extend("Echo")
    function Echo._read() end
    function Echo:_write(chunk, _, cb)
      self:push(chunk:upper())
      cb()
    end
    function Echo:_final(cb)
      self:push(nil)
      cb()
    end
    local e = Echo.new()
    local body = collect(e)
    e:write("ab")
    e:finish("c")
    run_until(body)
    assert.equal("ABC", body())
  end)
end)

describe("Transform", function()
  it("pushes the data given to the transform callback", function()
    local t = Transform.new({
      transform = function(_, chunk, enc, cb) cb(nil, chunk:upper() .. "/" .. enc) end,
    })
    local body = collect(t)
    t:write("ab")
    t:finish("cd")
    run_until(body)
    assert.equal("AB/bufferCD/buffer", body())
  end)

  it("lets transform push several chunks and call back without data", function()
    local t = Transform.new({
      objectMode = true,
      transform = function(self, n, _, cb)
        self:push(n)
        self:push(n * 10)
        cb()
      end,
    })
    local got = {}
    t:on("data", function(v) got[#got + 1] = v end)
    local ended = false
    t:on("end", function() ended = true end)
    for i = 1, 3 do t:write(i) end
    t:finish()
    run_until(function() return ended end)
    assert.same({ 1, 10, 2, 20, 3, 30 }, got)
  end)

  it("runs flush before 'end' and pushes what it gives", function()
    local log = {}
    local t = Transform.new({
      transform = function(_, c, _, cb) cb(nil, c) end,
      flush = function(_, cb) log[#log + 1] = "flush"; cb(nil, "TAIL") end,
    })
    for _, ev in ipairs({ "prefinish", "finish", "end", "close" }) do
      t:on(ev, function() log[#log + 1] = ev end)
    end
    t:on("data", function(c) log[#log + 1] = "data:" .. c end)
    t:finish("x")
    run_until(function() return log[#log] == "close" end)
    assert.same({ "data:x", "flush", "data:TAIL", "prefinish", "end", "finish", "close" }, log)
  end)

  it("keeps the order of an asynchronous transform", function()
    local t = Transform.new({
      transform = function(_, c, _, cb)
        timers.setTimeout(function() cb(nil, "<" .. c .. ">") end, c == "1" and 10 or 1)
      end,
    })
    local body = collect(t)
    t:write("1"); t:write("2"); t:finish("3")
    run_until(body)
    assert.equal("<1><2><3>", body())
  end)

  it("turns a transform error into the write callback's error, 'error' and 'close'", function()
    local t = Transform.new({ transform = function(_, _, _, cb) cb({ message = "bad chunk" }) end })
    local log = record(t, { "error", "close" })
    t:write("x", function(err) log[#log + 1] = "cb:" .. err.message end)
    run_until(function() return #log == 3 end)
    assert.same({ "cb:bad chunk", "error:bad chunk", "close" }, log)
  end)

  it("stops taking writes while its readable side is full", function()
    local calls = 0
    local t = Transform.new({
      highWaterMark = 2,
      transform = function(_, c, _, cb) calls = calls + 1; cb(nil, c) end,
    })
    for i = 1, 5 do t:write(tostring(i)) end
    helper.wait(5)
    assert.equal(2, calls)
    assert.equal(2, t.readableLength)
    assert.equal(4, t.writableLength) -- "2" waits for a read to complete, "3".."5" are queued
    local body = collect(t)
    t:finish()
    run_until(body)
    assert.equal(5, calls)
    assert.equal("12345", body())
  end)

  it("can be subclassed with _transform and _flush methods", function()
    local Counter = Transform:extend("Counter")
    function Counter:constructor()
      Transform.constructor(self)
      self.bytes = 0
    end
    function Counter:_transform(chunk, _, cb)
      self.bytes = self.bytes + #chunk
      cb()
    end
    function Counter:_flush(cb)
      cb(nil, tostring(self.bytes))
    end
    local c = Counter.new()
    local body = collect(c)
    c:write("abc")
    c:finish("de")
    run_until(body)
    assert.equal("5", body())
  end)

  it("raises ERR_METHOD_NOT_IMPLEMENTED from write() without a transform", function()
    helper.assert_throws(function() Transform.new():write("x") end, { code = "ERR_METHOD_NOT_IMPLEMENTED" })
  end)
end)

describe("PassThrough", function()
  it("passes bytes through unchanged", function()
    local p = PassThrough.new()
    local body = collect(p)
    p:write("\0\1\2")
    p:write("\255")
    p:finish()
    run_until(body)
    assert.equal("\0\1\2\255", body())
  end)

  it("emits 'end' (its flush pushed nil) before 'finish', then 'close', as Node", function()
    local p = PassThrough.new()
    local log = record(p, { "data", "finish", "end", "close" })
    p:finish("x")
    run_until(function() return log[#log] == "close" end)
    assert.same({ "data:x", "end", "finish", "close" }, log)
  end)

  it("decodes with setEncoding without splitting characters", function()
    local p = PassThrough.new()
    p:setEncoding("utf8")
    local body, parts = collect(p)
    p:write("\226\130")
    p:write("\172!")
    p:finish()
    run_until(body)
    assert.same({ "€!" }, parts)
  end)

  it("passes objects in objectMode", function()
    local p = PassThrough.new({ objectMode = true })
    local t = {}
    p:write(t)
    assert.equal(t, p:read())
  end)

  it("applies backpressure: write() returns false once the buffers are full", function()
    local p = PassThrough.new({ highWaterMark = 2 })
    local results = {}
    for i = 1, 4 do results[i] = p:write("ab" .. i) end
    assert.same({ false, false, false, false }, results) -- 3 bytes is over highWaterMark 2
    local drained = false
    p:on("drain", function() drained = true end)
    local body = collect(p)
    run_until(function() return drained end)
    p:finish()
    run_until(body)
    assert.equal("ab1ab2ab3ab4", body())
  end)
end)
