-- Node's `util` for Lua values: format, inspect, isDeepStrictEqual, deprecate.
--
-- Rendering follows API.md ("Rendering"): nil prints `nil`, numbers print as JavaScript would,
-- tables print in Lua constructor syntax (sequence part first, then the other keys sorted), with
-- `<cycle>` for cycles and `{...}` past `depth`. Line breaking is a port of Node's
-- lib/internal/util/inspect.js (`reduceToSingleString`, `groupArrayElements`, compact = 3,
-- breakLength = 80), so long output wraps where Node's would.
--
-- A class may render itself by defining `__inspect(self, options)` returning a string (Node's
-- `util.inspect.custom`). inspect never raises: metamethods are only called under pcall and
-- tables are read with rawget/next, so a raising __index, __pairs or __tostring cannot break it.

local util = {}

local concat, rep, sort = table.concat, string.rep, table.sort
local format, byte = string.format, string.byte
local math_type, floor = math.type, math.floor

local KEYWORDS = {}
for word in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do
  KEYWORDS[word] = true
end

-- errors.lua requires this module at load time, so it is looked up lazily here.
local errors_module
local function is_error(v)
  errors_module = errors_module or require "lode.errors"
  return errors_module.is_error(v)
end

local function index(t, k) return t[k] end

-- t[k] through metamethods, or nil if they raise.
local function safe_index(t, k)
  local ok, v = pcall(index, t, k)
  if ok then return v end
  return nil
end

local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  return "<" .. type(v) .. ">"
end

-- Display width: code points for valid UTF-8, bytes otherwise.
local function width(s)
  return utf8.len(s) or #s
end

---------------------------------------------------------------------------------------------
-- Numbers, as JavaScript's Number.prototype.toString renders them
---------------------------------------------------------------------------------------------

local function js_number(n)
  if math_type(n) == "integer" then return format("%d", n) end
  if n ~= n then return "NaN" end
  if n == math.huge then return "Infinity" end
  if n == -math.huge then return "-Infinity" end
  if n == 0 then return 1 / n < 0 and "-0" or "0" end
  -- Shortest digits that read back as the same double: 14 significant digits are exact
  -- whenever 14 or fewer suffice (%e pads with zeros we strip), else try 15, 16, 17.
  local s
  for precision = 13, 16 do
    s = format("%." .. precision .. "e", n)
    if tonumber(s) == n then break end
  end
  local sign, int, frac, exp = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  local k = #digits
  local e = tonumber(exp) + 1 -- n == 0.<digits> * 10^e
  local out
  if k <= e and e <= 21 then
    out = digits .. rep("0", e - k)
  elseif 0 < e and e <= 21 then
    out = digits:sub(1, e) .. "." .. digits:sub(e + 1)
  elseif -6 < e and e <= 0 then
    out = "0." .. rep("0", -e) .. digits
  else
    local mantissa = k == 1 and digits or digits:sub(1, 1) .. "." .. digits:sub(2)
    out = mantissa .. "e" .. (e - 1 >= 0 and "+" or "-") .. math.abs(e - 1)
  end
  return sign .. out
end

---------------------------------------------------------------------------------------------
-- Strings
---------------------------------------------------------------------------------------------

local ESCAPES = {
  ["\b"] = "\\b", ["\t"] = "\\t", ["\n"] = "\\n", ["\f"] = "\\f", ["\r"] = "\\r",
  ["\\"] = "\\\\", ["'"] = "\\'",
}

local function escape_byte(c)
  return ESCAPES[c] or format("\\x%02X", byte(c))
end

-- Node's strEscape: single quotes unless the string holds one; then double quotes, then
-- backticks; control characters as \n or \xNN. Bytes that are not UTF-8 are shown as \xNN.
local function quote(s)
  local q = "'"
  if s:find("'", 1, true) then
    if not s:find('"', 1, true) then
      q = '"'
    elseif not s:find("`", 1, true) and not s:find("${", 1, true) then
      q = "`"
    end
  end
  s = s:gsub(q == "'" and "[%c'\\]" or "[%c\\]", escape_byte)
  if utf8.len(s) then
    -- C1 controls (U+0080..U+009F) are escaped as Node does.
    s = s:gsub("\194([\128-\159])", escape_byte)
  else
    s = s:gsub("[\128-\255]", escape_byte)
  end
  return q .. s .. q
end

local function json_quote(s)
  return '"' .. s:gsub('[\0-\31"\\]', function(c)
    local short = ESCAPES[c]
    if short and c ~= "'" then return short end
    if c == '"' then return '\\"' end
    return format("\\u%04x", byte(c))
  end) .. '"'
end

---------------------------------------------------------------------------------------------
-- Functions: standard library functions by name, Lua functions by where they were defined
---------------------------------------------------------------------------------------------

local known_functions
local function function_label(f)
  if not known_functions then
    known_functions = {}
    for name, v in pairs(_G) do
      if type(v) == "function" then
        known_functions[v] = name
      end
    end
    for _, lib in ipairs({ "string", "table", "math", "io", "os", "coroutine", "utf8", "debug" }) do
      local t = rawget(_G, lib)
      if type(t) == "table" then
        for name, v in pairs(t) do
          if type(v) == "function" and not known_functions[v] then
            known_functions[v] = lib .. "." .. name
          end
        end
      end
    end
  end
  local name = known_functions[f]
  if name then return "[Function: " .. name .. "]" end
  local info = debug.getinfo(f, "S")
  if info and info.what ~= "C" then
    return format("[Function (%s:%d)]", info.short_src, info.linedefined)
  end
  return "[Function (anonymous)]"
end

---------------------------------------------------------------------------------------------
-- inspect
---------------------------------------------------------------------------------------------

-- The class name of an instance of a lode class (lode.class sets __name, new and __index).
local function class_name(mt)
  if type(mt) ~= "table" then return nil end
  local name = rawget(mt, "__name")
  if type(name) == "string" and rawget(mt, "new") ~= nil and rawget(mt, "__index") ~= nil then
    return name
  end
  return nil
end

local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }

-- Keys of different types sort numbers, strings, booleans, then everything else.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then
    return (TYPE_ORDER[ta] or 4) < (TYPE_ORDER[tb] or 4) or
      ((TYPE_ORDER[ta] or 4) == (TYPE_ORDER[tb] or 4) and ta < tb)
  end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return not a and b end
  return safe_tostring(a) < safe_tostring(b)
end

local format_value

local function format_child(ctx, v, level)
  ctx.indent = ctx.indent + 2
  local s = format_value(ctx, v, level)
  ctx.indent = ctx.indent - 2
  return s
end

local function format_key(ctx, k, level)
  if type(k) == "string" then
    if k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
    return "[" .. quote(k) .. "]"
  end
  return "[" .. format_child(ctx, k, level) .. "]"
end

local function is_below_break_length(ctx, output, start, base)
  local total = #output + start
  if total + #output > ctx.breakLength then return false end
  for i = 1, #output do
    total = total + width(output[i])
    if total > ctx.breakLength then return false end
  end
  return base == "" or not base:find("\n", 1, true)
end

-- Node's groupArrayElements: long sequences of short entries are laid out in columns.
local function group_array_elements(ctx, output, value, has_more)
  local total, max_length = 0, 0
  local output_length = #output
  if has_more then output_length = output_length - 1 end
  local separator_space = 2 -- ", "
  local data_len = {}
  for i = 1, output_length do
    local len = width(output[i])
    data_len[i] = len
    total = total + len + separator_space
    if max_length < len then max_length = len end
  end
  local actual_max = max_length + separator_space
  if actual_max * 3 + ctx.indent < ctx.breakLength and
      (total / actual_max > 5 or max_length <= 6) then
    local average_bias = math.sqrt(actual_max - total / #output)
    local biased_max = math.max(actual_max - 3 - average_bias, 1)
    local columns = math.min(
      floor(math.sqrt(2.5 * biased_max * output_length) / biased_max + 0.5),
      floor((ctx.breakLength - ctx.indent) / actual_max),
      ctx.compact * 4,
      15)
    if columns <= 1 then return output end
    local max_line_length = {}
    for i = 1, columns do
      local line_max = 0
      for j = i, output_length, columns do
        if data_len[j] > line_max then line_max = data_len[j] end
      end
      max_line_length[i] = line_max + separator_space
    end
    -- Numbers are right-aligned, anything else left-aligned.
    local pad_start = true
    for i = 1, #output do
      if type(rawget(value, i)) ~= "number" then pad_start = false break end
    end
    local grouped = {}
    for i = 1, output_length, columns do
      local last = math.min(i + columns - 1, output_length)
      local parts = {}
      for j = i, last do
        local cell = j < last and output[j] .. ", " or output[j]
        local pad = max_line_length[j - i + 1] - data_len[j] - (j < last and 0 or separator_space)
        if pad_start then
          parts[#parts + 1] = rep(" ", pad - (j < last and separator_space or 0)) .. cell
        elseif j < last then
          parts[#parts + 1] = cell .. rep(" ", pad - separator_space)
        else
          parts[#parts + 1] = cell
        end
      end
      grouped[#grouped + 1] = concat(parts)
    end
    if has_more then grouped[#grouped + 1] = output[#output] end
    return grouped
  end
  return output
end

local function reduce_to_single_string(ctx, output, base, open, close, is_array, level, value, has_more)
  local entries = #output
  if is_array and entries > 6 then
    output = group_array_elements(ctx, output, value, has_more)
  end
  local prefix = base ~= "" and base .. " " or ""
  if ctx.current_depth - level < ctx.compact and entries == #output then
    local start = #output + ctx.indent + #open + #base + 10
    if is_below_break_length(ctx, output, start, base) then
      local joined = concat(output, ", ")
      if not joined:find("\n", 1, true) then
        return prefix .. open .. " " .. joined .. " " .. close
      end
    end
  end
  local indentation = "\n" .. rep(" ", ctx.indent)
  return prefix .. open .. indentation .. "  " .. concat(output, "," .. indentation .. "  ") ..
    indentation .. close
end

-- The fields of a table: the sequence part, then `key = value` for the other keys, sorted.
-- `skip` names keys left out (an error's message and stack are already in its header).
local function format_entries(ctx, t, level, skip)
  local output = {}
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local shown = math.min(n, ctx.maxArrayLength)
  for i = 1, shown do
    output[i] = format_child(ctx, rawget(t, i), level)
  end
  local has_more = n > shown
  if has_more then
    output[#output + 1] = format("... %d more item%s", n - shown, n - shown > 1 and "s" or "")
  end
  local keys = {}
  for k in next, t do
    if not (math_type(k) == "integer" and k >= 1 and k <= n) and not (skip and skip[k]) then
      keys[#keys + 1] = k
    end
  end
  sort(keys, key_less)
  for _, k in ipairs(keys) do
    output[#output + 1] = format_key(ctx, k, level) .. " = " .. format_child(ctx, rawget(t, k), level)
  end
  return output, n > 0, has_more
end

local ERROR_HEADER_FIELDS = { message = true, stack = true, name = true }

local function format_table(ctx, t, level)
  local mt = getmetatable(t)
  if mt ~= nil then
    if is_error(t) then
      if level > 0 then return "[" .. safe_tostring(t) .. "]" end
      local stack = safe_index(t, "stack")
      local base = type(stack) == "string" and stack or "[" .. safe_tostring(t) .. "]"
      if ctx.seen[t] then return "<cycle>" end
      ctx.seen[t] = true
      ctx.current_depth = level + 1
      local output = format_entries(ctx, t, level + 1, ERROR_HEADER_FIELDS)
      ctx.seen[t] = nil
      if #output == 0 then return base end
      return reduce_to_single_string(ctx, output, base, "{", "}", false, level + 1, t, false)
    end
    local custom = type(mt) == "table" and safe_index(mt, "__inspect")
    if type(custom) == "function" then
      local ok, s = pcall(custom, t, { depth = ctx.depth - level, indent = ctx.indent })
      if ok and type(s) == "string" then return s end
    end
  end
  local name = class_name(mt)
  if not name and type(mt) == "table" and safe_index(mt, "__tostring") then
    return safe_tostring(t)
  end
  local open = name and name .. " {" or "{"
  if next(t) == nil then return open .. "}" end
  if ctx.seen[t] then return "<cycle>" end
  if level > ctx.depth then return open .. "...}" end
  level = level + 1
  ctx.seen[t] = true
  ctx.current_depth = level
  local output, is_array, has_more = format_entries(ctx, t, level)
  ctx.seen[t] = nil
  return reduce_to_single_string(ctx, output, "", open, "}", is_array, level, t, has_more)
end

function format_value(ctx, v, level)
  local t = type(v)
  if t == "string" then
    if #v > ctx.maxStringLength then
      local cut = ctx.maxStringLength
      -- Do not cut a UTF-8 sequence in two.
      while cut > 0 and (byte(v, cut + 1) or 0) >= 0x80 and (byte(v, cut + 1) or 0) < 0xC0 do
        cut = cut - 1
      end
      local more = #v - cut
      return quote(v:sub(1, cut)) .. format("... %d more character%s", more, more > 1 and "s" or "")
    end
    return quote(v)
  elseif t == "number" then
    return js_number(v)
  elseif t == "table" then
    return format_table(ctx, v, level)
  elseif t == "function" then
    return function_label(v)
  elseif t == "nil" or t == "boolean" then
    return tostring(v)
  end
  return safe_tostring(v) -- userdata (its __tostring or __name), thread
end

local function new_context(opts)
  opts = type(opts) == "table" and opts or {}
  return {
    depth = type(opts.depth) == "number" and opts.depth or 2,
    breakLength = type(opts.breakLength) == "number" and opts.breakLength or 80,
    compact = type(opts.compact) == "number" and opts.compact or 3,
    maxArrayLength = type(opts.maxArrayLength) == "number" and opts.maxArrayLength or 100,
    maxStringLength = type(opts.maxStringLength) == "number" and opts.maxStringLength or 10000,
    seen = {},
    indent = 0,
    current_depth = 0,
  }
end

--- util.inspect(value[, options]) -> string
-- options: depth (2; math.huge for no limit), breakLength (80), compact (3),
-- maxArrayLength (100), maxStringLength (10000).
function util.inspect(v, opts)
  local ctx = new_context(opts)
  local ok, s = pcall(format_value, ctx, v, 0)
  if ok then return s end
  -- Only a pathological value gets here (e.g. nesting deep enough to overflow the C stack).
  return "<inspect failed: " .. (type(s) == "string" and s or type(s)) .. ">"
end

---------------------------------------------------------------------------------------------
-- format
---------------------------------------------------------------------------------------------

-- JavaScript's Number(v), for %d.
local function to_number(v)
  local t = type(v)
  if t == "number" then return v end
  if t == "boolean" then return v and 1 or 0 end
  if t == "string" then
    local s = v:match("^%s*(.-)%s*$")
    if s == "" then return 0 end
    if s == "Infinity" or s == "+Infinity" then return math.huge end
    if s == "-Infinity" then return -math.huge end
    -- JavaScript has no hex floats and no sign before 0x; Lua's tonumber accepts both.
    if s:find("^[-+]?0[xX]") and not s:find("^0[xX]%x+$") then return 0 / 0 end
    return tonumber(s) or 0 / 0
  end
  return 0 / 0
end

-- String(v) as parseInt/parseFloat see it.
local function to_js_string(v)
  if type(v) == "number" then return js_number(v) end
  if type(v) == "string" then return v end
  return util.inspect(v)
end

local function parse_int(v)
  local s = to_js_string(v)
  local sign, hex = s:match("^%s*([-+]?)0[xX](%x+)")
  if hex then
    local n = tonumber(hex, 16)
    return sign == "-" and -n or n
  end
  local digits = s:match("^%s*([-+]?%d+)")
  if not digits then return 0 / 0 end
  return math.tointeger(tonumber(digits)) or tonumber(digits)
end

local function parse_float(v)
  local s = to_js_string(v)
  local rest = s:match("^%s*(.*)$")
  local sign, inf = rest:match("^([-+]?)Infinity")
  if inf then return sign == "-" and -math.huge or math.huge end
  local num = rest:match("^[-+]?%d+%.?%d*[eE][-+]?%d+") or rest:match("^[-+]?%.%d+[eE][-+]?%d+") or
    rest:match("^[-+]?%d+%.?%d*") or rest:match("^[-+]?%.%d+")
  return num and tonumber(num) or 0 / 0
end

-- JSON.stringify for %j: sequences become arrays, other tables objects (keys sorted), values
-- with a toJSON method are replaced by its result. Raises "circular" on a cycle.
local function json(v, seen, in_array)
  local t = type(v)
  if t == "string" then return json_quote(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    local s = js_number(v)
    return s == "-0" and "0" or s
  end
  if t == "boolean" then return tostring(v) end
  if t == "table" then
    local to_json = safe_index(v, "toJSON")
    if type(to_json) == "function" then return json(to_json(v), seen, in_array) end
    if seen[v] then error("circular", 0) end
    seen[v] = true
    local n = 0
    while rawget(v, n + 1) ~= nil do n = n + 1 end
    local keys = {}
    for k in next, v do
      if not (math_type(k) == "integer" and k >= 1 and k <= n) and
          (type(k) == "string" or type(k) == "number") then
        keys[#keys + 1] = k
      end
    end
    local out
    if n > 0 and #keys == 0 then
      local items = {}
      for i = 1, n do items[i] = json(rawget(v, i), seen, true) end
      out = "[" .. concat(items, ",") .. "]"
    else
      for i = n, 1, -1 do table.insert(keys, 1, i) end
      sort(keys, key_less)
      local items = {}
      for _, k in ipairs(keys) do
        local item = json(rawget(v, k), seen, false)
        if item ~= nil then
          items[#items + 1] = json_quote(type(k) == "number" and js_number(k) or k) .. ":" .. item
        end
      end
      out = "{" .. concat(items, ",") .. "}"
    end
    seen[v] = nil
    return out
  end
  -- nil, functions, userdata: JSON has no value for them.
  if in_array then return "null" end
  return nil
end

local function try_stringify(v)
  local ok, s = pcall(json, v, {}, false)
  if ok then return s or "undefined" end
  if s == "circular" then return "[Circular]" end
  error(s, 0)
end

-- %s: strings as they are, numbers as JavaScript prints them, objects with their own
-- __tostring through it, other tables inspected one level deep.
local function format_s(v, opts)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return js_number(v) end
  if t == "table" then
    local mt = getmetatable(v)
    if type(mt) == "table" and not is_error(v) and safe_index(mt, "__tostring") then
      return safe_tostring(v)
    end
    local o = {}
    for k, val in pairs(type(opts) == "table" and opts or {}) do o[k] = val end
    o.depth = 0
    return util.inspect(v, o)
  end
  if t == "function" then return util.inspect(v) end
  return safe_tostring(v)
end

local function format_with_options(opts, ...)
  local nargs = select("#", ...)
  local first = ...
  local a = 1 -- index of the last argument consumed
  local out, join = {}, ""

  if type(first) == "string" then
    if nargs == 1 then return first end
    local args = { ... }
    local last_pos = 1
    local i = 1
    local len = #first
    while i < len do
      if byte(first, i) == 37 then -- '%'
        local c = first:sub(i + 1, i + 1)
        i = i + 1
        if a < nargs then
          local s
          if c == "s" then
            a = a + 1; s = format_s(args[a], opts)
          elseif c == "j" then
            a = a + 1; s = try_stringify(args[a])
          elseif c == "d" then
            a = a + 1; s = js_number(to_number(args[a]))
          elseif c == "O" then
            a = a + 1; s = util.inspect(args[a], opts)
          elseif c == "o" then
            local o = {}
            for k, val in pairs(type(opts) == "table" and opts or {}) do o[k] = val end
            o.depth = 4
            a = a + 1; s = util.inspect(args[a], o)
          elseif c == "i" then
            a = a + 1; s = js_number(parse_int(args[a]))
          elseif c == "f" then
            a = a + 1; s = js_number(parse_float(args[a]))
          elseif c == "c" then
            a = a + 1; s = "" -- CSS, meaningless outside a browser
          elseif c == "%" then
            out[#out + 1] = first:sub(last_pos, i - 1)
            last_pos = i + 1
          end
          if s then
            out[#out + 1] = first:sub(last_pos, i - 2)
            out[#out + 1] = s
            last_pos = i + 1
          end
        elseif c == "%" then
          out[#out + 1] = first:sub(last_pos, i - 1)
          last_pos = i + 1
        end
      end
      i = i + 1
    end
    if last_pos ~= 1 then
      a = a + 1
      join = " "
      out[#out + 1] = first:sub(last_pos)
    else
      a = 1
    end
  end

  for k = a, nargs do
    local v = select(k, ...)
    out[#out + 1] = join
    out[#out + 1] = type(v) == "string" and v or util.inspect(v, opts)
    join = " "
  end
  return concat(out)
end

--- util.format(fmt, ...) -> string, Node's printf-like formatting (%s %d %i %f %j %o %O %c %%).
function util.format(...)
  return format_with_options(nil, ...)
end

--- util.formatWithOptions(inspectOptions, fmt, ...) -> string
function util.formatWithOptions(opts, ...)
  return format_with_options(opts, ...)
end

---------------------------------------------------------------------------------------------
-- isDeepStrictEqual
---------------------------------------------------------------------------------------------

-- Object.is: NaN equals itself, 0 and -0 differ.
local function same_value(a, b)
  if a ~= a then return b ~= b end
  if a == 0 and b == 0 and type(a) == "number" and type(b) == "number" then
    return 1 / a == 1 / b
  end
  return a == b
end

local function deep_equal(a, b, memo)
  if type(a) ~= "table" or type(b) ~= "table" then
    return type(a) == type(b) and same_value(a, b)
  end
  if rawequal(a, b) then return true end
  if getmetatable(a) ~= getmetatable(b) then return false end
  -- A pair already being compared is assumed equal (the comparison of cycles terminates).
  memo[a] = memo[a] or {}
  if memo[a][b] then return true end
  memo[a][b] = true
  -- Two errors are equal whatever their stack traces, as in Node.
  local skip_stack = is_error(a)
  for k, va in next, a do
    if not (skip_stack and k == "stack") then
      local vb = rawget(b, k)
      if vb == nil or not deep_equal(va, vb, memo) then return false end
    end
  end
  for k in next, b do
    if rawget(a, k) == nil and not (skip_stack and k == "stack") then return false end
  end
  return true
end

--- util.isDeepStrictEqual(a, b) -> boolean
-- Tables are equal when they have the same metatable and deep-equal raw fields (keys compared
-- by identity); other values compare as JavaScript's Object.is.
function util.isDeepStrictEqual(a, b)
  return deep_equal(a, b, {})
end

---------------------------------------------------------------------------------------------
-- deprecate
---------------------------------------------------------------------------------------------

-- Warnings go through process.emitWarning when the process module is there (it prints them
-- and emits 'warning'); plain Lua without it gets the line Node would print.
-- `warning` is a message or an Error object (whose name is the kind, as in Node).
local function emit_warning(warning, kind, code)
  local ok, process = pcall(require, "lode.process")
  if ok and type(process) == "table" and type(process.emitWarning) == "function" then
    process.emitWarning(warning, kind, code)
  else
    local message = warning
    if type(warning) == "table" then
      kind, message = safe_index(warning, "name"), safe_index(warning, "message")
    end
    io.stderr:write(format("(lode) %s%s: %s\n", code and "[" .. tostring(code) .. "] " or "",
      tostring(kind or "Warning"), tostring(message)))
  end
end
util._emit_warning = emit_warning -- shared with lode.events (MaxListenersExceededWarning)

local warned_codes = {}

--- util.deprecate(fn, msg[, code]) -> function
-- The returned function warns once ('DeprecationWarning'; once per code when a code is given)
-- and then calls fn.
function util.deprecate(fn, msg, code)
  if type(fn) ~= "function" then
    error(require("lode.errors").ERR_INVALID_ARG_TYPE("fn", "function", fn), 2)
  end
  local warned = false
  return function(...)
    if not warned then
      warned = true
      if code == nil or not warned_codes[code] then
        if code ~= nil then warned_codes[code] = true end
        emit_warning(msg, "DeprecationWarning", code)
      end
    end
    return fn(...)
  end
end

return util
