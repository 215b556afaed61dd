-- Node's string_decoder: bytes arriving in pieces -> text, never splitting a character.
--
--   local StringDecoder = require("lode.string_decoder").StringDecoder
--   local d = StringDecoder.new("utf8")
--   d:write("\226\130")   --> ""          (the first two bytes of "€" wait for the third)
--   d:write("\172")       --> "€"
--   d:finish()            --> ""          (Node's decoder.end(); d["end"](d) works too)
--
-- Output is what Node's decoder gives, as UTF-8 text: an incomplete character at the end of a
-- write is held back; what cannot be decoded becomes U+FFFD; finish() flushes what is held.

local Object = require "lode.class"
local encoding = require "lode.encoding"

local byte, sub = string.byte, string.sub
local utf8_len = utf8.len
local toString, utf8_replace = encoding.toString, encoding.utf8_replace

local StringDecoder = Object:extend("StringDecoder")

function StringDecoder:constructor(enc)
  local e = encoding.normalize(enc)
  if not e then error(require("lode.errors").ERR_UNKNOWN_ENCODING(enc), 3) end
  self.encoding = e
  self._held = "" -- bytes of an incomplete character (or base64 group) waiting for the rest
end

-- How many trailing bytes of s start a UTF-8 character that is not complete yet (Node's rule:
-- the lead byte says how long the character is; continuation bytes are counted, not checked).
local function utf8_incomplete(s, n)
  local stop = n > 3 and n - 2 or 1
  for j = n, stop, -1 do
    local b = byte(s, j)
    if b & 0xC0 ~= 0x80 then
      local size = (b & 0xE0 == 0xC0) and 2 or (b & 0xF0 == 0xE0) and 3 or (b & 0xF8 == 0xF0) and 4 or 0
      local have = n - j + 1
      if size > have then return have end
      return 0
    end
  end
  return 0
end

local function write_utf8(self, s)
  local held = self._held
  if held ~= "" then s = held .. s; self._held = "" end
  local n = #s
  if n == 0 then return "" end
  -- The common case: plain complete text.
  if byte(s, n) < 0x80 and utf8_len(s) then return s end
  local k = utf8_incomplete(s, n)
  if k > 0 then
    self._held = sub(s, n - k + 1)
    s = sub(s, 1, n - k)
  end
  if utf8_len(s) then return s end
  return utf8_replace(s)
end

local function write_utf16le(self, s)
  local held = self._held
  if held ~= "" then s = held .. s; self._held = "" end
  local n = #s
  local keep = n % 2
  -- A high surrogate at the end waits for its low half.
  if n - keep >= 2 then
    local hi = byte(s, n - keep)
    if hi >= 0xD8 and hi <= 0xDB then keep = keep + 2 end
  end
  if keep > 0 then
    self._held = sub(s, n - keep + 1)
    s = sub(s, 1, n - keep)
  end
  return toString(s, "utf16le")
end

local function write_base64(self, s, enc)
  local held = self._held
  if held ~= "" then s = held .. s; self._held = "" end
  local n = #s
  local keep = n % 3
  if keep > 0 then
    self._held = sub(s, n - keep + 1)
    s = sub(s, 1, n - keep)
  end
  return toString(s, enc)
end

-- Decodes the next piece of bytes; returns the text that is complete so far.
function StringDecoder:write(s)
  if type(s) ~= "string" then
    error(require("lode.errors").ERR_INVALID_ARG_TYPE("buf", { "Buffer", "TypedArray", "DataView" }, s), 2)
  end
  local e = self.encoding
  if e == "utf8" then return write_utf8(self, s)
  elseif e == "base64" or e == "base64url" then return write_base64(self, s, e)
  elseif e == "utf16le" then return write_utf16le(self, s)
  end
  return toString(s, e)
end

-- Ends the input: decodes s (if given) and flushes what is held, replacing an incomplete
-- character with U+FFFD.
function StringDecoder:finish(s)
  local out = ""
  if s ~= nil then out = self:write(s) end
  local held = self._held
  if held == "" then return out end
  self._held = ""
  local e = self.encoding
  if e == "utf8" then return out .. utf8_replace(held) end
  if e == "utf16le" then
    local n = #held - #held % 2
    return out .. toString(sub(held, 1, n), e)
  end
  return out .. toString(held, e)
end
StringDecoder["end"] = StringDecoder.finish

return { StringDecoder = StringDecoder }
