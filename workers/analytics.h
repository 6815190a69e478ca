/*
 * analytics - the analytics pool: app and domain events recorded in
 * analytics_events (analytics_ingest.c), the admin dashboard, the reports
 * and the daily snapshot (analytics_report.c), CSV exports
 * (analytics_export.c) and the schedules' view.
 */
#ifndef MANDI_ANALYTICS_H
#define MANDI_ANALYTICS_H

#include "answer.h"
#include "consumer.h"
#include "worker.h"

extern const job_handler_t analytics_jobs[];

/* The domain-event handlers: every topic is recorded, once per delivery
 * id (ctx->job->id). */
extern const event_handler_t analytics_events[];

int schedule_list(job_ctx_t *ctx);
int export_run(job_ctx_t *ctx);
int export_get(job_ctx_t *ctx);

int analytics_ingest(job_ctx_t *ctx);
int analytics_test_event(job_ctx_t *ctx);

int analytics_dashboard(job_ctx_t *ctx);
int analytics_report(job_ctx_t *ctx);
int analytics_snapshot(job_ctx_t *ctx);

#endif
