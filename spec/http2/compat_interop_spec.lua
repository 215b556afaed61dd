-- The Compatibility API against real peers: curl and Node 20's http2.connect; the examples run as
-- child processes; 100-continue and a 64 MiB upload piped into a file. #interop
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local net = require "lode.net"
local cp = require "lode.child_process"
local Writable = require("lode.stream").Writable
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local CURL = { "-s", "--http2-prior-knowledge" }
local function curl(...)
  local args = {}
  for _, a in ipairs(CURL) do args[#args + 1] = a end
  for _, a in ipairs { ... } do args[#args + 1] = a end
  return U.run("curl", args)
end

-- A port nobody uses right now (for examples, which take their port as an argument).
local function free_port()
  local s = net.createServer()
  s:listen(0, "127.0.0.1")
  local port = s:address().port
  local closed = false
  s:close(function() closed = true end)
  U.run_loop(function() return closed end)
  return port
end

describe("the Compatibility API with real peers #interop", function()
  local server, children, cleanups = nil, {}, {}
  after_each(function()
    for _, child in ipairs(children) do U.kill(child) end
    children = {}
    U.close_server(server)
    server = nil
    for _, f in ipairs(cleanups) do pcall(f) end
    cleanups = {}
    helper.verify_calls()
  end)

  local function listen(handler)
    server = http2.createServer(handler)
    server:listen(0, "127.0.0.1")
    return server:address().port
  end

  -- Runs an example as a lode child process on a free port; waits until it answers.
  local function example(name)
    local port = free_port()
    local child = cp.spawn(helper.lode, { helper.root .. "/examples/" .. name, tostring(port) })
    children[#children + 1] = child
    for _ = 1, 50 do
      local err = curl("-o", "/dev/null", "http://127.0.0.1:" .. port .. "/")
      if not err then return port end
      helper.wait(50)
    end
    error("example " .. name .. " did not answer")
  end

  it("serves examples/http2_compat_hello.lua to curl", function()
    local port = example("http2_compat_hello.lua")
    local err, out = curl("-i", "http://127.0.0.1:" .. port .. "/")
    assert.is_nil(err)
    assert.truthy(out:match("^HTTP/2 200"))
    assert.truthy(out:lower():match("content%-type: text/plain; charset=utf%-8"))
    assert.truthy(out:match("\r\n\r\nhello world$"))
  end)

  it("answers all of h2load's requests to examples/http2_compat_hello.lua", function()
    local port = example("http2_compat_hello.lua")
    local err, out = U.run("h2load", { "-n", "20000", "-c", "10", "-m", "100", "-t", "1",
      "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.truthy(out:match("requests: 20000 total, 20000 started, 20000 done, 20000 succeeded"), out)
    assert.truthy(out:match("status codes: 20000 2xx"), out)
  end)

  it("serves examples/http2_compat_api.lua: writeHead's content-type wins", function()
    local port = example("http2_compat_api.lua")
    local err, out = curl("-i", "http://127.0.0.1:" .. port .. "/")
    assert.is_nil(err)
    assert.truthy(out:match("content%-type: text/plain; charset=utf%-8"))
    assert.truthy(out:match("x%-foo: bar"))
    assert.truthy(out:match("\r\n\r\nok$"))
  end)

  it("serves examples/http2_compat_socket.lua: the client's address and port", function()
    local port = example("http2_compat_socket.lua")
    local err, out = curl("http://127.0.0.1:" .. port .. "/")
    assert.is_nil(err)
    assert.truthy(out:match("^Your IP address is [%x:.f]*127%.0%.0%.1 and your source port is %d+%.$"))
  end)

  it("serves examples/http2_compat_url.lua: req.url parsed with URL", function()
    local port = example("http2_compat_url.lua")
    local err, out = curl("http://127.0.0.1:" .. port .. "/status?name=ryan")
    assert.is_nil(err)
    assert.equal("/status?name=ryan /status ryan", out)
  end)

  it("serves createSecureServer(options, handler) to curl over TLS (h2) #tls", function()
    local F = helper.fixtures .. "/"
    server = http2.createSecureServer({
      key = fs.readFileSync(F .. "localhost-key.pem", "utf8"),
      cert = fs.readFileSync(F .. "localhost.pem", "utf8"),
    }, function(req, res)
      res:setHeader("x-scheme", req.scheme)
      res:finish(req.httpVersion .. " " .. tostring(req.stream.session.alpnProtocol))
    end)
    server:listen(0, "127.0.0.1")
    local port = server:address().port
    local err, out = U.run("curl", { "-s", "-i", "--http2", "--cacert", F .. "ca.pem",
      "--resolve", "localhost:" .. port .. ":127.0.0.1", "https://localhost:" .. port .. "/" })
    assert.is_nil(err)
    assert.truthy(out:match("^HTTP/2 200"), out)
    assert.truthy(out:match("x%-scheme: https"), out)
    assert.truthy(out:match("\r\n\r\n2%.0 h2$"), out)
  end)

  it("sends no body to curl -I (HEAD)", function()
    local port = listen(function(_, res) res:finish("hidden") end)
    local err, out = curl("-I", "http://127.0.0.1:" .. port .. "/")
    assert.is_nil(err)
    assert.truthy(out:match("^HTTP/2 200"))
    assert.falsy(out:match("hidden"))
  end)

  it("answers curl's Expect: 100-continue with a 100 and takes the body", function()
    local dir = fs.mkdtempSync("/tmp/lode-compat-")
    cleanups[#cleanups + 1] = function() os.remove(dir .. "/body"); os.remove(dir) end
    fs.writeFileSync(dir .. "/body", string.rep("0123456789", 200000))
    local port = listen(function(req, res)
      local n = 0
      req:on("data", function(c) n = n + #c end)
      req:on("end", function() res:finish("received " .. n) end)
    end)
    local err, out, errout = curl("-v", "-H", "Expect: 100-continue", "--data-binary", "@" .. dir .. "/body",
      "http://127.0.0.1:" .. port .. "/up")
    assert.is_nil(err)
    assert.equal("received 2000000", out)
    assert.truthy(errout:match("< HTTP/2 100"))
  end)

  it("gets headers set every way, trailers and a push from Node's http2.connect", function()
    local port = listen(function(req, res)
      res:setHeader("X-Set", "1")
      res:setHeader("Set-Cookie", { "a=1", "b=2" })
      res:setHeader("X-Over", "set")
      res:createPushResponse({ [":path"] = "/style.css" }, function(err, push)
        assert.is_nil(err)
        push:writeHead(200, { ["content-type"] = "text/css" })
        push:finish("p{}")
      end)
      res:writeHead(201, { ["X-Over"] = "head", ["x-head"] = "h" })
      res:write(req.url .. ":")
      res:addTrailers({ ["x-trailer"] = "t" })
      res:finish("done")
    end)
    local err, out, errout = U.node([[
      const h = require('http2');
      const c = h.connect('http://127.0.0.1:' + process.argv[1]);
      const out = {};
      let pending = 2;
      const done = () => { if (--pending === 0) { console.log(JSON.stringify(out)); c.close(); } };
      c.on('stream', (ps, rh) => {
        out.pushPath = rh[':path'];
        let b = '';
        ps.on('push', (h2) => { out.pushType = h2['content-type']; });
        ps.on('data', (d) => b += d);
        ps.on('end', () => { out.pushBody = b; done(); });
      });
      const r = c.request({ ':path': '/x' });
      let body = '';
      r.on('response', (h1) => { out.status = h1[':status']; out.set = h1['x-set'];
        out.cookie = h1['set-cookie']; out.over = h1['x-over']; out.head = h1['x-head'];
        out.date = typeof h1.date; });
      r.on('trailers', (t) => { out.trailer = t['x-trailer']; });
      r.on('data', (d) => body += d);
      r.on('end', () => { out.body = body; done(); });
    ]], { port })
    assert.is_nil(err, errout)
    local j = out
    assert.truthy(j:find('"status":201', 1, true), j)
    assert.truthy(j:find('"set":"1"', 1, true), j)
    assert.truthy(j:find('"cookie":["a=1","b=2"]', 1, true), j)
    assert.truthy(j:find('"over":"head"', 1, true), j)
    assert.truthy(j:find('"head":"h"', 1, true), j)
    assert.truthy(j:find('"date":"string"', 1, true), j)
    assert.truthy(j:find('"trailer":"t"', 1, true), j)
    assert.truthy(j:find('"body":"/x:done"', 1, true), j)
    assert.truthy(j:find('"pushPath":"/style.css"', 1, true), j)
    assert.truthy(j:find('"pushType":"text/css"', 1, true), j)
    assert.truthy(j:find('"pushBody":"p{}"', 1, true), j)
  end)

  it("sends 100 continue to Node's client and 'checkContinue' decides", function()
    local port = listen(helper.must_not_call("request"))
    server:on("checkContinue", function(req, res)
      res:writeContinue()
      local n = 0
      req:on("data", function(c) n = n + #c end)
      req:on("end", function() res:finish("n=" .. n) end)
    end)
    local err, out, errout = U.node([[
      const h = require('http2');
      const c = h.connect('http://127.0.0.1:' + process.argv[1]);
      const r = c.request({ ':path': '/', ':method': 'POST', expect: '100-continue' });
      let cont = false, body = '';
      r.on('continue', () => { cont = true; r.end('abcdef'); });
      r.on('data', (d) => body += d);
      r.on('end', () => { console.log(cont + ' ' + body); c.close(); });
    ]], { port })
    assert.is_nil(err, errout)
    assert.equal("true n=6\n", out)
  end)

  it("reads every body of h2load's concurrent uploads (-d)", function()
    local dir = fs.mkdtempSync("/tmp/lode-compat-")
    cleanups[#cleanups + 1] = function() os.remove(dir .. "/body"); os.remove(dir) end
    fs.writeFileSync(dir .. "/body", string.rep("b", 50000))
    local bad = 0
    local port = listen(function(req, res)
      local n = 0
      req:on("data", function(c) n = n + #c end)
      req:on("end", function()
        if n ~= 50000 then bad = bad + 1 end
        res:finish(tostring(n))
      end)
    end)
    local err, out = U.run("h2load", { "-n", "2000", "-c", "4", "-m", "10", "-t", "1", "-d", dir .. "/body",
      "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.truthy(out:match("requests: 2000 total, 2000 started, 2000 done, 2000 succeeded"), out)
    assert.equal(0, bad)
  end)

  it("pipes a 64 MiB upload from curl into a file whose sha256 matches #slow", function()
    local dir = fs.mkdtempSync("/tmp/lode-compat-")
    local src, dst = dir .. "/src", dir .. "/dst"
    cleanups[#cleanups + 1] = function() os.remove(src); os.remove(dst); os.remove(dir) end
    assert.is_nil(U.run("sh", { "-c", "head -c 67108864 /dev/urandom > " .. src }))
    local port = listen(function(req, res)
      local fd = fs.openSync(dst, "w")
      local sink = Writable.new({
        write = function(_, chunk, _, cb) fs.writeSync(fd, chunk); cb() end,
        final = function(_, cb) fs.closeSync(fd); cb() end,
      })
      sink:on("finish", function() res:finish("stored") end)
      req:pipe(sink)
    end)
    local err, out = curl("--data-binary", "@" .. src, "http://127.0.0.1:" .. port .. "/upload")
    assert.is_nil(err)
    assert.equal("stored", out)
    assert.equal(64 * 1024 * 1024, fs.statSync(dst).size)
    local _, sums = U.run("sha256sum", { src, dst })
    local a, b = sums:match("^(%x+)%s.-\n(%x+)%s")
    assert.equal(64, #a)
    assert.equal(a, b)
  end)
end)
