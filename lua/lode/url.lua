-- The WHATWG URL Standard's URL and URLSearchParams, as Node 20 has them.
--
--   local URL = require("lode.url").URL
--   local u = URL.new("../x?a=1#top", "http://Example.com:80/dir/page")   -- or URL(s, base)
--   u.href    --> 'http://example.com/x?a=1#top'
--   u.port    --> ''  (the scheme's default port is not kept)
--   u.searchParams:get("a") --> '1'
--   u.pathname = "/y"       -- setters re-serialize href, as in Node
--
-- The parser is a direct port of the standard's "basic URL parser" state machine
-- (https://url.spec.whatwg.org/#concept-basic-url-parser), state overrides included: that is
-- how the setters work, so `u.port = "8080abc"` keeps 8080 and `u.port = "99999"` changes
-- nothing, exactly as in Node. Strings are handled as UTF-8 bytes: every byte above 0x7E that
-- needs encoding is percent-encoded, which is the UTF-8 percent-encoding of its code point.
--
-- Internationalized domain names are lower-cased (ASCII, Latin-1, Latin Extended-A, Greek,
-- Cyrillic) and Punycode-encoded; the full Unicode IDNA mapping tables are not included.

local Object = require "lode.class"
local errors = require "lode.errors"
local util = require "lode.util"

local format, concat, byte, char = string.format, table.concat, string.byte, string.char

local SPECIAL_PORTS = { ftp = 21, file = false, http = 80, https = 443, ws = 80, wss = 443 }

local function is_special(scheme)
  return SPECIAL_PORTS[scheme] ~= nil
end

local function default_port(scheme)
  return SPECIAL_PORTS[scheme] or nil
end

---------------------------------------------------------------------------------------------
-- Percent-encoding (https://url.spec.whatwg.org/#percent-encoded-bytes)
---------------------------------------------------------------------------------------------

-- A set lists the printable ASCII characters it encodes; C0 controls, DEL and every byte
-- above it are in all of them.
local function encode_set(base, extra)
  local set = {}
  for k in pairs(base or {}) do set[k] = true end
  for i = 1, #extra do set[extra:sub(i, i)] = true end
  return set
end

local C0_SET = {}
local FRAGMENT_SET = encode_set(C0_SET, ' "<>`')
local QUERY_SET = encode_set(C0_SET, ' "#<>')
local SPECIAL_QUERY_SET = encode_set(QUERY_SET, "'")
-- Node 20 (Ada 2) predates the standard's addition of ^ to the path set.
local PATH_SET = encode_set(QUERY_SET, "?`{}")
local USERINFO_SET = encode_set(PATH_SET, "/:;=@[\\]^|")

local function percent_encode(s, set)
  return (s:gsub("[^%w%-%._~]", function(c)
    local b = byte(c)
    if b < 0x20 or b > 0x7E or set[c] then return format("%%%02X", b) end
  end))
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return char(tonumber(h, 16)) end))
end

-- application/x-www-form-urlencoded: everything but ASCII alphanumerics and *-._ is encoded,
-- and a space is "+".
local function form_encode(s)
  return (s:gsub("[^%w%*%-%._]", function(c)
    if c == " " then return "+" end
    return format("%%%02X", byte(c))
  end))
end

local function form_decode(s)
  return percent_decode((s:gsub("%+", " ")))
end

---------------------------------------------------------------------------------------------
-- Hosts (https://url.spec.whatwg.org/#host-parsing)
---------------------------------------------------------------------------------------------

local FORBIDDEN_HOST = encode_set(nil, "\0\t\n\r #/:<>?@[\\]^|")
local FORBIDDEN_DOMAIN = encode_set(FORBIDDEN_HOST, "%\127")

local function has_forbidden(s, set, controls)
  for i = 1, #s do
    local c = s:sub(i, i)
    if set[c] or (controls and byte(c) < 0x20) then return true end
  end
  return false
end

-- Returns the 8 pieces of an IPv6 address, or nil.
local function parse_ipv6(input)
  local address = { 0, 0, 0, 0, 0, 0, 0, 0 }
  local piece, compress, p = 1, nil, 1
  local function at(i) return input:sub(i, i) end
  if at(p) == ":" then
    if at(p + 1) ~= ":" then return nil end
    p = p + 2
    piece = piece + 1
    compress = piece
  end
  while at(p) ~= "" do
    if piece == 9 then return nil end
    if at(p) == ":" then
      if compress then return nil end
      p = p + 1
      piece = piece + 1
      compress = piece
    else
      local value, length = 0, 0
      while length < 4 and at(p):match("^%x$") do
        value = value * 16 + tonumber(at(p), 16)
        p = p + 1
        length = length + 1
      end
      if at(p) == "." then
        -- An embedded IPv4 address fills the last two pieces.
        if length == 0 then return nil end
        p = p - length
        if piece > 7 then return nil end
        local numbers_seen = 0
        while at(p) ~= "" do
          local ipv4_piece
          if numbers_seen > 0 then
            if at(p) == "." and numbers_seen < 4 then p = p + 1 else return nil end
          end
          if not at(p):match("^%d$") then return nil end
          while at(p):match("^%d$") do
            local n = tonumber(at(p))
            if ipv4_piece == nil then
              ipv4_piece = n
            elseif ipv4_piece == 0 then
              return nil
            else
              ipv4_piece = ipv4_piece * 10 + n
            end
            if ipv4_piece > 255 then return nil end
            p = p + 1
          end
          address[piece] = address[piece] * 0x100 + ipv4_piece
          numbers_seen = numbers_seen + 1
          if numbers_seen == 2 or numbers_seen == 4 then piece = piece + 1 end
        end
        if numbers_seen ~= 4 then return nil end
        break
      elseif at(p) == ":" then
        p = p + 1
        if at(p) == "" then return nil end
      elseif at(p) ~= "" then
        return nil
      end
      address[piece] = value
      piece = piece + 1
    end
  end
  if compress then
    local swaps = piece - compress
    piece = 8
    while piece ~= 1 and swaps > 0 do
      address[piece], address[compress + swaps - 1] = address[compress + swaps - 1], address[piece]
      piece = piece - 1
      swaps = swaps - 1
    end
  elseif piece ~= 9 then
    return nil
  end
  return address
end

-- Hex pieces, the first longest run of two or more zero pieces written as "::".
local function serialize_ipv6(address)
  local best_start, best_len, start, len = nil, 1, nil, 0
  for i = 1, 8 do
    if address[i] == 0 then
      if not start then start, len = i, 0 end
      len = len + 1
      if len > best_len then best_start, best_len = start, len end
    else
      start = nil
    end
  end
  local out, i = {}, 1
  while i <= 8 do
    if i == best_start then
      out[#out + 1] = (i == 1 and "::" or ":")
      i = i + best_len
    else
      out[#out + 1] = format("%x", address[i]) .. (i < 8 and ":" or "")
      i = i + 1
    end
  end
  return concat(out)
end

-- The IPv4 number parser: decimal, 0x hexadecimal or 0 octal; nil on failure.
local function parse_ipv4_number(s)
  if s == "" then return nil end
  local radix = 10
  if s:match("^0[xX]") then
    radix, s = 16, s:sub(3)
  elseif #s >= 2 and s:sub(1, 1) == "0" then
    radix, s = 8, s:sub(2)
  end
  if s == "" then return 0 end
  local digits = radix == 16 and "^%x+$" or radix == 8 and "^[0-7]+$" or "^%d+$"
  if not s:match(digits) then return nil end
  return tonumber(s, radix)
end

local function split_dots(s)
  local parts = {}
  for part in (s .. "."):gmatch("(.-)%.") do parts[#parts + 1] = part end
  return parts
end

local function ends_in_a_number(s)
  local parts = split_dots(s)
  if parts[#parts] == "" then
    if #parts == 1 then return false end
    parts[#parts] = nil
  end
  local last = parts[#parts]
  if last:match("^%d+$") then return true end
  return parse_ipv4_number(last) ~= nil
end

-- Returns the dotted-decimal serialization, or nil on failure.
local function parse_ipv4(s)
  local parts = split_dots(s)
  if parts[#parts] == "" and #parts > 1 then parts[#parts] = nil end
  if #parts > 4 then return nil end
  local numbers = {}
  for i, part in ipairs(parts) do
    numbers[i] = parse_ipv4_number(part)
    if numbers[i] == nil then return nil end
  end
  for i = 1, #numbers - 1 do
    if numbers[i] > 255 then return nil end
  end
  if numbers[#numbers] >= 256 ^ (5 - #numbers) then return nil end
  local ipv4 = numbers[#numbers]
  for i = 1, #numbers - 1 do
    ipv4 = ipv4 + numbers[i] * 256 ^ (4 - i)
  end
  ipv4 = math.tointeger(ipv4)
  return format("%d.%d.%d.%d", ipv4 >> 24 & 255, ipv4 >> 16 & 255, ipv4 >> 8 & 255, ipv4 & 255)
end

-- Lower-case mapping for the scripts most domain names use (see the note at the top).
local function lower_code_point(cp)
  if (cp >= 0x41 and cp <= 0x5A) or (cp >= 0xC0 and cp <= 0xDE and cp ~= 0xD7) or
      (cp >= 0x391 and cp <= 0x3AB and cp ~= 0x3A2) or (cp >= 0x410 and cp <= 0x42F) then
    return cp + 0x20
  end
  if cp >= 0x400 and cp <= 0x40F then return cp + 0x50 end
  if cp >= 0x100 and cp <= 0x17E and cp ~= 0x130 and cp ~= 0x138 and cp ~= 0x149 and cp ~= 0x178 then
    local even_upper = cp < 0x139 or (cp >= 0x14A and cp < 0x179)
    if even_upper == (cp % 2 == 0) then return cp + 1 end
  end
  if cp == 0x178 then return 0xFF end
  -- Ideographic and full-width full stops separate labels like ".".
  if cp == 0x3002 or cp == 0xFF0E or cp == 0xFF61 then return 0x2E end
  return cp
end

-- RFC 3492 Punycode of a sequence of code points.
local function punycode(cps)
  local base, tmin, tmax, skew, damp = 36, 1, 26, 38, 700
  local function digit(d) return char(d < 26 and d + 97 or d + 22) end
  local function adapt(delta, numpoints, first)
    delta = first and delta // damp or delta // 2
    delta = delta + delta // numpoints
    local k = 0
    while delta > ((base - tmin) * tmax) // 2 do
      delta = delta // (base - tmin)
      k = k + base
    end
    return k + (base - tmin + 1) * delta // (delta + skew)
  end
  local out = {}
  for _, cp in ipairs(cps) do
    if cp < 0x80 then out[#out + 1] = char(cp) end
  end
  local b = #out
  local h = b
  if b > 0 then out[#out + 1] = "-" end
  local n, delta, bias = 0x80, 0, 72
  while h < #cps do
    local m = math.huge
    for _, cp in ipairs(cps) do
      if cp >= n and cp < m then m = cp end
    end
    delta = delta + (m - n) * (h + 1)
    n = m
    for _, cp in ipairs(cps) do
      if cp < n then delta = delta + 1 end
      if cp == n then
        local q, k = delta, base
        while true do
          local t = k <= bias and tmin or (k >= bias + tmax and tmax or k - bias)
          if q < t then break end
          out[#out + 1] = digit(t + (q - t) % (base - t))
          q = (q - t) // (base - t)
          k = k + base
        end
        out[#out + 1] = digit(q)
        bias = adapt(delta, h + 1, h == b)
        delta = 0
        h = h + 1
      end
    end
    delta = delta + 1
    n = n + 1
  end
  return concat(out)
end

-- UTS #46 ToASCII, reduced to the mapping above and Punycode; nil on failure.
local function domain_to_ascii(domain)
  if not utf8.len(domain) then return nil end -- bytes that are not UTF-8 decode to U+FFFD
  local labels, cps = {}, {}
  local function finish_label()
    local ascii = true
    for _, cp in ipairs(cps) do
      if cp >= 0x80 then ascii = false break end
    end
    if ascii then
      labels[#labels + 1] = utf8.char(table.unpack(cps))
    else
      labels[#labels + 1] = "xn--" .. punycode(cps)
    end
    cps = {}
  end
  for _, cp in utf8.codes(domain) do
    cp = lower_code_point(cp)
    if cp == 0x2E then finish_label() else cps[#cps + 1] = cp end
  end
  finish_label()
  local result = concat(labels, ".")
  if result == "" then return nil end
  return result
end

-- The host parser: a serialized host (domain, IPv4, [IPv6] or opaque host) or nil.
local function parse_host(input, not_special)
  if input:sub(1, 1) == "[" then
    if input:sub(-1) ~= "]" then return nil end
    local address = parse_ipv6(input:sub(2, -2))
    return address and "[" .. serialize_ipv6(address) .. "]"
  end
  if not_special then
    if has_forbidden(input, FORBIDDEN_HOST) then return nil end
    return percent_encode(input, C0_SET)
  end
  local ascii = domain_to_ascii(percent_decode(input))
  if not ascii or has_forbidden(ascii, FORBIDDEN_DOMAIN, true) then return nil end
  if ends_in_a_number(ascii) then return parse_ipv4(ascii) end
  return ascii
end

---------------------------------------------------------------------------------------------
-- The basic URL parser
---------------------------------------------------------------------------------------------

-- A URL record: scheme, username, password, host (serialized, or nil), port (integer or nil),
-- path (a sequence of segments, or a string for an opaque path), query, fragment (nil or
-- string).

local function copy_record(r)
  local path = r.path
  if type(path) == "table" then path = table.move(path, 1, #path, 1, {}) end
  return {
    scheme = r.scheme, username = r.username, password = r.password, host = r.host,
    port = r.port, path = path, query = r.query, fragment = r.fragment,
  }
end

local function is_drive_letter(s, normalized)
  return #s == 2 and s:match("^%a") ~= nil and (s:sub(2) == ":" or (not normalized and s:sub(2) == "|"))
end

local function starts_with_drive_letter(s)
  return #s >= 2 and is_drive_letter(s:sub(1, 2)) and (#s == 2 or s:sub(3, 3):match("^[/\\?#]") ~= nil)
end

local function shorten_path(url)
  local path = url.path
  if url.scheme == "file" and #path == 1 and is_drive_letter(path[1], true) then return end
  path[#path] = nil
end

local SINGLE_DOT = { ["."] = true, ["%2e"] = true }
local DOUBLE_DOT = { [".."] = true, [".%2e"] = true, ["%2e."] = true, ["%2e%2e"] = true }

local function has_credentials(url)
  return url.username ~= "" or url.password ~= ""
end

-- Runs the state machine over input. Without state_override it returns a new record or nil
-- (failure). With one, it modifies `url` in place and returns it, or nil on failure (the
-- setters run it on a copy, so a failure changes nothing).
local function basic_parse(input, base, url, state_override)
  if not url then
    url = { scheme = "", username = "", password = "", host = nil, port = nil, path = {} }
    -- Leading and trailing C0 controls and spaces are dropped.
    input = input:gsub("^[\0-\32]+", ""):gsub("[\0-\32]+$", "")
  end
  input = input:gsub("[\t\n\r]", "")

  local state = state_override or "scheme start"
  local buffer = ""
  local at_sign_seen, inside_brackets, password_token_seen = false, false, false
  local p = 1
  local n = #input

  while true do
    local c = input:sub(p, p) -- "" is EOF
    local special = is_special(url.scheme)

    if state == "scheme start" then
      if c:match("^%a$") then
        buffer = buffer .. c:lower()
        state = "scheme"
      elseif not state_override then
        state = "no scheme"
        p = p - 1
      else
        return nil
      end

    elseif state == "scheme" then
      if c:match("^[%w+%-.]$") then
        buffer = buffer .. c:lower()
      elseif c == ":" then
        if state_override then
          if is_special(url.scheme) ~= is_special(buffer) then return url end
          if (has_credentials(url) or url.port ~= nil) and buffer == "file" then return url end
          if url.scheme == "file" and url.host == "" then return url end
        end
        url.scheme = buffer
        if state_override then
          if url.port == default_port(url.scheme) then url.port = nil end
          return url
        end
        buffer = ""
        if url.scheme == "file" then
          state = "file"
        elseif is_special(url.scheme) and base and base.scheme == url.scheme then
          state = "special relative or authority"
        elseif is_special(url.scheme) then
          state = "special authority slashes"
        elseif input:sub(p + 1, p + 1) == "/" then
          state = "path or authority"
          p = p + 1
        else
          url.path = ""
          state = "opaque path"
        end
      elseif not state_override then
        buffer = ""
        state = "no scheme"
        p = 0 -- start over
      else
        return nil
      end

    elseif state == "no scheme" then
      local base_opaque = base and type(base.path) == "string"
      if not base or (base_opaque and c ~= "#") then
        return nil
      elseif base_opaque and c == "#" then
        url.scheme, url.path, url.query = base.scheme, base.path, base.query
        url.fragment = ""
        state = "fragment"
      elseif base.scheme ~= "file" then
        state = "relative"
        p = p - 1
      else
        state = "file"
        p = p - 1
      end

    elseif state == "special relative or authority" then
      if c == "/" and input:sub(p + 1, p + 1) == "/" then
        state = "special authority ignore slashes"
        p = p + 1
      else
        state = "relative"
        p = p - 1
      end

    elseif state == "path or authority" then
      if c == "/" then
        state = "authority"
      else
        state = "path"
        p = p - 1
      end

    elseif state == "relative" then
      url.scheme = base.scheme
      if c == "/" or (is_special(url.scheme) and c == "\\") then
        state = "relative slash"
      else
        url.username, url.password, url.host, url.port = base.username, base.password, base.host, base.port
        url.path = table.move(base.path, 1, #base.path, 1, {})
        url.query = base.query
        if c == "?" then
          url.query = ""
          state = "query"
        elseif c == "#" then
          url.fragment = ""
          state = "fragment"
        elseif c ~= "" then
          url.query = nil
          shorten_path(url)
          state = "path"
          p = p - 1
        end
      end

    elseif state == "relative slash" then
      if special and (c == "/" or c == "\\") then
        state = "special authority ignore slashes"
      elseif c == "/" then
        state = "authority"
      else
        url.username, url.password, url.host, url.port = base.username, base.password, base.host, base.port
        state = "path"
        p = p - 1
      end

    elseif state == "special authority slashes" then
      if c == "/" and input:sub(p + 1, p + 1) == "/" then
        state = "special authority ignore slashes"
        p = p + 1
      else
        state = "special authority ignore slashes"
        p = p - 1
      end

    elseif state == "special authority ignore slashes" then
      if c ~= "/" and c ~= "\\" then
        state = "authority"
        p = p - 1
      end

    elseif state == "authority" then
      if c == "@" then
        if at_sign_seen then buffer = "%40" .. buffer end
        at_sign_seen = true
        for i = 1, #buffer do
          local b = buffer:sub(i, i)
          if b == ":" and not password_token_seen then
            password_token_seen = true
          elseif password_token_seen then
            url.password = url.password .. percent_encode(b, USERINFO_SET)
          else
            url.username = url.username .. percent_encode(b, USERINFO_SET)
          end
        end
        buffer = ""
      elseif c == "" or c == "/" or c == "?" or c == "#" or (special and c == "\\") then
        if at_sign_seen and buffer == "" then return nil end
        p = p - #buffer - 1
        buffer = ""
        state = "host"
      else
        buffer = buffer .. c
      end

    elseif state == "host" or state == "hostname" then
      if state_override and url.scheme == "file" then
        p = p - 1
        state = "file host"
      elseif c == ":" and not inside_brackets then
        if buffer == "" then return nil end
        if state_override == "hostname" then return nil end
        local host = parse_host(buffer, not special)
        if not host then return nil end
        url.host = host
        buffer = ""
        state = "port"
      elseif c == "" or c == "/" or c == "?" or c == "#" or (special and c == "\\") then
        p = p - 1
        if special and buffer == "" then
          return nil
        elseif state_override and buffer == "" and (has_credentials(url) or url.port ~= nil) then
          return url
        end
        local host = parse_host(buffer, not special)
        if not host then return nil end
        url.host = host
        buffer = ""
        state = "path start"
        if state_override then return url end
      else
        if c == "[" then inside_brackets = true end
        if c == "]" then inside_brackets = false end
        buffer = buffer .. c
      end

    elseif state == "port" then
      if c:match("^%d$") then
        buffer = buffer .. c
      elseif c == "" or c == "/" or c == "?" or c == "#" or (special and c == "\\") or state_override then
        if buffer ~= "" then
          local port = tonumber(buffer)
          if port > 65535 then return nil end
          port = math.tointeger(port)
          url.port = port ~= default_port(url.scheme) and port or nil
          buffer = ""
        end
        if state_override then return url end
        state = "path start"
        p = p - 1
      else
        return nil
      end

    elseif state == "file" then
      url.scheme = "file"
      url.host = ""
      if c == "/" or c == "\\" then
        state = "file slash"
      elseif base and base.scheme == "file" then
        url.host = base.host
        url.path = table.move(base.path, 1, #base.path, 1, {})
        url.query = base.query
        if c == "?" then
          url.query = ""
          state = "query"
        elseif c == "#" then
          url.fragment = ""
          state = "fragment"
        elseif c ~= "" then
          url.query = nil
          if not starts_with_drive_letter(input:sub(p)) then
            shorten_path(url)
          else
            url.path = {}
          end
          state = "path"
          p = p - 1
        end
      else
        state = "path"
        p = p - 1
      end

    elseif state == "file slash" then
      if c == "/" or c == "\\" then
        state = "file host"
      else
        if base and base.scheme == "file" then
          url.host = base.host
          if not starts_with_drive_letter(input:sub(p)) and base.path[1] and
              is_drive_letter(base.path[1], true) then
            url.path[#url.path + 1] = base.path[1]
          end
        end
        state = "path"
        p = p - 1
      end

    elseif state == "file host" then
      if c == "" or c == "/" or c == "\\" or c == "?" or c == "#" then
        p = p - 1
        if not state_override and is_drive_letter(buffer) then
          state = "path" -- the buffer is the path's first segment
        elseif buffer == "" then
          url.host = ""
          if state_override then return url end
          state = "path start"
        else
          local host = parse_host(buffer, false)
          if not host then return nil end
          if host == "localhost" then host = "" end
          url.host = host
          if state_override then return url end
          buffer = ""
          state = "path start"
        end
      else
        buffer = buffer .. c
      end

    elseif state == "path start" then
      if special then
        state = "path"
        if c ~= "/" and c ~= "\\" then p = p - 1 end
      elseif not state_override and c == "?" then
        url.query = ""
        state = "query"
      elseif not state_override and c == "#" then
        url.fragment = ""
        state = "fragment"
      elseif c ~= "" then
        state = "path"
        if c ~= "/" then p = p - 1 end
      elseif state_override and url.host == nil then
        url.path[#url.path + 1] = ""
      end

    elseif state == "path" then
      local slash = c == "/" or (special and c == "\\")
      if c == "" or slash or (not state_override and (c == "?" or c == "#")) then
        local segment = buffer:lower()
        if DOUBLE_DOT[segment] then
          shorten_path(url)
          if not slash then url.path[#url.path + 1] = "" end
        elseif SINGLE_DOT[segment] and not slash then
          url.path[#url.path + 1] = ""
        elseif not SINGLE_DOT[segment] then
          if url.scheme == "file" and #url.path == 0 and is_drive_letter(buffer) then
            buffer = buffer:sub(1, 1) .. ":"
          end
          url.path[#url.path + 1] = buffer
        end
        buffer = ""
        if c == "?" then
          url.query = ""
          state = "query"
        elseif c == "#" then
          url.fragment = ""
          state = "fragment"
        end
      else
        buffer = buffer .. percent_encode(c, PATH_SET)
      end

    elseif state == "opaque path" then
      if c == "?" then
        url.query = ""
        state = "query"
      elseif c == "#" then
        url.fragment = ""
        state = "fragment"
      elseif c ~= "" then
        url.path = url.path .. percent_encode(c, C0_SET)
      end

    elseif state == "query" then
      if (not state_override and c == "#") or c == "" then
        url.query = (url.query or "") .. percent_encode(buffer, special and SPECIAL_QUERY_SET or QUERY_SET)
        buffer = ""
        if c == "#" then
          url.fragment = ""
          state = "fragment"
        end
      else
        buffer = buffer .. c
      end

    elseif state == "fragment" then
      if c ~= "" then
        url.fragment = url.fragment .. percent_encode(c, FRAGMENT_SET)
      end
    end

    if p >= n + 1 then break end
    p = p + 1
  end
  return url
end

local function serialize_path(url)
  if type(url.path) == "string" then return url.path end
  local out = {}
  for i, segment in ipairs(url.path) do out[i] = "/" .. segment end
  return concat(out)
end

local function serialize(url, exclude_fragment)
  local out = { url.scheme, ":" }
  if url.host ~= nil then
    out[#out + 1] = "//"
    if has_credentials(url) then
      out[#out + 1] = url.username
      if url.password ~= "" then out[#out + 1] = ":" .. url.password end
      out[#out + 1] = "@"
    end
    out[#out + 1] = url.host
    if url.port ~= nil then out[#out + 1] = ":" .. url.port end
  elseif type(url.path) == "table" and #url.path > 1 and url.path[1] == "" then
    out[#out + 1] = "/." -- keeps "//x" in a host-less path from reading as a host
  end
  out[#out + 1] = serialize_path(url)
  if url.query ~= nil then out[#out + 1] = "?" .. url.query end
  if not exclude_fragment and url.fragment ~= nil then out[#out + 1] = "#" .. url.fragment end
  return concat(out)
end

-- An opaque path loses its trailing spaces once nothing follows it (the standard's
-- "potentially strip trailing spaces from an opaque path").
local function strip_opaque_path_spaces(url)
  if type(url.path) == "string" and url.fragment == nil and url.query == nil then
    url.path = url.path:gsub(" +$", "")
  end
end

---------------------------------------------------------------------------------------------
-- URLSearchParams
---------------------------------------------------------------------------------------------

local URLSearchParams = Object:extend("URLSearchParams")

local function to_string(v)
  if type(v) == "string" then return v end
  return util.format("%s", v)
end

local function parse_form(s)
  local list = {}
  for piece in s:gmatch("[^&]+") do
    local name, value = piece:match("^([^=]*)=(.*)$")
    if not name then name, value = piece, "" end
    list[#list + 1] = { form_decode(name), form_decode(value) }
  end
  return list
end

local function serialize_form(list)
  local out = {}
  for i, pair in ipairs(list) do
    out[i] = form_encode(pair[1]) .. "=" .. form_encode(pair[2])
  end
  return concat(out, "&")
end

--- URLSearchParams.new([init])
-- init: a query string ("?a=1&b=2" or "a=1&b=2"), a sequence of { name, value } pairs, a
-- table of names to values (taken in sorted order: Lua tables have none of their own), or
-- another URLSearchParams.
function URLSearchParams:constructor(init)
  self._list = {}
  self._url = nil -- the URL whose query this is, if any
  if init == nil then return end
  if Object.instanceof(init, URLSearchParams) then
    for i, pair in ipairs(init._list) do self._list[i] = { pair[1], pair[2] } end
  elseif type(init) == "table" then
    if #init > 0 then
      for i, pair in ipairs(init) do
        if type(pair) ~= "table" or #pair ~= 2 then
          error(errors.ERR_INVALID_TUPLE("Each query pair", "[name, value]"), 3)
        end
        self._list[i] = { to_string(pair[1]), to_string(pair[2]) }
      end
    else
      local names = {}
      for name in pairs(init) do names[#names + 1] = to_string(name) end
      table.sort(names)
      for i, name in ipairs(names) do
        self._list[i] = { name, to_string(init[name]) }
      end
    end
  else
    local s = to_string(init)
    if s:sub(1, 1) == "?" then s = s:sub(2) end
    self._list = parse_form(s)
  end
end

-- The owning URL's query follows every change.
local function update(self)
  local url = self._url
  if not url then return end
  local query = serialize_form(self._list)
  url._url.query = query ~= "" and query or nil
  if query == "" then strip_opaque_path_spaces(url._url) end
end

local function check_args(count, name, value)
  if name == nil or (count == 2 and value == nil) then
    if count == 2 then error(errors.ERR_MISSING_ARGS("name", "value"), 3) end
    error(errors.ERR_MISSING_ARGS("name"), 3)
  end
end

--- params:append(name, value)
function URLSearchParams:append(name, value)
  check_args(2, name, value)
  self._list[#self._list + 1] = { to_string(name), to_string(value) }
  update(self)
end

--- params:delete(name[, value]): removes every pair with that name (and value, if given).
function URLSearchParams:delete(name, value)
  check_args(1, name)
  name = to_string(name)
  value = value ~= nil and to_string(value) or nil
  local kept = {}
  for _, pair in ipairs(self._list) do
    if pair[1] ~= name or (value ~= nil and pair[2] ~= value) then kept[#kept + 1] = pair end
  end
  self._list = kept
  update(self)
end

--- params:get(name) -> the first value, or nil
function URLSearchParams:get(name)
  check_args(1, name)
  name = to_string(name)
  for _, pair in ipairs(self._list) do
    if pair[1] == name then return pair[2] end
  end
  return nil
end

--- params:getAll(name) -> sequence of values
function URLSearchParams:getAll(name)
  check_args(1, name)
  name = to_string(name)
  local values = {}
  for _, pair in ipairs(self._list) do
    if pair[1] == name then values[#values + 1] = pair[2] end
  end
  return values
end

--- params:has(name[, value]) -> boolean
function URLSearchParams:has(name, value)
  check_args(1, name)
  name = to_string(name)
  value = value ~= nil and to_string(value) or nil
  for _, pair in ipairs(self._list) do
    if pair[1] == name and (value == nil or pair[2] == value) then return true end
  end
  return false
end

--- params:set(name, value): the first pair with that name takes the value, the others go;
-- appended if there was none.
function URLSearchParams:set(name, value)
  check_args(2, name, value)
  name, value = to_string(name), to_string(value)
  local kept, found = {}, false
  for _, pair in ipairs(self._list) do
    if pair[1] ~= name then
      kept[#kept + 1] = pair
    elseif not found then
      found = true
      kept[#kept + 1] = { name, value }
    end
  end
  if not found then kept[#kept + 1] = { name, value } end
  self._list = kept
  update(self)
end

--- params:sort(): stable sort by name.
function URLSearchParams:sort()
  local list = self._list
  local order = {}
  for i, pair in ipairs(list) do order[pair] = i end
  table.sort(list, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return order[a] < order[b]
  end)
  update(self)
end

--- params:toString() -> "a=1&b=2" (also tostring(params))
function URLSearchParams:toString()
  return serialize_form(self._list)
end
URLSearchParams.__tostring = URLSearchParams.toString

local function iterator(self, what)
  local i = 0
  return function()
    i = i + 1
    local pair = self._list[i] -- read at each step: the iteration sees changes, as Node's
    if pair == nil then return nil end
    if what == "keys" then return pair[1] end
    if what == "values" then return pair[2] end
    return pair[1], pair[2]
  end
end

--- for name, value in params:entries() do ... end
function URLSearchParams:entries() return iterator(self, "entries") end
--- for name in params:keys() do ... end
function URLSearchParams:keys() return iterator(self, "keys") end
--- for value in params:values() do ... end
function URLSearchParams:values() return iterator(self, "values") end

--- params:forEach(fn): fn(value, name, params) for each pair.
function URLSearchParams:forEach(fn)
  if type(fn) ~= "function" then
    error(errors.ERR_INVALID_ARG_TYPE("callback", "function", fn), 2)
  end
  for name, value in iterator(self, "entries") do fn(value, name, self) end
end

--- params.size: the number of pairs.
URLSearchParams:getter("size", function(self) return #self._list end)

function URLSearchParams:__inspect()
  local out = {}
  for i, pair in ipairs(self._list) do
    out[i] = util.inspect(pair[1]) .. " => " .. util.inspect(pair[2])
  end
  if #out == 0 then return "URLSearchParams {}" end
  return "URLSearchParams { " .. concat(out, ", ") .. " }"
end

---------------------------------------------------------------------------------------------
-- URL
---------------------------------------------------------------------------------------------

local URL = Object:extend("URL")

local function parse_or_raise(input, base, level)
  local base_record
  if base ~= nil then
    base_record = Object.instanceof(base, URL) and base._url or basic_parse(to_string(base))
    if not base_record then error(errors.ERR_INVALID_URL(input, to_string(base)), level + 1) end
  end
  local record = basic_parse(input, base_record)
  if not record then
    error(errors.ERR_INVALID_URL(input, base ~= nil and to_string(base) or nil), level + 1)
  end
  return record
end

--- URL.new(input[, base]) / URL(input[, base])
-- Raises TypeError ERR_INVALID_URL (with `input`, and `base` when given) on an invalid URL.
function URL:constructor(input, base)
  if input == nil then error(errors.ERR_MISSING_ARGS("url"), 3) end
  self._url = parse_or_raise(to_string(input), base, 3)
  local params = URLSearchParams.new(self._url.query or "")
  params._url = self
  self._searchParams = params
end

--- URL.canParse(input[, base]) -> boolean
function URL.canParse(input, base)
  local base_record
  if base ~= nil then
    base_record = Object.instanceof(base, URL) and base._url or basic_parse(to_string(base))
    if not base_record then return false end
  end
  return basic_parse(to_string(input), base_record) ~= nil
end

-- A setter parses its value with a state override on a copy of the record; a failure leaves
-- the URL as it was.
local function set_with_override(self, value, state, prepare)
  local copy = copy_record(self._url)
  if prepare then prepare(copy) end
  local result = basic_parse(to_string(value), nil, copy, state)
  if result then self._url = result end
  return result ~= nil
end

local function cannot_have_credentials_or_port(url)
  return url.host == nil or url.host == "" or url.scheme == "file"
end

URL:getter("href", function(self) return serialize(self._url) end)
URL:setter("href", function(self, value)
  local s = to_string(value)
  local record = basic_parse(s)
  if not record then error(errors.ERR_INVALID_URL(s), 2) end
  self._url = record
  self._searchParams._list = parse_form(record.query or "")
end)

URL:getter("origin", function(self)
  local url = self._url
  if url.scheme == "blob" then
    local inner = type(url.path) == "string" and basic_parse(url.path) or
      basic_parse(serialize_path(url))
    if inner and (inner.scheme == "http" or inner.scheme == "https") then
      return serialize({ scheme = inner.scheme, username = "", password = "", host = inner.host,
        port = inner.port, path = {} })
    end
    return "null"
  end
  if is_special(url.scheme) and url.scheme ~= "file" then
    return url.scheme .. "://" .. url.host .. (url.port and ":" .. url.port or "")
  end
  return "null"
end)

URL:getter("protocol", function(self) return self._url.scheme .. ":" end)
URL:setter("protocol", function(self, value)
  set_with_override(self, to_string(value) .. ":", "scheme start")
end)

URL:getter("username", function(self) return self._url.username end)
URL:setter("username", function(self, value)
  if cannot_have_credentials_or_port(self._url) then return end
  self._url.username = percent_encode(to_string(value), USERINFO_SET)
end)

URL:getter("password", function(self) return self._url.password end)
URL:setter("password", function(self, value)
  if cannot_have_credentials_or_port(self._url) then return end
  self._url.password = percent_encode(to_string(value), USERINFO_SET)
end)

URL:getter("host", function(self)
  local url = self._url
  if url.host == nil then return "" end
  if url.port == nil then return url.host end
  return url.host .. ":" .. url.port
end)
URL:setter("host", function(self, value)
  if type(self._url.path) == "string" then return end
  set_with_override(self, value, "host")
end)

URL:getter("hostname", function(self) return self._url.host or "" end)
URL:setter("hostname", function(self, value)
  if type(self._url.path) == "string" then return end
  set_with_override(self, value, "hostname")
end)

URL:getter("port", function(self)
  local port = self._url.port
  return port and tostring(port) or ""
end)
URL:setter("port", function(self, value)
  if cannot_have_credentials_or_port(self._url) then return end
  value = to_string(value)
  if value == "" then
    self._url.port = nil
  else
    set_with_override(self, value, "port")
  end
end)

URL:getter("pathname", function(self) return serialize_path(self._url) end)
URL:setter("pathname", function(self, value)
  if type(self._url.path) == "string" then return end
  set_with_override(self, value, "path start", function(copy) copy.path = {} end)
end)

URL:getter("search", function(self)
  local query = self._url.query
  if query == nil or query == "" then return "" end
  return "?" .. query
end)
URL:setter("search", function(self, value)
  value = to_string(value)
  if value == "" then
    self._url.query = nil
    self._searchParams._list = {}
    strip_opaque_path_spaces(self._url)
    return
  end
  if value:sub(1, 1) == "?" then value = value:sub(2) end
  set_with_override(self, value, "query", function(copy) copy.query = "" end)
  self._searchParams._list = parse_form(value)
end)

URL:getter("searchParams", function(self) return self._searchParams end)

URL:getter("hash", function(self)
  local fragment = self._url.fragment
  if fragment == nil or fragment == "" then return "" end
  return "#" .. fragment
end)
URL:setter("hash", function(self, value)
  value = to_string(value)
  if value == "" then
    self._url.fragment = nil
    strip_opaque_path_spaces(self._url)
    return
  end
  if value:sub(1, 1) == "#" then value = value:sub(2) end
  set_with_override(self, value, "fragment", function(copy) copy.fragment = "" end)
end)

--- url:toString() -> href (also tostring(url))
function URL:toString() return self.href end
--- url:toJSON() -> href
function URL:toJSON() return self.href end
URL.__tostring = URL.toString

local INSPECT_FIELDS = { "href", "origin", "protocol", "username", "password", "host", "hostname",
  "port", "pathname", "search", "searchParams", "hash" }

-- Rendered as Node renders a URL: every component, one per line.
function URL:__inspect(opts)
  local indent = string.rep(" ", (opts and opts.indent or 0) + 2)
  local out = {}
  for i, name in ipairs(INSPECT_FIELDS) do
    local value = self[name]
    out[i] = indent .. name .. " = " .. (type(value) == "string" and util.inspect(value) or
      value:__inspect())
  end
  return "URL {\n" .. concat(out, ",\n") .. "\n" .. indent:sub(3) .. "}"
end

return { URL = URL, URLSearchParams = URLSearchParams }
