/*
 * payments_gateway - the payments pool's one Razorpay client and the
 * reading of the entities it returns (see payments.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "payments.h"

/* One client per worker process: it keeps its connection to Razorpay. */
static razorpay_t *client;

razorpay_t *payments_gateway(job_ctx_t *ctx)
{
    if (!client) {
        razorpay_config_t cfg;
        char why[256];
        razorpay_config_load(&cfg);
        client = razorpay_new(&cfg, why, sizeof why);
        if (!client)
            log_msg(LOG_ERROR, ctx->job->request_id, "razorpay client: %s", why);
    }
    return client;
}

int payments_gateway_failed(job_ctx_t *ctx, const razorpay_result_t *res)
{
    return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay did not answer as expected: %s",
                    res->why[0] ? res->why : "no client");
}

/* PostgreSQL reads the JSON: one parser for every entity, and a body that
 * is not JSON is refused there rather than half-read here. */
int payments_entity_fields(job_ctx_t *ctx, const char *json, char id[64], char order[64],
                           char status[32], int64_t *amount)
{
    const char *params[] = {json};
    PGresult *res = PQexecParams(ctx->db,
                                 "SELECT coalesce(j->>'id', ''), coalesce(j->>'order_id', ''), "
                                 "coalesce(j->>'status', ''), coalesce(j->>'amount', '0') "
                                 "FROM (SELECT $1::jsonb AS j) x",
                                 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return job_fail(ctx, 502, "PAYMENT_GATEWAY_ERROR", "Razorpay's answer is not JSON");
    }
    snprintf(id, 64, "%s", PQgetvalue(res, 0, 0));
    snprintf(order, 64, "%s", PQgetvalue(res, 0, 1));
    snprintf(status, 32, "%s", PQgetvalue(res, 0, 2));
    *amount = atoll(PQgetvalue(res, 0, 3));
    PQclear(res);
    return 0;
}
