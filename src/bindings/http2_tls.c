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

#else

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
