/* The built-in TA `sql` (docs/builtins.md): the calls of sql.idl over the shared core. */
#include <stdlib.h>

#include <ward/ta.h>

#include "builtin.h"
#include "sql_ta.h"

ward_err sql_init(const char *envelope, uint64_t max_input, uint8_t **task_pk,
                  size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len, uint8_t **report,
                  size_t *report_len, uint8_t **report_sig, size_t *report_sig_len)
{
    return wb_note(wb_init(WARD_TASK_FN_SQL, true, envelope, max_input, task_pk, task_pk_len,
                           sign_pk, sign_pk_len, report, report_len, report_sig,
                           report_sig_len));
}

ward_err sql_add_input(const char *slot, const uint8_t *chunk, size_t chunk_len, bool last)
{
    return wb_note(wb_add_input(slot, chunk, chunk_len, last));
}

static ward_err piece(uint32_t recipient, const uint8_t *data, size_t len)
{
    return sql_ocall_result_piece(recipient, data, len);
}

/* The query is the signed manifest's params.query: the host passes only its size limit. */
ward_err sql_run(uint64_t max_result, uint8_t **statement, size_t *statement_len,
                 uint8_t **result_sig, size_t *result_sig_len)
{
    const ward_task_manifest *m = wb_manifest();
    const char *query = m != NULL ? ward_task_sql_query(m) : NULL;
    if (query == NULL) {
        *statement = *result_sig = NULL;
        *statement_len = *result_sig_len = 0;
        return wb_note(ward_err_set(WARD_ERR_STATE, "run: the task is not ready (init first; "
                                                    "run happens once)"));
    }
    return wb_note(wb_run(query, query, max_result, piece, statement, statement_len,
                          result_sig, result_sig_len));
}

ward_err sql_last_error(char **message)
{
    return wb_last_error(message);
}

ward_err sql_destroy(void)
{
    return wb_destroy();
}

int main(void)
{
    return ward_ta_run(sql_dispatch);
}
