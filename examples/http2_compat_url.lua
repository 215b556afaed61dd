-- The document's request.url example: the URL as requested, parsed with URL.
--   lode examples/http2_compat_url.lua [port]
local http2 = require "http2"

http2.createServer(function(req, res)
  local url = URL.new(req.url, "http://example.com")
  res:setHeader("content-type", "text/plain; charset=utf-8")
  res:finish(string.format("%s %s %s", req.url, url.pathname, url.searchParams:get("name")))
end):listen(tonumber(arg and arg[1]) or 8000, "127.0.0.1")
