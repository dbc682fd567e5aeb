/* The built-in TA `psi` (docs/builtins.md): private set intersection on a key column. The
 * result is the rows of the first input whose key (compared as exact text; empty keys never
 * match) appears in every other input, in the first input's order, with the chosen columns of
 * the first input. Runs on the same core as `sql`, with every column kept as TEXT; the query is
 * built here from the parameters, identifiers quoted, and passes the same checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ward/crypto.h>
#include <ward/ta.h>

#include "builtin.h"
#include "psi_ta.h"

#define PSI_MAX_COLUMNS 256u

ward_err psi_init(const uint8_t *manifest_digest, size_t manifest_digest_len, uint64_t max_input,
                  uint8_t **task_pk, size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len,
                  uint8_t **report, size_t *report_len, uint8_t **report_sig,
                  size_t *report_sig_len)
{
    return wb_note(wb_init("psi", false, manifest_digest, manifest_digest_len, max_input, task_pk,
                           task_pk_len, sign_pk, sign_pk_len, report, report_len, report_sig,
                           report_sig_len));
}

ward_err psi_add_input(const char *table, const uint8_t *aad, size_t aad_len,
                       const uint8_t *chunk, size_t chunk_len, bool last)
{
    return wb_note(wb_add_input(table, aad, aad_len, chunk, chunk_len, last));
}

/* The query: SELECT "c1","c2" FROM "t0" WHERE "k" <> '' AND "k" IN (SELECT "k" FROM "t1") AND
 * ... ORDER BY rowid. columns: names of the first input's columns separated by ','. */
static ward_err build_query(const char *key_column, const char *columns, char *q, size_t cap)
{
    size_t nt = wb_table_count();
    if (nt < 2)
        return ward_err_set(WARD_ERR_STATE, "psi: at least two inputs are needed");
    if (key_column[0] == '\0' || columns[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "psi: the key column and the columns are "
                                                  "required");
    strcpy(q, "SELECT ");
    ward_err err = WARD_OK;
    size_t ncol = 0;
    const char *p = columns;
    while (err == WARD_OK) {
        const char *comma = strchr(p, ',');
        size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (n == 0 || n > 1024)
            return ward_err_set(WARD_ERR_INVALID_ARG, "psi: an empty or too long column name");
        if (++ncol > PSI_MAX_COLUMNS)
            return ward_err_set(WARD_ERR_LIMIT, "psi: at most %u columns", PSI_MAX_COLUMNS);
        char name[1025];
        memcpy(name, p, n);
        name[n] = '\0';
        if (ncol > 1 && strlen(q) + 1 < cap)
            strcat(q, ",");
        err = wb_quote_ident(q, cap, name);
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (err == WARD_OK && strlen(q) + 16 < cap)
        strcat(q, " FROM ");
    if (err == WARD_OK)
        err = wb_quote_ident(q, cap, wb_table_name(0));
    if (err == WARD_OK && strlen(q) + 16 < cap)
        strcat(q, " WHERE ");
    if (err == WARD_OK)
        err = wb_quote_ident(q, cap, key_column);
    if (err == WARD_OK && strlen(q) + 16 < cap)
        strcat(q, " <> ''");
    for (size_t i = 1; i < nt && err == WARD_OK; i++) {
        if (strlen(q) + 16 < cap)
            strcat(q, " AND ");
        err = wb_quote_ident(q, cap, key_column);
        if (err == WARD_OK && strlen(q) + 32 < cap)
            strcat(q, " IN (SELECT ");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, key_column);
        if (err == WARD_OK && strlen(q) + 16 < cap)
            strcat(q, " FROM ");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, wb_table_name(i));
        if (err == WARD_OK && strlen(q) + 16 < cap)
            strcat(q, ")");
    }
    if (err == WARD_OK) {
        if (strlen(q) + 32 >= cap)
            return ward_err_set(WARD_ERR_LIMIT, "psi: the query is too long");
        strcat(q, " ORDER BY rowid");
    }
    return err;
}

ward_err psi_run(const char *key_column, const char *columns, const uint8_t *recipient_pk,
                 size_t recipient_pk_len, uint8_t **result_enc, size_t *result_enc_len,
                 uint8_t **statement, size_t *statement_len, uint8_t **result_sig,
                 size_t *result_sig_len)
{
    size_t cap = 64u * 1024u;
    char *q = calloc(1, cap);
    /* params covered by the statement: key column, LF, columns */
    size_t plen = strlen(key_column) + strlen(columns) + 2;
    char *params = malloc(plen);
    ward_err err = WARD_OK;
    if (q == NULL || params == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    if (err == WARD_OK) {
        snprintf(params, plen, "%s\n%s", key_column, columns);
        err = build_query(key_column, columns, q, cap);
    }
    if (err == WARD_OK)
        err = wb_run(q, params, recipient_pk, recipient_pk_len, result_enc, result_enc_len,
                     statement, statement_len, result_sig, result_sig_len);
    free(q);
    free(params);
    return wb_note(err);
}

ward_err psi_last_error(char **message)
{
    return wb_last_error(message);
}

ward_err psi_destroy(void)
{
    return wb_destroy();
}

int main(void)
{
    return ward_ta_run(psi_dispatch);
}
