-- Node's `net`: TCP servers and sockets on the C tcp binding (src/bindings/tcp.c, stream.c).
--
--   local net = require "net"
--   local server = net.createServer(function(socket) socket:pipe(socket) end)
--   server:listen(0, "127.0.0.1", function() print(server:address().port) end)
--
-- A Socket is a stream.Duplex over a handle box; the handle calls back the Socket's _on* methods
-- (_on_connect, _on_read, _on_error, _on_write, _on_shutdown, _onclose). An open handle pins its
-- Socket or Server in C, so a server or socket nobody references keeps serving.
local core = require "lode_core"
local EventEmitter = require "lode.events"
local stream = require "lode.stream"
local errors = require "lode.errors"
local process = require "lode.process"
local timers = require "lode.timers"

local net = {}

-- ---- addresses ----

local function isIPv4(s)
  if type(s) ~= "string" then return false end
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return false end
  for _, part in ipairs { a, b, c, d } do
    if #part > 3 or (#part > 1 and part:sub(1, 1) == "0") or tonumber(part) > 255 then
      return false
    end
  end
  return true
end

local function hex_groups(s)
  if s == "" then return 0 end
  local n = 0
  for g in (s .. ":"):gmatch("([^:]*):") do
    if not g:match("^%x%x?%x?%x?$") then return nil end
    n = n + 1
  end
  return n
end

local function isIPv6(s)
  if type(s) ~= "string" then return false end
  local addr, zone = s:match("^([^%%]*)%%(.*)$")
  if addr then
    if not zone:match("^[%w%-%.:]+$") then return false end
    s = addr
  end
  local v4 = s:match(":(%d+%.%d+%.%d+%.%d+)$")
  if v4 then
    if not isIPv4(v4) then return false end
    s = s:sub(1, #s - #v4) .. "0:0"
  end
  local left, right = s:match("^(.-)::(.*)$")
  if left then
    if right:find("::", 1, true) then return false end
    local l, r = hex_groups(left), hex_groups(right)
    return l ~= nil and r ~= nil and l + r <= 7
  end
  return hex_groups(s) == 8
end

function net.isIPv4(s) return isIPv4(s) end
function net.isIPv6(s) return isIPv6(s) end
function net.isIP(s)
  if isIPv4(s) then return 4 end
  if isIPv6(s) then return 6 end
  return 0
end

-- ---- errors, in Node's shapes ----

-- Node's errnoException: "read ECONNRESET".
local function errno_exception(code, syscall)
  return errors.exception_with_host_port(code, syscall, nil)
end

-- Node's exceptionWithHostPort: "connect ECONNREFUSED 127.0.0.1:1".
local exception_with_host_port = errors.exception_with_host_port

-- Node's uvExceptionWithHostPort: "listen EADDRINUSE: address already in use 127.0.0.1:8080".
local uv_exception_with_host_port = errors.uv_host_port

-- Node's dnsException for a failed lookup: "getaddrinfo ENOTFOUND example.invalid".
local function dns_exception(code, hostname)
  if code == "EAI_NONAME" or code == "EAI_NODATA" then code = "ENOTFOUND" end
  if code:sub(1, 4) == "EAI_" then code = "E" .. code:sub(5) end
  local err = errors.Error.new("getaddrinfo " .. code .. " " .. hostname)
  err.errno = code == "ENOTFOUND" and -3008 or nil
  err.code = code
  err.syscall = "getaddrinfo"
  err.hostname = hostname
  return err
end

local function validate_port(port, name)
  local n = port
  if type(n) == "string" and n:match("^%s*%d+%s*$") then n = tonumber(n) end
  if type(n) ~= "number" or n ~= n or n < 0 or n > 65535 or n % 1 ~= 0 then
    error(errors.ERR_SOCKET_BAD_PORT(name or "Port", port), 3)
  end
  return math.tointeger(n)
end

-- ---- Socket ----

local Socket = stream.Duplex:extend("Socket")
net.Socket = Socket
net.Stream = Socket

local function init_handle(self, h)
  self._handle = h
  h:set_owner(self)
  if self._unrefed then h:unref() end
end

function Socket:constructor(options)
  options = options or {}
  local opts = {}
  for k, v in pairs(options) do opts[k] = v end
  opts.allowHalfOpen = options.allowHalfOpen and true or false
  opts.emitClose = false    -- 'close' comes from the handle's close, with hadError
  opts.autoDestroy = true
  opts.decodeStrings = true
  opts.handle = nil
  stream.Duplex.constructor(self, opts)
  self.connecting = false
  self.bytesRead = 0
  self._bytesDispatched = 0
  self._writeSeq = 0
  self._writeCbs = {}
  self._handle = nil
  self._handleReading = false
  self._timeoutMs = 0
  self._timer = nil
  self._hadError = false
  self.server = nil
  self._server = nil
  if options.handle then
    init_handle(self, options.handle)
    if options.readable ~= false then
      if options.pauseOnCreate then
        self._handle:read_stop()
        self._handleReading = false
        if self.pause then self:pause() end
      elseif not options.manualStart then
        self:read(0)
      end
    end
  end
end

-- ---- properties ----

Socket:getter("pending", function(self) return self._handle == nil or self.connecting end)

Socket:getter("readyState", function(self)
  if self.connecting then return "opening" end
  if self.readable and self.writable then return "open" end
  if self.readable and not self.writable then return "readOnly" end
  if not self.readable and self.writable then return "writeOnly" end
  return "closed"
end)

Socket:getter("bytesWritten", function(self)
  return self._bytesDispatched + (self.writableLength or 0)
end)

Socket:getter("bufferSize", function(self)
  return self._handle and self._handle:write_queue_size() + (self.writableLength or 0) or nil
end)

local function peer(self)
  if not self._peername then
    local h = self._handle
    if not h or self.connecting or not h.getpeername then return {} end
    local a = h:getpeername()
    if not a then return {} end
    self._peername = a
  end
  return self._peername
end

local function sock(self)
  if not self._sockname then
    local h = self._handle
    if not h or not h.getsockname then return {} end
    local a = h:getsockname()
    if not a then return {} end
    self._sockname = a
  end
  return self._sockname
end

Socket:getter("remoteAddress", function(self) return peer(self).address end)
Socket:getter("remotePort", function(self) return peer(self).port end)
Socket:getter("remoteFamily", function(self) return peer(self).family end)
Socket:getter("localAddress", function(self) return sock(self).address end)
Socket:getter("localPort", function(self) return sock(self).port end)
Socket:getter("localFamily", function(self) return sock(self).family end)

function Socket:address()
  local a = sock(self)
  if a.address == nil then return {} end
  return { address = a.address, family = a.family, port = a.port }
end

-- ---- timeouts ----

local function touch(self)
  if self._timer then self._timer:refresh() end
end

function Socket:setTimeout(ms, cb)
  if type(ms) ~= "number" or ms < 0 or ms ~= ms then
    error(errors.ERR_OUT_OF_RANGE("msecs", "a non-negative finite number", ms), 2)
  end
  if self._timer then
    self._timer:close()
    self._timer = nil
  end
  self._timeoutMs = ms
  if ms == 0 then
    if cb then self:removeListener("timeout", cb) end
  else
    self._timer = timers.setTimeout(function()
      self._timer = nil
      self:emit("timeout")
    end, ms)
    self._timer:unref()
    if cb then self:once("timeout", cb) end
  end
  return self
end

Socket:getter("timeout", function(self) return self._timeoutMs end)

function Socket:setNoDelay(enable)
  if enable == nil then enable = true end
  if self._handle and self._handle.nodelay then self._handle:nodelay(enable and true or false) end
  return self
end

function Socket:setKeepAlive(enable, initialDelay)
  if self._handle and self._handle.keepalive then
    self._handle:keepalive(enable and true or false, math.floor(tonumber(initialDelay) or 0))
  end
  return self
end

function Socket:ref()
  self._unrefed = false
  if self._handle then self._handle:ref() end
  return self
end

function Socket:unref()
  self._unrefed = true
  if self._handle then self._handle:unref() end
  return self
end

-- ---- reading ----

local function read_start(self)
  if self._handle and not self._handleReading then
    local ok, _, code = self._handle:read_start()
    if ok then
      self._handleReading = true
    else
      self:destroy(errno_exception(code or "EINVAL", "read"))
    end
  end
end

function Socket:_read()
  if self.connecting or not self._handle then
    if not self._waitingRead then
      self._waitingRead = true
      self:once("connect", function()
        self._waitingRead = false
        read_start(self)
      end)
    end
  else
    read_start(self)
  end
end

function Socket:_on_read(chunk)
  if self.destroyed then return end
  touch(self)
  if chunk == nil then
    self._handleReading = false
    self:push(nil)
    self:read(0) -- an empty buffer ends now, read or not (Node's onStreamRead)
    return
  end
  self.bytesRead = self.bytesRead + #chunk
  if not self:push(chunk) and self._handle then
    self._handleReading = false
    self._handle:read_stop()
  end
end

function Socket:_on_error(code)
  self._handleReading = false
  self:destroy(errno_exception(code, "read"))
end

-- ---- writing ----

local function write_generic(self, data, size, cb)
  if self.connecting then
    self:once("connect", function() write_generic(self, data, size, cb) end)
    return
  end
  local h = self._handle
  if not h then
    cb(errors.ERR_SOCKET_CLOSED and errors.ERR_SOCKET_CLOSED() or errno_exception("EBADF", "write"))
    return
  end
  touch(self)
  self._writeSeq = self._writeSeq + 1
  local id = self._writeSeq
  local ok, _, code = h:write(data, id)
  if ok == nil then
    cb(errno_exception(code, "write"))
    return
  end
  self._bytesDispatched = self._bytesDispatched + size
  if ok then
    cb()
  else
    self._writeCbs[id] = cb
  end
end

function Socket:_on_write(id, err)
  local cb = self._writeCbs[id]
  self._writeCbs[id] = nil
  if not cb then return end
  touch(self)
  if err and not self.destroyed then
    cb(errno_exception(err, "write"))
  else
    cb()
  end
end

function Socket:_write(chunk, _, cb)
  write_generic(self, chunk, #chunk, cb)
end

function Socket:_writev(chunks, cb)
  local list, size = {}, 0
  for i, c in ipairs(chunks) do
    local s = type(c) == "table" and c.chunk or c
    list[i] = s
    size = size + #s
  end
  write_generic(self, list, size, cb)
end

function Socket:_final(cb)
  if self.pending and self.connecting then
    self:once("connect", function() self:_final(cb) end)
    return
  end
  local h = self._handle
  if not h then return cb() end
  local ok, _, code = h:shutdown()
  if not ok then
    if code == "ENOTCONN" then return cb() end
    return cb(errno_exception(code, "shutdown"))
  end
  self._shutdownCb = cb
end

function Socket:_on_shutdown()
  local cb = self._shutdownCb
  self._shutdownCb = nil
  if cb then cb() end
end

-- ---- closing ----

function Socket:_destroy(err, cb)
  if self._timer then
    self._timer:close()
    self._timer = nil
  end
  self.connecting = false
  local h = self._handle
  if h then
    self._handle = nil
    self._handleReading = false
    self._closeHadError = err ~= nil
    if self._resetAndDestroy and h.close_reset then h:close_reset() else h:close() end
    cb(err)
  else
    cb(err)
    process.nextTick(function() self:emit("close", err ~= nil) end)
  end
  local server = self._server
  if server then
    self._server = nil
    server._connections = server._connections - 1
    server:_emitCloseIfDrained()
  end
end

-- The handle is closed (its write and connect callbacks have all run).
function Socket:_onclose()
  local had = self._closeHadError
  if had == nil then return end -- a handle dropped before use (a failed connect attempt)
  self._closeHadError = nil
  self:emit("close", had)
end

function Socket:resetAndDestroy()
  self._resetAndDestroy = true
  return self:destroy()
end

-- ---- connecting ----

-- connect(port[, host][, cb]) / connect({port=, host=, family=}[, cb]) -> options, cb
local function normalize_connect_args(...)
  local n = select("#", ...)
  local args = { ... }
  local cb
  if n > 0 and type(args[n]) == "function" then
    cb = args[n]
    n = n - 1
  end
  local options
  if type(args[1]) == "table" then
    options = args[1]
  elseif n >= 1 and args[1] ~= nil then
    options = { port = args[1], host = args[2] }
  else
    options = {}
  end
  return options, cb
end
net._normalize_connect_args = normalize_connect_args

local function internal_connect(self, address, port, addresses, index)
  if not self.connecting then return end
  local h = self._handle
  local ok, _, code = h:connect(address, port)
  if not ok then
    self:destroy(exception_with_host_port(code, "connect", address, port))
    return
  end
  self._connectAttempt = { address = address, port = port, addresses = addresses, index = index }
end

function Socket:_on_connect(err)
  local attempt = self._connectAttempt
  self._connectAttempt = nil
  if self.destroyed or not self.connecting or not attempt then return end
  if err then
    -- Try the next address of the lookup (Node's autoSelectFamily), on a fresh handle.
    local list = attempt.addresses
    if list and attempt.index < #list then
      local old = self._handle
      self._handle = nil
      old:close()
      init_handle(self, core.tcp(self))
      self._handle:pin()
      local nxt = list[attempt.index + 1]
      internal_connect(self, nxt.address, attempt.port, list, attempt.index + 1)
      return
    end
    self:destroy(exception_with_host_port(err, "connect", attempt.address, attempt.port))
    return
  end
  self.connecting = false
  self._sockname, self._peername = nil, nil
  if self._noDelay then self._handle:nodelay(true) end
  if self._keepAlive then self._handle:keepalive(true, self._keepAliveInitialDelay or 0) end
  self:emit("connect")
  self:emit("ready")
  if self.readable and not self:isPaused() then self:read(0) end
end

function Socket:connect(...)
  local options, cb = normalize_connect_args(...)
  if options.path then
    error(errors.ERR_INVALID_ARG_VALUE("options.path", options.path, "is not supported by lode"), 2)
  end
  if options.port == nil then
    error(errors.ERR_MISSING_ARGS('"options" or "port" or "path"'), 2)
  end
  local port = validate_port(options.port)
  local host = options.host or "localhost"
  if type(host) ~= "string" then
    error(errors.ERR_INVALID_ARG_TYPE("options.host", "string", host), 2)
  end
  if self.connecting then return self end
  if cb then self:once("connect", cb) end
  if options.noDelay then self._noDelay = true end
  if options.keepAlive then
    self._keepAlive = true
    self._keepAliveInitialDelay = options.keepAliveInitialDelay
  end
  if options.timeout then self:setTimeout(options.timeout) end
  self.connecting = true
  if not self._handle then
    local h, msg = core.tcp(self)
    if not h then error(msg, 2) end
    init_handle(self, h)
  end
  -- Pinned from now: a connecting socket nobody references still connects.
  self._handle:pin()
  touch(self)
  local family = options.family
  if isIPv4(host) or isIPv6(host) then
    process.nextTick(internal_connect, self, host, port, nil, 1)
    return self
  end
  local ok, _, code = core.getaddrinfo(host, family == 4 and 4 or family == 6 and 6 or 0,
    function(err, list)
      if not self.connecting then return end
      if err or #list == 0 then
        local e = dns_exception(err or "ENOTFOUND", host)
        self:emit("lookup", e, nil, nil, host)
        self:destroy(e)
        return
      end
      self:emit("lookup", nil, list[1].address, list[1].family, host)
      internal_connect(self, list[1].address, port, list, 1)
    end)
  if not ok then
    process.nextTick(function() self:destroy(dns_exception(code, host)) end)
  end
  return self
end

function net.connect(...)
  local options = normalize_connect_args(...)
  if options.port == nil and options.path == nil then
    error(errors.ERR_MISSING_ARGS('"options" or "port" or "path"'), 2)
  end
  if options.port ~= nil then validate_port(options.port) end
  local socket = Socket.new(options)
  if options.timeout then socket:setTimeout(options.timeout) end
  return socket:connect(...)
end
net.createConnection = net.connect

-- ---- Server ----

local Server = EventEmitter:extend("Server")
net.Server = Server

function Server:constructor(options, listener)
  EventEmitter.constructor(self)
  if type(options) == "function" then options, listener = nil, options end
  options = options or {}
  if type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  if listener then self:on("connection", listener) end
  self._connections = 0
  self._handle = nil
  self._unrefed = false
  self.allowHalfOpen = options.allowHalfOpen and true or false
  self.pauseOnConnect = options.pauseOnConnect and true or false
  self.noDelay = options.noDelay and true or false
  self.keepAlive = options.keepAlive and true or false
  self.keepAliveInitialDelay = options.keepAliveInitialDelay or 0
  self.maxConnections = nil
end

Server:getter("listening", function(self) return self._handle ~= nil end)

function Server:_on_connection(box, err)
  if not box then
    self:emit("error", errno_exception(err or "ECONNABORTED", "accept"))
    return
  end
  if self.maxConnections and self._connections >= self.maxConnections then
    box:close()
    return
  end
  local socket = Socket.new({
    handle = box,
    allowHalfOpen = self.allowHalfOpen,
    pauseOnCreate = self.pauseOnConnect,
    readable = true,
    writable = true,
  })
  if self.noDelay then box:nodelay(true) end
  if self.keepAlive then box:keepalive(true, self.keepAliveInitialDelay) end
  self._connections = self._connections + 1
  socket.server = self
  socket._server = self
  self:emit("connection", socket)
end

local function listen_on(self, address, port, backlog)
  local h = assert(core.tcp(self))
  local ok, _, code
  local bind_address = address
  if address == nil then
    -- Node: '::' (dual stack) when the system has IPv6, else '0.0.0.0'.
    bind_address = "::"
    ok, _, code = h:bind("::", port)
    if not ok then
      h:close()
      h = assert(core.tcp(self))
      bind_address = "0.0.0.0"
      ok, _, code = h:bind("0.0.0.0", port)
    end
  else
    ok, _, code = h:bind(address, port)
  end
  local syscall = "bind"
  if ok then
    syscall = "listen"
    ok, _, code = h:listen(backlog or 511)
  end
  if not ok then
    h:close()
    local err = uv_exception_with_host_port(code, syscall, bind_address, port)
    process.nextTick(function() self:emit("error", err) end)
    return
  end
  self._handle = h
  if self._unrefed then h:unref() end
  process.nextTick(function()
    if self._handle == h then self:emit("listening") end
  end)
end

-- listen(port[, host][, backlog][, cb]) / listen({port=, host=, backlog=}[, cb])
function Server:listen(...)
  local n = select("#", ...)
  local args = { ... }
  local cb
  if n > 0 and type(args[n]) == "function" then
    cb = args[n]
    n = n - 1
  end
  local port, host, backlog
  if type(args[1]) == "table" then
    local o = args[1]
    if o.path then
      error(errors.ERR_INVALID_ARG_VALUE("options.path", o.path, "is not supported by lode"), 2)
    end
    port, host, backlog = o.port, o.host, o.backlog
    if port ~= nil then port = validate_port(port, "options.port") end
  else
    port = args[1]
    for i = 2, n do
      local a = args[i]
      if type(a) == "string" and host == nil and backlog == nil then
        host = a
      elseif type(a) == "number" and backlog == nil then
        backlog = a
      end
    end
    if port ~= nil then port = validate_port(port, "options.port") end
  end
  port = port or 0
  if self._handle then error(errors.ERR_SERVER_ALREADY_LISTEN(), 2) end
  if cb then self:once("listening", cb) end
  if host == nil or isIPv4(host) or isIPv6(host) then
    listen_on(self, host, port, backlog)
  else
    local ok, _, code = core.getaddrinfo(host, 0, function(err, list)
      if err or #list == 0 then
        self:emit("error", dns_exception(err or "ENOTFOUND", host))
      else
        listen_on(self, list[1].address, port, backlog)
      end
    end)
    if not ok then process.nextTick(function() self:emit("error", dns_exception(code, host)) end) end
  end
  return self
end

function Server:address()
  if not self._handle then return nil end
  local a = self._handle:getsockname()
  if not a then return nil end
  return { address = a.address, family = a.family, port = a.port }
end

function Server:_emitCloseIfDrained()
  if self._handle or self._connections > 0 or self._closeQueued then return end
  self._closeQueued = true
  process.nextTick(function()
    self._closeQueued = false
    self:emit("close")
  end)
end

function Server:close(cb)
  if cb then
    if not self._handle then
      self:once("close", function() cb(errors.ERR_SERVER_NOT_RUNNING()) end)
    else
      self:once("close", cb)
    end
  end
  local h = self._handle
  if h then
    self._handle = nil
    h:close()
  end
  self:_emitCloseIfDrained()
  return self
end

function Server:getConnections(cb)
  process.nextTick(cb, nil, self._connections)
  return self
end

function Server:ref()
  self._unrefed = false
  if self._handle then self._handle:ref() end
  return self
end

function Server:unref()
  self._unrefed = true
  if self._handle then self._handle:unref() end
  return self
end

function net.createServer(options, listener)
  return Server.new(options, listener)
end

return net
