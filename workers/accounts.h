/*
 * accounts - the accounts pool: sign-in, sessions, the caller's profile.
 *
 * Handlers live in accounts_*.c by area; this header holds what they
 * share: reading users, answering with JSON built by PostgreSQL, and the
 * Redis counters behind rate limits.
 */
#ifndef MANDI_ACCOUNTS_H
#define MANDI_ACCOUNTS_H

#include "answer.h"
#include "session.h"
#include "worker.h"

/* Handlers (accounts.c holds the table). */
int auth_send_otp(job_ctx_t *ctx);
int auth_verify_otp(job_ctx_t *ctx);
int auth_register(job_ctx_t *ctx);
int auth_login(job_ctx_t *ctx);
int auth_forgot_password(job_ctx_t *ctx);
int auth_reset_password(job_ctx_t *ctx);
int auth_refresh(job_ctx_t *ctx);
int auth_logout(job_ctx_t *ctx);
int user_me(job_ctx_t *ctx);
int user_update(job_ctx_t *ctx);
int user_deactivate(job_ctx_t *ctx);
int user_preferences(job_ctx_t *ctx);
int user_set_preferences(job_ctx_t *ctx);
int address_list(job_ctx_t *ctx);
int address_get(job_ctx_t *ctx);
int address_create(job_ctx_t *ctx);
int address_update(job_ctx_t *ctx);
int address_delete(job_ctx_t *ctx);
int address_set_default(job_ctx_t *ctx);
int kyc_submit(job_ctx_t *ctx);
int kyc_mine(job_ctx_t *ctx);
int kyc_list(job_ctx_t *ctx);
int kyc_approve(job_ctx_t *ctx);
int kyc_reject(job_ctx_t *ctx);
int admin_user_list(job_ctx_t *ctx);
int admin_user_get(job_ctx_t *ctx);
int admin_user_set_status(job_ctx_t *ctx);
int admin_user_set_role(job_ctx_t *ctx);
int audit_list(job_ctx_t *ctx);

/* Records an admin action in audit_log, in the job's transaction: the
 * caller is the actor; before and after are JSON texts (NULL for none). */
int accounts_audit(job_ctx_t *ctx, const char *action, const char *target_type,
                   const char *target_id, const char *before, const char *after);

/* Answers 503 when Redis cannot be reached. */
int accounts_redis_failed(job_ctx_t *ctx);

/* Fails with code and a Retry-After of seconds (details.retry_after). */
int accounts_fail_retry(job_ctx_t *ctx, int status, const char *code, long long seconds,
                        const char *message);

/* A string of the job's payload ("ip", "jti"), "" when absent. */
void accounts_payload_str(const job_ctx_t *ctx, const char *key, char *out, size_t cap);

/* Answers {"user": ..., "tokens": ...} (plus "is_new_user" when is_new is
 * 0 or 1) for a user row selected with USER_LOGIN_COLUMNS, starting a
 * session. Refuses suspended and deactivated accounts. */
int accounts_login_reply(job_ctx_t *ctx, PGresult *row, int is_new);

/* Columns accounts_login_reply expects, in order. */
#define USER_LOGIN_COLUMNS                                                                         \
    "u.id::text, u.role, array_to_string(u.zones, ','), u.status, mandi_user_json(u)::text"

/* A security message for the notifications pool: the template that words
 * it, and the secret (a code or token) and its lifetime that fill it. */
typedef struct {
    const char *channel; /* "sms" or "email" */
    const char *to;
    const char *template_name;
    const char *secret_name; /* the template's member: "code", "token" */
    const char *secret;
    long minutes; /* how long the secret works */
} accounts_message_t;

/* Records the notify.send_sms or notify.send_email job of msg in this
 * job's transaction. The copies of the secret made here are wiped.
 * Returns 0 or -1. */
int accounts_notify(job_ctx_t *ctx, const accounts_message_t *msg);

/* Redis counter for rate limits: the count under key, and its TTL. */
int accounts_counter(job_ctx_t *ctx, const char *key, long long *count, long long *ttl);

/* Adds one to key, starting a window of window_s on the first. */
int accounts_count(job_ctx_t *ctx, const char *key, long window_s);

#endif
