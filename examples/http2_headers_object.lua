-- Headers object: a repeated field given as a sequence arrives joined with ", ".
local http2 = require "http2"
local server = http2.createServer()
server:on("stream", function(stream, headers)
  print(headers[":path"])
  print(headers.abc)
  stream:respond({ [":status"] = "200", ["content-type"] = "text-plain",
    ABC = { "has", "more", "than", "one", "value" } })
  stream:finish()
end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/p", ABC = { "a", "b" } })
  req:on("response", function(headers) print(headers.abc) end)
  req:resume()
  req:on("end", function() client:close(); server:close() end)
  req:finish()
end)
