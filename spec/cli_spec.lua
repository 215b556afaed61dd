-- The lode executable: running scripts like `node script.js`, exit codes, uncaught errors.
local helper = require "spec.helper"

local function lode(args, stdin)
  local cmd = helper.q(helper.lode) .. " " .. args
  if stdin then cmd = "printf '%s' " .. helper.q(stdin) .. " | " .. cmd end
  return helper.sh(cmd)
end

local function script(src)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  return path
end

describe("lode -e", function()
  it("runs the code and exits 0", function()
    local out, code = lode("-e 'console.log(1 + 1)'")
    assert.equal("2\n", out)
    assert.equal(0, code)
  end)

  it("runs Lua's generational collector (a server's garbage dies young)", function()
    local out, code = lode("-e 'print(collectgarbage(\"incremental\"))'")
    assert.equal("generational\n", out)
    assert.equal(0, code)
  end)

  it("puts the extra arguments in process.argv after the executable", function()
    local out = lode("-e 'console.log(process.argv[2], process.argv[3])' a b")
    assert.equal("a b\n", out)
  end)
end)

describe("lode --version and --help", function()
  it("prints the version as node does (v-prefixed)", function()
    local out, code = lode("--version")
    assert.matches("^v%d+%.%d+%.%d+\n$", out)
    assert.equal(0, code)
  end)

  it("prints a usage text", function()
    local out, code = lode("--help")
    assert.matches("Usage: lode", out, 1, true)
    assert.equal(0, code)
  end)

  it("rejects an unknown option with status 9", function()
    local out, code = lode("--frobnicate")
    assert.matches("bad option", out, 1, true)
    assert.equal(9, code)
  end)
end)

describe("lode script.lua", function()
  it("gives process.argv the executable, the script and its arguments", function()
    local path = script("console.log(#process.argv, process.argv[3], arg[1])")
    local out = lode(helper.q(path) .. " x")
    os.remove(path)
    assert.equal("3 x x\n", out)
  end)

  it("reads the script from stdin when none is named and stdin is not a terminal", function()
    local out, code = lode("-", "console.log('from stdin')")
    assert.equal("from stdin\n", out)
    assert.equal(0, code)
  end)

  it("runs the loop until no timer is left", function()
    local out = lode([[-e 'setTimeout(function() console.log("late") end, 20); console.log("early")']])
    assert.equal("early\nlate\n", out)
  end)

  it("exits with process.exitCode when the loop ends", function()
    local _, code = lode("-e 'process.exitCode = 3'")
    assert.equal(3, code)
  end)

  it("exits at once with process.exit(n), after the 'exit' listeners", function()
    local out, code = lode([[-e 'process:on("exit", function(c) console.log("exit", c) end)
      setTimeout(function() console.log("never") end, 1000)
      process.exit(4)']])
    assert.equal("exit 4\n", out)
    assert.equal(4, code)
  end)

  it("emits 'exit' with 0 at a normal end", function()
    local out, code = lode([[-e 'process:on("exit", function(c) console.log("bye", c) end)']])
    assert.equal("bye 0\n", out)
    assert.equal(0, code)
  end)

  it("emits 'beforeExit' when the loop empties, and keeps going if it schedules work", function()
    local out = lode([[-e 'local n = 0
      process:on("beforeExit", function()
        n = n + 1
        if n < 3 then setTimeout(function() console.log("again", n) end, 1) end
      end)']])
    assert.equal("again 1\nagain 2\n", out)
  end)
end)

describe("signals", function()
  it("ends on SIGINT even when the parent left SIGINT ignored", function()
    local out = helper.sh("trap '' INT; " .. helper.q(helper.lode) ..
      [[ -e 'setInterval(function() end, 1000)' & pid=$!; sleep 0.3; kill -INT $pid; sleep 0.3;
      if kill -0 $pid 2>/dev/null; then echo alive; kill -9 $pid; else echo ended; fi]])
    assert.equal("ended\n", out)
  end)
end)

describe("uncaught errors", function()
  it("print Uncaught, the error and a traceback on stderr, and exit 1", function()
    local out, code = lode([[-e 'error("boom")']])
    assert.matches("Uncaught .*boom", out)
    assert.matches("stack traceback", out, 1, true)
    assert.equal(1, code)
  end)

  it("raised from a timer callback end the program with status 1", function()
    local out, code = lode([[-e 'setTimeout(function() error("from timer") end, 1)
      setTimeout(function() console.log("never") end, 200)']])
    assert.matches("Uncaught .*from timer", out)
    assert.not_matches("never", out)
    assert.equal(1, code)
  end)

  it("print an error object with its name and code", function()
    local out, code = lode([[-e 'local e = TypeError("bad thing"); e.code = "ERR_X"; error(e)']])
    assert.matches("Uncaught TypeError", out, 1, true)
    assert.matches("bad thing", out, 1, true)
    assert.equal(1, code)
  end)

  it("go to 'uncaughtException' listeners instead, and the program goes on", function()
    local out, code = lode([[-e 'process:on("uncaughtException", function(err) console.log("caught", err) end)
      setTimeout(function() error("oops", 0) end, 1)
      setTimeout(function() console.log("still running") end, 20)']])
    assert.equal("caught oops\nstill running\n", out)
    assert.equal(0, code)
  end)

  it("from the main chunk also reach 'uncaughtException'", function()
    local out, code = lode([[-e 'process:on("uncaughtException", function(err) console.log("caught", err) end)
      error("main", 0)']])
    assert.equal("caught main\n", out)
    assert.equal(0, code)
  end)

  it("inside an 'uncaughtException' listener end the program", function()
    local _, code = lode([[-e 'process:on("uncaughtException", function() error("again") end)
      error("first")']])
    assert.equal(1, code)
  end)
end)

describe("the runtime's names", function()
  it("preloads Node's module names", function()
    local out = lode([[-e 'for _, m in ipairs{"events", "timers", "stream", "fs", "net", "url", "util"} do
      assert(require(m) == require("lode." .. m), m) end
      console.log("ok")']])
    assert.equal("ok\n", out)
  end)

  it("sets Node's globals", function()
    local out = lode([[-e 'for _, g in ipairs{"console", "process", "setTimeout", "setInterval",
      "setImmediate", "clearTimeout", "clearInterval", "clearImmediate", "URL"} do
      assert(_G[g] ~= nil, g) end
      console.log("ok")']])
    assert.equal("ok\n", out)
  end)

  it("has process.pid, platform and env", function()
    local out = helper.sh("LODE_T=1 " .. helper.q(helper.lode) ..
      [[ -e 'console.log(type(process.pid), process.platform, process.env.LODE_T)']])
    assert.equal("number linux 1\n", out)
  end)
end)
