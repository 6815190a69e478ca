/*
 * mandictl - operator commands that must work before anyone can log in.
 *
 *   mandictl create-admin --email EMAIL --password-stdin [--name NAME]
 *                         [--role SUPER_ADMIN|ADMIN]
 *   mandictl seed [--products N] [--categories N] [--stores N] [--merchants N]
 *                 [--reset | --remove]
 *   mandictl help
 *
 * create-admin makes the first administrator of a fresh deployment: the API
 * only lets an admin grant admin roles, so the first one has to come from
 * outside it. The password is read from standard input (never from the
 * command line, where `ps` and shell histories would show it) and stored as
 * an argon2id hash with the same settings the accounts pool uses, so the new
 * admin logs in through POST /api/auth/login like anyone else.
 *
 * seed (seed.c) fills a development database with a made-up catalog.
 *
 * Exit status: 0 created (the new user's id on stdout), 1 failed (bad
 * password, email already taken, database), 2 bad usage.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "seed.h"

#define PROG "mandictl"

#define EMAIL_MAX    254
#define NAME_MAX_LEN 100
#define PASSWORD_MIN 8
#define PASSWORD_MAX 128

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

typedef struct {
    char email[EMAIL_MAX + 1]; /* lower-cased */
    const char *name;
    const char *role;
    int password_stdin;
} admin_opts_t;

static const char usage_text[] =
    "usage: mandictl create-admin --email EMAIL --password-stdin [--name NAME]\n"
    "                             [--role SUPER_ADMIN|ADMIN]\n"
    "       mandictl seed [--products N] [--categories N] [--stores N] [--merchants N]\n"
    "                     [--reset | --remove]\n"
    "       mandictl help\n"
    "\n"
    "create-admin  creates an administrator who logs in with EMAIL and the\n"
    "              password read from the first line of standard input\n"
    "              (8 to 128 bytes). NAME defaults to Administrator, the role\n"
    "              to SUPER_ADMIN. Prints the new user's id.\n"
    "\n"
    "seed          fills the database with a made-up catalog for development\n"
    "              and benchmarks: MERCHANT users (phones from +916000000001 up), a\n"
    "              category tree (up to 25 roots, the rest their children;\n"
    "              slugs seed-...), stores in Indian cities and products (SKUs\n"
    "              SEED-...). Defaults: 100000 products, 500 categories,\n"
    "              200 stores, 50 merchants. Refuses while seeded rows exist;\n"
    "              --reset deletes them first, --remove only deletes them.\n"
    "              One transaction: a failure changes nothing.\n"
    "\n"
    "Settings: DATABASE_URL, MANDI_PWHASH_OPSLIMIT, MANDI_PWHASH_MEMLIMIT_KB;\n"
    "seed also REDIS_URL (the catalog's cache is told about the change).\n"
    "Exit status: 0 done, 1 failed (bad password, email taken, already seeded,\n"
    "database), 2 bad usage.\n";

/* Says what is wrong, shows the usage and returns the usage exit status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    fputs(usage_text, stderr);
    return EXIT_USAGE;
}

/* Checks the address the way the accounts pool does (one '@' with a local
 * part, a dot inside the domain, at most 254 bytes, no spaces or control
 * characters) and writes it lower-cased to out. Returns 0 or -1. */
static int email_normalise(const char *in, char out[EMAIL_MAX + 1])
{
    size_t len = strlen(in);
    const char *at = strchr(in, '@');
    if (len == 0 || len > EMAIL_MAX || !at || at == in || strchr(at + 1, '@'))
        return -1;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || dot[1] == '\0')
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c <= ' ' || c == 0x7f)
            return -1;
        out[i] = (char)(c < 0x80 ? tolower(c) : c);
    }
    out[len] = '\0';
    return 0;
}

/* Reads argv[i + 1] as the value of option argv[i]; NULL when missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Fills opts from the arguments after "create-admin". Returns 0, or the
 * usage exit status after saying what is wrong. */
static int parse_admin_args(int argc, char **argv, admin_opts_t *opts)
{
    const char *email = NULL;
    *opts = (admin_opts_t){.name = "Administrator", .role = "SUPER_ADMIN"};
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--password-stdin") == 0) {
            opts->password_stdin = 1;
        } else if (strcmp(arg, "--email") == 0 || strcmp(arg, "--name") == 0 ||
                   strcmp(arg, "--role") == 0) {
            const char *value = option_value(argc, argv, &i);
            if (!value)
                return usage_error("%s needs a value", arg);
            if (arg[2] == 'e')
                email = value;
            else if (arg[2] == 'n')
                opts->name = value;
            else
                opts->role = value;
        } else {
            return usage_error("unknown argument %s", arg);
        }
    }
    if (!email)
        return usage_error("--email is required");
    if (!opts->password_stdin)
        return usage_error(
            "--password-stdin is required (the password is read from standard input)");
    if (email_normalise(email, opts->email) < 0)
        return usage_error("not a valid email address: %s", email);
    size_t name_len = strlen(opts->name);
    if (name_len == 0 || name_len > NAME_MAX_LEN)
        return usage_error("--name must be 1 to %d bytes", NAME_MAX_LEN);
    if (strcmp(opts->role, "SUPER_ADMIN") != 0 && strcmp(opts->role, "ADMIN") != 0)
        return usage_error("--role must be SUPER_ADMIN or ADMIN, not %s", opts->role);
    return 0;
}

/* Reads the first line of stdin into out (without its "\n" or "\r\n").
 * Returns 0, or -1 after saying why (nothing read, too short, too long). */
static int password_read(char out[PASSWORD_MAX + 1])
{
    char line[PASSWORD_MAX + 3]; /* the password, "\r\n" and the NUL */
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, PROG ": no password on standard input\n");
        return -1;
    }
    size_t len = strlen(line);
    int complete = len > 0 && line[len - 1] == '\n';
    if (!complete && !feof(stdin)) {
        sodium_memzero(line, sizeof line);
        fprintf(stderr, PROG ": the password is longer than %d bytes\n", PASSWORD_MAX);
        return -1;
    }
    if (complete)
        line[--len] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    int ok = len >= PASSWORD_MIN && len <= PASSWORD_MAX;
    if (ok)
        memcpy(out, line, len + 1);
    sodium_memzero(line, sizeof line);
    if (!ok)
        fprintf(stderr, PROG ": the password must be %d to %d bytes\n", PASSWORD_MIN, PASSWORD_MAX);
    return ok ? 0 : -1;
}

/* argon2id with the accounts pool's cost settings. Returns 0 or -1. */
static int password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
    long ops = config_get_long("MANDI_PWHASH_OPSLIMIT");
    long mem_kb = config_get_long("MANDI_PWHASH_MEMLIMIT_KB");
    if (ops < (long)crypto_pwhash_OPSLIMIT_MIN || mem_kb <= 0 ||
        (unsigned long)mem_kb * 1024u < crypto_pwhash_MEMLIMIT_MIN) {
        fprintf(stderr, PROG ": MANDI_PWHASH_OPSLIMIT or MANDI_PWHASH_MEMLIMIT_KB is too low\n");
        return -1;
    }
    if (crypto_pwhash_str(out, password, strlen(password), (unsigned long long)ops,
                          (size_t)mem_kb * 1024u) != 0) {
        fprintf(stderr, PROG ": hashing the password failed (out of memory?)\n");
        return -1;
    }
    return 0;
}

/* Inserts the admin; writes the new id to id_out. Returns 1 created, 0 when
 * the email is taken, -1 on a database error (said on stderr). */
static int admin_insert(PGconn *conn, const admin_opts_t *opts, const char *hash, char id_out[64])
{
    const char *params[] = {opts->email, opts->name, hash, opts->role};
    PGresult *res = PQexecParams(conn,
                                 "INSERT INTO users (email, name, password_hash, role, status) "
                                 "VALUES ($1, $2, $3, $4, 'active') "
                                 "ON CONFLICT (email) DO NOTHING RETURNING id",
                                 4, NULL, params, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, PROG ": creating the user failed: %s", PQresultErrorMessage(res));
        rc = -1;
    } else if (PQntuples(res) == 0) {
        rc = 0;
    } else {
        snprintf(id_out, 64, "%s", PQgetvalue(res, 0, 0));
        rc = 1;
    }
    PQclear(res);
    return rc;
}

static int cmd_create_admin(int argc, char **argv)
{
    admin_opts_t opts;
    int status = parse_admin_args(argc, argv, &opts);
    if (status)
        return status;
    char password[PASSWORD_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
    if (password_read(password) < 0)
        return EXIT_FAILED;
    int hashed = password_hash(password, hash);
    sodium_memzero(password, sizeof password);
    if (hashed < 0)
        return EXIT_FAILED;

    PGconn *conn = db_connect(config_get("DATABASE_URL"));
    if (!conn) {
        fprintf(stderr, PROG ": cannot connect to the database (DATABASE_URL)\n");
        return EXIT_FAILED;
    }
    char id[64];
    int created = admin_insert(conn, &opts, hash, id);
    db_close(&conn);
    if (created == 0)
        fprintf(stderr, PROG ": a user with email %s already exists\n", opts.email);
    if (created != 1)
        return EXIT_FAILED;
    printf("%s\n", id);
    return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs(usage_text, stdout);
    return EXIT_OK;
}

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv); /* the arguments after the command */
} command_t;

static const command_t commands[] = {
    {"create-admin", cmd_create_admin},
    {"seed", seed_command},
    {"help", cmd_help},
    {"--help", cmd_help},
};

int main(int argc, char **argv)
{
    log_init(PROG);
    if (sodium_init() < 0) {
        fprintf(stderr, PROG ": libsodium could not start\n");
        return EXIT_FAILED;
    }
    if (argc < 2)
        return usage_error("no command given");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    return usage_error("unknown command %s", argv[1]);
}
