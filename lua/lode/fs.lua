-- Node's `fs` over libuv: the *Sync functions, their callback forms, Stats and constants.
--
--   local fs = require "fs"                      -- require "lode.fs" from plain Lua
--   local pem = fs.readFileSync("cert.pem")      -- bytes (a Lua string); ("x", "hex") decodes
--   local fd = fs.openSync("index.html", "r")
--   local st = fs.fstatSync(fd)                  -- st.size, st:isFile(), st.mtime:toUTCString()
--   fs.readFile("x", function(err, data) ... end)
--
-- Reads return strings (API.md, "fs reads"): fs.readSync(fd, length[, position]) and
-- fs.read(fd, length, position, cb(err, data)). Callbacks get (err, ...) with err == nil on
-- success; failures are Node's system errors (code, errno, syscall, path, dest).
--
-- The bindings (core.fs_*, src/bindings/fs.c) run synchronously, or on libuv's thread pool when
-- given a callback, and answer both ways with the same values: results, or the fail triple
-- nil, "ENOENT: no such file or directory", "ENOENT". Operations made of several steps
-- (readFile, writeFile, recursive mkdir and rm) are written once, against a `call` function:
-- the Sync forms pass one that calls the binding directly, the callback forms run the same code
-- in a coroutine whose `call` waits for the binding's callback.
local core = require "lode_core"
local errors = require "lode.errors"
local encoding = require "lode.encoding"
local Object = require "lode.class"
local Date = require "lode.date"

local fs = {}

local constants = core.fs_constants
fs.constants = constants
fs.F_OK, fs.R_OK, fs.W_OK, fs.X_OK = constants.F_OK, constants.R_OK, constants.W_OK, constants.X_OK

local S_IFMT = constants.S_IFMT
local DEFAULT_FILE_MODE = 438 -- 0o666
local DEFAULT_DIR_MODE = 511  -- 0o777
local INT32_MAX = 2147483647
local UINT32_MAX = 4294967295
local MAX_SAFE_INTEGER = 9007199254740991

local math_type, select, type = math.type, select, type

-- Node's SystemError for rm on a directory without recursive; errors.lua does not declare it.
if errors.ERR_FS_EISDIR == nil then
  local SystemError = errors.Error:extend("SystemError")
  SystemError.name = "SystemError"
  errors.E("ERR_FS_EISDIR", function(self, ctx)
    self.info = ctx
    self.errno, self.syscall, self.path = ctx.errno, ctx.syscall, ctx.path
    return string.format("Path is a directory: %s returned %s (%s) %s", ctx.syscall, ctx.code,
      ctx.message, ctx.path)
  end, SystemError)
end

local function next_tick(...)
  return require("lode.process").nextTick(...)
end

-- ---- errors ----

-- The system error for a fail triple's message and code: "ENOENT: no such file or directory"
-- becomes "ENOENT: no such file or directory, open 'x'", with syscall, path and dest.
local function uv_error(syscall, path, dest, msg, code)
  local desc = msg and msg:match("^[%w_]+: (.*)$") or msg
  return errors.uv(code, syscall, path, dest, desc)
end

-- Returns the results of a binding, or raises its failure as a system error.
local function check(syscall, path, dest, ok, ...)
  if ok == nil then error(uv_error(syscall, path, dest, ...), 3) end
  return ok, ...
end

-- ---- argument validation (Node's lib/internal/validators.js) ----

local function invalid_type(name, expected, value)
  return errors.ERR_INVALID_ARG_TYPE(name, expected, value)
end

local function validate_function(value, name)
  if type(value) ~= "function" then error(invalid_type(name, "function", value), 3) end
  return value
end

local PATH_TYPES = { "string", "Buffer", "URL" }

-- A path: a string without NUL bytes. C would silently cut a path at its first NUL.
local function validate_path(path, name)
  name = name or "path"
  if type(path) ~= "string" then error(invalid_type(name, PATH_TYPES, path), 3) end
  if path:find("\0", 1, true) then
    error(errors.ERR_INVALID_ARG_VALUE(name, path,
      "must be a string, Uint8Array, or URL without null bytes"), 3)
  end
  return path
end

-- An integer in [min, max], else ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE as Node's
-- validateInteger / validateInt32 raise them.
local function validate_integer(value, name, min, max, level)
  level = (level or 3) + 1
  if type(value) ~= "number" then error(invalid_type(name, "number", value), level) end
  if math_type(value) ~= "integer" then
    if value ~= value or value % 1 ~= 0 then
      error(errors.ERR_OUT_OF_RANGE(name, "an integer", value), level)
    end
    value = math.tointeger(value) or value
  end
  if value < min or value > max then
    error(errors.ERR_OUT_OF_RANGE(name, string.format(">= %d && <= %d", min, max), value), level)
  end
  return value
end

local function validate_fd(fd)
  return validate_integer(fd, "fd", 0, INT32_MAX, 4)
end

-- Node's stringToFlags.
local FLAGS
do
  local O = constants
  local W, RW = O.O_WRONLY, O.O_RDWR
  local CT, A, X, SY = O.O_CREAT | O.O_TRUNC, O.O_CREAT | O.O_APPEND, O.O_EXCL, O.O_SYNC
  FLAGS = {
    r = O.O_RDONLY, rs = O.O_RDONLY | SY, sr = O.O_RDONLY | SY,
    ["r+"] = RW, ["rs+"] = RW | SY, ["sr+"] = RW | SY,
    w = CT | W, wx = CT | W | X, xw = CT | W | X,
    ["w+"] = CT | RW, ["wx+"] = CT | RW | X, ["xw+"] = CT | RW | X,
    a = A | W, ax = A | W | X, xa = A | W | X, as = A | W | SY, sa = A | W | SY,
    ["a+"] = A | RW, ["ax+"] = A | RW | X, ["xa+"] = A | RW | X,
    ["as+"] = A | RW | SY, ["sa+"] = A | RW | SY,
  }
end

local function parse_flags(flags, default)
  if flags == nil then flags = default end
  if type(flags) == "number" then return validate_integer(flags, "flags", -2147483648, INT32_MAX, 4) end
  local n = FLAGS[flags]
  if n == nil then error(errors.ERR_INVALID_ARG_VALUE("flags", flags), 3) end
  return n
end

-- A mode: a 32-bit unsigned integer or an octal string ("644").
local function parse_mode(mode, default)
  if mode == nil then return default end
  if type(mode) == "string" then
    if not mode:match("^[0-7]+$") then
      error(errors.ERR_INVALID_ARG_VALUE("mode", mode,
        "must be a 32-bit unsigned integer or an octal string"), 3)
    end
    mode = tonumber(mode, 8)
  end
  if type(mode) ~= "number" then
    error(errors.ERR_INVALID_ARG_VALUE("mode", mode,
      "must be a 32-bit unsigned integer or an octal string"), 3)
  end
  return validate_integer(mode, "mode", 0, UINT32_MAX, 4)
end

-- A read/write position: nil or -1 for the current one.
local function parse_position(position)
  if position == nil then return -1 end
  return validate_integer(position, "position", -1, MAX_SAFE_INTEGER, 4)
end

local function validate_boolean(value, name)
  if value ~= nil and type(value) ~= "boolean" then
    error(errors.ERR_INVALID_ARG_TYPE(name, "boolean", value), 4)
  end
  return value == true
end

local function validate_encoding(enc)
  if enc == nil or enc == "buffer" then return nil end
  if encoding.normalize(enc) == nil then
    error(errors.ERR_INVALID_ARG_VALUE("encoding", enc, "is invalid encoding"), 4)
  end
  return enc
end

-- Node's getOptions: nil -> {}, a string -> { encoding = s }, a table as it is.
local function get_options(options)
  if options == nil then return {} end
  if type(options) == "string" then options = { encoding = options }
  elseif type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", { "string", "Object" }, options), 3)
  end
  validate_encoding(options.encoding)
  return options
end

-- Node's validateObject for options that must be a table when given.
local function object_options(options)
  if options == nil then return {} end
  if type(options) ~= "table" then error(invalid_type("options", "object", options), 3) end
  return options
end

-- Bytes -> the caller's encoding (nil: bytes as they are, Node's Buffer).
local function decode(data, enc)
  if enc == nil or enc == "buffer" then return data end
  return encoding.toString(data, enc)
end

local DATA_TYPES = { "string", "Buffer", "TypedArray", "DataView" }

local function validate_data(data, name)
  if type(data) ~= "string" then error(invalid_type(name or "data", DATA_TYPES, data), 3) end
  return data
end

-- ---- the sync and async drivers for multi-step operations ----

local function sync_call(fn, ...) return fn(...) end

--[[
Runs algo(call, ...) in a coroutine, each `call(binding, args...)` waiting for the binding's
callback, then calls cb(nil, results...) or cb(err). An error object raised by algo is the
operation's failure; anything else is a bug and goes where uncaught errors go. A result reached
before the first wait (a refused request) is delivered on the next tick: callbacks never run
before their function returns.
]]
local function run_async(cb, algo, ...)
  local co, started
  local step

  local function resume(...) step(coroutine.resume(co, ...)) end

  local function call(fn, ...)
    local n = select("#", ...)
    local args = { ... }
    args[n + 1] = resume
    local r = table.pack(fn(table.unpack(args, 1, n + 1)))
    if r[1] == nil then return table.unpack(r, 1, r.n) end -- refused: no callback will come
    return coroutine.yield()
  end

  step = function(ok, ...)
    if coroutine.status(co) ~= "dead" then return end
    if not ok then
      local err = ...
      if not errors.is_error(err) then error(debug.traceback(co, tostring(err)), 0) end
      if started then cb(err) else next_tick(cb, err) end
    elseif started then
      cb(nil, ...)
    else
      next_tick(cb, nil, ...)
    end
  end

  co = coroutine.create(algo)
  step(coroutine.resume(co, call, ...))
  started = true
end

-- ---- simple async operations: one binding, one callback ----

-- The callback a binding gets: failure -> cb(system error); success -> cb(nil), or with
-- with_result cb(nil, results...).
local function completion(cb, syscall, path, dest, with_result)
  return function(res, msg, code, ...)
    if res == nil then
      cb(uv_error(syscall, path, dest, msg, code))
    elseif with_result then
      cb(nil, res, msg, code, ...)
    else
      cb(nil)
    end
  end
end

-- Submits: when libuv refuses, the error still arrives through cb, on the next tick.
local function submitted(cb, syscall, path, dest, ok, msg, code)
  if ok == nil then next_tick(cb, uv_error(syscall, path, dest, msg, code)) end
end

-- ---- Stats and Dirent ----

local Stats = Object:extend("Stats")
fs.Stats = Stats

local function stat_type_test(bits)
  return function(self) return (self.mode & S_IFMT) == bits end
end
Stats.isFile = stat_type_test(constants.S_IFREG)
Stats.isDirectory = stat_type_test(constants.S_IFDIR)
Stats.isSymbolicLink = stat_type_test(constants.S_IFLNK)
Stats.isFIFO = stat_type_test(constants.S_IFIFO)
Stats.isSocket = stat_type_test(constants.S_IFSOCK)
Stats.isCharacterDevice = stat_type_test(constants.S_IFCHR)
Stats.isBlockDevice = stat_type_test(constants.S_IFBLK)

-- The dates are made on first use: most Stats (fstat per served file) never need them. Node
-- rounds the float milliseconds to the Date's whole ones.
for _, name in ipairs { "atime", "mtime", "ctime", "birthtime" } do
  local ms_field = name .. "Ms"
  Stats:getter(name, function(self)
    local d = Date.new(math.floor(self[ms_field] + 0.5))
    rawset(self, name, d)
    return d
  end)
  Stats:setter(name, function(self, v) rawset(self, name, v) end)
end

core.fs_set_stats_class(Stats)

local Dirent = Object:extend("Dirent")
fs.Dirent = Dirent

function Dirent:constructor(name, type_, dir)
  self.name = name
  self.parentPath = dir
  self.path = dir
  self._type = type_
end

local function dirent_type_test(t)
  return function(self) return self._type == t end
end
Dirent.isFile = dirent_type_test(constants.UV_DIRENT_FILE)
Dirent.isDirectory = dirent_type_test(constants.UV_DIRENT_DIR)
Dirent.isSymbolicLink = dirent_type_test(constants.UV_DIRENT_LINK)
Dirent.isFIFO = dirent_type_test(constants.UV_DIRENT_FIFO)
Dirent.isSocket = dirent_type_test(constants.UV_DIRENT_SOCKET)
Dirent.isCharacterDevice = dirent_type_test(constants.UV_DIRENT_CHAR)
Dirent.isBlockDevice = dirent_type_test(constants.UV_DIRENT_BLOCK)

-- ---- multi-step operations, written once for both forms ----

-- The whole content of a path (opened with flag) or of an open fd.
local function read_file(call, path, flag)
  if type(path) == "number" then
    local data, msg, code, syscall = call(core.fs_read_all, path)
    if data == nil then error(uv_error(syscall, nil, nil, msg, code)) end
    return data
  end
  local fd, msg, code = call(core.fs_open, path, flag, DEFAULT_FILE_MODE)
  if fd == nil then error(uv_error("open", path, nil, msg, code)) end
  local data, msg2, code2, syscall = call(core.fs_read_all, fd)
  local closed, msg3, code3 = call(core.fs_close, fd)
  if data == nil then error(uv_error(syscall, nil, nil, msg2, code2)) end
  if closed == nil then error(uv_error("close", nil, nil, msg3, code3)) end
  return data
end

-- Writes all of data to fd from its current position, looping over partial writes.
local function write_all(call, fd, data)
  local off, len = 0, #data
  while off < len do
    local n, msg, code = call(core.fs_write, fd, data, -1, off)
    if n == nil then return nil, msg, code end
    off = off + n
  end
  return true
end

local function write_file(call, path, data, flag, mode)
  if type(path) == "number" then
    local ok, msg, code = write_all(call, path, data)
    if ok == nil then error(uv_error("write", nil, nil, msg, code)) end
    return
  end
  local fd, msg, code = call(core.fs_open, path, flag, mode)
  if fd == nil then error(uv_error("open", path, nil, msg, code)) end
  local ok, msg2, code2 = write_all(call, fd, data)
  local closed, msg3, code3 = call(core.fs_close, fd)
  if ok == nil then error(uv_error("write", nil, nil, msg2, code2)) end
  if closed == nil then error(uv_error("close", nil, nil, msg3, code3)) end
end

local function dirname(path)
  local dir = path:gsub("/+$", ""):match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  if dir == "" then return "/" end
  return dir
end

local function is_dir(stats) return stats ~= nil and (stats.mode & S_IFMT) == constants.S_IFDIR end

-- mkdir -p, as Node's MKDirp: returns the first directory it created, or nil when all existed.
local function mkdirp(call, path, mode)
  local missing = {}
  local p = path
  while true do
    local ok, msg, code = call(core.fs_mkdir, p, mode)
    if ok then
      if #missing == 0 then return p end
      break
    end
    if code == "ENOENT" and dirname(p) ~= p then
      missing[#missing + 1] = p
      p = dirname(p)
    elseif code == "EEXIST" or code == "EISDIR" then
      if not is_dir(call(core.fs_stat, p)) then
        -- A file where a directory should be: Node says EEXIST for the path itself, ENOTDIR
        -- when it is on the way.
        if p == path then error(uv_error("mkdir", path, nil, msg, code)) end
        error(errors.uv("ENOTDIR", "mkdir", path))
      end
      if #missing == 0 then return nil end
      p = nil
      break
    else
      error(uv_error("mkdir", path, nil, msg, code))
    end
  end
  local first = p
  for i = #missing, 1, -1 do
    local ok, msg, code = call(core.fs_mkdir, missing[i], mode)
    if not ok and code ~= "EEXIST" then error(uv_error("mkdir", path, nil, msg, code)) end
    if ok then first = first or missing[i] end
  end
  return first
end

local function make_dir(call, path, mode, recursive)
  if recursive then return mkdirp(call, path, mode) end
  check("mkdir", path, nil, call(core.fs_mkdir, path, mode))
end

-- rm / rm -r / rm -f, as Node's rimraf: lstat first, then unlink or empty and rmdir.
local function remove_tree(call, path)
  local names, msg, code = call(core.fs_scandir, path, false)
  if names == nil then error(uv_error("scandir", path, nil, msg, code)) end
  for _, name in ipairs(names) do
    local child = path:sub(-1) == "/" and path .. name or path .. "/" .. name
    local st, m2, c2 = call(core.fs_lstat, child)
    if st == nil then
      if c2 ~= "ENOENT" then error(uv_error("lstat", child, nil, m2, c2)) end
    elseif is_dir(st) then
      remove_tree(call, child)
    else
      local ok, m3, c3 = call(core.fs_unlink, child)
      if ok == nil and c3 ~= "ENOENT" then error(uv_error("unlink", child, nil, m3, c3)) end
    end
  end
  local ok, m4, c4 = call(core.fs_rmdir, path)
  if ok == nil and c4 ~= "ENOENT" then error(uv_error("rmdir", path, nil, m4, c4)) end
end

local function remove(call, path, recursive, force)
  local st, msg, code = call(core.fs_lstat, path)
  if st == nil then
    if force and code == "ENOENT" then return end
    error(uv_error("lstat", path, nil, msg, code))
  end
  if is_dir(st) then
    if not recursive then
      error(errors.ERR_FS_EISDIR({
        code = "EISDIR", message = "is a directory", path = path, syscall = "rm", errno = 21,
      }))
    end
    return remove_tree(call, path)
  end
  local ok, m2, c2 = call(core.fs_unlink, path)
  if ok == nil and not (force and c2 == "ENOENT") then error(uv_error("unlink", path, nil, m2, c2)) end
end

local function read_dir(call, path, options)
  local names, types = check("scandir", path, nil, call(core.fs_scandir, path, options.withFileTypes))
  local enc = options.encoding
  if enc ~= nil and enc ~= "buffer" and encoding.normalize(enc) ~= "utf8" then
    for i, name in ipairs(names) do names[i] = decode(name, enc) end
  end
  if types then
    for i, name in ipairs(names) do names[i] = Dirent.new(name, types[i], path) end
  end
  return names
end

-- ---- the API ----

-- readFileSync(path | fd[, options | encoding]) -> bytes, or text in options.encoding
local function file_arg(path)
  if type(path) == "number" then return validate_fd(path) end
  return validate_path(path)
end

local function read_file_options(options)
  options = get_options(options)
  return options.encoding, parse_flags(options.flag, "r")
end

function fs.readFileSync(path, options)
  path = file_arg(path)
  local enc, flag = read_file_options(options)
  return decode(read_file(sync_call, path, flag), enc)
end

-- readFile(path | fd[, options], cb(err, data))
function fs.readFile(path, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  path = file_arg(path)
  local enc, flag = read_file_options(options)
  run_async(function(err, data)
    if err then return cb(err) end
    cb(nil, decode(data, enc))
  end, read_file, path, flag)
end

local function write_file_args(path, data, options, default_flag)
  path = file_arg(path)
  validate_data(data)
  options = get_options(options)
  if options.encoding ~= nil then data = encoding.from(data, options.encoding) end
  return path, data, parse_flags(options.flag, default_flag), parse_mode(options.mode, DEFAULT_FILE_MODE)
end

-- writeFileSync(path | fd, data[, options | encoding]): flag 'w', mode 0o666 unless given.
function fs.writeFileSync(path, data, options)
  write_file(sync_call, write_file_args(path, data, options, "w"))
end

function fs.appendFileSync(path, data, options)
  write_file(sync_call, write_file_args(path, data, options, "a"))
end

local function write_file_async(default_flag)
  return function(path, data, options, cb)
    if cb == nil and type(options) == "function" then options, cb = nil, options end
    validate_function(cb, "cb")
    local p, d, flag, mode = write_file_args(path, data, options, default_flag)
    run_async(cb, write_file, p, d, flag, mode)
  end
end
fs.writeFile = write_file_async("w")
fs.appendFile = write_file_async("a")

-- existsSync(path) -> boolean; never raises, as Node's.
function fs.existsSync(path)
  if type(path) ~= "string" or path:find("\0", 1, true) then return false end
  return core.fs_access(path, constants.F_OK) ~= nil
end

-- exists(path, cb(exists)): Node's deprecated form, without an err argument.
function fs.exists(path, cb)
  validate_function(cb, "cb")
  if type(path) ~= "string" or path:find("\0", 1, true) then return next_tick(cb, false) end
  local ok = core.fs_access(path, constants.F_OK, function(res) cb(res ~= nil) end)
  if ok == nil then next_tick(cb, false) end
end

-- openSync(path[, flags[, mode]]) -> fd
function fs.openSync(path, flags, mode)
  validate_path(path)
  local f, m = parse_flags(flags, "r"), parse_mode(mode, DEFAULT_FILE_MODE)
  return check("open", path, nil, core.fs_open(path, f, m))
end

-- open(path[, flags[, mode]], cb(err, fd))
function fs.open(path, flags, mode, cb)
  if cb == nil then
    if type(mode) == "function" then mode, cb = nil, mode
    elseif type(flags) == "function" then flags, cb = nil, flags end
  end
  validate_function(cb, "cb")
  validate_path(path)
  local f, m = parse_flags(flags, "r"), parse_mode(mode, DEFAULT_FILE_MODE)
  submitted(cb, "open", path, nil, core.fs_open(path, f, m, completion(cb, "open", path, nil, true)))
end

function fs.closeSync(fd)
  check("close", nil, nil, core.fs_close(validate_fd(fd)))
end

-- Node's defaultCloseCallback: a failed close nobody waits for is an uncaught error.
local function default_close_callback(err)
  if err ~= nil then error(err, 0) end
end

-- close(fd[, cb(err)]): Node makes the callback optional here.
function fs.close(fd, cb)
  fd = validate_fd(fd)
  if cb == nil then cb = default_close_callback end
  validate_function(cb, "cb")
  submitted(cb, "close", nil, nil, core.fs_close(fd, completion(cb, "close")))
end

local function validate_length(length)
  return validate_integer(length, "length", 0, INT32_MAX, 4)
end

-- readSync(fd, length[, position]) -> bytes ("" at the end of the file)
function fs.readSync(fd, length, position)
  fd = validate_fd(fd)
  length = validate_length(length)
  return check("read", nil, nil, core.fs_read(fd, length, parse_position(position)))
end

-- read(fd, length, position, cb(err, data))
function fs.read(fd, length, position, cb)
  if cb == nil and type(position) == "function" then position, cb = nil, position end
  validate_function(cb, "cb")
  fd = validate_fd(fd)
  length = validate_length(length)
  local pos = parse_position(position)
  submitted(cb, "read", nil, nil, core.fs_read(fd, length, pos, completion(cb, "read", nil, nil, true)))
end

-- Node's write takes any position: a non-number or negative one means the current position.
local function write_position(position)
  if type(position) ~= "number" or position < 0 or position % 1 ~= 0 then return -1 end
  return math.tointeger(position) or -1
end

-- writeSync(fd, data[, position]) -> bytes written
function fs.writeSync(fd, data, position)
  fd = validate_fd(fd)
  validate_data(data, "buffer")
  return check("write", nil, nil, core.fs_write(fd, data, write_position(position)))
end

-- write(fd, data[, position], cb(err, written, data))
function fs.write(fd, data, position, cb)
  if cb == nil and type(position) == "function" then position, cb = nil, position end
  validate_function(cb, "cb")
  fd = validate_fd(fd)
  validate_data(data, "buffer")
  local pos = write_position(position)
  submitted(cb, "write", nil, nil, core.fs_write(fd, data, pos, 0, function(n, msg, code)
    if n == nil then return cb(uv_error("write", nil, nil, msg, code)) end
    cb(nil, n, data)
  end))
end

-- statSync(path[, { throwIfNoEntry = false }]) -> Stats (nil for a missing path when asked)
local function stat_sync(binding, syscall)
  return function(path, options)
    validate_path(path)
    options = object_options(options)
    local st, msg, code = binding(path)
    if st == nil and code == "ENOENT" and options.throwIfNoEntry == false then return nil end
    return check(syscall, path, nil, st, msg, code)
  end
end
fs.statSync = stat_sync(core.fs_stat, "stat")
fs.lstatSync = stat_sync(core.fs_lstat, "lstat")

local function stat_async(binding, syscall)
  return function(path, options, cb)
    if cb == nil and type(options) == "function" then cb = options end
    validate_function(cb, "cb")
    validate_path(path)
    submitted(cb, syscall, path, nil, binding(path, completion(cb, syscall, path, nil, true)))
  end
end
fs.stat = stat_async(core.fs_stat, "stat")
fs.lstat = stat_async(core.fs_lstat, "lstat")

function fs.fstatSync(fd)
  return check("fstat", nil, nil, core.fs_fstat(validate_fd(fd)))
end

function fs.fstat(fd, options, cb)
  if cb == nil and type(options) == "function" then cb = options end
  validate_function(cb, "cb")
  fd = validate_fd(fd)
  submitted(cb, "fstat", nil, nil, core.fs_fstat(fd, completion(cb, "fstat", nil, nil, true)))
end

-- A path operation with no result: fn(path) / fn(path, cb(err)).
local function path_op(binding, syscall)
  return function(path)
    validate_path(path)
    check(syscall, path, nil, binding(path))
  end, function(path, cb)
    validate_function(cb, "cb")
    validate_path(path)
    submitted(cb, syscall, path, nil, binding(path, completion(cb, syscall, path)))
  end
end
fs.unlinkSync, fs.unlink = path_op(core.fs_unlink, "unlink")

function fs.rmdirSync(path)
  validate_path(path)
  check("rmdir", path, nil, core.fs_rmdir(path))
end

function fs.rmdir(path, options, cb)
  if cb == nil and type(options) == "function" then cb = options end
  validate_function(cb, "cb")
  validate_path(path)
  submitted(cb, "rmdir", path, nil, core.fs_rmdir(path, completion(cb, "rmdir", path)))
end

-- mkdirSync(path[, mode | { recursive, mode }]) -> with recursive, the first directory created
local function mkdir_args(path, options)
  validate_path(path)
  if type(options) == "table" then
    return path, parse_mode(options.mode, DEFAULT_DIR_MODE),
      validate_boolean(options.recursive, "options.recursive")
  end
  return path, parse_mode(options, DEFAULT_DIR_MODE), false
end

function fs.mkdirSync(path, options)
  return make_dir(sync_call, mkdir_args(path, options))
end

-- mkdir(path[, options], cb(err[, first_created]))
function fs.mkdir(path, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  local p, mode, recursive = mkdir_args(path, options)
  if not recursive then
    return submitted(cb, "mkdir", p, nil, core.fs_mkdir(p, mode, completion(cb, "mkdir", p)))
  end
  run_async(cb, make_dir, p, mode, true)
end

local function rm_args(path, options)
  validate_path(path)
  options = object_options(options)
  return path, validate_boolean(options.recursive, "options.recursive"),
    validate_boolean(options.force, "options.force")
end

-- rmSync(path[, { recursive, force }])
function fs.rmSync(path, options)
  remove(sync_call, rm_args(path, options))
end

function fs.rm(path, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  run_async(cb, remove, rm_args(path, options))
end

-- readdirSync(path[, options | encoding]) -> names (sorted), or Dirents with withFileTypes
function fs.readdirSync(path, options)
  validate_path(path)
  return read_dir(sync_call, path, get_options(options))
end

function fs.readdir(path, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  validate_path(path)
  run_async(cb, read_dir, path, get_options(options))
end

local function rename_args(from, to)
  return validate_path(from, "oldPath"), validate_path(to, "newPath")
end

function fs.renameSync(from, to)
  from, to = rename_args(from, to)
  check("rename", from, to, core.fs_rename(from, to))
end

function fs.rename(from, to, cb)
  validate_function(cb, "cb")
  from, to = rename_args(from, to)
  submitted(cb, "rename", from, to, core.fs_rename(from, to, completion(cb, "rename", from, to)))
end

-- Node's getValidMode for access and copyFile modes (0..7), with its own terse messages.
local function valid_mode(mode, default)
  if mode == nil then return default end
  if math_type(mode) ~= "integer" then
    local err = errors.ERR_INVALID_ARG_TYPE("mode", "integer", mode)
    err.message = "mode must be int32 or null/undefined"
    error(err, 4)
  end
  if mode < 0 or mode > 7 then
    local err = errors.ERR_OUT_OF_RANGE("mode", ">= 0 && <= 7", mode)
    err.message = "mode is out of range: >= 0 && <= 7"
    error(err, 4)
  end
  return mode
end

local function copy_args(src, dest, mode)
  return validate_path(src, "src"), validate_path(dest, "dest"), valid_mode(mode, 0)
end

-- copyFileSync(src, dest[, mode]): mode is fs.constants.COPYFILE_* bits.
function fs.copyFileSync(src, dest, mode)
  src, dest, mode = copy_args(src, dest, mode)
  check("copyfile", src, dest, core.fs_copyfile(src, dest, mode))
end

function fs.copyFile(src, dest, mode, cb)
  if cb == nil and type(mode) == "function" then mode, cb = nil, mode end
  validate_function(cb, "cb")
  src, dest, mode = copy_args(src, dest, mode)
  submitted(cb, "copyfile", src, dest,
    core.fs_copyfile(src, dest, mode, completion(cb, "copyfile", src, dest)))
end

local function access_args(path, mode)
  return validate_path(path), valid_mode(mode, constants.F_OK)
end

-- accessSync(path[, mode]): mode is F_OK (default) or R_OK | W_OK | X_OK.
function fs.accessSync(path, mode)
  path, mode = access_args(path, mode)
  check("access", path, nil, core.fs_access(path, mode))
end

function fs.access(path, mode, cb)
  if cb == nil and type(mode) == "function" then mode, cb = nil, mode end
  validate_function(cb, "cb")
  path, mode = access_args(path, mode)
  submitted(cb, "access", path, nil, core.fs_access(path, mode, completion(cb, "access", path)))
end

local function prefix_arg(prefix, options)
  validate_path(prefix, "prefix")
  return prefix .. "XXXXXX", get_options(options).encoding
end

-- mkdtempSync(prefix[, options]) -> the new directory: prefix and six random characters
function fs.mkdtempSync(prefix, options)
  local template, enc = prefix_arg(prefix, options)
  return decode(check("mkdtemp", template, nil, core.fs_mkdtemp(template)), enc)
end

function fs.mkdtemp(prefix, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  local template, enc = prefix_arg(prefix, options)
  submitted(cb, "mkdtemp", template, nil, core.fs_mkdtemp(template, function(path, msg, code)
    if path == nil then return cb(uv_error("mkdtemp", template, nil, msg, code)) end
    cb(nil, decode(path, enc))
  end))
end

-- realpathSync(path[, options]) -> the canonical absolute path (libuv's realpath(3), which is
-- Node's realpathSync.native: its errors say 'realpath' where Node's JS version says 'lstat').
function fs.realpathSync(path, options)
  validate_path(path)
  local enc = get_options(options).encoding
  return decode(check("realpath", path, nil, core.fs_realpath(path)), enc)
end

function fs.realpath(path, options, cb)
  if cb == nil and type(options) == "function" then options, cb = nil, options end
  validate_function(cb, "cb")
  validate_path(path)
  local enc = get_options(options).encoding
  submitted(cb, "realpath", path, nil, core.fs_realpath(path, function(res, msg, code)
    if res == nil then return cb(uv_error("realpath", path, nil, msg, code)) end
    cb(nil, decode(res, enc))
  end))
end

local function truncate_len(len)
  if len == nil then return 0 end
  return validate_integer(len, "len", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER, 4)
end

-- ftruncateSync(fd[, len = 0])
function fs.ftruncateSync(fd, len)
  fd = validate_fd(fd)
  check("ftruncate", nil, nil, core.fs_ftruncate(fd, truncate_len(len)))
end

function fs.ftruncate(fd, len, cb)
  if cb == nil and type(len) == "function" then len, cb = nil, len end
  validate_function(cb, "cb")
  fd = validate_fd(fd)
  len = truncate_len(len)
  submitted(cb, "ftruncate", nil, nil, core.fs_ftruncate(fd, len, completion(cb, "ftruncate")))
end

return fs
