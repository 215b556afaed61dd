/*
 * A host that closes its lua_State while lode still has everything open: an http2 server with a
 * request in flight from a client session of the same state, a net server and a connected
 * socket, an interval, an fs request. After lua_close the host keeps running its own loop for a
 * while (with "peer", its own raw socket keeps sending HTTP/2 frames to the server lode had), then
 * closes its handles and the loop: uv_loop_close must succeed, so lode left nothing on it.
 * The same over TLS: an h2 secure server with a request in flight, and a tls socket writing.
 * Run under AddressSanitizer by spec/embed_close_spec.lua.
 *
 *   embed_close host        the host's loop
 *   embed_close host peer   the host's loop, and a peer that keeps sending after lua_close
 *   embed_close own         a loop of lode's own
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "lode_embed.h"

/* Right before lua_close: requests in flight, and handles closed from Lua whose close callbacks
   have not run yet. */
static const char *last =
  "local fs = require 'fs'\n"
  "fs.stat('/', function() end)\n"
  "fs.readFile('/proc/self/status', function() end)\n"
  "require('lode_core').getaddrinfo('localhost', 0, function() end)\n"
  "SOCK2:destroy()\n"
  "local t = setTimeout(function() end, 1000); clearTimeout(t)\n";

static const char *script =
  "local http2 = require 'http2'\n"
  "local net = require 'net'\n"
  "local fs = require 'fs'\n"
  "STATE = 'starting'\n"
  "local server = http2.createServer()\n"
  "server:on('stream', function(stream)\n"
  "  stream:respond({ [':status'] = 200 })\n"
  "  stream:write('partial')\n" /* the response never ends */
  "  STATE = 'ready'\n"
  "end)\n"
  "server:listen(0, '127.0.0.1', function()\n"
  "  PORT = server:address().port\n"
  "  local client = http2.connect('http://127.0.0.1:' .. PORT)\n"
  "  client:on('error', function() end)\n"
  "  local req = client:request({ [':path'] = '/' })\n"
  "  req:on('data', function() end)\n"
  "  req:on('error', function() end)\n"
  "  req:write('a request body that never ends')\n"
  "end)\n"
  "local tcp = net.createServer(function(sock) sock:on('data', function() end) end)\n"
  "tcp:listen(0, '127.0.0.1', function()\n"
  "  local sock = net.connect(tcp:address().port, '127.0.0.1')\n"
  "  SOCK2 = net.connect(tcp:address().port, '127.0.0.1')\n"
  "  SOCK2:on('error', function() end)\n"
  "  sock:on('error', function() end)\n"
  "  sock:write(string.rep('x', 1 << 20))\n" /* more than the kernel takes at once */
  "end)\n"
  "local tls = require 'tls'\n"
  "local KEY = fs.readFileSync(FIXTURES .. '/localhost-key.pem', 'utf8')\n"
  "local CERT = fs.readFileSync(FIXTURES .. '/localhost.pem', 'utf8')\n"
  "local CA = fs.readFileSync(FIXTURES .. '/ca.pem', 'utf8')\n"
  "local secure = http2.createSecureServer({ key = KEY, cert = CERT })\n"
  "secure:on('stream', function(stream)\n"
  "  stream:respond({ [':status'] = 200 })\n"
  "  stream:write('partial')\n"
  "  TLS_H2 = true\n"
  "end)\n"
  "secure:listen(0, '127.0.0.1', function()\n"
  "  local c = http2.connect('https://localhost:' .. secure:address().port, { ca = CA })\n"
  "  c:on('error', function() end)\n"
  "  local r = c:request({ [':path'] = '/' })\n"
  "  r:on('data', function() end)\n"
  "  r:on('error', function() end)\n"
  "end)\n"
  "local ts = tls.createServer({ key = KEY, cert = CERT }, function(sock)\n"
  "  sock:on('data', function() end)\n"
  "  sock:on('error', function() end)\n"
  "end)\n"
  "ts:listen(0, '127.0.0.1', function()\n"
  "  local c\n"
  "  c = tls.connect({ port = ts:address().port, host = 'localhost', ca = CA }, function()\n"
  "    c:write(string.rep('y', 1 << 20))\n"
  "    TLS_NET = true\n"
  "  end)\n"
  "  c:on('error', function() end)\n"
  "end)\n"
  "setInterval(function() end, 5)\n"
  "fs.stat('/', function() end)\n"
  "fs.readFile('/proc/self/status', function() end)\n";

/* The peer the host keeps after lua_close: the client preface, then a PING every few ms. */
static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";
static const char ping[] = "\x00\x00\x08\x06\x00\x00\x00\x00\x00" "abcdefgh";

static uv_tcp_t peer;
static uv_connect_t peer_connect;
static uv_timer_t peer_timer, stop_timer;
static int peer_connected, peer_sent, peer_closed;
static int run_done;

static void on_peer_write(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static void peer_send(const char *p, size_t n) {
  uv_write_t *w = malloc(sizeof *w);
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
  if (uv_write(w, (uv_stream_t *)&peer, &b, 1, on_peer_write) != 0) free(w);
  else peer_sent++;
}

static void on_peer_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  static char space[65536];
  (void)h;
  (void)hint;
  *buf = uv_buf_init(space, sizeof space);
}

static void on_peer_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  if (n < 0) uv_read_stop(s);
}

static void on_peer_connected(uv_connect_t *c, int status) {
  (void)c;
  if (status != 0) return;
  peer_connected = 1;
  uv_read_start((uv_stream_t *)&peer, on_peer_alloc, on_peer_read);
  peer_send(preface, sizeof preface - 1);
}

static void on_peer_timer(uv_timer_t *t) {
  (void)t;
  if (peer_connected && !peer_closed) peer_send(ping, sizeof ping - 1);
}

static void on_stop(uv_timer_t *t) {
  (void)t;
  run_done = 1;
}

int main(int argc, char **argv) {
  uv_loop_t host_loop;
  int own = argc > 1 && strcmp(argv[1], "own") == 0;
  int with_peer = argc > 2 && strcmp(argv[2], "peer") == 0;
  lua_State *L;
  int frames = 0, port = 0, rc;
  uv_loop_init(&host_loop);
  L = luaL_newstate();
  luaL_openlibs(L);
  if (lode_embed_open(L, own ? NULL : &host_loop) != 0) return 2;
  lua_pushstring(L, getenv("LODE_FIXTURES") ? getenv("LODE_FIXTURES") : "spec/fixtures");
  lua_setglobal(L, "FIXTURES");
  if (luaL_dostring(L, script) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 3;
  }
  for (; frames < 5000; frames++) {
    const char *st;
    lode_embed_step(L);
    lua_getglobal(L, "STATE");
    st = lua_tostring(L, -1);
    rc = st != NULL && strcmp(st, "ready") == 0;
    lua_getglobal(L, "TLS_H2");
    lua_getglobal(L, "TLS_NET");
    rc = rc && lua_toboolean(L, -1) && lua_toboolean(L, -2);
    lua_pop(L, 3);
    if (rc) break;
    uv_sleep(1);
  }
  if (frames == 5000) {
    fprintf(stderr, "the request never arrived\n");
    return 4;
  }
  lua_getglobal(L, "PORT");
  port = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  /* A few more turns: the client's body and the server's partial response are on the wire. */
  for (rc = 0; rc < 20; rc++) {
    lode_embed_step(L);
    uv_sleep(1);
  }
  if (with_peer) {
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", port, &sa);
    uv_tcp_init(&host_loop, &peer);
    uv_tcp_connect(&peer_connect, &peer, (struct sockaddr *)&sa, on_peer_connected);
    /* The connection is accepted by lode before lua_close. */
    for (rc = 0; rc < 200 && !peer_connected; rc++) {
      uv_run(&host_loop, UV_RUN_NOWAIT);
      uv_sleep(1);
    }
    for (rc = 0; rc < 20; rc++) {
      lode_embed_step(L);
      uv_sleep(1);
    }
  }
  if (luaL_dostring(L, last) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 3;
  }
  lua_close(L);
  printf("closed\n");
  fflush(stdout);

  /* The host goes on with its own loop. */
  uv_timer_init(&host_loop, &stop_timer);
  uv_timer_start(&stop_timer, on_stop, 300, 0);
  if (with_peer) {
    uv_timer_init(&host_loop, &peer_timer);
    uv_timer_start(&peer_timer, on_peer_timer, 2, 2);
  }
  while (!run_done) uv_run(&host_loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&stop_timer, NULL);
  if (with_peer) {
    peer_closed = 1;
    uv_close((uv_handle_t *)&peer_timer, NULL);
    uv_close((uv_handle_t *)&peer, NULL);
  }
  /* Only what lode left behind could keep the loop alive now. */
  for (rc = 0; rc < 2000 && uv_run(&host_loop, UV_RUN_NOWAIT); rc++) uv_sleep(1);
  rc = uv_loop_close(&host_loop);
  printf("peer sent: %d\n", peer_sent);
  printf("uv_loop_close: %s\n", rc == 0 ? "ok" : uv_err_name(rc));
  if (rc != 0) uv_print_all_handles(&host_loop, stderr);
  return rc == 0 ? 0 : 5;
}
