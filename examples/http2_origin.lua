-- serverhttp2session.origin() and the client's 'origin' event: the server advertises two more
-- origins in an ORIGIN frame (TLS only); the client prints them and its originSet.
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
local server = http2.createSecureServer(options)
server:on("stream", function(stream)
  stream:respond()
  stream:finish("ok")
end)
server:on("session", function(session)
  session:origin("https://example.com", "https://example.org")
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
    -- originSet[1] is the connection's own origin, whose port changes from run to run.
    console.log("originSet: " .. table.concat(client.originSet, ", ", 2))
    client:close()
    server:close()
  end)
end)
