/*
 * The lode executable: a Lua 5.4 state with the runtime opened on a loop of its own. Everything
 * a user sees (scripts, -e, the REPL, exit codes) is decided by lua/lode/runtime.lua.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "alloc.h"
#include "lode_embed.h"

/* Sanitized and unoptimized (debug, valgrind) builds keep malloc for every block, so that a use
   after free of a Lua object is still caught. */
#if defined(__SANITIZE_ADDRESS__) || !defined(__OPTIMIZE__)
#define LODE_POOL_ALLOC 0
#else
#define LODE_POOL_ALLOC 1
#endif

/* Reachable until exit (lode exits without lua_close, as node does): LeakSanitizer must find the
   state from a root, not from a register main no longer holds. */
static lode_alloc *pool;
static lua_State *main_state;

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fprintf(stderr, "lode: PANIC: unprotected error in call to Lua API (%s)\n", msg ? msg : "?");
  return 0;
}

/* warn(): off until "@on", as in the lua executable without -W. */
static void warnf(void *ud, const char *msg, int tocont) {
  static int on = 0, cont = 0;
  (void)ud;
  if (!cont && msg[0] == '@') {
    if (strcmp(msg, "@on") == 0) on = 1;
    else if (strcmp(msg, "@off") == 0) on = 0;
    return;
  }
  if (on) {
    if (!cont) fputs("Lua warning: ", stderr);
    fputs(msg, stderr);
    if (!tocont) fputs("\n", stderr);
  }
  cont = tocont;
}

static lua_State *new_state(void) {
  lua_State *L;
  if (!LODE_POOL_ALLOC) return luaL_newstate();
  pool = lode_alloc_new();
  if (pool == NULL) return NULL;
  L = lua_newstate(lode_alloc_fn, pool);
  if (L != NULL) {
    lua_atpanic(L, panic);
    lua_setwarnf(L, warnf, NULL);
  }
  return L;
}

static int traceback(lua_State *L) {
  luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L;
  int i, status, code = 1;

  /* As Node does: a peer that closes early must give EPIPE on write, not kill the process. */
  signal(SIGPIPE, SIG_IGN);
  /* As node does: a parent (a non-interactive shell's `cmd &`) may have left SIGINT or SIGTERM
     ignored, and Ctrl-C must still stop a server. */
  {
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR2};
    size_t k;
    for (k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
  }
  argv = uv_setup_args(argc, argv);
  L = main_state = new_state();
  if (L == NULL) {
    fprintf(stderr, "lode: cannot create a Lua state\n");
    return 1;
  }
  luaL_openlibs(L);
  lode_embed_open(L, NULL);

  lua_pushcfunction(L, traceback);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lode.runtime");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "main");
  lua_remove(L, -2);
  for (i = 0; i < argc; i++) lua_pushstring(L, argv[i]);
  status = lua_pcall(L, argc, 1, 1);
  if (status != LUA_OK) {
    fprintf(stderr, "lode: %s\n", lua_tostring(L, -1));
  } else {
    code = (int)lua_tointeger(L, -1);
  }
  fflush(stdout);
  /* Like node, exit without tearing the heap down: handlers may still be registered. */
  exit(code);
}
