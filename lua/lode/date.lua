-- A small JavaScript Date: a UTC instant in milliseconds, formatted as JS formats it.
--
--   local Date = require "lode.date"
--   local d = Date.new(1779294449000)   -- or Date(ms); Date.new() is now
--   d:getTime()          --> 1779294449000
--   d:toUTCString()      --> "Wed, 20 May 2026 16:27:29 GMT"   (the HTTP date format)
--   d:toISOString()      --> "2026-05-20T16:27:29.000Z"
--   tostring(d)          --> the ISO form, which is how Node's console.log shows a Date
--
-- Dates compare with ==, < and <= by their instant. The calendar is the proleptic Gregorian
-- one JS uses, computed here (no os.date), so any instant formats the same on every platform.
local Object = require "lode.class"

local floor, format = math.floor, string.format

local Date = Object:extend("Date")

-- JS's TimeClip: whole milliseconds (towards zero), NaN beyond +-8.64e15 ms.
local MAX_MS = 8.64e15

local function time_clip(ms)
  if type(ms) ~= "number" or ms ~= ms or ms > MAX_MS or ms < -MAX_MS then return 0 / 0 end
  local whole = ms >= 0 and floor(ms) or -floor(-ms)
  return math.tointeger(whole) or whole
end

-- Date.new([ms]): the instant ms milliseconds after the epoch; now when ms is nil.
function Date:constructor(ms)
  if ms == nil then ms = Date.now() end
  self._ms = time_clip(ms)
end

-- Milliseconds since the epoch, whole seconds precision (Lua's clock).
function Date.now()
  return os.time() * 1000
end

local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }
local MS_PER_DAY = 86400000

-- Year, month (1-12) and day of days since 1970-01-01 (Howard Hinnant's civil_from_days).
local function civil_from_days(days)
  local z = days + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- The UTC fields of the date: year, month, day, hours, minutes, seconds, ms, weekday (0 = Sun).
local function fields(self)
  local ms = math.tointeger(self._ms)
  local days, rem = ms // MS_PER_DAY, ms % MS_PER_DAY
  local y, m, d = civil_from_days(days)
  return y, m, d, rem // 3600000, rem // 60000 % 60, rem // 1000 % 60, rem % 1000, (days + 4) % 7
end

local function is_valid(self) return self._ms == self._ms end

function Date:getTime() return self._ms end
Date.valueOf = Date.getTime

-- "Wed, 20 May 2026 16:27:29 GMT"; "Invalid Date" for NaN, as JS.
function Date:toUTCString()
  if not is_valid(self) then return "Invalid Date" end
  local y, m, d, hh, mm, ss, _, wd = fields(self)
  local year = y >= 0 and format("%04d", y) or format("-%04d", -y)
  return format("%s, %02d %s %s %02d:%02d:%02d GMT", DAYS[wd + 1], d, MONTHS[m], year, hh, mm, ss)
end
Date.toGMTString = Date.toUTCString

-- "2026-05-20T16:27:29.000Z"; years outside 0..9999 in the expanded +-YYYYYY form, as JS.
function Date:toISOString()
  if not is_valid(self) then
    error(require("lode.errors").RangeError("Invalid time value"), 2)
  end
  local y, m, d, hh, mm, ss, ms = fields(self)
  local year
  if y >= 0 and y <= 9999 then
    year = format("%04d", y)
  else
    year = format("%s%06d", y < 0 and "-" or "+", y < 0 and -y or y)
  end
  return format("%s-%02d-%02dT%02d:%02d:%02d.%03dZ", year, m, d, hh, mm, ss, ms)
end

function Date:toJSON()
  if not is_valid(self) then return nil end
  return self:toISOString()
end

function Date:getUTCFullYear() local y = fields(self); return y end
function Date:getUTCMonth() local _, m = fields(self); return m - 1 end
function Date:getUTCDate() local _, _, d = fields(self); return d end
function Date:getUTCDay() return (select(8, fields(self))) end
function Date:getUTCHours() return (select(4, fields(self))) end
function Date:getUTCMinutes() return (select(5, fields(self))) end
function Date:getUTCSeconds() return (select(6, fields(self))) end
function Date:getUTCMilliseconds() return (select(7, fields(self))) end

function Date.__tostring(self)
  if not is_valid(self) then return "Invalid Date" end
  return self:toISOString()
end

function Date.__eq(a, b) return a._ms == b._ms end
function Date.__lt(a, b) return a._ms < b._ms end
function Date.__le(a, b) return a._ms <= b._ms end

return Date
