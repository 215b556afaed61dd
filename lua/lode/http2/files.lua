-- respondWithFile / respondWithFD (Node's lib/internal/http2/core.js, "respondWithFile"): Lua
-- validates and stats, the C core (src/core/file.c) reads the file straight into DATA frames.
--
--   stream:respondWithFile("/srv/index.html", { ["content-type"] = "text/html" }, {
--     statCheck = function(stat, headers) headers["last-modified"] = stat.mtime:toUTCString() end,
--     onError = function(err) stream:respond({ [":status"] = 404 }, { endStream = true }) end,
--   })
local core = require "lode.http2.core"
local fs = require "lode.fs"
local errors = require "lode.errors"
local headers_mod = require "lode.http2.headers"
local process = require "lode.process"
local metrics = require "lode.http2.metrics"

local nextTick = process.nextTick
local to_nv = headers_mod.to_nv
local type, error = type, error

local ServerHttp2Stream = core.ServerHttp2Stream
local WANT_TRAILERS = 2
local PAYLOAD_FORBIDDEN = { [204] = true, [205] = true, [304] = true }

local function utc_date()
  return os.date("!%a, %d %b %Y %H:%M:%S GMT")
end

-- The checks respondWithFile and respondWithFD share (Node throws these synchronously).
local function validate(self, headers, options, level)
  if self.destroyed or self._h2closed then error(errors.ERR_HTTP2_INVALID_STREAM(), level) end
  if self.headersSent then error(errors.ERR_HTTP2_HEADERS_SENT(), level) end
  if headers ~= nil and type(headers) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", headers), level)
  end
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), level)
  end
  options = options or {}
  for _, k in ipairs { "offset", "length" } do
    local v = options[k]
    if v ~= nil and (type(v) ~= "number" or v ~= v) then
      error(errors.ERR_INVALID_ARG_VALUE("options." .. k, v), level)
    end
  end
  for _, k in ipairs { "statCheck", "onError" } do
    local v = options[k]
    if v ~= nil and type(v) ~= "function" then
      error(errors.ERR_INVALID_ARG_VALUE("options." .. k, v), level)
    end
  end
  if options.waitForTrailers ~= nil and type(options.waitForTrailers) ~= "boolean" then
    error(errors.ERR_INVALID_ARG_TYPE("options.waitForTrailers", "boolean", options.waitForTrailers), level)
  end
  -- A copy: statCheck may add fields, and the caller's table stays as given.
  local h = setmetatable({}, getmetatable(headers or {}))
  for k, v in next, headers or {} do h[k] = v end
  local status = h[":status"]
  if status == nil then status = 200; h[":status"] = 200 end
  status = tonumber(status)
  if PAYLOAD_FORBIDDEN[status] then error(errors.ERR_HTTP2_PAYLOAD_FORBIDDEN(status), level) end
  return h, options
end

-- Sends headers + the file body; the Duplex's writable side ends here.
local function send_fd(self, fd, headers, offset, length, options)
  if headers.date == nil and headers.Date == nil then headers.date = utc_date() end
  local names, values, flags, n = to_nv(headers, headers_mod.assert_valid_pseudo_response)
  -- :status goes first.
  for i = 1, n do
    if names[i] == ":status" and i > 1 then
      table.insert(names, 1, table.remove(names, i))
      table.insert(values, 1, table.remove(values, i))
      if flags then table.insert(flags, 1, table.remove(flags, i)) end
      break
    end
  end
  local sflags = options.waitForTrailers and WANT_TRAILERS or 0
  local ok, msg, code = self._box:respond_fd(names, values, flags, n, fd, offset, length, sflags)
  if not ok then
    self:destroy(errors.nghttp(code))
    return msg
  end
  self.headersSent = true
  self.sentHeaders = headers
  local p = rawget(self, "_perf")
  if p and length > 0 then
    p.timeToFirstByteSent = p.timeToFirstByteSent or metrics.now_ms() - p.start
    p.bytesWritten = p.bytesWritten + length
  end
  self._end_sent = true
  if not self.writableEnded then self:finish() end
end

local function fail(self, options, err)
  if options.onError then
    options.onError(err)
  else
    self:destroy(err)
  end
end

-- After the fstat: the regular-file check, statCheck, content-length, then the body.
local function with_stat(self, fd, stat, headers, options, owned)
  local function close_owned() if owned then pcall(fs.closeSync, fd) end end
  if not stat:isFile() then
    close_owned()
    local err = stat:isDirectory() and errors.ERR_HTTP2_SEND_FILE() or errors.ERR_HTTP2_SEND_FILE_NOSEEK()
    fail(self, options, err)
    return
  end
  if self.destroyed or self._h2closed then
    close_owned()
    self:destroy(errors.ERR_HTTP2_INVALID_STREAM())
    return
  end
  local stat_options = { offset = options.offset or 0, length = options.length or -1 }
  if options.statCheck and options.statCheck(stat, headers, stat_options) == false then
    close_owned()
    return
  end
  local offset = math.tointeger(math.floor(stat_options.offset)) or 0
  local length = math.tointeger(math.floor(stat_options.length)) or -1
  local avail = stat.size - offset
  if avail < 0 then avail = 0 end
  if length < 0 or length > avail then length = avail end
  headers["content-length"] = length
  if owned then self:once("close", close_owned) end
  send_fd(self, fd, headers, offset, length, options)
end

-- stream:respondWithFile(path[, headers[, options]])
function ServerHttp2Stream:respondWithFile(path, headers, options)
  if type(path) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("path", "string", path), 2) end
  local h
  h, options = validate(self, headers, options, 3)
  -- Node opens and stats asynchronously: the outcome always comes after this call returns.
  nextTick(function()
    if self.destroyed or self._h2closed then return end
    local ok, fd = pcall(fs.openSync, path, "r")
    if not ok then fail(self, options, fd); return end
    local sok, stat = pcall(fs.fstatSync, fd)
    if not sok then pcall(fs.closeSync, fd); fail(self, options, stat); return end
    with_stat(self, fd, stat, h, options, true)
  end)
end

-- stream:respondWithFD(fd[, headers[, options]]): fd is a number (or an object with .fd, Node's
-- FileHandle). lode never closes it.
function ServerHttp2Stream:respondWithFD(fd, headers, options)
  if type(fd) == "table" and fd.fd ~= nil then fd = fd.fd end
  if math.type(fd) ~= "integer" or fd < 0 then
    error(errors.ERR_INVALID_ARG_TYPE("fd", { "number", "FileHandle" }, fd), 2)
  end
  local h
  h, options = validate(self, headers, options, 3)
  if options.statCheck then
    nextTick(function()
      if self.destroyed or self._h2closed then return end
      local ok, stat = pcall(fs.fstatSync, fd)
      if not ok then fail(self, options, stat); return end
      with_stat(self, fd, stat, h, options, false)
    end)
    return
  end
  -- Without statCheck Node sends at once, with no stat and no content-length.
  local offset = math.tointeger(math.floor(options.offset or 0)) or 0
  local length = options.length and math.tointeger(math.floor(options.length)) or -1
  send_fd(self, fd, h, offset, length, options)
end

return ServerHttp2Stream
