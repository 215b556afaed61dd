/*
 * The HTTP/2 session engine: nghttp2 over a uv_tcp_t, events queued during mem_recv/mem_send
 * and delivered after, output coalesced into one write per session per loop turn.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#if defined(MAP_ANONYMOUS)
#define LODE_ZERO_PAGES 1
#endif
#endif

#include "lode_core.h"
#ifdef LODE_HAVE_TLS
#include "lode_tls.h"
#endif
#include "lode_file.h"

#define READ_BUF_SIZE (64 * 1024)
/* nghttp2 calloc's of at least a page that get pages of their own (mem_calloc), per session. */
#define ZBLOCKS 2
#define MAX_INFLIGHT_BYTES (4 * 1024 * 1024)
/* A batch this full is written at once (a file body goes out in writes of this size), and a
   batch no bigger than twice this is kept for reuse (BATCH_POOL per loop): fresh large buffers
   cost a page fault per 4 KiB, more than the copy into them. */
#define BATCH_WRITE_AT (256 * 1024)
#define BATCH_POOL 4
/* nghttp2 1.57's stream reset rate limit (its CVE-2023-44487 "rapid reset" fix, which Node 20
   has through its bundled nghttp2): a bucket of RST_STREAM frames per server session. */
#define RST_BURST 1000
#define RST_RATE 33 /* tokens per second */

/* ---- internal types ---- */

typedef struct chunk {
  struct chunk *next;
  const uint8_t *data;
  size_t len, off;
  void *cookie;
} chunk;

typedef struct hdr {
  nghttp2_rcbuf *name, *value;
  uint8_t flags;
} hdr;

struct lode_stream {
  lode_session *s;
  lode_stream *prev, *next; /* the session's list */
  int32_t id;
  void *user;
  /* outgoing body */
  chunk *head, *tail;
  size_t queued;          /* bytes not yet handed to nghttp2 */
  unsigned has_provider : 1, deferred : 1, eof : 1, want_trailers : 1, trailers_asked : 1;
  unsigned paused : 1, hdr_overflow : 1, closed : 1, rst_calm : 1, got_final : 1;
  unsigned close_pending : 1; /* closed by nghttp2, counted in s->nclose_pending until reported */
  size_t unconsumed;      /* received bytes not given back while paused */
  /* incoming header block */
  hdr *hdrs;
  size_t nhdrs, caphdrs, hdr_bytes;
  int hcat;
  lode_stream *push_parent;
  lode_file *file;        /* respondWithFile/FD body source (file.c) */
};

enum {
  EV_HEADERS, EV_DATA, EV_END, EV_WANT_TRAILERS, EV_STREAM_CLOSE, EV_SETTINGS, EV_PING,
  EV_GOAWAY, EV_FRAME_ERROR, EV_ERROR, EV_RST_CALM, EV_ORIGIN, EV_ALTSVC
};

typedef struct event {
  struct event *next;
  int type;
  lode_stream *st;
  lode_stream *parent;
  hdr *hdrs;
  size_t nhdrs;
  int cat, end_stream;
  const uint8_t *data;
  size_t len;
  uint32_t code;
  int32_t last_id;
  int ack;
  uint8_t payload[8];
  uint8_t *opaque;
  uint8_t ftype;
  int err;
} event;

/* One write: bytes copied out of nghttp2 plus pointers to body chunks. */
typedef struct iov {
  const uint8_t *ptr; /* NULL: |off| into the batch's buffer */
  size_t off, len;
} iov;

typedef struct done_chunk {
  lode_stream *st;
  void *cookie;
} done_chunk;

typedef struct batch {
  uv_write_t req;
  struct batch *next_inflight;
  lode_session *s;
  uint8_t *buf;
  size_t blen, bcap;
  iov *iovs;
  size_t niov, capiov;
  done_chunk *done;
  size_t ndone, capdone;
  size_t total;
} batch;

struct lode_session {
  uv_tcp_t tcp;
  lode_engine *e;
  nghttp2_session *ng;
  int type;
  const lode_session_callbacks *cb;
  void *ud;
  lode_session_options opts;
  lode_server *srv;
  unsigned dirty : 1, connected : 1, closing : 1, shutdown : 1, tcp_open : 1, reading : 1;
  unsigned in_flush : 1, failed : 1, too_many_invalid : 1;
  uint32_t invalid_frames;    /* invalid frames received (max_invalid_frames) */
  uint32_t rejected_streams;  /* streams refused in a row (max_rejected_streams) */
  size_t nstreams;            /* lode_stream objects alive (reported closed or not) */
  size_t nclose_pending;      /* of those, closed by nghttp2 and not yet reported */
  size_t mem_used;            /* bytes nghttp2 holds through the counting allocator */
  struct { void *p; size_t n; } zblk[ZBLOCKS]; /* mem_calloc's page blocks (ZBLOCKS) */
  size_t queued_total;        /* body bytes written and not yet handed to nghttp2 */
  const uint32_t *local_snap; /* during on_settings(ack): the local settings that ACK made */
  uint32_t rst_tokens;        /* RST_STREAM bucket (RST_BURST, RST_RATE) */
  uint64_t rst_tstamp;        /* its last refill, in seconds of loop time */
  unsigned goaway_submitted : 1;
  unsigned user_io : 1;       /* the transport is the user's (lode_session_attach_user) */
  lode_output_cb user_out;
  void *user_out_ud;
  lode_session *next_dirty;
  lode_session *e_prev, *e_next; /* the engine's sessions, alive until freed (lode_engine_free) */
  event *ev_head, *ev_tail;
  batch *cur;
  int inflight;
  size_t inflight_bytes;
  lode_stream *streams;
  uint32_t close_code;
  uv_connect_t connect_req;
  uv_getaddrinfo_t gai;
  struct addrinfo *addrs;     /* the lookup's answer while connecting; next: the address to try */
  struct addrinfo *next_addr;
  int port;
  unsigned resolving : 1;     /* the handle is not ours to close yet (lookup, or a retry's close) */
  batch *inflight_head;       /* batches written and not yet completed */
  lode_session_stats stats;   /* perf_hooks counters (lode_session_get_stats) */
  struct lode_tls_conn *tls;  /* h2 over TLS (transport_tls.c); NULL for h2c */
  unsigned tls_up : 1;        /* the handshake is done */
  unsigned hs_held : 1;       /* counted in srv->hs_pending */
  unsigned raw_ending : 1;    /* raw mode: close once the output is written */
  struct lode_tls_config *sni_cfg; /* the config on_sni chose (referenced) */
  lode_raw_cb raw_cb;         /* raw mode (HTTP/1.1 fallback): decrypted bytes go here */
  void *raw_ud;
};

struct lode_engine {
  uv_prepare_t prepare;
  uv_loop_t *loop;
  lode_session *dirty;
  /* The read buffer of every session of the loop (READ_BUF_SIZE, made at the first read): a read
     is consumed before its callback returns (mem_recv, then delivery of what it queued, whose
     data events point into it), and libuv runs one read callback at a time, so one buffer serves
     them all. One per session cost an idle connection a touched 64 KiB block. */
  uint8_t *rbuf;
  batch *pool[BATCH_POOL]; /* written batches kept for reuse, with their buffers */
  int npool;
  /* Every session and server not yet freed: lode_engine_free closes them all, and the engine
     (the read buffer, the pool) lives until the last of them and its own handle are gone. */
  lode_session *sessions;
  struct lode_server *servers;
  unsigned dead : 1, prepare_closed : 1;
};

struct lode_server {
  uv_tcp_t tcp;
  lode_engine *e;
  lode_session_options opts;
  lode_accept_cb on_accept;
  lode_server_close_cb on_close;
  void *ud;
  struct lode_tls_config *tls_cfg; /* accepts TLS when set (lode_server_set_tls) */
  lode_alpn_cb on_alpn;            /* a TLS client chose no h2 (lode_server_set_tls) */
  lode_sni_cb on_sni;              /* picks the config for a client's server name */
  lode_tls_error_cb on_tls_error;  /* a client's handshake failed */
  int hs_pending;                  /* accepted TLS sessions still in their handshake */
  unsigned dead : 1;               /* closed while handshakes were pending: freed by the last */
  struct lode_server *e_prev, *e_next; /* the engine's servers, until freed */
};

static void engine_release(lode_engine *e);

static void server_free(lode_server *srv) {
  lode_engine *e = srv->e;
  if (srv->e_prev) srv->e_prev->e_next = srv->e_next; else e->servers = srv->e_next;
  if (srv->e_next) srv->e_next->e_prev = srv->e_prev;
  free(srv);
  engine_release(e);
}

static void session_mark_dirty(lode_session *s);
static void session_deliver(lode_session *s);
static void session_start_close(lode_session *s);
static void forget_addrs(lode_session *s);
#ifdef LODE_HAVE_TLS
static void tls_begin(lode_session *s);
static void tls_on_input(lode_session *s, size_t n);
static int tls_write_batch(lode_session *s, batch *b);
static void tls_hs_release(lode_session *s);
#endif

/* ---- options ---- */

void lode_session_options_init(lode_session_options *o) {
  memset(o, 0, sizeof *o);
  o->settings[0].settings_id = NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE;
  o->settings[0].value = 8 * 1024 * 1024;
  o->nsettings = 1;
  o->local_window_size = 16 * 1024 * 1024;
  o->max_header_list_size = 65535;
  o->max_header_list_pairs = 128;
  o->max_outstanding_pings = 10;
  o->max_reserved_remote_streams = 200;
  o->peer_max_concurrent_streams = 100;
  o->max_send_header_block_length = 65536;
  o->max_settings = 32;
  o->max_deflate_dynamic_table_size = 4096;
  o->max_invalid_frames = 1000;
  o->max_rejected_streams = 100;
  o->max_session_memory = 10 * 1000000;
}

/* ---- events ---- */

static event *ev_new(lode_session *s, int type, lode_stream *st) {
  event *ev = calloc(1, sizeof *ev);
  if (ev == NULL) return NULL;
  ev->type = type;
  ev->st = st;
  if (s->ev_tail) s->ev_tail->next = ev; else s->ev_head = ev;
  s->ev_tail = ev;
  return ev;
}

static void hdrs_free(hdr *h, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    nghttp2_rcbuf_decref(h[i].name);
    nghttp2_rcbuf_decref(h[i].value);
  }
  free(h);
}

static void ev_free(event *ev) {
  if (ev->hdrs) hdrs_free(ev->hdrs, ev->nhdrs);
  free(ev->opaque);
  free(ev);
}

/* ---- streams ---- */

static lode_stream *stream_new(lode_session *s, int32_t id) {
  lode_stream *st = calloc(1, sizeof *st);
  if (st == NULL) return NULL;
  st->s = s;
  st->id = id;
  st->next = s->streams;
  if (s->streams) s->streams->prev = st;
  s->streams = st;
  s->nstreams++;
  return st;
}

/* Drops the queued body: each chunk reported done with |status|. */
static void stream_drop_chunks(lode_stream *st, int status) {
  lode_session *s = st->s;
  while (st->head) {
    chunk *c = st->head;
    st->head = c->next;
    if (s->cb && s->cb->on_chunk_done) s->cb->on_chunk_done(s, st, c->cookie, status, s->ud);
    free(c);
  }
  st->tail = NULL;
  s->queued_total -= st->queued;
  st->queued = 0;
}

/* Reports the close and frees. Called only outside nghttp2 callbacks. */
static void stream_close(lode_stream *st, uint32_t code) {
  lode_session *s = st->s;
  batch *b;
  size_t i;
  stream_drop_chunks(st, code == 0 ? 0 : UV_ECANCELED);
  /* Batches not yet written keep pointers to the user's bytes, not to the stream: they report
     their chunks done with no stream. */
  if ((b = s->cur) != NULL)
    for (i = 0; i < b->ndone; i++) if (b->done[i].st == st) b->done[i].st = NULL;
  for (b = s->inflight_head; b; b = b->next_inflight)
    for (i = 0; i < b->ndone; i++) if (b->done[i].st == st) b->done[i].st = NULL;
  if (s->cb && s->cb->on_stream_close) s->cb->on_stream_close(s, st, code, s->ud);
  if (st->prev) st->prev->next = st->next; else s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  if (st->hdrs) hdrs_free(st->hdrs, st->nhdrs);
  if (st->file) lode__file_free(st->file);
  s->nstreams--;
  if (st->close_pending) s->nclose_pending--;
  free(st);
}

/* ---- output ---- */

static batch *batch_get(lode_session *s) {
  if (s->cur == NULL) {
    lode_engine *e = s->e;
    s->cur = e->npool > 0 ? e->pool[--e->npool] : calloc(1, sizeof *s->cur);
    if (s->cur) s->cur->s = s;
  }
  return s->cur;
}

/* Appends |len| bytes to the batch's own buffer; returns where they go (NULL: no memory). */
static uint8_t *batch_reserve(batch *b, size_t len) {
  uint8_t *p;
  if (b->blen + len > b->bcap) {
    size_t cap = b->bcap ? b->bcap * 2 : 16384;
    uint8_t *nb;
    while (cap < b->blen + len) cap *= 2;
    nb = realloc(b->buf, cap);
    if (nb == NULL) return NULL;
    b->buf = nb;
    b->bcap = cap;
  }
  p = b->buf + b->blen;
  if (b->niov > 0 && b->iovs[b->niov - 1].ptr == NULL &&
      b->iovs[b->niov - 1].off + b->iovs[b->niov - 1].len == b->blen) {
    b->iovs[b->niov - 1].len += len;
  } else {
    if (b->niov == b->capiov) {
      size_t cap = b->capiov ? b->capiov * 2 : 8;
      iov *ni = realloc(b->iovs, cap * sizeof *ni);
      if (ni == NULL) return NULL;
      b->iovs = ni;
      b->capiov = cap;
    }
    b->iovs[b->niov].ptr = NULL;
    b->iovs[b->niov].off = b->blen;
    b->iovs[b->niov].len = len;
    b->niov++;
  }
  b->blen += len;
  b->total += len;
  return p;
}

static int batch_copy(batch *b, const uint8_t *data, size_t len) {
  uint8_t *p = batch_reserve(b, len);
  if (p == NULL) return -1;
  memcpy(p, data, len);
  return 0;
}

static int batch_ptr(batch *b, const uint8_t *data, size_t len) {
  if (b->niov == b->capiov) {
    size_t cap = b->capiov ? b->capiov * 2 : 8;
    iov *ni = realloc(b->iovs, cap * sizeof *ni);
    if (ni == NULL) return -1;
    b->iovs = ni;
    b->capiov = cap;
  }
  b->iovs[b->niov].ptr = data;
  b->iovs[b->niov].off = 0;
  b->iovs[b->niov].len = len;
  b->niov++;
  b->total += len;
  return 0;
}

static int batch_done(batch *b, lode_stream *st, void *cookie) {
  if (b->ndone == b->capdone) {
    size_t cap = b->capdone ? b->capdone * 2 : 8;
    done_chunk *nd = realloc(b->done, cap * sizeof *nd);
    if (nd == NULL) return -1;
    b->done = nd;
    b->capdone = cap;
  }
  b->done[b->ndone].st = st;
  b->done[b->ndone].cookie = cookie;
  b->ndone++;
  return 0;
}

static void batch_free(batch *b);

/* Reports the batch's chunks done and frees it (or keeps it in the loop's pool). */
static void batch_finish(batch *b, int status) {
  lode_session *s = b->s;
  size_t i;
  for (i = 0; i < b->ndone; i++) {
    if (s->cb && s->cb->on_chunk_done)
      s->cb->on_chunk_done(s, b->done[i].st, b->done[i].cookie, status, s->ud);
  }
  if (s->e->npool < BATCH_POOL && b->bcap <= 2 * BATCH_WRITE_AT) {
    b->blen = b->niov = b->ndone = b->total = 0;
    b->next_inflight = NULL;
    b->s = NULL;
    s->e->pool[s->e->npool++] = b;
    return;
  }
  batch_free(b);
}


static void on_write(uv_write_t *req, int status) {
  batch *b = (batch *)req;
  lode_session *s = b->s;
  batch **pp = &s->inflight_head;
  while (*pp && *pp != b) pp = &(*pp)->next_inflight;
  if (*pp) *pp = b->next_inflight;
  s->inflight--;
  s->inflight_bytes -= b->total;
  batch_finish(b, status);
  if (status < 0 && !s->closing) {
    if (s->cb && s->cb->on_error && status != UV_ECANCELED) s->cb->on_error(s, status, s->ud);
    session_start_close(s);
    return;
  }
  if (!s->closing) session_mark_dirty(s);
}

/* A user transport (lode_session_attach_user): the batch goes out as one copy through the user's
   output callback, which is done with it on return. */
static void user_write_batch(lode_session *s, batch *b) {
  uint8_t *out;
  size_t i, off = 0;
  if (s->closing) { batch_finish(b, UV_ECANCELED); return; }
  out = malloc(b->total ? b->total : 1);
  if (out == NULL) { batch_finish(b, UV_ENOMEM); session_start_close(s); return; }
  for (i = 0; i < b->niov; i++) {
    const uint8_t *p = b->iovs[i].ptr ? b->iovs[i].ptr : b->buf + b->iovs[i].off;
    memcpy(out + off, p, b->iovs[i].len);
    off += b->iovs[i].len;
  }
  batch_finish(b, 0);
  s->user_out(s, out, off, s->user_out_ud);
  free(out);
}

/* Writes the current batch: uv_try_write first when nothing is queued, uv_write for the rest. */
static void batch_write(lode_session *s) {
  batch *b = s->cur;
  uv_buf_t stackbufs[64], *bufs = stackbufs;
  size_t i, nb;
  int rc;
  if (b == NULL) return;
  s->cur = NULL;
  if (b->niov == 0) { batch_finish(b, 0); return; }
  s->stats.bytes_written += b->total;
  if (s->user_io) { user_write_batch(s, b); return; }
#ifdef LODE_HAVE_TLS
  if (s->tls) { tls_write_batch(s, b); return; }
#endif
  if (b->niov > 64) {
    bufs = malloc(b->niov * sizeof *bufs);
    if (bufs == NULL) { batch_finish(b, UV_ENOMEM); session_start_close(s); return; }
  }
  for (i = 0; i < b->niov; i++) {
    const uint8_t *p = b->iovs[i].ptr ? b->iovs[i].ptr : b->buf + b->iovs[i].off;
    bufs[i] = uv_buf_init((char *)p, (unsigned)b->iovs[i].len);
  }
  nb = b->niov;
  if (s->inflight == 0) {
    rc = uv_try_write((uv_stream_t *)&s->tcp, bufs, (unsigned)nb);
    if (rc > 0) {
      size_t left = (size_t)rc;
      size_t k = 0;
      while (k < nb && left >= bufs[k].len) { left -= bufs[k].len; k++; }
      if (k == nb) {
        if (bufs != stackbufs) free(bufs);
        batch_finish(b, 0);
        return;
      }
      bufs[k].base += left;
      bufs[k].len -= left;
      memmove(bufs, bufs + k, (nb - k) * sizeof *bufs);
      nb -= k;
    } else if (rc < 0 && rc != UV_EAGAIN) {
      if (bufs != stackbufs) free(bufs);
      batch_finish(b, rc);
      if (s->cb && s->cb->on_error) s->cb->on_error(s, rc, s->ud);
      session_start_close(s);
      return;
    }
  }
  rc = uv_write(&b->req, (uv_stream_t *)&s->tcp, bufs, (unsigned)nb, on_write);
  if (bufs != stackbufs) free(bufs);
  if (rc < 0) {
    batch_finish(b, rc);
    session_start_close(s);
    return;
  }
  s->inflight++;
  s->inflight_bytes += b->total;
  b->next_inflight = s->inflight_head;
  s->inflight_head = b;
}

/* Pulls everything nghttp2 wants to send into the current batch, then writes it. */
static void session_flush(lode_session *s) {
  if (s->closing || !s->connected || s->ng == NULL) return;
  s->in_flush = 1;
  while (s->inflight_bytes < MAX_INFLIGHT_BYTES) {
    const uint8_t *data;
    ssize_t n = nghttp2_session_mem_send(s->ng, &data);
    batch *b;
    if (n < 0) {
      s->in_flush = 0;
      if (s->cb && s->cb->on_error) s->cb->on_error(s, (int)n, s->ud);
      session_start_close(s);
      return;
    }
    if (n == 0) break;
    b = batch_get(s);
    if (b == NULL || batch_copy(b, data, (size_t)n) < 0) {
      s->in_flush = 0;
      session_start_close(s);
      return;
    }
    if (s->cur && s->cur->total >= BATCH_WRITE_AT) batch_write(s);
  }
  s->in_flush = 0;
  batch_write(s);
  session_deliver(s);
  if (!s->closing && s->ng && !nghttp2_session_want_read(s->ng) && !nghttp2_session_want_write(s->ng)
      && s->inflight == 0 && s->cur == NULL) {
    session_start_close(s);
  } else if (s->shutdown && s->inflight == 0 && s->cur == NULL &&
             (s->ng == NULL || !nghttp2_session_want_write(s->ng))) {
    session_start_close(s);
  }
}

static void on_prepare(uv_prepare_t *p) {
  lode_engine *e = p->data;
  while (e->dirty != NULL) {
    lode_session *s = e->dirty;
    e->dirty = s->next_dirty;
    s->next_dirty = NULL;
    s->dirty = 0;
    session_flush(s);
  }
}

static void session_mark_dirty(lode_session *s) {
  if (s->dirty || s->closing) return;
  s->dirty = 1;
  s->next_dirty = s->e->dirty;
  s->e->dirty = s;
}

static void unmark_dirty(lode_session *s) {
  lode_session **pp = &s->e->dirty;
  if (!s->dirty) return;
  while (*pp) {
    if (*pp == s) { *pp = s->next_dirty; break; }
    pp = &(*pp)->next_dirty;
  }
  s->dirty = 0;
  s->next_dirty = NULL;
}

/* ---- nghttp2 callbacks: record only ---- */

/* What the session holds (Node's current_session_memory_): nghttp2's allocations, the streams,
   body bytes queued by the user, and output gathered or in flight. */
static size_t session_memory(lode_session *s) {
  return s->mem_used + s->nstreams * sizeof(lode_stream) + s->queued_total + s->inflight_bytes +
         (s->cur ? s->cur->total : 0);
}

/*
 * Node's OnBeginHeadersCallback: a new stream is refused when the session already has as many
 * open streams (pushed ones included, which nghttp2 does not count against the peer) as its
 * acknowledged SETTINGS_MAX_CONCURRENT_STREAMS, or when it is over max_session_memory.
 * The refusal is RST_STREAM(ENHANCE_YOUR_CALM), submitted here so that it goes out before the
 * RST_STREAM nghttp2 adds for TEMPORAL_CALLBACK_FAILURE (nghttp2 allows submitting from a
 * callback; only mem_send/mem_recv must not be re-entered). More than max_rejected_streams
 * refusals in a row fail the session (CALLBACK_FAILURE out of mem_recv); an admitted stream
 * resets the count. Returns 0 when the stream may open.
 */
static int admit_stream(lode_session *s, nghttp2_session *ng, int32_t id) {
  uint32_t maxcs = nghttp2_session_get_local_settings(ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  if (s->nstreams - s->nclose_pending < maxcs &&
      session_memory(s) + sizeof(lode_stream) <= s->opts.max_session_memory) {
    s->rejected_streams = 0;
    return 0;
  }
  if (s->rejected_streams++ > s->opts.max_rejected_streams) return NGHTTP2_ERR_CALLBACK_FAILURE;
  nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_ENHANCE_YOUR_CALM);
  return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
}

static int cb_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  lode_session *s = ud;
  lode_stream *st;
  int rc;
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST && s->type == LODE_SESSION_SERVER) {
    if ((rc = admit_stream(s, ng, f->hd.stream_id)) != 0) return rc;
    st = stream_new(s, f->hd.stream_id);
    if (st == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, st);
    st->hcat = LODE_HCAT_REQUEST;
  } else if (f->hd.type == NGHTTP2_PUSH_PROMISE) {
    int32_t pid = f->push_promise.promised_stream_id;
    if ((rc = admit_stream(s, ng, pid)) != 0) return rc;
    st = stream_new(s, pid);
    if (st == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ng, pid, st);
    st->hcat = LODE_HCAT_PUSH;
    st->push_parent = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
  } else if (f->hd.type == NGHTTP2_HEADERS) {
    st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (st == NULL) return 0;
    if (f->headers.cat == NGHTTP2_HCAT_HEADERS) st->hcat = LODE_HCAT_TRAILERS;
    else st->hcat = LODE_HCAT_RESPONSE;
  }
  return 0;
}

static int cb_header(nghttp2_session *ng, const nghttp2_frame *f, nghttp2_rcbuf *name,
                     nghttp2_rcbuf *value, uint8_t flags, void *ud) {
  lode_session *s = ud;
  int32_t id = f->hd.type == NGHTTP2_PUSH_PROMISE ? f->push_promise.promised_stream_id : f->hd.stream_id;
  lode_stream *st = nghttp2_session_get_stream_user_data(ng, id);
  size_t sz;
  if (st == NULL || st->hdr_overflow) return 0;
  sz = nghttp2_rcbuf_get_buf(name).len + nghttp2_rcbuf_get_buf(value).len + 32;
  if (st->nhdrs + 1 > s->opts.max_header_list_pairs ||
      st->hdr_bytes + sz > s->opts.max_header_list_size) {
    /* nghttp2 1.52 advertises the limit but does not enforce it: answered after mem_recv with
       RST_STREAM(ENHANCE_YOUR_CALM), as Node does. */
    st->hdr_overflow = 1;
    if (!st->rst_calm) {
      st->rst_calm = 1;
      ev_new(s, EV_RST_CALM, st);
    }
    return 0;
  }
  if (st->nhdrs == st->caphdrs) {
    size_t cap = st->caphdrs ? st->caphdrs * 2 : 16;
    hdr *nh = realloc(st->hdrs, cap * sizeof *nh);
    if (nh == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->hdrs = nh;
    st->caphdrs = cap;
  }
  nghttp2_rcbuf_incref(name);
  nghttp2_rcbuf_incref(value);
  st->hdrs[st->nhdrs].name = name;
  st->hdrs[st->nhdrs].value = value;
  st->hdrs[st->nhdrs].flags = flags;
  st->nhdrs++;
  st->hdr_bytes += sz;
  return 0;
}

static void headers_complete(lode_session *s, lode_stream *st, int end_stream) {
  event *ev;
  if (st->hdr_overflow) {
    if (st->hdrs) hdrs_free(st->hdrs, st->nhdrs);
    st->hdrs = NULL;
    st->nhdrs = st->caphdrs = st->hdr_bytes = 0;
    return;
  }
  ev = ev_new(s, EV_HEADERS, st);
  if (ev == NULL) return;
  if (s->type == LODE_SESSION_CLIENT && (st->hcat == LODE_HCAT_RESPONSE || st->hcat == LODE_HCAT_TRAILERS) &&
      !st->got_final) {
    /* nghttp2 calls the block after a 1xx "HEADERS"; what the client sees is the status. */
    nghttp2_vec n = st->nhdrs ? nghttp2_rcbuf_get_buf(st->hdrs[0].name) : (nghttp2_vec){NULL, 0};
    nghttp2_vec v = st->nhdrs ? nghttp2_rcbuf_get_buf(st->hdrs[0].value) : (nghttp2_vec){NULL, 0};
    if (n.len == 7 && memcmp(n.base, ":status", 7) == 0 && v.len > 0 && v.base[0] == '1') {
      st->hcat = LODE_HCAT_INFO;
    } else {
      st->hcat = LODE_HCAT_RESPONSE;
      st->got_final = 1;
    }
  }
  ev->hdrs = st->hdrs;
  ev->nhdrs = st->nhdrs;
  ev->cat = st->hcat;
  ev->end_stream = end_stream;
  ev->parent = st->push_parent;
  st->hdrs = NULL;
  st->nhdrs = st->caphdrs = st->hdr_bytes = 0;
}

static int cb_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  lode_session *s = ud;
  lode_stream *st;
  event *ev;
  s->stats.frames_received++;
  switch (f->hd.type) {
  case NGHTTP2_HEADERS:
    st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
    if (st) headers_complete(s, st, (f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
    if (st && (f->hd.flags & NGHTTP2_FLAG_END_STREAM) && st->hdr_overflow) {
      /* nothing */
    }
    break;
  case NGHTTP2_PUSH_PROMISE:
    st = nghttp2_session_get_stream_user_data(ng, f->push_promise.promised_stream_id);
    if (st) headers_complete(s, st, 0);
    break;
  case NGHTTP2_RST_STREAM:
    /* As nghttp2 >= 1.57: a server that has not sent GOAWAY takes each RST_STREAM from a bucket
       of RST_BURST refilled at RST_RATE a second; an empty bucket means GOAWAY(INTERNAL_ERROR)
       (submitted here, as nghttp2 does, so that streams opened later in this read are past
       its last stream id). */
    if (s->type == LODE_SESSION_SERVER && !s->goaway_submitted) {
      uint64_t now = uv_now(s->e->loop) / 1000;
      if (now > s->rst_tstamp) {
        uint64_t v = s->rst_tokens + (now - s->rst_tstamp) * RST_RATE;
        s->rst_tokens = v > RST_BURST ? RST_BURST : (uint32_t)v;
        s->rst_tstamp = now;
      }
      if (s->rst_tokens > 0) {
        s->rst_tokens--;
      } else {
        s->goaway_submitted = 1;
        nghttp2_submit_goaway(ng, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng),
                              NGHTTP2_INTERNAL_ERROR, NULL, 0);
      }
    }
    break;
  case NGHTTP2_DATA:
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
      st = nghttp2_session_get_stream_user_data(ng, f->hd.stream_id);
      if (st) ev_new(s, EV_END, st);
    }
    break;
  case NGHTTP2_SETTINGS:
    ev = ev_new(s, EV_SETTINGS, NULL);
    if (ev) ev->ack = (f->hd.flags & NGHTTP2_FLAG_ACK) != 0;
    if (ev && ev->ack && (ev->opaque = malloc(LODE_SETTINGS_MAX * sizeof(uint32_t))) != NULL) {
      /* The local settings as this ACK made them (several ACKs may come in one read). */
      uint32_t *snap = (uint32_t *)ev->opaque;
      int id;
      for (id = 0; id < LODE_SETTINGS_MAX; id++)
        snap[id] = (id == 0 || id == 7) ? 0 : nghttp2_session_get_local_settings(ng, (nghttp2_settings_id)id);
    }
    break;
  case NGHTTP2_PING:
    ev = ev_new(s, EV_PING, NULL);
    if (ev) {
      ev->ack = (f->hd.flags & NGHTTP2_FLAG_ACK) != 0;
      memcpy(ev->payload, f->ping.opaque_data, 8);
    }
    break;
  case NGHTTP2_GOAWAY:
    ev = ev_new(s, EV_GOAWAY, NULL);
    if (ev) {
      ev->code = f->goaway.error_code;
      ev->last_id = f->goaway.last_stream_id;
      if (f->goaway.opaque_data_len > 0) {
        ev->opaque = malloc(f->goaway.opaque_data_len);
        if (ev->opaque) {
          memcpy(ev->opaque, f->goaway.opaque_data, f->goaway.opaque_data_len);
          ev->len = f->goaway.opaque_data_len;
        }
      }
    }
    break;
  case NGHTTP2_ORIGIN: /* RFC 8336 (received by clients only): origins copied, '\0'-separated */
    if (s->type == LODE_SESSION_CLIENT && f->hd.stream_id == 0 && f->ext.payload) {
      const nghttp2_ext_origin *o = f->ext.payload;
      size_t i, total = 0;
      for (i = 0; i < o->nov; i++) total += o->ov[i].origin_len + 1;
      ev = ev_new(s, EV_ORIGIN, NULL);
      if (ev && total > 0 && (ev->opaque = malloc(total)) != NULL) {
        for (i = 0; i < o->nov; i++) {
          memcpy(ev->opaque + ev->len, o->ov[i].origin, o->ov[i].origin_len);
          ev->len += o->ov[i].origin_len;
          ev->opaque[ev->len++] = '\0';
        }
      }
    }
    break;
  case NGHTTP2_ALTSVC: /* RFC 7838 (received by clients only): origin then field, copied */
    if (s->type == LODE_SESSION_CLIENT && f->ext.payload) {
      const nghttp2_ext_altsvc *a = f->ext.payload;
      ev = ev_new(s, EV_ALTSVC, NULL);
      if (ev && (ev->opaque = malloc(a->origin_len + a->field_value_len + 1)) != NULL) {
        memcpy(ev->opaque, a->origin, a->origin_len);
        memcpy(ev->opaque + a->origin_len, a->field_value, a->field_value_len);
        ev->len = a->origin_len;
        ev->err = (int)a->field_value_len;
        ev->last_id = f->hd.stream_id;
      }
    }
    break;
  default:
    break;
  }
  return 0;
}

static int cb_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud) {
  lode_session *s = ud;
  lode_stream *st = nghttp2_session_get_stream_user_data(ng, id);
  event *ev;
  (void)flags;
  /* The connection window is given back at once; the stream's when the reader takes it. */
  nghttp2_session_consume_connection(ng, len);
  if (st == NULL) return 0;
  ev = ev_new(s, EV_DATA, st);
  if (ev == NULL) return NGHTTP2_ERR_CALLBACK_FAILURE;
  ev->data = data; /* points into the read buffer, valid until delivery (same read_cb) */
  ev->len = len;
  return 0;
}

static int cb_stream_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud) {
  lode_session *s = ud;
  lode_stream *st = nghttp2_session_get_stream_user_data(ng, id);
  event *ev;
  if (st == NULL || st->closed) return 0;
  st->closed = 1;
  st->close_pending = 1;
  s->nclose_pending++;
  ev = ev_new(s, EV_STREAM_CLOSE, st);
  if (ev) ev->code = code;
  return 0;
}

static int cb_frame_not_send(nghttp2_session *ng, const nghttp2_frame *f, int code, void *ud) {
  lode_session *s = ud;
  lode_stream *st;
  event *ev;
  /* As Node: a frame dropped because its stream or the session is closing is no error. */
  if (code == NGHTTP2_ERR_SESSION_CLOSING || code == NGHTTP2_ERR_STREAM_CLOSED ||
      code == NGHTTP2_ERR_STREAM_CLOSING)
    return 0;
  st = f->hd.stream_id ? nghttp2_session_get_stream_user_data(ng, f->hd.stream_id) : NULL;
  ev = ev_new(s, EV_FRAME_ERROR, st);
  if (ev) {
    ev->ftype = f->hd.type;
    ev->err = code;
  }
  return 0;
}

/* The last DATA frame of a body: END_STREAM, unless trailers follow (then 'wantTrailers' once). */
static void data_eof_flags(lode_session *s, lode_stream *st, uint32_t *flags) {
  *flags |= NGHTTP2_DATA_FLAG_EOF;
  if (st->want_trailers) {
    *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (!st->trailers_asked) {
      st->trailers_asked = 1;
      ev_new(s, EV_WANT_TRAILERS, st);
    }
  }
}

/* A file body: pread into nghttp2's frame buffer, then copied into the batch. (Reading straight
   into the batch with NO_COPY was tried: it faulted in a fresh page per 4 KiB read and ran at
   half the speed.) A read error resets the stream with INTERNAL_ERROR. */
static ssize_t file_data_read(lode_session *s, lode_stream *st, uint8_t *buf, size_t length,
                              uint32_t *flags) {
  int eof;
  ssize_t n = lode__file_read(st->file, buf, length, &eof);
  if (n < 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (eof) data_eof_flags(s, st, flags);
  return n;
}

static ssize_t cb_data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *src, void *ud) {
  lode_stream *st = src->ptr;
  lode_session *s = ud;
  size_t n;
  (void)ng; (void)buf; (void)id;
  if (st->file) return file_data_read(s, st, buf, length, flags);
  if (st->queued == 0) {
    if (!st->eof) {
      st->deferred = 1;
      return NGHTTP2_ERR_DEFERRED;
    }
    data_eof_flags(s, st, flags);
    return 0;
  }
  n = st->queued < length ? st->queued : length;
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (n == st->queued && st->eof) data_eof_flags(s, st, flags);
  return (ssize_t)n;
}

static int cb_send_data(nghttp2_session *ng, nghttp2_frame *f, const uint8_t *framehd, size_t length,
                        nghttp2_data_source *src, void *ud) {
  lode_session *s = ud;
  lode_stream *st = src->ptr;
  batch *b = batch_get(s);
  static const uint8_t zeros[256];
  (void)ng;
  if (b == NULL || batch_copy(b, framehd, 9) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  if (f->data.padlen > 0) {
    uint8_t pl = (uint8_t)(f->data.padlen - 1);
    if (batch_copy(b, &pl, 1) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  while (length > 0 && st->head) {
    chunk *c = st->head;
    size_t take = c->len - c->off;
    if (take > length) take = length;
    if (batch_ptr(b, c->data + c->off, take) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
    c->off += take;
    st->queued -= take;
    s->queued_total -= take;
    length -= take;
    if (c->off == c->len) {
      st->head = c->next;
      if (st->head == NULL) st->tail = NULL;
      batch_done(b, st, c->cookie);
      free(c);
    }
  }
  if (f->data.padlen > 1) {
    if (batch_copy(b, zeros, f->data.padlen - 1) < 0) return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static int cb_frame_sent(nghttp2_session *ng, const nghttp2_frame *f, void *ud) {
  (void)ng; (void)f;
  ((lode_session *)ud)->stats.frames_sent++;
  return 0;
}

static ssize_t cb_select_padding(nghttp2_session *ng, const nghttp2_frame *f, size_t max_payloadlen,
                                 void *ud) {
  lode_session *s = ud;
  (void)ng;
  if (s->opts.padding_strategy == 1) return (ssize_t)max_payloadlen;
  if (s->opts.padding_strategy == 2) {
    size_t len = f->hd.length + 9;
    size_t padded = (len + 7) & ~(size_t)7;
    if (padded - 9 > max_payloadlen) return (ssize_t)f->hd.length;
    return (ssize_t)(padded - 9);
  }
  return (ssize_t)f->hd.length;
}

/* Node's maxSessionInvalidFrames: past the limit the callback fails, mem_recv returns, and the
   session is failed with LODE_ERR_TOO_MANY_INVALID_FRAMES (reported after mem_recv, in on_read). */
static int cb_invalid_frame(nghttp2_session *ng, const nghttp2_frame *f, int code, void *ud) {
  lode_session *s = ud;
  (void)ng;
  (void)f;
  (void)code;
  if (s->invalid_frames++ > s->opts.max_invalid_frames) {
    s->too_many_invalid = 1;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

static nghttp2_session_callbacks *g_callbacks;

static nghttp2_session_callbacks *callbacks(void) {
  if (g_callbacks == NULL) {
    nghttp2_session_callbacks *c;
    if (nghttp2_session_callbacks_new(&c) != 0) return NULL;
    nghttp2_session_callbacks_set_on_begin_headers_callback(c, cb_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(c, cb_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(c, cb_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(c, cb_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(c, cb_stream_close);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(c, cb_frame_not_send);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(c, cb_invalid_frame);
    nghttp2_session_callbacks_set_send_data_callback(c, cb_send_data);
    nghttp2_session_callbacks_set_select_padding_callback(c, cb_select_padding);
    nghttp2_session_callbacks_set_on_frame_send_callback(c, cb_frame_sent);
    g_callbacks = c;
  }
  return g_callbacks;
}

/* ---- delivery: after mem_recv / mem_send returned ---- */

static void deliver_headers(lode_session *s, event *ev) {
  nghttp2_nv stackv[32], *nva = stackv;
  size_t i;
  if (ev->nhdrs > 32) {
    nva = malloc(ev->nhdrs * sizeof *nva);
    if (nva == NULL) return;
  }
  for (i = 0; i < ev->nhdrs; i++) {
    nghttp2_vec n = nghttp2_rcbuf_get_buf(ev->hdrs[i].name);
    nghttp2_vec v = nghttp2_rcbuf_get_buf(ev->hdrs[i].value);
    nva[i].name = n.base;
    nva[i].namelen = n.len;
    nva[i].value = v.base;
    nva[i].valuelen = v.len;
    nva[i].flags = ev->hdrs[i].flags;
  }
  if (s->cb->on_headers)
    s->cb->on_headers(s, ev->st, ev->cat, nva, ev->nhdrs, ev->end_stream, ev->parent, s->ud);
  if (nva != stackv) free(nva);
}

static void session_deliver(lode_session *s) {
  event *ev;
  if (s->cb == NULL) return;
  while ((ev = s->ev_head) != NULL) {
    s->ev_head = ev->next;
    if (s->ev_head == NULL) s->ev_tail = NULL;
    if (s->closing && ev->type != EV_ERROR) { ev_free(ev); continue; }
    switch (ev->type) {
    case EV_HEADERS: deliver_headers(s, ev); break;
    case EV_DATA:
      if (s->cb->on_data) s->cb->on_data(s, ev->st, ev->data, ev->len, s->ud);
      if (!s->closing && s->ng) {
        if (ev->st->paused) ev->st->unconsumed += ev->len;
        else nghttp2_session_consume_stream(s->ng, ev->st->id, ev->len);
        session_mark_dirty(s);
      }
      break;
    case EV_END: if (s->cb->on_end) s->cb->on_end(s, ev->st, s->ud); break;
    case EV_WANT_TRAILERS:
      if (s->cb->on_want_trailers) s->cb->on_want_trailers(s, ev->st, s->ud);
      break;
    case EV_STREAM_CLOSE: stream_close(ev->st, ev->code); break;
    case EV_SETTINGS:
      s->local_snap = (const uint32_t *)ev->opaque;
      if (s->cb->on_settings) s->cb->on_settings(s, ev->ack, s->ud);
      s->local_snap = NULL;
      break;
    case EV_PING: if (s->cb->on_ping) s->cb->on_ping(s, ev->ack, ev->payload, s->ud); break;
    case EV_GOAWAY:
      if (s->cb->on_goaway) s->cb->on_goaway(s, ev->code, ev->last_id, ev->opaque, ev->len, s->ud);
      break;
    case EV_FRAME_ERROR:
      if (s->cb->on_frame_error) s->cb->on_frame_error(s, ev->st, ev->ftype, ev->err, s->ud);
      break;
    case EV_RST_CALM:
      if (!ev->st->closed) nghttp2_submit_rst_stream(s->ng, NGHTTP2_FLAG_NONE, ev->st->id,
                                                     NGHTTP2_ENHANCE_YOUR_CALM);
      session_mark_dirty(s);
      break;
    case EV_ERROR: if (s->cb->on_error) s->cb->on_error(s, ev->err, s->ud); break;
    case EV_ORIGIN:
      if (s->cb->on_origin) s->cb->on_origin(s, (const char *)ev->opaque, ev->len, s->ud);
      break;
    case EV_ALTSVC:
      if (s->cb->on_altsvc && ev->opaque)
        s->cb->on_altsvc(s, ev->last_id, (const char *)ev->opaque, ev->len,
                         (const char *)ev->opaque + ev->len, (size_t)ev->err, s->ud);
      break;
    }
    ev_free(ev);
  }
}

/* ---- transport ---- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  lode_session *s = h->data;
  (void)hint;
#ifdef LODE_HAVE_TLS
  if (s->tls) {
    size_t len = 0;
    buf->base = lode_tls_conn_input_space(s->tls, READ_BUF_SIZE, &len);
    buf->len = buf->base ? len : 0;
    return;
  }
#endif
  if (s->e->rbuf == NULL) s->e->rbuf = malloc(READ_BUF_SIZE);
  buf->base = (char *)s->e->rbuf;
  buf->len = s->e->rbuf ? READ_BUF_SIZE : 0;
}

/* Feeds plaintext from the peer to nghttp2 and delivers the events it recorded. On a protocol
   error nghttp2 has queued the GOAWAY where the protocol asks for one: the error is reported, the
   session stops reading and closes once that is sent. Returns 0, or -1 when the session failed or
   is closing (then the caller feeds it nothing more). */
static int session_input(lode_session *s, const uint8_t *data, size_t len) {
  ssize_t rv = nghttp2_session_mem_recv(s->ng, data, len);
  session_deliver(s);
  if (s->closing) return -1;
  if (rv >= 0) return 0;
  if (s->too_many_invalid) rv = LODE_ERR_TOO_MANY_INVALID_FRAMES;
  if (s->cb && s->cb->on_error) s->cb->on_error(s, (int)rv, s->ud);
  s->failed = 1;
  s->shutdown = 1;
  if (!s->closing && !s->user_io) uv_read_stop((uv_stream_t *)&s->tcp);
  return -1;
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
  lode_session *s = h->data;
  (void)buf;
  if (nread == 0 || s->closing) return;
  if (nread > 0) s->stats.bytes_read += (uint64_t)nread;
  if (nread < 0) {
    if (nread != UV_EOF && s->cb && s->cb->on_error) s->cb->on_error(s, (int)nread, s->ud);
    session_start_close(s);
    return;
  }
#ifdef LODE_HAVE_TLS
  if (s->tls) { tls_on_input(s, (size_t)nread); return; }
#endif
  session_input(s, (const uint8_t *)buf->base, (size_t)nread);
  session_mark_dirty(s);
  /* Send this connection's answers now (still one write for everything this read produced) rather
     than in the next prepare phase: with a thousand readable connections in one loop turn, waiting
     put the processing time of all of them in front of every response (p99 under h2load -c 1000).
     The session stays on the dirty list; the prepare pass finds nothing left, or what later
     callbacks of this turn (timers, immediates) queued. Outside every nghttp2 callback here. */
  if (!s->closing && !s->in_flush) session_flush(s);
}

static void on_tcp_closed(uv_handle_t *h) {
  lode_session *s = h->data;
  event *ev;
  forget_addrs(s);
  /* Streams still open are closed now, oldest first as Node does (the list is newest first; each
     close reaches Lua, so the list is walked again for each one), then the session. */
  while (s->streams) {
    lode_stream *st = s->streams;
    while (st->next) st = st->next;
    st->closed = 1;
    stream_close(st, s->close_code);
  }
  while ((ev = s->ev_head) != NULL) {
    s->ev_head = ev->next;
    ev_free(ev);
  }
  s->ev_tail = NULL;
  if (s->cur) { batch_finish(s->cur, UV_ECANCELED); s->cur = NULL; }
  if (s->cb && s->cb->on_close) s->cb->on_close(s, s->ud);
  nghttp2_session_del(s->ng);
#ifdef LODE_HAVE_TLS
  if (s->tls) lode_tls_conn_free(s->tls);
  if (s->sni_cfg) lode_tls_config_unref(s->sni_cfg);
  tls_hs_release(s);
#endif
  {
    lode_engine *e = s->e;
    if (s->e_prev) s->e_prev->e_next = s->e_next; else e->sessions = s->e_next;
    if (s->e_next) s->e_next->e_prev = s->e_prev;
    free(s);
    engine_release(e);
  }
}


/* Starts closing the transport; on_close comes from the close callback. */
static void session_start_close(lode_session *s) {
  if (s->closing) return;
  s->closing = 1;
  unmark_dirty(s);
  if (s->tcp_open && !s->resolving) uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
}

/* nghttp2's allocator, counted into s->mem_used (maxSessionMemory): each block carries its size
   in a header aligned for any type. */
typedef union mem_hdr { size_t n; max_align_t align; } mem_hdr;

#ifdef LODE_ZERO_PAGES
/*
 * A zeroed block of a page or more (nghttp2 1.52's stream map, 4 KiB calloc'd by every new
 * session and written only when streams come) is made of fresh anonymous pages: the kernel
 * zeroes them and they take no memory until written, where malloc + memset would make a page
 * resident for each connection, idle or not (bench/README.md, idle connections). Up to ZBLOCKS
 * per session; beyond that, or if mmap fails, malloc + memset.
 */
static void *zblock_new(lode_session *s, size_t n) {
  static size_t page;
  int i;
  void *p;
  if (page == 0) page = (size_t)sysconf(_SC_PAGESIZE);
  if (n < page) return NULL;
  for (i = 0; i < ZBLOCKS && s->zblk[i].p != NULL; i++) {}
  if (i == ZBLOCKS) return NULL;
  p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  s->zblk[i].p = p;
  s->zblk[i].n = n;
  s->mem_used += n;
  return p;
}

/* The size of |ptr| if it is one of the session's zblock_new blocks (then |slot| is set), or 0. */
static size_t zblock_find(lode_session *s, const void *ptr, int *slot) {
  int i;
  for (i = 0; i < ZBLOCKS; i++)
    if (s->zblk[i].p == ptr && ptr != NULL) { *slot = i; return s->zblk[i].n; }
  return 0;
}

static void zblock_free(lode_session *s, int slot) {
  munmap(s->zblk[slot].p, s->zblk[slot].n);
  s->mem_used -= s->zblk[slot].n;
  s->zblk[slot].p = NULL;
  s->zblk[slot].n = 0;
}
#else
static void *zblock_new(lode_session *s, size_t n) { (void)s; (void)n; return NULL; }
static size_t zblock_find(lode_session *s, const void *ptr, int *slot) {
  (void)s; (void)ptr; (void)slot;
  return 0;
}
static void zblock_free(lode_session *s, int slot) { (void)s; (void)slot; }
#endif

static void *mem_malloc(size_t size, void *ud) {
  lode_session *s = ud;
  mem_hdr *h = malloc(sizeof *h + size);
  if (h == NULL) return NULL;
  h->n = size;
  s->mem_used += size;
  return h + 1;
}

static void mem_free(void *ptr, void *ud) {
  lode_session *s = ud;
  mem_hdr *h;
  int slot;
  if (ptr == NULL) return;
  if (zblock_find(s, ptr, &slot)) { zblock_free(s, slot); return; }
  h = (mem_hdr *)ptr - 1;
  s->mem_used -= h->n;
  free(h);
}

static void *mem_calloc(size_t nmemb, size_t size, void *ud) {
  void *p;
  if (size != 0 && nmemb > ((size_t)-1 - sizeof(mem_hdr)) / size) return NULL;
  if ((p = zblock_new(ud, nmemb * size)) != NULL) return p;
  p = mem_malloc(nmemb * size, ud);
  if (p) memset(p, 0, nmemb * size);
  return p;
}

static void *mem_realloc(void *ptr, size_t size, void *ud) {
  lode_session *s = ud;
  mem_hdr *h, *nh;
  size_t old;
  int slot;
  if (ptr == NULL) return mem_malloc(size, ud);
  if ((old = zblock_find(s, ptr, &slot)) != 0) {
    void *p = mem_malloc(size, ud);
    if (p == NULL) return NULL;
    memcpy(p, ptr, old < size ? old : size);
    zblock_free(s, slot);
    return p;
  }
  h = (mem_hdr *)ptr - 1;
  old = h->n;
  nh = realloc(h, sizeof *nh + size);
  if (nh == NULL) return NULL;
  nh->n = size;
  s->mem_used = s->mem_used - old + size;
  return nh + 1;
}

static lode_session *session_alloc(lode_engine *e, int type, const lode_session_options *opts) {
  lode_session *s = calloc(1, sizeof *s);
  nghttp2_option *o;
  nghttp2_mem mem = { NULL, mem_malloc, mem_free, mem_calloc, mem_realloc };
  int rc;
  if (s == NULL) return NULL;
  s->e = e;
  s->type = type;
  if (opts) s->opts = *opts; else lode_session_options_init(&s->opts);
  if (nghttp2_option_new(&o) != 0) { free(s); return NULL; }
  nghttp2_option_set_no_auto_window_update(o, 1);
  nghttp2_option_set_max_reserved_remote_streams(o, s->opts.max_reserved_remote_streams);
  nghttp2_option_set_peer_max_concurrent_streams(o, s->opts.peer_max_concurrent_streams);
  nghttp2_option_set_max_send_header_block_length(o, s->opts.max_send_header_block_length);
  nghttp2_option_set_max_settings(o, s->opts.max_settings ? s->opts.max_settings : 32);
  nghttp2_option_set_max_deflate_dynamic_table_size(o, s->opts.max_deflate_dynamic_table_size);
  nghttp2_option_set_max_outbound_ack(o, 1000);
  /* Closed streams are kept only for the priority tree, which lode does not need: without this
     option, a peer that never limits concurrency makes nghttp2 retain every closed stream. */
  nghttp2_option_set_no_closed_streams(o, 1);
  if (type == LODE_SESSION_CLIENT) nghttp2_option_set_builtin_recv_extension_type(o, NGHTTP2_ORIGIN);
  if (type == LODE_SESSION_CLIENT) nghttp2_option_set_builtin_recv_extension_type(o, NGHTTP2_ALTSVC);
  mem.mem_user_data = s;
  if (type == LODE_SESSION_SERVER) rc = nghttp2_session_server_new3(&s->ng, callbacks(), s, o, &mem);
  else rc = nghttp2_session_client_new3(&s->ng, callbacks(), s, o, &mem);
  nghttp2_option_del(o);
  if (rc != 0) { free(s); return NULL; }
  /* The first SETTINGS and the connection window are queued now, ahead of anything the user
     submits before the transport is up (a settings() call right after connect() is acknowledged
     after the initial SETTINGS, as in Node). */
  nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, s->opts.settings, s->opts.nsettings);
  if (s->opts.local_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
    nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, s->opts.local_window_size);
  uv_tcp_init(e->loop, &s->tcp);
  s->tcp.data = s;
  s->tcp_open = 1;
  s->close_code = NGHTTP2_CANCEL;
  s->rst_tokens = RST_BURST;
  s->rst_tstamp = uv_now(e->loop) / 1000;
  s->e_next = e->sessions;
  if (e->sessions) e->sessions->e_prev = s;
  e->sessions = s;
  return s;
}

/* The transport is up: reading starts and what is queued (the first SETTINGS first) goes out. */
static void session_start(lode_session *s) {
  s->connected = 1;
  uv_tcp_nodelay(&s->tcp, 1);
  if (!s->reading && !s->user_io) uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
  s->reading = 1;
  session_mark_dirty(s);
}

/* ---- engine ---- */

lode_engine *lode_engine_new(uv_loop_t *loop) {
  lode_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  e->loop = loop;
  uv_prepare_init(loop, &e->prepare);
  e->prepare.data = e;
  uv_prepare_start(&e->prepare, on_prepare);
  uv_unref((uv_handle_t *)&e->prepare);
  return e;
}

static void batch_free(batch *b) {
  free(b->buf);
  free(b->iovs);
  free(b->done);
  free(b);
}

static void engine_release(lode_engine *e) {
  if (!e->dead || !e->prepare_closed || e->sessions != NULL || e->servers != NULL) return;
  while (e->npool > 0) batch_free(e->pool[--e->npool]);
  free(e->rbuf);
  free(e);
}

static void on_engine_closed(uv_handle_t *h) {
  lode_engine *e = h->data;
  e->prepare_closed = 1;
  engine_release(e);
}

void lode_engine_free(lode_engine *e) {
  lode_session *s;
  lode_server *srv;
  if (e == NULL || e->dead) return;
  e->dead = 1;
  /* The user (a lua_State being closed) is gone: nothing reports to it any more, and everything
     still open closes; memory goes in the close callbacks, which touch only the engine. */
  for (srv = e->servers; srv != NULL; srv = srv->e_next) {
    srv->on_close = NULL;
    srv->on_alpn = NULL;
    srv->on_sni = NULL;
    srv->on_tls_error = NULL;
    srv->ud = NULL;
    lode_server_close(srv);
  }
  for (s = e->sessions; s != NULL; s = s->e_next) {
    s->cb = NULL;
    s->ud = NULL;
    s->raw_cb = NULL;
    s->raw_ud = NULL;
    session_start_close(s);
  }
  uv_close((uv_handle_t *)&e->prepare, on_engine_closed);
}

/* ---- server ---- */

static void on_connection(uv_stream_t *ls, int status) {
  lode_server *srv = ls->data;
  lode_session *s;
  if (status < 0) return;
  s = session_alloc(srv->e, LODE_SESSION_SERVER, &srv->opts);
  if (s == NULL) return;
  if (uv_accept(ls, (uv_stream_t *)&s->tcp) != 0) {
    session_start_close(s);
    return;
  }
  s->srv = srv;
#ifdef LODE_HAVE_TLS
  if (srv->tls_cfg) {
    char err[LODE_TLS_ERRLEN];
    if (lode_tls_conn_new(&s->tls, srv->tls_cfg, NULL, err) != 0) { session_start_close(s); return; }
    srv->hs_pending++;
    s->hs_held = 1;
    tls_begin(s); /* on_accept once the handshake is done and ALPN chose h2 */
    return;
  }
#endif
  session_start(s);
  srv->on_accept(srv, s, srv->ud);
}

int lode_server_listen(lode_engine *e, const char *host, int port, int backlog,
                       const lode_session_options *opts, lode_accept_cb on_accept,
                       lode_server_close_cb on_close, void *ud, lode_server **out) {
  struct sockaddr_storage ss;
  lode_server *srv;
  int rc;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
    return UV_EINVAL;
  srv = calloc(1, sizeof *srv);
  if (srv == NULL) return UV_ENOMEM;
  srv->e = e;
  srv->e_next = e->servers;
  if (e->servers) e->servers->e_prev = srv;
  e->servers = srv;
  if (opts) srv->opts = *opts; else lode_session_options_init(&srv->opts);
  srv->on_accept = on_accept;
  srv->on_close = on_close;
  srv->ud = ud;
  uv_tcp_init(e->loop, &srv->tcp);
  srv->tcp.data = srv;
  rc = uv_tcp_bind(&srv->tcp, (struct sockaddr *)&ss, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, backlog > 0 ? backlog : 511, on_connection);
  if (rc != 0) {
    srv->on_close = NULL;
    lode_server_close(srv);
    return rc;
  }
  *out = srv;
  return 0;
}

int lode_server_address(lode_server *srv, void *ss, int *len) {
  return uv_tcp_getsockname(&srv->tcp, ss, len);
}

void lode_server_set_options(lode_server *srv, const lode_session_options *opts) { srv->opts = *opts; }

static void on_server_closed(uv_handle_t *h) {
  lode_server *srv = h->data;
  if (srv->on_close) srv->on_close(srv, srv->ud);
#ifdef LODE_HAVE_TLS
  if (srv->hs_pending > 0) { srv->dead = 1; return; }
  if (srv->tls_cfg) lode_tls_config_unref(srv->tls_cfg);
#endif
  server_free(srv);
}

void lode_server_close(lode_server *srv) {
  if (!uv_is_closing((uv_handle_t *)&srv->tcp)) uv_close((uv_handle_t *)&srv->tcp, on_server_closed);
}

void lode_server_ref(lode_server *srv, int ref) {
  if (ref) uv_ref((uv_handle_t *)&srv->tcp); else uv_unref((uv_handle_t *)&srv->tcp);
}

/* ---- client ---- */

static void connect_next(lode_session *s);
static void on_connected(uv_connect_t *req, int status);

static void forget_addrs(lode_session *s) {
  if (s->addrs) uv_freeaddrinfo(s->addrs);
  s->addrs = s->next_addr = NULL;
}

/* A failed attempt's socket is spent: a fresh handle tries the next address. The session's
   handle is embedded, so it is closed and initialized again; meanwhile `resolving` keeps
   session_start_close() from closing it a second time (this callback finishes the close then). */
static void on_retry_closed(uv_handle_t *h) {
  lode_session *s = h->data;
  s->resolving = 0;
  if (s->closing) {
    on_tcp_closed(h);
    return;
  }
  uv_tcp_init(s->e->loop, &s->tcp);
  s->tcp.data = s;
  connect_next(s);
}

/* The connection failed: the next address of the lookup if there is one (as Node's
   autoSelectFamily: "localhost" is ::1 then 127.0.0.1 on Debian), else the error. */
static void connect_failed(lode_session *s, int status) {
  if (s->next_addr != NULL) {
    s->resolving = 1;
    uv_close((uv_handle_t *)&s->tcp, on_retry_closed);
    return;
  }
  forget_addrs(s);
  if (s->cb && s->cb->on_connect) s->cb->on_connect(s, status, s->ud);
  session_start_close(s);
}

static void connect_next(lode_session *s) {
  struct addrinfo *ai = s->next_addr;
  int rc;
  s->next_addr = ai->ai_next;
  s->connect_req.data = s;
  rc = uv_tcp_connect(&s->connect_req, &s->tcp, ai->ai_addr, on_connected);
  if (rc < 0) connect_failed(s, rc);
}

static void on_connected(uv_connect_t *req, int status) {
  lode_session *s = req->data;
  if (s->closing) return;
  if (status < 0) {
    connect_failed(s, status);
    return;
  }
  forget_addrs(s);
#ifdef LODE_HAVE_TLS
  if (s->tls) { tls_begin(s); return; } /* on_connect once the handshake is done */
#endif
  session_start(s);
  if (s->cb && s->cb->on_connect) s->cb->on_connect(s, 0, s->ud);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  lode_session *s = req->data;
  s->resolving = 0;
  if (s->closing) {
    uv_freeaddrinfo(res);
    uv_close((uv_handle_t *)&s->tcp, on_tcp_closed);
    return;
  }
  if (status < 0) {
    if (s->cb && s->cb->on_connect) s->cb->on_connect(s, status, s->ud);
    session_start_close(s);
    return;
  }
  s->addrs = s->next_addr = res;
  connect_next(s);
}

int lode_session_connect(lode_engine *e, const char *host, int port, const lode_session_options *opts,
                         const lode_session_callbacks *cb, void *ud, lode_session **out) {
  lode_session *s = session_alloc(e, LODE_SESSION_CLIENT, opts);
  struct addrinfo hints;
  char portstr[16];
  int rc;
  if (s == NULL) return UV_ENOMEM;
  s->cb = cb;
  s->ud = ud;
  s->port = port;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(portstr, sizeof portstr, "%d", port);
  s->gai.data = s;
  s->resolving = 1;
  rc = uv_getaddrinfo(e->loop, &s->gai, on_resolved, host, portstr, &hints);
  if (rc < 0) {
    s->cb = NULL;
    s->resolving = 0;
    session_start_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

int lode_session_open(lode_engine *e, const lode_session_options *opts,
                      const lode_session_callbacks *cb, void *ud, lode_session **out) {
  lode_session *s = session_alloc(e, LODE_SESSION_CLIENT, opts);
  if (s == NULL) return UV_ENOMEM;
  s->cb = cb;
  s->ud = ud;
  *out = s;
  return 0;
}

int lode_session_attach(lode_session *s, uv_tcp_t *from) {
  uv_os_fd_t fd;
  int dupfd, rc;
  if (s->closing || s->connected || s->resolving) return UV_EINVAL;
  rc = uv_fileno((uv_handle_t *)from, &fd);
  if (rc != 0) return rc;
  /* A uv handle cannot move (the session's is part of it, alive since lode_session_open), so the
     session's handle takes a descriptor of its own for the same connection. */
  dupfd = dup(fd);
  if (dupfd < 0) return uv_translate_sys_error(errno);
  rc = uv_tcp_open(&s->tcp, dupfd);
  if (rc != 0) {
    close(dupfd);
    return rc;
  }
  session_start(s);
  return 0;
}

int lode_session_attach_user(lode_session *s, lode_output_cb out, void *ud) {
  if (s->closing || s->connected || s->resolving) return UV_EINVAL;
  s->user_io = 1;
  s->user_out = out;
  s->user_out_ud = ud;
  session_start(s);
  return 0;
}

int lode_session_receive(lode_session *s, const uint8_t *data, size_t len) {
  if (!s->user_io) return UV_EINVAL;
  if (s->closing) return 0;
  if (data == NULL) { /* the end of the peer's bytes, as UV_EOF on a socket */
    session_start_close(s);
    return 0;
  }
  s->stats.bytes_read += len;
  if (s->failed || len == 0) return 0;
  session_input(s, data, len);
  session_mark_dirty(s);
  if (!s->closing && !s->in_flush) session_flush(s);
  return 0;
}

/* ---- sessions ---- */

void lode_session_set_callbacks(lode_session *s, const lode_session_callbacks *cb, void *ud) {
  s->cb = cb;
  s->ud = ud;
}

int lode_session_type(lode_session *s) { return s->type; }

uint32_t lode_session_local_setting(lode_session *s, int id) {
  if (s->local_snap && id > 0 && id < LODE_SETTINGS_MAX) return s->local_snap[id];
  return nghttp2_session_get_local_settings(s->ng, (nghttp2_settings_id)id);
}
nghttp2_session *lode_session_nghttp2(lode_session *s) { return s->closing ? NULL : s->ng; }
int lode_session_is_closing(lode_session *s) { return s->closing || s->shutdown; }

int lode_session_settings(lode_session *s, const nghttp2_settings_entry *iv, size_t n) {
  int rc;
  if (s->closing) return NGHTTP2_ERR_INVALID_STATE;
  rc = nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, n);
  if (rc == 0) session_mark_dirty(s);
  return rc;
}

int lode_session_ping(lode_session *s, const uint8_t payload[8]) {
  int rc;
  if (s->closing) return NGHTTP2_ERR_INVALID_STATE;
  rc = nghttp2_submit_ping(s->ng, NGHTTP2_FLAG_NONE, payload);
  if (rc == 0) session_mark_dirty(s);
  return rc;
}

int lode_session_goaway(lode_session *s, uint32_t code, int32_t last_stream_id, const uint8_t *opaque,
                        size_t len) {
  int rc;
  if (s->closing) return NGHTTP2_ERR_INVALID_STATE;
  if (last_stream_id < 0) last_stream_id = nghttp2_session_get_last_proc_stream_id(s->ng);
  rc = nghttp2_submit_goaway(s->ng, NGHTTP2_FLAG_NONE, last_stream_id, code, opaque, len);
  if (rc == 0) {
    s->goaway_submitted = 1;
    session_mark_dirty(s);
  }
  return rc;
}

int lode_session_terminate(lode_session *s, uint32_t code) {
  int rc;
  if (s->closing) return NGHTTP2_ERR_INVALID_STATE;
  /* What is already submitted is made into frames first (Node's SendPendingData before its
     nghttp2_session_terminate_session): nghttp2 drops an RST_STREAM still queued once the session
     is terminating. Events the frames cause are delivered at the next flush. */
  if (s->connected && !s->in_flush && s->ng != NULL) {
    while (1) {
      const uint8_t *data;
      ssize_t n = nghttp2_session_mem_send(s->ng, &data);
      batch *b;
      if (n <= 0) break;
      b = batch_get(s);
      if (b == NULL || batch_copy(b, data, (size_t)n) < 0) break;
    }
  }
  rc = nghttp2_session_terminate_session(s->ng, code);
  if (rc != 0) return rc;
  s->goaway_submitted = 1;
  s->shutdown = 1;
  if (!s->connected) { session_start_close(s); return 0; }
  session_mark_dirty(s);
  return 0;
}

void lode_session_shutdown(lode_session *s) {
  if (s->closing) return;
  s->shutdown = 1;
  if (!s->connected) { session_start_close(s); return; }
  session_mark_dirty(s);
}

void lode_session_destroy(lode_session *s, uint32_t code) {
  if (s->closing) return;
  s->close_code = code;
  /* Whatever is already gathered goes out first, best effort. */
  if (s->connected && !s->in_flush && s->cur) batch_write(s);
  session_start_close(s);
}

int lode_session_set_local_window_size(lode_session *s, int32_t size) {
  int rc;
  if (s->closing) return NGHTTP2_ERR_INVALID_STATE;
  rc = nghttp2_session_set_local_window_size(s->ng, NGHTTP2_FLAG_NONE, 0, size);
  if (rc == 0) session_mark_dirty(s);
  return rc;
}

void lode_session_ref(lode_session *s, int ref) {
  if (s->closing) return;
  if (ref) uv_ref((uv_handle_t *)&s->tcp); else uv_unref((uv_handle_t *)&s->tcp);
}

int lode_session_sockname(lode_session *s, void *ss, int *len, int peer) {
  if (s->closing || !s->connected) return UV_ENOTCONN;
  return peer ? uv_tcp_getpeername(&s->tcp, ss, len) : uv_tcp_getsockname(&s->tcp, ss, len);
}

void lode_session_get_stats(lode_session *s, lode_session_stats *out) { *out = s->stats; }

size_t lode_session_pending_bytes(lode_session *s) {
  return s->inflight_bytes + (s->cur ? s->cur->total : 0);
}

static nghttp2_data_provider provider(lode_stream *st) {
  nghttp2_data_provider p;
  p.source.ptr = st;
  p.read_callback = cb_data_read;
  st->has_provider = 1;
  return p;
}

int lode_session_request(lode_session *s, const nghttp2_nv *nva, size_t n, int flags,
                         const nghttp2_priority_spec *pri, lode_stream **out) {
  lode_stream *st;
  nghttp2_data_provider p;
  int32_t id;
  if (s->closing || s->shutdown) return NGHTTP2_ERR_INVALID_STATE;
  st = stream_new(s, 0);
  if (st == NULL) return NGHTTP2_ERR_NOMEM;
  st->hcat = LODE_HCAT_RESPONSE;
  if (flags & LODE_WANT_TRAILERS) st->want_trailers = 1;
  if (flags & LODE_END_STREAM) {
    id = nghttp2_submit_request(s->ng, pri, nva, n, NULL, st);
  } else {
    p = provider(st);
    id = nghttp2_submit_request(s->ng, pri, nva, n, &p, st);
  }
  if (id < 0) {
    if (st->prev) st->prev->next = st->next; else s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    s->nstreams--;
    free(st);
    return id;
  }
  st->id = id;
  session_mark_dirty(s);
  *out = st;
  return 0;
}

/* ---- streams ---- */

void lode_stream_set_user(lode_stream *st, void *user) { st->user = user; }
void *lode_stream_user(lode_stream *st) { return st->user; }
int32_t lode_stream_id(lode_stream *st) { return st->id; }
lode_session *lode_stream_session(lode_stream *st) { return st->s; }
size_t lode_stream_queued(lode_stream *st) { return st->queued; }

#define STREAM_CHECK(st) \
  do { if ((st)->closed || (st)->s->closing) return NGHTTP2_ERR_STREAM_CLOSED; } while (0)

int lode_stream_respond(lode_stream *st, const nghttp2_nv *nva, size_t n, int flags) {
  nghttp2_data_provider p;
  int rc;
  STREAM_CHECK(st);
  if (flags & LODE_WANT_TRAILERS) st->want_trailers = 1;
  if (flags & LODE_END_STREAM) {
    rc = nghttp2_submit_response(st->s->ng, st->id, nva, n, NULL);
  } else {
    p = provider(st);
    rc = nghttp2_submit_response(st->s->ng, st->id, nva, n, &p);
  }
  if (rc == 0) session_mark_dirty(st->s);
  return rc;
}

int lode_stream_respond_fd(lode_stream *st, const nghttp2_nv *nva, size_t n, int fd, int64_t offset,
                           int64_t length, int flags) {
  nghttp2_data_provider p;
  int rc;
  STREAM_CHECK(st);
  if (st->file || st->queued) return NGHTTP2_ERR_INVALID_STATE;
  st->file = lode__file_new(fd, offset, length);
  if (st->file == NULL) return NGHTTP2_ERR_NOMEM;
  if (flags & LODE_WANT_TRAILERS) st->want_trailers = 1;
  st->eof = 1;
  p = provider(st);
  rc = nghttp2_submit_response(st->s->ng, st->id, nva, n, &p);
  if (rc != 0) {
    lode__file_free(st->file);
    st->file = NULL;
    return rc;
  }
  session_mark_dirty(st->s);
  return 0;
}

int lode_stream_info(lode_stream *st, const nghttp2_nv *nva, size_t n) {
  int rc;
  STREAM_CHECK(st);
  rc = nghttp2_submit_headers(st->s->ng, NGHTTP2_FLAG_NONE, st->id, NULL, nva, n, NULL);
  if (rc == 0) session_mark_dirty(st->s);
  return rc;
}

static void stream_resume(lode_stream *st) {
  if (st->deferred && st->has_provider) {
    st->deferred = 0;
    nghttp2_session_resume_data(st->s->ng, st->id);
  }
  session_mark_dirty(st->s);
}

int lode_stream_write(lode_stream *st, const uint8_t *data, size_t len, void *cookie) {
  chunk *c;
  STREAM_CHECK(st);
  if (st->eof) return NGHTTP2_ERR_INVALID_STATE;
  c = malloc(sizeof *c);
  if (c == NULL) return NGHTTP2_ERR_NOMEM;
  c->next = NULL;
  c->data = data;
  c->len = len;
  c->off = 0;
  c->cookie = cookie;
  if (st->tail) st->tail->next = c; else st->head = c;
  st->tail = c;
  st->queued += len;
  st->s->queued_total += len;
  if (len == 0) {
    /* Nothing to send: done at once, after the caller has returned. */
    st->head = c->next;
    if (st->head == NULL) st->tail = NULL;
    {
      batch *b = batch_get(st->s);
      if (b) batch_done(b, st, cookie);
    }
    free(c);
    session_mark_dirty(st->s);
    return 0;
  }
  stream_resume(st);
  return 0;
}

int lode_stream_end(lode_stream *st) {
  STREAM_CHECK(st);
  st->eof = 1;
  stream_resume(st);
  return 0;
}

int lode_stream_trailers(lode_stream *st, const nghttp2_nv *nva, size_t n) {
  int rc;
  STREAM_CHECK(st);
  rc = nghttp2_submit_trailer(st->s->ng, st->id, nva, n);
  if (rc == 0) session_mark_dirty(st->s);
  return rc;
}

int lode_stream_rst(lode_stream *st, uint32_t code) {
  int rc;
  STREAM_CHECK(st);
  if (st->id <= 0) return NGHTTP2_ERR_INVALID_STATE;
  rc = nghttp2_submit_rst_stream(st->s->ng, NGHTTP2_FLAG_NONE, st->id, code);
  if (rc == 0) session_mark_dirty(st->s);
  return rc;
}

int lode_stream_push(lode_stream *parent, const nghttp2_nv *nva, size_t n, lode_stream **out) {
  lode_session *s = parent->s;
  lode_stream *st;
  int32_t id;
  STREAM_CHECK(parent);
  st = stream_new(s, 0);
  if (st == NULL) return NGHTTP2_ERR_NOMEM;
  id = nghttp2_submit_push_promise(s->ng, NGHTTP2_FLAG_NONE, parent->id, nva, n, st);
  if (id < 0) {
    if (st->prev) st->prev->next = st->next; else s->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    s->nstreams--;
    free(st);
    return id;
  }
  st->id = id;
  session_mark_dirty(s);
  *out = st;
  return 0;
}

int lode_stream_priority(lode_stream *st, const nghttp2_priority_spec *pri) {
  int rc;
  STREAM_CHECK(st);
  rc = nghttp2_submit_priority(st->s->ng, NGHTTP2_FLAG_NONE, st->id, pri);
  if (rc == 0) session_mark_dirty(st->s);
  return rc;
}

void lode_stream_pause(lode_stream *st, int paused) {
  lode_session *s = st->s;
  st->paused = paused ? 1 : 0;
  if (!paused && st->unconsumed > 0 && !st->closed && !s->closing) {
    nghttp2_session_consume_stream(s->ng, st->id, st->unconsumed);
    st->unconsumed = 0;
    session_mark_dirty(s);
  }
}

/* ---- h2 over TLS: the tls conn (lode_tls.h) between the uv_tcp_t and nghttp2 ---- */

#ifdef LODE_HAVE_TLS

typedef struct tls_wreq {
  uv_write_t req;
  lode_session *s;
  char *buf;
  size_t len;
} tls_wreq;

static void on_tls_write(uv_write_t *req, int status) {
  tls_wreq *w = (tls_wreq *)req;
  lode_session *s = w->s;
  s->inflight--;
  s->inflight_bytes -= w->len;
  free(w->buf);
  free(w);
  if (status < 0 && !s->closing) {
    if (s->cb && s->cb->on_error && status != UV_ECANCELED) s->cb->on_error(s, status, s->ud);
    session_start_close(s);
    return;
  }
  if (s->raw_ending && s->inflight == 0) { session_start_close(s); return; }
  if (!s->closing) session_mark_dirty(s);
}

/* Writes the conn's ciphertext: uv_try_write first when nothing is in flight, then uv_write. */
static void tls_send(lode_session *s) {
  size_t len = 0, off = 0;
  char *out;
  tls_wreq *w;
  uv_buf_t b;
  int rc;
  if (s->closing) return;
  out = lode_tls_conn_take_output(s->tls, &len);
  if (out == NULL) return;
  if (s->inflight == 0) {
    b = uv_buf_init(out, (unsigned)len);
    rc = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
    if (rc > 0) off = (size_t)rc;
    else if (rc < 0 && rc != UV_EAGAIN) {
      free(out);
      if (s->cb && s->cb->on_error) s->cb->on_error(s, rc, s->ud);
      session_start_close(s);
      return;
    }
    if (off == len) { free(out); return; }
  }
  w = malloc(sizeof *w);
  if (w == NULL) { free(out); session_start_close(s); return; }
  w->s = s;
  w->buf = out;
  w->len = len - off;
  b = uv_buf_init(out + off, (unsigned)(len - off));
  rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_tls_write);
  if (rc < 0) { free(out); free(w); session_start_close(s); return; }
  s->inflight++;
  s->inflight_bytes += w->len;
}

#define TLS_RECORD 16384

/* Encrypts a batch (its chunks are done once copied into TLS records) and sends it. Frame
   headers and payloads are gathered into full 16 KiB records first: a record per 9-byte DATA
   header would double the records and the AEAD work. */
static int tls_write_batch(lode_session *s, batch *b) {
  char stage[TLS_RECORD];
  size_t i, used = 0;
  int rc = 0;
  for (i = 0; i < b->niov && rc == 0; i++) {
    const uint8_t *p = b->iovs[i].ptr ? b->iovs[i].ptr : b->buf + b->iovs[i].off;
    size_t len = b->iovs[i].len;
    while (len > 0 && rc == 0) {
      size_t n;
      if (used == 0 && len >= TLS_RECORD) { /* whole records straight from the source */
        n = len - len % TLS_RECORD;
        rc = lode_tls_conn_write(s->tls, (const char *)p, n);
      } else {
        n = TLS_RECORD - used < len ? TLS_RECORD - used : len;
        memcpy(stage + used, p, n);
        used += n;
        if (used == TLS_RECORD) { rc = lode_tls_conn_write(s->tls, stage, used); used = 0; }
      }
      p += n;
      len -= n;
    }
  }
  if (rc == 0 && used > 0) rc = lode_tls_conn_write(s->tls, stage, used);
  if (rc != 0) {
    batch_finish(b, UV_EPROTO);
    if (s->cb && s->cb->on_error) s->cb->on_error(s, LODE_ERR_TLS, s->ud);
    session_start_close(s);
    return -1;
  }
  batch_finish(b, 0);
  tls_send(s);
  return 0;
}

/* The handshake of a server's session is over (or the session is gone): a server closed in the
   meantime is freed by its last pending handshake, and its sessions are not accepted. */
static void tls_hs_release(lode_session *s) {
  lode_server *srv = s->srv;
  if (!s->hs_held) return;
  s->hs_held = 0;
  srv->hs_pending--;
  if (!srv->dead) return;
  s->srv = NULL;
  if (srv->hs_pending == 0) {
    if (srv->tls_cfg) lode_tls_config_unref(srv->tls_cfg);
    server_free(srv);
  }
}

static void tls_begin(lode_session *s) {
  uv_tcp_nodelay(&s->tcp, 1);
  uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
  s->reading = 1;
  tls_on_input(s, 0);
}

/* A fatal TLS error: the alert (if any) goes out, then the connection closes. */
static void tls_fail(lode_session *s) {
  tls_send(s);
  if (s->type == LODE_SESSION_SERVER && !s->tls_up) {
    lode_server *srv = s->srv;
    if (srv && !srv->dead && srv->on_tls_error) {
      const char *msg = NULL;
      int mbed = 0;
      const char *code = lode_tls_conn_error(s->tls, &msg, &mbed);
      srv->on_tls_error(srv, code ? code : "ERR_SSL_PROTOCOL_ERROR", msg ? msg : "TLS failure",
                        srv->ud);
    }
  } else if (s->type == LODE_SESSION_CLIENT && !s->tls_up) {
    if (s->cb && s->cb->on_connect) s->cb->on_connect(s, LODE_ERR_TLS, s->ud);
  } else if (s->tls_up && s->cb && s->cb->on_error) {
    s->cb->on_error(s, LODE_ERR_TLS, s->ud);
  }
  session_start_close(s);
}

/* The handshake is done: h2 starts (or the server's on_alpn decides). */
static void tls_established(lode_session *s) {
  const char *alpn = lode_tls_conn_alpn(s->tls);
  s->tls_up = 1;
  tls_hs_release(s);
  if (s->type == LODE_SESSION_SERVER) {
    lode_server *srv = s->srv;
    if (alpn == NULL || strcmp(alpn, "h2") != 0) {
      if (srv && srv->on_alpn) srv->on_alpn(srv, s, alpn, srv->ud);
      else session_start_close(s);
      return;
    }
    session_start(s);
    if (srv) srv->on_accept(srv, s, srv->ud);
    else session_start_close(s);
  } else {
    session_start(s);
    if (s->cb && s->cb->on_connect) s->cb->on_connect(s, 0, s->ud);
  }
}

/* |n| ciphertext bytes were read into the conn's input: handshake, then decrypt into nghttp2. */
static void tls_on_input(lode_session *s, size_t n) {
  uint8_t *rbuf;
  if (n) lode_tls_conn_input_commit(s->tls, n);
  if (!s->tls_up) {
    int rc = lode_tls_conn_handshake(s->tls);
    if (rc == LODE_TLS_ERR_SNI) { /* the server's on_sni picks the certificate (NULL: its own) */
      lode_server *srv = s->srv;
      const char *name = lode_tls_conn_servername(s->tls);
      lode_tls_config *cfg = (srv && srv->on_sni && name) ? srv->on_sni(srv, name, srv->ud) : NULL;
      if (s->closing) return;
      if (cfg) { lode_tls_config_ref(cfg); s->sni_cfg = cfg; }
      lode_tls_conn_use_config(s->tls, cfg);
      rc = lode_tls_conn_handshake(s->tls);
    }
    if (rc == LODE_TLS_ERR_AGAIN) { tls_send(s); return; }
    if (rc != 0) { tls_fail(s); return; }
    tls_send(s);
    tls_established(s);
    if (s->closing || (!s->connected && s->raw_cb == NULL)) return;
  }
  if (s->e->rbuf == NULL && (s->e->rbuf = malloc(READ_BUF_SIZE)) == NULL) {
    session_start_close(s);
    return;
  }
  rbuf = s->e->rbuf; /* the engine's shared buffer: plaintext is consumed in this loop */
  for (;;) {
    size_t got = 0;
    int rc = lode_tls_conn_read(s->tls, (char *)rbuf, READ_BUF_SIZE, &got);
    if (rc == LODE_TLS_ERR_AGAIN) break;
    if (rc == LODE_TLS_ERR_EOF) { session_start_close(s); return; }
    if (rc != 0) { tls_fail(s); return; }
    if (s->raw_cb) {
      if (!s->raw_ending) s->raw_cb(s, rbuf, got, s->raw_ud);
      if (s->closing) return;
      continue;
    }
    if (s->failed) continue; /* draining after a protocol error */
    if (session_input(s, rbuf, got) < 0) {
      if (s->closing) return;
      break;
    }
  }
  tls_send(s);
  session_mark_dirty(s);
}

void lode_server_set_sni(lode_server *srv, lode_sni_cb on_sni) { srv->on_sni = on_sni; }

void lode_server_set_tls_error(lode_server *srv, lode_tls_error_cb cb) { srv->on_tls_error = cb; }

void lode_server_set_tls(lode_server *srv, struct lode_tls_config *cfg, lode_alpn_cb on_alpn) {
  if (cfg) lode_tls_config_ref(cfg);
  if (srv->tls_cfg) lode_tls_config_unref(srv->tls_cfg);
  srv->tls_cfg = cfg;
  srv->on_alpn = on_alpn;
}

int lode_session_connect_tls(lode_engine *e, const char *host, int port,
                             const lode_session_options *opts, struct lode_tls_config *cfg,
                             const char *servername, const lode_session_callbacks *cb, void *ud,
                             lode_session **out) {
  lode_tls_conn *c;
  char err[LODE_TLS_ERRLEN];
  int rc;
  if (lode_tls_conn_new(&c, cfg, servername, err) != 0) return UV_ENOMEM;
  rc = lode_session_connect(e, host, port, opts, cb, ud, out);
  if (rc < 0) { lode_tls_conn_free(c); return rc; }
  (*out)->tls = c;
  return 0;
}

#else

void lode_server_set_tls(lode_server *srv, struct lode_tls_config *cfg, lode_alpn_cb on_alpn) {
  (void)srv; (void)cfg; (void)on_alpn;
}

void lode_server_set_sni(lode_server *srv, lode_sni_cb on_sni) { (void)srv; (void)on_sni; }

void lode_server_set_tls_error(lode_server *srv, lode_tls_error_cb cb) { (void)srv; (void)cb; }

int lode_session_connect_tls(lode_engine *e, const char *host, int port,
                             const lode_session_options *opts, struct lode_tls_config *cfg,
                             const char *servername, const lode_session_callbacks *cb, void *ud,
                             lode_session **out) {
  (void)e; (void)host; (void)port; (void)opts; (void)cfg; (void)servername; (void)cb; (void)ud;
  (void)out;
  return UV_ENOTSUP;
}

#endif

struct lode_tls_conn *lode_session_tls(lode_session *s) { return s->tls; }

void lode_session_set_raw(lode_session *s, lode_raw_cb cb, void *ud) {
  s->raw_cb = cb;
  s->raw_ud = ud;
}

int lode_session_raw_write(lode_session *s, const uint8_t *data, size_t len, int end) {
#ifdef LODE_HAVE_TLS
  if (s->closing || s->raw_ending || s->tls == NULL || !s->tls_up) return UV_EPIPE;
  if (len && lode_tls_conn_write(s->tls, (const char *)data, len) != 0) return UV_EPROTO;
  if (end) {
    lode_tls_conn_close_notify(s->tls);
    s->raw_ending = 1;
  }
  tls_send(s);
  if (end && !s->closing && s->inflight == 0) session_start_close(s);
  return 0;
#else
  (void)s; (void)data; (void)len; (void)end;
  return UV_ENOTSUP;
#endif
}

size_t lode_session_raw_pending(lode_session *s) { return s->inflight_bytes; }

int lode_session_altsvc(lode_session *s, int32_t stream_id, const char *origin, size_t olen,
                        const char *field, size_t flen) {
  int rc;
  if (s->closing || s->ng == NULL) return NGHTTP2_ERR_INVALID_STATE;
  rc = nghttp2_submit_altsvc(s->ng, NGHTTP2_FLAG_NONE, stream_id, (const uint8_t *)origin, olen,
                             (const uint8_t *)field, flen);
  if (rc == 0) session_mark_dirty(s);
  return rc;
}

int lode_session_origin(lode_session *s, const char *const *origins, const size_t *lens, size_t n) {
  nghttp2_origin_entry ov[64];
  size_t i;
  int rc;
  if (s->closing || s->ng == NULL) return NGHTTP2_ERR_INVALID_STATE;
  if (n > 64) return NGHTTP2_ERR_INVALID_ARGUMENT;
  for (i = 0; i < n; i++) {
    ov[i].origin = (uint8_t *)origins[i];
    ov[i].origin_len = lens[i];
  }
  rc = nghttp2_submit_origin(s->ng, NGHTTP2_FLAG_NONE, ov, n);
  if (rc == 0) session_mark_dirty(s);
  return rc;
}
