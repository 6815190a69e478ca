/*
 * broker - routes jobs from clients to worker pools by service name.
 *
 * One ROUTER socket serves both clients (the HTTP front) and workers. The
 * broker keeps, per service, the idle workers in least-recently-used order
 * and a bounded FIFO of requests waiting for one; it remembers which worker
 * holds which request so that a worker's death hands the request back, and
 * it gives a request up as dead after the maximum attempts. It runs in one
 * thread; nothing here blocks except zmq_poll.
 */
#ifndef MANDI_BROKER_H
#define MANDI_BROKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *endpoint;   /* where the ROUTER binds */
    size_t queue_max;       /* per-service bound on waiting requests */
    uint32_t max_attempts;  /* deliveries before a request is dead */
    int heartbeat_ms;       /* interval of heartbeats both ways */
    int heartbeat_liveness; /* missed heartbeats before a worker is dropped */
} broker_config_t;

typedef struct broker broker_t;

broker_t *broker_new(void *zmq_ctx, const broker_config_t *config);
void broker_destroy(broker_t **self_p);

/* Serves until *stop becomes non-zero (set from a signal handler).
 * Returns 0, or -1 if the socket failed. */
int broker_run(broker_t *self, volatile int *stop);

#endif
