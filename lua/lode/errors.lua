-- Node's lib/internal/errors.js for Lua: the error classes and every error code lode raises.
--
--   local errors = require "lode.errors"
--   error(errors.ERR_INVALID_ARG_TYPE("name", "string", value), 2)   -- Node: throw new ERR_...(...)
--   errors.ERR_INVALID_ARG_VALUE.RangeError("name", value)            -- Node: new ERR_...RangeError(...)
--   local err = errors.uv("ENOENT", "open", "x")                     -- a libuv system error
--
-- Each code is declared once with E(code, message, Base[, OtherBase...]) as in Node: the message
-- is a util.format template ('Invalid status code: %s') or a function(self, ...) returning the
-- message (it may also set fields on the error, e.g. `actual`). Texts are Node 20's, with values
-- rendered as lode renders Lua values (`Received type number (5)`, `Received nil`).
--
-- Errors are tables: `name`, `message`, `code` (nil for a plain Error), `stack` (the message
-- and a Lua traceback, built on first read like V8's), `tostring(err)` is Node's
-- `TypeError [ERR_X]: message` for coded errors and `Error: message` otherwise.

local Object = require "lode.class"
local util = require "lode.util"

local errors = {}

local format, concat = string.format, table.concat

---------------------------------------------------------------------------------------------
-- Stack traces
---------------------------------------------------------------------------------------------

-- Frames inside this file and class.lua are the error machinery, not where the error happened
-- (Node's hideStackFrames), so the trace starts at the first frame outside them.
local THIS_SOURCE = debug.getinfo(1, "S").source
local CLASS_SOURCE = debug.getinfo(Object.extend, "S").source

-- The traceback of each error, kept aside so that it is no visible field of the error.
local traces = setmetatable({}, { __mode = "k" })

local function capture_trace(err)
  local level = 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then level = 2 break end
    if info.source ~= THIS_SOURCE and info.source ~= CLASS_SOURCE then break end
    level = level + 1
  end
  traces[err] = debug.traceback(nil, level)
end

---------------------------------------------------------------------------------------------
-- The classes
---------------------------------------------------------------------------------------------

-- Node's Error.prototype.toString.
local function error_tostring(err)
  local name = err.name == nil and "Error" or tostring(err.name)
  local msg = err.message == nil and "" or tostring(err.message)
  if name == "" then return msg end
  if msg == "" then return name end
  return name .. ": " .. msg
end

-- The toString of Node's own errors (kIsNodeError): the code in brackets.
local function node_error_tostring(err)
  return format("%s [%s]: %s", tostring(err.name), tostring(err.code), tostring(err.message))
end

local Error = Object:extend("Error")
Error.name = "Error"
Error.__tostring = error_tostring

-- The stack is formatted when first read, so a name or message set by a subclass constructor
-- shows in it (V8 does the same); after that it is an ordinary field.
Error:getter("stack", function(self)
  local trace = traces[self]
  local stack = tostring(self) .. (trace and "\n" .. trace or "")
  rawset(self, "stack", stack)
  return stack
end)
Error:setter("stack", function(self, v) rawset(self, "stack", v) end)

local function js_string(v)
  if type(v) == "string" then return v end
  return util.format("%s", v)
end

--- Error.new([message[, options]]) / Error([message[, options]])
-- options.cause becomes `cause`, as in Node.
function Error:constructor(message, options)
  self.message = message == nil and "" or js_string(message)
  if type(options) == "table" and options.cause ~= nil then
    self.cause = options.cause
  end
  capture_trace(self)
end

local TypeError = Error:extend("TypeError")
TypeError.name = "TypeError"
local RangeError = Error:extend("RangeError")
RangeError.name = "RangeError"
local SyntaxError = Error:extend("SyntaxError")
SyntaxError.name = "SyntaxError"
local URIError = Error:extend("URIError")
URIError.name = "URIError"

errors.Error = Error
errors.TypeError = TypeError
errors.RangeError = RangeError
errors.SyntaxError = SyntaxError
errors.URIError = URIError

--- errors.is_error(v) -> boolean: v is an Error (or subclass) instance.
function errors.is_error(v)
  return type(v) == "table" and Object.instanceof(v, Error)
end

---------------------------------------------------------------------------------------------
-- Rendering values inside messages (Node's determineSpecificType, formatList)
---------------------------------------------------------------------------------------------

local function truncate(s, max, keep)
  if (utf8.len(s) or #s) <= max then return s end
  local cut = utf8.len(s) and utf8.offset(s, keep + 1) - 1 or keep
  return s:sub(1, cut) .. "..."
end

-- How a value is described after "Received": `nil`, `type number (5)`,
-- `type string ('abc')`, `an instance of Foo` (a class instance), `type table ({...})`.
local function determine_specific_type(value)
  local t = type(value)
  if t == "nil" then return "nil" end
  if t == "number" or t == "boolean" then
    return format("type %s (%s)", t, util.inspect(value))
  end
  if t == "string" then
    value = truncate(value, 28, 25)
    if not value:find("'", 1, true) then return format("type string ('%s')", value) end
    return format("type string (%s)", util.format("%j", value))
  end
  if t == "function" then
    return "function " .. util.inspect(value):match("^%[Function:? ?(.-)%]$")
  end
  local mt = getmetatable(value)
  local name = type(mt) == "table" and rawget(mt, "__name")
  if type(name) == "string" then return "an instance of " .. name end
  if t == "table" then
    return format("type table (%s)", util.inspect(value, { depth = -1 }))
  end
  return format("type %s (%s)", t, truncate(util.inspect(value), 28, 25))
end
errors.determine_specific_type = determine_specific_type

local function format_list(list, word)
  word = word or "and"
  local n = #list
  if n == 0 then return "" end
  if n == 1 then return tostring(list[1]) end
  if n == 2 then return format("%s %s %s", list[1], word, list[2]) end
  return concat(list, ", ", 1, n - 1) .. ", " .. word .. " " .. list[n]
end
errors.format_list = format_list

---------------------------------------------------------------------------------------------
-- E(): declaring codes
---------------------------------------------------------------------------------------------

local function placeholder_count(template)
  local n = 0
  for _ in template:gmatch("%%[dfijoOs]") do n = n + 1 end
  return n
end

-- A coded error of class Base renders as Node's own errors do; one subclass per base class.
local coded_classes = {}
local function coded_class(Base)
  local cls = coded_classes[Base]
  if not cls then
    cls = Base:extend(Base.__name)
    cls.__tostring = node_error_tostring
    coded_classes[Base] = cls
  end
  return cls
end

local function make_factory(code, message, Base)
  local cls = coded_class(Base)
  if type(message) == "function" then
    return function(...)
      local err = setmetatable({}, cls)
      err.message = message(err, ...)
      err.code = code
      capture_trace(err)
      return err
    end
  end
  local expected = placeholder_count(message)
  return function(...)
    local n = select("#", ...)
    if n ~= expected then
      -- A programming error in lode itself, reported the way Node's assert() does.
      error(errors.ERR_INTERNAL_ASSERTION(format(
        "Code: %s; The provided arguments length (%d) does not match the required ones (%d).",
        code, n, expected)), 2)
    end
    local err = setmetatable({}, cls)
    err.message = n == 0 and message or util.format(message, ...)
    err.code = code
    capture_trace(err)
    return err
  end
end

local factory_mt = { __call = function(self, ...) return self.create(...) end }

--- errors.E(code, message, Base[, OtherBase...])
-- Declares errors[code]: calling it returns a new Base error; errors[code].OtherName(...)
-- returns one of OtherBase (Node's `new codes.ERR_X.RangeError(...)`).
function errors.E(code, message, Base, ...)
  assert(type(code) == "string" and errors[code] == nil, "error code declared twice")
  local entry = setmetatable({ code = code, create = make_factory(code, message, Base) }, factory_mt)
  for i = 1, select("#", ...) do
    local Other = select(i, ...)
    entry[Other.name] = make_factory(code, message, Other)
  end
  errors[code] = entry
  return entry
end
local E = errors.E

---------------------------------------------------------------------------------------------
-- The codes (alphabetical, as in Node's errors.js)
---------------------------------------------------------------------------------------------

-- Types that ERR_INVALID_ARG_TYPE lists as "of type x": Node's, plus Lua's own.
local TYPE_NAMES = {}
for _, t in ipairs({ "string", "function", "number", "object", "Function", "Object", "boolean",
  "bigint", "symbol", "table", "userdata", "thread", "integer" }) do
  TYPE_NAMES[t] = true
end

E("ERR_ARG_NOT_ITERABLE", "%s must be iterable", TypeError)
E("ERR_ASSERTION", "%s", Error)
E("ERR_CHILD_PROCESS_IPC_REQUIRED",
  "Forked processes must have an IPC channel, missing value 'ipc' in %s", Error)
E("ERR_CHILD_PROCESS_STDIO_MAXBUFFER", "%s maxBuffer length exceeded", RangeError)
E("ERR_FS_FILE_TOO_LARGE", "File size (%s) is greater than 2 GiB", RangeError)
E("ERR_HTTP2_ALTSVC_INVALID_ORIGIN", "HTTP/2 ALTSVC frames require a valid origin", TypeError)
E("ERR_HTTP2_ALTSVC_LENGTH", "HTTP/2 ALTSVC frames are limited to 16382 bytes", TypeError)
E("ERR_HTTP2_CONNECT_AUTHORITY", ":authority header is required for CONNECT requests", Error)
E("ERR_HTTP2_CONNECT_PATH", "The :path header is forbidden for CONNECT requests", Error)
E("ERR_HTTP2_CONNECT_SCHEME", "The :scheme header is forbidden for CONNECT requests", Error)
-- Node's NghttpError: an nghttp2 failure, `errno` the library's (negative) code.
E("ERR_HTTP2_ERROR", function(self, errno, message)
  self.errno = errno
  return message or errors.nghttp2_strerror(errno)
end, Error)
E("ERR_HTTP2_GOAWAY_SESSION", "New streams cannot be created after receiving a GOAWAY", Error)
E("ERR_HTTP2_HEADERS_AFTER_RESPOND", "Cannot specify additional headers after response initiated",
  Error)
E("ERR_HTTP2_HEADERS_SENT", "Response has already been initiated.", Error)
-- Gone from Node since v10 (listed as a legacy code); kept for a missing required header.
E("ERR_HTTP2_HEADER_REQUIRED", "The %s header is required", TypeError)
E("ERR_HTTP2_HEADER_SINGLE_VALUE", 'Header field "%s" must only have a single value', TypeError)
E("ERR_HTTP2_INFO_STATUS_NOT_ALLOWED", "Informational status codes cannot be used", RangeError)
E("ERR_HTTP2_INVALID_CONNECTION_HEADERS",
  'HTTP/1 Connection specific headers are forbidden: "%s"', TypeError)
E("ERR_HTTP2_INVALID_HEADER_VALUE", 'Invalid value "%s" for header "%s"', TypeError)
E("ERR_HTTP2_INVALID_INFO_STATUS", "Invalid informational status code: %s", RangeError)
E("ERR_HTTP2_INVALID_ORIGIN", "HTTP/2 ORIGIN frames require a valid origin", TypeError)
E("ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH", "Packed settings length must be a multiple of six",
  RangeError)
E("ERR_HTTP2_INVALID_PSEUDOHEADER", '"%s" is an invalid pseudoheader or is used incorrectly',
  TypeError)
E("ERR_HTTP2_INVALID_SESSION", "The session has been destroyed", Error)
E("ERR_HTTP2_INVALID_SETTING_VALUE", function(self, name, actual, min, max)
  self.actual = actual
  if min ~= nil then
    self.min = min
    self.max = max
  end
  return format('Invalid value for setting "%s": %s', name, js_string(actual))
end, TypeError, RangeError)
E("ERR_HTTP2_INVALID_STREAM", "The stream has been destroyed", Error)
E("ERR_HTTP2_MAX_PENDING_SETTINGS_ACK", "Maximum number of pending settings acknowledgements",
  Error)
E("ERR_HTTP2_NESTED_PUSH", "A push stream cannot initiate another push stream.", Error)
E("ERR_HTTP2_NO_MEM", "Out of memory", Error)
E("ERR_HTTP2_NO_SOCKET_MANIPULATION",
  "HTTP/2 sockets should not be directly manipulated (e.g. read and written)", Error)
E("ERR_HTTP2_ORIGIN_LENGTH", "HTTP/2 ORIGIN frames are limited to 16382 bytes", TypeError)
E("ERR_HTTP2_OUT_OF_STREAMS",
  "No stream ID is available because maximum stream ID has been reached", Error)
E("ERR_HTTP2_PAYLOAD_FORBIDDEN", "Responses with %s status must not have a payload", Error)
E("ERR_HTTP2_PING_CANCEL", "HTTP2 ping cancelled", Error)
E("ERR_HTTP2_PING_LENGTH", "HTTP2 ping payload must be 8 bytes", RangeError)
E("ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED", "Cannot set HTTP/2 pseudo-headers", TypeError)
E("ERR_HTTP2_PUSH_DISABLED", "HTTP/2 client has disabled push streams", Error)
E("ERR_HTTP2_SEND_FILE", "Directories cannot be sent", Error)
E("ERR_HTTP2_SEND_FILE_NOSEEK", "Offset or length can only be specified for regular files", Error)
E("ERR_HTTP2_SESSION_ERROR", "Session closed with error code %s", Error)
E("ERR_HTTP2_SETTINGS_CANCEL", "HTTP2 session settings canceled", Error)
E("ERR_HTTP2_SOCKET_BOUND", "The socket is already bound to an Http2Session", Error)
E("ERR_HTTP2_SOCKET_UNBOUND", "The socket has been disconnected from the Http2Session", Error)
E("ERR_HTTP2_STATUS_101", "HTTP status code 101 (Switching Protocols) is forbidden in HTTP/2",
  Error)
E("ERR_HTTP2_STATUS_INVALID", "Invalid status code: %s", RangeError)
E("ERR_HTTP2_STREAM_CANCEL", function(self, err)
  local msg = "The pending stream has been canceled"
  if err then
    self.cause = err
    local cause_message = type(err) == "table" and rawget(err, "message")
    if type(cause_message) == "string" then
      msg = msg .. " (caused by: " .. cause_message .. ")"
    end
  end
  return msg
end, Error)
E("ERR_HTTP2_STREAM_ERROR", "Stream closed with error code %s", Error)
E("ERR_HTTP2_STREAM_SELF_DEPENDENCY", "A stream cannot depend on itself", Error)
E("ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS",
  "Number of custom settings exceeds MAX_ADDITIONAL_SETTINGS", Error)
E("ERR_HTTP2_TOO_MANY_INVALID_FRAMES", "Too many invalid HTTP/2 frames", Error)
E("ERR_HTTP2_TRAILERS_ALREADY_SENT", "Trailing headers have already been sent", Error)
E("ERR_HTTP2_TRAILERS_NOT_READY",
  "Trailing headers cannot be sent until after the wantTrailers event is emitted", Error)
E("ERR_HTTP2_UNSUPPORTED_PROTOCOL", 'protocol "%s" is unsupported.', Error)
E("ERR_HTTP_BODY_NOT_ALLOWED",
  "Adding content for this request method or response status is not allowed.", Error)
E("ERR_HTTP_CONTENT_LENGTH_MISMATCH", "Response body's content-length of %s byte(s) does not " ..
  "match the content-length of %s byte(s) set in header", Error)
E("ERR_HTTP_HEADERS_SENT", "Cannot %s headers after they are sent to the client", Error)
E("ERR_HTTP_INVALID_HEADER_VALUE", 'Invalid value "%s" for header "%s"', TypeError)
E("ERR_HTTP_INVALID_STATUS_CODE", "Invalid status code: %s", RangeError)
E("ERR_HTTP_REQUEST_TIMEOUT", "Request timeout", Error)
E("ERR_HTTP_SOCKET_ENCODING", "Changing the socket encoding is not allowed per RFC7230 Section 3.",
  Error)
E("ERR_HTTP_TRAILER_INVALID", "Trailers are invalid with this transfer encoding", Error)
E("ERR_ILLEGAL_CONSTRUCTOR", "Illegal constructor", TypeError)
E("ERR_INTERNAL_ASSERTION", function(_, message)
  local suffix = "This is caused by either a bug in lode " ..
    "or incorrect usage of lode internals.\n"
  return message == nil and suffix or message .. "\n" .. suffix
end, Error)
E("ERR_INVALID_ADDRESS_FAMILY", function(self, address_type, host, port)
  self.host = host
  self.port = port
  return format("Invalid address family: %s %s:%s", js_string(address_type), js_string(host),
    js_string(port))
end, RangeError)
E("ERR_INVALID_ARG_TYPE", function(_, name, expected, actual)
  name = tostring(name)
  if type(expected) ~= "table" then expected = { expected } end
  local msg = "The "
  if name:sub(-9) == " argument" then
    msg = msg .. name .. " " -- for cases like 'first argument'
  else
    msg = msg .. format('"%s" %s ', name, name:find(".", 1, true) and "property" or "argument")
  end
  msg = msg .. "must be "
  local types, instances, other = {}, {}, {}
  for _, value in ipairs(expected) do
    if TYPE_NAMES[value] then
      types[#types + 1] = value:lower()
    elseif value:match("^[A-Z][a-zA-Z0-9]*$") then
      instances[#instances + 1] = value
    else
      other[#other + 1] = value
    end
  end
  -- With instances allowed, 'object' reads better among them as "an instance of ... Object".
  if #instances > 0 then
    for i, t in ipairs(types) do
      if t == "object" then
        table.remove(types, i)
        instances[#instances + 1] = "Object"
        break
      end
    end
  end
  if #types > 0 then
    msg = msg .. (#types > 1 and "one of type " or "of type ") .. format_list(types, "or")
    if #instances > 0 or #other > 0 then msg = msg .. " or " end
  end
  if #instances > 0 then
    msg = msg .. "an instance of " .. format_list(instances, "or")
    if #other > 0 then msg = msg .. " or " end
  end
  if #other > 0 then
    if #other > 1 then
      msg = msg .. "one of " .. format_list(other, "or")
    else
      if other[1]:lower() ~= other[1] then msg = msg .. "an " end
      msg = msg .. other[1]
    end
  end
  return msg .. ". Received " .. determine_specific_type(actual)
end, TypeError)
E("ERR_INVALID_ARG_VALUE", function(_, name, value, reason)
  local inspected = util.inspect(value)
  if #inspected > 128 then inspected = inspected:sub(1, 128) .. "..." end
  name = tostring(name)
  return format("The %s '%s' %s. Received %s", name:find(".", 1, true) and "property" or "argument",
    name, reason or "is invalid", inspected)
end, TypeError, RangeError)
E("ERR_INVALID_BUFFER_SIZE", "Buffer size must be a multiple of %s", RangeError)
E("ERR_INVALID_CHAR", function(_, name, field)
  local msg = "Invalid character in " .. js_string(name)
  if field ~= nil then msg = msg .. format(' ["%s"]', js_string(field)) end
  return msg
end, TypeError)
E("ERR_INVALID_FD", '"fd" must be a positive integer: %s', RangeError)
E("ERR_INVALID_FD_TYPE", "Unsupported fd type: %s", TypeError)
E("ERR_INVALID_FILE_URL_HOST", 'File URL host must be "localhost" or empty on %s', TypeError)
E("ERR_INVALID_FILE_URL_PATH", "File URL path %s", TypeError)
E("ERR_INVALID_HANDLE_TYPE", "This handle type cannot be sent", TypeError)
E("ERR_INVALID_HTTP_TOKEN", '%s must be a valid HTTP token ["%s"]', TypeError)
E("ERR_INVALID_IP_ADDRESS", "Invalid IP address: %s", TypeError)
E("ERR_INVALID_PROTOCOL", 'Protocol "%s" not supported. Expected "%s"', TypeError)
E("ERR_INVALID_RETURN_VALUE", function(_, input, name, value)
  return format('Expected %s to be returned from the "%s" function but got %s.', js_string(input),
    js_string(name), determine_specific_type(value))
end, TypeError, RangeError)
E("ERR_INVALID_STATE", "Invalid state: %s", Error, TypeError, RangeError)
E("ERR_INVALID_THIS", 'Value of "this" must be of type %s', TypeError)
E("ERR_INVALID_TUPLE", "%s must be an iterable %s tuple", TypeError)
E("ERR_INVALID_URI", "URI malformed", URIError)
E("ERR_INVALID_URL", function(self, input, base)
  self.input = input
  if base ~= nil then self.base = base end
  -- Node leaves the URL out of the message (nodejs/node#38614); it is in `input`.
  return "Invalid URL"
end, TypeError)
E("ERR_INVALID_URL_SCHEME", function(_, expected)
  if type(expected) ~= "table" then expected = { expected } end
  return "The URL must be " .. (#expected == 2 and
    format("one of scheme %s or %s", expected[1], expected[2]) or
    format("of scheme %s", js_string(expected[1])))
end, TypeError)
E("ERR_METHOD_NOT_IMPLEMENTED", "The %s method is not implemented", Error)
E("ERR_MISSING_ARGS", function(_, ...)
  local names = {}
  for i = 1, select("#", ...) do
    local a = select(i, ...)
    if type(a) == "table" then
      local alternatives = {}
      for j, alt in ipairs(a) do alternatives[j] = format('"%s"', alt) end
      names[i] = concat(alternatives, " or ")
    else
      names[i] = format('"%s"', js_string(a))
    end
  end
  return format("The %s argument%s must be specified", format_list(names), #names > 1 and "s" or "")
end, TypeError)
E("ERR_MISSING_OPTION", "%s is required", TypeError)
E("ERR_MULTIPLE_CALLBACK", "Callback called multiple times", Error)
E("ERR_OPERATION_FAILED", "Operation failed: %s", Error, TypeError)
E("ERR_OUT_OF_RANGE", function(_, str, range, input, replace_default)
  local msg = replace_default and str or format('The value of "%s" is out of range.', str)
  local received
  if type(input) == "number" and input == math.floor(input) and math.abs(input) > 2 ^ 32 then
    -- Large integers get numeric separators: 1_099_511_627_776.
    local s = util.inspect(input)
    local sign, digits = s:match("^(-?)(%d+)$")
    if digits then
      received = sign .. digits:reverse():gsub("(%d%d%d)", "%1_"):reverse():gsub("^_", "")
    else
      received = s
    end
  else
    received = util.inspect(input)
  end
  return format("%s It must be %s. Received %s", msg, range, received)
end, RangeError)
E("ERR_PERFORMANCE_INVALID_TIMESTAMP", "%d is not a valid timestamp", TypeError)
E("ERR_SERVER_ALREADY_LISTEN", "Listen method has been called more than once without closing.",
  Error)
E("ERR_SERVER_NOT_RUNNING", "Server is not running.", Error)
E("ERR_SOCKET_ALREADY_BOUND", "Socket is already bound", Error)
E("ERR_SOCKET_BAD_PORT", function(_, name, port, allow_zero)
  return format("%s should be %s 0 and < 65536. Received %s.", js_string(name),
    allow_zero == false and ">" or ">=", determine_specific_type(port))
end, RangeError)
E("ERR_SOCKET_CLOSED", "Socket is closed", Error)
E("ERR_SOCKET_CLOSED_BEFORE_CONNECTION", "Socket closed before the connection was established",
  Error)
E("ERR_SOCKET_CONNECTION_TIMEOUT", "Socket connection timeout", Error)
E("ERR_STREAM_ALREADY_FINISHED", "Cannot call %s after a stream was finished", Error)
E("ERR_STREAM_CANNOT_PIPE", "Cannot pipe, not readable", Error)
E("ERR_STREAM_DESTROYED", "Cannot call %s after a stream was destroyed", Error)
E("ERR_STREAM_NULL_VALUES", "May not write null values to stream", TypeError)
E("ERR_STREAM_PREMATURE_CLOSE", "Premature close", Error)
E("ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF", Error)
E("ERR_STREAM_UNSHIFT_AFTER_END_EVENT", "stream.unshift() after end event", Error)
E("ERR_STREAM_WRAP", "Stream has StringDecoder set or is in objectMode", Error)
E("ERR_STREAM_WRITE_AFTER_END", "write after end", Error)
E("ERR_TLS_ALPN_CALLBACK_INVALID_RESULT", function(_, value, protocols)
  return format("ALPN callback returned a value (%s) that did not match any of the client's " ..
    "offered protocols (%s)", js_string(value), concat(protocols, ", "))
end, TypeError)
E("ERR_TLS_ALPN_CALLBACK_WITH_PROTOCOLS",
  "The ALPNCallback and ALPNProtocols TLS options are mutually exclusive", TypeError)
E("ERR_TLS_CERT_ALTNAME_FORMAT", "Invalid subject alternative name string", SyntaxError)
E("ERR_TLS_CERT_ALTNAME_INVALID", function(self, reason, host, cert)
  self.reason = reason
  self.host = host
  self.cert = cert
  return "Hostname/IP does not match certificate's altnames: " .. js_string(reason)
end, Error)
E("ERR_TLS_DH_PARAM_SIZE", "DH parameter size %s is less than 2048", Error)
E("ERR_TLS_HANDSHAKE_TIMEOUT", "TLS handshake timeout", Error)
E("ERR_TLS_INVALID_CONTEXT", "%s must be a SecureContext", TypeError)
E("ERR_TLS_INVALID_PROTOCOL_VERSION", "%j is not a valid %s TLS protocol version", TypeError)
E("ERR_TLS_INVALID_STATE", "TLS socket connection must be securely established", Error)
E("ERR_TLS_PROTOCOL_VERSION_CONFLICT", "TLS protocol version %j conflicts with secureProtocol %j",
  TypeError)
E("ERR_TLS_RENEGOTIATION_DISABLED", "TLS session renegotiation disabled for this socket", Error)
E("ERR_TLS_REQUIRED_SERVER_NAME", '"servername" is required parameter for Server.addContext',
  Error)
E("ERR_TLS_SESSION_ATTACK", "TLS session renegotiation attack detected", Error)
E("ERR_TLS_SNI_FROM_SERVER", "Cannot issue SNI from a TLS server-side socket", Error)
E("ERR_UNAVAILABLE_DURING_EXIT", "Cannot call function in process exit handler", Error)
E("ERR_UNCAUGHT_EXCEPTION_CAPTURE_ALREADY_SET", "`process.setupUncaughtExceptionCapture()` " ..
  "was called while a capture callback was already active", Error)
E("ERR_UNHANDLED_ERROR", function(_, ...)
  -- Called with nothing, the message has no parenthesis (Node's `err = undefined`).
  if select("#", ...) == 0 or (...) == nil then return "Unhandled error." end
  return "Unhandled error. (" .. js_string((...)) .. ")"
end, Error)
E("ERR_UNKNOWN_ENCODING", "Unknown encoding: %s", TypeError)
E("ERR_UNKNOWN_SIGNAL", "Unknown signal: %s", TypeError)
E("ERR_USE_AFTER_CLOSE", "%s was closed", Error)
E("ERR_VALID_PERFORMANCE_ENTRY_TYPE", "At least one valid performance entry type is required",
  Error)

---------------------------------------------------------------------------------------------
-- AbortError
---------------------------------------------------------------------------------------------

-- Node's AbortError: a plain Error (no "[code]" in its toString) with its own name and code.
local AbortError = Error:extend("AbortError")
AbortError.name = "AbortError"

--- AbortError.new([message[, options]])
function AbortError:constructor(message, options)
  if options ~= nil and type(options) ~= "table" then
    error(errors.ERR_INVALID_ARG_TYPE("options", "Object", options), 3)
  end
  if message == nil then message = "The operation was aborted" end
  Error.constructor(self, message, options)
  self.code = "ABORT_ERR"
end
errors.AbortError = AbortError

---------------------------------------------------------------------------------------------
-- Unhandled 'error' events
---------------------------------------------------------------------------------------------

--- errors.wrap_unhandled(v) -> error
-- What an 'error' event nobody listens for raises: v itself when it is an error, otherwise
-- ERR_UNHANDLED_ERROR with the value inspected in the message and kept as `context`.
function errors.wrap_unhandled(v)
  if errors.is_error(v) then return v end
  local err = errors.ERR_UNHANDLED_ERROR(util.inspect(v))
  err.context = v
  return err
end

---------------------------------------------------------------------------------------------
-- System errors (libuv) and nghttp2 errors
---------------------------------------------------------------------------------------------

-- libuv's error names, with the negative errno (Linux) and uv_strerror text: Node 20's
-- util.getSystemErrorMap().
local UV_ERRORS = {
  E2BIG = { -7, "argument list too long" },
  EACCES = { -13, "permission denied" },
  EADDRINUSE = { -98, "address already in use" },
  EADDRNOTAVAIL = { -99, "address not available" },
  EAFNOSUPPORT = { -97, "address family not supported" },
  EAGAIN = { -11, "resource temporarily unavailable" },
  EAI_ADDRFAMILY = { -3000, "address family not supported" },
  EAI_AGAIN = { -3001, "temporary failure" },
  EAI_BADFLAGS = { -3002, "bad ai_flags value" },
  EAI_BADHINTS = { -3013, "invalid value for hints" },
  EAI_CANCELED = { -3003, "request canceled" },
  EAI_FAIL = { -3004, "permanent failure" },
  EAI_FAMILY = { -3005, "ai_family not supported" },
  EAI_MEMORY = { -3006, "out of memory" },
  EAI_NODATA = { -3007, "no address" },
  EAI_NONAME = { -3008, "unknown node or service" },
  EAI_OVERFLOW = { -3009, "argument buffer overflow" },
  EAI_PROTOCOL = { -3014, "resolved protocol is unknown" },
  EAI_SERVICE = { -3010, "service not available for socket type" },
  EAI_SOCKTYPE = { -3011, "socket type not supported" },
  EALREADY = { -114, "connection already in progress" },
  EBADF = { -9, "bad file descriptor" },
  EBUSY = { -16, "resource busy or locked" },
  ECANCELED = { -125, "operation canceled" },
  ECHARSET = { -4080, "invalid Unicode character" },
  ECONNABORTED = { -103, "software caused connection abort" },
  ECONNREFUSED = { -111, "connection refused" },
  ECONNRESET = { -104, "connection reset by peer" },
  EDESTADDRREQ = { -89, "destination address required" },
  EEXIST = { -17, "file already exists" },
  EFAULT = { -14, "bad address in system call argument" },
  EFBIG = { -27, "file too large" },
  EHOSTUNREACH = { -113, "host is unreachable" },
  EINTR = { -4, "interrupted system call" },
  EINVAL = { -22, "invalid argument" },
  EIO = { -5, "i/o error" },
  EISCONN = { -106, "socket is already connected" },
  EISDIR = { -21, "illegal operation on a directory" },
  ELOOP = { -40, "too many symbolic links encountered" },
  EMFILE = { -24, "too many open files" },
  EMSGSIZE = { -90, "message too long" },
  ENAMETOOLONG = { -36, "name too long" },
  ENETDOWN = { -100, "network is down" },
  ENETUNREACH = { -101, "network is unreachable" },
  ENFILE = { -23, "file table overflow" },
  ENOBUFS = { -105, "no buffer space available" },
  ENODEV = { -19, "no such device" },
  ENOENT = { -2, "no such file or directory" },
  ENOMEM = { -12, "not enough memory" },
  ENONET = { -64, "machine is not on the network" },
  ENOPROTOOPT = { -92, "protocol not available" },
  ENOSPC = { -28, "no space left on device" },
  ENOSYS = { -38, "function not implemented" },
  ENOTCONN = { -107, "socket is not connected" },
  ENOTDIR = { -20, "not a directory" },
  ENOTEMPTY = { -39, "directory not empty" },
  ENOTSOCK = { -88, "socket operation on non-socket" },
  ENOTSUP = { -95, "operation not supported on socket" },
  EOVERFLOW = { -75, "value too large for defined data type" },
  EPERM = { -1, "operation not permitted" },
  EPIPE = { -32, "broken pipe" },
  EPROTO = { -71, "protocol error" },
  EPROTONOSUPPORT = { -93, "protocol not supported" },
  EPROTOTYPE = { -91, "protocol wrong type for socket" },
  ERANGE = { -34, "result too large" },
  EROFS = { -30, "read-only file system" },
  ESHUTDOWN = { -108, "cannot send after transport endpoint shutdown" },
  ESPIPE = { -29, "invalid seek" },
  ESRCH = { -3, "no such process" },
  ETIMEDOUT = { -110, "connection timed out" },
  ETXTBSY = { -26, "text file is busy" },
  EXDEV = { -18, "cross-device link not permitted" },
  UNKNOWN = { -4094, "unknown error" },
  EOF = { -4095, "end of file" },
  ENXIO = { -6, "no such device or address" },
  EMLINK = { -31, "too many links" },
  EHOSTDOWN = { -112, "host is down" },
  EREMOTEIO = { -121, "remote I/O error" },
  ENOTTY = { -25, "inappropriate ioctl for device" },
  EFTYPE = { -4028, "inappropriate file type or format" },
  EILSEQ = { -84, "illegal byte sequence" },
  ESOCKTNOSUPPORT = { -94, "socket type not supported" },
  ENODATA = { -61, "no data available" },
  EUNATCH = { -49, "protocol driver not attached" },
}
errors.UV_ERRORS = UV_ERRORS

local UV_BY_ERRNO = {}
for name, e in pairs(UV_ERRORS) do UV_BY_ERRNO[e[1]] = name end

-- (code, description, errno) for a uv error name or negative errno.
local function uv_lookup(name)
  if type(name) == "number" then
    local n = UV_BY_ERRNO[name]
    if n then return n, UV_ERRORS[n][2], name end
    return "UNKNOWN", "unknown error", name
  end
  local e = UV_ERRORS[name]
  if e then return name, e[2], e[1] end
  return name == nil and "UNKNOWN" or tostring(name), "unknown error", nil
end

--- errors.uv(name, syscall[, path[, dest[, message]]]) -> Error
-- Node's UVException: name is a libuv error name ('ENOENT', from uv_err_name) or a negative
-- errno; message replaces libuv's description. Message `ENOENT: no such file or directory,
-- open 'x'`; fields errno, code, syscall, path, dest.
function errors.uv(name, syscall, path, dest, message)
  local code, description, errno = uv_lookup(name)
  local msg = format("%s: %s, %s", code, message or description, tostring(syscall))
  if path ~= nil then msg = msg .. format(" '%s'", tostring(path)) end
  if dest ~= nil then msg = msg .. format(" -> '%s'", tostring(dest)) end
  local err = Error.new(msg)
  err.errno = errno
  err.code = code
  err.syscall = syscall
  err.path = path
  err.dest = dest
  return err
end

local function host_port_details(address, port)
  if type(port) == "number" and port > 0 then
    return format(" %s:%s", tostring(address), util.inspect(port))
  elseif address ~= nil and address ~= "" then
    return " " .. tostring(address)
  end
  return ""
end

--- errors.uv_host_port(name, syscall, address[, port]) -> Error
-- Node's UVExceptionWithHostPort (listen, bind): `listen EADDRINUSE: address already in use
-- 127.0.0.1:8080`; fields code, errno, syscall, address, port.
function errors.uv_host_port(name, syscall, address, port)
  local code, description, errno = uv_lookup(name)
  local err = Error.new(format("%s %s: %s%s", tostring(syscall), code, description,
    host_port_details(address, port)))
  err.code = code
  err.errno = errno
  err.syscall = syscall
  err.address = address
  if port ~= nil and port ~= 0 then err.port = port end
  return err
end

--- errors.exception_with_host_port(name, syscall, address[, port[, additional]]) -> Error
-- Node's ExceptionWithHostPort (connect): `connect ECONNREFUSED 127.0.0.1:1`.
function errors.exception_with_host_port(name, syscall, address, port, additional)
  local code, _, errno = uv_lookup(name)
  local details = host_port_details(address, port)
  if additional ~= nil then details = details .. format(" - Local (%s)", tostring(additional)) end
  local err = Error.new(format("%s %s%s", tostring(syscall), code, details))
  err.errno = errno
  err.code = code
  err.syscall = syscall
  err.address = address
  if port ~= nil and port ~= 0 then err.port = port end
  return err
end

-- nghttp2_strerror() of libnghttp2 1.52, by error code.
local NGHTTP2_ERRORS = {
  [-501] = "Invalid argument",
  [-502] = "Out of buffer space",
  [-503] = "Unsupported SPDY version",
  [-504] = "Operation would block",
  [-505] = "Protocol error",
  [-506] = "Invalid frame octets",
  [-507] = "EOF",
  [-508] = "Data transfer deferred",
  [-509] = "No more Stream ID available",
  [-510] = "Stream was already closed or invalid",
  [-511] = "Stream is closing",
  [-512] = "The transmission is not allowed for this stream",
  [-513] = "Stream ID is invalid",
  [-514] = "Invalid stream state",
  [-515] = "Another DATA frame has already been deferred",
  [-516] = "request HEADERS is not allowed",
  [-517] = "GOAWAY has already been sent",
  [-518] = "Invalid header block",
  [-519] = "Invalid state",
  [-521] = "The user callback function failed due to the temporal error",
  [-522] = "The length of the frame is invalid",
  [-523] = "Header compression/decompression error",
  [-524] = "Flow control error",
  [-525] = "Insufficient buffer size given to function",
  [-526] = "Callback was paused by the application",
  [-527] = "Too many inflight SETTINGS",
  [-528] = "Server push is disabled by peer",
  [-529] = "DATA or HEADERS frame has already been submitted for the stream",
  [-530] = "The current session is closing",
  [-531] = "Invalid HTTP header field was received",
  [-532] = "Violation in HTTP messaging rule",
  [-533] = "Stream was refused",
  [-534] = "Internal error",
  [-535] = "Cancel",
  [-536] = "When a local endpoint expects to receive SETTINGS frame, it receives an other type of frame",
  [-537] = "SETTINGS frame contained more than the maximum allowed entries",
  [-901] = "Out of memory",
  [-902] = "The user callback function failed",
  [-903] = "Received bad client magic byte string",
  [-904] = "Flooding was detected in this HTTP/2 session, and it must be closed",
  [-905] = "Too many CONTINUATION frames following a HEADER frame",
}

--- errors.nghttp2_strerror(code) -> string
function errors.nghttp2_strerror(code)
  return NGHTTP2_ERRORS[code] or "Unknown error code"
end

--- errors.nghttp(errno[, custom_code]) -> Error
-- Node's NghttpError: code ERR_HTTP2_ERROR with nghttp2's message, or the given lode code
-- (e.g. 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES') with its message; `errno` is nghttp2's code.
function errors.nghttp(errno, custom_code)
  if custom_code == nil then return errors.ERR_HTTP2_ERROR(errno) end
  local err = errors[custom_code]()
  err.errno = errno
  return err
end

return errors
