-- lode.url: the WHATWG URL and URLSearchParams, as Node 20 has them.
-- Expected values were checked against Node 20 (`new URL(...)`).

local url_module = require "lode.url"
local util = require "lode.util"

local URL, URLSearchParams = url_module.URL, url_module.URLSearchParams

local function parts(u)
  return {
    href = u.href, origin = u.origin, protocol = u.protocol, username = u.username,
    password = u.password, host = u.host, hostname = u.hostname, port = u.port,
    pathname = u.pathname, search = u.search, hash = u.hash,
  }
end

local function raises_invalid_url(...)
  local ok, err = pcall(URL.new, ...)
  assert.is_false(ok, "no error raised")
  assert.equal("TypeError [ERR_INVALID_URL]: Invalid URL", tostring(err))
  return err
end

describe("URL.new()", function()
  it("splits a URL into Node's components", function()
    assert.same({
      href = "https://user:pass@sub.example.com:8080/p/a/t/h?query=string#hash",
      origin = "https://sub.example.com:8080", protocol = "https:", username = "user",
      password = "pass", host = "sub.example.com:8080", hostname = "sub.example.com",
      port = "8080", pathname = "/p/a/t/h", search = "?query=string", hash = "#hash",
    }, parts(URL.new("https://user:pass@sub.example.com:8080/p/a/t/h?query=string#hash")))
  end)

  it("is also called as URL(s)", function()
    assert.equal("http://a/", URL("http://a").href)
  end)

  it("lower-cases the scheme and host of special URLs and gives them the path /", function()
    local u = URL.new("HTTP://EXAMPLE.COM")
    assert.equal("http://example.com/", u.href)
    assert.equal("/", u.pathname)
  end)

  it("drops the default port of the scheme", function()
    assert.equal("", URL.new("http://a:80/").port)
    assert.equal("", URL.new("https://a:443/").port)
    assert.equal("", URL.new("ws://a:80/").port)
    assert.equal("", URL.new("wss://a:443/").port)
    assert.equal("", URL.new("ftp://a:21/").port)
    assert.equal("https://a/", URL.new("https://a:443/").href)
  end)

  it("keeps any other port, as a string without leading zeros", function()
    assert.equal("8443", URL.new("https://a:8443/").port)
    assert.equal("443", URL.new("http://a:443/").port)
    assert.equal("8080", URL.new("http://a:008080/").port)
    assert.equal("", URL.new("http://a:00080/").port)
  end)

  it("keeps the host of a non-special URL as written, without a default path", function()
    local u = URL.new("tcp://h:1")
    assert.same({ "1", "h:1", "h", "", "null" }, { u.port, u.host, u.hostname, u.pathname, u.origin })
    assert.equal("foo://BAR/x", URL.new("foo://BAR/x").href)
  end)

  it("keeps IPv6 hosts in brackets, compressed", function()
    local u = URL.new("http://[0:0:0:0:0:0:0:1]:8080/")
    assert.same({ "[::1]", "[::1]:8080", "8080" }, { u.hostname, u.host, u.port })
    assert.equal("http://[1::1]/", URL.new("http://[1:0::0:1]/").href)
    assert.equal("http://[::ffff:102:304]/", URL.new("http://[::ffff:1.2.3.4]/").href)
  end)

  it("normalizes IPv4 addresses written in hex, octal or short forms", function()
    assert.equal("127.0.0.1", URL.new("http://0x7f.1/").hostname)
    assert.equal("127.0.0.1", URL.new("http://0177.0.0.1/").hostname)
    assert.equal("255.255.255.255", URL.new("http://4294967295/").hostname)
  end)

  it("encodes an internationalized domain name in Punycode", function()
    assert.equal("xn--mnchen-3ya.de", URL.new("http://münchen.de/").hostname)
    assert.equal("xn--mnchen-3ya.de", URL.new("http://MÜNCHEN.DE/").hostname)
    assert.equal("xn--zca.de", URL.new("http://ß.de/").hostname)
  end)

  it("decodes percent-encoded domain names", function()
    assert.equal("a.com", URL.new("http://%41.com/").hostname)
  end)

  it("percent-encodes spaces, quotes, <, >, backquotes and non-ASCII in the path", function()
    assert.equal('/^%7B%7D|%60%22%3C%3E%20x/%C3%A9', URL.new('http://a/^{}|`"<> x/é').pathname)
  end)

  it("percent-encodes the query, and ' only for special schemes", function()
    assert.equal("?q=%22'%3C%3E%20x", URL.new("foo://a/?q=\"'<> x").search)
    assert.equal("?q=%22%27%3C%3E%20x", URL.new("http://a/?q=\"'<> x").search)
  end)

  it("percent-encodes the fragment", function()
    assert.equal("#a%20b%60%22%3C%3E", URL.new('http://a/#a b`"<>').hash)
  end)

  it("percent-encodes the user name and password", function()
    local u = URL.new("http://us@er:pa ss@host/")
    assert.same({ "us%40er", "pa%20ss" }, { u.username, u.password })
  end)

  it("removes dot segments, encoded ones included", function()
    assert.equal("/a/c/d", URL.new("http://x/a/b/../c/./d").pathname)
    assert.equal("/x", URL.new("http://a/%2e%2E/x").pathname)
    assert.equal("/x", URL.new("http://a/../../x").pathname)
  end)

  it("reads backslashes as slashes in special URLs only", function()
    assert.equal("http://a/b/c", URL.new("http://a\\b\\c").href)
    assert.equal("foo://a/b\\c", URL.new("foo://a/b\\c").href)
  end)

  it("ignores leading and trailing spaces and any tab or newline", function()
    assert.equal("http://trim.me/ab", URL.new("  http://trim.me/a\tb\n  ").href)
  end)

  it("keeps an opaque path as it is", function()
    local u = URL.new("mailto:someone@example.com")
    assert.same({ "mailto:", "someone@example.com", "", "null" },
      { u.protocol, u.pathname, u.host, u.origin })
  end)

  it("turns file://localhost into an empty host and keeps drive letters", function()
    assert.equal("file:///etc", URL.new("file://localhost/etc").href)
    assert.equal("file:///C:/y", URL.new("file:///C|/x/../../y").href)
    assert.equal("null", URL.new("file:///etc").origin)
  end)

  it("gives a blob URL the origin of the URL inside it", function()
    assert.equal("https://a.b", URL.new("blob:https://a.b/x").origin)
  end)

  describe("with a base", function()
    local cases = {
      { "../x", "http://a/b/c/d", "http://a/b/x" },
      { "./x", "http://a/b/c/d", "http://a/b/c/x" },
      { "/x", "http://a/b/c/d?q#f", "http://a/x" },
      { "?y", "http://a/b/c/d?q#f", "http://a/b/c/d?y" },
      { "#h", "http://a/b/c/d?q#f", "http://a/b/c/d?q#h" },
      { "//host/p", "http://a/b/c/d", "http://host/p" },
      { "", "http://a/b?q#f", "http://a/b?q" },
      { "../../../../x", "http://a/b", "http://a/x" },
      { "x", "file:///C:/a/b", "file:///C:/a/x" },
      { "/x", "file:///C:/a/b", "file:///C:/x" },
      { "http:x", "http://a/b/c", "http://a/b/x" },
      { "https:x", "http://a/b/c", "https://x/" },
      { "foo://x/../y", "http://a/", "foo://x/y" },
      { "#x", "foo:opaque", "foo:opaque#x" },
    }
    for _, case in ipairs(cases) do
      local input, base, href = case[1], case[2], case[3]
      it(string.format("resolves %q against %s to %s", input, base, href), function()
        assert.equal(href, URL.new(input, base).href)
      end)
    end

    it("takes a URL object as the base", function()
      assert.equal("http://a/b/x", URL.new("x", URL.new("http://a/b/c")).href)
    end)
  end)

  it("raises TypeError ERR_INVALID_URL with the input for an invalid URL", function()
    local err = raises_invalid_url("x")
    assert.equal("ERR_INVALID_URL", err.code)
    assert.equal("x", err.input)
    assert.is_nil(err.base)
  end)

  it("raises ERR_INVALID_URL with the base when resolving fails", function()
    assert.equal("bad", raises_invalid_url("x", "bad").base)
    assert.equal("foo:opaque", raises_invalid_url("x", "foo:opaque").base)
  end)

  it("rejects invalid hosts and ports", function()
    raises_invalid_url("http://1.2.3.4.5/")
    raises_invalid_url("http://a b/")
    raises_invalid_url("http://a%2fb/")
    raises_invalid_url("http://[1::2::3]/")
    raises_invalid_url("http://a:65536/")
    raises_invalid_url("http://a:b/")
    raises_invalid_url("http://")
    raises_invalid_url("http://user@/")
  end)

  it("raises ERR_MISSING_ARGS without an input", function()
    local ok, err = pcall(URL.new)
    assert.is_false(ok)
    assert.equal("ERR_MISSING_ARGS", err.code)
  end)
end)

describe("URL.canParse()", function()
  it("tells whether URL.new would succeed", function()
    assert.is_true(URL.canParse("http://a/"))
    assert.is_true(URL.canParse("x", "http://a/"))
    assert.is_false(URL.canParse("x"))
    assert.is_false(URL.canParse("x", "bad"))
  end)
end)

describe("URL serialization", function()
  it("gives the href from tostring(), :toString() and :toJSON()", function()
    local u = URL.new("http://a/b?c#d")
    assert.equal("http://a/b?c#d", tostring(u))
    assert.equal("http://a/b?c#d", u:toString())
    assert.equal("http://a/b?c#d", u:toJSON())
  end)

  it("renders in util.inspect as Node's URL, one component per line", function()
    local s = util.inspect(URL.new("http://a/?x=1"))
    assert.equal("URL {\n  href = 'http://a/?x=1',\n  origin = 'http://a',",
      s:match("^[^\n]*\n[^\n]*\n[^\n]*"))
    assert.truthy(s:find("\n  searchParams = URLSearchParams { 'x' => '1' },\n  hash = ''\n}$"))
  end)
end)

describe("URL setters", function()
  it("pathname replaces the path, encoded and without dot segments", function()
    local u = URL.new("http://a/old?q#f")
    u.pathname = "a b/../c"
    assert.equal("http://a/c?q#f", u.href)
  end)

  it("search replaces the query, with or without its ?", function()
    local u = URL.new("http://a/x#f")
    u.search = "q r"
    assert.equal("http://a/x?q%20r#f", u.href)
    u.search = "?s"
    assert.equal("?s", u.search)
  end)

  it("search = '' removes the query", function()
    local u = URL.new("http://a/x?q")
    u.search = ""
    assert.equal("http://a/x", u.href)
  end)

  it("hash replaces the fragment, and '' removes it", function()
    local u = URL.new("http://a/x#old")
    u.hash = "x y"
    assert.equal("http://a/x#x%20y", u.href)
    u.hash = ""
    assert.equal("http://a/x", u.href)
  end)

  it("port takes the leading digits and drops the default port", function()
    local u = URL.new("http://a/")
    u.port = "8080abc"
    assert.equal("http://a:8080/", u.href)
    u.port = 80
    assert.equal("http://a/", u.href)
  end)

  it("port leaves the URL unchanged when out of range or not a number", function()
    local u = URL.new("http://a:81/")
    u.port = "99999"
    u.port = "abc"
    assert.equal("81", u.port)
  end)

  it("port = '' removes the port", function()
    local u = URL.new("http://a:81/")
    u.port = ""
    assert.equal("http://a/", u.href)
  end)

  it("host sets host and port; hostname only the host", function()
    local u = URL.new("http://a/p")
    u.host = "b:81"
    assert.equal("http://b:81/p", u.href)
    u.hostname = "C.D"
    assert.equal("http://c.d:81/p", u.href)
    u.hostname = "e:82"
    assert.equal("http://c.d:81/p", u.href)
  end)

  it("protocol switches between special schemes only", function()
    local u = URL.new("http://a:443/")
    u.protocol = "https"
    assert.equal("https://a/", u.href)
    u.protocol = "foo"
    assert.equal("https:", u.protocol)
  end)

  it("username and password are percent-encoded", function()
    local u = URL.new("http://a/")
    u.username = "u@:"
    u.password = "p w"
    assert.equal("http://u%40%3A:p%20w@a/", u.href)
  end)

  it("username does nothing on a URL that cannot have credentials", function()
    local u = URL.new("file:///x")
    u.username = "u"
    assert.equal("file:///x", u.href)
  end)

  it("href parses a whole new URL", function()
    local u = URL.new("http://a/x?q=1")
    u.href = "https://b/y?z=2"
    assert.equal("b", u.host)
    assert.equal("2", u.searchParams:get("z"))
  end)

  it("href raises ERR_INVALID_URL for an invalid URL", function()
    local u = URL.new("http://a/")
    local ok, err = pcall(function() u.href = "nope" end)
    assert.is_false(ok)
    assert.equal("ERR_INVALID_URL", err.code)
    assert.equal("http://a/", u.href)
  end)

  it("origin is read-only", function()
    local u = URL.new("http://a/")
    assert.has_error(function() u.origin = "http://b" end)
  end)
end)

describe("URL.searchParams", function()
  it("holds the query's pairs, decoded", function()
    local p = URL.new("http://a/?x=1%202&y=%20+&x=3").searchParams
    assert.equal("1 2", p:get("x"))
    assert.equal("  ", p:get("y"))
    assert.same({ "1 2", "3" }, p:getAll("x"))
  end)

  it("is the same object at every read", function()
    local u = URL.new("http://a/")
    assert.equal(u.searchParams, u.searchParams)
  end)

  it("updates the URL when changed", function()
    local u = URL.new("http://a/p?x=1#f")
    u.searchParams:append("z", "a b&c=d/é")
    assert.equal("http://a/p?x=1&z=a+b%26c%3Dd%2F%C3%A9#f", u.href)
  end)

  it("removes the ? when emptied", function()
    local u = URL.new("http://a/?x=1")
    u.searchParams:delete("x")
    assert.equal("http://a/", u.href)
  end)

  it("follows the search setter", function()
    local u = URL.new("http://a/?x=1")
    u.search = "?y=2"
    assert.is_nil(u.searchParams:get("x"))
    assert.equal("2", u.searchParams:get("y"))
  end)
end)

describe("URLSearchParams.new()", function()
  it("parses a query string, with or without its ?", function()
    assert.equal("1", URLSearchParams.new("?a=1&b=2"):get("a"))
    assert.equal("2", URLSearchParams.new("a=1&b=2"):get("b"))
  end)

  it("decodes + as a space and percent escapes, and keeps broken escapes", function()
    local p = URLSearchParams.new("d=%41+%2B&c=%zz")
    assert.equal("A +", p:get("d"))
    assert.equal("%zz", p:get("c"))
  end)

  it("reads a pair without = as an empty value, and skips empty pairs", function()
    local p = URLSearchParams.new("f&&g=h=i")
    assert.same({ "", "h=i", 2 }, { p:get("f"), p:get("g"), p.size })
  end)

  it("takes a sequence of { name, value } pairs", function()
    assert.equal("x=1&y=%C3%A9", URLSearchParams.new({ { "x", 1 }, { "y", "é" } }):toString())
  end)

  it("takes a table of names to values, in sorted order", function()
    assert.equal("a=1&b=2", URLSearchParams.new({ b = 2, a = "1" }):toString())
  end)

  it("copies another URLSearchParams", function()
    local a = URLSearchParams.new("x=1")
    local b = URLSearchParams.new(a)
    b:append("y", "2")
    assert.same({ "x=1", "x=1&y=2" }, { a:toString(), b:toString() })
  end)

  it("raises ERR_INVALID_TUPLE for a pair that is not { name, value }", function()
    local ok, err = pcall(URLSearchParams.new, { { "a" } })
    assert.is_false(ok)
    assert.equal("Each query pair must be an iterable [name, value] tuple", err.message)
  end)
end)

describe("URLSearchParams methods", function()
  it("get returns the first value, or nil", function()
    local p = URLSearchParams.new("a=1&a=2")
    assert.equal("1", p:get("a"))
    assert.is_nil(p:get("b"))
  end)

  it("has tells whether a name (and value) is there", function()
    local p = URLSearchParams.new("a=1")
    assert.same({ true, true, false, false }, { p:has("a"), p:has("a", "1"), p:has("a", "2"), p:has("b") })
  end)

  it("set replaces the first value and removes the others", function()
    local p = URLSearchParams.new("a=1&b=2&a=3")
    p:set("a", "x")
    assert.equal("a=x&b=2", p:toString())
    p:set("c", 4)
    assert.equal("a=x&b=2&c=4", p:toString())
  end)

  it("delete removes a name, or only the pairs with a given value", function()
    local p = URLSearchParams.new("a=1&a=2&b=3")
    p:delete("a", "2")
    assert.equal("a=1&b=3", p:toString())
    p:delete("a")
    assert.equal("b=3", p:toString())
  end)

  it("sort orders by name and keeps the order of equal names", function()
    local p = URLSearchParams.new("c=1&a=2&b=3&a=1")
    p:sort()
    assert.equal("a=2&a=1&b=3&c=1", p:toString())
  end)

  it("toString encodes as application/x-www-form-urlencoded", function()
    local p = URLSearchParams.new()
    p:append("k y", "1 ~!*()'&=/")
    assert.equal("k+y=1+%7E%21*%28%29%27%26%3D%2F", p:toString())
    assert.equal("k+y=1+%7E%21*%28%29%27%26%3D%2F", tostring(p))
  end)

  it("entries, keys and values iterate in order", function()
    local p = URLSearchParams.new("a=1&b=2")
    local pairs_seen, names, values = {}, {}, {}
    for name, value in p:entries() do pairs_seen[#pairs_seen + 1] = name .. "=" .. value end
    for name in p:keys() do names[#names + 1] = name end
    for value in p:values() do values[#values + 1] = value end
    assert.same({ { "a=1", "b=2" }, { "a", "b" }, { "1", "2" } }, { pairs_seen, names, values })
  end)

  it("forEach calls fn(value, name, params)", function()
    local p, seen = URLSearchParams.new("a=1"), nil
    p:forEach(function(value, name, params) seen = { value, name, params } end)
    assert.same({ "1", "a", p }, seen)
  end)

  it("size counts the pairs", function()
    assert.equal(3, URLSearchParams.new("a=1&a=2&b").size)
  end)

  it("raise ERR_MISSING_ARGS without a name or value", function()
    local p = URLSearchParams.new()
    local ok, err = pcall(p.append, p, "a")
    assert.is_false(ok)
    assert.equal('The "name" and "value" arguments must be specified', err.message)
    ok, err = pcall(p.get, p)
    assert.is_false(ok)
    assert.equal("ERR_MISSING_ARGS", err.code)
  end)

  it("renders in util.inspect as Node's", function()
    assert.equal("URLSearchParams { 'a' => '1', 'b' => '2' }", util.inspect(URLSearchParams.new("a=1&b=2")))
    assert.equal("URLSearchParams {}", util.inspect(URLSearchParams.new()))
  end)
end)
