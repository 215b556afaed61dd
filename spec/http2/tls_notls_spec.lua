-- #tls Without TLS (meson -Dtls=false), `require "http2"` raises an error that pcall catches,
-- saying http2 support is disabled (the document's "Determining if crypto support is
-- unavailable"). Checked in-process by hiding the TLS binding, and against a real -Dtls=false
-- build when LODE_NOTLS names its lode executable.
local helper = require "spec.helper"

local MESSAGE = "HTTP/2 support is disabled in this build of lode (meson -Dtls=false)"

describe("http2 without TLS", function()
  it("raises ERR_NO_CRYPTO from require, catchable", function()
    local core = require "lode_core"
    local saved_ctx, saved_mod = core.tls_context, package.loaded["lode.http2"]
    core.tls_context = nil
    package.loaded["lode.http2"] = nil
    local ok, err = pcall(require, "lode.http2")
    core.tls_context = saved_ctx
    package.loaded["lode.http2"] = saved_mod
    assert.is_false(ok)
    assert.equal("ERR_NO_CRYPTO", err.code)
    assert.equal(MESSAGE, err.message)
  end)

  local notls = os.getenv("LODE_NOTLS")
  local check = notls and it or pending
  check("raises it in a real -Dtls=false build (LODE_NOTLS=path/to/lode)", function()
    local out, code = helper.sh(helper.q(notls) .. " -e " .. helper.q([[
      local ok, err = pcall(require, "http2")
      print(ok, err.code, err.message)
    ]]))
    assert.equal(0, code, out)
    assert.equal("false\tERR_NO_CRYPTO\t" .. MESSAGE .. "\n", out)
  end)
end)
