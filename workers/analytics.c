/*
 * analytics - the pool's job table, and the schedules' view: what the
 * scheduler (mandi-scheduler) runs, when each last ran with what outcome,
 * and when each runs next.
 */
#include "analytics.h"

int schedule_list(job_ctx_t *ctx)
{
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('items', coalesce(jsonb_agg("
                       "mandi_schedule_json(s) ORDER BY s.name), '[]'))::text FROM schedules s",
                       0, NULL, "SCHEDULE_NOT_FOUND", "no schedules");
}

const job_handler_t analytics_jobs[] = {
    {"schedule.list", schedule_list, 0},
    {"export.run", export_run, JOB_TX},
    {"export.get", export_get, 0},
    {NULL, NULL, 0},
};
