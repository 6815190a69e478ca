/*
 * accounts_kyc - identity documents: a user submits, a reviewer decides.
 *
 * A user has at most one submission waiting (the kyc_one_pending index
 * holds that under races too); users.kyc_status follows the latest one:
 * submitted, then approved or rejected. A rejected user may submit again.
 * Decisions are audited in the same transaction as the change, and nobody
 * reviews their own submission. The owner sees the document number masked
 * (mandi_kyc_json), reviewers see it whole.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "input.h"
#include "mp.h"

/* The shape of each document's number once spaces and hyphens are gone
 * and letters are upper case: 'A' a letter, '9' a digit, 'N' a digit
 * from 2 to 9 (an Aadhaar number never starts with 0 or 1). */
static const struct {
    const char *type;
    const char *shape;
    const char *example;
} documents[] = {
    {"aadhaar", "N99999999999", "2345 6789 0123"},
    {"pan", "AAAAA9999A", "ABCDE1234F"},
    {"passport", "A9999999", "K1234567"},
    {"driving_licence", "AA9999999999999", "MH12 20110012345"},
    {"voter_id", "AAA9999999", "ABC1234567"},
};
#define DOCUMENT_COUNT (sizeof documents / sizeof documents[0])

static int fits_shape(const char *number, const char *shape)
{
    if (strlen(number) != strlen(shape))
        return 0;
    for (; *shape; shape++, number++) {
        int ok = *shape == 'A'   ? isupper((unsigned char)*number)
                 : *shape == '9' ? isdigit((unsigned char)*number)
                                 : *number >= '2' && *number <= '9';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Upper case without spaces and hyphens (out: at least strlen(in) + 1). */
static void compact(const char *in, char *out)
{
    for (; *in; in++)
        if (*in != ' ' && *in != '-')
            *out++ = (char)toupper((unsigned char)*in);
    *out = '\0';
}

int kyc_submit(job_ctx_t *ctx)
{
    const msgpack_object *body;
    char type[32], raw[41 * 4], number[41 * 4], full_name[101 * 4], dob[11];
    int rc;
    const char *type_names[DOCUMENT_COUNT + 1] = {NULL};
    for (size_t i = 0; i < DOCUMENT_COUNT; i++)
        type_names[i] = documents[i].type;
    if ((rc = input_body(ctx, &body)) ||
        (rc = input_choice(ctx, body, "document_type", IN_REQUIRED, type_names, type, sizeof type,
                           NULL)) ||
        (rc = input_str(ctx, body, "document_number", IN_REQUIRED, 1, 40, raw, sizeof raw, NULL)) ||
        (rc = input_str(ctx, body, "full_name", IN_REQUIRED, 1, 100, full_name, sizeof full_name,
                        NULL)) ||
        (rc = input_date(ctx, body, "date_of_birth", IN_OPTIONAL, 1, dob, NULL)))
        return rc;
    compact(raw, number);
    for (size_t i = 0; i < DOCUMENT_COUNT; i++)
        if (strcmp(type, documents[i].type) == 0 && !fits_shape(number, documents[i].shape))
            return input_fail(ctx, "document_number",
                              "document_number is not a valid %s number (e.g. %s)", type,
                              documents[i].example);

    const char *user[] = {ctx->job->user_id};
    PGresult *res =
        PQexecParams(ctx->db, "SELECT kyc_status FROM users WHERE id = $1::uuid FOR NO KEY UPDATE",
                     1, NULL, user, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "USER_NOT_FOUND", "the user does not exist");
    }
    char status[16];
    snprintf(status, sizeof status, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (strcmp(status, "approved") == 0)
        return job_fail(ctx, 409, "KYC_ALREADY_APPROVED", "this account's KYC is approved");
    if (strcmp(status, "submitted") == 0)
        return job_fail(ctx, 409, "KYC_PENDING", "a submission is waiting for review");

    const char *params[] = {ctx->job->user_id, type, number, full_name, dob[0] ? dob : NULL};
    /* The users row is locked above: a second submission made at once
     * waits, then sees "submitted". */
    return answer_json(
        ctx, 201,
        "WITH k AS (INSERT INTO kyc_submissions (user_id, document_type, document_number, "
        "full_name, date_of_birth) VALUES ($1::uuid, $2, $3, $4, $5::date) RETURNING *), "
        "u AS (UPDATE users SET kyc_status = 'submitted', updated_at = now() "
        "WHERE id = $1::uuid) "
        "SELECT mandi_kyc_json(k, false)::text FROM k",
        5, params, "USER_NOT_FOUND", "the user does not exist");
}

int kyc_mine(job_ctx_t *ctx)
{
    const char *params[] = {ctx->job->user_id};
    return answer_json(
        ctx, 200,
        "SELECT jsonb_build_object('kyc_status', u.kyc_status, 'submissions', "
        "coalesce((SELECT jsonb_agg(mandi_kyc_json(k, false) ORDER BY k.created_at DESC) "
        "FROM kyc_submissions k WHERE k.user_id = u.id), '[]'))::text "
        "FROM users u WHERE u.id = $1::uuid",
        1, params, "USER_NOT_FOUND", "the user does not exist");
}

int kyc_list(job_ctx_t *ctx)
{
    static const char *const statuses[] = {"pending", "approved", "rejected", NULL};
    char status[16];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, input_query(ctx), "status", IN_OPTIONAL, statuses, status,
                           sizeof status, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {status[0] ? status : NULL, page.page, page.limit, page.offset};
    /* Oldest first: the review queue is worked in the order it filled. */
    return answer_json(
        ctx, 200,
        "WITH f AS (SELECT k.id, k.created_at FROM kyc_submissions k "
        "WHERE $1::text IS NULL OR k.status = $1), "
        "p AS (SELECT id FROM f ORDER BY created_at, id LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', coalesce((SELECT jsonb_agg(mandi_kyc_json(k, true) "
        "|| jsonb_build_object('user', jsonb_build_object('id', u.id, 'name', u.name, "
        "'phone', u.phone, 'email', u.email)) ORDER BY k.created_at, k.id) "
        "FROM kyc_submissions k JOIN p USING (id) JOIN users u ON u.id = k.user_id), '[]'), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM f)))::text",
        4, params, "KYC_NOT_FOUND", "no submissions");
}

/* Approves or rejects the pending submission of the path. */
static int decide(job_ctx_t *ctx, const char *decision)
{
    const msgpack_object *body = job_body(ctx->job);
    char id[37], reason[501 * 4];
    int rejecting = strcmp(decision, "rejected") == 0, rc;
    if ((rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL)))
        return rc;
    if (body && body->type != MSGPACK_OBJECT_MAP && body->type != MSGPACK_OBJECT_NIL)
        return input_fail(ctx, "body", "the body must be a JSON object");
    if ((rc = input_str(ctx, body, "reason", rejecting ? IN_REQUIRED : IN_OPTIONAL, 1, 500, reason,
                        sizeof reason, NULL)))
        return rc;

    const char *params[] = {id};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT user_id::text, status, mandi_kyc_json(k, true)::text "
                                 "FROM kyc_submissions k WHERE id = $1::uuid FOR UPDATE",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return job_fail(ctx, 404, "KYC_NOT_FOUND", "the KYC submission does not exist");
    }
    int own = strcmp(PQgetvalue(res, 0, 0), ctx->job->user_id) == 0;
    char status[16];
    snprintf(status, sizeof status, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (own)
        return job_fail(ctx, 403, "CANNOT_REVIEW_SELF", "nobody reviews their own KYC");
    if (strcmp(status, "pending") != 0) {
        job_fail(ctx, 409, "KYC_ALREADY_REVIEWED", "the submission was already %s", status);
        job_fail_detail_str(ctx, "status", status);
        return 409;
    }

    const char *update[] = {id, decision, reason[0] ? reason : NULL, ctx->job->user_id};
    res = PQexecParams(ctx->db,
                       "WITH k AS (UPDATE kyc_submissions SET status = $2, reason = $3, "
                       "reviewed_by = $4::uuid, reviewed_at = now() WHERE id = $1::uuid "
                       "RETURNING *), "
                       "u AS (UPDATE users SET kyc_status = $2, updated_at = now() "
                       "WHERE id = (SELECT user_id FROM k)) "
                       "SELECT mandi_kyc_json(k, true)::text, "
                       "jsonb_build_object('status', k.status, 'reason', k.reason)::text FROM k",
                       4, NULL, update, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return answer_db_failed(ctx, res);
    rc = accounts_audit(ctx, rejecting ? "kyc.reject" : "kyc.approve", "kyc", id,
                        "{\"status\": \"pending\"}", PQgetvalue(res, 0, 1));
    if (!rc)
        rc = answer_pack_json(ctx, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    PQclear(res);
    return rc ? rc : 200;
}

int kyc_approve(job_ctx_t *ctx)
{
    return decide(ctx, "approved");
}

int kyc_reject(job_ctx_t *ctx)
{
    return decide(ctx, "rejected");
}
