/*
 * analytics - the analytics pool: the schedules' view and CSV exports.
 */
#ifndef MANDI_ANALYTICS_H
#define MANDI_ANALYTICS_H

#include "answer.h"
#include "worker.h"

extern const job_handler_t analytics_jobs[];

int schedule_list(job_ctx_t *ctx);
int export_run(job_ctx_t *ctx);
int export_get(job_ctx_t *ctx);

#endif
