/*
 * test_razorpay_sig - Razorpay's payment and webhook signatures against
 * digests computed independently (Python's hmac module, openssl dgst
 * -hmac) and the HMAC-SHA256 vectors of RFC 4231, then every way a
 * signature can be wrong.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "razorpay_sig.h"

#define KEY_SECRET "EnLs21M47BllR3X8PSFtjtbd"
#define ORDER_ID   "order_IluGWxBm9U8zJ8"
#define PAYMENT_ID "pay_IluGWxBm9U8zJ8"
/* HMAC-SHA256(KEY_SECRET, ORDER_ID "|" PAYMENT_ID) */
#define PAYMENT_SIG "87d2958037422750818c4ccd4755654b0a99665c5505ce7aa616b35a075e196f"

#define WEBHOOK_SECRET "whsec_3kTy7Qw9pLm2"
static const char WEBHOOK_BODY[] =
    "{\"entity\":\"event\",\"account_id\":\"acc_BFQ7uQEaa7j2z7\",\"event\":\"payment.captured\","
    "\"contains\":[\"payment\"],\"payload\":{\"payment\":{\"entity\":{\"id\":\"pay_"
    "DESlfW9H8K9uqM\","
    "\"entity\":\"payment\",\"amount\":50000,\"currency\":\"INR\",\"status\":\"captured\","
    "\"order_id\":\"order_DESlLckIVRkHWj\",\"method\":\"upi\",\"captured\":true}}},"
    "\"created_at\":1567674606}";
/* HMAC-SHA256(WEBHOOK_SECRET, WEBHOOK_BODY) */
#define WEBHOOK_SIG "74928fddd0a4533874b55e040290bfdef3981197c6f31e53472a0501cdba07b5"
/* HMAC-SHA256(WEBHOOK_SECRET, "") */
#define EMPTY_SIG "ab0faebe8d4c1c5080c8a37b6c7f21b6a9fbd39e87aedfa9b9193bd3ed32cd8c"

typedef struct {
    unsigned char key_byte;
    size_t key_len; /* key_len copies of key_byte, or the text below */
    const char *key_text;
    unsigned char data_byte;
    size_t data_len;
    const char *data_text;
    const char *mac;
} rfc4231_case_t;

/* RFC 4231 section 4; case 5 (a truncated output) does not apply. */
static const rfc4231_case_t RFC4231[] = {
    {0x0b, 20, NULL, 0, 0, "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {0, 0, "Jefe", 0, 0, "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {0xaa, 20, NULL, 0xdd, 50, NULL,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {0, 25, NULL, 0xcd, 50, NULL, /* key 0x01 .. 0x19 */
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {0xaa, 131, NULL, 0, 0, "Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {0xaa, 131, NULL, 0, 0,
     "This is a test using a larger than block-size key and a larger than block-size data. "
     "The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
};

static void test_rfc4231(void)
{
    for (size_t i = 0; i < sizeof RFC4231 / sizeof RFC4231[0]; i++) {
        const rfc4231_case_t *c = &RFC4231[i];
        unsigned char key[131], data[50];
        size_t key_len = c->key_text ? strlen(c->key_text) : c->key_len;
        size_t data_len = c->data_text ? strlen(c->data_text) : c->data_len;
        if (c->key_text)
            memcpy(key, c->key_text, key_len);
        else
            for (size_t j = 0; j < key_len; j++)
                key[j] = c->key_byte ? c->key_byte : (unsigned char)(j + 1);
        if (!c->data_text)
            memset(data, c->data_byte, data_len);
        char out[RAZORPAY_SIG_HEX_SIZE];
        razorpay_hmac_hex(key, key_len, c->data_text ? (const void *)c->data_text : data, data_len,
                          out);
        CHECK_STR(out, c->mac);
    }
}

static void test_payment_signature(void)
{
    char out[RAZORPAY_SIG_HEX_SIZE];
    const char msg[] = ORDER_ID "|" PAYMENT_ID;
    razorpay_hmac_hex(KEY_SECRET, strlen(KEY_SECRET), msg, strlen(msg), out);
    CHECK_STR(out, PAYMENT_SIG);

    CHECK(razorpay_payment_signature_ok(KEY_SECRET, ORDER_ID, PAYMENT_ID, PAYMENT_SIG));
    /* Another pair, from Razorpay's own documentation example ids. */
    CHECK(razorpay_payment_signature_ok(
        KEY_SECRET, "order_DBJOWzybf0sJbb", "pay_DBJOWzybf0sJbb",
        "08b2a6bf48f61224aa06516fb094b755f0916815cf887abfcee2e66f4bfc021b"));

    /* The signature binds the secret, both ids and their order. */
    CHECK(!razorpay_payment_signature_ok("EnLs21M47BllR3X8PSFtjtbD", ORDER_ID, PAYMENT_ID,
                                         PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, "order_IluGWxBm9U8zJ9", PAYMENT_ID,
                                         PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, ORDER_ID, "pay_IluGWxBm9U8zJ9", PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, PAYMENT_ID, ORDER_ID, PAYMENT_SIG));

    /* No secret, no verdict: an unconfigured key must not accept anything. */
    char empty_key_sig[RAZORPAY_SIG_HEX_SIZE];
    razorpay_hmac_hex("", 0, msg, strlen(msg), empty_key_sig);
    CHECK(!razorpay_payment_signature_ok("", ORDER_ID, PAYMENT_ID, empty_key_sig));
    CHECK(!razorpay_payment_signature_ok(NULL, ORDER_ID, PAYMENT_ID, PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, NULL, PAYMENT_ID, PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, ORDER_ID, NULL, PAYMENT_SIG));
    CHECK(!razorpay_payment_signature_ok(KEY_SECRET, ORDER_ID, PAYMENT_ID, NULL));
}

/* Every malformed rendering of good, which must all be refused. */
static void check_malformed(int (*ok)(const char *sig), const char *good)
{
    char sig[160];
    CHECK(ok(good));

    snprintf(sig, sizeof sig, "%s", good); /* upper case: the same bytes, not the same text */
    for (char *p = sig; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK(!ok(sig));

    snprintf(sig, sizeof sig, "%.63s", good); /* one digit short */
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "%.32s", good); /* half of it */
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "%s0", good); /* one digit too many */
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "%s%s", good, good); /* twice */
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "%s ", good); /* trailing space */
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "sha256=%s", good); /* another provider's prefix */
    CHECK(!ok(sig));
    CHECK(!ok(""));

    snprintf(sig, sizeof sig, "%s", good); /* one digit changed */
    sig[10] = sig[10] == '0' ? '1' : '0';
    CHECK(!ok(sig));
    snprintf(sig, sizeof sig, "%s", good); /* a non-hex character in place of a digit */
    sig[63] = 'g';
    CHECK(!ok(sig));
    CHECK(!ok("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    /* A NUL inside: the first 64 bytes of the buffer match, but it is not a
     * 64-digit string. */
    snprintf(sig, sizeof sig, "%s", good);
    sig[40] = '\0';
    CHECK(!ok(sig));
}

static int payment_ok(const char *sig)
{
    return razorpay_payment_signature_ok(KEY_SECRET, ORDER_ID, PAYMENT_ID, sig);
}

static int webhook_ok(const char *sig)
{
    return razorpay_webhook_signature_ok(WEBHOOK_SECRET, WEBHOOK_BODY, strlen(WEBHOOK_BODY), sig);
}

static void test_malformed(void)
{
    check_malformed(payment_ok, PAYMENT_SIG);
    check_malformed(webhook_ok, WEBHOOK_SIG);
}

static void test_webhook_signature(void)
{
    size_t len = strlen(WEBHOOK_BODY);
    char out[RAZORPAY_SIG_HEX_SIZE];
    razorpay_hmac_hex(WEBHOOK_SECRET, strlen(WEBHOOK_SECRET), WEBHOOK_BODY, len, out);
    CHECK_STR(out, WEBHOOK_SIG);
    CHECK(razorpay_webhook_signature_ok(WEBHOOK_SECRET, WEBHOOK_BODY, len, WEBHOOK_SIG));

    /* Tampering anywhere in the body, even by one byte or by re-serialising
     * the same JSON, breaks the signature. */
    char body[sizeof WEBHOOK_BODY];
    memcpy(body, WEBHOOK_BODY, sizeof body);
    char *amount = strstr(body, "50000");
    CHECK(amount != NULL);
    if (amount)
        amount[0] = '9';
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, body, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, WEBHOOK_BODY, len - 1, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, WEBHOOK_BODY, len + 1, WEBHOOK_SIG));
    const char spaced[] = "{ \"entity\":\"event\"}";
    razorpay_hmac_hex(WEBHOOK_SECRET, strlen(WEBHOOK_SECRET), "{\"entity\":\"event\"}", 18, out);
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, spaced, strlen(spaced), out));

    /* Wrong secret: the API key secret is not the webhook secret. */
    CHECK(!razorpay_webhook_signature_ok(KEY_SECRET, WEBHOOK_BODY, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok("whsec_3kTy7Qw9pLm", WEBHOOK_BODY, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok("", WEBHOOK_BODY, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok(NULL, WEBHOOK_BODY, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, NULL, len, WEBHOOK_SIG));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, WEBHOOK_BODY, len, NULL));

    /* An empty body has a signature like any other. */
    CHECK(razorpay_webhook_signature_ok(WEBHOOK_SECRET, NULL, 0, EMPTY_SIG));
    CHECK(razorpay_webhook_signature_ok(WEBHOOK_SECRET, "", 0, EMPTY_SIG));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, "", 0, WEBHOOK_SIG));

    /* Bodies are bytes: a NUL inside is signed like the rest. */
    const char with_nul[] = {'{', '}', '\0', 'x'};
    razorpay_hmac_hex(WEBHOOK_SECRET, strlen(WEBHOOK_SECRET), with_nul, sizeof with_nul, out);
    CHECK(razorpay_webhook_signature_ok(WEBHOOK_SECRET, with_nul, sizeof with_nul, out));
    CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, with_nul, 2, out));
}

int main(void)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "sodium_init failed\n");
        return 1;
    }
    test_rfc4231();
    test_payment_signature();
    test_malformed();
    test_webhook_signature();
    return check_summary();
}
