/*
 * mandi-broker - the job router and the event bus.
 *
 * The main thread runs the broker (broker.c). A second thread proxies the
 * event bus: publishers connect to MANDI_EVENTS_PUB (XSUB), subscribers to
 * MANDI_EVENTS_SUB (XPUB); subscriptions flow upstream so publishers filter.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "broker.h"
#include "buf.h"
#include "config.h"
#include "log.h"

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

typedef struct {
    void *ctx;
    void *xsub, *xpub;
} bus_t;

static void *bus_thread(void *arg)
{
    bus_t *bus = arg;
    /* Returns when the context is terminated at shutdown. */
    zmq_proxy(bus->xsub, bus->xpub, NULL);
    zmq_close(bus->xsub);
    zmq_close(bus->xpub);
    return NULL;
}

static int bus_start(bus_t *bus, pthread_t *thread)
{
    int linger = 0;
    bus->xsub = zmq_socket(bus->ctx, ZMQ_XSUB);
    bus->xpub = zmq_socket(bus->ctx, ZMQ_XPUB);
    zmq_setsockopt(bus->xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(bus->xpub, ZMQ_LINGER, &linger, sizeof linger);
    const char *pub = config_get("MANDI_EVENTS_PUB"), *sub = config_get("MANDI_EVENTS_SUB");
    if (zmq_bind(bus->xsub, pub) < 0 || zmq_bind(bus->xpub, sub) < 0) {
        log_msg(LOG_ERROR, NULL, "cannot bind the event bus (%s, %s): %s", pub, sub,
                zmq_strerror(errno));
        zmq_close(bus->xsub);
        zmq_close(bus->xpub);
        return -1;
    }
    return pthread_create(thread, NULL, bus_thread, bus) == 0 ? 0 : -1;
}

int main(void)
{
    log_init("broker");
    if (config_check_at_start() < 0)
        return 1;

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    broker_config_t config = {
        .endpoint = config_get("MANDI_BROKER"),
        .queue_max = (size_t)config_get_long("MANDI_QUEUE_MAX"),
        .max_attempts = (uint32_t)config_get_long("MANDI_MAX_ATTEMPTS"),
        .heartbeat_ms = (int)config_get_long("MANDI_HEARTBEAT_MS"),
        .heartbeat_liveness = (int)config_get_long("MANDI_HEARTBEAT_LIVENESS"),
    };
    broker_t *broker = broker_new(ctx, &config);
    if (!broker) {
        zmq_ctx_term(ctx);
        return 1;
    }
    bus_t bus = {.ctx = ctx};
    pthread_t bus_tid;
    if (bus_start(&bus, &bus_tid) < 0) {
        broker_destroy(&broker);
        zmq_ctx_term(ctx);
        return 1;
    }
    log_msg(LOG_INFO, NULL, "broker on %s, events in %s out %s", config.endpoint,
            config_get("MANDI_EVENTS_PUB"), config_get("MANDI_EVENTS_SUB"));
    int rc = broker_run(broker, &stop_requested);
    broker_destroy(&broker);
    zmq_ctx_shutdown(ctx);
    pthread_join(bus_tid, NULL);
    zmq_ctx_term(ctx);
    log_msg(LOG_INFO, NULL, "broker stopped");
    return rc < 0 ? 1 : 0;
}
