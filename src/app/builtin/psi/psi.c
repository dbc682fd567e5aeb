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

ward_err psi_init(const char *envelope, uint64_t max_input, uint8_t **task_pk,
                  size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len, uint8_t **report,
                  size_t *report_len, uint8_t **report_sig, size_t *report_sig_len)
{
    return wb_note(wb_init(WARD_TASK_FN_PSI, false, envelope, max_input, task_pk, task_pk_len,
                           sign_pk, sign_pk_len, report, report_len, report_sig,
                           report_sig_len));
}

ward_err psi_add_input(const char *slot, const uint8_t *chunk, size_t chunk_len, bool last)
{
    return wb_note(wb_add_input(slot, chunk, chunk_len, last));
}

/* The query: SELECT "c1","c2" FROM "t0" WHERE "k" <> ''
 *   AND "k" IN (SELECT "t1"."k" FROM "t1") AND ... ORDER BY rowid,
 * the tables in the manifest's slot order. The key column and the columns are the signed
 * manifest's params.key and params.columns. */
/* Appends SQL text; a full buffer is an error, never a silently shorter query. */
static ward_err put(char *q, size_t cap, const char *text)
{
    size_t len = strlen(q), n = strlen(text);
    if (len >= cap || n >= cap - len)
        return ward_err_set(WARD_ERR_LIMIT, "psi: the query is too long");
    memcpy(q + len, text, n + 1);
    return WARD_OK;
}

static ward_err build_query(const ward_task_manifest *m, char *q, size_t cap)
{
    const char *key_column = ward_task_psi_key(m);
    size_t nt = wb_table_count();
    if (nt < 2)
        return ward_err_set(WARD_ERR_STATE, "psi: at least two inputs are needed");
    size_t ncol = ward_task_psi_column_count(m);
    if (key_column == NULL || key_column[0] == '\0' || ncol == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "psi: the key column and the columns are "
                                                  "required");
    if (ncol > PSI_MAX_COLUMNS)
        return ward_err_set(WARD_ERR_LIMIT, "psi: at most %u columns", PSI_MAX_COLUMNS);
    if (cap == 0)
        return ward_err_set(WARD_ERR_LIMIT, "psi: the query is too long");
    q[0] = '\0';
    ward_err err = put(q, cap, "SELECT ");
    for (size_t i = 0; i < ncol && err == WARD_OK; i++) {
        if (i > 0)
            err = put(q, cap, ",");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, ward_task_psi_column(m, i));
    }
    if (err == WARD_OK)
        err = put(q, cap, " FROM ");
    if (err == WARD_OK)
        err = wb_quote_ident(q, cap, wb_table_name(0));
    if (err == WARD_OK)
        err = put(q, cap, " WHERE ");
    if (err == WARD_OK)
        err = wb_quote_ident(q, cap, key_column);
    if (err == WARD_OK)
        err = put(q, cap, " <> ''");
    for (size_t i = 1; i < nt && err == WARD_OK; i++) {
        err = put(q, cap, " AND ");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, key_column);
        if (err == WARD_OK)
            err = put(q, cap, " IN (SELECT ");
        /* Qualified: an unqualified name that the inner table lacks would resolve to the
         * outer table's column, make the test always true and leak every row of the first
         * input. */
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, wb_table_name(i));
        if (err == WARD_OK)
            err = put(q, cap, ".");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, key_column);
        if (err == WARD_OK)
            err = put(q, cap, " FROM ");
        if (err == WARD_OK)
            err = wb_quote_ident(q, cap, wb_table_name(i));
        if (err == WARD_OK)
            err = put(q, cap, ")");
    }
    if (err == WARD_OK)
        err = put(q, cap, " ORDER BY rowid");
    return err;
}

static ward_err piece(uint32_t recipient, const uint8_t *data, size_t len)
{
    return psi_ocall_result_piece(recipient, data, len);
}

ward_err psi_run(uint64_t max_result, uint8_t **statement, size_t *statement_len,
                 uint8_t **result_sig, size_t *result_sig_len)
{
    *statement = *result_sig = NULL;
    *statement_len = *result_sig_len = 0;
    const ward_task_manifest *m = wb_manifest();
    if (m == NULL || ward_task_psi_key(m) == NULL)
        return wb_note(ward_err_set(WARD_ERR_STATE, "run: the task is not ready (init first; "
                                                    "run happens once)"));
    ward_err ready = wb_check_inputs();
    if (ready != WARD_OK)
        return wb_note(ready);
    size_t cap = 64u * 1024u;
    char *q = calloc(1, cap);
    /* params covered by the statement: key column, LF, the columns joined by ',' */
    size_t ncol = ward_task_psi_column_count(m);
    size_t plen = strlen(ward_task_psi_key(m)) + 2;
    for (size_t i = 0; i < ncol; i++)
        plen += strlen(ward_task_psi_column(m, i)) + 1;
    char *params = malloc(plen);
    ward_err err = WARD_OK;
    if (q == NULL || params == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    if (err == WARD_OK) {
        size_t off = (size_t)snprintf(params, plen, "%s\n", ward_task_psi_key(m));
        for (size_t i = 0; i < ncol && off < plen; i++)
            off += (size_t)snprintf(params + off, plen - off, "%s%s", i ? "," : "",
                                    ward_task_psi_column(m, i));
        err = build_query(m, q, cap);
    }
    if (err == WARD_OK)
        err = wb_run(q, params, max_result, piece, statement, statement_len, result_sig,
                     result_sig_len);
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
