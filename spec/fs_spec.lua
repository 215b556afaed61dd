-- fs: Stats, Dirent, fs.constants, and the Date class that Stats' times are made of.
local helper = require "spec.helper"
local fs = require "lode.fs"
local Date = require "lode.date"

local q = helper.q

local dir
before_each(function()
  dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -m 700 " .. q(dir)))
end)
after_each(function() os.execute("rm -rf " .. q(dir)) end)

local function touch(path, when)
  assert(os.execute(string.format("touch -d %s %s", q(when), q(path))))
end

-- stat(1)'s view of path: size, inode, links, uid, gid, raw mode (hex), device, blocks.
local function shell_stat(path)
  local out = helper.sh("stat -c '%s %i %h %u %g %f %d %b' " .. q(path))
  local size, ino, nlink, uid, gid, mode, dev, blocks =
    out:match("^(%d+) (%d+) (%d+) (%d+) (%d+) (%x+) (%d+) (%d+)")
  return {
    size = tonumber(size), ino = tonumber(ino), nlink = tonumber(nlink), uid = tonumber(uid),
    gid = tonumber(gid), mode = tonumber(mode, 16), dev = tonumber(dev), blocks = tonumber(blocks),
  }
end

describe("fs.Stats", function()
  it("has the fields stat(1) reports, as integers", function()
    local path = dir .. "/f"
    assert(io.open(path, "wb")):close()
    fs.writeFileSync(path, "hello")
    local st, want = fs.statSync(path), shell_stat(path)
    for k, v in pairs(want) do
      assert.equal(v, st[k], k)
      assert.equal("integer", math.type(st[k]), k)
    end
    assert.equal(0, st.rdev)
    assert.is_true(st.blksize > 0)
  end)

  it("gives the times in milliseconds as Node computes them", function()
    local path = dir .. "/f"
    fs.writeFileSync(path, "")
    touch(path, "2026-11-25 04:19:13.250 UTC")
    local st = fs.statSync(path)
    assert.equal(1795580353250, st.mtimeMs)
    assert.equal(1795580353250, st.atimeMs)
    assert.is_number(st.ctimeMs)
    assert.is_number(st.birthtimeMs)
  end)

  it("gives the times as dates", function()
    local path = dir .. "/f"
    fs.writeFileSync(path, "")
    touch(path, "2026-11-25 04:19:13.250 UTC")
    local st = fs.statSync(path)
    assert.equal("Wed, 25 Nov 2026 04:19:13 GMT", st.mtime:toUTCString())
    assert.equal("2026-11-25T04:19:13.250Z", st.atime:toISOString())
    assert.equal(1795580353250, st.mtime:getTime())
    assert.is_true(Date.instanceof(st.ctime, Date))
    assert.is_true(Date.instanceof(st.birthtime, Date))
  end)

  it("rounds the date to whole milliseconds, as Node", function()
    local st = setmetatable({ mtimeMs = 1795580317728.5696 }, fs.Stats)
    assert.equal(1795580317729, st.mtime:getTime())
  end)

  it("makes each date on first use and keeps it", function()
    local st = fs.statSync(dir)
    assert.is_nil(rawget(st, "mtime"))
    local d = st.mtime
    assert.equal(d, rawget(st, "mtime"))
    assert.is_true(rawequal(d, st.mtime))
  end)

  it("lets a date field be replaced", function()
    local st = fs.statSync(dir)
    st.mtime = "replaced"
    assert.equal("replaced", st.mtime)
  end)

  it("tells a regular file", function()
    fs.writeFileSync(dir .. "/f", "")
    local st = fs.statSync(dir .. "/f")
    assert.is_true(st:isFile())
    for _, m in ipairs { "isDirectory", "isSymbolicLink", "isFIFO", "isSocket", "isCharacterDevice",
      "isBlockDevice" } do
      assert.is_false(st[m](st), m)
    end
  end)

  it("tells a directory", function()
    assert.is_true(fs.statSync(dir):isDirectory())
  end)

  it("tells a character device", function()
    assert.is_true(fs.statSync("/dev/null"):isCharacterDevice())
  end)

  it("tells a FIFO", function()
    assert(os.execute("mkfifo " .. q(dir .. "/p")))
    assert.is_true(fs.statSync(dir .. "/p"):isFIFO())
  end)

  it("tells a symbolic link through lstat", function()
    assert(os.execute("ln -s nowhere " .. q(dir .. "/l")))
    assert.is_true(fs.lstatSync(dir .. "/l"):isSymbolicLink())
  end)

  it("is the class of what fstat returns", function()
    local fd = fs.openSync(dir)
    finally(function() fs.closeSync(fd) end)
    assert.equal(fs.Stats, getmetatable(fs.fstatSync(fd)))
  end)
end)

describe("fs.Dirent", function()
  it("tells the type of each entry", function()
    fs.writeFileSync(dir .. "/f", "")
    assert(os.execute("ln -s f " .. q(dir .. "/l")))
    local list = fs.readdirSync(dir, { withFileTypes = true })
    assert.equal("f", list[1].name)
    assert.is_true(list[1]:isFile())
    assert.is_false(list[1]:isSymbolicLink())
    assert.equal("l", list[2].name)
    assert.is_true(list[2]:isSymbolicLink())
    assert.is_false(list[2]:isFile())
  end)
end)

describe("fs.constants", function()
  it("has Linux's open flags", function()
    local c = fs.constants
    assert.equal(0, c.O_RDONLY)
    assert.equal(1, c.O_WRONLY)
    assert.equal(2, c.O_RDWR)
    assert.equal(64, c.O_CREAT)
    assert.equal(128, c.O_EXCL)
    assert.equal(512, c.O_TRUNC)
    assert.equal(1024, c.O_APPEND)
  end)

  it("has the file type bits", function()
    local c = fs.constants
    assert.equal(61440, c.S_IFMT)
    assert.equal(32768, c.S_IFREG)
    assert.equal(16384, c.S_IFDIR)
    assert.equal(40960, c.S_IFLNK)
  end)

  it("has the access modes, also on fs itself", function()
    local c = fs.constants
    assert.same({ 0, 4, 2, 1 }, { c.F_OK, c.R_OK, c.W_OK, c.X_OK })
    assert.same({ 0, 4, 2, 1 }, { fs.F_OK, fs.R_OK, fs.W_OK, fs.X_OK })
  end)

  it("has the copyFile flags", function()
    assert.equal(1, fs.constants.COPYFILE_EXCL)
    assert.equal(2, fs.constants.COPYFILE_FICLONE)
    assert.equal(4, fs.constants.COPYFILE_FICLONE_FORCE)
  end)
end)

describe("Date", function()
  it("keeps the instant in milliseconds", function()
    assert.equal(1779294449000, Date.new(1779294449000):getTime())
    assert.equal(1779294449000, Date(1779294449000):valueOf())
  end)

  it("drops the fraction towards zero, as JS's TimeClip", function()
    assert.equal(1, Date.new(1.9):getTime())
    assert.equal(-1, Date.new(-1.9):getTime())
  end)

  it("formats toUTCString as JS (the HTTP date)", function()
    assert.equal("Wed, 20 May 2026 16:27:29 GMT", Date.new(1779294449000):toUTCString())
    assert.equal("Thu, 01 Jan 1970 00:00:00 GMT", Date.new(0):toUTCString())
  end)

  it("formats toISOString with milliseconds", function()
    assert.equal("2026-11-25T04:19:13.250Z", Date.new(1795580353250):toISOString())
  end)

  it("formats instants before 1970", function()
    assert.equal("1969-12-31T23:59:59.999Z", Date.new(-1):toISOString())
    assert.equal("Wed, 31 Dec 1969 23:59:59 GMT", Date.new(-1):toUTCString())
  end)

  it("knows leap days", function()
    assert.equal("Thu, 29 Feb 2024 00:00:00 GMT", Date.new(1709164800000):toUTCString())
  end)

  it("uses the expanded year form outside 0..9999", function()
    assert.equal("+010000-01-01T00:00:00.000Z", Date.new(253402300800000):toISOString())
    assert.equal("-000001-01-01T00:00:00.000Z", Date.new(-62198755200000):toISOString())
    assert.equal("Fri, 01 Jan -0001 00:00:00 GMT", Date.new(-62198755200000):toUTCString())
  end)

  it("gives the UTC fields", function()
    local d = Date.new(1795580353250)
    assert.same({ 2026, 10, 25, 3, 4, 19, 13, 250 }, {
      d:getUTCFullYear(), d:getUTCMonth(), d:getUTCDate(), d:getUTCDay(), d:getUTCHours(),
      d:getUTCMinutes(), d:getUTCSeconds(), d:getUTCMilliseconds(),
    })
  end)

  it("prints as its ISO string, as console.log shows a Date", function()
    assert.equal("2026-11-25T04:19:13.250Z", tostring(Date.new(1795580353250)))
  end)

  it("compares by instant", function()
    local a, b = Date.new(1000), Date.new(2000)
    assert.is_true(a == Date.new(1000))
    assert.is_false(a == b)
    assert.is_true(a < b)
    assert.is_true(a <= Date.new(1000))
    assert.is_false(b < a)
  end)

  it("is invalid beyond 8.64e15 ms", function()
    local d = Date.new(8.64e15 + 1)
    assert.equal("Invalid Date", d:toUTCString())
    assert.equal("Invalid Date", tostring(d))
    helper.assert_throws(function() d:toISOString() end, { name = "RangeError" })
  end)

  it("is now without an argument", function()
    local before = os.time() * 1000
    local ms = Date.new():getTime()
    assert.is_true(ms >= before and ms <= before + 2000)
  end)
end)
