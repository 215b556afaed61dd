/*
 * The bindings' shared internals: the per-lua_State context, protected calls from C into Lua,
 * and the generic libuv handle box that every handle type (timer, tcp, session transport) uses.
 *
 * No global state: everything hangs off a lode_state, one per lua_State, kept in the registry.
 */
#ifndef LODE_BINDINGS_H
#define LODE_BINDINGS_H

#include <lua.h>
#include <lauxlib.h>
#include <uv.h>

#define LODE_STATE_KEY "lode.state"

typedef struct lode_state {
  uv_loop_t *loop;
  uv_loop_t own_loop;   /* the loop, when lode created it (not an embedding host) */
  int owns_loop;
  lua_State *L;         /* the main thread: every callback runs on it */
  int ref_fatal;        /* Lua function(err, traceback): uncaught errors */
  int ref_tick;         /* Lua function(): drains process.nextTick's queue */
  int tick_pending;     /* set from Lua when the nextTick queue becomes non-empty */
  int in_tick;
  int ref_immediate;    /* Lua function(): runs the setImmediate queue */
  uv_check_t *check;    /* runs immediates after poll, as Node's check phase */
  uv_idle_t *idle;      /* keeps poll from blocking while immediates wait */
  int immediate_refs;   /* immediates that keep the loop alive */
  int running;
  void *scratch;        /* lode_scratch(): transient arrays for C calls that copy them */
  size_t scratch_size;
  /* Everything of lode the loop may still call back after lua_close, so that the state's __gc
     can detach it: the handles (closed then, freed in close callbacks that touch no Lua) and the
     requests in flight (their callbacks find their state gone and only free). The check and
     idle handles are malloc'd for the same reason: the loop may outlive this struct. */
  struct lode_handle *handles;
  struct lode_req_link *reqs;
} lode_state;

/*
 * A request in flight (fs, getaddrinfo) that holds |*slot|, its pointer to the state: tracked
 * while in flight; when the state goes first, *slot becomes NULL and the callback must only free.
 */
typedef struct lode_req_link {
  struct lode_req_link *prev, *next;
  lode_state **slot;
} lode_req_link;
void lode_req_track(lode_state *S, lode_req_link *l, lode_state **slot);
/* Unlinks |l| (nothing when its state is already gone). */
void lode_req_untrack(lode_req_link *l);

/* Creates the context of |L| on |loop| (NULL: a loop of its own) and stores it in the registry. */
lode_state *lode_state_create(lua_State *L, uv_loop_t *loop);

/* Returns the context of |L|'s Lua universe, creating it on a loop of its own if needed. */
lode_state *lode_get_state(lua_State *L);

/*
 * Calls the function below |nargs| arguments on |L|'s stack, protected. An error goes to the
 * fatal handler (process 'uncaughtException', or the end of the program) and the call leaves
 * |nres| nils. After a call from the loop, the nextTick queue is drained, as Node does after each
 * callback. Returns the lua_pcall status.
 */
int lode_pcall(lode_state *S, lua_State *L, int nargs, int nres);

/*
 * Pushes owner[|method|] and owner for the object pinned at |ref|; returns 0 (pushing nothing)
 * when the method is absent, so callers skip events nobody handles.
 */
int lode_push_method(lua_State *L, int ref, const char *method);

/*
 * A buffer of at least |size| bytes, valid until the next call, for arrays handed to a C
 * function that copies them before returning (nghttp2's header lists). Raises on no memory.
 */
void *lode_scratch(lua_State *L, lode_state *S, size_t size);

/* Pushes |method| as found on the table at |idx| or up its class chain, with raw reads only
   (no __index function runs: callers may be outside a protected call). Pushes nil if absent. */
void lode_raw_lookup(lua_State *L, int idx, const char *method);

/* Reports the error at the top of the stack (popped) as an uncaught one. */
void lode_report_error(lode_state *S, lua_State *L);

/* Runs the nextTick queue now if it is non-empty. */
void lode_run_ticks(lode_state *S);

/* Pushes a libuv error as the Lua fail triple: nil, "NAME: message", "NAME". Returns 3. */
int lode_push_uv_error(lua_State *L, int err);

/* ---- libuv handles owned by Lua objects ---- */

typedef union {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_timer_t timer;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
  uv_tty_t tty;
  uv_signal_t signal;
  uv_process_t process;
} lode_uv_any;

/*
 * A handle lives in malloc'd memory (libuv needs it until close_cb, whatever Lua's GC does) and
 * is reached from Lua through a box userdata whose first user value is the owner object.
 * While active, the handle pins its owner with a registry reference (|ref|), so a server or
 * socket nobody references keeps running; only close drops the pin.
 */
typedef struct lode_handle {
  lode_uv_any uv;        /* first: a uv_handle_t* is a lode_handle* */
  lode_state *S;
  int ref;               /* registry ref to the owner while pinned, else LUA_NOREF */
  int closing;
  void (*on_close)(struct lode_handle *h); /* extra cleanup before free, may be NULL */
  void *data;            /* per-type extension (e.g. read buffers) */
  struct lode_handle *prev, *next; /* in S->handles; S is NULL once the state is gone */
} lode_handle;

typedef struct { lode_handle *h; } lode_handle_box;

/* Creates a box of metatable |mt| whose owner is the value at |owner_idx|; allocates |h|. */
lode_handle *lode_handle_new(lua_State *L, const char *mt, int owner_idx);
/* Checks argument |i| is an open handle box of |mt|. */
lode_handle *lode_handle_check(lua_State *L, int i, const char *mt);
/* Pins the owner (idempotent); unpin drops it. */
void lode_handle_pin(lua_State *L, lode_handle *h, int box_idx);
void lode_handle_unpin(lua_State *L, lode_handle *h);
/* Frees |h| when libuv never initialized it (the caller detaches its box first). */
void lode_handle_discard(lode_handle *h);
/* At lua_close: closes every handle of |S| still open and detaches all of them (and the tracked
   requests) from |S|; their callbacks run later, if ever, without Lua. */
void lode_handles_detach(lode_state *S);
/* Registers the methods every handle has (close, ref, unref, hasRef) plus |extra| on |mt|. */
void lode_handle_register(lua_State *L, const char *mt, const luaL_Reg *extra);

/* ---- uv_stream_t handles (stream.c): tcp sockets, pipes, stdio, TLS over tcp ---- */

/* Pushes an event's arguments; runs inside a protected call, so it may allocate. Returns nargs. */
typedef int (*lode_push_fn)(lua_State *L, void *ud);
/* Calls the owner's |method| with what |push| pushes, protected (missing methods are skipped). */
void lode_emit(lode_handle *h, const char *method, lode_push_fn push, void *ud);
/* A lode_push_fn for a libuv error code: pushes its name and message. */
int lode_push_err_name(lua_State *L, void *ud);
lode_handle *lode_stream_check(lua_State *L, int i);
void lode_stream_init(lode_handle *h);
/* Registers |mt| with the stream methods (read_start, write, shutdown, ...) plus |extra|. */
void lode_stream_register(lua_State *L, const char *mt, const luaL_Reg *extra);

/* Per-type openers (one file each), each adding its functions to the table on top. */
void lode_open_timer(lua_State *L);
void lode_open_tcp(lua_State *L);
void lode_open_spawn(lua_State *L);
void lode_open_stdio(lua_State *L);
void lode_open_fs(lua_State *L);
void lode_open_http2(lua_State *L);
void lode_open_tls(lua_State *L);

LUALIB_API int luaopen_lode_core(lua_State *L);

#endif
