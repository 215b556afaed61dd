-- lode.errors: Node's error classes, codes and message texts (lib/internal/errors.js).

local errors = require "lode.errors"
local Object = require "lode.class"

local Error, TypeError, RangeError = errors.Error, errors.TypeError, errors.RangeError

local THIS_FILE = debug.getinfo(1, "S").short_src

describe("errors.Error", function()
  it("is created with Error(msg) or Error.new(msg)", function()
    local a, b = Error("one"), Error.new("two")
    assert.equal("Error", a.name)
    assert.equal("one", a.message)
    assert.equal("two", b.message)
  end)

  it("has no code of its own", function()
    assert.is_nil(Error("x").code)
  end)

  it("has an empty message by default", function()
    assert.equal("", Error().message)
  end)

  it("turns a message that is not a string into one", function()
    assert.equal("5", Error(5).message)
  end)

  it("renders as 'Error: message', or just the name without a message", function()
    assert.equal("Error: boom", tostring(Error("boom")))
    assert.equal("Error", tostring(Error()))
  end)

  it("has a stack: its tostring, then a traceback starting where it was created", function()
    local err = Error("here")
    local first, second, third = err.stack:match("^([^\n]*)\n([^\n]*)\n([^\n]*)")
    assert.equal("Error: here", first)
    assert.equal("stack traceback:", second)
    assert.truthy(third:find(THIS_FILE, 1, true))
  end)

  it("formats the stack when first read, so subclass constructors can set the name", function()
    local MyError = Error:extend("MyError")
    function MyError:constructor(msg)
      Error.constructor(self, msg)
      self.name = "MyError"
    end
    assert.equal("MyError: custom", MyError.new("custom").stack:match("^[^\n]*"))
  end)

  it("lets the stack be replaced", function()
    local err = Error("x")
    err.stack = "replaced"
    assert.equal("replaced", err.stack)
  end)

  it("keeps options.cause", function()
    local cause = Error("inner")
    assert.equal(cause, Error("outer", { cause = cause }).cause)
  end)

  it("has TypeError and RangeError subclasses", function()
    local t, r = TypeError("t"), RangeError("r")
    assert.equal("TypeError: t", tostring(t))
    assert.equal("RangeError: r", tostring(r))
    assert.is_true(Object.instanceof(t, Error))
    assert.is_true(Object.instanceof(r, RangeError))
    assert.is_false(Object.instanceof(r, TypeError))
  end)
end)

describe("errors.AbortError", function()
  it("has Node's name, code and default message", function()
    local err = errors.AbortError()
    assert.equal("AbortError", err.name)
    assert.equal("ABORT_ERR", err.code)
    assert.equal("The operation was aborted", err.message)
  end)

  it("renders without the code, as Node's", function()
    assert.equal("AbortError: stopped", tostring(errors.AbortError.new("stopped")))
  end)

  it("is an Error", function()
    assert.is_true(errors.is_error(errors.AbortError()))
  end)

  it("raises ERR_INVALID_ARG_TYPE for options that are not a table", function()
    local ok, err = pcall(errors.AbortError.new, "x", 5)
    assert.is_false(ok)
    assert.equal("ERR_INVALID_ARG_TYPE", err.code)
  end)
end)

describe("errors.E()", function()
  it("declares a code whose errors have the base class, the code and the message", function()
    errors.E("ERR_LODE_SPEC_PLAIN", "Something failed", RangeError)
    local err = errors.ERR_LODE_SPEC_PLAIN()
    assert.is_true(Object.instanceof(err, RangeError))
    assert.equal("RangeError", err.name)
    assert.equal("ERR_LODE_SPEC_PLAIN", err.code)
    assert.equal("Something failed", err.message)
  end)

  it("renders coded errors as 'Name [CODE]: message', in tostring and stack", function()
    errors.E("ERR_LODE_SPEC_RENDER", "Rendered", TypeError)
    local err = errors.ERR_LODE_SPEC_RENDER()
    assert.equal("TypeError [ERR_LODE_SPEC_RENDER]: Rendered", tostring(err))
    assert.equal("TypeError [ERR_LODE_SPEC_RENDER]: Rendered", err.stack:match("^[^\n]*"))
  end)

  it("starts the stack at the caller, not inside errors.lua", function()
    local err = errors.ERR_INVALID_ARG_TYPE("x", "string", 1)
    assert.truthy(err.stack:match("^[^\n]*\n[^\n]*\n([^\n]*)"):find(THIS_FILE, 1, true))
  end)

  it("formats a template with the arguments as util.format does", function()
    errors.E("ERR_LODE_SPEC_TEMPLATE", "Value %s of %d", Error)
    assert.equal("Value x of 42", errors.ERR_LODE_SPEC_TEMPLATE("x", 42.0).message)
  end)

  it("calls a message function with the error first, so it can add fields", function()
    errors.E("ERR_LODE_SPEC_FN", function(self, a, b)
      self.extra = a
      return "got " .. a .. " and " .. b
    end, Error)
    local err = errors.ERR_LODE_SPEC_FN("one", "two")
    assert.equal("got one and two", err.message)
    assert.equal("one", err.extra)
  end)

  it("offers the other base classes as fields of the code", function()
    errors.E("ERR_LODE_SPEC_MULTI", "Multi", TypeError, RangeError)
    local err = errors.ERR_LODE_SPEC_MULTI.RangeError()
    assert.equal("RangeError [ERR_LODE_SPEC_MULTI]: Multi", tostring(err))
  end)

  it("raises ERR_INTERNAL_ASSERTION when a template gets the wrong number of arguments", function()
    errors.E("ERR_LODE_SPEC_COUNT", "Needs %s", Error)
    local ok, err = pcall(errors.ERR_LODE_SPEC_COUNT)
    assert.is_false(ok)
    assert.equal("ERR_INTERNAL_ASSERTION", err.code)
  end)

  it("refuses to declare a code twice", function()
    assert.has_error(function() errors.E("ERR_INVALID_ARG_TYPE", "again", Error) end)
  end)
end)

describe("errors.ERR_INVALID_ARG_TYPE()", function()
  local function message(...) return errors.ERR_INVALID_ARG_TYPE(...).message end

  it("is a TypeError", function()
    assert.equal("TypeError", errors.ERR_INVALID_ARG_TYPE("x", "string", 1).name)
  end)

  it("says which type was expected and what was received, as Node", function()
    assert.equal('The "name" argument must be of type string. Received type number (5)',
      message("name", "string", 5))
  end)

  it("calls a dotted name a property", function()
    assert.equal('The "options.port" property must be of type number. Received nil',
      message("options.port", "number", nil))
  end)

  it("takes a name ending in ' argument' as it is", function()
    assert.equal("The first argument must be of type string. Received type boolean (true)",
      message("first argument", "string", true))
  end)

  it("lists several types, instances and other values", function()
    assert.equal('The "authority" argument must be of type string or an instance of URL or Object. ' ..
      "Received type number (5)", message("authority", { "string", "URL", "Object" }, 5))
    assert.equal('The "x" argument must be one of type string, function, or table. Received nil',
      message("x", { "string", "function", "table" }, nil))
    assert.equal('The "x" argument must be of type string or nil. Received type boolean (false)',
      message("x", { "string", "nil" }, false))
  end)

  it("renders received strings quoted and cut after 25 characters", function()
    assert.equal("The \"x\" argument must be of type number. Received type string ('abc')",
      message("x", "number", "abc"))
    assert.equal("The \"x\" argument must be of type number. " ..
      "Received type string ('abcdefghijklmnopqrstuvwxy...')",
      message("x", "number", "abcdefghijklmnopqrstuvwxyz0123"))
    assert.equal([[The "x" argument must be of type number. Received type string ("it's")]],
      message("x", "number", "it's"))
  end)

  it("renders received floats as JavaScript", function()
    assert.equal('The "x" argument must be of type string. Received type number (1.5)',
      message("x", "string", 1.5))
    assert.equal('The "x" argument must be of type string. Received type number (NaN)',
      message("x", "string", 0 / 0))
  end)

  it("renders a received table without its content and a class instance by its class", function()
    assert.equal('The "x" argument must be of type string. Received type table ({...})',
      message("x", "string", { a = 1 }))
    assert.equal('The "x" argument must be of type string. Received type table ({})',
      message("x", "string", {}))
    assert.equal('The "x" argument must be of type string. Received an instance of Error',
      message("x", "string", Error("e")))
  end)

  it("renders a received function by its name", function()
    assert.equal('The "x" argument must be of type string. Received function print',
      message("x", "string", print))
  end)
end)

describe("errors codes with formatters", function()
  it("ERR_INVALID_ARG_VALUE inspects the value and takes a reason", function()
    assert.equal("The argument 'x' is invalid. Received { a = 1 }",
      errors.ERR_INVALID_ARG_VALUE("x", { a = 1 }).message)
    local err = errors.ERR_INVALID_ARG_VALUE.RangeError("opts.y", "abc", "must be good")
    assert.equal("RangeError [ERR_INVALID_ARG_VALUE]: The property 'opts.y' must be good. Received 'abc'",
      tostring(err))
  end)

  it("ERR_OUT_OF_RANGE gives large integers numeric separators", function()
    assert.equal('The value of "x" is out of range. It must be >= 0 and <= 5. Received 6',
      errors.ERR_OUT_OF_RANGE("x", ">= 0 and <= 5", 6).message)
    assert.equal('The value of "x" is out of range. It must be < 2^32. Received 1_099_511_627_776',
      errors.ERR_OUT_OF_RANGE("x", "< 2^32", 2 ^ 40).message)
    assert.equal("Custom. It must be >= 0. Received -1",
      errors.ERR_OUT_OF_RANGE("Custom.", ">= 0", -1, true).message)
  end)

  it("ERR_MISSING_ARGS lists the names, alternatives joined with 'or'", function()
    assert.equal('The "a" argument must be specified', errors.ERR_MISSING_ARGS("a").message)
    assert.equal('The "a", "b" or "c", and "d" arguments must be specified',
      errors.ERR_MISSING_ARGS("a", { "b", "c" }, "d").message)
  end)

  it("ERR_UNHANDLED_ERROR puts the value in parentheses when there is one", function()
    assert.equal("Unhandled error. (boom)", errors.ERR_UNHANDLED_ERROR("boom").message)
    assert.equal("Unhandled error.", errors.ERR_UNHANDLED_ERROR().message)
  end)

  it("ERR_INVALID_URL keeps the input and base out of the message", function()
    local err = errors.ERR_INVALID_URL("x", "bad")
    assert.equal("TypeError [ERR_INVALID_URL]: Invalid URL", tostring(err))
    assert.equal("x", err.input)
    assert.equal("bad", err.base)
  end)

  it("ERR_HTTP2_INVALID_SETTING_VALUE records actual, min and max", function()
    local err = errors.ERR_HTTP2_INVALID_SETTING_VALUE.RangeError("headerTableSize", -1, 0, 4294967295)
    assert.equal("RangeError [ERR_HTTP2_INVALID_SETTING_VALUE]: " ..
      'Invalid value for setting "headerTableSize": -1',
      tostring(err))
    assert.same({ -1, 0, 4294967295 }, { err.actual, err.min, err.max })
    assert.equal("TypeError", errors.ERR_HTTP2_INVALID_SETTING_VALUE("enablePush", 5).name)
  end)

  it("ERR_HTTP2_STREAM_CANCEL names its cause", function()
    local cause = Error("reset")
    local err = errors.ERR_HTTP2_STREAM_CANCEL(cause)
    assert.equal("The pending stream has been canceled (caused by: reset)", err.message)
    assert.equal(cause, err.cause)
  end)

  it("ERR_SOCKET_BAD_PORT renders the port as ERR_INVALID_ARG_TYPE does", function()
    assert.equal("Port should be >= 0 and < 65536. Received type string ('abc').",
      errors.ERR_SOCKET_BAD_PORT("Port", "abc").message)
    assert.equal("Port should be > 0 and < 65536. Received type number (0).",
      errors.ERR_SOCKET_BAD_PORT("Port", 0, false).message)
  end)

  it("ERR_INVALID_CHAR names the field when given", function()
    assert.equal('Invalid character in header content ["x-a"]',
      errors.ERR_INVALID_CHAR("header content", "x-a").message)
    assert.equal("Invalid character in header content", errors.ERR_INVALID_CHAR("header content").message)
  end)

  it("ERR_INVALID_RETURN_VALUE describes what came back", function()
    assert.equal('Expected an object to be returned from the "fn" function but got type number (5).',
      errors.ERR_INVALID_RETURN_VALUE("an object", "fn", 5).message)
  end)

  it("ERR_HTTP_HEADERS_SENT and ERR_STREAM_DESTROYED take the operation", function()
    assert.equal("Cannot set headers after they are sent to the client",
      errors.ERR_HTTP_HEADERS_SENT("set").message)
    assert.equal("Cannot call write after a stream was destroyed",
      errors.ERR_STREAM_DESTROYED("write").message)
  end)
end)

describe("errors: the HTTP/2 codes", function()
  -- Node 20's texts for the codes whose message takes no argument.
  local fixed = {
    { "ERR_HTTP2_ALTSVC_INVALID_ORIGIN", "TypeError", "HTTP/2 ALTSVC frames require a valid origin" },
    { "ERR_HTTP2_ALTSVC_LENGTH", "TypeError", "HTTP/2 ALTSVC frames are limited to 16382 bytes" },
    { "ERR_HTTP2_CONNECT_AUTHORITY", "Error", ":authority header is required for CONNECT requests" },
    { "ERR_HTTP2_CONNECT_PATH", "Error", "The :path header is forbidden for CONNECT requests" },
    { "ERR_HTTP2_CONNECT_SCHEME", "Error", "The :scheme header is forbidden for CONNECT requests" },
    { "ERR_HTTP2_GOAWAY_SESSION", "Error", "New streams cannot be created after receiving a GOAWAY" },
    { "ERR_HTTP2_HEADERS_AFTER_RESPOND", "Error",
      "Cannot specify additional headers after response initiated" },
    { "ERR_HTTP2_HEADERS_SENT", "Error", "Response has already been initiated." },
    { "ERR_HTTP2_INFO_STATUS_NOT_ALLOWED", "RangeError", "Informational status codes cannot be used" },
    { "ERR_HTTP2_INVALID_ORIGIN", "TypeError", "HTTP/2 ORIGIN frames require a valid origin" },
    { "ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH", "RangeError",
      "Packed settings length must be a multiple of six" },
    { "ERR_HTTP2_INVALID_SESSION", "Error", "The session has been destroyed" },
    { "ERR_HTTP2_INVALID_STREAM", "Error", "The stream has been destroyed" },
    { "ERR_HTTP2_MAX_PENDING_SETTINGS_ACK", "Error", "Maximum number of pending settings acknowledgements" },
    { "ERR_HTTP2_NESTED_PUSH", "Error", "A push stream cannot initiate another push stream." },
    { "ERR_HTTP2_NO_MEM", "Error", "Out of memory" },
    { "ERR_HTTP2_NO_SOCKET_MANIPULATION", "Error",
      "HTTP/2 sockets should not be directly manipulated (e.g. read and written)" },
    { "ERR_HTTP2_ORIGIN_LENGTH", "TypeError", "HTTP/2 ORIGIN frames are limited to 16382 bytes" },
    { "ERR_HTTP2_OUT_OF_STREAMS", "Error",
      "No stream ID is available because maximum stream ID has been reached" },
    { "ERR_HTTP2_PING_CANCEL", "Error", "HTTP2 ping cancelled" },
    { "ERR_HTTP2_PING_LENGTH", "RangeError", "HTTP2 ping payload must be 8 bytes" },
    { "ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED", "TypeError", "Cannot set HTTP/2 pseudo-headers" },
    { "ERR_HTTP2_PUSH_DISABLED", "Error", "HTTP/2 client has disabled push streams" },
    { "ERR_HTTP2_SEND_FILE", "Error", "Directories cannot be sent" },
    { "ERR_HTTP2_SEND_FILE_NOSEEK", "Error", "Offset or length can only be specified for regular files" },
    { "ERR_HTTP2_SETTINGS_CANCEL", "Error", "HTTP2 session settings canceled" },
    { "ERR_HTTP2_SOCKET_BOUND", "Error", "The socket is already bound to an Http2Session" },
    { "ERR_HTTP2_SOCKET_UNBOUND", "Error", "The socket has been disconnected from the Http2Session" },
    { "ERR_HTTP2_STATUS_101", "Error", "HTTP status code 101 (Switching Protocols) is forbidden in HTTP/2" },
    { "ERR_HTTP2_STREAM_SELF_DEPENDENCY", "Error", "A stream cannot depend on itself" },
    { "ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS", "Error",
      "Number of custom settings exceeds MAX_ADDITIONAL_SETTINGS" },
    { "ERR_HTTP2_TOO_MANY_INVALID_FRAMES", "Error", "Too many invalid HTTP/2 frames" },
    { "ERR_HTTP2_TRAILERS_ALREADY_SENT", "Error", "Trailing headers have already been sent" },
    { "ERR_HTTP2_TRAILERS_NOT_READY", "Error",
      "Trailing headers cannot be sent until after the wantTrailers event is emitted" },
  }
  for _, case in ipairs(fixed) do
    local code, name, text = case[1], case[2], case[3]
    it(code .. " is a " .. name .. ": " .. text, function()
      assert.equal(name .. " [" .. code .. "]: " .. text, tostring(errors[code]()))
    end)
  end

  -- Node 20's texts for the codes that take arguments.
  local formatted = {
    { "ERR_HTTP2_HEADER_SINGLE_VALUE", { ":status" },
      'Header field ":status" must only have a single value' },
    { "ERR_HTTP2_INVALID_CONNECTION_HEADERS", { "keep-alive" },
      'HTTP/1 Connection specific headers are forbidden: "keep-alive"' },
    { "ERR_HTTP2_INVALID_HEADER_VALUE", { "nil", "x-a" }, 'Invalid value "nil" for header "x-a"' },
    { "ERR_HTTP2_INVALID_INFO_STATUS", { 99 }, "Invalid informational status code: 99" },
    { "ERR_HTTP2_INVALID_PSEUDOHEADER", { ":foo" },
      '":foo" is an invalid pseudoheader or is used incorrectly' },
    { "ERR_HTTP2_PAYLOAD_FORBIDDEN", { 204 }, "Responses with 204 status must not have a payload" },
    { "ERR_HTTP2_SESSION_ERROR", { 1 }, "Session closed with error code 1" },
    { "ERR_HTTP2_STATUS_INVALID", { 99 }, "Invalid status code: 99" },
    { "ERR_HTTP2_STREAM_ERROR", { "NGHTTP2_PROTOCOL_ERROR" },
      "Stream closed with error code NGHTTP2_PROTOCOL_ERROR" },
    { "ERR_HTTP2_UNSUPPORTED_PROTOCOL", { "ftp:" }, 'protocol "ftp:" is unsupported.' },
  }
  for _, case in ipairs(formatted) do
    local code, args, text = case[1], case[2], case[3]
    it(code .. " says: " .. text, function()
      assert.equal(text, errors[code](table.unpack(args)).message)
    end)
  end
end)

describe("errors.uv()", function()
  it("builds Node's system error message from the libuv name", function()
    local err = errors.uv("ENOENT", "open", "x")
    assert.equal("ENOENT: no such file or directory, open 'x'", err.message)
    assert.equal("Error: ENOENT: no such file or directory, open 'x'", tostring(err))
  end)

  it("sets errno (negative), code, syscall and path", function()
    local err = errors.uv("EACCES", "open", "/root/x")
    assert.same({ -13, "EACCES", "open", "/root/x" }, { err.errno, err.code, err.syscall, err.path })
  end)

  it("knows libuv's Linux errno values", function()
    local expected = { ENOENT = -2, EACCES = -13, EISDIR = -21, EADDRINUSE = -98, ECONNREFUSED = -111,
      ECONNRESET = -104, EPIPE = -32, ETIMEDOUT = -110, EEXIST = -17, ENOTDIR = -20, EBADF = -9,
      EINVAL = -22, EMFILE = -24, ENOTEMPTY = -39, EAGAIN = -11, EADDRNOTAVAIL = -99, ENOTCONN = -107,
      ECANCELED = -125, EOF = -4095 }
    for name, errno in pairs(expected) do
      assert.equal(errno, errors.uv(name, "x").errno)
    end
  end)

  it("accepts a negative errno instead of the name", function()
    assert.equal("EISDIR: illegal operation on a directory, read", errors.uv(-21, "read").message)
  end)

  it("adds the destination of a two-path call", function()
    local err = errors.uv("EEXIST", "rename", "a", "b")
    assert.equal("EEXIST: file already exists, rename 'a' -> 'b'", err.message)
    assert.equal("b", err.dest)
  end)

  it("uses an explicit message instead of libuv's description", function()
    assert.equal("EPIPE: the other end went away, write", errors.uv("EPIPE", "write", nil, nil,
      "the other end went away").message)
  end)

  it("keeps the name of an error it does not know", function()
    local err = errors.uv("EWHATEVER", "open")
    assert.equal("EWHATEVER: unknown error, open", err.message)
    assert.is_nil(err.errno)
  end)
end)

describe("errors.uv_host_port() and errors.exception_with_host_port()", function()
  it("renders listen errors with libuv's description and the address", function()
    local err = errors.uv_host_port("EADDRINUSE", "listen", "127.0.0.1", 8080)
    assert.equal("listen EADDRINUSE: address already in use 127.0.0.1:8080", err.message)
    assert.same({ "EADDRINUSE", -98, "listen", "127.0.0.1", 8080 },
      { err.code, err.errno, err.syscall, err.address, err.port })
  end)

  it("renders connect errors as 'syscall CODE address:port'", function()
    local err = errors.exception_with_host_port("ECONNREFUSED", "connect", "127.0.0.1", 1)
    assert.equal("connect ECONNREFUSED 127.0.0.1:1", err.message)
    assert.equal(-111, err.errno)
  end)

  it("leaves the port out when there is none", function()
    assert.equal("connect ENOENT /tmp/sock",
      errors.exception_with_host_port("ENOENT", "connect", "/tmp/sock").message)
  end)
end)

describe("errors.nghttp()", function()
  it("makes ERR_HTTP2_ERROR with nghttp2's message and errno", function()
    local err = errors.nghttp(-505)
    assert.equal("Error [ERR_HTTP2_ERROR]: Protocol error", tostring(err))
    assert.equal(-505, err.errno)
  end)

  it("uses a lode code and its message when given one", function()
    local err = errors.nghttp(-904, "ERR_HTTP2_TOO_MANY_INVALID_FRAMES")
    assert.equal("ERR_HTTP2_TOO_MANY_INVALID_FRAMES", err.code)
    assert.equal("Too many invalid HTTP/2 frames", err.message)
    assert.equal(-904, err.errno)
  end)
end)

describe("errors.is_error()", function()
  it("is true for errors and instances of their subclasses", function()
    assert.is_true(errors.is_error(Error("x")))
    assert.is_true(errors.is_error(errors.ERR_HTTP2_INVALID_STREAM()))
    assert.is_true(errors.is_error(Error:extend("Mine").new("m")))
  end)

  it("is false for other values", function()
    assert.is_false(errors.is_error("Error: x"))
    assert.is_false(errors.is_error({ message = "x", name = "Error" }))
    assert.is_false(errors.is_error(nil))
    assert.is_false(errors.is_error(setmetatable({}, { __metatable = "locked" })))
  end)
end)

describe("errors.wrap_unhandled()", function()
  it("returns an error as it is", function()
    local err = TypeError("t")
    assert.equal(err, errors.wrap_unhandled(err))
  end)

  it("wraps any other value in ERR_UNHANDLED_ERROR, inspected, kept as context", function()
    local err = errors.wrap_unhandled("boom")
    assert.equal("Error [ERR_UNHANDLED_ERROR]: Unhandled error. ('boom')", tostring(err))
    assert.equal("boom", err.context)
  end)

  it("wraps nil as Node wraps undefined", function()
    assert.equal("Unhandled error. (nil)", errors.wrap_unhandled(nil).message)
  end)
end)
