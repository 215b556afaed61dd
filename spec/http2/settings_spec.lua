-- lode.http2.settings: every expected value below is what Node 20.20 gives for the same input.

local settings = require "lode.http2.settings"
local base64 = require "lode.base64"

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

-- Calls fn and returns the error it raises (failing when it raises none).
local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  return err
end

-- Runs fn with lode.process replaced by a stub that records emitWarning's messages.
local function with_warnings(fn)
  local saved = package.loaded["lode.process"]
  local warnings = {}
  package.loaded["lode.process"] = { emitWarning = function(msg) warnings[#warnings + 1] = msg end }
  local ok, err = pcall(fn)
  package.loaded["lode.process"] = saved
  if not ok then error(err, 0) end
  return warnings
end

describe("http2.getDefaultSettings()", function()
  it("returns Node 20's defaults", function()
    assert.are.same({
      headerTableSize = 4096,
      enablePush = true,
      initialWindowSize = 65535,
      maxFrameSize = 16384,
      maxConcurrentStreams = 4294967295,
      maxHeaderSize = 65535,
      maxHeaderListSize = 65535,
      enableConnectProtocol = false,
    }, settings.getDefaultSettings())
  end)

  it("returns a new table on every call", function()
    local a = settings.getDefaultSettings()
    a.headerTableSize = 1
    assert.are.equal(4096, settings.getDefaultSettings().headerTableSize)
  end)
end)

describe("http2.getPackedSettings()", function()
  it("packs { enablePush = false } to AAIAAAAA", function()
    assert.are.equal("AAIAAAAA", base64.encode(settings.getPackedSettings({ enablePush = false })))
  end)

  it("packs nothing for no settings", function()
    assert.are.equal("", settings.getPackedSettings())
  end)

  it("packs nothing for an empty table", function()
    assert.are.equal("", settings.getPackedSettings({}))
  end)

  it("packs every setting in Node's order: ids 1, 2, 3, 4, 5, 6, 8", function()
    local packed = settings.getPackedSettings({
      enableConnectProtocol = true, maxHeaderListSize = 4, maxFrameSize = 16385,
      initialWindowSize = 2, maxConcurrentStreams = 3, enablePush = true, headerTableSize = 1,
    })
    assert.are.equal("AAEAAAABAAIAAAABAAMAAAADAAQAAAACAAUAAEABAAYAAAAEAAgAAAAB", base64.encode(packed))
  end)

  it("packs the largest values each setting allows", function()
    assert.are.equal("0001ffffffff", hex(settings.getPackedSettings({ headerTableSize = 2^32 - 1 })))
    assert.are.equal("00047fffffff", hex(settings.getPackedSettings({ initialWindowSize = 2^31 - 1 })))
    assert.are.equal("000500ffffff", hex(settings.getPackedSettings({ maxFrameSize = 2^24 - 1 })))
    assert.are.equal("000380000000", hex(settings.getPackedSettings({ maxConcurrentStreams = 2^31 })))
  end)

  it("packs maxHeaderSize as maxHeaderListSize", function()
    with_warnings(function()
      assert.are.equal("000600000064", hex(settings.getPackedSettings({ maxHeaderSize = 100 })))
    end)
  end)

  it("packs maxHeaderSize over a different maxHeaderListSize", function()
    with_warnings(function()
      local packed = settings.getPackedSettings({ maxHeaderSize = 100, maxHeaderListSize = 200 })
      assert.are.equal("000600000064", hex(packed))
    end)
  end)

  it("truncates a fractional value as Node's Uint32Array does", function()
    assert.are.equal("000100000001", hex(settings.getPackedSettings({ headerTableSize = 1.5 })))
  end)

  it("packs a NaN value as 0, as Node does", function()
    assert.are.equal("000100000000", hex(settings.getPackedSettings({ headerTableSize = 0 / 0 })))
  end)

  it("ignores keys it does not know", function()
    assert.are.equal("", settings.getPackedSettings({ foo = 1 }))
  end)

  it("packs customSettings after the named settings", function()
    local packed = settings.getPackedSettings({ customSettings = { [9] = 1 }, headerTableSize = 7 })
    assert.are.equal("000100000007000900000001", hex(packed))
  end)

  it("raises ERR_INVALID_ARG_TYPE for settings that are not a table", function()
    local err = raised(settings.getPackedSettings, "x")
    assert.are.equal("ERR_INVALID_ARG_TYPE", err.code)
    assert.are.equal("TypeError", err.name)
  end)

  it("raises ERR_INVALID_ARG_TYPE for a sequence, as Node does for an Array", function()
    local err = raised(settings.getPackedSettings, { 1, 2 })
    assert.are.equal("ERR_INVALID_ARG_TYPE", err.code)
  end)

  it("raises a RangeError ERR_HTTP2_INVALID_SETTING_VALUE for headerTableSize = -1", function()
    local err = raised(settings.getPackedSettings, { headerTableSize = -1 })
    assert.are.equal("ERR_HTTP2_INVALID_SETTING_VALUE", err.code)
    assert.are.equal("RangeError", err.name)
    assert.are.equal('Invalid value for setting "headerTableSize": -1', err.message)
  end)
end)

describe("settings.validate()", function()
  -- { key, value, expected name } for every out-of-range or mistyped value probed in Node 20.
  local invalid = {
    { "headerTableSize", -1, "RangeError" },
    { "headerTableSize", 2^32, "RangeError" },
    { "headerTableSize", "10", "RangeError" },
    { "headerTableSize", 1 / 0, "RangeError" },
    { "headerTableSize", 2^32 - 0.5, "RangeError" },
    { "initialWindowSize", -1, "RangeError" },
    { "initialWindowSize", 2^31, "RangeError" },
    { "initialWindowSize", -0.5, "RangeError" },
    { "maxFrameSize", 16383, "RangeError" },
    { "maxFrameSize", 2^24, "RangeError" },
    { "maxConcurrentStreams", -1, "RangeError" },
    { "maxConcurrentStreams", 2^32, "RangeError" },
    { "maxHeaderListSize", -1, "RangeError" },
    { "maxHeaderListSize", 2^32, "RangeError" },
    { "maxHeaderSize", 2^32, "RangeError" },
    { "maxHeaderSize", "1", "RangeError" },
    { "enablePush", 1, "TypeError" },
    { "enablePush", "true", "TypeError" },
    { "enableConnectProtocol", 1, "TypeError" },
  }
  for _, case in ipairs(invalid) do
    local key, value, name = case[1], case[2], case[3]
    it(string.format("raises a %s ERR_HTTP2_INVALID_SETTING_VALUE for %s = %s", name, key,
        type(value) == "string" and string.format("%q", value) or tostring(value)), function()
      local err = raised(settings.validate, { [key] = value })
      assert.are.equal("ERR_HTTP2_INVALID_SETTING_VALUE", err.code)
      assert.are.equal(name, err.name)
      assert.are.equal(value, err.actual)
    end)
  end

  it("names the setting and its value in the message", function()
    local err = raised(settings.validate, { maxFrameSize = 1 })
    assert.are.equal('Invalid value for setting "maxFrameSize": 1', err.message)
  end)

  it("gives a range error its bounds", function()
    local err = raised(settings.validate, { initialWindowSize = 2^31 })
    assert.are.equal(0, err.min)
    assert.are.equal(2^31 - 1, err.max)
  end)

  it("checks the settings in Node's order: the ranges first, then the booleans", function()
    local s = { headerTableSize = -1, enablePush = 1, initialWindowSize = -1, maxFrameSize = 1,
                maxConcurrentStreams = -1, maxHeaderListSize = -1, maxHeaderSize = -1,
                enableConnectProtocol = 1 }
    local order = {}
    for _ = 1, 8 do
      local ok, err = pcall(settings.validate, s)
      if ok then break end
      local key = err.message:match('"(.-)"')
      order[#order + 1] = key
      s[key] = nil
    end
    assert.are.same({ "headerTableSize", "initialWindowSize", "maxFrameSize",
                      "maxConcurrentStreams", "maxHeaderListSize", "maxHeaderSize", "enablePush",
                      "enableConnectProtocol" }, order)
  end)

  it("accepts the bounds of every range", function()
    assert.has_no.errors(function()
      settings.validate({ headerTableSize = 0, initialWindowSize = 0, maxFrameSize = 16384,
                          maxConcurrentStreams = 0, maxHeaderListSize = 0 })
      settings.validate({ headerTableSize = 2^32 - 1, initialWindowSize = 2^31 - 1,
                          maxFrameSize = 2^24 - 1, maxConcurrentStreams = 2^32 - 1,
                          maxHeaderListSize = 2^32 - 1, maxHeaderSize = 2^32 - 1 })
    end)
  end)

  it("returns an empty table for nil", function()
    assert.are.same({}, settings.validate(nil))
  end)

  it("returns only what is set, as integers and booleans", function()
    local n = settings.validate({ headerTableSize = 4096.0, enablePush = false, foo = "x" })
    assert.are.same({ headerTableSize = 4096, enablePush = false }, n)
    assert.are.equal("integer", math.type(n.headerTableSize))
  end)

  it("folds maxHeaderSize into maxHeaderListSize", function()
    with_warnings(function()
      assert.are.same({ maxHeaderListSize = 100 }, settings.validate({ maxHeaderSize = 100 }))
    end)
  end)

  it("emits Node's warning when maxHeaderSize overrides maxHeaderListSize", function()
    local warnings = with_warnings(function()
      assert.are.same({ maxHeaderListSize = 100 },
        settings.validate({ maxHeaderSize = 100, maxHeaderListSize = 200 }))
    end)
    assert.are.same({ "settings.maxHeaderSize overwrite settings.maxHeaderListSize" }, warnings)
  end)

  it("does not warn when maxHeaderSize equals maxHeaderListSize", function()
    local warnings = with_warnings(function()
      settings.validate({ maxHeaderSize = 100, maxHeaderListSize = 100 })
    end)
    assert.are.same({}, warnings)
  end)

  it("returns a new table, leaving the argument alone", function()
    local s = { maxFrameSize = 20000 }
    local n = settings.validate(s)
    assert.are_not.equal(s, n)
    assert.are.same({ maxFrameSize = 20000 }, s)
  end)

  it("keeps customSettings by numeric id", function()
    assert.are.same({ customSettings = { [9] = 1, [10] = 5 } },
      settings.validate({ customSettings = { [9] = 1, ["10"] = 5 } }))
  end)

  it("raises ERR_HTTP2_INVALID_SETTING_VALUE for a customSettings id above 0xffff", function()
    local err = raised(settings.validate, { customSettings = { [70000] = 1 } })
    assert.are.equal("ERR_HTTP2_INVALID_SETTING_VALUE", err.code)
    assert.are.equal('Invalid value for setting "customSettings:id": 70000', err.message)
  end)

  it("raises ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS for more than 10 customSettings", function()
    local custom = {}
    for id = 20, 30 do custom[id] = 1 end
    local err = raised(settings.validate, { customSettings = custom })
    assert.are.equal("ERR_HTTP2_TOO_MANY_CUSTOM_SETTINGS", err.code)
  end)
end)

describe("http2.getUnpackedSettings()", function()
  it("unpacks AAIAAAAA to { enablePush = false }", function()
    assert.are.same({ enablePush = false }, settings.getUnpackedSettings(base64.decode("AAIAAAAA")))
  end)

  it("round-trips every named setting", function()
    local packed = settings.getPackedSettings({
      headerTableSize = 1, enablePush = true, initialWindowSize = 2, maxFrameSize = 16385,
      maxConcurrentStreams = 3, maxHeaderListSize = 4, enableConnectProtocol = true,
    })
    assert.are.same({
      headerTableSize = 1, enablePush = true, initialWindowSize = 2, maxFrameSize = 16385,
      maxConcurrentStreams = 3, maxHeaderListSize = 4, maxHeaderSize = 4,
      enableConnectProtocol = true,
    }, settings.getUnpackedSettings(packed))
  end)

  it("reads any non-zero enablePush as true", function()
    assert.are.same({ enablePush = true }, settings.getUnpackedSettings(unhex("000200000005")))
  end)

  it("unpacks the empty string to an empty table", function()
    assert.are.same({}, settings.getUnpackedSettings(""))
  end)

  it("lets the last of repeated ids win", function()
    assert.are.same({ headerTableSize = 5 },
      settings.getUnpackedSettings(unhex("000100000001000100000005")))
  end)

  it("puts ids it has no name for in customSettings, as Node 20 does", function()
    assert.are.same({ headerTableSize = 5, customSettings = { [9] = 1, [65535] = 2 } },
      settings.getUnpackedSettings(unhex("000900000001000100000005ffff00000002")))
  end)

  it("does not validate values unless asked", function()
    assert.are.same({ maxFrameSize = 1 }, settings.getUnpackedSettings(unhex("000500000001")))
  end)

  it("validates the values with { validate = true }", function()
    local err = raised(settings.getUnpackedSettings, unhex("000500000001"), { validate = true })
    assert.are.equal("ERR_HTTP2_INVALID_SETTING_VALUE", err.code)
    assert.are.equal('Invalid value for setting "maxFrameSize": 1', err.message)
  end)

  it("raises a RangeError ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH for 5 bytes", function()
    local err = raised(settings.getUnpackedSettings, "\0\0\0\0\0")
    assert.are.equal("ERR_HTTP2_INVALID_PACKED_SETTINGS_LENGTH", err.code)
    assert.are.equal("RangeError", err.name)
    assert.are.equal("Packed settings length must be a multiple of six", err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE for a buffer that is not a string", function()
    local err = raised(settings.getUnpackedSettings, 42)
    assert.are.equal("ERR_INVALID_ARG_TYPE", err.code)
    assert.are.equal("TypeError", err.name)
  end)
end)

describe("settings.pack()", function()
  it("packs a normalized table without validating it", function()
    assert.are.equal("000200000000", hex(settings.pack({ enablePush = false })))
  end)
end)
