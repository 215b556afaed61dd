-- Node's lib/internal/http2/core.js for lode: Http2Session, ServerHttp2Session,
-- ClientHttp2Session, Http2Stream (a Duplex), ServerHttp2Stream, ClientHttp2Stream, Http2Server.
--
-- The binding (src/bindings/http2.c) owns the wire; this file owns argument validation, state
-- flags and events. Native events arrive as methods on the owner objects (_onstream, _ondata,
-- _onclose, ...), one per event kind.
local core = require "lode_core"
local EventEmitter = require "lode.events"
local Duplex = require("lode.stream").Duplex
local encoding = require "lode.encoding"
local errors = require "lode.errors"
local headers_mod = require "lode.http2.headers"
local settings_mod = require "lode.http2.settings"
local constants = require "lode.http2.constants"
local process = require "lode.process"
local timers = require "lode.timers"
local metrics = require "lode.http2.metrics"
local compat = require "lode.http2.compat"

local nextTick = process.nextTick
local to_nv = headers_mod.to_nv
local type, select, error, tostring, math_type = type, select, error, tostring, math.type

core.http2_setup {
  sensitive = headers_mod.sensitiveHeaders,
  headers_mt = headers_mod.HEADERS_MT,
  single = headers_mod.SINGLE_VALUE,
}

local NO_ERROR, INTERNAL_ERROR, CANCEL = 0, 2, 8
local FLAG_END_STREAM = 0x1
local END_STREAM, WANT_TRAILERS = 1, 2
local HCAT_RESPONSE, HCAT_INFO, HCAT_TRAILERS = 1, 2, 3

-- The binding's stream methods, called directly on the per-request path (box:method() would
-- go through the box's __index, a C function, at each call).
local SB = core.http2_stream_methods
local box_respond, box_write, box_finish, box_id, box_setowner =
  SB.respond, SB.write, SB.finish, SB.id, SB.setowner

local M = {}

local function error_name(code)
  return constants.error_name and constants.error_name(code) or tostring(code)
end

-- ---- helpers ----------------------------------------------------------------------------------

local date_cache, date_sec = nil, -1
local function utc_date()
  local now = os.time()
  if now ~= date_sec then
    date_sec = now
    date_cache = os.date("!%a, %d %b %Y %H:%M:%S GMT", now)
  end
  return date_cache
end

-- Settings table -> { id, value, ... } for the binding.
local SETTING_IDS = {
  { "headerTableSize", 1 }, { "enablePush", 2 }, { "maxConcurrentStreams", 3 },
  { "initialWindowSize", 4 }, { "maxFrameSize", 5 }, { "maxHeaderListSize", 6 },
  { "enableConnectProtocol", 8 },
}
local function settings_list(s)
  local out = {}
  for _, e in ipairs(SETTING_IDS) do
    local v = s[e[1]]
    if v ~= nil then
      if type(v) == "boolean" then v = v and 1 or 0 end
      out[#out + 1] = e[2]
      out[#out + 1] = v
    end
  end
  if s.customSettings then
    for id, v in pairs(s.customSettings) do
      out[#out + 1] = id
      out[#out + 1] = v
    end
  end
  return out
end

local function check_int_option(options, name, min, max)
  local v = options[name]
  if v == nil then return end
  if type(v) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("options." .. name, "number", v), 3)
  end
  if v < min or (max and v > max) then
    error(errors.ERR_OUT_OF_RANGE("options." .. name, (max and (">= " .. min .. " and <= " .. max)
      or (">= " .. min)), v), 3)
  end
end

-- The options the binding reads, from Node's createServer/connect options.
local function native_options(options, is_server)
  options = options or {}
  if type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  for _, k in ipairs { "maxDeflateDynamicTableSize", "maxSettings", "maxSessionMemory",
    "maxHeaderListPairs", "maxOutstandingPings", "maxSendHeaderBlockLength",
    "peerMaxConcurrentStreams", "maxSessionInvalidFrames", "maxSessionRejectedStreams",
    "maxReservedRemoteStreams" } do
    check_int_option(options, k, 0)
  end
  local s = settings_mod.validate(options.settings or {})
  local user = {}
  for k, v in pairs(s) do user[k] = v end
  -- Large windows unless the user says otherwise: Node's 64 KiB window is what made it slow.
  if user.initialWindowSize == nil then user.initialWindowSize = 8 * 1024 * 1024 end
  if is_server == false and user.enablePush == nil then user.enablePush = true end
  local pairs_limit = options.maxHeaderListPairs or 128
  if pairs_limit < 4 then pairs_limit = 4 end
  return {
    settings = settings_list(user),
    maxHeaderListPairs = pairs_limit,
    maxHeaderListSize = s.maxHeaderListSize or 65535,
    maxReservedRemoteStreams = options.maxReservedRemoteStreams,
    peerMaxConcurrentStreams = options.peerMaxConcurrentStreams,
    maxSendHeaderBlockLength = options.maxSendHeaderBlockLength,
    maxSettings = options.maxSettings,
    maxSessionInvalidFrames = options.maxSessionInvalidFrames,
    maxSessionRejectedStreams = options.maxSessionRejectedStreams,
    -- MB, at least 1 (Node's updateOptionsBuffer); the binding makes it bytes (x 1e6).
    maxSessionMemory = options.maxSessionMemory and math.max(1, options.maxSessionMemory),
    maxDeflateDynamicTableSize = options.maxDeflateDynamicTableSize,
    -- Node's numbering (NONE 0, ALIGNED/CALLBACK 1, MAX 2) -> the core's (0 none, 1 max, 2 aligned).
    paddingStrategy = ({ [0] = 0, [1] = 2, [2] = 1 })[options.paddingStrategy or 0] or 0,
  }, s
end

-- ---- the socket proxy -------------------------------------------------------------------------

local FORBIDDEN = { destroy = true, emit = true, ["end"] = true, finish = true, pause = true,
  read = true, resume = true, write = true, setEncoding = true, setKeepAlive = true,
  setNoDelay = true }

local function socket_proxy(session)
  return setmetatable({}, {
    __name = "Http2SessionSocket",
    __index = function(_, k)
      if FORBIDDEN[k] then
        return function() error(errors.ERR_HTTP2_NO_SOCKET_MANIPULATION(), 2) end
      end
      local box = rawget(session, "_box")
      local duplex = rawget(session, "_duplex") -- createConnection's Duplex: its own addresses
      if duplex and (k:find("^remote") or k:find("^local")) then return duplex[k] end
      if k == "remoteAddress" or k == "remotePort" or k == "remoteFamily" then
        local a = box and box:address(true)
        if not a then return nil end
        return (k == "remoteAddress" and a.address) or (k == "remotePort" and a.port) or a.family
      elseif k == "localAddress" or k == "localPort" or k == "localFamily" then
        local a = box and box:address(false)
        if not a then return nil end
        return (k == "localAddress" and a.address) or (k == "localPort" and a.port) or a.family
      elseif k == "setTimeout" then
        return function(_, ms, cb) session:setTimeout(ms, cb) end
      elseif k == "ref" then
        return function() session:ref() end
      elseif k == "unref" then
        return function() session:unref() end
      elseif k == "destroyed" then
        return session.destroyed
      elseif k == "encrypted" then
        return session.encrypted
      end
      local tls_get = rawget(session, "_tlsSocketGet") -- h2 over TLS (lode.http2.secure)
      if tls_get then return tls_get(session, k) end
      return nil
    end,
    __newindex = function() error(errors.ERR_HTTP2_NO_SOCKET_MANIPULATION(), 2) end,
  })
end

-- ---- Http2Session -----------------------------------------------------------------------------

local Http2Session = EventEmitter:extend("Http2Session")
M.Http2Session = Http2Session

function Http2Session:constructor(box, session_type, options)
  EventEmitter.constructor(self)
  self._box = box
  self._type = session_type
  self._options = options or {}
  self._streams = {}
  self._nstreams = 0
  self._pings = {}
  self._settings_cbs = {}
  self._pendingSettingsAck = 1 -- the first SETTINGS
  self.type = session_type
  box:setowner(self)
  if metrics.on() then metrics.session_start(self) end
end

-- Defaults every session starts with, read through the class until one changes them: an idle
-- session's table stays at 16 hash slots instead of 32 (see bench/README.md, idle connections).
Http2Session.closed = false
Http2Session.destroyed = false
Http2Session.connecting = false
Http2Session.encrypted = false
Http2Session.alpnProtocol = "h2c"
Http2Session._goaway_received = false

Http2Session:getter("socket", function(self)
  local p = rawget(self, "_socket")
  if not p then
    p = socket_proxy(self)
    rawset(self, "_socket", p)
  end
  return p
end)
Http2Session:getter("pendingSettingsAck", function(self) return self._pendingSettingsAck > 0 end)
Http2Session:getter("localSettings", function(self)
  if self.destroyed then return {} end
  return self._box:settings_table(false) or {}
end)
Http2Session:getter("remoteSettings", function(self)
  if self.destroyed then return {} end
  return self._box:settings_table(true) or {}
end)
Http2Session:getter("state", function(self)
  if self.destroyed then return {} end
  return self._box:state()
end)
Http2Session:getter("originSet", function(self)
  if not self.encrypted or self.destroyed then return nil end
  return require("lode.http2.secure").originSet(self)
end)


-- A closed session goes once its last stream has (rawget: `closed` defaults to false on the
-- class, reached through its __index function, and this runs per request).
local function maybe_destroy(session)
  if rawget(session, "closed") and session._nstreams == 0 then session:destroy() end
end

local function session_activity(session)
  local t = rawget(session, "_timer")
  if t then t:refresh() end
end
Http2Session._activity = session_activity

-- A session's open streams (destroyed with it). Local functions: they run per request, and a
-- method call on a session goes through its class's __index function (it has getters).
local function track(session, stream)
  session._streams[stream] = true
  session._nstreams = session._nstreams + 1
end
Http2Session._track = track

local function untrack(session, stream)
  local streams = session._streams
  if streams[stream] then
    streams[stream] = nil
    session._nstreams = session._nstreams - 1
    session_activity(session)
    maybe_destroy(session)
  end
end
Http2Session._untrack = untrack

-- setTimeout of sessions and streams: an unreferenced timer that emits 'timeout' on the object
-- (activity refreshes it), replaced by each call; 0 turns it off.
local function set_timeout(obj, ms, cb)
  if type(ms) ~= "number" then error(errors.ERR_INVALID_ARG_TYPE("msecs", "number", ms), 2) end
  if cb ~= nil and type(cb) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2)
  end
  local t = rawget(obj, "_timer")
  if t then timers.clearTimeout(t); obj._timer = nil end
  if ms > 0 then
    obj._timer = timers.setTimeout(function()
      obj._timer = nil
      obj:emit("timeout")
    end, ms)
    obj._timer:unref()
  end
  if cb then obj:on("timeout", cb) end
  return obj
end

Http2Session.setTimeout = set_timeout

function Http2Session:ref() if not self.destroyed then self._box:ref(true) end end
function Http2Session:unref() if not self.destroyed then self._box:ref(false) end end

function Http2Session:setLocalWindowSize(size)
  if self.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 2) end
  if type(size) ~= "number" then error(errors.ERR_INVALID_ARG_TYPE("windowSize", "number", size), 2) end
  if math_type(size) ~= "integer" and size ~= math.floor(size) then
    error(errors.ERR_OUT_OF_RANGE("windowSize", "an integer", size), 2)
  end
  if size < 0 or size > 2147483647 then
    error(errors.ERR_OUT_OF_RANGE("windowSize", ">= 0 && <= 2147483647", size), 2)
  end
  local ok, msg, code = self._box:set_local_window_size(math.tointeger(size))
  if not ok then self:destroy(errors.nghttp(code, nil)) end
  return msg
end

function Http2Session:ping(payload, cb)
  if self.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 2) end
  if type(payload) == "function" then payload, cb = nil, payload end
  if payload ~= nil and type(payload) ~= "string" then
    error(errors.ERR_INVALID_ARG_TYPE("payload", { "Buffer", "TypedArray", "DataView" }, payload), 2)
  end
  if payload ~= nil and #payload ~= 8 then error(errors.ERR_HTTP2_PING_LENGTH(), 2) end
  if type(cb) ~= "function" then error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2) end
  -- As Node 20: before 'connect' (the preface is not out yet) or once closing, the ping is not
  -- sent and its callback gets ERR_HTTP2_PING_CANCEL on the next tick; nothing is returned.
  if self.connecting or self.closed then
    nextTick(cb, errors.ERR_HTTP2_PING_CANCEL())
    return nil
  end
  local max = self._options.maxOutstandingPings or 10
  if #self._pings >= max then
    nextTick(cb, errors.ERR_HTTP2_PING_CANCEL())
    return false
  end
  if payload == nil then payload = string.pack(">d", core.hrtime() / 1e6) end
  local ok = self._box:ping(payload)
  if not ok then
    nextTick(cb, errors.ERR_HTTP2_PING_CANCEL())
    return false
  end
  self._pings[#self._pings + 1] = { cb = cb, start = core.hrtime(), payload = payload }
  return true
end

function Http2Session:settings(s, cb)
  if self.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 2) end
  if type(s) == "function" then s, cb = nil, s end
  local v = settings_mod.validate(s or {})
  if cb ~= nil and type(cb) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2)
  end
  if self._pendingSettingsAck >= (self._options.maxPendingAck or 10) then
    error(errors.ERR_HTTP2_MAX_PENDING_SETTINGS_ACK(), 2)
  end
  self._pendingSettingsAck = self._pendingSettingsAck + 1
  self._settings_cbs[#self._settings_cbs + 1] = { cb = cb or false, start = core.hrtime() }
  self._box:settings(settings_list(v))
end

function Http2Session:goaway(code, last, opaque)
  if self.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 2) end
  if code ~= nil and type(code) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("code", "number", code), 2)
  end
  if last ~= nil and type(last) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("lastStreamID", "number", last), 2)
  end
  if opaque ~= nil and type(opaque) ~= "string" then
    error(errors.ERR_INVALID_ARG_TYPE("opaqueData", { "Buffer", "TypedArray", "DataView" }, opaque), 2)
  end
  self._goaway_sent = true
  self._box:goaway(code or NO_ERROR, last, opaque)
end

function Http2Session:close(cb)
  if self.closed or self.destroyed then return end
  self.closed = true
  if type(cb) == "function" then self:once("close", cb) end
  self._goaway_sent = true
  self._box:goaway(NO_ERROR)
  maybe_destroy(self)
end

function Http2Session:destroy(err, code)
  if self.destroyed then return end
  if type(err) == "number" then
    code = err
    err = code ~= NO_ERROR and errors.ERR_HTTP2_SESSION_ERROR(code) or nil
  end
  if code == nil then code = err ~= nil and INTERNAL_ERROR or NO_ERROR end
  self.destroyed = true
  self.closed = true
  self._destroy_err = err
  self._destroy_code = code
  local t = rawget(self, "_timer")
  if t then timers.clearTimeout(t); self._timer = nil end
  -- Streams go first, with the session's error, in the order they were opened (Node's Map).
  local list = {}
  for s in pairs(self._streams) do list[#list + 1] = s end
  table.sort(list, function(a, b) return (a.id or 0) < (b.id or 0) end)
  -- The frames Node 20 sends: each stream's reset submits RST_STREAM(code) after flushing what
  -- was queued (so the previous stream's reset goes out), then Http2Session::Close terminates the
  -- session, GOAWAY(code) last: the last stream's RST_STREAM, still queued, is dropped. Here the
  -- session is terminated before the last stream still open is reset, to the same effect.
  local box = self._box
  local goaway = box:is_open() and (not self._goaway_sent or code ~= NO_ERROR)
  local last
  for i = #list, 1, -1 do
    local s = list[i]
    if s.id ~= nil and not rawget(s, "_h2closed") then last = s; break end
  end
  for _, s in ipairs(list) do
    if s == last and goaway then
      goaway = false
      box:terminate(code)
      self._goaway_sent = true
    end
    s:destroy(err)
  end
  -- Pending pings and settings callbacks are cancelled.
  local pings = self._pings
  self._pings = {}
  for _, p in ipairs(pings) do
    nextTick(p.cb, errors.ERR_HTTP2_PING_CANCEL())
  end
  if box:is_open() then
    if goaway then box:terminate(code) end
    self._goaway_sent = true
    box:shutdown()
  else
    self:_emitClose()
  end
end

-- A server session leaves its server's set on its 'close' tick, before its 'close' listeners run
-- (Node tracks its sessions without a listener either: none is added per session).
local function server_session_closed(server, session)
  server._sessions[session] = nil
  server._nsessions = server._nsessions - 1
  server:_maybeClosed()
end

function Http2Session:_emitClose()
  if self._close_emitted then return end
  self._close_emitted = true
  local err = self._destroy_err
  nextTick(function()
    if err ~= nil then self:emit("error", err) end
    local server = rawget(self, "server")
    if server and server._sessions[self] then server_session_closed(server, self) end
    self:emit("close")
  end)
end

-- ---- native session events ----

function Http2Session:_onsettings(ack)
  self:_activity()
  if ack then
    if self._pendingSettingsAck > 0 then self._pendingSettingsAck = self._pendingSettingsAck - 1 end
    local entry = table.remove(self._settings_cbs, 1)
    local ls = self.localSettings
    if entry and entry.cb then
      entry.cb(nil, ls, (core.hrtime() - entry.start) / 1e6)
    end
    self:emit("localSettings", ls)
  else
    local rs = self.remoteSettings
    self._peer_push = rs.enablePush
    self:emit("remoteSettings", rs)
  end
end

function Http2Session:_onping(payload, ack)
  self:_activity()
  if ack then
    local p = table.remove(self._pings, 1)
    local sp = rawget(self, "_perf")
    if sp and p then sp.pingRTT = (core.hrtime() - p.start) / 1e6 end
    if p then p.cb(nil, (core.hrtime() - p.start) / 1e6, payload) end
  else
    self:emit("ping", payload)
  end
end

function Http2Session:_ongoaway(code, last, opaque)
  self._goaway_received = true
  self._goaway_code = code
  self:emit("goaway", code, last, opaque)
  if code == NO_ERROR then
    self:close()
  else
    self:destroy(errors.ERR_HTTP2_SESSION_ERROR(code), NO_ERROR)
  end
end

-- As Node's onFrameError: after 'frameError' the session is closed (on an immediate, which
-- leaves time for a GOAWAY already on its way).
local function close_after_frame_error(session)
  timers.setImmediate(function() if not session.closed then session:close() end end)
end

function Http2Session:_onframeerror(ftype, code)
  if self.destroyed then return end
  self:emit("frameError", ftype, code, 0)
  close_after_frame_error(self)
end

function Http2Session:_onerror(code, name, message)
  -- As Node's socketOnError: once the peer sent GOAWAY, its closing the connection is within its
  -- rights, no error (Node sees ECONNRESET on a read; a write here may see EPIPE first).
  if (name == "ECONNRESET" or name == "EPIPE") and rawget(self, "_goaway_code") ~= nil then
    return self:destroy()
  end
  local err
  if name == "ERR_HTTP2_TOO_MANY_INVALID_FRAMES" then
    err = errors.nghttp(code, name)
  elseif code > -500 then
    err = errors.uv(name, "read")
  else
    err = errors.nghttp(code)
    err.message = message
  end
  self:destroy(err)
end

function Http2Session:_onclose()
  if not self.destroyed then
    self.destroyed = true
    self.closed = true
    -- The transport is gone: streams still open end with CANCEL (Node's socketOnClose).
    self._goaway_code = nil
    self._destroy_code = CANCEL
    local list = {}
    for s in pairs(self._streams) do list[#list + 1] = s end
    for _, s in ipairs(list) do s:destroy() end
  end
  if rawget(self, "_perf") then metrics.session_end(self) end
  self:_emitClose()
end

-- ---- ServerHttp2Session ----

local ServerHttp2Session = Http2Session:extend("ServerHttp2Session")
M.ServerHttp2Session = ServerHttp2Session

function ServerHttp2Session:constructor(box, server)
  Http2Session.constructor(self, box, constants.NGHTTP2_SESSION_SERVER or 0, server._options)
  self.server = server
end

function ServerHttp2Session:altsvc(alt, origin_or_stream)
  return require("lode.http2.altsvc").altsvc(self, alt, origin_or_stream)
end
-- An ALTSVC frame from the server (client sessions): 'altsvc' (alt, origin, streamId).
function Http2Session:_onaltsvc(alt, origin, stream_id) self:emit("altsvc", alt, origin, stream_id) end
function ServerHttp2Session:origin(...) return require("lode.http2.secure").origin(self, ...) end

-- ---- ClientHttp2Session ----

local ClientHttp2Session = Http2Session:extend("ClientHttp2Session")
M.ClientHttp2Session = ClientHttp2Session

function ClientHttp2Session:constructor(box, options, authority, host, port)
  Http2Session.constructor(self, box, constants.NGHTTP2_SESSION_CLIENT or 1, options)
  self.connecting = true
  self._authority = authority
  self._host = host
  self._port = port
end

function ClientHttp2Session:_onconnect(status, name)
  if status then
    self.connecting = false
    self:destroy(errors.uv(name, "connect"))
    return
  end
  self.connecting = false
  self:emit("connect", self, self.socket)
  local q = rawget(self, "_pending_ready")
  self._pending_ready = nil
  for _, stream in ipairs(q or {}) do
    stream.id = stream._ready_id
    stream.pending = false
    if not stream.destroyed then
      if rawget(self, "closed") then
        -- As Node's requestOnConnect: closed while connecting, the request does not go out (its
        -- HEADERS, still queued, are cancelled by the reset).
        stream:destroy(errors.ERR_HTTP2_GOAWAY_SESSION())
      else
        stream:emit("ready")
      end
    end
  end
end

-- ---- Http2Stream ------------------------------------------------------------------------------

local Http2Stream = Duplex:extend("Http2Stream")
M.Http2Stream = Http2Stream

-- Streams are made once per request, so they are kept small: their properties are plain
-- fields (a class getter would route every field write of the Duplex constructor through
-- __newindex), defaults live on the class, and `state` is the binding's box itself, whose
-- __index reads nghttp2's stream state for the six documented fields.
Http2Stream.aborted = false
Http2Stream._h2closed = false
Http2Stream.pending = false
Http2Stream.headersSent = false
Http2Stream.endAfterHeaders = false
Http2Stream._paused_native = false
Http2Stream._didRead = false
Http2Stream.bufferSize = 0
Http2Stream._wq_head = 1
Http2Stream._wq_tail = 0

local DUPLEX_OPTIONS = { allowHalfOpen = true, decodeStrings = false, autoDestroy = false }

-- A stream per request runs the same Duplex constructor with the same options: run it once into
-- a template, and compile the template into a function whose table constructor makes each new
-- stream at its final size with every field in place (one NEWTABLE, no rehash per power of two,
-- no __newindex per field). The maker is remade when the default high-water mark changes; if the
-- constructor ever leaves a value that is not a literal (per-instance state), the generic path runs.
local default_hwm = require("lode.stream").getDefaultHighWaterMark
local make_onwrite = require("lode.stream")._makeOnwrite
local stream_makers, template_hwm = {}, nil
-- Fields most streams get right after construction: reserved (as nil) in the constructor's size.
local LATER_FIELDS = { "_box", "session", "id", "state", "_method", "pushAllowed", "_authority",
  "_events", "headersSent", "sentHeaders", "_end_sent", "rstCode", "_finalCalled", "_prefinished",
  "endAfterHeaders", "_h2closed", "bufferSize" }
-- Duplex fields that DUPLEX_OPTIONS fixes and a request seldom writes: they live on the class
-- (same value, found through __index) rather than in every stream, which keeps a stream's table
-- at 64 slots instead of 128. A write still lands on the instance, as before.
local CLASS_FIELDS = { "_autoDestroy", "_decodeStrings", "_defaultEncoding", "_emitClose",
  "allowHalfOpen", "readableObjectMode", "writableObjectMode", "_decoder", "writableCorked" }

local function literal(v)
  local tv = type(v)
  if tv == "string" then return string.format("%q", v) end
  if tv == "boolean" then return tostring(v) end
  if tv == "number" and math_type(v) == "integer" then return string.format("%d", v) end
  if tv == "number" and v == v and v ~= math.huge and v ~= -math.huge then
    return string.format("%.17g", v)
  end
  return nil
end

local function compile_maker(cls)
  local t = setmetatable({}, Http2Stream)
  Duplex.constructor(t, DUPLEX_OPTIONS)
  setmetatable(t, nil)
  -- The write callback closes over its stream: each stream gets its own.
  if not make_onwrite then return false end
  t._onwrite = nil
  for _, k in ipairs(CLASS_FIELDS) do
    local v = t[k]
    if v ~= nil and literal(v) then
      if rawget(Http2Stream, k) == nil then rawset(Http2Stream, k, v) end
      if cls[k] == v then t[k] = nil end
    end
  end
  local parts, seen = {}, {}
  for k, v in next, t do
    local lk, lv = literal(k), literal(v)
    if type(k) ~= "string" or not lk or not lv then return false end
    parts[#parts + 1] = "[" .. lk .. "]=" .. lv
    seen[k] = true
  end
  for _, k in ipairs(LATER_FIELDS) do
    if not seen[k] then parts[#parts + 1] = "[" .. literal(k) .. "]=nil" end
  end
  parts[#parts + 1] = "_onwrite=false"
  local src = "local setmetatable, make_onwrite = ...\n" ..
    "return function(cls)\n  local o = setmetatable({" .. table.concat(parts, ",") .. "}, cls)\n" ..
    "  o._onwrite = make_onwrite(o)\n  return o\nend"
  local chunk = load(src, "=stream_maker", "t", {})
  return chunk and chunk(setmetatable, make_onwrite) or false
end

local function stream_shell(cls)
  local hwm = default_hwm(false)
  if hwm ~= template_hwm then stream_makers, template_hwm = {}, hwm end
  local maker = stream_makers[cls]
  if maker == nil then
    maker = compile_maker(cls)
    stream_makers[cls] = maker
  end
  if not maker then return setmetatable({}, cls) end
  return maker(cls)
end

local function stream_new(cls)
  return function(...)
    local obj = stream_shell(cls)
    obj:constructor(...)
    return obj
  end
end

function Http2Stream:constructor(session, box)
  -- Built by stream_shell already has the Duplex fields.
  if rawget(self, "writableHighWaterMark") == nil then Duplex.constructor(self, DUPLEX_OPTIONS) end
  self._box = box
  self.session = session
  self.id = box:id()
  self.state = box
  box:setowner(self)
  track(session, self)
  if rawget(session, "_perf") then metrics.stream_start(self) end
end


-- Readable side: data from the peer; a full buffer stops giving the window back.
function Http2Stream:_ondata(chunk)
  self.session:_activity()
  local p = rawget(self, "_perf")
  if p then metrics.mark(p, "timeToFirstByte"); p.bytesRead = p.bytesRead + #chunk end
  local t = rawget(self, "_timer") -- setTimeout is an idle timeout: data is activity
  if t then t:refresh() end
  if not self:push(chunk) and not self._paused_native then
    self._paused_native = true
    self._box:pause(true)
  end
end

function Http2Stream:_read()
  self._didRead = true
  if self._paused_native then
    self._paused_native = false
    self._box:pause(false)
  end
end

function Http2Stream:_onend()
  self:push(nil)
end

-- Writable side.
function Http2Stream._proceed() end

-- Text written in another encoding becomes its bytes (decodeStrings is off, so the Writable
-- hands the string over as the user gave it).
local function to_bytes(chunk, enc)
  if enc == nil or enc == "utf8" or enc == "buffer" or enc == "utf-8" then return chunk end
  return encoding.from(chunk, enc)
end

function Http2Stream:_write(chunk, enc, cb)
  -- A lean stream turning into a Duplex replays its finish(chunk): the bytes went already.
  if rawget(self, "_replaying") then cb(); return end
  chunk = to_bytes(chunk, enc)
  if self.destroyed or self._h2closed then
    cb(errors.ERR_HTTP2_INVALID_STREAM())
    return
  end
  if not self.headersSent then self:_proceed() end
  local box = self._box
  local p = rawget(self, "_perf")
  if p then metrics.mark(p, "timeToFirstByteSent"); p.bytesWritten = p.bytesWritten + #chunk end
  -- The callback waits for the bytes to leave only while the peer's window holds them back;
  -- only then does the binding report the chunk done (_onwritten).
  local queued = box:queued() + #chunk
  local wait = queued > self.writableHighWaterMark
  local ok, msg = box:write(chunk, false, wait)
  if not ok then
    cb(errors.ERR_HTTP2_INVALID_STREAM())
    return msg
  end
  self.bufferSize = queued
  if wait then
    local t = self._wq_tail + 1
    self._wq_tail = t
    local cbs = self._writecbs
    if not cbs then cbs = {}; self._writecbs = cbs end
    cbs[t] = cb
  else
    cb()
  end
end

function Http2Stream:_writev(chunks, cb)
  local n = #chunks
  for i = 1, n do
    local c, enc = chunks[i], nil
    if type(c) == "table" then c, enc = c.chunk, c.encoding end
    if i < n then
      self:_write(c, enc, function() end)
    else
      self:_write(c, enc, cb)
    end
  end
end

function Http2Stream:_onwritten()
  self.bufferSize = self._box:queued()
  local h = self._wq_head
  if h > self._wq_tail then return end
  local cb = self._writecbs[h]
  self._writecbs[h] = nil
  self._wq_head = h + 1
  if cb then cb() end
end

function Http2Stream:_final(cb)
  if not self.headersSent and not self._h2closed and not self.destroyed then self:_proceed() end
  if not self._end_sent and not self._h2closed then
    self._end_sent = true
    self._box:finish()
  end
  cb()
end

function Http2Stream:_onwanttrailers()
  self._want_trailers_pending = true
  self:emit("wantTrailers")
end

function Http2Stream:sendTrailers(headers)
  if self.destroyed or self._h2closed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  if self.sentTrailers then error(errors.ERR_HTTP2_TRAILERS_ALREADY_SENT(), 2) end
  if not self._want_trailers_pending then error(errors.ERR_HTTP2_TRAILERS_NOT_READY(), 2) end
  if headers == nil then headers = {} end
  if type(headers) ~= "table" then error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), 2) end
  local names, values, flags, n = to_nv(headers, headers_mod.assert_valid_pseudo_trailer)
  self.sentTrailers = headers
  self._box:trailers(names, values, flags, n)
end

-- The first response HEADERS are 'response' ('push' on a pushed stream), later ones 'headers'.
local function emit_response(self, headers, flags, raw)
  if self._response_seen then
    self:emit("headers", headers, flags, raw)
  else
    self._response_seen = true
    self:emit(self._is_push and "push" or "response", headers, flags, raw)
  end
end

function Http2Stream:_onheaders(headers, flags, cat, raw)
  self.session:_activity()
  local p = rawget(self, "_perf")
  if p then metrics.mark(p, "timeToFirstHeader") end
  local t = rawget(self, "_timer")
  if t then t:refresh() end
  if cat == HCAT_TRAILERS then
    self:emit("trailers", headers, flags, raw)
  elseif cat == HCAT_INFO then
    if headers[":status"] == 100 then self:emit("continue") end
    self:emit("headers", headers, flags, raw)
  elseif cat == HCAT_RESPONSE then
    emit_response(self, headers, flags, raw)
  end
  if flags & FLAG_END_STREAM ~= 0 then
    if cat == HCAT_RESPONSE then self.endAfterHeaders = true end
    self:push(nil)
  end
end

function Http2Stream:_onframeerror(ftype, code)
  local session = self.session
  if session and session.destroyed then return end
  self:emit("frameError", ftype, code, self.id)
  if session then close_after_frame_error(session) end
end

-- |abort|: 'aborted' whatever the code, as Node's closeStream does when the stream is destroyed.
local function close_stream(self, code, abort)
  self._h2closed = true
  self.pushAllowed = false
  self.rstCode = code
  local t = rawget(self, "_timer")
  if t then timers.clearTimeout(t); self._timer = nil end
  if not self.writableEnded then
    if not self.aborted and (code ~= NO_ERROR or abort) then
      self.aborted = true
      self:emit("aborted")
    end
    if not self.writableEnded then
      self._end_sent = true
      self:finish()
    end
  end
end

function Http2Stream:_onclose(code)
  -- A stream destroyed with its code keeps it (Node's onStreamClose ignores destroyed streams):
  -- the last one of a destroyed session is closed by the core later, with another code.
  if self.destroyed and self.rstCode ~= nil then return end
  self.rstCode = code
  if self.destroyed then return end
  if not self._h2closed then close_stream(self, code) end
  -- Pending write callbacks complete: the bytes will never be sent (or were).
  local cbs = self._writecbs
  if cbs then
    for i = self._wq_head, self._wq_tail do
      local cb = cbs[i]
      cbs[i] = nil
      if cb then cb() end
    end
    self._wq_head, self._wq_tail = 1, 0
  end
  local events = self._events
  if not self.readable or code ~= NO_ERROR then
    self:destroy()
  elseif self._ended and self.readableLength == 0 and self.readableFlowing == nil and
      (events == nil or (events["end"] == nil and events.data == nil and events.readable == nil)) then
    -- A request body that ended and that nobody reads or waits for: draining it would only emit
    -- events nobody hears. Straight to destroy (and 'close').
    self:destroy()
  else
    self:once("end", function() self:destroy() end)
    self:push(nil)
    if self.session._type == 0 and not self._didRead and self.readableFlowing == nil then
      self:resume()
    else
      self:read(0)
    end
  end
end

function Http2Stream:close(code, cb)
  if type(code) == "function" then code, cb = nil, code end
  code = code or NO_ERROR
  if type(code) ~= "number" then error(errors.ERR_INVALID_ARG_TYPE("code", "number", code), 2) end
  if code < 0 or code > 0xffffffff then
    error(errors.ERR_OUT_OF_RANGE("code", ">= 0 && <= 4294967295", code), 2)
  end
  if cb ~= nil and type(cb) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2)
  end
  if self._h2closed then return end
  if cb then self:once("close", cb) end
  close_stream(self, code)
  self._box:rst(code)
end

-- The 'stream' handler raised (reported as uncaught already): reset with INTERNAL_ERROR, without
-- a second error for the same fault.
function Http2Stream:_onhandlererror()
  self._handler_failed = true
  if not self._h2closed then
    close_stream(self, INTERNAL_ERROR)
    self._box:rst(INTERNAL_ERROR)
  end
end

function Http2Stream:priority(options)
  if self.destroyed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  options = options or {}
  -- Node's validatePriorityOptions; the weight is clamped to 1..256 as Node's Http2Priority does.
  local w, p = options.weight, options.parent
  if w ~= nil and type(w) ~= "number" then error(errors.ERR_INVALID_ARG_VALUE("options.weight", w), 2) end
  if p ~= nil and (type(p) ~= "number" or p < 0) then
    error(errors.ERR_INVALID_ARG_VALUE("options.parent", p), 2)
  end
  for _, k in ipairs { "exclusive", "silent" } do
    local v = options[k]
    if v ~= nil and type(v) ~= "boolean" then error(errors.ERR_INVALID_ARG_VALUE("options." .. k, v), 2) end
  end
  if p == self.id then error(errors.ERR_HTTP2_STREAM_SELF_DEPENDENCY(), 2) end
  w = math.tointeger(math.floor(w or 16))
  if w < 1 then w = 1 elseif w > 256 then w = 256 end
  self._box:priority(math.tointeger(math.floor(p or 0)), w, options.exclusive, options.silent)
end

Http2Stream.setTimeout = set_timeout

function Http2Stream:_destroy(err, cb)
  local code = self.rstCode
  if not self._h2closed then
    -- The handle still lives: reset it, with Node's code: the session's (the GOAWAY code it
    -- received, else the code it was destroyed with, else NO_ERROR); with an error, that code if
    -- not NO_ERROR, else CANCEL for an abort and INTERNAL_ERROR for any other error.
    if code == nil then
      local session = self.session
      code = rawget(session, "_goaway_code")
      if code == nil or code == NO_ERROR then code = rawget(session, "_destroy_code") or NO_ERROR end
      if err ~= nil and code == NO_ERROR then
        code = (type(err) == "table" and err.code == "ABORT_ERR") and CANCEL or INTERNAL_ERROR
      end
    end
    close_stream(self, code, true)
    self._box:rst(code)
  end
  local t = rawget(self, "_timer")
  if t then timers.clearTimeout(t); self._timer = nil end
  code = self.rstCode or NO_ERROR
  if err == nil and code ~= NO_ERROR and code ~= CANCEL and not self._handler_failed then
    err = errors.ERR_HTTP2_STREAM_ERROR(error_name(code))
  end
  untrack(self.session, self)
  if rawget(self, "_perf") then metrics.stream_end(self) end
  cb(err)
  -- Duplex emits 'close' (emitClose) after _destroy.
end

-- ---- ServerHttp2Stream ----

local ServerHttp2Stream = Http2Stream:extend("ServerHttp2Stream")
M.ServerHttp2Stream = ServerHttp2Stream
ServerHttp2Stream.new = stream_new(ServerHttp2Stream)
ServerHttp2Stream._push_stream = false

function ServerHttp2Stream:constructor(session, box, headers)
  Http2Stream.constructor(self, session, box)
  self._method = headers[":method"]
  self.pushAllowed = session._peer_push ~= false
end


local HEAD_FORBIDS_BODY = { [204] = true, [205] = true, [304] = true }

function ServerHttp2Stream:_proceed()
  self:respond()
end

local function validate_status(status, level)
  if status == nil then return 200 end
  if type(status) == "string" then status = tonumber(status) or status end
  if type(status) ~= "number" or status < 100 or status > 599 or math.floor(status) ~= status then
    error(errors.ERR_HTTP2_STATUS_INVALID(status), level)
  end
  status = math.tointeger(status)
  if status == 101 then error(errors.ERR_HTTP2_STATUS_101(), level) end
  return status
end

-- The last response headers that passed validation, by content: a handler that answers every
-- request with the same table literal pays for to_nv once. Only plain values (strings, numbers,
-- booleans) are compared, so equal pairs mean to_nv would give the same lists; those lists are
-- only read by the binding (nghttp2 copies them), so they are reused.
local resp_cache = { count = -1 }

local function shape_matches(c, tbl)
  local keys, vals, i = c.keys, c.vals, 0
  for k, v in next, tbl do
    i = i + 1
    if keys[i] ~= k or vals[i] ~= v then return false end
  end
  return i == c.count
end

local function shape_store(c, tbl, status, names, values, flags, n, date)
  local keys, vals, i = {}, {}, 0
  for k, v in next, tbl do
    local tv = type(v)
    if (tv ~= "string" and tv ~= "number" and tv ~= "boolean") or v ~= v then
      c.count = -1
      return
    end
    i = i + 1
    keys[i], vals[i] = k, v
  end
  c.keys, c.vals, c.count = keys, vals, i
  c.status, c.names, c.values, c.flags, c.n, c.date = status, names, values, flags, n, date
end

-- Validates |headers| and |options| and hands the response headers to nghttp2. Returns whether
-- they end the stream, or nil, msg, code when the binding refused them. Errors point at the
-- caller of respond().
local function send_response(self, headers, options)
  if headers ~= nil and type(headers) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), 3)
  end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  headers = headers or {}
  local status, names, values, flags, n
  local rc = resp_cache
  if rc.count >= 0 and getmetatable(headers) == nil and shape_matches(rc, headers) then
    -- The same pairs as the last response that passed: the same lists (only the date changes).
    status, names, values, flags, n = rc.status, rc.names, rc.values, rc.flags, rc.n
    if rc.date then values[n] = utc_date() end
  else
    status = validate_status(headers[":status"], 4)
    if status < 200 then error(errors.ERR_HTTP2_INFO_STATUS_NOT_ALLOWED(), 3) end
    names, values, flags, n = to_nv(headers, headers_mod.assert_valid_pseudo_response)
    -- :status first, a date unless given.
    if headers[":status"] == nil then
      table.insert(names, 1, ":status")
      table.insert(values, 1, "200")
      if flags then table.insert(flags, 1, 0) end
      n = n + 1
    end
    local date = headers.date == nil and headers.Date == nil
    if date then
      n = n + 1
      names[n] = "date"
      values[n] = utc_date()
      if flags then flags[n] = 0 end
    end
    if getmetatable(headers) == nil then shape_store(rc, headers, status, names, values, flags, n, date) end
  end
  local end_stream = options ~= nil and options.endStream == true
  if HEAD_FORBIDS_BODY[status] or self._method == "HEAD" then end_stream = true end
  local sflags = 0
  if end_stream then sflags = END_STREAM end
  if options ~= nil and options.waitForTrailers then sflags = sflags | WANT_TRAILERS end
  local ok, msg, code = box_respond(self._box, names, values, flags, n, sflags)
  if not ok then return nil, msg, code end
  rawset(self, "headersSent", true)
  rawset(self, "sentHeaders", headers)
  return end_stream
end

function ServerHttp2Stream:respond(headers, options)
  if self.destroyed or self._h2closed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  if self.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  local end_stream, msg, code = send_response(self, headers, options)
  if end_stream == nil then
    self:destroy(errors.nghttp(code))
    return msg
  end
  if end_stream then
    self._end_sent = true
    if not self.writableEnded then self:finish() end
  end
end

function ServerHttp2Stream:additionalHeaders(headers)
  if self.destroyed or self._h2closed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  if self.headersSent then error(errors.ERR_HTTP2_HEADERS_AFTER_RESPOND(), 2) end
  if type(headers) ~= "table" then error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), 2) end
  local st = headers[":status"]
  if st ~= nil then
    st = tonumber(st)
    if st == 101 then error(errors.ERR_HTTP2_STATUS_101(), 2) end
    if st == nil or st < 100 or st >= 200 then
      error(errors.ERR_HTTP2_INVALID_INFO_STATUS(headers[":status"]), 2)
    end
  end
  local names, values, flags, n = to_nv(headers, headers_mod.assert_valid_pseudo_response)
  if st == nil then
    table.insert(names, 1, ":status"); table.insert(values, 1, "100")
    if flags then table.insert(flags, 1, 0) end
    n = n + 1
  end
  self.sentInfoHeaders = self.sentInfoHeaders or {}
  self.sentInfoHeaders[#self.sentInfoHeaders + 1] = headers
  self._box:info(names, values, flags, n)
end

function ServerHttp2Stream:pushStream(headers, options, cb)
  if type(options) == "function" then options, cb = nil, options end
  if type(cb) ~= "function" then error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2) end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2)
  end
  if self._push_stream then error(errors.ERR_HTTP2_NESTED_PUSH(), 2) end
  if self.destroyed or self._h2closed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  if self.session.remoteSettings.enablePush ~= true then error(errors.ERR_HTTP2_PUSH_DISABLED(), 2) end
  headers = headers or {}
  local copy = setmetatable({}, getmetatable(headers))
  for k, v in next, headers do copy[k] = v end
  if copy[":method"] == nil then copy[":method"] = "GET" end
  if copy[":path"] == nil then copy[":path"] = "/" end
  if copy[":scheme"] == nil then copy[":scheme"] = self.session._scheme or "http" end
  if copy[":authority"] == nil then
    copy[":authority"] = self._authority or "localhost"
  end
  local names, values, flags, n = to_nv(copy)
  local box, _, code = self._box:push(names, values, flags, n)
  if not box then
    local err = code == -509 and errors.ERR_HTTP2_OUT_OF_STREAMS() or errors.nghttp(code)
    nextTick(cb, err)
    return
  end
  local ps = ServerHttp2Stream.new(self.session, box, copy)
  ps._push_stream = true
  ps.pushAllowed = false
  ps:push(nil) -- a pushed stream has no request body
  nextTick(cb, nil, ps, copy, 0)
end

-- ---- lean server streams ----
--
-- Most requests are a GET answered with respond() and finish(body): for them the Duplex (sixty
-- fields, three ticks of 'finish'/'end'/'close' nobody listens to) is pure cost. A request that
-- ended with its headers therefore starts as a lean stream: a small table whose respond() and
-- finish() go straight to the binding. Touching anything else (a listener, write(), a property
-- of the Duplex, pushStream, ...) turns it into the full ServerHttp2Stream first, replaying what
-- happened (the ended request body, the finish, the close) without sending anything again, so
-- from then on it is the stream it would have been.
-- The metatable of a lean object of class |cls| (the lean streams below): |api| answers its
-- methods and |answer(t, k)| (found, value) the fields it derives; any other read, and the write
-- of a field not in |fields|, makes the full object first (|inflate|), which then answers.
local function lean_metatable(cls, api, inflate, fields, answer)
  local mt = { super = cls, __name = cls.__name }
  mt.__index = function(t, k)
    local v = api[k]
    if v ~= nil then return v end
    local found
    found, v = answer(t, k)
    if found then return v end
    inflate(t)
    return t[k]
  end
  mt.__newindex = function(t, k, v)
    if not fields[k] then inflate(t) end
    rawset(t, k, v)
  end
  mt.__tostring = function(t)
    inflate(t)
    return tostring(t)
  end
  return mt
end

-- The events the binding delivers to a stream. Those |api| has no lean version of make the full
-- object first; all go on the metatable itself, where the binding looks (lode_raw_lookup).
local BINDING_EVENTS = { "_onheaders", "_ondata", "_onend", "_onwritten", "_onwanttrailers",
  "_onframeerror", "_onhandlererror", "_onclose" }

local function lean_events(mt, api, inflate)
  for _, name in ipairs(BINDING_EVENTS) do
    local f = api[name] or function(self, ...)
      inflate(self)
      return self[name](self, ...)
    end
    api[name], mt[name] = f, f
  end
end

local LEAN_API = {}

local function inflate(t)
  local ending, closed = t._lean_end, t._lean_closed
  setmetatable(t, ServerHttp2Stream)
  -- The lean state's fields go; Duplex's constructor resets destroyed and writableEnded.
  t._lean_end, t._lean_closed = nil, nil
  t.state = t._box
  Duplex.constructor(t, DUPLEX_OPTIONS)
  t:push(nil)
  if ending then
    t._end_sent = true
    t._replaying = true
    if ending == true then t:finish() else t:finish(ending) end
    t._replaying = nil
  end
  if closed then
    -- Its 'close' is past: a listener added now would never hear it in Node either.
    t._emitClose = false
    t:_onclose(closed)
  end
end

-- Fields a lean stream may be given (the compat layer's among them); a write of any other field
-- finds the full stream, so that the Duplex constructor cannot overwrite it later.
local LEAN_FIELDS = { rstCode = true, sentHeaders = true, _req = true, _res = true, emit = true,
  _compat_socket = true }

local Lean = lean_metatable(ServerHttp2Stream, LEAN_API, inflate, LEAN_FIELDS, function(t, k)
  if k == "_h2closed" then return true, t._lean_closed ~= false end
  if k == "_end_sent" then return true, t._lean_end ~= false end
  if k == "state" then return true, t._box end
  return false
end)

local function lean_ended(self, chunk)
  self._lean_end = chunk or true
  self.writableEnded = true
end

function LEAN_API.respond(self, headers, options)
  if self._lean_closed then error(errors.ERR_HTTP2_INVALID_STREAM(), 2) end
  if self.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  local end_stream, msg, code = send_response(self, headers, options)
  if end_stream == nil then
    inflate(self)
    self:destroy(errors.nghttp(code))
    return msg
  end
  if end_stream then lean_ended(self) end
end

function LEAN_API.finish(self, chunk, enc, cb)
  if enc == nil and cb == nil and not self._lean_end and not self._lean_closed
      and (chunk == nil or type(chunk) == "string") then
    if not self.headersSent then LEAN_API.respond(self) end
    if getmetatable(self) == Lean then
      local ok
      if chunk ~= nil and #chunk > 0 then
        ok = box_write(self._box, chunk, true)
      else
        ok = box_finish(self._box)
      end
      if ok then
        lean_ended(self, chunk)
        return self
      end
    end
  end
  if getmetatable(self) == Lean then inflate(self) end
  return self:finish(chunk, enc, cb)
end

-- The close of a lean stream that ended well needs nobody: it is only noted, for a later
-- inflate to replay.
function LEAN_API._onclose(self, code)
  if code == NO_ERROR and self._lean_end then
    self._lean_closed = code
    self.destroyed = true
    self.rstCode = code
    untrack(self.session, self)
    -- The compat layer's request and response hear of it through the emit it put on the stream.
    local emit = rawget(self, "emit")
    if emit then emit(self, "close") end
    return
  end
  inflate(self)
  return self:_onclose(code)
end

lean_events(Lean, LEAN_API, inflate)

-- A request that ended with its headers, on a session nobody measures: a lean stream.
local function lean_stream(session, box, headers)
  local t = setmetatable({
    _box = box, session = session, id = box_id(box), _method = headers[":method"],
    pushAllowed = session._peer_push ~= false, _authority = headers[":authority"] or headers.host,
    endAfterHeaders = true, headersSent = false, sentHeaders = nil, rstCode = nil,
    -- The lean state, in fields that are always there (a read finds them without __index); at
    -- most 16 fields in all, for a 16-slot table:
    _lean_end = false, _lean_closed = false, destroyed = false, writableEnded = false,
  }, Lean)
  box_setowner(box, t)
  track(session, t)
  return t
end

-- ---- ClientHttp2Stream ----

local ClientHttp2Stream = Http2Stream:extend("ClientHttp2Stream")
M.ClientHttp2Stream = ClientHttp2Stream
ClientHttp2Stream.new = stream_new(ClientHttp2Stream)

function ClientHttp2Stream:constructor(session, box)
  Http2Stream.constructor(self, session, box)
  self.headersSent = true
end

-- ---- lean client streams ----
--
-- The client's side of the same idea: a GET sent on a connected session starts as a small
-- EventEmitter that delivers 'response', 'data', 'end' and 'close' in Node's order (data as it
-- comes once a 'data' listener is there, 'end' and 'close' each on a later tick) without the
-- Duplex. Anything else it is asked for (pause, pipe, read, setEncoding, a 'readable' or
-- 'finish' listener, a Duplex property, close(), ...) turns it into the full ClientHttp2Stream
-- in the state it has reached, as the server's lean streams do.
local LC_API = {}
local ee_emit, ee_on, ee_once = EventEmitter.emit, EventEmitter.on, EventEmitter.once
-- Events a lean client stream stores and emits itself.
local LC_EVENTS = { response = true, headers = true, ["end"] = true, close = true, error = true,
  ready = true, data = true, aborted = true, trailers = true, continue = true, frameError = true }
-- Fields it (and EventEmitter, and request()) may write; any other write makes the full stream.
local LC_FIELDS = { _events = true, _eventNames = true, _maxListeners = true, sentHeaders = true,
  rstCode = true, endAfterHeaders = true, _response_seen = true }

local function inflate_client(t)
  local flowing, ended, end_emitted = t._lc_flowing, t._lc_ended, t._lc_end_emitted
  local closed, close_emitted = t._lc_closed, t._lc_close_emitted
  setmetatable(t, ClientHttp2Stream)
  t._lc_flowing, t._lc_ended, t._lc_end_emitted, t._lc_closed, t._lc_close_emitted = nil, nil, nil, nil, nil
  t._h2closed = nil
  Duplex.constructor(t, DUPLEX_OPTIONS)
  t:finish() -- the request ended with its headers (_end_sent: nothing more goes out)
  if flowing then
    t._dataListening = true
    t:resume()
  end
  if end_emitted then
    t._ended, t.readableEnded, t.readable = true, true, false
  elseif ended then
    t:push(nil)
  end
  if closed then
    if close_emitted then t._emitClose = false end
    t:_onclose(closed)
  end
end

-- EventEmitter's storage reads as absent until the first listener.
local LC_ABSENT = { _events = true, _eventNames = true, _maxListeners = true }
local LeanClient = lean_metatable(ClientHttp2Stream, LC_API, inflate_client, LC_FIELDS, function(_, k)
  return LC_ABSENT[k] == true, nil
end)

LC_API.emit = ee_emit
LC_API.listenerCount = EventEmitter.listenerCount
LC_API.getMaxListeners = EventEmitter.getMaxListeners

local function lc_end_nt(t)
  if getmetatable(t) ~= LeanClient or t._lc_end_emitted then return end
  t._lc_end_emitted = true
  t.readableEnded = true
  ee_emit(t, "end")
end

local function lc_close_nt(t)
  if getmetatable(t) ~= LeanClient then return end
  t._lc_close_emitted = true
  ee_emit(t, "close")
end

-- 'end' comes once the response ended and somebody reads it (a 'data' listener).
local function lc_flow(t)
  if not t._lc_flowing then
    t._lc_flowing = true
    if t._lc_ended then nextTick(lc_end_nt, t) end
  end
end

local function lc_ended(t)
  if not t._lc_ended then
    t._lc_ended = true
    if t._lc_flowing then nextTick(lc_end_nt, t) end
  end
end

function LC_API.on(self, ev, fn)
  if not LC_EVENTS[ev] then
    inflate_client(self)
    return self:on(ev, fn)
  end
  ee_on(self, ev, fn)
  if ev == "data" and getmetatable(self) == LeanClient then lc_flow(self) end
  return self
end
LC_API.addListener = LC_API.on

function LC_API.once(self, ev, fn)
  if not LC_EVENTS[ev] then
    inflate_client(self)
    return self:once(ev, fn)
  end
  ee_once(self, ev, fn)
  if ev == "data" and getmetatable(self) == LeanClient then lc_flow(self) end
  return self
end

function LC_API._onheaders(self, headers, flags, cat, raw)
  if cat ~= HCAT_RESPONSE or rawget(self, "_timer") then
    inflate_client(self)
    return self:_onheaders(headers, flags, cat, raw)
  end
  session_activity(self.session)
  emit_response(self, headers, flags, raw)
  if flags & FLAG_END_STREAM ~= 0 then
    if getmetatable(self) ~= LeanClient then -- a listener made it a Duplex
      self.endAfterHeaders = true
      self:push(nil)
    else
      self.endAfterHeaders = true
      lc_ended(self)
    end
  end
end

function LC_API._ondata(self, chunk)
  if not self._lc_flowing then
    inflate_client(self)
    return self:_ondata(chunk)
  end
  session_activity(self.session)
  ee_emit(self, "data", chunk)
end

function LC_API._onend(self)
  lc_ended(self)
end

function LC_API._onclose(self, code)
  if code == NO_ERROR and self._lc_ended and self._lc_flowing then
    self._lc_closed = code
    self.destroyed, self.closed, self._h2closed = true, true, true
    self.rstCode = code
    untrack(self.session, self)
    nextTick(lc_close_nt, self)
    return
  end
  inflate_client(self)
  return self:_onclose(code)
end

lean_events(LeanClient, LC_API, inflate_client)

-- ---- session events that create streams ----

function ServerHttp2Session:_onstream(box, headers, flags, raw)
  session_activity(self)
  local stream
  if flags & FLAG_END_STREAM ~= 0 and not rawget(self, "_perf") then
    stream = lean_stream(self, box, headers)
  else
    stream = ServerHttp2Stream.new(self, box, headers)
    stream._authority = headers[":authority"] or headers.host
    if flags & FLAG_END_STREAM ~= 0 then
      stream.endAfterHeaders = true
      stream:push(nil)
    end
  end
  -- The server's forwarder is usually the only listener: emit on the server directly.
  local events = self._events
  local h = events and events.stream
  local server = self.server
  if h == server._stream_forward and server then
    server:emit("stream", stream, headers, flags, raw)
  else
    self:emit("stream", stream, headers, flags, raw)
  end
end

-- A PUSH_PROMISE: the pushed stream is the client session's 'stream' event; its response
-- headers arrive later as its 'push' event (Node's naming).
function ClientHttp2Session:_onpush(box, headers, flags, raw)
  local stream = ClientHttp2Stream.new(self, box)
  stream._is_push = true
  stream._end_sent = true
  stream:finish()
  self:emit("stream", stream, headers, flags, raw)
end

local METHODS_WITHOUT_BODY = { GET = true, HEAD = true, DELETE = true }

local req_cache = { count = -1 }

local function emit_ready(stream)
  if not stream.destroyed then stream:emit("ready") end
end

function ClientHttp2Session:request(headers, options)
  -- rawget: these default to false on the class, reached through its __index function.
  if rawget(self, "destroyed") then error(errors.ERR_HTTP2_INVALID_SESSION(), 2) end
  if rawget(self, "closed") then error(errors.ERR_HTTP2_GOAWAY_SESSION(), 2) end
  if headers ~= nil and type(headers) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), 2)
  end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2)
  end
  headers = headers or {}
  options = options or {}
  local h = setmetatable({}, getmetatable(headers))
  for k, v in next, headers do h[k] = v end
  local method = h[":method"]
  if method == nil then method = "GET"; h[":method"] = method end
  local connect = method == "CONNECT"
  -- An extended CONNECT (RFC 8441, with :protocol) carries :scheme and :path like any request.
  if not connect or h[":protocol"] ~= nil then
    if h[":authority"] == nil and h.host == nil then h[":authority"] = self._authority end
    if h[":scheme"] == nil then h[":scheme"] = rawget(self, "_scheme") or "http" end
    if h[":path"] == nil then h[":path"] = "/" end
  else
    if h[":authority"] == nil then error(errors.ERR_HTTP2_CONNECT_AUTHORITY(), 2) end
    if h[":scheme"] ~= nil then error(errors.ERR_HTTP2_CONNECT_SCHEME(), 2) end
    if h[":path"] ~= nil then error(errors.ERR_HTTP2_CONNECT_PATH(), 2) end
  end
  local end_stream = options.endStream
  if end_stream == nil then end_stream = METHODS_WITHOUT_BODY[method] == true end
  if options.parent ~= nil and type(options.parent) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("options.parent", "number", options.parent), 2)
  end
  if options.weight ~= nil and type(options.weight) ~= "number" then
    error(errors.ERR_INVALID_ARG_TYPE("options.weight", "number", options.weight), 2)
  end
  if options.waitForTrailers ~= nil and type(options.waitForTrailers) ~= "boolean" then
    error(errors.ERR_INVALID_ARG_TYPE("options.waitForTrailers", "boolean", options.waitForTrailers), 2)
  end
  local signal = options.signal
  if signal ~= nil and (type(signal) ~= "table" or type(signal.aborted) ~= "boolean" or
      type(signal.removeListener) ~= "function") then
    error(errors.ERR_INVALID_ARG_TYPE("options.signal", "AbortSignal", signal), 2)
  end
  -- As respond(): the same pairs as the last request that passed give the same lists.
  local names, values, flags, n
  local rc = req_cache
  if rc.count >= 0 and getmetatable(h) == nil and shape_matches(rc, h) then
    names, values, flags, n = rc.names, rc.values, rc.flags, rc.n
  else
    names, values, flags, n = to_nv(h)
    if getmetatable(h) == nil then shape_store(rc, h, nil, names, values, flags, n, false) end
  end
  local sflags = 0
  if end_stream then sflags = END_STREAM end
  if options.waitForTrailers then sflags = sflags | WANT_TRAILERS end
  local connecting = rawget(self, "connecting")
  local lean = end_stream and not signal and not connecting and not options.waitForTrailers
    and not rawget(self, "_perf")
  local stream
  if lean then
    -- Every field it reads is there from the start (false until set): no read goes to __index.
    stream = setmetatable({ _box = false, session = self, id = false, state = false, headersSent = true,
      _end_sent = true, sentHeaders = h, _events = nil, _eventNames = nil, rstCode = nil,
      _response_seen = false, _is_push = false, endAfterHeaders = false, _lc_flowing = false,
      _lc_ended = false, _lc_end_emitted = false, _lc_closed = false, _lc_close_emitted = false,
      destroyed = false, closed = false, _h2closed = false, readableEnded = false,
      writableEnded = true, _timer = false }, LeanClient)
  else
    stream = stream_shell(ClientHttp2Stream)
  end
  local box, _, code = self._box:request(stream, names, values, flags, n, sflags, options.parent,
    options.weight, options.exclusive)
  if not box then
    local err = code == -509 and errors.ERR_HTTP2_OUT_OF_STREAMS() or errors.nghttp(code)
    error(err, 2)
  end
  if lean then
    stream._box, stream.id, stream.state = box, box_id(box), box
    track(self, stream)
    nextTick(emit_ready, stream)
    return stream
  end
  stream:constructor(self, box)
  stream.sentHeaders = h
  if end_stream then
    stream._end_sent = true
    stream:finish()
  end
  if signal then
    -- Node's aborter: destroy with an AbortError whose cause is the signal's reason; the
    -- listener goes with the stream so a long-lived signal does not pin closed streams.
    local function aborter()
      stream:destroy(errors.AbortError(nil, { cause = signal.reason }))
    end
    if signal.aborted then
      aborter()
    else
      signal:on("abort", aborter)
      stream:once("close", function() signal:removeListener("abort", aborter) end)
    end
  end
  if connecting then
    -- As Node: until 'connect' the stream is pending, without an id; 'ready' comes with the id.
    stream._ready_id = stream.id
    stream.id = nil
    stream.pending = true
    local q = rawget(self, "_pending_ready")
    if not q then q = {}; self._pending_ready = q end
    q[#q + 1] = stream
  else
    nextTick(emit_ready, stream)
  end
  return stream
end

-- ---- Http2Server ------------------------------------------------------------------------------

local Http2Server = EventEmitter:extend("Http2Server")
M.Http2Server = Http2Server

function Http2Server:constructor(options, handler)
  EventEmitter.constructor(self)
  if type(options) == "function" then options, handler = nil, options end
  options = options or {}
  if type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  self._native, self._settings = native_options(options, true)
  self._options = options
  self._sessions = {}
  self._nsessions = 0
  self.timeout = 0
  self.listening = false
  -- The Compatibility API: the first 'request' listener wraps every stream (compat.lua).
  self:on("newListener", compat.setupCompat(self, options))
  if handler then self:on("request", handler) end
end

local function on_session_stream(server)
  return function(stream, headers, flags, raw)
    server:emit("stream", stream, headers, flags, raw)
  end
end

-- The 'connect' a server session emits on the tick after 'session' (with its socket).
local function session_connect_tick(session)
  if not session.destroyed and session:listenerCount("connect") > 0 then
    session:emit("connect", session, session.socket)
  end
end

function Http2Server:_onsession(box)
  local session = (self._SessionClass or ServerHttp2Session).new(box, self)
  self._sessions[session] = true
  self._nsessions = self._nsessions + 1
  session:on("stream", self._stream_forward)
  -- The session leaves self._sessions itself (server_session_closed, on its 'close' tick).
  session:on("error", function(err)
    local server = session.server
    if server:listenerCount("sessionError") > 0 then server:emit("sessionError", err, session) end
  end)
  if self.timeout > 0 then
    session:setTimeout(self.timeout, function()
      if self:listenerCount("timeout") > 0 then self:emit("timeout", session) else session:destroy() end
    end)
  end
  -- The socket proxy is made when something reads session.socket, not for every session.
  if self:listenerCount("connection") > 0 then self:emit("connection", session.socket) end
  self:emit("session", session)
  nextTick(session_connect_tick, session)
end

function Http2Server:listen(...)
  local n = select("#", ...)
  local args = { ... }
  local cb
  if n > 0 and type(args[n]) == "function" then cb = args[n]; args[n] = nil end
  local port, host, backlog = args[1], args[2], args[3]
  if type(port) == "table" then
    host, backlog, port = port.host, port.backlog, port.port
  end
  if type(host) == "number" then backlog, host = host, nil end
  if port == nil then port = 0 end
  port = tonumber(port)
  if port == nil or port < 0 or port > 65535 or math.floor(port) ~= port then
    error(errors.ERR_SOCKET_BAD_PORT and errors.ERR_SOCKET_BAD_PORT("options.port", args[1], true) or
      errors.ERR_OUT_OF_RANGE("port", ">= 0 and < 65536", args[1]), 2)
  end
  if host == "localhost" then host = "127.0.0.1" end
  self._stream_forward = on_session_stream(self)
  local box, _, code
  if host == nil then
    box, _, code = core.http2_listen(self, "::", math.tointeger(port), self._native, backlog,
      self._tlsContext)
    if not box then
      box, _, code = core.http2_listen(self, "0.0.0.0", math.tointeger(port), self._native, backlog,
      self._tlsContext)
    end
  else
    box, _, code = core.http2_listen(self, host, math.tointeger(port), self._native, backlog,
      self._tlsContext)
  end
  if cb then self:once("listening", cb) end
  if not box then
    local err = errors.uv(code, "listen")
    nextTick(function() self:emit("error", err) end)
    return self
  end
  self._box = box
  self.listening = true
  nextTick(function() self:emit("listening") end)
  return self
end

function Http2Server:address()
  if not self._box then return nil end
  return self._box:address()
end

function Http2Server:_maybeClosed()
  if self._closing and self._listener_closed and self._nsessions == 0 and not self._close_emitted then
    self._close_emitted = true
    self:emit("close")
  end
end

function Http2Server:_onclose()
  self._listener_closed = true
  self:_maybeClosed()
end

function Http2Server:close(cb)
  if cb ~= nil then
    if not self.listening and not self._box then
      nextTick(cb, errors.ERR_SERVER_NOT_RUNNING and errors.ERR_SERVER_NOT_RUNNING() or nil)
      return self
    end
    self:once("close", function() cb() end)
  end
  if self._closing then return self end
  self._closing = true
  self.listening = false
  if self._box then self._box:close() end
  -- As Node 20 (net.Server's close): open sessions are left alone, idle ones included; 'close'
  -- (and cb) come once the last of them has closed.
  return self
end

function Http2Server:setTimeout(ms, cb)
  if ms == nil or type(ms) == "function" then cb, ms = ms, 120000 end
  if type(ms) ~= "number" then error(errors.ERR_INVALID_ARG_TYPE("msecs", "number", ms), 2) end
  if cb ~= nil and type(cb) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2)
  end
  self.timeout = ms
  if cb then self:on("timeout", cb) end
  return self
end

function Http2Server:updateSettings(s)
  local v = settings_mod.validate(s or {})
  for k, val in pairs(v) do self._settings[k] = val end
  local merged = {}
  for k, val in pairs(self._settings) do merged[k] = val end
  local opts = {}
  for k, val in pairs(self._options) do opts[k] = val end
  opts.settings = merged
  self._native = native_options(opts, true)
  if self._box then self._box:set_options(self._native) end
end

function Http2Server:ref() if self._box then self._box:ref(true) end return self end
function Http2Server:unref() if self._box then self._box:ref(false) end return self end

-- ---- connect ----------------------------------------------------------------------------------

-- The lode.tcp handle of a lode net.Socket (connected or connecting), or nil.
local function tcp_handle(sock)
  if type(sock) ~= "table" or rawget(sock, "encrypted") then return nil end -- TLS: ciphertext
  local h = rawget(sock, "_handle")
  local mt = h ~= nil and getmetatable(h)
  if type(mt) == "table" and mt.__name == "lode.tcp" then return h end
  return nil
end

local function is_duplex(sock)
  return type(sock) == "table" and type(sock.write) == "function" and type(sock.on) == "function"
    and type(sock.destroy) == "function"
end

-- A user transport (box:attach_user): the session's bytes go to the Duplex, the Duplex's come
-- back through box:receive. Bytes that arrive while the session is handing its own over (a
-- Duplex that answers synchronously) wait for the next tick, in order.
function ClientHttp2Session:_onoutput(data)
  local d = rawget(self, "_duplex")
  if not d or d.destroyed then return end
  self._in_output = true
  d:write(data)
  self._in_output = false
end

local function drain_input(self)
  local q = rawget(self, "_inq")
  self._inq = nil
  for i = 1, q and q.n or 0 do
    if not self._box:is_open() then return end
    self._box:receive(q[i])
  end
end

function ClientHttp2Session:_oninput(chunk)
  if not self._box:is_open() then return end
  local q = rawget(self, "_inq")
  if q or rawget(self, "_in_output") then
    if not q then
      q = { n = 0 }
      self._inq = q
      nextTick(drain_input, self)
    end
    q.n = q.n + 1
    q[q.n] = chunk
    return
  end
  self._box:receive(chunk)
end

-- connect() with options.createConnection: the session runs over the socket it returned, once
-- connected ('secureConnect' for a TLS socket), as Node's Http2Session constructor does.
-- - A plain lode net.Socket hands its connection over (box:attach, the core's
--   lode_session_attach): the socket stops reading and no longer owns the connection.
-- - Any other Duplex (a tls.TLSSocket, a user's stream) carries the bytes through Lua
--   (box:attach_user; _onoutput / _oninput).
-- An error or close of the socket destroys the session (Node's socketOnError/socketOnClose);
-- the session's close ends and destroys the socket.
local function use_socket(session, sock)
  local attached = false
  local tcp = tcp_handle(sock) ~= nil
  local function attach()
    if session.destroyed then sock:destroy(); return end
    local ok, _, code = false, nil, "EBADF"
    -- Bytes the socket already read stay with it: then it is carried as any Duplex (Node replays
    -- them into the session: here its 'data' listener does).
    if tcp and (tonumber(sock.readableLength) or 0) > 0 then tcp = false end
    local h = tcp and tcp_handle(sock)
    if h then
      ok, _, code = session._box:attach(h)
    elseif not tcp then
      ok, _, code = session._box:attach_user()
    end
    if not ok then
      session:destroy(type(code) == "number" and errors.nghttp(code) or errors.uv(code, "connect"))
      sock:destroy()
      return
    end
    attached = true
    if h then
      -- Its addresses stay readable (the socket's caches), as a Node socket's do.
      sock._sockname, sock._peername = h:getsockname(), h:getpeername()
      sock._handle = nil
      sock._handleReading = false
      h:close() -- the socket's _onclose ignores a handle it did not close itself
    else
      session._duplex = sock
      if sock.encrypted then
        session.encrypted = true
        session.alpnProtocol = sock.alpnProtocol
      end
      sock:on("data", function(chunk) session:_oninput(chunk) end)
      sock:on("end", function() session:_oninput(nil) end)
    end
    session:_onconnect()
  end
  sock:on("error", function(err)
    if not session.destroyed then session:destroy(err) end
  end)
  sock:once("close", function()
    if not session.destroyed then session:destroy(not attached and errors.ERR_SOCKET_CLOSED() or nil) end
  end)
  session:once("close", function()
    if sock.destroyed then return end
    if tcp then sock:destroy(); return end
    sock:finish(function() sock:destroy() end)
  end)
  if sock.encrypted and rawget(sock, "_secureEstablished") == false then
    sock:once("secureConnect", attach)
  elseif sock.connecting then
    sock:once("connect", attach)
  else
    attach()
  end
end

function M.connect(authority, options, listener)
  if type(options) == "function" then options, listener = nil, options end
  options = options or {}
  if type(options) ~= "table" then error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2) end
  local protocol, host, port
  if type(authority) == "string" then
    protocol, host, port = authority:match("^(%a[%w+.-]*:)//%[?([^/%]]-)%]?:(%d+)")
    if not protocol then
      protocol, host = authority:match("^(%a[%w+.-]*:)//%[?([^/:%]]+)%]?")
    end
  elseif type(authority) == "table" then
    protocol = authority.protocol
    host = authority.hostname or authority.host
    port = authority.port
  else
    error(errors.ERR_INVALID_ARG_TYPE("authority", { "string", "URL" }, authority), 2)
  end
  if not host then error(errors.ERR_INVALID_URL and errors.ERR_INVALID_URL(authority) or authority, 2) end
  -- As Node: the authority's protocol, else options.protocol, else https.
  if protocol == nil or protocol == "" then protocol = options.protocol or "https:" end
  if protocol ~= "http:" and protocol ~= "https:" then
    error(errors.ERR_HTTP2_UNSUPPORTED_PROTOCOL(protocol), 2)
  end
  local default_port = protocol == "https:" and 443 or 80
  port = tonumber(port) or options.port or default_port
  local create = options.createConnection
  if type(create) ~= "function" then create = nil end
  local secure = protocol == "https:" and not create and require("lode.http2.secure") or nil
  local tls_ctx, servername
  if secure then tls_ctx, servername = secure.client_context(options, host) end
  local native = native_options(options, false)
  local session = setmetatable({}, ClientHttp2Session)
  local box, _, code, sock
  if create then
    -- As Node: createConnection(authority as a URL, a copy of the options) -> the socket.
    local copy = {}
    for k, v in pairs(options) do copy[k] = v end
    sock = create(type(authority) == "string" and require("lode.url").URL.new(authority) or authority,
      copy)
    if not is_duplex(sock) then
      error(errors.ERR_INVALID_ARG_VALUE("options.createConnection", create,
        "must return a Duplex stream"), 2)
    end
    if rawget(sock, "_h2session") then error(errors.ERR_HTTP2_SOCKET_BOUND(), 2) end
    sock._h2session = session
    box, _, code = core.http2_open(session, native)
  else
    box, _, code = core.http2_connect(session, options.host or host, math.tointeger(port), native,
      tls_ctx, servername)
  end
  if not box then error(errors.nghttp(code), 2) end
  local auth = host:find(":", 1, true) and ("[" .. host .. "]") or host
  if port ~= default_port then auth = auth .. ":" .. port end
  session:constructor(box, options, auth, host, port)
  if secure then secure.client_session(session, options, host) end
  if listener then session:once("connect", listener) end
  if sock then
    session._scheme = protocol:sub(1, -2) -- as Node: the authority's protocol, whatever the socket
    use_socket(session, sock)
  end
  return session
end

-- Inherited methods copied into the classes made per request and per connection (as lode.stream
-- does for its own classes): `stream:push()` finds Duplex's function one lookup away instead of
-- walking ServerHttp2Stream -> Http2Stream -> Duplex. A class's own methods always win.
local function flatten(cls)
  local c = rawget(cls, "super")
  while c do
    for k, v in pairs(c) do
      if type(v) == "function" and rawget(cls, k) == nil and type(k) == "string"
        and k:sub(1, 2) ~= "__" and k ~= "new" and k ~= "constructor" then
        rawset(cls, k, v)
      end
    end
    c = rawget(c, "super")
  end
end
for _, cls in ipairs { Http2Stream, ServerHttp2Stream, ClientHttp2Stream, Http2Session,
  ServerHttp2Session, ClientHttp2Session } do
  flatten(cls)
end

return M
