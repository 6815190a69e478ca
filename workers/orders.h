/*
 * orders - the orders pool: the cart, orders and their state machine,
 * delivery routes (and, as the pool grows, promotions).
 */
#ifndef MANDI_ORDERS_H
#define MANDI_ORDERS_H

#include "answer.h"
#include "worker.h"

extern const job_handler_t orders_jobs[];

int cart_get(job_ctx_t *ctx);
int cart_add_item(job_ctx_t *ctx);
int cart_update_item(job_ctx_t *ctx);
int cart_remove_item(job_ctx_t *ctx);
int cart_clear(job_ctx_t *ctx);
int cart_validate(job_ctx_t *ctx);

/* Validates the caller's cart: *valid says whether no problem blocks it,
 * and json receives {"valid", "problems", "cart"} with with_cart, else
 * {"problems"}. address (may be NULL) must be the caller's (else 404
 * ADDRESS_NOT_FOUND). Returns 0 or the status answered. */
int cart_problems(job_ctx_t *ctx, const char *address, int with_cart, int *valid, buf_t *json);

/* Opens (and locks) the caller's cart, emptying it when idle too long. */
int cart_open(job_ctx_t *ctx);

int order_create(job_ctx_t *ctx);
int order_list(job_ctx_t *ctx);
int order_stats(job_ctx_t *ctx);
int order_get(job_ctx_t *ctx);
int order_set_status(job_ctx_t *ctx);
int order_cancel(job_ctx_t *ctx);

int route_list(job_ctx_t *ctx);
int route_get(job_ctx_t *ctx);
int route_create(job_ctx_t *ctx);
int route_update(job_ctx_t *ctx);
int route_delete(job_ctx_t *ctx);
int route_assign(job_ctx_t *ctx);

#endif
