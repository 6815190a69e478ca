/*
 * analytics_export - CSV exports of orders, products, customers and daily
 * sales (csv.h for the quoting and the formula guard).
 *
 * An export reads its rows through a cursor, FETCH_ROWS at a time, and
 * writes the CSV in chunks of CHUNK_BYTES into export_chunks, reporting
 * progress as it goes; the front streams the chunks to the caller. Memory
 * stays at one fetch and one chunk whatever the export's size. What each
 * kind selects is a row of a table: its query and its columns' types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics.h"
#include "csv.h"
#include "input.h"

#define EXPORT_NOT_FOUND "EXPORT_NOT_FOUND", "no export has that id"
#define FETCH_ROWS       "2000"
#define CHUNK_BYTES      (256 * 1024)

/* $1 from and $2 to (India dates, inclusive), NULL for no bound. */
#define IN_RANGE(col)                                                                              \
    "($1::date IS NULL OR (" col " AT TIME ZONE 'Asia/Kolkata')::date >= $1::date) AND "           \
    "($2::date IS NULL OR (" col " AT TIME ZONE 'Asia/Kolkata')::date <= $2::date)"

typedef struct {
    const char *file; /* the path's name, e.g. orders.csv */
    const char *kind;
    const char *header; /* the first record */
    const char *types;  /* a column each: 't' text, 'i' integer */
    const char *select; /* rows in export order; $1 from, $2 to */
} export_kind_t;

/* clang-format off */
static const export_kind_t kinds[] = {
    {"orders.csv", "orders",
     "order_id,number,created_at,status,payment_method,user_id,store_id,zone,subtotal_paise,"
     "discount_paise,delivery_fee_paise,total_paise",
     "tttttttt" "iiii",
     "SELECT id::text, number, mandi_ts(created_at), status, payment_method, user_id::text, "
     "store_id::text, zone, subtotal_paise, discount_paise, delivery_fee_paise, total_paise "
     "FROM orders WHERE " IN_RANGE("created_at") " ORDER BY created_at, id"},
    {"products.csv", "products",
     "product_id,sku,name,store_id,category_id,original_price_paise,selling_price_paise,stock,"
     "active,created_at",
     "ttttt" "iii" "tt",
     "SELECT id::text, sku, name, store_id::text, category_id::text, original_price_paise, "
     "selling_price_paise, stock, CASE WHEN is_active THEN 'yes' ELSE 'no' END, "
     "mandi_ts(created_at) FROM products WHERE deleted_at IS NULL AND " IN_RANGE("created_at")
     " ORDER BY created_at, id"},
    {"customers.csv", "customers",
     "user_id,name,phone,email,status,created_at,orders,spent_paise",
     "tttttt" "ii",
     "SELECT u.id::text, coalesce(u.name, ''), coalesce(u.phone, ''), coalesce(u.email, ''), "
     "u.status, mandi_ts(u.created_at), "
     "(SELECT count(*) FROM orders o WHERE o.user_id = u.id AND o.status <> 'CANCELLED'), "
     "(SELECT coalesce(sum(total_paise), 0) FROM orders o WHERE o.user_id = u.id "
     " AND o.status <> 'CANCELLED') "
     "FROM users u WHERE u.role = 'USER' AND " IN_RANGE("u.created_at")
     " ORDER BY u.created_at, u.id"},
    {"sales.csv", "sales",
     "day,orders,cancelled,revenue_paise,discount_paise,delivery_fee_paise",
     "t" "iiiii",
     "SELECT (created_at AT TIME ZONE 'Asia/Kolkata')::date::text AS day, "
     "count(*) FILTER (WHERE status <> 'CANCELLED'), count(*) FILTER (WHERE status = 'CANCELLED'), "
     "coalesce(sum(total_paise) FILTER (WHERE status <> 'CANCELLED'), 0), "
     "coalesce(sum(discount_paise) FILTER (WHERE status <> 'CANCELLED'), 0), "
     "coalesce(sum(delivery_fee_paise) FILTER (WHERE status <> 'CANCELLED'), 0) "
     "FROM orders WHERE " IN_RANGE("created_at") " GROUP BY 1 ORDER BY 1"},
};
/* clang-format on */

static const export_kind_t *find_kind(const char *file)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].file, file) == 0)
            return &kinds[i];
    return NULL;
}

/* Stores chunk seq of export id. */
static int put_chunk(job_ctx_t *ctx, const char *id, int seq, const buf_t *data)
{
    char n[16];
    snprintf(n, sizeof n, "%d", seq);
    const char *params[] = {id, n, data->data};
    int lengths[] = {0, 0, (int)data->len}, formats[] = {0, 0, 1};
    PGresult *res = PQexecParams(ctx->db,
                                 "INSERT INTO export_chunks (export_id, seq, data) "
                                 "VALUES ($1::uuid, $2::int, $3)",
                                 3, NULL, params, lengths, formats, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    return 0;
}

/* Appends the rows of res to csv as the kind's column types say. */
static int64_t append_rows(const export_kind_t *k, PGresult *res, buf_t *csv)
{
    int n = PQntuples(res), cols = (int)strlen(k->types);
    for (int r = 0; r < n; r++) {
        for (int c = 0; c < cols; c++) {
            if (k->types[c] == 'i')
                csv_int(csv, c == 0, atoll(PQgetvalue(res, r, c)));
            else
                csv_text(csv, c == 0, PQgetvalue(res, r, c), (size_t)PQgetlength(res, r, c));
        }
        csv_end(csv);
    }
    return n;
}

/* Writes the export's chunks from the cursor over k's rows. */
static int write_export(job_ctx_t *ctx, const export_kind_t *k, const char *from, const char *to,
                        int64_t *rows, int64_t *bytes)
{
    const char *range[] = {from, to};
    char declare[2048];
    snprintf(declare, sizeof declare, "DECLARE export_rows NO SCROLL CURSOR FOR %s", k->select);
    PGresult *res = PQexecParams(ctx->db, declare, 2, NULL, range, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        return answer_db_failed(ctx, res);
    PQclear(res);
    /* Progress needs the total; counting costs one more pass of the query. */
    char count[2100];
    snprintf(count, sizeof count, "SELECT count(*) FROM (%s) x", k->select);
    res = PQexecParams(ctx->db, count, 2, NULL, range, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return answer_db_failed(ctx, res);
    int64_t total = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);

    buf_t csv = BUF_INIT;
    buf_append_str(&csv, k->header);
    csv_end(&csv);
    int seq = 0, rc = 0;
    for (;;) {
        res = PQexec(ctx->db, "FETCH " FETCH_ROWS " FROM export_rows");
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = answer_db_failed(ctx, res);
            break;
        }
        int got = PQntuples(res);
        *rows += append_rows(k, res, &csv);
        PQclear(res);
        if (csv.len >= CHUNK_BYTES || (got == 0 && csv.len)) {
            if ((rc = put_chunk(ctx, ctx->job->id, seq++, &csv)))
                break;
            *bytes += (int64_t)csv.len;
            buf_reset(&csv);
            if (total > 0)
                job_progress(ctx, (int)(*rows * 99 / total));
        }
        if (got == 0)
            break;
    }
    buf_free(&csv);
    return rc ? rc : answer_exec(ctx, "CLOSE export_rows", 0, NULL);
}

int export_run(job_ctx_t *ctx)
{
    const msgpack_object *query = input_query(ctx);
    char file[32], from[11], to[11];
    int rc;
    if ((rc = input_str(ctx, input_params(ctx), "file", IN_REQUIRED, 1, 31, file, sizeof file,
                        NULL)) ||
        (rc = input_date_range(ctx, query, from, to)))
        return rc;
    const export_kind_t *k = find_kind(file);
    if (!k)
        return job_fail(ctx, 404, "EXPORT_NOT_FOUND",
                        "no export is called %s: orders.csv, products.csv, customers.csv or "
                        "sales.csv",
                        file);
    char filename[64];
    snprintf(filename, sizeof filename, "%s%s%s%s%s.csv", k->kind, from[0] ? "-" : "", from,
             to[0] ? "-" : "", to);
    const char *params[] = {
        ctx->job->id,      k->kind,  from[0] ? from : NULL,
        to[0] ? to : NULL, filename, ctx->job->user_id[0] ? ctx->job->user_id : NULL};
    if ((rc = answer_exec(ctx,
                          "INSERT INTO exports (id, kind, params, filename, created_by) "
                          "VALUES ($1::uuid, $2, jsonb_strip_nulls(jsonb_build_object('from', "
                          "$3::text, 'to', $4::text)), $5, $6::uuid)",
                          6, params)))
        return rc;
    int64_t rows = 0, bytes = 0;
    if ((rc = write_export(ctx, k, from[0] ? from : NULL, to[0] ? to : NULL, &rows, &bytes)))
        return rc;
    char r[24], b[24];
    snprintf(r, sizeof r, "%lld", (long long)rows);
    snprintf(b, sizeof b, "%lld", (long long)bytes);
    const char *done[] = {ctx->job->id, r, b};
    return answer_json(ctx, 200,
                       "WITH u AS (UPDATE exports SET rows = $2::bigint, bytes = $3::bigint "
                       "  WHERE id = $1::uuid RETURNING *) "
                       "SELECT jsonb_build_object('export_id', id, 'kind', kind, 'filename', "
                       "filename, 'rows', rows, 'bytes', bytes, 'download_url', "
                       "'/api/exports/' || id || '/download')::text FROM u",
                       3, done, EXPORT_NOT_FOUND);
}

/* An export's description, for its download (the front streams it). */
int export_get(job_ctx_t *ctx)
{
    char id[37];
    int rc = input_uuid(ctx, input_params(ctx), "id", IN_REQUIRED, id, NULL);
    if (rc)
        return rc;
    const char *params[] = {id};
    return answer_json(ctx, 200,
                       "SELECT jsonb_build_object('export_id', id, 'kind', kind, 'filename', "
                       "filename, 'rows', rows, 'bytes', bytes)::text FROM exports "
                       "WHERE id = $1::uuid",
                       1, params, EXPORT_NOT_FOUND);
}
