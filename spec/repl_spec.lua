-- The REPL (`lode` with no script, or `lode -i`): lines run in coroutines while the loop runs.
local helper = require "spec.helper"

local function repl(input)
  return helper.sh("printf '%s' " .. helper.q(input) .. " | " .. helper.q(helper.lode) .. " -i")
end

describe("the REPL", function()
  it("prints the value of an expression", function()
    local out = repl("1 + 1\n")
    assert.equal("> 2\n> \n", out)
  end)

  it("keeps globals between lines and prints nothing for a statement", function()
    local out = repl("x = 20\nx + 1\n")
    assert.equal("> > 21\n> \n", out)
  end)

  it("continues an incomplete line on a '... ' prompt", function()
    local out = repl("function f(a)\nreturn a * 2\nend\nf(4)\n")
    assert.equal("> ... ... > 8\n> \n", out)
  end)

  it("prints an error and goes on", function()
    local out = repl("error('bad', 0)\n'after'\n")
    assert.equal("> Uncaught bad\n> 'after'\n> \n", out)
  end)

  it("waits for a line that sleeps in its coroutine before running the next", function()
    local out = repl("lode = require 'lode'\nlode.sleep(30); y = 'slept'\ny\n")
    assert.equal("> > > 'slept'\n> \n", out)
  end)

  it("keeps the loop running: a timer set at the prompt fires", function()
    local out = repl("setTimeout(function() console.log('fired') end, 10)\n" ..
      "lode = require 'lode'\nlode.sleep(50)\n")
    assert.matches("fired", out, 1, true)
  end)

  it("leaves on .exit", function()
    local out = repl(".exit\n1 + 1\n")
    assert.equal("> ", out)
  end)
end)
