-- lode.http2.headers: Node's mapToHeaders / toHeaderObject and the sensitiveHeaders sentinel.
-- The conversion cases live in spec/http2/headers_cases.lua (checked against Node 20.20).

local headers = require "lode.http2.headers"
-- Loaded by path, beside this file, so the spec runs whatever package.path the runner sets.
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local cases = dofile(here .. "headers_cases.lua")

local SENSITIVE = headers.sensitiveHeaders

local ASSERTS = {
  response = headers.assert_valid_pseudo_response,
  trailer = headers.assert_valid_pseudo_trailer,
}

-- The fields of a to_nv result as { name, value, flag } triples.
local function triples(names, values, flags, n)
  local t = {}
  for i = 1, n do t[i] = { names[i], values[i], flags and flags[i] or 0 } end
  return t
end

local function sorted(list)
  local copy = {}
  for i, f in ipairs(list) do copy[i] = f end
  table.sort(copy, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[3] < b[3]
  end)
  return copy
end

-- Calls fn and returns the error it raises (failing when it raises none).
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return err
end

-- pairs() over t, into a plain table.
local function fields(t)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  return out
end

describe("http2.sensitiveHeaders", function()
  it("prints as Node 20's symbol does", function()
    assert.are.equal("Symbol(sensitiveHeaders)", tostring(SENSITIVE))
  end)

  it("is one unique value", function()
    assert.are.equal(SENSITIVE, require("lode.http2.headers").sensitiveHeaders)
    assert.are_not.equal(SENSITIVE, {})
  end)
end)

describe("headers.from_nv()", function()
  for _, case in ipairs(cases.from_nv) do
    it(case[1], function()
      local obj = headers.from_nv(case.input, case.sensitive)
      assert.are.same(case.expected, fields(obj))
      assert.are.same(case.expected_sensitive, obj[SENSITIVE])
    end)
  end

  it("returns the flat sequence itself as rawHeaders", function()
    local nv = { ":status", "200", "x", "1", "x", "2" }
    local _, raw = headers.from_nv(nv)
    assert.are.equal(nv, raw)
    assert.are.same({ ":status", "200", "x", "1", "x", "2" }, raw)
  end)

  it("gives :status as a Lua integer", function()
    local obj = headers.from_nv({ ":status", "404" })
    assert.are.equal("integer", math.type(obj[":status"]))
  end)

  it("wraps a huge :status to 32 bits as JavaScript's | 0 does", function()
    assert.are.equal(-1, headers.from_nv({ ":status", "4294967295" })[":status"])
  end)

  it("always carries [sensitiveHeaders], an empty sequence when nothing is sensitive", function()
    local obj = headers.from_nv({ "a", "b" })
    assert.are.same({}, obj[SENSITIVE])
  end)

  it("hides [sensitiveHeaders] from pairs()", function()
    local obj = headers.from_nv({ "a", "b", "c", "d" }, { 1, 0 })
    local keys = {}
    for k in pairs(obj) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "a", "c" }, keys)
    assert.are.same({ "a" }, obj[SENSITIVE])
  end)

  it("hides [sensitiveHeaders] from pairs() when the table holds only it", function()
    local obj = headers.from_nv({})
    assert.is_nil(pairs(obj)(obj))
  end)

  it("returns a new table on every call", function()
    local nv = { "a", "b" }
    assert.are_not.equal(headers.from_nv(nv), headers.from_nv(nv))
  end)
end)

describe("headers.to_nv()", function()
  for _, case in ipairs(cases.to_nv) do
    it(case[1], function()
      local check = ASSERTS[case.mode]
      if case.error then
        local err = raised(headers.to_nv, case.input, check)
        assert.are.equal(case.error.code, err.code)
        assert.are.equal(case.error.name, err.name)
        if case.error.message then assert.are.equal(case.error.message, err.message) end
        return
      end
      local names, values, flags, n = headers.to_nv(case.input, check)
      local got = triples(names, values, flags, n)
      local expected = {}
      for i, f in ipairs(case.expected) do expected[i] = { f[1], f[2], f[3] or 0 } end
      if case.ordered then
        assert.are.same(expected, got)
      else
        assert.are.same(sorted(expected), sorted(got))
      end
    end)
  end

  it("returns the field count as the fourth value", function()
    local _, _, _, n = headers.to_nv({ [":status"] = 200, a = { "1", "2", "3" } })
    assert.are.equal(4, n)
  end)

  it("returns nil flags when no field is sensitive", function()
    local _, _, flags = headers.to_nv({ [":status"] = 200, ["content-type"] = "text/plain" })
    assert.is_nil(flags)
  end)

  it("returns a flag for every field once one is sensitive", function()
    local _, _, flags, n = headers.to_nv({ "a", "1", "b", "2", "c", "3", [SENSITIVE] = { "b" } })
    assert.are.equal(3, n)
    assert.are.same({ 0, 1, 0 }, flags)
  end)

  it("puts every pseudo-header before every other field", function()
    local names, _, _, n = headers.to_nv({
      z = "1", [":status"] = 200, a = "2", m = { "3", "4" }, b = "5", y = "6", c = "7",
    }, headers.assert_valid_pseudo_response)
    assert.are.equal(8, n)
    assert.are.equal(":status", names[1])
    for i = 2, n do assert.are_not.equal(":", names[i]:sub(1, 1)) end
  end)

  it("accepts an incoming headers table (its sentinel included) as outgoing headers", function()
    local incoming = headers.from_nv({ ":status", "200", "x", "secret" }, { 0, 1 })
    local names, values, flags = headers.to_nv(incoming)
    assert.are.same({ ":status", "x" }, names)
    assert.are.same({ "200", "secret" }, values)
    assert.are.same({ 0, 1 }, flags)
  end)

  it("does not change the table it is given", function()
    local tbl = { ["Content-Type"] = "a", x = { "1", "2" }, [SENSITIVE] = { "X" } }
    headers.to_nv(tbl)
    assert.are.same({ ["Content-Type"] = "a", x = { "1", "2" }, [SENSITIVE] = { "X" } }, tbl)
  end)

  it("checks te's value on every call, not just the first", function()
    headers.to_nv({ te = "trailers" })
    local err = raised(headers.to_nv, { te = "gzip" })
    assert.are.equal("ERR_HTTP2_INVALID_CONNECTION_HEADERS", err.code)
  end)

  it("still rejects an invalid value under a name it has cached", function()
    headers.to_nv({ ["x-cached"] = "fine" })
    local err = raised(headers.to_nv, { ["x-cached"] = "bad\r\nvalue" })
    assert.are.equal("ERR_INVALID_CHAR", err.code)
  end)

  it("still rejects a cached valid value's name when it is invalid", function()
    headers.to_nv({ ok = "same-value" })
    local err = raised(headers.to_nv, { ["not ok"] = "same-value" })
    assert.are.equal("ERR_INVALID_HTTP_TOKEN", err.code)
  end)

  it("keeps working after more distinct names than its cache holds", function()
    for i = 1, 2000 do
      local names = headers.to_nv({ ["X-Name-" .. i] = "v" .. i })
      assert.are.equal("x-name-" .. i, names[1])
    end
    local err = raised(headers.to_nv, { ["x y"] = "1" })
    assert.are.equal("ERR_INVALID_HTTP_TOKEN", err.code)
  end)

  it("takes a custom pseudo-header check that returns its error", function()
    local marker = { code = "MARKER" }
    local err = raised(headers.to_nv, { [":path"] = "/" }, function() return marker end)
    assert.are.equal(marker, err)
  end)

  it("raises ERR_INVALID_ARG_TYPE for headers that are not a table", function()
    local err = raised(headers.to_nv, "x")
    assert.are.equal("ERR_INVALID_ARG_TYPE", err.code)
    assert.are.equal("TypeError", err.name)
  end)
end)

describe("headers.is_valid_token()", function()
  it("accepts every token character", function()
    assert.is_true(headers.is_valid_token("azAZ09!#$%&'*+-.^_`|~"))
  end)

  it("rejects the empty string", function()
    assert.is_false(headers.is_valid_token(""))
  end)

  it("rejects separators, spaces, controls and non-ASCII bytes", function()
    for _, s in ipairs { "a b", "a:b", "a@b", "a,b", "a/b", "(a)", "a\"b", "a\tb", "a\0b", "\195\188" } do
      assert.is_false(headers.is_valid_token(s), s)
    end
  end)

  it("rejects non-strings", function()
    assert.is_false(headers.is_valid_token(42))
    assert.is_false(headers.is_valid_token(nil))
  end)
end)

describe("headers.assert_valid_pseudo()", function()
  it("accepts the six pseudo-headers", function()
    for _, name in ipairs { ":status", ":method", ":authority", ":scheme", ":path", ":protocol" } do
      assert.has_no.errors(function() headers.assert_valid_pseudo(name) end)
    end
  end)

  it("raises ERR_HTTP2_INVALID_PSEUDOHEADER for any other name", function()
    local err = raised(headers.assert_valid_pseudo, ":foo")
    assert.are.equal("ERR_HTTP2_INVALID_PSEUDOHEADER", err.code)
    assert.are.equal("TypeError", err.name)
    assert.are.equal('":foo" is an invalid pseudoheader or is used incorrectly', err.message)
  end)
end)
