/* Task manifests and envelopes: parse (both forms), then for anything accepted, the canonical
 * bytes must re-parse to the same digest and the envelope must round-trip; verification and the
 * authorization helpers must not crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ward/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, size, &m) == WARD_OK) {
        size_t n = 0;
        const char *c = ward_task_manifest_canonical(m, &n);
        ward_task_manifest *again = NULL;
        if (ward_task_manifest_parse(c, n, &again) != WARD_OK)
            abort();
        uint8_t d1[32], d2[32];
        ward_task_manifest_digest(m, d1);
        ward_task_manifest_digest(again, d2);
        if (memcmp(d1, d2, 32) != 0)
            abort();
        ward_task_manifest_free(again);
        ward_task_manifest_free(m);
    }
    m = NULL;
    if (ward_task_envelope_parse(text, size, &m) == WARD_OK) {
        (void)ward_task_verify_signatures(m);
        char *env = NULL;
        size_t el = 0;
        if (ward_task_envelope_serialize(m, &env, &el) != WARD_OK)
            abort();
        ward_task_manifest *again = NULL;
        if (ward_task_envelope_parse(env, el, &again) != WARD_OK)
            abort();
        uint8_t h[32] = {0};
        for (size_t i = 0; i < ward_task_slot_count(m); i++) {
            ward_task_slot_desc d;
            if (ward_task_slot_at(m, i, &d) != WARD_OK ||
                ward_task_may_upload(m, d.name, d.owner) != WARD_OK)
                abort();
        }
        (void)ward_task_may_read_result(m, h);
        (void)ward_task_may_cancel(m, h);
        ward_task_manifest_free(again);
        free(env);
        ward_task_manifest_free(m);
    }
    return 0;
}
