/*
 * accounts_password - email and password sign-in: register, login, and the
 * forgotten-password flow.
 *
 * Failed logins are counted in Redis (they must outlast the rolled-back
 * transaction of the failing request) per account and per client address;
 * past MANDI_LOGIN_FAILS_MAX in 15 minutes the account is locked for the
 * rest of the window, past four times that the address is. Unknown emails
 * and wrong passwords look the same, in answer and in time.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "config.h"
#include "input.h"
#include "mp.h"
#include "secret.h"

#define LOGIN_WINDOW_S  900
#define RESET_TTL_S     1800
#define PASSWORD_MIN    8
#define PASSWORD_MAX    128
#define IP_FAILS_FACTOR 4

static int read_password(job_ctx_t *ctx, const msgpack_object *body, char *out, size_t cap)
{
    return input_str(ctx, body, "password", IN_REQUIRED, PASSWORD_MIN, PASSWORD_MAX, out, cap,
                     NULL);
}

/* Maps a unique violation on users to 409 EMAIL_TAKEN / PHONE_TAKEN. */
static int conflict_or_failure(job_ctx_t *ctx, PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (state && strcmp(state, "23505") == 0 && constraint) {
        int phone = strstr(constraint, "phone") != NULL;
        PQclear(res);
        return phone ? job_fail(ctx, 409, "PHONE_TAKEN", "an account with this phone exists")
                     : job_fail(ctx, 409, "EMAIL_TAKEN", "an account with this email exists");
    }
    return answer_db_failed(ctx, res);
}

int auth_register(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char name[404], email[255], phone[14], password[PASSWORD_MAX * 4 + 1];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "name", IN_REQUIRED, 1, 100, name, sizeof name, NULL)) ||
        (rc = input_email(ctx, body, "email", IN_REQUIRED, email, NULL)) ||
        (rc = read_password(ctx, body, password, sizeof password)) ||
        (rc = input_phone(ctx, body, "phone", IN_OPTIONAL, phone, NULL)))
        return rc;
    char hash[SECRET_PWHASH_MAX];
    rc = secret_password_hash(password, hash);
    sodium_memzero(password, sizeof password);
    if (rc < 0)
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the password could not be hashed now");
    const char *params[] = {name, email, phone[0] ? phone : NULL, hash};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO users AS u (name, email, phone, password_hash, "
                                 "last_login_at) VALUES ($1, $2, $3, $4, now()) "
                                 "RETURNING " USER_LOGIN_COLUMNS,
                                 4, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return conflict_or_failure(ctx, res);
    rc = accounts_login_reply(ctx, res, -1);
    PQclear(res);
    return rc ? rc : 201;
}

/* The failure counters of a login attempt. */
typedef struct {
    char account[300], address[96];
} fail_keys_t;

static int locked(job_ctx_t *ctx, const fail_keys_t *k, int *is_locked)
{
    long max = config_get_long("MANDI_LOGIN_FAILS_MAX");
    long long count, ttl;
    int rc;
    *is_locked = 1;
    if ((rc = accounts_counter(ctx, k->address, &count, &ttl)))
        return rc;
    if (count >= max * IP_FAILS_FACTOR)
        return accounts_fail_retry(ctx, 429, "LOGIN_LOCKED", ttl,
                                   "too many failed logins from this address; try again later");
    if ((rc = accounts_counter(ctx, k->account, &count, &ttl)))
        return rc;
    if (count >= max)
        return accounts_fail_retry(ctx, 429, "LOGIN_LOCKED", ttl,
                                   "too many failed logins for this account; try again later");
    *is_locked = 0;
    return 0;
}

int auth_login(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char email[255], password[PASSWORD_MAX * 4 + 1], ip[64];
    int rc, is_locked;
    /* Any length is checked against the hash: a short password is simply
     * wrong here, and saying otherwise would hint at the rules. */
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_email(ctx, body, "email", IN_REQUIRED, email, NULL)) ||
        (rc = input_str(ctx, body, "password", IN_REQUIRED, 1, PASSWORD_MAX, password,
                        sizeof password, NULL)))
        return rc;
    accounts_payload_str(ctx, "ip", ip, sizeof ip);
    fail_keys_t k;
    snprintf(k.account, sizeof k.account, "mandi:login:fail:account:%s", email);
    snprintf(k.address, sizeof k.address, "mandi:login:fail:ip:%s", ip);
    if ((rc = locked(ctx, &k, &is_locked)) || is_locked) {
        sodium_memzero(password, sizeof password);
        return rc;
    }

    const char *params[] = {email};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT " USER_LOGIN_COLUMNS ", u.password_hash "
                                 "FROM users u WHERE u.email = $1 FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sodium_memzero(password, sizeof password);
        return answer_db_failed(ctx, res);
    }
    int found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 5);
    int good = found ? secret_password_verify(PQgetvalue(res, 0, 5), password)
                     : (secret_password_dummy(password), 0);
    sodium_memzero(password, sizeof password);
    PQclear(res);
    if (!good) {
        if ((rc = accounts_count(ctx, k.account, LOGIN_WINDOW_S)) ||
            (rc = accounts_count(ctx, k.address, LOGIN_WINDOW_S)))
            return rc;
        return job_fail(ctx, 401, "INVALID_CREDENTIALS", "the email or the password is wrong");
    }
    redisContext *redis = job_redis(ctx);
    redisReply *del = redis ? redisCommand(redis, "DEL %s", k.account) : NULL;
    if (del)
        freeReplyObject(del);
    res = PQexecParams(ctx->db,
                       "UPDATE users u SET last_login_at = now() WHERE email = $1 "
                       "RETURNING " USER_LOGIN_COLUMNS,
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    rc = accounts_login_reply(ctx, res, -1);
    PQclear(res);
    return rc ? rc : 200;
}

static int queue_reset_email(job_ctx_t *ctx, const char *email, const char *token)
{
    const accounts_message_t msg = {"email", email, "password_reset",
                                    "token", token, RESET_TTL_S / 60};
    return accounts_notify(ctx, &msg);
}

int auth_forgot_password(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char email[255];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_email(ctx, body, "email", IN_REQUIRED, email, NULL)))
        return rc;
    const char *params[] = {email};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT id::text FROM users WHERE email = $1 "
                                 "AND status = 'active'",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) == 1) {
        char token[SECRET_TOKEN_LEN + 1], ttl[16];
        unsigned char hash[SECRET_HASH_LEN];
        secret_token(token);
        secret_hash(token, SECRET_TOKEN_LEN, hash);
        snprintf(ttl, sizeof ttl, "%d", RESET_TTL_S);
        const char *p[] = {(const char *)hash, PQgetvalue(res, 0, 0), ttl};
        int lengths[] = {SECRET_HASH_LEN, 0, 0}, formats[] = {1, 0, 0};
        PGresult *ins =
            PQexecParams(ctx->db,
                         "INSERT INTO password_resets (token_hash, user_id, expires_at) "
                         "VALUES ($1, $2::uuid, now() + $3::int * interval '1 second')",
                         3, NULL, p, lengths, formats, 0);
        int ok = PQresultStatus(ins) == PGRES_COMMAND_OK;
        PQclear(ins);
        ok = ok && queue_reset_email(ctx, email, token) == 0;
        sodium_memzero(token, sizeof token);
        if (!ok) {
            PQclear(res);
            return job_fail(ctx, 503, "DB_UNAVAILABLE", "the reset could not be recorded");
        }
    }
    PQclear(res);
    /* The same answer either way: it must not tell who has an account. */
    msgpack_pack_map(&ctx->body, 1);
    mp_kv_str(&ctx->body, "message", "if an account uses this email, a reset token was sent to it");
    return 200;
}

int auth_reset_password(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char token[256], password[PASSWORD_MAX * 4 + 1];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "token", IN_REQUIRED, 1, 64, token, sizeof token, NULL)) ||
        (rc = read_password(ctx, body, password, sizeof password)))
        return rc;
    unsigned char hash[SECRET_HASH_LEN];
    secret_hash(token, strlen(token), hash);
    const char *p[] = {(const char *)hash};
    int lengths[] = {SECRET_HASH_LEN}, formats[] = {1};
    PGresult *res = PQexecParams(ctx->db,
                                 "UPDATE password_resets SET used_at = now() "
                                 "WHERE token_hash = $1 AND used_at IS NULL "
                                 "AND expires_at > now() RETURNING user_id::text",
                                 1, NULL, p, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        sodium_memzero(password, sizeof password);
        return answer_db_failed(ctx, res);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        sodium_memzero(password, sizeof password);
        return job_fail(ctx, 400, "RESET_TOKEN_INVALID",
                        "the reset token is unknown, used or expired");
    }
    char user_id[37];
    snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char pwhash[SECRET_PWHASH_MAX];
    rc = secret_password_hash(password, pwhash);
    sodium_memzero(password, sizeof password);
    if (rc < 0)
        return job_fail(ctx, 503, "OUT_OF_MEMORY", "the password could not be hashed now");
    const char *q[] = {user_id, pwhash};
    res = PQexecParams(ctx->db,
                       "UPDATE users SET password_hash = $2, updated_at = now() "
                       "WHERE id = $1::uuid RETURNING email",
                       2, NULL, q, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    /* A new password unlocks the account and ends every session. */
    char key[300];
    snprintf(key, sizeof key, "mandi:login:fail:account:%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    redisContext *redis = job_redis(ctx);
    redisReply *del = redis ? redisCommand(redis, "DEL %s", key) : NULL;
    if (del)
        freeReplyObject(del);
    if ((rc = session_revoke_user(ctx, user_id, "password_reset")))
        return rc;
    msgpack_pack_map(&ctx->body, 1);
    mp_pack_cstr(&ctx->body, "reset");
    msgpack_pack_true(&ctx->body);
    return 200;
}
