/*
 * pool_table - the worker pools mandi runs and the job types each one handles.
 *
 * Each pool is a service name on the broker and a list of handler tables.
 * Every pool serves the common job types (ping) and, in test mode, the test
 * job types; the domain tables are added by the issues that build them.
 */
#ifndef MANDI_POOL_TABLE_H
#define MANDI_POOL_TABLE_H

#include "consumer.h"
#include "worker.h"

#define POOL_MAX_TABLES 8

typedef struct {
    const char *name;
    const job_handler_t *const tables[POOL_MAX_TABLES]; /* NULL-terminated */
    /* The domain events it reacts to (common/consumer.h), NULL-terminated. */
    const event_handler_t *const events[POOL_MAX_TABLES];
} pool_t;

/* The pool called name, or NULL. */
const pool_t *pools_find(const char *name);

/* Writes the known pool names, comma-separated, for usage messages. */
void pools_list(char *out, size_t cap);

extern const job_handler_t common_jobs[];
extern const job_handler_t test_jobs[];
extern const event_handler_t test_events[];
extern const job_handler_t notify_jobs[];
extern const job_handler_t accounts_jobs[];
extern const job_handler_t catalog_jobs[];
extern const job_handler_t analytics_jobs[];
extern const job_handler_t orders_jobs[];
extern const job_handler_t payments_jobs[];

#endif
