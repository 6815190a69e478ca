/*
 * dispatch - the front's connection to the broker.
 *
 * One thread owns the DEALER socket: it sends the jobs posted to it, matches
 * each reply to the request waiting for it, and settles requests whose wait
 * ran out (202 when the job is recorded, 504 for routes that must answer in
 * time). It also asks the broker for its per-pool figures twice a second,
 * which /ready, /metrics and /api/admin/pools read.
 */
#ifndef MANDI_DISPATCH_H
#define MANDI_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "request.h"

int dispatch_start(void *zmq_ctx);

/* Stops the thread and answers every waiting request 503. */
void dispatch_stop(void);

/* Answers 503 to requests posted after dispatch_stop. */
void dispatch_drain(void);

/* Hands a request (MAIL_DISPATCH) to the dispatcher. */
void dispatch_post(request_t *req);

/* Copies the broker's latest "mmi.stats" body (msgpack) into out and returns
 * its age in ms, or -1 if the broker never answered. */
int64_t dispatch_pool_stats(buf_t *out);

/* Requests waiting for a reply right now. */
size_t dispatch_in_flight(void);

#endif
