/*
 * lode's HTTP/2 session engine: nghttp2 (classic 1.52 API) over a libuv TCP stream.
 *
 * No Lua here. The engine owns every C object (servers, sessions, streams, queued output) and
 * reports to its user (the Lua binding) through |lode_session_callbacks|. Rules the engine keeps:
 *
 * - It never calls nghttp2_session_mem_send/mem_recv or any nghttp2_submit_* from inside an
 *   nghttp2 callback: nghttp2 callbacks only record events, which are delivered to the user after
 *   mem_recv/mem_send has returned. (One exception, as in Node: refusing a new stream in
 *   on_begin_headers submits its RST_STREAM there, so that it precedes nghttp2's own.)
 * - It never frees a session or a stream from inside a user callback: lode_session_destroy() only
 *   starts the close; memory goes in libuv's close callback, after every stream's on_stream_close
 *   and the session's on_close have been delivered.
 * - Output is gathered per session (frames copied out of nghttp2, DATA payloads by pointer) and
 *   written with ONE uv_try_write/uv_write per session per loop turn, from a uv_prepare_t.
 *
 * Every public function returns 0 (or a non-negative value where stated) or a negative error:
 * an nghttp2 error code (NGHTTP2_ERR_*, all < -500) or a libuv one (UV_E*, > -500). When a
 * function that takes a callback returns an error, the callback is never called.
 */
#ifndef LODE_CORE_H
#define LODE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <uv.h>

typedef struct lode_engine lode_engine;
typedef struct lode_server lode_server;
typedef struct lode_session lode_session;
typedef struct lode_stream lode_stream;

enum { LODE_SESSION_SERVER = 0, LODE_SESSION_CLIENT = 1 };

/* Kinds of header blocks reported by on_headers. */
enum {
  LODE_HCAT_REQUEST = 0,   /* the first block of a stream the peer opened */
  LODE_HCAT_RESPONSE = 1,  /* a final response (client) */
  LODE_HCAT_INFO = 2,      /* a 1xx response (client) */
  LODE_HCAT_TRAILERS = 3,  /* trailing headers */
  LODE_HCAT_PUSH = 4       /* the request of a PUSH_PROMISE (client), on the promised stream */
};

/* Flags of lode_stream_respond / lode_session_request. */
enum {
  LODE_END_STREAM = 0x1,      /* no body: END_STREAM on the HEADERS frame */
  LODE_WANT_TRAILERS = 0x2    /* the body ends without END_STREAM; on_want_trailers is reported */
};

/*
 * What the engine reports. Every pointer argument is only valid during the call. |ud| is the
 * user data given to the session. A stream's |stream_user| is what lode_stream_set_user() stored
 * (NULL until then). Callbacks may call any lode_* function, including lode_session_destroy(),
 * except lode_engine_free().
 */
typedef struct lode_session_callbacks {
  /* A client session's TCP connection is up (status 0) or failed (status < 0, a UV_E* code;
     on_close follows). */
  void (*on_connect)(lode_session *s, int status, void *ud);
  /* A header block arrived on |st| (category LODE_HCAT_*). |nva| holds |n| fields in wire order
     (names lower-case, validated by nghttp2; flags carry NGHTTP2_NV_FLAG_NO_INDEX for fields the
     peer sent never-indexed). |end_stream| is set when the block ended the peer's side. For
     LODE_HCAT_PUSH, |parent| is the stream the promise came on. */
  void (*on_headers)(lode_session *s, lode_stream *st, int cat, const nghttp2_nv *nva, size_t n,
                     int end_stream, lode_stream *parent, void *ud);
  /* Body bytes on |st|. Unless the stream is paused (lode_stream_pause), the engine gives the
     bytes back to the peer's window after the call. */
  void (*on_data)(lode_session *s, lode_stream *st, const uint8_t *data, size_t len, void *ud);
  /* The peer ended its side of |st| with a DATA frame. */
  void (*on_end)(lode_session *s, lode_stream *st, void *ud);
  /* The body of |st| has been handed over; call lode_stream_trailers() now or later. */
  void (*on_want_trailers)(lode_session *s, lode_stream *st, void *ud);
  /* A chunk written with lode_stream_write() is done with (sent, status 0; or dropped, status
     < 0): the user may release |cookie|'s bytes now. */
  void (*on_chunk_done)(lode_session *s, lode_stream *st, void *cookie, int status, void *ud);
  /* |st| is closed (RST_STREAM or normal end); |code| is the HTTP/2 error code. The stream is
     freed right after this returns: never use |st| again. */
  void (*on_stream_close)(lode_session *s, lode_stream *st, uint32_t code, void *ud);
  /* SETTINGS: |ack| 0 = the peer's settings arrived; 1 = the peer acknowledged ours. */
  void (*on_settings)(lode_session *s, int ack, void *ud);
  /* PING: |ack| 0 = the peer pinged us (answered already); 1 = an answer to our ping. */
  void (*on_ping)(lode_session *s, int ack, const uint8_t payload[8], void *ud);
  /* GOAWAY received. */
  void (*on_goaway)(lode_session *s, uint32_t code, int32_t last_stream_id, const uint8_t *opaque,
                    size_t opaque_len, void *ud);
  /* A frame could not be sent (type, stream id 0 for the session, nghttp2 error code). */
  void (*on_frame_error)(lode_session *s, lode_stream *st, uint8_t type, int code, void *ud);
  /* The session failed: a protocol error (nghttp2 code) or a transport error (UV_E*). The
     session is closing; on_close follows. */
  void (*on_error)(lode_session *s, int code, void *ud);
  /* Every stream has been reported closed and the socket is closed; |s| is freed after this. */
  void (*on_close)(lode_session *s, void *ud);
  /* ORIGIN frame (client): |len| bytes of origins, each followed by '\0'. */
  void (*on_origin)(lode_session *s, const char *origins, size_t len, void *ud);
  /* ALTSVC frame (client): on |stream_id| (0: the connection, with |origin|), the field value. */
  void (*on_altsvc)(lode_session *s, int32_t stream_id, const char *origin, size_t olen,
                    const char *field, size_t flen, void *ud);
} lode_session_callbacks;

/* Options of a session, filled by lode_session_options_init() with lode's defaults. */
typedef struct lode_session_options {
  nghttp2_settings_entry settings[16]; /* the first SETTINGS frame */
  size_t nsettings;
  int32_t local_window_size;      /* connection window (default 16 MiB) */
  uint32_t max_header_list_size;  /* enforced on receive: RST_STREAM ENHANCE_YOUR_CALM */
  uint32_t max_header_list_pairs; /* enforced on receive, Node's default 128 */
  uint32_t max_outstanding_pings;
  uint32_t max_reserved_remote_streams;
  uint32_t peer_max_concurrent_streams;
  uint32_t max_send_header_block_length;
  uint32_t max_settings;
  uint32_t max_deflate_dynamic_table_size;
  int padding_strategy;           /* 0 none, 1 max, 2 aligned (padding up to a multiple of 8) */
  uint32_t max_invalid_frames;    /* invalid frames received past this fail the session (Node's
                                     maxSessionInvalidFrames, default 1000) */
  uint32_t max_rejected_streams;  /* new streams refused in a row past this fail the session with
                                     NGHTTP2_ERR_CALLBACK_FAILURE (Node's maxSessionRejectedStreams,
                                     default 100) */
  uint64_t max_session_memory;    /* bytes (Node's maxSessionMemory MB x 1e6, default 1e7): over it,
                                     new streams are refused with RST_STREAM ENHANCE_YOUR_CALM */
} lode_session_options;

void lode_session_options_init(lode_session_options *o);

/* ---- the engine: one per loop ---- */

/* Creates the engine of |loop| (its uv_prepare_t is unreferenced). NULL when out of memory. */
lode_engine *lode_engine_new(uv_loop_t *loop);
/* The engine's user is gone (lua_close): every server and session still open is closed with no
   callback to the user any more, and the engine's memory goes once the last of them is freed
   (in close callbacks, on |loop|'s later turns). */
void lode_engine_free(lode_engine *e);

/* ---- servers ---- */

/*
 * Called for each accepted connection, with the new session already reading. The user sets the
 * session's callbacks with lode_session_set_callbacks() before returning (until then events are
 * held).
 */
typedef void (*lode_accept_cb)(lode_server *srv, lode_session *s, void *ud);
/* Called once the listener is closed (after lode_server_close). */
typedef void (*lode_server_close_cb)(lode_server *srv, void *ud);

/*
 * Creates a listening server on |host|:|port| (numeric address; port 0 picks one). Sessions it
 * accepts use |opts| (copied). Returns 0 and stores the server in |out|, or a UV_E* error.
 */
int lode_server_listen(lode_engine *e, const char *host, int port, int backlog,
                       const lode_session_options *opts, lode_accept_cb on_accept,
                       lode_server_close_cb on_close, void *ud, lode_server **out);
/* Stores the bound address in |ss| (a struct sockaddr_storage). */
int lode_server_address(lode_server *srv, void *ss, int *len);
/* Updates the options used by sessions accepted from now on. */
void lode_server_set_options(lode_server *srv, const lode_session_options *opts);
/* Stops accepting; on_close follows. Open sessions are not touched. */
void lode_server_close(lode_server *srv);
void lode_server_ref(lode_server *srv, int ref);

/* ---- sessions ---- */

/*
 * Starts a client session to |host|:|port| (a name is resolved). Events (on_connect first) go
 * to |cb| with |ud|. Returns 0 and the session in |out| (usable at once: requests made before
 * the connection is up are sent when it is), or a negative error.
 */
int lode_session_connect(lode_engine *e, const char *host, int port, const lode_session_options *opts,
                         const lode_session_callbacks *cb, void *ud, lode_session **out);
/*
 * Makes a client session with no transport yet (Node's connect() with createConnection): it
 * behaves as one from lode_session_connect() whose TCP connection is not up, requests included,
 * until lode_session_attach(). Destroying it before then reports on_close as usual.
 */
int lode_session_open(lode_engine *e, const lode_session_options *opts,
                      const lode_session_callbacks *cb, void *ud, lode_session **out);
/*
 * Gives a session from lode_session_open() the connection of |from|, a connected uv_tcp_t on the
 * engine's loop that stays the caller's: the session opens its own handle on a duplicate of its
 * descriptor, and the caller closes |from| afterwards (without reading from it again; bytes it
 * already read are lost to the session). The first SETTINGS and anything queued go out. No
 * on_connect is reported: the caller knows. Returns 0, UV_EINVAL when the session is connected,
 * connecting or closing, or the libuv error of uv_fileno/dup/uv_tcp_open.
 */
int lode_session_attach(lode_session *s, uv_tcp_t *from);
/*
 * The other way to give a session from lode_session_open() its transport: the user's (a TLS
 * socket or any byte stream of the embedder). Output is handed to |out| (the bytes are valid during
 * the call only; it may call any lode_* function); input comes from lode_session_receive(). The
 * session starts at once (SETTINGS first). Returns 0 or UV_EINVAL (connected or closing).
 */
typedef void (*lode_output_cb)(lode_session *s, const uint8_t *data, size_t len, void *ud);
int lode_session_attach_user(lode_session *s, lode_output_cb out, void *ud);
/* Bytes from the user's transport (|data| NULL: its end, which closes the session). Events are
   delivered before it returns. Returns 0, or UV_EINVAL when the session has no user transport. */
int lode_session_receive(lode_session *s, const uint8_t *data, size_t len);
void lode_session_set_callbacks(lode_session *s, const lode_session_callbacks *cb, void *ud);
int lode_session_type(lode_session *s);
/* The nghttp2 session, for read-only queries (settings, windows, state). */
nghttp2_session *lode_session_nghttp2(lode_session *s);
int lode_session_settings(lode_session *s, const nghttp2_settings_entry *iv, size_t n);
/* A local setting (NGHTTP2_SETTINGS_* id < LODE_SETTINGS_MAX). During on_settings(ack = 1) it is
   the value as of that ACK, as Node reads it, even when later ACKs came in the same read. */
#define LODE_SETTINGS_MAX 9
uint32_t lode_session_local_setting(lode_session *s, int id);
/* Sends PING with |payload| (8 bytes). */
int lode_session_ping(lode_session *s, const uint8_t payload[8]);
/*
 * Ends the session as Node's Http2Session::Close does: the frames already submitted are made
 * ready to go, then GOAWAY(|code|) with the last processed stream id, after which nghttp2 sends
 * nothing more (an RST_STREAM submitted from now on is dropped) and the connection closes once
 * the output is written. Returns 0, or NGHTTP2_ERR_INVALID_STATE when the session is closing.
 */
int lode_session_terminate(lode_session *s, uint32_t code);
/* Sends GOAWAY; |last_stream_id| < 0 means the last stream the peer opened. */
int lode_session_goaway(lode_session *s, uint32_t code, int32_t last_stream_id, const uint8_t *opaque,
                        size_t len);
/* Closes the socket once everything queued has been written and nothing is in flight
   (graceful end, after GOAWAY). */
void lode_session_shutdown(lode_session *s);
/* Closes now: open streams are reported closed with |code| (an HTTP/2 error code), then on_close. */
void lode_session_destroy(lode_session *s, uint32_t code);
int lode_session_set_local_window_size(lode_session *s, int32_t size);
/* Keeps the loop alive (1, the default) or not (0). */
void lode_session_ref(lode_session *s, int ref);
/* Local/remote socket addresses (struct sockaddr_storage). */
int lode_session_sockname(lode_session *s, void *ss, int *len, int peer);
/* Counters for perf_hooks' Http2Session entries: socket bytes and whole frames. */
typedef struct lode_session_stats {
  uint64_t bytes_read, bytes_written, frames_received, frames_sent;
} lode_session_stats;
void lode_session_get_stats(lode_session *s, lode_session_stats *out);
/* Bytes waiting to be written to the socket. */
size_t lode_session_pending_bytes(lode_session *s);
int lode_session_is_closing(lode_session *s);

/*
 * Opens a request (client). |flags| LODE_END_STREAM / LODE_WANT_TRAILERS. |pri| may be NULL.
 * Returns 0 and the stream in |out|; its id is known once sent (lode_stream_id()).
 */
int lode_session_request(lode_session *s, const nghttp2_nv *nva, size_t n, int flags,
                         const nghttp2_priority_spec *pri, lode_stream **out);

/* ---- streams ---- */

void lode_stream_set_user(lode_stream *st, void *user);
void *lode_stream_user(lode_stream *st);
/* The stream id (0 while a client request is not yet sent). */
int32_t lode_stream_id(lode_stream *st);
lode_session *lode_stream_session(lode_stream *st);
/* Sends the response headers (server). The body follows with write/end unless LODE_END_STREAM. */
int lode_stream_respond(lode_stream *st, const nghttp2_nv *nva, size_t n, int flags);
/*
 * Sends the response headers with a body read from |fd| (a regular file) at |offset|, |length|
 * bytes (< 0: to the end of the file), straight into DATA frames (src/core/file.c). |flags|:
 * LODE_WANT_TRAILERS. The fd stays the caller's: it must stay open until on_stream_close, and
 * lode never closes it. A read error (or a file shorter than |length|) resets the stream with
 * INTERNAL_ERROR.
 */
int lode_stream_respond_fd(lode_stream *st, const nghttp2_nv *nva, size_t n, int fd, int64_t offset,
                           int64_t length, int flags);
/* Sends a 1xx or additional HEADERS block without ending the stream. */
int lode_stream_info(lode_stream *st, const nghttp2_nv *nva, size_t n);
/*
 * Queues |len| bytes at |data| for the body. The bytes must stay valid until on_chunk_done
 * reports |cookie| (they are written to the socket by pointer).
 */
int lode_stream_write(lode_stream *st, const uint8_t *data, size_t len, void *cookie);
/* Ends the body after what is queued (END_STREAM, or on_want_trailers with LODE_WANT_TRAILERS). */
int lode_stream_end(lode_stream *st);
int lode_stream_trailers(lode_stream *st, const nghttp2_nv *nva, size_t n);
/* Sends RST_STREAM with |code|; on_stream_close follows. */
int lode_stream_rst(lode_stream *st, uint32_t code);
/* PUSH_PROMISE on |parent|; returns 0 and the promised stream in |out|. */
int lode_stream_push(lode_stream *parent, const nghttp2_nv *nva, size_t n, lode_stream **out);
int lode_stream_priority(lode_stream *st, const nghttp2_priority_spec *pri);
/* Stops (1) or resumes (0) giving received bytes back to the peer's window: backpressure. */
void lode_stream_pause(lode_stream *st, int paused);
/* Bytes queued by write and not yet sent. */
size_t lode_stream_queued(lode_stream *st);

/* ---- h2 over TLS (the conn of src/core/lode_tls.h sits between the socket and nghttp2) ---- */

struct lode_tls_config;
struct lode_tls_conn;

/* A TLS failure (on_connect's status, on_error's code): lode_tls_conn_error() on
   lode_session_tls() says which. */
#define LODE_ERR_TLS (-3000)
/* on_error's code when the peer sent more invalid frames than max_invalid_frames allows. */
#define LODE_ERR_TOO_MANY_INVALID_FRAMES (-3001)

/* A server's TLS client finished its handshake without choosing h2 (|alpn| NULL when it offered
   nothing acceptable). The session is not started: the user destroys it (or keeps it a while). */
typedef void (*lode_alpn_cb)(lode_server *srv, lode_session *s, const char *alpn, void *ud);

/* Makes |srv| speak TLS with |cfg| (referenced): a session reaches on_accept once its handshake
   is done and ALPN chose h2; others go to |on_alpn| (NULL: closed). */
void lode_server_set_tls(lode_server *srv, struct lode_tls_config *cfg, lode_alpn_cb on_alpn);
/* The client asked for |servername| (when the config holds SNI, lode_tls_config_hold_sni):
   returns the config to serve it with (it is referenced for the handshake), or NULL for the
   server's own. Called before the session is accepted. */
typedef struct lode_tls_config *(*lode_sni_cb)(lode_server *srv, const char *servername, void *ud);
void lode_server_set_sni(lode_server *srv, lode_sni_cb on_sni);
/* A client's TLS handshake failed (Node's code and text); its connection is closing. */
typedef void (*lode_tls_error_cb)(lode_server *srv, const char *code, const char *message, void *ud);
void lode_server_set_tls_error(lode_server *srv, lode_tls_error_cb cb);
/* lode_session_connect over TLS with |cfg| (SNI |servername|, may be NULL): on_connect comes
   once the handshake is done (status 0; the caller checks the peer, e.g. with
   lode_tls_conn_verify_error) or failed (LODE_ERR_TLS). */
int lode_session_connect_tls(lode_engine *e, const char *host, int port,
                             const lode_session_options *opts, struct lode_tls_config *cfg,
                             const char *servername, const lode_session_callbacks *cb, void *ud,
                             lode_session **out);
/* The session's TLS conn, or NULL (h2c). */
struct lode_tls_conn *lode_session_tls(lode_session *s);

/* Raw mode, for the HTTP/1.1 fallback of a TLS session that did not choose h2 (from
   lode_alpn_cb): decrypted bytes go to |cb| instead of nghttp2 (the pointer is valid during the
   call only); lode_session_raw_write encrypts and sends bytes (|end|: close_notify, then the
   connection closes once written). on_close is reported as for any session. */
typedef void (*lode_raw_cb)(lode_session *s, const uint8_t *data, size_t len, void *ud);
void lode_session_set_raw(lode_session *s, lode_raw_cb cb, void *ud);
int lode_session_raw_write(lode_session *s, const uint8_t *data, size_t len, int end);
/* Server: sends an ALTSVC frame (RFC 7838) on |stream_id| (0 with a non-empty |origin|); copied. */
int lode_session_altsvc(lode_session *s, int32_t stream_id, const char *origin, size_t olen,
                        const char *field, size_t flen);
/* Server: sends an ORIGIN frame (RFC 8336) with |n| origins (at most 64; copied). */
int lode_session_origin(lode_session *s, const char *const *origins, const size_t *lens, size_t n);
/* Ciphertext written and not yet taken by the kernel. */
size_t lode_session_raw_pending(lode_session *s);

#endif
