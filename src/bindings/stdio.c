/*
 * core.stdio(owner, fd): the process's own stdin (or any inherited fd) as a readable stream
 * handle — a uv_tty_t on a terminal, a uv_pipe_t otherwise — read through stream.c like sockets.
 * The REPL and process.stdin read with it while the loop goes on serving.
 */
#include <stdlib.h>

#include "lode.h"

#define STDIO_MT "lode.stdio"

static int l_stdio(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 2);
  lode_handle *h;
  int rc;
  luaL_checkany(L, 1);
  h = lode_handle_new(L, STDIO_MT, 1);
  if (uv_guess_handle(fd) == UV_TTY) {
    rc = uv_tty_init(h->S->loop, &h->uv.tty, fd, 1);
  } else {
    rc = uv_pipe_init(h->S->loop, &h->uv.pipe, 0);
    if (rc == 0) {
      rc = uv_pipe_open(&h->uv.pipe, fd);
      if (rc != 0) {
        /* Initialized: only a close may free it, which the box's __gc does unpinned. */
        lode_stream_init(h);
        return lode_push_uv_error(L, rc);
      }
    }
  }
  if (rc != 0) {
    /* Never initialized: libuv knows nothing of it, so it is freed here and now. */
    lode_handle_box *box = lua_touserdata(L, -1);
    box->h = NULL;
    lode_handle_discard(h);
    return lode_push_uv_error(L, rc);
  }
  lode_stream_init(h);
  return 1;
}

void lode_open_stdio(lua_State *L) {
  lode_stream_register(L, STDIO_MT, NULL);
  lua_pushcfunction(L, l_stdio);
  lua_setfield(L, -2, "stdio");
}
