-- child_process: spawn and execFile with real children, while this process's loop runs.
local helper = require "spec.helper"
local child_process = require "lode.child_process"

local function wait_close(child)
  local res = {}
  child:on("exit", function(code, signal) res.exit = { code = code, signal = signal } end)
  child:on("close", function(code, signal)
    res.closed = true
    res.code, res.signal = code, signal
  end)
  child:on("error", function(e) res.err = e end)
  return res
end


describe("child_process.spawn", function()
  after_each(function() helper.verify_calls() end)

  it("reads stdout and stderr, then 'exit' and 'close' with the code", function()
    local child = child_process.spawn("sh", { "-c", "echo out; echo err >&2; exit 3" })
    assert.is_true(child.pid > 0)
    local out, err = {}, {}
    child.stdout:on("data", function(d) out[#out + 1] = d end)
    child.stderr:on("data", function(d) err[#err + 1] = d end)
    local res = wait_close(child)
    helper.run_loop(function() return res.closed end)
    assert.equal("out\n", table.concat(out))
    assert.equal("err\n", table.concat(err))
    assert.same({ code = 3 }, res.exit)
    assert.equal(3, res.code)
    assert.equal(3, child.exitCode)
  end)

  it("writes to stdin", function()
    local child = child_process.spawn("cat", {})
    local out = {}
    child.stdout:on("data", function(d) out[#out + 1] = d end)
    local res = wait_close(child)
    child.stdin:write("to ")
    child.stdin:finish("cat")
    helper.run_loop(function() return res.closed end)
    assert.equal("to cat", table.concat(out))
    assert.equal(0, res.code)
  end)

  it("kill() ends the child with SIGTERM", function()
    local child = child_process.spawn("sleep", { "5" })
    local res = wait_close(child)
    assert.is_true(child:kill())
    helper.run_loop(function() return res.closed end)
    assert.is_nil(res.code)
    assert.equal("SIGTERM", res.signal)
    assert.is_true(child.killed)
    assert.equal("SIGTERM", child.signalCode)
  end)

  it("kill('SIGKILL') sends that signal", function()
    local child = child_process.spawn("sleep", { "5" })
    local res = wait_close(child)
    child:kill("SIGKILL")
    helper.run_loop(function() return res.closed end)
    assert.equal("SIGKILL", res.signal)
  end)

  it("emits 'error' for a missing file, as Node does", function()
    local child = child_process.spawn("nonexistent-command-xyz", { "a" })
    local res = wait_close(child)
    helper.run_loop(function() return res.closed end)
    assert.equal("ENOENT", res.err.code)
    assert.equal("spawn nonexistent-command-xyz", res.err.syscall)
    assert.equal("spawn nonexistent-command-xyz ENOENT", res.err.message)
    assert.equal("nonexistent-command-xyz", res.err.path)
    assert.same({ "a" }, res.err.spawnargs)
    assert.is_nil(res.exit)
    assert.equal(-2, res.code)
  end)

  it("takes cwd and env", function()
    local child = child_process.spawn("sh", { "-c", "pwd; echo $LODE_X" },
      { cwd = "/tmp", env = { LODE_X = "yes", PATH = os.getenv("PATH") } })
    local out = {}
    child.stdout:on("data", function(d) out[#out + 1] = d end)
    local res = wait_close(child)
    helper.run_loop(function() return res.closed end)
    assert.equal("/tmp\nyes\n", table.concat(out))
  end)

  it("stdio 'ignore' gives no streams", function()
    local child = child_process.spawn("true", {}, { stdio = "ignore" })
    assert.is_nil(child.stdout)
    assert.is_nil(child.stdin)
    local res = wait_close(child)
    helper.run_loop(function() return res.closed end)
    assert.equal(0, res.code)
  end)

  it("drives node, whose output nobody reads, to the end", function()
    local child = child_process.spawn("node", { "-e", "console.log('x'.repeat(200000))" })
    local res = wait_close(child)
    helper.run_loop(function() return res.closed end, 10000)
    assert.equal(0, res.code)
  end)
end)

describe("child_process.execFile", function()
  it("collects stdout and stderr", function()
    local got
    child_process.execFile("sh", { "-c", "printf out; printf err >&2" }, function(err, out, errout)
      got = { err = err, out = out, errout = errout }
    end)
    helper.run_loop(function() return got ~= nil end)
    assert.is_nil(got.err)
    assert.equal("out", got.out)
    assert.equal("err", got.errout)
  end)

  it("gives an error with the exit code when the command fails", function()
    local got
    child_process.execFile("sh", { "-c", "echo bad >&2; exit 4" }, function(err, out, errout)
      got = { err = err, out = out, errout = errout }
    end)
    helper.run_loop(function() return got ~= nil end)
    assert.equal(4, got.err.code)
    assert.is_false(got.err.killed)
    assert.equal("sh -c echo bad >&2; exit 4", got.err.cmd)
    assert.equal("Command failed: sh -c echo bad >&2; exit 4\nbad\n", got.err.message)
    assert.equal("bad\n", got.errout)
  end)

  it("kills the child after the timeout", function()
    local got
    child_process.execFile("sleep", { "5" }, { timeout = 50 }, function(err)
      got = err
    end)
    helper.run_loop(function() return got ~= nil end)
    assert.is_true(got.killed)
    assert.equal("SIGTERM", got.signal)
    assert.is_nil(got.code)
  end)

  it("passes the spawn error for a missing file", function()
    local got
    child_process.execFile("nonexistent-command-xyz", {}, function(err) got = err end)
    helper.run_loop(function() return got ~= nil end)
    assert.equal("ENOENT", got.code)
    assert.equal("nonexistent-command-xyz", got.cmd)
  end)
end)
