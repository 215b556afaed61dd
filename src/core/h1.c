/*
 * The HTTP/1.1 fallback's parser: llhttp callbacks only record (header strings are copied into
 * the message's own buffer, body chunks point into the caller's bytes); lode_h1_next() hands
 * the events over after llhttp_execute has returned.
 */
#include <stdlib.h>
#include <string.h>

#include <llhttp.h>

#include "lode_h1.h"

typedef struct rec {
  int type;
  size_t msg;          /* REQUEST: index into the message table */
  const char *data;    /* BODY */
  size_t len;
} rec;

typedef struct msg {
  char *buf;           /* method \0 url \0 name \0 value \0 ... */
  size_t blen, bcap;
  size_t *offs;        /* start of each string in |buf|, with its length in |lens| */
  size_t *lens;
  size_t nstr, capstr;
  int major, minor, keep_alive, upgrade;
  const char *method;
  /* views for the event */
  const char **names, **values;
  size_t *nlens, *vlens;
} msg;

struct lode_h1 {
  llhttp_t parser;
  llhttp_settings_t settings;
  rec *recs;
  size_t nrec, caprec, next;
  msg *msgs;
  size_t nmsg, capmsg;
  int in_field;        /* the string being appended to: 0 url, 1 field, 2 value */
  int failed;
  lode_h1_event ev;
};

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  size_t c = *cap ? *cap : 8;
  void *np;
  if (need <= *cap) return 0;
  while (c < need) c *= 2;
  np = realloc(*p, c * size);
  if (np == NULL) return -1;
  *p = np;
  *cap = c;
  return 0;
}

static rec *rec_new(lode_h1 *p, int type) {
  if (grow((void **)&p->recs, &p->caprec, p->nrec + 1, sizeof *p->recs) < 0) return NULL;
  memset(&p->recs[p->nrec], 0, sizeof p->recs[0]);
  p->recs[p->nrec].type = type;
  return &p->recs[p->nrec++];
}

static msg *cur_msg(lode_h1 *p) { return p->nmsg ? &p->msgs[p->nmsg - 1] : NULL; }

/* Starts a new string in the current message. */
static int str_begin(msg *m) {
  if (grow((void **)&m->offs, &m->capstr, m->nstr + 1, sizeof *m->offs) < 0) return -1;
  m->lens = realloc(m->lens, m->capstr * sizeof *m->lens);
  if (m->lens == NULL) return -1;
  m->offs[m->nstr] = m->blen;
  m->lens[m->nstr] = 0;
  m->nstr++;
  return 0;
}

static int str_add(msg *m, const char *at, size_t len) {
  if (grow((void **)&m->buf, &m->bcap, m->blen + len + 1, 1) < 0) return -1;
  memcpy(m->buf + m->blen, at, len);
  m->blen += len;
  m->buf[m->blen] = '\0';
  m->lens[m->nstr - 1] += len;
  return 0;
}

static int str_end(msg *m) {
  if (grow((void **)&m->buf, &m->bcap, m->blen + 1, 1) < 0) return -1;
  m->buf[m->blen++] = '\0';
  return 0;
}

static lode_h1 *of(llhttp_t *h) { return (lode_h1 *)h; }

static int cb_message_begin(llhttp_t *h) {
  lode_h1 *p = of(h);
  msg *m;
  if (grow((void **)&p->msgs, &p->capmsg, p->nmsg + 1, sizeof *p->msgs) < 0) return -1;
  m = &p->msgs[p->nmsg++];
  memset(m, 0, sizeof *m);
  /* string 0: the method (filled at headers_complete), string 1: the url */
  if (str_begin(m) < 0 || str_end(m) < 0 || str_begin(m) < 0) return -1;
  p->in_field = 0;
  return 0;
}

static int cb_url(llhttp_t *h, const char *at, size_t len) { return str_add(cur_msg(of(h)), at, len); }

static int cb_header_field(llhttp_t *h, const char *at, size_t len) {
  lode_h1 *p = of(h);
  msg *m = cur_msg(p);
  if (p->in_field != 1) {
    if (str_end(m) < 0 || str_begin(m) < 0) return -1;
    p->in_field = 1;
  }
  return str_add(m, at, len);
}

static int cb_header_value(llhttp_t *h, const char *at, size_t len) {
  lode_h1 *p = of(h);
  msg *m = cur_msg(p);
  if (p->in_field != 2) {
    if (str_end(m) < 0 || str_begin(m) < 0) return -1;
    p->in_field = 2;
  }
  return str_add(m, at, len);
}

static int cb_headers_complete(llhttp_t *h) {
  lode_h1 *p = of(h);
  msg *m = cur_msg(p);
  rec *r;
  if (p->in_field == 1 && (str_end(m) < 0 || str_begin(m) < 0)) return -1; /* a field without value */
  if (str_end(m) < 0) return -1;
  m->major = h->http_major;
  m->minor = h->http_minor;
  m->keep_alive = llhttp_should_keep_alive(h);
  m->upgrade = h->upgrade;
  m->method = llhttp_method_name((llhttp_method_t)h->method);
  r = rec_new(p, LODE_H1_REQUEST);
  if (r == NULL) return -1;
  r->msg = p->nmsg - 1;
  return 0;
}

static int cb_body(llhttp_t *h, const char *at, size_t len) {
  rec *r = rec_new(of(h), LODE_H1_BODY);
  if (r == NULL) return -1;
  r->data = at;
  r->len = len;
  return 0;
}

static int cb_message_complete(llhttp_t *h) {
  lode_h1 *p = of(h);
  if (rec_new(p, LODE_H1_END) == NULL) return -1;
  /* keep-alive is recomputed per message */
  if (p->nmsg > 0) p->msgs[p->nmsg - 1].keep_alive = llhttp_should_keep_alive(h);
  return 0;
}

lode_h1 *lode_h1_new(void) {
  lode_h1 *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  llhttp_settings_init(&p->settings);
  p->settings.on_message_begin = cb_message_begin;
  p->settings.on_url = cb_url;
  p->settings.on_header_field = cb_header_field;
  p->settings.on_header_value = cb_header_value;
  p->settings.on_headers_complete = cb_headers_complete;
  p->settings.on_body = cb_body;
  p->settings.on_message_complete = cb_message_complete;
  llhttp_init(&p->parser, HTTP_REQUEST, &p->settings);
  return p;
}

static void msgs_free(lode_h1 *p) {
  size_t i;
  for (i = 0; i < p->nmsg; i++) {
    msg *m = &p->msgs[i];
    free(m->buf);
    free(m->offs);
    free(m->lens);
    free(m->names);
    free(m->values);
    free(m->nlens);
    free(m->vlens);
  }
  p->nmsg = 0;
}

void lode_h1_free(lode_h1 *p) {
  if (p == NULL) return;
  msgs_free(p);
  free(p->msgs);
  free(p->recs);
  free(p);
}

int lode_h1_execute(lode_h1 *p, const char *data, size_t len, const char **code,
                    const char **reason) {
  llhttp_errno_t rc;
  msg keep;
  int have_keep = 0;
  /* Drop what was handed over, keeping the message still being parsed. */
  if (p->nmsg > 0 && p->parser.finish != HTTP_FINISH_SAFE) {
    keep = p->msgs[p->nmsg - 1];
    have_keep = 1;
    p->nmsg--;
  }
  msgs_free(p);
  if (have_keep) {
    free(keep.names); free(keep.values); free(keep.nlens); free(keep.vlens);
    keep.names = keep.values = NULL;
    keep.nlens = keep.vlens = NULL;
    p->msgs[0] = keep;
    p->nmsg = 1;
  }
  p->nrec = 0;
  p->next = 0;
  if (p->failed) { *code = "HPE_CLOSED"; *reason = "parser failed"; return -1; }
  rc = llhttp_execute(&p->parser, data, len);
  if (rc != HPE_OK) {
    p->failed = 1;
    *code = llhttp_errno_name(rc);
    *reason = llhttp_get_error_reason(&p->parser);
    if (*reason == NULL) *reason = *code;
    return -1;
  }
  return 0;
}

const lode_h1_event *lode_h1_next(lode_h1 *p) {
  rec *r;
  lode_h1_event *ev = &p->ev;
  if (p->next >= p->nrec) return NULL;
  r = &p->recs[p->next++];
  memset(ev, 0, sizeof *ev);
  ev->type = r->type;
  if (r->type == LODE_H1_REQUEST) {
    msg *m = &p->msgs[r->msg];
    size_t i, n = (m->nstr - 2) / 2;
    m->names = malloc((n + 1) * sizeof *m->names);
    m->values = malloc((n + 1) * sizeof *m->values);
    m->nlens = malloc((n + 1) * sizeof *m->nlens);
    m->vlens = malloc((n + 1) * sizeof *m->vlens);
    if (!m->names || !m->values || !m->nlens || !m->vlens) n = 0;
    for (i = 0; i < n && m->names; i++) {
      m->names[i] = m->buf + m->offs[2 + 2 * i];
      m->nlens[i] = m->lens[2 + 2 * i];
      m->values[i] = m->buf + m->offs[3 + 2 * i];
      m->vlens[i] = m->lens[3 + 2 * i];
    }
    ev->method = m->method;
    ev->url = m->buf + m->offs[1];
    ev->url_len = m->lens[1];
    ev->names = m->names;
    ev->values = m->values;
    ev->name_lens = m->nlens;
    ev->value_lens = m->vlens;
    ev->nheaders = n;
    ev->http_major = m->major;
    ev->http_minor = m->minor;
    ev->keep_alive = m->keep_alive;
    ev->upgrade = m->upgrade;
  } else {
    ev->data = r->data;
    ev->len = r->len;
  }
  return ev;
}
