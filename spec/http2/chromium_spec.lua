-- #tls #browser Headless Chromium loads a page and an image from lode's createSecureServer over
-- h2; the page's script writes the navigation's nextHopProtocol into the DOM (read back with
-- --dump-dom), so the test fails unless the browser spoke HTTP/2.
local helper = require "spec.helper"
local http2 = require "lode.http2"
local fs = require "lode.fs"
local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
local U = dofile(here .. "h2util.lua")

local F = helper.fixtures .. "/"
local CHROMIUM = "/usr/bin/chromium"

-- A 1x1 PNG.
local PNG = "\137PNG\r\n\26\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\8\6\0\0\0\31\21\196\137\0\0\0\r" ..
  "IDATx\156c\248\255\255?\0\5\254\2\254\167\53\129\132\0\0\0\0IEND\174B`\130"

local PAGE = [[<!doctype html><html><head><title>lode h2</title></head><body>
<img id="img" src="/pixel.png">
<div id="out">pending</div>
<script>
window.addEventListener('load', function () {
  var nav = performance.getEntriesByType('navigation')[0];
  var img = performance.getEntriesByType('resource').filter(function (e) {
    return e.name.indexOf('/pixel.png') >= 0; })[0];
  document.getElementById('out').textContent = 'nav=' + nav.nextHopProtocol +
    ' img=' + (img ? img.nextHopProtocol : 'none') +
    ' w=' + document.getElementById('img').naturalWidth;
});
</script></body></html>]]

local defer = helper.defer

describe("#tls #browser headless Chromium", function()
  after_each(function()
    helper.run_deferred()
  end)

  it("loads a page and an image over h2 from createSecureServer", function()
    local f = io.open(CHROMIUM, "rb")
    assert.is_not_nil(f, "chromium is missing: apt-get install -y chromium")
    f:close()
    local paths = {}
    local server = http2.createSecureServer({ key = fs.readFileSync(F .. "localhost-key.pem", "utf8"),
      cert = fs.readFileSync(F .. "localhost.pem", "utf8") })
    server:on("stream", function(stream, headers)
      local path = headers[":path"]
      paths[#paths + 1] = path
      if path == "/pixel.png" then
        stream:respond({ [":status"] = 200, ["content-type"] = "image/png" })
        stream:finish(PNG)
      elseif path == "/" then
        stream:respond({ [":status"] = 200, ["content-type"] = "text/html; charset=utf-8" })
        stream:finish(PAGE)
      else
        stream:respond({ [":status"] = 404 })
        stream:finish()
      end
    end)
    server:listen(0, "127.0.0.1")
    defer(function() U.close_server(server) end)
    local port = server:address().port
    local profile = os.tmpname()
    os.remove(profile)
    defer(function() helper.sh("rm -rf " .. helper.q(profile)) end)
    local err, out = U.run(CHROMIUM, { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--user-data-dir=" .. profile, "--ignore-certificate-errors",
      "--virtual-time-budget=5000", "--dump-dom", "https://localhost:" .. port .. "/" }, 60000)
    assert.is_nil(err)
    assert.matches('<div id="out">nav=h2 img=h2 w=1</div>', out, 1, true)
    assert.is_truthy(#paths >= 2)
  end)
end)
