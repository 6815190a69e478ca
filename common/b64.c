/*
 * b64 - base64url without padding (see b64.h).
 */
#include "b64.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void b64url_encode(buf_t *out, const unsigned char *data, size_t len)
{
    /* Reserve once: 4 characters per 3 bytes, rounded up. The empty append
     * guarantees a NUL-terminated string even when len is 0. */
    buf_reserve(out, (len + 2) / 3 * 4);
    buf_append(out, "", 0);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        buf_append_char(out, b64url_alphabet[(v >> 18) & 63]);
        buf_append_char(out, b64url_alphabet[(v >> 12) & 63]);
        buf_append_char(out, b64url_alphabet[(v >> 6) & 63]);
        buf_append_char(out, b64url_alphabet[v & 63]);
    }
    size_t rest = len - i;
    if (rest == 1) {
        unsigned v = (unsigned)data[i] << 16;
        buf_append_char(out, b64url_alphabet[(v >> 18) & 63]);
        buf_append_char(out, b64url_alphabet[(v >> 12) & 63]);
    } else if (rest == 2) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
        buf_append_char(out, b64url_alphabet[(v >> 18) & 63]);
        buf_append_char(out, b64url_alphabet[(v >> 12) & 63]);
        buf_append_char(out, b64url_alphabet[(v >> 6) & 63]);
    }
}

/* Value of one base64url character, or -1. Written as ranges rather than a
 * 256-entry table so that it is plainly correct on inspection. */
static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int b64url_decode(buf_t *out, const char *s, size_t len)
{
    if (len % 4 == 1)
        return -1; /* one character carries only 6 bits: never a whole byte */
    size_t start = out->len;
    buf_reserve(out, len / 4 * 3 + 2);
    buf_append(out, "", 0); /* terminated even if nothing is decoded */
    unsigned acc = 0;
    int nbits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0)
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            buf_append_char(out, (char)((acc >> nbits) & 0xff));
            acc &= (1u << nbits) - 1; /* keep only the bits not yet emitted */
        }
    }
    /* Leftover bits (2 or 4) are padding inside the last character; a
     * canonical encoder leaves them zero. */
    if (acc != 0)
        goto bad;
    return 0;
bad:
    out->len = start;
    out->data[start] = '\0';
    return -1;
}
