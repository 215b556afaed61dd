-- The quick start's server: the Node document's first example (a server answering every stream
-- with a small HTML page), over cleartext HTTP/2 on a built-in default port.
--   build/lode examples/server.lua [port]
--   curl --http2-prior-knowledge http://127.0.0.1:8080/
local http2 = require "http2"

local port = tonumber(arg[1]) or 8080
local server = http2.createServer()

server:on("error", function(err) console.error(err) end)

server:on("stream", function(stream, headers)
  stream:respond({
    ["content-type"] = "text/html; charset=utf-8",
    [":status"] = 200,
  })
  stream:finish("<h1>Hello World</h1>\n<p>lode served " .. headers[":path"] .. " over HTTP/2</p>\n")
end)

server:listen(port, "127.0.0.1", function()
  console.log("lode: HTTP/2 server on http://127.0.0.1:%d/ (h2c; Ctrl-C stops it)", server:address().port)
end)
