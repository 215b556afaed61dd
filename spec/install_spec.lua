-- `meson install` puts the Lua modules and lode_core.so where plain lua5.4 finds them.
local helper = require "spec.helper"

local build = os.getenv("LODE_RELEASE_BUILD")

describe("meson install #slow", function()
  local dest

  setup(function()
    assert(build, "tools/test.sh sets LODE_RELEASE_BUILD to a configured release build")
    dest = helper.sh("mktemp -d"):gsub("%s+$", "")
    local out, code = helper.sh("DESTDIR=" .. helper.q(dest) .. " meson install -C " .. helper.q(build) ..
      " --no-rebuild --quiet")
    assert.equal(0, code, out)
  end)

  teardown(function()
    if dest then helper.sh("rm -rf " .. helper.q(dest)) end
  end)

  local function lua54(code)
    local prefix = dest .. "/usr/local"
    return helper.sh("LUA_PATH=" .. helper.q(prefix .. "/share/lua/5.4/?.lua;" .. prefix ..
      "/share/lua/5.4/?/init.lua") .. " LUA_CPATH=" .. helper.q(prefix .. "/lib/lua/5.4/?.so") ..
      " lua5.4 -e " .. helper.q(code))
  end

  it("lets plain lua5.4 require 'lode' and run the loop", function()
    local out, code = lua54([[
      local lode = require "lode"
      local timers = require "lode.timers"
      timers.setTimeout(function() print("fired") end, 5)
      lode.run()
      print("done")]])
    assert.equal("fired\ndone\n", out)
    assert.equal(0, code)
  end)

  it("installs the lode executable", function()
    local out, code = helper.sh(helper.q(dest .. "/usr/local/bin/lode") .. " -e 'console.log(\"hi\")'")
    assert.equal("hi\n", out)
    assert.equal(0, code)
  end)

  it("runs the loop once and without waiting in plain lua5.4", function()
    local out = lua54([[
      local lode = require "lode"
      local timers = require "lode.timers"
      local t = timers.setTimeout(function() end, 10000)
      print(lode.run("nowait"))
      t:close()
      print(lode.run("nowait"))]])
    assert.equal("true\nfalse\n", out)
  end)
end)
