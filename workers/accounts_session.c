/*
 * accounts_session - refreshing and ending a session.
 *
 * A refresh token is good once. Presenting one that was already used means
 * two parties hold it, one of them a thief: the whole family is revoked
 * (and stays revoked although the request fails: keep_writes), so both
 * must sign in again.
 */
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "input.h"
#include "mp.h"
#include "secret.h"

int auth_refresh(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char token[256];
    int rc;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_str(ctx, body, "refresh_token", IN_REQUIRED, 1, 64, token, sizeof token, NULL)))
        return rc;
    unsigned char hash[SECRET_HASH_LEN];
    secret_hash(token, strlen(token), hash);
    const char *p[] = {(const char *)hash};
    int lengths[] = {SECRET_HASH_LEN}, formats[] = {1};
    /* Locks the token row: two refreshes with one token are serialised, and
     * the second sees it used. */
    PGresult *res = PQexecParams(
        ctx->db,
        "SELECT f.id::text, t.used_at IS NOT NULL, t.expires_at <= now(), "
        "f.revoked_at IS NOT NULL, u.id::text, u.role, array_to_string(u.zones, ','), u.status "
        "FROM refresh_tokens t JOIN token_families f ON f.id = t.family_id "
        "JOIN users u ON u.id = f.user_id WHERE t.token_hash = $1 FOR UPDATE OF t",
        1, NULL, p, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        PQclear(res);
        return job_fail(ctx, 401, "REFRESH_TOKEN_INVALID",
                        "the refresh token is unknown or expired");
    }
    char family[37];
    session_user_t u;
    snprintf(family, sizeof family, "%s", PQgetvalue(res, 0, 0));
    snprintf(u.id, sizeof u.id, "%s", PQgetvalue(res, 0, 4));
    snprintf(u.role, sizeof u.role, "%s", PQgetvalue(res, 0, 5));
    snprintf(u.zones, sizeof u.zones, "%s", PQgetvalue(res, 0, 6));
    int used = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    int revoked = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    int active = strcmp(PQgetvalue(res, 0, 7), "active") == 0;
    PQclear(res);
    if (revoked || !active)
        return job_fail(ctx, 401, "REFRESH_TOKEN_REVOKED", "this session was ended; sign in again");
    if (used) {
        if ((rc = session_revoke_family(ctx, family, u.id, "refresh_token_reused")))
            return rc;
        ctx->keep_writes = 1;
        return job_fail(ctx, 401, "REFRESH_TOKEN_REUSED",
                        "this refresh token was already used; the session is revoked");
    }
    res = PQexecParams(ctx->db, "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1",
                       1, NULL, p, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    msgpack_pack_map(&ctx->body, 1);
    mp_pack_cstr(&ctx->body, "tokens");
    if ((rc = session_issue(ctx, &u, family, &ctx->body)))
        return rc;
    return 200;
}

int auth_logout(job_ctx_t *ctx)
{
    char jti[64], family[37];
    accounts_payload_str(ctx, "jti", jti, sizeof jti);
    if (session_family_of(jti, family) < 0)
        return job_fail(ctx, 400, "NO_SESSION", "this token does not belong to a session");
    int rc = session_revoke_family(ctx, family, ctx->job->user_id, "logout");
    if (rc)
        return rc;
    msgpack_pack_map(&ctx->body, 1);
    mp_pack_cstr(&ctx->body, "logged_out");
    msgpack_pack_true(&ctx->body);
    return 200;
}
