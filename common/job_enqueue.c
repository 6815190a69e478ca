/*
 * job_enqueue - a handler starts a job for another pool (see worker.h).
 *
 * The new job is a row of the jobs table written on the handler's own
 * connection, so it commits or rolls back with the handler's work: an OTP
 * SMS is sent if and only if the OTP request succeeded, and a worker that
 * dies before committing leaves no stray job. The row's lease starts out
 * expired, so the front's recovery sweep, which runs every second, sends it
 * at once (or, for a job given a time, when that time comes); from then on
 * it is an ordinary durable job (attempts, lease,
 * exactly-once effects, visible on GET /api/jobs/{id}).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mp.h"
#include "uuid.h"
#include "worker.h"

int job_enqueue_at_db(PGconn *db, const char *service, const char *type, const char *request_id,
                      const char *body, size_t len, const char *not_before, char id[37])
{
    job_t job = {.attempt = 1, .durable = 1};
    uuid_v4(job.id);
    snprintf(job.service, sizeof job.service, "%s", service);
    snprintf(job.type, sizeof job.type, "%s", type);
    snprintf(job.request_id, sizeof job.request_id, "%s", request_id ? request_id : job.id);

    buf_t payload = BUF_INIT, envelope = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &payload, buf_msgpack_write);
    msgpack_pack_map(&pk, 3);
    mp_pack_cstr(&pk, "body");
    buf_append(&payload, body, len);
    mp_pack_cstr(&pk, "query");
    msgpack_pack_map(&pk, 0);
    mp_pack_cstr(&pk, "params");
    msgpack_pack_map(&pk, 0);
    job_encode(&job, payload.data, payload.len, &envelope);

    char max_attempts[16];
    snprintf(max_attempts, sizeof max_attempts, "%ld", config_get_long("MANDI_MAX_ATTEMPTS"));
    const char *params[] = {job.id,         service,       type,      max_attempts,
                            job.request_id, envelope.data, not_before};
    int lengths[] = {0, 0, 0, 0, 0, (int)envelope.len, 0};
    int formats[] = {0, 0, 0, 0, 0, 1, 0};
    PGresult *res = PQexecParams(db,
                                 "INSERT INTO jobs (id, service, type, status, durable, "
                                 "max_attempts, request_id, envelope, lease_until) "
                                 "VALUES ($1, $2, $3, 'queued', true, $4::int, $5, $6, "
                                 "coalesce($7::timestamptz, now()))",
                                 7, NULL, params, lengths, formats, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc < 0)
        log_msg(LOG_WARN, job.request_id, "enqueueing %s on %s failed: %s", type, service,
                PQresultErrorMessage(res));
    else if (id)
        snprintf(id, 37, "%s", job.id);
    PQclear(res);
    buf_free(&payload);
    buf_free(&envelope);
    return rc;
}

int job_enqueue_db(PGconn *db, const char *service, const char *type, const char *request_id,
                   const char *body, size_t len, char id[37])
{
    return job_enqueue_at_db(db, service, type, request_id, body, len, NULL, id);
}

int job_enqueue(job_ctx_t *ctx, const char *service, const char *type, const char *body, size_t len)
{
    if (!ctx->db)
        return -1;
    /* The request that caused it, so one id follows the work in the logs. */
    return job_enqueue_db(ctx->db, service, type, ctx->job->request_id, body, len, NULL);
}
