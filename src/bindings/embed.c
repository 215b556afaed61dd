/*
 * The C entry point for hosts that embed lode (lode_embed.h): opens the runtime into a lua_State
 * on the host's loop, with every Lua module preloaded from the copies compiled into the binary.
 */
#include "lode.h"
#include "lode_embed.h"

/* ---- embedding ---- */

int lode_embed_open(lua_State *L, uv_loop_t *loop) {
  lua_getfield(L, LUA_REGISTRYINDEX, LODE_STATE_KEY);
  if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return -1; /* already opened on some loop */
  }
  lua_pop(L, 1);
  lode_state_create(L, loop);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_lode_core);
  lua_setfield(L, -2, "lode_core");
  lua_pop(L, 1);
  lode_embed_preload(L);
  /* Node's module names, the globals, and the loop's handlers, as the executable has them. */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lode.runtime");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return -2;
  }
  lua_getfield(L, -1, "embed");
  lua_remove(L, -2);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    return -2;
  }
  return 0;
}

uv_loop_t *lode_embed_loop(lua_State *L) {
  return lode_get_state(L)->loop;
}

int lode_embed_step(lua_State *L) {
  lode_state *S = lode_get_state(L);
  lode_run_ticks(S);
  return uv_run(S->loop, UV_RUN_NOWAIT);
}

int lode_embed_backend_fd(lua_State *L) {
  return uv_backend_fd(lode_get_state(L)->loop);
}

int lode_embed_backend_timeout(lua_State *L) {
  return uv_backend_timeout(lode_get_state(L)->loop);
}
