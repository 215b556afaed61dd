/*
 * core.tls_context(is_server) and core.tls_conn(ctx, servername): the TLS engine of
 * src/core/tls.c for lua/lode/tls.lua, plus the glue that puts a conn on a tcp handle.
 *
 * conn:attach(tcp) takes over the handle's reading: libuv reads straight into the conn's input
 * buffer, the engine runs, and the handle's owner (the TLSSocket) gets, through lode_pcall:
 *   _on_tls_sni(servername)      server, with hold_sni: call conn:use_context(ctx) + conn:resume()
 *   _on_tls_keylog(lines)        NSS key log lines (each ends with "\n")
 *   _on_tls_secure()             the handshake is complete
 *   _on_tls_data(chunk)          decrypted bytes: one string per read batch
 *   _on_tls_end()                close_notify, or the TCP stream ended
 *   _on_tls_error(code, message) a fatal TLS error (the alert, if any, is already sent)
 *   _on_tls_flushed()            queued ciphertext reached the kernel
 *   _on_error(name, message)     a read error of the tcp handle (as stream.c reports it)
 * Encrypted output is collected by the engine and sent by conn:flush() — called once per turn
 * from Lua and at the end of each read callback — as one write.
 */
#include <stdlib.h>
#include <string.h>

#include "lode.h"

#ifdef LODE_HAVE_TLS

#include "lode_tls.h"

#define CTX_MT "lode.tls_context"
#define CONN_MT "lode.tls_conn"
#define READ_SIZE (64 * 1024)

typedef struct {
  lode_tls_config *cfg;
} l_ctx;

/* The conn and its place on a tcp handle; freed when the userdata, the handle and every
   in-flight write have let go. */
typedef struct {
  lode_tls_conn *conn;
  lode_handle *h;
  int refs;
  int reading;
  int busy, again;
  int ended;
  int failed;
  char *plain;
  size_t plain_cap;
} tls_link;

typedef struct {
  tls_link *k;
} l_conn;

typedef struct {
  uv_write_t req;
  tls_link *k;
  char *buf;
} flush_req;

static void link_unref(tls_link *k) {
  if (--k->refs > 0) return;
  lode_tls_conn_free(k->conn);
  free(k->plain);
  free(k);
}

static int push_fail(lua_State *L, const char *msg) {
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* ---- contexts ---- */

static lode_tls_config *check_ctx(lua_State *L, int i) {
  l_ctx *u = luaL_checkudata(L, i, CTX_MT);
  luaL_argcheck(L, u->cfg != NULL, i, "context is freed");
  return u->cfg;
}

static int l_tls_context(lua_State *L) {
  char err[LODE_TLS_ERRLEN];
  l_ctx *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->cfg = NULL;
  luaL_setmetatable(L, CTX_MT);
  if (lode_tls_config_new(&u->cfg, lua_toboolean(L, 1), err) != 0) return push_fail(L, err);
  return 1;
}

static int l_ctx_gc(lua_State *L) {
  l_ctx *u = luaL_checkudata(L, 1, CTX_MT);
  lode_tls_config_unref(u->cfg);
  u->cfg = NULL;
  return 0;
}

static int l_ctx_add_cert(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  size_t cl, kl;
  const char *cert = luaL_checklstring(L, 2, &cl);
  const char *key = luaL_checklstring(L, 3, &kl);
  const char *pass = luaL_optstring(L, 4, NULL);
  char err[LODE_TLS_ERRLEN];
  if (lode_tls_config_add_cert(cfg, cert, cl, key, kl, pass, err) != 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_add_ca(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  size_t len;
  const char *pem = luaL_checklstring(L, 2, &len);
  char err[LODE_TLS_ERRLEN];
  if (lode_tls_config_add_ca(cfg, pem, len, err) != 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_set_alpn(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  const char *list[16];
  size_t n = 0, i, len;
  luaL_checktype(L, 2, LUA_TTABLE);
  len = (size_t)luaL_len(L, 2);
  for (i = 1; i <= len && n < 16; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i);
    list[n++] = luaL_checkstring(L, -1); /* kept alive by the table */
    lua_pop(L, 1);
  }
  if (lode_tls_config_set_alpn(cfg, list, n) != 0) return push_fail(L, "invalid ALPN list");
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_set_ciphers(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  char err[LODE_TLS_ERRLEN];
  if (lode_tls_config_set_ciphers(cfg, luaL_checkstring(L, 2), err) != 0) return push_fail(L, err);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_set_versions(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  char err[LODE_TLS_ERRLEN];
  if (lode_tls_config_set_versions(cfg, luaL_optstring(L, 2, NULL), luaL_optstring(L, 3, NULL),
                                   err) != 0) {
    return push_fail(L, err);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_request_cert(lua_State *L) {
  lode_tls_config_request_cert(check_ctx(L, 1), lua_toboolean(L, 2));
  return 0;
}

static int l_ctx_hold_sni(lua_State *L) {
  lode_tls_config_hold_sni(check_ctx(L, 1), lua_toboolean(L, 2));
  return 0;
}

static int l_ctx_enable_tickets(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  char err[LODE_TLS_ERRLEN];
  if (lode_tls_config_enable_tickets(cfg, (uint32_t)luaL_optinteger(L, 2, 300), err) != 0) {
    return push_fail(L, err);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_ctx_keylog(lua_State *L) {
  lode_tls_config_keylog(check_ctx(L, 1), lua_toboolean(L, 2));
  return 0;
}

/* ---- connections ---- */

static tls_link *check_conn(lua_State *L, int i) {
  l_conn *u = luaL_checkudata(L, i, CONN_MT);
  luaL_argcheck(L, u->k != NULL, i, "TLS connection is freed");
  return u->k;
}

static int l_tls_conn(lua_State *L) {
  lode_tls_config *cfg = check_ctx(L, 1);
  const char *servername = luaL_optstring(L, 2, NULL);
  char err[LODE_TLS_ERRLEN];
  l_conn *u = lua_newuserdatauv(L, sizeof *u, 0);
  tls_link *k;
  u->k = NULL;
  luaL_setmetatable(L, CONN_MT);
  k = calloc(1, sizeof *k);
  if (k == NULL) return luaL_error(L, "not enough memory");
  if (lode_tls_conn_new(&k->conn, cfg, servername, err) != 0) {
    free(k);
    return push_fail(L, err);
  }
  k->refs = 1;
  u->k = k;
  return 1;
}

static int l_conn_gc(lua_State *L) {
  l_conn *u = luaL_checkudata(L, 1, CONN_MT);
  if (u->k) link_unref(u->k);
  u->k = NULL;
  return 0;
}

static int alive(tls_link *k) { return k->h != NULL && !k->h->closing; }

static int push_string(lua_State *L, void *ud) {
  lua_pushstring(L, ud);
  return 1;
}

typedef struct {
  const char *p;
  size_t len;
} lstr;

static int push_lstr(lua_State *L, void *ud) {
  lstr *s = ud;
  lua_pushlstring(L, s->p, s->len);
  return 1;
}

static int push_tls_error(lua_State *L, void *ud) {
  tls_link *k = ud;
  const char *msg = NULL;
  const char *code = lode_tls_conn_error(k->conn, &msg, NULL);
  lua_pushstring(L, code ? code : "ERR_SSL_PROTOCOL");
  lua_pushstring(L, msg ? msg : "TLS failure");
  return 2;
}

static void on_flush_write(uv_write_t *req, int status) {
  flush_req *w = (flush_req *)req;
  tls_link *k = w->k;
  free(w->buf);
  free(w);
  if (alive(k) && status == 0 && uv_stream_get_write_queue_size(&k->h->uv.stream) == 0) {
    lode_emit(k->h, "_on_tls_flushed", NULL, NULL);
  } else if (alive(k) && status < 0 && status != UV_ECANCELED) {
    int err = status;
    lstr s = {uv_err_name(err), strlen(uv_err_name(err))};
    lode_emit(k->h, "_on_tls_write_error", push_lstr, &s);
  }
  link_unref(k);
}

/* Sends the engine's output: one try_write, the rest as one queued write. Returns 1 when
   nothing is left queued, 0 when a write is in flight, or a libuv error. */
static int flush(tls_link *k) {
  size_t len;
  char *buf = lode_tls_conn_take_output(k->conn, &len);
  uv_buf_t b;
  flush_req *w;
  int rc;
  if (buf == NULL) return k->h && uv_stream_get_write_queue_size(&k->h->uv.stream) > 0 ? 0 : 1;
  if (!alive(k)) {
    free(buf);
    return 1;
  }
  b = uv_buf_init(buf, (unsigned int)len);
  if (uv_stream_get_write_queue_size(&k->h->uv.stream) == 0) {
    int r = uv_try_write(&k->h->uv.stream, &b, 1);
    if (r == (int)len) {
      free(buf);
      return 1;
    }
    if (r > 0) {
      b.base += r;
      b.len -= (size_t)r;
    } else if (r != UV_EAGAIN && r != UV_ENOSYS) {
      free(buf);
      return r;
    }
  }
  w = malloc(sizeof *w);
  if (w == NULL) {
    free(buf);
    return UV_ENOMEM;
  }
  w->k = k;
  w->buf = buf;
  rc = uv_write(&w->req, &k->h->uv.stream, &b, 1, on_flush_write);
  if (rc != 0) {
    free(buf);
    free(w);
    return rc;
  }
  k->refs++;
  return 0;
}

static void emit_keylog(tls_link *k) {
  char *lines = lode_tls_conn_take_keylog(k->conn);
  if (lines != NULL) {
    if (alive(k)) lode_emit(k->h, "_on_tls_keylog", push_string, lines);
    free(lines);
  }
}

/* Runs the engine over the input so far and tells the owner what happened. */
static void drive(tls_link *k) {
  if (k->busy) {
    k->again = 1;
    return;
  }
  k->busy = 1;
  k->refs++;
  do {
    size_t len = 0;
    int rc = 0;
    k->again = 0;
    if (!alive(k) || k->failed) break;
    if (!lode_tls_conn_handshake_done(k->conn)) {
      rc = lode_tls_conn_handshake(k->conn);
      if (rc == LODE_TLS_ERR_SNI) {
        const char *name = lode_tls_conn_servername(k->conn);
        flush(k);
        lode_emit(k->h, "_on_tls_sni", push_string, (void *)(name ? name : ""));
        continue;
      }
      if (rc == LODE_TLS_ERR_AGAIN) break;
      if (rc != 0) {
        k->failed = 1;
        flush(k);
        lode_emit(k->h, "_on_tls_error", push_tls_error, k);
        break;
      }
      flush(k);
      emit_keylog(k);
      if (!alive(k)) break;
      lode_emit(k->h, "_on_tls_secure", NULL, NULL);
      if (!alive(k)) break;
    }
    for (;;) {
      size_t n;
      if (k->plain_cap - len < 16384) {
        size_t cap = k->plain_cap ? k->plain_cap * 2 : READ_SIZE;
        char *p = realloc(k->plain, cap);
        if (p == NULL) break;
        k->plain = p;
        k->plain_cap = cap;
      }
      rc = lode_tls_conn_read(k->conn, k->plain + len, k->plain_cap - len, &n);
      if (rc != 0) break;
      len += n;
    }
    if (len > 0) {
      lstr s = {k->plain, len};
      lode_emit(k->h, "_on_tls_data", push_lstr, &s);
      if (!alive(k)) break;
    }
    if (rc == LODE_TLS_ERR_EOF && !k->ended) {
      k->ended = 1;
      lode_emit(k->h, "_on_tls_end", NULL, NULL);
    } else if (rc == LODE_TLS_ERR_PROTO) {
      k->failed = 1;
      flush(k);
      lode_emit(k->h, "_on_tls_error", push_tls_error, k);
    }
  } while (k->again);
  flush(k);
  k->busy = 0;
  link_unref(k);
}

static void on_alloc(uv_handle_t *uvh, size_t hint, uv_buf_t *buf) {
  lode_handle *h = uvh->data;
  tls_link *k = h->data;
  size_t len;
  char *p = lode_tls_conn_input_space(k->conn, READ_SIZE, &len);
  (void)hint;
  buf->base = p;
  buf->len = p ? len : 0;
}

static int push_read_error(lua_State *L, void *ud) {
  int err = *(int *)ud;
  lua_pushstring(L, uv_err_name(err));
  lua_pushstring(L, uv_strerror(err));
  return 2;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  lode_handle *h = s->data;
  tls_link *k = h->data;
  (void)buf;
  if (nread > 0) {
    lode_tls_conn_input_commit(k->conn, (size_t)nread);
    drive(k);
  } else if (nread == UV_EOF) {
    uv_read_stop(s);
    k->reading = 0;
    if (!k->ended) {
      k->ended = 1;
      k->refs++;
      lode_emit(h, "_on_tls_end", NULL, NULL);
      link_unref(k);
    }
  } else if (nread < 0) {
    int err = (int)nread;
    uv_read_stop(s);
    k->reading = 0;
    lode_emit(h, "_on_error", push_read_error, &err);
  }
}

static void link_on_close(lode_handle *h) {
  tls_link *k = h->data;
  h->data = NULL;
  if (k) {
    k->h = NULL;
    link_unref(k);
  }
}

/* conn:attach(tcp): the conn reads from and writes to the (connected) tcp handle from now on;
   a client sends its ClientHello. Returns true or nil, msg. */
static int l_conn_attach(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  lode_handle *h = lode_stream_check(L, 2);
  int rc;
  if (k->h != NULL) return luaL_error(L, "TLS connection already attached");
  uv_read_stop(&h->uv.stream);
  free(h->data); /* stream.c's read buffer, if it read before */
  h->data = k;
  h->on_close = link_on_close;
  k->h = h;
  k->refs++;
  lode_handle_pin(L, h, 2);
  rc = uv_read_start(&h->uv.stream, on_alloc, on_read);
  if (rc != 0) return lode_push_uv_error(L, rc);
  k->reading = 1;
  if (!lode_tls_conn_is_server(k->conn)) drive(k);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_conn_read_start(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  if (alive(k) && !k->reading && !k->ended) {
    if (uv_read_start(&k->h->uv.stream, on_alloc, on_read) == 0) k->reading = 1;
  }
  return 0;
}

static int l_conn_read_stop(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  if (alive(k) && k->reading) uv_read_stop(&k->h->uv.stream);
  k->reading = 0;
  return 0;
}

/* conn:write(data or {data...}) -> true | nil, msg: encrypts into the pending output. */
static int l_conn_write(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  size_t len;
  int rc = 0;
  if (lua_type(L, 2) == LUA_TTABLE) {
    lua_Integer i, n = luaL_len(L, 2);
    for (i = 1; i <= n && rc == 0; i++) {
      const char *p;
      lua_rawgeti(L, 2, i);
      p = luaL_checklstring(L, -1, &len);
      rc = lode_tls_conn_write(k->conn, p, len);
      lua_pop(L, 1);
    }
  } else {
    const char *p = luaL_checklstring(L, 2, &len);
    rc = lode_tls_conn_write(k->conn, p, len);
  }
  if (rc != 0) return push_fail(L, rc == LODE_TLS_ERR_STATE ? "TLS not established" : "TLS write failed");
  lua_pushboolean(L, 1);
  return 1;
}

/* conn:flush() -> true (nothing queued) | false (_on_tls_flushed follows) | nil, name. */
static int l_conn_flush(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  int rc = flush(k);
  if (rc < 0) {
    lua_pushnil(L);
    lua_pushstring(L, uv_err_name(rc));
    return 2;
  }
  lua_pushboolean(L, rc == 1);
  return 1;
}

static int l_conn_close_notify(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  lua_pushboolean(L, lode_tls_conn_close_notify(k->conn) == 0);
  return 1;
}

static int l_conn_use_context(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  lode_tls_conn_use_config(k->conn, lua_isnoneornil(L, 2) ? NULL : check_ctx(L, 2));
  return 0;
}

static int l_conn_resume(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  drive(k);
  return 0;
}

static int l_conn_set_session(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_pushboolean(L, lode_tls_conn_set_session(k->conn, (const unsigned char *)s, len) == 0);
  return 1;
}

static int l_conn_get_session(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  unsigned char *buf;
  size_t len;
  if (lode_tls_conn_get_session(k->conn, &buf, &len) != 0) return 0;
  lua_pushlstring(L, (const char *)buf, len);
  free(buf);
  return 1;
}

static void push_opt(lua_State *L, const char *s) {
  if (s) {
    lua_pushstring(L, s);
  } else {
    lua_pushnil(L);
  }
}

static int l_conn_alpn(lua_State *L) {
  push_opt(L, lode_tls_conn_alpn(check_conn(L, 1)->conn));
  return 1;
}

static int l_conn_version(lua_State *L) {
  push_opt(L, lode_tls_conn_version(check_conn(L, 1)->conn));
  return 1;
}

static int l_conn_cipher(lua_State *L) {
  const char *std = NULL;
  const char *name = lode_tls_conn_cipher(check_conn(L, 1)->conn, &std);
  push_opt(L, name);
  push_opt(L, std);
  return 2;
}

static int l_conn_servername(lua_State *L) {
  push_opt(L, lode_tls_conn_servername(check_conn(L, 1)->conn));
  return 1;
}

static int l_conn_reused(lua_State *L) {
  lua_pushboolean(L, lode_tls_conn_session_reused(check_conn(L, 1)->conn));
  return 1;
}

static int l_conn_verify_error(lua_State *L) {
  const char *msg = NULL;
  const char *code = lode_tls_conn_verify_error(check_conn(L, 1)->conn, &msg);
  if (code == NULL) return 0;
  lua_pushstring(L, code);
  lua_pushstring(L, msg);
  return 2;
}

static int l_conn_error(lua_State *L) {
  const char *msg = NULL;
  const char *code = lode_tls_conn_error(check_conn(L, 1)->conn, &msg, NULL);
  if (code == NULL) return 0;
  lua_pushstring(L, code);
  lua_pushstring(L, msg);
  return 2;
}

static int l_conn_peer_cert(lua_State *L) {
  tls_link *k = check_conn(L, 1);
  const unsigned char *der;
  size_t len;
  if (lode_tls_conn_peer_cert(k->conn, (int)luaL_optinteger(L, 2, 0), &der, &len) != 0) return 0;
  lua_pushlstring(L, (const char *)der, len);
  return 1;
}

static int l_conn_is_server(lua_State *L) {
  lua_pushboolean(L, lode_tls_conn_is_server(check_conn(L, 1)->conn));
  return 1;
}

/* core.tls_cert_info(der) -> table | nil */
static int l_cert_info(lua_State *L) {
  size_t len;
  const char *der = luaL_checklstring(L, 1, &len);
  lode_tls_cert_info *info = malloc(sizeof *info);
  if (info == NULL) return luaL_error(L, "not enough memory");
  if (lode_tls_cert_parse((const unsigned char *)der, len, info) != 0) {
    free(info);
    return 0;
  }
  lua_createtable(L, 0, 12);
#define FIELD(name, value) (lua_pushstring(L, value), lua_setfield(L, -2, name))
  FIELD("subject", info->subject);
  FIELD("issuer", info->issuer);
  if (info->subjectaltname[0]) FIELD("subjectaltname", info->subjectaltname);
  FIELD("valid_from", info->valid_from);
  FIELD("valid_to", info->valid_to);
  FIELD("serialNumber", info->serial);
  FIELD("fingerprint", info->fingerprint);
  FIELD("fingerprint256", info->fingerprint256);
#undef FIELD
  lua_pushinteger(L, info->bits);
  lua_setfield(L, -2, "bits");
  lua_pushboolean(L, info->ca);
  lua_setfield(L, -2, "ca");
  lua_pushboolean(L, info->self_signed);
  lua_setfield(L, -2, "self_signed");
  free(info);
  return 1;
}

static const luaL_Reg ctx_methods[] = {
  {"add_cert", l_ctx_add_cert},
  {"add_ca", l_ctx_add_ca},
  {"set_alpn", l_ctx_set_alpn},
  {"set_ciphers", l_ctx_set_ciphers},
  {"set_versions", l_ctx_set_versions},
  {"request_cert", l_ctx_request_cert},
  {"hold_sni", l_ctx_hold_sni},
  {"enable_tickets", l_ctx_enable_tickets},
  {"keylog", l_ctx_keylog},
  {NULL, NULL}
};

static const luaL_Reg conn_methods[] = {
  {"attach", l_conn_attach},
  {"read_start", l_conn_read_start},
  {"read_stop", l_conn_read_stop},
  {"write", l_conn_write},
  {"flush", l_conn_flush},
  {"close_notify", l_conn_close_notify},
  {"use_context", l_conn_use_context},
  {"resume", l_conn_resume},
  {"set_session", l_conn_set_session},
  {"get_session", l_conn_get_session},
  {"alpn", l_conn_alpn},
  {"version", l_conn_version},
  {"cipher", l_conn_cipher},
  {"servername", l_conn_servername},
  {"reused", l_conn_reused},
  {"verify_error", l_conn_verify_error},
  {"error", l_conn_error},
  {"peer_cert", l_conn_peer_cert},
  {"is_server", l_conn_is_server},
  {NULL, NULL}
};

static void new_type(lua_State *L, const char *mt, const luaL_Reg *methods, lua_CFunction gc) {
  luaL_newmetatable(L, mt);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

void lode_open_tls(lua_State *L) {
  new_type(L, CTX_MT, ctx_methods, l_ctx_gc);
  new_type(L, CONN_MT, conn_methods, l_conn_gc);
  lua_pushcfunction(L, l_tls_context);
  lua_setfield(L, -2, "tls_context");
  lua_pushcfunction(L, l_tls_conn);
  lua_setfield(L, -2, "tls_conn");
  lua_pushcfunction(L, l_cert_info);
  lua_setfield(L, -2, "tls_cert_info");
}

#else

/* A build without TLS: nothing to add; lua/lode/tls.lua raises a clear error. */
void lode_open_tls(lua_State *L) { (void)L; }

#endif
