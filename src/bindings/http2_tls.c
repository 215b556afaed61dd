/*
 * The TLS side of core.http2_* sessions (h2 over TLS, src/core/session.c + lode_tls.h): what the
 * binding in http2.c asks about a session's conn.
 */
#include <stdlib.h>
#include <string.h>

#include "lode.h"
#include "lode_core.h"
#include "http2_tls.h"

#ifdef LODE_HAVE_TLS
#include "lode_tls.h"

#define CTX_MT "lode.tls_context"

struct lode_tls_config *lode_h2_tls_config(lua_State *L, int i) {
  /* the userdata of src/bindings/tls.c starts with its lode_tls_config pointer */
  lode_tls_config **u;
  if (lua_isnoneornil(L, i)) return NULL;
  u = luaL_checkudata(L, i, CTX_MT);
  luaL_argcheck(L, *u != NULL, i, "context is freed");
  return *u;
}

void lode_h2_tls_error(lode_session *s, const char **code, const char **msg) {
  lode_tls_conn *c = s ? lode_session_tls(s) : NULL;
  int mbed = 0;
  *code = "ERR_SSL_PROTOCOL_ERROR";
  *msg = "TLS failure";
  if (c) {
    const char *m = NULL;
    const char *k = lode_tls_conn_error(c, &m, &mbed);
    if (k) { *code = k; *msg = m ? m : k; }
  }
}

static void setstr(lua_State *L, const char *k, const char *v) {
  if (v == NULL) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* session:tls() -> { alpn, version, cipher, standardName, servername, verifyError,
   verifyMessage, reused, keylog, cert (leaf DER) } or nil (h2c) */
int lode_h2_push_tls_info(lua_State *L, lode_session *s) {
  lode_tls_conn *c = s ? lode_session_tls(s) : NULL;
  const char *std = NULL, *vmsg = NULL, *v;
  const unsigned char *der;
  size_t len;
  char *line;
  luaL_Buffer kb;
  if (c == NULL) { lua_pushnil(L); return 1; }
  lua_createtable(L, 0, 10);
  setstr(L, "alpn", lode_tls_conn_alpn(c));
  setstr(L, "version", lode_tls_conn_version(c));
  setstr(L, "cipher", lode_tls_conn_cipher(c, &std));
  setstr(L, "standardName", std);
  setstr(L, "servername", lode_tls_conn_servername(c));
  v = lode_tls_conn_verify_error(c, &vmsg);
  setstr(L, "verifyError", v);
  setstr(L, "verifyMessage", vmsg);
  lua_pushboolean(L, lode_tls_conn_session_reused(c));
  lua_setfield(L, -2, "reused");
  if (lode_tls_conn_peer_cert(c, 0, &der, &len) == 0) {
    lua_pushlstring(L, (const char *)der, len);
    lua_setfield(L, -2, "cert");
  }
  luaL_buffinit(L, &kb);
  while ((line = lode_tls_conn_take_keylog(c)) != NULL) {
    luaL_addstring(&kb, line);
    free(line);
  }
  luaL_pushresult(&kb);
  lua_setfield(L, -2, "keylog");
  return 1;
}

/* ---- the HTTP/1.1 fallback: a raw-mode session feeding llhttp (src/core/h1.c) ---- */

#include "lode_h1.h"

#define H1_MT "lode.H1Conn"

typedef struct l_h1 {
  lode_session **sp; /* the session box's pointer (the box is user value 1: it stays valid) */
  lode_h1 *p;
  lode_state *S;
  int ref;           /* pins the userdata while the session may report bytes */
} l_h1;

/* Pushes owner[method] and owner (user value 2 of the pinned userdata); 0 when absent. */
static int h1_method(lua_State *L, l_h1 *h, const char *method) {
  if (h->ref == LUA_NOREF) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, h->ref);
  if (lua_getiuservalue(L, -1, 2) != LUA_TTABLE) { lua_pop(L, 2); return 0; }
  lua_remove(L, -2);
  if (lua_getfield(L, -1, method) != LUA_TFUNCTION) { lua_pop(L, 2); return 0; }
  lua_insert(L, -2);
  return 1;
}

static void h1_on_raw(lode_session *s, const uint8_t *data, size_t len, void *ud) {
  l_h1 *h = ud;
  lua_State *L = h->S->L;
  const lode_h1_event *ev;
  const char *code = NULL, *reason = NULL;
  int top = lua_gettop(L), failed;
  (void)s;
  if (h->p == NULL) return;
  failed = lode_h1_execute(h->p, (const char *)data, len, &code, &reason) < 0;
  while (h->p && (ev = lode_h1_next(h->p)) != NULL) {
    if (ev->type == LODE_H1_REQUEST) {
      size_t i;
      if (!h1_method(L, h, "_onh1request")) continue;
      lua_pushstring(L, ev->method);
      lua_pushlstring(L, ev->url, ev->url_len);
      lua_createtable(L, (int)ev->nheaders * 2, 0);
      for (i = 0; i < ev->nheaders; i++) {
        lua_pushlstring(L, ev->names[i], ev->name_lens[i]);
        lua_rawseti(L, -2, (lua_Integer)(2 * i + 1));
        lua_pushlstring(L, ev->values[i], ev->value_lens[i]);
        lua_rawseti(L, -2, (lua_Integer)(2 * i + 2));
      }
      lua_pushboolean(L, ev->keep_alive);
      lua_pushinteger(L, ev->http_major);
      lua_pushinteger(L, ev->http_minor);
      lode_pcall(h->S, L, 7, 0);
    } else if (ev->type == LODE_H1_BODY) {
      if (!h1_method(L, h, "_onh1body")) continue;
      lua_pushlstring(L, ev->data, ev->len);
      lode_pcall(h->S, L, 2, 0);
    } else {
      if (!h1_method(L, h, "_onh1end")) continue;
      lode_pcall(h->S, L, 1, 0);
    }
  }
  if (failed && h1_method(L, h, "_onh1error")) {
    lua_pushstring(L, code);
    lua_pushstring(L, reason);
    lode_pcall(h->S, L, 3, 0);
  }
  lua_settop(L, top);
}

static l_h1 *check_h1(lua_State *L) { return luaL_checkudata(L, 1, H1_MT); }

/* h1:write(data[, end]) -> true | nil, err */
static int lh1_write(lua_State *L) {
  l_h1 *h = check_h1(L);
  size_t len = 0;
  const char *data = luaL_optlstring(L, 2, "", &len);
  int rc;
  if (*h->sp == NULL) { lua_pushnil(L); lua_pushstring(L, "EPIPE"); return 2; }
  rc = lode_session_raw_write(*h->sp, (const uint8_t *)data, len, lua_toboolean(L, 3));
  if (rc < 0) { lua_pushnil(L); lua_pushstring(L, uv_err_name(rc)); return 2; }
  lua_pushboolean(L, 1);
  return 1;
}

static int lh1_pending(lua_State *L) {
  l_h1 *h = check_h1(L);
  lua_pushinteger(L, *h->sp ? (lua_Integer)lode_session_raw_pending(*h->sp) : 0);
  return 1;
}

/* h1:close(): the session is closed (or being destroyed): no more events. */
static int lh1_close(lua_State *L) {
  l_h1 *h = check_h1(L);
  if (*h->sp) lode_session_set_raw(*h->sp, NULL, NULL);
  if (h->ref != LUA_NOREF) { luaL_unref(L, LUA_REGISTRYINDEX, h->ref); h->ref = LUA_NOREF; }
  lode_h1_free(h->p);
  h->p = NULL;
  return 0;
}

static int lh1_gc(lua_State *L) {
  l_h1 *h = check_h1(L);
  lode_h1_free(h->p);
  h->p = NULL;
  return 0;
}

int lode_h2_h1_start(lua_State *L, lode_session **sp, int box, int owner) {
  l_h1 *h;
  box = lua_absindex(L, box);
  owner = lua_absindex(L, owner);
  if (*sp == NULL) return luaL_error(L, "session is closed");
  if (luaL_newmetatable(L, H1_MT)) {
    static const luaL_Reg m[] = {
      {"write", lh1_write}, {"pending", lh1_pending}, {"close", lh1_close}, {NULL, NULL}
    };
    lua_newtable(L);
    luaL_setfuncs(L, m, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, lh1_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  h = lua_newuserdatauv(L, sizeof *h, 2);
  h->sp = sp;
  h->S = lode_get_state(L);
  h->ref = LUA_NOREF;
  h->p = lode_h1_new();
  luaL_setmetatable(L, H1_MT);
  if (h->p == NULL) return luaL_error(L, "not enough memory");
  lua_pushvalue(L, box);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, owner);
  lua_setiuservalue(L, -2, 2);
  lua_pushvalue(L, -1);
  h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lode_session_set_raw(*sp, h1_on_raw, h);
  return 1;
}

#else

int lode_h2_h1_start(lua_State *L, lode_session **sp, int box, int owner) {
  (void)sp; (void)box; (void)owner;
  return luaL_error(L, "this build has no TLS");
}

struct lode_tls_config *lode_h2_tls_config(lua_State *L, int i) {
  if (!lua_isnoneornil(L, i)) luaL_error(L, "this build has no TLS");
  return NULL;
}

void lode_h2_tls_error(lode_session *s, const char **code, const char **msg) {
  (void)s;
  *code = "ERR_SSL_PROTOCOL_ERROR";
  *msg = "TLS failure";
}

int lode_h2_push_tls_info(lua_State *L, lode_session *s) {
  (void)s;
  lua_pushnil(L);
  return 1;
}

#endif
