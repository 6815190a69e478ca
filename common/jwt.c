/*
 * jwt - HS256 JSON Web Tokens (see jwt.h).
 *
 * The second half of this file is a deliberately small JSON reader: it knows
 * one flat object whose interesting members are strings, integers or arrays
 * of strings, skips every other member whatever its type, and refuses
 * anything that is not strict JSON. It works on a [p, end) range and checks
 * the bound before every byte, because the bytes come from the network.
 */
#include "jwt.h"

#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"

#define JWT_MAC_LEN 32
/* Our tokens are a few hundred bytes; the bound keeps a hostile header from
 * making us decode megabytes before we can refuse it. */
#define JWT_MAX_TOKEN 8192
/* Unknown members may nest; the bound keeps the recursive skipper's stack
 * small whatever the input. */
#define JS_MAX_DEPTH 32

/* ---- signing ---------------------------------------------------------- */

static int jwt_hmac(const char *secret, size_t secret_len, const char *data, size_t len,
                    unsigned char mac[JWT_MAC_LEN])
{
    if (!secret || secret_len == 0 || secret_len > INT_MAX)
        return -1;
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)data, len, mac,
              &mac_len))
        return -1;
    return mac_len == JWT_MAC_LEN ? 0 : -1;
}

/* Appends s[0..len) as a JSON string literal. Bytes >= 0x80 pass through:
 * claims are UTF-8 already and JSON allows it raw. */
static void jwt_json_string(buf_t *out, const char *s, size_t len)
{
    buf_append_char(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            buf_append_char(out, '\\');
            buf_append_char(out, (char)c);
        } else if (c < 0x20) {
            buf_printf(out, "\\u%04x", c);
        } else {
            buf_append_char(out, (char)c);
        }
    }
    buf_append_char(out, '"');
}

/* Fields are fixed arrays; strnlen keeps a caller's unterminated field from
 * being read past its end. */
#define FIELD_LEN(f) strnlen((f), sizeof(f))

void jwt_sign(buf_t *out, const jwt_claims_t *claims, const char *secret, size_t secret_len)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    buf_t payload = BUF_INIT;
    buf_append_str(&payload, "{\"sub\":");
    jwt_json_string(&payload, claims->sub, FIELD_LEN(claims->sub));
    buf_append_str(&payload, ",\"role\":");
    jwt_json_string(&payload, claims->role, FIELD_LEN(claims->role));
    buf_append_str(&payload, ",\"zones\":[");
    size_t zlen = FIELD_LEN(claims->zones);
    int first = 1;
    for (size_t i = 0; i < zlen;) {
        const char *comma = memchr(claims->zones + i, ',', zlen - i);
        size_t item_end = comma ? (size_t)(comma - claims->zones) : zlen;
        if (item_end > i) { /* "a,,b" or a trailing comma would give empty ids */
            if (!first)
                buf_append_char(&payload, ',');
            jwt_json_string(&payload, claims->zones + i, item_end - i);
            first = 0;
        }
        i = item_end + 1;
    }
    buf_printf(&payload, "],\"iat\":%lld,\"exp\":%lld,\"jti\":", (long long)claims->iat,
               (long long)claims->exp);
    jwt_json_string(&payload, claims->jti, FIELD_LEN(claims->jti));
    buf_append_char(&payload, '}');

    size_t start = out->len;
    b64url_encode(out, (const unsigned char *)header, sizeof header - 1);
    buf_append_char(out, '.');
    b64url_encode(out, (const unsigned char *)payload.data, payload.len);
    buf_free(&payload);

    unsigned char mac[JWT_MAC_LEN];
    if (jwt_hmac(secret, secret_len, out->data + start, out->len - start, mac) != 0) {
        out->len = start; /* leave no unsigned half-token behind */
        out->data[start] = '\0';
        return;
    }
    buf_append_char(out, '.');
    b64url_encode(out, mac, sizeof mac);
    OPENSSL_cleanse(mac, sizeof mac);
}

/* ---- the JSON scanner ------------------------------------------------- */

typedef struct {
    const unsigned char *p, *end;
} js_t;

/* Results: the input is not the JSON we accept at all (JS_SYNTAX), or it is
 * well-formed but a member has the wrong type or size (JS_REJECT). The
 * header check maps the two to different statuses. */
enum { JS_OK = 0, JS_SYNTAX = -1, JS_REJECT = -2 };

typedef enum { JF_STR, JF_INT, JF_STRLIST, JF_FORBID } js_ftype_t;

typedef struct {
    const char *key;
    js_ftype_t type;
    void *dst;  /* char[cap] for JF_STR / JF_STRLIST, int64_t for JF_INT */
    size_t cap; /* including the NUL */
    int seen;
} js_field_t;

static void js_ws(js_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* Consumes c (after optional whitespace) if it is next. */
static int js_eat(js_t *s, unsigned char c)
{
    js_ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int js_hex4(js_t *s, unsigned *out)
{
    if (s->end - s->p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = *s->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Output for a decoded string: keeps at most cap-1 bytes but counts them all,
 * so the caller can tell "too long" from "fits". dst may be NULL to skip. */
typedef struct {
    char *dst;
    size_t cap, n;
} js_out_t;

static void js_put(js_out_t *o, unsigned char c)
{
    if (o->dst && o->n + 1 < o->cap)
        o->dst[o->n] = (char)c;
    o->n++;
}

static void js_put_utf8(js_out_t *o, unsigned cp)
{
    if (cp < 0x80) {
        js_put(o, (unsigned char)cp);
    } else if (cp < 0x800) {
        js_put(o, (unsigned char)(0xc0 | cp >> 6));
        js_put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        js_put(o, (unsigned char)(0xe0 | cp >> 12));
        js_put(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
        js_put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    } else {
        js_put(o, (unsigned char)(0xf0 | cp >> 18));
        js_put(o, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
        js_put(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
        js_put(o, (unsigned char)(0x80 | (cp & 0x3f)));
    }
}

/* Reads a string literal at s->p into o (NUL-terminated when o->dst). */
static int js_string(js_t *s, js_out_t *o)
{
    o->n = 0;
    if (s->p >= s->end || *s->p != '"')
        return JS_SYNTAX;
    s->p++;
    for (;;) {
        if (s->p >= s->end)
            return JS_SYNTAX; /* unterminated */
        unsigned char c = *s->p++;
        if (c == '"')
            break;
        if (c < 0x20)
            return JS_SYNTAX; /* raw control characters are not JSON */
        if (c != '\\') {
            js_put(o, c);
            continue;
        }
        if (s->p >= s->end)
            return JS_SYNTAX;
        c = *s->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            js_put(o, c);
            break;
        case 'b':
            js_put(o, '\b');
            break;
        case 'f':
            js_put(o, '\f');
            break;
        case 'n':
            js_put(o, '\n');
            break;
        case 'r':
            js_put(o, '\r');
            break;
        case 't':
            js_put(o, '\t');
            break;
        case 'u': {
            unsigned cp;
            if (js_hex4(s, &cp) != 0)
                return JS_SYNTAX;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return JS_SYNTAX; /* low surrogate without a high one */
            if (cp >= 0xd800 && cp <= 0xdbff) {
                unsigned lo;
                if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                    return JS_SYNTAX;
                s->p += 2;
                if (js_hex4(s, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    return JS_SYNTAX;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            /* A NUL would silently cut the C string the claim lands in. */
            if (cp == 0)
                return JS_SYNTAX;
            js_put_utf8(o, cp);
            break;
        }
        default:
            return JS_SYNTAX;
        }
    }
    if (o->dst && o->cap)
        o->dst[o->n < o->cap ? o->n : o->cap - 1] = '\0';
    return JS_OK;
}

/* Reads a number with the full JSON grammar. *is_int is set when it is a
 * plain integer that fits int64_t, and *value then holds it. */
static int js_number(js_t *s, int *is_int, int64_t *value)
{
    int neg = 0, integral = 1, overflow = 0;
    uint64_t mag = 0;
    /* The magnitude limit differs by sign: -2^63 fits, +2^63 does not. */
    if (s->p < s->end && *s->p == '-') {
        neg = 1;
        s->p++;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return JS_SYNTAX;
    if (*s->p == '0') {
        s->p++; /* JSON forbids leading zeros: "0" stands alone */
    } else {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
            unsigned d = *s->p++ - '0';
            if (mag > (limit - d) / 10)
                overflow = 1;
            else
                mag = mag * 10 + d;
        }
    }
    if (s->p < s->end && *s->p == '.') {
        integral = 0;
        s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return JS_SYNTAX;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        integral = 0;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (s->p >= s->end || *s->p < '0' || *s->p > '9')
            return JS_SYNTAX;
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    *is_int = integral && !overflow;
    if (*is_int)
        *value = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return JS_OK;
}

static int js_literal(js_t *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return JS_SYNTAX;
    s->p += n;
    return JS_OK;
}

/* Skips any JSON value, validating it. */
static int js_skip(js_t *s, int depth)
{
    if (depth > JS_MAX_DEPTH)
        return JS_SYNTAX;
    js_ws(s);
    if (s->p >= s->end)
        return JS_SYNTAX;
    js_out_t none = {NULL, 0, 0};
    int is_int;
    int64_t v;
    switch (*s->p) {
    case '"':
        return js_string(s, &none);
    case 't':
        return js_literal(s, "true");
    case 'f':
        return js_literal(s, "false");
    case 'n':
        return js_literal(s, "null");
    case '[':
        s->p++;
        if (js_eat(s, ']'))
            return JS_OK;
        do {
            if (js_skip(s, depth + 1) != JS_OK)
                return JS_SYNTAX;
        } while (js_eat(s, ','));
        return js_eat(s, ']') ? JS_OK : JS_SYNTAX;
    case '{':
        s->p++;
        if (js_eat(s, '}'))
            return JS_OK;
        do {
            js_ws(s);
            if (js_string(s, &none) != JS_OK || !js_eat(s, ':') || js_skip(s, depth + 1) != JS_OK)
                return JS_SYNTAX;
        } while (js_eat(s, ','));
        return js_eat(s, '}') ? JS_OK : JS_SYNTAX;
    default:
        return js_number(s, &is_int, &v);
    }
}

/* Reads ["a","b"] into dst as "a,b". Items must be non-empty and free of
 * commas, or the joined text would not split back into the same list. */
static int js_strlist(js_t *s, char *dst, size_t cap)
{
    size_t n = 0;
    dst[0] = '\0';
    if (!js_eat(s, '['))
        return JS_REJECT;
    if (js_eat(s, ']'))
        return JS_OK;
    do {
        js_ws(s);
        if (s->p >= s->end)
            return JS_SYNTAX;
        if (*s->p != '"')
            return JS_REJECT;
        size_t room = cap - n; /* includes the NUL; n < cap always holds here */
        if (n > 0) {
            if (room < 2)
                return JS_REJECT;
            dst[n++] = ',';
            room--;
        }
        js_out_t o = {dst + n, room, 0};
        int rc = js_string(s, &o);
        if (rc != JS_OK)
            return rc;
        if (o.n == 0 || o.n >= room || memchr(dst + n, ',', o.n))
            return JS_REJECT;
        n += o.n;
    } while (js_eat(s, ','));
    return js_eat(s, ']') ? JS_OK : JS_SYNTAX;
}

static int js_field_value(js_t *s, js_field_t *f)
{
    js_ws(s);
    if (s->p >= s->end)
        return JS_SYNTAX;
    switch (f->type) {
    case JF_STR: {
        if (*s->p != '"')
            return JS_REJECT;
        js_out_t o = {f->dst, f->cap, 0};
        int rc = js_string(s, &o);
        if (rc != JS_OK)
            return rc;
        return o.n < f->cap ? JS_OK : JS_REJECT; /* refuse rather than truncate */
    }
    case JF_INT: {
        if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))
            return JS_REJECT;
        int is_int = 0;
        int64_t v = 0;
        int rc = js_number(s, &is_int, &v);
        if (rc != JS_OK)
            return rc;
        if (!is_int)
            return JS_REJECT;
        *(int64_t *)f->dst = v;
        return JS_OK;
    }
    case JF_STRLIST:
        return js_strlist(s, f->dst, f->cap);
    case JF_FORBID:
    default:
        return JS_REJECT;
    }
}

/* Parses the whole of [p, end) as one object, filling the listed fields and
 * skipping other members. A listed key seen twice is a syntax error: two
 * "alg" or "sub" members would mean different things to different parsers. */
static int js_object(const void *data, size_t len, js_field_t *fields, size_t nfields)
{
    js_t s = {data, (const unsigned char *)data + len};
    if (!js_eat(&s, '{'))
        return JS_SYNTAX;
    if (!js_eat(&s, '}')) {
        do {
            js_ws(&s);
            /* No listed key is this long; a longer key is simply unknown. */
            char key[32];
            js_out_t k = {key, sizeof key, 0};
            if (js_string(&s, &k) != JS_OK || !js_eat(&s, ':'))
                return JS_SYNTAX;
            js_field_t *f = NULL;
            for (size_t i = 0; k.n < sizeof key && i < nfields; i++) {
                if (strcmp(key, fields[i].key) == 0) {
                    f = &fields[i];
                    break;
                }
            }
            int rc;
            if (!f) {
                rc = js_skip(&s, 1);
            } else if (f->seen) {
                return JS_SYNTAX;
            } else {
                f->seen = 1;
                rc = js_field_value(&s, f);
            }
            if (rc != JS_OK)
                return rc;
        } while (js_eat(&s, ','));
        if (!js_eat(&s, '}'))
            return JS_SYNTAX;
    }
    js_ws(&s);
    return s.p == s.end ? JS_OK : JS_SYNTAX; /* nothing may follow the object */
}

/* ---- verification ----------------------------------------------------- */

static jwt_status_t jwt_check_header(const buf_t *header)
{
    char alg[16] = "";
    js_field_t fields[] = {
        {"alg", JF_STR, alg, sizeof alg, 0},
        /* "crit" lists extensions the recipient must understand; we
         * understand none, so RFC 7515 requires refusing the token. */
        {"crit", JF_FORBID, NULL, 0, 0},
    };
    int rc = js_object(header->data, header->len, fields, sizeof fields / sizeof fields[0]);
    if (rc == JS_SYNTAX)
        return JWT_MALFORMED;
    if (rc != JS_OK || !fields[0].seen || strcmp(alg, "HS256") != 0)
        return JWT_BAD_ALG;
    return JWT_OK;
}

static jwt_status_t jwt_read_claims(const buf_t *payload, jwt_claims_t *c)
{
    js_field_t fields[] = {
        {"sub", JF_STR, c->sub, sizeof c->sub, 0},
        {"role", JF_STR, c->role, sizeof c->role, 0},
        {"exp", JF_INT, &c->exp, 0, 0},
        {"iat", JF_INT, &c->iat, 0, 0},
        {"jti", JF_STR, c->jti, sizeof c->jti, 0},
        {"zones", JF_STRLIST, c->zones, sizeof c->zones, 0},
    };
    if (js_object(payload->data, payload->len, fields, sizeof fields / sizeof fields[0]) != JS_OK)
        return JWT_MALFORMED;
    if (!fields[0].seen || !fields[1].seen || !fields[2].seen)
        return JWT_MALFORMED;
    if (c->sub[0] == '\0' || c->role[0] == '\0')
        return JWT_MALFORMED; /* an empty identity or role grants nothing sane */
    return JWT_OK;
}

jwt_status_t jwt_verify(const char *token, size_t len, const char *secret, size_t secret_len,
                        int64_t now_s, jwt_claims_t *claims)
{
    if (claims)
        memset(claims, 0, sizeof *claims);
    if (!token || len > JWT_MAX_TOKEN)
        return JWT_MALFORMED;

    const char *dot1 = memchr(token, '.', len);
    if (!dot1)
        return JWT_MALFORMED;
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return JWT_MALFORMED;

    buf_t header = BUF_INIT, payload = BUF_INIT, sig = BUF_INIT;
    jwt_claims_t c;
    memset(&c, 0, sizeof c);
    jwt_status_t st = JWT_MALFORMED;
    /* All three parts must be base64url before anything is interpreted. */
    if (b64url_decode(&header, token, (size_t)(dot1 - token)) != 0 ||
        b64url_decode(&payload, dot1 + 1, (size_t)(dot2 - dot1 - 1)) != 0 ||
        b64url_decode(&sig, dot2 + 1, len - (size_t)(dot2 + 1 - token)) != 0)
        goto done;

    st = jwt_check_header(&header);
    if (st != JWT_OK)
        goto done;

    unsigned char mac[JWT_MAC_LEN];
    st = JWT_BAD_SIGNATURE;
    if (sig.len != JWT_MAC_LEN ||
        jwt_hmac(secret, secret_len, token, (size_t)(dot2 - token), mac) != 0)
        goto done;
    int equal = CRYPTO_memcmp(mac, sig.data, JWT_MAC_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof mac);
    if (!equal)
        goto done;

    st = jwt_read_claims(&payload, &c);
    if (st != JWT_OK)
        goto done;
    if (c.exp <= now_s) {
        st = JWT_EXPIRED;
        goto done;
    }
    if (claims)
        *claims = c;
done:
    buf_free(&header);
    buf_free(&payload);
    buf_free(&sig);
    return st;
}

const char *jwt_status_name(jwt_status_t s)
{
    switch (s) {
    case JWT_OK:
        return "OK";
    case JWT_MALFORMED:
        return "TOKEN_MALFORMED";
    case JWT_BAD_ALG:
        return "TOKEN_BAD_ALG";
    case JWT_BAD_SIGNATURE:
        return "TOKEN_BAD_SIGNATURE";
    case JWT_EXPIRED:
        return "TOKEN_EXPIRED";
    }
    return "TOKEN_INVALID";
}
