/*
 * Embedding lode in a host program (a game engine, a tool).
 *
 *   lua_State *L = luaL_newstate();
 *   luaL_openlibs(L);
 *   lode_embed_open(L, host_loop);      // or NULL: lode makes a loop of its own
 *   luaL_dostring(L, "local http2 = require 'http2' ...");
 *   // each frame:
 *   lode_embed_step(L);                  // runs ready callbacks without blocking
 *
 * A host that polls can wait on lode_embed_backend_fd() with lode_embed_backend_timeout().
 *
 * lua_close(L) ends everything lode has open (servers, sessions, sockets, timers) without calling
 * into Lua and without running the loop. On lode's own loop it also finishes and closes the loop.
 * On the host's loop, the handles are closed there and their memory goes at the loop's next turn
 * (any uv_run), after which nothing of lode is left on it: uv_loop_close() succeeds once the
 * host's own handles are closed too. Requests already in flight (a file read, a DNS lookup) end
 * in a turn after they complete.
 */
#ifndef LODE_EMBED_H
#define LODE_EMBED_H

#include <lua.h>
#include <uv.h>

/* Opens lode into |L| on |loop| (NULL for a loop of lode's own) and preloads every module under
   its Node name and as lode.NAME, and sets Node's globals (console, process, setTimeout...).
   Returns 0, -1 if |L| already has lode open, -2 if the runtime failed to load. */
int lode_embed_open(lua_State *L, uv_loop_t *loop);

/* Registers the Lua modules compiled into the binary in package.preload (done by open). */
void lode_embed_preload(lua_State *L);

uv_loop_t *lode_embed_loop(lua_State *L);

/* Runs what is ready without blocking; returns non-zero while the loop has work. */
int lode_embed_step(lua_State *L);

int lode_embed_backend_fd(lua_State *L);
int lode_embed_backend_timeout(lua_State *L);

#endif
