/*
 * config - settings from the environment with documented defaults (see
 * config.h). Adding a setting means adding one row to config_table.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

typedef struct {
    const char *name;
    const char *def;
    const char *description;
    int secret; /* must be overridden in production; never a real default */
} config_entry_t;

static const config_entry_t config_table[] = {
    {"MANDI_ENV", "development", "Deployment environment; production turns on the secrets check",
     0},
    {"MANDI_HTTP_HOST", "127.0.0.1", "Address the HTTP front end listens on", 0},
    {"MANDI_HTTP_PORT", "8080", "TCP port the HTTP front end listens on", 0},
    {"MANDI_HTTP_THREADS", "2", "HTTP front end worker threads", 0},
    {"MANDI_BROKER", "tcp://127.0.0.1:5555", "Endpoint of the job broker", 0},
    {"MANDI_EVENTS_PUB", "tcp://127.0.0.1:5556", "Event bus endpoint where publishers connect", 0},
    {"MANDI_EVENTS_SUB", "tcp://127.0.0.1:5557", "Event bus endpoint where subscribers connect", 0},
    {"MANDI_QUEUE_MAX", "10000", "Per-service bound on queued jobs in the broker", 0},
    {"MANDI_MAX_ATTEMPTS", "3", "Attempts at a job before it is given up", 0},
    {"MANDI_WORKER_PREFETCH", "8",
     "Jobs a worker takes from the broker at once (1 = strictly one at a time)", 0},
    {"MANDI_HEARTBEAT_MS", "1000", "Interval between broker/worker heartbeats, milliseconds", 0},
    {"MANDI_HEARTBEAT_LIVENESS", "3", "Heartbeats missed before a peer is presumed dead", 0},
    {"MANDI_DEFAULT_WAIT_MS", "5000", "Default time a request waits for its job, milliseconds", 0},
    {"MANDI_MAX_WAIT_MS", "30000", "Longest wait a request may ask for, milliseconds", 0},
    {"MANDI_JOB_LEASE_MS", "30000",
     "How long a worker holds a job before it is re-offered, "
     "milliseconds",
     0},
    {"MANDI_OUTBOX_KEEP_DAYS", "7",
     "Days a published event stays in the outbox for subscribers catching up", 0},
    {"MANDI_SSE_MAX_STREAMS", "1000",
     "Event streams (GET /api/events/stream) one front holds at once; past it, 503", 0},
    {"MANDI_SSE_KEEPALIVE_MS", "15000",
     "Interval between keep-alive comments on event streams, milliseconds", 0},
    {"MANDI_SSE_BUFFER_BYTES", "65536",
     "Unsent bytes an event stream may hold before its slow client is cut off", 0},
    {"MANDI_DELIVERY_FEE_PAISE", "4000", "Delivery fee per store in a cart, paise", 0},
    {"MANDI_FREE_DELIVERY_PAISE", "49900",
     "A store's lines in a cart from this subtotal up deliver free, paise", 0},
    {"MANDI_UNPAID_ORDER_MINUTES", "30",
     "Minutes a razorpay order may wait for its payment before it is cancelled", 0},
    {"MANDI_EVENT_MAX_ATTEMPTS", "5",
     "Failures of a pool's reaction to an event before the event is set aside", 0},
    {"MANDI_WEBHOOK_RETRY_MS", "30000",
     "Pause before a partner webhook delivery is tried again, doubling per attempt, ms", 0},
    {"MANDI_WEBHOOK_CONNECT_TIMEOUT_MS", "3000", "Longest wait to connect to a partner, ms", 0},
    {"MANDI_WEBHOOK_TIMEOUT_MS", "5000", "Longest a delivery to a partner may take, ms", 0},
    {"MANDI_SCHEDULER_TICK_MS", "1000", "How often the scheduler looks for due schedules, ms", 0},
    {"MANDI_REFUND_RETRY_MS", "15000",
     "Pause before a cancellation's refund is asked of Razorpay again after it failed, ms", 0},
    {"MANDI_PAYOUT_MIN_PAISE", "10000", "Smallest withdrawal from a wallet, paise", 0},
    {"MANDI_PAYOUT_DAILY_PAISE", "5000000",
     "Most a user may withdraw in one day (India time), paise", 0},
    {"MANDI_MAX_BODY_BYTES", "1048576", "Largest accepted HTTP request body, bytes", 0},
    {"MANDI_TEST_MODE", "0", "1 enables test-only jobs and hooks; never in production", 0},
    {"MANDI_LOG_LEVEL", "info", "Least severe log level written: debug, info, warn or error", 0},
    {"DATABASE_URL", "postgresql://mandi@127.0.0.1:5433/mandi", "PostgreSQL connection URL", 0},
    {"REDIS_URL", "redis://127.0.0.1:6380/0", "Redis connection URL", 0},
    {"JWT_SECRET", "dev-secret-change-me", "HMAC key for signing access tokens", 1},
    {"RAZORPAY_KEY_ID", "",
     "Razorpay API key id; empty: the built-in test gateway, which takes no real money", 0},
    {"RAZORPAY_KEY_SECRET", "dev-razorpay-secret", "Razorpay API key secret", 1},
    {"RAZORPAY_WEBHOOK_SECRET", "dev-webhook-secret", "Secret Razorpay signs webhooks with", 1},
    {"RAZORPAY_API_BASE", "https://api.razorpay.com", "Base URL of the Razorpay API", 0},
    {"RAZORPAY_CONNECT_TIMEOUT_MS", "3000",
     "Longest wait for a connection to the Razorpay API, milliseconds", 0},
    {"RAZORPAY_TIMEOUT_MS", "6000",
     "Longest a single attempt at a Razorpay API call may take, milliseconds", 0},
    {"RAZORPAY_RETRIES", "2",
     "Extra attempts at a Razorpay API call after a network error, a timeout or a 5xx (0 to 10)",
     0},
    {"RAZORPAY_RETRY_BASE_MS", "200",
     "Back-off before the first retry of a Razorpay API call, doubled for each next one, "
     "milliseconds",
     0},
    {"RAZORPAY_ACCOUNT_NUMBER", "2323230000000000",
     "RazorpayX account number payouts are paid from (the default is made up)", 0},
    {"MANDI_SMS_PROVIDER", "file",
     "SMS delivery provider (file writes messages under the var "
     "dir)",
     0},
    {"MANDI_EMAIL_PROVIDER", "file",
     "Email delivery provider (file writes messages under the "
     "var dir)",
     0},
    {"MANDI_PUSH_PROVIDER", "file",
     "Push notification provider (file writes messages under the "
     "var dir)",
     0},
    {"MSG91_API_BASE", "https://control.msg91.com", "Base URL of the MSG91 API (SMS)", 0},
    {"MSG91_AUTH_KEY", "", "MSG91 authkey; needed when MANDI_SMS_PROVIDER=msg91", 0},
    {"MSG91_TEMPLATE_ID", "",
     "MSG91 flow template whose ##content## variable carries the message text", 0},
    {"MSG91_SENDER", "MANDI", "MSG91 sender id (DLT header)", 0},
    {"SENDGRID_API_BASE", "https://api.sendgrid.com", "Base URL of the SendGrid API (email)", 0},
    {"SENDGRID_API_KEY", "", "SendGrid API key; needed when MANDI_EMAIL_PROVIDER=sendgrid", 0},
    {"MANDI_EMAIL_FROM", "no-reply@mandi.example", "Sender address of notification emails", 0},
    {"FCM_API_BASE", "https://fcm.googleapis.com", "Base URL of the FCM HTTP v1 API (push)", 0},
    {"FCM_SERVICE_ACCOUNT_FILE", "",
     "Firebase service account JSON key file; needed when MANDI_PUSH_PROVIDER=fcm", 0},
    {"FCM_PROJECT_ID", "", "Firebase project id; empty: the key file's project_id", 0},
    {"FCM_TOKEN_URL", "", "OAuth 2 token endpoint; empty: the key file's token_uri, else Google's",
     0},
    {"MANDI_NOTIFY_CONNECT_TIMEOUT_MS", "2000",
     "Longest wait for a connection to an SMS, email or push provider, milliseconds", 0},
    {"MANDI_NOTIFY_TIMEOUT_MS", "5000",
     "Longest a single call to an SMS, email or push provider may take, milliseconds", 0},
    {"MANDI_NOTIFY_RETRY_BASE_MS", "2000",
     "Back-off before a failed notification is sent again, doubled per attempt and jittered, "
     "milliseconds",
     0},
    {"MANDI_QUIET_HOURS_START", "22:00",
     "Start of quiet hours (India time): promotional messages wait until they end", 0},
    {"MANDI_QUIET_HOURS_END", "08:00", "End of quiet hours (India time)", 0},
    {"MANDI_NOTIFY_FANOUT_BATCH", "200",
     "Recipients an admin send-out handles between two progress reports", 0},
    {"MANDI_VAR_DIR", "var", "Directory for runtime files: outbox files, journals", 0},
    {"MANDI_TRUST_PROXY", "0",
     "1: the client address is the last entry of X-Forwarded-For (set it only behind a proxy "
     "that writes that header)",
     0},
    {"MANDI_ACCESS_TOKEN_TTL_S", "3600", "Life of an access token (JWT), seconds", 0},
    {"MANDI_REFRESH_TOKEN_TTL_S", "2592000", "Life of a refresh token, seconds (30 days)", 0},
    {"MANDI_OTP_TTL_S", "300", "Life of a login OTP, seconds", 0},
    {"MANDI_OTP_RESEND_S", "30", "Least time between two OTPs to the same phone, seconds", 0},
    {"MANDI_OTP_PER_HOUR", "5", "OTPs sent to one phone in an hour at most", 0},
    {"MANDI_OTP_PER_IP_HOUR", "20", "OTPs requested from one IP address in an hour at most", 0},
    {"MANDI_LOGIN_FAILS_MAX", "5",
     "Wrong passwords in 15 minutes before an account (or 4x that from one IP) is locked for "
     "15 minutes",
     0},
    {"MANDI_PWHASH_OPSLIMIT", "2",
     "argon2id passes for password hashes (libsodium; 2 is its interactive level)", 0},
    {"MANDI_PWHASH_MEMLIMIT_KB", "65536",
     "argon2id memory for password hashes, KiB (libsodium interactive level)", 0},
};

#define CONFIG_COUNT (sizeof config_table / sizeof config_table[0])

static const config_entry_t *config_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < CONFIG_COUNT; i++)
        if (strcmp(config_table[i].name, name) == 0)
            return &config_table[i];
    return NULL;
}

/* An empty variable counts as unset: "FOO=" in an env file usually means
 * "not configured", and an empty port or URL is never meant literally. */
static const char *config_env(const char *name)
{
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

const char *config_get(const char *name)
{
    const config_entry_t *e = config_find(name);
    if (!e)
        return NULL;
    const char *v = config_env(name);
    return v ? v : e->def;
}

/* strtol alone accepts leading spaces, '+', and trailing junk ("80x"), which
 * would let a typo pass as a number; this accepts only -?[0-9]+ in range. */
static int config_parse_long(const char *s, long *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (*d < '0' || *d > '9')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

long config_get_long(const char *name)
{
    const config_entry_t *e = config_find(name);
    if (!e)
        return 0;
    long v;
    const char *env = config_env(name);
    if (env && config_parse_long(env, &v) == 0)
        return v;
    if (config_parse_long(e->def, &v) == 0)
        return v;
    return 0;
}

int config_is_production(void)
{
    return strcmp(config_get("MANDI_ENV"), "production") == 0;
}

/* Appends the names of secrets that are unset (want_default == 0) or still
 * hold their development default (want_default == 1), comma-separated. */
static size_t config_list_secrets(buf_t *why, int want_default)
{
    size_t n = 0;
    for (size_t i = 0; i < CONFIG_COUNT; i++) {
        const config_entry_t *e = &config_table[i];
        if (!e->secret)
            continue;
        const char *v = config_env(e->name);
        int bad = want_default ? (v && strcmp(v, e->def) == 0) : !v;
        if (!bad)
            continue;
        if (why)
            buf_printf(why, "%s%s", n ? ", " : "", e->name);
        n++;
    }
    return n;
}

int config_check(buf_t *why)
{
    if (!config_is_production())
        return 0;
    size_t missing = config_list_secrets(NULL, 0);
    size_t weak = config_list_secrets(NULL, 1);
    /* Without a key id payments go to the test gateway: no real money. */
    int test_gateway = config_get("RAZORPAY_KEY_ID")[0] == '\0';
    if (missing == 0 && weak == 0 && !test_gateway)
        return 0;
    if (why) {
        buf_append_str(why, "refusing to start in production:");
        if (test_gateway)
            buf_append_str(why, " RAZORPAY_KEY_ID not set (the test gateway takes no real "
                                "money);");
        if (missing) {
            buf_append_str(why, " secret settings not set: ");
            config_list_secrets(why, 0);
            buf_append_char(why, ';');
        }
        if (weak) {
            buf_append_str(why, " secret settings still at their development default: ");
            config_list_secrets(why, 1);
            buf_append_char(why, ';');
        }
        buf_append_str(why, " set them in the environment");
    }
    return -1;
}

int config_check_at_start(void)
{
    buf_t why = BUF_INIT;
    int rc = config_check(&why);
    if (rc < 0)
        log_msg(LOG_ERROR, NULL, "%s", why.data);
    buf_free(&why);
    return rc;
}

void config_write_example(FILE *f)
{
    fputs("# mandi settings, read from the environment. Every value shown is the\n"
          "# development default used when the variable is unset or empty.\n"
          "# Generated from common/config.c (config_write_example); edit the table there.\n",
          f);
    for (size_t i = 0; i < CONFIG_COUNT; i++) {
        const config_entry_t *e = &config_table[i];
        fprintf(f, "\n# %s%s\n%s=%s\n", e->description,
                e->secret ? " (secret: must be set to a real value in production)" : "", e->name,
                e->def);
    }
}
