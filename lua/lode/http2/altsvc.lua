-- ALTSVC (RFC 7838): ServerHttp2Session:altsvc(alt, originOrStream) with Node's validation, and
-- the client's 'altsvc' event (alt, origin, streamId).
local errors = require "lode.errors"

local M = {}

local MAX_ALTSVC = 16382

-- The origin of a URL string ("null" when it has none, as WHATWG's URL says).
local function url_origin(s)
  local ok, u = pcall(function() return require("lode.url").URL.new(s) end)
  if not ok or u == nil then error(errors.ERR_INVALID_URL(s), 4) end
  return u.origin
end

-- Node's kQuotedString: HTAB, SP-[ and ]-~ and obs-text.
local function valid_alt(alt)
  return not alt:find("[\0-\8\10-\31\\\127]")
end

function M.altsvc(session, alt, origin_or_stream)
  if session.destroyed then error(errors.ERR_HTTP2_INVALID_SESSION(), 3) end
  local stream, origin = 0, nil
  local t = type(origin_or_stream)
  if t == "string" then
    origin = url_origin(origin_or_stream)
    if origin == "null" then error(errors.ERR_HTTP2_ALTSVC_INVALID_ORIGIN(), 3) end
  elseif t == "number" then
    if math.type(origin_or_stream) ~= "integer" and origin_or_stream ~= math.floor(origin_or_stream)
        or origin_or_stream <= 0 or origin_or_stream >= 2 ^ 32 then
      error(errors.ERR_OUT_OF_RANGE("originOrStream", "> 0 && < 4294967296", origin_or_stream), 3)
    end
    stream = math.tointeger(origin_or_stream)
  elseif origin_or_stream ~= nil then
    if t == "table" then origin = origin_or_stream.origin end
    if type(origin) ~= "string" then
      error(errors.ERR_INVALID_ARG_TYPE("originOrStream", { "string", "number", "URL", "object" },
        origin_or_stream), 3)
    elseif origin == "null" or #origin == 0 then
      error(errors.ERR_HTTP2_ALTSVC_INVALID_ORIGIN(), 3)
    end
  end
  if type(alt) ~= "string" then error(errors.ERR_INVALID_ARG_TYPE("alt", "string", alt), 3) end
  if not valid_alt(alt) then error(errors.ERR_INVALID_CHAR("alt"), 3) end
  if #alt + (origin and #origin or 0) > MAX_ALTSVC then error(errors.ERR_HTTP2_ALTSVC_LENGTH(), 3) end
  session._box:altsvc(stream, origin or "", alt)
end

return M
