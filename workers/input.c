/*
 * input - field checks for job bodies (see input.h).
 */
#include "input.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int input_str(job_ctx_t *ctx, const msgpack_object *body, const char *field, int required,
              size_t min, size_t max, char *out, size_t cap, int *found)
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
    for (const unsigned char *p = (const unsigned char *)out; *p; p++)
        if (*p < 0x20 && *p != '\t')
            return input_fail(ctx, field, "%s must not hold control characters", field);
    return 0;
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
