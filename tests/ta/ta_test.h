/* Call ids of the test TA (tests/ta/ta_test.c), shared with the tests and the benchmark. */
#ifndef WARD_TESTS_TA_TEST_H
#define WARD_TESTS_TA_TEST_H

enum {
    TA_ECHO = 0,         /* out = in */
    TA_REPORT,           /* in: report_data[64]; out: report || signature */
    TA_SEAL,             /* in: policy u8 | svn u16 | key_version u32 | plaintext; out: sealed */
    TA_UNSEAL,           /* in: same header | sealed; out: plaintext */
    TA_FORBIDDEN,        /* socket(2): killed by seccomp */
    TA_OPEN_FILE,        /* open(2): killed by seccomp */
    TA_EXEC_MEM,         /* mmap(PROT_EXEC): killed by seccomp */
    TA_CRASH,            /* SIGSEGV */
    TA_HANG,             /* never returns */
    TA_SPIN,             /* in: milliseconds u64; busy-waits */
    TA_ALLOC,            /* allocates until the heap is exhausted; WARD_ERR_NOMEM, out: MiB u64 */
    TA_OCALL,            /* ocall TA_HOST_OCALL_ID with in; out = its output */
    TA_SECRET_ADDR,      /* out: secret heap address u64 | global address u64 | protections */
    TA_BAD_RING,         /* sends malformed messages to the host; out: u32 kind,status x2 */
    TA_BAD_RESPONSE,     /* a response with an impossible length (last call only) */
    TA_SELF,             /* out: own identity as an encoded report */
    TA_THREADS,          /* in: count u64; out: threads it could start u64 */
    TA_HEAP_USED,        /* out: heap bytes in use u64 */
    TA_EXIT,             /* exit(3) from TA code */
    TA_N_CALLS
};

#define TA_SEAL_HDR 7
#define TA_HOST_OCALL_ID 7u
#define TA_PATTERN 0x5a

#endif
