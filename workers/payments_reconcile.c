/*
 * payments_reconcile - comparing our payments with Razorpay's for a period
 * (payment.reconcile), and reading the runs recorded (reconciliation.list,
 * reconciliation.get).
 *
 * A run reads every payment Razorpay lists for the period into a temporary
 * table, matches each to our row (by Razorpay payment id, else by Razorpay
 * order id, for payments whose id we never learnt), and lets one statement
 * per kind of mismatch (the table `kinds`) record what differs. The run and
 * its mismatches commit together with the job; when Razorpay cannot be
 * read, the job fails with 502 and nothing is recorded, so a run on record
 * always saw the whole period.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accounts.h"
#include "input.h"
#include "log.h"
#include "mp.h"
#include "payments.h"

#define PERIOD_MAX_S (31 * 86400LL) /* a month at most: one run stays one job */
#define UNIX_MIN     946684800LL    /* 2000-01-01, before any payment of ours */
#define UNIX_MAX     4102444800LL   /* 2100-01-01 */
#define IST_OFFSET_S 19800          /* India is UTC+05:30 all year: no daylight saving */
#define PAGE_SIZE    100            /* Razorpay's largest page */
/* 100 000 payments. A period holding more is refused rather than read for
 * minutes; a shorter period splits the work. */
#define PAGES_MAX 1000

#define RUN_NOT_FOUND "RECONCILIATION_NOT_FOUND", "no reconciliation run has that id"

/* ---- the period ------------------------------------------------------------ */

/* One bound of the period from body[field]: a date YYYY-MM-DD (India time;
 * its first second, or its last when last_second) or Unix seconds. */
static int read_bound(job_ctx_t *ctx, const msgpack_object *body, const char *field,
                      int last_second, int64_t *out)
{
    const msgpack_object *v = mp_get(body, field);
    if (!v || v->type == MSGPACK_OBJECT_NIL)
        return input_fail(ctx, field, "%s is required: a date YYYY-MM-DD or Unix seconds", field);
    if (v->type != MSGPACK_OBJECT_STR)
        return input_int(ctx, body, field, IN_REQUIRED, UNIX_MIN, UNIX_MAX, out, NULL);
    char date[11];
    int rc = input_date(ctx, body, field, IN_REQUIRED, 0, date, NULL);
    if (rc)
        return rc;
    struct tm tm = {
        .tm_year = atoi(date) - 1900, .tm_mon = atoi(date + 5) - 1, .tm_mday = atoi(date + 8)};
    *out = (int64_t)timegm(&tm) - IST_OFFSET_S + (last_second ? 86400 - 1 : 0);
    if (*out < UNIX_MIN || *out > UNIX_MAX)
        return input_fail(ctx, field, "%s must be between 2000-01-01 and 2100-01-01", field);
    return 0;
}

/* from and to, both inclusive, to the second. */
static int read_period(job_ctx_t *ctx, int64_t *from, int64_t *to)
{
    const msgpack_object *body;
    int rc;
    if ((rc = input_body(ctx, &body)) || (rc = read_bound(ctx, body, "from", 0, from)) ||
        (rc = read_bound(ctx, body, "to", 1, to)))
        return rc;
    if (*to < *from)
        return input_fail(ctx, "to", "to must not be before from");
    if (*to - *from + 1 > PERIOD_MAX_S)
        return input_fail(ctx, "to", "to may be at most 31 days after from");
    return 0;
}

/* ---- Razorpay's side --------------------------------------------------------- */

/* Razorpay's payments as the kinds read them. captured stays true after a
 * refund (status "refunded"), as Razorpay's own field does. listed: the
 * period's list had it (otherwise fetched on its own, see fetch_missing);
 * ours: the row it matched. */
static const char theirs_table[] =
    "CREATE TEMPORARY TABLE recon_theirs (id text PRIMARY KEY, order_id text, status text, "
    "captured boolean NOT NULL, amount bigint, amount_refunded bigint NOT NULL, "
    "listed boolean NOT NULL, ours uuid) ON COMMIT DROP";

/* Keeps the payment entities of `array`, an expression over $1 (the JSON
 * text Razorpay answered); a payment listed twice (new payments moved the
 * list under our paging) is kept once. Selects whether it is an array and
 * how many it held. */
#define KEEP_ENTITIES(array, listed)                                                               \
    "WITH a AS (SELECT " array " AS items), "                                                      \
    "kept AS (INSERT INTO recon_theirs (id, order_id, status, captured, amount, "                  \
    "  amount_refunded, listed) "                                                                  \
    "  SELECT i->>'id', i->>'order_id', i->>'status', "                                            \
    "  coalesce((i->>'captured')::boolean, false) OR i->>'status' IN ('captured', 'refunded'), "   \
    "  (i->>'amount')::bigint, coalesce((i->>'amount_refunded')::bigint, 0), " listed " "          \
    "  FROM a, jsonb_array_elements(CASE jsonb_typeof(a.items) WHEN 'array' THEN a.items "         \
    "  ELSE '[]' END) i WHERE i->>'id' IS NOT NULL ON CONFLICT (id) DO NOTHING) "                  \
    "SELECT jsonb_typeof(items) = 'array', "                                                       \
    "  CASE jsonb_typeof(items) WHEN 'array' THEN jsonb_array_length(items) ELSE 0 END FROM a"

/* Keeps one answer's entities; *n receives how many it held. A body that
 * is not what Razorpay sends is a gateway failure, like no answer. */
static int keep_entities(job_ctx_t *ctx, const char *sql, const char *json, int *n)
{
    const char *params[] = {json};
    PGresult *res = PQexecParams(ctx->db, sql, 1, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
             strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (ok)
        *n = atoi(PQgetvalue(res, 0, 1));
    else
        log_msg(LOG_WARN, ctx->job->request_id, "reconcile: Razorpay's answer unreadable: %s",
                PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0
              : job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR",
                         "Razorpay's answer does not hold payments as asked");
}

/* Every page of GET /v1/payments for the period. */
static int list_theirs(job_ctx_t *ctx, razorpay_t *rzp, int64_t from, int64_t to)
{
    for (int page = 0;; page++) {
        if (page == PAGES_MAX)
            return job_fail(ctx, 422, "PERIOD_TOO_LARGE",
                            "Razorpay lists more than %d payments for the period: reconcile a "
                            "shorter one",
                            PAGES_MAX * PAGE_SIZE);
        razorpay_result_t res = RAZORPAY_RESULT_INIT;
        if (razorpay_payments_list(rzp, from, to, PAGE_SIZE, page * PAGE_SIZE, &res) < 0) {
            int rc = payments_gateway_failed(ctx, &res);
            razorpay_result_free(&res);
            return rc;
        }
        int n = 0;
        int rc = keep_entities(ctx, KEEP_ENTITIES("$1::jsonb->'items'", "true"), res.body.data, &n);
        razorpay_result_free(&res);
        if (rc)
            return rc;
        /* A long period takes many calls: reporting renews the job's lease,
         * so the recovery sweep does not hand it to another worker. */
        job_progress(ctx, page + 1 < 90 ? page + 1 : 90);
        if (n < PAGE_SIZE)
            return 0;
    }
}

/* Our captured payments of the period that Razorpay's list did not hold:
 * Razorpay dates a payment when the customer pays, we when the order is
 * made, so near the period's edges the two sides fall on different days.
 * Each is fetched by id; one Razorpay does not know stays absent (and is
 * reported as captured here only). Our payments whose Razorpay id we never
 * learnt and that were paid after the period show up in a later period's
 * list, matched by their order. */
static int fetch_missing(job_ctx_t *ctx, razorpay_t *rzp, const char *run)
{
    const char *params[] = {run};
    PGresult *ids =
        PQexecParams(ctx->db,
                     "SELECT p.razorpay_payment_id FROM reconciliation_runs r "
                     "JOIN payments p ON p.created_at >= r.period_from "
                     "  AND p.created_at < r.period_to + interval '1 second' "
                     "WHERE r.id = $1::uuid AND p.status = 'captured' "
                     "AND p.razorpay_payment_id IS NOT NULL AND NOT EXISTS "
                     "  (SELECT 1 FROM recon_theirs t WHERE t.id = p.razorpay_payment_id) "
                     "ORDER BY p.razorpay_payment_id",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(ids) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, ids);
    int rc = 0;
    for (int i = 0; i < PQntuples(ids) && !rc; i++) {
        razorpay_result_t res = RAZORPAY_RESULT_INIT;
        if (razorpay_payment_fetch(rzp, PQgetvalue(ids, i, 0), &res) == 0) {
            int n;
            rc = keep_entities(ctx, KEEP_ENTITIES("jsonb_build_array($1::jsonb)", "false"),
                               res.body.data, &n);
        } else if (res.status != 400 && !(res.status == 0 && res.attempts == 0)) {
            /* 400 is Razorpay's answer to an id it does not know; an id
             * refused before sending cannot be one of its ids either. */
            rc = payments_gateway_failed(ctx, &res);
        }
        razorpay_result_free(&res);
        job_progress(ctx, 90); /* each fetch is a call too: keep the lease */
    }
    PQclear(ids);
    return rc;
}

/* ---- the mismatches ---------------------------------------------------------- */

/* The columns every kind records: ours (p) beside theirs (t). */
#define MISMATCH_INSERT                                                                            \
    "INSERT INTO reconciliation_mismatches (run_id, kind, payment_id, razorpay_payment_id, "       \
    "  razorpay_order_id, ours_status, theirs_status, ours_amount_paise, theirs_amount_paise, "    \
    "  ours_refunded_paise, theirs_refunded_paise, detail) "
#define SIDE_BY_SIDE                                                                               \
    "SELECT $1::uuid, $2, p.id, coalesce(t.id, p.razorpay_payment_id), "                           \
    "  coalesce(t.order_id, p.razorpay_order_id), p.status, t.status, p.amount_paise, t.amount, "  \
    "  p.amount_refunded_paise, t.amount_refunded, $3 "
/* Razorpay's payments beside the rows they matched. */
#define FROM_THEIRS SIDE_BY_SIDE "FROM recon_theirs t LEFT JOIN payments p ON p.id = t.ours WHERE "

/* A kind of mismatch: its name, what it means (recorded as the detail) and
 * which pairs show it. A pair may show several kinds; each is recorded. */
static const struct {
    const char *kind;
    const char *detail;
    const char *sql; /* $1 run, $2 kind, $3 detail */
} kinds[] = {
    {"captured_at_razorpay_only",
     "captured at Razorpay but not captured here: money taken, nothing credited",
     /* Ours is not captured, or was settled by another payment of the
      * same order (the customer paid twice). */
     MISMATCH_INSERT FROM_THEIRS "t.captured AND p.id IS NOT NULL "
                                 "AND (p.status <> 'captured' OR p.razorpay_payment_id IS "
                                 "DISTINCT FROM t.id) ORDER BY t.id"},
    {"captured_here_only", "captured here but not at Razorpay: credited without the money",
     MISMATCH_INSERT SIDE_BY_SIDE
     "FROM reconciliation_runs r JOIN payments p ON p.created_at >= r.period_from "
     "  AND p.created_at < r.period_to + interval '1 second' "
     "LEFT JOIN recon_theirs t ON t.id = p.razorpay_payment_id "
     "WHERE r.id = $1::uuid AND p.status = 'captured' AND (t.id IS NULL OR NOT t.captured) "
     "ORDER BY p.id"},
    {"amount_differs", "the payment's amount differs",
     MISMATCH_INSERT FROM_THEIRS "p.razorpay_payment_id = t.id AND p.amount_paise "
                                 "IS DISTINCT FROM t.amount ORDER BY t.id"},
    {"refunded_differs", "the amount refunded differs",
     MISMATCH_INSERT FROM_THEIRS "p.razorpay_payment_id = t.id AND p.amount_refunded_paise <> "
                                 "t.amount_refunded ORDER BY t.id"},
    {"unknown_order", "a Razorpay payment for an order we do not know",
     MISMATCH_INSERT FROM_THEIRS "t.ours IS NULL ORDER BY t.id"},
};

#define KIND_COUNT (sizeof kinds / sizeof kinds[0])

/* Each of Razorpay's payments to our row: the one it settled, else the one
 * whose Razorpay order it paid. */
static int match_ours(job_ctx_t *ctx)
{
    return answer_exec(ctx,
                       "UPDATE recon_theirs t SET ours = coalesce("
                       "  (SELECT id FROM payments WHERE razorpay_payment_id = t.id), "
                       "  (SELECT id FROM payments WHERE razorpay_order_id = t.order_id))",
                       0, NULL);
}

/* Records every kind's mismatches; *total receives how many. */
static int record_mismatches(job_ctx_t *ctx, const char *run, long *total)
{
    *total = 0;
    for (size_t i = 0; i < KIND_COUNT; i++) {
        const char *params[] = {run, kinds[i].kind, kinds[i].detail};
        PGresult *res = PQexecParams(ctx->db, kinds[i].sql, 3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            return answer_db_failed(ctx, res);
        *total += atol(PQcmdTuples(res));
        PQclear(res);
    }
    return 0;
}

/* ---- the jobs ---------------------------------------------------------------- */

/* A run with its mismatches: what the run answers and GET .../:id. */
#define RUN_REPORT                                                                                 \
    "SELECT (mandi_reconciliation_json(r) || jsonb_build_object('mismatches', "                    \
    "  (SELECT coalesce(jsonb_agg(mandi_reconciliation_mismatch_json(m) ORDER BY m.id), '[]') "    \
    "   FROM reconciliation_mismatches m WHERE m.run_id = r.id)))::text "                          \
    "FROM reconciliation_runs r WHERE r.id = $1::uuid"

int payment_reconcile(job_ctx_t *ctx)
{
    int64_t from, to;
    int rc = read_period(ctx, &from, &to);
    if (rc)
        return rc;
    razorpay_t *rzp = payments_gateway(ctx);
    razorpay_result_t none = RAZORPAY_RESULT_INIT;
    if (!rzp)
        return payments_gateway_failed(ctx, &none);
    const char *run = ctx->job->id;
    char f[24], t[24];
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(t, sizeof t, "%lld", (long long)to);
    /* A scheduler's job has no caller: the run then has no actor. */
    const char *actor = ctx->job->user_id[0] ? ctx->job->user_id : NULL;
    const char *role = ctx->job->role[0] ? ctx->job->role : NULL;
    const char *params[] = {run, f, t, actor, role};
    /* The run's row first, with the period the kinds' statements read;
     * its counts are filled in at the end. */
    if ((rc = answer_exec(ctx,
                          "INSERT INTO reconciliation_runs (id, period_from, period_to, "
                          "started_at, finished_at, actor_id, actor_role, razorpay_payments, "
                          "our_payments, mismatch_count, status) VALUES ($1::uuid, "
                          "to_timestamp($2::bigint), to_timestamp($3::bigint), "
                          "clock_timestamp(), clock_timestamp(), $4::uuid, $5, 0, 0, 0, 'clean')",
                          5, params)) ||
        (rc = answer_exec(ctx, theirs_table, 0, NULL)) || (rc = list_theirs(ctx, rzp, from, to)) ||
        (rc = fetch_missing(ctx, rzp, run)) || (rc = match_ours(ctx)))
        return rc;
    long total;
    if ((rc = record_mismatches(ctx, run, &total)))
        return rc;
    PGresult *res;
    const char *done[] = {run};
    if ((rc = answer_row(ctx,
                         "UPDATE reconciliation_runs r SET finished_at = clock_timestamp(), "
                         "razorpay_payments = (SELECT count(*) FROM recon_theirs WHERE listed), "
                         "our_payments = (SELECT count(*) FROM payments p "
                         "  WHERE p.created_at >= r.period_from "
                         "  AND p.created_at < r.period_to + interval '1 second'), "
                         "mismatch_count = (SELECT count(*) FROM reconciliation_mismatches m "
                         "  WHERE m.run_id = r.id), "
                         "status = CASE WHEN EXISTS (SELECT 1 FROM reconciliation_mismatches m "
                         "  WHERE m.run_id = r.id) THEN 'mismatches' ELSE 'clean' END "
                         "WHERE r.id = $1::uuid RETURNING jsonb_build_object('from', "
                         "mandi_ts(period_from), 'to', mandi_ts(period_to), 'status', status, "
                         "'mismatch_count', mismatch_count)::text",
                         1, done, &res)))
        return rc;
    /* Who ran it and what it found, like every finance action. */
    if (actor)
        rc = accounts_audit(ctx, "payments.reconcile", "reconciliation_run", run, NULL,
                            PQgetvalue(res, 0, 0));
    PQclear(res);
    if (rc)
        return rc;
    log_msg(LOG_INFO, ctx->job->request_id, "reconciliation %s: %ld mismatches", run, total);
    return answer_json(ctx, 201, RUN_REPORT, 1, done, RUN_NOT_FOUND);
}

static const char *const run_statuses[] = {"clean", "mismatches", NULL};

int reconciliation_list(job_ctx_t *ctx)
{
    char status[16];
    answer_page_t page;
    int rc;
    if ((rc = input_choice(ctx, input_query(ctx), "status", IN_OPTIONAL, run_statuses, status,
                           sizeof status, NULL)) ||
        (rc = answer_read_page(ctx, &page)))
        return rc;
    const char *params[] = {status[0] ? status : NULL, page.page, page.limit, page.offset};
    return answer_json(
        ctx, 200,
        "WITH hits AS (SELECT r FROM reconciliation_runs r WHERE $1::text IS NULL "
        "  OR r.status = $1), "
        "page AS (SELECT r FROM hits ORDER BY (r).started_at DESC, (r).id DESC "
        "  LIMIT $3::bigint OFFSET $4::bigint) "
        "SELECT jsonb_build_object('items', (SELECT coalesce(jsonb_agg("
        "  mandi_reconciliation_json(r) ORDER BY (r).started_at DESC, (r).id DESC), '[]') "
        "  FROM page), "
        "'pagination', mandi_pagination($2::bigint, $3::bigint, (SELECT count(*) FROM hits)))"
        "::text",
        4, params, RUN_NOT_FOUND);
}

int reconciliation_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    return answer_json(ctx, 200, RUN_REPORT, 1, params, RUN_NOT_FOUND);
}
