/*
 * analytics - the analytics pool: so far the schedules' view (the rest of
 * the pool, events and dashboards, is to come).
 */
#ifndef MANDI_ANALYTICS_H
#define MANDI_ANALYTICS_H

#include "answer.h"
#include "worker.h"

extern const job_handler_t analytics_jobs[];

int schedule_list(job_ctx_t *ctx);

#endif
