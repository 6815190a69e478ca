/*
 * razorpay_test - the built-in test gateway: Razorpay's answers made in
 * process, for a development stack without Razorpay keys.
 *
 * A client made with an empty RAZORPAY_KEY_ID (razorpay.c) sends nothing
 * over the network: each call is answered here, in Razorpay's entity
 * shapes, so the payments pool runs the code path it runs against
 * Razorpay. Orders are paid through the route POST /api/payments/test/pay,
 * which hands back what Razorpay's Checkout would (a payment id and its
 * signature). Production refuses to start without a key (config_check).
 */
#ifndef MANDI_RAZORPAY_TEST_H
#define MANDI_RAZORPAY_TEST_H

#include <stddef.h>

#include "buf.h"
#include "razorpay.h"

/* Answers one request (method, path from /v1 on, JSON body or NULL) into
 * res as Razorpay would: 0 for a 2xx, else -1 with res's error fields. */
int razorpay_test_answer(const char *method, const char *path, const buf_t *body,
                         const char *idempotency_key, razorpay_result_t *res);

/* The id of the (captured) payment of test order order_id. Returns 0, or
 * -1 when order_id is not a test gateway order. */
int razorpay_test_payment_of(const char *order_id, char *payment_id, size_t cap);

#endif
