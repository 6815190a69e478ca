/*
 * answer - replies whose JSON PostgreSQL builds (see answer.h).
 */
#include "answer.h"

#include <stdio.h>

#include "codec.h"
#include "input.h"
#include "log.h"
#include "mp.h"

int answer_pack_json(job_ctx_t *ctx, const char *json, size_t len)
{
    codec_error_t err;
    if (codec_json_to_msgpack(json, len, &ctx->body_buf, &err) < 0)
        return job_fail(ctx, 500, "INTERNAL", "a stored value could not be read: %s", err.message);
    return 0;
}

int answer_json(job_ctx_t *ctx, int ok_status, const char *sql, int nparams,
                const char *const *params, const char *missing_code, const char *missing_message)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        return job_fail(ctx, 404, missing_code, "%s", missing_message);
    }
    int rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc ? rc : ok_status;
}

int answer_exec(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    return 0;
}

int answer_event(job_ctx_t *ctx, const char *topic, const char *sql, int nparams,
                 const char *const *params)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    int rc = job_event_json(ctx, topic, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc < 0
               ? job_fail(ctx, 503, "DB_UNAVAILABLE", "the %s event could not be recorded", topic)
               : 0;
}

int answer_row(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params,
               PGresult **res)
{
    *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(*res) == PGRES_TUPLES_OK && PQntuples(*res) == 1)
        return 0;
    int rc = answer_db_failed(ctx, *res);
    *res = NULL;
    return rc;
}

int answer_deleted(job_ctx_t *ctx, const char *id)
{
    msgpack_pack_map(&ctx->body, 2);
    mp_kv_str(&ctx->body, "id", id);
    mp_pack_cstr(&ctx->body, "deleted");
    msgpack_pack_true(&ctx->body);
    return 200;
}

int answer_db_failed(job_ctx_t *ctx, PGresult *res)
{
    log_msg(LOG_WARN, ctx->job->request_id, "query failed: %s",
            res ? PQresultErrorMessage(res) : "no connection");
    PQclear(res);
    return job_fail(ctx, 503, "DB_UNAVAILABLE", "the database cannot be reached");
}

int answer_read_page(job_ctx_t *ctx, answer_page_t *page)
{
    int64_t number, limit;
    int rc = input_page(ctx, &number, &limit);
    if (rc)
        return rc;
    snprintf(page->page, sizeof page->page, "%lld", (long long)number);
    snprintf(page->limit, sizeof page->limit, "%lld", (long long)limit);
    snprintf(page->offset, sizeof page->offset, "%lld", (long long)((number - 1) * limit));
    return 0;
}
