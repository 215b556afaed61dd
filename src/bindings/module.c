/*
 * luaopen_lode_core: the per-state context, the loop, protected calls into Lua, nextTick and
 * setImmediate plumbing, and process facts that come from libuv.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"

#ifndef LODE_VERSION
#define LODE_VERSION "0.0.0"
#endif

/* ---- the per-state context ---- */

static void free_on_closed(uv_handle_t *h) { free(h); }

/*
 * lua_close: nothing of lode may run or be touched after it. Every handle still open is closed
 * and every handle and request in flight detached from this state (their callbacks only free,
 * later); the http2 engine did the same for its sessions in its own __gc, which runs before this
 * one (this state is the first object lode marks for finalization). A loop of lode's own is run
 * until those callbacks are done and closed; a host's loop is never run here (the host may be
 * inside one of its callbacks): it finishes the closes at its next turn.
 */
static int state_gc(lua_State *L) {
  lode_state *S = lua_touserdata(L, 1);
  uv_loop_t *loop = S->loop;
  (void)L;
  if (loop == NULL) return 0;
  S->loop = NULL;
  lode_handles_detach(S);
  if (S->check) uv_close((uv_handle_t *)S->check, free_on_closed);
  if (S->idle) uv_close((uv_handle_t *)S->idle, free_on_closed);
  S->check = NULL;
  S->idle = NULL;
  if (S->owns_loop) {
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
  }
  free(S->scratch);
  S->scratch = NULL;
  return 0;
}

void *lode_scratch(lua_State *L, lode_state *S, size_t size) {
  if (size > S->scratch_size) {
    size_t cap = S->scratch_size ? S->scratch_size : 1024;
    void *p;
    while (cap < size) cap *= 2;
    p = realloc(S->scratch, cap);
    if (p == NULL) luaL_error(L, "not enough memory");
    S->scratch = p;
    S->scratch_size = cap;
  }
  return S->scratch;
}

static void on_check(uv_check_t *c);

lode_state *lode_state_create(lua_State *L, uv_loop_t *loop) {
  lode_state *S = lua_newuserdatauv(L, sizeof *S, 0);
  memset(S, 0, sizeof *S);
  S->ref_fatal = S->ref_tick = S->ref_immediate = LUA_NOREF;
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  S->L = lua_tothread(L, -1);
  lua_pop(L, 1);
  if (loop == NULL) {
    int rc = uv_loop_init(&S->own_loop);
    if (rc != 0) luaL_error(L, "uv_loop_init: %s", uv_strerror(rc));
    S->loop = &S->own_loop;
    S->owns_loop = 1;
  } else {
    S->loop = loop;
  }
  S->check = malloc(sizeof *S->check);
  S->idle = malloc(sizeof *S->idle);
  if (S->check == NULL || S->idle == NULL) {
    free(S->check);
    free(S->idle);
    S->check = NULL;
    S->idle = NULL;
    if (S->owns_loop) uv_loop_close(S->loop);
    S->loop = NULL;
    luaL_error(L, "not enough memory");
  }
  uv_check_init(S->loop, S->check);
  S->check->data = S;
  uv_idle_init(S->loop, S->idle);
  S->idle->data = S;
  uv_unref((uv_handle_t *)S->check);
  uv_check_start(S->check, on_check);
  lua_newtable(L);
  lua_pushcfunction(L, state_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, LODE_STATE_KEY);
  return S;
}

lode_state *lode_get_state(lua_State *L) {
  lode_state *S;
  lua_getfield(L, LUA_REGISTRYINDEX, LODE_STATE_KEY);
  S = lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (S == NULL) S = lode_state_create(L, NULL);
  return S;
}

/* ---- protected calls ---- */

/* Keeps the error value as it is (Node passes the thrown object unchanged) and returns the
   traceback beside it, so handlers see the error and the program can still print where it was. */
static int msgh(lua_State *L) {
  luaL_traceback(L, L, NULL, 1);
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "stack");
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_setfield(L, 1, "stack");
    } else {
      lua_pop(L, 1);
    }
  }
  /* Two results cannot pass through a message handler: stash the traceback. */
  lua_setfield(L, LUA_REGISTRYINDEX, "lode.traceback");
  lua_settop(L, 1);
  return 1;
}

void lode_report_error(lode_state *S, lua_State *L) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_fatal);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, "lode.traceback");
    fprintf(stderr, "Uncaught %s\n%s\n", luaL_tolstring(L, -2, NULL), lua_tostring(L, -2));
    exit(1);
  }
  lua_insert(L, -2);
  lua_getfield(L, LUA_REGISTRYINDEX, "lode.traceback");
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "Uncaught error in the error handler: %s\n", luaL_tolstring(L, -1, NULL));
    exit(7); /* Node's exit code for a failing exception handler */
  }
}

static int pcall_raw(lode_state *S, lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  int rc;
  lua_pushcfunction(L, msgh);
  lua_insert(L, base);
  rc = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  if (rc != LUA_OK) {
    lode_report_error(S, L);
    if (nres > 0) {
      int i;
      for (i = 0; i < nres; i++) lua_pushnil(L);
    }
  }
  return rc;
}

void lode_run_ticks(lode_state *S) {
  lua_State *L = S->L;
  if (S->in_tick || !S->tick_pending) return;
  S->in_tick = 1;
  while (S->tick_pending) {
    S->tick_pending = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_tick);
    if (!lua_isfunction(L, -1)) { lua_pop(L, 1); break; }
    /* A callback that fails leaves the rest of the queue: drain again (an empty queue returns
       at once). */
    if (pcall_raw(S, L, 0, 0) != LUA_OK) S->tick_pending = 1;
  }
  S->in_tick = 0;
}

int lode_pcall(lode_state *S, lua_State *L, int nargs, int nres) {
  int rc = pcall_raw(S, L, nargs, nres);
  if (S->tick_pending && !S->in_tick) lode_run_ticks(S);
  return rc;
}

/* Finds |method| on the table at |idx| and its class chain with raw reads only: outside a
   protected call no Lua code (an __index function, a getter) may run, since nothing would catch
   its error. lode classes keep methods in class tables linked by __index tables, so this finds
   them all. Pushes the value found (or nil). */
/* Pushes the raw __index field of the table at |i|; returns its type. */
static int raw_index_field(lua_State *L, int i) {
  lua_pushliteral(L, "__index");
  return lua_rawget(L, i);
}

void lode_raw_lookup(lua_State *L, int idx, const char *method) {
  int depth, key, cur;
  idx = lua_absindex(L, idx);
  lua_pushstring(L, method); /* hashed once, not at each level */
  key = lua_gettop(L);
  lua_pushvalue(L, idx);
  cur = key + 1;
  for (depth = 0; depth < 32 && lua_istable(L, cur); depth++) {
    lua_pushvalue(L, key);
    if (lua_rawget(L, cur) != LUA_TNIL) {
      lua_replace(L, key);
      lua_settop(L, key);
      return;
    }
    lua_pop(L, 1);
    if (!lua_getmetatable(L, cur)) break;
    lua_replace(L, cur);
    /* Follow __index when it is a table; a function __index (a class with getters) means the
       metatable is itself the class that holds the methods. */
    if (raw_index_field(L, cur) == LUA_TTABLE) {
      lua_replace(L, cur);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_settop(L, key - 1);
  lua_pushnil(L);
}

int lode_push_method(lua_State *L, int ref, const char *method) {
  if (ref == LUA_NOREF || ref == LUA_REFNIL) return 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  lode_raw_lookup(L, -1, method);
  if (!lua_isfunction(L, -1)) {
    lua_pop(L, 2);
    return 0;
  }
  lua_insert(L, -2);
  return 1;
}

int lode_push_uv_error(lua_State *L, int err) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s: %s", uv_err_name(err), uv_strerror(err));
  lua_pushstring(L, uv_err_name(err));
  return 3;
}

/* ---- setImmediate: one check handle runs the whole queue in Lua ---- */

static void on_check(uv_check_t *c) {
  lode_state *S = c->data;
  lua_State *L = S->L;
  if (S->ref_immediate == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, S->ref_immediate);
  lode_pcall(S, L, 0, 0);
}

static void on_idle(uv_idle_t *i) { (void)i; }

/* core.immediate_pending(n): n immediates wait that keep the loop alive; 0 stops the idle. */
static int l_immediate_pending(lua_State *L) {
  lode_state *S = lode_get_state(L);
  int n = (int)luaL_checkinteger(L, 1);
  S->immediate_refs = n;
  if (S->check == NULL) return 0;
  if (n > 0) {
    uv_ref((uv_handle_t *)S->check);
    if (!uv_is_active((uv_handle_t *)S->idle)) uv_idle_start(S->idle, on_idle);
  } else {
    uv_unref((uv_handle_t *)S->check);
    uv_idle_stop(S->idle);
  }
  return 0;
}

/* ---- the loop ---- */

static int l_run(lua_State *L) {
  static const char *const modes[] = {"default", "once", "nowait", NULL};
  static const uv_run_mode uvmodes[] = {UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT};
  lode_state *S = lode_get_state(L);
  int m = luaL_checkoption(L, 1, "default", modes);
  int alive;
  if (S->running) return luaL_error(L, "the event loop is already running");
  lode_run_ticks(S);
  S->running = 1;
  alive = uv_run(S->loop, uvmodes[m]);
  S->running = 0;
  lua_pushboolean(L, alive);
  return 1;
}

static int l_stop(lua_State *L) {
  uv_stop(lode_get_state(L)->loop);
  return 0;
}

static int l_alive(lua_State *L) {
  lua_pushboolean(L, uv_loop_alive(lode_get_state(L)->loop));
  return 1;
}

static int set_ref(lua_State *L, int *slot, const char *field) {
  lua_getfield(L, 1, field);
  if (lua_isfunction(L, -1)) {
    luaL_unref(L, LUA_REGISTRYINDEX, *slot);
    *slot = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_pop(L, 1);
  }
  return 0;
}

/* core.set_handlers{ fatal = f, tick = f, immediate = f } */
static int l_set_handlers(lua_State *L) {
  lode_state *S = lode_get_state(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  set_ref(L, &S->ref_fatal, "fatal");
  set_ref(L, &S->ref_tick, "tick");
  set_ref(L, &S->ref_immediate, "immediate");
  return 0;
}

static int l_tick_pending(lua_State *L) {
  lode_get_state(L)->tick_pending = 1;
  return 0;
}

/* core.pcall(f, ...): a call as the loop would make it (errors reported, ticks drained). */
static int l_pcall(lua_State *L) {
  lode_state *S = lode_get_state(L);
  int rc = lode_pcall(S, L, lua_gettop(L) - 1, 0);
  lua_pushboolean(L, rc == LUA_OK);
  return 1;
}

static int l_hrtime(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_hrtime());
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)uv_now(lode_get_state(L)->loop));
  return 1;
}

static int l_update_time(lua_State *L) {
  uv_update_time(lode_get_state(L)->loop);
  return 0;
}

static int l_exepath(lua_State *L) {
  char buf[4096];
  size_t n = sizeof buf;
  if (uv_exepath(buf, &n) != 0) return 0;
  lua_pushlstring(L, buf, n);
  return 1;
}

static int l_cwd(lua_State *L) {
  char buf[4096];
  size_t n = sizeof buf;
  int rc = uv_cwd(buf, &n);
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushlstring(L, buf, n);
  return 1;
}

static int l_chdir(lua_State *L) {
  int rc = uv_chdir(luaL_checkstring(L, 1));
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_rss(lua_State *L) {
  size_t rss = 0;
  uv_resident_set_memory(&rss);
  lua_pushinteger(L, (lua_Integer)rss);
  return 1;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, uv_os_getpid());
  return 1;
}

static int l_environ(lua_State *L) {
  uv_env_item_t *items;
  int n, i, rc = uv_os_environ(&items, &n);
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_createtable(L, 0, n);
  for (i = 0; i < n; i++) {
    lua_pushstring(L, items[i].value);
    lua_setfield(L, -2, items[i].name);
  }
  uv_os_free_environ(items, n);
  return 1;
}

static int l_setenv(lua_State *L) {
  const char *k = luaL_checkstring(L, 1);
  int rc = lua_isnil(L, 2) ? uv_os_unsetenv(k) : uv_os_setenv(k, luaL_checkstring(L, 2));
  if (rc != 0) return lode_push_uv_error(L, rc);
  return 0;
}

static int l_hostname(lua_State *L) {
  char buf[256];
  size_t n = sizeof buf;
  if (uv_os_gethostname(buf, &n) != 0) return 0;
  lua_pushlstring(L, buf, n);
  return 1;
}

/* core.err_name(errno) -> "ENOENT", message */
static int l_err_name(lua_State *L) {
  int e = (int)luaL_checkinteger(L, 1);
  lua_pushstring(L, uv_err_name(e));
  lua_pushstring(L, uv_strerror(e));
  return 2;
}

/* core.write_stderr(s) / write_stdout(s): unbuffered, synchronous, as console needs. */
static int write_fd(lua_State *L, FILE *f) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  fwrite(s, 1, n, f);
  fflush(f);
  return 0;
}
static int l_write_stdout(lua_State *L) { return write_fd(L, stdout); }
static int l_write_stderr(lua_State *L) { return write_fd(L, stderr); }

/* core.guess_handle(fd) -> "tty", "pipe", "file", "tcp", "udp" or "unknown" */
static int l_guess_handle(lua_State *L) {
  switch (uv_guess_handle((uv_file)luaL_checkinteger(L, 1))) {
    case UV_TTY: lua_pushliteral(L, "tty"); break;
    case UV_NAMED_PIPE: lua_pushliteral(L, "pipe"); break;
    case UV_FILE: lua_pushliteral(L, "file"); break;
    case UV_TCP: lua_pushliteral(L, "tcp"); break;
    case UV_UDP: lua_pushliteral(L, "udp"); break;
    default: lua_pushliteral(L, "unknown"); break;
  }
  return 1;
}

static int l_exit(lua_State *L) {
  int code = (int)luaL_optinteger(L, 1, 0);
  fflush(stdout);
  fflush(stderr);
  exit(code);
  return 0;
}

static const luaL_Reg core_funcs[] = {
  {"run", l_run},
  {"stop", l_stop},
  {"alive", l_alive},
  {"set_handlers", l_set_handlers},
  {"tick_pending", l_tick_pending},
  {"immediate_pending", l_immediate_pending},
  {"pcall", l_pcall},
  {"hrtime", l_hrtime},
  {"now", l_now},
  {"update_time", l_update_time},
  {"exepath", l_exepath},
  {"cwd", l_cwd},
  {"chdir", l_chdir},
  {"rss", l_rss},
  {"getpid", l_getpid},
  {"environ", l_environ},
  {"setenv", l_setenv},
  {"hostname", l_hostname},
  {"err_name", l_err_name},
  {"write_stdout", l_write_stdout},
  {"write_stderr", l_write_stderr},
  {"guess_handle", l_guess_handle},
  {"exit", l_exit},
  {NULL, NULL}
};

LUALIB_API int luaopen_lode_core(lua_State *L) {
  lode_state *S = lode_get_state(L);
  struct sigaction sa;
  (void)S;
  /* A peer that closes its end must not kill the process through a write: errors come back as
     EPIPE instead, as in node. A host that set its own SIGPIPE handler keeps it. */
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  luaL_newlib(L, core_funcs);
  lua_pushstring(L, LODE_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, uv_version_string());
  lua_setfield(L, -2, "uv_version");
  lode_open_timer(L);
  lode_open_tcp(L);
  lode_open_spawn(L);
  lode_open_stdio(L);
  lode_open_fs(L);
  lode_open_http2(L);
  lode_open_tls(L);
  return 1;
}

