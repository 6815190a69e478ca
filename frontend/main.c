/*
 * mandi-front - the HTTP front: REST in, jobs out.
 *
 * Threads: libmicrohttpd's pool (MANDI_HTTP_THREADS) reads and answers
 * requests; the dispatcher talks to the broker; the journal talks to
 * PostgreSQL and Redis; the stream thread feeds the Server-Sent Events. On
 * SIGTERM the HTTP side stops accepting, every waiting request is answered,
 * every event stream is ended, and the process exits 0.
 */
#include <signal.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "config.h"
#include "dispatch.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "revoked.h"
#include "stream.h"

int main(void)
{
    log_init("front");
    if (config_check_at_start() < 0)
        return 1;

    /* Signals are taken synchronously by the main thread only. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    void *ctx = zmq_ctx_new();
    revoked_init(config_get_long("MANDI_ACCESS_TOKEN_TTL_S"));
    if (journal_start(ctx) < 0 || dispatch_start(ctx) < 0 || stream_start(ctx) < 0 ||
        http_start() < 0) {
        log_msg(LOG_ERROR, NULL, "front failed to start");
        return 1;
    }
    log_msg(LOG_INFO, NULL, "front on http://%s:%s, broker %s", config_get("MANDI_HTTP_HOST"),
            config_get("MANDI_HTTP_PORT"), config_get("MANDI_BROKER"));

    int sig;
    sigwait(&signals, &sig);
    log_msg(LOG_INFO, NULL, "front stopping (signal %d)", sig);
    /* Answer everything suspended before the HTTP side goes away. The
     * journal may hand requests to the dispatcher while it stops, hence the
     * second drain. */
    http_quiesce();
    stream_stop();
    dispatch_stop();
    journal_stop();
    dispatch_drain();
    http_stop();
    zmq_ctx_term(ctx);
    log_msg(LOG_INFO, NULL, "front stopped");
    return 0;
}
