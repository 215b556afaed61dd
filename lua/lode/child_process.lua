-- Node's `child_process`: spawn and execFile on libuv's uv_spawn (src/bindings/spawn.c). A child's
-- stdio pipes are net.Socket objects over pipe handles, as in Node.
--
--   local cp = require "lode.child_process"
--   cp.execFile("node", { "-e", "console.log(1)" }, function(err, stdout, stderr) ... end)
local core = require "lode_core"
local EventEmitter = require "lode.events"
local errors = require "lode.errors"
local process = require "lode.process"
local timers = require "lode.timers"
local net = require "lode.net"

local child_process = {}

local signals = core.signals
local signal_names = {}
for name, num in pairs(signals) do signal_names[num] = name end

local function signal_number(sig)
  if sig == nil then return signals.SIGTERM end
  if type(sig) == "number" then return math.tointeger(sig) end
  local n = signals[sig]
  if not n then
    error(errors.ERR_UNKNOWN_SIGNAL and errors.ERR_UNKNOWN_SIGNAL(sig)
      or errors.ERR_INVALID_ARG_VALUE("signal", sig), 3)
  end
  return n
end

-- ---- ChildProcess ----

local ChildProcess = EventEmitter:extend("ChildProcess")
child_process.ChildProcess = ChildProcess

function ChildProcess:constructor()
  EventEmitter.constructor(self)
  self.pid = nil
  self.exitCode = nil
  self.signalCode = nil
  self.killed = false
  self.connected = false
  self.stdin, self.stdout, self.stderr = nil, nil, nil
  self.stdio = {}
  self._closesNeeded = 1
  self._closesGot = 0
  self._handle = nil
end

local function maybe_close(self)
  self._closesGot = self._closesGot + 1
  if self._closesGot == self._closesNeeded then
    self:emit("close", self.exitCode, self.signalCode)
  end
end

-- stdio: "pipe" | "inherit" | "ignore" | { entry, ... } (entries "pipe", "inherit", "ignore",
-- an fd number, or nil for "pipe" on 0-2).
local function normalize_stdio(stdio)
  if stdio == nil then stdio = "pipe" end
  if type(stdio) == "string" then stdio = { stdio, stdio, stdio } end
  if type(stdio) ~= "table" then
    error(errors.ERR_INVALID_ARG_VALUE("stdio", stdio), 3)
  end
  local list = {}
  local n = math.max(3, #stdio)
  for i = 1, n do
    local v = stdio[i]
    if v == nil then v = i <= 3 and "pipe" or "ignore" end
    if v == "overlapped" then v = "pipe" end
    list[i] = v
  end
  return list
end

local function env_list(env)
  if env == nil then return nil end
  local list = {}
  for k, v in pairs(env) do
    if type(k) == "string" and v ~= nil then list[#list + 1] = k .. "=" .. tostring(v) end
  end
  table.sort(list)
  return list
end

function ChildProcess:spawn(options)
  local file, args = options.file, options.args or {}
  self.spawnfile = file
  self.spawnargs = { file, table.unpack(args) }
  local stdio = normalize_stdio(options.stdio)
  local c_stdio, pipes = {}, {}
  for i, v in ipairs(stdio) do
    if v == "pipe" then
      local box = assert(core.pipe({}))
      pipes[i] = box
      c_stdio[i] = box
    elseif v == "inherit" then
      c_stdio[i] = i - 1
    elseif type(v) == "number" then
      c_stdio[i] = v
    elseif type(v) == "table" and v._handle and v._handle.fileno then
      c_stdio[i] = v._handle:fileno() or "ignore"
    else
      c_stdio[i] = "ignore"
    end
  end
  local box, pid_or_msg, code = core.spawn(self, file, args, {
    cwd = options.cwd,
    env = env_list(options.env),
    detached = options.detached,
    stdio = c_stdio,
  })
  if not box then
    for _, p in pairs(pipes) do p:close() end
    local err = errors.exception_with_host_port(code, "spawn " .. file, nil)
    err.path = file
    err.spawnargs = args
    self.exitCode = err.errno
    process.nextTick(function()
      self:emit("error", err)
      maybe_close(self)
    end)
    return err
  end
  self._handle = box
  self.pid = pid_or_msg
  for i = 1, #stdio do
    local p = pipes[i]
    if p then
      local s = net.Socket.new({ handle = p, readable = i ~= 1, writable = i == 1 })
      self.stdio[i] = s
      if i ~= 1 then
        self._closesNeeded = self._closesNeeded + 1
        s:on("close", function() maybe_close(self) end)
      end
    else
      self.stdio[i] = nil
    end
  end
  self.stdin, self.stdout, self.stderr = self.stdio[1], self.stdio[2], self.stdio[3]
  return nil
end

function ChildProcess:_on_exit(code, signal)
  if signal ~= 0 then
    self.signalCode = signal_names[signal] or signal
  else
    self.exitCode = code
  end
  if self.stdin and not self.stdin.destroyed then self.stdin:destroy() end
  local h = self._handle
  if h then
    self._handle = nil
    h:close()
  end
  self:emit("exit", self.exitCode, self.signalCode)
  process.nextTick(function()
    -- Node's flushStdio: output nobody reads still flows, so the pipes end and close.
    for i = 2, #self.stdio do
      local s = self.stdio[i]
      if s and s.readable and not s.destroyed and s:listenerCount("data") == 0
         and s:listenerCount("readable") == 0 then
        s:resume()
      end
    end
  end)
  maybe_close(self)
end

-- kill([signal]) -> true when the signal was sent.
function ChildProcess:kill(sig)
  local num = signal_number(sig)
  local h = self._handle
  if not h then return false end
  local ok, _, code = h:kill(num)
  if ok then
    self.killed = true
    return true
  end
  if code ~= "ESRCH" then
    self:emit("error", errors.exception_with_host_port(code, "kill", nil))
  end
  return false
end

function ChildProcess:ref()
  if self._handle then self._handle:ref() end
end

function ChildProcess:unref()
  if self._handle then self._handle:unref() end
end

-- ---- spawn / execFile ----

local function check_args(file, args, options)
  if type(file) ~= "string" or file == "" then
    error(errors.ERR_INVALID_ARG_TYPE("file", "string", file), 3)
  end
  if type(args) == "table" and options == nil and args[1] == nil and next(args) ~= nil then
    options, args = args, {}
  end
  if args ~= nil and type(args) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("args", "Array", args), 3)
  end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  local list = {}
  for i, a in ipairs(args or {}) do list[i] = tostring(a) end
  return file, list, options or {}
end

-- spawn(file[, args][, options]) -> ChildProcess
function child_process.spawn(file, args, options)
  file, args, options = check_args(file, args, options)
  local child = ChildProcess.new()
  child:spawn({
    file = file, args = args, cwd = options.cwd, env = options.env,
    stdio = options.stdio, detached = options.detached,
  })
  if options.timeout and options.timeout > 0 and child._handle then
    local t = timers.setTimeout(function() child:kill(options.killSignal) end, options.timeout)
    t:unref()
    child:once("exit", function() t:close() end)
  end
  return child
end

-- execFile(file[, args][, options][, cb]) -> ChildProcess; cb(err, stdout, stderr)
function child_process.execFile(file, ...)
  local args, options, cb
  local n = select("#", ...)
  local rest = { ... }
  for i = 1, n do
    local v = rest[i]
    if type(v) == "function" then
      cb = v
    elseif type(v) == "table" then
      if args == nil and options == nil and (v[1] ~= nil or next(v) == nil) then
        args = v
      else
        options = v
      end
    end
  end
  options = options or {}
  local max_buffer = options.maxBuffer or 1024 * 1024
  local child = child_process.spawn(file, args or {}, {
    cwd = options.cwd, env = options.env, stdio = options.stdio, detached = options.detached,
  })
  local out, err_out = {}, {}
  local out_len, err_len = 0, 0
  local cmd = table.concat({ file, table.unpack(args or {}) }, " ")
  local ex, exited, timer = nil, false, nil
  local function done(code, signal)
    if exited then return end
    exited = true
    if timer then timer:close() end
    local stdout, stderr = table.concat(out), table.concat(err_out)
    if not cb then return end
    if ex then
      ex.cmd = cmd
    elseif code ~= 0 or signal ~= nil then
      ex = errors.Error.new("Command failed: " .. cmd .. "\n" .. stderr)
      ex.code = code
      ex.killed = child.killed
      ex.signal = signal
      ex.cmd = cmd
    end
    cb(ex, stdout, stderr)
  end
  local function kill()
    if child._handle then child:kill(options.killSignal) end
  end
  if child.stdout then
    child.stdout:on("data", function(chunk)
      out_len = out_len + #chunk
      out[#out + 1] = chunk
      if out_len > max_buffer then
        ex = errors.ERR_CHILD_PROCESS_STDIO_MAXBUFFER and errors.ERR_CHILD_PROCESS_STDIO_MAXBUFFER("stdout")
          or errors.Error.new("stdout maxBuffer length exceeded")
        kill()
      end
    end)
  end
  if child.stderr then
    child.stderr:on("data", function(chunk)
      err_len = err_len + #chunk
      err_out[#err_out + 1] = chunk
      if err_len > max_buffer then
        ex = errors.ERR_CHILD_PROCESS_STDIO_MAXBUFFER and errors.ERR_CHILD_PROCESS_STDIO_MAXBUFFER("stderr")
          or errors.Error.new("stderr maxBuffer length exceeded")
        kill()
      end
    end)
  end
  if options.timeout and options.timeout > 0 and child._handle then
    timer = timers.setTimeout(kill, options.timeout)
  end
  child:on("close", done)
  child:on("error", function(e)
    ex = e
    if child.stdout then child.stdout:destroy() end
    if child.stderr then child.stderr:destroy() end
    done(nil, nil)
  end)
  return child
end

return child_process
