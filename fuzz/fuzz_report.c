/* libFuzzer target: TA reports (untrusted bytes in evidence). Whatever decodes must encode back
 * to the same bytes: the format has exactly one encoding per report. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ward_report r;
    if (ward_report_decode(data, size, &r) != WARD_OK)
        return 0;
    uint8_t out[WARD_REPORT_LEN];
    if (ward_report_encode(&r, out) != WARD_OK || size != WARD_REPORT_LEN ||
        memcmp(out, data, size) != 0)
        __builtin_trap();
    (void)ward_platform_name(r.platform);
    return 0;
}
