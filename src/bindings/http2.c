/*
 * core.http2_*: the Lua face of the session engine (src/core). Three box userdata types:
 *
 *   lode.Http2Server   { lode_server * }   owner: Http2Server      events: _onsession, _onclose
 *   lode.Http2Session  { lode_session * }  owner: Http2Session     events: _onconnect, _onstream,
 *                      _onpush, _onsettings, _onping, _ongoaway, _onframeerror, _onerror, _onclose
 *   lode.Http2Stream   { lode_stream * }   owner: Http2Stream      events: _onheaders, _ondata,
 *                      _onend, _onwanttrailers, _onwritten, _onframeerror, _onclose
 *
 * The core owns the C objects. An open box is pinned by a registry reference to itself (its
 * owner lives in its first user value) that only the core's close report drops, so dropping every
 * Lua reference to a live session or stream changes nothing. __gc frees nothing the core uses.
 * Bytes handed to write are pinned (registry reference) until the core reports them done.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "lode_core.h"
#include "http2_tls.h"

#define SERVER_MT "lode.Http2Server"
#define SESSION_MT "lode.Http2Session"
#define STREAM_MT "lode.Http2Stream"
#define H2STATE_KEY "lode.h2state"

typedef struct h2state {
  lode_engine *e;
  int ref_sensitive, ref_mt, ref_single;
} h2state;

typedef struct l_server { lode_server *srv; lode_state *S; int ref; lode_session_options opts; } l_server;
typedef struct l_session {
  lode_session *s; lode_state *S; int ref;
  lode_session_stats stats; /* the counters at close, for box:stats() after it */
} l_session;
typedef struct l_stream { lode_stream *st; lode_state *S; int ref; } l_stream;

static const lode_session_callbacks session_cbs;

/* ---- shared ---- */

static int h2state_gc(lua_State *L) {
  h2state *H = lua_touserdata(L, 1);
  if (H->e) lode_engine_free(H->e);
  H->e = NULL;
  return 0;
}

static h2state *get_h2(lua_State *L) {
  h2state *H;
  lua_getfield(L, LUA_REGISTRYINDEX, H2STATE_KEY);
  H = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (H == NULL) {
    lode_state *S = lode_get_state(L);
    H = lua_newuserdatauv(L, sizeof *H, 0);
    H->e = NULL;
    H->ref_sensitive = H->ref_mt = H->ref_single = LUA_NOREF;
    lua_newtable(L);
    lua_pushcfunction(L, h2state_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, H2STATE_KEY);
    H->e = lode_engine_new(S->loop);
    if (H->e == NULL) luaL_error(L, "not enough memory");
  }
  return H;
}

/* Pushes a fail triple for |rc| (a libuv or nghttp2 error). */
static int push_fail(lua_State *L, int rc) {
  if (rc > -500) return lode_push_uv_error(L, rc);
  lua_pushnil(L);
  lua_pushstring(L, nghttp2_strerror(rc));
  lua_pushinteger(L, rc);
  return 3;
}

/* Pushes owner[method] and owner for the box pinned at |ref|; 0 when absent. */
static int push_box_method(lua_State *L, int ref, const char *method) {
  if (ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  if (lua_getiuservalue(L, -1, 1) != LUA_TTABLE) { lua_pop(L, 2); return 0; }
  lua_remove(L, -2);
  lode_raw_lookup(L, -1, method);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 2); return 0; }
  lua_insert(L, -2);
  return 1;
}

static void pin(lua_State *L, int *ref, int idx) {
  if (*ref != LUA_NOREF) return;
  lua_pushvalue(L, idx);
  *ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

static void unpin(lua_State *L, int *ref) {
  if (*ref == LUA_NOREF) return;
  luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = LUA_NOREF;
}

/* Builds nghttp2_nv[] from names, values[, flags] sequences at |i|..|i+2| and count at |i+3|.
   The array lives in a userdata pushed on the stack; the strings stay on the caller's tables. */
static nghttp2_nv *check_nv(lua_State *L, lode_state *S, int i, size_t *np) {
  lua_Integer n = luaL_checkinteger(L, i + 3), k;
  nghttp2_nv *nva;
  int has_flags = lua_istable(L, i + 2);
  luaL_checktype(L, i, LUA_TTABLE);
  luaL_checktype(L, i + 1, LUA_TTABLE);
  if (n < 0) n = 0;
  nva = lode_scratch(L, S, (size_t)(n ? n : 1) * sizeof *nva);
  for (k = 0; k < n; k++) {
    size_t nl, vl;
    const char *name, *value;
    lua_rawgeti(L, i, k + 1);
    name = lua_tolstring(L, -1, &nl);
    lua_pop(L, 1);  /* still referenced by the names table */
    lua_rawgeti(L, i + 1, k + 1);
    value = lua_tolstring(L, -1, &vl);
    lua_pop(L, 1);
    if (name == NULL || value == NULL) luaL_error(L, "header %d is not a string", (int)k + 1);
    nva[k].name = (uint8_t *)name;
    nva[k].namelen = nl;
    nva[k].value = (uint8_t *)value;
    nva[k].valuelen = vl;
    nva[k].flags = NGHTTP2_NV_FLAG_NONE;
    if (has_flags) {
      lua_rawgeti(L, i + 2, k + 1);
      if (lua_tointeger(L, -1) & 1) nva[k].flags |= NGHTTP2_NV_FLAG_NO_INDEX;
      lua_pop(L, 1);
    }
  }
  *np = (size_t)n;
  return nva;
}

/* Pushes the headers table (document's rules, as lode.http2.headers.from_nv) and rawHeaders. */
static void push_headers(lua_State *L, const nghttp2_nv *nva, size_t n) {
  h2state *H = get_h2(L);
  size_t i;
  int obj, raw, sens, single;
  lua_Integer nsens = 0;
  lua_createtable(L, 0, (int)n);
  obj = lua_gettop(L);
  lua_createtable(L, (int)(2 * n), 0);
  raw = lua_gettop(L);
  lua_pushnil(L); /* the [sensitiveHeaders] list, made with its first name (headers.lua makes an
                     empty one on first read) */
  sens = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, H->ref_single);
  single = lua_gettop(L);
  for (i = 0; i < n; i++) {
    const char *name = (const char *)nva[i].name;
    size_t nl = nva[i].namelen;
    lua_pushlstring(L, name, nl);
    lua_pushvalue(L, -1);
    lua_rawseti(L, raw, (lua_Integer)(2 * i + 1));
    lua_pushlstring(L, (const char *)nva[i].value, nva[i].valuelen);
    lua_pushvalue(L, -1);
    lua_rawseti(L, raw, (lua_Integer)(2 * i + 2));
    /* stack: name value */
    if (nva[i].flags & NGHTTP2_NV_FLAG_NO_INDEX) {
      if (nsens == 0) {
        lua_newtable(L);
        lua_replace(L, sens);
      }
      lua_pushvalue(L, -2);
      lua_rawseti(L, sens, ++nsens);
    }
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
      lua_Integer v = strtoll((const char *)nva[i].value, NULL, 10);
      lua_pop(L, 1);
      lua_pushinteger(L, v);
    }
    lua_pushvalue(L, -2);
    if (lua_rawget(L, obj) == LUA_TNIL) {
      lua_pop(L, 1);
      if (nl == 10 && memcmp(name, "set-cookie", 10) == 0) {
        lua_createtable(L, 1, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
      }
      lua_rawset(L, obj);
    } else {
      /* stack: name value existing */
      int is_single;
      lua_pushvalue(L, -3);
      is_single = lua_rawget(L, single) != LUA_TNIL;
      lua_pop(L, 1);
      if (is_single) {
        lua_pop(L, 3);
      } else if (nl == 10 && memcmp(name, "set-cookie", 10) == 0) {
        lua_insert(L, -2);
        lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
        lua_pop(L, 2);
      } else {
        lua_insert(L, -2);   /* name existing value */
        lua_pushstring(L, (nl == 6 && memcmp(name, "cookie", 6) == 0) ? "; " : ", ");
        lua_insert(L, -2);
        lua_concat(L, 3);
        lua_rawset(L, obj);
      }
    }
  }
  lua_pop(L, 1); /* single */
  if (nsens > 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, H->ref_sensitive);
    lua_insert(L, -2);
    lua_rawset(L, obj);
  } else {
    lua_pop(L, 1);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, H->ref_mt);
  lua_setmetatable(L, obj);
  /* obj raw on the stack */
}

/* ---- stream boxes ---- */

static l_stream *new_stream_box(lua_State *L, lode_state *S, lode_stream *st) {
  l_stream *b = lua_newuserdatauv(L, sizeof *b, 1);
  b->st = NULL;
  b->S = S;
  b->ref = LUA_NOREF;
  luaL_setmetatable(L, STREAM_MT);
  b->st = st;
  lode_stream_set_user(st, b);
  pin(L, &b->ref, -1);
  return b;
}

static l_stream *check_stream(lua_State *L, int i) {
  return luaL_checkudata(L, i, STREAM_MT);
}

#define STREAM_OPEN(L, b) \
  do { if ((b)->st == NULL) return push_fail(L, NGHTTP2_ERR_STREAM_CLOSED); } while (0)

static int ls_setowner(lua_State *L) {
  check_stream(L, 1);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

static int ls_respond(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t n;
  nghttp2_nv *nva;
  int rc;
  STREAM_OPEN(L, b);
  nva = check_nv(L, b->S, 2, &n);
  rc = lode_stream_respond(b->st, nva, n, (int)luaL_optinteger(L, 6, 0));
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* stream:respond_fd(names, values, flags, n, fd, offset, length, sflags): the body from a file. */
static int ls_respond_fd(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t n;
  nghttp2_nv *nva;
  int rc;
  STREAM_OPEN(L, b);
  nva = check_nv(L, b->S, 2, &n);
  rc = lode_stream_respond_fd(b->st, nva, n, (int)luaL_checkinteger(L, 6), luaL_optinteger(L, 7, 0),
                              luaL_optinteger(L, 8, -1), (int)luaL_optinteger(L, 9, 0));
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int ls_info(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t n;
  nghttp2_nv *nva;
  int rc;
  STREAM_OPEN(L, b);
  nva = check_nv(L, b->S, 2, &n);
  rc = lode_stream_info(b->st, nva, n);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int ls_trailers(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t n;
  nghttp2_nv *nva;
  int rc;
  STREAM_OPEN(L, b);
  nva = check_nv(L, b->S, 2, &n);
  rc = lode_stream_trailers(b->st, nva, n);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* stream:write(str[, end[, notify]]): with |notify|, owner:_onwritten() follows once the bytes
   have left (or were dropped). The cookie is the string's registry ref, shifted, with the
   notify flag in bit 0. */
static int ls_write(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  int ref, rc;
  intptr_t cookie;
  STREAM_OPEN(L, b);
  lua_pushvalue(L, 2);
  ref = luaL_ref(L, LUA_REGISTRYINDEX);
  cookie = ((intptr_t)ref << 1) | (lua_toboolean(L, 4) ? 1 : 0);
  rc = lode_stream_write(b->st, (const uint8_t *)data, len, (void *)cookie);
  if (rc < 0) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return push_fail(L, rc);
  }
  if (lua_toboolean(L, 3)) lode_stream_end(b->st);
  lua_pushboolean(L, 1);
  return 1;
}

static int ls_finish(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  int rc;
  STREAM_OPEN(L, b);
  rc = lode_stream_end(b->st);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int ls_rst(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  int rc;
  STREAM_OPEN(L, b);
  rc = lode_stream_rst(b->st, (uint32_t)luaL_optinteger(L, 2, NGHTTP2_NO_ERROR));
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* stream:push(names, values, flags, n) -> box */
static int ls_push(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  size_t n;
  nghttp2_nv *nva;
  lode_stream *st;
  int rc;
  STREAM_OPEN(L, b);
  nva = check_nv(L, b->S, 2, &n);
  rc = lode_stream_push(b->st, nva, n, &st);
  if (rc < 0) return push_fail(L, rc);
  new_stream_box(L, b->S, st);
  return 1;
}

static void opt_priority(lua_State *L, int i, nghttp2_priority_spec *pri) {
  nghttp2_priority_spec_init(pri, (int32_t)luaL_optinteger(L, i, 0), (int32_t)luaL_optinteger(L, i + 1, 16),
                             lua_toboolean(L, i + 2));
}

static int ls_priority(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  nghttp2_priority_spec pri;
  int rc;
  STREAM_OPEN(L, b);
  opt_priority(L, 2, &pri);
  if (lua_toboolean(L, 5)) {
    /* silent: change the local priority tree only, no PRIORITY frame (Node's options.silent). */
    nghttp2_session *ng = lode_session_nghttp2(lode_stream_session(b->st));
    rc = ng ? nghttp2_session_change_stream_priority(ng, lode_stream_id(b->st), &pri)
            : NGHTTP2_ERR_STREAM_CLOSED;
  } else {
    rc = lode_stream_priority(b->st, &pri);
  }
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int ls_pause(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  if (b->st) lode_stream_pause(b->st, lua_toboolean(L, 2));
  return 0;
}

static int ls_id(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  lua_pushinteger(L, b->st ? lode_stream_id(b->st) : 0);
  return 1;
}

static int ls_queued(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  lua_pushinteger(L, b->st ? (lua_Integer)lode_stream_queued(b->st) : 0);
  return 1;
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* stream:state() -> { localWindowSize, state, localClose, remoteClose, sumDependencyWeight, weight } */
static int ls_state(lua_State *L) {
  l_stream *b = check_stream(L, 1);
  nghttp2_session *ng;
  nghttp2_stream *ns;
  int32_t id;
  lua_newtable(L);
  if (b->st == NULL) return 1;
  ng = lode_session_nghttp2(lode_stream_session(b->st));
  id = lode_stream_id(b->st);
  if (ng == NULL || id <= 0 || (ns = nghttp2_session_find_stream(ng, id)) == NULL) return 1;
  setint(L, "localWindowSize", nghttp2_session_get_stream_local_window_size(ng, id));
  setint(L, "state", nghttp2_stream_get_state(ns));
  setint(L, "localClose", nghttp2_session_get_stream_local_close(ng, id));
  setint(L, "remoteClose", nghttp2_session_get_stream_remote_close(ng, id));
  setint(L, "sumDependencyWeight", nghttp2_stream_get_sum_dependency_weight(ns));
  setint(L, "weight", nghttp2_stream_get_weight(ns));
  return 1;
}

/* The box doubles as Http2Stream.state: fields other than methods read nghttp2's state. */
static int ls_index(lua_State *L) {
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
  lua_pop(L, 1);
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  ls_state(L);
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int ls_pairs(lua_State *L) {
  lua_pushcfunction(L, ls_state);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_getglobal(L, "next");
  lua_insert(L, -2);
  lua_pushnil(L);
  return 3;
}

static const luaL_Reg stream_methods[] = {
  {"setowner", ls_setowner}, {"respond", ls_respond}, {"respond_fd", ls_respond_fd},
  {"info", ls_info}, {"trailers", ls_trailers},
  {"write", ls_write}, {"finish", ls_finish}, {"rst", ls_rst}, {"push", ls_push},
  {"priority", ls_priority}, {"pause", ls_pause}, {"id", ls_id}, {"queued", ls_queued},
  {"getstate", ls_state}, {NULL, NULL}
};

/* ---- session events (from the core) ---- */

static void on_connect(lode_session *s, int status, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onconnect")) return;
  if (status == 0) {
    lode_pcall(b->S, L, 1, 0);
  } else if (status == LODE_ERR_TLS) {
    const char *code, *msg;
    lode_h2_tls_error(s, &code, &msg);
    lua_pushinteger(L, status);
    lua_pushstring(L, code);
    lua_pushstring(L, msg);
    lode_pcall(b->S, L, 4, 0);
  } else {
    lua_pushinteger(L, status);
    lua_pushstring(L, uv_err_name(status));
    lode_pcall(b->S, L, 3, 0);
  }
}

static void on_headers(lode_session *s, lode_stream *st, int cat, const nghttp2_nv *nva, size_t n,
                       int end_stream, lode_stream *parent, void *ud) {
  l_session *b = ud;
  lode_state *S = b->S;
  lua_State *L = S->L;
  int flags = NGHTTP2_FLAG_END_HEADERS | (end_stream ? NGHTTP2_FLAG_END_STREAM : 0);
  int top = lua_gettop(L);
  if (cat == LODE_HCAT_REQUEST || cat == LODE_HCAT_PUSH) {
    l_stream *sb;
    int rc;
    if (!push_box_method(L, b->ref, cat == LODE_HCAT_REQUEST ? "_onstream" : "_onpush")) {
      lode_stream_rst(st, NGHTTP2_REFUSED_STREAM);
      return;
    }
    sb = new_stream_box(L, S, st);
    push_headers(L, nva, n);
    lua_pushinteger(L, flags);
    lua_insert(L, -2);
    if (cat == LODE_HCAT_PUSH) {
      l_stream *pb = parent ? lode_stream_user(parent) : NULL;
      if (pb && pb->ref != LUA_NOREF) lua_rawgeti(L, LUA_REGISTRYINDEX, pb->ref); else lua_pushnil(L);
    }
    rc = lode_pcall(S, L, cat == LODE_HCAT_PUSH ? 6 : 5, 0);
    /* A Lua error in the handler resets this stream only. */
    if (rc != LUA_OK && sb->st) {
      if (push_box_method(L, sb->ref, "_onhandlererror")) lode_pcall(S, L, 1, 0);
      if (sb->st) lode_stream_rst(sb->st, NGHTTP2_INTERNAL_ERROR);
    }
    (void)s;
  } else {
    l_stream *sb = lode_stream_user(st);
    if (sb == NULL || !push_box_method(L, sb->ref, "_onheaders")) return;
    push_headers(L, nva, n);
    lua_pushinteger(L, flags);
    lua_insert(L, -2);
    lua_pushinteger(L, cat);
    lua_insert(L, -2);
    /* self, headers, flags, cat, rawHeaders */
    lode_pcall(S, L, 5, 0);
  }
  lua_settop(L, top);
}

static void on_data(lode_session *s, lode_stream *st, const uint8_t *data, size_t len, void *ud) {
  l_session *b = ud;
  l_stream *sb = lode_stream_user(st);
  lua_State *L = b->S->L;
  (void)s;
  if (sb == NULL || !push_box_method(L, sb->ref, "_ondata")) return;
  lua_pushlstring(L, (const char *)data, len);
  lode_pcall(b->S, L, 2, 0);
}

static void stream_event0(l_session *b, lode_stream *st, const char *method) {
  l_stream *sb = lode_stream_user(st);
  lua_State *L = b->S->L;
  if (sb == NULL || !push_box_method(L, sb->ref, method)) return;
  lode_pcall(b->S, L, 1, 0);
}

static void on_end(lode_session *s, lode_stream *st, void *ud) {
  (void)s;
  stream_event0(ud, st, "_onend");
}

static void on_want_trailers(lode_session *s, lode_stream *st, void *ud) {
  (void)s;
  stream_event0(ud, st, "_onwanttrailers");
}

static void on_chunk_done(lode_session *s, lode_stream *st, void *cookie, int status, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  l_stream *sb = st ? lode_stream_user(st) : NULL;
  (void)s;
  luaL_unref(L, LUA_REGISTRYINDEX, (int)((intptr_t)cookie >> 1));
  if (!((intptr_t)cookie & 1) || sb == NULL || !push_box_method(L, sb->ref, "_onwritten")) return;
  lua_pushinteger(L, status);
  lode_pcall(b->S, L, 2, 0);
}

static void on_stream_close(lode_session *s, lode_stream *st, uint32_t code, void *ud) {
  l_session *b = ud;
  l_stream *sb = lode_stream_user(st);
  lua_State *L = b->S->L;
  int ref;
  (void)s;
  if (sb == NULL) return;
  ref = sb->ref;
  sb->st = NULL;
  lode_stream_set_user(st, NULL);
  if (push_box_method(L, ref, "_onclose")) {
    lua_pushinteger(L, code);
    lode_pcall(b->S, L, 2, 0);
  }
  unpin(L, &sb->ref);
}

static void on_settings(lode_session *s, int ack, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onsettings")) return;
  lua_pushboolean(L, ack);
  lode_pcall(b->S, L, 2, 0);
}

static void on_ping(lode_session *s, int ack, const uint8_t payload[8], void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onping")) return;
  lua_pushlstring(L, (const char *)payload, 8);
  lua_pushboolean(L, ack);
  lode_pcall(b->S, L, 3, 0);
}

static void on_goaway(lode_session *s, uint32_t code, int32_t last, const uint8_t *opaque, size_t len,
                      void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_ongoaway")) return;
  lua_pushinteger(L, code);
  lua_pushinteger(L, last);
  if (opaque && len) lua_pushlstring(L, (const char *)opaque, len); else lua_pushnil(L);
  lode_pcall(b->S, L, 4, 0);
}

/* Node's TranslateNghttp2ErrorCode: 'frameError' reports the RFC 7540 code for the library's. */
static uint32_t frame_error_code(int lib) {
  switch (lib) {
  case NGHTTP2_ERR_STREAM_CLOSED: return NGHTTP2_STREAM_CLOSED;
  case NGHTTP2_ERR_HEADER_COMP: return NGHTTP2_COMPRESSION_ERROR;
  case NGHTTP2_ERR_FRAME_SIZE_ERROR: return NGHTTP2_FRAME_SIZE_ERROR;
  case NGHTTP2_ERR_FLOW_CONTROL: return NGHTTP2_FLOW_CONTROL_ERROR;
  case NGHTTP2_ERR_REFUSED_STREAM: return NGHTTP2_REFUSED_STREAM;
  case NGHTTP2_ERR_PROTO:
  case NGHTTP2_ERR_HTTP_HEADER:
  case NGHTTP2_ERR_HTTP_MESSAGING: return NGHTTP2_PROTOCOL_ERROR;
  default: return NGHTTP2_INTERNAL_ERROR;
  }
}

static void on_frame_error(lode_session *s, lode_stream *st, uint8_t type, int code, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  l_stream *sb = st ? lode_stream_user(st) : NULL;
  int ok;
  (void)s;
  ok = sb ? push_box_method(L, sb->ref, "_onframeerror") : push_box_method(L, b->ref, "_onframeerror");
  if (!ok) return;
  lua_pushinteger(L, type);
  lua_pushinteger(L, frame_error_code(code));
  lode_pcall(b->S, L, 3, 0);
}

static void on_error(lode_session *s, int code, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onerror")) return;
  if (code == LODE_ERR_TLS) {
    const char *k, *msg;
    lode_h2_tls_error(s, &k, &msg);
    lua_pushinteger(L, code);
    lua_pushstring(L, k);
    lua_pushstring(L, msg);
    lode_pcall(b->S, L, 4, 0);
    return;
  }
  if (code == LODE_ERR_TOO_MANY_INVALID_FRAMES) {
    lua_pushinteger(L, NGHTTP2_ERR_CALLBACK_FAILURE);
    lua_pushstring(L, "ERR_HTTP2_TOO_MANY_INVALID_FRAMES");
    lua_pushnil(L);
    lode_pcall(b->S, L, 4, 0);
    return;
  }
  lua_pushinteger(L, code);
  lua_pushstring(L, code > -500 ? uv_err_name(code) : "");
  lua_pushstring(L, code > -500 ? uv_strerror(code) : nghttp2_strerror(code));
  lode_pcall(b->S, L, 4, 0);
}

static void on_close(lode_session *s, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  int ref = b->ref;
  lode_session_get_stats(s, &b->stats);
  b->s = NULL;
  if (push_box_method(L, ref, "_onclose")) lode_pcall(b->S, L, 1, 0);
  unpin(L, &b->ref);
}

/* ORIGIN frame: _onorigin({ origin, ... }) */
static void on_origin(lode_session *s, const char *origins, size_t len, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  size_t off = 0;
  int i = 0;
  (void)s;
  if (!push_box_method(L, b->ref, "_onorigin")) return;
  lua_newtable(L);
  while (off < len) {
    size_t n = strlen(origins + off);
    lua_pushlstring(L, origins + off, n);
    lua_rawseti(L, -2, ++i);
    off += n + 1;
  }
  lode_pcall(b->S, L, 2, 0);
}

/* ALTSVC frame: _onaltsvc(alt, origin, stream_id) */
static void on_altsvc(lode_session *s, int32_t stream_id, const char *origin, size_t olen,
                      const char *field, size_t flen, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onaltsvc")) return;
  lua_pushlstring(L, field, flen);
  lua_pushlstring(L, origin, olen);
  lua_pushinteger(L, stream_id);
  lode_pcall(b->S, L, 4, 0);
}

static const lode_session_callbacks session_cbs = {
  on_connect, on_headers, on_data, on_end, on_want_trailers, on_chunk_done, on_stream_close,
  on_settings, on_ping, on_goaway, on_frame_error, on_error, on_close, on_origin, on_altsvc
};

/* ---- session boxes ---- */

static l_session *new_session_box(lua_State *L, lode_state *S) {
  l_session *b = lua_newuserdatauv(L, sizeof *b, 1);
  memset(b, 0, sizeof *b);
  b->s = NULL;
  b->S = S;
  b->ref = LUA_NOREF;
  luaL_setmetatable(L, SESSION_MT);
  return b;
}

static l_session *check_session(lua_State *L, int i) {
  return luaL_checkudata(L, i, SESSION_MT);
}

#define SESSION_OPEN(L, b) \
  do { if ((b)->s == NULL) return push_fail(L, NGHTTP2_ERR_INVALID_STATE); } while (0)

static int lss_setowner(lua_State *L) {
  check_session(L, 1);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

/* session:request(owner, names, values, flags, n, sflags[, parent, weight, exclusive]) -> box */
static int lss_request(lua_State *L) {
  l_session *b = check_session(L, 1);
  size_t n;
  nghttp2_nv *nva;
  nghttp2_priority_spec pri;
  lode_stream *st;
  int rc;
  SESSION_OPEN(L, b);
  nva = check_nv(L, b->S, 3, &n);
  opt_priority(L, 8, &pri);
  rc = lode_session_request(b->s, nva, n, (int)luaL_optinteger(L, 7, 0), &pri, &st);
  if (rc < 0) return push_fail(L, rc);
  new_stream_box(L, b->S, st);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* session:settings({id, value, id, value, ...}) */
static int lss_settings(lua_State *L) {
  l_session *b = check_session(L, 1);
  nghttp2_settings_entry iv[16];
  lua_Integer n, k;
  int rc;
  SESSION_OPEN(L, b);
  luaL_checktype(L, 2, LUA_TTABLE);
  n = luaL_len(L, 2) / 2;
  if (n > 16) n = 16;
  for (k = 0; k < n; k++) {
    lua_rawgeti(L, 2, 2 * k + 1);
    lua_rawgeti(L, 2, 2 * k + 2);
    iv[k].settings_id = (int32_t)lua_tointeger(L, -2);
    iv[k].value = (uint32_t)lua_tointeger(L, -1);
    lua_pop(L, 2);
  }
  rc = lode_session_settings(b->s, iv, (size_t)n);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int lss_ping(lua_State *L) {
  l_session *b = check_session(L, 1);
  size_t len;
  const char *p = luaL_checklstring(L, 2, &len);
  int rc;
  SESSION_OPEN(L, b);
  luaL_argcheck(L, len == 8, 2, "8 bytes expected");
  rc = lode_session_ping(b->s, (const uint8_t *)p);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int lss_goaway(lua_State *L) {
  l_session *b = check_session(L, 1);
  size_t len = 0;
  const char *op = luaL_optlstring(L, 4, NULL, &len);
  int rc;
  SESSION_OPEN(L, b);
  rc = lode_session_goaway(b->s, (uint32_t)luaL_optinteger(L, 2, 0), (int32_t)luaL_optinteger(L, 3, -1),
                           (const uint8_t *)op, len);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* box:terminate(code): GOAWAY(code) as the session's last frame (lode_session_terminate). */
static int lss_terminate(lua_State *L) {
  l_session *b = check_session(L, 1);
  int rc;
  SESSION_OPEN(L, b);
  rc = lode_session_terminate(b->s, (uint32_t)luaL_optinteger(L, 2, NGHTTP2_NO_ERROR));
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int lss_shutdown(lua_State *L) {
  l_session *b = check_session(L, 1);
  if (b->s) lode_session_shutdown(b->s);
  return 0;
}

static int lss_destroy(lua_State *L) {
  l_session *b = check_session(L, 1);
  if (b->s) lode_session_destroy(b->s, (uint32_t)luaL_optinteger(L, 2, NGHTTP2_CANCEL));
  return 0;
}

static int lss_set_local_window_size(lua_State *L) {
  l_session *b = check_session(L, 1);
  int rc;
  SESSION_OPEN(L, b);
  rc = lode_session_set_local_window_size(b->s, (int32_t)luaL_checkinteger(L, 2));
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int lss_ref(lua_State *L) {
  l_session *b = check_session(L, 1);
  if (b->s) lode_session_ref(b->s, lua_toboolean(L, 2));
  return 0;
}

static int lss_state(lua_State *L) {
  l_session *b = check_session(L, 1);
  nghttp2_session *ng = b->s ? lode_session_nghttp2(b->s) : NULL;
  lua_newtable(L);
  if (ng == NULL) return 1;
  setint(L, "effectiveLocalWindowSize", nghttp2_session_get_effective_local_window_size(ng));
  setint(L, "effectiveRecvDataLength", nghttp2_session_get_effective_recv_data_length(ng));
  setint(L, "nextStreamID", nghttp2_session_get_next_stream_id(ng));
  /* The window the peer may fill, capped by the one asked for: nghttp2 cannot take back credit
     already granted, so after setLocalWindowSize() below lode's large default window it would
     keep reporting the default. */
  {
    int32_t avail = nghttp2_session_get_local_window_size(ng);
    int32_t asked = nghttp2_session_get_effective_local_window_size(ng);
    setint(L, "localWindowSize", avail < asked ? avail : asked);
  }
  setint(L, "lastProcStreamID", nghttp2_session_get_last_proc_stream_id(ng));
  setint(L, "remoteWindowSize", nghttp2_session_get_remote_window_size(ng));
  setint(L, "outboundQueueSize", (lua_Integer)nghttp2_session_get_outbound_queue_size(ng));
  setint(L, "deflateDynamicTableSize", (lua_Integer)nghttp2_session_get_hd_deflate_dynamic_table_size(ng));
  setint(L, "inflateDynamicTableSize", (lua_Integer)nghttp2_session_get_hd_inflate_dynamic_table_size(ng));
  return 1;
}

/* session:settings_table(remote) -> { headerTableSize = ..., ... } */
static int lss_settings_table(lua_State *L) {
  l_session *b = check_session(L, 1);
  nghttp2_session *ng = b->s ? lode_session_nghttp2(b->s) : NULL;
  int remote = lua_toboolean(L, 2);
  lode_session *ls = b->s;
#define get(ng, id) (remote ? nghttp2_session_get_remote_settings(ng, id) \
                            : lode_session_local_setting(ls, id))
  if (ng == NULL) { lua_pushnil(L); return 1; }
  lua_newtable(L);
  setint(L, "headerTableSize", get(ng, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE));
  lua_pushboolean(L, get(ng, NGHTTP2_SETTINGS_ENABLE_PUSH) != 0);
  lua_setfield(L, -2, "enablePush");
  setint(L, "initialWindowSize", get(ng, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE));
  setint(L, "maxFrameSize", get(ng, NGHTTP2_SETTINGS_MAX_FRAME_SIZE));
  setint(L, "maxConcurrentStreams", get(ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  setint(L, "maxHeaderListSize", get(ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE));
  setint(L, "maxHeaderSize", get(ng, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE));
  lua_pushboolean(L, get(ng, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) != 0);
  lua_setfield(L, -2, "enableConnectProtocol");
#undef get
  return 1;
}

static int push_addr(lua_State *L, struct sockaddr_storage *ss) {
  char ip[64];
  int port = 0;
  const char *family;
  if (ss->ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    uv_ip6_name(a, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    family = "IPv6";
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    family = "IPv4";
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, ip);
  lua_setfield(L, -2, "address");
  lua_pushstring(L, family);
  lua_setfield(L, -2, "family");
  setint(L, "port", port);
  return 1;
}

static int lss_address(lua_State *L) {
  l_session *b = check_session(L, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss, rc;
  SESSION_OPEN(L, b);
  rc = lode_session_sockname(b->s, &ss, &len, lua_toboolean(L, 2));
  if (rc < 0) return push_fail(L, rc);
  return push_addr(L, &ss);
}

static int lss_pending(lua_State *L) {
  l_session *b = check_session(L, 1);
  lua_pushinteger(L, b->s ? (lua_Integer)lode_session_pending_bytes(b->s) : 0);
  return 1;
}

/* box:altsvc(stream_id, origin, alt) -> true | fail */
static int lss_altsvc(lua_State *L) {
  l_session *b = check_session(L, 1);
  size_t olen, flen;
  lua_Integer id = luaL_checkinteger(L, 2);
  const char *origin = luaL_checklstring(L, 3, &olen);
  const char *field = luaL_checklstring(L, 4, &flen);
  int rc;
  if (b->s == NULL) return push_fail(L, NGHTTP2_ERR_INVALID_STATE);
  rc = lode_session_altsvc(b->s, (int32_t)id, origin, olen, field, flen);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* box:stats() -> bytesRead, bytesWritten, framesReceived, framesSent (perf_hooks entries) */
static int lss_stats(lua_State *L) {
  l_session *b = check_session(L, 1);
  lode_session_stats st = b->stats;
  if (b->s) lode_session_get_stats(b->s, &st);
  lua_pushinteger(L, (lua_Integer)st.bytes_read);
  lua_pushinteger(L, (lua_Integer)st.bytes_written);
  lua_pushinteger(L, (lua_Integer)st.frames_received);
  lua_pushinteger(L, (lua_Integer)st.frames_sent);
  return 4;
}

/* box:origin({ origin, ... }) -> true | fail */
static int lss_origin(lua_State *L) {
  l_session *b = check_session(L, 1);
  const char *ov[64];
  size_t lens[64];
  lua_Integer n, i;
  int rc;
  luaL_checktype(L, 2, LUA_TTABLE);
  n = luaL_len(L, 2);
  luaL_argcheck(L, n <= 64, 2, "at most 64 origins");
  if (b->s == NULL) return push_fail(L, NGHTTP2_ERR_INVALID_STATE);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 2, i + 1);
    ov[i] = luaL_checklstring(L, -1, &lens[i]);
    lua_pop(L, 1); /* the table keeps the string */
  }
  rc = lode_session_origin(b->s, ov, lens, (size_t)n);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int lss_h1_start(lua_State *L) {
  l_session *b = check_session(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  return lode_h2_h1_start(L, &b->s, 1, 2);
}

static int lss_tls(lua_State *L) {
  l_session *b = check_session(L, 1);
  return lode_h2_push_tls_info(L, b->s);
}

static int lss_is_open(lua_State *L) {
  l_session *b = check_session(L, 1);
  lua_pushboolean(L, b->s != NULL);
  return 1;
}

/* A user transport's output: owner:_onoutput(bytes). */
static void on_user_output(lode_session *s, const uint8_t *data, size_t len, void *ud) {
  l_session *b = ud;
  lua_State *L = b->S->L;
  (void)s;
  if (!push_box_method(L, b->ref, "_onoutput")) return;
  lua_pushlstring(L, (const char *)data, len);
  lode_pcall(b->S, L, 2, 0);
}

/* box:attach_user() -> true | fail: the transport is the owner's (_onoutput out, box:receive in). */
static int lss_attach_user(lua_State *L) {
  l_session *b = check_session(L, 1);
  int rc;
  SESSION_OPEN(L, b);
  rc = lode_session_attach_user(b->s, on_user_output, b);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* box:receive(bytes | nil): input from the owner's transport (nil: its end). */
static int lss_receive(lua_State *L) {
  l_session *b = check_session(L, 1);
  size_t len = 0;
  const char *p = luaL_optlstring(L, 2, NULL, &len);
  if (b->s) lode_session_receive(b->s, (const uint8_t *)p, len);
  return 0;
}

/* box:attach(tcp) -> true | fail: the session takes the connection of a connected lode.tcp
   handle, which the caller closes next (lode_session_attach). */
static int lss_attach(lua_State *L) {
  l_session *b = check_session(L, 1);
  lode_handle_box *tb = luaL_checkudata(L, 2, "lode.tcp");
  int rc;
  SESSION_OPEN(L, b);
  if (tb->h == NULL || tb->h->closing) return push_fail(L, UV_EBADF);
  rc = lode_session_attach(b->s, &tb->h->uv.tcp);
  if (rc < 0) return push_fail(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg session_methods[] = {
  {"setowner", lss_setowner}, {"request", lss_request}, {"settings", lss_settings},
  {"ping", lss_ping}, {"goaway", lss_goaway}, {"terminate", lss_terminate}, {"shutdown", lss_shutdown}, {"destroy", lss_destroy},
  {"set_local_window_size", lss_set_local_window_size}, {"ref", lss_ref}, {"state", lss_state},
  {"settings_table", lss_settings_table}, {"address", lss_address}, {"pending", lss_pending},
  {"is_open", lss_is_open}, {"attach", lss_attach}, {"attach_user", lss_attach_user},
  {"receive", lss_receive}, {"stats", lss_stats}, {"altsvc", lss_altsvc}, {"tls", lss_tls}, {"h1_start", lss_h1_start}, {"origin", lss_origin}, {NULL, NULL}
};

/* ---- options ---- */

static lua_Integer opt_int(lua_State *L, int t, const char *k, lua_Integer def) {
  lua_Integer v = def;
  if (lua_getfield(L, t, k) == LUA_TNUMBER) v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Reads { settings = {id, value, ...}, localWindowSize =, maxHeaderListPairs =, ... } at |t|. */
static void check_options(lua_State *L, int t, lode_session_options *o) {
  lode_session_options_init(o);
  if (!lua_istable(L, t)) return;
  if (lua_getfield(L, t, "settings") == LUA_TTABLE) {
    lua_Integer n = luaL_len(L, -1) / 2, k;
    if (n > 15) n = 15;
    o->nsettings = 0;
    for (k = 0; k < n; k++) {
      lua_rawgeti(L, -1, 2 * k + 1);
      lua_rawgeti(L, -2, 2 * k + 2);
      o->settings[o->nsettings].settings_id = (int32_t)lua_tointeger(L, -2);
      o->settings[o->nsettings].value = (uint32_t)lua_tointeger(L, -1);
      o->nsettings++;
      lua_pop(L, 2);
    }
  }
  lua_pop(L, 1);
  o->local_window_size = (int32_t)opt_int(L, t, "localWindowSize", o->local_window_size);
  o->max_header_list_size = (uint32_t)opt_int(L, t, "maxHeaderListSize", o->max_header_list_size);
  o->max_header_list_pairs = (uint32_t)opt_int(L, t, "maxHeaderListPairs", o->max_header_list_pairs);
  o->max_reserved_remote_streams =
      (uint32_t)opt_int(L, t, "maxReservedRemoteStreams", o->max_reserved_remote_streams);
  o->peer_max_concurrent_streams =
      (uint32_t)opt_int(L, t, "peerMaxConcurrentStreams", o->peer_max_concurrent_streams);
  o->max_send_header_block_length =
      (uint32_t)opt_int(L, t, "maxSendHeaderBlockLength", o->max_send_header_block_length);
  o->max_settings = (uint32_t)opt_int(L, t, "maxSettings", o->max_settings);
  o->max_deflate_dynamic_table_size =
      (uint32_t)opt_int(L, t, "maxDeflateDynamicTableSize", o->max_deflate_dynamic_table_size);
  o->padding_strategy = (int)opt_int(L, t, "paddingStrategy", 0);
  o->max_invalid_frames = (uint32_t)opt_int(L, t, "maxSessionInvalidFrames", o->max_invalid_frames);
  o->max_rejected_streams =
      (uint32_t)opt_int(L, t, "maxSessionRejectedStreams", o->max_rejected_streams);
  if (lua_getfield(L, t, "maxSessionMemory") == LUA_TNUMBER) /* MB, as Node: x 1e6 */
    o->max_session_memory = (uint64_t)(lua_tonumber(L, -1) * 1000000.0);
  lua_pop(L, 1);
}

/* core.http2_connect(owner, host, port, options) -> session box | fail */
static int l_connect(lua_State *L) {
  h2state *H = get_h2(L);
  lode_state *S = lode_get_state(L);
  const char *host = luaL_checkstring(L, 2);
  int port = (int)luaL_checkinteger(L, 3);
  lode_session_options o;
  l_session *b;
  int rc;
  check_options(L, 4, &o);
  b = new_session_box(L, S);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  if (!lua_isnoneornil(L, 5))
    rc = lode_session_connect_tls(H->e, host, port, &o, lode_h2_tls_config(L, 5),
                                  luaL_optstring(L, 6, NULL), &session_cbs, b, &b->s);
  else
    rc = lode_session_connect(H->e, host, port, &o, &session_cbs, b, &b->s);
  if (rc < 0) return push_fail(L, rc);
  pin(L, &b->ref, -1);
  return 1;
}

/* core.http2_open(owner, options) -> session box | fail: a client session whose connection
   comes later, from box:attach(tcp) (connect() with createConnection). */
static int l_open(lua_State *L) {
  h2state *H = get_h2(L);
  lode_state *S = lode_get_state(L);
  lode_session_options o;
  l_session *b;
  int rc;
  check_options(L, 2, &o);
  b = new_session_box(L, S);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  rc = lode_session_open(H->e, &o, &session_cbs, b, &b->s);
  if (rc < 0) return push_fail(L, rc);
  pin(L, &b->ref, -1);
  return 1;
}

/* ---- servers ---- */

/* Gives an accepted session its box (pushed, pinned until the core reports it closed). */
static l_session *adopt_session(lua_State *L, lode_state *S, lode_session *s) {
  l_session *b = new_session_box(L, S);
  b->s = s;
  lode_session_set_callbacks(s, &session_cbs, b);
  pin(L, &b->ref, -1);
  return b;
}

static void on_accept(lode_server *srv, lode_session *s, void *ud) {
  l_server *sv = ud;
  lode_state *S = sv->S;
  lua_State *L = S->L;
  int top = lua_gettop(L);
  (void)srv;
  adopt_session(L, S, s);
  if (push_box_method(L, sv->ref, "_onsession")) {
    lua_pushvalue(L, top + 1);
    lode_pcall(S, L, 2, 0);
  }
  lua_settop(L, top);
}

/* A TLS client chose no h2: the server's _onunknownprotocol(box, alpn) decides. */
static void on_alpn(lode_server *srv, lode_session *s, const char *alpn, void *ud) {
  l_server *sv = ud;
  lode_state *S = sv->S;
  lua_State *L = S->L;
  int top = lua_gettop(L);
  (void)srv;
  adopt_session(L, S, s);
  if (push_box_method(L, sv->ref, "_onunknownprotocol")) {
    lua_pushvalue(L, top + 1);
    if (alpn) lua_pushstring(L, alpn); else lua_pushnil(L);
    lode_pcall(S, L, 3, 0);
  } else {
    lode_session_destroy(s, NGHTTP2_NO_ERROR);
  }
  lua_settop(L, top);
}

/* A client's handshake failed: the server's _ontlsclienterror(code, message). */
static void on_tls_client_error(lode_server *srv, const char *code, const char *msg, void *ud) {
  l_server *sv = ud;
  lua_State *L = sv->S->L;
  int top = lua_gettop(L);
  (void)srv;
  if (push_box_method(L, sv->ref, "_ontlsclienterror")) {
    lua_pushstring(L, code);
    lua_pushstring(L, msg);
    lode_pcall(sv->S, L, 3, 0);
  }
  lua_settop(L, top);
}

/* SNI: the server's _onsni(servername) returns a tls context userdata (or nil: its own). */
static struct lode_tls_config *on_sni(lode_server *srv, const char *name, void *ud) {
  l_server *sv = ud;
  lua_State *L = sv->S->L;
  struct lode_tls_config *cfg = NULL;
  int top = lua_gettop(L);
  (void)srv;
  if (push_box_method(L, sv->ref, "_onsni")) {
    lua_pushstring(L, name);
    if (lode_pcall(sv->S, L, 2, 1) == 0 && !lua_isnil(L, -1)) {
      /* the context stays referenced by the session for the handshake */
      if (luaL_testudata(L, -1, "lode.tls_context")) cfg = *(struct lode_tls_config **)lua_touserdata(L, -1);
    }
  }
  lua_settop(L, top);
  return cfg;
}

static void on_server_close(lode_server *srv, void *ud) {
  l_server *sv = ud;
  lua_State *L = sv->S->L;
  int ref = sv->ref;
  (void)srv;
  if (push_box_method(L, ref, "_onclose")) lode_pcall(sv->S, L, 1, 0);
  unpin(L, &sv->ref);
}

static l_server *check_server(lua_State *L, int i) {
  return luaL_checkudata(L, i, SERVER_MT);
}

/* core.http2_listen(owner, host, port, options, backlog) -> server box | fail */
static int l_listen(lua_State *L) {
  h2state *H = get_h2(L);
  lode_state *S = lode_get_state(L);
  const char *host = luaL_checkstring(L, 2);
  int port = (int)luaL_checkinteger(L, 3);
  l_server *sv;
  int rc;
  sv = lua_newuserdatauv(L, sizeof *sv, 1);
  sv->srv = NULL;
  sv->S = S;
  sv->ref = LUA_NOREF;
  luaL_setmetatable(L, SERVER_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  check_options(L, 4, &sv->opts);
  rc = lode_server_listen(H->e, host, port, (int)luaL_optinteger(L, 5, 511), &sv->opts, on_accept,
                          on_server_close, sv, &sv->srv);
  if (rc < 0) return push_fail(L, rc);
  if (!lua_isnoneornil(L, 6)) {
    lode_server_set_tls(sv->srv, lode_h2_tls_config(L, 6), on_alpn);
    lode_server_set_sni(sv->srv, on_sni);
    lode_server_set_tls_error(sv->srv, on_tls_client_error);
  }
  pin(L, &sv->ref, -1);
  return 1;
}

static int lsv_address(lua_State *L) {
  l_server *sv = check_server(L, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss, rc;
  if (sv->srv == NULL) { lua_pushnil(L); return 1; }
  rc = lode_server_address(sv->srv, &ss, &len);
  if (rc < 0) return lode_push_uv_error(L, rc);
  return push_addr(L, &ss);
}

static int lsv_close(lua_State *L) {
  l_server *sv = check_server(L, 1);
  if (sv->srv) lode_server_close(sv->srv);
  sv->srv = NULL;
  return 0;
}

static int lsv_ref(lua_State *L) {
  l_server *sv = check_server(L, 1);
  if (sv->srv) lode_server_ref(sv->srv, lua_toboolean(L, 2));
  return 0;
}

static int lsv_set_options(lua_State *L) {
  l_server *sv = check_server(L, 1);
  check_options(L, 2, &sv->opts);
  if (sv->srv) lode_server_set_options(sv->srv, &sv->opts);
  return 0;
}

static const luaL_Reg server_methods[] = {
  {"address", lsv_address}, {"close", lsv_close}, {"ref", lsv_ref}, {"set_options", lsv_set_options},
  {NULL, NULL}
};

/* core.http2_setup{ sensitive = sentinel, headers_mt = mt, single = set } */
static int l_setup(lua_State *L) {
  h2state *H = get_h2(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "sensitive");
  H->ref_sensitive = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, 1, "headers_mt");
  H->ref_mt = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, 1, "single");
  H->ref_single = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int l_strerror(lua_State *L) {
  lua_pushstring(L, nghttp2_strerror((int)luaL_checkinteger(L, 1)));
  return 1;
}

static void register_mt(lua_State *L, const char *name, const luaL_Reg *methods) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void lode_open_http2(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"http2_listen", l_listen}, {"http2_connect", l_connect}, {"http2_open", l_open},
    {"http2_setup", l_setup},
    {"http2_strerror", l_strerror}, {NULL, NULL}
  };
  register_mt(L, SERVER_MT, server_methods);
  register_mt(L, SESSION_MT, session_methods);
  luaL_newmetatable(L, STREAM_MT);
  lua_newtable(L);
  luaL_setfuncs(L, stream_methods, 0);
  /* Also core.http2_stream_methods: the per-request path calls them without ls_index. */
  lua_pushvalue(L, -1);
  lua_setfield(L, -4, "http2_stream_methods");
  lua_pushcclosure(L, ls_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ls_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 0);
}
