-- Base64 as Node's Buffer speaks it (RFC 4648).
--
--   local base64 = require "lode.base64"
--   base64.encode("\0\2\0\0\0\0")       --> "AAIAAAAA"            (Buffer#toString('base64'))
--   base64.encode_url("\251\255")       --> "-_8"                 (toString('base64url'): no padding)
--   base64.decode("AAIAAAAA")           --> "\0\2\0\0\0\0"        (Buffer.from(s, 'base64'))
--
-- decode() is as lenient as Node's: it takes both alphabets ('+/' and '-_'), skips any other
-- character (whitespace, line breaks), stops at the first '=', and drops a lone trailing
-- character that cannot make a byte. It never raises on a string.

local byte, char, concat, gsub, find, sub = string.byte, string.char, table.concat, string.gsub,
  string.find, string.sub

local STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- 12-bit value -> its two output characters, so each 3-byte group costs two table reads.
local function pairs_table(alphabet)
  local t = {}
  for i = 0, 4095 do
    local a, b = (i >> 6) + 1, (i & 63) + 1
    t[i] = sub(alphabet, a, a) .. sub(alphabet, b, b)
  end
  return t
end
local STD_PAIRS, URL_PAIRS = pairs_table(STD), pairs_table(URL)

-- Character code -> 6-bit value, for both alphabets.
local DEC = {}
for i = 1, 64 do
  DEC[byte(STD, i)] = i - 1
  DEC[byte(URL, i)] = i - 1
end

local function encode_with(s, t, pad)
  local n = #s
  local out, o = {}, 0
  local full = n - n % 3
  for i = 1, full, 3 do
    local a, b, c = byte(s, i, i + 2)
    local v = (a << 16) | (b << 8) | c
    out[o + 1] = t[v >> 12]
    out[o + 2] = t[v & 0xfff]
    o = o + 2
  end
  local rest = n - full
  if rest == 1 then
    local v = byte(s, n) << 16
    local tail = t[v >> 12]
    out[o + 1] = pad and tail .. "==" or tail
  elseif rest == 2 then
    local a, b = byte(s, n - 1, n)
    local v = (a << 16) | (b << 8)
    local tail = t[v >> 12] .. sub(t[v & 0xfff], 1, 1)
    out[o + 1] = pad and tail .. "=" or tail
  end
  return concat(out)
end

local base64 = {}

-- Standard alphabet, padded with '='.
function base64.encode(s)
  return encode_with(s, STD_PAIRS, true)
end

-- URL-safe alphabet, without padding (Node's 'base64url').
function base64.encode_url(s)
  return encode_with(s, URL_PAIRS, false)
end

-- Decodes either alphabet, leniently (see the top of the file).
function base64.decode(s)
  local stop = find(s, "=", 1, true)
  if stop then s = sub(s, 1, stop - 1) end
  if find(s, "[^%w+/_%-]") then s = gsub(s, "[^%w+/_%-]", "") end
  local n = #s
  local out, o = {}, 0
  local full = n - n % 4
  for i = 1, full, 4 do
    local a, b, c, d = byte(s, i, i + 3)
    local v = (DEC[a] << 18) | (DEC[b] << 12) | (DEC[c] << 6) | DEC[d]
    o = o + 1
    out[o] = char(v >> 16, (v >> 8) & 0xff, v & 0xff)
  end
  local rest = n - full
  if rest == 2 then
    local a, b = byte(s, full + 1, full + 2)
    out[o + 1] = char(((DEC[a] << 2) | (DEC[b] >> 4)) & 0xff)
  elseif rest == 3 then
    local a, b, c = byte(s, full + 1, full + 3)
    local v = (DEC[a] << 12) | (DEC[b] << 6) | DEC[c]
    out[o + 1] = char((v >> 10) & 0xff, (v >> 2) & 0xff)
  end
  return concat(out)
end

return base64
