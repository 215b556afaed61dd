/*
 * File-backed DATA frames. nghttp2 asks for at most one frame's payload (16 KiB by default, up to
 * the peer's SETTINGS_MAX_FRAME_SIZE) and we pread exactly that into its buffer: no per-chunk
 * allocation, no Lua strings, nothing buffered beyond the session's bounded output batch.
 *
 * The read is a blocking pread on the loop thread. That is acceptable for regular files (the only
 * kind respondWithFile/respondWithFD accept): the page cache answers almost every read, and a
 * cold read costs one disk access per 16 KiB frame. A thread-pool read (uv_fs_read) would need a
 * deferred provider and a buffer per stream in flight; measure before paying for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <uv.h>

#include "lode_file.h"

struct lode_file {
  int fd;
  int64_t pos;       /* next offset to read */
  int64_t remaining; /* bytes left; < 0: until EOF */
};

lode_file *lode__file_new(int fd, int64_t offset, int64_t length) {
  lode_file *f = malloc(sizeof *f);
  if (f == NULL) return NULL;
  f->fd = fd;
  f->pos = offset < 0 ? 0 : offset;
  f->remaining = length;
  return f;
}

ssize_t lode__file_read(lode_file *f, uint8_t *buf, size_t len, int *eof) {
  ssize_t n;
  *eof = 0;
  if (f->remaining == 0) {
    *eof = 1;
    return 0;
  }
  if (f->remaining > 0 && (int64_t)len > f->remaining) len = (size_t)f->remaining;
  do {
    n = pread(f->fd, buf, len, (off_t)f->pos);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return uv_translate_sys_error(errno);
  if (n == 0) {
    /* The file is shorter than the length the headers announced: the body cannot be completed. */
    if (f->remaining > 0) return UV_EIO;
    *eof = 1;
    return 0;
  }
  f->pos += n;
  if (f->remaining > 0) {
    f->remaining -= n;
    if (f->remaining == 0) *eof = 1;
  }
  return n;
}

void lode__file_free(lode_file *f) { free(f); }
