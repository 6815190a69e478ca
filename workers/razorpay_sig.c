/*
 * razorpay_sig - Razorpay's payment and webhook signatures (see
 * razorpay_sig.h).
 */
#include "razorpay_sig.h"

#include <sodium.h>
#include <string.h>

#define SIG_HEX_LEN (RAZORPAY_SIG_HEX_SIZE - 1)

_Static_assert(SIG_HEX_LEN == 2 * crypto_auth_hmacsha256_BYTES, "hex of an HMAC-SHA256");

typedef struct {
    const void *data;
    size_t len;
} sig_part_t;

/* The HMAC of the concatenation of parts, fed piecewise so that the payment
 * signature's "order|payment" message is never assembled in a buffer. The
 * init/update/final API takes keys of any length (the one-shot API wants
 * exactly 32 bytes). */
static void sig_hmac_parts(const void *key, size_t key_len, const sig_part_t *parts, size_t n,
                           char out[RAZORPAY_SIG_HEX_SIZE])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, key_len);
    for (size_t i = 0; i < n; i++)
        crypto_auth_hmacsha256_update(&st, parts[i].data, parts[i].len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, RAZORPAY_SIG_HEX_SIZE, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(mac, sizeof mac);
}

void razorpay_hmac_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       char out[RAZORPAY_SIG_HEX_SIZE])
{
    sig_part_t part = {msg, msg_len};
    sig_hmac_parts(key, key_len, &part, 1, out);
}

/* Compares the expected digits with the ones received. The length check may
 * return early: 64 is no secret. The digits themselves are compared as text
 * in constant time, which also refuses upper-case or non-hex input without a
 * separate, data-dependent parse: such a character never equals the
 * lower-case digit at its place. strnlen bounds the read of a hostile,
 * endless header. */
static int sig_matches(const char expected[RAZORPAY_SIG_HEX_SIZE], const char *given)
{
    if (strnlen(given, SIG_HEX_LEN + 1) != SIG_HEX_LEN)
        return 0;
    return sodium_memcmp(expected, given, SIG_HEX_LEN) == 0;
}

int razorpay_payment_signature_ok(const char *key_secret, const char *order_id,
                                  const char *payment_id, const char *signature_hex)
{
    if (!key_secret || !key_secret[0] || !order_id || !payment_id || !signature_hex)
        return 0;
    const sig_part_t parts[] = {
        {order_id, strlen(order_id)}, {"|", 1}, {payment_id, strlen(payment_id)}};
    char expected[RAZORPAY_SIG_HEX_SIZE];
    sig_hmac_parts(key_secret, strlen(key_secret), parts, sizeof parts / sizeof parts[0], expected);
    return sig_matches(expected, signature_hex);
}

int razorpay_webhook_signature_ok(const char *webhook_secret, const void *body, size_t body_len,
                                  const char *signature_hex)
{
    if (!webhook_secret || !webhook_secret[0] || (!body && body_len) || !signature_hex)
        return 0;
    char expected[RAZORPAY_SIG_HEX_SIZE];
    razorpay_hmac_hex(webhook_secret, strlen(webhook_secret), body ? body : "", body_len, expected);
    return sig_matches(expected, signature_hex);
}
