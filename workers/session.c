/*
 * session - token families and their tokens (see session.h).
 */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "jwt.h"
#include "log.h"
#include "mp.h"
#include "revocation.h"
#include "secret.h"

static int db_failed(job_ctx_t *ctx, PGresult *res)
{
    log_msg(LOG_WARN, ctx->job->request_id, "session query failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    return job_fail(ctx, 503, "DB_UNAVAILABLE", "the database cannot be reached");
}

int session_issue(job_ctx_t *ctx, const session_user_t *u, const char *family_id,
                  msgpack_packer *pk)
{
    char refresh[SECRET_TOKEN_LEN + 1];
    secret_token(refresh);
    unsigned char hash[SECRET_HASH_LEN];
    secret_hash(refresh, SECRET_TOKEN_LEN, hash);
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", config_get_long("MANDI_REFRESH_TOKEN_TTL_S"));
    const char *params[] = {(const char *)hash, family_id, ttl};
    int lengths[] = {SECRET_HASH_LEN, 0, 0}, formats[] = {1, 0, 0};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO refresh_tokens (token_hash, family_id, expires_at) "
                                 "VALUES ($1, $2, now() + $3::bigint * interval '1 second')",
                                 3, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return db_failed(ctx, res);
    PQclear(res);

    long access_ttl = config_get_long("MANDI_ACCESS_TOKEN_TTL_S");
    jwt_claims_t claims = {.iat = clock_now_ms() / 1000};
    claims.exp = claims.iat + access_ttl;
    snprintf(claims.sub, sizeof claims.sub, "%s", u->id);
    snprintf(claims.role, sizeof claims.role, "%s", u->role);
    snprintf(claims.zones, sizeof claims.zones, "%s", u->zones);
    unsigned char nonce[4];
    char nonce_hex[9];
    randombytes_buf(nonce, sizeof nonce);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    snprintf(claims.jti, sizeof claims.jti, "%s.%s", family_id, nonce_hex);
    const char *secret = config_get("JWT_SECRET");
    buf_t access = BUF_INIT;
    jwt_sign(&access, &claims, secret, strlen(secret));
    if (!access.len) {
        buf_free(&access);
        return job_fail(ctx, 500, "TOKEN_SIGNING_FAILED", "the access token could not be signed");
    }
    msgpack_pack_map(pk, 4);
    mp_pack_cstr(pk, "access_token");
    mp_pack_strn(pk, access.data, access.len);
    mp_kv_str(pk, "refresh_token", refresh);
    mp_kv_str(pk, "token_type", "Bearer");
    mp_kv_i64(pk, "expires_in", access_ttl);
    buf_free(&access);
    sodium_memzero(refresh, sizeof refresh);
    return 0;
}

int session_start(job_ctx_t *ctx, const session_user_t *u, msgpack_packer *pk)
{
    const char *params[] = {u->id};
    PGresult *res =
        PQexecParams(ctx->db, "INSERT INTO token_families (user_id) VALUES ($1) RETURNING id::text",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return db_failed(ctx, res);
    char family[37];
    snprintf(family, sizeof family, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return session_issue(ctx, u, family, pk);
}

/* Tells the fronts; the database row is the record, this the broadcast. */
static int announce(job_ctx_t *ctx, PGresult *families)
{
    redisContext *redis = job_redis(ctx);
    if (!redis)
        return job_fail(ctx, 503, "REDIS_UNAVAILABLE", "Redis cannot be reached");
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)clock_now_ms());
    int n = PQntuples(families);
    for (int i = 0; i < n; i++)
        redisAppendCommand(redis, "ZADD %s %s %s", REVOKED_FAMILIES_KEY, now,
                           PQgetvalue(families, i, 0));
    int ok = 1;
    for (int i = 0; i < n; i++) {
        redisReply *reply = NULL;
        if (redisGetReply(redis, (void **)&reply) != REDIS_OK || !reply ||
            reply->type == REDIS_REPLY_ERROR)
            ok = 0;
        if (reply)
            freeReplyObject(reply);
        if (!ok)
            break;
    }
    return ok ? 0 : job_fail(ctx, 503, "REDIS_UNAVAILABLE", "Redis cannot be reached");
}

/* Runs an UPDATE of token_families that returns the ids it revoked, and
 * announces them. */
static int revoke(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(ctx->db, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return db_failed(ctx, res);
    int rc = announce(ctx, res);
    PQclear(res);
    return rc;
}

int session_revoke_family(job_ctx_t *ctx, const char *family_id, const char *user_id,
                          const char *reason)
{
    const char *params[] = {family_id, user_id, reason};
    return revoke(ctx,
                  "UPDATE token_families SET revoked_at = now(), revoked_reason = $3 "
                  "WHERE id = $1::uuid AND user_id = $2::uuid AND revoked_at IS NULL "
                  "RETURNING id::text",
                  3, params);
}

int session_revoke_user(job_ctx_t *ctx, const char *user_id, const char *reason)
{
    const char *params[] = {user_id, reason};
    return revoke(ctx,
                  "UPDATE token_families SET revoked_at = now(), revoked_reason = $2 "
                  "WHERE user_id = $1::uuid AND revoked_at IS NULL RETURNING id::text",
                  2, params);
}

int session_family_of(const char *jti, char out[37])
{
    size_t len = revocation_family_len(jti);
    if (!len)
        return -1;
    memcpy(out, jti, len);
    out[len] = '\0';
    return 0;
}
