/*
 * redis_conn - opens hiredis connections from a redis:// URL.
 */
#ifndef MANDI_REDIS_CONN_H
#define MANDI_REDIS_CONN_H

#include <hiredis/hiredis.h>

/* Connects to redis://[:password@]host[:port][/db] with a timeout for the
 * connection and for every command. Returns NULL and logs on failure. */
redisContext *redis_open(const char *url, int timeout_ms);

/* PING; returns 0 when the server answered PONG. */
int redis_ping(redisContext *c);

#endif
