/*
 * db - PostgreSQL connection helpers shared by the processes.
 *
 * Connections are opened with a short connect timeout so that a process
 * reports an unreachable database instead of hanging; callers reconnect with
 * db_ensure when a connection went bad.
 */
#ifndef MANDI_DB_H
#define MANDI_DB_H

#include <libpq-fe.h>

/* Opens a connection to url (a libpq URI or key=value string). Returns NULL
 * and logs the reason when it fails. */
PGconn *db_connect(const char *url);

/* Makes *conn usable: reconnects when it is NULL or broken. Returns 0 or -1. */
int db_ensure(PGconn **conn, const char *url);

/* Runs a statement without parameters or results (BEGIN, COMMIT, ...).
 * Returns 0, or -1 after logging the server's message. */
int db_exec(PGconn *conn, const char *sql);

/* Closes and nulls. */
void db_close(PGconn **conn);

#endif
