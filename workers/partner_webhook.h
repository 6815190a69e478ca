/*
 * partner_webhook - outbound webhooks for partners: their administration,
 * the notifications pool's event handler that makes deliveries, and the
 * signed, retried delivery job (see partner_webhook.c).
 */
#ifndef MANDI_PARTNER_WEBHOOK_H
#define MANDI_PARTNER_WEBHOOK_H

#include "answer.h"
#include "consumer.h"
#include "worker.h"

extern const job_handler_t partner_webhook_jobs[];
extern const event_handler_t partner_webhook_events[];

int partner_webhook_create(job_ctx_t *ctx);
int partner_webhook_list(job_ctx_t *ctx);
int partner_webhook_delete(job_ctx_t *ctx);
int partner_webhook_deliveries(job_ctx_t *ctx);
int partner_webhook_deliver(job_ctx_t *ctx);

#endif
