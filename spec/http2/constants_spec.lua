-- http2.constants: the values are Node 20.20's (`require('http2').constants`).

local constants = require "lode.http2.constants"

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

-- Node's constants as "NAME=value" lines, or nil when no `node` is on PATH.
local function node_constants()
  local p = io.popen([[node -e "const c=require('http2').constants;]]
    .. [[for (const k of Object.keys(c)) console.log(k + '=' + c[k])" 2>/dev/null]])
  if not p then return nil end
  local out = p:read("a")
  p:close()
  if out == "" then return nil end
  local t = {}
  for name, value in out:gmatch("([%w_]+)=([^\n]*)") do t[name] = value end
  return t
end

describe("http2.constants", function()
  it("has the 240 constants Node 20 exports", function()
    assert.are.equal(240, count(constants))
  end)

  it("matches Node's names and values one for one (when node is installed)", function()
    local node = node_constants()
    if not node then return pending("node is not installed") end
    assert.are.equal(count(node), count(constants))
    for name, value in pairs(node) do
      assert.are.equal(value, tostring(constants[name]), name)
    end
  end)

  it("has the RST_STREAM/GOAWAY error codes 0x0..0xd of the document's table", function()
    assert.are.equal(0x0, constants.NGHTTP2_NO_ERROR)
    assert.are.equal(0x1, constants.NGHTTP2_PROTOCOL_ERROR)
    assert.are.equal(0x2, constants.NGHTTP2_INTERNAL_ERROR)
    assert.are.equal(0x3, constants.NGHTTP2_FLOW_CONTROL_ERROR)
    assert.are.equal(0x4, constants.NGHTTP2_SETTINGS_TIMEOUT)
    assert.are.equal(0x5, constants.NGHTTP2_STREAM_CLOSED)
    assert.are.equal(0x6, constants.NGHTTP2_FRAME_SIZE_ERROR)
    assert.are.equal(0x7, constants.NGHTTP2_REFUSED_STREAM)
    assert.are.equal(0x8, constants.NGHTTP2_CANCEL)
    assert.are.equal(0x9, constants.NGHTTP2_COMPRESSION_ERROR)
    assert.are.equal(0xa, constants.NGHTTP2_CONNECT_ERROR)
    assert.are.equal(0xb, constants.NGHTTP2_ENHANCE_YOUR_CALM)
    assert.are.equal(0xc, constants.NGHTTP2_INADEQUATE_SECURITY)
    assert.are.equal(0xd, constants.NGHTTP2_HTTP_1_1_REQUIRED)
  end)

  it("has the session types", function()
    assert.are.equal(0, constants.NGHTTP2_SESSION_SERVER)
    assert.are.equal(1, constants.NGHTTP2_SESSION_CLIENT)
  end)

  it("has the stream states idle = 1 .. closed = 7", function()
    assert.are.equal(1, constants.NGHTTP2_STREAM_STATE_IDLE)
    assert.are.equal(2, constants.NGHTTP2_STREAM_STATE_OPEN)
    assert.are.equal(5, constants.NGHTTP2_STREAM_STATE_HALF_CLOSED_LOCAL)
    assert.are.equal(6, constants.NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE)
    assert.are.equal(7, constants.NGHTTP2_STREAM_STATE_CLOSED)
  end)

  it("has the frame flags", function()
    assert.are.equal(0x0, constants.NGHTTP2_FLAG_NONE)
    assert.are.equal(0x1, constants.NGHTTP2_FLAG_END_STREAM)
    assert.are.equal(0x4, constants.NGHTTP2_FLAG_END_HEADERS)
    assert.are.equal(0x1, constants.NGHTTP2_FLAG_ACK)
    assert.are.equal(0x8, constants.NGHTTP2_FLAG_PADDED)
    assert.are.equal(0x20, constants.NGHTTP2_FLAG_PRIORITY)
  end)

  it("has the SETTINGS identifiers, enableConnectProtocol being 8", function()
    assert.are.equal(1, constants.NGHTTP2_SETTINGS_HEADER_TABLE_SIZE)
    assert.are.equal(2, constants.NGHTTP2_SETTINGS_ENABLE_PUSH)
    assert.are.equal(3, constants.NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    assert.are.equal(4, constants.NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
    assert.are.equal(5, constants.NGHTTP2_SETTINGS_MAX_FRAME_SIZE)
    assert.are.equal(6, constants.NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE)
    assert.are.equal(8, constants.NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL)
  end)

  it("has the padding strategies, CALLBACK being ALIGNED's value as in Node", function()
    assert.are.equal(0, constants.PADDING_STRATEGY_NONE)
    assert.are.equal(1, constants.PADDING_STRATEGY_ALIGNED)
    assert.are.equal(2, constants.PADDING_STRATEGY_MAX)
    assert.are.equal(1, constants.PADDING_STRATEGY_CALLBACK)
  end)

  it("has the default settings and limits", function()
    assert.are.equal(4096, constants.DEFAULT_SETTINGS_HEADER_TABLE_SIZE)
    assert.are.equal(1, constants.DEFAULT_SETTINGS_ENABLE_PUSH)
    assert.are.equal(4294967295, constants.DEFAULT_SETTINGS_MAX_CONCURRENT_STREAMS)
    assert.are.equal(65535, constants.DEFAULT_SETTINGS_INITIAL_WINDOW_SIZE)
    assert.are.equal(16384, constants.DEFAULT_SETTINGS_MAX_FRAME_SIZE)
    assert.are.equal(65535, constants.DEFAULT_SETTINGS_MAX_HEADER_LIST_SIZE)
    assert.are.equal(0, constants.DEFAULT_SETTINGS_ENABLE_CONNECT_PROTOCOL)
    assert.are.equal(16777215, constants.MAX_MAX_FRAME_SIZE)
    assert.are.equal(16384, constants.MIN_MAX_FRAME_SIZE)
    assert.are.equal(2147483647, constants.MAX_INITIAL_WINDOW_SIZE)
    assert.are.equal(16, constants.NGHTTP2_DEFAULT_WEIGHT)
    assert.are.equal(-522, constants.NGHTTP2_ERR_FRAME_SIZE_ERROR)
  end)

  it("has 86 HTTP2_HEADER_* names, all lower-case strings", function()
    local n = 0
    for name, value in pairs(constants) do
      if name:find("^HTTP2_HEADER_") then
        n = n + 1
        assert.are.equal("string", type(value))
        assert.are.equal(value:lower(), value)
      end
    end
    assert.are.equal(86, n)
    assert.are.equal(":status", constants.HTTP2_HEADER_STATUS)
    assert.are.equal(":protocol", constants.HTTP2_HEADER_PROTOCOL)
    assert.are.equal("content-type", constants.HTTP2_HEADER_CONTENT_TYPE)
    assert.are.equal("x-content-type-options", constants.HTTP2_HEADER_X_CONTENT_TYPE_OPTIONS)
  end)

  it("has 39 HTTP2_METHOD_* names", function()
    local n = 0
    for name in pairs(constants) do
      if name:find("^HTTP2_METHOD_") then n = n + 1 end
    end
    assert.are.equal(39, n)
    assert.are.equal("GET", constants.HTTP2_METHOD_GET)
    assert.are.equal("BASELINE-CONTROL", constants.HTTP2_METHOD_BASELINE_CONTROL)
  end)

  it("has 63 HTTP_STATUS_* codes", function()
    local n = 0
    for name, value in pairs(constants) do
      if name:find("^HTTP_STATUS_") then
        n = n + 1
        assert.are.equal("integer", math.type(value))
      end
    end
    assert.are.equal(63, n)
    assert.are.equal(200, constants.HTTP_STATUS_OK)
    assert.are.equal(418, constants.HTTP_STATUS_TEAPOT)
    assert.are.equal(421, constants.HTTP_STATUS_MISDIRECTED_REQUEST)
  end)

  it("holds integers for every numeric constant", function()
    for name, value in pairs(constants) do
      if type(value) == "number" then
        assert.are.equal("integer", math.type(value), name)
      end
    end
  end)
end)

describe("http2.constants.error_name()", function()
  it("names 0x8 NGHTTP2_CANCEL", function()
    assert.are.equal("NGHTTP2_CANCEL", constants.error_name(0x8))
  end)

  it("names 0x0 NGHTTP2_NO_ERROR", function()
    assert.are.equal("NGHTTP2_NO_ERROR", constants.error_name(0x0))
  end)

  it("names every code 0x0..0xd after the constant that has that value", function()
    for code = 0x0, 0xd do
      local name = constants.error_name(code)
      assert.are.equal(code, constants[name])
    end
  end)

  it("returns nil for a code Node has no name for", function()
    assert.is_nil(constants.error_name(0xe))
    assert.is_nil(constants.error_name(-1))
  end)

  it("is not one of the constants pairs() yields", function()
    for name in pairs(constants) do
      assert.are_not.equal("error_name", name)
      assert.are_not.equal("error_names", name)
    end
  end)
end)
