-- Node's stream module (lib/internal/streams/*.js of Node 20) for Lua.
--
--   local stream = require "lode.stream"          -- `require "stream"` under lode
--   local r = stream.Readable.new({ read = function(self, n) self:push("hi"); self:push(nil) end })
--   r:on("data", function(chunk) print(chunk) end)
--   local w = stream.Writable.new({ write = function(self, chunk, enc, cb) io.write(chunk); cb() end })
--   w:write("a"); w:finish("b")                   -- Node's w.end('b')
--
-- The port follows Node's code path for path, so event order, sync/async behaviour and the
-- state machine are Node's. Chunks are Lua strings (bytes); lengths are byte lengths; objectMode
-- streams carry any non-nil value and count 1 per item.
--
-- Implementations receive the stream first: options read(self, n), write(self, chunk, enc, cb),
-- writev(self, chunks, cb) (chunks = { {chunk=, encoding=}, ... }), final(self, cb),
-- destroy(self, err, cb), transform(self, chunk, enc, cb), flush(self, cb), or the same as
-- _read, _write, _writev, _final, _destroy, _transform, _flush methods of a subclass/instance.
--
-- Subclasses: `local S = stream.Duplex:extend("S")`, and S's constructor must call
-- `stream.Duplex.constructor(self, options)` first (Node's super(options)).
--
-- State lives in plain fields of the stream (no _readableState/_writableState tables), so
-- every property is a plain field read. Public, Node's names; read them, and change them only
-- through the methods (pause/resume, cork/uncork, ...): destroyed, closed, errored,
-- readable, readableEnded, readableFlowing (nil | true | false), readableLength,
-- readableHighWaterMark, readableObjectMode, readableEncoding, readableDidRead, writable,
-- writableEnded, writableFinished, writableLength, writableHighWaterMark, writableObjectMode,
-- writableCorked, writableNeedDrain, allowHalfOpen.
-- Internal fields a subclass may read (Node's state names in brackets):
--   _ended [rState.ended: push(nil) seen], _reading, _readingMore (set it true to stop the
--   preemptive read of maybeReadMore, as Http2Stream does), _resumeScheduled, _paused,
--   _errored [errored ~= nil], _errorEmitted, _closeEmitted, _hasReadable, _hasWritable,
--   _wended [wState.ended], _writing, _pendingcb, _prefinished, _finalCalled,
--   writableBufferedCount() [wState.buffered.length]; stream._errorOrDestroy(s, err).

local EventEmitter = require "lode.events"
local errors = require "lode.errors"
local process = require "lode.process"
local encoding = require "lode.encoding"
local StringDecoder = require("lode.string_decoder").StringDecoder

local nextTick = process.nextTick
local normalize, from_encoding, to_string = encoding.normalize, encoding.from, encoding.toString
local concat, sub, type, pcall, next, floor = table.concat, string.sub, type, pcall, next, math.floor
local tointeger = math.tointeger

local function nop() end

local CHUNK_TYPES = { "string", "Buffer", "TypedArray", "DataView" }

---------------------------------------------------------------------------------------------
-- High water marks (internal/streams/state.js)
---------------------------------------------------------------------------------------------

local default_hwm_bytes, default_hwm_objects = 16 * 1024, 16

local function get_default_hwm(objectMode)
  return objectMode and default_hwm_objects or default_hwm_bytes
end

local function set_default_hwm(objectMode, value)
  if type(value) ~= "number" or value < 0 or value ~= floor(value) then
    error(errors.ERR_INVALID_ARG_VALUE("value", value), 2)
  end
  if objectMode then default_hwm_objects = tointeger(value) else default_hwm_bytes = tointeger(value) end
end

local function get_hwm(opts, duplex_key, is_duplex, objectMode)
  local hwm
  if opts then
    hwm = opts.highWaterMark
    if hwm == nil and is_duplex then hwm = opts[duplex_key] end
  end
  if hwm ~= nil then
    if type(hwm) ~= "number" or hwm < 0 or hwm ~= floor(hwm) then
      error(errors.ERR_INVALID_ARG_VALUE(is_duplex and ("options." .. duplex_key) or "options.highWaterMark",
        hwm), 4)
    end
    return tointeger(hwm) or hwm
  end
  return get_default_hwm(objectMode)
end

---------------------------------------------------------------------------------------------
-- Stream (internal/streams/legacy.js)
---------------------------------------------------------------------------------------------

local Stream = EventEmitter:extend("Stream")

-- The pipe of old-style streams (anything with 'data' events), kept for Stream subclasses
-- that are not Readables.
function Stream:pipe(dest, options)
  local source = self
  local didOnEnd = false
  local cleanup

  local function ondata(chunk)
    if dest.writable and dest:write(chunk) == false and source.pause then source:pause() end
  end
  local function ondrain()
    if source.readable and source.resume then source:resume() end
  end
  local function onend()
    if didOnEnd then return end
    didOnEnd = true
    dest:finish()
  end
  local function onclose()
    if didOnEnd then return end
    didOnEnd = true
    if type(dest.destroy) == "function" then dest:destroy() end
  end
  local onerror_src, onerror_dest
  local function make_onerror(emitter)
    return function(er)
      cleanup()
      if emitter:listenerCount("error") == 0 then emitter:emit("error", er) end
    end
  end
  onerror_src, onerror_dest = make_onerror(source), make_onerror(dest)

  cleanup = function()
    source:removeListener("data", ondata)
    dest:removeListener("drain", ondrain)
    source:removeListener("end", onend)
    source:removeListener("close", onclose)
    source:removeListener("error", onerror_src)
    dest:removeListener("error", onerror_dest)
    source:removeListener("end", cleanup)
    source:removeListener("close", cleanup)
    dest:removeListener("close", cleanup)
  end

  source:on("data", ondata)
  dest:on("drain", ondrain)
  if not dest._isStdio and (not options or options["end"] ~= false) then
    source:on("end", onend)
    source:on("close", onclose)
  end
  source:prependListener("error", onerror_src)
  dest:prependListener("error", onerror_dest)
  source:on("end", cleanup)
  source:on("close", cleanup)
  dest:on("close", cleanup)
  dest:emit("pipe", source)
  return dest
end

---------------------------------------------------------------------------------------------
-- Shared state and destroy (internal/streams/destroy.js)
---------------------------------------------------------------------------------------------

local function init_common(self, opts)
  self.destroyed = false
  self.closed = false
  self.errored = nil
  self._errored = false -- errored ~= nil, as a field that is always there (a fast check)
  self._errorEmitted = false
  self._closeEmitted = false
  self._emitClose = not (opts and opts.emitClose == false)
  self._autoDestroy = not (opts and opts.autoDestroy == false)
end

-- Records err as the stream's error (the first one wins).
local function check_error(self, err)
  if err and not self._errored then
    self.errored = err
    self._errored = true
    if self._hasWritable then self.writable = false end
  end
end

local function emit_close_nt(self)
  self._closeEmitted = true
  if self._emitClose then self:emit("close") end
end

local function emit_error_nt(self, err)
  if self._errorEmitted then return end
  self._errorEmitted = true
  if self._hasReadable then self.readable = false end
  self:emit("error", err)
end

local function emit_error_close_nt(self, err)
  emit_error_nt(self, err)
  emit_close_nt(self)
end

local function do_destroy(self, err, cb)
  local called = false
  local function onDestroy(err2)
    if called then return end
    called = true
    check_error(self, err2)
    self.closed = true
    if type(cb) == "function" then cb(err2) end
    if err2 then
      nextTick(emit_error_close_nt, self, err2)
    else
      nextTick(emit_close_nt, self)
    end
  end
  local ok, e = pcall(self._destroy, self, err, onDestroy)
  if not ok then onDestroy(e) end
end

-- stream:destroy([err[, cb]]): 'error' (with err) then 'close', both on a later tick. A second
-- call only calls cb.
local function destroy(self, err, cb)
  if self.destroyed then
    if type(cb) == "function" then cb() end
    return self
  end
  check_error(self, err)
  self.destroyed = true
  if self._hasReadable then self.readable = false end
  if self._hasWritable then self.writable = false; self.writableNeedDrain = false end
  do_destroy(self, err, cb)
  return self
end

local function undestroy(self)
  self.destroyed = false
  self.closed = false
  self._closeEmitted = false
  self.errored = nil
  self._errored = false
  self._errorEmitted = false
  if self._hasReadable then
    self._reading = false
    local off = self._readableOff or false
    self._ended = off
    self.readableEnded = off
    self.readable = not off
  end
  if self._hasWritable then
    local off = self._writableOff or false
    self._finalCalled = nil
    self._prefinished = nil
    self._wended = off
    self.writableEnded = off
    self.writableFinished = off
    self.writable = not off
  end
end

-- Node's errorOrDestroy: destroys with err when autoDestroy is on, else only emits it.
local function error_or_destroy(self, err, sync)
  if self.destroyed then return end
  if self._autoDestroy then
    self:destroy(err)
  elseif err then
    check_error(self, err)
    if sync then nextTick(emit_error_nt, self, err) else emit_error_nt(self, err) end
  end
end

local function default_destroy(_, err, cb) cb(err) end

---------------------------------------------------------------------------------------------
-- Readable (internal/streams/readable.js)
---------------------------------------------------------------------------------------------

local Readable = Stream:extend("Readable")

-- Fields that are rarely used start out absent (nil) so a stream stays small: _pipes,
-- _readableListening, _resumeScheduled, _multiAwaitDrain, _paused, _readableOff.
local function init_readable(self, opts, is_duplex)
  local objectMode = (opts and (opts.objectMode or (is_duplex and opts.readableObjectMode))) and true or false
  self.readableObjectMode = objectMode
  self.readableHighWaterMark = get_hwm(opts, "readableHighWaterMark", is_duplex, objectMode)
  -- The read buffer: chunks _rbuf[_rhead .. _rtail], created with the first chunk it holds.
  self._rbuf = false
  self._rhead = 1
  self._rtail = 0
  self.readableLength = 0
  self.readableFlowing = nil
  self._flowing = false -- readableFlowing == true, as a field that is always there
  self._ended = false
  self.readableEnded = false
  self._reading = false
  self._rsync = true
  self._needReadable = false
  self._emittedReadable = false
  self._readingMore = false
  self._dataListening = false
  self._awaitDrainWriters = false
  self.readableDidRead = false
  self.readable = true
  self._decoder = false
  if opts and opts.encoding then
    local dec = StringDecoder.new(opts.encoding)
    self._decoder = dec
    self.readableEncoding = dec.encoding
  end
end

--- Readable.new([options]): highWaterMark, encoding, objectMode, emitClose, autoDestroy,
-- read(self, n), destroy(self, err, cb).
-- The implementation functions an options table may give (Node's simplified construction).
local HOOKS = { read = "_read", write = "_write", writev = "_writev", destroy = "_destroy",
  final = "_final", transform = "_transform", flush = "_flush" }
local function take_hooks(self, opts, ...)
  for i = 1, select("#", ...) do
    local k = select(i, ...)
    if type(opts[k]) == "function" then self[HOOKS[k]] = opts[k] end
  end
end

function Readable:constructor(opts)
  init_common(self, opts)
  init_readable(self, opts, false)
  if opts then take_hooks(self, opts, "read", "destroy") end
end

Readable._hasReadable = true
Readable.destroy = destroy
Readable._undestroy = undestroy
Readable._destroy = default_destroy

function Readable._read()
  error(errors.ERR_METHOD_NOT_IMPLEMENTED("_read()"), 2)
end

local maybe_read_more, emit_readable, emit_readable_, on_eof_chunk, end_readable, flow, eos

local function can_push_more(self)
  local len = self.readableLength
  return not self._ended and (len < self.readableHighWaterMark or len == 0)
end

local function clear_await_drain(self)
  if self._multiAwaitDrain then
    local set = self._awaitDrainWriters
    for k in next, set do set[k] = nil end
  else
    self._awaitDrainWriters = false
  end
end

local function add_chunk(self, chunk, front)
  if self._flowing and self._dataListening and not self._rsync and self.readableLength == 0 then
    -- Flowing with nothing buffered: straight to the listeners.
    if self._awaitDrainWriters then clear_await_drain(self) end
    self.readableDidRead = true
    self:emit("data", chunk)
  else
    self.readableLength = self.readableLength + (self.readableObjectMode and 1 or #chunk)
    local buf = self._rbuf
    if not buf then
      buf = {}
      self._rbuf = buf
    end
    if front then
      local h = self._rhead - 1
      if h < 1 then
        table.insert(buf, 1, chunk) -- the slow path, as in Node
        self._rtail = self._rtail + 1
      else
        buf[h] = chunk
        self._rhead = h
      end
    else
      local t = self._rtail + 1
      buf[t] = chunk
      self._rtail = t
    end
    if self._needReadable then emit_readable(self) end
  end
  maybe_read_more(self)
end

local function push_bytes(self, chunk, enc)
  if chunk == nil then
    self._reading = false
    on_eof_chunk(self)
    return false
  end
  if type(chunk) ~= "string" then
    error_or_destroy(self, errors.ERR_INVALID_ARG_TYPE("chunk", CHUNK_TYPES, chunk))
    return false
  end
  -- A chunk with an encoding is text (Node's string); without one it is bytes (a Buffer).
  local text = false
  if enc ~= nil and enc ~= "" and enc ~= "buffer" then
    local e = normalize(enc)
    if e == self.readableEncoding then
      text = true
    elseif e ~= "utf8" then
      chunk = from_encoding(chunk, enc)
    end
  end
  if #chunk == 0 then
    self._reading = false
    maybe_read_more(self)
    return can_push_more(self)
  end
  if self._ended then
    error_or_destroy(self, errors.ERR_STREAM_PUSH_AFTER_EOF())
    return false
  end
  if self.destroyed or self._errored then return false end
  self._reading = false
  local dec = self._decoder
  if dec and not text then
    chunk = dec:write(chunk)
    if #chunk == 0 then
      maybe_read_more(self)
      return can_push_more(self)
    end
  end
  if self.readableLength == 0 and self._flowing and self._dataListening and not self._rsync then
    -- The hot path (add_chunk's first branch, inlined): flowing with nothing buffered.
    if self._awaitDrainWriters then clear_await_drain(self) end
    self.readableDidRead = true
    self:emit("data", chunk)
    if not self._readingMore then maybe_read_more(self) end
    return not self._ended and (self.readableLength < self.readableHighWaterMark or self.readableLength == 0)
  end
  add_chunk(self, chunk, false)
  return can_push_more(self)
end

local function push_object(self, chunk)
  if chunk == nil then
    self._reading = false
    on_eof_chunk(self)
    return false
  end
  if self._ended then
    error_or_destroy(self, errors.ERR_STREAM_PUSH_AFTER_EOF())
    return false
  end
  if self.destroyed or self._errored then return false end
  self._reading = false
  local dec = self._decoder
  if dec and type(chunk) == "string" then chunk = dec:write(chunk) end
  add_chunk(self, chunk, false)
  return can_push_more(self)
end

--- readable:push(chunk[, encoding]) -> boolean: adds chunk to the read queue (nil ends the
-- stream); false once highWaterMark is reached.
function Readable:push(chunk, enc)
  if self.readableObjectMode then return push_object(self, chunk) end
  return push_bytes(self, chunk, enc)
end

local function unshift_value(self, chunk)
  if self.readableEnded then
    error_or_destroy(self, errors.ERR_STREAM_UNSHIFT_AFTER_END_EVENT())
  elseif self.destroyed or self._errored then
    return false
  else
    add_chunk(self, chunk, true)
  end
  return can_push_more(self)
end

--- readable:unshift(chunk[, encoding]) -> boolean: puts chunk back at the front of the queue.
function Readable:unshift(chunk, enc)
  if chunk == nil then
    self._reading = false
    on_eof_chunk(self)
    return false
  end
  if self.readableObjectMode then return unshift_value(self, chunk) end
  if type(chunk) ~= "string" then
    error_or_destroy(self, errors.ERR_INVALID_ARG_TYPE("chunk", CHUNK_TYPES, chunk))
    return false
  end
  if enc ~= nil and enc ~= "" and enc ~= "buffer" then
    local e = normalize(enc)
    local renc = self.readableEncoding
    if e ~= renc then
      chunk = from_encoding(chunk, enc)
      if renc then chunk = to_string(chunk, renc) end
    end
  end
  if #chunk == 0 then return can_push_more(self) end
  return unshift_value(self, chunk)
end

--- readable:isPaused() -> boolean
function Readable:isPaused()
  return self._paused == true or self.readableFlowing == false
end

--- readable:setEncoding(enc) -> readable: 'data' and read() give text decoded from enc;
-- characters split across chunks are held until complete.
function Readable:setEncoding(enc)
  local dec = StringDecoder.new(enc)
  self._decoder = dec
  self.readableEncoding = dec.encoding
  local buf, parts, n = self._rbuf, {}, 0
  if not buf then
    buf = {}
    self._rbuf = buf
  end
  for i = self._rhead, self._rtail do
    n = n + 1
    parts[n] = dec:write(buf[i])
    buf[i] = nil
  end
  self._rhead, self._rtail = 1, 0
  local content = concat(parts, "", 1, n)
  if content ~= "" then
    buf[1] = content
    self._rtail = 1
  end
  self.readableLength = #content
  return self
end

local MAX_HWM = 0x40000000
local function compute_new_hwm(n)
  if n > MAX_HWM then error(errors.ERR_OUT_OF_RANGE("size", "<= 1GiB", n), 3) end
  n = n - 1
  n = n | (n >> 1); n = n | (n >> 2); n = n | (n >> 4); n = n | (n >> 8); n = n | (n >> 16)
  return n + 1
end

-- How many bytes (or items) read(n) hands out now; n == nil is Node's NaN (read()).
local function how_much_to_read(self, n)
  local len = self.readableLength
  if (n ~= nil and n <= 0) or (len == 0 and self._ended) then return 0 end
  if self.readableObjectMode then return 1 end
  if n == nil then
    if self._flowing and len > 0 then return #self._rbuf[self._rhead] end
    return len
  end
  if n <= len then return n end
  return self._ended and len or 0
end

-- Takes n bytes (or one item) off the front of the buffer.
local function from_list(self, n)
  if self.readableLength == 0 then return nil end
  local buf, h, t = self._rbuf, self._rhead, self._rtail
  local ret
  if self.readableObjectMode then
    ret = buf[h]
    buf[h] = nil
    h = h + 1
  elseif n >= self.readableLength then
    if h == t then
      ret = buf[h]
    else
      ret = concat(buf, "", h, t)
    end
    for i = h, t do buf[i] = nil end
    h = t + 1
  else
    local first = buf[h]
    local flen = #first
    if n < flen then
      ret = sub(first, 1, n)
      buf[h] = sub(first, n + 1)
    elseif n == flen then
      ret = first
      buf[h] = nil
      h = h + 1
    else
      local parts, p = {}, 0
      while h <= t do
        local data = buf[h]
        local dlen = #data
        if n > dlen then
          p = p + 1; parts[p] = data
          n = n - dlen
          buf[h] = nil
          h = h + 1
        else
          p = p + 1
          if n == dlen then
            parts[p] = data
            buf[h] = nil
            h = h + 1
          else
            parts[p] = sub(data, 1, n)
            buf[h] = sub(data, n + 1)
          end
          break
        end
      end
      ret = concat(parts, "", 1, p)
    end
  end
  if h > t then
    self._rhead, self._rtail = 1, 0
  elseif h > 1024 and h > t - h then
    -- Compact once the consumed prefix outweighs what is left (amortized O(1) per chunk).
    table.move(buf, h, t, 1)
    local nt = t - h + 1
    for i = nt + 1, t do buf[i] = nil end
    self._rhead, self._rtail = 1, nt
  else
    self._rhead = h
  end
  return ret
end

local function to_count(n)
  if n == nil then return nil end
  if type(n) ~= "number" then n = tonumber(n) end
  if n == nil or n ~= n then return nil end
  if n == math.huge then return n end
  if n == -math.huge then return n end
  return tointeger(n) or (n < 0 and -floor(-n) or floor(n))
end

--- readable:read([n]) -> chunk or nil: n bytes (all that is buffered without n; one item in
-- objectMode), or nil when not enough is buffered yet.
function Readable:read(n)
  n = to_count(n)
  local nOrig = n
  if n ~= nil and n > self.readableHighWaterMark then
    self.readableHighWaterMark = compute_new_hwm(n)
  end
  if n ~= 0 then self._emittedReadable = false end

  -- read(0) with enough buffered: only trigger 'readable'.
  if n == 0 and self._needReadable then
    local len, hwm = self.readableLength, self.readableHighWaterMark
    if (hwm ~= 0 and len >= hwm or hwm == 0 and len > 0) or self._ended then
      if len == 0 and self._ended then end_readable(self) else emit_readable(self) end
      return nil
    end
  end

  n = how_much_to_read(self, n)
  if n == 0 and self._ended then
    if self.readableLength == 0 then end_readable(self) end
    return nil
  end

  -- Read more when a 'readable' is awaited or the buffer runs below highWaterMark, unless a
  -- read is in progress, the stream ended, or it is destroyed or errored.
  local len = self.readableLength
  local doRead = self._needReadable or len == 0 or len - n < self.readableHighWaterMark
  if doRead and not (self._reading or self._ended or self.destroyed or self._errored) then
    self._reading = true
    self._rsync = true
    if len == 0 then self._needReadable = true end
    local ok, err = pcall(self._read, self, self.readableHighWaterMark)
    if not ok then error_or_destroy(self, err) end
    self._rsync = false
    -- _read may have pushed synchronously: look again.
    if not self._reading then n = how_much_to_read(self, nOrig) end
  end

  local ret
  if n > 0 then ret = from_list(self, n) end
  if ret == nil then
    if self.readableLength <= self.readableHighWaterMark then self._needReadable = true end
    n = 0
  else
    self.readableLength = self.readableLength - n
    if self._awaitDrainWriters then clear_await_drain(self) end
  end

  if self.readableLength == 0 then
    if not self._ended then self._needReadable = true end
    if nOrig ~= n and self._ended then end_readable(self) end
  end

  if ret ~= nil and not self._errorEmitted and not self._closeEmitted then
    self.readableDidRead = true
    self:emit("data", ret)
  end
  return ret
end

on_eof_chunk = function(self)
  if self._ended then return end
  local dec = self._decoder
  if dec then
    local chunk = dec:finish()
    if chunk ~= "" then
      local t = self._rtail + 1
      if not self._rbuf then self._rbuf = {} end
      self._rbuf[t] = chunk
      self._rtail = t
      self.readableLength = self.readableLength + (self.readableObjectMode and 1 or #chunk)
    end
  end
  self._ended = true
  if self._rsync then
    emit_readable(self)
  else
    self._needReadable = false
    self._emittedReadable = true
    -- Synchronous at EOF, as Node (modules rely on it).
    emit_readable_(self)
  end
end

emit_readable_ = function(self)
  if not self.destroyed and not self._errored and (self.readableLength > 0 or self._ended) then
    self:emit("readable")
    self._emittedReadable = false
  end
  if not self._flowing and not self._ended
    and self.readableLength <= self.readableHighWaterMark then
    self._needReadable = true
  end
  flow(self)
end

emit_readable = function(self)
  self._needReadable = false
  if not self._emittedReadable then
    self._emittedReadable = true
    nextTick(emit_readable_, self)
  end
end

local function maybe_read_more_(self)
  while not self._reading and not self._ended do
    local len = self.readableLength
    if not (len < self.readableHighWaterMark or (self._flowing and len == 0)) then break end
    self:read(0)
    if len == self.readableLength then break end -- nothing came: stop spinning
  end
  self._readingMore = false
end

maybe_read_more = function(self)
  if not self._readingMore then
    self._readingMore = true
    nextTick(maybe_read_more_, self)
  end
end

flow = function(self)
  while self._flowing and self:read() ~= nil do end
end

local function n_reading_next_tick(self) self:read(0) end

-- What adding a 'data' or 'readable' listener does (Node's Readable.prototype.on).
local function listener_added(self, ev)
  if ev == "data" then
    self._dataListening = true
    if self:listenerCount("readable") > 0 then self._readableListening = true end
    if self.readableFlowing ~= false then self:resume() end
  elseif ev == "readable" then
    if not self.readableEnded and not self._readableListening then
      self._readableListening = true
      self._needReadable = true
      self.readableFlowing = false
      self._flowing = false
      self._emittedReadable = false
      if self.readableLength > 0 then
        emit_readable(self)
      elseif not self._reading then
        nextTick(n_reading_next_tick, self)
      end
    end
  end
end

--- readable:on(event, listener): a 'data' listener starts the flow (unless paused); a
-- 'readable' listener switches to paused mode. Alias: addListener.
function Readable:on(ev, fn)
  local res = EventEmitter.on(self, ev, fn)
  if ev == "data" or ev == "readable" then listener_added(self, ev) end
  return res
end
Readable.addListener = Readable.on

function Readable:once(ev, fn)
  local res = EventEmitter.once(self, ev, fn)
  if ev == "data" or ev == "readable" then listener_added(self, ev) end
  return res
end

local function update_readable_listening(self)
  self._readableListening = self:listenerCount("readable") > 0
  if self._resumeScheduled and self._paused == false then
    self.readableFlowing = true
    self._flowing = true
  elseif self._dataListening then
    self:resume()
  elseif not self._readableListening then
    self.readableFlowing = nil
    self._flowing = false
  end
end

function Readable:removeListener(ev, fn)
  local res = EventEmitter.removeListener(self, ev, fn)
  if ev == "readable" then
    nextTick(update_readable_listening, self)
  elseif ev == "data" and self:listenerCount("data") == 0 then
    self._dataListening = false
  end
  return res
end
Readable.off = Readable.removeListener

function Readable:removeAllListeners(...)
  local res = EventEmitter.removeAllListeners(self, ...)
  local ev = ...
  if ev == "readable" or ev == nil then nextTick(update_readable_listening, self) end
  return res
end

local function resume_(self)
  if not self._reading then self:read(0) end
  self._resumeScheduled = false
  self:emit("resume")
  flow(self)
  if self._flowing and not self._reading then self:read(0) end
end

--- readable:resume() -> readable: switches to flowing mode ('data' events).
function Readable:resume()
  if not self._flowing then
    local flowing = not self._readableListening
    self.readableFlowing = flowing
    self._flowing = flowing
    if not self._resumeScheduled then
      self._resumeScheduled = true
      nextTick(resume_, self)
    end
  end
  self._paused = false
  return self
end

--- readable:pause() -> readable: stops 'data' events; data stays buffered.
function Readable:pause()
  if self.readableFlowing ~= false then
    self.readableFlowing = false
    self._flowing = false
    self:emit("pause")
  end
  self._paused = true
  return self
end

local function end_writable_nt(self)
  if self.writable and not self.writableEnded and not self.destroyed then self:finish() end
end

local function end_readable_nt(self)
  if not self._errored and not self._closeEmitted and not self.readableEnded and self.readableLength == 0 then
    self.readableEnded = true
    self.readable = false
    self:emit("end")
    if self.writable and self.allowHalfOpen == false then
      nextTick(end_writable_nt, self)
    elseif self._autoDestroy then
      -- A Duplex is destroyed once both sides are done.
      if not self._hasWritable or self.writableFinished or self._writableOff then
        self:destroy()
      end
    end
  end
end

end_readable = function(self)
  if not self.readableEnded then
    self._ended = true
    nextTick(end_readable_nt, self)
  end
end

-- The writables of a pipe that wait for 'drain' (Node's awaitDrainWriters).
local function pipe_on_drain(src, dest)
  return function()
    local w = src._awaitDrainWriters
    if w == dest then
      src._awaitDrainWriters = false
      w = false
    elseif src._multiAwaitDrain then
      w[dest] = nil
    end
    if (not w or (src._multiAwaitDrain and next(w) == nil)) and src._dataListening then
      src:resume()
    end
  end
end

local function index_of(list, v)
  for i = 1, #list do if list[i] == v then return i end end
  return nil
end

--- readable:pipe(dest[, { end = false }]) -> dest: writes every chunk to dest, pausing while
-- dest:write() returns false until its 'drain'; ends dest at 'end' unless end == false.
function Readable:pipe(dest, pipeOpts)
  local src = self
  local pipes = self._pipes
  if not pipes then
    pipes = {}
    self._pipes = pipes
  end
  if #pipes == 1 and not self._multiAwaitDrain then
    self._multiAwaitDrain = true
    local set = {}
    if self._awaitDrainWriters then set[self._awaitDrainWriters] = true end
    self._awaitDrainWriters = set
  end
  pipes[#pipes + 1] = dest

  local doEnd = (not pipeOpts or pipeOpts["end"] ~= false)
    and dest ~= process.stdout and dest ~= process.stderr

  local ondrain
  local cleanedUp = false
  local onclose, onfinish, onerror, onunpipe, ondata, onend, unpipe, cleanup

  onend = function() dest:finish() end
  unpipe = function() src:unpipe(dest) end
  local endFn = doEnd and onend or unpipe

  cleanup = function()
    dest:removeListener("close", onclose)
    dest:removeListener("finish", onfinish)
    if ondrain then dest:removeListener("drain", ondrain) end
    dest:removeListener("error", onerror)
    dest:removeListener("unpipe", onunpipe)
    src:removeListener("end", onend)
    src:removeListener("end", unpipe)
    src:removeListener("data", ondata)
    cleanedUp = true
    -- If the source waits for this writer's 'drain', it would never flow again.
    if ondrain and src._awaitDrainWriters and (not dest._hasWritable or dest._needDrain) then
      ondrain()
    end
  end

  onunpipe = function(readable, unpipeInfo)
    if readable == src and unpipeInfo and unpipeInfo.hasUnpiped == false then
      unpipeInfo.hasUnpiped = true
      cleanup()
    end
  end

  local function pause()
    if not cleanedUp then
      local ps = src._pipes
      if #ps == 1 and ps[1] == dest then
        src._awaitDrainWriters = dest
        src._multiAwaitDrain = false
      elseif #ps > 1 and index_of(ps, dest) then
        src._awaitDrainWriters[dest] = true
      end
      src:pause()
    end
    if not ondrain then
      ondrain = pipe_on_drain(src, dest)
      dest:on("drain", ondrain)
    end
  end

  ondata = function(chunk)
    if dest:write(chunk) == false then pause() end
  end

  onerror = function(er)
    unpipe()
    dest:removeListener("error", onerror)
    if dest:listenerCount("error") == 0 then
      if (dest._hasWritable or dest._hasReadable) and not dest._errorEmitted then
        error_or_destroy(dest, er)
      else
        dest:emit("error", er)
      end
    end
  end

  onclose = function()
    dest:removeListener("finish", onfinish)
    unpipe()
  end
  onfinish = function()
    dest:removeListener("close", onclose)
    unpipe()
  end

  if self.readableEnded then
    nextTick(endFn)
  else
    src:once("end", endFn)
  end
  dest:on("unpipe", onunpipe)
  src:on("data", ondata)
  dest:prependListener("error", onerror)
  dest:once("close", onclose)
  dest:once("finish", onfinish)
  dest:emit("pipe", src)

  if dest.writableNeedDrain == true then
    pause()
  elseif not self._flowing then
    src:resume()
  end
  return dest
end

--- readable:unpipe([dest]) -> readable
function Readable:unpipe(dest)
  local pipes = self._pipes
  if not pipes or #pipes == 0 then return self end
  if dest == nil then
    self._pipes = {}
    self:pause()
    for i = 1, #pipes do pipes[i]:emit("unpipe", self, { hasUnpiped = false }) end
    return self
  end
  local index = index_of(pipes, dest)
  if not index then return self end
  table.remove(pipes, index)
  if #pipes == 0 then self:pause() end
  dest:emit("unpipe", self, { hasUnpiped = false })
  return self
end

--- readable:read_all() -> string (a sequence of items in objectMode): inside a coroutine
-- (lode.spawn), waits for the end of the stream and returns everything it gave; raises the
-- stream's error.
function Readable:read_all()
  local co, main = coroutine.running()
  if main then error("read_all must be called inside lode.spawn (a coroutine)", 2) end
  local parts, n = {}, 0
  local done, failure, waiting = false, nil, false
  local function ondata(chunk) n = n + 1; parts[n] = chunk end
  self:on("data", ondata)
  local cleanup
  cleanup = eos(self, { writable = false }, function(err)
    done, failure = true, err
    self:removeListener("data", ondata)
    if waiting then
      local ok, e = coroutine.resume(co)
      if not ok then process._fatal(e, debug.traceback(co)) end
    end
  end)
  if not done then
    waiting = true
    coroutine.yield()
  end
  cleanup()
  if failure then error(failure, 2) end
  if self.readableObjectMode then return parts end
  return concat(parts, "", 1, n)
end

---------------------------------------------------------------------------------------------
-- Writable (internal/streams/writable.js)
---------------------------------------------------------------------------------------------

local Writable = Stream:extend("Writable")

local make_onwrite

-- Rarely used fields start out absent (nil): _bufferProcessing, _finalCalled, _prefinished,
-- _onFinished, _writableOff, _someText, _someCb.
local function init_writable(self, opts, is_duplex)
  local objectMode = (opts and (opts.objectMode or (is_duplex and opts.writableObjectMode))) and true or false
  self.writableObjectMode = objectMode
  self.writableHighWaterMark = get_hwm(opts, "writableHighWaterMark", is_duplex, objectMode)
  self._decodeStrings = not (opts and opts.decodeStrings == false)
  local de = opts and opts.defaultEncoding
  if de == nil then
    self._defaultEncoding = "utf8"
  else
    local e = normalize(de)
    if not e then error(errors.ERR_UNKNOWN_ENCODING(de), 4) end
    self._defaultEncoding = e
  end
  self.writableLength = 0
  self.writableCorked = 0
  self._writing = false -- a _write is in progress (and its callback is expected)
  self._wsync = true
  self._writecb = false
  self._writelen = 0
  -- Buffered writes, three slots each (chunk, encoding, callback), _wbuf[_whead .. _wtail].
  self._wbuf = false
  self._whead = 1
  self._wtail = 0
  self._pendingcb = 0
  self._needDrain = false
  self.writableNeedDrain = false
  self.writableEnded = false
  self._wended = false
  self.writableFinished = false
  self._afterWritePending = false
  self._afterWriteTickInfo = false
  self.writable = true
  self._onwrite = make_onwrite(self)
end

--- Writable.new([options]): highWaterMark, decodeStrings, defaultEncoding, objectMode,
-- emitClose, autoDestroy, write(self, chunk, enc, cb), writev(self, chunks, cb),
-- final(self, cb), destroy(self, err, cb).
function Writable:constructor(opts)
  init_common(self, opts)
  init_writable(self, opts, false)
  if opts then take_hooks(self, opts, "write", "writev", "destroy", "final") end
end

function Writable:pipe()
  error_or_destroy(self, errors.ERR_STREAM_CANNOT_PIPE())
end

local function buffered_count(self)
  return (self._wtail - self._whead + 1) // 3
end

--- writable:writableBufferedCount() -> integer: writes waiting behind the one in progress
-- (Node's writableBuffer.length).
function Writable:writableBufferedCount()
  return buffered_count(self)
end

local function reset_buffer(self)
  local buf = self._wbuf
  if buf then
    for i = self._whead, self._wtail do buf[i] = nil end
  end
  self._whead, self._wtail = 1, 0
  self._someText = nil
  self._someCb = nil
end

-- Node's _write(stream, chunk, encoding, cb) and writeOrBuffer in one: returns the boolean
-- of write(), or the error when the stream is ending or destroyed.
local function write_(self, chunk, enc, cb, level)
  if chunk == nil then error(errors.ERR_STREAM_NULL_VALUES(), level) end
  local len
  if self.writableObjectMode then
    len = 1
  else
    if enc == nil or enc == "" then
      enc = self._defaultEncoding
    elseif enc ~= "buffer" then
      local e = normalize(enc)
      if not e then error(errors.ERR_UNKNOWN_ENCODING(enc), level) end
      enc = e
    end
    if type(chunk) ~= "string" then
      error(errors.ERR_INVALID_ARG_TYPE("chunk", CHUNK_TYPES, chunk), level)
    end
    if self._decodeStrings then
      if enc ~= "utf8" and enc ~= "buffer" then chunk = from_encoding(chunk, enc) end
      enc = "buffer"
    end
    len = #chunk
  end
  if self.writableEnded or self.destroyed then
    local err = self.writableEnded and errors.ERR_STREAM_WRITE_AFTER_END()
      or errors.ERR_STREAM_DESTROYED("write")
    if cb then nextTick(cb, err) end
    error_or_destroy(self, err, true)
    return err
  end
  self._pendingcb = self._pendingcb + 1
  local length = self.writableLength + len
  self.writableLength = length
  if self._writing or self._errored or self.writableCorked > 0 then
    local buf = self._wbuf
    if not buf then
      buf = {}
      self._wbuf = buf
    end
    local t = self._wtail
    buf[t + 1], buf[t + 2], buf[t + 3] = chunk, enc, cb
    self._wtail = t + 3
    if enc ~= "buffer" then self._someText = true end
    if cb then self._someCb = true end
  else
    -- Idle: straight to _write.
    self._writelen = len
    self._writecb = cb
    self._writing = true
    self._wsync = true
    self:_write(chunk, enc, self._onwrite)
    self._wsync = false
    length = self.writableLength
  end
  if length < self.writableHighWaterMark or length == 0 then
    return not self.destroyed and not self._errored
  end
  self._needDrain = true
  self.writableNeedDrain = not self.writableEnded and not self.destroyed
  return false
end

--- writable:write(chunk[, encoding][, cb]) -> boolean: false once writableLength reaches
-- highWaterMark (wait for 'drain'). cb(err) runs once the chunk is handled.
function Writable:write(chunk, enc, cb)
  if type(enc) == "function" then
    cb = enc
    enc = nil
  end
  if type(cb) ~= "function" then cb = false end
  return write_(self, chunk, enc, cb, 3) == true
end

--- writable:cork(): buffers writes until uncork() (or finish()).
function Writable:cork()
  self.writableCorked = self.writableCorked + 1
end

local clear_buffer

--- writable:uncork()
function Writable:uncork()
  local corked = self.writableCorked
  if corked > 0 then
    self.writableCorked = corked - 1
    if not self._writing then clear_buffer(self) end
  end
end

--- writable:setDefaultEncoding(enc) -> writable
function Writable:setDefaultEncoding(enc)
  local e = normalize(type(enc) == "string" and enc:lower() or enc)
  if not e or enc == nil or enc == "" then error(errors.ERR_UNKNOWN_ENCODING(enc), 2) end
  self._defaultEncoding = e
  return self
end

local finish_maybe, error_buffer

local function call_finished_callbacks(self, err)
  local list = self._onFinished
  if not list then return end
  self._onFinished = nil
  for i = 1, #list do list[i](err) end
end

local function after_write(self, count, cb)
  self._afterWritePending = false
  if self._needDrain and not self.writableEnded and not self.destroyed and self.writableLength == 0 then
    self._needDrain = false
    self.writableNeedDrain = false
    self:emit("drain")
  end
  while count > 0 do
    count = count - 1
    self._pendingcb = self._pendingcb - 1
    if cb then cb(nil) end
  end
  if self.destroyed then error_buffer(self) end
  if self.writableEnded then finish_maybe(self, true) end
end

local function after_write_tick(self, info)
  self._afterWriteTickInfo = false
  return after_write(self, info.count, info.cb)
end

local function onwrite_error(self, er, cb)
  self._pendingcb = self._pendingcb - 1
  if cb then cb(er) end
  error_buffer(self)
  error_or_destroy(self, er)
end

-- The callback every _write/_writev gets: one closure per stream, self._onwrite.
make_onwrite = function(self)
  return function(er)
    -- _writing doubles as Node's kExpectWriteCb: both are set and cleared together.
    if not self._writing then
      error_or_destroy(self, errors.ERR_MULTIPLE_CALLBACK())
      return
    end
    local sync = self._wsync
    local cb = self._writecb
    self._writecb = false
    self._writing = false
    self.writableLength = self.writableLength - self._writelen
    self._writelen = 0

    if er then
      check_error(self, er)
      if sync then
        nextTick(onwrite_error, self, er, cb)
      else
        onwrite_error(self, er, cb)
      end
      return
    end

    if self._wtail >= self._whead then clear_buffer(self) end

    if sync then
      -- Node checks `state & kDestroyed !== 0`, which precedence makes `state & 1`: objectMode.
      local needTick = (self._needDrain and self.writableLength == 0) or self.writableObjectMode
      if not cb then
        if not self._afterWritePending and needTick then
          self._afterWritePending = true
          nextTick(after_write, self, 1, false)
        else
          self._pendingcb = self._pendingcb - 1
          if self.writableEnded then finish_maybe(self, true) end
        end
      else
        local info = self._afterWriteTickInfo
        if info and info.cb == cb then
          info.count = info.count + 1
        else
          info = { count = 1, cb = cb }
          self._afterWriteTickInfo = info
          self._afterWritePending = true
          nextTick(after_write_tick, self, info)
        end
      end
    else
      after_write(self, 1, cb)
    end
  end
end

-- Fails every buffered write and every finish() callback (after destroy or an error).
error_buffer = function(self)
  if self._writing then return end
  local buf = self._wbuf
  if buf then
    local om = self.writableObjectMode
    for i = self._whead, self._wtail, 3 do
      local chunk, cb = buf[i], buf[i + 2]
      self.writableLength = self.writableLength - (om and 1 or #chunk)
      if cb then cb(self.errored or errors.ERR_STREAM_DESTROYED("write")) end
    end
  end
  call_finished_callbacks(self, self.errored or errors.ERR_STREAM_DESTROYED("end"))
  reset_buffer(self)
end

local function do_write(self, writev, len, chunk, enc, cb)
  self._writelen = len
  if cb then self._writecb = cb end
  self._writing = true
  self._wsync = true
  if self.destroyed then
    self._onwrite(errors.ERR_STREAM_DESTROYED("write"))
  elseif writev then
    self:_writev(chunk, self._onwrite)
  else
    self:_write(chunk, enc, self._onwrite)
  end
  self._wsync = false
end

clear_buffer = function(self)
  if self.destroyed or self._bufferProcessing or self.writableCorked > 0 then return end
  local h, t = self._whead, self._wtail
  if t < h then return end
  local buf = self._wbuf
  local count = (t - h + 1) // 3
  self._bufferProcessing = true
  if count > 1 and self._writev then
    self._pendingcb = self._pendingcb - (count - 1)
    local chunks, callbacks = { allBuffers = not self._someText }, nil
    if self._someCb then callbacks = {} end
    local k = 0
    for i = h, t, 3 do
      k = k + 1
      chunks[k] = { chunk = buf[i], encoding = buf[i + 1] }
      if callbacks then callbacks[k] = buf[i + 2] end
    end
    local callback = false
    if callbacks then
      callback = function(err)
        for i = 1, k do
          local c = callbacks[i]
          if c then c(err) end
        end
      end
    end
    reset_buffer(self)
    do_write(self, true, self.writableLength, chunks, "", callback)
  else
    local om = self.writableObjectMode
    local i = h
    repeat
      local chunk, enc, cb = buf[i], buf[i + 1], buf[i + 2]
      buf[i], buf[i + 1], buf[i + 2] = nil, nil, nil
      i = i + 3
      self._whead = i
      do_write(self, false, om and 1 or #chunk, chunk, enc, cb)
    until i > self._wtail or self._writing
    if self._whead > self._wtail then
      reset_buffer(self)
    elseif self._whead > 768 and self._whead > self._wtail - self._whead then
      local nh, nt = self._whead, self._wtail
      table.move(buf, nh, nt, 1)
      local keep = nt - nh + 1
      for j = keep + 1, nt do buf[j] = nil end
      self._whead, self._wtail = 1, keep
    end
  end
  self._bufferProcessing = nil
end

function Writable:_write(chunk, enc, cb)
  if self._writev then
    self:_writev({ { chunk = chunk, encoding = enc } }, cb)
  else
    error(errors.ERR_METHOD_NOT_IMPLEMENTED("_write()"), 2)
  end
end

local function need_finish(self)
  return self.writableEnded and not self.destroyed and not self.writableFinished and not self._writing
    and not self._errorEmitted and not self._closeEmitted and not self._errored
    and self._wtail < self._whead and self.writableLength == 0
end

local function finish(self)
  self._pendingcb = self._pendingcb - 1
  self.writableFinished = true
  call_finished_callbacks(self, nil)
  self:emit("finish")
  if self._autoDestroy then
    -- A Duplex is destroyed once both sides are done.
    if not self._hasReadable or self.readableEnded or self._readableOff then
      self:destroy()
    end
  end
end

local function emit_prefinish(self)
  local hook = self._prefinishHook
  if hook then hook(self) end
  self:emit("prefinish")
end

local function on_final(self, err)
  if self._prefinished then
    error_or_destroy(self, err or errors.ERR_MULTIPLE_CALLBACK())
    return
  end
  self._pendingcb = self._pendingcb - 1
  if err then
    call_finished_callbacks(self, err)
    error_or_destroy(self, err, self._wsync)
  elseif need_finish(self) then
    self._prefinished = true
    emit_prefinish(self)
    self._pendingcb = self._pendingcb + 1
    nextTick(finish, self)
  end
end

local function prefinish(self)
  if self._prefinished or self._finalCalled then return end
  if type(self._final) == "function" and not self.destroyed then
    self._finalCalled = true
    self._wsync = true
    self._pendingcb = self._pendingcb + 1
    local ok, err = pcall(self._final, self, function(err) on_final(self, err) end)
    if not ok then on_final(self, err) end
    self._wsync = false
  else
    self._finalCalled = true
    self._prefinished = true
    emit_prefinish(self)
  end
end

local function finish_maybe_nt(self)
  if need_finish(self) then
    finish(self)
  else
    self._pendingcb = self._pendingcb - 1
  end
end

finish_maybe = function(self, sync)
  if need_finish(self) then
    prefinish(self)
    if self._pendingcb == 0 then
      if sync then
        self._pendingcb = self._pendingcb + 1
        nextTick(finish_maybe_nt, self)
      elseif need_finish(self) then
        self._pendingcb = self._pendingcb + 1
        finish(self)
      end
    end
  end
end

--- writable:finish([chunk[, encoding]][, cb]) -> writable: Node's end(). Writes chunk, then
-- _final, 'finish' (cb), and with autoDestroy 'close'.
function Writable:finish(chunk, enc, cb)
  if type(chunk) == "function" then
    cb = chunk
    chunk, enc = nil, nil
  elseif type(enc) == "function" then
    cb = enc
    enc = nil
  end
  local err
  if chunk ~= nil then
    local ret = write_(self, chunk, enc, false, 3)
    if type(ret) ~= "boolean" then err = ret end
  end
  if self.writableCorked > 0 then
    self.writableCorked = 1
    self:uncork()
  end
  if err == nil and not self.writableEnded and not self._errored then
    self.writableEnded = true
    self.writable = false
    self.writableNeedDrain = false
    finish_maybe(self, true)
    self._wended = true
  elseif err == nil and self.writableFinished then
    err = errors.ERR_STREAM_ALREADY_FINISHED("end")
  elseif err == nil and self.destroyed then
    err = errors.ERR_STREAM_DESTROYED("end")
  end
  if type(cb) == "function" then
    if err then
      nextTick(cb, err)
    elseif self._errored then
      nextTick(cb, self.errored)
    elseif self.writableFinished then
      nextTick(cb, nil)
    else
      local list = self._onFinished
      if not list then
        list = {}
        self._onFinished = list
      end
      list[#list + 1] = cb
    end
  end
  return self
end

--- writable:destroy([err[, cb]]) -> writable: fails pending writes, then 'error' (with err)
-- and 'close'.
function Writable:destroy(err, cb)
  if not self.destroyed and (self._wtail >= self._whead or self._onFinished) then
    nextTick(error_buffer, self)
  end
  return destroy(self, err, cb)
end

Writable._hasWritable = true
Writable._undestroy = undestroy
Writable._destroy = default_destroy

---------------------------------------------------------------------------------------------
-- Duplex (internal/streams/duplex.js)
---------------------------------------------------------------------------------------------

local Duplex = Readable:extend("Duplex")

-- Writable's methods that Readable does not have (Node copies them the same way).
for _, name in ipairs({ "write", "cork", "uncork", "setDefaultEncoding", "_write", "finish",
  "writableBufferedCount" }) do
  Duplex[name] = Writable[name]
end
Duplex.destroy = Writable.destroy
Duplex._hasReadable = true
Duplex._hasWritable = true

--- Duplex.new([options]): Readable's and Writable's options, plus allowHalfOpen (default
-- true: when false, the readable side's 'end' ends the writable side), readable = false,
-- writable = false, readableObjectMode, writableObjectMode, readableHighWaterMark,
-- writableHighWaterMark.
function Duplex:constructor(opts)
  init_common(self, opts)
  init_readable(self, opts, true)
  init_writable(self, opts, true)
  if opts then
    self.allowHalfOpen = opts.allowHalfOpen ~= false
    if opts.readable == false then
      self._readableOff = true
      self.readable = false
      self._ended = true
      self.readableEnded = true
    end
    if opts.writable == false then
      self._writableOff = true
      self.writable = false
      self.writableEnded = true
      self._wended = true
      self.writableFinished = true
    end
    take_hooks(self, opts, "read", "write", "writev", "destroy", "final")
  else
    self.allowHalfOpen = true
  end
end

---------------------------------------------------------------------------------------------
-- Transform and PassThrough (internal/streams/transform.js, passthrough.js)
---------------------------------------------------------------------------------------------

local Transform = Duplex:extend("Transform")

-- After _transform: push the data, then let the next write in (or wait for a read).
local function after_transform(self, err, val)
  local callback = self._tpending
  if not callback then callback = self._onwrite end -- a second call: onwrite reports it
  self._tpending = false
  if err then
    callback(err)
    return
  end
  if val ~= nil then self:push(val) end
  if self._ended then
    nextTick(callback)
  elseif self._wended or self._tlength == self.readableLength
    or self.readableLength < self.readableHighWaterMark then
    callback()
  else
    self._tcallback = callback
  end
end

--- Transform.new([options]): Duplex's options plus transform(self, chunk, enc, cb) and
-- flush(self, cb); cb(err, data) pushes data (when not nil).
function Transform:constructor(opts)
  if opts then
    local rhwm = get_hwm(opts, "readableHighWaterMark", true, false)
    if rhwm == 0 and (opts.highWaterMark ~= nil or opts.readableHighWaterMark ~= nil) then
      local copy = {}
      for k, v in pairs(opts) do copy[k] = v end
      copy.highWaterMark = nil
      copy.readableHighWaterMark = rhwm
      copy.writableHighWaterMark = opts.writableHighWaterMark or 0
      opts = copy
    end
  end
  Duplex.constructor(self, opts)
  self._rsync = false
  self._tcallback = false
  self._tpending = false
  self._tlength = 0
  self._afterTransform = function(err, val) return after_transform(self, err, val) end
  if opts then
    take_hooks(self, opts, "transform", "flush")
  end
end

local function transform_final(self, cb)
  if type(self._flush) == "function" and not self.destroyed then
    self:_flush(function(er, data)
      if er then
        if cb then cb(er) else self:destroy(er) end
        return
      end
      if data ~= nil then self:push(data) end
      self:push(nil)
      if cb then cb() end
    end)
  else
    self:push(nil)
    if cb then cb() end
  end
end
Transform._final = transform_final

-- With a final option replacing _final, the flush still runs at 'prefinish' (Node's listener).
function Transform._prefinishHook(self)
  if self._final ~= transform_final then transform_final(self) end
end

function Transform._transform()
  error(errors.ERR_METHOD_NOT_IMPLEMENTED("_transform()"), 2)
end

function Transform:_write(chunk, enc, callback)
  self._tlength = self.readableLength
  self._tpending = callback
  self:_transform(chunk, enc, self._afterTransform)
end

function Transform:_read()
  local callback = self._tcallback
  if callback then
    self._tcallback = false
    callback()
  end
end

local PassThrough = Transform:extend("PassThrough")

function PassThrough:constructor(opts)
  Transform.constructor(self, opts)
end

local function passthrough_transform(_, chunk, _, cb)
  cb(nil, chunk)
end
PassThrough._transform = passthrough_transform

-- Transform's _write with the identity transform inlined (the common case by far).
function PassThrough:_write(chunk, enc, callback)
  if self._transform ~= passthrough_transform then return Transform._write(self, chunk, enc, callback) end
  local length = self.readableLength
  self:push(chunk)
  if self._ended then
    nextTick(callback)
  elseif self._wended or length == self.readableLength
    or self.readableLength < self.readableHighWaterMark then
    callback()
  else
    self._tcallback = callback
  end
end

---------------------------------------------------------------------------------------------
-- finished (internal/streams/end-of-stream.js) and its predicates (utils.js)
---------------------------------------------------------------------------------------------

local function is_table(v) return type(v) == "table" end

local function is_readable_node_stream(obj, strict)
  return is_table(obj) and type(obj.pipe) == "function" and type(obj.on) == "function"
    and (not strict or (type(obj.pause) == "function" and type(obj.resume) == "function"))
    and (not obj._hasWritable or (obj._hasReadable == true and not obj._readableOff)) or false
end

local function is_writable_node_stream(obj)
  return is_table(obj) and type(obj.write) == "function" and type(obj.on) == "function"
    and (not obj._hasReadable or not obj._writableOff) or false
end

local function is_node_stream(obj)
  return is_table(obj) and (obj._hasReadable or obj._hasWritable
    or (type(obj.write) == "function" and type(obj.on) == "function")
    or (type(obj.pipe) == "function" and type(obj.on) == "function")) and true or false
end

local function is_destroyed(stream)
  if not is_node_stream(stream) then return nil end
  return stream.destroyed == true or stream._kIsDestroyed == true
end

local function is_writable_ended(stream)
  if not is_writable_node_stream(stream) then return nil end
  if stream.writableEnded == true then return true end
  if not stream._hasWritable then return nil end
  if stream.errored then return false end
  return stream._wended
end

local function is_writable_finished(stream, strict)
  if not is_writable_node_stream(stream) then return nil end
  if stream.writableFinished == true then return true end
  if not stream._hasWritable then return nil end
  if stream.errored then return false end
  return stream.writableFinished or (strict == false and stream._wended and stream.writableLength == 0)
end

local function is_readable_finished(stream, strict)
  if not is_readable_node_stream(stream) then return nil end
  if stream.errored then return false end
  if not stream._hasReadable then return nil end
  return stream.readableEnded or (strict == false and stream._ended and stream.readableLength == 0)
end

local function is_readable(stream)
  if not is_table(stream) or type(stream.readable) ~= "boolean" then return nil end
  if is_destroyed(stream) then return false end
  return is_readable_node_stream(stream) and stream.readable and not is_readable_finished(stream)
end

local function is_writable(stream)
  if not is_table(stream) or type(stream.writable) ~= "boolean" then return nil end
  if is_destroyed(stream) then return false end
  return is_writable_node_stream(stream) and stream.writable and not is_writable_ended(stream)
end

local function is_finished(stream, opts)
  if not is_node_stream(stream) then return nil end
  if is_destroyed(stream) then return true end
  if (not opts or opts.readable ~= false) and is_readable(stream) then return false end
  if (not opts or opts.writable ~= false) and is_writable(stream) then return false end
  return true
end

local function is_errored(stream)
  if not is_node_stream(stream) then return nil end
  return stream.errored
end

local function is_closed(stream)
  if not is_node_stream(stream) then return nil end
  if type(stream.closed) == "boolean" then return stream.closed end
  return nil
end

local function will_emit_close(stream)
  if not is_node_stream(stream) then return nil end
  if not (stream._hasReadable or stream._hasWritable) then return false end
  return stream._autoDestroy and stream._emitClose and stream.closed == false
end

local function is_request(stream)
  return stream.setHeader ~= nil and type(stream.abort) == "function"
end

--- stream.finished(stream[, options], callback) -> cleanup: callback(err) once the stream is
-- done (ended, finished, closed) or failed (err: its error, or ERR_STREAM_PREMATURE_CLOSE).
-- options: readable, writable, error (false: don't listen for 'error').
eos = function(stream, opts, callback)
  if callback == nil and type(opts) == "function" then
    callback, opts = opts, nil
  end
  opts = opts or {}
  if type(callback) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", callback), 2)
  end
  if not is_node_stream(stream) then
    error(errors.ERR_INVALID_ARG_TYPE("stream", { "ReadableStream", "WritableStream", "Stream" }, stream), 2)
  end
  local user_cb = callback
  local called = false
  callback = function(...)
    if called then return end
    called = true
    return user_cb(...)
  end

  local readable = opts.readable
  if readable == nil then readable = is_readable_node_stream(stream) end
  local writable = opts.writable
  if writable == nil then writable = is_writable_node_stream(stream) end
  local hasW, hasR = stream._hasWritable, stream._hasReadable

  local willEmitClose = will_emit_close(stream) and is_readable_node_stream(stream) == readable
    and is_writable_node_stream(stream) == writable

  local writableFinished = is_writable_finished(stream, false)
  local readableFinished = is_readable_finished(stream, false)

  local function onfinish()
    writableFinished = true
    if stream.destroyed then willEmitClose = false end
    if willEmitClose and (not stream.readable or readable) then return end
    if not readable or readableFinished then callback() end
  end

  local function onlegacyfinish()
    if not stream.writable then onfinish() end
  end

  local function onend()
    readableFinished = true
    if stream.destroyed then willEmitClose = false end
    if willEmitClose and (not stream.writable or writable) then return end
    if not writable or writableFinished then callback() end
  end

  local function onerror(err) callback(err) end

  local function onclose()
    local errored = is_errored(stream)
    if errored then return callback(errored) end
    if readable and not readableFinished and is_readable_node_stream(stream, true) then
      if not is_readable_finished(stream, false) then
        return callback(errors.ERR_STREAM_PREMATURE_CLOSE())
      end
    end
    if writable and not writableFinished then
      if not is_writable_finished(stream, false) then
        return callback(errors.ERR_STREAM_PREMATURE_CLOSE())
      end
    end
    callback()
  end

  local function onclosed()
    local errored = is_errored(stream)
    if errored then return callback(errored) end
    callback()
  end

  local function onrequest() stream.req:on("finish", onfinish) end

  if is_request(stream) then
    stream:on("complete", onfinish)
    if not willEmitClose then stream:on("abort", onclose) end
    if stream.req then onrequest() else stream:on("request", onrequest) end
  elseif writable and not hasW then
    stream:on("end", onlegacyfinish)
    stream:on("close", onlegacyfinish)
  end
  if not willEmitClose and type(stream.aborted) == "boolean" then
    stream:on("aborted", onclose)
  end

  stream:on("end", onend)
  stream:on("finish", onfinish)
  if opts.error ~= false then stream:on("error", onerror) end
  stream:on("close", onclose)

  local closed = is_closed(stream)
  if closed then
    nextTick(onclose)
  elseif (hasW or hasR) and stream._errorEmitted then
    if not willEmitClose then nextTick(onclosed) end
  elseif not readable and (not willEmitClose or is_readable(stream))
    and (writableFinished or is_writable(stream) == false)
    and (not hasW or stream._pendingcb == 0) then
    nextTick(onclosed)
  elseif not writable and (not willEmitClose or is_writable(stream))
    and (readableFinished or is_readable(stream) == false) then
    nextTick(onclosed)
  elseif hasR and stream.req and stream.aborted then
    nextTick(onclosed)
  end

  return function()
    callback = nop
    stream:removeListener("aborted", onclose)
    stream:removeListener("complete", onfinish)
    stream:removeListener("abort", onclose)
    stream:removeListener("request", onrequest)
    if stream.req then stream.req:removeListener("finish", onfinish) end
    stream:removeListener("end", onlegacyfinish)
    stream:removeListener("close", onlegacyfinish)
    stream:removeListener("finish", onfinish)
    stream:removeListener("end", onend)
    stream:removeListener("error", onerror)
    stream:removeListener("close", onclose)
  end
end

---------------------------------------------------------------------------------------------
-- pipeline (internal/streams/pipeline.js, for streams)
---------------------------------------------------------------------------------------------

-- Node's destroyImpl.destroyer: destroy a stream that did not finish, with an AbortError.
local function destroyer_of(stream, err)
  if not stream or is_destroyed(stream) then return end
  if not err and not is_finished(stream) then err = errors.AbortError.new() end
  if is_request(stream) then
    stream:abort()
  elseif stream.req and is_table(stream.req) and is_request(stream.req) then
    stream.req:abort()
  elseif type(stream.destroy) == "function" then
    stream:destroy(err)
  elseif type(stream.close) == "function" then
    stream:close()
  elseif err then
    nextTick(function() stream:emit("error", err); nextTick(function() stream:emit("close") end) end)
  else
    nextTick(function() stream:emit("close") end)
  end
  if not stream.destroyed then stream._kIsDestroyed = true end
end

local function pipeline_destroyer(stream, reading, writing)
  local done = false
  stream:on("close", function() done = true end)
  local cleanup = eos(stream, { readable = reading, writable = writing }, function(err)
    done = not err
  end)
  return function(err)
    if done then return end
    done = true
    destroyer_of(stream, err or errors.ERR_STREAM_DESTROYED("pipe"))
  end, cleanup
end

local function pipe_streams(src, dst, finish_one, do_end)
  local ended = false
  dst:on("close", function()
    if not ended then finish_one(errors.ERR_STREAM_PREMATURE_CLOSE()) end
  end)
  src:pipe(dst, { ["end"] = false })
  if do_end then
    local function endFn()
      ended = true
      dst:finish()
    end
    if is_readable_finished(src) then nextTick(endFn) else src:once("end", endFn) end
  else
    finish_one()
  end
  eos(src, { readable = true, writable = false }, function(err)
    if err and err.code == "ERR_STREAM_PREMATURE_CLOSE" and src._hasReadable and src._ended
      and not src.errored and not src._errorEmitted then
      src:once("end", finish_one):once("error", finish_one)
    else
      finish_one(err)
    end
  end)
  return eos(dst, { readable = false, writable = true }, finish_one)
end

--- stream.pipeline(source, ...transforms, destination, callback) -> destination: pipes the
-- streams in order, destroys them all on the first error, and calls callback(err) once the
-- destination is done. A single sequence of streams may be passed instead.
local function pipeline(...)
  local streams = table.pack(...)
  local callback = streams[streams.n]
  if type(callback) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("streams[stream.length - 1]", "function", callback), 2)
  end
  streams.n = streams.n - 1
  if streams.n == 1 and is_table(streams[1]) and not is_node_stream(streams[1]) then
    local list = streams[1]
    streams = table.move(list, 1, #list, 1, {})
    streams.n = #list
  end
  if streams.n < 2 then error(errors.ERR_MISSING_ARGS("streams"), 2) end

  local user_cb, cb_called = callback, false
  callback = function(err, val)
    if cb_called then return end
    cb_called = true
    user_cb(err, val)
  end

  local err_final
  local destroys = {}
  local lastStreamCleanup = {}
  local finishCount = 0

  local function finishImpl(err, final)
    if err and (not err_final or err_final.code == "ERR_STREAM_PREMATURE_CLOSE") then err_final = err end
    if not err_final and not final then return end
    while #destroys > 0 do table.remove(destroys, 1)(err_final) end
    if final then
      if not err_final then
        for _, fn in ipairs(lastStreamCleanup) do fn() end
      end
      nextTick(callback, err_final)
    end
  end

  local function finish_one(err)
    finishCount = finishCount - 1
    finishImpl(err, finishCount == 0)
  end

  local ret
  local n = streams.n
  for i = 1, n do
    local stream = streams[i]
    local reading = i < n
    local writing = i > 1
    local isLast = i == n
    if not is_node_stream(stream) then
      error(errors.ERR_INVALID_ARG_TYPE(i == 1 and "source" or "val", { "Readable", "Stream" }, stream), 2)
    end
    local destroy_fn, cleanup = pipeline_destroyer(stream, reading, writing)
    destroys[#destroys + 1] = destroy_fn
    if is_readable(stream) and isLast then lastStreamCleanup[#lastStreamCleanup + 1] = cleanup end

    local function onError(err)
      if err and err.name ~= "AbortError" and err.code ~= "ERR_STREAM_PREMATURE_CLOSE" then
        finish_one(err)
      end
    end
    stream:on("error", onError)
    if is_readable(stream) and isLast then
      lastStreamCleanup[#lastStreamCleanup + 1] = function() stream:removeListener("error", onError) end
    end

    if i == 1 then
      if not is_readable_node_stream(stream) then
        error(errors.ERR_INVALID_ARG_TYPE("source", { "Readable", "Stream" }, stream), 2)
      end
    else
      if not is_readable_node_stream(ret) then
        error(errors.ERR_INVALID_ARG_TYPE("val", { "Readable", "Stream" }, ret), 2)
      end
      finishCount = finishCount + 2
      local c = pipe_streams(ret, stream, finish_one, true)
      if is_readable(stream) and isLast then lastStreamCleanup[#lastStreamCleanup + 1] = c end
    end
    ret = stream
  end
  return ret
end

---------------------------------------------------------------------------------------------
-- The module
---------------------------------------------------------------------------------------------

-- Copies inherited methods into each class, so that a method call on a stream finds its
-- function one lookup away instead of walking Duplex -> Readable -> Stream -> EventEmitter.
-- (A subclass still overrides anything: its own table comes first.)
local function flatten(cls)
  local chain = {}
  local c = rawget(cls, "super")
  while c do
    chain[#chain + 1] = c
    c = rawget(c, "super")
  end
  for i = 1, #chain do
    for k, v in pairs(chain[i]) do
      if type(v) == "function" and rawget(cls, k) == nil and type(k) == "string"
        and k:sub(1, 2) ~= "__" and k ~= "new" and k ~= "constructor" then
        rawset(cls, k, v)
      end
    end
  end
end
for _, cls in ipairs({ Stream, Readable, Writable, Duplex, Transform, PassThrough }) do flatten(cls) end

local function add_abort_signal(signal, stream)
  if not is_node_stream(stream) then
    error(errors.ERR_INVALID_ARG_TYPE("stream", { "ReadableStream", "WritableStream", "Stream" }, stream), 2)
  end
  local function onabort()
    stream:destroy(errors.AbortError.new(nil, { cause = signal.reason }))
  end
  if signal.aborted then onabort() else signal:on("abort", onabort) end
  return stream
end

local M = {
  Stream = Stream,
  Readable = Readable,
  Writable = Writable,
  Duplex = Duplex,
  Transform = Transform,
  PassThrough = PassThrough,
  pipeline = pipeline,
  finished = eos,
  addAbortSignal = add_abort_signal,
  getDefaultHighWaterMark = get_default_hwm,
  setDefaultHighWaterMark = set_default_hwm,
  isReadable = is_readable,
  isErrored = function(s) return is_errored(s) and true or false end,
  isDisturbed = function(s) return is_table(s) and (s.readableDidRead == true or false) end,
  -- For subclasses in other modules (http2, net) that port Node code calling these.
  _errorOrDestroy = error_or_destroy,
  _destroyer = destroyer_of,
  _isFinished = is_finished,
  -- The per-stream write callback Writable's constructor makes (for http2's stream template).
  _makeOnwrite = make_onwrite,
}

return M
