/*
 * core.tcp(owner): a uv_tcp_t with the stream methods of stream.c, plus bind, listen, connect,
 * socket options and addresses; core.getaddrinfo for host names.
 *
 * Events (owner methods, through lode_pcall):
 *   _on_connection(client_box)  a connection was accepted; the client box has no owner until
 *                              client:set_owner(obj) (unadopted boxes are closed by the GC)
 *   _on_connection(nil, name)   accepting failed
 *   _on_connect(err)            connect finished (err: nil or an error name)
 * and those of stream.c (_on_read, _on_error, _on_write, _on_shutdown), and _onclose.
 *
 * A listening, connecting or connected handle pins its owner until close.
 */
#include <stdlib.h>
#include <string.h>

#include "lode.h"

#define TCP_MT "lode.tcp"

static lode_handle *check_tcp(lua_State *L, int i) { return lode_handle_check(L, i, TCP_MT); }

/* Makes a closed-box-first tcp handle with the owner at |owner_idx|; returns NULL (box on the
   stack, detached) when libuv refuses. */
static lode_handle *new_tcp(lua_State *L, int owner_idx, int *err) {
  lode_handle *h = lode_handle_new(L, TCP_MT, owner_idx);
  int rc = uv_tcp_init(h->S->loop, &h->uv.tcp);
  if (rc != 0) {
    lode_handle_box *box = lua_touserdata(L, -1);
    box->h = NULL;
    lode_handle_discard(h);
    *err = rc;
    return NULL;
  }
  lode_stream_init(h);
  *err = 0;
  return h;
}

static int l_tcp(lua_State *L) {
  int err;
  luaL_checkany(L, 1);
  if (new_tcp(L, 1, &err) == NULL) return lode_push_uv_error(L, err);
  return 1;
}

/* ---- addresses ---- */

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return 0;
  memset(ss, 0, sizeof *ss);
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return 0;
  return UV_EINVAL;
}

static void push_sockaddr(lua_State *L, const struct sockaddr *sa) {
  char ip[INET6_ADDRSTRLEN + 16] = "";
  int port = 0;
  const char *family = "IPv4";
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a6, ip, sizeof ip);
    port = ntohs(a6->sin6_port);
    family = "IPv6";
  } else if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
    uv_ip4_name(a4, ip, sizeof ip);
    port = ntohs(a4->sin_port);
  }
  lua_createtable(L, 0, 3);
  lua_pushstring(L, ip);
  lua_setfield(L, -2, "address");
  lua_pushinteger(L, port);
  lua_setfield(L, -2, "port");
  lua_pushstring(L, family);
  lua_setfield(L, -2, "family");
}

static int l_getsockname(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rc = uv_tcp_getsockname(&h->uv.tcp, (struct sockaddr *)&ss, &len);
  if (rc != 0) return lode_push_uv_error(L, rc);
  push_sockaddr(L, (struct sockaddr *)&ss);
  return 1;
}

static int l_getpeername(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  int rc = uv_tcp_getpeername(&h->uv.tcp, (struct sockaddr *)&ss, &len);
  if (rc != 0) return lode_push_uv_error(L, rc);
  push_sockaddr(L, (struct sockaddr *)&ss);
  return 1;
}

/* ---- server side ---- */

/* tcp:bind(host, port[, ipv6only]) -> true | nil, msg, name. libuv may report a busy address
   only at listen. */
static int l_bind(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  const char *host = luaL_checkstring(L, 2);
  int port = (int)luaL_checkinteger(L, 3);
  unsigned flags = lua_toboolean(L, 4) ? UV_TCP_IPV6ONLY : 0;
  struct sockaddr_storage ss;
  int rc = parse_addr(host, port, &ss);
  if (rc == 0) rc = uv_tcp_bind(&h->uv.tcp, (struct sockaddr *)&ss, flags);
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* Runs inside lode_pcall: makes the client box, accepts into it, hands it to the owner. */
static int l_deliver_connection(lua_State *L) {
  lode_handle *server = lua_touserdata(L, 1);
  lode_handle *client;
  int err, rc;
  lua_settop(L, 1);
  lua_pushnil(L); /* 2: the client's owner, until set_owner */
  client = new_tcp(L, 2, &err); /* 3: the box */
  if (client == NULL) {
    /* Accept into a throwaway handle is impossible without one: report and let libuv retry. */
    rc = err;
  } else {
    rc = uv_accept(&server->uv.stream, &client->uv.stream);
  }
  if (server->ref == LUA_NOREF) return 0; /* the box, if any, goes with the GC */
  lua_rawgeti(L, LUA_REGISTRYINDEX, server->ref);
  if (lua_getfield(L, -1, "_on_connection") != LUA_TFUNCTION) return 0;
  lua_insert(L, -2);
  if (rc == 0) {
    lua_pushvalue(L, 3);
    lua_call(L, 2, 0);
  } else {
    lua_pushnil(L);
    lua_pushstring(L, uv_err_name(rc));
    lua_call(L, 3, 0);
  }
  return 0;
}

static void on_connection(uv_stream_t *s, int status) {
  lode_handle *h = s->data;
  lode_state *S = h->S;
  lua_State *L = S->L;
  if (S->loop == NULL) return;
  if (status < 0) {
    lode_emit(h, "_on_connection", NULL, NULL);
    return;
  }
  lua_pushcfunction(L, l_deliver_connection);
  lua_pushlightuserdata(L, h);
  lode_pcall(S, L, 1, 0);
}

/* tcp:listen(backlog) -> true | nil, msg, name. Pins the owner. */
static int l_listen(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  int backlog = (int)luaL_optinteger(L, 2, 511);
  int rc = uv_listen(&h->uv.stream, backlog, on_connection);
  if (rc != 0) return lode_push_uv_error(L, rc);
  lode_handle_pin(L, h, 1);
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- client side ---- */

typedef struct {
  uv_connect_t req;
  lode_handle *h;
} connect_req;

static void on_connect(uv_connect_t *req, int status) {
  connect_req *c = (connect_req *)req;
  lode_handle *h = c->h;
  free(c);
  lode_emit(h, "_on_connect", lode_push_err_name, &status);
}

/* tcp:connect(ip, port) -> true (owner:_on_connect(err) follows) | nil, msg, name. Pins. */
static int l_connect(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  const char *host = luaL_checkstring(L, 2);
  int port = (int)luaL_checkinteger(L, 3);
  struct sockaddr_storage ss;
  connect_req *c;
  int rc = parse_addr(host, port, &ss);
  if (rc != 0) return lode_push_uv_error(L, rc);
  c = malloc(sizeof *c);
  if (c == NULL) return luaL_error(L, "not enough memory");
  c->h = h;
  rc = uv_tcp_connect(&c->req, &h->uv.tcp, (struct sockaddr *)&ss, on_connect);
  if (rc != 0) {
    free(c);
    return lode_push_uv_error(L, rc);
  }
  lode_handle_pin(L, h, 1);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_nodelay(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  int rc = uv_tcp_nodelay(&h->uv.tcp, lua_toboolean(L, 2));
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* tcp:keepalive(enable, delay_ms) */
static int l_keepalive(lua_State *L) {
  lode_handle *h = check_tcp(L, 1);
  int on = lua_toboolean(L, 2);
  lua_Integer ms = luaL_optinteger(L, 3, 0);
  unsigned secs = (unsigned)(ms / 1000);
  int rc;
  if (secs < 1) secs = 1;
  rc = uv_tcp_keepalive(&h->uv.tcp, on, secs);
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

/* tcp:close_reset(): closes with an RST (Node's resetAndDestroy). Falls back to close. */
static int l_close_reset(lua_State *L) {
  lode_handle_box *box = luaL_checkudata(L, 1, TCP_MT);
  lode_handle *h = box->h;
  if (h == NULL || h->closing) return 0;
  /* Let the generic close do the bookkeeping, after arming SO_LINGER 0 for an RST. */
  {
    uv_os_fd_t fd;
    if (uv_fileno(&h->uv.handle, &fd) == 0) {
      struct linger l = {1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
  }
  lua_getfield(L, 1, "close");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 0);
  return 0;
}

/* ---- getaddrinfo ---- */

typedef struct {
  uv_getaddrinfo_t req;
  lode_state *S;       /* NULL once lua_close took the state (lode_req_track) */
  lode_req_link link;
  int cb_ref;
  int status;
  struct addrinfo *res;
} gai_req;

/* Runs inside lode_pcall: cb(nil, { {address=, family=4|6}, ... }) or cb(name). */
static int l_deliver_gai(lua_State *L) {
  gai_req *g = lua_touserdata(L, 1);
  struct addrinfo *ai;
  int i = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, g->cb_ref);
  if (g->status != 0) {
    lua_pushstring(L, uv_err_name(g->status));
    lua_call(L, 1, 0);
    return 0;
  }
  lua_pushnil(L);
  lua_newtable(L);
  for (ai = g->res; ai != NULL; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN] = "";
    int fam;
    if (ai->ai_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)ai->ai_addr, ip, sizeof ip);
      fam = 4;
    } else if (ai->ai_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)ai->ai_addr, ip, sizeof ip);
      fam = 6;
    } else {
      continue;
    }
    lua_createtable(L, 0, 2);
    lua_pushstring(L, ip);
    lua_setfield(L, -2, "address");
    lua_pushinteger(L, fam);
    lua_setfield(L, -2, "family");
    lua_rawseti(L, -2, ++i);
  }
  lua_call(L, 2, 0);
  return 0;
}

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  gai_req *g = (gai_req *)req;
  lode_state *S = g->S;
  lua_State *L;
  if (S == NULL) { /* lua_close took the state meanwhile */
    if (res) uv_freeaddrinfo(res);
    free(g);
    return;
  }
  lode_req_untrack(&g->link);
  L = S->L;
  g->status = status;
  g->res = res;
  if (S->loop != NULL) {
    lua_pushcfunction(L, l_deliver_gai);
    lua_pushlightuserdata(L, g);
    lode_pcall(S, L, 1, 0);
  }
  if (res) uv_freeaddrinfo(res);
  luaL_unref(L, LUA_REGISTRYINDEX, g->cb_ref);
  free(g);
}

/* core.getaddrinfo(host, family (0, 4 or 6), cb) -> true | nil, msg, name. */
static int l_getaddrinfo(lua_State *L) {
  lode_state *S = lode_get_state(L);
  const char *host = luaL_checkstring(L, 1);
  lua_Integer family = luaL_optinteger(L, 2, 0);
  struct addrinfo hints;
  gai_req *g;
  int rc;
  luaL_checktype(L, 3, LUA_TFUNCTION);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family == 4 ? AF_INET : family == 6 ? AF_INET6 : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  g = malloc(sizeof *g);
  if (g == NULL) return luaL_error(L, "not enough memory");
  g->S = S;
  g->res = NULL;
  lua_pushvalue(L, 3);
  g->cb_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rc = uv_getaddrinfo(S->loop, &g->req, on_gai, host, NULL, &hints);
  if (rc == 0) lode_req_track(S, &g->link, &g->S);
  if (rc != 0) {
    luaL_unref(L, LUA_REGISTRYINDEX, g->cb_ref);
    free(g);
    return lode_push_uv_error(L, rc);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg tcp_methods[] = {
  {"bind", l_bind},
  {"listen", l_listen},
  {"connect", l_connect},
  {"nodelay", l_nodelay},
  {"keepalive", l_keepalive},
  {"getsockname", l_getsockname},
  {"getpeername", l_getpeername},
  {"close_reset", l_close_reset},
  {NULL, NULL}
};

void lode_open_tcp(lua_State *L) {
  lode_stream_register(L, TCP_MT, tcp_methods);
  lua_pushcfunction(L, l_tcp);
  lua_setfield(L, -2, "tcp");
  lua_pushcfunction(L, l_getaddrinfo);
  lua_setfield(L, -2, "getaddrinfo");
}
