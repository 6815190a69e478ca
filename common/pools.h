/*
 * pools - the names of mandi's worker pools.
 *
 * One list for every process: workers accept only these names, the front
 * validates ":pool" path parameters against it and /ready requires a live
 * worker in each.
 */
#ifndef MANDI_POOL_NAMES_H
#define MANDI_POOL_NAMES_H

#include <stddef.h>

extern const char *const pool_names[];
extern const size_t pool_count;

/* 1 if name (len bytes) is a pool's name. */
int pool_is_known(const char *name, size_t len);

#endif
