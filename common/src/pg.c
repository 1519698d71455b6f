/* PostgreSQL plumbing: connections and the migration runner (see hl/pg.h). */
#include "hl/pg.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hl/buf.h"
#include "hl/log.h"
#include "hl/mem.h"
#include "hl/banned.h"

/* An arbitrary constant naming the migration lock in pg_advisory_lock. */
#define MIGRATE_LOCK_KEY "7312605214"

void hl_pg_errmsg(PGconn *conn, char *errbuf, size_t errlen)
{
    snprintf(errbuf, errlen, "%s", conn ? PQerrorMessage(conn) : "no connection");
    size_t n = strlen(errbuf);
    while (n > 0 && (errbuf[n - 1] == '\n' || errbuf[n - 1] == ' '))
        errbuf[--n] = '\0';
}

static void notice_cb(void *arg, const char *message)
{
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n')
        n--;
    hl_log(HL_LOG_DEBUG, "pg", "%.*s", (int)n, message);
}

PGconn *hl_pg_connect(const char *dsn, char *errbuf, size_t errlen)
{
    /* connect_timeout first: a DSN that sets its own overrides it (expand_dbname). */
    const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *const vals[] = {"5", dsn, NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_cb, NULL);
    /* Error messages without DETAIL lines: "Failing row contains (...)" would quote rows,
     * and rows hold (sealed) secrets and event data that logs must not carry. */
    PQsetErrorVerbosity(conn, PQERRORS_TERSE);
    return conn;
}

const char *hl_pg_default_migrations_dir(void)
{
    return HL_DEFAULT_MIGRATIONS_DIR;
}

static hl_err exec_ok(PGconn *conn, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    hl_err err = HL_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        err = HL_EIO;
    }
    PQclear(r);
    return err;
}

static int is_migration(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 9 && d->d_name[0] >= '0' && d->d_name[0] <= '9' &&
           strcmp(d->d_name + n - 4, ".sql") == 0;
}

static hl_err read_file(const char *path, struct hl_buf *out, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, errlen, "cannot open '%s'", path);
        return HL_EIO;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hl_buf_add(out, chunk, n);
    fclose(f);
    return HL_OK;
}

static hl_err apply_one(PGconn *conn, const char *dir, const char *name, bool *applied,
                        char *errbuf, size_t errlen)
{
    hl_err err = HL_EIO;
    struct hl_buf path = HL_BUF_INIT, sql = HL_BUF_INIT;
    const char *params[1] = {name};
    *applied = false;

    PGresult *r = PQexecParams(conn, "SELECT 1 FROM hl_schema_migrations WHERE version = $1", 1,
                               NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQclear(r);
        goto out;
    }
    int done = PQntuples(r) > 0;
    PQclear(r);
    if (done) {
        err = HL_OK;
        goto out;
    }

    hl_buf_addf(&path, "%s/%s", dir, name);
    if ((err = read_file(hl_buf_str(&path), &sql, errbuf, errlen)))
        goto out;
    err = HL_EIO;
    if (exec_ok(conn, "BEGIN", errbuf, errlen))
        goto out;
    if (exec_ok(conn, hl_buf_str(&sql), errbuf, errlen)) {
        char why[512];
        snprintf(why, sizeof(why), "%s", errbuf);
        snprintf(errbuf, errlen, "migration '%s': %s", name, why);
        PQclear(PQexec(conn, "ROLLBACK"));
        goto out;
    }
    r = PQexecParams(conn, "INSERT INTO hl_schema_migrations (version) VALUES ($1)", 1, NULL,
                     params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK) {
        hl_pg_errmsg(conn, errbuf, errlen);
        PQclear(PQexec(conn, "ROLLBACK"));
        goto out;
    }
    if (exec_ok(conn, "COMMIT", errbuf, errlen))
        goto out;
    hl_log(HL_LOG_INFO, "migrate", "applied '%s'", name);
    *applied = true;
    err = HL_OK;
out:
    hl_buf_release(&path);
    hl_buf_release(&sql);
    return err;
}

hl_err hl_pg_migrate(PGconn *conn, const char *dir, int *applied, char *errbuf, size_t errlen)
{
    struct dirent **names = NULL;
    hl_err err = HL_EIO;
    int n = -1;
    *applied = 0;

    if (exec_ok(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", errbuf, errlen))
        return HL_EIO;
    if (exec_ok(conn,
                "CREATE TABLE IF NOT EXISTS hl_schema_migrations ("
                " version text PRIMARY KEY,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                errbuf, errlen))
        goto out;
    n = scandir(dir, &names, is_migration, alphasort);
    if (n < 0) {
        snprintf(errbuf, errlen, "cannot read migrations directory '%s'", dir);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        bool did = false;
        if ((err = apply_one(conn, dir, names[i]->d_name, &did, errbuf, errlen)))
            goto out;
        *applied += did;
    }
    err = HL_OK;
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
    return err;
}
