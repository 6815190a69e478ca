/*
 * pool_table - the worker pools and their handler tables (see pool_table.h).
 */
#include "pool_table.h"

#include "analytics.h"
#include "notify.h"
#include "partner_webhook.h"

#include <stdio.h>
#include <string.h>

/* Names must match common/pools.c, the list the front and /ready use. */
static const pool_t pools[] = {
    {"accounts", {common_jobs, accounts_jobs, test_jobs, NULL}, {NULL}},
    {"catalog", {common_jobs, catalog_jobs, test_jobs, NULL}, {NULL}},
    {"orders", {common_jobs, orders_jobs, test_jobs, NULL}, {NULL}},
    {"payments", {common_jobs, payments_jobs, test_jobs, NULL}, {NULL}},
    {"notifications",
     {common_jobs, notify_jobs, partner_webhook_jobs, test_jobs, NULL},
     {notifications_events, partner_webhook_events, NULL}},
    {"analytics",
     {common_jobs, analytics_jobs, test_jobs, NULL},
     {analytics_events, test_events, NULL}},
};

const pool_t *pools_find(const char *name)
{
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++)
        if (strcmp(pools[i].name, name) == 0)
            return &pools[i];
    return NULL;
}

void pools_list(char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof pools / sizeof pools[0] && used < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? ", " : "", pools[i].name);
}
