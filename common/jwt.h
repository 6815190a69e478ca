/*
 * jwt - HS256 JSON Web Tokens: the bearer tokens the front end issues at login
 * and checks on every authenticated request.
 *
 * Only HMAC-SHA256 exists here on purpose. Accepting whatever "alg" a token
 * names is the classic JWT hole ("none", or an RSA public key reused as an
 * HMAC secret), so anything but HS256 is refused before the signature is
 * even looked at. The JSON reading is a small strict scanner private to
 * jwt.c, so this module depends on nothing but OpenSSL and buf.
 */
#ifndef MANDI_JWT_H
#define MANDI_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct {
    char sub[64];     /* user id */
    char role[32];    /* e.g. USER, ADMIN, MERCHANT, LOCATION_ADMIN, FINANCE, MODERATOR */
    char zones[256];  /* comma-separated zone ids from the "zones" array claim ("" if none) */
    char jti[64];     /* token id, so a token can be revoked */
    int64_t iat, exp; /* seconds since the epoch */
} jwt_claims_t;

typedef enum {
    JWT_OK = 0,
    JWT_MALFORMED,
    JWT_BAD_ALG,
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED
} jwt_status_t;

/* Signs claims into a compact JWS and appends it to out. Header
 * {"alg":"HS256","typ":"JWT"}; payload {"sub","role","zones","iat","exp","jti"}
 * with zones as a JSON array of strings (split on commas, empty items
 * dropped). Appends nothing if the secret is empty (an empty key makes every
 * token forgeable) or if OpenSSL fails. */
void jwt_sign(buf_t *out, const jwt_claims_t *claims, const char *secret, size_t secret_len);

/* Verifies token[0..len) and never reads past len. Checks, in this order:
 *  - exactly three parts of valid unpadded base64url, at most 8 KiB in all
 *    -> else JWT_MALFORMED;
 *  - the header is a JSON object whose "alg" is exactly "HS256", without a
 *    "crit" member -> a malformed header is JWT_MALFORMED, any other "alg"
 *    (missing, "none", HS512, RS256, not a string) is JWT_BAD_ALG;
 *  - HMAC-SHA256 of "header.payload" equals the signature (constant-time
 *    comparison) -> else JWT_BAD_SIGNATURE; an empty secret never verifies;
 *  - the payload is a JSON object with non-empty strings "sub" and "role",
 *    integer "exp", and optional integer "iat", string "jti" and "zones"
 *    array of non-empty, comma-free strings; a value too long for its field,
 *    a wrong type or a repeated claim -> JWT_MALFORMED;
 *  - exp > now_s -> else JWT_EXPIRED.
 * *claims (may be NULL) is zeroed first and filled only on JWT_OK. */
jwt_status_t jwt_verify(const char *token, size_t len, const char *secret, size_t secret_len,
                        int64_t now_s, jwt_claims_t *claims);

/* "OK", "TOKEN_MALFORMED", "TOKEN_BAD_ALG", "TOKEN_BAD_SIGNATURE", "TOKEN_EXPIRED"
 * - the error codes the API returns to clients. */
const char *jwt_status_name(jwt_status_t s);

#endif
