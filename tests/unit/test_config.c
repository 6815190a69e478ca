/*
 * test_config - unit tests for settings: defaults, environment overrides,
 * strict integer parsing, the production secrets check and .env.example.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"

static const char *const SECRETS[] = {"JWT_SECRET", "RAZORPAY_KEY_SECRET",
                                      "RAZORPAY_WEBHOOK_SECRET"};

static void test_defaults(void)
{
    /* The test runner may export real values; start from a clean slate. */
    unsetenv("MANDI_ENV");
    unsetenv("MANDI_HTTP_PORT");
    unsetenv("DATABASE_URL");
    unsetenv("MANDI_QUEUE_MAX");
    CHECK_STR(config_get("MANDI_ENV"), "development");
    CHECK_STR(config_get("MANDI_HTTP_PORT"), "8080");
    CHECK_STR(config_get("DATABASE_URL"), "postgresql://mandi@127.0.0.1:5433/mandi");
    CHECK_INT(config_get_long("MANDI_HTTP_PORT"), 8080);
    CHECK_INT(config_get_long("MANDI_QUEUE_MAX"), 10000);
    CHECK_INT(config_get_long("MANDI_MAX_BODY_BYTES"), 1048576);
    CHECK(config_get("NO_SUCH_SETTING") == NULL);
    CHECK(config_get(NULL) == NULL);
    CHECK_INT(config_get_long("NO_SUCH_SETTING"), 0);
    CHECK_INT(config_get_long("MANDI_ENV"), 0); /* default is not a number */
    CHECK(!config_is_production());
}

static void test_overrides(void)
{
    setenv("MANDI_HTTP_PORT", "9090", 1);
    CHECK_STR(config_get("MANDI_HTTP_PORT"), "9090");
    CHECK_INT(config_get_long("MANDI_HTTP_PORT"), 9090);
    setenv("DATABASE_URL", "postgresql://x@db/y", 1);
    CHECK_STR(config_get("DATABASE_URL"), "postgresql://x@db/y");
    setenv("DATABASE_URL", "", 1); /* empty counts as unset */
    CHECK_STR(config_get("DATABASE_URL"), "postgresql://mandi@127.0.0.1:5433/mandi");
    unsetenv("DATABASE_URL");

    static const char *junk[] = {
        "80x", " 80", "+80", "0x50", "8 0", "-", "eighty", "1e3", "99999999999999999999999999"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        setenv("MANDI_HTTP_PORT", junk[i], 1);
        CHECK_INT(config_get_long("MANDI_HTTP_PORT"), 8080);
        CHECK_STR(config_get("MANDI_HTTP_PORT"), junk[i]); /* the text is still visible */
    }
    setenv("MANDI_HTTP_PORT", "-1", 1);
    CHECK_INT(config_get_long("MANDI_HTTP_PORT"), -1);
    setenv("MANDI_HTTP_PORT", "0", 1);
    CHECK_INT(config_get_long("MANDI_HTTP_PORT"), 0);
    unsetenv("MANDI_HTTP_PORT");
}

static void test_production_check(void)
{
    for (size_t i = 0; i < 3; i++)
        unsetenv(SECRETS[i]);
    unsetenv("RAZORPAY_KEY_ID");
    buf_t why = BUF_INIT;

    /* Outside production the development defaults are fine. */
    unsetenv("MANDI_ENV");
    CHECK_INT(config_check(&why), 0);
    CHECK_INT(why.len, 0);
    setenv("MANDI_ENV", "staging", 1);
    CHECK(!config_is_production());
    CHECK_INT(config_check(&why), 0);

    setenv("MANDI_ENV", "production", 1);
    CHECK(config_is_production());
    CHECK_INT(config_check(&why), -1);
    for (size_t i = 0; i < 3; i++)
        CHECK(why.data && strstr(why.data, SECRETS[i]) != NULL);
    CHECK(strstr(why.data, "not set") != NULL);
    /* Not a secret, but needed: without it payments go to the test gateway. */
    CHECK(strstr(why.data, "RAZORPAY_KEY_ID not set") != NULL);
    CHECK_INT(config_check(NULL), -1);
    CHECK_INT(config_check_at_start(), -1); /* and says why in the log */

    /* Setting a secret to its development default is as bad as not setting it. */
    buf_reset(&why);
    setenv("JWT_SECRET", "dev-secret-change-me", 1);
    setenv("RAZORPAY_KEY_SECRET", "live-key-secret", 1);
    CHECK_INT(config_check(&why), -1);
    CHECK(strstr(why.data, "development default: JWT_SECRET") != NULL);
    CHECK(strstr(why.data, "not set: RAZORPAY_WEBHOOK_SECRET;") != NULL);
    CHECK(strstr(why.data, "RAZORPAY_KEY_SECRET") == NULL);

    /* An empty value is not a secret either. */
    buf_reset(&why);
    setenv("JWT_SECRET", "", 1);
    setenv("RAZORPAY_WEBHOOK_SECRET", "whsec-live", 1);
    CHECK_INT(config_check(&why), -1);
    CHECK(strstr(why.data, "JWT_SECRET") != NULL);
    CHECK(strstr(why.data, "RAZORPAY_WEBHOOK_SECRET") == NULL);

    buf_reset(&why);
    setenv("JWT_SECRET", "a-real-production-secret", 1);
    CHECK_INT(config_check(&why), -1);
    CHECK(strstr(why.data, "RAZORPAY_KEY_ID not set") != NULL);
    buf_reset(&why);
    setenv("RAZORPAY_KEY_ID", "rzp_live_1", 1);
    CHECK_INT(config_check(&why), 0);
    CHECK_INT(config_check_at_start(), 0);
    CHECK_INT(why.len, 0);

    unsetenv("MANDI_ENV");
    for (size_t i = 0; i < 3; i++)
        unsetenv(SECRETS[i]);
    unsetenv("RAZORPAY_KEY_ID");
    buf_free(&why);
}

static void test_example(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f)
        return;
    setenv("MANDI_HTTP_PORT", "1234", 1); /* the example shows defaults, not the env */
    config_write_example(f);
    fclose(f);
    unsetenv("MANDI_HTTP_PORT");
    CHECK(strstr(text, "\nMANDI_HTTP_PORT=8080\n") != NULL);
    CHECK(strstr(text, "\nMANDI_ENV=development\n") != NULL);
    CHECK(strstr(text, "\nJWT_SECRET=dev-secret-change-me\n") != NULL);
    CHECK(strstr(text, "\nMANDI_VAR_DIR=var\n") != NULL);
    /* Each setting line is preceded by its comment line. */
    const char *p = strstr(text, "\nMANDI_QUEUE_MAX=");
    CHECK(p != NULL);
    if (p) {
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        CHECK(line[0] == '#');
    }
    free(text);
}

int main(void)
{
    test_defaults();
    test_overrides();
    test_production_check();
    test_example();
    return check_summary();
}
