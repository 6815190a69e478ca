/*
 * mandi-migrate - brings the PostgreSQL schema up to date.
 *
 * The schema lives in numbered files, sql/NNN_name.sql, applied in name order.
 * Each file runs in its own transaction together with the row that records it
 * in schema_migrations, so a file is either applied and recorded or neither:
 * a failed migration leaves the database as it was before that file, and the
 * next run starts again from the same file once it is fixed.
 *
 * A session-level advisory lock serialises runners: every process of a
 * deployment may call this at start-up and only one applies anything while the
 * others wait, then find the database up to date.
 *
 * The program is deliberately self-contained (libpq and libc only) so that it
 * can be built and run before anything else in the project compiles.
 *
 * Usage: mandi-migrate [--dir DIR] [--database-url URL]
 * Exit status: 0 up to date, 1 a migration or the database failed, 2 bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define PROG "mandi-migrate"

#define DEFAULT_DATABASE_URL "postgresql://mandi@127.0.0.1:5433/mandi"
#define DEFAULT_DIR          "sql"

/* Any constant works as long as every runner uses the same one; this is the
 * bytes of "mandi" read as a number, recognisable in pg_locks. */
#define MIGRATE_LOCK_KEY "469786059881"

/* Longest file name accepted; NNN_ plus a descriptive name fits easily. */
#define NAME_MAX_LEN 255

typedef struct {
    char name[NAME_MAX_LEN + 1];    /* file name, e.g. 001_jobs.sql */
    char version[NAME_MAX_LEN + 1]; /* the name without .sql: the recorded key */
} migration_t;

typedef struct {
    migration_t *items;
    size_t len;
    size_t cap;
} migration_list_t;

static void die_oom(void)
{
    fprintf(stderr, "%s: out of memory\n", PROG);
    exit(1);
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--dir DIR] [--database-url URL]\n"
            "\n"
            "Applies the migrations DIR/NNN_*.sql that the database has not recorded yet,\n"
            "in name order, each in its own transaction.\n"
            "\n"
            "  --dir DIR           directory of the migration files (default: %s)\n"
            "  --database-url URL  PostgreSQL connection URL (default: $DATABASE_URL,\n"
            "                      else %s)\n",
            PROG, DEFAULT_DIR, DEFAULT_DATABASE_URL);
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1000.0 +
           (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

/* NNN_something.sql: three digits fix the order at a glance, the underscore
 * and a non-empty name keep "001.sql" or editor back-ups out. */
static int is_migration_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 9 || len > NAME_MAX_LEN) {
        return 0;
    }
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)name[i])) {
            return 0;
        }
    }
    return name[3] == '_' && strcmp(name + len - 4, ".sql") == 0;
}

static int compare_migrations(const void *a, const void *b)
{
    const migration_t *ma = a;
    const migration_t *mb = b;
    return strcmp(ma->name, mb->name);
}

/* Lists the migration files of `dir`, sorted. Returns 0, or -1 after saying
 * why on stderr. */
static int list_migrations(const char *dir, migration_list_t *out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: cannot open directory %s: %s\n", PROG, dir, strerror(errno));
        return -1;
    }
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        const char *name = entry->d_name;
        if (!is_migration_name(name)) {
            size_t len = strlen(name);
            /* A .sql file that is silently skipped is a migration that never
             * runs: say so, since the usual cause is a misspelt name. */
            if (len > 4 && strcmp(name + len - 4, ".sql") == 0) {
                fprintf(stderr, "%s: warning: ignoring %s (not named NNN_name.sql)\n", PROG, name);
            }
            continue;
        }
        if (out->len == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 16;
            migration_t *items = realloc(out->items, cap * sizeof *items);
            if (items == NULL) {
                die_oom();
            }
            out->items = items;
            out->cap = cap;
        }
        migration_t *m = &out->items[out->len++];
        size_t len = strlen(name);
        memcpy(m->name, name, len + 1);
        memcpy(m->version, name, len - 4);
        m->version[len - 4] = '\0';
    }
    closedir(d);

    if (out->len > 1) {
        qsort(out->items, out->len, sizeof *out->items, compare_migrations);
    }
    /* Two files with the same number have no defined order between them. */
    for (size_t i = 1; i < out->len; i++) {
        if (strncmp(out->items[i - 1].name, out->items[i].name, 3) == 0) {
            fprintf(stderr, "%s: %s and %s share the number %.3s: renumber one of them\n", PROG,
                    out->items[i - 1].name, out->items[i].name, out->items[i].name);
            return -1;
        }
    }
    return 0;
}

/* Reads a whole file into a NUL-terminated string the caller frees, or
 * returns NULL after saying why. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open %s: %s\n", PROG, path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192;
    size_t len = 0;
    char *text = malloc(cap);
    if (text == NULL) {
        die_oom();
    }
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            char *grown = realloc(text, cap);
            if (grown == NULL) {
                die_oom();
            }
            text = grown;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "%s: cannot read %s\n", PROG, path);
        free(text);
        return NULL;
    }
    text[len] = '\0';
    /* PQexec stops at the first NUL: the rest of the file would be dropped
     * without any error, so refuse such a file outright. */
    if (strlen(text) != len) {
        fprintf(stderr, "%s: %s contains a NUL byte\n", PROG, path);
        free(text);
        return NULL;
    }
    return text;
}

/* PostgreSQL reports a syntax error's place as a 1-based character offset in
 * the query text; the line number is what a person looks for in the file. */
static int line_of_position(const char *text, long position)
{
    int line = 1;
    long chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        /* Count characters, not bytes: continuation bytes of UTF-8 are
         * 10xxxxxx and do not start a character. */
        if ((*p & 0xC0) != 0x80) {
            chars++;
            if (chars >= position) {
                break;
            }
        }
        if (*p == '\n') {
            line++;
        }
    }
    return line;
}

/* Prints the server's message for a failed migration, with the file and, when
 * PostgreSQL says where the error is, the line. */
static void report_failure(const char *file, const char *text, const PGresult *res, PGconn *conn)
{
    const char *message = res ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    const char *position = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (message == NULL || *message == '\0') {
        message = PQerrorMessage(conn);
    }
    if (position != NULL && text != NULL) {
        long pos = strtol(position, NULL, 10);
        fprintf(stderr, "%s: %s:%d: migration failed:\n%s", PROG, file, line_of_position(text, pos),
                message);
    } else {
        fprintf(stderr, "%s: %s: migration failed:\n%s", PROG, file, message);
    }
}

/* Runs a statement that returns no rows; on failure prints `what` and the
 * server's message. Returns 0 or -1. */
static int exec_command(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType status = PQresultStatus(res);
    int ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!ok) {
        fprintf(stderr, "%s: %s: %s", PROG, what,
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static void rollback(PGconn *conn)
{
    /* Best effort: if the connection is gone the server has rolled back, and
     * with no transaction open the server would only warn. */
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PQclear(PQexec(conn, "ROLLBACK"));
    }
}

/* Loads the recorded versions. Returns the result (rows of one text column)
 * or NULL after saying why. */
static PGresult *load_applied(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT version FROM schema_migrations ORDER BY version");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: cannot read schema_migrations: %s", PROG,
                res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

static int is_applied(const PGresult *applied, const char *version)
{
    int rows = PQntuples(applied);
    for (int i = 0; i < rows; i++) {
        if (strcmp(PQgetvalue(applied, i, 0), version) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Applies one file and records it, all in one transaction. Returns 0 or -1. */
static int apply_one(PGconn *conn, const char *dir, const migration_t *m)
{
    size_t path_len = strlen(dir) + 1 + strlen(m->name) + 1;
    char *path = malloc(path_len);
    if (path == NULL) {
        die_oom();
    }
    snprintf(path, path_len, "%s/%s", dir, m->name);
    char *text = read_file(path);
    free(path);
    if (text == NULL) {
        return -1;
    }

    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    if (exec_command(conn, "BEGIN", "BEGIN failed") != 0) {
        free(text);
        return -1;
    }

    /* One PQexec for the whole file: the simple query protocol accepts many
     * statements in one string and stops at the first error. */
    PGresult *res = PQexec(conn, text);
    ExecStatusType status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        report_failure(m->name, text, res, conn);
        PQclear(res);
        free(text);
        rollback(conn);
        return -1;
    }
    PQclear(res);
    free(text);

    /* A COMMIT or ROLLBACK inside the file would end our transaction early
     * and leave the rest of the file and the record outside of it. */
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        fprintf(stderr,
                "%s: %s: migration failed: the file ended the transaction itself "
                "(remove BEGIN/COMMIT/ROLLBACK from it); check what it left applied\n",
                PROG, m->name);
        rollback(conn);
        return -1;
    }

    const char *params[1] = {m->version};
    res = PQexecParams(conn, "INSERT INTO schema_migrations (version) VALUES ($1)", 1, NULL, params,
                       NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s: cannot record the migration: %s", PROG, m->name,
                PQresultErrorMessage(res));
        PQclear(res);
        rollback(conn);
        return -1;
    }
    PQclear(res);

    res = PQexec(conn, "COMMIT");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        /* Deferred constraints are checked at COMMIT, so the file can still
         * fail here. */
        report_failure(m->name, NULL, res, conn);
        PQclear(res);
        rollback(conn);
        return -1;
    }
    PQclear(res);

    printf("applied %s (%.0f ms)\n", m->name, elapsed_ms(&start));
    fflush(stdout);
    return 0;
}

/* Opens the connection with a bounded connect time; the URL's own options
 * (connect_timeout, application_name) win because they come after. */
static PGconn *connect_db(const char *url)
{
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {"10", PROG, url, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn == NULL) {
        die_oom();
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "%s: cannot connect to the database: %s", PROG, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Waits for the runner lock, telling the operator when another runner has it
 * so that a pause is not mistaken for a hang. */
static int take_lock(PGconn *conn)
{
    PGresult *res = PQexec(conn, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: cannot take the migration lock: %s", PROG, PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }
    int got = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (got) {
        return 0;
    }
    fprintf(stderr, "%s: another migration runner holds the lock; waiting for it\n", PROG);
    return exec_command(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                        "cannot take the migration lock");
}

/* Compares what the database recorded with the files before anything runs.
 * A recorded version without its file is only worth a warning (a deleted
 * migration; the schema may no longer match the files). A pending file whose
 * number was already applied under another name is almost always a renamed
 * migration, and applying it again would fail half-way or, worse, succeed
 * twice: that stops the run. Returns 0 or -1. */
static int check_history(const PGresult *applied, const migration_list_t *files, const char *dir)
{
    int rc = 0;
    for (int i = 0; i < PQntuples(applied); i++) {
        const char *version = PQgetvalue(applied, i, 0);
        int found = 0;
        for (size_t j = 0; j < files->len && !found; j++) {
            found = strcmp(files->items[j].version, version) == 0;
        }
        if (found) {
            continue;
        }
        int renamed = 0;
        for (size_t j = 0; j < files->len; j++) {
            if (strncmp(files->items[j].version, version, 3) == 0 && version[3] == '_') {
                fprintf(stderr,
                        "%s: %s was applied as %s: renamed? record the new name in "
                        "schema_migrations or restore the old one\n",
                        PROG, files->items[j].name, version);
                renamed = 1;
                rc = -1;
            }
        }
        if (!renamed) {
            fprintf(stderr, "%s: warning: %s is recorded as applied but %s/%s.sql is missing\n",
                    PROG, version, dir, version);
        }
    }
    return rc;
}

static int run(const char *dir, const char *url)
{
    migration_list_t files = {NULL, 0, 0};
    if (list_migrations(dir, &files) != 0) {
        free(files.items);
        return 1;
    }

    PGconn *conn = connect_db(url);
    if (conn == NULL) {
        free(files.items);
        return 1;
    }

    int rc = 1;
    PGresult *applied = NULL;
    size_t done = 0;
    size_t skipped = 0;

    /* NOTICEs such as "relation already exists, skipping" are noise here;
     * warnings and errors still come through. UTF-8 keeps the error
     * positions in characters that line_of_position can count. */
    if (PQsetClientEncoding(conn, "UTF8") != 0 ||
        exec_command(conn, "SET client_min_messages = warning", "cannot configure session") != 0) {
        goto out;
    }

    /* The lock comes first: two concurrent CREATE TABLE IF NOT EXISTS can
     * still collide on the catalog, so even that must be serialised. */
    if (take_lock(conn) != 0) {
        goto out;
    }
    if (exec_command(conn,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version text PRIMARY KEY,"
                     " applied_at timestamptz DEFAULT now())",
                     "cannot create schema_migrations") != 0) {
        goto out;
    }
    applied = load_applied(conn);
    if (applied == NULL) {
        goto out;
    }

    if (check_history(applied, &files, dir) != 0) {
        goto out;
    }

    for (size_t i = 0; i < files.len; i++) {
        if (is_applied(applied, files.items[i].version)) {
            skipped++;
            continue;
        }
        if (apply_one(conn, dir, &files.items[i]) != 0) {
            fprintf(stderr, "%s: stopped at %s; %zu migration(s) applied before it in this run\n",
                    PROG, files.items[i].name, done);
            goto out;
        }
        done++;
    }

    if (done == 0) {
        printf("database is up to date (%zu migration(s) already applied)\n", skipped);
    } else {
        printf("applied %zu migration(s); %zu were already applied\n", done, skipped);
    }
    rc = 0;

out:
    PQclear(applied);
    /* Closing the session releases the advisory lock as well; the explicit
     * unlock only makes that visible in the server log at debug levels. */
    if (PQstatus(conn) == CONNECTION_OK) {
        PQclear(PQexec(conn, "SELECT pg_advisory_unlock_all()"));
    }
    PQfinish(conn);
    free(files.items);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = DEFAULT_DIR;
    const char *url = getenv("DATABASE_URL");
    if (url == NULL || *url == '\0') {
        url = DEFAULT_DATABASE_URL;
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strncmp(arg, "--dir=", 6) == 0) {
            dir = arg + 6;
        } else if (strcmp(arg, "--database-url") == 0 && i + 1 < argc) {
            url = argv[++i];
        } else if (strncmp(arg, "--database-url=", 15) == 0) {
            url = arg + 15;
        } else {
            fprintf(stderr, "%s: unexpected argument: %s\n", PROG, arg);
            usage(stderr);
            return 2;
        }
    }
    if (*dir == '\0' || *url == '\0') {
        usage(stderr);
        return 2;
    }
    return run(dir, url);
}
