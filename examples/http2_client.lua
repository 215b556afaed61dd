-- The document's client example, over h2c: http2_client.lua [url]
local http2 = require "http2"
local client = http2.connect(process.argv[3] or "http://localhost:8443")
client:on("error", function(err) console.error(err) end)

local req = client:request({ [":path"] = "/" })

req:on("response", function(headers)
  for name, value in pairs(headers) do
    console.log(string.format("%s: %s", name, value))
  end
end)

req:setEncoding("utf8")
local data = ""
req:on("data", function(chunk) data = data .. chunk end)
req:on("end", function()
  console.log("\n" .. data)
  client:close()
end)
req:finish()
