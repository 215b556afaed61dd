-- The extended CONNECT protocol (RFC 8441): enableConnectProtocol and :protocol.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

describe("extended CONNECT", function()
  local server, client
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)

  -- A server that echoes the tunnel's bytes upper-cased.
  local function echo_server(seen)
    return U.server({ settings = { enableConnectProtocol = true } }, function(stream, headers)
      for k, v in pairs(headers) do seen[k] = v end
      stream:respond({ [":status"] = 200 })
      stream:on("data", function(c) stream:write(c:upper()) end)
      stream:on("end", function() stream:finish() end)
    end)
  end

  it("the client sees enableConnectProtocol in 'remoteSettings'", function()
    local port
    server, port = echo_server({})
    client = http2.connect("http://127.0.0.1:" .. port)
    local got
    client:on("remoteSettings", function(s) got = s end)
    U.run_loop(function() return got end)
    assert.is_true(got.enableConnectProtocol)
  end)

  it("a :protocol CONNECT tunnels bytes both ways", function()
    local port
    local seen = {}
    server, port = echo_server(seen)
    client = http2.connect("http://127.0.0.1:" .. port)
    local req, data, ended = nil, "", false
    client:on("remoteSettings", function(s)
      if s.enableConnectProtocol then
        req = client:request({ [":method"] = "CONNECT", [":protocol"] = "foo" }, { endStream = false })
        req:setEncoding("utf8")
        req:on("data", function(c)
          data = data .. c
          if data == "PING" then req:finish("pong") end
        end)
        req:on("end", function() ended = true end)
        req:write("ping")
      end
    end)
    U.run_loop(function() return ended end)
    assert.equal("PINGPONG", data)
    assert.equal("CONNECT", seen[":method"])
    assert.equal("foo", seen[":protocol"])
    assert.equal("/", seen[":path"])
    assert.equal("http", seen[":scheme"])
  end)

  it("Node 20's client tunnels through a lode server", function()
    local port
    server, port = echo_server({})
    local err, out = U.node([[
      const http2 = require('http2');
      const client = http2.connect('http://127.0.0.1:' + process.argv[1]);
      client.on('remoteSettings', (settings) => {
        if (!settings.enableConnectProtocol) return;
        const req = client.request({ ':method': 'CONNECT', ':protocol': 'foo', ':path': '/chat' });
        let data = '';
        req.setEncoding('utf8');
        req.on('data', (c) => data += c);
        req.on('end', () => { console.log(data); client.close(); });
        req.end('hello tunnel');
      });
    ]], { port })
    assert.is_nil(err)
    assert.equal("HELLO TUNNEL\n", out)
  end)
end)

describe("extended CONNECT example", function()
  it("examples/http2_extended_connect.lua tunnels through", function()
    local err, out = U.run(helper.lode, { "examples/http2_extended_connect.lua" })
    assert.is_nil(err)
    assert.equal("server: CONNECT foo\nclient: hello tunnel\n", out)
  end)
end)
