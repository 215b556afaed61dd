-- The HTTP/1.1 fallback of http2.createSecureServer({ allowHTTP1 = true }): a TLS client that
-- chose http/1.1 (or no ALPN) is parsed by llhttp in C (src/core/h1.c, the session in raw mode)
-- and served through the server's 'request' event with req/res objects that present the
-- compatibility API's surface (Http2ServerRequest/Response) with httpVersion '1.1'.
-- Keep-alive, pipelined requests (answered in order), chunked and Content-Length bodies.
local Readable = require("lode.stream").Readable
local EventEmitter = require "lode.events"
local errors = require "lode.errors"
local process = require "lode.process"

local nextTick = process.nextTick

local M = {}

local STATUS = {
  [100] = "Continue", [101] = "Switching Protocols", [200] = "OK", [201] = "Created",
  [202] = "Accepted", [204] = "No Content", [206] = "Partial Content", [301] = "Moved Permanently",
  [302] = "Found", [303] = "See Other", [304] = "Not Modified", [307] = "Temporary Redirect",
  [308] = "Permanent Redirect", [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
  [404] = "Not Found", [405] = "Method Not Allowed", [408] = "Request Timeout", [409] = "Conflict",
  [411] = "Length Required", [413] = "Payload Too Large", [414] = "URI Too Long",
  [415] = "Unsupported Media Type", [429] = "Too Many Requests", [500] = "Internal Server Error",
  [501] = "Not Implemented", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}
M.STATUS_CODES = STATUS

local function utc_date() return os.date("!%a, %d %b %Y %H:%M:%S GMT") end

-- ---- the request ----

local Http1Request = Readable:extend("Http1ServerRequest")
M.Http1Request = Http1Request

function Http1Request:constructor(conn, method, url, flat, major, minor)
  Readable.constructor(self, { autoDestroy = false, emitClose = false })
  self.method = method
  self.url = url
  self.httpVersionMajor = major
  self.httpVersionMinor = minor
  self.httpVersion = major .. "." .. minor
  self.rawHeaders = flat
  self.complete = false
  self.aborted = false
  self.socket = conn.socket
  self.connection = conn.socket
  local h = {}
  for i = 1, #flat, 2 do
    local k, v = flat[i]:lower(), flat[i + 1]
    if h[k] == nil then
      h[k] = k == "set-cookie" and { v } or v
    elseif k == "set-cookie" then
      h[k][#h[k] + 1] = v
    elseif k ~= "host" and k ~= "content-length" and k ~= "content-type" and k ~= "user-agent" then
      h[k] = h[k] .. (k == "cookie" and "; " or ", ") .. v
    end
  end
  self.headers = h
  self.authority = h.host
  self.scheme = "https"
  self.trailers = {}
  self.rawTrailers = {}
end

function Http1Request._read() end

-- ---- the response ----

local Http1Response = EventEmitter:extend("Http1ServerResponse")
M.Http1Response = Http1Response

function Http1Response:constructor(conn, req, keep_alive)
  EventEmitter.constructor(self)
  self._conn = conn
  self.req = req
  self.socket = conn.socket
  self.connection = conn.socket
  self.statusCode = 200
  self.statusMessage = nil
  self.headersSent = false
  self.finished = false
  self.writableEnded = false
  self.writableFinished = false
  self.sendDate = true
  self._headers = {}   -- lower-case name -> { name, value }
  self._keepAlive = keep_alive
  self._chunked = false
  self._out = {}       -- what is written before this response's turn comes
end

local function check_name(name)
  if type(name) ~= "string" or name == "" or name:find("[^%w!#$%%&'*+%-.^_`|~]") then
    error(errors.ERR_INVALID_HTTP_TOKEN("Header name", name), 3)
  end
end

function Http1Response:setHeader(name, value)
  check_name(name)
  if self.headersSent then error(errors.ERR_HTTP_HEADERS_SENT("set"), 2) end
  if value == nil then error(errors.ERR_HTTP_INVALID_HEADER_VALUE(tostring(value), name), 2) end
  self._headers[name:lower()] = { name, value }
  return self
end

function Http1Response:getHeader(name)
  local e = self._headers[tostring(name):lower()]
  return e and e[2]
end

function Http1Response:hasHeader(name) return self._headers[tostring(name):lower()] ~= nil end

function Http1Response:removeHeader(name)
  if self.headersSent then error(errors.ERR_HTTP_HEADERS_SENT("remove"), 2) end
  self._headers[tostring(name):lower()] = nil
end

function Http1Response:getHeaderNames()
  local t = {}
  for k in pairs(self._headers) do t[#t + 1] = k end
  table.sort(t)
  return t
end

function Http1Response:getHeaders()
  local t = {}
  for k, e in pairs(self._headers) do t[k] = e[2] end
  return t
end

function Http1Response:writeHead(status, msg, headers)
  if self.headersSent then error(errors.ERR_HTTP_HEADERS_SENT("write"), 2) end
  if type(msg) == "table" then headers, msg = msg, nil end
  status = math.tointeger(tonumber(status))
  if not status or status < 100 or status > 999 then
    error(errors.ERR_HTTP_INVALID_STATUS_CODE(tostring(status)), 2)
  end
  self.statusCode = status
  if msg then self.statusMessage = msg end
  if headers then
    for k, v in pairs(headers) do self:setHeader(k, v) end
  end
  return self
end

local function head_bytes(self, body_len)
  local h = self._headers
  local status = self.statusCode
  local no_body = status == 204 or status == 304 or (status >= 100 and status < 200) or
    self.req.method == "HEAD"
  if self.sendDate and not h.date then h.date = { "Date", utc_date() } end
  if not no_body and not h["content-length"] and not h["transfer-encoding"] then
    if body_len then
      h["content-length"] = { "Content-Length", body_len }
    else
      h["transfer-encoding"] = { "Transfer-Encoding", "chunked" }
      self._chunked = true
    end
  elseif h["transfer-encoding"] and tostring(h["transfer-encoding"][2]):lower():find("chunked") then
    self._chunked = true
  end
  if h.connection and tostring(h.connection[2]):lower() == "close" then self._keepAlive = false end
  if not h.connection then
    h.connection = { "Connection", self._keepAlive and "keep-alive" or "close" }
  end
  local out = { "HTTP/1.1 ", status, " ", self.statusMessage or STATUS[status] or "unknown", "\r\n" }
  for _, e in pairs(h) do
    local v = e[2]
    if type(v) == "table" then
      for _, x in ipairs(v) do out[#out + 1] = e[1] .. ": " .. tostring(x) .. "\r\n" end
    else
      out[#out + 1] = e[1] .. ": " .. tostring(v) .. "\r\n"
    end
  end
  out[#out + 1] = "\r\n"
  self._noBody = no_body
  return table.concat(out)
end

local function send(self, data)
  if data == "" then return end
  self._conn:_send(self, data)
end

function Http1Response:flushHeaders()
  if self.headersSent then return end
  self.headersSent = true
  send(self, head_bytes(self, nil))
end

function Http1Response:write(chunk, enc, cb)
  if type(enc) == "function" then cb = enc end
  if self.writableEnded then
    local err = errors.ERR_STREAM_WRITE_AFTER_END()
    if cb then nextTick(cb, err) end
    nextTick(function() self:emit("error", err) end)
    return false
  end
  chunk = chunk == nil and "" or tostring(chunk)
  if not self.headersSent then self:flushHeaders() end
  if not self._noBody and #chunk > 0 then
    if self._chunked then
      send(self, string.format("%x\r\n", #chunk) .. chunk .. "\r\n")
    else
      send(self, chunk)
    end
  end
  if cb then nextTick(cb) end
  return true
end

function Http1Response:finish(chunk, enc, cb)
  if type(chunk) == "function" then chunk, cb = nil, chunk end
  if type(enc) == "function" then cb = enc end
  if self.writableEnded then
    if cb then nextTick(cb) end
    return self
  end
  chunk = chunk == nil and "" or tostring(chunk)
  if not self.headersSent then
    self.headersSent = true
    send(self, head_bytes(self, #chunk))
    if not self._noBody then send(self, chunk) end
  else
    self:write(chunk)
    if self._chunked and not self._noBody then send(self, "0\r\n\r\n") end
  end
  self.writableEnded = true
  self.finished = true
  if cb then self:once("finish", cb) end
  self._conn:_done(self)
  return self
end

function Http1Response:setTimeout(_, cb)
  if cb then self:on("timeout", cb) end
  return self
end

function Http1Response:destroy()
  self._conn:destroy()
end

-- ---- the connection ----

local Http1Connection = {}
Http1Connection.__index = Http1Connection

-- Starts serving HTTP/1.1 on a TLS session box the server handed to _onunknownprotocol.
function M.serve(server, box, alpn)
  local conn = setmetatable({ _server = server, _box = box, _queue = {}, _open = true }, Http1Connection)
  conn.socket = { encrypted = true, alpnProtocol = alpn or false,
    destroy = function() conn:destroy() end }
  local a = box:address(true)
  if a then
    conn.socket.remoteAddress, conn.socket.remotePort, conn.socket.remoteFamily = a.address, a.port, a.family
  end
  box:setowner(conn)
  conn._h1 = box:h1_start(conn)
  -- counted with the server's sessions: server:close() waits for it
  server._h1conns = server._h1conns or {}
  server._h1conns[conn] = true
  server._nsessions = server._nsessions + 1
  server:emit("connection", conn.socket)
  return conn
end

function Http1Connection:_onh1request(method, url, flat, keep_alive, major, minor)
  local req = Http1Request.new(self, method, url, flat, major, minor)
  local res = Http1Response.new(self, req, keep_alive)
  self._queue[#self._queue + 1] = res
  self._reqs = self._reqs or {}
  self._reqs[#self._reqs + 1] = req
  self._cur_req = req
  local server = self._server
  nextTick(function() server:emit("request", req, res) end)
end

function Http1Connection:_onh1body(chunk)
  local req = self._cur_req
  if req then req:push(chunk) end
end

function Http1Connection:_onh1end()
  local req = self._cur_req
  if req then
    req.complete = true
    req:push(nil)
  end
end

function Http1Connection:_onh1error()
  -- A request llhttp refuses: 400, then close (as Node's http server does).
  if self._open then
    self._h1:write("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n", true)
  end
end

-- Bytes of |res|: written now when |res| is the oldest open response, else held.
function Http1Connection:_send(res, data)
  if self._queue[1] == res then
    if self._open then self._h1:write(data) end
  else
    res._out[#res._out + 1] = data
  end
end

function Http1Connection:_done(res)
  if self._queue[1] ~= res then return end
  while self._queue[1] and self._queue[1].writableEnded do
    local r = table.remove(self._queue, 1)
    table.remove(self._reqs, 1)
    nextTick(function()
      r.writableFinished = true
      r:emit("finish")
      r:emit("close")
    end)
    if not r._keepAlive then
      self._queue = {}
      if self._open then self._h1:write("", true) end
      return
    end
    local nxt = self._queue[1]
    if nxt then
      for _, d in ipairs(nxt._out) do if self._open then self._h1:write(d) end end
      nxt._out = {}
    end
  end
end

-- Idle (no request in progress): server:close() ends it.
function Http1Connection:isIdle() return #self._queue == 0 end

function Http1Connection:destroy()
  if not self._open then return end
  self._open = false
  self._box:destroy(0)
end

function Http1Connection:_onclose()
  self._open = false
  if self._h1 then self._h1:close() end
  local server = self._server
  if server._h1conns and server._h1conns[self] then
    server._h1conns[self] = nil
    server._nsessions = server._nsessions - 1
    server:_maybeClosed()
  end
  for _, req in ipairs(self._reqs or {}) do
    if not req.complete then
      req.aborted = true
      req:emit("aborted")
    end
  end
  for _, res in ipairs(self._queue) do
    if not res.writableEnded then res:emit("close") end
  end
  self._queue = {}
end

-- The session box calls these on errors; the fallback has nothing to add.
function Http1Connection._onerror() end

return M
