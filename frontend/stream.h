/*
 * stream - GET /api/events/stream: the caller's domain events as
 * Server-Sent Events.
 *
 * No thread per client: one thread of the front follows the event bus and
 * the outbox table and copies each event into the bounded buffers of the
 * streams allowed to see it; libmicrohttpd drains those buffers through a
 * content reader that suspends its connection while there is nothing to
 * send, and the fan-out thread resumes it when there is. Keep-alive
 * comments go out on every stream at a fixed interval, which also bounds
 * how long a vanished client (unnoticed while suspended) holds its slot.
 */
#ifndef MANDI_STREAM_H
#define MANDI_STREAM_H

#include <microhttpd.h>

#include "buf.h"
#include "request.h"

/* Starts the fan-out thread on ctx (subscribes at MANDI_EVENTS_SUB).
 * Returns 0 or -1. */
int stream_start(void *zmq_ctx);

/* Serves an authenticated ROUTE_STREAM request from the access handler:
 * queues the event-stream response and returns 0 (req->final_status and
 * *rc set), or returns -1 with an error outcome on req (bad Last-Event-ID,
 * too many streams, stopping). */
int stream_open(request_t *req, enum MHD_Result *rc);

/* Stops the fan-out thread and ends every stream, resuming the suspended
 * ones so that the daemon can be stopped afterwards. New streams are
 * refused from then on. */
void stream_stop(void);

/* Appends the streams' figures in Prometheus text. */
void stream_metrics(buf_t *out);

#endif
