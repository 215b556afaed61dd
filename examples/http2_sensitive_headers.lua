-- Sensitive headers: http2.sensitiveHeaders marks fields never to be HPACK-indexed.
local http2 = require "http2"
local server = http2.createServer()
server:on("stream", function(stream)
  stream:respond({
    [":status"] = "200",
    ["content-type"] = "text-plain",
    cookie = "some-cookie",
    ["other-sensitive-header"] = "very secret data",
    [http2.sensitiveHeaders] = { "cookie", "other-sensitive-header" },
  })
  stream:finish()
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/" })
  req:on("response", function(headers)
    print(headers["other-sensitive-header"])
    local names = headers[http2.sensitiveHeaders] or {}
    table.sort(names)
    print("sensitive: " .. table.concat(names, ","))
  end)
  req:resume()
  req:on("end", function() client:close(); server:close() end)
  req:finish()
end)
