/*
 * accounts - the pool's job table and the helpers its handlers share
 * (see accounts.h).
 */
#include "accounts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "mp.h"

/* Sign-in jobs carry passwords and codes: their envelopes are scrubbed
 * once answered (they are not recorded by the front either, but a job
 * recorded by another route's mistake must not keep them). */
const job_handler_t accounts_jobs[] = {
    {"auth.send_otp", auth_send_otp, JOB_TX | JOB_SCRUB},
    {"auth.verify_otp", auth_verify_otp, JOB_TX | JOB_SCRUB},
    {"auth.register", auth_register, JOB_TX | JOB_SCRUB},
    {"auth.login", auth_login, JOB_TX | JOB_SCRUB},
    {"auth.forgot_password", auth_forgot_password, JOB_TX},
    {"auth.reset_password", auth_reset_password, JOB_TX | JOB_SCRUB},
    {"auth.refresh", auth_refresh, JOB_TX | JOB_SCRUB},
    {"auth.logout", auth_logout, JOB_TX},
    {"user.me", user_me, 0},
    {"user.update", user_update, 0},
    {"user.deactivate", user_deactivate, 0},
    {"user.preferences", user_preferences, 0},
    {"user.set_preferences", user_set_preferences, 0},
    {"address.list", address_list, 0},
    {"address.get", address_get, 0},
    {"address.create", address_create, JOB_TX},
    {"address.update", address_update, JOB_TX},
    {"address.delete", address_delete, JOB_TX},
    {"address.set_default", address_set_default, JOB_TX},
    {"kyc.submit", kyc_submit, JOB_TX | JOB_SCRUB},
    {"kyc.mine", kyc_mine, 0},
    {"kyc.list", kyc_list, 0},
    {"kyc.approve", kyc_approve, JOB_TX},
    {"kyc.reject", kyc_reject, JOB_TX},
    {"admin.user_list", admin_user_list, 0},
    {"admin.user_get", admin_user_get, 0},
    {"admin.user_set_status", admin_user_set_status, JOB_TX},
    {"admin.user_set_role", admin_user_set_role, JOB_TX},
    {"audit.list", audit_list, 0},
    {NULL, NULL, 0},
};

int accounts_audit(job_ctx_t *ctx, const char *action, const char *target_type,
                   const char *target_id, const char *before, const char *after)
{
    const job_t *job = ctx->job;
    const char *params[] = {job->user_id, job->role, action, target_type,
                            target_id,    before,    after,  job->request_id};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO audit_log (actor_id, actor_role, action, "
                                 "target_type, target_id, before, after, request_id) "
                                 "VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)",
                                 8, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    return 0;
}

int accounts_redis_failed(job_ctx_t *ctx)
{
    return job_fail(ctx, 503, "REDIS_UNAVAILABLE", "Redis cannot be reached");
}

int accounts_fail_retry(job_ctx_t *ctx, int status, const char *code, long long seconds,
                        const char *message)
{
    job_fail(ctx, status, code, "%s", message);
    job_fail_detail_i64(ctx, "retry_after", seconds < 1 ? 1 : seconds);
    return status;
}

void accounts_payload_str(const job_ctx_t *ctx, const char *key, char *out, size_t cap)
{
    if (mp_copy_str(mp_get(ctx->job->payload, key), out, cap) < 0)
        out[0] = '\0';
}

int accounts_login_reply(job_ctx_t *ctx, PGresult *row, int is_new)
{
    const char *status = PQgetvalue(row, 0, 3);
    if (strcmp(status, "suspended") == 0)
        return job_fail(ctx, 403, "ACCOUNT_SUSPENDED", "this account is suspended");
    if (strcmp(status, "deactivated") == 0)
        return job_fail(ctx, 403, "ACCOUNT_DEACTIVATED", "this account was deactivated");
    session_user_t u;
    snprintf(u.id, sizeof u.id, "%s", PQgetvalue(row, 0, 0));
    snprintf(u.role, sizeof u.role, "%s", PQgetvalue(row, 0, 1));
    snprintf(u.zones, sizeof u.zones, "%s", PQgetvalue(row, 0, 2));
    msgpack_packer *pk = &ctx->body;
    msgpack_pack_map(pk, is_new >= 0 ? 3 : 2);
    mp_pack_cstr(pk, "user");
    int rc = answer_pack_json(ctx, PQgetvalue(row, 0, 4), (size_t)PQgetlength(row, 0, 4));
    if (rc)
        return rc;
    mp_pack_cstr(pk, "tokens");
    if ((rc = session_start(ctx, &u, pk)))
        return rc;
    if (is_new >= 0) {
        mp_pack_cstr(pk, "is_new_user");
        is_new ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
    return 0;
}

int accounts_notify(job_ctx_t *ctx, const accounts_message_t *msg)
{
    buf_t body = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, buf_msgpack_write);
    msgpack_pack_map(&pk, 3);
    mp_kv_str(&pk, "to", msg->to);
    mp_kv_str(&pk, "template", msg->template_name);
    mp_pack_cstr(&pk, "data");
    msgpack_pack_map(&pk, 2);
    mp_kv_str(&pk, msg->secret_name, msg->secret);
    mp_kv_i64(&pk, "minutes", msg->minutes);
    char type[32];
    snprintf(type, sizeof type, "notify.send_%s", msg->channel);
    int rc = job_enqueue(ctx, "notifications", type, body.data, body.len);
    sodium_memzero(body.data, body.cap);
    buf_free(&body);
    return rc;
}

int accounts_counter(job_ctx_t *ctx, const char *key, long long *count, long long *ttl)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return accounts_redis_failed(ctx);
    redisAppendCommand(redis, "GET %s", key);
    redisAppendCommand(redis, "TTL %s", key);
    redisReply *get = NULL, *t = NULL;
    int ok = redisGetReply(redis, (void **)&get) == REDIS_OK &&
             redisGetReply(redis, (void **)&t) == REDIS_OK && get && t;
    *count = ok && get->type == REDIS_REPLY_STRING ? atoll(get->str) : 0;
    *ttl = ok && t->type == REDIS_REPLY_INTEGER ? t->integer : 0;
    if (get)
        freeReplyObject(get);
    if (t)
        freeReplyObject(t);
    return ok ? 0 : accounts_redis_failed(ctx);
}

int accounts_count(job_ctx_t *ctx, const char *key, long window_s)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return accounts_redis_failed(ctx);
    /* INCR then EXPIRE NX: the window starts with the first count. */
    redisAppendCommand(redis, "INCR %s", key);
    redisAppendCommand(redis, "EXPIRE %s %ld NX", key, window_s);
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(redis, (void **)&reply) != REDIS_OK || !reply ||
            reply->type == REDIS_REPLY_ERROR)
            ok = 0;
        if (reply)
            freeReplyObject(reply);
    }
    return ok ? 0 : accounts_redis_failed(ctx);
}
