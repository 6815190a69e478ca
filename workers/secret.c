/*
 * secret - randomness, hashes and password hashing (see secret.h).
 */
#include "secret.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "config.h"

_Static_assert(SECRET_PWHASH_MAX == crypto_pwhash_STRBYTES, "password hash size");

int secret_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

void secret_token(char out[SECRET_TOKEN_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    buf_t text = BUF_INIT;
    b64url_encode(&text, raw, sizeof raw);
    snprintf(out, SECRET_TOKEN_LEN + 1, "%s", text.data);
    buf_free(&text);
    sodium_memzero(raw, sizeof raw);
}

void secret_otp(char out[7])
{
    snprintf(out, 7, "%06u", (unsigned)randombytes_uniform(1000000));
}

void secret_hash(const char *s, size_t len, unsigned char out[SECRET_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)s, len);
}

void secret_hash_hex(const char *s, size_t len, char out[2 * SECRET_HASH_LEN + 1])
{
    unsigned char h[SECRET_HASH_LEN];
    secret_hash(s, len, h);
    sodium_bin2hex(out, 2 * SECRET_HASH_LEN + 1, h, sizeof h);
}

static unsigned long long opslimit(void)
{
    long ops = config_get_long("MANDI_PWHASH_OPSLIMIT");
    return ops < (long)crypto_pwhash_OPSLIMIT_MIN ? crypto_pwhash_OPSLIMIT_MIN
                                                  : (unsigned long long)ops;
}

static size_t memlimit(void)
{
    long kb = config_get_long("MANDI_PWHASH_MEMLIMIT_KB");
    size_t bytes = kb > 0 ? (size_t)kb * 1024 : 0;
    return bytes < crypto_pwhash_MEMLIMIT_MIN ? crypto_pwhash_MEMLIMIT_MIN : bytes;
}

int secret_password_hash(const char *password, char out[SECRET_PWHASH_MAX])
{
    return crypto_pwhash_str(out, password, strlen(password), opslimit(), memlimit()) == 0 ? 0 : -1;
}

int secret_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void secret_password_dummy(const char *password)
{
    /* Made once: handlers run on one thread per worker. */
    static char hash[SECRET_PWHASH_MAX];
    if (!hash[0] && secret_password_hash("not-a-password", hash) < 0)
        return;
    secret_password_verify(hash, password);
}
