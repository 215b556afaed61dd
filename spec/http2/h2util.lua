-- Shared by the http2 specs: a server on port 0, a peer run as a child process (always reaped),
-- and cleanup. Loaded with dofile beside the spec files.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local cp = require "lode.child_process"
local process = require "lode.process"

local U = {}

-- Starts a server (createServer(options)) with on_stream as its 'stream' handler; returns server, port.
function U.server(options, on_stream)
  if type(options) == "function" then options, on_stream = nil, options end
  local server = http2.createServer(options)
  if on_stream then server:on("stream", on_stream) end
  server:listen(0, "127.0.0.1")
  -- The address is known at once; 'listening' comes on the next tick.
  return server, server:address().port
end

-- Closes a server and every session it has, running the loop until it is closed.
function U.close_server(server)
  if not server then return end
  local closed = false
  for s in pairs(server._sessions or {}) do s:destroy() end
  server:close(function() closed = true end)
  helper.run_loop(function() return closed end, 5000)
end

-- Runs file with args as a child process while the loop serves; returns err, stdout, stderr.
-- The child is killed on timeout.
function U.run(file, args, timeout_ms)
  local done, res = false, nil
  local child = cp.execFile(file, args, { timeout = timeout_ms or 20000, maxBuffer = 64 * 1024 * 1024 },
    function(err, out, errout)
      done = true
      res = { err, out, errout }
    end)
  local ok, e = pcall(helper.run_loop, function() return done end, (timeout_ms or 20000) + 2000)
  if not ok then
    pcall(function() child:kill("SIGKILL") end)
    error(e, 2)
  end
  return res[1], res[2], res[3]
end

-- Runs a Node script (a string) with extra args. A script that connects to "localhost" passes
-- autoSelectFamily: true, Node 20's default, which Debian 12's Node 18 lacks ("localhost" is ::1
-- first there, and the servers of the specs listen on 127.0.0.1).
function U.node(script, args, timeout_ms)
  local a = { "-e", script }
  for _, v in ipairs(args or {}) do a[#a + 1] = tostring(v) end
  return U.run("node", a, timeout_ms)
end

-- A Node server in the background: returns the child and its port (printed on its first line).
function U.node_server(script)
  local child = cp.spawn("node", { "-e", script })
  local port
  local buf = ""
  child.stdout:on("data", function(d)
    buf = buf .. d
    port = port or tonumber(buf:match("^(%d+)\n"))
  end)
  helper.run_loop(function() return port ~= nil end, 10000)
  return child, port
end

function U.kill(child)
  if not child then return end
  local exited = child.exitCode ~= nil or child.signalCode ~= nil
  if not exited then
    child:on("exit", function() exited = true end)
    child:kill("SIGKILL")
    pcall(helper.run_loop, function() return exited end, 5000)
  end
end

-- Connects a lode client, runs the loop until 'connect'.
function U.connect(port, options)
  local client = http2.connect("http://127.0.0.1:" .. port, options)
  local up = false
  client:once("connect", function() up = true end)
  helper.run_loop(function() return up or client.destroyed end)
  return client
end

function U.close_client(client)
  if not client or client.destroyed then return end
  local closed = false
  client:on("close", function() closed = true end)
  client:destroy()
  helper.run_loop(function() return closed end, 5000)
end

-- Requests path on client, collects status, headers and body.
function U.get(client, headers, body)
  local req = client:request(headers, body and { endStream = false } or nil)
  local res = { chunks = {} }
  req:on("response", function(h) res.headers = h; res.status = h[":status"] end)
  req:on("data", function(c) res.chunks[#res.chunks + 1] = c end)
  req:on("end", function() res.ended = true end)
  req:on("close", function() res.closed = true; res.req_rst = req.rstCode end)
  req:on("error", function(e) res.err = e end)
  if body then req:finish(body) end
  helper.run_loop(function() return res.closed end, 10000)
  res.body = table.concat(res.chunks)
  return res, req
end

-- Runs the loop until cond(), running queued nextTicks first (run("once") would otherwise
-- block in poll while a tick queued outside a callback waits).
function U.run_loop(cond, ms)
  process._tickCallback()
  helper.run_loop(cond, ms)
end

return U
