/*
 * razorpay - a client for the Razorpay REST API (orders, payments, refunds,
 * RazorpayX contacts, fund accounts and payouts) over libcurl.
 *
 * One client per worker process: it owns one curl easy handle, so
 * consecutive calls reuse the kept-alive connection. A client is not
 * thread-safe; the payments pool calls it from its handler thread only.
 *
 * RazorpayX needs a beneficiary before a payout: a contact (the person)
 * and a fund account (their bank account or UPI address) under it.
 *
 * Every call is synchronous and bounded: each attempt has a connect and a
 * total timeout, and a call that meets a network error, a timeout or a 5xx
 * is sent again, after an exponential back-off with jitter, at most
 * RAZORPAY_RETRIES more times. A 4xx is never retried (the same request
 * would get the same answer). A retry sends the very bytes of the first
 * attempt: the same body and the same idempotency header, so a refund or a
 * payout whose answer was lost is found again by Razorpay, not made twice.
 *
 * Results are raw JSON text for the caller to parse (common/codec.h), plus
 * the status and, for an error answer, the fields of Razorpay's
 * {"error": {"code", "description", ...}} body. Money is integer paise; the
 * currency is always INR.
 */
#ifndef MANDI_RAZORPAY_H
#define MANDI_RAZORPAY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef struct razorpay razorpay_t;

typedef struct {
    const char *api_base;   /* e.g. https://api.razorpay.com, no trailing slash needed */
    const char *key_id;     /* Basic auth user */
    const char *key_secret; /* Basic auth password */
    long connect_timeout_ms;
    long timeout_ms;    /* whole attempt: connect, send, wait, receive */
    long retries;       /* extra attempts after the first, >= 0 */
    long retry_base_ms; /* back-off before retry n is about base * 2^(n-1) */
} razorpay_config_t;

/* What a call learnt. Zero-initialise (RAZORPAY_RESULT_INIT) before the first
 * call; a call resets it, so one result may serve many calls; free it with
 * razorpay_result_free. */
typedef struct {
    long status;  /* HTTP status of the last attempt; 0 when none was answered */
    int attempts; /* requests sent for this call: 1 + retries made */
    buf_t body;   /* the last answer's body, NUL-terminated (JSON from Razorpay) */
    /* From the error body of a 4xx/5xx answer; "" when absent or null. */
    char error_code[64];         /* e.g. BAD_REQUEST_ERROR, GATEWAY_ERROR, SERVER_ERROR */
    char error_description[256]; /* Razorpay's human-readable text */
    char error_field[64];        /* the request field at fault, if any */
    char error_source[64];
    char error_step[64];
    char error_reason[64];
    /* One line on why the call failed (transport error, or status, code and
     * description); "" on success. Never holds a secret. */
    char why[320];
} razorpay_result_t;

#define RAZORPAY_RESULT_INIT                                                                       \
    {                                                                                              \
        0                                                                                          \
    }

/* The parameters of a RazorpayX payout (POST /v1/payouts). Optional strings
 * may be NULL. */
typedef struct {
    const char *account_number;  /* the RazorpayX account the money leaves */
    const char *fund_account_id; /* the beneficiary, fa_... */
    int64_t amount_paise;        /* > 0 */
    const char *mode;            /* IMPS, NEFT, RTGS, UPI, ... */
    const char *purpose;         /* refund, cashback, payout, salary, ... */
    int queue_if_low_balance;    /* 1: queue the payout rather than fail it */
    const char *reference_id;    /* optional, ours, at most 40 characters */
    const char *narration;       /* optional, on the beneficiary's statement */
    const char *notes_json;      /* optional JSON object of string values */
} razorpay_payout_t;

/* Whether self is the built-in test gateway (razorpay_test.h): made with
 * an empty key id, it answers in process and takes no real money. */
int razorpay_is_test(const razorpay_t *self);
/* A RazorpayX contact (POST /v1/contacts). Optional strings may be NULL. */
typedef struct {
    const char *name;         /* 3 to 50 characters of Razorpay's set (letters, digits,
                                 space, ' - _ / ( ) , .), not ending in another */
    const char *type;         /* customer, vendor, employee or self */
    const char *reference_id; /* optional, ours (e.g. our user id), at most 40 characters */
    const char *email;        /* optional */
    const char *contact;      /* optional phone number */
    const char *notes_json;   /* optional JSON object of string values */
} razorpay_contact_t;

/* A fund account (POST /v1/fund_accounts): a contact's bank account or UPI
 * address. account_type picks which of the two groups is used. */
typedef struct {
    const char *contact_id;   /* cont_... */
    const char *account_type; /* "bank_account" or "vpa" */
    /* bank_account */
    const char *name;           /* the holder's name, as the bank has it */
    const char *ifsc;           /* 11 characters */
    const char *account_number; /* 5 to 35 letters or digits */
    /* vpa */
    const char *vpa; /* a UPI address, handle@provider */
} razorpay_fund_account_t;

/* Fills cfg from the settings RAZORPAY_API_BASE, RAZORPAY_KEY_ID,
 * RAZORPAY_KEY_SECRET, RAZORPAY_CONNECT_TIMEOUT_MS, RAZORPAY_TIMEOUT_MS,
 * RAZORPAY_RETRIES and RAZORPAY_RETRY_BASE_MS (common/config.h). The strings
 * point into the environment or the settings table. */
void razorpay_config_load(razorpay_config_t *cfg);

/* A client for cfg (copied; cfg may go away); an empty key id makes the
 * built-in test gateway. The first client of the process initialises libcurl. Returns NULL with a
 * reason in why (why_size bytes) when cfg is unusable or libcurl cannot start. */
razorpay_t *razorpay_new(const razorpay_config_t *cfg, char *why, size_t why_size);

/* Frees the client and its connection and NULLs *self_p; the last client
 * destroyed releases libcurl. NULL or *NULL is fine. */
void razorpay_destroy(razorpay_t **self_p);

/* Frees the result's body; the result may be used again. */
void razorpay_result_free(razorpay_result_t *res);

/* 1 when a failed call may succeed later with the same request (no answer, a
 * 5xx, 409 "still processing this key", 429 "too many requests"); 0 for a
 * success, a final refusal by Razorpay, or arguments refused before sending.
 * For a job deciding between failing for good and trying again later. */
int razorpay_result_retryable(const razorpay_result_t *res);

/*
 * The calls. Each returns 0 when Razorpay answered 2xx (the entity is in
 * res->body), else -1 with res->why set: res->status is 0 when the request
 * was refused before sending (bad argument) or never answered, else the
 * error answer's status with its error fields.
 */

/* POST /v1/orders {amount, currency: INR, receipt, notes}. receipt (at most
 * 40 characters) and notes_json (a JSON object) may be NULL. Razorpay does
 * not dedupe orders: a retried call whose first answer was lost may leave a
 * spare order behind, which simply expires unpaid. */
int razorpay_order_create(razorpay_t *self, int64_t amount_paise, const char *receipt,
                          const char *notes_json, razorpay_result_t *res);

/* GET /v1/payments/:id */
int razorpay_payment_fetch(razorpay_t *self, const char *payment_id, razorpay_result_t *res);

/* POST /v1/payments/:id/capture {amount, currency: INR}; amount must be what
 * was authorized. Capturing twice is refused with a 400, never doubled. */
int razorpay_payment_capture(razorpay_t *self, const char *payment_id, int64_t amount_paise,
                             razorpay_result_t *res);

/* POST /v1/payments/:id/refund {amount, notes} with X-Refund-Idempotency:
 * idempotency_key (required: 10 to 64 characters of A-Z a-z 0-9 - _).
 * amount_paise 0 refunds what is left of the payment. The same key with the
 * same body answers the same refund again. */
int razorpay_payment_refund(razorpay_t *self, const char *payment_id, int64_t amount_paise,
                            const char *notes_json, const char *idempotency_key,
                            razorpay_result_t *res);

/* GET /v1/payments?from=&to=&count=&skip= ; from/to are Unix seconds (0
 * leaves the bound out), count 1..100 (0: Razorpay's default of 10), skip
 * >= 0. The body is {"entity": "collection", "count", "items": [...]}. */
int razorpay_payments_list(razorpay_t *self, int64_t from, int64_t to, int count, int skip,
                           razorpay_result_t *res);

/* POST /v1/payouts with X-Payout-Idempotency: idempotency_key (required: 4
 * to 36 characters of A-Z a-z 0-9 - _ and space). Keep the key for the life
 * of the payout: a new key for the same payout may pay twice. */
int razorpay_payout_create(razorpay_t *self, const razorpay_payout_t *payout,
                           const char *idempotency_key, razorpay_result_t *res);

/* POST /v1/contacts {name, type, reference_id, email, contact, notes}.
 * There is no idempotency key: Razorpay answers a contact whose details all
 * match an existing one with that contact, so a retried create (the same
 * bytes) does not make a second one. */
int razorpay_contact_create(razorpay_t *self, const razorpay_contact_t *contact,
                            razorpay_result_t *res);

/* POST /v1/fund_accounts {contact_id, account_type, bank_account: {name, ifsc,
 * account_number}} or {contact_id, account_type, vpa: {address}}. Like
 * contacts, the same details for the same contact answer the existing fund
 * account, so a retry is safe. */
int razorpay_fund_account_create(razorpay_t *self, const razorpay_fund_account_t *account,
                                 razorpay_result_t *res);

#endif
