/*
 * catalog_cache - the catalog's read cache in Redis.
 *
 * A cached entry is a reply body (msgpack) stored under its key and the
 * value of a version counter: "<key>@<version>". Writers never delete
 * entries; they bump the counter after their commit (job_bump_after_commit),
 * so readers that come after the write's reply look under the new version
 * and miss. A reader that read the old version before the commit and the
 * database after it stores its entry under the old version, which nobody
 * reads any more: an entry can never be newer than its version says, and no
 * read after a write's reply sees data from before it. Entries expire after
 * CACHE_TTL_S, which bounds the memory of dead versions (and how long an
 * entry could outlive a write whose bump was lost with Redis).
 *
 * Counters: CACHE_PRODUCTS for every product list, CACHE_PRODUCT_PREFIX +
 * id for one product's detail.
 */
#ifndef MANDI_CATALOG_CACHE_H
#define MANDI_CATALOG_CACHE_H

#include "worker.h"

#define CACHE_TTL_S          300
#define CACHE_PRODUCTS       "cat:v:products"
#define CACHE_PRODUCT_PREFIX "cat:v:product:"

typedef struct {
    char key[1100]; /* "<key>@<version>" to store under; "" when not to store */
} cache_slot_t;

/* Looks key up under the counter version_key in one round trip. On a hit
 * the cached body becomes the reply body and 1 is returned. On a miss (or
 * when Redis is down: then the slot stays empty) 0 is returned and slot
 * says where cache_store puts the body the handler then builds. */
int cache_fetch(job_ctx_t *ctx, const char *version_key, const char *key, cache_slot_t *slot);

/* Stores the reply body under the slot of a miss (nothing when empty). */
void cache_store(job_ctx_t *ctx, const cache_slot_t *slot);

/* After commit: every product list, and product id's detail when id is
 * not NULL. */
void cache_bump_products(job_ctx_t *ctx, const char *id);

#endif
