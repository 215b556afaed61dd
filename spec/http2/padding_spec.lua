-- paddingStrategy NONE, ALIGNED and MAX, observed on the wire with nghttp -nv.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")
local C = http2.constants

-- Frames nghttp received: { type, length, padlen }.
local function frames(out)
  local list = {}
  for ftype, len, rest in out:gmatch("recv (%u+) frame <length=(%d+)[^\n]*\n([^\n]*\n[^\n]*)") do
    list[#list + 1] = { type = ftype, length = tonumber(len), padlen = tonumber(rest:match("padlen=(%d+)")) }
  end
  return list
end

describe("paddingStrategy", function()
  local server
  after_each(function()
    U.close_server(server)
    server = nil
    helper.verify_calls()
  end)

  local function fetch(strategy, body)
    local port
    server, port = U.server({ paddingStrategy = strategy }, function(stream)
      stream:respond({ ["content-type"] = "text/plain" })
      stream:finish(body)
    end)
    local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    local hd, data
    for _, f in ipairs(frames(out)) do
      if f.type == "HEADERS" then hd = f elseif f.type == "DATA" then data = f end
    end
    return hd, data
  end

  it("NONE sends no padding", function()
    local hd, data = fetch(C.PADDING_STRATEGY_NONE, "hello world!")
    assert.equal(12, data.length)
    assert.is_nil(data.padlen)
    assert.is_true(hd.padlen == nil or hd.padlen == 0)
  end)

  it("ALIGNED pads HEADERS and DATA frames to a multiple of 8 bytes with the header", function()
    for _, body in ipairs { "hello world!", "x", "0123456789abcdef" } do
      local hd, data = fetch(C.PADDING_STRATEGY_ALIGNED, body)
      assert.equal(0, (hd.length + 9) % 8)
      assert.equal(0, (data.length + 9) % 8)
      assert.is_true(data.padlen > 0)
      -- nghttp2's padlen counts the Pad Length byte too.
      assert.equal(#body, data.length - data.padlen)
      U.close_server(server)
      server = nil
    end
  end)

  it("MAX pads as much as the frame allows", function()
    local hd, data = fetch(C.PADDING_STRATEGY_MAX, "hello world!")
    assert.equal(256, data.padlen)
    assert.equal(256, hd.padlen)
    assert.equal(12 + 256, data.length)
  end)
end)
