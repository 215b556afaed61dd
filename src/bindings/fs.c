/*
 * core.fs_*: the file system, on libuv's uv_fs_* requests.
 *
 * Every binding runs synchronously (uv_fs_* with a NULL callback, on the calling thread) unless
 * its callback slot holds a function; then it runs on libuv's thread pool and calls that function
 * from the loop, through lode_pcall. Both forms produce the same values, so the Lua layer turns
 * them into Node's results and errors with one piece of code:
 *
 *   success   the operation's results (true when it has none)
 *   failure   nil, "ENOENT: no such file or directory", "ENOENT"   (lode_push_uv_error's triple)
 *
 * fs_read_all adds the failing syscall as a fourth value, since it is fstat + read.
 *
 * An asynchronous binding returns true once the request is queued, or the failure triple when
 * libuv refused it; then, as libuv's contract says, the callback is never called. A queued request
 * pins its callback (and the string it writes) in the registry until it completes, so it is safe
 * when the caller keeps no reference to anything.
 *
 * Argument validation with Node's error codes happens in lua/lode/fs.lua; the checks here only
 * keep C safe (types, embedded NULs that would silently shorten a path).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lode.h"

/* Reads in this unit while the size is unknown (pipes, /proc files report size 0). */
#define READ_CHUNK (64 * 1024)

/* The Stats metatable registered by lua/lode/fs.lua: the address is the registry key. */
static const char stats_key = 0;

typedef struct fs_req fs_req;

/* Pushes the results of a request that succeeded; returns how many. */
typedef int (*fs_push_fn)(lua_State *L, fs_req *r);

struct fs_req {
  uv_fs_t req;         /* first: the uv_fs_t* libuv hands back is the fs_req* */
  lode_state *S;       /* async: NULL once lua_close took the state (lode_req_track) */
  lode_req_link link;
  fs_push_fn push;
  int ref_cb;          /* async: the Lua callback, pinned until completion */
  int ref_data;        /* async write: the Lua string whose bytes libuv reads */
  char *buf;           /* async read: bytes read, malloc'd, freed with the request */
  size_t len, cap;     /* read_all: bytes gathered so far, size of buf */
  int64_t want;        /* read_all: a regular file's size, or -1 to read until EOF */
  uv_file fd;          /* read_all: the file being read */
  int with_types;      /* scandir: also return the entry types */
  const char *syscall; /* read_all: the step that failed */
};

/* ---- arguments ---- */

/* A path as C needs it: a string with no NUL inside (C would read a shorter path). */
static const char *check_path(lua_State *L, int i) {
  size_t n;
  const char *s = luaL_checklstring(L, i, &n);
  luaL_argcheck(L, strlen(s) == n, i, "path contains a NUL byte");
  return s;
}

static uv_file check_fd(lua_State *L, int i) {
  lua_Integer fd = luaL_checkinteger(L, i);
  luaL_argcheck(L, fd >= 0 && fd <= INT32_MAX, i, "fd out of range");
  return (uv_file)fd;
}

/* A file position; nil or -1 is the current one, as uv_fs_read/uv_fs_write take it. */
static int64_t opt_position(lua_State *L, int i) {
  lua_Integer pos = luaL_optinteger(L, i, -1);
  return pos < 0 ? -1 : (int64_t)pos;
}

/* ---- requests ---- */

/*
 * Prepares |r|: the caller's zeroed stack request for a synchronous call, or, when argument
 * |cb_idx| is a function, a new heap request that pins it. Returns the request to submit.
 */
static fs_req *req_begin(lua_State *L, fs_req *stack_req, int cb_idx, fs_push_fn push) {
  fs_req *r = stack_req;
  if (lua_type(L, cb_idx) == LUA_TFUNCTION) {
    r = malloc(sizeof *r);
    if (r == NULL) luaL_error(L, "not enough memory");
  }
  memset(r, 0, sizeof *r);
  r->S = lode_get_state(L);
  r->push = push;
  r->ref_cb = r->ref_data = LUA_NOREF;
  r->fd = -1;
  if (r != stack_req) {
    lua_pushvalue(L, cb_idx);
    r->ref_cb = luaL_ref(L, LUA_REGISTRYINDEX);
    lode_req_track(r->S, &r->link, &r->S);
  }
  return r;
}

static int req_is_async(const fs_req *r) { return r->ref_cb != LUA_NOREF; }

/* Releases everything an async request holds: libuv's part, the pins, the buffer, itself. */
static void req_free(lua_State *L, fs_req *r) {
  lode_req_untrack(&r->link);
  uv_fs_req_cleanup(&r->req);
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_cb);
  luaL_unref(L, LUA_REGISTRYINDEX, r->ref_data);
  free(r->buf);
  free(r);
}

/*
 * Pushes the outcome of a finished request: its results, or the failure triple (plus the
 * failing syscall when the request records one).
 */
static int req_push_outcome(lua_State *L, fs_req *r) {
  if (r->req.result < 0) {
    int n = lode_push_uv_error(L, (int)r->req.result);
    if (r->syscall == NULL) return n;
    lua_pushstring(L, r->syscall);
    return n + 1;
  }
  return r->push(L, r);
}

/* Calls the request's Lua callback with its outcome, after freeing the request. */
/* A request whose state went with lua_close: only its memory is left to free. */
static int req_orphaned(fs_req *r) {
  if (r->S != NULL) return 0;
  uv_fs_req_cleanup(&r->req);
  free(r->buf);
  free(r);
  return 1;
}

static void req_deliver(fs_req *r) {
  lode_state *S = r->S;
  lua_State *L;
  int n;
  if (req_orphaned(r)) return;
  L = S->L;
  lua_checkstack(L, 8);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->ref_cb);
  n = req_push_outcome(L, r);
  /* The results are Lua values now: the request can go before Lua runs, so an error in the
     callback cannot leak it. */
  req_free(L, r);
  lode_pcall(S, L, n, 0);
}

static void on_fs_done(uv_fs_t *req) { req_deliver((fs_req *)req); }

/* The callback to hand libuv: NULL runs the request synchronously. */
static uv_fs_cb req_cb(const fs_req *r) { return req_is_async(r) ? on_fs_done : NULL; }

/*
 * Finishes a binding after uv_fs_* returned |rc|. Synchronous: the outcome. Asynchronous: true
 * when queued, else the failure triple (the request is freed and its callback never runs).
 */
static int req_end(lua_State *L, fs_req *r, int rc) {
  int n;
  if (req_is_async(r)) {
    if (rc < 0) {
      req_free(L, r);
      return lode_push_uv_error(L, rc);
    }
    lua_pushboolean(L, 1);
    return 1;
  }
  n = req_push_outcome(L, r);
  uv_fs_req_cleanup(&r->req);
  return n;
}

/* ---- results ---- */

static int push_true(lua_State *L, fs_req *r) {
  (void)r;
  lua_pushboolean(L, 1);
  return 1;
}

static int push_result_integer(lua_State *L, fs_req *r) {
  lua_pushinteger(L, (lua_Integer)r->req.result);
  return 1;
}

/* mkdtemp leaves the created path in req.path. */
static int push_req_path(lua_State *L, fs_req *r) {
  lua_pushstring(L, r->req.path);
  return 1;
}

/* realpath leaves its answer in req.ptr. */
static int push_req_ptr(lua_State *L, fs_req *r) {
  lua_pushstring(L, r->req.ptr);
  return 1;
}

/* Node's msFromTimeSpec: sec * 1e3 + nsec / 1e6, in doubles, so the values match Node's. */
static double timespec_ms(uv_timespec_t t) { return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6; }

#define SET_INT(L, name, v) (lua_pushinteger(L, (lua_Integer)(v)), lua_setfield(L, -2, name))
#define SET_NUM(L, name, v) (lua_pushnumber(L, (lua_Number)(v)), lua_setfield(L, -2, name))

/*
 * Pushes a Stats object: one table with Node's fields, built here in one go because
 * respondWithFile asks for one per request. The date fields are computed lazily by the Stats
 * class in Lua.
 */
static void push_stats(lua_State *L, const uv_stat_t *s) {
  lua_createtable(L, 0, 14);
  SET_INT(L, "dev", s->st_dev);
  SET_INT(L, "mode", s->st_mode);
  SET_INT(L, "nlink", s->st_nlink);
  SET_INT(L, "uid", s->st_uid);
  SET_INT(L, "gid", s->st_gid);
  SET_INT(L, "rdev", s->st_rdev);
  SET_INT(L, "blksize", s->st_blksize);
  SET_INT(L, "ino", s->st_ino);
  SET_INT(L, "size", s->st_size);
  SET_INT(L, "blocks", s->st_blocks);
  SET_NUM(L, "atimeMs", timespec_ms(s->st_atim));
  SET_NUM(L, "mtimeMs", timespec_ms(s->st_mtim));
  SET_NUM(L, "ctimeMs", timespec_ms(s->st_ctim));
  SET_NUM(L, "birthtimeMs", timespec_ms(s->st_birthtim));
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &stats_key) == LUA_TTABLE) {
    lua_setmetatable(L, -2);
  } else {
    lua_pop(L, 1);
  }
}

static int push_stat_result(lua_State *L, fs_req *r) {
  push_stats(L, &r->req.statbuf);
  return 1;
}

/* The bytes an async read left in r->buf. */
static int push_read_buf(lua_State *L, fs_req *r) {
  lua_pushlstring(L, r->buf, (size_t)r->req.result);
  return 1;
}

/* Entry names in scandir's order (sorted by libuv), and with types, their UV_DIRENT_* kinds. */
static int push_scandir(lua_State *L, fs_req *r) {
  uv_dirent_t ent;
  lua_Integer i = 0;
  lua_newtable(L);
  if (r->with_types) lua_newtable(L);
  while (uv_fs_scandir_next(&r->req, &ent) != UV_EOF) {
    i++;
    lua_pushstring(L, ent.name);
    lua_rawseti(L, r->with_types ? -3 : -2, i);
    if (r->with_types) {
      lua_pushinteger(L, ent.type);
      lua_rawseti(L, -2, i);
    }
  }
  return r->with_types ? 2 : 1;
}

/* ---- the bindings: fs_NAME(args...[, cb]) ---- */

/* fs_open(path, flags, mode[, cb]) -> fd */
static int l_open(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  int flags = (int)luaL_checkinteger(L, 2);
  int mode = (int)luaL_checkinteger(L, 3);
  r = req_begin(L, &sr, 4, push_result_integer);
  return req_end(L, r, uv_fs_open(r->S->loop, &r->req, path, flags, mode, req_cb(r)));
}

/* fs_close(fd[, cb]) -> true */
static int l_close(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  r = req_begin(L, &sr, 2, push_true);
  return req_end(L, r, uv_fs_close(r->S->loop, &r->req, fd, req_cb(r)));
}

/* fs_read(fd, length, position[, cb]) -> string ("" at end of file) */
static int l_read(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  lua_Integer len = luaL_checkinteger(L, 2);
  int64_t pos = opt_position(L, 3);
  uv_buf_t buf;
  int rc;
  luaL_argcheck(L, len >= 0 && len <= INT32_MAX, 2, "length out of range");
  if (lua_type(L, 4) != LUA_TFUNCTION) {
    /* Synchronous: read straight into a Lua buffer, which the GC owns whatever happens. */
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, (size_t)len);
    r = req_begin(L, &sr, 4, NULL);
    buf = uv_buf_init(p, (unsigned int)len);
    rc = uv_fs_read(r->S->loop, &r->req, fd, &buf, 1, pos, NULL);
    uv_fs_req_cleanup(&r->req);
    if (rc < 0) return lode_push_uv_error(L, rc);
    luaL_pushresultsize(&b, (size_t)rc);
    return 1;
  }
  r = req_begin(L, &sr, 4, push_read_buf);
  r->buf = malloc(len > 0 ? (size_t)len : 1);
  if (r->buf == NULL) {
    req_free(L, r);
    return luaL_error(L, "not enough memory");
  }
  buf = uv_buf_init(r->buf, (unsigned int)len);
  return req_end(L, r, uv_fs_read(r->S->loop, &r->req, fd, &buf, 1, pos, on_fs_done));
}

/*
 * fs_write(fd, data, position[, offset[, cb]]) -> bytes written. Writes data from byte |offset|
 * (0-based), so a caller finishing a partial write need not copy the rest. Async, the string is
 * pinned until libuv is done reading it: no copy.
 */
static int l_write(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  size_t n;
  const char *data = luaL_checklstring(L, 2, &n);
  int64_t pos = opt_position(L, 3);
  lua_Integer off = luaL_optinteger(L, 4, 0);
  uv_buf_t buf;
  luaL_argcheck(L, off >= 0 && (size_t)off <= n, 4, "offset out of range");
  /* One write moves at most what uv_buf_t's length holds; callers loop on partial writes. */
  buf = uv_buf_init((char *)data + off, (unsigned int)((n - (size_t)off) > INT32_MAX ? INT32_MAX : n - (size_t)off));
  r = req_begin(L, &sr, 5, push_result_integer);
  if (req_is_async(r)) {
    lua_pushvalue(L, 2);
    r->ref_data = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  return req_end(L, r, uv_fs_write(r->S->loop, &r->req, fd, &buf, 1, pos, req_cb(r)));
}

/* ---- fs_read_all(fd[, cb]) -> the rest of the file: fstat, then read to the end ---- */

/*
 * Sizes the reads: a regular file is read up to its size in one go (Node's readFileSync does
 * the same, and stops there); anything else (size 0: /proc, pipes) in chunks until EOF.
 */
static int64_t read_all_target(const uv_stat_t *s) {
  return (S_ISREG(s->st_mode) && s->st_size > 0) ? (int64_t)s->st_size : -1;
}

static int read_all_sync(lua_State *L, uv_file fd) {
  fs_req sr, *r = req_begin(L, &sr, 2, NULL);
  luaL_Buffer b;
  int64_t want;
  size_t total = 0;
  int rc = uv_fs_fstat(r->S->loop, &r->req, fd, NULL);
  if (rc < 0) {
    uv_fs_req_cleanup(&r->req);
    lode_push_uv_error(L, rc);
    lua_pushliteral(L, "fstat");
    return 4;
  }
  want = read_all_target(&r->req.statbuf);
  uv_fs_req_cleanup(&r->req);
  luaL_buffinit(L, &b);
  for (;;) {
    size_t chunk = want >= 0 ? (size_t)want - total : READ_CHUNK;
    uv_buf_t buf;
    if (chunk > INT32_MAX) chunk = INT32_MAX;
    buf = uv_buf_init(luaL_prepbuffsize(&b, chunk), (unsigned int)chunk);
    rc = uv_fs_read(r->S->loop, &r->req, fd, &buf, 1, -1, NULL);
    uv_fs_req_cleanup(&r->req);
    if (rc < 0) {
      luaL_pushresult(&b);
      lua_pop(L, 1);
      lode_push_uv_error(L, rc);
      lua_pushliteral(L, "read");
      return 4;
    }
    if (rc == 0) break;
    luaL_addsize(&b, (size_t)rc);
    total += (size_t)rc;
    if (want >= 0 && total >= (size_t)want) break;
  }
  luaL_pushresult(&b);
  return 1;
}

static int push_read_all(lua_State *L, fs_req *r) {
  lua_pushlstring(L, r->buf ? r->buf : "", r->len);
  return 1;
}

static void on_read_all_step(uv_fs_t *req);

/* Queues the next read into the free end of r->buf, growing it when full. Returns 0 or an error. */
static int read_all_next(fs_req *r) {
  size_t room;
  uv_buf_t buf;
  if (r->len == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : READ_CHUNK;
    char *p = realloc(r->buf, cap);
    if (p == NULL) return UV_ENOMEM;
    r->buf = p;
    r->cap = cap;
  }
  room = r->cap - r->len;
  if (room > INT32_MAX) room = INT32_MAX;
  buf = uv_buf_init(r->buf + r->len, (unsigned int)room);
  return uv_fs_read(r->S->loop, &r->req, r->fd, &buf, 1, -1, on_read_all_step);
}

/* Ends the chain with error |err| at |syscall|: the callback gets the failure quadruple. */
static void read_all_fail(fs_req *r, int err, const char *syscall) {
  uv_fs_req_cleanup(&r->req);
  r->req.result = err;
  r->syscall = syscall;
  req_deliver(r);
}

/* One step of the async chain: the fstat, then each read, until EOF, the size, or an error. */
static void on_read_all_step(uv_fs_t *req) {
  fs_req *r = (fs_req *)req;
  int rc;
  if (req_orphaned(r)) return;
  if (req->fs_type == UV_FS_FSTAT) {
    if (req->result < 0) {
      read_all_fail(r, (int)req->result, "fstat");
      return;
    }
    r->want = read_all_target(&req->statbuf);
    if (r->want > 0) {
      /* The whole file in one buffer: reading stops when it is full, as Node's readFile does. */
      r->buf = malloc((size_t)r->want);
      if (r->buf == NULL) {
        read_all_fail(r, UV_ENOMEM, "read");
        return;
      }
      r->cap = (size_t)r->want;
    }
  } else {
    if (req->result < 0) {
      read_all_fail(r, (int)req->result, "read");
      return;
    }
    r->len += (size_t)req->result;
    if (req->result == 0 || (r->want >= 0 && r->len >= (size_t)r->want)) {
      req->result = 0;
      req_deliver(r);
      return;
    }
  }
  uv_fs_req_cleanup(req);
  rc = read_all_next(r);
  if (rc < 0) read_all_fail(r, rc, "read");
}

static int l_read_all(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  int rc;
  if (lua_type(L, 2) != LUA_TFUNCTION) return read_all_sync(L, fd);
  r = req_begin(L, &sr, 2, push_read_all);
  r->fd = fd;
  rc = uv_fs_fstat(r->S->loop, &r->req, fd, on_read_all_step);
  if (rc < 0) {
    req_free(L, r);
    lode_push_uv_error(L, rc);
    lua_pushliteral(L, "fstat");
    return 4;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- metadata ---- */

/* fs_stat(path[, cb]) / fs_lstat(path[, cb]) / fs_fstat(fd[, cb]) -> Stats */
static int l_stat(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_stat_result);
  return req_end(L, r, uv_fs_stat(r->S->loop, &r->req, path, req_cb(r)));
}

static int l_lstat(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_stat_result);
  return req_end(L, r, uv_fs_lstat(r->S->loop, &r->req, path, req_cb(r)));
}

static int l_fstat(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  r = req_begin(L, &sr, 2, push_stat_result);
  return req_end(L, r, uv_fs_fstat(r->S->loop, &r->req, fd, req_cb(r)));
}

/* fs_access(path, mode[, cb]) -> true */
static int l_access(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  int mode = (int)luaL_checkinteger(L, 2);
  r = req_begin(L, &sr, 3, push_true);
  return req_end(L, r, uv_fs_access(r->S->loop, &r->req, path, mode, req_cb(r)));
}

/* fs_ftruncate(fd, length[, cb]) -> true */
static int l_ftruncate(lua_State *L) {
  fs_req sr, *r;
  uv_file fd = check_fd(L, 1);
  int64_t len = (int64_t)luaL_checkinteger(L, 2);
  r = req_begin(L, &sr, 3, push_true);
  return req_end(L, r, uv_fs_ftruncate(r->S->loop, &r->req, fd, len, req_cb(r)));
}

/* fs_realpath(path[, cb]) -> the canonical path */
static int l_realpath(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_req_ptr);
  return req_end(L, r, uv_fs_realpath(r->S->loop, &r->req, path, req_cb(r)));
}

/* ---- names ---- */

/* fs_unlink(path[, cb]) / fs_rmdir(path[, cb]) -> true */
static int l_unlink(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_true);
  return req_end(L, r, uv_fs_unlink(r->S->loop, &r->req, path, req_cb(r)));
}

static int l_rmdir(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_true);
  return req_end(L, r, uv_fs_rmdir(r->S->loop, &r->req, path, req_cb(r)));
}

/* fs_mkdir(path, mode[, cb]) -> true */
static int l_mkdir(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  int mode = (int)luaL_checkinteger(L, 2);
  r = req_begin(L, &sr, 3, push_true);
  return req_end(L, r, uv_fs_mkdir(r->S->loop, &r->req, path, mode, req_cb(r)));
}

/* fs_mkdtemp(template[, cb]) -> the created directory (template ends in XXXXXX) */
static int l_mkdtemp(lua_State *L) {
  fs_req sr, *r;
  const char *tpl = check_path(L, 1);
  r = req_begin(L, &sr, 2, push_req_path);
  return req_end(L, r, uv_fs_mkdtemp(r->S->loop, &r->req, tpl, req_cb(r)));
}

/* fs_rename(from, to[, cb]) -> true */
static int l_rename(lua_State *L) {
  fs_req sr, *r;
  const char *from = check_path(L, 1);
  const char *to = check_path(L, 2);
  r = req_begin(L, &sr, 3, push_true);
  return req_end(L, r, uv_fs_rename(r->S->loop, &r->req, from, to, req_cb(r)));
}

/* fs_copyfile(from, to, flags[, cb]) -> true; flags are UV_FS_COPYFILE_* (= Node's COPYFILE_*) */
static int l_copyfile(lua_State *L) {
  fs_req sr, *r;
  const char *from = check_path(L, 1);
  const char *to = check_path(L, 2);
  int flags = (int)luaL_checkinteger(L, 3);
  r = req_begin(L, &sr, 4, push_true);
  return req_end(L, r, uv_fs_copyfile(r->S->loop, &r->req, from, to, flags, req_cb(r)));
}

/* fs_scandir(path, with_types[, cb]) -> names[, types] */
static int l_scandir(lua_State *L) {
  fs_req sr, *r;
  const char *path = check_path(L, 1);
  int with_types = lua_toboolean(L, 2);
  r = req_begin(L, &sr, 3, push_scandir);
  r->with_types = with_types;
  return req_end(L, r, uv_fs_scandir(r->S->loop, &r->req, path, 0, req_cb(r)));
}

/* ---- setup ---- */

/* fs_set_stats_class(mt): the metatable every Stats table gets. */
static int l_set_stats_class(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &stats_key);
  return 0;
}

/* Node's fs.constants, from this platform's headers and libuv's portable names. */
static void push_constants(lua_State *L) {
  static const struct { const char *name; lua_Integer value; } k[] = {
    {"O_RDONLY", UV_FS_O_RDONLY}, {"O_WRONLY", UV_FS_O_WRONLY}, {"O_RDWR", UV_FS_O_RDWR},
    {"O_CREAT", UV_FS_O_CREAT}, {"O_EXCL", UV_FS_O_EXCL}, {"O_NOCTTY", UV_FS_O_NOCTTY},
    {"O_TRUNC", UV_FS_O_TRUNC}, {"O_APPEND", UV_FS_O_APPEND}, {"O_DIRECTORY", UV_FS_O_DIRECTORY},
    {"O_NOATIME", UV_FS_O_NOATIME}, {"O_NOFOLLOW", UV_FS_O_NOFOLLOW}, {"O_SYNC", UV_FS_O_SYNC},
    {"O_DSYNC", UV_FS_O_DSYNC}, {"O_DIRECT", UV_FS_O_DIRECT}, {"O_NONBLOCK", UV_FS_O_NONBLOCK},
    {"S_IFMT", S_IFMT}, {"S_IFREG", S_IFREG}, {"S_IFDIR", S_IFDIR}, {"S_IFCHR", S_IFCHR},
    {"S_IFBLK", S_IFBLK}, {"S_IFIFO", S_IFIFO}, {"S_IFLNK", S_IFLNK}, {"S_IFSOCK", S_IFSOCK},
    {"S_IRWXU", S_IRWXU}, {"S_IRUSR", S_IRUSR}, {"S_IWUSR", S_IWUSR}, {"S_IXUSR", S_IXUSR},
    {"S_IRWXG", S_IRWXG}, {"S_IRGRP", S_IRGRP}, {"S_IWGRP", S_IWGRP}, {"S_IXGRP", S_IXGRP},
    {"S_IRWXO", S_IRWXO}, {"S_IROTH", S_IROTH}, {"S_IWOTH", S_IWOTH}, {"S_IXOTH", S_IXOTH},
    {"F_OK", F_OK}, {"R_OK", R_OK}, {"W_OK", W_OK}, {"X_OK", X_OK},
    {"UV_FS_COPYFILE_EXCL", UV_FS_COPYFILE_EXCL}, {"COPYFILE_EXCL", UV_FS_COPYFILE_EXCL},
    {"UV_FS_COPYFILE_FICLONE", UV_FS_COPYFILE_FICLONE},
    {"COPYFILE_FICLONE", UV_FS_COPYFILE_FICLONE},
    {"UV_FS_COPYFILE_FICLONE_FORCE", UV_FS_COPYFILE_FICLONE_FORCE},
    {"COPYFILE_FICLONE_FORCE", UV_FS_COPYFILE_FICLONE_FORCE},
    {"UV_DIRENT_UNKNOWN", UV_DIRENT_UNKNOWN}, {"UV_DIRENT_FILE", UV_DIRENT_FILE},
    {"UV_DIRENT_DIR", UV_DIRENT_DIR}, {"UV_DIRENT_LINK", UV_DIRENT_LINK},
    {"UV_DIRENT_FIFO", UV_DIRENT_FIFO}, {"UV_DIRENT_SOCKET", UV_DIRENT_SOCKET},
    {"UV_DIRENT_CHAR", UV_DIRENT_CHAR}, {"UV_DIRENT_BLOCK", UV_DIRENT_BLOCK},
    {"UV_FS_O_FILEMAP", UV_FS_O_FILEMAP},
  };
  size_t i;
  lua_createtable(L, 0, (int)(sizeof k / sizeof k[0]));
  for (i = 0; i < sizeof k / sizeof k[0]; i++) {
    lua_pushinteger(L, k[i].value);
    lua_setfield(L, -2, k[i].name);
  }
}

static const luaL_Reg fs_funcs[] = {
  {"fs_open", l_open},
  {"fs_close", l_close},
  {"fs_read", l_read},
  {"fs_write", l_write},
  {"fs_read_all", l_read_all},
  {"fs_stat", l_stat},
  {"fs_lstat", l_lstat},
  {"fs_fstat", l_fstat},
  {"fs_access", l_access},
  {"fs_ftruncate", l_ftruncate},
  {"fs_realpath", l_realpath},
  {"fs_unlink", l_unlink},
  {"fs_rmdir", l_rmdir},
  {"fs_mkdir", l_mkdir},
  {"fs_mkdtemp", l_mkdtemp},
  {"fs_rename", l_rename},
  {"fs_copyfile", l_copyfile},
  {"fs_scandir", l_scandir},
  {"fs_set_stats_class", l_set_stats_class},
  {NULL, NULL}
};

void lode_open_fs(lua_State *L) {
  luaL_setfuncs(L, fs_funcs, 0);
  push_constants(L);
  lua_setfield(L, -2, "fs_constants");
}
