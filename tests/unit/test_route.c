/*
 * Route table matching: parameters, 404 versus 405 with Allow, test-only
 * routes, and template expansion of services and job types.
 */
#include "check.h"
#include "routes.h"

static const char *param(const route_match_t *m, const char *name)
{
    static char value[64];
    size_t len;
    const char *v = route_param(m, name, &len);
    if (!v)
        return NULL;
    snprintf(value, sizeof value, "%.*s", (int)len, v);
    return value;
}

int main(void)
{
    route_match_t m;
    char allow[64];

    CHECK_INT(route_match("GET", "/health", 0, &m, allow, sizeof allow), ROUTE_FOUND);
    CHECK_INT(m.route->kind, ROUTE_HEALTH);
    CHECK_INT(m.nparams, 0);

    CHECK_INT(route_match("GET", "/api/jobs/1b4e28ba-2fa1-4d2e-883f-0016d3cca427", 0, &m, allow,
                          sizeof allow),
              ROUTE_FOUND);
    CHECK_INT(m.route->kind, ROUTE_JOB_STATUS);
    CHECK_STR(param(&m, "id"), "1b4e28ba-2fa1-4d2e-883f-0016d3cca427");
    CHECK(param(&m, "nope") == NULL);

    CHECK_INT(route_match("GET", "/api/ping/orders", 0, &m, allow, sizeof allow), ROUTE_FOUND);
    CHECK_STR(param(&m, "pool"), "orders");
    char service[32], type[64];
    CHECK_INT(route_expand(m.route->service, &m, service, sizeof service), 0);
    CHECK_STR(service, "orders");
    CHECK_INT(route_expand(m.route->job_type, &m, type, sizeof type), 0);
    CHECK_STR(type, "ping");

    /* Unknown paths, trailing slashes, empty segments and extra segments. */
    CHECK_INT(route_match("GET", "/nope", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "/health/", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "/api/jobs/", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "/api/jobs//x", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "/api/ping/orders/more", 0, &m, allow, sizeof allow),
              ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);
    CHECK_INT(route_match("GET", "api/ping/orders", 0, &m, allow, sizeof allow), ROUTE_NOT_FOUND);

    /* A known path with another method: 405 and the methods it has. */
    CHECK_INT(route_match("DELETE", "/health", 0, &m, allow, sizeof allow),
              ROUTE_METHOD_NOT_ALLOWED);
    CHECK_STR(allow, "GET");
    CHECK_INT(route_match("PUT", "/api/_test/orders/echo", 1, &m, allow, sizeof allow),
              ROUTE_METHOD_NOT_ALLOWED);
    CHECK_STR(allow, "GET, POST");

    /* Test-only routes exist only in test mode. */
    CHECK_INT(route_match("POST", "/api/_test/orders/slow", 0, &m, allow, sizeof allow),
              ROUTE_NOT_FOUND);
    CHECK_INT(route_match("POST", "/api/_test/orders/slow", 1, &m, allow, sizeof allow),
              ROUTE_FOUND);
    CHECK_INT(route_expand(m.route->job_type, &m, type, sizeof type), 0);
    CHECK_STR(type, "test.slow");
    /* The longer literal route wins over parameters because it is listed
     * with its own segment count. */
    CHECK_INT(route_match("POST", "/api/_test/private/orders/echo", 1, &m, allow, sizeof allow),
              ROUTE_FOUND);
    CHECK_INT(m.route->auth, AUTH_USER);
    CHECK_STR(param(&m, "pool"), "orders");

    /* Expansion refuses characters outside names and results too long. */
    CHECK_INT(route_match("GET", "/api/ping/or%20ders", 0, &m, allow, sizeof allow), ROUTE_FOUND);
    CHECK_INT(route_expand(m.route->service, &m, service, sizeof service), -1);
    CHECK_INT(route_match("GET", "/api/ping/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, &m, allow,
                          sizeof allow),
              ROUTE_FOUND);
    CHECK_INT(route_expand(m.route->service, &m, service, sizeof service), -1);
    CHECK_INT(route_expand("fixed", &m, service, sizeof service), 0);
    CHECK_STR(service, "fixed");
    CHECK_INT(route_expand(":missing", &m, service, sizeof service), -1);

    /* Every row is well formed: patterns start with '/', jobs name a pool. */
    size_t count;
    const route_t *routes = route_table(&count);
    CHECK(count > 5);
    for (size_t i = 0; i < count; i++) {
        CHECK(routes[i].pattern[0] == '/');
        if (routes[i].kind == ROUTE_JOB)
            CHECK(routes[i].service && routes[i].job_type);
    }
    return check_summary();
}
