/*
 * input - field checks for job bodies (see input.h).
 */
#include "input.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mp.h"

int input_fail(job_ctx_t *ctx, const char *field, const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    job_fail(ctx, 400, "VALIDATION_ERROR", "%s", message);
    job_fail_detail_str(ctx, "field", field);
    return 400;
}

int input_body(job_ctx_t *ctx, const msgpack_object **body)
{
    *body = job_body(ctx->job);
    if (!*body || (*body)->type != MSGPACK_OBJECT_MAP)
        return input_fail(ctx, "body", "the body must be a JSON object");
    return 0;
}

size_t input_utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* Looks field up; fails when required and missing or null. */
static int lookup(job_ctx_t *ctx, const msgpack_object *obj, const char *key, const char *field,
                  int required, const msgpack_object **value, int *found)
{
    *value = mp_get(obj, key);
    int what = !*value ? IN_ABSENT : (*value)->type == MSGPACK_OBJECT_NIL ? IN_NULL : IN_PRESENT;
    if (found)
        *found = what;
    if (required && what != IN_PRESENT)
        return input_fail(ctx, field, "%s is required", field);
    return 0;
}

/* A string field; multiline lets line breaks through (free text). */
static int read_string(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                       size_t min, size_t max, char *out, size_t cap, int *found, int multiline)
{
    const msgpack_object *v;
    int rc = lookup(ctx, body, field, field, required, &v, found);
    out[0] = '\0';
    if (rc || !v || v->type == MSGPACK_OBJECT_NIL)
        return rc;
    if (v->type != MSGPACK_OBJECT_STR)
        return input_fail(ctx, field, "%s must be a string", field);
    size_t chars = input_utf8_length(v->via.str.ptr, v->via.str.size);
    if (chars < min)
        return input_fail(ctx, field, "%s must have at least %zu characters", field, min);
    if (chars > max || mp_copy_str(v, out, cap) < 0)
        return input_fail(ctx, field, "%s must have at most %zu characters", field, max);
    for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
        int allowed = *p == '\t' || (multiline && (*p == '\n' || *p == '\r'));
        if ((*p < 0x20 && !allowed) || *p == 0x7f)
            return input_fail(ctx, field, "%s must not hold control characters", field);
    }
    return 0;
}

int input_str(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
              size_t min, size_t max, char *out, size_t cap, int *found)
{
    return read_string(ctx, body, field, required, min, max, out, cap, found, 0);
}

int input_text(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
               size_t min, size_t max, char *out, size_t cap, int *found)
{
    return read_string(ctx, body, field, required, min, max, out, cap, found, 1);
}

int input_bool(job_ctx_t *ctx, const msgpack_object *obj, const char *key, const char *field,
               int *out, int *found)
{
    const msgpack_object *v;
    int rc = lookup(ctx, obj, key, field, 0, &v, found);
    if (rc || !v)
        return rc;
    if (v->type != MSGPACK_OBJECT_BOOLEAN)
        return input_fail(ctx, field, "%s must be true or false", field);
    *out = v->via.boolean;
    return 0;
}

int input_choice(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                 const char *const *choices, char *out, size_t cap, int *found)
{
    int rc = input_str(ctx, body, field, required, 1, 64, out, cap, found);
    if (rc || !out[0])
        return rc;
    for (int i = 0; choices[i]; i++)
        if (strcmp(out, choices[i]) == 0)
            return 0;
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; choices[i] && used < sizeof list; i++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", choices[i]);
    return input_fail(ctx, field, "%s must be one of: %s", field, list);
}

int input_phone_normalise(const char *in, char out[14])
{
    if (strncmp(in, "+91", 3) != 0)
        return -1;
    const char *digits = in + 3;
    if (*digits == '-')
        digits++;
    if (strlen(digits) != 10 || digits[0] < '6' || digits[0] > '9')
        return -1;
    for (int i = 0; i < 10; i++)
        if (!isdigit((unsigned char)digits[i]))
            return -1;
    snprintf(out, 14, "+91%s", digits);
    return 0;
}

/* Reads a string field and puts it in canonical form with normalise;
 * message says what a valid value looks like. */
static int input_normalised(job_ctx_t *ctx, const msgpack_object *body, const char *field,
                            int required, size_t min, size_t max,
                            int (*normalise)(const char *, char *), char *out, int *found,
                            const char *message)
{
    char raw[1024];
    int rc = input_str(ctx, body, field, required, min, max, raw, sizeof raw, found);
    out[0] = '\0';
    if (rc || !raw[0])
        return rc;
    if (normalise(raw, out) < 0)
        return input_fail(ctx, field, "%s %s", field, message);
    return 0;
}

int input_phone(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                char out[14], int *found)
{
    return input_normalised(ctx, body, field, required, 1, 20, input_phone_normalise, out, found,
                            "must be an Indian mobile number: +91-XXXXXXXXXX or +91XXXXXXXXXX");
}

/* A pragmatic address check: one '@', a local part and a dotted domain of
 * letters, digits, '-' and '.', no spaces. Delivery is the real test. */
int input_email_normalise(const char *in, char out[255])
{
    size_t len = strlen(in);
    const char *at = strchr(in, '@');
    if (len > 254 || !at || at == in || strchr(at + 1, '@'))
        return -1;
    const char *domain = at + 1;
    const char *dot = strrchr(domain, '.');
    if (!dot || dot == domain || !dot[1] || strstr(domain, ".."))
        return -1;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f)
            return -1;
        if (p > at && !isalnum(c) && c != '-' && c != '.')
            return -1;
    }
    for (size_t i = 0; i <= len; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    return 0;
}

int input_email(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                char out[255], int *found)
{
    return input_normalised(ctx, body, field, required, 3, 254, input_email_normalise, out, found,
                            "is not a valid email address");
}

const msgpack_object *input_query(const job_ctx_t *ctx)
{
    return mp_get(ctx->job->payload, "query");
}

const msgpack_object *input_params(const job_ctx_t *ctx)
{
    return mp_get(ctx->job->payload, "params");
}

int input_uuid_normalise(const char *in, char out[37])
{
    if (strlen(in) != 36)
        return -1;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? in[i] != '-' : !isxdigit((unsigned char)in[i]))
            return -1;
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[36] = '\0';
    return 0;
}

int input_uuid(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
               char out[37], int *found)
{
    return input_normalised(ctx, obj, field, required, 1, 64, input_uuid_normalise, out, found,
                            "must be a UUID");
}

int input_date_valid(const char *s, int past_only)
{
    int y, m, d, n = 0;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return 0;
    /* timegm normalises impossible dates (Feb 30 becomes Mar 2): a date
     * exists when it comes back unchanged. */
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12};
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_year != y - 1900 || back.tm_mon != m - 1 || back.tm_mday != d)
        return 0;
    return !past_only || (y >= 1900 && t < time(NULL));
}

static int copy_date(const char *in, char *out)
{
    snprintf(out, 11, "%s", in);
    return 0;
}

int input_date(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
               int past_only, char out[11], int *found)
{
    int rc = input_normalised(ctx, obj, field, required, 10, 10, copy_date, out, found,
                              "must be a date YYYY-MM-DD");
    if (rc || !out[0])
        return rc;
    if (!input_date_valid(out, past_only))
        return input_fail(ctx, field,
                          past_only ? "%s must be a past date YYYY-MM-DD from 1900-01-01"
                                    : "%s must be a date YYYY-MM-DD that exists",
                          field);
    return 0;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int input_timestamp_valid(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM), RFC 3339 with the
     * zone always stated, so an instant never depends on a server's. */
    char date[11];
    size_t n = strlen(s);
    if (n < 20 || n > 32 || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!input_date_valid(date, 0))
        return 0;
    int hh = two_digits(s + 11), mm = two_digits(s + 14), ss = two_digits(s + 17);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
        return 0;
    const char *p = s + 19;
    if (*p == '.') {
        size_t digits = 0;
        while (p[1 + digits] >= '0' && p[1 + digits] <= '9')
            digits++;
        if (digits < 1 || digits > 6)
            return 0;
        p += 1 + digits;
    }
    if (p[0] == 'Z')
        return p[1] == '\0';
    if ((p[0] != '+' && p[0] != '-') || strlen(p) != 6 || p[3] != ':')
        return 0;
    int zh = two_digits(p + 1), zm = two_digits(p + 4);
    return zh >= 0 && zh <= 14 && zm >= 0 && zm <= 59;
}

static int copy_timestamp(const char *in, char *out)
{
    if (!input_timestamp_valid(in))
        return -1;
    snprintf(out, 33, "%s", in);
    return 0;
}

int input_timestamp(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
                    char out[33], int *found)
{
    return input_normalised(ctx, obj, field, required, 20, 32, copy_timestamp, out, found,
                            "must be a time like 2026-11-23T18:30:00+05:30 (or ...Z)");
}

int input_date_range(job_ctx_t *ctx, const msgpack_object *query, char from[11], char to[11])
{
    int rc;
    if ((rc = input_date(ctx, query, "from", IN_OPTIONAL, 0, from, NULL)) ||
        (rc = input_date(ctx, query, "to", IN_OPTIONAL, 0, to, NULL)))
        return rc;
    if (from[0] && to[0] && strcmp(from, to) > 0)
        return input_fail(ctx, "to", "to must not be before from");
    return 0;
}

/* Checks n against min..max, or fails naming field. */
static int int_in_range(job_ctx_t *ctx, const char *field, int ok, int64_t n, int64_t min,
                        int64_t max, int64_t *out)
{
    if (!ok || n < min || n > max)
        return input_fail(ctx, field, "%s must be a whole number from %lld to %lld", field,
                          (long long)min, (long long)max);
    *out = n;
    return 0;
}

int input_int(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
              int64_t min, int64_t max, int64_t *out, int *found)
{
    const msgpack_object *v;
    int rc = lookup(ctx, obj, field, field, required, &v, found);
    if (rc || !v || v->type == MSGPACK_OBJECT_NIL)
        return rc;
    int64_t n = 0;
    int ok = mp_get_i64(v, &n) == 0;
    return int_in_range(ctx, field, ok, n, min, max, out);
}

int input_query_int(job_ctx_t *ctx, const char *field, int64_t min, int64_t max, int64_t *out)
{
    const msgpack_object *v = mp_get(input_query(ctx), field);
    if (!v)
        return 0;
    /* Plain decimal digits with an optional minus sign. */
    char text[24];
    int64_t n = 0;
    int ok = v->type == MSGPACK_OBJECT_STR && mp_copy_str(v, text, sizeof text) == 0;
    if (ok) {
        char *end;
        errno = 0;
        n = strtoll(text, &end, 10);
        ok = *end == '\0' && errno == 0 &&
             (isdigit((unsigned char)text[0]) ||
              (text[0] == '-' && isdigit((unsigned char)text[1])));
    }
    return int_in_range(ctx, field, ok, n, min, max, out);
}

int input_number(job_ctx_t *ctx, const msgpack_object *obj, const char *field, int required,
                 double min, double max, double *out, int *found)
{
    const msgpack_object *v;
    int rc = lookup(ctx, obj, field, field, required, &v, found);
    if (rc || !v || v->type == MSGPACK_OBJECT_NIL)
        return rc;
    double x;
    if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
        x = v->via.f64;
    else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        x = (double)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        x = (double)v->via.i64;
    else
        return input_fail(ctx, field, "%s must be a number", field);
    if (!(x >= min && x <= max)) /* also refuses NaN */
        return input_fail(ctx, field, "%s must be a number from %g to %g", field, min, max);
    *out = x;
    return 0;
}

int input_page(job_ctx_t *ctx, int64_t *page, int64_t *limit)
{
    int rc;
    *page = 1;
    *limit = 20;
    if ((rc = input_query_int(ctx, "page", 1, 1000000, page)) ||
        (rc = input_query_int(ctx, "limit", 1, 100, limit)))
        return rc;
    return 0;
}

int input_container(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                    msgpack_object_type want, uint32_t max, const msgpack_object **value,
                    int *found)
{
    const msgpack_object *v;
    int rc = lookup(ctx, body, field, field, required, &v, found);
    *value = NULL;
    if (rc || !v || v->type == MSGPACK_OBJECT_NIL)
        return rc;
    const int is_array = want == MSGPACK_OBJECT_ARRAY;
    if (v->type != want)
        return input_fail(ctx, field, "%s must be %s", field, is_array ? "an array" : "an object");
    if ((is_array ? v->via.array.size : v->via.map.size) > max)
        return input_fail(ctx, field, "%s must have at most %u %s", field, max,
                          is_array ? "items" : "members");
    *value = v;
    return 0;
}

int input_uuid_list_normalise(const msgpack_object *array, char (*out)[37], uint32_t *bad)
{
    for (uint32_t i = 0; i < array->via.array.size; i++) {
        const msgpack_object *v = &array->via.array.ptr[i];
        char text[40];
        *bad = i;
        if (v->type != MSGPACK_OBJECT_STR || mp_copy_str(v, text, sizeof text) < 0 ||
            input_uuid_normalise(text, out[i]) < 0)
            return -1;
        /* A few hundred ids at most: comparing each pair costs nothing. */
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(out[j], out[i]) == 0)
                return -2;
    }
    return 0;
}

int input_uuid_list(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
                    uint32_t max, char (*out)[37], uint32_t *count, int *found)
{
    const msgpack_object *v;
    int rc = input_container(ctx, body, field, required, MSGPACK_OBJECT_ARRAY, max, &v, found);
    *count = 0;
    if (rc || !v)
        return rc;
    uint32_t bad;
    switch (input_uuid_list_normalise(v, out, &bad)) {
    case -1:
        return input_fail(ctx, field, "%s[%u] must be a UUID", field, (unsigned)bad);
    case -2:
        return input_fail(ctx, field, "%s[%u] repeats %s", field, (unsigned)bad, out[bad]);
    }
    *count = v->via.array.size;
    return 0;
}

int input_kept(job_ctx_t *ctx, const char *const *fields, const int *found, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (found[i] == IN_NULL)
            return input_fail(ctx, fields[i], "%s cannot be removed", fields[i]);
    return 0;
}
