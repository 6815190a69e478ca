/*
 * razorpay_sig - the HMAC-SHA256 signatures Razorpay puts on what reaches us
 * from outside: the checkout's payment signature (order_id|payment_id, keyed
 * with the API key secret) and a webhook's X-Razorpay-Signature (the raw
 * body, keyed with the webhook secret).
 *
 * Pure functions over libsodium: no I/O, no allocation, no global state
 * beyond libsodium's own (sodium_init must have run; it is idempotent).
 * Signatures travel as 64 lower-case hex digits; anything else (upper case,
 * shorter, longer, not hex, empty, NULL) is refused. The comparison of the
 * digits runs in constant time, so a forger learns nothing from timing but
 * the length of what was sent, which is public anyway.
 */
#ifndef MANDI_RAZORPAY_SIG_H
#define MANDI_RAZORPAY_SIG_H

#include <stddef.h>

/* 64 hex digits of an HMAC-SHA256 and the NUL. */
#define RAZORPAY_SIG_HEX_SIZE 65

/* Writes the lower-case hex HMAC-SHA256 of msg (msg_len bytes) under key
 * (key_len bytes, any length) into out, NUL-terminated. */
void razorpay_hmac_hex(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       char out[RAZORPAY_SIG_HEX_SIZE]);

/* 1 when signature_hex is the HMAC-SHA256 of "order_id|payment_id" under
 * key_secret, as Razorpay's checkout hands it to the app after a payment;
 * 0 otherwise, and always 0 for an empty secret or a NULL argument. */
int razorpay_payment_signature_ok(const char *key_secret, const char *order_id,
                                  const char *payment_id, const char *signature_hex);

/* 1 when signature_hex (the X-Razorpay-Signature header) is the HMAC-SHA256
 * of the exact body bytes under webhook_secret; 0 otherwise, and always 0 for
 * an empty secret or a NULL argument (body may be NULL when body_len is 0). */
int razorpay_webhook_signature_ok(const char *webhook_secret, const void *body, size_t body_len,
                                  const char *signature_hex);

#endif
