/*
 * consumer - the interface of the domain-event consumers: a pool hands the
 * runtime a table of handlers, each called once per event whose topic
 * starts with its prefix, inside a transaction that also moves the
 * consumer's durable position (committed when the handler answers below
 * 400, else rolled back and the event offered again later).
 *
 * ctx->job->id is stable per (consumer, event position): handlers key what
 * they record by it, so an event delivered again is recorded once.
 */
#ifndef MANDI_CONSUMER_H
#define MANDI_CONSUMER_H

#include <msgpack.h>

#include "worker.h"

typedef int (*event_fn)(job_ctx_t *ctx, const char *topic, const msgpack_object *body);

/* A NULL-terminated table; "" matches every topic. */
typedef struct {
    const char *prefix;
    event_fn fn;
} event_handler_t;

#endif
