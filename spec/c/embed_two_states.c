/*
 * A host that embeds lode twice in one process: each lua_State gets its own loop bookkeeping,
 * and the host drives both a step at a time from its own frame loop, as a game would.
 * Prints what each state's timers did; spec/embed_spec.lua checks the output.
 */
#include <stdio.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "lode_embed.h"

static lua_State *open_state(uv_loop_t *loop, const char *name) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (lode_embed_open(L, loop) != 0) return NULL;
  lua_pushstring(L, name);
  lua_setglobal(L, "NAME");
  if (luaL_dostring(L,
        "local timers = require 'timers'\n"
        "local n = 0\n"
        "local t; t = timers.setInterval(function()\n"
        "  n = n + 1\n"
        "  if n == 3 then timers.clearInterval(t); print(NAME .. ' done') end\n"
        "end, 5)\n") != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return NULL;
  }
  return L;
}

int main(void) {
  uv_loop_t host_loop;
  lua_State *a, *b;
  int frames = 0;
  uv_loop_init(&host_loop);
  a = open_state(NULL, "own-loop");     /* a loop of lode's own */
  b = open_state(&host_loop, "host-loop"); /* the host's loop */
  if (a == NULL || b == NULL) return 2;
  if (lode_embed_loop(a) == lode_embed_loop(b)) return 3;
  if (lode_embed_backend_fd(a) < 0) return 4;
  while (frames < 1000) {
    int alive_a = lode_embed_step(a);
    int alive_b = lode_embed_step(b);
    if (!alive_a && !alive_b) break;
    uv_sleep(1);
    frames++;
  }
  lua_close(a);
  lua_close(b);
  /* lua_close closed lode's handles on the host's loop; the host's next turn frees them. */
  uv_run(&host_loop, UV_RUN_NOWAIT);
  printf("uv_loop_close: %s\n", uv_loop_close(&host_loop) == 0 ? "ok" : "busy");
  printf("frames<1000: %s\n", frames < 1000 ? "yes" : "no");
  return 0;
}
