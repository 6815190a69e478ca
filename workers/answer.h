/*
 * answer - replies whose JSON PostgreSQL builds, for every pool.
 *
 * Handlers let PostgreSQL shape their answers (jsonb_build_object and the
 * mandi_*_json functions of sql/): one statement selects one JSON text,
 * which becomes the reply body as msgpack. Lists share one shape,
 * {"items": [...], "pagination": {"page", "limit", "total", "pages"}}, with
 * page and limit read from the query.
 */
#ifndef MANDI_ANSWER_H
#define MANDI_ANSWER_H

#include "worker.h"

/* Appends a JSON text (made by PostgreSQL) to the reply body as msgpack. */
int answer_pack_json(job_ctx_t *ctx, const char *json, size_t len);

/* Runs sql, which selects one JSON text, and answers it with ok_status;
 * no row (or NULL) answers 404 with missing_code and missing_message. */
int answer_json(job_ctx_t *ctx, int ok_status, const char *sql, int nparams,
                const char *const *params, const char *missing_code, const char *missing_message);

/* Runs sql, which selects exactly one row, into *res (the caller clears
 * it); returns 0, or the status of answer_db_failed. */
int answer_row(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params,
               PGresult **res);

/* Answers 200 {"id": id, "deleted": true}, what every DELETE returns. */
int answer_deleted(job_ctx_t *ctx, const char *id);

/* Records an event on topic whose body is the one JSON text selected by
 * sql, in the job's transaction; returns 0 or the status answered. */
int answer_event(job_ctx_t *ctx, const char *topic, const char *sql, int nparams,
                 const char *const *params);

/* Runs a statement whose result is not answered (an UPDATE, a DELETE);
 * returns 0, or the status of answer_db_failed. */
int answer_exec(job_ctx_t *ctx, const char *sql, int nparams, const char *const *params);

/* Logs a failed query and answers 503 DB_UNAVAILABLE. */
int answer_db_failed(job_ctx_t *ctx, PGresult *res);

/* A list's page from the query (page, limit; see input_page), as the
 * texts of SQL parameters: list statements take $page, $limit, $offset
 * and select jsonb_build_object('items', ..., 'pagination',
 * mandi_pagination($page, $limit, total)). */
typedef struct {
    char page[24], limit[24], offset[24];
} answer_page_t;
int answer_read_page(job_ctx_t *ctx, answer_page_t *page);

#endif
