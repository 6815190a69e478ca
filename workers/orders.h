/*
 * orders - the orders pool: the cart (and, as the pool grows, promotions,
 * orders and their state machine, delivery routes).
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

#endif
