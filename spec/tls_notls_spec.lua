-- A build without TLS (meson setup build-notls -Dtls=false): `require "tls"` raises an error
-- that pcall catches. Runs when that build exists next to this one. #tls
local helper = require "spec.helper"

describe("tls in a -Dtls=false build", function()
  local notls = helper.root .. "/build-notls/lode"
  local f = io.open(notls)
  if f then f:close() end

  local check = f and it or pending
  check("raises ERR_NO_CRYPTO from require, catchable", function()
    local out, code = helper.sh(helper.q(notls) .. " -e " .. helper.q([[
      local ok, err = pcall(require, "tls")
      print(ok, err.code, err.message)
    ]]))
    assert.equal(0, code, out)
    assert.equal("false\tERR_NO_CRYPTO\tTLS support is disabled in this build of lode " ..
      "(meson -Dtls=false)\n", out)
  end)
end)
