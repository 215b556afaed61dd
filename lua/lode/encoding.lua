-- Node's Buffer encodings over Lua strings: bytes in, text out, and back.
--
--   local encoding = require "lode.encoding"
--   encoding.normalize("UTF-8")              --> "utf8"      (nil for an unknown name)
--   encoding.from("68656c6c6f", "hex")       --> "hello"     (Buffer.from(string, enc))
--   encoding.toString("\xe9", "latin1")      --> "é"         (buf.toString(enc))
--
-- A Lua string is both Node's Buffer (bytes) and its string (text, held as UTF-8 here). `from`
-- turns text written in an encoding into bytes; `toString` turns bytes into text. Text is UTF-8,
-- so 'utf8' is the identity both ways except that toString replaces invalid sequences with
-- U+FFFD exactly as Node does (WHATWG decoding, one replacement per maximal invalid subpart).
-- Names: utf8/utf-8, latin1/binary, ascii, hex, base64, base64url, utf16le/ucs2 (any case).

local base64 = require "lode.base64"

local byte, char, sub, find, gsub, concat = string.byte, string.char, string.sub, string.find,
  string.gsub, table.concat
local utf8_len, utf8_char, utf8_codes = utf8.len, utf8.char, utf8.codes

local encoding = {}

local NAMES = {
  utf8 = "utf8", ["utf-8"] = "utf8",
  latin1 = "latin1", binary = "latin1",
  ascii = "ascii",
  hex = "hex",
  base64 = "base64", base64url = "base64url",
  utf16le = "utf16le", ["utf-16le"] = "utf16le", ucs2 = "utf16le", ["ucs-2"] = "utf16le",
}

-- The canonical name of enc ("utf8" for nil or ""), or nil when Node does not know it.
function encoding.normalize(enc)
  if enc == nil or enc == "" then return "utf8" end
  if type(enc) ~= "string" then return nil end
  return NAMES[enc] or NAMES[enc:lower()]
end

-- Buffer.isEncoding(enc).
function encoding.isEncoding(enc)
  return type(enc) == "string" and enc ~= "" and encoding.normalize(enc) ~= nil
end

-- ---- bytes -> text ----

-- byte -> its UTF-8 text, for latin1 (code point = byte) and ascii (code point = byte & 0x7f).
local LATIN1, ASCII, HEX = {}, {}, {}
for b = 0, 255 do
  if b >= 128 then
    LATIN1[char(b)] = utf8_char(b)
    ASCII[char(b)] = char(b & 0x7f)
  end
  HEX[char(b)] = string.format("%02x", b)
end

local REPLACEMENT = "\239\191\189" -- U+FFFD

-- WHATWG UTF-8 decoding of bytes that are not valid UTF-8: each maximal subpart of an invalid
-- sequence becomes one U+FFFD.
local function utf8_replace(s)
  local out, o = {}, 0
  local i, n = 1, #s
  local run = 1 -- start of the current run of valid bytes
  while i <= n do
    local b = byte(s, i)
    if b < 0x80 then
      i = i + 1
    else
      local need, lo, hi = 0, 0x80, 0xBF
      if b >= 0xC2 and b <= 0xDF then need = 1
      elseif b >= 0xE0 and b <= 0xEF then
        need = 2
        if b == 0xE0 then lo = 0xA0 elseif b == 0xED then hi = 0x9F end
      elseif b >= 0xF0 and b <= 0xF4 then
        need = 3
        if b == 0xF0 then lo = 0x90 elseif b == 0xF4 then hi = 0x8F end
      end
      local j, ok = i + 1, need > 0
      for _ = 1, need do
        local c = byte(s, j)
        if not c or c < lo or c > hi then ok = false; break end
        lo, hi = 0x80, 0xBF
        j = j + 1
      end
      if ok then
        i = j
      else
        -- Invalid: flush the valid run, then one U+FFFD for bytes i .. j-1 (at least one).
        if run < i then o = o + 1; out[o] = sub(s, run, i - 1) end
        o = o + 1; out[o] = REPLACEMENT
        if j == i then j = i + 1 end
        i = j
        run = i
      end
    end
  end
  if run <= n then o = o + 1; out[o] = sub(s, run, n) end
  return concat(out, "", 1, o)
end
encoding.utf8_replace = utf8_replace

-- Bytes as valid UTF-8 text (the identity for valid UTF-8, which is checked in C).
local function utf8_text(s)
  if utf8_len(s) then return s end
  return utf8_replace(s)
end
encoding.utf8_text = utf8_text

local function utf16le_text(s)
  local out, o = {}, 0
  local n = #s - #s % 2
  local i = 1
  while i <= n do
    local lo, hi = byte(s, i, i + 1)
    local u = lo | (hi << 8)
    i = i + 2
    if u >= 0xD800 and u <= 0xDBFF and i <= n then
      local lo2, hi2 = byte(s, i, i + 1)
      local u2 = lo2 | (hi2 << 8)
      if u2 >= 0xDC00 and u2 <= 0xDFFF then
        u = 0x10000 + ((u - 0xD800) << 10) + (u2 - 0xDC00)
        i = i + 2
      end
    end
    o = o + 1
    out[o] = utf8_char(u) -- a lone surrogate stays a code point, as in the JavaScript string
  end
  return concat(out, "", 1, o)
end

-- buf.toString(enc): bytes -> text. Raises nothing for known encodings; enc must be normalized
-- or a name normalize() knows.
function encoding.toString(s, enc)
  local e = NAMES[enc] or encoding.normalize(enc)
  if e == "utf8" then return utf8_text(s)
  elseif e == "latin1" then return (gsub(s, "[\128-\255]", LATIN1))
  elseif e == "ascii" then return (gsub(s, "[\128-\255]", ASCII))
  elseif e == "hex" then return (gsub(s, ".", HEX))
  elseif e == "base64" then return base64.encode(s)
  elseif e == "base64url" then return base64.encode_url(s)
  elseif e == "utf16le" then return utf16le_text(s)
  end
  error(require("lode.errors").ERR_UNKNOWN_ENCODING(enc), 2)
end

-- ---- text -> bytes ----

-- Each UTF-16 code unit of the text, in order, through fn(unit).
local function each_unit(s, fn)
  for _, cp in utf8_codes(s, true) do
    if cp >= 0x10000 then
      cp = cp - 0x10000
      fn(0xD800 | (cp >> 10))
      fn(0xDC00 | (cp & 0x3FF))
    else
      fn(cp)
    end
  end
end

-- latin1/ascii: the low byte of each UTF-16 code unit, as Buffer.from does. Text that is not
-- valid UTF-8 is taken to be bytes already.
local function latin1_bytes(s)
  if not find(s, "[\128-\255]") or not utf8_len(s, 1, -1, true) then return s end
  local out, o = {}, 0
  each_unit(s, function(u) o = o + 1; out[o] = char(u & 0xFF) end)
  return concat(out, "", 1, o)
end

local HEXVAL = {}
for i = 0, 9 do HEXVAL[48 + i] = i end
for i = 0, 5 do HEXVAL[65 + i] = 10 + i; HEXVAL[97 + i] = 10 + i end

-- hex: pairs of hex digits up to the first pair that is not one.
local function hex_bytes(s)
  local out, o = {}, 0
  for i = 1, #s - 1, 2 do
    local a, b = byte(s, i, i + 1)
    a, b = HEXVAL[a], HEXVAL[b]
    if not a or not b then break end
    o = o + 1
    out[o] = char(a * 16 + b)
  end
  return concat(out, "", 1, o)
end

local function utf16le_bytes(s)
  if not utf8_len(s, 1, -1, true) then s = utf8_replace(s) end
  local out, o = {}, 0
  each_unit(s, function(u) o = o + 1; out[o] = char(u & 0xFF, u >> 8) end)
  return concat(out, "", 1, o)
end

-- Buffer.from(s, enc): text written in enc -> bytes. Raises ERR_UNKNOWN_ENCODING.
function encoding.from(s, enc)
  local e = NAMES[enc] or encoding.normalize(enc)
  if e == "utf8" then return s
  elseif e == "latin1" or e == "ascii" then return latin1_bytes(s)
  elseif e == "hex" then return hex_bytes(s)
  elseif e == "base64" or e == "base64url" then return base64.decode(s)
  elseif e == "utf16le" then return utf16le_bytes(s)
  end
  error(require("lode.errors").ERR_UNKNOWN_ENCODING(enc), 2)
end

-- Buffer.byteLength(s, enc).
function encoding.byteLength(s, enc)
  local e = NAMES[enc] or encoding.normalize(enc)
  if e == "utf8" then return #s end
  return #encoding.from(s, e)
end

return encoding
