/*
 * codec - JSON <-> msgpack conversion (see codec.h).
 *
 * JSON -> msgpack is a recursive-descent parser that packs every value the
 * moment it has been read, straight into the caller's buffer; no tree is
 * built, because this runs on every request body and the tree would only be
 * thrown away again.
 *
 * msgpack -> JSON unpacks with msgpack-c and walks the resulting object,
 * following along in the raw bytes so that errors can name the byte offset of
 * the offending item.
 *
 * Number text is read with strtod() and written with printf("%g"), both of
 * which follow LC_NUMERIC; mandi never calls setlocale(), so the "C" locale
 * (decimal point '.') applies.
 */
#include "codec.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* ---------------------------------------------------------------- shared */

/* Length of the well-formed UTF-8 sequence at s, or 0 if there is none.
 * Follows Unicode table 3-7 exactly, so overlong forms, UTF-16 surrogates and
 * code points past U+10FFFF are all refused: any of them would let two
 * different byte strings stand for "the same" text. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2) /* stray continuation byte, or a 2-byte overlong lead */
        return 0;
    if (c < 0xe0)
        return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c < 0xf0) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80; /* E0 80..9F would be overlong */
        unsigned char hi = c == 0xed ? 0x9f : 0xbf; /* ED A0..BF are surrogates */
        if (avail < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
            return 0;
        return 3;
    }
    if (c < 0xf5) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80; /* F0 80..8F would be overlong */
        unsigned char hi = c == 0xf4 ? 0x8f : 0xbf; /* F4 90.. is past U+10FFFF */
        if (avail < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

static void set_error_v(codec_error_t *err, size_t offset, const char *fmt, va_list ap)
{
    if (!err)
        return;
    err->offset = offset;
    err->line = 0;
    err->column = 0;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
}

static int fail_at(codec_error_t *err, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(codec_error_t *err, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error_v(err, offset, fmt, ap);
    va_end(ap);
    return -1;
}

/* Puts out back to the length it had before a failed conversion, keeping the
 * buffer's NUL terminator in place. */
static void out_restore(buf_t *out, size_t len)
{
    out->len = len;
    if (out->data)
        out->data[len] = '\0';
}

/* Appends s as a JSON string literal. With strict set, stops at the first
 * byte that is not well-formed UTF-8 and returns its index (the caller then
 * discards the output); without it such bytes become U+FFFD so the output is
 * still valid JSON. Returns SIZE_MAX when the whole string was written. */
static size_t escape_string(buf_t *out, const unsigned char *s, size_t len, bool strict)
{
    buf_reserve(out, len + 2);
    buf_append_char(out, '"');
    if (len == 0) { /* s may be NULL for an empty string */
        buf_append_char(out, '"');
        return SIZE_MAX;
    }
    size_t run = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        const char *rep;
        char ubuf[8];
        size_t skip = 1;
        if (c >= 0x80) {
            size_t n = utf8_seq_len(s + i, len - i);
            if (n == 0) {
                if (strict)
                    return i;
                rep = "\xef\xbf\xbd";
            } else if (n == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
                       (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
                /* Legal in JSON but line terminators in JavaScript source, so
                 * a response embedded in a <script> would break. */
                rep = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
                skip = 3;
            } else {
                i += n;
                continue;
            }
        } else {
            switch (c) {
            case '"':
                rep = "\\\"";
                break;
            case '\\':
                rep = "\\\\";
                break;
            case '\b':
                rep = "\\b";
                break;
            case '\f':
                rep = "\\f";
                break;
            case '\n':
                rep = "\\n";
                break;
            case '\r':
                rep = "\\r";
                break;
            case '\t':
                rep = "\\t";
                break;
            default:
                snprintf(ubuf, sizeof ubuf, "\\u%04x", (unsigned)c);
                rep = ubuf;
                break;
            }
        }
        buf_append(out, s + run, i - run);
        buf_append_str(out, rep);
        i += skip;
        run = i;
    }
    buf_append(out, s + run, i - run);
    buf_append_char(out, '"');
    return SIZE_MAX;
}

void codec_json_string(buf_t *out, const char *s, size_t len)
{
    escape_string(out, (const unsigned char *)s, len, false);
}

/* ------------------------------------------------------- JSON -> msgpack */

/*
 * Duplicate keys. Keys are referred to by their position in the output buffer
 * rather than by pointer because the buffer may move when it grows. Those
 * positions stay valid for as long as the key's object is open: the only
 * bytes ever moved are those of a container that has just been closed (see
 * finish_container), and they all lie after every key of the objects still
 * open.
 *
 * The keys of the open objects sit on one stack, each object's keys forming
 * a contiguous run, since an inner object is closed (and its run popped)
 * before its parent reads another key. A new key is compared with its
 * object's run directly; that is the fastest check for the few keys a
 * typical object has. An object that grows past LINEAR_KEYS moves its keys
 * into a hash set instead, so no object is quadratic in its key count.
 */
typedef struct {
    size_t off, len;
} key_ref_t;

/* A key in the hash set, tagged with the id of its object so that one set
 * serves every large object of the document. */
typedef struct {
    uint64_t obj; /* 0 marks a free slot */
    size_t off, len;
    uint32_t hash;
} key_slot_t;

/* The duplicate-key state of one open object. */
typedef struct {
    size_t base; /* where its run starts on the key stack */
    uint64_t id; /* its id in the hash set, 0 while it still uses the run */
} obj_keys_t;

#define LINEAR_KEYS     16
#define SMALL_KEY_STACK 64

typedef struct {
    const unsigned char *in, *cur, *end;
    buf_t *out;
    msgpack_packer pk;
    buf_t scratch;   /* decoded text of strings with escapes, long numbers */
    key_ref_t *keys; /* the key stack */
    size_t nkeys, keys_cap;
    key_slot_t *slots; /* the hash set, allocated when first needed */
    size_t nslots, nused;
    uint64_t next_obj;
    uint32_t seed;
    codec_error_t *err;
    /* Most bodies have few keys: keep their stack off the heap. */
    key_ref_t small_keys[SMALL_KEY_STACK];
} parser_t;

static int perr(parser_t *p, const unsigned char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int perr(parser_t *p, const unsigned char *at, const char *fmt, ...)
{
    codec_error_t *err = p->err;
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    set_error_v(err, (size_t)(at - p->in), fmt, ap);
    va_end(ap);
    /* Line and column are only needed on this path, so they are worked out
     * here instead of being tracked while parsing. The column counts
     * characters, not bytes, to match what an editor shows. */
    int line = 1, col = 1;
    for (const unsigned char *q = p->in; q < at; q++) {
        if (*q == '\n') {
            if (line < INT32_MAX)
                line++;
            col = 1;
        } else if ((*q & 0xc0) != 0x80 && col < INT32_MAX) {
            col++;
        }
    }
    err->line = line;
    err->column = col;
    return -1;
}

/* Names the input at `at` for an error message: "character 'x'", the
 * character itself when it is well-formed UTF-8, "character U+0001" for
 * controls, "byte 0xFF" for garbage, "end of input" past the end. */
static void describe(const parser_t *p, const unsigned char *at, char *dst, size_t cap)
{
    if (at >= p->end) {
        snprintf(dst, cap, "end of input");
        return;
    }
    unsigned char c = *at;
    if (c < 0x20 || c == 0x7f) {
        snprintf(dst, cap, "character U+%04X", (unsigned)c);
        return;
    }
    size_t n = utf8_seq_len(at, (size_t)(p->end - at));
    if (n == 0)
        snprintf(dst, cap, "byte 0x%02X", (unsigned)c);
    else
        snprintf(dst, cap, "character '%.*s'", (int)n, (const char *)at);
}

/* Fails with "<what>, found <whatever is at the cursor>". */
static int perr_found(parser_t *p, const char *what)
{
    char found[32];
    describe(p, p->cur, found, sizeof found);
    return perr(p, p->cur, "%s, found %s", what, found);
}

static void skip_ws(parser_t *p)
{
    while (p->cur < p->end &&
           (*p->cur == ' ' || *p->cur == '\n' || *p->cur == '\r' || *p->cur == '\t'))
        p->cur++;
}

static uint32_t key_hash(uint32_t seed, uint64_t obj, const unsigned char *s, size_t n)
{
    /* FNV-1a over the key, then the object id mixed in and the bits spread
     * (the table index uses the low bits). */
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 16777619u;
    }
    h ^= (uint32_t)(obj ^ (obj >> 32)) * 0x9e3779b1u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    return h;
}

static void *xcalloc(size_t n, size_t size)
{
    void *mem = calloc(n, size);
    if (!mem) { /* as buf_reserve does: nothing sensible can follow */
        fputs("mandi: out of memory\n", stderr);
        abort();
    }
    return mem;
}

static void set_grow(parser_t *p)
{
    size_t ncap = p->nslots ? p->nslots * 2 : 64;
    key_slot_t *slots = xcalloc(ncap, sizeof *slots);
    for (size_t i = 0; i < p->nslots; i++) {
        const key_slot_t *s = &p->slots[i];
        if (!s->obj)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (slots[j].obj)
            j = (j + 1) & (ncap - 1);
        slots[j] = *s;
    }
    free(p->slots);
    p->slots = slots;
    p->nslots = ncap;
}

/* Adds key out[off..off+len) of object `obj` to the hash set. Returns true,
 * adding nothing, if that object already has it. */
static bool set_insert(parser_t *p, uint64_t obj, size_t off, size_t len)
{
    if ((p->nused + 1) * 2 > p->nslots)
        set_grow(p);
    const unsigned char *base = (const unsigned char *)p->out->data;
    uint32_t h = key_hash(p->seed, obj, base + off, len);
    size_t mask = p->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        key_slot_t *s = &p->slots[i];
        if (!s->obj) {
            s->obj = obj;
            s->off = off;
            s->len = len;
            s->hash = h;
            p->nused++;
            return false;
        }
        if (s->obj == obj && s->hash == h && s->len == len &&
            memcmp(base + s->off, base + off, len) == 0)
            return true;
    }
}

/* Records key out[off..off+len) for object o. Returns true, recording
 * nothing, if o already has that key. */
static bool key_seen(parser_t *p, obj_keys_t *o, size_t off, size_t len)
{
    if (o->id)
        return set_insert(p, o->id, off, len);
    const char *base = p->out->data;
    for (size_t i = o->base; i < p->nkeys; i++) {
        const key_ref_t *k = &p->keys[i];
        if (k->len == len && memcmp(base + k->off, base + off, len) == 0)
            return true;
    }
    if (p->nkeys - o->base >= LINEAR_KEYS) {
        o->id = ++p->next_obj;
        for (size_t i = o->base; i < p->nkeys; i++)
            set_insert(p, o->id, p->keys[i].off, p->keys[i].len);
        p->nkeys = o->base;
        return set_insert(p, o->id, off, len);
    }
    if (p->nkeys == p->keys_cap) {
        key_ref_t *keys = xcalloc(p->keys_cap * 2, sizeof *keys);
        memcpy(keys, p->keys, p->nkeys * sizeof *keys);
        if (p->keys != p->small_keys)
            free(p->keys);
        p->keys = keys;
        p->keys_cap *= 2;
    }
    p->keys[p->nkeys].off = off;
    p->keys[p->nkeys].len = len;
    p->nkeys++;
    return false;
}

/* Collects a container header packed by msgpack-c into a few bytes. */
typedef struct {
    char b[8];
    size_t n;
} header_t;

static int header_write(void *data, const char *buf, size_t len)
{
    header_t *h = data;
    if (len > sizeof h->b - h->n)
        return -1;
    memcpy(h->b + h->n, buf, len);
    h->n += len;
    return 0;
}

/* A container's header holds its element count, which is only known once the
 * closing bracket has been read. The parser reserves one byte for it (enough
 * for the fixmap/fixarray form used up to 15 elements, i.e. nearly always)
 * and only when more room is needed moves the already packed elements up by
 * the extra 2 or 4 bytes. */
static int finish_container(parser_t *p, size_t at, size_t count, bool map,
                            const unsigned char *open)
{
    if (count > UINT32_MAX)
        return perr(p, open, "too many elements in %s", map ? "object" : "array");
    header_t h = {.n = 0};
    msgpack_packer hp;
    msgpack_packer_init(&hp, &h, header_write);
    if (map)
        msgpack_pack_map(&hp, count);
    else
        msgpack_pack_array(&hp, count);
    buf_t *out = p->out;
    if (h.n > 1) {
        size_t grow = h.n - 1;
        buf_reserve(out, grow);
        memmove(out->data + at + h.n, out->data + at + 1, out->len - at - 1);
        out->len += grow;
        out->data[out->len] = '\0';
    }
    memcpy(out->data + at, h.b, h.n);
    return 0;
}

static int parse_value(parser_t *p, int depth);

/* Reads 4 hex digits at s into *v; -1 if they are not there. */
static int read_hex4(const unsigned char *s, const unsigned char *end, uint32_t *v)
{
    if (end - s < 4)
        return -1;
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        unsigned d;
        if (IS_DIGIT(c))
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        x = x << 4 | d;
    }
    *v = x;
    return 0;
}

static void append_utf8(buf_t *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(b, u, n);
}

/* Decodes the escape at *q (a backslash) into p->scratch and moves *q past
 * it. `open` is the string's opening quote, for "unterminated string". */
static int parse_escape(parser_t *p, const unsigned char **q, const unsigned char *open)
{
    const unsigned char *bs = *q, *end = p->end;
    if (end - bs < 2)
        return perr(p, open, "unterminated string");
    char c;
    switch (bs[1]) {
    case '"':
        c = '"';
        break;
    case '\\':
        c = '\\';
        break;
    case '/':
        c = '/';
        break;
    case 'b':
        c = '\b';
        break;
    case 'f':
        c = '\f';
        break;
    case 'n':
        c = '\n';
        break;
    case 'r':
        c = '\r';
        break;
    case 't':
        c = '\t';
        break;
    case 'u': {
        uint32_t cp, lo;
        if (read_hex4(bs + 2, end, &cp))
            return perr(p, bs, "invalid \\u escape (expected 4 hex digits)");
        const unsigned char *next = bs + 6;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return perr(p, bs, "lone surrogate in \\u escape (low half without a high half)");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            /* Characters past U+FFFF arrive as a UTF-16 pair of escapes. */
            if (end - next < 2 || next[0] != '\\' || next[1] != 'u')
                return perr(p, bs,
                            "lone surrogate in \\u escape (high half not followed by "
                            "a low half)");
            if (read_hex4(next + 2, end, &lo))
                return perr(p, next, "invalid \\u escape (expected 4 hex digits)");
            if (lo < 0xdc00 || lo > 0xdfff)
                return perr(p, bs,
                            "lone surrogate in \\u escape (high half not followed by "
                            "a low half)");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            next += 6;
        }
        append_utf8(&p->scratch, cp);
        *q = next;
        return 0;
    }
    default: {
        char what[32];
        describe(p, bs + 1, what, sizeof what);
        return perr(p, bs, "invalid escape: '\\' followed by %s", what);
    }
    }
    buf_append_char(&p->scratch, c);
    *q = bs + 2;
    return 0;
}

/* Parses the string at the cursor (on its opening quote). On success *str,
 * *len are its decoded bytes: a slice of the input when it has no escapes
 * (the common case, no copy), otherwise p->scratch, valid until the next
 * string is parsed. */
static int parse_string(parser_t *p, const unsigned char **str, size_t *len)
{
    const unsigned char *open = p->cur, *end = p->end;
    const unsigned char *q = open + 1, *run = q;
    bool escaped = false;
    for (;;) {
        while (q < end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
            q++;
        if (q >= end)
            return perr(p, open, "unterminated string");
        unsigned char c = *q;
        if (c == '"')
            break;
        if (c == '\\') {
            if (!escaped) {
                buf_reset(&p->scratch);
                escaped = true;
            }
            buf_append(&p->scratch, run, (size_t)(q - run));
            if (parse_escape(p, &q, open))
                return -1;
            run = q;
        } else if (c < 0x20) {
            return perr(p, q, "control character U+%04X in string must be escaped", (unsigned)c);
        } else {
            size_t n = utf8_seq_len(q, (size_t)(end - q));
            if (n == 0)
                return perr(p, q, "invalid UTF-8 in string (byte 0x%02X)", (unsigned)c);
            q += n;
        }
    }
    if (escaped) {
        buf_append(&p->scratch, run, (size_t)(q - run));
        *str = (const unsigned char *)p->scratch.data;
        *len = p->scratch.len;
    } else {
        *str = run;
        *len = (size_t)(q - run);
    }
    p->cur = q + 1;
    return 0;
}

static int parse_number(parser_t *p)
{
    const unsigned char *start = p->cur, *q = p->cur, *end = p->end;
    bool neg = false;
    if (*q == '-') {
        neg = true;
        q++;
    }
    if (q >= end || !IS_DIGIT(*q))
        return perr(p, q, "invalid number: expected a digit after '-'");
    uint64_t mag = 0;
    bool overflow = false;
    if (*q == '0') {
        q++;
        if (q < end && IS_DIGIT(*q))
            return perr(p, q - 1, "invalid number: leading zeros are not allowed");
    } else {
        while (q < end && IS_DIGIT(*q)) {
            unsigned d = (unsigned)(*q - '0');
            if (mag > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                mag = mag * 10 + d;
            q++;
        }
    }
    bool is_float = false;
    if (q < end && *q == '.') {
        is_float = true;
        q++;
        if (q >= end || !IS_DIGIT(*q))
            return perr(p, q, "invalid number: expected a digit after '.'");
        while (q < end && IS_DIGIT(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        is_float = true;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !IS_DIGIT(*q))
            return perr(p, q, "invalid number: expected a digit in the exponent");
        while (q < end && IS_DIGIT(*q))
            q++;
    }
    p->cur = q;

    if (!is_float) {
        /* Amounts of money travel as integers: one that does not fit must be
         * refused, not rounded into a double. */
        if (overflow || (neg && mag > (uint64_t)INT64_MAX + 1))
            return perr(p, start, "integer out of range");
        if (!neg)
            msgpack_pack_uint64(&p->pk, mag);
        else if (mag == (uint64_t)INT64_MAX + 1)
            msgpack_pack_int64(&p->pk, INT64_MIN);
        else
            msgpack_pack_int64(&p->pk, -(int64_t)mag);
        return 0;
    }

    /* strtod needs a NUL-terminated copy: the input is not terminated, and
     * left to itself strtod would also read on past what the strict grammar
     * above accepted. */
    size_t n = (size_t)(q - start);
    char local[64];
    const char *text = local;
    if (n < sizeof local) {
        memcpy(local, start, n);
        local[n] = '\0';
    } else {
        buf_reset(&p->scratch);
        buf_append(&p->scratch, start, n);
        text = p->scratch.data;
    }
    double v = strtod(text, NULL);
    if (isinf(v))
        return perr(p, start, "number out of range");
    msgpack_pack_double(&p->pk, v);
    return 0;
}

static int parse_literal(parser_t *p, const char *word, size_t n)
{
    if ((size_t)(p->end - p->cur) < n || memcmp(p->cur, word, n) != 0)
        return perr(p, p->cur, "invalid literal, expected '%s'", word);
    p->cur += n;
    return 0;
}

/* `depth` counts the containers around the value, so the outermost object
 * has depth 1. */
static int parse_object(parser_t *p, int depth)
{
    const unsigned char *open = p->cur;
    if (depth > CODEC_MAX_DEPTH)
        return perr(p, open, "nesting deeper than %d levels", CODEC_MAX_DEPTH);
    p->cur++;
    size_t hdr = p->out->len;
    buf_append_char(p->out, 0); /* header placeholder, see finish_container */
    obj_keys_t keys = {.base = p->nkeys, .id = 0};
    size_t count = 0;
    skip_ws(p);
    if (p->cur < p->end && *p->cur == '}') {
        p->cur++;
        return finish_container(p, hdr, 0, true, open);
    }
    for (;;) {
        if (p->cur >= p->end || *p->cur != '"') {
            if (count > 0 && p->cur < p->end && *p->cur == '}')
                return perr(p, p->cur, "trailing comma in object");
            return perr_found(p, count ? "expected a string key after ','"
                                       : "expected a string key or '}'");
        }
        const unsigned char *key_at = p->cur, *s;
        size_t n;
        if (parse_string(p, &s, &n))
            return -1;
        msgpack_pack_str_with_body(&p->pk, s, n);
        size_t key_off = p->out->len - n;
        if (key_seen(p, &keys, key_off, n)) {
            /* Echo the key back, JSON-escaped and cut short if long, so the
             * client can find it. */
            size_t shown = n;
            if (shown > 64) {
                shown = 64;
                while (shown > 0 && ((unsigned char)p->out->data[key_off + shown] & 0xc0) == 0x80)
                    shown--;
            }
            buf_t key = BUF_INIT;
            codec_json_string(&key, p->out->data + key_off, shown);
            perr(p, key_at, "duplicate key %s%s", key.data, shown < n ? "..." : "");
            buf_free(&key);
            return -1;
        }
        skip_ws(p);
        if (p->cur >= p->end || *p->cur != ':')
            return perr_found(p, "expected ':' after object key");
        p->cur++;
        skip_ws(p);
        if (parse_value(p, depth))
            return -1;
        count++;
        skip_ws(p);
        if (p->cur < p->end && *p->cur == ',') {
            p->cur++;
            skip_ws(p);
            continue;
        }
        if (p->cur < p->end && *p->cur == '}') {
            p->cur++;
            break;
        }
        return perr_found(p, "expected ',' or '}' after object member");
    }
    p->nkeys = keys.base; /* pops this object's keys */
    return finish_container(p, hdr, count, true, open);
}

static int parse_array(parser_t *p, int depth)
{
    const unsigned char *open = p->cur;
    if (depth > CODEC_MAX_DEPTH)
        return perr(p, open, "nesting deeper than %d levels", CODEC_MAX_DEPTH);
    p->cur++;
    size_t hdr = p->out->len;
    buf_append_char(p->out, 0); /* header placeholder, see finish_container */
    size_t count = 0;
    skip_ws(p);
    if (p->cur < p->end && *p->cur == ']') {
        p->cur++;
        return finish_container(p, hdr, 0, false, open);
    }
    for (;;) {
        if (parse_value(p, depth))
            return -1;
        count++;
        skip_ws(p);
        if (p->cur < p->end && *p->cur == ',') {
            p->cur++;
            skip_ws(p);
            if (p->cur < p->end && *p->cur == ']')
                return perr(p, p->cur, "trailing comma in array");
            continue;
        }
        if (p->cur < p->end && *p->cur == ']') {
            p->cur++;
            break;
        }
        return perr_found(p, "expected ',' or ']' after array element");
    }
    return finish_container(p, hdr, count, false, open);
}

static int parse_value(parser_t *p, int depth)
{
    if (p->cur >= p->end)
        return perr(p, p->cur, "unexpected end of input, expected a value");
    switch (*p->cur) {
    case '{':
        return parse_object(p, depth + 1);
    case '[':
        return parse_array(p, depth + 1);
    case '"': {
        const unsigned char *s;
        size_t n;
        if (parse_string(p, &s, &n))
            return -1;
        msgpack_pack_str_with_body(&p->pk, s, n);
        return 0;
    }
    case 't':
        if (parse_literal(p, "true", 4))
            return -1;
        msgpack_pack_true(&p->pk);
        return 0;
    case 'f':
        if (parse_literal(p, "false", 5))
            return -1;
        msgpack_pack_false(&p->pk);
        return 0;
    case 'n':
        if (parse_literal(p, "null", 4))
            return -1;
        msgpack_pack_nil(&p->pk);
        return 0;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(p);
    default: {
        char what[32];
        describe(p, p->cur, what, sizeof what);
        return perr(p, p->cur, "unexpected %s", what);
    }
    }
}

int codec_json_to_msgpack(const char *json, size_t len, buf_t *out, codec_error_t *err)
{
    if (!json) /* keeps pointer arithmetic below off a null pointer */
        json = "";
    parser_t p;
    p.in = p.cur = (const unsigned char *)json;
    p.end = p.in + len;
    p.out = out;
    msgpack_packer_init(&p.pk, out, buf_msgpack_write);
    p.scratch = (buf_t)BUF_INIT;
    p.keys = p.small_keys;
    p.nkeys = 0;
    p.keys_cap = SMALL_KEY_STACK;
    p.slots = NULL;
    p.nslots = 0;
    p.nused = 0;
    p.next_obj = 0;
    /* Varies with address-space randomisation, so key collisions cannot be
     * precomputed offline to make the duplicate check slow. */
    p.seed = (uint32_t)(uintptr_t)&p ^ (uint32_t)((uintptr_t)&p >> 32);
    p.err = err;

    size_t mark = out->len;
    int rc;
    skip_ws(&p);
    if (p.cur >= p.end) {
        rc = perr(&p, p.cur, "empty body");
    } else {
        rc = parse_value(&p, 0);
        if (rc == 0) {
            skip_ws(&p);
            if (p.cur < p.end) {
                char what[32];
                describe(&p, p.cur, what, sizeof what);
                rc = perr(&p, p.cur, "unexpected %s after the JSON value", what);
            }
        }
    }
    buf_free(&p.scratch);
    if (p.keys != p.small_keys)
        free(p.keys);
    free(p.slots);
    if (rc)
        out_restore(out, mark);
    return rc;
}

/* ------------------------------------------------------- msgpack -> JSON */

/* Reads the header of the msgpack item at raw[pos]: its length, how many raw
 * bytes follow it (str/bin/ext payload) and how many items are nested in it
 * (array elements; map keys plus values). Returns 0, -1 for the never-used
 * type byte 0xc1, -2 if the input ends inside the header. */
static int mp_item(const unsigned char *raw, size_t len, size_t pos, size_t *hdr, uint64_t *body,
                   uint64_t *children)
{
    unsigned char b = raw[pos];
    size_t h = 1, lenbytes = 0; /* lenbytes: width of a big-endian length field */
    uint64_t n = 0, kids = 0;
    enum { PLAIN, PAYLOAD, ARRAY, MAP } kind = PLAIN;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        /* fixint, nil, bool: the type byte is everything */
    } else if (b <= 0x8f) {
        kids = 2 * (uint64_t)(b & 0x0f);
    } else if (b <= 0x9f) {
        kids = b & 0x0f;
    } else if (b <= 0xbf) {
        n = b & 0x1f;
    } else {
        switch (b) {
        case 0xc4: /* bin 8/16/32 */
        case 0xc5:
        case 0xc6:
            lenbytes = (size_t)1 << (b - 0xc4);
            h = 1 + lenbytes;
            kind = PAYLOAD;
            break;
        case 0xc7: /* ext 8/16/32: length, then a type byte */
        case 0xc8:
        case 0xc9:
            lenbytes = (size_t)1 << (b - 0xc7);
            h = 2 + lenbytes;
            kind = PAYLOAD;
            break;
        case 0xca: /* float 32/64 */
            h = 5;
            break;
        case 0xcb:
            h = 9;
            break;
        case 0xcc: /* uint 8/16/32/64 */
        case 0xcd:
        case 0xce:
        case 0xcf:
            h = 1 + ((size_t)1 << (b - 0xcc));
            break;
        case 0xd0: /* int 8/16/32/64 */
        case 0xd1:
        case 0xd2:
        case 0xd3:
            h = 1 + ((size_t)1 << (b - 0xd0));
            break;
        case 0xd4: /* fixext 1/2/4/8/16: type byte, then the payload */
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
            h = 2;
            n = (uint64_t)1 << (b - 0xd4);
            break;
        case 0xd9: /* str 8/16/32 */
        case 0xda:
        case 0xdb:
            lenbytes = (size_t)1 << (b - 0xd9);
            h = 1 + lenbytes;
            kind = PAYLOAD;
            break;
        case 0xdc: /* array 16/32 */
        case 0xdd:
            lenbytes = b == 0xdc ? 2 : 4;
            h = 1 + lenbytes;
            kind = ARRAY;
            break;
        case 0xde: /* map 16/32 */
        case 0xdf:
            lenbytes = b == 0xde ? 2 : 4;
            h = 1 + lenbytes;
            kind = MAP;
            break;
        default: /* 0xc1 */
            return -1;
        }
    }
    if (h > len - pos)
        return -2;
    if (lenbytes) {
        uint64_t v = 0;
        for (size_t i = 1; i <= lenbytes; i++)
            v = v << 8 | raw[pos + i];
        if (kind == PAYLOAD)
            n = v;
        else if (kind == ARRAY)
            kids = v;
        else
            kids = 2 * v;
    }
    *hdr = h;
    *body = n;
    *children = kids;
    return 0;
}

/* Checks the framing of the first msgpack item in raw without decoding it
 * and sets *end just past it; on failure returns -1 with *end at the problem
 * and *why saying what it is.
 * This runs before msgpack_unpack_next because msgpack-c allocates room for
 * every element an array or map header announces before reading any of them:
 * a five-byte input announcing 2^32 elements makes it ask for ~100 GB. Each
 * element takes at least one byte, so anything announcing more elements than
 * bytes remain is truncated and is refused here instead. Only a count of
 * pending items is kept, so nesting depth costs nothing. */
static int mp_scan(const unsigned char *raw, size_t len, size_t *end, const char **why)
{
    uint64_t pending = 1;
    size_t pos = 0;
    while (pending) {
        if (pending > len - pos) {
            *end = len;
            *why = "truncated msgpack data";
            return -1;
        }
        size_t hdr;
        uint64_t body, kids;
        int r = mp_item(raw, len, pos, &hdr, &body, &kids);
        if (r == -1) {
            *end = pos;
            *why = "invalid msgpack data (type byte 0xc1 is never used)";
            return -1;
        }
        if (r == -2 || body > len - pos - hdr) {
            *end = len;
            *why = "truncated msgpack data";
            return -1;
        }
        pos += hdr + (size_t)body;
        pending = pending - 1 + kids;
    }
    *end = pos;
    return 0;
}

typedef struct {
    buf_t *out;
    codec_error_t *err;
    /* The packed form of the object being written, when known, and the
     * offset of the next item in it: lets errors give a byte offset. */
    const unsigned char *raw;
    size_t raw_len, pos;
} emitter_t;

static const char *type_name(msgpack_object_type t)
{
    switch (t) {
    case MSGPACK_OBJECT_NIL:
        return "nil";
    case MSGPACK_OBJECT_BOOLEAN:
        return "boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return "integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return "float";
    case MSGPACK_OBJECT_STR:
        return "string";
    case MSGPACK_OBJECT_ARRAY:
        return "array";
    case MSGPACK_OBJECT_MAP:
        return "map";
    case MSGPACK_OBJECT_BIN:
        return "binary";
    case MSGPACK_OBJECT_EXT:
        return "extension";
    }
    return "unknown";
}

/* Writes a float as the shortest text that reads back as the same value,
 * always in a form that reads back as a float rather than an integer. */
static int emit_float(emitter_t *e, double v, bool single, size_t at)
{
    if (isnan(v))
        return fail_at(e->err, at, "NaN cannot be represented as JSON");
    if (isinf(v))
        return fail_at(e->err, at, "infinity cannot be represented as JSON");
    char text[48];
    if (single) {
        /* Judge round-tripping at float precision, so 0.1f is written as
         * "0.1", not as the double nearest to it. */
        float f = (float)v;
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(text, sizeof text, "%.*g", prec, (double)f);
            if (strtof(text, NULL) == f)
                break;
        }
    } else {
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(text, sizeof text, "%.*g", prec, v);
            if (strtod(text, NULL) == v)
                break;
        }
    }
    if (!strpbrk(text, ".en"))
        strcat(text, ".0");
    buf_append_str(e->out, text);
    return 0;
}

static int emit(emitter_t *e, const msgpack_object *o, int depth)
{
    size_t at = e->pos, hdr = 0;
    if (e->raw) {
        uint64_t body, kids;
        /* Cannot fail on input that msgpack-c accepted; if it somehow does,
         * carry on without offsets rather than report wrong ones. */
        if (e->pos >= e->raw_len || mp_item(e->raw, e->raw_len, e->pos, &hdr, &body, &kids) != 0)
            e->raw = NULL;
        else
            e->pos += hdr + (size_t)body;
    }
    if (!e->raw)
        at = 0;
    buf_t *out = e->out;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        buf_append(out, "null", 4);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        buf_append_str(out, o->via.boolean ? "true" : "false");
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        buf_printf(out, "%" PRIu64, o->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        buf_printf(out, "%" PRId64, o->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
        return emit_float(e, o->via.f64, true, at);
    case MSGPACK_OBJECT_FLOAT64:
        return emit_float(e, o->via.f64, false, at);
    case MSGPACK_OBJECT_STR: {
        size_t bad =
            escape_string(out, (const unsigned char *)o->via.str.ptr, o->via.str.size, true);
        if (bad != SIZE_MAX)
            return fail_at(e->err, e->raw ? at + hdr + bad : 0,
                           "invalid UTF-8 in string (byte 0x%02X)",
                           (unsigned)(unsigned char)o->via.str.ptr[bad]);
        return 0;
    }
    case MSGPACK_OBJECT_BIN:
        return fail_at(e->err, at, "binary data cannot be represented as JSON");
    case MSGPACK_OBJECT_EXT:
        return fail_at(e->err, at, "msgpack extension type %d cannot be represented as JSON",
                       (int)o->via.ext.type);
    case MSGPACK_OBJECT_ARRAY:
        if (depth >= CODEC_MAX_DEPTH)
            return fail_at(e->err, at, "nesting deeper than %d levels", CODEC_MAX_DEPTH);
        buf_append_char(out, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                buf_append_char(out, ',');
            if (emit(e, &o->via.array.ptr[i], depth + 1))
                return -1;
        }
        buf_append_char(out, ']');
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (depth >= CODEC_MAX_DEPTH)
            return fail_at(e->err, at, "nesting deeper than %d levels", CODEC_MAX_DEPTH);
        buf_append_char(out, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR)
                return fail_at(e->err, e->raw ? e->pos : 0, "map key must be a string, found %s",
                               type_name(kv->key.type));
            if (i)
                buf_append_char(out, ',');
            if (emit(e, &kv->key, depth + 1))
                return -1;
            buf_append_char(out, ':');
            if (emit(e, &kv->val, depth + 1))
                return -1;
        }
        buf_append_char(out, '}');
        return 0;
    }
    return fail_at(e->err, at, "unknown msgpack object type %d", (int)o->type);
}

int codec_object_to_json(const msgpack_object *obj, buf_t *out, codec_error_t *err)
{
    emitter_t e = {.out = out, .err = err, .raw = NULL, .raw_len = 0, .pos = 0};
    size_t mark = out->len;
    if (emit(&e, obj, 0)) {
        out_restore(out, mark);
        return -1;
    }
    return 0;
}

int codec_msgpack_to_json(const char *data, size_t len, buf_t *out, codec_error_t *err)
{
    if (len == 0)
        return fail_at(err, 0, "empty input");
    const unsigned char *raw = (const unsigned char *)data;
    size_t end;
    const char *why;
    if (mp_scan(raw, len, &end, &why))
        return fail_at(err, end, "%s", why);
    if (end != len)
        return fail_at(err, end, "trailing data after the msgpack object");

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(&u, data, len, &off);
    if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
        msgpack_unpacked_destroy(&u);
        if (r == MSGPACK_UNPACK_NOMEM_ERROR)
            /* libmsgpackc is built with a fixed nesting stack of
             * MSGPACK_EMBED_STACK_SIZE (32) levels and reports running past
             * it as an allocation failure. */
            return fail_at(err, 0, "msgpack data nested too deeply to unpack (over 32 levels)");
        if (r == MSGPACK_UNPACK_CONTINUE)
            return fail_at(err, len, "truncated msgpack data");
        if (r == MSGPACK_UNPACK_SUCCESS)
            return fail_at(err, off, "trailing data after the msgpack object");
        return fail_at(err, 0, "invalid msgpack data");
    }
    emitter_t e = {.out = out, .err = err, .raw = raw, .raw_len = len, .pos = 0};
    size_t mark = out->len;
    int rc = emit(&e, &u.data, 0);
    msgpack_unpacked_destroy(&u);
    if (rc)
        out_restore(out, mark);
    return rc;
}
