/*
 * consumer - a pool's reactions to the domain events of the outbox,
 * applied exactly once, in order, from a durable position.
 *
 * A pool that reacts to events (notifications, analytics) names a table of
 * handlers by topic prefix. Its workers run the consumer between jobs, on
 * the handler thread and connection: the bus only wakes it, the outbox
 * table is what it reads. Each pass takes the pool's cursor row
 * (event_consumers) FOR UPDATE SKIP LOCKED, so one worker of the pool at a
 * time applies events, reads the events after its position, runs each
 * matching handler in a savepoint of one transaction, and moves the
 * position in that same transaction: an event's effects and the position
 * past it commit together, so none is applied twice or lost across a
 * crash. A handler that fails leaves the event (and those after it) for a
 * later pass; after MANDI_EVENT_MAX_ATTEMPTS failures the event is set
 * aside in event_failures and the consumer moves on. A pool's position
 * starts where its migration put it (the newest event then): a pool reacts
 * from the moment it is first deployed.
 */
#ifndef MANDI_CONSUMER_H
#define MANDI_CONSUMER_H

#include <libpq-fe.h>
#include <msgpack.h>

#include "worker.h"

/* Reacts to one event inside the pass's transaction, like a JOB_TX
 * handler: ctx->db is in the transaction, ctx->job->id is a stable id for
 * (consumer, position) and ctx->job->type the topic. Returns < 400 to keep
 * its writes, else the status of job_fail (its writes are undone). */
typedef int (*event_fn)(job_ctx_t *ctx, const char *topic, const msgpack_object *body);

typedef struct event_handler {
    const char *prefix; /* topic prefix; "" matches every event */
    event_fn fn;
    unsigned flags; /* JOB_TEST_ONLY: only in test mode */
} event_handler_t;  /* tables end with {NULL, NULL} */

typedef struct consumer consumer_t;

/* The outbox position of the event a handler is reacting to (0 outside a
 * handler): e.g. to leave out events older than a subscription. */
int64_t consumer_position(void);

/* A consumer called name (the pool's) of handlers, woken by a SUB socket
 * on sub_endpoint in zmq_ctx. NULL when it cannot be made. */
consumer_t *consumer_new(const char *name, const event_handler_t *handlers, void *zmq_ctx,
                         const char *sub_endpoint);
void consumer_destroy(consumer_t **self_p);

/* The SUB socket to poll: readable when an event was published. */
void *consumer_socket(consumer_t *self);

/* Whether a pass is due: woken by the bus, or a second since the last. */
int consumer_due(consumer_t *self);

/* One pass over up to a batch of events on db (idle, no transaction),
 * with rt for the handlers' contexts. Returns how many events it applied
 * (0 when none or another worker holds the cursor), or -1 on a database
 * error. *wrote_events is set when handlers recorded outbox events. */
int consumer_run(consumer_t *self, PGconn *db, worker_runtime_t *rt, int *wrote_events);

#endif
