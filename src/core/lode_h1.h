/*
 * lode's HTTP/1.1 request parser for the allowHTTP1 fallback: llhttp (Debian's node-llhttp C
 * sources) behind a small event queue. No Lua, no sockets: the caller feeds the decrypted bytes
 * of one connection with lode_h1_execute() and then takes the events it recorded, in order, with
 * lode_h1_next() (so the user never runs inside llhttp's callbacks).
 */
#ifndef LODE_H1_H
#define LODE_H1_H

#include <stddef.h>

typedef struct lode_h1 lode_h1;

enum { LODE_H1_REQUEST = 1, LODE_H1_BODY = 2, LODE_H1_END = 3 };

typedef struct lode_h1_event {
  int type;
  /* LODE_H1_REQUEST */
  const char *method, *url;
  size_t url_len;
  const char *const *names, *const *values; /* |nheaders| fields, as received */
  const size_t *name_lens, *value_lens;
  size_t nheaders;
  int http_major, http_minor, keep_alive, upgrade;
  /* LODE_H1_BODY (points into the bytes given to lode_h1_execute) */
  const char *data;
  size_t len;
} lode_h1_event;

lode_h1 *lode_h1_new(void);
void lode_h1_free(lode_h1 *p);
/* Parses |len| bytes; returns 0, or -1 on a parse error (*|reason| says why, *|code| is
   llhttp's name, e.g. "HPE_INVALID_METHOD"). Events recorded before the error are still taken. */
int lode_h1_execute(lode_h1 *p, const char *data, size_t len, const char **code, const char **reason);
/* The next recorded event (valid until the next call of lode_h1_next or lode_h1_execute), or
   NULL when none is left. */
const lode_h1_event *lode_h1_next(lode_h1 *p);

#endif
