-- lode.util: Node's util.format / util.inspect / isDeepStrictEqual / deprecate for Lua values.

local util = require "lode.util"
local errors = require "lode.errors"
local Object = require "lode.class"

local inspect, format = util.inspect, util.format

describe("util.inspect()", function()
  it("renders nil, booleans and integers", function()
    assert.equal("nil", inspect(nil))
    assert.equal("true", inspect(true))
    assert.equal("false", inspect(false))
    assert.equal("42", inspect(42))
    assert.equal("-7", inspect(-7))
  end)

  it("renders floats as JavaScript does", function()
    assert.equal("42", inspect(42.0))
    assert.equal("1.5", inspect(1.5))
    assert.equal("0.30000000000000004", inspect(0.1 + 0.2))
    assert.equal("0.7999999999999999", inspect(0.1 + 0.7))
    assert.equal("123456789.123", inspect(123456789.123))
    assert.equal("9007199254740992", inspect(2.0 ^ 53))
    assert.equal("100000000000000000000", inspect(1e20))
    assert.equal("1e+21", inspect(1e21))
    assert.equal("1.5e+300", inspect(1.5e300))
    assert.equal("0.000001", inspect(1e-6))
    assert.equal("1e-7", inspect(1e-7))
  end)

  it("renders -0, NaN and the infinities as JavaScript does", function()
    assert.equal("-0", inspect(-0.0))
    assert.equal("NaN", inspect(0 / 0))
    assert.equal("Infinity", inspect(math.huge))
    assert.equal("-Infinity", inspect(-math.huge))
  end)

  it("quotes strings with single quotes, or the quote the string does not contain", function()
    assert.equal("'abc'", inspect("abc"))
    assert.equal([["it's"]], inspect("it's"))
    assert.equal([[`a"b'c`]], inspect([[a"b'c]]))
    assert.equal([['a"b\'c`']], inspect([[a"b'c`]]))
  end)

  it("escapes control characters and backslashes", function()
    assert.equal([['a\nb\tc\x01\x7F\\']], inspect("a\nb\tc\1\127\\"))
  end)

  it("keeps UTF-8 text and shows bytes that are not UTF-8 as \\xNN", function()
    assert.equal("'héllo'", inspect("héllo"))
    assert.equal([['\xFF\x00']], inspect("\255\0"))
  end)

  it("cuts strings longer than maxStringLength", function()
    assert.equal("'abc'... 7 more characters", inspect("abcdefghij", { maxStringLength = 3 }))
  end)

  it("renders tables in constructor syntax: the sequence, then the other keys sorted", function()
    assert.equal("{ 1, 2, a = 'x' }", inspect({ 1, 2, a = "x" }))
    assert.equal("{ a = 1, b = 2, c = 3 }", inspect({ c = 3, a = 1, b = 2 }))
  end)

  it("brackets keys that are not identifiers", function()
    assert.equal("{ [5] = true, ['a-b'] = 1, ['end'] = 2 }",
      inspect({ ["a-b"] = 1, ["end"] = 2, [5] = true }))
    assert.equal("{ [1.5] = 'x', [true] = 'y' }", inspect({ [1.5] = "x", [true] = "y" }))
  end)

  it("renders an empty table as {}", function()
    assert.equal("{}", inspect({}))
    assert.equal("{ a = {} }", inspect({ a = {} }))
  end)

  it("shows tables deeper than depth 2 as {...}", function()
    assert.equal("{ a = { b = { c = {...} } } }", inspect({ a = { b = { c = { d = 1 } } } }))
    assert.equal("{ a = { b = { c = {} } } }", inspect({ a = { b = { c = {} } } }))
  end)

  it("takes the depth option", function()
    assert.equal("{ a = {...} }", inspect({ a = { b = 1 } }, { depth = 0 }))
    assert.equal("{...}", inspect({ a = 1 }, { depth = -1 }))
    assert.equal("{ a = { b = {...} } }", inspect({ a = { b = { c = 1 } } }, { depth = 1 }))
  end)

  it("keeps at most the 3 innermost levels on one line, as Node's compact mode", function()
    assert.equal("{\n  a = {\n    b = { c = { d = { e = 1 } } }\n  }\n}",
      inspect({ a = { b = { c = { d = { e = 1 } } } } }, { depth = math.huge }))
  end)

  it("marks a cycle with <cycle>", function()
    local t = { name = "t" }
    t.self = t
    assert.equal("{ name = 't', self = <cycle> }", inspect(t))
  end)

  it("renders a table met twice without a cycle in full both times", function()
    local shared = { 1 }
    assert.equal("{ a = { 1 }, b = { 1 } }", inspect({ a = shared, b = shared }))
  end)

  it("breaks long output into one entry per line with a 2-space indent, as Node", function()
    local t = { key0 = "value0000000000", key1 = "value1111111111", key2 = "value2222222222",
      key3 = "value3333333333" }
    assert.equal([[
{
  key0 = 'value0000000000',
  key1 = 'value1111111111',
  key2 = 'value2222222222',
  key3 = 'value3333333333'
}]], inspect(t))
  end)

  it("indents nested tables that break", function()
    local long = ("x"):rep(70)
    assert.equal("{\n  a = {\n    k = '" .. long .. "',\n    l = 1\n  }\n}",
      inspect({ a = { k = long, l = 1 } }))
  end)

  it("lays out long sequences of numbers in right-aligned columns, as Node", function()
    local t = {}
    for i = 0, 29 do t[#t + 1] = i * 1000 end
    assert.equal([[
{
      0,  1000,  2000,  3000,  4000,
   5000,  6000,  7000,  8000,  9000,
  10000, 11000, 12000, 13000, 14000,
  15000, 16000, 17000, 18000, 19000,
  20000, 21000, 22000, 23000, 24000,
  25000, 26000, 27000, 28000, 29000
}]], inspect(t))
  end)

  it("shows at most maxArrayLength sequence items", function()
    assert.equal("{ 1, 2, ... 3 more items }", inspect({ 1, 2, 3, 4, 5 }, { maxArrayLength = 2 }))
  end)

  it("names standard functions and places Lua functions", function()
    assert.equal("[Function: print]", inspect(print))
    assert.equal("[Function: string.format]", inspect(string.format))
    local line = debug.getinfo(1, "l").currentline + 1
    local f = function() end
    assert.equal("[Function (" .. debug.getinfo(1, "S").short_src .. ":" .. line .. ")]", inspect(f))
  end)

  it("prefixes an instance of a lode class with the class name", function()
    local Point = Object:extend("Point")
    function Point:constructor(x, y) self.x, self.y = x, y end
    assert.equal("Point { x = 1, y = 2 }", inspect(Point.new(1, 2)))
    assert.equal("Point {}", inspect(Point.new()))
    assert.equal("{ p = Point { x = 3, y = 4 } }", inspect({ p = Point.new(3, 4) }))
  end)

  it("uses __tostring of a table that is no class instance", function()
    local t = setmetatable({}, { __tostring = function() return "custom!" end })
    assert.equal("custom!", inspect(t))
    assert.equal("{ custom! }", inspect({ t }))
  end)

  it("uses a class's __inspect when it has one", function()
    local Thing = Object:extend("Thing")
    function Thing.__inspect() return "<thing>" end
    assert.equal("{ t = <thing> }", inspect({ t = Thing.new() }))
  end)

  it("renders an error as its stack, with its other fields", function()
    local err = errors.Error.new("boom")
    err.code = "E_BOOM"
    local s = inspect(err)
    assert.equal("Error: boom\nstack traceback:", s:match("^[^\n]*\n[^\n]*"))
    assert.truthy(s:find(" {\n  code = 'E_BOOM'\n}$"))
  end)

  it("renders an error inside a table as [tostring(err)]", function()
    local err = errors.TypeError.new("bad")
    assert.equal("{ err = [TypeError: bad] }", inspect({ err = err }))
  end)

  it("renders userdata through tostring", function()
    assert.matches("^file %(0x%x+%)$", inspect(io.stdout))
  end)

  it("never raises, whatever the metamethods do", function()
    local raising = function() error("nope") end
    local t = setmetatable({ a = 1 }, { __index = raising, __pairs = raising, __newindex = raising })
    assert.equal("{ a = 1 }", inspect(t))
    local bad_tostring = setmetatable({}, { __tostring = raising })
    assert.equal("<table>", inspect(bad_tostring))
    local protected = setmetatable({ b = 2 }, { __metatable = "locked" })
    assert.equal("{ b = 2 }", inspect(protected))
  end)
end)

describe("util.format()", function()
  it("returns a lone string as it is, %% included", function()
    assert.equal("100%%", format("100%%"))
  end)

  it("puts strings in %s as they are and numbers as JavaScript prints them", function()
    assert.equal("a=x n=42 f=1.5", format("a=%s n=%s f=%s", "x", 42.0, 1.5))
  end)

  it("renders nil and booleans in %s", function()
    assert.equal("nil true", format("%s %s", nil, true))
  end)

  it("inspects a table in %s one level deep", function()
    assert.equal("{ a = {...} }", format("%s", { a = { b = 1 } }))
  end)

  it("uses __tostring in %s when the table has one", function()
    local t = setmetatable({}, { __tostring = function() return "T!" end })
    assert.equal("T!", format("%s", t))
  end)

  it("converts %d as JavaScript's Number()", function()
    assert.equal("42.5 16 0 NaN NaN", format("%d %d %d %d %d", 42.5, "0x10", "", "abc", {}))
  end)

  it("converts %i as parseInt() and %f as parseFloat()", function()
    assert.equal("42 -26 NaN", format("%i %i %i", 42.5, "-0x1A", "abc"))
    assert.equal("1500 0.5 NaN", format("%f %f %f", "1.5e3abc", ".5", "x"))
  end)

  it("renders %j as JSON", function()
    assert.equal('{"a":[1,2],"b":"x\\n"}', format("%j", { a = { 1, 2 }, b = "x\n" }))
  end)

  it("renders %j of a cycle as [Circular]", function()
    local t = {}
    t.t = t
    assert.equal("[Circular]", format("%j", t))
  end)

  it("inspects %O with the default depth and %o four levels deep", function()
    local t = { a = { b = { c = { d = { e = 1 } } } } }
    assert.equal("{ a = { b = { c = {...} } } }", format("%O", t))
    assert.equal("{\n  a = {\n    b = { c = { d = { e = 1 } } }\n  }\n}", format("%o", t))
  end)

  it("turns %% into % when arguments follow", function()
    assert.equal("100% x", format("100%% %s", "x"))
  end)

  it("leaves placeholders with no argument left as they are", function()
    assert.equal("a:%s", format("%s:%s", "a"))
  end)

  it("consumes %c and prints nothing for it", function()
    assert.equal("x", format("%c%s", "color: red", "x"))
  end)

  it("appends extra arguments separated by spaces, inspecting all but strings", function()
    assert.equal("a b 3 { 1 }", format("a", "b", 3, { 1 }))
  end)

  it("inspects every argument when the first is not a string", function()
    assert.equal("1 x { a = 1 }", format(1, "x", { a = 1 }))
  end)

  it("counts nil arguments in the middle and at the end", function()
    assert.equal("a nil b nil", format("a", nil, "b", nil))
  end)

  it("returns an empty string for no arguments", function()
    assert.equal("", format())
  end)
end)

describe("util.isDeepStrictEqual()", function()
  local eq = util.isDeepStrictEqual

  it("compares nested tables by content", function()
    assert.is_true(eq({ 1, { a = "x" } }, { 1, { a = "x" } }))
  end)

  it("finds a differing value, a missing key or an extra key", function()
    assert.is_false(eq({ a = 1 }, { a = 2 }))
    assert.is_false(eq({ a = 1, b = 2 }, { a = 1 }))
    assert.is_false(eq({ a = 1 }, { a = 1, b = 2 }))
  end)

  it("requires the same metatable", function()
    assert.is_false(eq(setmetatable({}, {}), {}))
  end)

  it("compares numbers as Object.is: NaN equals NaN, 0 and -0 differ, 1 equals 1.0", function()
    assert.is_true(eq(0 / 0, 0 / 0))
    assert.is_false(eq(0.0, -0.0))
    assert.is_true(eq(1, 1.0))
  end)

  it("does not convert between types", function()
    assert.is_false(eq(1, "1"))
  end)

  it("terminates on cycles", function()
    local a, b = {}, {}
    a.self, b.self = a, b
    assert.is_true(eq(a, b))
  end)

  it("ignores the stack of errors", function()
    local e1 = errors.Error.new("x")
    local e2 = (function() return errors.Error.new("x") end)()
    assert.is_true(eq(e1, e2))
  end)
end)

describe("util.deprecate()", function()
  local saved, warnings

  before_each(function()
    saved = package.loaded["lode.process"]
    warnings = {}
    package.loaded["lode.process"] = {
      emitWarning = function(...) warnings[#warnings + 1] = { ... } end,
    }
  end)

  after_each(function()
    package.loaded["lode.process"] = saved
  end)

  it("returns a function that calls the original with all arguments", function()
    local f = util.deprecate(function(a, b, c) return a, b, c end, "old")
    assert.same({ 1, nil, 3 }, { f(1, nil, 3) })
  end)

  it("warns once with a DeprecationWarning through process.emitWarning", function()
    local f = util.deprecate(function() end, "f() is deprecated", "DEP_LODE_TEST1")
    f()
    f()
    assert.same({ { "f() is deprecated", "DeprecationWarning", "DEP_LODE_TEST1" } }, warnings)
  end)

  it("warns once per code, across functions", function()
    local f = util.deprecate(function() end, "x", "DEP_LODE_TEST2")
    local g = util.deprecate(function() end, "x", "DEP_LODE_TEST2")
    f()
    g()
    assert.equal(1, #warnings)
  end)

  it("raises ERR_INVALID_ARG_TYPE for something that is not a function", function()
    local ok, err = pcall(util.deprecate, 42, "x")
    assert.is_false(ok)
    assert.equal("ERR_INVALID_ARG_TYPE", err.code)
  end)
end)
