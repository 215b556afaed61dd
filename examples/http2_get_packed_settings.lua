-- http2.getPackedSettings() / getUnpackedSettings().
local http2 = require "http2"
local packed = http2.getPackedSettings({ enablePush = false })
print(#packed)
local b64 = ""
do
  local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for i = 1, #packed, 3 do
    local a, b, c = packed:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    for k = 0, 3 do
      if i + k - 1 > #packed then b64 = b64 .. "=" else
        local idx = (n >> (18 - 6 * k)) & 63
        b64 = b64 .. chars:sub(idx + 1, idx + 1)
      end
    end
  end
end
-- Prints: AAIAAAAA
print(b64)
print("unpacked enablePush: " .. tostring(http2.getUnpackedSettings(packed).enablePush))
