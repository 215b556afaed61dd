-- The origins option of http2.createSecureServer(): every new session sends the ORIGIN frame
-- at once; the client's 'origin' event prints it.
local http2 = require "http2"
local fs = require "fs"

local fixtures = (debug.getinfo(1, "S").source:match("^@(.*)/examples/") or ".") .. "/spec/fixtures/"
local function getSecureOptionsSomehow()
  return {
    key = fs.readFileSync(fixtures .. "localhost-key.pem"),
    cert = fs.readFileSync(fixtures .. "localhost.pem"),
  }
end

local options = getSecureOptionsSomehow()
options.origins = { "https://example.com", "https://example.org" }
local server = http2.createSecureServer(options)
server:on("stream", function(stream)
  stream:respond()
  stream:finish("ok")
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("https://localhost:" .. server:address().port,
    { ca = fs.readFileSync(fixtures .. "ca.pem") })
  client:on("origin", function(origins)
    for n = 1, #origins do
      console.log(origins[n])
    end
  end)
  local req = client:request({ [":path"] = "/" })
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("end", function()
    console.log("body: " .. data)
    client:close()
    server:close()
  end)
end)
