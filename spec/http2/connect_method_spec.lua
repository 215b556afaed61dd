-- The CONNECT method: the document's TCP server + HTTP/2 CONNECT proxy + client.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local net = require "lode.net"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")
local lode_exe = helper.lode

-- The document's TCP server: "hello <name>" once the client ends.
local function tcp_server()
  local server = net.createServer(function(socket)
    local name = ""
    socket:setEncoding("utf8")
    socket:on("data", function(chunk) name = name .. chunk end)
    socket:on("end", function() socket:finish("hello " .. name) end)
  end)
  server:listen(0, "127.0.0.1")
  local up = false
  server:on("listening", function() up = true end)
  helper.run_loop(function() return up end)
  return server, server:address().port
end

-- The document's proxy.
local function proxy_handler(stream, headers)
  -- Node too emits the reset's ERR_HTTP2_STREAM_ERROR on the proxy's own stream.
  stream:on("error", function() end)
  if headers[":method"] ~= "CONNECT" then
    stream:close(http2.constants.NGHTTP2_REFUSED_STREAM)
    return
  end
  local hostname, port = headers[":authority"]:match("^%[?(.-)%]?:(%d+)$")
  local socket
  socket = net.connect(tonumber(port), hostname, function()
    stream:respond()
    socket:pipe(stream)
    stream:pipe(socket)
  end)
  socket:on("error", function()
    stream:close(http2.constants.NGHTTP2_CONNECT_ERROR)
  end)
end

describe("CONNECT", function()
  local server, client, tcp
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    if tcp then
      local closed = false
      tcp:close(function() closed = true end)
      helper.run_loop(function() return closed end)
    end
    client, server, tcp = nil, nil, nil
    helper.verify_calls()
  end)

  it("tunnels a lode client through the proxy to the TCP server", function()
    local tport, port
    tcp, tport = tcp_server()
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    local req = client:request({ [":method"] = "CONNECT", [":authority"] = "127.0.0.1:" .. tport })
    local status, data, ended = nil, "", false
    req:on("response", function(h) status = h[":status"] end)
    req:setEncoding("utf8")
    req:on("data", function(c) data = data .. c end)
    req:on("end", function() ended = true end)
    req:finish("Jane")
    U.run_loop(function() return ended end)
    assert.equal(200, status)
    assert.equal("hello Jane", data)
  end)

  it("Node 20's client drives the lode proxy", function()
    local tport, port
    tcp, tport = tcp_server()
    server, port = U.server(proxy_handler)
    local err, out = U.node([[
      const http2 = require('http2');
      const client = http2.connect('http://127.0.0.1:' + process.argv[1]);
      const req = client.request({ ':method': 'CONNECT', ':authority': '127.0.0.1:' + process.argv[2] });
      req.on('response', (h) => console.log(h[':status']));
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c) => data += c);
      req.on('end', () => { console.log('The server says: ' + data); client.close(); });
      req.end('Node');
    ]], { port, tport })
    assert.is_nil(err)
    assert.equal("200\nThe server says: hello Node\n", out)
  end)

  it("a refused upstream resets the stream with NGHTTP2_CONNECT_ERROR", function()
    local port
    -- A port nobody listens on: bind one, close it.
    local t, tport = tcp_server()
    local closed = false
    t:close(function() closed = true end)
    helper.run_loop(function() return closed end)
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    local req = client:request({ [":method"] = "CONNECT", [":authority"] = "127.0.0.1:" .. tport })
    local err, done
    req:on("error", function(e) err = e end)
    req:on("close", function() done = true end)
    req:finish("x")
    U.run_loop(function() return done end)
    assert.equal(http2.constants.NGHTTP2_CONNECT_ERROR, req.rstCode)
    assert.equal("ERR_HTTP2_STREAM_ERROR", err.code)
    assert.matches("NGHTTP2_CONNECT_ERROR", err.message)
  end)

  it("a non-CONNECT request is refused with NGHTTP2_REFUSED_STREAM", function()
    local port
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    local res = U.get(client, { [":path"] = "/" })
    assert.equal(http2.constants.NGHTTP2_REFUSED_STREAM, res.req_rst)
  end)

  it(":path on CONNECT is ERR_HTTP2_CONNECT_PATH", function()
    local port
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    helper.assert_throws(function()
      client:request({ [":method"] = "CONNECT", [":authority"] = "a:1", [":path"] = "/" })
    end, { code = "ERR_HTTP2_CONNECT_PATH" })
  end)

  it(":scheme on CONNECT is ERR_HTTP2_CONNECT_SCHEME", function()
    local port
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    helper.assert_throws(function()
      client:request({ [":method"] = "CONNECT", [":authority"] = "a:1", [":scheme"] = "http" })
    end, { code = "ERR_HTTP2_CONNECT_SCHEME" })
  end)

  it("CONNECT without :authority is ERR_HTTP2_CONNECT_AUTHORITY", function()
    local port
    server, port = U.server(proxy_handler)
    client = U.connect(port)
    helper.assert_throws(function() client:request({ [":method"] = "CONNECT" }) end,
      { code = "ERR_HTTP2_CONNECT_AUTHORITY" })
  end)

  it("the document's three examples run end to end", function()
    local tport, pport = 18000 + math.random(0, 999), 19000 + math.random(0, 999)
    local cp = require "lode.child_process"
    local a = cp.spawn(lode_exe, { "examples/http2_connect_tcp_server.lua", tostring(tport) })
    local b = cp.spawn(lode_exe, { "examples/http2_connect_proxy.lua", tostring(pport) })
    local ok, e = pcall(function()
      helper.wait(400)
      local err, out = U.run(lode_exe,
        { "examples/http2_connect_client.lua", tostring(pport), tostring(tport) })
      assert.is_nil(err)
      assert.equal("200\nThe server says: hello Jane\n", out)
    end)
    U.kill(a)
    U.kill(b)
    assert(ok, e)
  end)
end)
