/*
 * stream - Server-Sent Events of the caller's domain events (see stream.h).
 *
 * Where events come from: the outbox table is the record and gives the
 * order; the bus only says "something new". On each bus message (and once
 * a second, since the bus may drop) the fan-out thread reads the table after
 * the last position it handed out, so every stream gets events in position
 * order, once, whatever relays race or repeat on the bus. A stream that
 * resumes with Last-Event-ID first replays the table from that position in
 * pages, as fast as its client drains them, and joins the live streams when
 * it reaches the position they are at; from then on it takes what they
 * take. Nothing falls between the two and nothing is sent twice.
 *
 * A stream is worth no more than the token it was opened with: when the
 * token expires or is revoked, the fan-out thread queues an "end" frame
 * naming why and ends the response, and the client comes back with a fresh
 * token and Last-Event-ID.
 *
 * Locking: one mutex guards the list of streams and every stream's buffer.
 * The fan-out thread takes it to deliver, the MHD threads to drain and to
 * free. MHD's own locks and the revoked table's read lock are only ever
 * taken inside it (suspend, resume, a revocation look-up), never the other
 * way round, and database reads happen outside it.
 */
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "mp.h"
#include "outbox.h"
#include "revoked.h"

/* Topics a stream carries, by prefix. */
static const char *const streamed_topics[] = {"order.", "wallet.", "refund.", "payout.",
                                              "notification."};

/* Which events a role sees. A scope is a list of body fields, each
 * compared with something of the caller's: the event is shown when any of
 * them matches. OWN: bodies whose "user_id" is the caller; STORES: those
 * and bodies whose "merchant_id" (the owner of the order's store, which
 * the order and refund events carry) is the caller; ZONES: those whose
 * "user_id" is the caller and those whose "zone" is one of the token's
 * zones; ALL: every streamed event. Roles not listed see their own. */
typedef enum { SCOPE_OWN, SCOPE_STORES, SCOPE_ZONES, SCOPE_ALL } scope_t;

typedef enum { CALLER_SUB, CALLER_ZONES } caller_t;

#define SCOPE_FIELDS 2

static const struct {
    int all;
    struct {
        const char *field; /* NULL ends the list */
        caller_t against;
    } fields[SCOPE_FIELDS];
} scopes[] = {
    [SCOPE_OWN] = {0, {{"user_id", CALLER_SUB}}},
    [SCOPE_STORES] = {0, {{"user_id", CALLER_SUB}, {"merchant_id", CALLER_SUB}}},
    [SCOPE_ZONES] = {0, {{"user_id", CALLER_SUB}, {"zone", CALLER_ZONES}}},
    [SCOPE_ALL] = {.all = 1},
};

static const struct {
    const char *role;
    scope_t scope;
} role_scopes[] = {
    {"MERCHANT", SCOPE_STORES},
    {"LOCATION_ADMIN", SCOPE_ZONES},
    {"ADMIN", SCOPE_ALL},
    {"SUPER_ADMIN", SCOPE_ALL},
};

/* Why the front ends a stream whose client is still there. The reason
 * goes out in a last frame, "event: end" with {"reason": …} as data and no
 * id (a resuming client's Last-Event-ID stays the last event's), so that
 * the client comes back with a fresh token instead of the spent one. */
typedef enum { END_TOKEN_EXPIRED, END_TOKEN_REVOKED, END_REASONS } end_t;

static const char *const end_reasons[END_REASONS] = {
    [END_TOKEN_EXPIRED] = "token_expired",
    [END_TOKEN_REVOKED] = "token_revoked",
};

#define RETRY_HINT_MS    3000 /* the "retry:" sent first: how soon a client reconnects */
#define PAGE_ROWS        200  /* outbox rows read at a time */
#define CATCH_UP_BATCH   16   /* resuming streams served per round */
#define POLL_MS          1000 /* table read without a bus message: the bus may drop */
#define IDLE_TICK_MS     200  /* longest sleep of the fan-out thread */
#define BUSY_TICK_MS     20   /* sleep while some stream is still replaying */
#define DB_RETRY_MS      1000
#define REVOKED_CHECK_MS 1000 /* how often open streams' tokens are looked up as revoked */
#define READER_BLOCK     16384
#define KEEPALIVE_FRAME  ": keep-alive\n\n"

typedef struct stream {
    struct stream *next;
    uint64_t id; /* names the stream across unlocked stretches (pointers may be reused) */
    struct MHD_Connection *conn;
    char sub[64];
    char zones[256];
    char jti[64]; /* the token's, to notice its revocation */
    int64_t exp;  /* the token's expiry, in seconds since the epoch */
    scope_t scope;
    buf_t out; /* frames not yet taken by MHD: out.data[off .. out.len) */
    size_t off;
    int suspended;   /* the content reader suspended the connection */
    int catching_up; /* still replaying the table; not yet fed live events */
    int ending;      /* end the stream once its buffer is sent (shutdown, token over) */
    int dropped;     /* buffer full: the client is too slow; cut it off */
    int64_t cursor;  /* highest position sent or skipped; later events only */
} stream_t;

static struct {
    pthread_mutex_t lock;
    stream_t *head;
    long count;
    uint64_t next_id;
    int closing;
    long max_streams;
    long keepalive_ms;
    size_t buffer_max;
    /* Fan-out thread only. */
    int64_t live_pos; /* last position handed to live streams; -1 until known */
    PGconn *db;
    int64_t db_retry_at;
    int64_t revoked_check_at;
    void *sub;
    pthread_t thread;
    int running;
    atomic_int stop;
    /* Counters, under lock. */
    uint64_t opened_total, dropped_total, events_total, ended_total[END_REASONS];
} st = {.lock = PTHREAD_MUTEX_INITIALIZER, .live_pos = -1};

/* ---- who sees what ------------------------------------------------------ */

static int topic_streamed(const char *topic, size_t len)
{
    for (size_t i = 0; i < sizeof streamed_topics / sizeof streamed_topics[0]; i++) {
        size_t plen = strlen(streamed_topics[i]);
        if (plen <= len && memcmp(streamed_topics[i], topic, plen) == 0)
            return 1;
    }
    return 0;
}

static scope_t scope_of(const char *role)
{
    for (size_t i = 0; i < sizeof role_scopes / sizeof role_scopes[0]; i++)
        if (strcmp(role_scopes[i].role, role) == 0)
            return role_scopes[i].scope;
    return SCOPE_OWN;
}

/* o is a string equal to one of the comma-separated items of list. */
static int str_in_list(const msgpack_object *o, const char *list)
{
    if (!o || o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0)
        return 0;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == o->via.str.size && memcmp(p, o->via.str.ptr, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int may_see(const stream_t *s, const msgpack_object *body)
{
    if (scopes[s->scope].all)
        return 1;
    for (int i = 0; i < SCOPE_FIELDS && scopes[s->scope].fields[i].field; i++) {
        const msgpack_object *v = mp_get(body, scopes[s->scope].fields[i].field);
        if (scopes[s->scope].fields[i].against == CALLER_SUB ? mp_str_is(v, s->sub)
                                                             : str_in_list(v, s->zones))
            return 1;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------- */

typedef struct {
    int64_t pos;
    msgpack_unpacked body;
    buf_t frame; /* the SSE frame, built once for all streams */
} event_t;

/* Reads row i of an outbox result. Returns 1 when it is an event streams
 * may carry (frame and body filled), 0 when no stream carries it (another
 * topic, or a body that is not a map or cannot be shown as JSON); e->pos is
 * set either way. */
static int event_load(PGresult *res, int i, event_t *e)
{
    e->pos = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    const char *topic = PQgetvalue(res, i, 1);
    size_t topic_len = (size_t)PQgetlength(res, i, 1);
    if (!topic_streamed(topic, topic_len))
        return 0;
    const char *body = PQgetvalue(res, i, 2);
    size_t body_len = (size_t)PQgetlength(res, i, 2), off = 0;
    if (msgpack_unpack_next(&e->body, body, body_len, &off) != MSGPACK_UNPACK_SUCCESS ||
        e->body.data.type != MSGPACK_OBJECT_MAP)
        return 0;
    buf_reset(&e->frame);
    /* Topics are [a-z0-9_.] (the outbox's check) and the JSON is on one
     * line, so neither can break the frame. */
    buf_printf(&e->frame, "id: %" PRId64 "\nevent: %.*s\ndata: ", e->pos, (int)topic_len, topic);
    if (codec_object_to_json(&e->body.data, &e->frame, NULL) < 0)
        return 0;
    buf_append_str(&e->frame, "\n\n");
    return 1;
}

/* ---- buffers (under st.lock) -------------------------------------------- */

static void wake(stream_t *s)
{
    if (s->suspended) {
        s->suspended = 0;
        MHD_resume_connection(s->conn);
    }
}

static size_t pending(const stream_t *s)
{
    return s->out.len - s->off;
}

/* Queues bytes on a stream. A client that lets its buffer fill up is cut
 * off rather than allowed to grow the front's memory; it may come back with
 * Last-Event-ID and replay at its own pace. */
static void put(stream_t *s, const char *data, size_t len)
{
    if (s->dropped || s->ending)
        return;
    size_t left = pending(s);
    if (left + len > st.buffer_max) {
        s->dropped = 1;
        st.dropped_total++;
        log_msg(LOG_WARN, NULL, "event stream of %s dropped: its client is not reading", s->sub);
        wake(s);
        return;
    }
    if (s->off) {
        memmove(s->out.data, s->out.data + s->off, left);
        s->out.len = left;
        s->off = 0;
    }
    buf_append(&s->out, data, len);
    wake(s);
}

static stream_t *find(uint64_t id)
{
    for (stream_t *s = st.head; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* ---- MHD's side ---------------------------------------------------------- */

/* Hands MHD what is buffered; with nothing buffered, suspends the
 * connection until the fan-out thread has more (returning 0 without
 * suspending would make MHD call again at once, a busy loop). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *s = cls;
    ssize_t n;
    pthread_mutex_lock(&st.lock);
    if (s->dropped) {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (pending(s) > 0) {
        size_t take = pending(s) < max ? pending(s) : max;
        memcpy(buf, s->out.data + s->off, take);
        s->off += take;
        if (s->off == s->out.len)
            s->off = s->out.len = 0;
        n = (ssize_t)take;
    } else if (s->ending) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        s->suspended = 1;
        MHD_suspend_connection(s->conn);
        n = 0;
    }
    pthread_mutex_unlock(&st.lock);
    return n;
}

/* The response is gone (the client left, the stream ended, or the daemon
 * stopped): the slot is free. */
static void stream_free(void *cls)
{
    stream_t *s = cls;
    pthread_mutex_lock(&st.lock);
    for (stream_t **p = &st.head; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            st.count--;
            break;
        }
    pthread_mutex_unlock(&st.lock);
    buf_free(&s->out);
    free(s);
}

/* Last-Event-ID (header, or ?last_event_id= for clients that cannot set
 * headers): a position, digits only. Returns 0 with *out (-1 when absent),
 * or -1 when it is not a position. */
static int last_event_id(request_t *req, int64_t *out)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (!v)
        v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "last_event_id");
    *out = -1;
    if (!v || !*v)
        return 0;
    size_t n = strlen(v);
    if (n > 18 || strspn(v, "0123456789") != n)
        return -1;
    *out = strtoll(v, NULL, 10);
    return 0;
}

int stream_open(request_t *req, enum MHD_Result *rc)
{
    int64_t last;
    if (last_event_id(req, &last) < 0) {
        request_fail(req, 400, "INVALID_LAST_EVENT_ID",
                     "Last-Event-ID must be an event id from this stream (digits)");
        return -1;
    }
    stream_t *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->conn = req->conn;
    snprintf(s->sub, sizeof s->sub, "%s", req->claims.sub);
    snprintf(s->zones, sizeof s->zones, "%s", req->claims.zones);
    snprintf(s->jti, sizeof s->jti, "%s", req->claims.jti);
    s->exp = req->claims.exp;
    s->scope = scope_of(req->claims.role);
    s->catching_up = last >= 0;
    s->cursor = last >= 0 ? last : 0;
    buf_printf(&s->out, "retry: %d\n\n", RETRY_HINT_MS);

    pthread_mutex_lock(&st.lock);
    if (st.closing || st.count >= st.max_streams) {
        int closing = st.closing;
        pthread_mutex_unlock(&st.lock);
        buf_free(&s->out);
        free(s);
        if (closing)
            request_fail(req, 503, "SHUTTING_DOWN", "the front is stopping");
        else
            request_fail(req, 503, "TOO_MANY_STREAMS",
                         "this front holds its most event streams (%ld); try again later",
                         st.max_streams);
        return -1;
    }
    s->id = ++st.next_id;
    s->next = st.head;
    st.head = s;
    st.count++;
    st.opened_total++;
    pthread_mutex_unlock(&st.lock);

    /* From here the stream is registered: stream_free undoes it, also when
     * the response cannot be made or queued. */
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, READER_BLOCK, stream_read, s, stream_free);
    if (!response) {
        stream_free(s);
        request_fail(req, 503, "OVERLOADED", "the stream could not be set up");
        return -1;
    }
    MHD_add_response_header(response, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(response, "Cache-Control", "no-cache");
    MHD_add_response_header(response, "X-Accel-Buffering", "no"); /* proxies: do not hold it */
    MHD_add_response_header(response, "X-Request-Id", req->request_id);
    req->final_status = 200;
    *rc = MHD_queue_response(req->conn, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return 0;
}

/* ---- the fan-out thread ------------------------------------------------- */

/* Usable connection, or NULL; reconnects at most once per DB_RETRY_MS. */
static PGconn *database(void)
{
    if (st.db && PQstatus(st.db) == CONNECTION_OK)
        return st.db;
    int64_t now = clock_mono_ms();
    if (now < st.db_retry_at)
        return NULL;
    if (db_ensure(&st.db, config_get("DATABASE_URL")) < 0) {
        st.db_retry_at = now + DB_RETRY_MS;
        return NULL;
    }
    return st.db;
}

/* Live streams start after the table's end as it is when the thread
 * starts (or the database first answers). */
static int find_live_pos(PGconn *db)
{
    PGresult *res = PQexec(db, "SELECT coalesce(max(position), 0)::text FROM outbox");
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    if (ok)
        st.live_pos = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        log_msg(LOG_WARN, NULL, "event streams: cannot read the outbox: %s",
                PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

/* Hands the table's new events to the live streams that may see them. */
static void follow_table(PGconn *db, event_t *e)
{
    if (st.live_pos < 0 && find_live_pos(db) < 0)
        return;
    for (;;) {
        PGresult *res = outbox_read_after(db, st.live_pos, PAGE_ROWS);
        if (!res)
            return;
        int rows = PQntuples(res);
        pthread_mutex_lock(&st.lock);
        for (int i = 0; i < rows; i++) {
            if (event_load(res, i, e)) {
                for (stream_t *s = st.head; s; s = s->next) {
                    if (s->catching_up || e->pos <= s->cursor || !may_see(s, &e->body.data))
                        continue;
                    put(s, e->frame.data, e->frame.len);
                    s->cursor = e->pos;
                    st.events_total++;
                }
            }
            st.live_pos = e->pos;
        }
        pthread_mutex_unlock(&st.lock);
        PQclear(res);
        if (rows < PAGE_ROWS)
            return;
    }
}

/* Moves one page further for each of up to CATCH_UP_BATCH replaying
 * streams whose client has taken most of what it was given. A stream joins
 * the live ones when its replay reaches live_pos. Returns how many streams
 * are still replaying. */
static int serve_catch_up(PGconn *db, event_t *e)
{
    if (st.live_pos < 0)
        return 0;
    struct {
        uint64_t id;
        int64_t cursor;
    } due[CATCH_UP_BATCH];
    int n = 0, replaying = 0;
    pthread_mutex_lock(&st.lock);
    for (stream_t *s = st.head; s; s = s->next) {
        if (!s->catching_up || s->dropped || s->ending)
            continue;
        replaying++;
        if (n < CATCH_UP_BATCH && pending(s) <= st.buffer_max / 4) {
            due[n].id = s->id;
            due[n].cursor = s->cursor;
            n++;
        }
    }
    pthread_mutex_unlock(&st.lock);

    for (int k = 0; k < n; k++) {
        PGresult *res = outbox_read_after(db, due[k].cursor, PAGE_ROWS);
        if (!res)
            return replaying;
        int rows = PQntuples(res);
        pthread_mutex_lock(&st.lock);
        stream_t *s = find(due[k].id);
        int i = 0;
        for (; s && i < rows; i++) {
            int show = event_load(res, i, e);
            /* Past live_pos the live path delivers it: switch over here. */
            if (e->pos > st.live_pos)
                break;
            /* Pace the replay by the client: stop at half a buffer and go
             * on from here next round. */
            if (show && may_see(s, &e->body.data)) {
                if (pending(s) + e->frame.len > st.buffer_max / 2 && pending(s) > 0)
                    break;
                put(s, e->frame.data, e->frame.len);
                st.events_total++;
            }
            s->cursor = e->pos;
        }
        if (s && (i < rows ? e->pos > st.live_pos : rows < PAGE_ROWS)) {
            s->catching_up = 0;
            replaying--;
        }
        pthread_mutex_unlock(&st.lock);
        PQclear(res);
    }
    return replaying;
}

static void keep_alive(void)
{
    pthread_mutex_lock(&st.lock);
    for (stream_t *s = st.head; s; s = s->next)
        put(s, KEEPALIVE_FRAME, sizeof KEEPALIVE_FRAME - 1);
    pthread_mutex_unlock(&st.lock);
}

/* Ends a stream after what is already queued on it, with the end frame.
 * Under st.lock. */
static void end_stream(stream_t *s, end_t why)
{
    char frame[96];
    int n = snprintf(frame, sizeof frame, "event: end\ndata: {\"reason\":\"%s\"}\n\n",
                     end_reasons[why]);
    put(s, frame, (size_t)n);
    s->ending = 1;
    st.ended_total[why]++;
    wake(s);
}

/* A stream lives no longer than its token would pass a request: it ends
 * when the token expires (checked every tick, a comparison) or is revoked
 * (checked every REVOKED_CHECK_MS against the front's copy of the revoked
 * families, the table requests are checked against; its lock is taken
 * inside st.lock and takes nothing itself, so the order holds). */
static void check_tokens(int64_t now)
{
    int64_t now_s = clock_now_ms() / 1000;
    int revocations = now >= st.revoked_check_at;
    if (revocations)
        st.revoked_check_at = now + REVOKED_CHECK_MS;
    pthread_mutex_lock(&st.lock);
    for (stream_t *s = st.head; s; s = s->next) {
        if (s->ending || s->dropped)
            continue;
        if (s->exp <= now_s)
            end_stream(s, END_TOKEN_EXPIRED);
        else if (revocations && revoked_contains(s->jti))
            end_stream(s, END_TOKEN_REVOKED);
    }
    pthread_mutex_unlock(&st.lock);
}

/* Empties the SUB socket; 1 if anything was there. The messages only say
 * that the table has news, so their content is not looked at. */
static int drain_bus(void)
{
    int got = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, st.sub, ZMQ_DONTWAIT) >= 0)
        got = 1;
    zmq_msg_close(&m);
    return got;
}

static void *fan_out(void *arg)
{
    (void)arg;
    event_t e = {.frame = BUF_INIT};
    msgpack_unpacked_init(&e.body);
    int64_t next_poll = 0, next_keepalive = clock_mono_ms() + st.keepalive_ms;
    int replaying = 0;
    while (!atomic_load(&st.stop)) {
        zmq_pollitem_t item = {st.sub, 0, ZMQ_POLLIN, 0};
        int news = 0;
        if (zmq_poll(&item, 1, replaying ? BUSY_TICK_MS : IDLE_TICK_MS) > 0)
            news = drain_bus();
        int64_t now = clock_mono_ms();
        PGconn *db = database();
        if (db) {
            if (news || now >= next_poll) {
                follow_table(db, &e);
                next_poll = now + POLL_MS;
            }
            replaying = serve_catch_up(db, &e);
        }
        if (now >= next_keepalive) {
            keep_alive();
            next_keepalive = now + st.keepalive_ms;
        }
        check_tokens(now);
    }
    msgpack_unpacked_destroy(&e.body);
    buf_free(&e.frame);
    return NULL;
}

int stream_start(void *zmq_ctx)
{
    st.max_streams = config_get_long("MANDI_SSE_MAX_STREAMS");
    st.keepalive_ms = config_get_long("MANDI_SSE_KEEPALIVE_MS");
    long buffer = config_get_long("MANDI_SSE_BUFFER_BYTES");
    if (st.keepalive_ms < 10)
        st.keepalive_ms = 10;
    st.buffer_max = buffer > 4096 ? (size_t)buffer : 4096;

    st.sub = zmq_socket(zmq_ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(st.sub, ZMQ_LINGER, &linger, sizeof linger);
    for (size_t i = 0; i < sizeof streamed_topics / sizeof streamed_topics[0]; i++)
        zmq_setsockopt(st.sub, ZMQ_SUBSCRIBE, streamed_topics[i], strlen(streamed_topics[i]));
    if (zmq_connect(st.sub, config_get("MANDI_EVENTS_SUB")) < 0) {
        log_msg(LOG_ERROR, NULL, "event streams cannot connect to %s: %s",
                config_get("MANDI_EVENTS_SUB"), zmq_strerror(errno));
        zmq_close(st.sub);
        st.sub = NULL;
        return -1;
    }
    if (pthread_create(&st.thread, NULL, fan_out, NULL) != 0) {
        log_msg(LOG_ERROR, NULL, "event streams: cannot start their thread");
        zmq_close(st.sub);
        st.sub = NULL;
        return -1;
    }
    st.running = 1;
    return 0;
}

void stream_stop(void)
{
    pthread_mutex_lock(&st.lock);
    st.closing = 1;
    pthread_mutex_unlock(&st.lock);
    atomic_store(&st.stop, 1);
    if (st.running)
        pthread_join(st.thread, NULL);
    st.running = 0;
    /* Every suspended connection must be resumed before the daemon stops;
     * an ending stream never suspends again. */
    pthread_mutex_lock(&st.lock);
    for (stream_t *s = st.head; s; s = s->next) {
        s->ending = 1;
        wake(s);
    }
    pthread_mutex_unlock(&st.lock);
    if (st.sub)
        zmq_close(st.sub);
    st.sub = NULL;
    db_close(&st.db);
}

void stream_metrics(buf_t *out)
{
    pthread_mutex_lock(&st.lock);
    long open = st.count;
    uint64_t opened = st.opened_total, dropped = st.dropped_total, events = st.events_total;
    uint64_t ended[END_REASONS];
    memcpy(ended, st.ended_total, sizeof ended);
    pthread_mutex_unlock(&st.lock);
    buf_printf(out,
               "# HELP mandi_sse_streams Event streams open now.\n"
               "# TYPE mandi_sse_streams gauge\n"
               "mandi_sse_streams %ld\n"
               "# HELP mandi_sse_streams_opened_total Event streams opened.\n"
               "# TYPE mandi_sse_streams_opened_total counter\n"
               "mandi_sse_streams_opened_total %" PRIu64 "\n"
               "# HELP mandi_sse_streams_dropped_total Event streams cut off for not reading.\n"
               "# TYPE mandi_sse_streams_dropped_total counter\n"
               "mandi_sse_streams_dropped_total %" PRIu64 "\n"
               "# HELP mandi_sse_events_sent_total Events queued on event streams.\n"
               "# TYPE mandi_sse_events_sent_total counter\n"
               "mandi_sse_events_sent_total %" PRIu64 "\n",
               open, opened, dropped, events);
    buf_append_str(out, "# HELP mandi_sse_streams_ended_total Event streams the front ended "
                        "because their token was spent, by reason.\n"
                        "# TYPE mandi_sse_streams_ended_total counter\n");
    for (int i = 0; i < END_REASONS; i++)
        buf_printf(out, "mandi_sse_streams_ended_total{reason=\"%s\"} %" PRIu64 "\n",
                   end_reasons[i], ended[i]);
}
