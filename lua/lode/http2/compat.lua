-- Node's lib/internal/http2/compat.js for lode: Http2ServerRequest (a Readable) and
-- Http2ServerResponse (a Writable-like EventEmitter) over a ServerHttp2Stream.
--
-- Kept thin: no closures per request. The stream's events reach the request and response through
-- one shared `emit` placed on the stream (compat_emit below, a table of handlers by event name)
-- instead of a listener per event per stream; headers tables are made only when used.
local EventEmitter = require "lode.events"
local Readable = require("lode.stream").Readable
local errors = require "lode.errors"
local headers_mod = require "lode.http2.headers"
local process = require "lode.process"
local encoding = require "lode.encoding"

local nextTick = process.nextTick
local type, next, tostring, rawget, rawset = type, next, tostring, rawget, rawset
local emit = EventEmitter.emit

local M = {}

local status_warned = false
local function status_message_warn()
  if not status_warned then
    status_warned = true
    process.emitWarning("Status message is not supported by HTTP/2 (RFC7540 8.1.2.4)",
      "UnsupportedWarning")
  end
end

local conn_warned = false
local function connection_header_warn()
  if not conn_warned then
    conn_warned = true
    process.emitWarning("The provided connection header is not valid, the value will be dropped " ..
      "from the header and will never be in use.", "UnsupportedWarning")
  end
end

-- ---- the socket proxy (shared by a stream's request and response) ------------------------------

local PROXY_FORBIDDEN = { pause = true, read = true, resume = true, write = true }
local PROXY_STREAM_METHOD = { destroy = true, emit = true, finish = true, ["end"] = true, on = true,
  once = true }
local PROXY_STREAM_FIELD = { destroyed = true, readable = true, writable = true }

local function no_manipulation() error(errors.ERR_HTTP2_NO_SOCKET_MANIPULATION(), 2) end

local ProxyMT = { __name = "Http2CompatSocket" }
function ProxyMT.__index(p, k)
  local stream = rawget(p, 1)
  if PROXY_FORBIDDEN[k] then return no_manipulation end
  if PROXY_STREAM_METHOD[k] then
    local m = stream[k == "end" and "finish" or k]
    return function(_, ...) return m(stream, ...) end
  end
  if PROXY_STREAM_FIELD[k] then return stream[k] end
  if k == "setTimeout" then
    return function(_, ...) return stream.session:setTimeout(...) end
  end
  local session = stream.session
  if k == "session" then return session end
  local sock = session.socket
  local v = sock[k]
  if type(v) == "function" then return function(_, ...) return v(sock, ...) end end
  return v
end
function ProxyMT.__newindex(p, k, v)
  local stream = rawget(p, 1)
  if PROXY_STREAM_FIELD[k] then stream[k] = v; return end
  stream.session.socket[k] = v
end

local function socket_of(stream)
  local p = rawget(stream, "_compat_socket")
  if not p then
    p = setmetatable({ stream }, ProxyMT)
    rawset(stream, "_compat_socket", p)
  end
  return p
end

-- ---- the stream's events -----------------------------------------------------------------------

local H = {}

function H.data(stream, chunk)
  local req = stream._req
  -- Once the HTTP/2 stream is closed there is no window to hold back: keep draining.
  if req and not req:push(chunk) and not stream._h2closed then stream:pause() end
end

H["end"] = function(stream)
  local req = stream._req
  if req then req:push(nil) end
end

function H.trailers(stream, trailers, _, raw)
  local req = stream._req
  if not req then return end
  local t, r = req.trailers, req.rawTrailers
  for k, v in pairs(trailers) do t[k] = v end
  if raw then for i = 1, #raw do r[#r + 1] = raw[i] end end
end

function H.aborted(stream)
  local req = stream._req
  if req and not req._closed then
    rawset(req, "aborted", true)
    req:emit("aborted")
  end
end

local function close_response(stream)
  local res = rawget(stream, "_res")
  if res == nil then return end
  rawset(res, "_closed", true)
  rawset(stream, "_res", nil)
  if rawget(res, "_events") == nil then return end -- nobody listens
  res:emit("finish")
  res:emit("close")
end

function H.close(stream)
  local req = rawget(stream, "_req")
  if req then
    rawset(req, "_closed", true)
    rawset(stream, "_req", nil)
    local ev = rawget(req, "_events")
    if ev or rawget(req, "_didRead") or rawget(req, "readableFlowing") ~= nil then
      req:push(nil)
      -- Dump a body nobody reads (http1's behaviour); skipped when nobody could tell.
      if not req._didRead and req.readableFlowing == nil and ev and (ev.data or ev["end"] or ev.readable) then
        req:resume()
      end
      if ev and ev.close then req:emit("close") end
    end
    -- Otherwise nobody listens or reads: the end of the body waits for a read (_read pushes it).
  end
  close_response(stream)
end

function H.drain(stream)
  local res = stream._res
  if res then res:emit("drain") end
end

function H.wantTrailers(stream)
  local res = stream._res
  stream:sendTrailers(res and res._trailers or {})
end

function H.timeout(stream)
  local req, res = stream._req, stream._res
  local heard = false
  if req and req:emit("timeout") then heard = true end
  if res and res:emit("timeout") then heard = true end
  local server = stream.session and stream.session.server
  if server and server:listenerCount("timeout") > 0 then heard = true end
  if stream:listenerCount("timeout") > 0 then heard = true end
  if not heard then stream:destroy() end
  return true
end

-- Replaces the stream's emit: compat's handler first (Node registers its listeners before the
-- user can), then the stream's own listeners. An 'error' nobody listens for is dropped, as
-- compat's blank onStreamError listener does in Node.
local function compat_emit(stream, ev, ...)
  local h = H[ev]
  if h then
    if ev == "timeout" then
      local events = stream._events
      if not (events and events.timeout) then return h(stream, ...) end
      emit(stream, ev, ...)
      return h(stream, ...)
    end
    h(stream, ...)
  elseif ev == "error" then
    local events = stream._events
    if not (events and events.error) then return false end
  end
  -- No listener at all (a lean stream's state, see core.lua, is one such case): nothing to emit.
  if rawget(stream, "_events") == nil then return false end
  return emit(stream, ev, ...)
end

-- ---- Http2ServerRequest ------------------------------------------------------------------------

local Http2ServerRequest = Readable:extend("Http2ServerRequest")
M.Http2ServerRequest = Http2ServerRequest

Http2ServerRequest.httpVersion = "2.0"
Http2ServerRequest.httpVersionMajor = 2
Http2ServerRequest.httpVersionMinor = 0
Http2ServerRequest.aborted = false
Http2ServerRequest._closed = false
Http2ServerRequest._didRead = false

local REQ_OPTIONS = { autoDestroy = false, emitClose = false }

-- Runs Readable's constructor on |t| and gives it class |cls|. Readable's fields are written
-- under Readable's plain metatable: under the request class's (which has getters) each write
-- would go through __newindex.
local function make_readable(t, cls)
  setmetatable(t, Readable)
  Readable.constructor(t, REQ_OPTIONS)
  setmetatable(t, cls)
end

function Http2ServerRequest:constructor(stream, headers, _, raw)
  make_readable(self, getmetatable(self))
  rawset(self, "stream", stream)
  rawset(self, "headers", headers)
  rawset(self, "rawHeaders", raw)
  rawset(stream, "_req", self)
  rawset(stream, "emit", compat_emit)
end

-- A request starts lean: a small table whose headers and getters (method, url, authority, ...)
-- answer without a Readable; reading it, a listener, a write or any other field of the Readable
-- makes it the full Http2ServerRequest first (the Readable's constructor run on the same table).
-- Most requests are a GET whose body nobody reads: for them no Readable is ever made.
local LeanRequest = { super = Http2ServerRequest, __name = "Http2ServerRequest" }
local LEAN_NIL = { _events = true, readableFlowing = true }
local request_getters -- Http2ServerRequest's own getters, once declared (below)

local function inflate_request(t)
  make_readable(t, Http2ServerRequest)
end

LeanRequest.__index = function(t, k)
  if LEAN_NIL[k] then return nil end
  local g = request_getters[k]
  if g ~= nil then return g(t) end
  local v = rawget(Http2ServerRequest, k)
  if v ~= nil and type(v) ~= "function" then return v end
  inflate_request(t)
  return t[k]
end

LeanRequest.__newindex = function(t, k, v)
  if k == "_closed" or k == "aborted" then
    rawset(t, k, v)
  else
    inflate_request(t)
    t[k] = v
  end
end

LeanRequest.__tostring = function(t)
  inflate_request(t)
  return tostring(t)
end

function Http2ServerRequest.new(stream, headers, _, raw)
  local obj = setmetatable({ stream = stream, headers = headers, rawHeaders = raw, _closed = nil },
    LeanRequest)
  rawset(stream, "_req", obj)
  rawset(stream, "emit", compat_emit)
  return obj
end

Http2ServerRequest:getter("method", function(self) return self.headers[":method"] end)
Http2ServerRequest:getter("authority", function(self)
  local h = self.headers
  return h[":authority"] or h.host
end)
Http2ServerRequest:getter("scheme", function(self) return self.headers[":scheme"] end)
Http2ServerRequest:getter("url", function(self) return self.headers[":path"] end)
Http2ServerRequest:setter("url", function(self, v) self.headers[":path"] = v end)
Http2ServerRequest:getter("complete", function(self)
  return self.aborted or self.readableEnded or self._closed or self.destroyed
end)
Http2ServerRequest:getter("socket", function(self) return socket_of(self.stream) end)
Http2ServerRequest:getter("connection", function(self) return socket_of(self.stream) end)
Http2ServerRequest:getter("trailers", function(self)
  local t = rawget(self, "_trailers")
  if not t then t = {}; rawset(self, "_trailers", t) end
  return t
end)
Http2ServerRequest:getter("rawTrailers", function(self)
  local t = rawget(self, "_rawTrailers")
  if not t then t = {}; rawset(self, "_rawTrailers", t) end
  return t
end)
request_getters = Http2ServerRequest._getters

local function resume_stream(stream)
  if not stream.destroyed then stream:resume() end
end

function Http2ServerRequest:_read()
  local stream = self.stream
  if self._closed then
    if not self._ended then self:push(nil) end
    return
  end
  if not self._didRead then
    rawset(self, "_didRead", true)
    if stream.destroyed then return end
    if stream.readableEnded then self:push(nil); return end
    stream:resume()
  else
    nextTick(resume_stream, stream)
  end
end

function Http2ServerRequest:pause()
  Readable.pause(self)
  local stream = self.stream
  if not self._closed and not stream.destroyed then stream:pause() end
  return self
end

function Http2ServerRequest:resume()
  Readable.resume(self)
  local stream = self.stream
  if not self._closed and not stream.destroyed and self._didRead then stream:resume() end
  return self
end

function Http2ServerRequest:_destroy(err, cb)
  local stream = self.stream
  if not stream.destroyed then stream:destroy(err) end
  cb(err)
end

function Http2ServerRequest:setTimeout(msecs, cb)
  if not self._closed then
    self.stream:setTimeout(msecs)
    if cb then self:on("timeout", cb) end
  end
  return self
end

-- ---- Http2ServerResponse -----------------------------------------------------------------------

local Http2ServerResponse = EventEmitter:extend("Http2ServerResponse")
M.Http2ServerResponse = Http2ServerResponse

Http2ServerResponse.sendDate = true
Http2ServerResponse.writable = true
Http2ServerResponse._status = 200
Http2ServerResponse._ending = false
Http2ServerResponse._closed = false
Http2ServerResponse._destroyed = false
Http2ServerResponse.writableHighWaterMark = 16384

function Http2ServerResponse:constructor(stream)
  EventEmitter.constructor(self)
  rawset(self, "stream", stream)
  local req = stream._req
  if req then rawset(self, "req", req) end
  rawset(stream, "_res", self)
  rawset(stream, "emit", compat_emit)
end

-- The base class's own maker: the same object as the constructor's, in one table constructor
-- (subclasses keep the generic new + constructor).
function Http2ServerResponse.new(stream)
  -- The fields a response reads on its way are in place: no trip through the class's __index.
  local res = setmetatable({ stream = stream, req = rawget(stream, "_req"), _headers = nil, _status = 200,
    sendDate = true, _ending = false, _closed = false, _destroyed = false, _nobody = false,
    _trailers = nil, _events = nil }, Http2ServerResponse)
  rawset(stream, "_res", res)
  rawset(stream, "emit", compat_emit)
  return res
end

Http2ServerResponse:getter("finished", function(self) return self._ending end)
Http2ServerResponse:getter("writableEnded", function(self) return self._ending end)
Http2ServerResponse:getter("writableFinished", function(self) return self.stream.writableFinished end)
Http2ServerResponse:getter("writableLength", function(self) return self.stream.writableLength end)
Http2ServerResponse:getter("writableCorked", function(self) return self.stream.writableCorked end)
Http2ServerResponse:getter("writableNeedDrain", function(self) return self.stream.writableNeedDrain end)
Http2ServerResponse:getter("headersSent", function(self) return self.stream.headersSent end)
Http2ServerResponse:getter("socket", function(self) return socket_of(self.stream) end)
Http2ServerResponse:getter("connection", function(self) return socket_of(self.stream) end)
Http2ServerResponse:getter("statusCode", function(self) return self._status end)
Http2ServerResponse:setter("statusCode", function(self, code)
  local n = tonumber(code)
  n = n and math.tointeger(n // 1) or 0
  if n >= 100 and n < 200 then error(errors.ERR_HTTP2_INFO_STATUS_NOT_ALLOWED(), 2) end
  if n < 100 or n > 599 then error(errors.ERR_HTTP2_STATUS_INVALID(code), 2) end
  rawset(self, "_status", n)
end)
Http2ServerResponse:getter("statusMessage", function()
  status_message_warn()
  return ""
end)
Http2ServerResponse:setter("statusMessage", function() status_message_warn() end)

local function check_name(name)
  if type(name) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("name", "string", name), 3) end
  return (name:match("^%s*(.-)%s*$")):lower()
end

-- Node's assertValidHeader plus http's value check: raises a TypeError.
local function valid_value(v)
  if type(v) == "string" then return not v:find("[^\t\32-\126\128-\255]") end
  return true
end

-- Names that passed: given spelling -> lower-case name (bounded; most servers set a few names).
local valid_names, n_valid_names = {}, 0

local function set_header(self, name, value, level)
  local lname = valid_names[name]
  if lname then
    name = lname
  else
    lname = name
    name = check_name(name)
    if name == "" or not headers_mod.is_valid_token(name) then
      if name:sub(1, 1) == ":" then error(errors.ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED(), level) end
      error(errors.ERR_INVALID_HTTP_TOKEN("Header name", name), level)
    end
    if n_valid_names < 256 then
      n_valid_names = n_valid_names + 1
      valid_names[lname] = name
    end
  end
  if value == nil then error(errors.ERR_HTTP2_INVALID_HEADER_VALUE(tostring(value), name), level) end
  if type(value) == "table" then
    for i = 1, #value do
      if not valid_value(value[i]) then error(errors.ERR_INVALID_CHAR("header content", name), level) end
    end
  elseif not valid_value(value) then
    error(errors.ERR_INVALID_CHAR("header content", name), level)
  end
  if name == "connection" and value ~= "trailers" then
    connection_header_warn()
    return
  end
  local h = rawget(self, "_headers")
  if not h then h = {}; rawset(self, "_headers", h) end
  h[name] = value
end

function Http2ServerResponse:setHeader(name, value)
  if type(name) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("name", "string", name), 2) end
  if self.stream.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  set_header(self, name, value, 3)
  return self
end

function Http2ServerResponse:appendHeader(name, value)
  name = check_name(name)
  if self.stream.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  local h = rawget(self, "_headers")
  local old = h and h[name]
  if old == nil then return self:setHeader(name, value) end
  local list = {}
  if type(old) == "table" then for i = 1, #old do list[#list + 1] = old[i] end else list[1] = old end
  if type(value) == "table" then for i = 1, #value do list[#list + 1] = value[i] end
  else list[#list + 1] = value end
  set_header(self, name, list, 3)
  return self
end

function Http2ServerResponse:getHeader(name)
  name = check_name(name)
  local h = rawget(self, "_headers")
  return h and h[name]
end

function Http2ServerResponse:hasHeader(name)
  name = check_name(name)
  local h = rawget(self, "_headers")
  return h ~= nil and h[name] ~= nil
end

function Http2ServerResponse:getHeaderNames()
  local out = {}
  local h = rawget(self, "_headers")
  if h then for k in next, h do out[#out + 1] = k end end
  table.sort(out)
  return out
end

function Http2ServerResponse:getHeaders()
  local out = {}
  local h = rawget(self, "_headers")
  if h then for k, v in next, h do out[k] = v end end
  return out
end

function Http2ServerResponse:removeHeader(name)
  name = check_name(name)
  if self.stream.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  if name == "date" then
    rawset(self, "sendDate", false)
    return
  end
  local h = rawget(self, "_headers")
  if h then h[name] = nil end
end

function Http2ServerResponse:setTrailer(name, value)
  name = check_name(name)
  if value == nil or not valid_value(value) then
    error(errors.ERR_INVALID_CHAR("trailer content", name), 2)
  end
  local t = rawget(self, "_trailers")
  if not t then t = {}; rawset(self, "_trailers", t) end
  t[name] = value
end

function Http2ServerResponse:addTrailers(headers)
  for k, v in pairs(headers) do self:setTrailer(k, v) end
end

-- respond() options by (endStream, waitForTrailers, sendDate): made once.
local RESPOND_OPTS = {}
for _, e in ipairs { false, true } do
  for _, w in ipairs { false, true } do
    for _, d in ipairs { false, true } do
      RESPOND_OPTS[(e and 4 or 0) + (w and 2 or 0) + (d and 1 or 0)] =
        { endStream = e, waitForTrailers = w, sendDate = d }
    end
  end
end

local NO_DATE = {}
local NO_BODY_STATUS = { [204] = true, [205] = true, [304] = true }

-- Sends the headers. ending: the body is complete (nothing or end_chunk follows).
local function begin_send(self, ending)
  local stream = self.stream
  local h = rawget(self, "_headers")
  if not h then h = {}; rawset(self, "_headers", h) end
  local status = self._status
  h[":status"] = status
  local trailers = rawget(self, "_trailers")
  local wait = not ending or (trailers ~= nil and next(trailers) ~= nil)
  local opts = RESPOND_OPTS[(wait and 2 or 0) + (self.sendDate and 1 or 0)]
  if not self.sendDate and h.date == nil then
    -- An empty list is no field at all, and stops respond() from adding a date.
    h.date = NO_DATE
    stream:respond(h, opts)
    h.date = nil
  else
    stream:respond(h, opts)
  end
  if NO_BODY_STATUS[status] or stream._method == "HEAD" then rawset(self, "_nobody", true) end
end

function Http2ServerResponse:flushHeaders()
  if not self._closed and not self.stream.headersSent then begin_send(self, false) end
end

function Http2ServerResponse:writeHead(status, msg, headers)
  local stream = self.stream
  if self._closed or stream.destroyed then return self end
  if stream.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), 2) end
  if type(msg) == "string" then
    status_message_warn()
  elseif headers == nil and type(msg) == "table" then
    headers = msg
  end
  if headers ~= nil then
    if type(headers) ~= "table" then error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), 2) end
    if headers[1] ~= nil then
      for i = 1, #headers, 2 do
        local k = headers[i]
        if type(k) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("name", "string", k), 2) end
        set_header(self, k, headers[i + 1], 3)
      end
    else
      for k, v in pairs(headers) do
        if type(k) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("name", "string", k), 2) end
        set_header(self, k, v, 3)
      end
    end
  end
  self.statusCode = status
  begin_send(self, self._ending)
  return self
end

local function write_error(self, cb, err)
  if cb then nextTick(cb, err) end
  self:destroy(err)
  return false
end

local function noop() end

function Http2ServerResponse:write(chunk, enc, cb)
  if type(enc) == "function" then cb, enc = enc, nil end
  if self._ending then return write_error(self, cb, errors.ERR_STREAM_WRITE_AFTER_END()) end
  if self._closed then return write_error(self, cb, errors.ERR_HTTP2_INVALID_STREAM()) end
  if self._destroyed then return false end
  local stream = self.stream
  if not stream.headersSent then begin_send(self, false) end
  if self._nobody then
    if cb then nextTick(cb) end
    return true
  end
  if enc ~= nil and type(chunk) == "string" then chunk = encoding.from(chunk, enc) end
  return stream:write(chunk, nil, cb or noop)
end

function Http2ServerResponse:finish(chunk, enc, cb)
  if type(chunk) == "function" then
    chunk, enc, cb = nil, nil, chunk
  elseif type(enc) == "function" then
    enc, cb = nil, enc
  end
  local stream = self.stream
  if self._closed or self._ending then
    if cb then nextTick(cb) end
    return self
  end
  rawset(self, "_ending", true)
  if cb then
    if stream.writableEnded then self:once("finish", cb) else stream:once("finish", cb) end
  end
  if not stream.headersSent then
    if stream.destroyed or stream._h2closed then
      close_response(stream)
      return self
    end
    begin_send(self, true)
  end
  if self._closed or stream.destroyed then
    close_response(stream)
  elseif stream.writableEnded then
    return self
  elseif chunk ~= nil and not self._nobody then
    if enc ~= nil and type(chunk) == "string" then chunk = encoding.from(chunk, enc) end
    stream:finish(chunk)
  else
    stream:finish()
  end
  return self
end

function Http2ServerResponse:destroy(err)
  if self._destroyed then return end
  rawset(self, "_destroyed", true)
  self.stream:destroy(err)
end

function Http2ServerResponse:setTimeout(msecs, cb)
  if self._closed then return end
  self.stream:setTimeout(msecs)
  if cb then self:on("timeout", cb) end
  return self
end

function Http2ServerResponse:cork() self.stream:cork() end
function Http2ServerResponse:uncork() self.stream:uncork() end

function Http2ServerResponse:writeContinue()
  local stream = self.stream
  if stream.headersSent or self._closed then return false end
  stream:additionalHeaders({ [":status"] = 100 })
  return true
end

function Http2ServerResponse:writeEarlyHints(hints)
  local stream = self.stream
  if stream.headersSent or self._closed then return false end
  local h = { [":status"] = 103 }
  for k, v in pairs(hints or {}) do h[k] = v end
  stream:additionalHeaders(h)
  return true
end

function Http2ServerResponse:createPushResponse(headers, cb)
  if type(cb) ~= "function" then error(errors.ERR_INVALID_ARG_TYPE("callback", "function", cb), 2) end
  if self._closed then
    nextTick(cb, errors.ERR_HTTP2_INVALID_STREAM())
    return
  end
  local cls = getmetatable(self)
  self.stream:pushStream(headers, {}, function(err, stream)
    if err then cb(err); return end
    cb(nil, cls.new(stream))
  end)
end

-- ---- the server side: Node's onServerStream and setupCompat ------------------------------------

local function on_server_stream(server, Req, Res, stream, headers, _, raw)
  local req = Req.new(stream, headers, nil, raw)
  local res = Res.new(stream)
  if headers[":method"] == "CONNECT" then
    if not server:emit("connect", req, res) then
      res.statusCode = 405
      res:finish()
    end
    return
  end
  local expect = headers.expect
  if expect ~= nil then
    if expect == "100-continue" then
      if server:listenerCount("checkContinue") > 0 then
        server:emit("checkContinue", req, res)
      else
        res:writeContinue()
        server:emit("request", req, res)
      end
    elseif server:listenerCount("checkExpectation") > 0 then
      server:emit("checkExpectation", req, res)
    else
      res.statusCode = 417
      res:finish()
    end
    return
  end
  server:emit("request", req, res)
end

-- The server's 'newListener' listener: the first 'request' listener turns on the compat layer.
function M.setupCompat(server, options)
  local Req = options and options.Http2ServerRequest or Http2ServerRequest
  local Res = options and options.Http2ServerResponse or Http2ServerResponse
  local function setup(ev)
    if ev == "request" then
      server:removeListener("newListener", setup)
      server:on("stream", function(stream, headers, flags, raw)
        on_server_stream(server, Req, Res, stream, headers, flags, raw)
      end)
    end
  end
  return setup
end

return M
