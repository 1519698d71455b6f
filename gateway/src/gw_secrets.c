/* Secrets at rest on the gateway's side: sealing what a request stores, and the re-seal
 * pass behind `hookline-gateway rotate-master-key` (and `migrate`, for rows written before
 * secrets were sealed).
 *
 * Every sealed webhook value carries an AAD naming its row and column
 * ("webhook.secret:<id>", see hl_aad_webhook), so a value copied into another row or
 * field does not open there. Plain text exists only in memory, only as long as a request
 * or a re-seal needs it, and is wiped after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw_secrets.h"
#include "hl/log.h"
#include "hl/banned.h"

#define RESEAL_BATCH 200


/* The sealed columns, in the order the re-seal pass selects them. */
static const char *const columns[] = {"secret", "previous_secret", "signing_key",
                                      "previous_signing_key"};
#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

/* The primary message of a failed statement only: DETAIL lines may quote row values. */
static const char *pg_primary(const PGresult *r)
{
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    return m ? m : "no result from PostgreSQL";
}

char *gw_seal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
              const char *plain)
{
    char aad[HL_AAD_MAX];
    hl_aad_webhook(aad, field, webhook_id);
    return hl_keyring_seal(kr, aad, plain, strlen(plain));
}

hl_err gw_unseal(const struct hl_keyring *kr, const char *field, const char *webhook_id,
                 const char *sealed, struct hl_buf *out, char *errbuf, size_t errlen)
{
    char aad[HL_AAD_MAX], why[128], kid[HL_KEYRING_ID_MAX + 1] = "?";
    hl_aad_webhook(aad, field, webhook_id);
    if (hl_keyring_open(kr, aad, sealed, out, why, sizeof(why)) == HL_OK)
        return HL_OK;
    hl_sealed_key_id(sealed, kid);
    snprintf(errbuf, errlen, "cannot open %s of webhook '%s' (master key id '%s'): %s", field,
             webhook_id, kid, why);
    return HL_EINVAL;
}

void gw_seal_auth(const struct hl_keyring *kr, json_t *auth, const char *webhook_id)
{
    char field[32];
    for (size_t i = 0; i < HL_AUTH_SECRET_NFIELDS; i++) {
        json_t *v = json_object_get(auth, hl_auth_secret_fields[i]);
        if (!json_is_string(v))
            continue;
        snprintf(field, sizeof(field), "auth.%s", hl_auth_secret_fields[i]);
        char *sealed = gw_seal(kr, field, webhook_id, json_string_value(v));
        json_object_set_new(auth, hl_auth_secret_fields[i], json_string(sealed));
        free(sealed);
    }
}

/* --- the re-seal pass ---------------------------------------------------------------- */

/* One value sealed with AAD `aad` (`what` names it in log lines): plain text is sealed, a
 * value under another key re-sealed under the primary. Returns the new sealed value
 * (malloc'd) or NULL when the value stays as it is. */
static char *reseal_value(const struct hl_keyring *kr, const char *aad, const char *what,
                          const char *value, bool plaintext_only, struct gw_reseal_counts *c)
{
    char why[128], kid[HL_KEYRING_ID_MAX + 1] = "?";
    if (!hl_sealed_is(value)) {
        c->sealed_plaintext++;
        return hl_keyring_seal(kr, aad, value, strlen(value));
    }
    if (plaintext_only || !hl_sealed_needs_reseal(kr, value))
        return NULL;
    struct hl_buf plain = HL_BUF_INIT;
    char *out = NULL;
    if (hl_keyring_open(kr, aad, value, &plain, why, sizeof(why)) == HL_OK) {
        out = hl_keyring_seal(kr, aad, plain.ptr, plain.len);
        c->resealed++;
    } else {
        hl_sealed_key_id(value, kid);
        hl_log(HL_LOG_ERROR, "rotate", "cannot open %s (master key id '%s'): %s", what, kid, why);
        c->unopenable++;
    }
    hl_buf_wipe(&plain);
    return out;
}

/* A webhook's value of `field`, with the webhook's AAD. */
static char *reseal_webhook_value(const struct hl_keyring *kr, const char *field, const char *id,
                                  const char *value, bool plaintext_only,
                                  struct gw_reseal_counts *c)
{
    char aad[HL_AAD_MAX], what[HL_AAD_MAX + 32];
    hl_aad_webhook(aad, field, id);
    snprintf(what, sizeof(what), "%s of webhook '%s'", field, id);
    return reseal_value(kr, aad, what, value, plaintext_only, c);
}

/* Re-seals what needs it in one selected row; true when the row was updated. */
static bool reseal_row(PGconn *conn, const struct hl_keyring *kr, PGresult *res, int row,
                       bool plaintext_only, struct gw_reseal_counts *c, char *errbuf,
                       size_t errlen, bool *failed)
{
    const char *id = PQgetvalue(res, row, 0);
    char *vals[NCOLUMNS] = {0};
    bool changed = false;
    for (size_t k = 0; k < NCOLUMNS; k++) {
        if (PQgetisnull(res, row, (int)k + 1))
            continue;
        vals[k] = reseal_webhook_value(kr, columns[k], id, PQgetvalue(res, row, (int)k + 1),
                                       plaintext_only, c);
        changed |= vals[k] != NULL;
    }
    json_t *auth = json_loads(PQgetvalue(res, row, NCOLUMNS + 1), 0, NULL);
    char field[32];
    for (size_t i = 0; i < HL_AUTH_SECRET_NFIELDS; i++) {
        json_t *v = json_object_get(auth, hl_auth_secret_fields[i]);
        if (!json_is_string(v))
            continue;
        snprintf(field, sizeof(field), "auth.%s", hl_auth_secret_fields[i]);
        char *sealed =
            reseal_webhook_value(kr, field, id, json_string_value(v), plaintext_only, c);
        if (sealed) {
            json_object_set_new(auth, hl_auth_secret_fields[i], json_string(sealed));
            free(sealed);
            changed = true;
        }
    }
    /* the delivery format's plain shared secret (migration 0015) */
    char *format_secret = NULL;
    if (!PQgetisnull(res, row, NCOLUMNS + 2)) {
        format_secret = reseal_webhook_value(kr, "format.secret", id,
                                             PQgetvalue(res, row, NCOLUMNS + 2), plaintext_only, c);
        changed |= format_secret != NULL;
    }
    char *auth_text = changed ? json_dumps(auth, JSON_COMPACT) : NULL;
    json_decref(auth);
    if (changed) {
        /* updated_at stays: this is not a change of the webhook (the dispatchers compare it
         * with when they disabled one). */
        const char *params[] = {id, vals[0], vals[1], vals[2], vals[3], auth_text, format_secret};
        PGresult *u = PQexecParams(
            conn,
            "UPDATE webhooks SET secret = coalesce($2, secret),"
            " previous_secret = coalesce($3, previous_secret),"
            " signing_key = coalesce($4, signing_key),"
            " previous_signing_key = coalesce($5, previous_signing_key), auth = $6::jsonb,"
            " format = CASE WHEN $7::text IS NULL THEN format"
            "   ELSE jsonb_set(format, '{secret}', to_jsonb($7::text)) END"
            " WHERE id = $1",
            7, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK) {
            snprintf(errbuf, errlen, "cannot update webhook '%s': %s", id,
                     pg_primary(u));
            *failed = true;
        } else {
            c->rows_updated++;
        }
        PQclear(u);
    }
    for (size_t k = 0; k < NCOLUMNS; k++)
        free(vals[k]);
    free(format_secret);
    if (auth_text) {
        OPENSSL_cleanse(auth_text, strlen(auth_text));
        free(auth_text);
    }
    return changed;
}

static bool exec_ok(PGconn *conn, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(errbuf, errlen, "%s", pg_primary(r));
    PQclear(r);
    return ok;
}

/* The work on one selected row of a batch; sets *failed (and errbuf) when its UPDATE failed. */
struct reseal_pass {
    PGconn *conn;
    const struct hl_keyring *kr;
    bool plaintext_only;
    struct gw_reseal_counts *c;
    char *errbuf;
    size_t errlen;
};
typedef void (*reseal_row_fn)(struct reseal_pass *p, PGresult *res, int row, bool *failed);

static void webhook_row(struct reseal_pass *p, PGresult *res, int row, bool *failed)
{
    reseal_row(p->conn, p->kr, res, row, p->plaintext_only, p->c, p->errbuf, p->errlen, failed);
}

void gw_source_aad(const char *id, char out[GW_SOURCE_AAD_LEN])
{
    snprintf(out, GW_SOURCE_AAD_LEN, "source.secret:%s", id);
}

/* A row with one sealed column: re-seals column `column` of `table` (rows are (id, sealed)),
 * bound to aad; `what` names the value in errors. */
static void one_column_row(struct reseal_pass *p, PGresult *res, int row, bool *failed,
                           const char *table, const char *column, const char *aad,
                           const char *what)
{
    const char *id = PQgetvalue(res, row, 0);
    char desc[HL_AAD_MAX + 64], sql[128];
    snprintf(desc, sizeof(desc), "%s '%s'", what, id);
    char *sealed = reseal_value(p->kr, aad, desc, PQgetvalue(res, row, 1), p->plaintext_only, p->c);
    if (!sealed)
        return;
    const char *params[] = {id, sealed};
    snprintf(sql, sizeof(sql), "UPDATE %s SET %s = $2 WHERE id = $1::uuid", table, column);
    PGresult *u = PQexecParams(p->conn, sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(u) != PGRES_COMMAND_OK) {
        snprintf(p->errbuf, p->errlen, "cannot update %s: %s", desc, pg_primary(u));
        *failed = true;
    } else {
        p->c->rows_updated++;
    }
    PQclear(u);
    free(sealed);
}

/* A source's credential: AAD gw_source_aad(id). */
static void source_row(struct reseal_pass *p, PGresult *res, int row, bool *failed)
{
    char aad[GW_SOURCE_AAD_LEN];
    gw_source_aad(PQgetvalue(res, row, 0), aad);
    one_column_row(p, res, row, failed, "sources", "secret", aad, "secret of source");
}

/* A table source's connection string: AAD hl_aad_table_source(id). updated_at stays: the
 * worker holding the source keeps its stream (the string is open already) and opens the
 * new seal when it next takes the source. */
static void table_source_row(struct reseal_pass *p, PGresult *res, int row, bool *failed)
{
    char aad[HL_AAD_MAX];
    hl_aad_table_source(aad, PQgetvalue(res, row, 0));
    one_column_row(p, res, row, failed, "table_sources", "connection", aad,
                   "connection string of table source");
}

/* Walks `table` in id order, RESEAL_BATCH rows per transaction, handing each row of
 * `select_sql` (id first; $1 the last id seen, $2 the batch size) to fn. The rows are
 * locked while re-sealed, so a concurrent rotate-secret or PATCH either comes before (and is
 * re-sealed here) or after (and writes under whatever ring its gateway has). */
static hl_err reseal_table(struct reseal_pass *p, const char *table, const char *select_sql,
                           reseal_row_fn fn)
{
    char last[40] = "00000000-0000-0000-0000-000000000000";
    for (;;) {
        if (!exec_ok(p->conn, "BEGIN", p->errbuf, p->errlen))
            return HL_EIO;
        char batch[16];
        snprintf(batch, sizeof(batch), "%d", RESEAL_BATCH);
        const char *params[] = {last, batch};
        PGresult *res = PQexecParams(p->conn, select_sql, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(p->errbuf, p->errlen, "cannot read %s: %s", table, pg_primary(res));
            PQclear(res);
            PQclear(PQexec(p->conn, "ROLLBACK"));
            return HL_EIO;
        }
        int n = PQntuples(res);
        bool failed = false;
        for (int i = 0; i < n && !failed; i++) {
            p->c->rows_scanned++;
            fn(p, res, i, &failed);
        }
        if (n > 0)
            snprintf(last, sizeof(last), "%s", PQgetvalue(res, n - 1, 0));
        PQclear(res);
        if (failed) {
            PQclear(PQexec(p->conn, "ROLLBACK"));
            return HL_EIO;
        }
        if (!exec_ok(p->conn, "COMMIT", p->errbuf, p->errlen))
            return HL_EIO;
        if (n < RESEAL_BATCH)
            return HL_OK;
    }
}

hl_err gw_reseal_all(PGconn *conn, const struct hl_keyring *kr, bool plaintext_only,
                     struct gw_reseal_counts *c, char *errbuf, size_t errlen)
{
    struct reseal_pass p = {conn, kr, plaintext_only, c, errbuf, errlen};
    memset(c, 0, sizeof(*c));
    if (reseal_table(&p, "webhooks",
                     "SELECT id::text, secret, previous_secret, signing_key,"
                     " previous_signing_key, auth::text, format->>'secret' FROM webhooks"
                     " WHERE id > $1::uuid"
                     " ORDER BY id LIMIT $2::int FOR UPDATE",
                     webhook_row) != HL_OK ||
        reseal_table(&p, "sources",
                     "SELECT id::text, secret FROM sources WHERE id > $1::uuid"
                     " ORDER BY id LIMIT $2::int FOR UPDATE",
                     source_row) != HL_OK ||
        reseal_table(&p, "table_sources",
                     "SELECT id::text, connection FROM table_sources WHERE id > $1::uuid"
                     " ORDER BY id LIMIT $2::int FOR UPDATE",
                     table_source_row) != HL_OK)
        return HL_EIO;
    if (c->unopenable) {
        snprintf(errbuf, errlen,
                 "%zu value(s) are sealed under master keys not in the ring; add those keys "
                 "(after the primary) and run again",
                 c->unopenable);
        return HL_EINVAL;
    }
    /* Every row is sealed now: let PostgreSQL check the old rows too (a no-op once done;
     * takes no lock that stops reads or writes). */
    if (!exec_ok(conn, "ALTER TABLE webhooks VALIDATE CONSTRAINT webhooks_secrets_sealed",
                 errbuf, errlen) ||
        !exec_ok(conn, "ALTER TABLE webhooks VALIDATE CONSTRAINT webhooks_auth_sealed", errbuf,
                 errlen))
        return HL_EIO;
    return HL_OK;
}

bool gw_plaintext_present(PGconn *conn, bool *present, char *errbuf, size_t errlen)
{
    PGresult *r = PQexec(conn, "SELECT EXISTS (SELECT 1 FROM webhooks WHERE NOT ("
                               " secret LIKE 'hlenc:v1:%'"
                               " AND coalesce(previous_secret, 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(signing_key, 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(previous_signing_key, 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(auth->>'password', 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(auth->>'token', 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(auth->>'value', 'hlenc:v1:') LIKE 'hlenc:v1:%'"
                               " AND coalesce(auth->>'secret', 'hlenc:v1:') LIKE 'hlenc:v1:%'))");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok)
        *present = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    else
        snprintf(errbuf, errlen, "%s", pg_primary(r));
    PQclear(r);
    return ok;
}
