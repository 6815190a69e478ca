/*
 * notify - the notifications pool: what domain events tell whom
 * (notify_events.c), delivering through the providers (notify_deliver.c),
 * the in-app inbox, devices and announcements (notify_inbox.c), and the
 * admins' send-outs and dead-letter list (notify_admin.c).
 *
 * The flow: an event (or an admin's send) is planned against the rules,
 * the recipients' preferences and quiet hours into in-app rows and
 * delivery rows, one per (event, user, channel) under a unique key, in
 * the caller's transaction; each delivery row gets a notify.deliver job,
 * which calls the channel's provider and retries passing failures with
 * back-off until the last attempt leaves the row dead.
 */
#ifndef MANDI_NOTIFY_H
#define MANDI_NOTIFY_H

#include <msgpack.h>

#include "worker.h"

#include "consumer.h"

/* What one planning did. */
typedef struct {
    int in_app;     /* inbox rows written */
    int deliveries; /* delivery rows (and their jobs) written */
    int held;       /* of which wait for quiet hours to end */
} notify_counts_t;

/* What to send to whom: event names the template, ref the event's
 * identity (one message per ref, user and channel, however often it is
 * planned). channels is a PostgreSQL text[] literal ("{in_app,push}") and
 * users a uuid[] literal. data (a msgpack map) fills the templates;
 * data_json is the same as JSON text, kept with the inbox row. */
typedef struct {
    const char *ref;
    const char *event;
    const char *category;
    const char *channels;
    const char *users;
    const msgpack_object *data;
    const char *data_json;
} notify_plan_t;

/* Writes the plan's rows and jobs in ctx's transaction, adding to *counts.
 * Returns 0 or the status answered (job_fail called). */
int notify_plan(job_ctx_t *ctx, const notify_plan_t *plan, notify_counts_t *counts);

/* Reacts to one domain event under ref (see notify_events.c). */
int notify_react(job_ctx_t *ctx, const char *ref, const char *topic, const msgpack_object *body,
                 notify_counts_t *counts);

/* The events this pool reacts to, for the consumer framework. */
extern const event_handler_t notifications_events[];

/* Route handlers. */
int notify_list(job_ctx_t *ctx);
int notify_read(job_ctx_t *ctx);
int notify_read_all(job_ctx_t *ctx);
int notify_register_token(job_ctx_t *ctx);
int notify_unregister_token(job_ctx_t *ctx);
int notify_announcement_list(job_ctx_t *ctx);
int notify_announcement_create(job_ctx_t *ctx);
int notify_send_to_user(job_ctx_t *ctx);
int notify_send_to_admins(job_ctx_t *ctx);
int notify_send_to_zone(job_ctx_t *ctx);
int notify_failed_list(job_ctx_t *ctx);
int notify_failed_retry(job_ctx_t *ctx);

/* Jobs. */
int notify_deliver(job_ctx_t *ctx);
int notify_test_event(job_ctx_t *ctx);

/* The back-off before attempt `attempt` + 1: MANDI_NOTIFY_RETRY_BASE_MS *
 * 2^(attempt - 1), drawn uniformly from its upper half (jitter), so that
 * a provider coming back is not met by every retry at once. */
long notify_backoff_ms(int attempt);

/* This run's attempt, as the jobs table counts them (the job's envelope
 * is as old as its first dispatch). */
int notify_job_attempt(job_ctx_t *ctx);

/* Enqueues the notify.deliver job of delivery id, to run no earlier than
 * not_before (a timestamptz text, or NULL for now), and records the job on
 * the row. Returns 0 or the status answered. */
int notify_enqueue_delivery(job_ctx_t *ctx, const char *id, const char *not_before);

#endif
