-- Flow control and backpressure: large bodies both ways, a paused reader stops the writer
-- (write() false, then 'drain'), with memory bounded by the windows.
local helper = require "spec.helper"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local MiB = 1024 * 1024

-- A 64 KiB block with a position-dependent pattern, so reordering or loss would show.
local function block(i)
  return string.rep(string.format("%07d\n", i), 8192)
end

describe("#slow flow control", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  it("carries 64 MiB from client to server and 64 MiB back, intact", function()
    local N = 1024 -- 1024 blocks of 64 KiB
    local port
    local server_ok
    server, port = U.server(function(stream)
      local buf, idx, bad = "", 0, false
      stream:on("data", function(c)
        buf = buf .. c
        while #buf >= 65536 do
          if buf:sub(1, 65536) ~= block(idx) then bad = true end
          buf = buf:sub(65537)
          idx = idx + 1
        end
      end)
      stream:on("end", function()
        server_ok = not bad and idx == N and buf == ""
        stream:respond({ [":status"] = 200 })
        local i = 0
        local function pump()
          while i < N do
            local ok = stream:write(block(i))
            i = i + 1
            if not ok then stream:once("drain", pump) return end
          end
          stream:finish()
        end
        pump()
      end)
    end)
    client = U.connect(port)
    local req = client:request({ [":method"] = "POST" })
    local i = 0
    local function pump()
      while i < N do
        local ok = req:write(block(i))
        i = i + 1
        if not ok then req:once("drain", pump) return end
      end
      req:finish()
    end
    pump()
    local buf, idx, bad, done = "", 0, false, false
    req:on("data", function(c)
      buf = buf .. c
      while #buf >= 65536 do
        if buf:sub(1, 65536) ~= block(idx) then bad = true end
        buf = buf:sub(65537)
        idx = idx + 1
      end
    end)
    req:on("end", function() done = true end)
    helper.run_loop(function() return done end, 60000)
    assert.is_true(server_ok)
    assert.is_false(bad)
    assert.equal(N, idx)
  end)

  it("a paused reader makes write() return false, and 'drain' follows when it resumes", function()
    local port
    local falses, drains, written = 0, 0, 0
    local sstream
    server, port = U.server(function(stream)
      sstream = stream
      stream:on("error", function() end)
      stream:respond({ [":status"] = 200 })
      local chunk = string.rep("x", 64 * 1024)
      local function pump()
        while written < 32 * MiB do
          written = written + #chunk
          if not stream:write(chunk) then
            falses = falses + 1
            stream:once("drain", function() drains = drains + 1; pump() end)
            return
          end
        end
        stream:finish()
      end
      pump()
    end)
    client = U.connect(port, { settings = { initialWindowSize = 1 * MiB } })
    helper.wait(20)
    local req = client:request({})
    local got, ended = 0, false
    req:on("response", function() req:pause() end)
    req:on("end", function() ended = true end)
    helper.wait(200)
    -- The reader is paused: the writer is held back by the window, its bytes wait in the core.
    local stalled_at, drains_at = written, drains
    helper.wait(200)
    assert.equal(stalled_at, written)
    assert.equal(drains_at, drains)
    assert.is_true(falses >= 1)
    assert.is_true(written < 4 * MiB, "writer kept going: " .. written)
    assert.is_true(sstream.bufferSize > 0)
    req:on("data", function(c) got = got + #c end)
    req:resume()
    helper.run_loop(function() return ended end, 30000)
    assert.is_true(drains > drains_at)
    assert.equal(32 * MiB, got)
  end)
end)
