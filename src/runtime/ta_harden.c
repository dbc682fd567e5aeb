/* Hardening steps the runtime applies to its own process (the sandbox host applied its own
 * layer before exec; these stack on top): tracer check, Landlock with no rules, and the final
 * seccomp allow-list. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ta_internal.h"
#include "tee/sandbox_bpf.h"
#include "tee/sandbox_landlock.h"

const char *ward__ta_check_tracer(void)
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return "cannot read /proc/self/status to check for a tracer";
    char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[len] = '\0';
    const char *t = strstr(buf, "\nTracerPid:");
    if (t == NULL)
        return "no TracerPid in /proc/self/status";
    t += strlen("\nTracerPid:");
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t < '0' || *t > '9')
        return "unreadable TracerPid in /proc/self/status";
    if (!(t[0] == '0' && (t[1] == '\n' || t[1] == '\0')))
        return "the instance is being traced (TracerPid is not 0): refusing to start";
    return NULL;
}

const char *ward__ta_landlock(uint32_t *abi_out)
{
    int abi = ward_ll_abi();
    *abi_out = (uint32_t)abi;
    if (abi <= 0)
        return "Landlock is not available";
    size_t size;
    ward_ll_attr attr = ward_ll_attr_for(abi, &size);
    int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0u);
    if (fd < 0)
        return "landlock_create_ruleset failed";
    /* No rules: every handled access is denied. */
    long r = syscall(SYS_landlock_restrict_self, fd, 0u);
    close(fd);
    return r == 0 ? NULL : "landlock_restrict_self failed";
}

const char *ward__ta_seccomp(void)
{
    static ward_bpf b; /* before any thread: no race */
    ward_bpf_begin(&b, SECCOMP_RET_KILL_PROCESS);
    ward_bpf_ta_rules(&b);
    ward_bpf_end(&b, SECCOMP_RET_KILL_PROCESS);
    ward_bpf_set_pid(&b, (uint32_t)getpid());
    if (b.overflow)
        return "seccomp program too long";
    struct sock_fprog prog = {.len = (unsigned short)b.n, .filter = b.ins};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        return "seccomp filter refused";
    return NULL;
}
