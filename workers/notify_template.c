/*
 * notify_template - rendering templates with an event's data (see
 * notify_template.h).
 */
#include "notify_template.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A filter shows one value; returns 0, or -1 when it cannot show it. */
typedef int (*filter_fn)(const msgpack_object *value, buf_t *out);

/* Paise as rupees with two decimals. Amounts are integers (GUIDE: money is
 * integer minor units), so anything else is an error in the event. */
static int filter_rupees(const msgpack_object *v, buf_t *out)
{
    int64_t paise;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
        paise = (int64_t)v->via.u64;
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        paise = v->via.i64;
    else
        return -1;
    /* Work on the magnitude as unsigned: -INT64_MIN does not fit. */
    uint64_t mag = paise < 0 ? (uint64_t)0 - (uint64_t)paise : (uint64_t)paise;
    buf_printf(out, "%s\u20b9%" PRIu64 ".%02" PRIu64, paise < 0 ? "-" : "", mag / 100, mag % 100);
    return 0;
}

static const struct {
    const char *name;
    filter_fn fn;
} filters[] = {
    {"rupees", filter_rupees},
};

/* The value shown without a filter. Maps and arrays have no text form a
 * reader would want: refusing them finds the template mistake early. */
static int show_plain(const msgpack_object *v, buf_t *out)
{
    switch (v->type) {
    case MSGPACK_OBJECT_STR:
        buf_append(out, v->via.str.ptr, v->via.str.size);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        buf_printf(out, "%" PRIu64, v->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        buf_printf(out, "%" PRId64, v->via.i64);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        buf_append_str(out, v->via.boolean ? "true" : "false");
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        buf_printf(out, "%g", v->via.f64);
        return 0;
    default:
        return -1;
    }
}

/* The member at a dotted path of name (n bytes), or NULL. */
static const msgpack_object *lookup(const msgpack_object *data, const char *name, size_t n)
{
    const msgpack_object *cur = data;
    while (cur && n > 0) {
        const char *dot = memchr(name, '.', n);
        size_t part = dot ? (size_t)(dot - name) : n;
        if (cur->type != MSGPACK_OBJECT_MAP)
            return NULL;
        const msgpack_object *next = NULL;
        for (uint32_t i = 0; i < cur->via.map.size; i++) {
            const msgpack_object *k = &cur->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == part &&
                memcmp(k->via.str.ptr, name, part) == 0) {
                next = &cur->via.map.ptr[i].val;
                break;
            }
        }
        cur = next;
        name += dot ? part + 1 : part;
        n -= dot ? part + 1 : part;
    }
    return cur;
}

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* A name is parts of [A-Za-z0-9_] joined by single dots. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(name_char(s[i]) || (s[i] == '.' && s[i + 1] != '.')))
            return 0;
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' '))
        (*s)++, (*n)--;
    while (*n && (*s)[*n - 1] == ' ')
        (*n)--;
}

/* Renders one placeholder's inside (between the braces). */
static int render_one(const char *in, size_t n, const msgpack_object *data, buf_t *out, char *why,
                      size_t why_cap)
{
    const char *bar = memchr(in, '|', n);
    const char *name = in, *filter = NULL;
    size_t name_n = bar ? (size_t)(bar - in) : n, filter_n = 0;
    if (bar) {
        filter = bar + 1;
        filter_n = n - name_n - 1;
        trim(&filter, &filter_n);
    }
    trim(&name, &name_n);
    if (!valid_name(name, name_n)) {
        snprintf(why, why_cap, "placeholder \"{{%.*s}}\" has no valid name", (int)n, in);
        return -1;
    }
    const msgpack_object *v = lookup(data, name, name_n);
    if (!bar) {
        if (!v || v->type == MSGPACK_OBJECT_NIL)
            return 0;
        if (show_plain(v, out) < 0) {
            snprintf(why, why_cap, "member \"%.*s\" is not a text, number or boolean", (int)name_n,
                     name);
            return -1;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
        if (strlen(filters[i].name) != filter_n || memcmp(filters[i].name, filter, filter_n) != 0)
            continue;
        if (!v || v->type == MSGPACK_OBJECT_NIL)
            return 0;
        if (filters[i].fn(v, out) < 0) {
            snprintf(why, why_cap, "member \"%.*s\" cannot be shown with filter %s", (int)name_n,
                     name, filters[i].name);
            return -1;
        }
        return 0;
    }
    snprintf(why, why_cap, "unknown filter \"%.*s\"", (int)filter_n, filter);
    return -1;
}

int notify_template_render(const char *tpl, size_t len, const msgpack_object *data, buf_t *out,
                           char *why, size_t why_cap)
{
    size_t i = 0;
    /* Reserve so an empty rendering still leaves out->data a string. */
    buf_reserve(out, len + 1);
    while (i < len) {
        const char *open = NULL;
        for (size_t k = i; k + 1 < len; k++)
            if (tpl[k] == '{' && tpl[k + 1] == '{') {
                open = tpl + k;
                break;
            }
        if (!open) {
            buf_append(out, tpl + i, len - i);
            break;
        }
        buf_append(out, tpl + i, (size_t)(open - (tpl + i)));
        size_t start = (size_t)(open - tpl) + 2, end = start;
        while (end + 1 < len && !(tpl[end] == '}' && tpl[end + 1] == '}'))
            end++;
        if (end + 1 >= len) {
            snprintf(why, why_cap, "placeholder opened at byte %zu is not closed",
                     (size_t)(open - tpl));
            return -1;
        }
        if (render_one(tpl + start, end - start, data, out, why, why_cap) < 0)
            return -1;
        i = end + 2;
    }
    return 0;
}
