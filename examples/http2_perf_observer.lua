-- Collecting HTTP/2 performance metrics (the document's example), around one request.
--   lode examples/http2_perf_observer.lua
local http2 = require "http2"
local PerformanceObserver = require("perf_hooks").PerformanceObserver

local obs = PerformanceObserver.new(function(items)
  for _, entry in ipairs(items:getEntries()) do
    print(entry.entryType, entry.name) -- prints 'http2'
    if entry.name == "Http2Session" then
      -- Entry contains statistics about the Http2Session
      local d = entry.detail
      print("", d.type, "streams " .. d.streamCount, "bytesRead " .. d.bytesRead)
    elseif entry.name == "Http2Stream" then
      -- Entry contains statistics about the Http2Stream
      print("", "id " .. entry.detail.id, "bytesRead " .. entry.detail.bytesRead)
    end
  end
end)
obs:observe({ entryTypes = { "http2" } })

local server = http2.createServer()
server:on("stream", function(stream) stream:respond(); stream:finish("hello") end)
server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({})
  req:resume()
  req:on("close", function()
    client:close()
    server:close()
    setTimeout(function() obs:disconnect() end, 50)
  end)
end)
