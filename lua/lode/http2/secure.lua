-- HTTP/2 over TLS: http2.createSecureServer and the https: side of http2.connect.
--
-- The TLS conn sits under the session engine in C (src/core/session.c + lode_tls.h): the socket's
-- ciphertext goes through mbedTLS into nghttp2, and each turn's frames leave as one encrypted
-- write. This module builds the secure context (lode.tls's SecureContext, Node's tls options),
-- checks the server's certificate on the client side, and gives sessions their TLS face
-- (`encrypted`, `alpnProtocol`, a TLSSocket-like `session.socket`).
local h2core = require "lode.http2.core"
local tls = require "lode.tls"
local net = require "lode.net"
local errors = require "lode.errors"
local timers = require "lode.timers"

local M = {}

local LODE_ERR_TLS = -3000

local function tls_error(code, message)
  local err = errors.Error.new(message)
  err.code = code
  return err
end

local cert_object = tls._cert_object

-- Key log lines go to SSLKEYLOGFILE and to 'keylog' listeners of |emitter| (line, socket).
local function keylog(lines, emitter, socket)
  if not lines or lines == "" then return end
  tls._append_keylog(lines)
  if emitter and emitter:listenerCount("keylog") > 0 then
    for line in lines:gmatch("[^\n]+\n") do emitter:emit("keylog", line, socket) end
  end
end

-- What session.socket answers beyond the h2c proxy (tls.TLSSocket's surface).
local function socket_get(session, k)
  local info = rawget(session, "_tlsInfo") or {}
  if k == "alpnProtocol" then return info.alpn or false
  elseif k == "authorized" then return rawget(session, "_authorized") or false
  elseif k == "authorizationError" then return rawget(session, "_authorizationError")
  elseif k == "servername" then return info.servername or false
  elseif k == "getPeerCertificate" then
    return function() return cert_object(info.cert) or {} end
  elseif k == "getProtocol" then return function() return info.version end
  elseif k == "getCipher" then
    return function()
      return { name = info.cipher, standardName = info.standardName, version = info.version }
    end
  elseif k == "isSessionReused" then return function() return info.reused or false end
  elseif k == "getServername" then return function() return info.servername end
  end
  return nil
end

local function make_secure(session, info)
  session.encrypted = true
  session._scheme = "https"
  session._tlsInfo = info
  session.alpnProtocol = info and info.alpn or "h2"
  session._tlsSocketGet = socket_get
end

-- ---- ORIGIN frames (RFC 8336) ----

local URL = require("lode.url").URL

-- serverSession:origin(...origins): strings, URLs or tables with an `origin` field.
function M.origin(session, ...)
  if session.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 3) end
  local list, total = {}, 0
  for i = 1, select("#", ...) do
    local o = select(i, ...)
    if type(o) == "table" and o.origin ~= nil then
      o = o.origin
    elseif type(o) == "string" then
      local ok, u = pcall(URL.new, o)
      if not ok then error(u, 3) end
      o = u.origin
    else
      error(errors.ERR_INVALID_ARG_TYPE("originOrStream", { "string", "URL", "Object" }, o), 3)
    end
    if type(o) ~= "string" or o == "null" then error(errors.ERR_HTTP2_INVALID_ORIGIN(), 3) end
    total = total + #o
    if total > 16382 then error(errors.ERR_HTTP2_ORIGIN_LENGTH(), 3) end
    list[#list + 1] = o
  end
  if #list > 0 then session._box:origin(list) end
end

local function init_origin_set(session)
  local set = rawget(session, "_originSet")
  if not set then
    set = { list = {}, has = {} }
    rawset(session, "_originSet", set)
    local info = rawget(session, "_tlsInfo") or {}
    local name = info.servername or rawget(session, "_host")
    if name then
      local port = rawget(session, "_port")
      local ok, u = pcall(URL.new, "https://" .. name .. (port and (":" .. port) or ""))
      if ok then
        set.list[1] = u.origin
        set.has[u.origin] = true
      end
    end
  end
  return set
end

function M.originSet(session)
  local set = init_origin_set(session)
  local copy = {}
  for i, o in ipairs(set.list) do copy[i] = o end
  return copy
end

local function on_origin(self, origins)
  local set = init_origin_set(self)
  for _, o in ipairs(origins) do
    if not set.has[o] then
      set.has[o] = true
      set.list[#set.list + 1] = o
    end
  end
  self:emit("origin", origins)
end

-- ---- server ----

local SecureServerSession = h2core.ServerHttp2Session:extend("ServerHttp2Session")

function SecureServerSession:constructor(box, server)
  h2core.ServerHttp2Session.constructor(self, box, server)
  local info = box:tls() or {}
  make_secure(self, info)
  keylog(info.keylog, server, self.socket)
  local options = server._options
  if options.requestCert then
    -- the client's certificate, verified against `ca` (Node: socket.authorized)
    self._authorized = info.cert ~= nil and info.verifyError == nil
    if not self._authorized then
      self._authorizationError = info.verifyError or "UNABLE_TO_GET_ISSUER_CERT"
      if options.rejectUnauthorized ~= false then
        self:destroy()
        return
      end
    end
  end
  local origins = options.origins
  if type(origins) == "table" and #origins > 0 then M.origin(self, table.unpack(origins)) end
end

local Http2SecureServer = h2core.Http2Server:extend("Http2SecureServer")
M.Http2SecureServer = Http2SecureServer

function Http2SecureServer:constructor(options, handler)
  if type(options) == "function" then options, handler = nil, options end
  options = options or {}
  if type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  local ctx = options.secureContext or tls.SecureContext.new(options, true)
  local alpn = {}
  for _, p in ipairs(type(options.ALPNProtocols) == "table" and options.ALPNProtocols or { "h2" }) do
    alpn[#alpn + 1] = p
  end
  -- As with Node (OpenSSL), a client offering only other protocols fails the handshake
  -- (no_application_protocol); one offering no ALPN at all gets 'unknownProtocol'.
  if options.allowHTTP1 == true then alpn[#alpn + 1] = "http/1.1" end
  ctx.context:set_alpn(alpn)
  if options.requestCert and ctx.context.request_cert then ctx.context:request_cert(true) end
  h2core.Http2Server.constructor(self, options, handler)
  self._secureContext = ctx
  self._tlsContext = ctx.context
  self._SessionClass = SecureServerSession
  self.unknownProtocolTimeout = options.unknownProtocolTimeout or 10000
  self._allowHTTP1 = options.allowHTTP1 == true
  self._contexts = {}
  if options.SNICallback ~= nil then
    if type(options.SNICallback) ~= "function" then
      error(errors.ERR_INVALID_ARG_TYPE("options.SNICallback", "function", options.SNICallback), 3)
    end
    self._SNICallback = options.SNICallback
    ctx.context:hold_sni(true)
  end
end

local FORBIDDEN = "HTTP/1.0 403 Forbidden\r\n" ..
  "Content-Type: text/plain\r\n\r\n" ..
  "Missing ALPN Protocol, expected `h2` to be available.\n" ..
  "If this is a HTTP request: The server was not " ..
  "configured with the `allowHTTP1` option or a " ..
  "listener for the `unknownProtocol` event.\n"

-- A client finished its handshake without choosing h2 (and HTTP/1.1 is not served): Node emits
-- 'unknownProtocol' with the socket; a listener's socket is destroyed after
-- unknownProtocolTimeout unless it ended it; with no listener, Node's 403 text is sent and the
-- connection closed.
function Http2SecureServer:_onunknownprotocol(box, alpn)
  if self._allowHTTP1 and (alpn == nil or alpn == "http/1.1") then
    require("lode.http2.h1").serve(self, box, alpn)
    return
  end
  local sock = { alpnProtocol = alpn or false, encrypted = true, destroyed = false }
  local timer
  local owner = {
    _onclose = function()
      sock.destroyed = true
      if timer then timers.clearTimeout(timer) end
    end,
  }
  box:setowner(owner)
  function sock.destroy()
    if not sock.destroyed then
      sock.destroyed = true
      box:destroy(0)
    end
  end
  sock["end"] = sock.destroy
  sock.finish = sock.destroy
  if self:listenerCount("unknownProtocol") == 0 then
    local raw = box:h1_start(owner)
    owner._onclose = function() raw:close() end
    raw:write(FORBIDDEN, true)
    return
  end
  self:emit("unknownProtocol", sock)
  if not sock.destroyed then
    timer = timers.setTimeout(function() sock.destroy() end, self.unknownProtocolTimeout)
    if timer.unref then timer:unref() end
  end
end

-- A client's TLS handshake failed (garbage, no common protocol, a bad certificate): Node's
-- 'tlsClientError' (err, socket); the connection is already closing.
function Http2SecureServer:_ontlsclienterror(code, message)
  if self:listenerCount("tlsClientError") == 0 then return end
  self:emit("tlsClientError", tls_error(code, message), { encrypted = true, destroyed = true })
end

-- server:addContext(hostname, context): serves |context|'s certificate to clients asking for
-- |hostname| (wildcards as Node's: "*.example.com"), as tls.Server does.
function Http2SecureServer:addContext(hostname, context)
  if type(hostname) ~= "string" then error(errors.ERR_TLS_REQUIRED_SERVER_NAME(), 2) end
  local ctx = context
  if getmetatable(ctx) ~= tls.SecureContext then ctx = tls.SecureContext.new(context, true) end
  local alpn = { "h2" }
  if self._allowHTTP1 then alpn[2] = "http/1.1" end
  ctx.context:set_alpn(alpn)
  local pattern = "^" .. hostname:gsub("[%.%-]", "%%%0"):gsub("%*", "[^.]*") .. "$"
  self._contexts[#self._contexts + 1] = { pattern, ctx }
  self._secureContext.context:hold_sni(true)
end

-- The client's server name is known (the handshake waits): SNICallback(servername, cb) or the
-- contexts of addContext choose the certificate. The callback must answer at once here.
function Http2SecureServer:_onsni(servername)
  local chosen
  if self._SNICallback then
    self._SNICallback(servername, function(err, ctx)
      if not err and ctx then chosen = ctx end
    end)
  else
    for i = #self._contexts, 1, -1 do
      local entry = self._contexts[i]
      if servername:lower():match(entry[1]) then chosen = entry[2] break end
    end
  end
  if chosen == nil then return nil end
  if getmetatable(chosen) ~= tls.SecureContext then return nil end
  return chosen.context
end

-- Also ends idle HTTP/1.1 keep-alive connections (open HTTP/2 sessions are handled as by
-- Http2Server:close).
function Http2SecureServer:close(cb)
  for conn in pairs(self._h1conns or {}) do
    if conn:isIdle() then conn:destroy() end
  end
  return h2core.Http2Server.close(self, cb)
end

function M.createSecureServer(options, handler)
  if type(options) == "function" then options, handler = nil, options end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  if handler ~= nil and type(handler) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("onRequestHandler", "function", handler), 3)
  end
  return Http2SecureServer.new(options or {}, handler)
end

-- ---- client ----

-- The secure context and SNI name of an https: connect.
function M.client_context(options, host)
  local ctx = options.secureContext or tls.SecureContext.new(options, false)
  ctx.context:set_alpn(options.ALPNProtocols or { "h2" })
  local servername = options.servername
  if servername == nil and net.isIP(host) == 0 then servername = host end
  return ctx.context, servername
end

local function secure_onconnect(self, status, name, message)
  local base = h2core.ClientHttp2Session._onconnect
  if status then
    if status == LODE_ERR_TLS then
      self.connecting = false
      self:destroy(tls_error(name, message))
      return
    end
    return base(self, status, name)
  end
  local info = self._box:tls() or {}
  make_secure(self, info)
  keylog(info.keylog, self, self.socket)
  local options = self._options
  local err
  if info.verifyError then
    err = tls_error(info.verifyError, info.verifyMessage or info.verifyError)
  elseif not info.reused then
    local hostname = options.servername or self._host or "localhost"
    err = (options.checkServerIdentity or tls.checkServerIdentity)(hostname, cert_object(info.cert))
  end
  if err then
    self._authorized = false
    self._authorizationError = err.code or err.message
    if options.rejectUnauthorized ~= false then
      self.connecting = false
      self:destroy(err)
      return
    end
  else
    self._authorized = true
  end
  return base(self)
end

function M.client_session(session, options, host)
  session.encrypted = true
  session._scheme = "https"
  session._tlsHost = host
  session._tlsSocketGet = socket_get
  session._onconnect = secure_onconnect
  session._onorigin = on_origin
  session._options = options
end

return M
