-- respondWithFD (the document's first example): the handler opens, stats and closes the fd.
--   lode examples/http2_respond_with_fd.lua [port] [file]
local http2 = require "http2"
local fs = require "fs"
local file = arg and arg[2] or "/etc/hostname"

local server = http2.createServer()
server:on("stream", function(stream)
  local fd = fs.openSync(file, "r")
  local stat = fs.fstatSync(fd)
  local headers = {
    ["content-length"] = stat.size,
    ["last-modified"] = stat.mtime:toUTCString(),
    ["content-type"] = "text/plain; charset=utf-8",
  }
  stream:respondWithFD(fd, headers)
  stream:on("close", function() fs.closeSync(fd) end)
end)
server:listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
