/*
 * catalog - the catalog pool: categories (and, as the pool grows, stores,
 * products, inventory). Reads are public; writes need catalog.manage.
 */
#ifndef MANDI_CATALOG_H
#define MANDI_CATALOG_H

#include "answer.h"
#include "worker.h"

extern const job_handler_t catalog_jobs[];

int category_list(job_ctx_t *ctx);
int category_tree(job_ctx_t *ctx);
int category_get(job_ctx_t *ctx);
int category_create(job_ctx_t *ctx);
int category_update(job_ctx_t *ctx);
int category_delete(job_ctx_t *ctx);

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
int boost_plan_list(job_ctx_t *ctx);

#endif
