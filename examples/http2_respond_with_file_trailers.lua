-- respondWithFile() with waitForTrailers (the document's last respondWithFile example): the
-- file goes out, then the trailers. '/some/file' is a temporary file here.
local http2 = require "http2"
local fs = require "fs"

local file = os.tmpname()
fs.writeFileSync(file, "the file body\n")

local server = http2.createServer()
server:on("stream", function(stream)
  stream:respondWithFile(file,
    { ["content-type"] = "text/plain; charset=utf-8" },
    { waitForTrailers = true })
  stream:on("wantTrailers", function()
    stream:sendTrailers({ ABC = "some value to send" })
  end)
end)

server:listen(0, "127.0.0.1", function()
  local client = http2.connect("http://127.0.0.1:" .. server:address().port)
  local req = client:request({ [":path"] = "/" })
  req:on("response", function(headers)
    console.log(string.format("status: %s content-length: %s", headers[":status"], headers["content-length"]))
  end)
  req:setEncoding("utf8")
  local data = ""
  req:on("data", function(chunk) data = data .. chunk end)
  req:on("trailers", function(headers) console.log("trailer abc: " .. headers.abc) end)
  req:on("end", function()
    io.write("body: " .. data)
    os.remove(file)
    client:close()
    server:close()
  end)
end)
