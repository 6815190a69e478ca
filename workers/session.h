/*
 * session - login sessions: token families, refresh rotation, revocation.
 *
 * A login starts a family (a row of token_families). The family hands out
 * one refresh token at a time; using it retires it and issues the next.
 * Access tokens are JWTs whose jti is "<family id>.<random>", so revoking a
 * family also kills its access tokens: the family id goes into the Redis
 * sorted set the fronts read (frontend/revoked.h) and the fronts refuse
 * those tokens within a fraction of a second.
 */
#ifndef MANDI_SESSION_H
#define MANDI_SESSION_H

#include "worker.h"

typedef struct {
    char id[37];
    char role[32];
    char zones[256]; /* comma-separated */
} session_user_t;

/* Starts a family for u and packs the tokens object
 * {"access_token", "refresh_token", "token_type", "expires_in"} with pk.
 * Returns 0, or the status to answer (job_fail called). */
int session_start(job_ctx_t *ctx, const session_user_t *u, msgpack_packer *pk);

/* Issues the next pair of family_id (after the caller retired the token
 * presented) and packs the tokens object. */
int session_issue(job_ctx_t *ctx, const session_user_t *u, const char *family_id,
                  msgpack_packer *pk);

/* Revokes one family (if it belongs to user_id and is live), in the
 * database and for the fronts. Returns 0 or a status. */
int session_revoke_family(job_ctx_t *ctx, const char *family_id, const char *user_id,
                          const char *reason);

/* Revokes every live family of a user (password reset, deactivation,
 * suspension, role change). */
int session_revoke_user(job_ctx_t *ctx, const char *user_id, const char *reason);

/* The family id in a jti (36 characters plus NUL), or -1 if there is none. */
int session_family_of(const char *jti, char out[37]);

#endif
