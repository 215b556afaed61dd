/*
 * Drives src/cli/alloc.c the way Lua does (allocate, grow and shrink across the small/large
 * boundary, free with the block's size) with every block filled with its own pattern, and checks
 * that no block ever sees another's bytes. Then runs a Lua state on it. Prints "ok" on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "alloc.h"

#define N 4000

static unsigned rnd(void) {
  static unsigned x = 2463534242u;
  x ^= x << 13; x ^= x >> 17; x ^= x << 5;
  return x;
}

static int check(const unsigned char *p, size_t n, unsigned char v) {
  size_t i;
  for (i = 0; i < n; i++) if (p[i] != v) return 0;
  return 1;
}

int main(void) {
  lode_alloc *a = lode_alloc_new();
  static unsigned char *blocks[N];
  static size_t sizes[N];
  int i, round;
  lua_State *L;
  for (round = 0; round < 200000; round++) {
    int k = (int)(rnd() % N);
    size_t nsize = (rnd() % 4 == 0) ? rnd() % 2000 : rnd() % 300;
    if (blocks[k] != NULL && !check(blocks[k], sizes[k], (unsigned char)k)) {
      printf("block %d corrupted\n", k);
      return 1;
    }
    if (blocks[k] != NULL && nsize > 0) {
      size_t keep = sizes[k] < nsize ? sizes[k] : nsize;
      blocks[k] = lode_alloc_fn(a, blocks[k], sizes[k], nsize);
      if (!check(blocks[k], keep, (unsigned char)k)) {
        printf("block %d lost its bytes in a resize %zu -> %zu\n", k, sizes[k], nsize);
        return 1;
      }
    } else if (blocks[k] != NULL) {
      lode_alloc_fn(a, blocks[k], sizes[k], 0);
      blocks[k] = NULL;
    } else if (nsize > 0) {
      blocks[k] = lode_alloc_fn(a, NULL, LUA_TTABLE, nsize);
    }
    if (blocks[k] == NULL && nsize > 0) {
      printf("out of memory\n");
      return 1;
    }
    if (blocks[k] != NULL) {
      if (((size_t)blocks[k] & 15) != 0) { printf("block %d misaligned\n", k); return 1; }
      sizes[k] = nsize;
      memset(blocks[k], (unsigned char)k, nsize);
    }
  }
  for (i = 0; i < N; i++) {
    if (blocks[i] != NULL) lode_alloc_fn(a, blocks[i], sizes[i], 0);
  }
  L = lua_newstate(lode_alloc_fn, a);
  luaL_openlibs(L);
  if (luaL_dostring(L,
      "local t = {} for i = 1, 200000 do t[i % 1000] = { i, tostring(i) .. 'x', {} } end "
      "local s = {} for i = 1, 10000 do s[#s + 1] = string.rep('a', i % 300) end "
      "collectgarbage() assert(#table.concat(s) > 0) assert(t[999][2] == '199999x')") != LUA_OK) {
    printf("lua: %s\n", lua_tostring(L, -1));
    return 1;
  }
  lua_close(L);
  lode_alloc_free(a);
  printf("ok\n");
  return 0;
}
