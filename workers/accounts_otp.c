/*
 * accounts_otp - phone sign-in with a one-time code.
 *
 * The code lives only in Redis, as a SHA-256 hash with a try counter, for
 * MANDI_OTP_TTL_S. Sending is limited three ways (per client address per
 * hour, per phone per hour, one per MANDI_OTP_RESEND_S); the SMS itself is
 * a notify.send_sms job recorded in this job's transaction.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "input.h"
#include "mp.h"
#include "secret.h"

#define OTP_MAX_TRIES 5

static void otp_key(char *out, size_t cap, const char *phone)
{
    snprintf(out, cap, "mandi:otp:code:%s", phone);
}

/* Refuses when a counter is at its limit; 0 when under it. */
static int over_limit(job_ctx_t *ctx, const char *key, long limit, const char *code,
                      const char *message, int *refused)
{
    long long count, ttl;
    int rc = accounts_counter(ctx, key, &count, &ttl);
    if (rc)
        return rc;
    *refused = count >= limit;
    return *refused ? accounts_fail_retry(ctx, 429, code, ttl, message) : 0;
}

static int queue_sms(job_ctx_t *ctx, const char *phone, const char *otp, long ttl_s)
{
    const accounts_message_t msg = {"sms", phone, "otp", "code", otp, ttl_s / 60};
    return accounts_notify(ctx, &msg);
}

int auth_send_otp(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char phone[14], ip[64], key[96];
    int rc, refused = 0;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_phone(ctx, body, "phone", IN_REQUIRED, phone, NULL)))
        return rc;
    accounts_payload_str(ctx, "ip", ip, sizeof ip);
    long ttl_s = config_get_long("MANDI_OTP_TTL_S");
    long resend_s = config_get_long("MANDI_OTP_RESEND_S");

    char ip_key[96], hour_key[64];
    snprintf(ip_key, sizeof ip_key, "mandi:otp:ip:%s", ip);
    snprintf(hour_key, sizeof hour_key, "mandi:otp:hour:%s", phone);
    if ((rc =
             over_limit(ctx, ip_key, config_get_long("MANDI_OTP_PER_IP_HOUR"), "IP_RATE_LIMITED",
                        "too many codes requested from this address; try again later", &refused)) ||
        refused)
        return rc;
    if ((rc = over_limit(ctx, hour_key, config_get_long("MANDI_OTP_PER_HOUR"), "OTP_RATE_LIMITED",
                         "too many codes sent to this phone; try again later", &refused)) ||
        refused)
        return rc;

    redisContext *redis = job_redis(ctx);
    if (!redis)
        return accounts_redis_failed(ctx);
    if (resend_s > 0) {
        snprintf(key, sizeof key, "mandi:otp:cooldown:%s", phone);
        redisReply *set = redisCommand(redis, "SET %s 1 NX EX %ld", key, resend_s);
        if (!set)
            return accounts_redis_failed(ctx);
        int taken = set->type == REDIS_REPLY_NIL;
        freeReplyObject(set);
        if (taken) {
            redisReply *ttl = redisCommand(redis, "TTL %s", key);
            long long left = ttl && ttl->type == REDIS_REPLY_INTEGER ? ttl->integer : resend_s;
            if (ttl)
                freeReplyObject(ttl);
            return accounts_fail_retry(ctx, 429, "OTP_TOO_SOON", left,
                                       "a code was sent to this phone moments ago; wait before "
                                       "asking again");
        }
    }
    if ((rc = accounts_count(ctx, ip_key, 3600)) || (rc = accounts_count(ctx, hour_key, 3600)))
        return rc;

    char otp[7], hash[2 * SECRET_HASH_LEN + 1];
    secret_otp(otp);
    secret_hash_hex(otp, 6, hash);
    otp_key(key, sizeof key, phone);
    /* A new code replaces the old one and its try count. */
    redisAppendCommand(redis, "DEL %s", key);
    redisAppendCommand(redis, "HSET %s hash %s tries 0", key, hash);
    redisAppendCommand(redis, "EXPIRE %s %ld", key, ttl_s);
    for (int i = 0; i < 3; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(redis, (void **)&reply) != REDIS_OK || !reply) {
            sodium_memzero(otp, sizeof otp);
            return accounts_redis_failed(ctx);
        }
        freeReplyObject(reply);
    }
    rc = queue_sms(ctx, phone, otp, ttl_s);
    sodium_memzero(otp, sizeof otp);
    if (rc < 0)
        return job_fail(ctx, 503, "DB_UNAVAILABLE", "the SMS could not be queued");
    msgpack_pack_map(&ctx->body, 1);
    mp_kv_i64(&ctx->body, "expires_in", ttl_s);
    return 200;
}

/* Checks otp against the stored hash, counting a wrong try. Returns 0 when
 * it matches (and the code is spent), else the status to answer. */
static int check_code(job_ctx_t *ctx, const char *phone, const char *otp)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return accounts_redis_failed(ctx);
    char key[64];
    otp_key(key, sizeof key, phone);
    redisReply *stored = redisCommand(redis, "HGET %s hash", key);
    if (!stored)
        return accounts_redis_failed(ctx);
    char want[2 * SECRET_HASH_LEN + 1], got[2 * SECRET_HASH_LEN + 1];
    int live = stored->type == REDIS_REPLY_STRING && stored->len == 2 * SECRET_HASH_LEN;
    if (live)
        memcpy(want, stored->str, sizeof want);
    freeReplyObject(stored);
    if (!live)
        return job_fail(ctx, 401, "OTP_EXPIRED", "no valid code for this phone; ask for a new one");
    secret_hash_hex(otp, 6, got);
    if (sodium_memcmp(want, got, 2 * SECRET_HASH_LEN) == 0) {
        /* DEL decides between two requests racing with the same code. */
        redisReply *del = redisCommand(redis, "DEL %s", key);
        if (!del)
            return accounts_redis_failed(ctx);
        int spent = del->type == REDIS_REPLY_INTEGER && del->integer == 1;
        freeReplyObject(del);
        return spent ? 0
                     : job_fail(ctx, 401, "OTP_EXPIRED",
                                "no valid code for this phone; ask for a new one");
    }
    redisReply *tries = redisCommand(redis, "HINCRBY %s tries 1", key);
    if (!tries)
        return accounts_redis_failed(ctx);
    long long n = tries->type == REDIS_REPLY_INTEGER ? tries->integer : OTP_MAX_TRIES;
    freeReplyObject(tries);
    if (n >= OTP_MAX_TRIES) {
        redisReply *del = redisCommand(redis, "DEL %s", key);
        if (del)
            freeReplyObject(del);
    }
    long long left = n >= OTP_MAX_TRIES ? 0 : OTP_MAX_TRIES - n;
    job_fail(ctx, 401, "OTP_INVALID", "the code is wrong (%lld tries left)", left);
    job_fail_detail_i64(ctx, "attempts_left", left);
    return 401;
}

int auth_verify_otp(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char phone[14], otp[16];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_phone(ctx, body, "phone", IN_REQUIRED, phone, NULL)) ||
        (rc = input_str(ctx, body, "otp", IN_REQUIRED, 6, 6, otp, sizeof otp, NULL)))
        return rc;
    if (strspn(otp, "0123456789") != 6)
        return input_fail(ctx, "otp", "otp must be 6 digits");
    if ((rc = check_code(ctx, phone, otp)))
        return rc;

    const char *params[] = {phone};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO users (phone) VALUES ($1) "
                                 "ON CONFLICT (phone) DO NOTHING RETURNING id",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int is_new = PQntuples(res) == 1;
    PQclear(res);
    res = PQexecParams(ctx->db,
                       "UPDATE users u SET last_login_at = now(), updated_at = now() "
                       "WHERE phone = $1 RETURNING " USER_LOGIN_COLUMNS,
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    rc = accounts_login_reply(ctx, res, is_new);
    PQclear(res);
    return rc ? rc : 200;
}
