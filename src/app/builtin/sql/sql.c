/* The built-in TA `sql` (docs/builtins.md): the calls of sql.idl over the shared core. */
#include <stdlib.h>

#include <ward/ta.h>

#include "builtin.h"
#include "sql_ta.h"

ward_err sql_init(const uint8_t *manifest_digest, size_t manifest_digest_len, uint64_t max_input,
                  uint8_t **task_pk, size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len,
                  uint8_t **report, size_t *report_len, uint8_t **report_sig,
                  size_t *report_sig_len)
{
    return wb_note(wb_init("sql", true, manifest_digest, manifest_digest_len, max_input, task_pk,
                           task_pk_len, sign_pk, sign_pk_len, report, report_len, report_sig,
                           report_sig_len));
}

ward_err sql_add_input(const char *table, const uint8_t *aad, size_t aad_len,
                       const uint8_t *chunk, size_t chunk_len, bool last)
{
    return wb_note(wb_add_input(table, aad, aad_len, chunk, chunk_len, last));
}

ward_err sql_run(const char *query, const uint8_t *recipient_pk, size_t recipient_pk_len,
                 uint8_t **result_enc, size_t *result_enc_len, uint8_t **statement,
                 size_t *statement_len, uint8_t **result_sig, size_t *result_sig_len)
{
    return wb_note(wb_run(query, query, recipient_pk, recipient_pk_len, result_enc,
                          result_enc_len, statement, statement_len, result_sig, result_sig_len));
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
