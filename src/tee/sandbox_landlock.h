/* Landlock helpers shared by the sandbox host (before exec) and the TA runtime (internal).
 * Debian's <linux/landlock.h> knows ABI 2; the newer rights are defined here and the ABI is
 * detected at run time with LANDLOCK_CREATE_RULESET_VERSION. */
#ifndef WARD_TEE_SANDBOX_LANDLOCK_H
#define WARD_TEE_SANDBOX_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define WARD_LL_CREATE_RULESET_VERSION 1u
#define WARD_LL_RULE_PATH_BENEATH 1

#define WARD_LL_FS_EXECUTE (1ull << 0)
#define WARD_LL_FS_READ_FILE (1ull << 2)
#define WARD_LL_FS_READ_DIR (1ull << 3)
#define WARD_LL_FS_ABI1 ((1ull << 13) - 1) /* execute ... make_sym */
#define WARD_LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define WARD_LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define WARD_LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define WARD_LL_NET_ALL 3ull               /* ABI 4: bind_tcp, connect_tcp */
#define WARD_LL_SCOPE_ALL 3ull             /* ABI 6: abstract unix sockets, signals */

typedef struct ward_ll_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI >= 4 */
    uint64_t scoped;             /* ABI >= 6 */
} ward_ll_attr;

typedef struct ward_ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed)) ward_ll_path_beneath;

/* The Landlock ABI of the running kernel, 0 if it has none (or it is disabled). */
static inline int ward_ll_abi(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, WARD_LL_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

/* A ruleset handling every right the ABI knows; its size argument in *size. */
static inline ward_ll_attr ward_ll_attr_for(int abi, size_t *size)
{
    ward_ll_attr a = {WARD_LL_FS_ABI1, 0, 0};
    if (abi >= 2)
        a.handled_access_fs |= WARD_LL_FS_REFER;
    if (abi >= 3)
        a.handled_access_fs |= WARD_LL_FS_TRUNCATE;
    if (abi >= 5)
        a.handled_access_fs |= WARD_LL_FS_IOCTL_DEV;
    *size = sizeof(uint64_t);
    if (abi >= 4) {
        a.handled_access_net = WARD_LL_NET_ALL;
        *size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        a.scoped = WARD_LL_SCOPE_ALL;
        *size = sizeof a;
    }
    return a;
}

#endif
