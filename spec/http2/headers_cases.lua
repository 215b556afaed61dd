-- Table-driven cases for the header conversions, shared by spec/http2/headers_spec.lua and by any
-- other implementation of them (the C binding's own conversion, later): each case was checked
-- against Node 20.20's mapToHeaders / toHeaderObject (lib/internal/http2/util.js) except where
-- `lode_only` says why lode differs.
--
-- from_nv cases: { name, input = flat { name, value, ... }, sensitive = flags or names | nil,
--                  expected = headers table (fields only), expected_sensitive = names }
-- to_nv cases:   { name, input = headers table or flat sequence, mode = nil | "response" |
--                  "trailer", then either
--                  expected = { { name, value[, flag] }, ... } (flag 1 = never indexed, default 0)
--                  with ordered = true when the order is fixed (flat input, or one field),
--                  or error = { code, name[, message] } }

local SENSITIVE = require("lode.http2.headers").sensitiveHeaders

local from_nv = {
  {
    "converts :status to an integer",
    input = { ":status", "200", "content-type", "text/plain" },
    expected = { [":status"] = 200, ["content-type"] = "text/plain" },
    expected_sensitive = {},
  },
  {
    "gives a :status that is not a number as 0",
    input = { ":status", "abc" },
    expected = { [":status"] = 0 },
    expected_sensitive = {},
  },
  {
    "reads a :status with surrounding spaces and exponent as JavaScript's Number does",
    input = { ":status", " 2e2 " },
    expected = { [":status"] = 200 },
    expected_sensitive = {},
  },
  {
    "keeps the first :status and drops the duplicate",
    input = { ":status", "200", ":status", "404" },
    expected = { [":status"] = 200 },
    expected_sensitive = {},
  },
  {
    "keeps the request pseudo-headers as strings",
    input = { ":method", "GET", ":path", "/a?b", ":scheme", "https", ":authority", "h:1" },
    expected = { [":method"] = "GET", [":path"] = "/a?b", [":scheme"] = "https",
                 [":authority"] = "h:1" },
    expected_sensitive = {},
  },
  {
    "drops duplicates of a single-value field, keeping the first",
    input = { "content-type", "text/plain", "content-type", "text/html", "user-agent", "a",
              "user-agent", "b" },
    expected = { ["content-type"] = "text/plain", ["user-agent"] = "a" },
    expected_sensitive = {},
  },
  {
    "makes a lone set-cookie a sequence",
    input = { "set-cookie", "a=1" },
    expected = { ["set-cookie"] = { "a=1" } },
    expected_sensitive = {},
  },
  {
    "collects repeated set-cookie fields in order",
    input = { "set-cookie", "a=1", "x", "y", "set-cookie", "b=2", "set-cookie", "c=3" },
    expected = { ["set-cookie"] = { "a=1", "b=2", "c=3" }, x = "y" },
    expected_sensitive = {},
  },
  {
    "joins repeated cookie fields with '; '",
    input = { "cookie", "a=1", "cookie", "b=2", "cookie", "c=3" },
    expected = { cookie = "a=1; b=2; c=3" },
    expected_sensitive = {},
  },
  {
    "joins other repeated fields with ', '",
    input = { "accept", "text/html", "x-abc", "has", "accept", "*/*", "x-abc", "more" },
    expected = { accept = "text/html, */*", ["x-abc"] = "has, more" },
    expected_sensitive = {},
  },
  {
    "keeps empty values",
    input = { "x-empty", "", "x-empty", "" },
    expected = { ["x-empty"] = ", " },
    expected_sensitive = {},
  },
  {
    "lists the never-indexed fields from per-field flags, duplicates included",
    input = { ":status", "204", "x", "1", "x", "2", "authorization", "secret" },
    sensitive = { 0, 1, 1, 1 },
    expected = { [":status"] = 204, x = "1, 2", authorization = "secret" },
    expected_sensitive = { "x", "x", "authorization" },
  },
  {
    "takes the never-indexed names as given",
    input = { "cookie", "a=1", "cookie", "b=2" },
    sensitive = { "cookie" },
    expected = { cookie = "a=1; b=2" },
    expected_sensitive = { "cookie" },
  },
  {
    "gives an empty header list an empty table",
    input = {},
    expected = {},
    expected_sensitive = {},
  },
}

-- Every single-value field of the document: the duplicate is dropped.
for _, name in ipairs {
  ":method", ":authority", ":scheme", ":path", ":protocol", "age", "authorization",
  "access-control-allow-credentials", "access-control-max-age", "access-control-request-method",
  "content-encoding", "content-language", "content-length", "content-location", "content-md5",
  "content-range", "content-type", "date", "dnt", "etag", "expires", "from", "host", "if-match",
  "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
  "location", "max-forwards", "proxy-authorization", "range", "referer", "retry-after", "tk",
  "upgrade-insecure-requests", "user-agent", "x-content-type-options",
} do
  from_nv[#from_nv + 1] = {
    "drops a duplicate " .. name,
    input = { name, "first", name, "second" },
    expected = { [name] = "first" },
    expected_sensitive = {},
  }
end

local function err(code, name, message)
  return { code = code, name = name, message = message }
end

local to_nv = {
  {
    "lower-cases names and renders the integer :status",
    input = { [":status"] = 200, ["Content-Type"] = "text/plain" },
    expected = { { ":status", "200" }, { "content-type", "text/plain" } },
  },
  {
    "sends a sequence value as repeated fields (the document's ABC example)",
    input = { [":status"] = "200", ["content-type"] = "text-plain",
              ABC = { "has", "more", "than", "one", "value" } },
    expected = { { ":status", "200" }, { "content-type", "text-plain" }, { "abc", "has" },
                 { "abc", "more" }, { "abc", "than" }, { "abc", "one" }, { "abc", "value" } },
  },
  {
    "puts the pseudo-headers before the other fields",
    input = { a = "1", b = "2", c = "3", [":method"] = "GET", [":path"] = "/", d = "4",
              [":scheme"] = "http", [":authority"] = "h" },
    expected = { { ":method", "GET" }, { ":path", "/" }, { ":scheme", "http" },
                 { ":authority", "h" }, { "a", "1" }, { "b", "2" }, { "c", "3" }, { "d", "4" } },
  },
  {
    "renders numbers as JavaScript does",
    input = { a = 1.5, b = 200.0, c = 1e21, d = 0.1, e = 1 / 3, f = 1.5e-7, g = 1e20,
              h = -0.0, i = 2 ^ 53 + 2, j = 5e-324, k = -42, l = 1e-6 },
    expected = { { "a", "1.5" }, { "b", "200" }, { "c", "1e+21" }, { "d", "0.1" },
                 { "e", "0.3333333333333333" }, { "f", "1.5e-7" },
                 { "g", "100000000000000000000" }, { "h", "0" }, { "i", "9007199254740994" },
                 { "j", "5e-324" }, { "k", "-42" }, { "l", "0.000001" } },
  },
  {
    "renders NaN and infinities as JavaScript does",
    input = { a = 0 / 0, b = 1 / 0, c = -1 / 0 },
    expected = { { "a", "NaN" }, { "b", "Infinity" }, { "c", "-Infinity" } },
  },
  {
    "renders booleans as true and false",
    input = { a = true, b = false },
    expected = { { "a", "true" }, { "b", "false" } },
  },
  {
    "sends a one-element sequence of a single-value field as one field",
    input = { age = { 1 }, [":status"] = { 200 } },
    expected = { { ":status", "200" }, { "age", "1" } },
  },
  {
    "skips empty sequences, even of forbidden fields, and the empty name",
    input = { x = {}, connection = {}, [""] = "1", y = "2" },
    expected = { { "y", "2" } },
    ordered = true,
  },
  {
    "allows te: trailers",
    input = { te = "trailers" },
    expected = { { "te", "trailers" } },
    ordered = true,
  },
  {
    "allows TE given as { 'trailers' }",
    input = { TE = { "trailers" } },
    expected = { { "te", "trailers" } },
    ordered = true,
  },
  {
    "accepts upper-case pseudo-header names, lower-cased",
    input = { [":PATH"] = "/", [":Method"] = "GET" },
    expected = { { ":path", "/" }, { ":method", "GET" } },
  },
  {
    "marks the fields listed under [sensitiveHeaders], in any case",
    input = { [":status"] = "200", ["content-type"] = "text-plain",
              cookie = "some-cookie-that-is-long-enough", ["other-sensitive-header"] = "very secret data",
              [SENSITIVE] = { "Cookie", "other-sensitive-header" } },
    expected = { { ":status", "200", 0 }, { "content-type", "text-plain", 0 },
                 { "cookie", "some-cookie-that-is-long-enough", 1 },
                 { "other-sensitive-header", "very secret data", 1 } },
  },
  {
    "marks every field of a listed repeated field",
    input = { x = { "1", "2" }, y = "3", [SENSITIVE] = { "x" } },
    expected = { { "x", "1", 1 }, { "x", "2", 1 }, { "y", "3", 0 } },
  },
  {
    "marks authorization and a short cookie sensitive by itself",
    input = { authorization = "Bearer 0123456789abcdefghij", cookie = "a=1",
              ["set-cookie"] = "a=1" },
    expected = { { "authorization", "Bearer 0123456789abcdefghij", 1 }, { "cookie", "a=1", 1 },
                 { "set-cookie", "a=1", 0 } },
    lode_only = "Node leaves this to nghttp2's deflater, which never indexes these either",
  },
  {
    "leaves a cookie of 20 bytes or more to the compressor",
    input = { cookie = "0123456789abcdefghij" },
    expected = { { "cookie", "0123456789abcdefghij" } },
    ordered = true,
  },
  {
    "takes the flat raw form, keeping its order with pseudo-headers first",
    input = { "b", "1", ":status", "200", "A", "2", "b", "3" },
    expected = { { ":status", "200" }, { "b", "1" }, { "a", "2" }, { "b", "3" } },
    ordered = true,
    lode_only = "Node 20 takes objects only; API.md accepts the flat form wherever Node takes raw arrays",
  },
  {
    "takes [sensitiveHeaders] on the flat raw form",
    input = { ":status", "200", "x", "secret", [SENSITIVE] = { "x" } },
    expected = { { ":status", "200", 0 }, { "x", "secret", 1 } },
    ordered = true,
    lode_only = "flat form",
  },
  {
    "lets a response carry :status",
    mode = "response",
    input = { [":status"] = 204 },
    expected = { { ":status", "204" } },
    ordered = true,
  },
  -- errors
  {
    "raises ERR_HTTP2_HEADER_SINGLE_VALUE for a sequence of two ages",
    input = { age = { 1, 2 } },
    error = err("ERR_HTTP2_HEADER_SINGLE_VALUE", "TypeError",
      'Header field "age" must only have a single value'),
  },
  {
    "raises ERR_HTTP2_HEADER_SINGLE_VALUE for two :status values",
    input = { [":status"] = { 200, 201 } },
    error = err("ERR_HTTP2_HEADER_SINGLE_VALUE", "TypeError",
      'Header field ":status" must only have a single value'),
  },
  {
    "raises ERR_HTTP2_HEADER_SINGLE_VALUE for Age beside age",
    input = { age = 1, Age = 2 },
    error = err("ERR_HTTP2_HEADER_SINGLE_VALUE", "TypeError",
      'Header field "age" must only have a single value'),
  },
  {
    "raises ERR_HTTP2_HEADER_SINGLE_VALUE for :PATH beside :path",
    input = { [":path"] = "/", [":PATH"] = "/x" },
    error = err("ERR_HTTP2_HEADER_SINGLE_VALUE", "TypeError",
      'Header field ":path" must only have a single value'),
  },
  {
    "raises ERR_HTTP2_HEADER_SINGLE_VALUE for a repeated single-value field in the flat form",
    input = { "content-type", "a", "content-type", "b" },
    error = err("ERR_HTTP2_HEADER_SINGLE_VALUE", "TypeError",
      'Header field "content-type" must only have a single value'),
    lode_only = "flat form",
  },
  {
    "raises ERR_INVALID_HTTP_TOKEN for a name with a space",
    input = { ["x y"] = "1" },
    error = err("ERR_INVALID_HTTP_TOKEN", "TypeError",
      'Header name must be a valid HTTP token ["x y"]'),
  },
  {
    "raises ERR_INVALID_HTTP_TOKEN for a name with '@'",
    input = { ["x@y"] = "1" },
    error = err("ERR_INVALID_HTTP_TOKEN", "TypeError",
      'Header name must be a valid HTTP token ["x@y"]'),
    lode_only = "Node sends it and the peer drops the field; lode refuses it up front",
  },
  {
    "raises ERR_INVALID_HTTP_TOKEN for a non-ASCII name",
    input = { ["x-\195\188"] = "1" },
    error = err("ERR_INVALID_HTTP_TOKEN", "TypeError"),
    lode_only = "Node sends it and the peer drops the field; lode refuses it up front",
  },
  {
    "raises ERR_INVALID_CHAR for a line feed in a value",
    input = { x = "a\nb" },
    error = err("ERR_INVALID_CHAR", "TypeError", 'Invalid character in header content ["x"]'),
    lode_only = "Node's core API sends it and the peer drops the field; its compat API raises this",
  },
  {
    "raises ERR_INVALID_CHAR for a NUL in a value",
    input = { x = "a\0b" },
    error = err("ERR_INVALID_CHAR", "TypeError", 'Invalid character in header content ["x"]'),
    lode_only = "Node sends it and the peer resets the stream",
  },
  {
    "raises ERR_HTTP2_INVALID_PSEUDOHEADER for an unknown pseudo-header",
    input = { [":foo"] = "1" },
    error = err("ERR_HTTP2_INVALID_PSEUDOHEADER", "TypeError",
      '":foo" is an invalid pseudoheader or is used incorrectly'),
  },
  {
    "raises ERR_HTTP2_INVALID_PSEUDOHEADER for :path in a response",
    mode = "response",
    input = { [":status"] = 200, [":path"] = "/" },
    error = err("ERR_HTTP2_INVALID_PSEUDOHEADER", "TypeError",
      '":path" is an invalid pseudoheader or is used incorrectly'),
  },
  {
    "raises ERR_HTTP2_INVALID_PSEUDOHEADER for any pseudo-header in trailers",
    mode = "trailer",
    input = { [":status"] = 200 },
    error = err("ERR_HTTP2_INVALID_PSEUDOHEADER", "TypeError",
      '":status" is an invalid pseudoheader or is used incorrectly'),
  },
  {
    "raises ERR_HTTP2_INVALID_CONNECTION_HEADERS for te other than trailers",
    input = { te = "gzip" },
    error = err("ERR_HTTP2_INVALID_CONNECTION_HEADERS", "TypeError",
      'HTTP/1 Connection specific headers are forbidden: "te"'),
  },
  {
    "raises ERR_HTTP2_INVALID_CONNECTION_HEADERS for TE: Trailers (the value is case-sensitive)",
    input = { TE = "Trailers" },
    error = err("ERR_HTTP2_INVALID_CONNECTION_HEADERS", "TypeError",
      'HTTP/1 Connection specific headers are forbidden: "te"'),
  },
  {
    "raises ERR_HTTP2_INVALID_CONNECTION_HEADERS for te given trailers and more",
    input = { te = { "trailers", "gzip" } },
    error = err("ERR_HTTP2_INVALID_CONNECTION_HEADERS", "TypeError",
      'HTTP/1 Connection specific headers are forbidden: "te"'),
  },
}

for _, name in ipairs { "connection", "upgrade", "http2-settings", "transfer-encoding",
                        "keep-alive", "proxy-connection" } do
  to_nv[#to_nv + 1] = {
    "raises ERR_HTTP2_INVALID_CONNECTION_HEADERS for " .. name,
    input = { [name] = "x" },
    error = err("ERR_HTTP2_INVALID_CONNECTION_HEADERS", "TypeError",
      'HTTP/1 Connection specific headers are forbidden: "' .. name .. '"'),
  }
end

return { from_nv = from_nv, to_nv = to_nv }
