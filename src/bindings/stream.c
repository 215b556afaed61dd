/*
 * What every uv_stream_t handle shares (tcp sockets, pipes): reads into a reused per-handle
 * buffer (one Lua string per read), writev of pinned Lua strings with a uv_try_write fast path,
 * shutdown, and the protected dispatch of their events to the owner's methods.
 *
 * Events, each an owner method called through lode_pcall (missing methods are skipped):
 *   _on_read(chunk)          a chunk; _on_read(nil) at end of stream
 *   _on_error(name, msg)     a read error ("ECONNRESET", "connection reset by peer")
 *   _on_write(id, err)       a queued write finished (err: nil or an error name)
 *   _on_shutdown(err)        the write side is shut down (err: nil or an error name)
 */
#include <stdlib.h>
#include <string.h>

#include "lode.h"

#define READ_BUF_SIZE (64 * 1024)
#define STREAM_MARK "__lode_stream"
#define SMALL_BUFS 16

/* ---- protected dispatch ---- */

typedef struct {
  lode_handle *h;
  const char *method;
  lode_push_fn push;
  void *ud;
} emit_ctx;

/* Runs inside lode_pcall: everything that may allocate or raise happens here, never in libuv's
   frames. */
static int l_emit(lua_State *L) {
  emit_ctx *c = lua_touserdata(L, 1);
  int n = 0;
  if (c->h->ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->h->ref);
  if (lua_getfield(L, -1, c->method) != LUA_TFUNCTION) return 0;
  lua_insert(L, -2);
  if (c->push) n = c->push(L, c->ud);
  lua_call(L, 1 + n, 0);
  return 0;
}

/*
 * Calls owner[|method|](owner, ...) for the pinned owner of |h|, the arguments pushed by
 * |push|(L, |ud|) (NULL: none). Nothing happens when the owner is not pinned (a collected
 * handle) or the loop is being torn down. |h| must stay valid for the call: libuv callbacks
 * guarantee it until the close callback.
 */
void lode_emit(lode_handle *h, const char *method, lode_push_fn push, void *ud) {
  lode_state *S = h->S;
  lua_State *L;
  emit_ctx c;
  if (S == NULL || h->ref == LUA_NOREF || S->loop == NULL) return;
  L = S->L;
  c.h = h;
  c.method = method;
  c.push = push;
  c.ud = ud;
  lua_pushcfunction(L, l_emit);
  lua_pushlightuserdata(L, &c);
  lode_pcall(S, L, 1, 0);
}

/* A push function: the name of the libuv error *(int *)ud, or nil for 0. */
int lode_push_err_name(lua_State *L, void *ud) {
  int err = *(int *)ud;
  if (err == 0) {
    lua_pushnil(L);
  } else {
    lua_pushstring(L, uv_err_name(err));
  }
  return 1;
}

/* ---- the handle extension: a read buffer ---- */

static void stream_on_close(lode_handle *h) {
  free(h->data);
  h->data = NULL;
}

/* Makes |h| (an initialized uv_stream_t) a stream: the read buffer comes at the first read. */
void lode_stream_init(lode_handle *h) {
  h->data = NULL;
  h->on_close = stream_on_close;
}

lode_handle *lode_stream_check(lua_State *L, int i) {
  lode_handle_box *box = lua_touserdata(L, i);
  int ok = 0;
  if (box != NULL && lua_getmetatable(L, i)) {
    ok = lua_getfield(L, -1, STREAM_MARK) == LUA_TBOOLEAN;
    lua_pop(L, 2);
  }
  if (!ok) luaL_typeerror(L, i, "stream handle");
  if (box->h == NULL || box->h->closing) luaL_error(L, "handle is closed");
  return box->h;
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *uvh, size_t hint, uv_buf_t *buf) {
  lode_handle *h = uvh->data;
  (void)hint;
  buf->base = h->data;
  buf->len = h->data ? READ_BUF_SIZE : 0;
}

typedef struct {
  const char *base;
  size_t len;
} chunk_arg;

static int push_chunk(lua_State *L, void *ud) {
  chunk_arg *c = ud;
  if (c->base) {
    lua_pushlstring(L, c->base, c->len);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

static int push_read_error(lua_State *L, void *ud) {
  int err = *(int *)ud;
  lua_pushstring(L, uv_err_name(err));
  lua_pushstring(L, uv_strerror(err));
  return 2;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  lode_handle *h = s->data;
  if (nread > 0) {
    chunk_arg c = {buf->base, (size_t)nread};
    lode_emit(h, "_on_read", push_chunk, &c);
  } else if (nread == UV_EOF) {
    chunk_arg c = {NULL, 0};
    lode_emit(h, "_on_read", push_chunk, &c);
  } else if (nread < 0) {
    int err = (int)nread;
    /* libuv keeps reading after an error unless told otherwise. */
    uv_read_stop(s);
    lode_emit(h, "_on_error", push_read_error, &err);
  }
}

/* handle:read_start() -> true | nil, msg, name. Pins the owner. */
static int l_read_start(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  int rc;
  if (h->data == NULL) {
    h->data = malloc(READ_BUF_SIZE);
    if (h->data == NULL) return luaL_error(L, "not enough memory");
  }
  rc = uv_read_start(&h->uv.stream, on_alloc, on_read);
  if (rc != 0 && rc != UV_EALREADY) return lode_push_uv_error(L, rc);
  lode_handle_pin(L, h, 1);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_read_stop(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  uv_read_stop(&h->uv.stream);
  return 0;
}

/* ---- writing ---- */

typedef struct {
  uv_write_t req;
  lode_handle *h;
  int data_ref;        /* the string or table of strings, pinned until the callback */
  lua_Integer id;
} write_req;

typedef struct {
  lua_Integer id;
  int status;
} write_done;

static int push_write_done(lua_State *L, void *ud) {
  write_done *d = ud;
  lua_pushinteger(L, d->id);
  return 1 + lode_push_err_name(L, &d->status);
}

static void on_write(uv_write_t *req, int status) {
  write_req *w = (write_req *)req;
  lode_handle *h = w->h;
  write_done d;
  d.id = w->id;
  d.status = status;
  /* After lua_close (h->S gone) the registry went with the state. */
  if (h->S != NULL) luaL_unref(h->S->L, LUA_REGISTRYINDEX, w->data_ref);
  free(w);
  lode_emit(h, "_on_write", push_write_done, &d);
}

/*
 * handle:write(data, id) where data is a string or a sequence of strings (one iovec each, no
 * concatenation). Returns true when every byte went out at once (no callback follows), false when
 * the write is queued (owner:_on_write(id, err) follows; data must not change until then), or
 * nil, msg, name (no callback).
 */
static int l_write(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  lua_Integer id = luaL_optinteger(L, 3, 0);
  uv_buf_t small[SMALL_BUFS], *bufs = small;
  size_t n, i, first = 0;
  size_t len;
  int rc;
  write_req *w;
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *p = lua_tolstring(L, 2, &len);
    n = 1;
    bufs[0] = uv_buf_init((char *)p, (unsigned int)len);
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (size_t)luaL_len(L, 2);
    if (n > SMALL_BUFS) bufs = lua_newuserdatauv(L, n * sizeof *bufs, 0);
    for (i = 0; i < n; i++) {
      const char *p;
      lua_rawgeti(L, 2, (lua_Integer)i + 1);
      p = lua_tolstring(L, -1, &len);
      if (p == NULL || lua_type(L, -1) != LUA_TSTRING) {
        return luaL_argerror(L, 2, "a sequence of strings expected");
      }
      lua_pop(L, 1); /* still referenced by the table */
      bufs[i] = uv_buf_init((char *)p, (unsigned int)len);
    }
  }
  if (n == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  /* Nothing queued: try to write now and save a callback round trip. */
  if (uv_stream_get_write_queue_size(&h->uv.stream) == 0) {
    int r = uv_try_write(&h->uv.stream, bufs, (unsigned int)n);
    if (r >= 0) {
      size_t left = (size_t)r;
      while (first < n && left >= bufs[first].len) {
        left -= bufs[first].len;
        first++;
      }
      if (first < n && left > 0) {
        bufs[first].base += left;
        bufs[first].len -= left;
      }
      /* Skip empty buffers at the end, so an all-written write completes here. */
      while (first < n && bufs[first].len == 0) first++;
      if (first == n) {
        lua_pushboolean(L, 1);
        return 1;
      }
    } else if (r != UV_EAGAIN && r != UV_ENOSYS) {
      return lode_push_uv_error(L, r);
    }
  }
  w = malloc(sizeof *w);
  if (w == NULL) return luaL_error(L, "not enough memory");
  w->h = h;
  w->id = id;
  lua_pushvalue(L, 2);
  w->data_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rc = uv_write(&w->req, &h->uv.stream, bufs + first, (unsigned int)(n - first), on_write);
  if (rc != 0) {
    luaL_unref(L, LUA_REGISTRYINDEX, w->data_ref);
    free(w);
    return lode_push_uv_error(L, rc);
  }
  lode_handle_pin(L, h, 1);
  lua_pushboolean(L, 0);
  return 1;
}

/* ---- shutdown ---- */

typedef struct {
  uv_shutdown_t req;
  lode_handle *h;
} shutdown_req;

static void on_shutdown(uv_shutdown_t *req, int status) {
  shutdown_req *r = (shutdown_req *)req;
  lode_handle *h = r->h;
  free(r);
  lode_emit(h, "_on_shutdown", lode_push_err_name, &status);
}

/* handle:shutdown() -> true (owner:_on_shutdown(err) follows) | nil, msg, name. */
static int l_shutdown(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  shutdown_req *r = malloc(sizeof *r);
  int rc;
  if (r == NULL) return luaL_error(L, "not enough memory");
  r->h = h;
  rc = uv_shutdown(&r->req, &h->uv.stream, on_shutdown);
  if (rc != 0) {
    free(r);
    return lode_push_uv_error(L, rc);
  }
  lode_handle_pin(L, h, 1);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_write_queue_size(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  lua_pushinteger(L, (lua_Integer)uv_stream_get_write_queue_size(&h->uv.stream));
  return 1;
}

/* handle:set_owner(obj): for handles made in C (accepted connections): obj becomes the owner,
   pinned until close. */
static int l_set_owner(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  luaL_checkany(L, 2);
  lode_handle_unpin(L, h);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, 1, 1);
  lode_handle_pin(L, h, 1);
  return 0;
}

/* handle:pin(): keeps the owner alive until close (an open socket serves with no references). */
static int l_pin(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  lode_handle_pin(L, h, 1);
  return 0;
}

static int l_fileno(lua_State *L) {
  lode_handle *h = lode_stream_check(L, 1);
  uv_os_fd_t fd;
  if (uv_fileno(&h->uv.handle, &fd) != 0) return 0;
  lua_pushinteger(L, fd);
  return 1;
}

static const luaL_Reg stream_methods[] = {
  {"read_start", l_read_start},
  {"read_stop", l_read_stop},
  {"write", l_write},
  {"shutdown", l_shutdown},
  {"write_queue_size", l_write_queue_size},
  {"set_owner", l_set_owner},
  {"pin", l_pin},
  {"fileno", l_fileno},
  {NULL, NULL}
};

/* Registers |mt| as a handle type with the stream methods and |extra|. */
void lode_stream_register(lua_State *L, const char *mt, const luaL_Reg *extra) {
  lode_handle_register(L, mt, extra);
  luaL_getmetatable(L, mt);
  lua_getfield(L, -1, "__index");
  luaL_setfuncs(L, stream_methods, 0);
  lua_pop(L, 1);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, STREAM_MARK);
  lua_pop(L, 1);
}
