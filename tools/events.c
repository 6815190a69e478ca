/*
 * mandi-events - prints what passes on the event bus, one JSON line each.
 *
 *   mandi-events [--count N] [TOPIC_PREFIX...]
 *
 * Subscribes at MANDI_EVENTS_SUB to the given topic prefixes (all topics
 * when none is given) and writes {"topic": ..., "body": ...} lines to
 * stdout, the msgpack body turned into JSON. For operators watching a live
 * system and for tests checking what was published. Exits after N events
 * when --count is given, or on SIGINT/SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "buf.h"
#include "codec.h"
#include "config.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int usage(void)
{
    fputs("usage: mandi-events [--count N] [TOPIC_PREFIX...]\n", stderr);
    return 2;
}

/* Prints one event; a body that is not valid msgpack is shown as null. */
static void print_event(const zmq_msg_t *topic, const zmq_msg_t *body)
{
    buf_t line = BUF_INIT;
    buf_append_str(&line, "{\"topic\":");
    codec_json_string(&line, zmq_msg_data((zmq_msg_t *)topic), zmq_msg_size((zmq_msg_t *)topic));
    buf_append_str(&line, ",\"body\":");
    if (!body || codec_msgpack_to_json(zmq_msg_data((zmq_msg_t *)body),
                                       zmq_msg_size((zmq_msg_t *)body), &line, NULL) < 0)
        buf_append_str(&line, "null");
    buf_append_str(&line, "}\n");
    fwrite(line.data, 1, line.len, stdout);
    fflush(stdout);
    buf_free(&line);
}

int main(int argc, char **argv)
{
    long count = -1;
    int first_topic = argc;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end;
            count = strtol(argv[++i], &end, 10);
            if (*end || count <= 0)
                return usage();
        } else if (argv[i][0] == '-') {
            return usage();
        } else {
            first_topic = i;
            break;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    void *ctx = zmq_ctx_new();
    void *sub = zmq_socket(ctx, ZMQ_SUB);
    int linger = 0;
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    if (first_topic == argc)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0);
    for (int i = first_topic; i < argc; i++)
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, argv[i], strlen(argv[i]));
    if (zmq_connect(sub, config_get("MANDI_EVENTS_SUB")) < 0) {
        fprintf(stderr, "mandi-events: cannot connect to %s: %s\n", config_get("MANDI_EVENTS_SUB"),
                zmq_strerror(errno));
        return 1;
    }
    while (!stop_requested && count != 0) {
        zmq_msg_t topic, body;
        zmq_msg_init(&topic);
        if (zmq_msg_recv(&topic, sub, 0) < 0) {
            zmq_msg_close(&topic);
            if (errno == EINTR)
                continue;
            break;
        }
        int has_body = zmq_msg_more(&topic);
        zmq_msg_init(&body);
        if (has_body)
            zmq_msg_recv(&body, sub, 0);
        /* Extra frames, if a publisher sent any, are not part of the format. */
        while (zmq_msg_more(has_body ? &body : &topic)) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            zmq_msg_recv(&extra, sub, 0);
            int more = zmq_msg_more(&extra);
            zmq_msg_close(&extra);
            if (!more)
                break;
        }
        print_event(&topic, has_body ? &body : NULL);
        zmq_msg_close(&topic);
        zmq_msg_close(&body);
        if (count > 0)
            count--;
    }
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
