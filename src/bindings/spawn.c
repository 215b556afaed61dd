/*
 * Child processes: core.pipe(owner) (a uv_pipe_t with the stream methods of stream.c, for a
 * child's stdio) and core.spawn(owner, file, args, options) (a uv_process_t). The process's
 * owner gets _on_exit(exit_status, term_signal), then _onclose once closed. A running process
 * pins its owner; each pipe given to a child pins its owner until closed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lode.h"

#define PIPE_MT "lode.pipe"
#define PROCESS_MT "lode.process"

#define PROC(h) (&(h)->uv.process)

/* core.pipe(owner) -> box */
static int l_pipe(lua_State *L) {
  lode_handle *h;
  int rc;
  luaL_checkany(L, 1);
  h = lode_handle_new(L, PIPE_MT, 1);
  rc = uv_pipe_init(h->S->loop, &h->uv.pipe, 0);
  if (rc != 0) {
    lode_handle_box *box = lua_touserdata(L, -1);
    box->h = NULL;
    lode_handle_discard(h);
    return lode_push_uv_error(L, rc);
  }
  lode_stream_init(h);
  return 1;
}

/* ---- processes ---- */

typedef struct {
  int64_t status;
  int signal;
} exit_arg;

static int push_exit(lua_State *L, void *ud) {
  exit_arg *e = ud;
  lua_pushinteger(L, (lua_Integer)e->status);
  lua_pushinteger(L, e->signal);
  return 2;
}

static void on_child_exit(uv_process_t *p, int64_t exit_status, int term_signal) {
  lode_handle *h = p->data;
  exit_arg e;
  e.status = exit_status;
  e.signal = term_signal;
  lode_emit(h, "_on_exit", push_exit, &e);
}

/* Reads a sequence of strings at |idx| into a NULL-terminated array (a userdata left on the
   stack; the strings stay referenced by the table). |first| goes in front when non-NULL. */
static char **string_array(lua_State *L, int idx, const char *first, const char *what) {
  lua_Integer n = lua_istable(L, idx) ? luaL_len(L, idx) : 0, i;
  int off = first != NULL;
  char **arr = lua_newuserdatauv(L, (size_t)(n + off + 1) * sizeof *arr, 0);
  if (first) arr[0] = (char *)first;
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) != LUA_TSTRING && lua_type(L, -1) != LUA_TNUMBER) {
      luaL_error(L, "%s[%d] must be a string", what, (int)i);
    }
    arr[off + i - 1] = (char *)lua_tostring(L, -1);
    lua_pop(L, 1); /* numbers were converted in place: the table keeps the string */
  }
  arr[off + n] = NULL;
  return arr;
}

/*
 * core.spawn(owner, file, args, options) -> box, pid | nil, msg, name
 * options: cwd = string, env = { "K=V", ... } (nil: inherit), detached = bool,
 * stdio = { entry, ... } where entry is "ignore", "inherit", an fd number, or a pipe box
 * (index 1, the child's stdin, is readable by the child; the others writable).
 * args is argv without argv[0] (file is argv[0]).
 */
static int l_spawn(lua_State *L) {
  lode_state *S = lode_get_state(L);
  const char *file = luaL_checkstring(L, 2);
  uv_process_options_t opts;
  uv_stdio_container_t stdio[16];
  lode_handle *h;
  int nstdio = 0, i, rc, box_idx;
  luaL_checkany(L, 1);
  luaL_checktype(L, 4, LUA_TTABLE);
  lua_settop(L, 4);
  memset(&opts, 0, sizeof opts);
  memset(stdio, 0, sizeof stdio);
  opts.file = file;
  opts.exit_cb = on_child_exit;
  opts.args = string_array(L, 3, file, "args"); /* 5 */
  lua_getfield(L, 4, "env");                    /* 6 */
  if (lua_istable(L, 6)) {
    opts.env = string_array(L, 6, NULL, "env"); /* 7 */
  } else {
    lua_pushnil(L);
  }
  lua_getfield(L, 4, "cwd"); /* 8 */
  opts.cwd = lua_tostring(L, 8);
  lua_getfield(L, 4, "detached");
  if (lua_toboolean(L, -1)) opts.flags |= UV_PROCESS_DETACHED;
  lua_pop(L, 1);
  lua_getfield(L, 4, "stdio"); /* 9 */
  if (lua_istable(L, 9)) {
    nstdio = (int)luaL_len(L, 9);
    if (nstdio > 16) nstdio = 16;
    for (i = 0; i < nstdio; i++) {
      lua_rawgeti(L, 9, i + 1);
      if (lua_type(L, -1) == LUA_TNUMBER) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = (int)lua_tointeger(L, -1);
      } else if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        if (strcmp(s, "inherit") == 0) {
          stdio[i].flags = UV_INHERIT_FD;
          stdio[i].data.fd = i;
        } else {
          stdio[i].flags = UV_IGNORE;
        }
      } else if (luaL_testudata(L, -1, PIPE_MT)) {
        lode_handle *p = lode_handle_check(L, -1, PIPE_MT);
        stdio[i].flags = UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
        stdio[i].data.stream = &p->uv.stream;
      } else {
        stdio[i].flags = UV_IGNORE;
      }
      lua_pop(L, 1);
    }
  }
  opts.stdio = stdio;
  opts.stdio_count = nstdio;
  h = lode_handle_new(L, PROCESS_MT, 1); /* 10 */
  box_idx = lua_gettop(L);
  (void)S;
  rc = uv_spawn(h->S->loop, PROC(h), &opts);
  if (rc != 0) {
    /* The handle is initialized even so and must be closed: the box does it (no owner pin, so
       no _onclose). */
    lua_getfield(L, box_idx, "close");
    lua_pushvalue(L, box_idx);
    lua_call(L, 1, 0);
    return lode_push_uv_error(L, rc);
  }
  lode_handle_pin(L, h, box_idx);
  for (i = 0; i < nstdio; i++) {
    lua_rawgeti(L, 9, i + 1);
    if (luaL_testudata(L, -1, PIPE_MT)) {
      lode_handle_box *pb = lua_touserdata(L, -1);
      lode_handle_pin(L, pb->h, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
  lua_pushvalue(L, box_idx);
  lua_pushinteger(L, PROC(h)->pid);
  return 2;
}

/* process:kill(signum) -> true | nil, msg, name */
static int l_kill(lua_State *L) {
  lode_handle *h = lode_handle_check(L, 1, PROCESS_MT);
  int rc = uv_process_kill(PROC(h), (int)luaL_optinteger(L, 2, SIGTERM));
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_pid(lua_State *L) {
  lode_handle *h = lode_handle_check(L, 1, PROCESS_MT);
  lua_pushinteger(L, PROC(h)->pid);
  return 1;
}

/* core.kill(pid, signum) -> true | nil, msg, name */
static int l_kill_pid(lua_State *L) {
  int rc = uv_kill((int)luaL_checkinteger(L, 1), (int)luaL_optinteger(L, 2, SIGTERM));
  if (rc != 0) return lode_push_uv_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg process_methods[] = {
  {"kill", l_kill},
  {"pid", l_pid},
  {NULL, NULL}
};

static const struct {
  const char *name;
  int num;
} signals[] = {
  {"SIGHUP", SIGHUP},   {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
  {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT}, {"SIGBUS", SIGBUS},   {"SIGFPE", SIGFPE},
  {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
  {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM}, {"SIGCHLD", SIGCHLD},
  {"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN},
  {"SIGTTOU", SIGTTOU}, {"SIGWINCH", SIGWINCH},
};

void lode_open_spawn(lua_State *L) {
  size_t i;
  lode_stream_register(L, PIPE_MT, NULL);
  lode_handle_register(L, PROCESS_MT, process_methods);
  lua_pushcfunction(L, l_pipe);
  lua_setfield(L, -2, "pipe");
  lua_pushcfunction(L, l_spawn);
  lua_setfield(L, -2, "spawn");
  lua_pushcfunction(L, l_kill_pid);
  lua_setfield(L, -2, "kill");
  lua_createtable(L, 0, (int)(sizeof signals / sizeof signals[0]));
  for (i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    lua_pushinteger(L, signals[i].num);
    lua_setfield(L, -2, signals[i].name);
  }
  lua_setfield(L, -2, "signals");
}
