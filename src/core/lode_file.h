/*
 * File-backed DATA (respondWithFile / respondWithFD): the engine reads the body straight from an
 * fd into nghttp2's frame buffer, one frame at a time, so memory stays flat whatever the size.
 * Internal to src/core: session.c is the only user.
 */
#ifndef LODE_FILE_H
#define LODE_FILE_H

#include <stdint.h>
#include <sys/types.h>

typedef struct lode_file lode_file;

/*
 * A source reading |fd| from |offset|, |length| bytes (< 0: to the end of the file). The fd is
 * not owned: lode__file_free() does not close it. NULL when out of memory.
 */
lode_file *lode__file_new(int fd, int64_t offset, int64_t length);
/*
 * Reads up to |len| bytes into |buf|. Returns the count (0 with *eof set at the end), or a
 * negative UV_E* code: a read error, or UV_EIO when the file ended before |length| bytes.
 */
ssize_t lode__file_read(lode_file *f, uint8_t *buf, size_t len, int *eof);
void lode__file_free(lode_file *f);

#endif
