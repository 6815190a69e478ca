/*
 * mandi-events - prints domain events, one JSON line each.
 *
 *   mandi-events [--count N] [--from POSITION [--stored]] [TOPIC_PREFIX...]
 *
 * Subscribes at MANDI_EVENTS_SUB to the given topic prefixes (all topics
 * when none is given) and writes {"position": ..., "topic": ..., "body": ...}
 * lines to stdout, the msgpack body turned into JSON. With --from it first
 * prints what the outbox holds after POSITION (reading DATABASE_URL), then
 * goes on with the bus, skipping what it already printed: the catch-up every
 * subscriber does after being away; --stored stops after the outbox. For operators watching a live
 * system and for tests checking what was published. Exits after N events when
 * --count is given, or on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "codec.h"
#include "config.h"
#include "db.h"
#include "outbox.h"
#include "proto.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int usage(void)
{
    fputs("usage: mandi-events [--count N] [--from POSITION [--stored]] [TOPIC_PREFIX...]\n",
          stderr);
    return 2;
}

/* Prints one event; a body that is not valid msgpack is shown as null, a
 * missing position (an event from an older publisher) as null. */
static void print_event(const char *position, const char *topic, size_t topic_len, const char *body,
                        size_t body_len)
{
    buf_t line = BUF_INIT;
    buf_append_str(&line, "{\"position\":");
    buf_append_str(&line, position ? position : "null");
    buf_append_str(&line, ",\"topic\":");
    codec_json_string(&line, topic, topic_len);
    buf_append_str(&line, ",\"body\":");
    if (!body || codec_msgpack_to_json(body, body_len, &line, NULL) < 0)
        buf_append_str(&line, "null");
    buf_append_str(&line, "}\n");
    fwrite(line.data, 1, line.len, stdout);
    fflush(stdout);
    buf_free(&line);
}

static int wanted(char **prefixes, int n, const char *topic, size_t len)
{
    if (n == 0)
        return 1;
    for (int i = 0; i < n; i++) {
        size_t plen = strlen(prefixes[i]);
        if (plen <= len && memcmp(prefixes[i], topic, plen) == 0)
            return 1;
    }
    return 0;
}

/* Prints the stored events after *last (moving it on), at most *count.
 * Returns 0, or -1 when the outbox cannot be read. */
static int catch_up(int64_t *last, long *count, char **prefixes, int n)
{
    PGconn *db = db_connect(config_get("DATABASE_URL"));
    if (!db)
        return -1;
    int rc = 0;
    for (;;) {
        PGresult *res = outbox_read_after(db, *last, 500);
        if (!res) {
            rc = -1;
            break;
        }
        int rows = PQntuples(res);
        for (int i = 0; i < rows && *count != 0 && !stop_requested; i++) {
            const char *topic = PQgetvalue(res, i, 1);
            size_t topic_len = (size_t)PQgetlength(res, i, 1);
            *last = strtoll(PQgetvalue(res, i, 0), NULL, 10);
            if (!wanted(prefixes, n, topic, topic_len))
                continue;
            print_event(PQgetvalue(res, i, 0), topic, topic_len, PQgetvalue(res, i, 2),
                        (size_t)PQgetlength(res, i, 2));
            if (*count > 0)
                (*count)--;
        }
        PQclear(res);
        if (rows < 500 || *count == 0 || stop_requested)
            break;
    }
    db_close(&db);
    return rc;
}

int main(int argc, char **argv)
{
    long count = -1;
    int64_t from = -1;
    int stored_only = 0;
    int first_topic = argc;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            count = strtol(argv[++i], &end, 10);
            if (*end || count <= 0)
                return usage();
        } else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            from = strtoll(argv[++i], &end, 10);
            if (*end || from < 0)
                return usage();
        } else if (strcmp(argv[i], "--stored") == 0) {
            stored_only = 1;
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            first_topic = i;
            break;
        }
    }
    if (stored_only && from < 0)
        return usage();
    char **prefixes = argv + first_topic;
    int nprefixes = argc - first_topic;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Subscribe before reading the outbox, so that nothing published while
     * it is read falls between the two. */
    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    if (nprefixes == 0)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    for (int i = 0; i < nprefixes; i++)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, prefixes[i], strlen(prefixes[i]));
    if (zmq_connect(sub, config_get("MANDI_EVENTS_SUB")) < 0) {
        fprintf(stderr, "mandi-events: cannot connect to %s: %s\n", config_get("MANDI_EVENTS_SUB"),
                zmq_strerror(errno));
        return 1;
    }
    int64_t last = from;
    if (from >= 0 && catch_up(&last, &count, prefixes, nprefixes) < 0) {
        fputs("mandi-events: cannot read the outbox\n", stderr);
        zmq_close(sub);
        zmq_ctx_term(ctx);
        return 1;
    }
    while (!stored_only && !stop_requested && count != 0) {
        zmq_msg_t msgs[PROTO_MAX_FRAMES];
        int n;
        if (proto_recv(sub, msgs, &n, 0) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        char position[24] = "";
        if (n >= 3 && zmq_msg_size(&msgs[2]) < sizeof position)
            memcpy(position, zmq_msg_data(&msgs[2]), zmq_msg_size(&msgs[2]));
        /* Already printed from the outbox: the bus repeats it. */
        if (position[0] && strtoll(position, NULL, 10) <= last) {
            proto_close(msgs, n);
            continue;
        }
        print_event(position[0] ? position : NULL, zmq_msg_data(&msgs[0]), zmq_msg_size(&msgs[0]),
                    n >= 2 ? zmq_msg_data(&msgs[1]) : NULL, n >= 2 ? zmq_msg_size(&msgs[1]) : 0);
        proto_close(msgs, n);
        if (count > 0)
            count--;
    }
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
