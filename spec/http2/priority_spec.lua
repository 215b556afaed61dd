-- Stream priority: request options, stream:priority(), PRIORITY frames on the wire, state.
local helper = require "spec.helper"
local cp = require "lode.child_process"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

-- nghttpd -v in the background (it prints every frame it receives); returns child, port, log().
local function nghttpd()
  local port = 20000 + math.random(0, 9999)
  local child = cp.spawn("nghttpd", { "-v", "--no-tls", tostring(port) })
  local out = {}
  child.stdout:on("data", function(d) out[#out + 1] = d end)
  helper.wait(300)
  return child, port, function() return table.concat(out) end
end

describe("priority", function()
  local server, client, child
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    U.kill(child)
    client, server, child = nil, nil, nil
    helper.verify_calls()
  end)

  it("request weight, parent and exclusive go out on the HEADERS frame", function()
    local port, log
    child, port, log = nghttpd()
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(404, res.status)
    local req = client:request({ [":path"] = "/x" }, { weight = 32, parent = 1, exclusive = true })
    local closed
    req:on("close", function() closed = true end)
    req:resume()
    U.run_loop(function() return closed end)
    helper.wait(100)
    assert.matches("recv HEADERS frame <[^>]*stream_id=3>\n[^\n]*PRIORITY\n" ..
      "%s*%(padlen=0, dep_stream_id=1, weight=32, exclusive=1%)", log())
  end)

  it("stream:priority sends a PRIORITY frame and updates state.weight", function()
    local port, log
    child, port, log = nghttpd()
    client = U.connect(port)
    local req = client:request({ [":path"] = "/" }, { endStream = false })
    req:on("error", function() end)
    local closed
    req:on("close", function() closed = true end)
    req:resume()
    helper.wait(100) -- the HEADERS are out: the stream exists
    req:priority({ weight = 99, exclusive = true })
    helper.wait(50) -- nghttp2 applies a submitted priority when the PRIORITY frame goes out
    local weight, sum = req.state.weight, req.state.sumDependencyWeight
    req:finish("x")
    U.run_loop(function() return closed end)
    helper.wait(100)
    assert.equal(99, weight)
    assert.equal(0, sum)
    assert.matches("recv PRIORITY frame <length=5, flags=0x00, stream_id=1>\n" ..
      "%s*%(dep_stream_id=0, weight=99, exclusive=1%)", log())
  end)

  it("silent changes the local weight without a PRIORITY frame", function()
    local port, log
    child, port, log = nghttpd()
    client = U.connect(port)
    local req = client:request({ [":path"] = "/" }, { endStream = false })
    req:on("error", function() end)
    local closed
    req:on("close", function() closed = true end)
    req:resume()
    helper.wait(100)
    req:priority({ weight = 7, silent = true })
    local weight = req.state.weight
    req:finish("x")
    U.run_loop(function() return closed end)
    helper.wait(100)
    assert.equal(7, weight)
    assert.not_matches("recv PRIORITY", log())
  end)

  it("a child's weight shows in the parent's sumDependencyWeight", function()
    local port
    child, port = nghttpd()
    client = U.connect(port)
    local a = client:request({ [":path"] = "/" }, { endStream = false })
    local b = client:request({ [":path"] = "/" }, { endStream = false, parent = 1, weight = 20 })
    local n = 0
    for _, r in ipairs { a, b } do
      r:on("error", function() end)
      r:on("close", function() n = n + 1 end)
      r:resume()
    end
    helper.wait(100)
    local sum = a.state.sumDependencyWeight
    a:finish("x"); b:finish("x")
    U.run_loop(function() return n == 2 end)
    assert.equal(20, sum)
  end)

  it("validates its options like Node", function()
    local port
    server, port = U.server(function() end)
    client = U.connect(port)
    local req = client:request({}, { endStream = false })
    req:on("error", function() end)
    helper.assert_throws(function() req:priority({ weight = "x" }) end, { code = "ERR_INVALID_ARG_VALUE" })
    helper.assert_throws(function() req:priority({ parent = -1 }) end, { code = "ERR_INVALID_ARG_VALUE" })
    helper.assert_throws(function() req:priority({ silent = 1 }) end, { code = "ERR_INVALID_ARG_VALUE" })
    helper.assert_throws(function() req:priority({ parent = req.id }) end,
      { code = "ERR_HTTP2_STREAM_SELF_DEPENDENCY" })
    req:close()
  end)
end)
