/* The TCG DICE tagged-evidence extension's CBOR (channel.h; docs/channel.md): a strict reader
 * for exactly the subset the format uses, and the writer for Ward's own certificates. Every
 * length is checked against the bytes that remain before it is used. */
#include <stdlib.h>
#include <string.h>

#include "channel/channel_internal.h"
#include "ward/channel.h"

#define CBOR_MAX_DEPTH 8
#define CBOR_MAX_MAP 64

typedef struct rd {
    const uint8_t *p;
    size_t left;
} rd;

/* Reads an item head: major type and argument. Indefinite lengths (31) and reserved values
 * (28..30) are refused. */
static ward_err head(rd *r, unsigned *major, uint64_t *arg)
{
    if (r->left < 1)
        return ward_err_set(WARD_ERR_TRUNCATED, "CBOR: input ends before an item");
    uint8_t b = r->p[0];
    r->p++;
    r->left--;
    *major = (unsigned)(b >> 5);
    unsigned ai = b & 0x1fu;
    if (ai < 24) {
        *arg = ai;
        return WARD_OK;
    }
    size_t n;
    switch (ai) {
    case 24: n = 1; break;
    case 25: n = 2; break;
    case 26: n = 4; break;
    case 27: n = 8; break;
    default: return ward_err_set(WARD_ERR_FORMAT, "CBOR: indefinite or reserved length");
    }
    if (r->left < n)
        return ward_err_set(WARD_ERR_TRUNCATED, "CBOR: item head ends early");
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[i];
    r->p += n;
    r->left -= n;
    *arg = v;
    return WARD_OK;
}

/* A definite byte or text string of major type want: points into the input. */
static ward_err str(rd *r, unsigned want, const uint8_t **s, size_t *len)
{
    unsigned major = 0;
    uint64_t n = 0;
    ward_err err = head(r, &major, &n);
    if (err != WARD_OK)
        return err;
    if (major != want)
        return ward_err_set(WARD_ERR_FORMAT, "CBOR: expected a %s, found major type %u",
                            want == 2 ? "byte string" : "text string", major);
    if (n > r->left)
        return ward_err_set(WARD_ERR_TRUNCATED, "CBOR: string of %llu bytes, %zu left",
                            (unsigned long long)n, r->left);
    *s = r->p;
    *len = (size_t)n;
    r->p += (size_t)n;
    r->left -= (size_t)n;
    return WARD_OK;
}

/* Skips one well-formed item (any type), nesting at most CBOR_MAX_DEPTH. */
static ward_err skip(rd *r, unsigned depth)
{
    if (depth > CBOR_MAX_DEPTH)
        return ward_err_set(WARD_ERR_FORMAT, "CBOR: nesting deeper than %d", CBOR_MAX_DEPTH);
    unsigned major = 0;
    uint64_t n = 0;
    ward_err err = head(r, &major, &n);
    if (err != WARD_OK)
        return err;
    switch (major) {
    case 0:
    case 1:
    case 7: /* simple values and floats: the head carried them */
        return WARD_OK;
    case 2:
    case 3:
        if (n > r->left)
            return ward_err_set(WARD_ERR_TRUNCATED, "CBOR: string runs past the end");
        r->p += (size_t)n;
        r->left -= (size_t)n;
        return WARD_OK;
    case 4:
    case 5: {
        /* Each element takes at least one byte: a count beyond what is left is truncated. */
        if (n > r->left)
            return ward_err_set(WARD_ERR_TRUNCATED, "CBOR: container runs past the end");
        uint64_t items = major == 5 ? n * 2 : n;
        for (uint64_t i = 0; i < items; i++)
            if ((err = skip(r, depth + 1)) != WARD_OK)
                return err;
        return WARD_OK;
    }
    case 6:
        return skip(r, depth + 1);
    default:
        return ward_err_set(WARD_ERR_FORMAT, "CBOR: bad major type");
    }
}

/* The CoSWID hash-entry [alg-id, bstr digest], serialized inside a bstr. */
static ward_err hash_entry(const uint8_t *in, size_t len, ward_channel_tagged *out)
{
    rd r = {in, len};
    unsigned major = 0;
    uint64_t n = 0;
    ward_err err = head(&r, &major, &n);
    if (err != WARD_OK)
        return err;
    if (major != 4 || n != 2)
        return ward_err_set(WARD_ERR_FORMAT, "pubkey-hash: not a 2-element array");
    if ((err = head(&r, &major, &out->hash_alg)) != WARD_OK)
        return err;
    if (major != 0)
        return ward_err_set(WARD_ERR_FORMAT, "pubkey-hash: algorithm id is not an unsigned");
    const uint8_t *d = NULL;
    size_t dlen = 0;
    if ((err = str(&r, 2, &d, &dlen)) != WARD_OK)
        return err;
    if (dlen < 32 || dlen > sizeof out->pubkey_hash)
        return ward_err_set(WARD_ERR_FORMAT, "pubkey-hash: digest of %zu bytes", dlen);
    if (r.left != 0)
        return ward_err_set(WARD_ERR_FORMAT, "pubkey-hash: %zu trailing bytes", r.left);
    memcpy(out->pubkey_hash, d, dlen);
    out->pubkey_hash_len = dlen;
    out->has_pubkey_hash = 1;
    return WARD_OK;
}

static ward_err claims_map(const uint8_t *in, size_t len, ward_channel_tagged *out)
{
    rd r = {in, len};
    unsigned major = 0;
    uint64_t n = 0;
    ward_err err = head(&r, &major, &n);
    if (err != WARD_OK)
        return ward_err_wrap(err, "claims");
    if (major != 5)
        return ward_err_set(WARD_ERR_FORMAT, "claims: not a map");
    if (n > CBOR_MAX_MAP)
        return ward_err_set(WARD_ERR_FORMAT, "claims: %llu entries (at most %d)",
                            (unsigned long long)n, CBOR_MAX_MAP);
    const uint8_t *keys[CBOR_MAX_MAP];
    size_t key_lens[CBOR_MAX_MAP];
    for (size_t i = 0; i < (size_t)n; i++) {
        const uint8_t *k = NULL;
        size_t klen = 0;
        if ((err = str(&r, 3, &k, &klen)) != WARD_OK)
            return ward_err_wrap(err, "claims key");
        for (size_t j = 0; j < i; j++)
            if (key_lens[j] == klen && memcmp(keys[j], k, klen) == 0)
                return ward_err_set(WARD_ERR_FORMAT, "claims: duplicate key");
        keys[i] = k;
        key_lens[i] = klen;
        if (klen == 11 && memcmp(k, "pubkey-hash", 11) == 0) {
            const uint8_t *v = NULL;
            size_t vlen = 0;
            if ((err = str(&r, 2, &v, &vlen)) != WARD_OK)
                return ward_err_wrap(err, "claims pubkey-hash");
            if ((err = hash_entry(v, vlen, out)) != WARD_OK)
                return err;
        } else if (klen == 5 && memcmp(k, "nonce", 5) == 0) {
            if ((err = str(&r, 2, &out->nonce, &out->nonce_len)) != WARD_OK)
                return ward_err_wrap(err, "claims nonce");
        } else if ((err = skip(&r, 1)) != WARD_OK) {
            return ward_err_wrap(err, "claims value");
        }
    }
    if (r.left != 0)
        return ward_err_set(WARD_ERR_FORMAT, "claims: %zu trailing bytes", r.left);
    return WARD_OK;
}

ward_err ward_channel_tagged_parse(const uint8_t *in, size_t len, ward_channel_tagged *out)
{
    if (out == NULL || (in == NULL && len != 0))
        return ward_err_set(WARD_ERR_INVALID_ARG, "tagged evidence: NULL argument");
    memset(out, 0, sizeof *out);
    if (len > WARD_CHANNEL_MAX_EXT)
        return ward_err_set(WARD_ERR_OVERFLOW, "tagged evidence: %zu bytes is too large", len);
    rd r = {in, len};
    unsigned major = 0;
    uint64_t n = 0;
    ward_err err = head(&r, &major, &out->tag);
    if (err != WARD_OK)
        return ward_err_wrap(err, "tagged evidence");
    if (major != 6)
        return ward_err_set(WARD_ERR_FORMAT, "tagged evidence: no CBOR tag");
    if ((err = head(&r, &major, &n)) != WARD_OK)
        return ward_err_wrap(err, "tagged evidence");
    if (major != 4 || n != 2)
        return ward_err_set(WARD_ERR_FORMAT, "tagged evidence: not [evidence, claims]");
    if ((err = str(&r, 2, &out->evidence, &out->evidence_len)) != WARD_OK)
        return ward_err_wrap(err, "tagged evidence: evidence");
    if ((err = str(&r, 2, &out->claims, &out->claims_len)) != WARD_OK)
        return ward_err_wrap(err, "tagged evidence: claims");
    if (r.left != 0)
        return ward_err_set(WARD_ERR_FORMAT, "tagged evidence: %zu trailing bytes", r.left);
    if (out->evidence_len == 0)
        return ward_err_set(WARD_ERR_FORMAT, "tagged evidence: empty evidence");
    return claims_map(out->claims, out->claims_len, out);
}

/* ---- writer --------------------------------------------------------------------------------- */

static size_t put_head(uint8_t *o, unsigned major, uint64_t v)
{
    uint8_t m = (uint8_t)(major << 5);
    if (v < 24) {
        o[0] = (uint8_t)(m | v);
        return 1;
    }
    size_t n = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffffu ? 4 : 8;
    o[0] = (uint8_t)(m | (n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
    for (size_t i = 0; i < n; i++)
        o[1 + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    return 1 + n;
}

ward_err ward_channel_tagged_encode(uint64_t tag, const uint8_t *evidence, size_t evidence_len,
                                    const uint8_t spki_sha256[WARD_SHA256_LEN], uint8_t **out,
                                    size_t *out_len)
{
    if (evidence == NULL || spki_sha256 == NULL || out == NULL || out_len == NULL ||
        evidence_len == 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "tagged evidence: bad argument");
    if (evidence_len > WARD_CHANNEL_MAX_EXT - 256)
        return ward_err_set(WARD_ERR_OVERFLOW, "tagged evidence: evidence too large");
    /* claims = {"pubkey-hash": bstr([1, bstr(32)])} */
    uint8_t entry[40], claims[64];
    size_t e = 0, c = 0;
    e += put_head(entry + e, 4, 2);
    e += put_head(entry + e, 0, 1);
    e += put_head(entry + e, 2, WARD_SHA256_LEN);
    memcpy(entry + e, spki_sha256, WARD_SHA256_LEN);
    e += WARD_SHA256_LEN;
    c += put_head(claims + c, 5, 1);
    c += put_head(claims + c, 3, 11);
    memcpy(claims + c, "pubkey-hash", 11);
    c += 11;
    c += put_head(claims + c, 2, e);
    memcpy(claims + c, entry, e);
    c += e;
    size_t cap = 9 + 1 + 9 + evidence_len + 9 + c;
    uint8_t *o = malloc(cap);
    if (o == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "tagged evidence: out of memory");
    size_t n = 0;
    n += put_head(o + n, 6, tag);
    n += put_head(o + n, 4, 2);
    n += put_head(o + n, 2, evidence_len);
    memcpy(o + n, evidence, evidence_len);
    n += evidence_len;
    n += put_head(o + n, 2, c);
    memcpy(o + n, claims, c);
    n += c;
    *out = o;
    *out_len = n;
    return WARD_OK;
}

const char *ward_channel_tag_name(uint64_t tag)
{
    if (tag == WARD_CHANNEL_TAG_WARD)
        return "ward";
    if (tag == WARD_CHANNEL_TAG_INTEL_QUOTE)
        return "intel-quote";
    if (tag == WARD_CHANNEL_TAG_INTEL_REPORT)
        return "intel-report";
    if (tag == WARD_CHANNEL_TAG_SGX_LEGACY)
        return "sgx-legacy-report";
    if (tag == WARD_CHANNEL_TAG_RATS_SNP)
        return "rats-tls-snp";
    if (tag == WARD_CHANNEL_TAG_RATS_SEV)
        return "rats-tls-sev";
    if (tag == WARD_CHANNEL_TAG_RATS_CSV)
        return "rats-tls-csv";
    return "unknown";
}
