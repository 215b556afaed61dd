-- Node's `tls` on the TLS engine (src/core/tls.c, mbedTLS 2.28: TLS 1.2) and net's sockets.
--
--   local tls = require "tls"
--   local server = tls.createServer({ key = key, cert = cert }, function(socket)
--     socket:finish("hello")
--   end)
--   server:listen(0, function()
--     local s = tls.connect(server:address().port, "localhost", { ca = ca }, function() ... end)
--   end)
--
-- A TLSSocket is a net.Socket whose tcp handle is read and written by a TLS conn in C: the
-- conn reads ciphertext straight into its buffer and calls back the socket's _on_tls_* methods
-- (one Lua string per decrypted batch); writes are encrypted at once and the ciphertext leaves
-- as one socket write per turn (a nextTick flush).
local core = require "lode_core"
local net = require "lode.net"
local errors = require "lode.errors"
local process = require "lode.process"

if not core.tls_context then
  local err = errors.Error.new("TLS support is disabled in this build of lode (meson -Dtls=false)")
  err.code = "ERR_NO_CRYPTO"
  error(err, 0)
end

local tls = {}

tls.DEFAULT_MIN_VERSION = "TLSv1.2"
tls.DEFAULT_MAX_VERSION = "TLSv1.2"
tls.DEFAULT_ECDH_CURVE = "auto"
tls.DEFAULT_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" ..
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" ..
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

local function tls_error(code, message)
  local err = errors.Error.new(message)
  err.code = code
  return err
end

-- ---- SecureContext ----

local SecureContext = require("lode.class"):extend("SecureContext")
tls.SecureContext = SecureContext

local function list_of(v)
  if v == nil then return {} end
  if type(v) == "table" and not v.pem then return v end
  return { v }
end

local function pem_of(v, name)
  if type(v) == "table" and v.pem then v = v.pem end
  if type(v) ~= "string" then
    error(errors.ERR_INVALID_ARG_TYPE("options." .. name, { "string", "Buffer" }, v), 4)
  end
  return v
end

-- Node's codes for OpenSSL's reasons, from the engine's text.
local function context_error(msg)
  local code = "ERR_OSSL_UNSUPPORTED"
  if msg:find("passphrase", 1, true) then
    code = "ERR_OSSL_BAD_DECRYPT"
  elseif msg:find("does not match", 1, true) then
    code = "ERR_OSSL_X509_KEY_VALUES_MISMATCH"
  elseif msg:find("certificate", 1, true) then
    code = "ERR_OSSL_PEM_NO_START_LINE"
  elseif msg:find("cipher", 1, true) then
    code = "ERR_SSL_NO_CIPHER_MATCH"
  end
  return tls_error(code, msg)
end

local function check_version(v, name)
  if v == nil then return nil end
  if v ~= "TLSv1" and v ~= "TLSv1.1" and v ~= "TLSv1.2" and v ~= "TLSv1.3" then
    error(errors.ERR_TLS_INVALID_PROTOCOL_VERSION(v, name == "minVersion" and "minimum"
      or "maximum"), 4)
  end
  return v
end

function SecureContext:constructor(options, is_server)
  options = options or {}
  local ctx = assert(core.tls_context(is_server and true or false))
  self.context = ctx
  self.isServer = is_server and true or false
  local keys, certs = list_of(options.key), list_of(options.cert)
  for i, cert in ipairs(certs) do
    local k = keys[i] or keys[1]
    if k == nil then error(tls_error("ERR_OSSL_X509_KEY_VALUES_MISMATCH",
      "A private key is required for each certificate"), 3) end
    local passphrase = options.passphrase
    if type(k) == "table" and k.passphrase then passphrase = k.passphrase end
    local ok, msg = ctx:add_cert(pem_of(cert, "cert"), pem_of(k, "key"), passphrase)
    if not ok then error(context_error(msg), 3) end
  end
  if #certs == 0 and #keys > 0 then
    error(tls_error("ERR_OSSL_X509_KEY_VALUES_MISMATCH", "A certificate is required with a key"), 3)
  end
  for _, ca in ipairs(list_of(options.ca)) do
    local ok, msg = ctx:add_ca(pem_of(ca, "ca"))
    if not ok then error(context_error(msg), 3) end
  end
  if options.ciphers ~= nil then
    if type(options.ciphers) ~= "string" then
      error(errors.ERR_INVALID_ARG_TYPE("options.ciphers", "string", options.ciphers), 3)
    end
    local ok, msg = ctx:set_ciphers(options.ciphers)
    if not ok then error(context_error(msg), 3) end
  end
  local minv = check_version(options.minVersion, "minVersion")
  local maxv = check_version(options.maxVersion, "maxVersion")
  if minv or maxv then
    local ok, msg = ctx:set_versions(minv, maxv)
    if not ok then error(tls_error("ERR_TLS_INVALID_PROTOCOL_VERSION", msg), 3) end
  end
  if is_server then
    local ok, msg = ctx:enable_tickets(options.sessionTimeout or 300)
    if not ok then error(context_error(msg), 3) end
  end
  ctx:keylog(true)
end

function tls.createSecureContext(options)
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 2)
  end
  return SecureContext.new(options, options and options.isServer)
end

local function set_alpn(ctx, protocols)
  if protocols == nil then return end
  if type(protocols) == "string" then protocols = { protocols } end
  if type(protocols) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options.ALPNProtocols", { "Array", "Buffer" }, protocols), 4)
  end
  ctx.context:set_alpn(protocols)
end

-- ---- checkServerIdentity (Node's lib/tls.js, to the letter) ----

local function unfqdn(host) return (host:gsub("%.$", "")) end

local function split_host(host)
  local parts = {}
  for p in (unfqdn(host):lower() .. "."):gmatch("([^.]*)%.") do parts[#parts + 1] = p end
  return parts
end

local function check(host_parts, pattern, wildcards)
  if not pattern or pattern == "" then return false end
  local pattern_parts = split_host(pattern)
  if #host_parts ~= #pattern_parts then return false end
  for _, p in ipairs(pattern_parts) do
    if p == "" or p:find("[^\33-\127]") then return false end
  end
  for i = #host_parts, 2, -1 do
    if host_parts[i] ~= pattern_parts[i] then return false end
  end
  local host_sub, pattern_sub = host_parts[1], pattern_parts[1]
  local star = pattern_sub:find("*", 1, true)
  if not star or pattern_sub:find("xn--", 1, true) then return host_sub == pattern_sub end
  if not wildcards then return false end
  if pattern_sub:find("*", star + 1, true) then return false end
  if #pattern_parts <= 2 then return false end
  local prefix, suffix = pattern_sub:sub(1, star - 1), pattern_sub:sub(star + 1)
  if #prefix + #suffix > #host_sub then return false end
  return host_sub:sub(1, #prefix) == prefix and (suffix == "" or host_sub:sub(-#suffix) == suffix)
end

-- Node's canonicalizeIP: IPv4 as is, IPv6 in its shortest form.
local function canonicalize_ip(ip)
  if not net.isIPv6(ip) then return ip end
  local head, tail = ip:match("^(.-)::(.*)$")
  local groups = {}
  local function add(s) for g in s:gmatch("[^:]+") do groups[#groups + 1] = tonumber(g, 16) end end
  if head then
    add(head)
    local right = {}
    for g in tail:gmatch("[^:]+") do right[#right + 1] = tonumber(g, 16) end
    for _ = 1, 8 - #groups - #right do groups[#groups + 1] = 0 end
    for _, g in ipairs(right) do groups[#groups + 1] = g end
  else
    add(ip)
  end
  local best_i, best_n, i = nil, 1, 1
  while i <= 8 do
    if groups[i] == 0 then
      local j = i
      while j <= 8 and groups[j] == 0 do j = j + 1 end
      if j - i > best_n then best_i, best_n = i, j - i end
      i = j
    else
      i = i + 1
    end
  end
  local out = {}
  for k = 1, 8 do out[k] = string.format("%x", groups[k] or 0) end
  if best_i then
    local left = table.concat(out, ":", 1, best_i - 1)
    local right = best_i + best_n <= 8 and table.concat(out, ":", best_i + best_n, 8) or ""
    return left .. "::" .. right
  end
  return table.concat(out, ":")
end

function tls.checkServerIdentity(hostname, cert)
  local subject = cert.subject
  local alt_names = cert.subjectaltname
  local dns_names, ips = {}, {}
  hostname = tostring(hostname)
  if alt_names then
    for name in (alt_names .. ", "):gmatch("(.-), ") do
      if name:sub(1, 4) == "DNS:" then
        dns_names[#dns_names + 1] = name:sub(5)
      elseif name:sub(1, 11) == "IP Address:" then
        ips[#ips + 1] = canonicalize_ip(name:sub(12))
      end
    end
  end
  local valid, reason = false, "Unknown reason"
  hostname = unfqdn(hostname)
  if net.isIP(hostname) ~= 0 then
    local want = canonicalize_ip(hostname)
    for _, ip in ipairs(ips) do if ip == want then valid = true end end
    if not valid then
      reason = "IP: " .. hostname .. " is not in the cert's list: " .. table.concat(ips, ", ")
    end
  elseif #dns_names > 0 or (subject and subject.CN) then
    local host_parts = split_host(hostname)
    if #dns_names > 0 then
      for _, n in ipairs(dns_names) do if check(host_parts, n, true) then valid = true end end
      if not valid then
        reason = "Host: " .. hostname .. ". is not in the cert's altnames: " .. alt_names
      end
    else
      local cn = subject.CN
      if type(cn) == "table" then
        for _, n in ipairs(cn) do if check(host_parts, n, true) then valid = true end end
        cn = table.concat(cn, ",")
      else
        valid = check(host_parts, cn, true)
      end
      if not valid then reason = "Host: " .. hostname .. ". is not cert's CN: " .. tostring(cn) end
    end
  else
    reason = "Cert does not contain a DNS name"
  end
  if not valid then return errors.ERR_TLS_CERT_ALTNAME_INVALID(reason, hostname, cert) end
  return nil
end

-- ---- certificates as Node shows them ----

local function dn_table(s)
  local t = {}
  for line in (s .. "\n"):gmatch("(.-)\n") do
    local k, v = line:match("^([^=]+)=(.*)$")
    if k then
      if t[k] == nil then
        t[k] = v
      elseif type(t[k]) == "table" then
        t[k][#t[k] + 1] = v
      else
        t[k] = { t[k], v }
      end
    end
  end
  return t
end

local function cert_object(der)
  local info = der and core.tls_cert_info(der)
  if not info then return nil end
  info.subject = dn_table(info.subject)
  info.issuer = dn_table(info.issuer)
  info.raw = der
  info.self_signed = nil
  return info
end

-- ---- key log ----

local keylog_file = os.getenv("SSLKEYLOGFILE")

local function append_keylog(lines)
  if not keylog_file or keylog_file == "" then return end
  local f = io.open(keylog_file, "a")
  if f then
    f:write(lines)
    f:close()
  end
end

-- Shared with lode.http2.secure, whose sessions carry the same certificates and key log.
tls._cert_object = cert_object
tls._append_keylog = append_keylog

-- ---- TLSSocket ----

local TLSSocket = net.Socket:extend("TLSSocket")
tls.TLSSocket = TLSSocket

function TLSSocket:constructor(socket, options)
  options = options or {}
  local opts = {}
  for k, v in pairs(options) do opts[k] = v end
  opts.manualStart = true
  if socket and socket.handle then opts.handle = socket.handle end
  net.Socket.constructor(self, opts)
  self.encrypted = true
  self.authorized = false
  self.authorizationError = nil
  self.alpnProtocol = false
  self.servername = false
  self._tlsOptions = options
  self._secureEstablished = false
  self._pendingWrites = {}
  self._flushCbs = {}
  self._flushScheduled = false
  self._isServer = options.isServer and true or false
  self._requestCert = options.requestCert and true or false
  self._rejectUnauthorized = options.rejectUnauthorized ~= false
  local ctx = options.secureContext
  if not ctx then
    ctx = SecureContext.new(options, self._isServer)
    set_alpn(ctx, options.ALPNProtocols)
  end
  self._secureContext = ctx
  local conn, msg = core.tls_conn(ctx.context, not self._isServer and options.servername or nil)
  if not conn then error(tls_error("ERR_SSL_SETUP", msg), 3) end
  self._tls = conn
  if options.session then conn:set_session(options.session) end
end

function TLSSocket:_start_tls()
  if self._tlsStarted or not self._handle then return end
  self._tlsStarted = true
  local ok, msg = self._tls:attach(self._handle)
  if not ok then self:destroy(tls_error("ERR_SSL_SETUP", msg)) end
end

-- ---- events from the conn ----

function TLSSocket:_on_tls_sni(servername)
  self.servername = servername ~= "" and servername or false
  local server = self._tlsOptions.server
  local cb = server and server._SNICallback
  if not cb or not self.servername then
    self._tls:use_context(nil)
    self._tls:resume()
    return
  end
  local done = false
  cb(servername, function(err, ctx)
    if done or self.destroyed then return end
    done = true
    if err then
      self:_tls_failed(err)
      return
    end
    if ctx ~= nil then self._sniContext = ctx end
    self._tls:use_context(ctx and ctx.context or nil)
    self._tls:resume()
  end)
end

function TLSSocket:_on_tls_keylog(lines)
  append_keylog(lines)
  for line in lines:gmatch("[^\n]*\n") do
    if self._isServer then
      local server = self._tlsOptions.server
      if server then server:emit("keylog", line, self) end
    else
      self:emit("keylog", line)
    end
  end
end

function TLSSocket:_on_tls_secure()
  local conn = self._tls
  self.alpnProtocol = conn:alpn() or false
  if self._isServer then
    self.servername = conn:servername() or false
  else
    self.servername = self._tlsOptions.servername or false
  end
  self._secureEstablished = true
  local options = self._tlsOptions
  if self._isServer then
    if self._requestCert then
      local code = conn:verify_error()
      if code then
        self.authorizationError = code
        if self._rejectUnauthorized then
          self:destroy()
          return
        end
      else
        self.authorized = true
      end
    end
    self:emit("secure")
    if not self.destroyed and options.server then
      options.server:emit("secureConnection", self)
    end
  else
    local code, msg = conn:verify_error()
    local verify_error
    if code then
      verify_error = tls_error(code, msg)
    elseif not conn:reused() then
      local hostname = options.servername or options.host or "localhost"
      verify_error = (options.checkServerIdentity or tls.checkServerIdentity)(hostname,
        self:getPeerCertificate(true))
    end
    local session = conn:get_session()
    if session then self:emit("session", session) end
    if verify_error then
      self.authorized = false
      self.authorizationError = verify_error.code or verify_error.message
      if self._rejectUnauthorized then
        self:destroy(verify_error)
        return
      end
    else
      self.authorized = true
    end
    self:emit("secure")
    self:emit("secureConnect")
  end
  if self.destroyed then return end
  local pending = self._pendingWrites
  self._pendingWrites = {}
  for _, fn in ipairs(pending) do fn() end
  if self.readable and not self:isPaused() then self:read(0) end
end

function TLSSocket:_tls_failed(err)
  if self.destroyed then return end
  if self._isServer and not self._secureEstablished then
    local server = self._tlsOptions.server
    self:destroy()
    if server then server:emit("tlsClientError", err, self) end
    return
  end
  self:destroy(err)
end

function TLSSocket:_on_tls_error(code, message)
  self:_tls_failed(tls_error(code, message))
end

function TLSSocket:_on_tls_data(chunk)
  if self.destroyed then return end
  if self._timer then self._timer:refresh() end
  self.bytesRead = self.bytesRead + #chunk
  if not self:push(chunk) then self._tls:read_stop() end
end

function TLSSocket:_on_tls_end()
  if self.destroyed then return end
  if not self._secureEstablished then
    local err = tls_error("ECONNRESET",
      "Client network socket disconnected before secure TLS connection was established")
    self:_tls_failed(err)
    return
  end
  self:push(nil)
  self:read(0)
end

function TLSSocket:_on_tls_flushed()
  local cbs = self._flushCbs
  self._flushCbs = {}
  for _, cb in ipairs(cbs) do cb() end
end

function TLSSocket:_on_tls_write_error(name)
  self:destroy(errors.exception_with_host_port(name, "write"))
end

-- ---- the Duplex side ----

function TLSSocket:_read()
  if self._tls and self._tlsStarted then self._tls:read_start() end
end

local function do_flush(self)
  self._flushScheduled = false
  if self.destroyed or not self._handle then
    self:_on_tls_flushed()
    return
  end
  local ok, name = self._tls:flush()
  if ok == nil then
    self:destroy(errors.exception_with_host_port(name, "write"))
  elseif ok then
    self:_on_tls_flushed()
  end
end

local function schedule_flush(self, cb)
  if cb then self._flushCbs[#self._flushCbs + 1] = cb end
  if not self._flushScheduled then
    self._flushScheduled = true
    process.nextTick(do_flush, self)
  end
end

local function write_secure(self, data, size, cb)
  if not self._secureEstablished then
    self._pendingWrites[#self._pendingWrites + 1] = function() write_secure(self, data, size, cb) end
    return
  end
  if self.destroyed then return cb(errors.ERR_STREAM_DESTROYED("write")) end
  if self._timer then self._timer:refresh() end
  local ok, msg = self._tls:write(data)
  if not ok then return cb(tls_error("ERR_SSL_WRITE", msg)) end
  self._bytesDispatched = self._bytesDispatched + size
  schedule_flush(self, cb)
end

function TLSSocket:_write(chunk, _, cb)
  write_secure(self, chunk, #chunk, cb)
end

function TLSSocket:_writev(chunks, cb)
  local list, size = {}, 0
  for i, c in ipairs(chunks) do
    local s = type(c) == "table" and c.chunk or c
    list[i] = s
    size = size + #s
  end
  write_secure(self, list, size, cb)
end

function TLSSocket:_final(cb)
  if not self._secureEstablished then
    self._pendingWrites[#self._pendingWrites + 1] = function() self:_final(cb) end
    return
  end
  if self._handle then
    self._tls:close_notify()
    self._tls:flush()
  end
  net.Socket._final(self, cb)
end

-- ---- what was negotiated ----

function TLSSocket:getPeerCertificate(detailed)
  if not self._tls then return nil end
  local leaf = cert_object(self._tls:peer_cert(0))
  if not leaf then return {} end
  if detailed then
    local cur, depth = leaf, 1
    while true do
      local nxt = cert_object(self._tls:peer_cert(depth))
      if not nxt then break end
      cur.issuerCertificate = nxt
      cur, depth = nxt, depth + 1
    end
    if cur.issuerCertificate == nil and cur.issuer and cur.subject then
      local same = true
      for k, v in pairs(cur.subject) do if cur.issuer[k] ~= v then same = false end end
      if same then cur.issuerCertificate = cur end
    end
  end
  return leaf
end

function TLSSocket:getProtocol()
  return self._tls and self._tls:version() or nil
end

function TLSSocket:getCipher()
  local name, std = self._tls:cipher()
  if not name then return nil end
  return { name = name, standardName = std and std:gsub("-", "_") or name,
    version = self:getProtocol() }
end

function TLSSocket:getSession()
  return self._tls and self._tls:get_session() or nil
end

function TLSSocket:isSessionReused()
  return self._tls and self._tls:reused() or false
end

function TLSSocket:getServername()
  return self.servername or nil
end

function TLSSocket:setServername(name)
  if self._isServer then error(errors.ERR_TLS_SNI_FROM_SERVER(), 2) end
  self._tlsOptions.servername = name
end

-- ---- tls.connect ----

local function normalize_connect_args(...)
  local n = select("#", ...)
  local args = { ... }
  local cb
  if n > 0 and type(args[n]) == "function" then cb = args[n] end
  local options = {}
  local given
  if type(args[1]) == "table" then
    given = args[1]
  else
    options.port = args[1]
    if type(args[2]) == "string" then
      options.host = args[2]
      given = args[3]
    else
      given = args[2]
    end
  end
  if type(given) == "table" then
    for k, v in pairs(given) do options[k] = v end
  end
  return options, cb
end

function tls.connect(...)
  local options, cb = normalize_connect_args(...)
  if options.port == nil then
    error(errors.ERR_MISSING_ARGS('"options" or "port" or "path"'), 2)
  end
  options.host = options.host or "localhost"
  if options.servername == nil and net.isIP(options.host) == 0 then
    options.servername = options.host
  end
  if options.rejectUnauthorized == nil then options.rejectUnauthorized = true end
  options.isServer = false
  local socket = TLSSocket.new(nil, options)
  if cb then socket:once("secureConnect", cb) end
  socket:once("connect", function() socket:_start_tls() end)
  net.Socket.connect(socket, { port = options.port, host = options.host, family = options.family,
    timeout = options.timeout })
  return socket
end

-- ---- Server ----

local Server = net.Server:extend("Server")
tls.Server = Server

function Server:constructor(options, listener)
  if type(options) == "function" then options, listener = nil, options end
  options = options or {}
  if type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  net.Server.constructor(self, options)
  self._tlsOptions = options
  self._requestCert = options.requestCert and true or false
  self._rejectUnauthorized = options.rejectUnauthorized ~= false
  self._SNICallback = options.SNICallback
  self._contexts = {}
  self:setSecureContext(options)
  if listener then self:on("secureConnection", listener) end
end

function Server:setSecureContext(options)
  local ctx = options.secureContext or SecureContext.new(options, true)
  if options.ALPNProtocols then set_alpn(ctx, options.ALPNProtocols) end
  if ctx.context.request_cert then ctx.context:request_cert(self._requestCert) end
  self._sharedContext = ctx
  self:_update_sni()
end

function Server:_update_sni()
  self._sharedContext.context:hold_sni(self._SNICallback ~= nil or #self._contexts > 0)
end

-- server:addContext(hostname, context): serves |context|'s certificate to clients asking for
-- |hostname| (wildcards as Node's: "*.example.com").
function Server:addContext(hostname, context)
  if type(hostname) ~= "string" then error(errors.ERR_TLS_REQUIRED_SERVER_NAME(), 2) end
  local ctx = context
  if getmetatable(ctx) ~= SecureContext then ctx = SecureContext.new(context, true) end
  ctx.context:request_cert(self._requestCert)
  local pattern = "^" .. hostname:gsub("[%.%-]", "%%%0"):gsub("%*", "[^.]*") .. "$"
  self._contexts[#self._contexts + 1] = { pattern, ctx }
  if not self._SNICallback then
    self._SNICallback = function(servername, cb)
      for i = #self._contexts, 1, -1 do
        local entry = self._contexts[i]
        if servername:lower():match(entry[1]) then return cb(nil, entry[2]) end
      end
      cb(nil, nil)
    end
  end
  self:_update_sni()
end

function Server:_on_connection(box, err)
  if not box then
    self:emit("error", errors.exception_with_host_port(err or "ECONNABORTED", "accept"))
    return
  end
  if self.maxConnections and self._connections >= self.maxConnections then
    box:close()
    return
  end
  local socket = TLSSocket.new({ handle = box }, {
    isServer = true,
    server = self,
    secureContext = self._sharedContext,
    requestCert = self._requestCert,
    rejectUnauthorized = self._rejectUnauthorized,
    allowHalfOpen = self.allowHalfOpen,
  })
  if self.noDelay then box:nodelay(true) end
  self._connections = self._connections + 1
  socket.server = self
  socket._server = self
  self:emit("connection", socket)
  socket:_start_tls()
end

function tls.createServer(options, listener)
  return Server.new(options, listener)
end

return tls
