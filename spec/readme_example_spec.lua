-- The README's quick start runs examples/server.lua; this runs it as a separate lode process and
-- fetches from it with curl, the way a newcomer would.
local helper = require "spec.helper"
local cp = require "lode.child_process"

describe("examples/server.lua (the README's main example)", function()
  it("serves its page over HTTP/2 to curl --http2-prior-knowledge", function()
    local child = cp.spawn(helper.lode, { helper.root .. "/examples/server.lua", "0" })
    local out, port = "", nil
    child.stdout:on("data", function(d)
      out = out .. d
      port = port or tonumber(out:match("http://127%.0%.0%.1:(%d+)/"))
    end)
    local exited = false
    child:on("exit", function() exited = true end)
    local ok, err = pcall(function()
      helper.run_loop(function() return port or exited end, 10000)
      assert.is_not_nil(port, "the server printed no port: " .. out)
      local done, res = false, nil
      cp.execFile("curl", { "-s", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
        "http://127.0.0.1:" .. port .. "/hello" }, { timeout = 10000 }, function(e, stdout)
        done, res = true, { e, stdout }
      end)
      helper.run_loop(function() return done end, 12000)
      assert.is_nil(res[1])
      assert.matches("<h1>Hello World</h1>", res[2], 1, true)
      assert.matches("lode served /hello over HTTP/2", res[2], 1, true)
      assert.matches("\n2 200$", res[2])
    end)
    child:kill("SIGKILL")
    helper.run_loop(function() return exited end, 5000)
    if not ok then error(err, 0) end
  end)
end)
