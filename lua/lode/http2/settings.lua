-- HTTP/2 settings objects: Node's getDefaultSettings / getPackedSettings / getUnpackedSettings,
-- and the validation createServer, connect and session:settings() share (Node's
-- validateSettings + updateSettingsBuffer in lib/internal/http2/{core,util}.js).
--
--   local settings = require "lode.http2.settings"
--   settings.getPackedSettings({ enablePush = false })   --> "\0\2\0\0\0\0" (base64 AAIAAAAA)
--   local s = settings.validate(user_settings)            -- raises Node's errors, or returns
--                                                         -- the normalized table (below)

local errors = require "lode.errors"

local type, math_type, pairs, floor, error = type, math.type, pairs, math.floor, error
local spack, sunpack, concat, sort = string.pack, string.unpack, table.concat, table.sort

local MAX_INT = 0xffffffff            -- 2^32 - 1
local MAX_WINDOW = 0x7fffffff         -- 2^31 - 1
local MIN_FRAME, MAX_FRAME = 16384, 0xffffff
local MAX_ADDITIONAL_SETTINGS = 10    -- Node's cap on customSettings entries

-- SETTINGS identifiers (RFC 9113 section 6.5.2, RFC 8441).
local ID_HEADER_TABLE_SIZE, ID_ENABLE_PUSH, ID_MAX_CONCURRENT_STREAMS = 1, 2, 3
local ID_INITIAL_WINDOW_SIZE, ID_MAX_FRAME_SIZE, ID_MAX_HEADER_LIST_SIZE = 4, 5, 6
local ID_ENABLE_CONNECT_PROTOCOL = 8

-- Node's numeric settings with their ranges, in the order Node checks them.
local RANGES = {
  { "headerTableSize", 0, MAX_INT },
  { "initialWindowSize", 0, MAX_WINDOW },
  { "maxFrameSize", MIN_FRAME, MAX_FRAME },
  { "maxConcurrentStreams", 0, MAX_INT },
  { "maxHeaderListSize", 0, MAX_INT },
  { "maxHeaderSize", 0, MAX_INT },
}

-- Names of the identifiers this module packs by name; customSettings never carries these.
local KNOWN_ID = {
  [ID_HEADER_TABLE_SIZE] = true, [ID_ENABLE_PUSH] = true, [ID_MAX_CONCURRENT_STREAMS] = true,
  [ID_INITIAL_WINDOW_SIZE] = true, [ID_MAX_FRAME_SIZE] = true, [ID_MAX_HEADER_LIST_SIZE] = true,
  [ID_ENABLE_CONNECT_PROTOCOL] = true,
}

-- ERR_HTTP2_INVALID_SETTING_VALUE is a TypeError by default and a RangeError for ranges, as Node's.
local function range_error(name, value, min, max)
  return errors.ERR_HTTP2_INVALID_SETTING_VALUE.RangeError(name, value, min, max)
end

local function type_error(name, value)
  return errors.ERR_HTTP2_INVALID_SETTING_VALUE(name, value)
end

-- Node's assertWithinRange: nil passes; anything but a number in [min, max] raises. NaN passes,
-- as it does in Node (every comparison with it is false).
local function check_range(name, value, min, max)
  if value ~= nil and (type(value) ~= "number" or value < min or value > max) then
    error(range_error(name, value, min, max), 3)
  end
end

-- JavaScript's ToUint32 for a value already known to be in range: NaN -> 0, fractions truncated.
local function to_uint32(v)
  if math_type(v) == "integer" then return v end
  if v ~= v then return 0 end
  return floor(v)
end

-- Node's assertIsObject: nil passes; a non-table, or a sequence (Node's Array), raises.
local function assert_is_object(value, name)
  if value ~= nil and (type(value) ~= "table" or getmetatable(value) == nil and value[1] ~= nil) then
    error(errors.ERR_INVALID_ARG_TYPE(name, "Object", value), 3)
  end
end

local function warn(message)
  local ok, process = pcall(require, "lode.process")
  if ok and type(process) == "table" and process.emitWarning then
    process.emitWarning(message)
  end
end

local settings = {}

settings.MAX_ADDITIONAL_SETTINGS = MAX_ADDITIONAL_SETTINGS

-- Node 20's defaults: a new table on every call, safe to modify.
function settings.getDefaultSettings()
  return {
    headerTableSize = 4096,
    enablePush = true,
    initialWindowSize = 65535,
    maxFrameSize = 16384,
    maxConcurrentStreams = 4294967295,
    maxHeaderSize = 65535,
    maxHeaderListSize = 65535,
    enableConnectProtocol = false,
  }
end

-- Validates a user's settings table as Node does, raising its errors at the caller's caller:
--   ERR_INVALID_ARG_TYPE (TypeError)              settings is not a table (nil is fine)
--   ERR_HTTP2_INVALID_SETTING_VALUE (RangeError)  a numeric setting out of range or not a number
--   ERR_HTTP2_INVALID_SETTING_VALUE (TypeError)   enablePush / enableConnectProtocol not a boolean
--   ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS            more than 10 customSettings
-- Returns a new normalized table holding only what is set, as integers and booleans:
-- headerTableSize, enablePush, initialWindowSize, maxFrameSize, maxConcurrentStreams,
-- maxHeaderListSize (maxHeaderSize folded in: it wins when the two differ, with Node's warning),
-- enableConnectProtocol, and customSettings ({ [id] = value }, only when non-empty).
-- Unknown keys are ignored.
function settings.validate(s)
  assert_is_object(s, "settings")
  if s == nil then return {} end
  for i = 1, #RANGES do
    local r = RANGES[i]
    check_range(r[1], s[r[1]], r[2], r[3])
  end
  local push, connect = s.enablePush, s.enableConnectProtocol
  if push ~= nil and type(push) ~= "boolean" then
    error(type_error("enablePush", push), 2)
  end
  if connect ~= nil and type(connect) ~= "boolean" then
    error(type_error("enableConnectProtocol", connect), 2)
  end
  local custom = s.customSettings
  assert_is_object(custom, "customSettings")
  local out_custom
  if custom ~= nil then
    local n = 0
    for id, value in pairs(custom) do
      n = n + 1
      if n > MAX_ADDITIONAL_SETTINGS then
        error(errors.ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS(), 2)
      end
      local nid = tonumber(id)
      check_range("customSettings:id", nid or id, 1, 0xffff)
      check_range("customSettings:value", tonumber(value), 0, MAX_INT)
      nid = to_uint32(nid)
      if type(value) == "number" and not KNOWN_ID[nid] then
        out_custom = out_custom or {}
        out_custom[nid] = to_uint32(value)
      end
    end
  end

  local out = {}
  local v = s.headerTableSize
  if v ~= nil then out.headerTableSize = to_uint32(v) end
  v = s.initialWindowSize
  if v ~= nil then out.initialWindowSize = to_uint32(v) end
  v = s.maxFrameSize
  if v ~= nil then out.maxFrameSize = to_uint32(v) end
  v = s.maxConcurrentStreams
  if v ~= nil then out.maxConcurrentStreams = to_uint32(v) end
  local list, alias = s.maxHeaderListSize, s.maxHeaderSize
  if alias ~= nil and alias ~= list then
    warn("settings.maxHeaderSize overwrite settings.maxHeaderListSize")
    out.maxHeaderListSize = to_uint32(alias)
  elseif list ~= nil then
    out.maxHeaderListSize = to_uint32(list)
  end
  if push ~= nil then out.enablePush = push end
  if connect ~= nil then out.enableConnectProtocol = connect end
  out.customSettings = out_custom
  return out
end

-- Packs a normalized table (what validate() returns) into 6-byte SETTINGS entries, in Node's
-- order: identifiers 1, 2, 3, 4, 5, 6, 8, then customSettings by ascending identifier.
function settings.pack(n)
  local out, o = {}, 0
  local v = n.headerTableSize
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_HEADER_TABLE_SIZE, v) end
  v = n.enablePush
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_ENABLE_PUSH, v and 1 or 0) end
  v = n.maxConcurrentStreams
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_MAX_CONCURRENT_STREAMS, v) end
  v = n.initialWindowSize
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_INITIAL_WINDOW_SIZE, v) end
  v = n.maxFrameSize
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_MAX_FRAME_SIZE, v) end
  v = n.maxHeaderListSize
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_MAX_HEADER_LIST_SIZE, v) end
  v = n.enableConnectProtocol
  if v ~= nil then o = o + 1; out[o] = spack(">I2I4", ID_ENABLE_CONNECT_PROTOCOL, v and 1 or 0) end
  local custom = n.customSettings
  if custom then
    local ids = {}
    for id in pairs(custom) do ids[#ids + 1] = id end
    sort(ids)
    for i = 1, #ids do o = o + 1; out[o] = spack(">I2I4", ids[i], custom[ids[i]]) end
  end
  return concat(out)
end

-- Node's http2.getPackedSettings([settings]): the SETTINGS payload as a Lua string.
function settings.getPackedSettings(s)
  return settings.pack(settings.validate(s))
end

-- Node's http2.getUnpackedSettings(buf[, options]). Identifiers Node has no name for go to
-- `customSettings` keyed by number, as Node 20 does; `options.validate` validates the result.
function settings.getUnpackedSettings(buf, options)
  if type(buf) ~= "string" then
    error(errors.ERR_INVALID_ARG_TYPE("buf", { "Buffer", "TypedArray" }, buf), 2)
  end
  local len = #buf
  if len % 6 ~= 0 then
    error(errors.ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH(), 2)
  end
  local out = {}
  for offset = 1, len, 6 do
    local id, value = sunpack(">I2I4", buf, offset)
    if id == ID_HEADER_TABLE_SIZE then
      out.headerTableSize = value
    elseif id == ID_ENABLE_PUSH then
      out.enablePush = value ~= 0
    elseif id == ID_MAX_CONCURRENT_STREAMS then
      out.maxConcurrentStreams = value
    elseif id == ID_INITIAL_WINDOW_SIZE then
      out.initialWindowSize = value
    elseif id == ID_MAX_FRAME_SIZE then
      out.maxFrameSize = value
    elseif id == ID_MAX_HEADER_LIST_SIZE then
      out.maxHeaderListSize = value
      out.maxHeaderSize = value
    elseif id == ID_ENABLE_CONNECT_PROTOCOL then
      out.enableConnectProtocol = value ~= 0
    else
      local custom = out.customSettings
      if not custom then
        custom = {}
        out.customSettings = custom
      end
      custom[id] = value
    end
  end
  if type(options) == "table" and options.validate then
    settings.validate(out)
  end
  return out
end

return settings
