/*
 * test_razorpay_client - the Razorpay client against the local fake
 * (tests/fakes/razorpay.py), which this test starts on a free port and
 * drives through its control API: the customer paying, injected faults and
 * the log of what the fake received.
 *
 * What matters most here: Basic auth and the error body are read right; a
 * 4xx is never retried; a 5xx, a timeout or a dropped connection is, with the
 * very same body and idempotency header, so that a refund or payout whose
 * answer was lost is made once, not twice.
 *
 * Exits 77 (skipped) when the fake cannot be started (no python3).
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "codec.h"
#include "log.h"
#include "mp.h"
#include "razorpay.h"
#include "razorpay_test.h"
#include "razorpay_sig.h"

#define KEY_ID         "rzp_test_client"
#define KEY_SECRET     "client-test-secret-0123"
#define WEBHOOK_SECRET "client-test-webhook-secret"
#define SKIP           77

static pid_t fake_pid;
static char fake_url[128];
static CURL *ctl_curl;

/* ---- JSON answers, read through the codec ---------------------------------- */

typedef struct {
    buf_t mp;
    msgpack_unpacked u;
    const msgpack_object *root; /* NULL when the text was not JSON */
} doc_t;

static void doc_parse(doc_t *d, const char *text, size_t len)
{
    memset(d, 0, sizeof *d);
    msgpack_unpacked_init(&d->u);
    if (codec_json_to_msgpack(text ? text : "", len, &d->mp, NULL) == 0 &&
        msgpack_unpack_next(&d->u, d->mp.data, d->mp.len, NULL) == MSGPACK_UNPACK_SUCCESS)
        d->root = &d->u.data;
}

static void doc_free(doc_t *d)
{
    msgpack_unpacked_destroy(&d->u);
    buf_free(&d->mp);
}

/* The value at a dotted path ("payment.id", "items.0.status"), or NULL. */
static const msgpack_object *jget(const msgpack_object *o, const char *path)
{
    char part[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(part, sizeof part, "%.*s", (int)n, path);
        path += n + (path[n] == '.');
        if (o->type == MSGPACK_OBJECT_ARRAY) {
            char *end;
            unsigned long i = strtoul(part, &end, 10);
            o = *end == '\0' && i < o->via.array.size ? &o->via.array.ptr[i] : NULL;
        } else {
            o = mp_get(o, part);
        }
    }
    return o;
}

/* The string at path, copied into a static ring of buffers ("" if none), so
 * that a few can be compared in one expression. */
static const char *jstr(const msgpack_object *o, const char *path)
{
    static char ring[8][256];
    static int next;
    char *out = ring[next++ % 8];
    if (mp_copy_str(jget(o, path), out, sizeof ring[0]) < 0)
        out[0] = '\0';
    return out;
}

static int64_t jint(const msgpack_object *o, const char *path)
{
    int64_t v = -1;
    if (mp_get_i64(jget(o, path), &v) < 0)
        return -1;
    return v;
}

static size_t jlen(const msgpack_object *o, const char *path)
{
    const msgpack_object *a = jget(o, path);
    return a && a->type == MSGPACK_OBJECT_ARRAY ? a->via.array.size : 0;
}

/* ---- the fake ---------------------------------------------------------------- */

/* Starts the fake on a free port (it picks one and prints its URL). */
static int fake_start(void)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    fake_pid = fork();
    if (fake_pid < 0)
        return -1;
    if (fake_pid == 0) {
        /* The fake must not outlive a test that crashes or is killed. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(MANDI_PYTHON, MANDI_PYTHON, MANDI_SOURCE_DIR "/tests/fakes/razorpay.py", "--port",
              "0", "--key-id", KEY_ID, "--key-secret", KEY_SECRET, "--webhook-secret",
              WEBHOOK_SECRET, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    struct pollfd p = {.fd = fds[0], .events = POLLIN};
    while (len + 1 < sizeof fake_url && !memchr(fake_url, '\n', len)) {
        if (poll(&p, 1, 20000) <= 0)
            break;
        ssize_t n = read(fds[0], fake_url + len, sizeof fake_url - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fds[0]);
    fake_url[len] = '\0';
    fake_url[strcspn(fake_url, "\r\n")] = '\0';
    return strncmp(fake_url, "http://", 7) == 0 ? 0 : -1;
}

static void fake_stop(void)
{
    if (fake_pid <= 0)
        return;
    kill(fake_pid, SIGTERM);
    int status;
    while (waitpid(fake_pid, &status, 0) < 0 && errno == EINTR)
        ;
    fake_pid = 0;
}

static size_t ctl_on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    buf_append(userdata, data, size * nmemb);
    return size * nmemb;
}

/* A call to the fake's control API; the answer's JSON is parsed into out
 * (doc_free it). Returns the HTTP status, 0 on a transport failure. */
static long ctl(const char *method, const char *path, const char *json, doc_t *out)
{
    buf_t url = BUF_INIT, body = BUF_INIT;
    buf_printf(&url, "%s%s", fake_url, path);
    curl_easy_reset(ctl_curl);
    curl_easy_setopt(ctl_curl, CURLOPT_URL, url.data);
    curl_easy_setopt(ctl_curl, CURLOPT_CUSTOMREQUEST, method);
    if (json)
        curl_easy_setopt(ctl_curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(ctl_curl, CURLOPT_WRITEFUNCTION, ctl_on_body);
    curl_easy_setopt(ctl_curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(ctl_curl, CURLOPT_TIMEOUT_MS, 20000L);
    long status = 0;
    if (curl_easy_perform(ctl_curl) == CURLE_OK)
        curl_easy_getinfo(ctl_curl, CURLINFO_RESPONSE_CODE, &status);
    doc_parse(out, body.data, body.len);
    buf_free(&url);
    buf_free(&body);
    return status;
}

/* Control calls whose answer is not needed. */
static long ctl_do(const char *method, const char *path, const char *json)
{
    doc_t d;
    long status = ctl(method, path, json, &d);
    doc_free(&d);
    return status;
}

static void fault(const char *path, const char *kind, int count, const char *phase, double seconds)
{
    char json[256];
    snprintf(json, sizeof json,
             "{\"path\":\"%s\",\"kind\":\"%s\",\"count\":%d,\"phase\":\"%s\",\"seconds\":%.1f}",
             path, kind, count, phase, seconds);
    CHECK_INT(ctl_do("POST", "/__fake/faults", json), 200);
}

/* The requests the fake received for method and path (doc_free it). */
static void received(const char *method, const char *path, doc_t *out)
{
    char q[256];
    snprintf(q, sizeof q, "/__fake/requests?method=%s&path=%s", method, path);
    CHECK_INT(ctl("GET", q, NULL, out), 200);
}

static size_t received_count(const char *method, const char *path)
{
    doc_t d;
    received(method, path, &d);
    size_t n = (size_t)jint(d.root, "count");
    doc_free(&d);
    return n;
}

/* ---- clients --------------------------------------------------------------- */

static razorpay_config_t test_config(const char *secret)
{
    razorpay_config_t cfg = {
        .api_base = fake_url,
        .key_id = KEY_ID,
        .key_secret = secret,
        .connect_timeout_ms = 2000,
        .timeout_ms = 4000,
        .retries = 3,
        .retry_base_ms = 20,
    };
    return cfg;
}

static razorpay_t *client(const char *secret, long timeout_ms)
{
    razorpay_config_t cfg = test_config(secret);
    if (timeout_ms)
        cfg.timeout_ms = timeout_ms;
    char why[256] = "";
    razorpay_t *c = razorpay_new(&cfg, why, sizeof why);
    if (!c)
        fprintf(stderr, "razorpay_new: %s\n", why);
    return c;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new order of amount paise, its id copied into order_id. */
static void new_order(razorpay_t *rzp, int64_t amount, char order_id[64])
{
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_order_create(rzp, amount, "rcpt-test", NULL, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    snprintf(order_id, 64, "%s", jstr(d.root, "id"));
    doc_free(&d);
    razorpay_result_free(&res);
}

/* The customer pays order_id (outcome captured or authorized); the payment
 * id is copied into payment_id. */
static void customer_pays(const char *order_id, const char *outcome, int failures_first,
                          char payment_id[64])
{
    char path[128], json[128];
    snprintf(path, sizeof path, "/__fake/orders/%s/pay", order_id);
    snprintf(json, sizeof json, "{\"outcome\":\"%s\",\"failures_first\":%d}", outcome,
             failures_first);
    doc_t d;
    CHECK_INT(ctl("POST", path, json, &d), 200);
    snprintf(payment_id, 64, "%s", jstr(d.root, "payment.id"));
    CHECK_INT(jlen(d.root, "payments"), failures_first + 1);
    CHECK_STR(jstr(d.root, "payments.0.status"), failures_first ? "failed" : outcome);
    /* The checkout's signature is what razorpay_sig verifies. */
    CHECK(razorpay_payment_signature_ok(KEY_SECRET, jstr(d.root, "checkout.razorpay_order_id"),
                                        jstr(d.root, "checkout.razorpay_payment_id"),
                                        jstr(d.root, "checkout.razorpay_signature")));
    CHECK(!razorpay_payment_signature_ok("another-secret", order_id, payment_id,
                                         jstr(d.root, "checkout.razorpay_signature")));
    doc_free(&d);
}

/* A new order of amount paise that the customer paid (see customer_pays). */
static void paid_order(razorpay_t *rzp, int64_t amount, const char *outcome, int failures_first,
                       char order_id[64], char payment_id[64])
{
    new_order(rzp, amount, order_id);
    customer_pays(order_id, outcome, failures_first, payment_id);
}

static int64_t amount_refunded(razorpay_t *rzp, const char *payment_id)
{
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payment_fetch(rzp, payment_id, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    int64_t v = jint(d.root, "amount_refunded");
    doc_free(&d);
    razorpay_result_free(&res);
    return v;
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_config_and_new(void)
{
    setenv("RAZORPAY_API_BASE", "http://127.0.0.1:9/", 1);
    unsetenv("RAZORPAY_RETRIES");
    unsetenv("RAZORPAY_TIMEOUT_MS");
    setenv("RAZORPAY_RETRY_BASE_MS", "5", 1);
    razorpay_config_t cfg;
    razorpay_config_load(&cfg);
    CHECK_STR(cfg.api_base, "http://127.0.0.1:9/");
    CHECK_INT(cfg.retries, 2);
    CHECK_INT(cfg.timeout_ms, 6000);
    CHECK_INT(cfg.connect_timeout_ms, 3000);
    CHECK_INT(cfg.retry_base_ms, 5);
    unsetenv("RAZORPAY_API_BASE");
    unsetenv("RAZORPAY_RETRY_BASE_MS");
    razorpay_config_load(&cfg);
    CHECK_STR(cfg.api_base, "https://api.razorpay.com");

    char why[256];
    razorpay_t *rzp = razorpay_new(&cfg, why, sizeof why);
    CHECK(rzp != NULL);
    razorpay_destroy(&rzp);
    CHECK(rzp == NULL);
    razorpay_destroy(&rzp); /* twice is fine */
    razorpay_destroy(NULL);

    const struct {
        razorpay_config_t cfg;
        const char *why;
    } bad[] = {
        {{"ftp://x", "k", "s", 1, 1, 0, 0}, "RAZORPAY_API_BASE"},
        {{"http://x", NULL, "s", 1, 1, 0, 0}, "RAZORPAY_KEY_ID"},
        {{"http://x", "k:1", "s", 1, 1, 0, 0}, "RAZORPAY_KEY_ID"},
        {{"http://x", "k", "", 1, 1, 0, 0}, "RAZORPAY_KEY_SECRET"},
        {{"http://x", "k", "s", 0, 1, 0, 0}, "TIMEOUT"},
        {{"http://x", "k", "s", 1, 1, 11, 0}, "RAZORPAY_RETRIES"},
        {{"http://x", "k", "s", 1, 1, 0, -1}, "RAZORPAY_RETRY_BASE_MS"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        CHECK(razorpay_new(&bad[i].cfg, why, sizeof why) == NULL);
        CHECK(strstr(why, bad[i].why) != NULL);
    }
    CHECK(razorpay_new(NULL, NULL, 0) == NULL);
}

static void test_order_and_auth(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_order_create(rzp, 49900, "rcpt-order-1", "{\"cart\":\"c-1\",\"n\":2}", &res),
              0);
    CHECK_INT(res.status, 200);
    CHECK_INT(res.attempts, 1);
    CHECK_STR(res.why, "");
    CHECK(!razorpay_result_retryable(&res));
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    const char *id = jstr(d.root, "id");
    CHECK(strncmp(id, "order_", 6) == 0 && strlen(id) == 20);
    CHECK_STR(jstr(d.root, "entity"), "order");
    CHECK_INT(jint(d.root, "amount"), 49900);
    CHECK_INT(jint(d.root, "amount_due"), 49900);
    CHECK_STR(jstr(d.root, "currency"), "INR");
    CHECK_STR(jstr(d.root, "receipt"), "rcpt-order-1");
    CHECK_STR(jstr(d.root, "status"), "created");
    CHECK_STR(jstr(d.root, "notes.cart"), "c-1");
    doc_free(&d);

    /* What went over the wire: Basic auth with the key id, a JSON body. */
    received("POST", "/v1/orders", &d);
    CHECK_INT(jint(d.root, "count"), 1);
    CHECK_STR(jstr(d.root, "items.0.auth_user"), KEY_ID);
    CHECK(strncmp(jstr(d.root, "items.0.headers.Content-Type"), "application/json", 16) == 0);
    doc_t sent;
    const char *body = jstr(d.root, "items.0.body");
    doc_parse(&sent, body, strlen(body));
    CHECK_INT(jint(sent.root, "amount"), 49900);
    CHECK_STR(jstr(sent.root, "currency"), "INR");
    CHECK_STR(jstr(sent.root, "receipt"), "rcpt-order-1");
    CHECK_INT(jint(sent.root, "notes.n"), 2);
    doc_free(&sent);
    doc_free(&d);

    /* A wrong secret: 401 with Razorpay's error body, not retried. */
    razorpay_t *wrong = client("not-the-secret", 0);
    CHECK_INT(razorpay_order_create(wrong, 49900, NULL, NULL, &res), -1);
    CHECK_INT(res.status, 401);
    CHECK_INT(res.attempts, 1);
    CHECK_STR(res.error_code, "BAD_REQUEST_ERROR");
    CHECK_STR(res.error_description, "Authentication failed");
    CHECK_STR(res.error_source, "NA");
    CHECK(strstr(res.why, "HTTP 401 BAD_REQUEST_ERROR: Authentication failed") != NULL);
    CHECK(strstr(res.why, "not-the-secret") == NULL);
    CHECK(!razorpay_result_retryable(&res));
    razorpay_destroy(&wrong);
    CHECK_INT(received_count("POST", "/v1/orders"), 2);

    /* A validation error: 400 naming the field, sent once. */
    CHECK_INT(razorpay_order_create(rzp, 50, NULL, NULL, &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_INT(res.attempts, 1);
    CHECK_STR(res.error_field, "amount");
    CHECK_STR(res.error_reason, "input_validation_failed");
    CHECK(strstr(res.error_description, "atleast") != NULL);
    CHECK_INT(received_count("POST", "/v1/orders"), 3);

    /* Bad arguments are refused before anything is sent. */
    CHECK_INT(razorpay_order_create(rzp, 0, NULL, NULL, &res), -1);
    CHECK_INT(res.status, 0);
    CHECK_INT(res.attempts, 0);
    CHECK(res.why[0] != '\0');
    CHECK(!razorpay_result_retryable(&res)); /* the same arguments will not do better */
    CHECK_INT(razorpay_order_create(rzp, 100, NULL, "[1]", &res), -1);
    CHECK_INT(razorpay_order_create(rzp, 100, NULL, "{\"a\":", &res), -1);
    CHECK_INT(razorpay_order_create(rzp, 100, NULL, "{} {}", &res), -1);
    CHECK_INT(
        razorpay_order_create(rzp, 100, "0123456789012345678901234567890123456789x", NULL, &res),
        -1);
    CHECK_INT(razorpay_order_create(rzp, 100, "", NULL, &res), -1);
    CHECK_INT(razorpay_payment_fetch(rzp, "pay_x/../../v1/orders", &res), -1);
    CHECK_INT(razorpay_payment_fetch(rzp, "", &res), -1);
    CHECK_INT(razorpay_payment_fetch(rzp, NULL, &res), -1);
    CHECK_INT(razorpay_payment_capture(rzp, "pay_x", 0, &res), -1);
    CHECK_INT(razorpay_payments_list(rzp, 10, 5, 0, 0, &res), -1);
    CHECK_INT(razorpay_payments_list(rzp, 0, 0, 101, 0, &res), -1);
    CHECK_INT(received_count("POST", "/v1/orders"), 3);
    CHECK_INT(received_count("GET", "/v1/payments*"), 0);

    /* An id Razorpay does not know: its 400, not retried. */
    CHECK_INT(razorpay_payment_fetch(rzp, "pay_00000000000000", &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_INT(res.attempts, 1);
    CHECK_STR(res.error_description, "The id provided does not exist");

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

static void test_pay_fetch_capture(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char order_id[64], payment_id[64];
    /* A UPI payment that failed once, then was authorized. */
    paid_order(rzp, 120000, "authorized", 1, order_id, payment_id);

    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payment_fetch(rzp, payment_id, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "entity"), "payment");
    CHECK_STR(jstr(d.root, "status"), "authorized");
    CHECK_STR(jstr(d.root, "order_id"), order_id);
    CHECK_INT(jint(d.root, "amount"), 120000);
    doc_free(&d);

    /* Capture asks for exactly the authorized amount. */
    CHECK_INT(razorpay_payment_capture(rzp, payment_id, 100000, &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "amount");
    CHECK_INT(razorpay_payment_capture(rzp, payment_id, 120000, &res), 0);
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "status"), "captured");
    CHECK(jget(d.root, "captured") && jget(d.root, "captured")->type == MSGPACK_OBJECT_BOOLEAN &&
          jget(d.root, "captured")->via.boolean);
    doc_free(&d);
    /* A second capture is refused, never doubled, and not retried. */
    CHECK_INT(razorpay_payment_capture(rzp, payment_id, 120000, &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_INT(res.attempts, 1);
    CHECK(strstr(res.error_description, "already been captured") != NULL);

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

static void test_refund_idempotency(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char order_id[64], payment_id[64];
    paid_order(rzp, 80000, "captured", 0, order_id, payment_id);

    razorpay_result_t a = RAZORPAY_RESULT_INIT, b = RAZORPAY_RESULT_INIT;
    const char *key = "rfnd-test-0000000001";
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 10000, "{\"reason\":\"damaged\"}", key, &a),
              0);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 10000, "{\"reason\":\"damaged\"}", key, &b),
              0);
    doc_t da, db;
    doc_parse(&da, a.body.data, a.body.len);
    doc_parse(&db, b.body.data, b.body.len);
    CHECK(strncmp(jstr(da.root, "id"), "rfnd_", 5) == 0);
    CHECK_STR(jstr(da.root, "entity"), "refund");
    CHECK_STR(jstr(da.root, "payment_id"), payment_id);
    CHECK_INT(jint(da.root, "amount"), 10000);
    CHECK_STR(jstr(da.root, "status"), "pending");
    CHECK_STR(jstr(db.root, "id"), jstr(da.root, "id")); /* the same refund, not a second */
    doc_free(&da);
    doc_free(&db);
    CHECK_INT(amount_refunded(rzp, payment_id), 10000);

    /* The header went out on both. */
    char path[128];
    snprintf(path, sizeof path, "/v1/payments/%s/refund", payment_id);
    doc_t log;
    received("POST", path, &log);
    CHECK_INT(jint(log.root, "count"), 2);
    CHECK_STR(jstr(log.root, "items.0.headers.X-Refund-Idempotency"), key);
    CHECK_STR(jstr(log.root, "items.1.idempotency_key"), key);
    doc_free(&log);

    /* The same key for another body is Razorpay's 400. */
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 20000, NULL, key, &a), -1);
    CHECK_INT(a.status, 400);
    CHECK_STR(a.error_field, "X-Refund-Idempotency");
    /* More than is left: 400 on the amount, not retried. */
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 90000, NULL, "rfnd-test-0000000002", &a),
              -1);
    CHECK_INT(a.status, 400);
    CHECK_INT(a.attempts, 1);
    CHECK_STR(a.error_field, "amount");
    /* Keys Razorpay would refuse, refused here without a request. */
    size_t before = received_count("POST", path);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 100, NULL, "short", &a), -1);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 100, NULL, NULL, &a), -1);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 100, NULL, "key-with\r\nX-Evil: 1", &a), -1);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, -1, NULL, "rfnd-test-0000000003", &a), -1);
    CHECK_INT(a.status, 0);
    CHECK_INT(received_count("POST", path), before);

    /* amount 0 refunds what is left. */
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 0, NULL, "rfnd-test-0000000004", &a), 0);
    doc_parse(&da, a.body.data, a.body.len);
    CHECK_INT(jint(da.root, "amount"), 70000);
    doc_free(&da);
    CHECK_INT(amount_refunded(rzp, payment_id), 80000);

    razorpay_result_free(&a);
    razorpay_result_free(&b);
    razorpay_destroy(&rzp);
}

/* Two 500s, then success: three requests with the same key and body, one
 * refund. Then a 500 that comes *after* the refund was made (the answer is
 * lost): the retry finds the refund by its key instead of making another. */
static void test_retry_on_5xx(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char order_id[64], payment_id[64], path[128];
    paid_order(rzp, 60000, "captured", 0, order_id, payment_id);
    snprintf(path, sizeof path, "/v1/payments/%s/refund", payment_id);

    fault(path, "error", 2, "before", 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    const char *key = "rfnd-retry-000000001";
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 15000, NULL, key, &res), 0);
    CHECK_INT(res.status, 200);
    CHECK_INT(res.attempts, 3);
    CHECK_INT(amount_refunded(rzp, payment_id), 15000);
    doc_t log;
    received("POST", path, &log);
    CHECK_INT(jint(log.root, "count"), 3);
    for (int i = 0; i < 3; i++) {
        char p[64];
        snprintf(p, sizeof p, "items.%d.idempotency_key", i);
        CHECK_STR(jstr(log.root, p), key);
        snprintf(p, sizeof p, "items.%d.body", i);
        CHECK_STR(jstr(log.root, p), jstr(log.root, "items.0.body"));
    }
    CHECK_INT(jint(log.root, "items.0.status"), 500);
    CHECK_INT(jint(log.root, "items.2.status"), 200);
    doc_free(&log);

    fault(path, "error", 1, "after", 0);
    CHECK_INT(razorpay_payment_refund(rzp, payment_id, 5000, NULL, "rfnd-retry-000000002", &res),
              0);
    CHECK_INT(res.attempts, 2);
    CHECK_INT(amount_refunded(rzp, payment_id), 20000); /* once, not twice */

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* Retries run out: the last answer, its error body, and the count. */
static void test_retries_exhausted(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    size_t before = received_count("POST", "/v1/orders");
    fault("/v1/orders", "error", 10, "before", 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    int64_t t0 = now_ms();
    CHECK_INT(razorpay_order_create(rzp, 10000, NULL, NULL, &res), -1);
    int64_t took = now_ms() - t0;
    CHECK_INT(res.status, 500);
    CHECK_INT(res.attempts, 4);
    CHECK_STR(res.error_code, "SERVER_ERROR");
    CHECK(strstr(res.why, "(4 attempts)") != NULL);
    CHECK(razorpay_result_retryable(&res));
    CHECK_INT(received_count("POST", "/v1/orders"), before + 4);
    /* Back-offs of at least 10, 20 and 40 ms (base 20, halved by jitter). */
    CHECK(took >= 70);
    CHECK_INT(ctl_do("DELETE", "/__fake/faults", NULL), 200);

    /* A 429 is a 4xx: not retried here, but worth trying again later. */
    CHECK_INT(ctl_do("POST", "/__fake/faults",
                     "{\"path\":\"/v1/orders\",\"kind\":\"error\",\"status\":429}"),
              200);
    CHECK_INT(razorpay_order_create(rzp, 10000, NULL, NULL, &res), -1);
    CHECK_INT(res.status, 429);
    CHECK_INT(res.attempts, 1);
    CHECK(razorpay_result_retryable(&res));
    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* A contact and a fund account for it (a UPI address when vpa is given,
 * else a bank account), as RazorpayX needs before a payout; the fund
 * account's id goes into fa. */
static void fund_account(razorpay_t *rzp, const char *vpa, char fa[64])
{
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    const razorpay_contact_t contact = {
        .name = "Asha Rao", .type = "customer", .reference_id = "user-fund-account"};
    fa[0] = '\0';
    CHECK_INT(razorpay_contact_create(rzp, &contact, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    char contact_id[64];
    snprintf(contact_id, sizeof contact_id, "%s", jstr(d.root, "id"));
    doc_free(&d);
    razorpay_fund_account_t account = {.contact_id = contact_id};
    if (vpa) {
        account.account_type = "vpa";
        account.vpa = vpa;
    } else {
        account.account_type = "bank_account";
        account.name = "Asha Rao";
        account.ifsc = "HDFC0001234";
        account.account_number = "123456781234";
    }
    CHECK_INT(razorpay_fund_account_create(rzp, &account, &res), 0);
    doc_parse(&d, res.body.data, res.body.len);
    snprintf(fa, 64, "%s", jstr(d.root, "id"));
    doc_free(&d);
    CHECK(strncmp(fa, "fa_", 3) == 0);
    razorpay_result_free(&res);
}

/* An answer that never comes: the attempt times out and is retried. A
 * payout whose answer is lost that way is found again by its key. */
static void test_timeout_retry(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 700);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;

    fault("/v1/orders", "hang", 1, "before", 5);
    size_t before = received_count("POST", "/v1/orders");
    int64_t t0 = now_ms();
    CHECK_INT(razorpay_order_create(rzp, 10000, "rcpt-timeout", NULL, &res), 0);
    CHECK(now_ms() - t0 >= 700);
    CHECK_INT(res.attempts, 2);
    CHECK_INT(received_count("POST", "/v1/orders"), before + 2);

    char fa[64];
    fund_account(rzp, NULL, fa);
    const razorpay_payout_t payout = {
        .account_number = "7878780080316316",
        .fund_account_id = fa,
        .amount_paise = 250000,
        .mode = "IMPS",
        .purpose = "payout",
        .queue_if_low_balance = 1,
        .reference_id = "settlement-42",
        .narration = "Mandi settlement",
        .notes_json = "{\"store\":\"s-1\"}",
    };
    const char *key = "pout-timeout-0001";
    fault("/v1/payouts", "hang", 1, "after", 5);
    CHECK_INT(razorpay_payout_create(rzp, &payout, key, &res), 0);
    CHECK_INT(res.attempts, 2);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    char payout_id[64];
    snprintf(payout_id, sizeof payout_id, "%s", jstr(d.root, "id"));
    doc_free(&d);
    CHECK(strncmp(payout_id, "pout_", 5) == 0);

    doc_t state;
    CHECK_INT(ctl("GET", "/__fake/state", NULL, &state), 200);
    CHECK_INT(jint(state.root, "counts.payouts"), 1);
    CHECK_STR(jstr(state.root, "payouts.0.id"), payout_id);
    doc_free(&state);
    doc_t log;
    received("POST", "/v1/payouts", &log);
    CHECK_INT(jint(log.root, "count"), 2);
    CHECK_STR(jstr(log.root, "items.0.headers.X-Payout-Idempotency"), key);
    CHECK_STR(jstr(log.root, "items.1.headers.X-Payout-Idempotency"), key);
    CHECK_STR(jstr(log.root, "items.1.body"), jstr(log.root, "items.0.body"));
    CHECK_STR(jstr(log.root, "items.0.fault"), "hang:after");
    doc_free(&log);

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* The connection closes with no answer: retried like a timeout. */
static void test_closed_connection(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char order_id[64], payment_id[64], path[128];
    paid_order(rzp, 30000, "captured", 0, order_id, payment_id);
    snprintf(path, sizeof path, "/v1/payments/%s", payment_id);
    /* The connection was kept alive by paid_order: when it dies unanswered,
     * libcurl itself sends the request once more on a fresh connection
     * (within one attempt). When that one dies too, the client retries. */
    fault(path, "close", 2, "before", 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payment_fetch(rzp, payment_id, &res), 0);
    CHECK_INT(res.status, 200);
    CHECK_INT(res.attempts, 2);
    CHECK_INT(received_count("GET", path), 3);
    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* No server at all: every attempt fails to connect, status 0. */
static void test_connection_refused(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    char base[64] = "http://127.0.0.1:1";
    if (s >= 0 && bind(s, (struct sockaddr *)&addr, sizeof addr) == 0 &&
        getsockname(s, (struct sockaddr *)&addr, &len) == 0)
        snprintf(base, sizeof base, "http://127.0.0.1:%d", ntohs(addr.sin_port));
    if (s >= 0)
        close(s); /* bound, never listening: connections are refused */
    razorpay_config_t cfg = test_config(KEY_SECRET);
    cfg.api_base = base;
    cfg.retries = 2;
    razorpay_t *rzp = razorpay_new(&cfg, NULL, 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payment_fetch(rzp, "pay_00000000000001", &res), -1);
    CHECK_INT(res.status, 0);
    CHECK_INT(res.attempts, 3);
    CHECK(razorpay_result_retryable(&res));
    CHECK(strstr(res.why, "GET /v1/payments/pay_00000000000001") != NULL);
    CHECK_INT(res.body.len, 0);
    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* Contacts and fund accounts: the bodies RazorpayX documents, the same
 * details answered with the same entity (so a retry makes none twice),
 * Razorpay's refusals read, and arguments refused before sending. */
static void test_contact_and_fund_account(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    const razorpay_contact_t contact = {.name = "Meera Iyer",
                                        .type = "customer",
                                        .reference_id = "5b0c6a2e-6f1d-4a57-9d43-0e6f1c2b3a4d",
                                        .notes_json = "{\"source\":\"mandi\"}"};
    CHECK_INT(razorpay_contact_create(rzp, &contact, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    char contact_id[64];
    snprintf(contact_id, sizeof contact_id, "%s", jstr(d.root, "id"));
    CHECK(strncmp(contact_id, "cont_", 5) == 0);
    CHECK_STR(jstr(d.root, "entity"), "contact");
    CHECK_STR(jstr(d.root, "type"), "customer");
    CHECK_STR(jstr(d.root, "reference_id"), contact.reference_id);
    doc_free(&d);
    doc_t log;
    received("POST", "/v1/contacts", &log);
    size_t n = (size_t)jint(log.root, "count");
    char p[64];
    snprintf(p, sizeof p, "items.%zu.body", n - 1);
    CHECK_STR(jstr(log.root, p), "{\"name\":\"Meera Iyer\",\"type\":\"customer\","
                                 "\"reference_id\":\"5b0c6a2e-6f1d-4a57-9d43-0e6f1c2b3a4d\","
                                 "\"notes\":{\"source\":\"mandi\"}}");
    snprintf(p, sizeof p, "items.%zu.auth_user", n - 1);
    CHECK_STR(jstr(log.root, p), KEY_ID);
    doc_free(&log);
    /* The same details again: the same contact. */
    CHECK_INT(razorpay_contact_create(rzp, &contact, &res), 0);
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "id"), contact_id);
    doc_free(&d);

    razorpay_fund_account_t bank = {.contact_id = contact_id,
                                    .account_type = "bank_account",
                                    .name = "Meera Iyer",
                                    .ifsc = "SBIN0005943",
                                    .account_number = "00112233445566"};
    CHECK_INT(razorpay_fund_account_create(rzp, &bank, &res), 0);
    doc_parse(&d, res.body.data, res.body.len);
    char fa_bank[64];
    snprintf(fa_bank, sizeof fa_bank, "%s", jstr(d.root, "id"));
    CHECK(strncmp(fa_bank, "fa_", 3) == 0);
    CHECK_STR(jstr(d.root, "entity"), "fund_account");
    CHECK_STR(jstr(d.root, "contact_id"), contact_id);
    CHECK_STR(jstr(d.root, "bank_account.account_number"), "00112233445566");
    CHECK_STR(jstr(d.root, "bank_account.bank_name"), "State Bank of India");
    doc_free(&d);
    received("POST", "/v1/fund_accounts", &log);
    n = (size_t)jint(log.root, "count");
    snprintf(p, sizeof p, "items.%zu.body", n - 1);
    char expect[256];
    snprintf(expect, sizeof expect,
             "{\"contact_id\":\"%s\",\"account_type\":\"bank_account\",\"bank_account\":"
             "{\"name\":\"Meera Iyer\",\"ifsc\":\"SBIN0005943\",\"account_number\":"
             "\"00112233445566\"}}",
             contact_id);
    CHECK_STR(jstr(log.root, p), expect);
    doc_free(&log);

    const razorpay_fund_account_t vpa = {
        .contact_id = contact_id, .account_type = "vpa", .vpa = "meera.iyer@okicici"};
    CHECK_INT(razorpay_fund_account_create(rzp, &vpa, &res), 0);
    doc_parse(&d, res.body.data, res.body.len);
    char fa_vpa[64];
    snprintf(fa_vpa, sizeof fa_vpa, "%s", jstr(d.root, "id"));
    CHECK(strcmp(fa_vpa, fa_bank) != 0);
    CHECK_STR(jstr(d.root, "vpa.address"), "meera.iyer@okicici");
    CHECK_STR(jstr(d.root, "vpa.handle"), "okicici");
    doc_free(&d);
    /* Retried after a 500: the same bytes, and one fund account. */
    doc_t state;
    CHECK_INT(ctl("GET", "/__fake/state", NULL, &state), 200);
    int64_t accounts = jint(state.root, "counts.fund_accounts");
    doc_free(&state);
    fault("/v1/fund_accounts", "error", 1, "after", 0);
    CHECK_INT(razorpay_fund_account_create(rzp, &vpa, &res), 0);
    CHECK_INT(res.attempts, 2);
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "id"), fa_vpa);
    doc_free(&d);
    CHECK_INT(ctl("GET", "/__fake/state", NULL, &state), 200);
    CHECK_INT(jint(state.root, "counts.fund_accounts"), accounts);
    doc_free(&state);

    /* Razorpay's refusals: a contact it does not know, an IFSC of the wrong
     * shape past our own check, a name of characters it does not take. */
    bank.contact_id = "cont_00000000000009";
    CHECK_INT(razorpay_fund_account_create(rzp, &bank, &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "contact_id");
    CHECK_STR(res.error_code, "BAD_REQUEST_ERROR");
    bank.contact_id = contact_id;
    bank.ifsc = "SBIN1005943";
    CHECK_INT(razorpay_fund_account_create(rzp, &bank, &res), -1);
    CHECK_STR(res.error_field, "ifsc");
    CHECK(!razorpay_result_retryable(&res));
    razorpay_contact_t odd = contact;
    odd.name = "Meera \"M\" Iyer";
    CHECK_INT(razorpay_contact_create(rzp, &odd, &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "name");

    /* Refused before sending: nothing reaches the fake. */
    size_t contacts = received_count("POST", "/v1/contacts");
    size_t funds = received_count("POST", "/v1/fund_accounts");
    odd = contact;
    odd.name = "Al";
    CHECK_INT(razorpay_contact_create(rzp, &odd, &res), -1);
    odd = contact;
    odd.type = "friend";
    CHECK_INT(razorpay_contact_create(rzp, &odd, &res), -1);
    odd = contact;
    odd.reference_id = "01234567890123456789012345678901234567890";
    CHECK_INT(razorpay_contact_create(rzp, &odd, &res), -1);
    odd = contact;
    odd.notes_json = "[1]";
    CHECK_INT(razorpay_contact_create(rzp, &odd, &res), -1);
    CHECK_INT(razorpay_contact_create(rzp, NULL, &res), -1);
    CHECK_INT(res.status, 0);
    CHECK_INT(res.attempts, 0);
    razorpay_fund_account_t bad = bank;
    bad.ifsc = "SBIN0005943";
    bad.contact_id = "cont_../x";
    CHECK_INT(razorpay_fund_account_create(rzp, &bad, &res), -1);
    bad = bank;
    bad.account_type = "card";
    CHECK_INT(razorpay_fund_account_create(rzp, &bad, &res), -1);
    bad = bank;
    bad.account_number = "12-34-56";
    CHECK_INT(razorpay_fund_account_create(rzp, &bad, &res), -1);
    bad = bank;
    bad.ifsc = "SBIN\"05943";
    CHECK_INT(razorpay_fund_account_create(rzp, &bad, &res), -1);
    razorpay_fund_account_t no_at = vpa;
    no_at.vpa = "meera.iyer";
    CHECK_INT(razorpay_fund_account_create(rzp, &no_at, &res), -1);
    CHECK_INT(razorpay_fund_account_create(rzp, NULL, &res), -1);
    CHECK_INT(res.status, 0);
    CHECK(strstr(res.why, "razorpay fund account") != NULL);
    CHECK_INT(received_count("POST", "/v1/contacts"), contacts);
    CHECK_INT(received_count("POST", "/v1/fund_accounts"), funds);

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

static void test_payout(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char fa[64];
    fund_account(rzp, "asha.rao@okaxis", fa);
    razorpay_payout_t payout = {
        .account_number = "7878780080316316",
        .fund_account_id = fa,
        .amount_paise = 100000,
        .mode = "UPI",
        .purpose = "refund",
    };
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payout_create(rzp, &payout, "pout key 0002", &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "entity"), "payout");
    CHECK_STR(jstr(d.root, "status"), "processing");
    CHECK_STR(jstr(d.root, "fund_account_id"), fa);
    CHECK_INT(jint(d.root, "amount"), 100000);
    doc_free(&d);

    doc_t log;
    received("POST", "/v1/payouts", &log);
    size_t n = (size_t)jint(log.root, "count");
    char p[64];
    snprintf(p, sizeof p, "items.%zu.headers.X-Payout-Idempotency", n - 1);
    CHECK_STR(jstr(log.root, p), "pout key 0002");
    snprintf(p, sizeof p, "items.%zu.body", n - 1);
    doc_t sent;
    const char *body = jstr(log.root, p);
    doc_parse(&sent, body, strlen(body));
    CHECK_STR(jstr(sent.root, "account_number"), "7878780080316316");
    CHECK_STR(jstr(sent.root, "currency"), "INR");
    CHECK_STR(jstr(sent.root, "mode"), "UPI");
    CHECK(jget(sent.root, "queue_if_low_balance") &&
          jget(sent.root, "queue_if_low_balance")->type == MSGPACK_OBJECT_BOOLEAN);
    CHECK(jget(sent.root, "reference_id") == NULL); /* optional members left out */
    doc_free(&sent);
    doc_free(&log);

    /* No key, or one Razorpay would refuse: nothing is sent. */
    size_t before = received_count("POST", "/v1/payouts");
    CHECK_INT(razorpay_payout_create(rzp, &payout, NULL, &res), -1);
    CHECK_INT(razorpay_payout_create(rzp, &payout, "abc", &res), -1);
    CHECK_INT(razorpay_payout_create(rzp, &payout, "0123456789012345678901234567890123456", &res),
              -1);
    payout.fund_account_id = NULL;
    CHECK_INT(razorpay_payout_create(rzp, &payout, "pout-key-0003", &res), -1);
    CHECK_INT(razorpay_payout_create(rzp, NULL, "pout-key-0003", &res), -1);
    CHECK_INT(res.status, 0);
    CHECK_INT(received_count("POST", "/v1/payouts"), before);

    /* Razorpay's own validation: a mode it does not know, one that does
     * not suit a UPI address, a fund account it does not have. */
    payout.fund_account_id = fa;
    payout.mode = "PIGEON";
    CHECK_INT(razorpay_payout_create(rzp, &payout, "pout-key-0004", &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "mode");
    payout.mode = "IMPS";
    CHECK_INT(razorpay_payout_create(rzp, &payout, "pout-key-0005", &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "mode");
    payout.mode = "UPI";
    payout.fund_account_id = "fa_00000000000009";
    CHECK_INT(razorpay_payout_create(rzp, &payout, "pout-key-0006", &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_field, "fund_account_id");
    CHECK(!razorpay_result_retryable(&res));

    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* The list call's query, and one connection kept alive across calls. */
static void test_list_and_keepalive(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_payments_list(rzp, 1, 4102444800, 2, 1, &res), 0);
    doc_t d;
    doc_parse(&d, res.body.data, res.body.len);
    CHECK_STR(jstr(d.root, "entity"), "collection");
    CHECK_INT(jint(d.root, "count"), 2);
    CHECK_STR(jstr(d.root, "items.0.entity"), "payment");
    doc_free(&d);
    CHECK_INT(razorpay_payments_list(rzp, 0, 0, 0, 0, &res), 0);
    CHECK_INT(razorpay_payments_list(rzp, 0, 0, 0, 0, &res), 0);

    doc_t log;
    received("GET", "/v1/payments", &log);
    size_t n = (size_t)jint(log.root, "count");
    CHECK(n >= 3);
    if (n >= 3) {
        char p[3][64];
        for (size_t i = 0; i < 3; i++)
            snprintf(p[i], sizeof p[i], "items.%zu.query", n - 3 + i);
        CHECK_STR(jstr(log.root, p[0]), "from=1&to=4102444800&count=2&skip=1");
        CHECK_STR(jstr(log.root, p[1]), "");
        for (size_t i = 0; i < 3; i++)
            snprintf(p[i], sizeof p[i], "items.%zu.client_port", n - 3 + i);
        CHECK_INT(jint(log.root, p[0]), jint(log.root, p[1]));
        CHECK_INT(jint(log.root, p[1]), jint(log.root, p[2]));
    }
    doc_free(&log);
    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

/* The fake's webhooks carry the signature razorpay_sig checks. */
static void test_webhook_signature_from_fake(void)
{
    razorpay_t *rzp = client(KEY_SECRET, 0);
    char order_id[64], payment_id[64], json[160];
    paid_order(rzp, 20000, "captured", 0, order_id, payment_id);
    snprintf(json, sizeof json,
             "{\"event\":\"payment.captured\",\"entity_id\":\"%s\",\"deliver\":false}", payment_id);
    doc_t d;
    CHECK_INT(ctl("POST", "/__fake/webhooks", json, &d), 200);
    const msgpack_object *body = jget(d.root, "body");
    const char *sig = jstr(d.root, "signature");
    CHECK(body && body->type == MSGPACK_OBJECT_STR);
    if (body && body->type == MSGPACK_OBJECT_STR) {
        CHECK(razorpay_webhook_signature_ok(WEBHOOK_SECRET, body->via.str.ptr, body->via.str.size,
                                            sig));
        CHECK(
            !razorpay_webhook_signature_ok(KEY_SECRET, body->via.str.ptr, body->via.str.size, sig));
        CHECK(!razorpay_webhook_signature_ok(WEBHOOK_SECRET, body->via.str.ptr,
                                             body->via.str.size - 1, sig));
    }
    doc_free(&d);
    razorpay_destroy(&rzp);
}

/* With no key id the client is the test gateway: Razorpay's entities made
 * in process, ids that carry what later calls need, the same refund and
 * payout for the same key, and Razorpay's error body for what it does not
 * serve. Nothing is sent: the API base is never reached. */
static void test_test_gateway(void)
{
    razorpay_config_t cfg = {"http://127.0.0.1:1", "", "s", 1000, 1000, 0, 0};
    char why[256];
    razorpay_t *rzp = razorpay_new(&cfg, why, sizeof why);
    CHECK(rzp != NULL);
    CHECK(razorpay_is_test(rzp));
    razorpay_result_t res = RAZORPAY_RESULT_INIT;
    CHECK_INT(razorpay_order_create(rzp, 12345, "rcpt-1", NULL, &res), 0);
    CHECK_INT(res.status, 200);
    char order[64] = "", pay[80] = "";
    const char *id = strstr(res.body.data, "\"id\": \"");
    CHECK(id != NULL);
    if (id)
        sscanf(id + 7, "%63[A-Za-z0-9_]", order);
    CHECK(strncmp(order, "order_test_", 11) == 0);
    CHECK(strstr(order, "_12345") != NULL);
    CHECK(strstr(res.body.data, "\"receipt\": \"rcpt-1\"") != NULL);
    CHECK_INT(razorpay_test_payment_of(order, pay, sizeof pay), 0);
    CHECK(strncmp(pay, "pay_test_", 9) == 0);
    CHECK_INT(razorpay_test_payment_of("order_XYZ", pay + 40, 40), -1);

    CHECK_INT(razorpay_payment_fetch(rzp, pay, &res), 0);
    CHECK(strstr(res.body.data, "\"status\": \"captured\"") != NULL);
    CHECK(strstr(res.body.data, "\"amount\": 12345") != NULL);
    CHECK(strstr(res.body.data, order) != NULL);
    CHECK_INT(razorpay_payment_capture(rzp, pay, 12345, &res), 0);
    CHECK_INT(razorpay_payment_fetch(rzp, "pay_real123", &res), -1);
    CHECK_INT(res.status, 400);
    CHECK_STR(res.error_code, "BAD_REQUEST_ERROR");
    CHECK(!razorpay_result_retryable(&res));

    CHECK_INT(razorpay_payment_refund(rzp, pay, 500, "{\"k\": \"v\"}", "key-0000001", &res), 0);
    char first[256];
    snprintf(first, sizeof first, "%s", res.body.data);
    CHECK(strstr(first, "\"status\": \"processed\"") != NULL);
    CHECK(strstr(first, "\"amount\": 500") != NULL);
    CHECK(strstr(first, "\"k\":") != NULL);
    CHECK_INT(razorpay_payment_refund(rzp, pay, 500, "{\"k\": \"v\"}", "key-0000001", &res), 0);
    CHECK_STR(res.body.data, first);
    CHECK_INT(razorpay_payment_refund(rzp, pay, 500, NULL, "key-0000002", &res), 0);
    CHECK(strcmp(res.body.data, first) != 0);

    CHECK_INT(razorpay_payments_list(rzp, 1, 2, 10, 0, &res), 0);
    CHECK(strstr(res.body.data, "\"count\": 0") != NULL);
    const razorpay_payout_t payout = {.account_number = "7878780080316316",
                                      .fund_account_id = "fa_00000000000001",
                                      .amount_paise = 1000,
                                      .mode = "IMPS",
                                      .purpose = "payout"};
    CHECK_INT(razorpay_payout_create(rzp, &payout, "payout-key-1", &res), 0);
    CHECK(strstr(res.body.data, "\"entity\": \"payout\"") != NULL);
    CHECK(strstr(res.body.data, "\"status\": \"processed\"") != NULL);
    razorpay_result_free(&res);
    razorpay_destroy(&rzp);
}

int main(void)
{
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cannot initialise libsodium or libcurl\n");
        return 1;
    }
    /* No "razorpay retry" lines in the test output. */
    setenv("MANDI_LOG_LEVEL", "error", 1);
    log_init("test_razorpay_client");
    test_config_and_new();
    test_test_gateway();
    test_connection_refused();
    if (fake_start() < 0) {
        fprintf(stderr, "skipped: the fake Razorpay did not start (%s)\n", MANDI_PYTHON);
        fake_stop();
        curl_global_cleanup();
        return SKIP;
    }
    ctl_curl = curl_easy_init();
    test_order_and_auth();
    test_pay_fetch_capture();
    test_refund_idempotency();
    test_retry_on_5xx();
    test_retries_exhausted();
    test_timeout_retry();
    test_closed_connection();
    test_contact_and_fund_account();
    test_payout();
    test_list_and_keepalive();
    test_webhook_signature_from_fake();
    curl_easy_cleanup(ctl_curl);
    fake_stop();
    curl_global_cleanup();
    return check_summary();
}
