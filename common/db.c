/*
 * db - PostgreSQL connection helpers (see db.h).
 */
#include "db.h"

#include "log.h"

PGconn *db_connect(const char *url)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *values[] = {url, "3", "mandi", NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        log_msg(LOG_WARN, NULL, "database connection failed: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

int db_ensure(PGconn **conn, const char *url)
{
    if (*conn && PQstatus(*conn) == CONNECTION_OK)
        return 0;
    if (*conn) {
        PQreset(*conn);
        if (PQstatus(*conn) == CONNECTION_OK)
            return 0;
        PQfinish(*conn);
    }
    *conn = db_connect(url);
    return *conn ? 0 : -1;
}

int db_exec(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        log_msg(LOG_WARN, NULL, "%s failed: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    return ok ? 0 : -1;
}

void db_close(PGconn **conn)
{
    if (*conn)
        PQfinish(*conn);
    *conn = NULL;
}
