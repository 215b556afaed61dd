/*
 * The lode executable's Lua allocator: blocks of up to LODE_ALLOC_SMALL bytes come from per-size
 * free lists carved out of 64 KiB slabs; bigger ones from malloc. A request allocates and frees
 * dozens of small blocks (tables, closures, short strings); glibc's per-thread cache holds only
 * seven of each size, so a burst of requests went to malloc's slow path for most of them.
 */
#ifndef LODE_CLI_ALLOC_H
#define LODE_CLI_ALLOC_H

#include <stddef.h>

typedef struct lode_alloc lode_alloc;

lode_alloc *lode_alloc_new(void);
/* A lua_Alloc: lua_newstate(lode_alloc_fn, a). */
void *lode_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);
/* After lua_close: returns the slabs to the system. */
void lode_alloc_free(lode_alloc *a);

#endif
