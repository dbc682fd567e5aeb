/* `ward demo`: the main job. Today it shows what exists: the self-test and the data path of the
 * reference process (DESIGN 4, steps 4-5) at library level. The node daemon, attested TAs and
 * the three-party task arrive with later issues; this command will then run them, unchanged in
 * name, so the README's command stays the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/hpke.h"
#include "ward/selftest.h"
#include "ward/stream.h"

static const char help[] =
    "usage: ward demo\n"
    "\n"
    "Runs Ward's main job on this machine and says what each step shows. At this stage:\n"
    "the cryptographic self-test, then a data provider encrypting a file to a task key with\n"
    "the encrypted stream format and the task side decrypting it, refusing altered data and\n"
    "data meant for another slot.\n";

static const char csv[] =
    "patient_id,age,diagnosis\n"
    "1001,54,hypertension\n"
    "1002,61,diabetes\n"
    "1003,47,asthma\n";

static void on_check(void *arg, const char *name, ward_err result, const char *message)
{
    (void)arg;
    printf("    %-12s %s%s\n", name, result == WARD_OK ? "ok" : "FAILED: ", message);
}

static int step_failed(const char *what)
{
    cli_error(what, 1);
    return EXIT_FAIL;
}

int cmd_demo(const struct cli_opts *o, int argc, char **argv)
{
    (void)o;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return EXIT_OK;
    }
    if (argc > 1) {
        fprintf(stderr, "ward demo: unexpected argument '%s'\n\n%s", argv[1], help);
        return EXIT_USAGE;
    }

    printf("Ward demo (version %s)\n\n", WARD_VERSION);
    printf("Platform: software TEE (ward-sw). It protects trusted applications from host code,\n"
           "other TAs and local users, not from this machine's root.\n\n");

    printf("1. Cryptographic self-test (known answers from the RFCs):\n");
    if (ward_selftest(on_check, NULL) != WARD_OK)
        return step_failed("self-test failed: refusing to go on");

    printf("\n2. The task makes an X25519 key pair (HPKE, RFC 9180); its public key is what a\n"
           "   data provider encrypts to after checking the task's evidence.\n");
    uint8_t sk[32], pk[32];
    if (ward_hpke_generate_keypair(sk, pk) != WARD_OK)
        return step_failed("key generation failed");
    char *pk_hex = NULL;
    if (ward_hex_encode(pk, sizeof pk, &pk_hex, NULL) != WARD_OK) {
        ward_wipe(sk, sizeof sk);
        return step_failed("hex encoding failed");
    }
    printf("   task public key: %s\n", pk_hex);
    free(pk_hex);

    static const uint8_t aad[] = "task=demo-1 slot=hospital-a";
    static const uint8_t other_aad[] = "task=demo-1 slot=hospital-b";
    uint8_t *ct = NULL, *pt = NULL;
    size_t ct_len = 0, pt_len = 0;
    int rc = EXIT_FAIL;

    printf("\n3. Hospital A encrypts its %zu-byte CSV to the task key (AES-256-GCM STREAM,\n"
           "   associated data \"%s\").\n", strlen(csv), (const char *)aad);
    if (ward_stream_seal(pk, 0, aad, sizeof aad - 1, (const uint8_t *)csv, strlen(csv), &ct,
                         &ct_len) != WARD_OK) {
        step_failed("encryption failed");
        goto out;
    }
    printf("   ciphertext: %zu bytes (header with wrapped data key, then sealed chunks)\n",
           ct_len);

    /* Honest about where this runs: no TA exists yet, so this is the host process. */
    printf("\n4. The task side decrypts (in this process for now; inside a sandboxed TA once\n"
           "   the software TEE lands):\n");
    if (ward_stream_open(sk, aad, sizeof aad - 1, ct, ct_len, &pt, &pt_len) != WARD_OK) {
        step_failed("decryption failed");
        goto out;
    }
    if (pt_len != strlen(csv) || memcmp(pt, csv, pt_len) != 0) {
        cli_error("decryption returned other data", 0);
        goto out;
    }
    printf("   %zu bytes, identical to what hospital A encrypted.\n", pt_len);
    ward_wipe(pt, pt_len);
    free(pt);
    pt = NULL;

    printf("\n5. What the task refuses:\n");
    ct[ct_len - 1] ^= 0x01;
    ward_err e = ward_stream_open(sk, aad, sizeof aad - 1, ct, ct_len, &pt, &pt_len);
    printf("   one flipped bit:          %s (%s)\n", e ? "refused" : "ACCEPTED", ward_errmsg());
    ct[ct_len - 1] ^= 0x01;
    if (e == WARD_OK)
        goto out;
    e = ward_stream_open(sk, other_aad, sizeof other_aad - 1, ct, ct_len, &pt, &pt_len);
    printf("   presented as slot B:      %s (%s)\n", e ? "refused" : "ACCEPTED", ward_errmsg());
    if (e == WARD_OK)
        goto out;

    printf("\nNot yet here: the node daemon (wardd), attested TAs in the sandbox, evidence and\n"
           "its verification, and the three-party task; `ward demo` will run them as they land.\n");
    rc = EXIT_OK;
out:
    if (pt != NULL) {
        ward_wipe(pt, pt_len);
        free(pt);
    }
    free(ct);
    ward_wipe(sk, sizeof sk);
    return rc;
}
