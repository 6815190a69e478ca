/*
 * secret - random codes and tokens, their hashes, and password hashing.
 *
 * Everything random comes from libsodium's CSPRNG. Tokens and codes are
 * stored only as SHA-256 hashes (a stolen table or Redis dump gives nothing
 * to present); passwords as argon2id strings with the cost set by
 * MANDI_PWHASH_OPSLIMIT and MANDI_PWHASH_MEMLIMIT_KB.
 */
#ifndef MANDI_SECRET_H
#define MANDI_SECRET_H

#include <stddef.h>

#define SECRET_TOKEN_LEN  43  /* 32 random bytes, base64url without padding */
#define SECRET_HASH_LEN   32  /* SHA-256 */
#define SECRET_PWHASH_MAX 128 /* crypto_pwhash_STRBYTES */

/* Initialises libsodium; call once at start. Returns 0 or -1. */
int secret_init(void);

/* A fresh token of SECRET_TOKEN_LEN characters plus NUL. */
void secret_token(char out[SECRET_TOKEN_LEN + 1]);

/* Six decimal digits, uniformly drawn, plus NUL. */
void secret_otp(char out[7]);

/* SHA-256 of len bytes of s. */
void secret_hash(const char *s, size_t len, unsigned char out[SECRET_HASH_LEN]);

/* Lower-case hex of the hash of s (65 bytes with NUL), for Redis keys. */
void secret_hash_hex(const char *s, size_t len, char out[2 * SECRET_HASH_LEN + 1]);

/* argon2id string of password. Returns 0, or -1 when out of memory. */
int secret_password_hash(const char *password, char out[SECRET_PWHASH_MAX]);

/* Whether password matches hash (constant time in the password). */
int secret_password_verify(const char *hash, const char *password);

/* Spends about the time of a verification, so that an unknown account
 * answers as slowly as a wrong password. */
void secret_password_dummy(const char *password);

#endif
