/*
 * catalog - the catalog pool: categories, stores, products, inventory,
 * favorites, back-in-stock requests. Reads are public and cached
 * (catalog_cache.h); writes need catalog.manage (categories) or
 * catalog.sell (a merchant's own stores and products; admins any).
 */
#ifndef MANDI_CATALOG_H
#define MANDI_CATALOG_H

#include "answer.h"
#include "worker.h"

extern const job_handler_t catalog_jobs[];

#define STORE_NOT_FOUND   "STORE_NOT_FOUND", "the store does not exist"
#define PRODUCT_NOT_FOUND "PRODUCT_NOT_FOUND", "the product does not exist"

/* The caller is an ADMIN or SUPER_ADMIN (who may act on any store). */
int catalog_is_admin(const job_ctx_t *ctx);

/* The store exists and the caller may act on it (its owner, or an admin),
 * its row locked for the rest of the job. Returns 0, or 404
 * STORE_NOT_FOUND / 403 NOT_STORE_OWNER (job_fail called). */
int catalog_own_store(job_ctx_t *ctx, const char *store_id);

/* The same for a live product, through its store. Writers pass lock
 * (CATALOG_LOCK) to hold the product's row for the rest of the job; reads
 * (CATALOG_READ) take no lock, which would dirty the row for nothing. */
enum { CATALOG_READ = 0, CATALOG_LOCK = 1 };
int catalog_own_product(job_ctx_t *ctx, const char *product_id, int lock);

/* What one stock change did. */
typedef struct {
    int ok;
    int64_t before, after, threshold;
    char store[37], owner[37];
} stock_change_t;

/* Changes a live product's stock by delta, or to set when has_set, inside
 * the job's transaction: row lock, history row (reason, the caller as
 * actor), the stock events, back-in-stock requests settled on a restock,
 * the cache told after commit. Returns 0, or the status answered: 404
 * PRODUCT_NOT_FOUND, 409 INSUFFICIENT_STOCK (details product_id,
 * available), 503. Other pools (orders) reserve and release stock with it. */
int stock_change(job_ctx_t *ctx, const char *product, int64_t delta, int has_set, int64_t set,
                 const char *reason, stock_change_t *c);

/* Answers 409 INSUFFICIENT_STOCK with details {product_id, available}. */
int stock_insufficient(job_ctx_t *ctx, const char *product, int64_t available);

int category_list(job_ctx_t *ctx);
int category_tree(job_ctx_t *ctx);
int category_get(job_ctx_t *ctx);
int category_create(job_ctx_t *ctx);
int category_update(job_ctx_t *ctx);
int category_delete(job_ctx_t *ctx);

int store_list(job_ctx_t *ctx);
int store_nearby(job_ctx_t *ctx);
int store_get(job_ctx_t *ctx);
int store_create(job_ctx_t *ctx);
int store_update(job_ctx_t *ctx);

int product_list(job_ctx_t *ctx);
int product_get(job_ctx_t *ctx);
int product_create(job_ctx_t *ctx);
int product_update(job_ctx_t *ctx);
int product_delete(job_ctx_t *ctx);

int stock_adjust(job_ctx_t *ctx);
int stock_bulk_update(job_ctx_t *ctx);
int stock_low(job_ctx_t *ctx);
int stock_out(job_ctx_t *ctx);
int stock_history(job_ctx_t *ctx);
int stock_report(job_ctx_t *ctx);

int favorite_list(job_ctx_t *ctx);
int favorite_add(job_ctx_t *ctx);
int favorite_remove(job_ctx_t *ctx);

int notify_subscribe(job_ctx_t *ctx);
int notify_unsubscribe(job_ctx_t *ctx);
int notify_mine(job_ctx_t *ctx);
int notify_check(job_ctx_t *ctx);
int notify_product_requests(job_ctx_t *ctx);
int notify_stats(job_ctx_t *ctx);
/* Listings (catalog_listing.c): users selling their own items. */
int listing_list(job_ctx_t *ctx);
int listing_get(job_ctx_t *ctx);
int listing_create(job_ctx_t *ctx);
int listing_update(job_ctx_t *ctx);
int listing_delete(job_ctx_t *ctx);
int listing_review(job_ctx_t *ctx);
int listing_sold(job_ctx_t *ctx);
int listing_boost(job_ctx_t *ctx);
int listing_expire(job_ctx_t *ctx);
int listing_remind_expiring(job_ctx_t *ctx);
int boost_plan_list(job_ctx_t *ctx);

#endif
