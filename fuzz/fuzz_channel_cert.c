/* The attested-TLS certificate evidence parser (channel.h): the CBOR tagged-evidence value of
 * extension 2.23.133.5.4.9 (Ward's own tag and the Intel quote tag used by Gramine, rats-tls and
 * the Intel SGX SDK), and, when the input is a DER certificate, the whole verification path up
 * to the evidence checks (no trust anchors: nothing can be accepted). Seeds: the extension
 * values of the three real RA-TLS certificates and a Ward one. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ward/channel.h"
#include "ward/x509.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ward_channel_tagged t;
    if (ward_channel_tagged_parse(data, size, &t) == WARD_OK) {
        /* Every pointer stays inside the input. */
        if (t.evidence < data || t.evidence + t.evidence_len > data + size ||
            t.claims < data || t.claims + t.claims_len > data + size ||
            t.pubkey_hash_len > sizeof t.pubkey_hash)
            __builtin_trap();
        if (t.nonce != NULL && (t.nonce < data || t.nonce + t.nonce_len > data + size))
            __builtin_trap();
    }
    ward_cert *c = NULL;
    if (size > 0 && data[0] == 0x30 && ward_cert_from_der(data, size, &c) == WARD_OK) {
        ward_channel_verify_cfg cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.at = 1700000000;
        ward_channel_result r;
        if (ward_channel_verify_cert(c, &cfg, &r) == WARD_OK)
            __builtin_trap(); /* no anchors: never accepted */
        ward_cert_free(c);
    }
    return 0;
}
