-- HTTP/2 header lists both ways: Node's mapToHeaders (outgoing: table -> name/value lists for the
-- binding) and toHeaderObject (incoming: flat name/value sequence -> headers table), from
-- lib/internal/http2/util.js, plus the sensitiveHeaders sentinel.
--
--   local headers = require "lode.http2.headers"
--   local names, values, flags, n = headers.to_nv({ [":status"] = 200, ["Content-Type"] = "text/plain" })
--   --> { ":status", "content-type" }, { "200", "text/plain" }, nil, 2
--   local obj, raw = headers.from_nv({ ":status", "200", "set-cookie", "a=1" })
--   --> { [":status"] = 200, ["set-cookie"] = { "a=1" }, [sensitiveHeaders] = {} }, the same sequence
--
-- to_nv runs once per response, so it allocates only the two result lists (and the flags list
-- when a field is sensitive), uses no closures, and remembers names it has validated in a bounded
-- cache: a server answering with the same header names every time does no pattern matching after
-- the first response.

local errors = require "lode.errors"

local type, next, tostring, error, setmetatable = type, next, tostring, error, setmetatable
local math_type, floor = math.type, math.floor
local byte, find, lower, format, sub, rep = string.byte, string.find, string.lower, string.format,
  string.sub, string.rep

local headers = {}

-- ---- the sentinel --------------------------------------------------------------------------

-- Node's `http2.sensitiveHeaders` symbol: a unique key whose value is a sequence of header names.
local SENSITIVE = setmetatable({}, {
  __name = "symbol",
  __tostring = function() return "Symbol(sensitiveHeaders)" end,
  __newindex = function() error("the sensitiveHeaders sentinel is read-only", 2) end,
})
headers.sensitiveHeaders = SENSITIVE

-- ---- Node's tables ---------------------------------------------------------------------------

-- kSingleValueHeaders: a repeated value is an error going out and dropped coming in.
local SINGLE = {}
for _, name in ipairs {
  ":status", ":method", ":authority", ":scheme", ":path", ":protocol",
  "access-control-allow-credentials", "access-control-max-age", "access-control-request-method",
  "age", "authorization", "content-encoding", "content-language", "content-length",
  "content-location", "content-md5", "content-range", "content-type", "date", "dnt", "etag",
  "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "proxy-authorization",
  "range", "referer", "retry-after", "tk", "upgrade-insecure-requests", "user-agent",
  "x-content-type-options",
} do SINGLE[name] = true end
headers.SINGLE_VALUE = SINGLE

-- HTTP/1 connection-specific fields, forbidden in HTTP/2 (RFC 9113 section 8.2.2); `te` is
-- allowed with the value "trailers" only.
local CONNECTION = {
  connection = true, upgrade = true, ["http2-settings"] = true, te = true,
  ["transfer-encoding"] = true, ["keep-alive"] = true, ["proxy-connection"] = true,
}

local VALID_PSEUDO = {
  [":status"] = true, [":method"] = true, [":authority"] = true, [":scheme"] = true,
  [":path"] = true, [":protocol"] = true,
}

local TOKEN = "^[%w!#$%%&'*+%-.^_`|~]+$"
-- Node's checkInvalidHeaderChar: anything but HTAB, SP..~ and obs-text.
local BAD_VALUE_CHAR = "[^\t\32-\126\128-\255]"
local UPPER = "[A-Z]"
local COLON = 58  -- ':'
local NO_INDEX = 1  -- NGHTTP2_NV_FLAG_NO_INDEX

-- ---- helpers ---------------------------------------------------------------------------------

-- True when `s` is a non-empty string of RFC 9110 token characters (Node's checkIsHttpToken).
function headers.is_valid_token(s)
  return type(s) == "string" and find(s, TOKEN) ~= nil
end

-- Node's assertValidPseudoHeader: raises ERR_HTTP2_INVALID_PSEUDOHEADER unless `name` is one of
-- :status, :method, :authority, :scheme, :path, :protocol.
local function assert_valid_pseudo(name)
  if not VALID_PSEUDO[name] then
    error(errors.ERR_HTTP2_INVALID_PSEUDOHEADER(name), 2)
  end
end
headers.assert_valid_pseudo = assert_valid_pseudo

-- Node's assertValidPseudoHeaderResponse: only :status.
function headers.assert_valid_pseudo_response(name)
  if name ~= ":status" then
    error(errors.ERR_HTTP2_INVALID_PSEUDOHEADER(name), 2)
  end
end

-- Node's assertValidPseudoHeaderTrailer: trailers carry no pseudo-headers at all.
function headers.assert_valid_pseudo_trailer(name)
  error(errors.ERR_HTTP2_INVALID_PSEUDOHEADER(name), 2)
end

-- A float as JavaScript's Number#toString writes it: shortest round-trip digits, exponent form
-- below 1e-6 and from 1e21 on ("1e+21", "1.5e-7"), NaN, Infinity, and -0 as "0".
local function js_float(n)
  if n ~= n then return "NaN" end
  if n == 1 / 0 then return "Infinity" end
  if n == -1 / 0 then return "-Infinity" end
  if n == 0 then return "0" end
  local s
  for p = 0, 16 do
    s = format("%." .. p .. "e", n)
    if tonumber(s) == n then break end
  end
  local sign, d1, rest, exp = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (d1 .. rest):gsub("0+$", "")
  if digits == "" then digits = "0" end
  local k, point = #digits, tonumber(exp) + 1   -- value = 0.digits * 10^point
  if k <= point and point <= 21 then
    return sign .. digits .. rep("0", point - k)
  elseif 0 < point and point <= 21 then
    return sign .. sub(digits, 1, point) .. "." .. sub(digits, point + 1)
  elseif -6 < point and point <= 0 then
    return sign .. "0." .. rep("0", -point) .. digits
  end
  local e = point - 1
  local mantissa = k == 1 and digits or sub(digits, 1, 1) .. "." .. sub(digits, 2)
  return sign .. mantissa .. (e >= 0 and "e+" or "e-") .. (e >= 0 and e or -e)
end

-- ---- caches ----------------------------------------------------------------------------------

-- Bounded memo tables: each is dropped wholesale when full, so names or values an application or
-- a peer makes up cannot grow them without limit.
--   name_cache   regular header key as given -> its validated lower-case name (never `te`)
--   pseudo_cache pseudo-header key as given -> its lower-case form (validity is asserted per call)
--   value_cache  string value (up to 64 bytes) -> true once checked for invalid characters
--   int_cache    integer 0..999 -> its decimal string
local CACHE_LIMIT, VALUE_CACHE_LIMIT, VALUE_CACHE_MAX_LEN = 512, 1024, 64
local name_cache, name_count = {}, 0
local pseudo_cache, pseudo_count = {}, 0
local value_cache, value_count = {}, 0
local int_cache = {}

-- A header value as the string that goes on the wire (JavaScript's String(value)), checked for
-- characters that are never valid in a field value (raises ERR_INVALID_CHAR).
local function value_string(v, lname)
  local t = type(v)
  if t == "string" then
    if value_cache[v] then return v end
    if find(v, BAD_VALUE_CHAR) then
      error(errors.ERR_INVALID_CHAR("header content", lname), 3)
    end
    if #v <= VALUE_CACHE_MAX_LEN then
      if value_count >= VALUE_CACHE_LIMIT then value_cache, value_count = {}, 0 end
      value_cache[v] = true
      value_count = value_count + 1
    end
    return v
  elseif t == "number" then
    if math_type(v) == "integer" then
      local s = int_cache[v]
      if s then return s end
      s = tostring(v)
      if v >= 0 and v < 1000 then int_cache[v] = s end
      return s
    end
    if v == floor(v) and v > -2^53 and v < 2^53 then return format("%d", v) end
    return js_float(v)
  elseif t == "boolean" then
    return v and "true" or "false"
  end
  local s = tostring(v)
  if find(s, BAD_VALUE_CHAR) then
    error(errors.ERR_INVALID_CHAR("header content", lname), 3)
  end
  return s
end
headers.value_string = value_string

-- The lower-case form of a key (cached for the keys seen most: the validated regular names).
local function lower_key(key, is_pseudo)
  local lkey = name_cache[key]
  if lkey then return lkey end
  if is_pseudo then
    lkey = pseudo_cache[key]
    if lkey then return lkey end
    lkey = find(key, UPPER) and lower(key) or key
    if pseudo_count >= CACHE_LIMIT then pseudo_cache, pseudo_count = {}, 0 end
    pseudo_cache[key] = lkey
    pseudo_count = pseudo_count + 1
    return lkey
  end
  return find(key, UPPER) and lower(key) or key
end

-- Validates the lower-case name `lname` of regular key `key`, raising Node's error; `value` is
-- the field's string value, or a table for a repeated field (for the `te` rule).
local function check_regular_name(key, lname, value)
  if name_cache[key] then return end
  if not find(lname, TOKEN) then
    error(errors.ERR_INVALID_HTTP_TOKEN("Header name", lname), 3)
  end
  if CONNECTION[lname] then
    if lname ~= "te" or value ~= "trailers" then
      error(errors.ERR_HTTP2_INVALID_CONNECTION_HEADERS(lname), 3)
    end
    return   -- `te` is never cached: its value decides each time
  end
  if name_count >= CACHE_LIMIT then name_cache, name_count = {}, 0 end
  name_cache[key] = lname
  name_count = name_count + 1
end

-- ---- outgoing ------------------------------------------------------------------------------

-- The lower-case names listed under [sensitiveHeaders], as a set, or nil.
local function never_index_set(list)
  if type(list) ~= "table" or list[1] == nil then return nil end
  local set = {}
  for i = 1, #list do
    local name = list[i]
    if type(name) == "string" then set[lower(name)] = true end
  end
  return set
end

-- Sets the flag of field n (whose name is lname and value s), creating the flags list on the
-- first sensitive field with zeros for the fields before it. Returns the flags list or nil.
local function mark(flags, n, lname, s, never)
  if (never and never[lname]) or lname == "authorization" or (lname == "cookie" and #s < 20) then
    if not flags then
      flags = {}
      for i = 1, n - 1 do flags[i] = 0 end
    end
    flags[n] = NO_INDEX
  elseif flags then
    flags[n] = 0
  end
  return flags
end

-- True when `v` counts as absent: nil or an empty sequence (Node skips both).
local function is_empty(v)
  return v == nil or (type(v) == "table" and not getmetatable(v) and v[1] == nil)
end

-- One field into the lists, with Node's checks in Node's order. Two keys can name the same
-- single-value field only in the flat form (`map` nil: every such name is tracked in `singles`)
-- or, in a map, when a key has upper-case letters ("Age" beside "age" or "AGE").
-- Returns n, flags, singles.
local function add_field(names, values, flags, n, key, value, never, assert_pseudo, singles, map)
  if value == nil or key == "" then return n, flags, singles end
  local is_pseudo = byte(key, 1) == COLON
  local lkey = lower_key(key, is_pseudo)
  local repeated = false
  if type(value) == "table" and not getmetatable(value) then
    local len = #value
    if len == 0 then return n, flags, singles end
    if len == 1 then
      value = value[1]
    elseif SINGLE[lkey] then
      error(errors.ERR_HTTP2_HEADER_SINGLE_VALUE(lkey), 3)
    else
      repeated = true
    end
  end
  if SINGLE[lkey] and (map == nil or lkey ~= key) then
    if (singles and singles[lkey]) or (map and not is_empty(map[lkey])) then
      error(errors.ERR_HTTP2_HEADER_SINGLE_VALUE(lkey), 3)
    end
    singles = singles or {}
    singles[lkey] = true
  end
  if is_pseudo then
    local err = assert_pseudo(lkey)
    if err ~= nil then error(err, 3) end
  elseif repeated then
    check_regular_name(key, lkey, value)
    for j = 1, #value do
      local s = value_string(value[j], lkey)
      n = n + 1
      names[n], values[n] = lkey, s
      if never or flags or lkey == "authorization" or lkey == "cookie" then
        flags = mark(flags, n, lkey, s, never)
      end
    end
    return n, flags, singles
  end
  local s = value_string(value, lkey)
  if not is_pseudo then check_regular_name(key, lkey, s) end
  n = n + 1
  names[n], values[n] = lkey, s
  if never or flags or lkey == "authorization" or lkey == "cookie" then
    flags = mark(flags, n, lkey, s, never)
  end
  return n, flags, singles
end

-- Outgoing headers to the binding's lists: Node's mapToHeaders.
--   tbl            { name = value | { value, ... }, [sensitiveHeaders] = { name, ... } }, or the
--                  flat raw form { name, value, name, value, ... } (may also carry the sentinel)
--   assert_pseudo  optional: called with each lower-cased pseudo-header name; raises (or returns
--                  an error to raise) when it is not allowed. Default: assert_valid_pseudo.
-- Returns names, values (sequences of strings), flags (a sequence of 0 / 1 =
-- NGHTTP2_NV_FLAG_NO_INDEX, or nil when no field is sensitive), and the field count.
-- Pseudo-headers come first, then the rest, each in the order given (a map's order is pairs').
-- Values: strings as they are, numbers as JavaScript writes them, booleans as "true"/"false";
-- nil, empty sequences and the key "" are skipped. Raises ERR_HTTP2_HEADER_SINGLE_VALUE,
-- ERR_HTTP2_INVALID_PSEUDOHEADER, ERR_INVALID_HTTP_TOKEN, ERR_HTTP2_INVALID_CONNECTION_HEADERS,
-- ERR_INVALID_CHAR, or ERR_INVALID_ARG_TYPE when `tbl` is not a table. `authorization`, and
-- `cookie` values under 20 bytes, are always marked sensitive (nghttp2 never indexes them either).
function headers.to_nv(tbl, assert_pseudo)
  if type(tbl) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("headers", "Object", tbl), 2)
  end
  assert_pseudo = assert_pseudo or assert_valid_pseudo
  -- Sized for eight fields up front: growing 0 -> 1 -> 2 -> 4 -> 8 costs more than the fields.
  local names = { nil, nil, nil, nil, nil, nil, nil, nil }
  local values = { nil, nil, nil, nil, nil, nil, nil, nil }
  local flags, n, singles = nil, 0, nil
  local never = tbl[SENSITIVE]
  if never ~= nil then never = never_index_set(never) end
  if tbl[1] ~= nil then
    -- The flat raw form: pseudo-headers in a first pass, the rest in a second.
    for pass = 1, 2 do
      local want_pseudo = pass == 1
      local i, key = 1, tbl[1]
      while key ~= nil do
        if type(key) ~= "string" then key = tostring(key) end
        if (byte(key, 1) == COLON) == want_pseudo then
          n, flags, singles = add_field(names, values, flags, n, key, tbl[i + 1], never,
            assert_pseudo, singles, nil)
        end
        i = i + 2
        key = tbl[i]
      end
    end
  else
    for key, value in next, tbl do
      if type(key) == "string" and byte(key, 1) == COLON then
        n, flags, singles = add_field(names, values, flags, n, key, value, never, assert_pseudo,
          singles, tbl)
      end
    end
    for key, value in next, tbl do
      if type(key) == "string" and byte(key, 1) ~= COLON then
        n, flags, singles = add_field(names, values, flags, n, key, value, never, assert_pseudo,
          singles, tbl)
      end
    end
  end
  return names, values, flags, n
end

-- ---- incoming ---------------------------------------------------------------------------------

-- pairs() over an incoming headers table yields the fields only, as for...in skips a symbol.
local function headers_next(t, k)
  local nk, nv = next(t, k)
  if nk == SENSITIVE then nk, nv = next(t, nk) end
  return nk, nv
end

local HEADERS_MT = {
  __pairs = function(t) return headers_next, t, nil end,
  -- The binding leaves [sensitiveHeaders] out when no field is sensitive (most requests): the
  -- empty list Node always has is made on first read.
  __index = function(t, k)
    if k == SENSITIVE then
      local list = {}
      rawset(t, SENSITIVE, list)
      return list
    end
  end,
}
headers.HEADERS_MT = HEADERS_MT

-- JavaScript's `value | 0` for the :status value: a number, truncated, wrapped to int32; 0 when
-- the text is not a number.
local function status_int(value)
  local v = tonumber(value)
  if v == nil or v ~= v or v == 1 / 0 or v == -1 / 0 then return 0 end
  if math_type(v) == "float" then
    v = v >= 0 and floor(v) or -floor(-v)
    if v >= 2^63 or v < -2^63 then return 0 end
    v = math.tointeger(v)
  end
  v = v & 0xffffffff
  if v >= 0x80000000 then v = v - 0x100000000 end
  return v
end

-- Incoming headers from the binding: Node's toHeaderObject.
--   nv         the flat sequence { name, value, name, value, ... } as received (lower-case names,
--              string values), which is also returned as rawHeaders
--   sensitive  optional: per-field flags (a sequence of numbers, field i at index i; bit 1 =
--              never indexed) or the never-indexed names themselves (a sequence of strings)
-- Returns the headers table (with [sensitiveHeaders], and a __pairs that skips it) and nv.
function headers.from_nv(nv, sensitive)
  local obj = setmetatable({}, HEADERS_MT)
  local i, name = 1, nv[1]
  while name ~= nil do
    local value = nv[i + 1]
    if name == ":status" then value = status_int(value) end
    local existing = obj[name]
    if existing == nil then
      if name == "set-cookie" then obj[name] = { value } else obj[name] = value end
    elseif not SINGLE[name] then
      if name == "cookie" then
        obj[name] = existing .. "; " .. value
      elseif name == "set-cookie" then
        existing[#existing + 1] = value
      else
        obj[name] = existing .. ", " .. value
      end
    end
    i = i + 2
    name = nv[i]
  end
  local list
  if sensitive == nil then
    list = {}
  elseif type(sensitive[1]) == "string" then
    list = sensitive
  else
    list = {}
    local k = 0
    for f = 1, (i - 1) // 2 do
      local fl = sensitive[f]
      if fl and fl & NO_INDEX ~= 0 then
        k = k + 1
        list[k] = nv[2 * f - 1]
      end
    end
  end
  obj[SENSITIVE] = list
  return obj, nv
end

return headers
