-- fs: the *Sync functions, against files made and checked with Lua's io and the shell.
local helper = require "spec.helper"
local fs = require "lode.fs"

local q = helper.q

local function make_tmpdir()
  local name = os.tmpname()
  os.remove(name)
  assert(os.execute("mkdir -m 700 " .. q(name)))
  return name
end

local write, read, exists = helper.write_file, helper.read_file, helper.exists

-- The permission bits of path, from stat(1).
local function perm(path)
  return tonumber(helper.sh("stat -c %a " .. q(path)), 8)
end

local dir
before_each(function() dir = make_tmpdir() end)
after_each(function() os.execute("rm -rf " .. q(dir)) end)

describe("fs.readFileSync()", function()
  it("returns the file's bytes as a string", function()
    local bytes = "a\0b\255\r\n"
    write(dir .. "/f", bytes)
    assert.equal(bytes, fs.readFileSync(dir .. "/f"))
  end)

  it("returns an empty string for an empty file", function()
    write(dir .. "/f", "")
    assert.equal("", fs.readFileSync(dir .. "/f"))
  end)

  it("reads a file larger than one read chunk completely", function()
    local big = string.rep("0123456789abcdef", 20000) .. "tail"
    write(dir .. "/big", big)
    assert.equal(big, fs.readFileSync(dir .. "/big"))
  end)

  it("reads /proc files, whose size is 0, to the end", function()
    local status = fs.readFileSync("/proc/self/status")
    assert.truthy(status:find("^Name:"))
    assert.truthy(status:find("\nPid:"))
    assert.equal("\n", status:sub(-1))
  end)

  it("decodes with an encoding given as a string", function()
    write(dir .. "/f", "hi\n")
    assert.equal("68690a", fs.readFileSync(dir .. "/f", "hex"))
  end)

  it("decodes with options.encoding", function()
    write(dir .. "/f", "hi\n")
    assert.equal("aGkK", fs.readFileSync(dir .. "/f", { encoding = "base64" }))
  end)

  it("reads an open fd from its current position", function()
    write(dir .. "/f", "abcdef")
    local fd = fs.openSync(dir .. "/f")
    finally(function() fs.closeSync(fd) end)
    assert.equal("ab", fs.readSync(fd, 2))
    assert.equal("cdef", fs.readFileSync(fd))
  end)

  it("opens with options.flag ('a+' creates a missing file)", function()
    assert.equal("", fs.readFileSync(dir .. "/new", { flag = "a+" }))
    assert.is_true(exists(dir .. "/new"))
  end)

  it("raises ENOENT with syscall 'open' and the path", function()
    local err = helper.assert_throws(function() fs.readFileSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "open", path = dir .. "/nope", errno = -2 })
    assert.equal("ENOENT: no such file or directory, open '" .. dir .. "/nope'", err.message)
    assert.equal("Error", err.name)
  end)

  it("raises EISDIR with syscall 'read' and no path for a directory", function()
    local err = helper.assert_throws(function() fs.readFileSync(dir) end,
      { code = "EISDIR", syscall = "read" })
    assert.equal("EISDIR: illegal operation on a directory, read", err.message)
    assert.is_nil(err.path)
  end)

  it("raises EBADF with syscall 'fstat' for a closed fd", function()
    local fd = fs.openSync("/etc/hostname")
    fs.closeSync(fd)
    helper.assert_throws(function() fs.readFileSync(fd) end, { code = "EBADF", syscall = "fstat" })
  end)

  it("raises ERR_INVALID_ARG_TYPE when the path is missing", function()
    local err = helper.assert_throws(function() fs.readFileSync() end,
      { code = "ERR_INVALID_ARG_TYPE", name = "TypeError" })
    assert.equal('The "path" argument must be of type string or an instance of Buffer or URL. '
      .. "Received nil", err.message)
  end)

  it("raises ERR_INVALID_ARG_VALUE for a path with a NUL byte", function()
    local err = helper.assert_throws(function() fs.readFileSync("a\0b") end,
      { code = "ERR_INVALID_ARG_VALUE" })
    assert.truthy(err.message:find("without null bytes", 1, true))
  end)

  it("raises ERR_INVALID_ARG_VALUE for an unknown encoding", function()
    local err = helper.assert_throws(function() fs.readFileSync("/etc/hostname", "bogus") end,
      { code = "ERR_INVALID_ARG_VALUE" })
    assert.equal("The argument 'encoding' is invalid encoding. Received 'bogus'", err.message)
  end)

  it("raises ERR_INVALID_ARG_VALUE for an unknown flag", function()
    local err = helper.assert_throws(function() fs.readFileSync("/etc/hostname", { flag = "zz" }) end,
      { code = "ERR_INVALID_ARG_VALUE" })
    assert.equal("The argument 'flags' is invalid. Received 'zz'", err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE for options that are neither string nor table", function()
    local err = helper.assert_throws(function() fs.readFileSync("/etc/hostname", 42) end,
      { code = "ERR_INVALID_ARG_TYPE" })
    assert.equal('The "options" argument must be one of type string or object. '
      .. "Received type number (42)", err.message)
  end)
end)

describe("fs.writeFileSync()", function()
  it("creates the file with the data", function()
    fs.writeFileSync(dir .. "/f", "hello\0world")
    assert.equal("hello\0world", read(dir .. "/f"))
  end)

  it("truncates an existing file", function()
    write(dir .. "/f", "a much longer old content")
    fs.writeFileSync(dir .. "/f", "new")
    assert.equal("new", read(dir .. "/f"))
  end)

  it("appends with { flag = 'a' }", function()
    write(dir .. "/f", "one,")
    fs.writeFileSync(dir .. "/f", "two", { flag = "a" })
    assert.equal("one,two", read(dir .. "/f"))
  end)

  it("creates the file with options.mode", function()
    fs.writeFileSync(dir .. "/f", "x", { mode = 384 }) -- 0o600
    assert.equal(384, perm(dir .. "/f"))
  end)

  it("takes the mode as an octal string", function()
    fs.writeFileSync(dir .. "/f", "x", { mode = "640" })
    assert.equal(416, perm(dir .. "/f"))
  end)

  it("writes an empty string as an empty file", function()
    fs.writeFileSync(dir .. "/f", "")
    assert.equal("", read(dir .. "/f"))
  end)

  it("writes a megabyte intact", function()
    local big = string.rep("\1\2\3\4\5\6\7\8", 131072)
    fs.writeFileSync(dir .. "/big", big)
    assert.equal(big, read(dir .. "/big"))
  end)

  it("decodes the data with the encoding given", function()
    fs.writeFileSync(dir .. "/f", "68656c6c6f", "hex")
    assert.equal("hello", read(dir .. "/f"))
  end)

  it("writes to an open fd", function()
    local fd = fs.openSync(dir .. "/f", "w")
    fs.writeFileSync(fd, "via fd")
    fs.closeSync(fd)
    assert.equal("via fd", read(dir .. "/f"))
  end)

  it("raises EEXIST with syscall 'open' for flag 'wx' on an existing file", function()
    write(dir .. "/f", "keep")
    helper.assert_throws(function() fs.writeFileSync(dir .. "/f", "x", { flag = "wx" }) end,
      { code = "EEXIST", syscall = "open", path = dir .. "/f" })
    assert.equal("keep", read(dir .. "/f"))
  end)

  it("raises EISDIR with syscall 'open' for a directory", function()
    local err = helper.assert_throws(function() fs.writeFileSync(dir, "x") end,
      { code = "EISDIR", syscall = "open", path = dir })
    assert.equal("EISDIR: illegal operation on a directory, open '" .. dir .. "'", err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE for data that is not a string", function()
    local err = helper.assert_throws(function() fs.writeFileSync(dir .. "/f", 123) end,
      { code = "ERR_INVALID_ARG_TYPE" })
    assert.equal('The "data" argument must be of type string or an instance of Buffer, '
      .. "TypedArray, or DataView. Received type number (123)", err.message)
    assert.is_false(exists(dir .. "/f"))
  end)

  it("raises ERR_INVALID_ARG_VALUE for a mode that is not octal", function()
    local err = helper.assert_throws(function() fs.writeFileSync(dir .. "/f", "x", { mode = "abc" }) end,
      { code = "ERR_INVALID_ARG_VALUE" })
    assert.equal("The argument 'mode' must be a 32-bit unsigned integer or an octal string. "
      .. "Received 'abc'", err.message)
  end)
end)

describe("fs.appendFileSync()", function()
  it("appends to an existing file", function()
    write(dir .. "/f", "abc")
    fs.appendFileSync(dir .. "/f", "def")
    assert.equal("abcdef", read(dir .. "/f"))
  end)

  it("creates a missing file", function()
    fs.appendFileSync(dir .. "/f", "first")
    assert.equal("first", read(dir .. "/f"))
  end)
end)

describe("fs.existsSync()", function()
  it("is true for a file and for a directory", function()
    write(dir .. "/f", "")
    assert.is_true(fs.existsSync(dir .. "/f"))
    assert.is_true(fs.existsSync(dir))
  end)

  it("is false for a missing path", function()
    assert.is_false(fs.existsSync(dir .. "/nope"))
  end)

  it("is false, without raising, for a non-string or a NUL byte", function()
    assert.is_false(fs.existsSync())
    assert.is_false(fs.existsSync(5))
    assert.is_false(fs.existsSync(dir .. "\0x"))
  end)
end)

describe("fs.openSync()", function()
  it("opens for reading by default and returns an integer fd", function()
    write(dir .. "/f", "data")
    local fd = fs.openSync(dir .. "/f")
    finally(function() fs.closeSync(fd) end)
    assert.equal("integer", math.type(fd))
    assert.is_true(fd > 2)
    assert.equal("data", fs.readSync(fd, 10))
  end)

  it("raises ENOENT with syscall 'open' for a missing file with 'r'", function()
    helper.assert_throws(function() fs.openSync(dir .. "/nope", "r") end,
      { code = "ENOENT", syscall = "open", path = dir .. "/nope" })
  end)

  it("creates and truncates with 'w'", function()
    write(dir .. "/f", "old content")
    local fd = fs.openSync(dir .. "/f", "w")
    fs.closeSync(fd)
    assert.equal("", read(dir .. "/f"))
    fs.closeSync(fs.openSync(dir .. "/g", "w"))
    assert.is_true(exists(dir .. "/g"))
  end)

  it("refuses an existing file with 'wx' (EEXIST)", function()
    write(dir .. "/f", "")
    helper.assert_throws(function() fs.openSync(dir .. "/f", "wx") end,
      { code = "EEXIST", syscall = "open", path = dir .. "/f" })
  end)

  it("writes at the end with 'a' whatever position is asked", function()
    write(dir .. "/f", "abc")
    local fd = fs.openSync(dir .. "/f", "a")
    fs.writeSync(fd, "d")
    fs.closeSync(fd)
    assert.equal("abcd", read(dir .. "/f"))
  end)

  it("reads and writes without truncating with 'r+'", function()
    write(dir .. "/f", "abcdef")
    local fd = fs.openSync(dir .. "/f", "r+")
    fs.writeSync(fd, "XY", 2)
    assert.equal("abXYef", fs.readSync(fd, 10, 0))
    fs.closeSync(fd)
  end)

  it("reads back what it wrote with 'w+'", function()
    local fd = fs.openSync(dir .. "/f", "w+")
    fs.writeSync(fd, "hello")
    assert.equal("hello", fs.readSync(fd, 5, 0))
    fs.closeSync(fd)
  end)

  it("appends and reads with 'a+'", function()
    write(dir .. "/f", "abc")
    local fd = fs.openSync(dir .. "/f", "a+")
    fs.writeSync(fd, "def")
    assert.equal("abcdef", fs.readSync(fd, 10, 0))
    fs.closeSync(fd)
  end)

  it("takes numeric flags from fs.constants", function()
    local c = fs.constants
    local fd = fs.openSync(dir .. "/f", c.O_WRONLY | c.O_CREAT | c.O_TRUNC)
    fs.writeSync(fd, "numeric")
    fs.closeSync(fd)
    assert.equal("numeric", read(dir .. "/f"))
  end)

  it("creates the file with the mode given", function()
    fs.closeSync(fs.openSync(dir .. "/f", "w", 384))
    assert.equal(384, perm(dir .. "/f"))
  end)

  it("raises ERR_INVALID_ARG_VALUE for unknown flags", function()
    local err = helper.assert_throws(function() fs.openSync(dir .. "/f", "zz") end,
      { code = "ERR_INVALID_ARG_VALUE", name = "TypeError" })
    assert.equal("The argument 'flags' is invalid. Received 'zz'", err.message)
  end)

  it("raises ERR_OUT_OF_RANGE for a negative mode", function()
    local err = helper.assert_throws(function() fs.openSync(dir .. "/f", "w", -1) end,
      { code = "ERR_OUT_OF_RANGE", name = "RangeError" })
    assert.equal('The value of "mode" is out of range. It must be >= 0 && <= 4294967295. Received -1',
      err.message)
  end)
end)

describe("fs.closeSync()", function()
  it("raises EBADF with syscall 'close' for a closed fd", function()
    local fd = fs.openSync("/etc/hostname")
    fs.closeSync(fd)
    local err = helper.assert_throws(function() fs.closeSync(fd) end,
      { code = "EBADF", syscall = "close" })
    assert.equal("EBADF: bad file descriptor, close", err.message)
  end)

  it("raises ERR_OUT_OF_RANGE for a negative fd", function()
    local err = helper.assert_throws(function() fs.closeSync(-1) end, { code = "ERR_OUT_OF_RANGE" })
    assert.equal('The value of "fd" is out of range. It must be >= 0 && <= 2147483647. Received -1',
      err.message)
  end)

  it("raises ERR_OUT_OF_RANGE for a fractional fd", function()
    local err = helper.assert_throws(function() fs.closeSync(1.5) end, { code = "ERR_OUT_OF_RANGE" })
    assert.equal('The value of "fd" is out of range. It must be an integer. Received 1.5', err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE for an fd that is not a number", function()
    local err = helper.assert_throws(function() fs.closeSync("x") end, { code = "ERR_INVALID_ARG_TYPE" })
    assert.equal([[The "fd" argument must be of type number. Received type string ('x')]], err.message)
  end)
end)

describe("fs.readSync()", function()
  local fd
  before_each(function()
    write(dir .. "/f", "0123456789")
    fd = fs.openSync(dir .. "/f")
  end)
  after_each(function() fs.closeSync(fd) end)

  it("reads up to length bytes from the current position and advances it", function()
    assert.equal("012", fs.readSync(fd, 3))
    assert.equal("3456", fs.readSync(fd, 4))
  end)

  it("reads at a position without moving the current one", function()
    assert.equal("78", fs.readSync(fd, 2, 7))
    assert.equal("01", fs.readSync(fd, 2))
  end)

  it("returns fewer bytes near the end and an empty string at the end", function()
    assert.equal("89", fs.readSync(fd, 5, 8))
    assert.equal("", fs.readSync(fd, 5, 10))
  end)

  it("returns an empty string for length 0", function()
    assert.equal("", fs.readSync(fd, 0))
  end)

  it("raises EISDIR with syscall 'read' on a directory", function()
    local dfd = fs.openSync(dir)
    finally(function() fs.closeSync(dfd) end)
    helper.assert_throws(function() fs.readSync(dfd, 10) end, { code = "EISDIR", syscall = "read" })
  end)

  it("raises ERR_OUT_OF_RANGE for a negative length", function()
    helper.assert_throws(function() fs.readSync(fd, -1) end, { code = "ERR_OUT_OF_RANGE" })
  end)

  it("raises ERR_OUT_OF_RANGE for a position below -1", function()
    local err = helper.assert_throws(function() fs.readSync(fd, 1, -5) end, { code = "ERR_OUT_OF_RANGE" })
    assert.equal('The value of "position" is out of range. It must be >= -1 && <= 9007199254740991. '
      .. "Received -5", err.message)
  end)
end)

describe("fs.writeSync()", function()
  it("returns the number of bytes written", function()
    local fd = fs.openSync(dir .. "/f", "w")
    assert.equal(5, fs.writeSync(fd, "hello"))
    fs.closeSync(fd)
    assert.equal("hello", read(dir .. "/f"))
  end)

  it("writes at a position", function()
    write(dir .. "/f", "aaaaaa")
    local fd = fs.openSync(dir .. "/f", "r+")
    fs.writeSync(fd, "bb", 3)
    fs.closeSync(fd)
    assert.equal("aaabba", read(dir .. "/f"))
  end)

  it("raises EBADF with syscall 'write' on a read-only fd", function()
    write(dir .. "/f", "")
    local fd = fs.openSync(dir .. "/f", "r")
    finally(function() fs.closeSync(fd) end)
    helper.assert_throws(function() fs.writeSync(fd, "x") end, { code = "EBADF", syscall = "write" })
  end)

  it("raises ERR_INVALID_ARG_TYPE for data that is not a string", function()
    local err = helper.assert_throws(function() fs.writeSync(1, 5) end, { code = "ERR_INVALID_ARG_TYPE" })
    assert.truthy(err.message:find('^The "buffer" argument must be of type string'))
  end)
end)

describe("fs.statSync()", function()
  it("describes a file", function()
    write(dir .. "/f", "12345")
    local st = fs.statSync(dir .. "/f")
    assert.equal(5, st.size)
    assert.is_true(st:isFile())
    assert.is_false(st:isDirectory())
  end)

  it("describes a directory", function()
    local st = fs.statSync(dir)
    assert.is_true(st:isDirectory())
    assert.is_false(st:isFile())
  end)

  it("follows symbolic links", function()
    write(dir .. "/target", "abc")
    assert(os.execute("ln -s target " .. q(dir .. "/link")))
    local st = fs.statSync(dir .. "/link")
    assert.is_true(st:isFile())
    assert.equal(3, st.size)
  end)

  it("raises ENOENT with syscall 'stat' and the path", function()
    local err = helper.assert_throws(function() fs.statSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "stat", path = dir .. "/nope" })
    assert.equal("ENOENT: no such file or directory, stat '" .. dir .. "/nope'", err.message)
  end)

  it("returns nil for a missing path with throwIfNoEntry = false", function()
    assert.is_nil(fs.statSync(dir .. "/nope", { throwIfNoEntry = false }))
  end)

  it("still raises other errors with throwIfNoEntry = false", function()
    write(dir .. "/f", "")
    helper.assert_throws(function() fs.statSync(dir .. "/f/x", { throwIfNoEntry = false }) end,
      { code = "ENOTDIR", syscall = "stat" })
  end)
end)

describe("fs.lstatSync()", function()
  it("describes the link itself", function()
    write(dir .. "/target", "abc")
    assert(os.execute("ln -s target " .. q(dir .. "/link")))
    local st = fs.lstatSync(dir .. "/link")
    assert.is_true(st:isSymbolicLink())
    assert.is_false(st:isFile())
    assert.equal(6, st.size) -- the length of "target"
  end)

  it("raises ENOENT with syscall 'lstat'", function()
    helper.assert_throws(function() fs.lstatSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "lstat", path = dir .. "/nope" })
  end)
end)

describe("fs.fstatSync()", function()
  it("describes an open file", function()
    write(dir .. "/f", "1234567")
    local fd = fs.openSync(dir .. "/f")
    finally(function() fs.closeSync(fd) end)
    local st = fs.fstatSync(fd)
    assert.equal(7, st.size)
    assert.is_true(st:isFile())
  end)

  it("raises EBADF with syscall 'fstat' and no path", function()
    local fd = fs.openSync("/etc/hostname")
    fs.closeSync(fd)
    local err = helper.assert_throws(function() fs.fstatSync(fd) end, { code = "EBADF", syscall = "fstat" })
    assert.equal("EBADF: bad file descriptor, fstat", err.message)
  end)
end)

describe("fs.unlinkSync()", function()
  it("removes a file", function()
    write(dir .. "/f", "")
    fs.unlinkSync(dir .. "/f")
    assert.is_false(exists(dir .. "/f"))
  end)

  it("raises ENOENT with syscall 'unlink'", function()
    local err = helper.assert_throws(function() fs.unlinkSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "unlink", path = dir .. "/nope" })
    assert.equal("ENOENT: no such file or directory, unlink '" .. dir .. "/nope'", err.message)
  end)
end)

describe("fs.mkdirSync()", function()
  it("creates a directory", function()
    assert.is_nil(fs.mkdirSync(dir .. "/d"))
    assert.is_true(fs.statSync(dir .. "/d"):isDirectory())
  end)

  it("creates it with the mode given", function()
    fs.mkdirSync(dir .. "/d", 448) -- 0o700
    assert.equal(448, perm(dir .. "/d"))
  end)

  it("raises EEXIST with syscall 'mkdir' for an existing path", function()
    local err = helper.assert_throws(function() fs.mkdirSync(dir) end,
      { code = "EEXIST", syscall = "mkdir", path = dir })
    assert.equal("EEXIST: file already exists, mkdir '" .. dir .. "'", err.message)
  end)

  it("raises ENOENT for a missing parent without recursive", function()
    helper.assert_throws(function() fs.mkdirSync(dir .. "/a/b") end,
      { code = "ENOENT", syscall = "mkdir", path = dir .. "/a/b" })
  end)

  it("creates the parents with recursive and returns the first directory created", function()
    assert.equal(dir .. "/a", fs.mkdirSync(dir .. "/a/b/c", { recursive = true }))
    assert.is_true(fs.statSync(dir .. "/a/b/c"):isDirectory())
  end)

  it("returns nil with recursive when everything exists", function()
    fs.mkdirSync(dir .. "/a")
    assert.is_nil(fs.mkdirSync(dir .. "/a", { recursive = true }))
  end)

  it("returns the path itself with recursive when only the last part was missing", function()
    assert.equal(dir .. "/a", fs.mkdirSync(dir .. "/a", { recursive = true }))
  end)

  it("raises ENOTDIR with recursive when a file is in the way", function()
    write(dir .. "/f", "")
    helper.assert_throws(function() fs.mkdirSync(dir .. "/f/x/y", { recursive = true }) end,
      { code = "ENOTDIR", syscall = "mkdir", path = dir .. "/f/x/y" })
  end)

  it("raises EEXIST with recursive when the path is a file", function()
    write(dir .. "/f", "")
    helper.assert_throws(function() fs.mkdirSync(dir .. "/f", { recursive = true }) end,
      { code = "EEXIST", syscall = "mkdir", path = dir .. "/f" })
  end)

  it("raises ERR_INVALID_ARG_TYPE for a recursive option that is not a boolean", function()
    local err = helper.assert_throws(function() fs.mkdirSync(dir .. "/a", { recursive = 1 }) end,
      { code = "ERR_INVALID_ARG_TYPE" })
    assert.equal('The "options.recursive" property must be of type boolean. Received type number (1)',
      err.message)
  end)
end)

describe("fs.rmdirSync()", function()
  it("removes an empty directory", function()
    assert(os.execute("mkdir " .. q(dir .. "/d")))
    fs.rmdirSync(dir .. "/d")
    assert.is_false(exists(dir .. "/d"))
  end)

  it("raises ENOTEMPTY with syscall 'rmdir' for a directory with entries", function()
    assert(os.execute("mkdir " .. q(dir .. "/d")))
    write(dir .. "/d/f", "")
    local err = helper.assert_throws(function() fs.rmdirSync(dir .. "/d") end,
      { code = "ENOTEMPTY", syscall = "rmdir", path = dir .. "/d" })
    assert.equal("ENOTEMPTY: directory not empty, rmdir '" .. dir .. "/d'", err.message)
  end)
end)

describe("fs.rmSync()", function()
  it("removes a file", function()
    write(dir .. "/f", "")
    fs.rmSync(dir .. "/f")
    assert.is_false(exists(dir .. "/f"))
  end)

  it("raises ENOENT with syscall 'lstat' for a missing path", function()
    helper.assert_throws(function() fs.rmSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "lstat", path = dir .. "/nope" })
  end)

  it("ignores a missing path with force", function()
    assert.has_no.errors(function() fs.rmSync(dir .. "/nope", { force = true }) end)
  end)

  it("raises ERR_FS_EISDIR for a directory without recursive", function()
    assert(os.execute("mkdir " .. q(dir .. "/d")))
    local err = helper.assert_throws(function() fs.rmSync(dir .. "/d") end,
      { code = "ERR_FS_EISDIR", name = "SystemError", syscall = "rm", path = dir .. "/d" })
    assert.equal("Path is a directory: rm returned EISDIR (is a directory) " .. dir .. "/d", err.message)
    assert.is_true(exists(dir .. "/d"))
  end)

  it("removes a whole tree with recursive", function()
    assert(os.execute("mkdir -p " .. q(dir .. "/d/e/f") .. " " .. q(dir .. "/d/g")))
    write(dir .. "/d/e/f/x", "1")
    write(dir .. "/d/y", "2")
    fs.rmSync(dir .. "/d", { recursive = true })
    assert.is_false(exists(dir .. "/d"))
  end)

  it("removes a symbolic link in the tree, not what it points to", function()
    assert(os.execute("mkdir -p " .. q(dir .. "/d") .. " " .. q(dir .. "/outside")))
    write(dir .. "/outside/keep", "safe")
    assert(os.execute("ln -s ../outside " .. q(dir .. "/d/link")))
    fs.rmSync(dir .. "/d", { recursive = true })
    assert.is_false(exists(dir .. "/d"))
    assert.equal("safe", read(dir .. "/outside/keep"))
  end)

  it("raises ERR_INVALID_ARG_TYPE for options that are not a table", function()
    local err = helper.assert_throws(function() fs.rmSync(dir .. "/x", 5) end,
      { code = "ERR_INVALID_ARG_TYPE" })
    assert.equal('The "options" argument must be of type object. Received type number (5)', err.message)
  end)
end)

describe("fs.readdirSync()", function()
  it("lists the names, sorted, without . and ..", function()
    write(dir .. "/b", "")
    write(dir .. "/a", "")
    assert(os.execute("mkdir " .. q(dir .. "/c")))
    assert.same({ "a", "b", "c" }, fs.readdirSync(dir))
  end)

  it("returns an empty table for an empty directory", function()
    assert.same({}, fs.readdirSync(dir))
  end)

  it("returns Dirents with withFileTypes", function()
    write(dir .. "/f", "")
    assert(os.execute("mkdir " .. q(dir .. "/d")))
    local list = fs.readdirSync(dir, { withFileTypes = true })
    assert.equal(2, #list)
    assert.equal("d", list[1].name)
    assert.is_true(list[1]:isDirectory())
    assert.equal("f", list[2].name)
    assert.is_true(list[2]:isFile())
    assert.equal(dir, list[2].parentPath)
  end)

  it("encodes the names with an encoding", function()
    write(dir .. "/ab", "")
    assert.same({ "6162" }, fs.readdirSync(dir, "hex"))
  end)

  it("raises ENOENT with syscall 'scandir'", function()
    helper.assert_throws(function() fs.readdirSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "scandir", path = dir .. "/nope" })
  end)

  it("raises ENOTDIR with syscall 'scandir' for a file", function()
    write(dir .. "/f", "")
    local err = helper.assert_throws(function() fs.readdirSync(dir .. "/f") end,
      { code = "ENOTDIR", syscall = "scandir" })
    assert.equal("ENOTDIR: not a directory, scandir '" .. dir .. "/f'", err.message)
  end)
end)

describe("fs.renameSync()", function()
  it("moves a file", function()
    write(dir .. "/a", "content")
    fs.renameSync(dir .. "/a", dir .. "/b")
    assert.is_false(exists(dir .. "/a"))
    assert.equal("content", read(dir .. "/b"))
  end)

  it("raises ENOENT naming both paths", function()
    local err = helper.assert_throws(function() fs.renameSync(dir .. "/a", dir .. "/b") end,
      { code = "ENOENT", syscall = "rename", path = dir .. "/a", dest = dir .. "/b" })
    assert.equal("ENOENT: no such file or directory, rename '" .. dir .. "/a' -> '" .. dir .. "/b'",
      err.message)
  end)

  it("raises ERR_INVALID_ARG_TYPE naming newPath", function()
    local err = helper.assert_throws(function() fs.renameSync(dir .. "/a", 5) end,
      { code = "ERR_INVALID_ARG_TYPE" })
    assert.truthy(err.message:find('^The "newPath" argument'))
  end)
end)

describe("fs.mkdtempSync()", function()
  it("creates a directory named by the prefix and six characters", function()
    local path = fs.mkdtempSync(dir .. "/tmp-")
    assert.truthy(path:match("^" .. dir:gsub("%p", "%%%0") .. "/tmp%-[%w]+$"))
    assert.equal(#dir + 5 + 6, #path)
    assert.is_true(fs.statSync(path):isDirectory())
  end)

  it("raises ENOENT with syscall 'mkdtemp' and the template", function()
    helper.assert_throws(function() fs.mkdtempSync(dir .. "/no/x-") end,
      { code = "ENOENT", syscall = "mkdtemp", path = dir .. "/no/x-XXXXXX" })
  end)

  it("raises ERR_INVALID_ARG_TYPE naming prefix", function()
    local err = helper.assert_throws(function() fs.mkdtempSync(5) end, { code = "ERR_INVALID_ARG_TYPE" })
    assert.truthy(err.message:find('^The "prefix" argument'))
  end)
end)

describe("fs.realpathSync()", function()
  it("resolves symbolic links and dot segments", function()
    assert(os.execute("mkdir " .. q(dir .. "/real")))
    assert(os.execute("ln -s real " .. q(dir .. "/link")))
    local real = helper.sh("realpath " .. q(dir .. "/real")):gsub("\n$", "")
    assert.equal(real, fs.realpathSync(dir .. "/link/../link/."))
  end)

  it("raises ENOENT with the path", function()
    helper.assert_throws(function() fs.realpathSync(dir .. "/nope") end,
      { code = "ENOENT", path = dir .. "/nope" })
  end)
end)

describe("fs.accessSync()", function()
  it("accepts an existing path with the default F_OK", function()
    assert.has_no.errors(function() fs.accessSync(dir) end)
  end)

  it("raises ENOENT with syscall 'access'", function()
    local err = helper.assert_throws(function() fs.accessSync(dir .. "/nope") end,
      { code = "ENOENT", syscall = "access", path = dir .. "/nope" })
    assert.equal("ENOENT: no such file or directory, access '" .. dir .. "/nope'", err.message)
  end)

  it("raises EACCES for X_OK on a file nobody may execute", function()
    write(dir .. "/f", "")
    assert(os.execute("chmod 644 " .. q(dir .. "/f")))
    local err = helper.assert_throws(function() fs.accessSync(dir .. "/f", fs.constants.X_OK) end,
      { code = "EACCES", syscall = "access" })
    assert.equal("EACCES: permission denied, access '" .. dir .. "/f'", err.message)
  end)

  it("raises ERR_OUT_OF_RANGE for a mode above 7", function()
    local err = helper.assert_throws(function() fs.accessSync(dir, 99) end, { code = "ERR_OUT_OF_RANGE" })
    assert.equal("mode is out of range: >= 0 && <= 7", err.message)
  end)
end)

describe("fs.copyFileSync()", function()
  it("copies the content", function()
    write(dir .. "/a", "copy me\0")
    fs.copyFileSync(dir .. "/a", dir .. "/b")
    assert.equal("copy me\0", read(dir .. "/b"))
  end)

  it("overwrites the destination by default", function()
    write(dir .. "/a", "new")
    write(dir .. "/b", "old and longer")
    fs.copyFileSync(dir .. "/a", dir .. "/b")
    assert.equal("new", read(dir .. "/b"))
  end)

  it("raises EEXIST naming both paths with COPYFILE_EXCL", function()
    write(dir .. "/a", "new")
    write(dir .. "/b", "old")
    local err = helper.assert_throws(function()
      fs.copyFileSync(dir .. "/a", dir .. "/b", fs.constants.COPYFILE_EXCL)
    end, { code = "EEXIST", syscall = "copyfile", path = dir .. "/a", dest = dir .. "/b" })
    assert.equal("EEXIST: file already exists, copyfile '" .. dir .. "/a' -> '" .. dir .. "/b'", err.message)
    assert.equal("old", read(dir .. "/b"))
  end)

  it("raises ENOENT for a missing source", function()
    helper.assert_throws(function() fs.copyFileSync(dir .. "/nope", dir .. "/b") end,
      { code = "ENOENT", syscall = "copyfile" })
  end)
end)

describe("fs.ftruncateSync()", function()
  it("truncates to the length given", function()
    write(dir .. "/f", "0123456789")
    local fd = fs.openSync(dir .. "/f", "r+")
    fs.ftruncateSync(fd, 4)
    fs.closeSync(fd)
    assert.equal("0123", read(dir .. "/f"))
  end)

  it("truncates to 0 by default", function()
    write(dir .. "/f", "0123456789")
    local fd = fs.openSync(dir .. "/f", "r+")
    fs.ftruncateSync(fd)
    fs.closeSync(fd)
    assert.equal("", read(dir .. "/f"))
  end)

  it("extends with zero bytes", function()
    write(dir .. "/f", "ab")
    local fd = fs.openSync(dir .. "/f", "r+")
    fs.ftruncateSync(fd, 4)
    fs.closeSync(fd)
    assert.equal("ab\0\0", read(dir .. "/f"))
  end)

  it("raises EINVAL with syscall 'ftruncate' on a read-only fd", function()
    write(dir .. "/f", "ab")
    local fd = fs.openSync(dir .. "/f", "r")
    finally(function() fs.closeSync(fd) end)
    local err = helper.assert_throws(function() fs.ftruncateSync(fd, 0) end,
      { code = "EINVAL", syscall = "ftruncate" })
    assert.equal("EINVAL: invalid argument, ftruncate", err.message)
  end)
end)
