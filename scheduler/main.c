/*
 * mandi-scheduler - enqueues the periodic jobs of the schedules table
 * (sql/021_schedules.sql) at the occurrences of their cron expressions.
 *
 * Once a tick (MANDI_SCHEDULER_TICK_MS) it takes the due schedules with
 * FOR UPDATE SKIP LOCKED and, for each, in one transaction: records the
 * occurrence in schedule_runs (unique per schedule and occurrence), writes
 * its job into the jobs table (the front's recovery sweep sends it, as for
 * any job a worker enqueues), and moves next_run_at on. Two schedulers may
 * run at once, on any hosts: the row lock keeps them off the same schedule
 * and the unique occurrence keeps an occurrence from firing twice, so
 * running two is how the scheduler is made highly available. It holds no
 * state of its own; a restart picks up from the table.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "codec.h"
#include "config.h"
#include "cron.h"
#include "db.h"
#include "log.h"
#include "worker.h"

#define DUE_BATCH "20"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

/* body with {{today}} and {{yesterday}} replaced by the occurrence's India
 * dates. */
static void expand_body(const char *body, int64_t occurrence, buf_t *out)
{
    static const struct {
        const char *mark;
        int days;
    } marks[] = {{"{{today}}", 0}, {"{{yesterday}}", -1}};
    buf_reset(out);
    for (const char *p = body; *p;) {
        size_t i = 0, n = sizeof marks / sizeof marks[0];
        while (i < n && strncmp(p, marks[i].mark, strlen(marks[i].mark)) != 0)
            i++;
        if (i < n) {
            char date[11];
            cron_india_date(occurrence, marks[i].days, date);
            buf_append_str(out, date);
            p += strlen(marks[i].mark);
        } else {
            buf_append_char(out, *p++);
        }
    }
}

/* Fires one due schedule (row i of res) inside the open transaction:
 * returns 0, or -1 after logging why (the caller rolls back). */
static int fire(PGconn *db, PGresult *res, int i, const char *me)
{
    const char *name = PQgetvalue(res, i, 0), *expr = PQgetvalue(res, i, 1);
    const char *service = PQgetvalue(res, i, 2), *type = PQgetvalue(res, i, 3);
    int planned = !PQgetisnull(res, i, 5);
    int64_t due = planned ? atoll(PQgetvalue(res, i, 5)) : 0, now = (int64_t)time(NULL);
    cron_t cron;
    char why[128];
    if (cron_parse(expr, &cron, why, sizeof why) < 0) {
        log_msg(LOG_ERROR, NULL, "schedule %s: cron \"%s\": %s", name, expr, why);
        return -1;
    }
    char next[24], occurrence[24], job_id[37] = "";
    snprintf(next, sizeof next, "%lld", (long long)cron_next(&cron, now));
    snprintf(occurrence, sizeof occurrence, "%lld", (long long)due);
    if (planned && db_exec(db, "SAVEPOINT fire") < 0)
        return -1;
    if (planned) {
        buf_t body = BUF_INIT, packed = BUF_INIT;
        expand_body(PQgetvalue(res, i, 4), due, &body);
        int rc = codec_json_to_msgpack(body.data, body.len, &packed, NULL);
        char request_id[96];
        snprintf(request_id, sizeof request_id, "schedule-%s-%s", name, occurrence);
        if (rc == 0)
            rc = job_enqueue_db(db, service, type, request_id, packed.data, packed.len, job_id);
        buf_free(&body);
        buf_free(&packed);
        if (rc < 0) {
            log_msg(LOG_ERROR, NULL, "schedule %s: its job could not be enqueued", name);
            return -1;
        }
        const char *params[] = {name, occurrence, job_id, me};
        PGresult *r = PQexecParams(db,
                                   "INSERT INTO schedule_runs (schedule, occurrence, job_id, "
                                   "scheduler) VALUES ($1, to_timestamp($2::bigint), $3::uuid, $4) "
                                   "ON CONFLICT DO NOTHING RETURNING 1",
                                   4, NULL, params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_TUPLES_OK, fresh = ok && PQntuples(r) == 1;
        if (!ok)
            log_msg(LOG_ERROR, NULL, "schedule %s: %s", name, PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return -1;
        if (!fresh) {
            /* Fired before (next_run_at was set back by hand): the job just
             * written is undone, and the schedule moves on. */
            log_msg(LOG_INFO, NULL, "schedule %s: occurrence %s was fired before", name,
                    occurrence);
            job_id[0] = '\0';
            planned = 0;
            if (db_exec(db, "ROLLBACK TO SAVEPOINT fire") < 0)
                return -1;
        } else {
            log_msg(LOG_INFO, request_id, "schedule %s fired job %s (%s on %s)", name, job_id, type,
                    service);
        }
    }
    const char *params[] = {name, next, planned ? occurrence : NULL, job_id[0] ? job_id : NULL};
    PGresult *r = PQexecParams(db,
                               "UPDATE schedules SET next_run_at = CASE WHEN $2::bigint < 0 "
                               "  THEN NULL ELSE to_timestamp($2::bigint) END, "
                               "last_run_at = coalesce(to_timestamp($3::bigint), last_run_at), "
                               "last_job_id = coalesce($4::uuid, last_job_id), "
                               "updated_at = now() WHERE name = $1",
                               4, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        log_msg(LOG_ERROR, NULL, "schedule %s: %s", name, PQresultErrorMessage(r));
    PQclear(r);
    return ok ? 0 : -1;
}

/* One pass over the due schedules: each in a transaction of its own, so
 * one broken schedule holds up no other. Returns how many were handled. */
static int tick(PGconn *db, const char *me)
{
    int handled = 0;
    /* The schedules that failed in this pass, as a JSON array of names:
     * they are passed over until the next tick. */
    buf_t failed = BUF_INIT;
    buf_append_char(&failed, '[');
    for (int more = 1; more && !stopping;) {
        if (db_exec(db, "BEGIN") < 0)
            break;
        buf_t skip = BUF_INIT;
        buf_append(&skip, failed.data, failed.len);
        buf_append_char(&skip, ']');
        const char *params[] = {skip.data};
        /* A schedule never planned (NULL) is planned, not fired. */
        PGresult *res = PQexecParams(db,
                                     "SELECT name, cron, service, job_type, body::text, "
                                     "extract(epoch FROM next_run_at)::bigint FROM schedules "
                                     "WHERE enabled AND (next_run_at IS NULL OR next_run_at <= "
                                     "now()) AND NOT jsonb_exists($1::jsonb, name) "
                                     "ORDER BY next_run_at NULLS FIRST, name LIMIT 1 "
                                     "FOR UPDATE SKIP LOCKED",
                                     1, NULL, params, NULL, NULL, 0);
        buf_free(&skip);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            log_msg(LOG_WARN, NULL, "scheduler: %s", PQresultErrorMessage(res));
            PQclear(res);
            db_exec(db, "ROLLBACK");
            break;
        }
        more = PQntuples(res) == 1;
        int ok = more && fire(db, res, 0, me) == 0;
        if (more && !ok) {
            /* Broken (logged): it stays due and is tried again next tick. */
            if (failed.len > 1)
                buf_append_char(&failed, ',');
            codec_json_string(&failed, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
        }
        PQclear(res);
        db_exec(db, ok ? "COMMIT" : "ROLLBACK");
        handled += ok;
    }
    buf_free(&failed);
    return handled;
}

int main(void)
{
    log_init("scheduler");
    if (config_check_at_start() < 0)
        return 1;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char host[64] = "", me[96];
    gethostname(host, sizeof host - 1);
    snprintf(me, sizeof me, "%s:%d", host, (int)getpid());
    const char *url = config_get("DATABASE_URL");
    long tick_ms = config_get_long("MANDI_SCHEDULER_TICK_MS");
    PGconn *db = NULL;
    log_msg(LOG_INFO, NULL, "scheduler %s started", me);
    while (!stopping) {
        if (db_ensure(&db, url) == 0)
            tick(db, me);
        struct timespec pause = {tick_ms / 1000, (tick_ms % 1000) * 1000000L};
        while (nanosleep(&pause, &pause) < 0 && errno == EINTR && !stopping)
            ;
    }
    db_close(&db);
    log_msg(LOG_INFO, NULL, "scheduler %s stopped", me);
    return 0;
}
