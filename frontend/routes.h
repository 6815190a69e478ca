/*
 * routes - the HTTP route table of the front and its matcher.
 *
 * Every route is a row: method, path pattern with ":name" parameters, what
 * serves it (a job for a pool, or the front itself), who may call it and how
 * long the front waits for the reply by default. Adding an endpoint is adding
 * a row.
 */
#ifndef MANDI_ROUTES_H
#define MANDI_ROUTES_H

#include <stddef.h>

typedef enum {
    AUTH_NONE,     /* no token looked at */
    AUTH_OPTIONAL, /* a token is used when present, and must then be valid */
    AUTH_USER,     /* a valid token is required (and its role must be allowed
                    * the route's permission, when it names one) */
} auth_rule_t;

typedef enum {
    ROUTE_JOB,    /* becomes a job for a pool */
    ROUTE_HEALTH, /* served by the front itself: */
    ROUTE_READY,
    ROUTE_METRICS,
    ROUTE_JOB_STATUS,
    ROUTE_ADMIN_POOLS,
    ROUTE_STREAM, /* Server-Sent Events, held open (stream.c) */
} route_kind_t;

enum {
    ROUTE_SYNC = 1,      /* must answer in time: 504, never 202 */
    ROUTE_TEST_ONLY = 2, /* exists only with MANDI_TEST_MODE=1 */
    ROUTE_DURABLE = 4,   /* recorded before dispatch even though it is a GET */
    /* A write that is never recorded: its body holds secrets (passwords,
     * codes) and retrying it is harmless, so it is answered in line like a
     * read (Idempotency-Key ignored, never 202). */
    ROUTE_TRANSIENT = 8,
    /* The job also carries the body's exact bytes and the provider headers
     * a signature is checked against (webhooks sign the raw body). */
    ROUTE_RAW = 16,
    /* The job's success names a CSV export, which is the answer
     * (frontend/export_stream.h). */
    ROUTE_CSV = 32,
    /* Answered 202 as soon as the job is recorded (a client that sends
     * and moves on: the apps' analytics events). */
    ROUTE_ASYNC = 64,
};

typedef struct {
    const char *method;
    const char *pattern;
    route_kind_t kind;
    const char *service;  /* pool, or ":param" naming a path parameter */
    const char *job_type; /* may end in ":param", e.g. "test.:type" */
    auth_rule_t auth;
    const char *permission; /* roles allowed, from common/roles.c; NULL: any caller */
    int wait_ms;            /* default wait; 0 means MANDI_DEFAULT_WAIT_MS */
    unsigned flags;
} route_t;

#define ROUTE_MAX_PARAMS 8

typedef struct {
    const char *name;
    size_t name_len;
    const char *value; /* points into the matched path; not NUL-terminated */
    size_t value_len;
} route_param_t;

typedef struct {
    const route_t *route;
    int index; /* position in the table, for per-route metrics */
    route_param_t params[ROUTE_MAX_PARAMS];
    int nparams;
} route_match_t;

typedef enum { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED } route_result_t;

/* Finds the route for method and path (without the query string). On
 * ROUTE_METHOD_NOT_ALLOWED, allow receives the methods the path does accept,
 * comma-separated. Test-only routes match only when test_mode is set. */
route_result_t route_match(const char *method, const char *path, int test_mode,
                           route_match_t *match, char *allow, size_t allow_cap);

/* The table, for metrics labels and documentation checks. */
const route_t *route_table(size_t *count);

/* Expands a service or job type template with the match's parameters into
 * out. Returns 0, or -1 if a parameter is missing or the result does not fit
 * or holds characters other than [A-Za-z0-9._-]. */
int route_expand(const char *template, const route_match_t *match, char *out, size_t cap);

/* The value of a parameter, or NULL (len set on success). */
const char *route_param(const route_match_t *match, const char *name, size_t *len);

#endif
