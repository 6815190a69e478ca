/*
 * razorpay_test - the built-in test gateway (see razorpay_test.h).
 *
 * It keeps no state: what a later call needs is in the ids it hands out.
 * An order id carries a random part and the amount
 * (order_test_<12 hex>_<paise>); the payment of that order is the same
 * with pay_test_, so fetching a payment tells its order and amount without
 * a table. Refunds and payouts are named after their idempotency key, so
 * the same key gives the same entity, as at Razorpay. Every payment is
 * captured and every refund and payout processed at once: it takes no
 * real money and lets a development stack run the whole Razorpay path.
 */
#include "razorpay_test.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "mp.h"

#define TEST_ORDER   "order_test_"
#define TEST_PAYMENT "pay_test_"

/* A request body's fields, read through the codec. */
typedef struct {
    int64_t amount;
    char receipt[64];
    buf_t notes; /* JSON text of the notes object, or "[]" */
} test_body_t;

static void read_body(const buf_t *json, test_body_t *b)
{
    memset(b, 0, sizeof *b);
    buf_t packed = BUF_INIT;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    if (json && codec_json_to_msgpack(json->data, json->len, &packed, NULL) == 0 &&
        msgpack_unpack_next(&u, packed.data, packed.len, NULL) == MSGPACK_UNPACK_SUCCESS) {
        mp_get_i64(mp_get(&u.data, "amount"), &b->amount);
        if (mp_copy_str(mp_get(&u.data, "receipt"), b->receipt, sizeof b->receipt) < 0)
            b->receipt[0] = '\0';
        const msgpack_object *notes = mp_get(&u.data, "notes");
        if (notes && notes->type == MSGPACK_OBJECT_MAP && notes->via.map.size > 0 &&
            codec_object_to_json(notes, &b->notes, NULL) < 0)
            buf_reset(&b->notes);
    }
    if (!b->notes.len)
        buf_append_str(&b->notes, "[]");
    msgpack_unpacked_destroy(&u);
    buf_free(&packed);
}

/* A name made from key: the same key, the same name. */
static void name_from(const char *prefix, const char *key, char *out, size_t cap)
{
    unsigned char h[7];
    crypto_generichash(h, sizeof h, (const unsigned char *)key, strlen(key), NULL, 0);
    char hex[2 * sizeof h + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, cap, "%s%s", prefix, hex);
}

static int answer(razorpay_result_t *res, long status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int answer(razorpay_result_t *res, long status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_reset(&res->body);
    buf_vprintf(&res->body, fmt, ap);
    va_end(ap);
    res->status = status;
    res->attempts = 1;
    if (status >= 400) {
        snprintf(res->error_code, sizeof res->error_code, "BAD_REQUEST_ERROR");
        snprintf(res->why, sizeof res->why, "test gateway: %ld BAD_REQUEST_ERROR", status);
        return -1;
    }
    return 0;
}

static int refuse(razorpay_result_t *res, const char *what)
{
    return answer(res, 400,
                  "{\"error\": {\"code\": \"BAD_REQUEST_ERROR\", \"description\": \"%s\", "
                  "\"source\": \"NA\", \"step\": \"NA\", \"reason\": \"NA\"}}",
                  what);
}

/* The payment entity of a test payment id, or a refusal for any other. */
static int payment(const char *id, razorpay_result_t *res)
{
    size_t n = strlen(TEST_PAYMENT);
    const char *amount = strrchr(id, '_');
    if (strncmp(id, TEST_PAYMENT, n) != 0 || !amount || amount < id + n)
        return refuse(res, "The id provided does not exist");
    return answer(res, 200,
                  "{\"id\": \"%s\", \"entity\": \"payment\", \"amount\": %s, \"currency\": "
                  "\"INR\", \"status\": \"captured\", \"order_id\": \"" TEST_ORDER "%s\", "
                  "\"method\": \"upi\", \"captured\": true, \"amount_refunded\": 0, "
                  "\"refund_status\": null, \"created_at\": %lld}",
                  id, amount + 1, id + n, (long long)time(NULL));
}

int razorpay_test_answer(const char *method, const char *path, const buf_t *body,
                         const char *idempotency_key, razorpay_result_t *res)
{
    test_body_t b;
    read_body(body, &b);
    char id[64], name[64];
    int rc;
    long long now = (long long)time(NULL);
    if (strcmp(method, "POST") == 0 && strcmp(path, "/v1/orders") == 0) {
        unsigned char r[6];
        char hex[13];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(hex, sizeof hex, r, sizeof r);
        rc = answer(res, 200,
                    "{\"id\": \"" TEST_ORDER "%s_%lld\", \"entity\": \"order\", \"amount\": %lld, "
                    "\"amount_paid\": 0, \"amount_due\": %lld, \"currency\": \"INR\", "
                    "\"receipt\": \"%s\", \"status\": \"created\", \"attempts\": 0, "
                    "\"notes\": %s, \"created_at\": %lld}",
                    hex, (long long)b.amount, (long long)b.amount, (long long)b.amount, b.receipt,
                    b.notes.data, now);
    } else if (strcmp(method, "GET") == 0 && strncmp(path, "/v1/payments?", 13) == 0) {
        /* It keeps no record to list. */
        rc = answer(res, 200, "{\"entity\": \"collection\", \"count\": 0, \"items\": []}");
    } else if (sscanf(path, "/v1/payments/%63[A-Za-z0-9_]", id) == 1) {
        const char *rest = path + strlen("/v1/payments/") + strlen(id);
        if (strcmp(method, "POST") == 0 && strcmp(rest, "/refund") == 0) {
            if ((rc = payment(id, res)) == 0) {
                name_from("rfnd_test_", idempotency_key ? idempotency_key : id, name, sizeof name);
                rc = answer(res, 200,
                            "{\"id\": \"%s\", \"entity\": \"refund\", \"amount\": %lld, "
                            "\"currency\": \"INR\", \"payment_id\": \"%s\", \"notes\": %s, "
                            "\"status\": \"processed\", \"speed_processed\": \"normal\", "
                            "\"created_at\": %lld}",
                            name, (long long)b.amount, id, b.notes.data, now);
            }
        } else if (rest[0] == '\0' || strcmp(rest, "/capture") == 0) {
            rc = payment(id, res);
        } else {
            rc = refuse(res, "The requested URL was not found on the server.");
        }
    } else if (strcmp(method, "POST") == 0 && strcmp(path, "/v1/payouts") == 0) {
        name_from("pout_test_", idempotency_key ? idempotency_key : "", name, sizeof name);
        rc = answer(res, 200,
                    "{\"id\": \"%s\", \"entity\": \"payout\", \"amount\": %lld, \"currency\": "
                    "\"INR\", \"status\": \"processed\", \"notes\": %s, \"created_at\": %lld}",
                    name, (long long)b.amount, b.notes.data, now);
    } else if (strcmp(method, "POST") == 0 &&
               (strcmp(path, "/v1/contacts") == 0 || strcmp(path, "/v1/fund_accounts") == 0)) {
        name_from(path[4] == 'c' ? "cont_test_" : "fa_test_", body ? body->data : "", name,
                  sizeof name);
        rc = answer(res, 200, "{\"id\": \"%s\", \"entity\": \"%s\", \"active\": true}", name,
                    path[4] == 'c' ? "contact" : "fund_account");
    } else {
        rc = refuse(res, "The requested URL was not found on the server.");
    }
    buf_free(&b.notes);
    return rc;
}

int razorpay_test_payment_of(const char *order_id, char *payment_id, size_t cap)
{
    size_t n = strlen(TEST_ORDER);
    if (strncmp(order_id, TEST_ORDER, n) != 0 || !strrchr(order_id, '_') ||
        strrchr(order_id, '_') < order_id + n)
        return -1;
    int w = snprintf(payment_id, cap, TEST_PAYMENT "%s", order_id + n);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}
