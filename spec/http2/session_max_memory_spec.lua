-- #interop maxSessionMemory (MB, default 10): while a session holds more than that (nghttp2's
-- allocations, its streams, queued body bytes and unsent output), new streams are refused with
-- RST_STREAM(ENHANCE_YOUR_CALM) and the open ones go on, as in Node 20. The peer is a raw
-- python3-h2 client that never reads past its first 64 KiB windows (h2peers.lua P.FILL).
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")
local P = dofile(here .. "h2peers.lua")

local NODE_SERVER = [[
const http2 = require('http2');
const server = http2.createServer({ maxSessionMemory: 1 });
server.on('stream', (stream, headers) => {
  stream.on('error', () => {});
  stream.respond({ ':status': 200 });
  if (headers[':path'] === '/big') stream.end(Buffer.alloc(3000000)); else stream.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
]]

describe("#interop maxSessionMemory", function()
  local server, client, child
  after_each(function()
    U.close_client(client)
    U.close_server(server)
    U.kill(child)
    client, server, child = nil, nil, nil
  end)

  local function start(options)
    local port
    server, port = U.server(options, function(stream, headers)
      stream:on("error", function() end)
      stream:respond({ [":status"] = 200 })
      if headers[":path"] == "/big" then stream:finish(("\0"):rep(3000000)) else stream:finish("ok") end
    end)
    client = U.connect(port)
    return port
  end

  local function fill(port, nextra, mode)
    local err, out, errout = U.run("/usr/bin/python3",
      { "-c", P.FILL, tostring(port), tostring(nextra), mode })
    assert.is_nil(err, errout)
    return out
  end

  it("= 1: with 3 MB queued for a stalled reader, new streams get RST_STREAM ENHANCE_YOUR_CALM",
    function()
    local out = fill(start({ maxSessionMemory = 1 }), 2, "x")
    assert.equal("DATA before 65535\nRST_STREAM 3 11\nRST_STREAM 5 11\n", out)
  end)

  it("= 1: the open stream goes on, and streams are served again once the bytes are sent", function()
    local out = fill(start({ maxSessionMemory = 1 }), 2, "drain")
    assert.matches("BODY 3000000 END\nHEADERS 7\n$", out)
    -- Other sessions were never refused.
    assert.equal("ok", U.get(client, { [":path"] = "/small" }).body)
  end)

  it("the default (10 MB) holds 3 MB: the same requests are served", function()
    local out = fill(start(), 2, "x")
    assert.equal("DATA before 65535\nHEADERS 3\nHEADERS 5\n", out)
  end)

  it("a Node 20 server with maxSessionMemory = 1 answers the same peer with the same frames", function()
    local port
    child, port = U.node_server(NODE_SERVER)
    local node_out = fill(port, 2, "drain")
    local lode_out = fill(start({ maxSessionMemory = 1 }), 2, "drain")
    assert.matches("RST_STREAM 3 11", node_out)
    assert.equal(node_out, lode_out)
  end)
end)
