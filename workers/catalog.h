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

#endif
