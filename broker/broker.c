/*
 * broker - routes jobs from clients to worker pools (see broker.h and
 * docs/PROTOCOL.md).
 */
#include "broker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "clock.h"
#include "job.h"
#include "log.h"
#include "mp.h"
#include "proto.h"
#include "stats.h"

typedef struct request {
    struct request *next;
    zmq_msg_t client; /* routing id of the client that sent it */
    zmq_msg_t job_id;
    zmq_msg_t body;
    uint32_t attempt; /* deliveries so far */
    int64_t received_us;
} request_t;

typedef struct service service_t;

/* A worker takes up to `credit` requests at once (its READY says how many):
 * the broker keeps them in `held` until each is answered. While it holds
 * fewer than its credit it waits in its service's ready list. */
typedef struct worker {
    struct worker *next;       /* all workers */
    struct worker *next_ready; /* ready list of its service, least recently used first */
    int in_ready;
    unsigned char identity[256];
    size_t identity_len;
    service_t *service;
    request_t *held; /* requests it holds, newest first */
    uint32_t held_count, credit;
    int64_t expiry_ms;
} worker_t;

struct service {
    struct service *next;
    char name[PROTO_SERVICE_MAX + 1];
    request_t *queue_head, *queue_tail;
    size_t queued;
    worker_t *ready_head, *ready_tail;
    size_t workers;
    stats_t stats;
};

struct broker {
    broker_config_t config;
    void *router;
    service_t *services;
    worker_t *workers;
    int64_t heartbeat_at;
    int64_t started_ms;
};

/* ---- requests ---------------------------------------------------------- */

static request_t *request_new(zmq_msg_t *client, zmq_msg_t *job_id, zmq_msg_t *body)
{
    request_t *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    zmq_msg_init(&r->client);
    zmq_msg_init(&r->job_id);
    zmq_msg_init(&r->body);
    zmq_msg_move(&r->client, client);
    zmq_msg_move(&r->job_id, job_id);
    zmq_msg_move(&r->body, body);
    r->received_us = clock_mono_us();
    return r;
}

static void request_destroy(request_t **r_p)
{
    request_t *r = *r_p;
    if (!r)
        return;
    zmq_msg_close(&r->client);
    zmq_msg_close(&r->job_id);
    zmq_msg_close(&r->body);
    free(r);
    *r_p = NULL;
}

/* ---- services ---------------------------------------------------------- */

static service_t *service_require(broker_t *self, const proto_frame_t *name)
{
    for (service_t *s = self->services; s; s = s->next)
        if (proto_frame_is(name, s->name))
            return s;
    service_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    memcpy(s->name, name->data, name->size);
    s->next = self->services;
    self->services = s;
    return s;
}

static void queue_push(service_t *s, request_t *r, int at_head)
{
    if (at_head) {
        r->next = s->queue_head;
        s->queue_head = r;
        if (!s->queue_tail)
            s->queue_tail = r;
    } else {
        r->next = NULL;
        if (s->queue_tail)
            s->queue_tail->next = r;
        else
            s->queue_head = r;
        s->queue_tail = r;
    }
    s->queued++;
}

static request_t *queue_pop(service_t *s)
{
    request_t *r = s->queue_head;
    if (!r)
        return NULL;
    s->queue_head = r->next;
    if (!s->queue_head)
        s->queue_tail = NULL;
    s->queued--;
    r->next = NULL;
    return r;
}

static void ready_push(service_t *s, worker_t *w)
{
    w->next_ready = NULL;
    w->in_ready = 1;
    if (s->ready_tail)
        s->ready_tail->next_ready = w;
    else
        s->ready_head = w;
    s->ready_tail = w;
}

static worker_t *ready_pop(service_t *s)
{
    worker_t *w = s->ready_head;
    if (!w)
        return NULL;
    s->ready_head = w->next_ready;
    if (!s->ready_head)
        s->ready_tail = NULL;
    w->next_ready = NULL;
    w->in_ready = 0;
    return w;
}

static void ready_remove(service_t *s, worker_t *w)
{
    if (!w->in_ready)
        return;
    worker_t **p = &s->ready_head;
    worker_t *prev = NULL;
    while (*p && *p != w) {
        prev = *p;
        p = &(*p)->next_ready;
    }
    if (*p) {
        *p = w->next_ready;
        if (s->ready_tail == w)
            s->ready_tail = prev;
    }
    w->in_ready = 0;
}

/* Takes the held request with job_id off w; NULL if w does not hold it. */
static request_t *held_take(worker_t *w, const proto_frame_t *job_id)
{
    for (request_t **p = &w->held; *p; p = &(*p)->next) {
        request_t *r = *p;
        if (zmq_msg_size(&r->job_id) == job_id->size &&
            memcmp(zmq_msg_data(&r->job_id), job_id->data, job_id->size) == 0) {
            *p = r->next;
            r->next = NULL;
            w->held_count--;
            return r;
        }
    }
    return NULL;
}

/* ---- sending ----------------------------------------------------------- */

static void send_to_worker(broker_t *self, worker_t *w, int command, request_t *r)
{
    unsigned char cmd = (unsigned char)command;
    proto_frame_t frames[7] = {
        {w->identity, w->identity_len},
        {PROTO_WORKER, strlen(PROTO_WORKER)},
        {&cmd, 1},
    };
    int n = 3;
    if (r) {
        unsigned char attempt[4];
        proto_put_u32(attempt, r->attempt);
        frames[n++] = (proto_frame_t){zmq_msg_data(&r->client), zmq_msg_size(&r->client)};
        frames[n++] = (proto_frame_t){zmq_msg_data(&r->job_id), zmq_msg_size(&r->job_id)};
        frames[n++] = (proto_frame_t){attempt, 4};
        frames[n++] = (proto_frame_t){zmq_msg_data(&r->body), zmq_msg_size(&r->body)};
        if (proto_send(self->router, frames, n) < 0)
            log_msg(LOG_WARN, NULL, "send to worker failed: %s", zmq_strerror(errno));
        return;
    }
    if (proto_send(self->router, frames, n) < 0)
        log_msg(LOG_WARN, NULL, "send to worker failed: %s", zmq_strerror(errno));
}

/* Answers a client in the broker's own name (refusals, dead jobs, mmi). */
static void reply_to_client(broker_t *self, const proto_frame_t *client, const char *service,
                            const proto_frame_t *job_id, int status, const buf_t *body)
{
    unsigned char cmd = PROTO_REPLY, st[2];
    proto_put_u16(st, (uint16_t)status);
    proto_frame_t frames[] = {
        *client,
        {PROTO_CLIENT, strlen(PROTO_CLIENT)},
        {&cmd, 1},
        {service, strlen(service)},
        *job_id,
        {st, 2},
        {body->data, body->len},
    };
    proto_send(self->router, frames, 7);
}

static void reply_error(broker_t *self, const proto_frame_t *client, const char *service,
                        const proto_frame_t *job_id, int status, const char *code,
                        const char *message)
{
    buf_t body = BUF_INIT;
    reply_encode_error(&body, status, code, message, NULL, 0);
    reply_to_client(self, client, service, job_id, status, &body);
    buf_free(&body);
}

/* ---- dispatch ---------------------------------------------------------- */

static void dead_request(broker_t *self, service_t *s, request_t *r)
{
    char message[128];
    snprintf(message, sizeof message, "job was lost with its worker on %u attempts", r->attempt);
    proto_frame_t client = {zmq_msg_data(&r->client), zmq_msg_size(&r->client)};
    proto_frame_t job_id = {zmq_msg_data(&r->job_id), zmq_msg_size(&r->job_id)};
    reply_error(self, &client, s->name, &job_id, 500, "JOB_DEAD", message);
    s->stats.dead++;
    s->stats.failed++;
    log_msg(LOG_WARN, NULL, "job %.*s on %s is dead after %u attempts", (int)job_id.size,
            (const char *)job_id.data, s->name, r->attempt);
}

/* Hands queued requests to ready workers while both exist; a worker with
 * credit left goes to the back of the list, so load spreads evenly. */
static void dispatch(broker_t *self, service_t *s)
{
    while (s->ready_head && s->queue_head) {
        request_t *r = queue_pop(s);
        if (r->attempt >= self->config.max_attempts) {
            dead_request(self, s, r);
            request_destroy(&r);
            continue;
        }
        worker_t *w = ready_pop(s);
        r->attempt++;
        r->next = w->held;
        w->held = r;
        w->held_count++;
        send_to_worker(self, w, PROTO_REQUEST, r);
        if (w->held_count < w->credit)
            ready_push(s, w);
    }
}

/* ---- workers ----------------------------------------------------------- */

static worker_t *worker_find(broker_t *self, const proto_frame_t *identity)
{
    for (worker_t *w = self->workers; w; w = w->next)
        if (w->identity_len == identity->size &&
            memcmp(w->identity, identity->data, identity->size) == 0)
            return w;
    return NULL;
}

/* Drops a worker; what it held goes back to the head of its queue in the
 * order it was sent. A worker that died used up an attempt of each; one that
 * said DISCONNECT answered the job it worked on and never started the rest,
 * so those keep their attempt count. A job with no attempts left is answered
 * dead at once. */
static void worker_delete(broker_t *self, worker_t *w, const char *why, int graceful)
{
    service_t *s = w->service;
    if (s) {
        ready_remove(s, w);
        /* held is newest first: pushing each at the head restores the order. */
        while (w->held) {
            request_t *r = w->held;
            w->held = r->next;
            if (graceful && r->attempt > 0)
                r->attempt--;
            /* Out of attempts: answer now rather than when a worker shows
             * up, which may be never if this was the pool's last one. */
            if (r->attempt >= self->config.max_attempts) {
                dead_request(self, s, r);
                request_destroy(&r);
                continue;
            }
            s->stats.requeued++;
            queue_push(s, r, 1);
        }
        w->held_count = 0;
        s->workers--;
        log_msg(LOG_INFO, NULL, "worker of %s dropped: %s", s->name, why);
    }
    worker_t **p = &self->workers;
    while (*p != w)
        p = &(*p)->next;
    *p = w->next;
    free(w);
    if (s)
        dispatch(self, s);
}

static void worker_ready(broker_t *self, const proto_frame_t *identity, const proto_parsed_t *m)
{
    worker_t *w = worker_find(self, identity);
    if (w) {
        /* READY twice means the worker restarted its session: start afresh. */
        worker_delete(self, w, "sent READY again", 0);
    }
    if (identity->size > sizeof w->identity)
        return;
    w = calloc(1, sizeof *w);
    if (!w)
        abort();
    memcpy(w->identity, identity->data, identity->size);
    w->identity_len = identity->size;
    w->service = service_require(self, &m->service);
    w->credit = m->credit;
    w->service->workers++;
    w->expiry_ms =
        clock_mono_ms() + (int64_t)self->config.heartbeat_ms * self->config.heartbeat_liveness;
    w->next = self->workers;
    self->workers = w;
    ready_push(w->service, w);
    log_msg(LOG_INFO, NULL, "worker of %s ready (credit %u, %zu workers)", w->service->name,
            w->credit, w->service->workers);
    dispatch(self, w->service);
}

static void forward_reply(broker_t *self, const char *service, zmq_msg_t *msgs,
                          const proto_parsed_t *m)
{
    unsigned char cmd = PROTO_REPLY, st[2];
    proto_put_u16(st, m->status);
    proto_frame_t frames[] = {
        m->client, {PROTO_CLIENT, strlen(PROTO_CLIENT)},
        {&cmd, 1}, {service, strlen(service)},
        m->job_id, {st, 2},
        m->body,
    };
    (void)msgs;
    if (proto_send(self->router, frames, 7) < 0)
        log_msg(LOG_WARN, NULL, "reply to client failed: %s", zmq_strerror(errno));
}

static void worker_message(broker_t *self, const proto_frame_t *identity, zmq_msg_t *msgs,
                           const proto_parsed_t *m)
{
    if (m->command == PROTO_READY) {
        worker_ready(self, identity, m);
        return;
    }
    worker_t *w = worker_find(self, identity);
    if (!w) {
        /* A worker from before a broker restart. Its reply still reaches the
         * client (the client's routing id is stable); then it must register
         * again, which DISCONNECT tells it to do. */
        if (m->command == PROTO_REPLY)
            forward_reply(self, "unknown", msgs, m);
        if (m->command != PROTO_DISCONNECT) {
            worker_t ghost = {.identity_len = identity->size};
            if (identity->size <= sizeof ghost.identity) {
                memcpy(ghost.identity, identity->data, identity->size);
                send_to_worker(self, &ghost, PROTO_DISCONNECT, NULL);
            }
        }
        return;
    }
    w->expiry_ms =
        clock_mono_ms() + (int64_t)self->config.heartbeat_ms * self->config.heartbeat_liveness;
    service_t *s = w->service;
    switch (m->command) {
    case PROTO_HEARTBEAT:
        break;
    case PROTO_DISCONNECT:
        worker_delete(self, w, "disconnected", 1);
        break;
    case PROTO_REPLY: {
        request_t *r = held_take(w, &m->job_id);
        if (r) {
            stats_record_latency(&s->stats, clock_mono_us() - r->received_us);
            if (m->status >= 500)
                s->stats.failed++;
            else
                s->stats.done++;
            request_destroy(&r);
            if (!w->in_ready)
                ready_push(s, w);
        }
        forward_reply(self, s->name, msgs, m);
        dispatch(self, s);
        break;
    }
    }
}

static void purge_expired(broker_t *self)
{
    int64_t now = clock_mono_ms();
    worker_t *w = self->workers;
    while (w) {
        worker_t *next = w->next;
        if (w->expiry_ms < now)
            worker_delete(self, w, "heartbeats missed", 0);
        w = next;
    }
}

static void send_heartbeats(broker_t *self)
{
    for (worker_t *w = self->workers; w; w = w->next)
        send_to_worker(self, w, PROTO_HEARTBEAT, NULL);
}

/* ---- clients ----------------------------------------------------------- */

static void mmi_stats(broker_t *self, const proto_frame_t *client, const proto_frame_t *job_id)
{
    buf_t body = BUF_INIT, reply = BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, buf_msgpack_write);
    size_t count = 0;
    for (service_t *s = self->services; s; s = s->next)
        if (strncmp(s->name, "mmi.", 4) != 0)
            count++;
    msgpack_pack_map(&pk, 3);
    mp_kv_i64(&pk, "uptime_ms", clock_mono_ms() - self->started_ms);
    mp_pack_cstr(&pk, "latency_bounds_us");
    msgpack_pack_array(&pk, STATS_BUCKETS);
    for (int i = 0; i < STATS_BUCKETS; i++)
        msgpack_pack_int64(&pk, stats_bucket_us[i]);
    mp_pack_cstr(&pk, "services");
    msgpack_pack_array(&pk, count);
    for (service_t *s = self->services; s; s = s->next) {
        if (strncmp(s->name, "mmi.", 4) == 0)
            continue;
        size_t idle = 0, held = 0;
        for (worker_t *w = self->workers; w; w = w->next)
            if (w->service == s) {
                idle += w->held_count == 0;
                held += w->held_count;
            }
        stats_pack(&s->stats, &pk, s->name, idle, s->workers - idle, s->queued, held);
    }
    reply_encode_ok(&reply, 200, body.data, body.len);
    reply_to_client(self, client, "mmi.stats", job_id, 200, &reply);
    buf_free(&body);
    buf_free(&reply);
}

/* mmi.service: the body is a msgpack string naming a service; 200 when it has
 * at least one worker, 404 otherwise (8/MMI). */
static void mmi_service(broker_t *self, const proto_frame_t *client, const proto_frame_t *job_id,
                        const proto_frame_t *body)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int found = 0;
    if (msgpack_unpack_next(&u, body->data, body->size, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_STR) {
        for (service_t *s = self->services; s; s = s->next)
            if (strlen(s->name) == u.data.via.str.size &&
                memcmp(s->name, u.data.via.str.ptr, u.data.via.str.size) == 0)
                found = s->workers > 0;
    }
    msgpack_unpacked_destroy(&u);
    buf_t reply = BUF_INIT;
    if (found)
        reply_encode_ok(&reply, 200, NULL, 0);
    else
        reply_encode_error(&reply, 404, "SERVICE_UNAVAILABLE", "no worker serves this service",
                           NULL, 0);
    reply_to_client(self, client, "mmi.service", job_id, found ? 200 : 404, &reply);
    buf_free(&reply);
}

static void client_message(broker_t *self, zmq_msg_t *msgs, const proto_parsed_t *m)
{
    proto_frame_t client = {zmq_msg_data(&msgs[0]), zmq_msg_size(&msgs[0])};
    if (proto_frame_is(&m->service, "mmi.stats")) {
        mmi_stats(self, &client, &m->job_id);
        return;
    }
    if (proto_frame_is(&m->service, "mmi.service")) {
        mmi_service(self, &client, &m->job_id, &m->body);
        return;
    }
    if (m->service.size >= 4 && memcmp(m->service.data, "mmi.", 4) == 0) {
        char name[PROTO_SERVICE_MAX + 1] = {0};
        memcpy(name, m->service.data, m->service.size);
        reply_error(self, &client, name, &m->job_id, 501, "MMI_UNKNOWN", "unknown broker service");
        return;
    }
    service_t *s = service_require(self, &m->service);
    if (!s->ready_head && s->queued >= self->config.queue_max) {
        s->stats.refused++;
        reply_error(self, &client, s->name, &m->job_id, 503, "OVERLOADED",
                    "every worker of this pool is busy and its queue is full");
        return;
    }
    /* frames: 0 client id, 1 header, 2 command, 3 service, 4 job id, 5 body */
    request_t *r = request_new(&msgs[0], &msgs[4], &msgs[5]);
    queue_push(s, r, 0);
    dispatch(self, s);
}

/* ---- loop -------------------------------------------------------------- */

static void handle_message(broker_t *self)
{
    zmq_msg_t msgs[PROTO_MAX_FRAMES];
    int count;
    if (proto_recv(self->router, msgs, &count, ZMQ_DONTWAIT) < 0) {
        if (count < 0)
            log_msg(LOG_WARN, NULL, "dropped a message with too many frames");
        return;
    }
    proto_frame_t frames[PROTO_MAX_FRAMES];
    proto_frames_of(msgs, count, frames);
    proto_parsed_t m;
    const char *why = NULL;
    if (count < 1 || proto_parse(frames + 1, count - 1, PROTO_TO_BROKER, &m, &why) < 0) {
        log_msg(LOG_WARN, NULL, "dropped a malformed message: %s", why ? why : "empty");
    } else if (m.side == PROTO_SIDE_CLIENT) {
        client_message(self, msgs, &m);
    } else {
        worker_message(self, &frames[0], msgs, &m);
    }
    proto_close(msgs, count);
}

broker_t *broker_new(void *zmq_ctx, const broker_config_t *config)
{
    broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->router = zmq_socket(zmq_ctx, ZMQ_ROUTER);
    int on = 1, linger = 0;
    /* Replies to a client that has gone are dropped, not an error. */
    zmq_setsockopt(self->router, ZMQ_ROUTER_MANDATORY, &(int){0}, sizeof(int));
    zmq_setsockopt(self->router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->router, ZMQ_ROUTER_HANDOVER, &on, sizeof on);
    int hwm = 0; /* bounded by the service queues, not by zmq */
    zmq_setsockopt(self->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind(self->router, config->endpoint) < 0) {
        log_msg(LOG_ERROR, NULL, "cannot bind %s: %s", config->endpoint, zmq_strerror(errno));
        zmq_close(self->router);
        free(self);
        return NULL;
    }
    self->started_ms = clock_mono_ms();
    return self;
}

void broker_destroy(broker_t **self_p)
{
    broker_t *self = *self_p;
    if (!self)
        return;
    while (self->workers) {
        worker_t *w = self->workers;
        self->workers = w->next;
        while (w->held) {
            request_t *r = w->held;
            w->held = r->next;
            request_destroy(&r);
        }
        free(w);
    }
    while (self->services) {
        service_t *s = self->services;
        self->services = s->next;
        request_t *r;
        while ((r = queue_pop(s)))
            request_destroy(&r);
        free(s);
    }
    zmq_close(self->router);
    free(self);
    *self_p = NULL;
}

int broker_run(broker_t *self, volatile int *stop)
{
    self->heartbeat_at = clock_mono_ms() + self->config.heartbeat_ms;
    while (!*stop) {
        int64_t wait = self->heartbeat_at - clock_mono_ms();
        zmq_pollitem_t item = {self->router, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, wait > 0 ? (long)wait : 0);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERROR, NULL, "poll failed: %s", zmq_strerror(errno));
            return -1;
        }
        /* Drain what is readable in one go: fewer poll calls under load. */
        if (item.revents & ZMQ_POLLIN) {
            for (int i = 0; i < 256; i++) {
                int events = 0;
                size_t size = sizeof events;
                zmq_getsockopt(self->router, ZMQ_EVENTS, &events, &size);
                if (!(events & ZMQ_POLLIN))
                    break;
                handle_message(self);
            }
        }
        if (clock_mono_ms() >= self->heartbeat_at) {
            purge_expired(self);
            send_heartbeats(self);
            self->heartbeat_at = clock_mono_ms() + self->config.heartbeat_ms;
        }
    }
    return 0;
}
