/*
 * input - reading and checking the fields of a job's JSON body.
 *
 * Every check that fails answers 400 VALIDATION_ERROR with a message that
 * names the field and details {"field": name}, so a client can point at the
 * box to fix. Each function returns 0 when the field is acceptable, else
 * the status to return from the handler (job_fail already called):
 *
 *     if ((rc = input_str(ctx, body, "name", IN_REQUIRED, 1, 100, name, sizeof name, NULL)))
 *         return rc;
 *
 * Fields not asked for are ignored. Lengths count characters (UTF-8 code
 * points), not bytes.
 */
#ifndef MANDI_INPUT_H
#define MANDI_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "worker.h"

enum { IN_OPTIONAL = 0, IN_REQUIRED = 1 };

/* What was found: absent, a value, or an explicit null. */
enum { IN_ABSENT = 0, IN_PRESENT = 1, IN_NULL = 2 };

/* Fails with field and a printf-style message. */
int input_fail(job_ctx_t *ctx, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The job's body, which must be a JSON object. */
int input_body(job_ctx_t *ctx, const msgpack_object **body);

/* A string of min..max characters copied to out (cap bytes with the NUL;
 * cap must hold max characters of 4 bytes). *found (may be NULL) says what
 * was there; an explicit null is accepted only when required is not set,
 * and left for the caller to judge. */
int input_str(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
              size_t min, size_t max, char *out, size_t cap, int *found);

/* The same for free text (a description, a reason): line breaks allowed. */
int input_text(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
               size_t min, size_t max, char *out, size_t cap, int *found);

/* A boolean. */
int input_bool(job_ctx_t *ctx, const msgpack_object *obj, const char *key, const char *field,
               int *out, int *found);

/* A string that must be one of the NULL-terminated choices. */
int input_choice(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                 const char *const *choices, char *out, size_t cap, int *found);

/* An Indian mobile number, "+91-XXXXXXXXXX" or "+91XXXXXXXXXX" with the
 * first digit 6-9, normalised to "+91XXXXXXXXXX" (out: 14 bytes). */
int input_phone(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                char out[14], int *found);

/* An email address, lower-cased (out: 255 bytes). */
int input_email(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                char out[255], int *found);

/* The job's query map and path-parameter map (NULL when absent: every
 * field then reads as absent). Their values are strings. */
const msgpack_object *input_query(const job_ctx_t *ctx);
const msgpack_object *input_params(const job_ctx_t *ctx);

/* A UUID, lower-cased (out: 37 bytes). */
int input_uuid(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
               char out[37], int *found);

/* A calendar date "YYYY-MM-DD" that exists (out: 11 bytes); with past_only
 * it must also be before today and not before 1900-01-01. */
int input_date(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
               int past_only, char out[11], int *found);

/* The optional "from" and "to" dates of a list's query; to may not be
 * before from (400 naming "to"). */
int input_date_range(job_ctx_t *ctx, const msgpack_object *query, char from[11], char to[11]);

/* An instant in RFC 3339 form with its zone, "2026-11-23T18:30:00+05:30"
 * or "...Z", up to microseconds (out: 33 bytes). */
int input_timestamp(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
                    char out[33], int *found);

/* An integer (a JSON number) in min..max. */
int input_int(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
              int64_t min, int64_t max, int64_t *out, int *found);

/* A query parameter of decimal digits in min..max; *out is left alone
 * when the parameter is absent. */
int input_query_int(job_ctx_t *ctx, const char *field, int64_t min, int64_t max, int64_t *out);

/* A number (integer or decimal) in min..max. */
int input_number(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
                 double min, double max, double *out, int *found);

/* A JSON array (want MSGPACK_OBJECT_ARRAY) or object (MSGPACK_OBJECT_MAP)
 * of at most max members; *value points at it, NULL when absent or null.
 * What its members must be is the caller's to check. */
int input_container(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                    msgpack_object_type want, uint32_t max, const msgpack_object **value,
                    int *found);

/* An array of at most max distinct UUIDs (a JSON array of strings),
 * lower-cased into out, which has room for max; *count receives how many.
 * A member that is not a UUID, or one that repeats an earlier one, fails
 * naming field and the member's index. An absent or null field gives 0. */
int input_uuid_list(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                    uint32_t max, char (*out)[37], uint32_t *count, int *found);

/* Refuses an explicit null for the fields of an update that may be
 * changed but not cleared: found[i] is what the check of fields[i] found. */
int input_kept(job_ctx_t *ctx, const char *const *fields, const int *found, size_t n);

/* Pagination from the query: page (from 1, default 1) and limit (1..100,
 * default 20). */
int input_page(job_ctx_t *ctx, int64_t *page, int64_t *limit);

/* SQL parameters of a partial update, from what a field check found:
 * whether the field was sent at all ("true"/"false", null included), and
 * its value (NULL when absent or null). */
static inline const char *input_sent(int found)
{
    return found != IN_ABSENT ? "true" : "false";
}
static inline const char *input_value(int found, const char *value)
{
    return found == IN_PRESENT ? value : NULL;
}

/* Checks (no job body involved) used by the functions above, for tests. */
int input_phone_normalise(const char *in, char out[14]);
int input_email_normalise(const char *in, char out[255]);
int input_uuid_normalise(const char *in, char out[37]);
int input_date_valid(const char *s, int past_only);
int input_timestamp_valid(const char *s);
/* The members of array into out: 0, or -1 when member *bad is not a UUID
 * string, -2 when it repeats an earlier one. */
int input_uuid_list_normalise(const msgpack_object *array, char (*out)[37], uint32_t *bad);

size_t input_utf8_length(const char *s, size_t len);

#endif
