/*
 * dispatch - the front's connection to the broker (see dispatch.h).
 */
#include "dispatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "mailbox.h"
#include "mp.h"
#include "pending.h"
#include "proto.h"
#include "uuid.h"

#define STATS_INTERVAL_MS 500

static struct {
    void *zmq_ctx;
    void *broker;
    mailbox_t mailbox;
    pending_set_t *pending;
    pthread_t thread;
    atomic_int stop;
    long lease_ms;
    /* Latest mmi.stats body, read by HTTP threads. */
    pthread_mutex_t stats_lock;
    buf_t stats;
    int64_t stats_at_ms;
    char stats_job_id[37];
    atomic_size_t in_flight;
} d;

void dispatch_post(request_t *req)
{
    req->mail.kind = MAIL_DISPATCH;
    mailbox_post(&d.mailbox, &req->mail);
}

int64_t dispatch_pool_stats(buf_t *out)
{
    pthread_mutex_lock(&d.stats_lock);
    int64_t age = d.stats_at_ms ? clock_mono_ms() - d.stats_at_ms : -1;
    buf_append(out, d.stats.data, d.stats.len);
    pthread_mutex_unlock(&d.stats_lock);
    return age;
}

size_t dispatch_in_flight(void)
{
    return atomic_load(&d.in_flight);
}

static void send_request(const char *service, const char *job_id, const char *body, size_t len)
{
    unsigned char cmd = PROTO_REQUEST;
    proto_frame_t frames[] = {
        {PROTO_CLIENT, strlen(PROTO_CLIENT)},
        {&cmd, 1},
        {service, strlen(service)},
        {job_id, strlen(job_id)},
        {body, len},
    };
    if (proto_send(d.broker, frames, 5) < 0)
        log_msg(LOG_WARN, NULL, "send to broker failed: %s", zmq_strerror(errno));
}

/* Sends a job and remembers who waits for it. */
static void submit(request_t *req)
{
    const job_t *job = &req->job;
    send_request(job->service, job->id, req->envelope.data, req->envelope.len);
    pending_t *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    memcpy(p->job_id, job->id, sizeof p->job_id);
    memcpy(p->service, job->service, sizeof p->service);
    p->durable = job->durable;
    p->deadline_ms = clock_mono_ms() + req->wait_ms;
    if (req->conn) {
        p->req = req;
        atomic_fetch_add(&d.in_flight, 1);
    } else {
        /* Nobody waits: a durable job records itself; a read's reply is
         * recorded by the journal when it comes. */
        p->deadline_ms = clock_mono_ms() + d.lease_ms;
        request_destroy(&req);
    }
    pending_add(d.pending, p);
}

/* A reply the broker gave in its own name for a recorded job: a refusal
 * leaves nothing behind; a dead job is recorded as such. */
static void settle_record(pending_t *p, int status, const char *body, size_t len)
{
    if (p->durable && status != 503 && status != 500)
        return;
    reply_t reply;
    const char *why;
    int decoded = reply_decode(&reply, body, len, &why) == 0;
    int overloaded = decoded && reply.code && mp_str_is(reply.code, "OVERLOADED");
    int dead = decoded && reply.code && mp_str_is(reply.code, "JOB_DEAD");
    if (decoded)
        reply_release(&reply);
    if (p->durable && overloaded && p->req)
        journal_discard(p->job_id); /* its caller is told 503; a 202'd job waits for the sweep */
    else if (p->durable && dead)
        journal_finish(p->job_id, "dead", status, body, len);
    else if (!p->durable && !p->req)
        journal_finish(p->job_id, status < 400 ? "succeeded" : "failed", status, body, len);
}

static void on_reply(const proto_parsed_t *m)
{
    if (proto_frame_is(&m->service, "mmi.stats")) {
        reply_t reply;
        const char *why;
        if (reply_decode(&reply, m->body.data, m->body.size, &why) == 0) {
            if (reply.body) {
                buf_t packed = BUF_INIT;
                msgpack_packer pk;
                msgpack_packer_init(&pk, &packed, buf_msgpack_write);
                msgpack_pack_object(&pk, *reply.body);
                pthread_mutex_lock(&d.stats_lock);
                buf_reset(&d.stats);
                buf_append(&d.stats, packed.data, packed.len);
                d.stats_at_ms = clock_mono_ms();
                pthread_mutex_unlock(&d.stats_lock);
                buf_free(&packed);
            }
            reply_release(&reply);
        }
        return;
    }
    pending_t *p = pending_find(d.pending, m->job_id.data, m->job_id.size);
    if (!p)
        return; /* a reply nobody waits for: the job recorded itself */
    settle_record(p, m->status, m->body.data, m->body.size);
    p->settled = 1;
    pending_forget(d.pending, p);
    request_t *req = p->req;
    if (req) {
        p->req = NULL;
        atomic_fetch_sub(&d.in_flight, 1);
        req->outcome = OUT_REPLY;
        req->out_status = m->status;
        buf_append(&req->out_body, m->body.data, m->body.size);
        request_resume(req);
    }
}

static void on_broker_readable(void)
{
    for (int i = 0; i < 512; i++) {
        zmq_msg_t msgs[PROTO_MAX_FRAMES];
        int count;
        if (proto_recv(d.broker, msgs, &count, ZMQ_DONTWAIT) < 0)
            return;
        proto_frame_t frames[PROTO_MAX_FRAMES];
        proto_frames_of(msgs, count, frames);
        proto_parsed_t m;
        const char *why;
        if (proto_parse(frames, count, PROTO_FROM_BROKER, &m, &why) == 0 &&
            m.side == PROTO_SIDE_CLIENT)
            on_reply(&m);
        else
            log_msg(LOG_WARN, NULL, "dropped a malformed reply from the broker");
        proto_close(msgs, count);
    }
}

/* The wait of a request ran out. */
static void on_expired(pending_t *p)
{
    request_t *req = p->req;
    if (p->settled || !req) {
        free(p);
        return;
    }
    atomic_fetch_sub(&d.in_flight, 1);
    if (req->match.route->flags & ROUTE_SYNC) {
        request_fail(req, 504, "TIMEOUT", "no reply from pool %s within %d ms", p->service,
                     req->wait_ms);
        request_resume(req);
        free(p);
    } else if (p->durable) {
        req->outcome = OUT_ACCEPTED;
        request_resume(req);
        free(p);
    } else {
        /* A read that outlives its wait is recorded now and answered 202;
         * its reply, when it comes, is recorded for the poller. */
        journal_accept_late(req);
        p->req = NULL;
        p->settled = 0;
        p->deadline_ms = clock_mono_ms() + d.lease_ms;
        pending_add(d.pending, p);
    }
}

static void ask_stats(void)
{
    char body = (char)0xc0; /* msgpack nil */
    send_request("mmi.stats", d.stats_job_id, &body, 1);
}

/* A request the front stops under: a durable job is already recorded and
 * the sweep of any front will deliver it, so its client gets 202 and the
 * job to poll; anything else was never kept and is refused. */
static void answer_on_shutdown(request_t *req)
{
    if (req->job.durable)
        req->outcome = OUT_ACCEPTED;
    else
        request_fail(req, 503, "SHUTTING_DOWN", "the front is stopping");
    request_resume(req);
}

static void shut_down_waiting(void)
{
    pending_t *p;
    while ((p = pending_pop_expired(d.pending, INT64_MAX))) {
        if (!p->settled && p->req)
            answer_on_shutdown(p->req);
        free(p);
    }
}

static void *dispatch_main(void *arg)
{
    (void)arg;
    int64_t stats_at = 0;
    while (!atomic_load(&d.stop)) {
        int64_t now = clock_mono_ms();
        if (now >= stats_at) {
            ask_stats();
            stats_at = now + STATS_INTERVAL_MS;
        }
        int64_t wait = stats_at - now;
        int64_t next = pending_next_deadline(d.pending, now);
        if (next >= 0 && next < wait)
            wait = next;
        zmq_pollitem_t items[] = {{d.broker, 0, ZMQ_POLLIN, 0},
                                  {NULL, d.mailbox.fd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)wait) < 0 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            on_broker_readable();
        if (items[1].revents & ZMQ_POLLIN) {
            mail_t *m = mailbox_take_all(&d.mailbox);
            while (m) {
                mail_t *next_mail = m->next;
                submit((request_t *)m);
                m = next_mail;
            }
        }
        pending_t *p;
        now = clock_mono_ms();
        while ((p = pending_pop_expired(d.pending, now)))
            on_expired(p);
    }
    shut_down_waiting();
    return NULL;
}

int dispatch_start(void *zmq_ctx)
{
    d.zmq_ctx = zmq_ctx;
    d.lease_ms = config_get_long("MANDI_JOB_LEASE_MS");
    pthread_mutex_init(&d.stats_lock, NULL);
    uuid_v4(d.stats_job_id);
    if (mailbox_init(&d.mailbox) < 0)
        return -1;
    d.pending = pending_set_new();
    d.broker = zmq_socket(zmq_ctx, ZMQ_DEALER);
    /* A stable routing id lets replies find this front after the broker
     * restarts and the connection is made again. */
    char identity[48] = "front-";
    uuid_v4(identity + 6);
    zmq_setsockopt(d.broker, ZMQ_ROUTING_ID, identity, strlen(identity));
    int linger = 0, hwm = 0;
    zmq_setsockopt(d.broker, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(d.broker, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(d.broker, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_connect(d.broker, config_get("MANDI_BROKER")) < 0) {
        log_msg(LOG_ERROR, NULL, "cannot connect to %s: %s", config_get("MANDI_BROKER"),
                zmq_strerror(errno));
        return -1;
    }
    return pthread_create(&d.thread, NULL, dispatch_main, NULL) == 0 ? 0 : -1;
}

void dispatch_drain(void)
{
    mail_t *m = mailbox_take_all(&d.mailbox);
    while (m) {
        mail_t *next = m->next;
        request_t *req = (request_t *)m;
        if (req->conn) {
            answer_on_shutdown(req);
        } else {
            request_destroy(&req);
        }
        m = next;
    }
}

void dispatch_stop(void)
{
    atomic_store(&d.stop, 1);
    uint64_t one = 1;
    ssize_t n = write(d.mailbox.fd, &one, sizeof one);
    (void)n;
    pthread_join(d.thread, NULL);
    dispatch_drain();
    zmq_close(d.broker);
    /* The mailbox stays open: other threads may still post while the
     * process stops, and dispatch_drain answers them. */
}
