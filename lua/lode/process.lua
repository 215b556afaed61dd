-- Node's `process`: an EventEmitter with the facts of this process, nextTick, and exit.
local core = require "lode_core"
local EventEmitter = require "lode.events"

local process = EventEmitter.new()

-- ---- process.nextTick: a FIFO drained after every callback from the loop ----

-- One or two arguments (the common case: streams queue fn(self) and fn(self, err)) are kept in
-- queue_a1 / queue_a2, so a tick allocates nothing; more are packed.
local queue_fn, queue_args, queue_a1, queue_a2 = {}, {}, {}, {}
local head, tail = 1, 0
local type, select, tick_pending = type, select, core.tick_pending
local NOARGS, ONE, TWO = {}, {}, {}

local function drain()
  while head <= tail do
    local i = head
    local fn, args = queue_fn[i], queue_args[i]
    queue_fn[i], queue_args[i] = nil, nil
    head = i + 1
    if args == NOARGS then
      fn()
    elseif args == ONE then
      local a = queue_a1[i]
      queue_a1[i] = nil
      fn(a)
    elseif args == TWO then
      local a, b = queue_a1[i], queue_a2[i]
      queue_a1[i], queue_a2[i] = nil, nil
      fn(a, b)
    else
      fn(table.unpack(args, 1, args.n))
    end
  end
  head, tail = 1, 0
end

function process.nextTick(fn, ...)
  if type(fn) ~= "function" then
    error(require("lode.errors").ERR_INVALID_ARG_TYPE("callback", "function", fn), 2)
  end
  local n = select("#", ...)
  local t = tail + 1
  tail = t
  queue_fn[t] = fn
  if n == 0 then
    queue_args[t] = NOARGS
  elseif n == 1 then
    queue_args[t] = ONE
    queue_a1[t] = ...
  elseif n == 2 then
    queue_args[t] = TWO
    queue_a1[t], queue_a2[t] = ...
  else
    queue_args[t] = table.pack(...)
  end
  if t == head then tick_pending() end
end

-- Runs the queued ticks now (the C side calls drain after each callback; this is for code that
-- runs outside a callback, like the main chunk).
process._tickCallback = drain

-- ---- facts ----

process.pid = core.getpid()
process.platform = "linux"
process.arch = "x64"
process.execPath = core.exepath()
process.title = "lode"
process.version = "v" .. core.version
process.versions = { lode = core.version, lua = _VERSION:match("%d+%.%d+"), uv = core.uv_version }
process.argv = {}
process.execArgv = {}
process.env = setmetatable(core.environ() or {}, {
  __newindex = function(t, k, v)
    if v ~= nil then v = tostring(v) end
    core.setenv(tostring(k), v)
    rawset(t, k, v)
  end,
})
process.exitCode = nil

local start_ns = core.hrtime()

process.hrtime = setmetatable({
  bigint = function() return core.hrtime() end,
}, {
  __call = function(_, prev)
    local ns = core.hrtime()
    local s, n = ns // 1000000000, ns % 1000000000
    if prev then
      s, n = s - prev[1], n - prev[2]
      if n < 0 then s, n = s - 1, n + 1000000000 end
    end
    return { s, n }
  end,
})

function process.uptime() return (core.hrtime() - start_ns) / 1e9 end
function process.cwd()
  local dir, err = core.cwd()
  if not dir then error(err, 2) end
  return dir
end
function process.chdir(dir)
  local ok, msg, code = core.chdir(dir)
  if not ok then error(require("lode.errors").uv(code, "chdir", dir, nil, msg), 2) end
end
function process.memoryUsage()
  local rss = core.rss()
  local lua_bytes = math.floor(collectgarbage("count") * 1024)
  return { rss = rss, heapTotal = lua_bytes, heapUsed = lua_bytes, external = 0, arrayBuffers = 0 }
end

function process.emitWarning(warning, typ, code)
  if type(warning) ~= "table" then
    warning = { name = typ or "Warning", message = tostring(warning), code = code }
  end
  process.nextTick(function()
    if process:listenerCount("warning") > 0 then
      process:emit("warning", warning)
    else
      core.write_stderr(string.format("(lode:%d) %s%s: %s\n", process.pid,
        warning.code and ("[" .. warning.code .. "] ") or "", warning.name or "Warning",
        warning.message))
    end
  end)
end

-- ---- stdio ----

-- process.stdout / process.stderr: synchronous writers, as Node's are for files and terminals.
local function std_writer(write, fd)
  return {
    fd = fd,
    isTTY = core.guess_handle(fd) == "tty",
    write = function(_, chunk, encoding, cb)
      if type(encoding) == "function" then cb = encoding end
      write(tostring(chunk))
      if type(cb) == "function" then process.nextTick(cb) end
      return true
    end,
  }
end
process.stdout = std_writer(core.write_stdout, 1)
process.stderr = std_writer(core.write_stderr, 2)

-- ---- exit ----

local exiting = false

function process.reallyExit(code) core.exit(code) end

function process.exit(code)
  if code ~= nil then process.exitCode = math.tointeger(code) or 1 end
  code = process.exitCode or 0
  if not exiting then
    exiting = true
    process._exiting = true
    process:emit("exit", code)
    code = process.exitCode or code
  end
  core.exit(code)
end

-- What the loop does with an error nobody caught: 'uncaughtException' listeners get it;
-- without one, the program prints it and ends with status 1, as node does.
function process._fatal(err, traceback)
  if not exiting and process:listenerCount("uncaughtException") > 0 then
    local ok, err2 = pcall(process.emit, process, "uncaughtException", err, "uncaughtException")
    if ok then return end
    err, traceback = err2, nil
  end
  local msg = tostring(err)
  if type(err) == "table" and type(err.stack) == "string" and err.stack ~= "" then
    traceback = err.stack
  end
  core.write_stderr("Uncaught " .. msg .. "\n" .. (traceback or "") .. "\n")
  process.exit(process.exitCode ~= nil and process.exitCode ~= 0 and process.exitCode or 1)
end

return process
