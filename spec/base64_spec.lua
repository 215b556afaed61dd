-- lode.base64: the expected strings are what Node 20's Buffer gives.

local base64 = require "lode.base64"

local function hex(h)
  return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

describe("base64.encode()", function()
  it("encodes the packed { enablePush = false } settings to AAIAAAAA", function()
    assert.are.equal("AAIAAAAA", base64.encode(hex("000200000000")))
  end)

  it("encodes the empty string to the empty string", function()
    assert.are.equal("", base64.encode(""))
  end)

  it("pads one trailing byte with ==", function()
    assert.are.equal("QQ==", base64.encode("A"))
  end)

  it("pads two trailing bytes with =", function()
    assert.are.equal("QUI=", base64.encode("AB"))
  end)

  it("uses + and / for 62 and 63", function()
    assert.are.equal("+/8=", base64.encode(hex("fbff")))
  end)

  it("encodes every byte value as Node does", function()
    local t = {}
    for i = 0, 255 do t[#t + 1] = string.char(i) end
    local all = table.concat(t)
    assert.are.equal("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"
      .. "MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f"
      .. "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6P"
      .. "kJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/"
      .. "wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v"
      .. "8PHy8/T19vf4+fr7/P3+/w==", base64.encode(all))
  end)
end)

describe("base64.encode_url()", function()
  it("uses - and _ and no padding, as Node's 'base64url'", function()
    assert.are.equal("-_8", base64.encode_url(hex("fbff")))
  end)

  it("leaves out the padding of one trailing byte", function()
    assert.are.equal("QQ", base64.encode_url("A"))
  end)
end)

describe("base64.decode()", function()
  it("decodes AAIAAAAA to the packed { enablePush = false } settings", function()
    assert.are.equal(hex("000200000000"), base64.decode("AAIAAAAA"))
  end)

  it("decodes padded input", function()
    assert.are.equal("A", base64.decode("QQ=="))
  end)

  it("decodes unpadded input", function()
    assert.are.equal("AB", base64.decode("QUI"))
  end)

  it("takes the URL-safe alphabet too", function()
    assert.are.equal(hex("fbffbf"), base64.decode("-_-_"))
    assert.are.equal(hex("fbffbf"), base64.decode("+/+/"))
  end)

  it("skips whitespace and other characters outside the alphabet", function()
    assert.are.equal("ABC", base64.decode("QU\nJD"))
    assert.are.equal("A", base64.decode("Q*Q"))
  end)

  it("stops at the first =", function()
    assert.are.equal("A", base64.decode("QQ==QUJD"))
    assert.are.equal("AB", base64.decode("QUJ=D"))
    assert.are.equal("", base64.decode("=QQ"))
  end)

  it("drops a lone trailing character", function()
    assert.are.equal("", base64.decode("Q"))
    assert.are.equal("ABC", base64.decode("QUJDR"))
  end)

  it("round-trips every length from 0 to 64 bytes", function()
    for n = 0, 64 do
      local t = {}
      for i = 1, n do t[i] = string.char((i * 37 + n) % 256) end
      local s = table.concat(t)
      assert.are.equal(s, base64.decode(base64.encode(s)))
      assert.are.equal(s, base64.decode(base64.encode_url(s)))
    end
  end)
end)
