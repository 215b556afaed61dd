-- The document's client example over TLS: http2_secure_client.lua [url [ca.pem]]
-- (defaults: https://localhost:8443 and the test CA of spec/fixtures).
local http2 = require "http2"
local fs = require "fs"

local fixtures = (debug.getinfo(1, "S").source:match("^@(.*)/examples/") or ".") .. "/spec/fixtures/"
local client = http2.connect(process.argv[3] or "https://localhost:8443", {
  ca = fs.readFileSync(process.argv[4] or fixtures .. "ca.pem"),
})
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
