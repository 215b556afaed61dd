-- respondWithFile / respondWithFD: file bodies read by the C core into DATA frames.
local helper = require "spec.helper"
local fs = require "lode.fs"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local big = dir .. "/big.bin"
assert(os.execute("head -c 8388613 /dev/urandom > " .. big))
local small = dir .. "/small.txt"
do
  local f = assert(io.open(small, "wb")); f:write("0123456789abcdefghij"); f:close()
end

local function sha256(path)
  local p = assert(io.popen("sha256sum " .. path))
  local out = p:read("a"); p:close()
  return out:match("^(%x+)")
end

local function sha256_string(s)
  local tmp = os.tmpname()
  local f = assert(io.open(tmp, "wb")); f:write(s); f:close()
  local h = sha256(tmp)
  os.remove(tmp)
  return h
end

describe("respondWithFile", function()
  local server, client
  local cleanups = {}
  after_each(function()
    for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
    cleanups = {}
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
    helper.verify_calls()
  end)
  it("serves a file to curl byte-exact with content-length", function()
    local port
    server, port = U.server(function(stream)
      stream:respondWithFile(big, { ["content-type"] = "application/octet-stream" })
    end)
    local out = dir .. "/curl.out"
    local err, _, errout = U.run("curl", { "-sS", "--http2-prior-knowledge", "-D", dir .. "/curl.h",
      "-o", out, "http://127.0.0.1:" .. port .. "/big.bin" })
    assert.is_nil(err, errout)
    assert.equal(sha256(big), sha256(out))
    local f = assert(io.open(dir .. "/curl.h")); local hdrs = f:read("a"); f:close()
    assert.matches("content%-length: 8388613", hdrs)
    assert.matches("HTTP/2 200", hdrs)
  end)

  it("serves a file to nghttp in DATA frames", function()
    local port
    server, port = U.server(function(stream) stream:respondWithFile(small) end)
    local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/small.txt" })
    assert.is_nil(err)
    assert.matches("recv DATA frame <length=20, flags=0x01", out)
    assert.matches("content%-length: 20", out)
  end)

  it("statCheck adds headers", function()
    local port
    server, port = U.server(function(stream)
      stream:respondWithFile(small, nil, { statCheck = function(stat, headers)
        headers["x-size"] = tostring(stat.size)
      end })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(200, res.status)
    assert.equal("20", res.headers["x-size"])
    assert.equal("0123456789abcdefghij", res.body)
  end)

  it("statCheck returning false cancels the send so the handler can answer 304", function()
    local port
    server, port = U.server(function(stream)
      stream:respondWithFile(small, nil, { statCheck = function()
        stream:respond({ [":status"] = 304 })
        return false
      end })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(304, res.status)
    assert.equal("", res.body)
  end)

  it("onError gets ENOENT and the handler answers 404", function()
    local port, code
    server, port = U.server(function(stream)
      stream:respondWithFile(dir .. "/missing", nil, { onError = function(err)
        code = err.code
        stream:respond({ [":status"] = 404 }, { endStream = true })
      end })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(404, res.status)
    assert.equal("ENOENT", code)
  end)

  it("without onError a missing file destroys the stream", function()
    local port, serr
    server, port = U.server(function(stream)
      stream:on("error", function(e) serr = e end)
      stream:respondWithFile(dir .. "/missing")
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.is_nil(res.status)
    assert.equal(2, res.req_rst)
    assert.equal("ENOENT", serr.code)
  end)

  it("a directory is ERR_HTTP2_SEND_FILE", function()
    local port, code
    server, port = U.server(function(stream)
      stream:respondWithFile(dir, nil, { onError = function(err)
        code = err.code
        stream:respond({ [":status"] = 500 }, { endStream = true })
      end })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(500, res.status)
    assert.equal("ERR_HTTP2_SEND_FILE", code)
  end)

  it("offset and length send a range with its content-length", function()
    local port
    server, port = U.server(function(stream)
      stream:respondWithFile(small, { [":status"] = 206 }, { offset = 5, length = 7 })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(206, res.status)
    assert.equal("56789ab", res.body)
    assert.equal("7", tostring(res.headers["content-length"]))
  end)

  it("offset and length on a large file give the exact slice", function()
    local port
    server, port = U.server(function(stream)
      stream:respondWithFile(big, nil, { offset = 1000001, length = 3000000 })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    local f = assert(io.open(big, "rb")); f:seek("set", 1000001); local want = f:read(3000000); f:close()
    assert.equal(3000000, #res.body)
    assert.equal(sha256_string(want), sha256_string(res.body))
  end)

  it("waitForTrailers emits wantTrailers and the trailers arrive", function()
    local port
    server, port = U.server(function(stream)
      stream:on("wantTrailers", function() stream:sendTrailers({ ["x-t"] = "done" }) end)
      stream:respondWithFile(small, nil, { waitForTrailers = true })
    end)
    client = U.connect(port)
    local req = client:request({})
    local trailers, body = nil, {}
    req:on("trailers", function(t) trailers = t end)
    req:on("data", function(c) body[#body + 1] = c end)
    local closed = false
    req:on("close", function() closed = true end)
    U.run_loop(function() return closed end)
    assert.equal("0123456789abcdefghij", table.concat(body))
    assert.equal("done", trailers["x-t"])
  end)

  it("a 204 status throws ERR_HTTP2_PAYLOAD_FORBIDDEN", function()
    local port, code
    server, port = U.server(function(stream)
      local ok, e = pcall(stream.respondWithFile, stream, small, { [":status"] = 204 })
      code = not ok and e.code
      stream:respond({ [":status"] = 200 }, { endStream = true })
    end)
    client = U.connect(port)
    U.get(client, {})
    assert.equal("ERR_HTTP2_PAYLOAD_FORBIDDEN", code)
  end)
end)

describe("respondWithFD", function()
  local server, client
  local cleanups = {}
  after_each(function()
    for i = #cleanups, 1, -1 do pcall(cleanups[i]) end
    cleanups = {}
    U.close_client(client)
    U.close_server(server)
    client, server = nil, nil
  end)

  it("sends the file and leaves the fd open", function()
    local fd = fs.openSync(small, "r")
    cleanups[#cleanups + 1] = function() fs.closeSync(fd) end
    local port
    server, port = U.server(function(stream)
      stream:respondWithFD(fd, { ["content-type"] = "text/plain" }, {
        statCheck = function(stat, h) h["x-size"] = stat.size end })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal("0123456789abcdefghij", res.body)
    assert.equal("20", tostring(res.headers["content-length"]))
    assert.equal(20, fs.fstatSync(fd).size)
  end)

  it("a file shorter than the length resets the stream with INTERNAL_ERROR", function()
    local fd = fs.openSync(small, "r")
    cleanups[#cleanups + 1] = function() fs.closeSync(fd) end
    local port
    server, port = U.server(function(stream)
      stream:on("error", function() end)
      stream:respondWithFD(fd, nil, { length = 1000 })
    end)
    client = U.connect(port)
    local res = U.get(client, {})
    assert.equal(200, res.status)
    assert.equal(2, res.req_rst)
  end)
end)

describe("respondWithFile examples", function()
  local cp = require "lode.child_process"
  local child
  after_each(function() U.kill(child); child = nil end)
  teardown(function() os.execute("rm -rf " .. dir) end)

  -- Starts examples/<name> on a free-ish port with args; returns the port.
  local function start(name, ...)
    local port = 21000 + math.random(0, 8999)
    local args = { "examples/" .. name, tostring(port), ... }
    child = cp.spawn(helper.lode, args)
    helper.wait(400)
    return port
  end

  local function curl(port, path, extra)
    local args = { "-sS", "--http2-prior-knowledge", "-D", "-" }
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    args[#args + 1] = "http://127.0.0.1:" .. port .. path
    local err, out = U.run("curl", args)
    assert.is_nil(err)
    return out
  end

  it("http2_respond_with_fd serves the file with its headers", function()
    local port = start("http2_respond_with_fd.lua", small)
    local out = curl(port, "/")
    assert.matches("content%-length: 20", out)
    assert.matches("last%-modified: %a%a%a, ", out)
    assert.matches("0123456789abcdefghij$", out)
  end)

  it("http2_respond_with_fd_trailers sends the trailers", function()
    local port = start("http2_respond_with_fd_trailers.lua", small)
    local err, out = U.run("nghttp", { "-nv", "http://127.0.0.1:" .. port .. "/" })
    assert.is_nil(err)
    assert.matches("recv %(stream_id=13%) abc: some value to send", out)
  end)

  it("http2_respond_with_file answers 404 for a missing file", function()
    local port = start("http2_respond_with_file.lua")
    assert.matches("HTTP/2 404", curl(port, "/no/such/file"))
    assert.matches("HTTP/2 200", curl(port, "/examples/http2_respond_with_file.lua"))
  end)

  it("http2_respond_with_file_304 answers 304", function()
    local port = start("http2_respond_with_file_304.lua", small)
    assert.matches("HTTP/2 304", curl(port, "/"))
  end)

  it("http2_file_server serves www/ (the benchmark's server) byte-exact", function()
    local port = 21000 + math.random(0, 8999)
    assert(os.execute("mkdir -p " .. dir .. "/www && cp " .. big .. " " .. dir .. "/www/big.bin"))
    local cwd = assert(io.popen("pwd")):read("l")
    child = cp.spawn(helper.lode, { cwd .. "/examples/http2_file_server.lua", tostring(port) }, { cwd = dir })
    helper.wait(400)
    local out = dir .. "/fs.out"
    local err = U.run("curl", { "-sS", "--http2-prior-knowledge", "-o", out,
      "http://127.0.0.1:" .. port .. "/big.bin" })
    assert.is_nil(err)
    assert.equal(sha256(big), sha256(out))
  end)
end)
