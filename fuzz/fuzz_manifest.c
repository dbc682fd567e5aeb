/* libFuzzer target: TA manifests (untrusted JSON from developers and the network). A manifest
 * that parses must round-trip its accessors without fault; nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ward_manifest *m = NULL;
    if (ward_manifest_parse((const char *)data, size, &m) != WARD_OK)
        return 0;
    uint8_t buf[WARD_SHA256_LEN];
    ward_manifest_measurement(m, buf);
    ward_manifest_signer(m, buf);
    size_t n = ward_manifest_n_calls(m);
    for (size_t i = 0; i < n; i++) {
        const char *name = ward_manifest_call_name(m, i);
        uint32_t id = 0;
        if (name == NULL || ward_manifest_call_id(m, name, &id) != WARD_OK || id != i)
            __builtin_trap(); /* a listed call must be found at its own index */
    }
    if (ward_manifest_call_name(m, n) != NULL)
        __builtin_trap();
    /* The image check must refuse the fuzz input itself as an image without faulting. */
    (void)ward_manifest_check_image(m, data, size);
    ward_manifest_free(m);
    return 0;
}
