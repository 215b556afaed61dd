/*
 * core.timer(owner): a uv_timer_t; on expiry calls owner:_ontimeout(). Active timers pin their
 * owner, so a timer nobody references still fires.
 */
#include "lode.h"

#define TIMER_MT "lode.timer"

static void on_timer(uv_timer_t *t) {
  lode_handle *h = t->data;
  lode_state *S = h->S;
  lua_State *L = S->L;
  int ref = h->ref;
  if (ref == LUA_NOREF) return;
  if (!lode_push_method(L, ref, "_ontimeout")) {
    if (uv_timer_get_repeat(t) == 0) lode_handle_unpin(L, h);
    return;
  }
  if (uv_timer_get_repeat(t) == 0) {
    /* A one-shot timer is inactive now: the pin goes before the callback may restart it (the
       owner stays on the stack meanwhile). */
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    h->ref = LUA_NOREF;
  }
  lode_pcall(S, L, 1, 0);
}

static int l_timer(lua_State *L) {
  lode_handle *h;
  luaL_checkany(L, 1);
  h = lode_handle_new(L, TIMER_MT, 1);
  uv_timer_init(h->S->loop, &h->uv.timer);
  return 1;
}

/* timer:start(ms, repeat_ms) */
static int l_start(lua_State *L) {
  lode_handle *h = lode_handle_check(L, 1, TIMER_MT);
  lua_Integer ms = luaL_checkinteger(L, 2);
  lua_Integer rep = luaL_optinteger(L, 3, 0);
  if (ms < 0) ms = 0;
  if (rep < 0) rep = 0;
  lode_handle_pin(L, h, 1);
  /* The loop's clock is cached from its last turn; code running outside a callback (a script's
     main chunk, a REPL line) would otherwise get a timer that fires early. */
  uv_update_time(h->S->loop);
  uv_timer_start(&h->uv.timer, on_timer, (uint64_t)ms, (uint64_t)rep);
  return 0;
}

static int l_stop(lua_State *L) {
  lode_handle *h = lode_handle_check(L, 1, TIMER_MT);
  uv_timer_stop(&h->uv.timer);
  lode_handle_unpin(L, h);
  return 0;
}

static int l_is_active(lua_State *L) {
  lode_handle *h = lode_handle_check(L, 1, TIMER_MT);
  lua_pushboolean(L, uv_is_active(&h->uv.handle));
  return 1;
}

static const luaL_Reg timer_methods[] = {
  {"start", l_start},
  {"stop", l_stop},
  {"is_active", l_is_active},
  {NULL, NULL}
};

void lode_open_timer(lua_State *L) {
  lode_handle_register(L, TIMER_MT, timer_methods);
  lua_pushcfunction(L, l_timer);
  lua_setfield(L, -2, "timer");
}
