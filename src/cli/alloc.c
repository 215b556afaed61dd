/*
 * Size classes of 16 bytes up to LODE_ALLOC_SMALL. Lua tells the size of every block it frees or
 * resizes (osize), so a block needs no header: the class is found from the size. That only holds
 * if every block of the state came from here, which is why the state is made with lua_newstate.
 * Free blocks are never handed back to malloc before lode_alloc_free: a server's small-block
 * high-water mark is reused request after request.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define LODE_ALLOC_SMALL 256
#define CLASS_SHIFT 4
#define NCLASSES (LODE_ALLOC_SMALL >> CLASS_SHIFT)
#define SLAB_SIZE (64 * 1024)

typedef struct free_block { struct free_block *next; } free_block;
typedef struct slab { struct slab *next; } slab;

struct lode_alloc {
  free_block *free[NCLASSES];
  slab *slabs;
  char *cur, *end; /* the unused tail of the newest slab */
};

static size_t class_of(size_t size) { return (size - 1) >> CLASS_SHIFT; }

lode_alloc *lode_alloc_new(void) { return calloc(1, sizeof(lode_alloc)); }

static void *small_alloc(lode_alloc *a, size_t cls) {
  size_t size = (cls + 1) << CLASS_SHIFT;
  free_block *b = a->free[cls];
  if (b != NULL) {
    a->free[cls] = b->next;
    return b;
  }
  if ((size_t)(a->end - a->cur) < size) {
    /* The tail of the old slab goes to the free lists, in the largest classes it fits. */
    while ((size_t)(a->end - a->cur) >= (1 << CLASS_SHIFT)) {
      size_t left = (size_t)(a->end - a->cur), c = class_of(left > LODE_ALLOC_SMALL ? LODE_ALLOC_SMALL : left);
      if (((c + 1) << CLASS_SHIFT) > left) c--;
      ((free_block *)a->cur)->next = a->free[c];
      a->free[c] = (free_block *)a->cur;
      a->cur += (c + 1) << CLASS_SHIFT;
    }
    slab *s = malloc(SLAB_SIZE);
    if (s == NULL) return NULL;
    s->next = a->slabs;
    a->slabs = s;
    a->cur = (char *)s + 16; /* the slab link, kept 16-byte aligned */
    a->end = (char *)s + SLAB_SIZE;
  }
  b = (free_block *)a->cur;
  a->cur += size;
  return b;
}

static void small_free(lode_alloc *a, void *p, size_t size) {
  free_block *b = p;
  size_t cls = class_of(size);
  b->next = a->free[cls];
  a->free[cls] = b;
}

void *lode_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  lode_alloc *a = ud;
  if (ptr == NULL) osize = 0; /* then osize only tells the kind of object */
  if (nsize == 0) {
    if (osize > LODE_ALLOC_SMALL) free(ptr);
    else if (ptr != NULL) small_free(a, ptr, osize);
    return NULL;
  }
  if (nsize <= LODE_ALLOC_SMALL) {
    void *p;
    if (ptr != NULL && osize <= LODE_ALLOC_SMALL && class_of(osize) == class_of(nsize)) return ptr;
    p = small_alloc(a, class_of(nsize));
    if (p == NULL) return NULL;
    if (ptr != NULL) {
      memcpy(p, ptr, osize < nsize ? osize : nsize);
      lode_alloc_fn(ud, ptr, osize, 0);
    }
    return p;
  }
  if (ptr == NULL || osize > LODE_ALLOC_SMALL) return realloc(ptr, nsize);
  {
    void *p = malloc(nsize);
    if (p == NULL) return NULL;
    memcpy(p, ptr, osize);
    small_free(a, ptr, osize);
    return p;
  }
}

void lode_alloc_free(lode_alloc *a) {
  if (a == NULL) return;
  while (a->slabs != NULL) {
    slab *s = a->slabs;
    a->slabs = s->next;
    free(s);
  }
  free(a);
}
