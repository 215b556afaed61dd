-- #interop: real peers against lode's h2c server (curl, nghttp, h2load, Node 20's client), and
-- lode's client against nghttpd and Node 20's server.
local helper = require "spec.helper"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local function echo_server()
  return U.server(function(stream, headers)
    local parts = {}
    stream:on("data", function(c) parts[#parts + 1] = c end)
    stream:on("end", function()
      local body = table.concat(parts)
      stream:respond({ [":status"] = 200, ["content-type"] = "text/plain",
        ["x-path"] = headers[":path"], ["x-len"] = #body })
      if headers[":path"] == "/echo" then stream:finish(body) else stream:finish("hello world") end
    end)
  end)
end

describe("#interop lode server", function()
  local server
  after_each(function() U.close_server(server); server = nil end)

  it("answers curl --http2-prior-knowledge", function()
    local port
    server, port = echo_server()
    local err, out = U.run("curl", { "-s", "-i", "--http2-prior-knowledge",
      "http://127.0.0.1:" .. port .. "/x" })
    assert.is_nil(err)
    assert.matches("^HTTP/2 200", out)
    assert.matches("x%-path: /x", out)
    assert.matches("hello world$", out)
  end)

  it("takes a POST body from curl", function()
    local port
    server, port = echo_server()
    local err, out = U.run("curl", { "-s", "--http2-prior-knowledge", "--data-binary", string.rep("z", 70000),
      "http://127.0.0.1:" .. port .. "/echo" })
    assert.is_nil(err)
    assert.equal(string.rep("z", 70000), out)
  end)

  it("speaks to nghttp -nv (SETTINGS, HEADERS, DATA with END_STREAM)", function()
    local port
    server, port = echo_server()
    local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.matches("recv SETTINGS frame", out)
    assert.matches("recv %(stream_id=13%) :status: 200", out)
    assert.matches("recv DATA frame <length=11, flags=0x01", out)
  end)

  it("serves h2load -n 100000 -c 10 -m 100, all 2xx #slow", function()
    local port
    server, port = echo_server()
    local err, out = U.run("h2load", { "-n", "100000", "-c", "10", "-m", "100", "-t", "1",
      "http://127.0.0.1:" .. port .. "/" }, 60000)
    assert.is_nil(err)
    assert.matches("requests: 100000 total, 100000 started, 100000 done, 100000 succeeded", out)
    assert.matches("status codes: 100000 2xx", out)
  end)

  it("answers Node 20's http2.connect: headers, body both ways, trailers", function()
    local port
    server, port = U.server(function(stream)
      local n = 0
      stream:on("data", function(c) n = n + #c end)
      stream:on("end", function()
        stream:respond({ [":status"] = 200, ["x-got"] = n }, { waitForTrailers = true })
        stream:on("wantTrailers", function() stream:sendTrailers({ ["x-trailer"] = "done" }) end)
        stream:finish(string.rep("b", 8 * 1024 * 1024))
      end)
    end)
    local err, out = U.node([[
const c = require('http2').connect('http://127.0.0.1:' + process.argv[1]);
const r = c.request({ ':method': 'POST', ':path': '/' });
r.end(Buffer.alloc(8 * 1024 * 1024, 97));
let n = 0, h;
r.on('response', (x) => { h = x; });
r.on('data', (d) => { n += d.length; });
r.on('trailers', (t) => { console.log('trailer', t['x-trailer']); });
r.on('end', () => { console.log(h[':status'], h['x-got'], n); c.close(); });
]], { port })
    assert.is_nil(err)
    assert.matches("trailer done", out)
    assert.matches("200 8388608 8388608", out)
  end)
end)

describe("#interop lode client", function()
  local client, child
  after_each(function()
    U.close_client(client)
    U.kill(child)
    client, child = nil, nil
  end)

  it("gets a page from nghttpd --no-tls", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir .. " && printf 'hello world' > " .. dir .. "/index.html")
    local port = 20000 + math.random(20000)
    local cp = require "lode.child_process"
    child = cp.spawn("nghttpd", { "--no-tls", "-a", "127.0.0.1", "-d", dir, tostring(port) })
    helper.wait(300)
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/index.html" })
    assert.equal(200, res.status)
    assert.equal("hello world", res.body)
    assert.matches("nghttpd", res.headers.server)
  end)

  it("talks to Node 20's server: 8 MiB both ways, trailers, ping, settings", function()
    local port
    child, port = U.node_server([[
const s = require('http2').createServer();
s.on('stream', (st, h) => {
  let n = 0;
  st.on('data', (d) => { n += d.length; });
  st.on('end', () => {
    st.respond({ ':status': 200, 'x-got': n }, { waitForTrailers: true });
    st.on('wantTrailers', () => st.sendTrailers({ 'x-t': 'yes' }));
    st.end(Buffer.alloc(8 * 1024 * 1024, 98));
  });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
]])
    client = U.connect(port)
    local req = client:request({ [":method"] = "POST" })
    local got = { n = 0 }
    req:on("response", function(h) got.h = h end)
    req:on("data", function(c) got.n = got.n + #c end)
    req:on("trailers", function(t) got.t = t end)
    req:on("close", function() got.closed = true end)
    req:finish(string.rep("a", 8 * 1024 * 1024))
    local pinged
    client:ping(function(err, ms) pinged = { err, ms } end)
    helper.run_loop(function() return got.closed and pinged end, 15000)
    assert.equal(200, got.h[":status"])
    assert.equal("8388608", got.h["x-got"])
    assert.equal(8 * 1024 * 1024, got.n)
    assert.equal("yes", got.t["x-t"])
    assert.is_nil(pinged[1])
    assert.is_number(pinged[2])
    assert.is_true(client.remoteSettings.maxFrameSize >= 16384)
  end)
end)
