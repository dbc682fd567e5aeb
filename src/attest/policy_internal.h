/* Internal to the policy and EAR code: the policy's representation. */
#ifndef WARD_POLICY_INTERNAL_H
#define WARD_POLICY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ward/policy.h"

#define WARD_POLICY_N_KINDS 6u  /* ward_tee_kind values 0..5 */
#define WARD_POLICY_N_TCB 9u    /* ward_tcb_status values 0..8 */
#define WARD_POLICY_MAX_VALUES 256u /* values in one reference list */
#define WARD_POLICY_CLOCK_SKEW 60u
#define WARD_POLICY_MAX_AGE_LIMIT (10ull * 366 * 24 * 3600)
#define WARD_POLICY_UNNAMED_ID "policy://ward/unnamed"
#define KIND_BIT(k) (1u << (unsigned)(k))

enum { TCB_ACCEPT = 0, TCB_WARN = 1, TCB_CONTRA = 2 };

typedef struct hexlist {
    uint8_t *v; /* n values of width bytes */
    size_t n;
    size_t width;
} hexlist;

typedef struct kind_ref {
    int present;
    hexlist measurement; /* MRENCLAVE | MRTD | SNP MEASUREMENT | ward measurement */
    hexlist signer;
    hexlist host_data;   /* SNP */
    hexlist rtmr[4];     /* TDX */
    int has_product_id;
    uint16_t product_id;
    int has_min_svn;
    uint16_t min_svn;
} kind_ref;

struct ward_policy {
    char id[WARD_POLICY_ID_MAX + 1];
    unsigned kinds; /* KIND_BIT mask */
    int debug_allowed;
    uint8_t tcb_class[WARD_POLICY_N_TCB];
    uint64_t max_age;
    uint64_t max_skew;
    int accept_warning;
    uint32_t snp_vmpl;
    kind_ref ref[WARD_POLICY_N_KINDS];
    hexlist pinned;
    char **ca;
    size_t *ca_len;
    size_t n_ca;
};

/* Fills p with the default policy (no allocations). */
void ward_policy_init_defaults(ward_policy *p);
/* Exact names: ward_tee_kind_name / ward_tcb_status_name. WARD_ERR_NOT_FOUND otherwise
 * (no message set). */
ward_err ward_policy_kind_from_name(const char *s, size_t len, ward_tee_kind *out);
ward_err ward_policy_tcb_from_name(const char *s, size_t len, ward_tcb_status *out);
int ward_policy_hexlist_has(const hexlist *h, const uint8_t *v, size_t len);
/* Copies in (in_len bytes) to out as printable ASCII ('?' for anything else), NUL-terminated. */
void ward_policy_printable(const char *in, size_t in_len, char *out, size_t cap);

#endif
