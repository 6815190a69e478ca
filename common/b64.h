/*
 * b64 - base64url without padding (RFC 4648 section 5), the encoding JWTs use
 * for their three parts and that mandi uses wherever bytes must travel in a
 * URL, header or JSON string.
 */
#ifndef MANDI_B64_H
#define MANDI_B64_H

#include <stddef.h>

#include "buf.h"

/* Appends the unpadded base64url text of data[0..len) to out. */
void b64url_encode(buf_t *out, const unsigned char *data, size_t len);

/* Appends the bytes that s[0..len) encodes to out and returns 0. Returns -1,
 * leaving out as it was, if s holds any character outside A-Z a-z 0-9 - _
 * (so '=' padding and the standard alphabet's '+' '/' are refused), if len
 * cannot be an unpadded length (len % 4 == 1), or if the unused low bits of
 * the last character are not zero: each byte string then has exactly one
 * accepted encoding, so a signature cannot be re-spelled. */
int b64url_decode(buf_t *out, const char *s, size_t len);

#endif
