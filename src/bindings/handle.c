/*
 * The box every libuv handle type shares: allocation, pinning the owner while active, close,
 * ref/unref, and a __gc that never frees memory libuv still uses.
 */
#include <stdlib.h>
#include <string.h>

#include "lode.h"

lode_handle *lode_handle_new(lua_State *L, const char *mt, int owner_idx) {
  lode_state *S = lode_get_state(L);
  lode_handle_box *box;
  lode_handle *h;
  owner_idx = lua_absindex(L, owner_idx);
  /* The box exists, closed, before the handle does: a failed malloc leaves nothing half-built. */
  box = lua_newuserdatauv(L, sizeof *box, 1);
  box->h = NULL;
  luaL_setmetatable(L, mt);
  lua_pushvalue(L, owner_idx);
  lua_setiuservalue(L, -2, 1);
  h = calloc(1, sizeof *h);
  if (h == NULL) luaL_error(L, "not enough memory");
  h->S = S;
  h->ref = LUA_NOREF;
  h->uv.handle.data = h;
  h->next = S->handles;
  if (S->handles) S->handles->prev = h;
  S->handles = h;
  box->h = h;
  return h;
}

static void handle_unlink(lode_handle *h) {
  if (h->S == NULL) return;
  if (h->prev) h->prev->next = h->next; else h->S->handles = h->next;
  if (h->next) h->next->prev = h->prev;
  h->prev = h->next = NULL;
}

void lode_handle_discard(lode_handle *h) {
  handle_unlink(h);
  free(h);
}

void lode_req_track(lode_state *S, lode_req_link *l, lode_state **slot) {
  l->slot = slot;
  l->prev = NULL;
  l->next = S->reqs;
  if (S->reqs) S->reqs->prev = l;
  S->reqs = l;
}

void lode_req_untrack(lode_req_link *l) {
  lode_state *S = l->slot ? *l->slot : NULL;
  if (S == NULL) return;
  if (l->prev) l->prev->next = l->next; else S->reqs = l->next;
  if (l->next) l->next->prev = l->prev;
  l->prev = l->next = NULL;
}

lode_handle *lode_handle_check(lua_State *L, int i, const char *mt) {
  lode_handle_box *box = luaL_checkudata(L, i, mt);
  if (box->h == NULL || box->h->closing) luaL_error(L, "handle is closed");
  return box->h;
}

void lode_handle_pin(lua_State *L, lode_handle *h, int box_idx) {
  if (h->ref != LUA_NOREF) return;
  lua_getiuservalue(L, box_idx, 1);
  h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void lode_handle_unpin(lua_State *L, lode_handle *h) {
  if (h->ref == LUA_NOREF) return;
  luaL_unref(L, LUA_REGISTRYINDEX, h->ref);
  h->ref = LUA_NOREF;
}

static void on_closed(uv_handle_t *uvh) {
  lode_handle *h = uvh->data;
  lode_state *S = h->S; /* NULL: the state is gone (lode_handles_detach) */
  int ref = h->ref;
  handle_unlink(h);
  if (h->on_close) h->on_close(h);
  h->ref = LUA_NOREF;
  free(h);
  if (ref != LUA_NOREF && S != NULL && S->loop != NULL) {
    /* The owner learns it is closed, then the pin goes. */
    lua_State *L = S->L;
    if (lode_push_method(L, ref, "_onclose")) lode_pcall(S, L, 1, 0);
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
  }
}

void lode_handles_detach(lode_state *S) {
  lode_handle *h;
  lode_req_link *l;
  while ((h = S->handles) != NULL) {
    handle_unlink(h);
    h->S = NULL;
    h->ref = LUA_NOREF; /* the registry goes with the state */
    if (!h->closing) {
      h->closing = 1;
      uv_close(&h->uv.handle, on_closed);
    }
  }
  while ((l = S->reqs) != NULL) {
    S->reqs = l->next;
    l->prev = l->next = NULL;
    *l->slot = NULL;
  }
}

/* Closing detaches the box at once; the memory goes in the close callback. */
static void handle_close(lua_State *L, lode_handle_box *box, int pin_until_closed) {
  lode_handle *h = box->h;
  if (h == NULL || h->closing) return;
  h->closing = 1;
  box->h = NULL;
  if (pin_until_closed) {
    lode_handle_pin(L, h, 1);
  } else {
    lode_handle_unpin(L, h);
  }
  uv_close(&h->uv.handle, on_closed);
}

static int l_close(lua_State *L) {
  lode_handle_box *box = lua_touserdata(L, 1);
  luaL_checktype(L, 1, LUA_TUSERDATA);
  handle_close(L, box, 1);
  return 0;
}

static int l_gc(lua_State *L) {
  lode_handle_box *box = lua_touserdata(L, 1);
  /* Only an unpinned (inactive) handle can be collected: close it without calling Lua. */
  if (box->h != NULL) {
    box->h->ref = LUA_NOREF;
    handle_close(L, box, 0);
  }
  return 0;
}

static lode_handle *opt_handle(lua_State *L) {
  lode_handle_box *box = lua_touserdata(L, 1);
  luaL_checktype(L, 1, LUA_TUSERDATA);
  return box->h;
}

static int l_ref(lua_State *L) {
  lode_handle *h = opt_handle(L);
  if (h) uv_ref(&h->uv.handle);
  return 0;
}

static int l_unref(lua_State *L) {
  lode_handle *h = opt_handle(L);
  if (h) uv_unref(&h->uv.handle);
  return 0;
}

static int l_has_ref(lua_State *L) {
  lode_handle *h = opt_handle(L);
  lua_pushboolean(L, h != NULL && uv_has_ref(&h->uv.handle));
  return 1;
}

static int l_is_closed(lua_State *L) {
  lua_pushboolean(L, opt_handle(L) == NULL);
  return 1;
}

static const luaL_Reg handle_methods[] = {
  {"close", l_close},
  {"ref", l_ref},
  {"unref", l_unref},
  {"has_ref", l_has_ref},
  {"is_closed", l_is_closed},
  {NULL, NULL}
};

void lode_handle_register(lua_State *L, const char *mt, const luaL_Reg *extra) {
  luaL_newmetatable(L, mt);
  lua_newtable(L);
  luaL_setfuncs(L, handle_methods, 0);
  if (extra) luaL_setfuncs(L, extra, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}
