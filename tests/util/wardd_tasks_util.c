/* See wardd_tasks_util.h. */
#include "wardd_tasks_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ward/encoding.h"
#include "ward/stream.h"

void tu_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    out[2 * n] = '\0';
}

void tu_task_new_id(char id[WARD_TASK_ID_HEX_LEN + 1])
{
    uint8_t rid[WARD_TASK_ID_LEN];
    assert_int_equal(ward_random(rid, sizeof rid), WARD_OK);
    tu_hex(rid, sizeof rid, id);
}

char *tu_spki_b64(const ward_pkey *k)
{
    uint8_t *der = NULL;
    size_t n = 0;
    char *b64 = NULL;
    assert_int_equal(ward_pkey_spki_der(k, &der, &n), WARD_OK);
    assert_int_equal(ward_base64_encode(der, n, &b64, NULL), WARD_OK);
    free(der);
    return b64;
}

uint8_t *tu_b64u_member(json_t *j, const char *member, size_t *len)
{
    const char *s = json_string_value(json_object_get(j, member));
    if (s == NULL)
        fail_msg("member %s missing", member);
    uint8_t *out = NULL;
    assert_int_equal(ward_base64url_decode(s, strlen(s), &out, len), WARD_OK);
    return out;
}

/* ---- manifests ---------------------------------------------------------------------------- */

json_t *tu_manifest_json(const tu_manifest_spec *s)
{
    char x[65];
    tu_hex(s->x25519, 32, x);
    char *creator = tu_spki_b64(s->creator), *rcpt = tu_spki_b64(s->recipient);
    json_t *inputs = json_array();
    assert_non_null(inputs);
    for (size_t i = 0; i < s->n_slots; i++) {
        char *o = tu_spki_b64(s->slots[i].owner);
        assert_int_equal(json_array_append_new(inputs, json_pack("{s:s, s:s, s:I}", "slot",
                                                                 s->slots[i].name, "owner", o,
                                                                 "max_bytes",
                                                                 s->slots[i].max_bytes)),
                         0);
        free(o);
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:o, s:o, s:[{s:s, s:s}], s:I, s:s}",
                          "version", 1, "task_id", s->id, "creator", creator, "function",
                          "builtin", s->fn, "params", s->params, "inputs", inputs, "recipients",
                          "identity", rcpt, "x25519", x, "expires_at", (json_int_t)s->expires_at,
                          "retention", "delete-on-done");
    free(creator);
    free(rcpt);
    assert_non_null(j);
    return j;
}

ward_task_manifest *tu_manifest_parse(json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    assert_non_null(text);
    ward_task_manifest *m = NULL;
    if (ward_task_manifest_parse(text, strlen(text), &m) != WARD_OK)
        fail_msg("manifest: %s", ward_errmsg());
    free(text);
    return m;
}

ward_task_manifest *tu_manifest_make(const tu_manifest_spec *s)
{
    json_t *j = tu_manifest_json(s);
    ward_task_manifest *m = tu_manifest_parse(j);
    json_decref(j);
    return m;
}

void tu_manifest_sign(ward_task_manifest *m, const ward_pkey *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ward_task_sign(m, keys[i]), WARD_OK);
}

char *tu_envelope(const ward_task_manifest *m)
{
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    assert_non_null(env);
    return env;
}

void tu_task_post_approved(const tu_wardd *d, const tu_party *who, const char *env,
                           uint8_t task_pk[32])
{
    tu_resp r = tu_party_request(d, who, "POST", "/v1/tasks", env, strlen(env));
    if (r.status != 201)
        fprintf(stderr, "create: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 201);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    const char *state = json_string_value(json_object_get(j, "state"));
    if (state == NULL || strcmp(state, "approved") != 0)
        fail_msg("not approved: %s (%s)", state,
                 json_string_value(json_object_get(j, "reason")));
    if (task_pk != NULL) {
        const char *pk = json_string_value(json_object_get(json_object_get(j, "ta"), "task_pk"));
        assert_non_null(pk);
        assert_int_equal(ward_hex_decode_fixed(pk, strlen(pk), task_pk, 32), WARD_OK);
    }
    json_decref(j);
}

/* ---- reading and running a task ----------------------------------------------------------- */

json_t *tu_get_json(const tu_wardd *d, const tu_party *who, const char *path)
{
    tu_resp r = tu_party_request(d, who, "GET", path, NULL, 0);
    if (r.status != 200)
        fprintf(stderr, "GET %s: %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    return j;
}

json_t *tu_task_get(const tu_wardd *d, const tu_party *who, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", id);
    return tu_get_json(d, who, path);
}

json_t *tu_task_run(const tu_wardd *d, const tu_party *who, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s/run", id);
    tu_resp r = tu_party_request(d, who, "POST", path, NULL, 0);
    if (r.status != 200)
        fprintf(stderr, "run: %ld %s\n", r.status, r.body);
    assert_int_equal(r.status, 200);
    json_t *j = tu_resp_json(&r);
    free(r.body);
    return j;
}

void tu_task_run_done(const tu_wardd *d, const tu_party *who, const char *id)
{
    json_t *j = tu_task_run(d, who, id);
    const char *state = json_string_value(json_object_get(j, "state"));
    if (state == NULL || strcmp(state, "done") != 0)
        fail_msg("run: %s (%s)", state, json_string_value(json_object_get(j, "reason")));
    json_decref(j);
}

void tu_healthz(const tu_wardd *d)
{
    tu_resp r = tu_party_request(d, NULL, "GET", "/healthz", NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
}

/* ---- inputs ------------------------------------------------------------------------------- */

uint8_t *tu_input_seal(const uint8_t task_pk[32], const char *id, const char *slot, size_t chunk,
                       const char *csv, size_t csv_len, size_t *ct_len)
{
    char aad[WARD_TASK_AAD_MAX];
    snprintf(aad, sizeof aad, "%s%s/%s", WARD_TASK_AAD_PREFIX, id, slot);
    uint8_t *ct = NULL;
    assert_int_equal(ward_stream_seal(task_pk, chunk, (const uint8_t *)aad, strlen(aad),
                                      (const uint8_t *)csv, csv_len, &ct, ct_len),
                     WARD_OK);
    return ct;
}

tu_resp tu_input_put(const tu_wardd *d, const tu_party *who, const char *id, const char *slot,
                     size_t offset, int final, const uint8_t *data, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/tasks/%s/inputs/%s?offset=%zu%s", id, slot, offset,
             final ? "&final=1" : "");
    return tu_party_request(d, who, "PUT", path, (const char *)data, len);
}

void tu_input_upload(const tu_wardd *d, const tu_party *who, const char *id, const char *slot,
                     const uint8_t *ct, size_t len, size_t piece)
{
    size_t off = 0;
    do {
        size_t n = piece == 0 || len - off < piece ? len - off : piece;
        int final = off + n == len;
        tu_resp r = tu_input_put(d, who, id, slot, off, final, ct + off, n);
        if (r.status != 200)
            fprintf(stderr, "upload %s: %ld %s\n", slot, r.status, r.body);
        assert_int_equal(r.status, 200);
        json_t *j = tu_resp_json(&r);
        free(r.body);
        assert_int_equal(json_integer_value(json_object_get(j, "offset")), off + n);
        if (final)
            assert_true(json_is_true(json_object_get(j, "complete")));
        json_decref(j);
        off += n;
    } while (off < len);
}

/* ---- results ------------------------------------------------------------------------------ */

void tu_result_fetch(const tu_wardd *d, const tu_party *who, const char *id, tu_result *r)
{
    memset(r, 0, sizeof *r);
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/result", id);
    json_t *j = tu_get_json(d, who, path);
    r->statement = tu_b64u_member(j, "statement", &r->statement_len);
    r->signature = tu_b64u_member(j, "signature", &r->signature_len);
    r->sign_pk = tu_b64u_member(j, "sign_pk", &r->sign_pk_len);
    json_int_t bytes = json_integer_value(json_object_get(j, "result_bytes"));
    json_decref(j);
    assert_true(bytes > 0);
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=0", id);
    tu_resp resp = tu_party_request(d, who, "GET", path, NULL, 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.len, (size_t)bytes);
    r->enc = (uint8_t *)resp.body;
    r->enc_len = resp.len;
}

void tu_result_free(tu_result *r)
{
    free(r->statement);
    free(r->signature);
    free(r->sign_pk);
    free(r->enc);
    memset(r, 0, sizeof *r);
}

void tu_statement_check(const uint8_t *st, size_t stl, const char *fn, const uint8_t digest[32],
                        const char *params, const uint8_t *pt, size_t ptl)
{
    size_t fl = strlen(fn);
    assert_int_equal(stl, 14 + 1 + fl + 4 * 32 + 8);
    assert_memory_equal(st, "WARD-RESULT-1", 14);
    assert_int_equal(st[14], fl);
    assert_memory_equal(st + 15, fn, fl);
    assert_memory_equal(st + 15 + fl, digest, 32);
    uint8_t h[32];
    if (params != NULL) {
        assert_int_equal(ward_hash(WARD_HASH_SHA256, params, strlen(params), h), WARD_OK);
        assert_memory_equal(st + 15 + fl + 32, h, 32);
    }
    assert_int_equal(ward_hash(WARD_HASH_SHA256, pt, ptl, h), WARD_OK);
    assert_memory_equal(st + 15 + fl + 96, h, 32);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)st[15 + fl + 128 + k] << (8 * k);
    assert_int_equal(n, ptl);
}

char *tu_result_open(const tu_result *r, const uint8_t *sign_pk, size_t sign_pk_len,
                     const uint8_t digest[32], const char *fn, const char *params,
                     const uint8_t sk[32], size_t *pt_len)
{
    assert_int_equal(r->sign_pk_len, sign_pk_len);
    assert_memory_equal(r->sign_pk, sign_pk, sign_pk_len);
    ward_pkey *pk = NULL;
    assert_int_equal(ward_pkey_from_spki_der(r->sign_pk, r->sign_pk_len, &pk), WARD_OK);
    assert_int_equal(ward_verify(pk, WARD_HASH_SHA256, WARD_SIG_RAW, r->statement,
                                 r->statement_len, r->signature, r->signature_len),
                     WARD_OK);
    ward_pkey_free(pk);
    uint8_t *pt = NULL;
    size_t ptl = 0;
    /* only the manifest's recipient key opens the result */
    uint8_t osk[32], opk[32];
    assert_int_equal(ward_x25519_generate(osk, opk), WARD_OK);
    assert_int_not_equal(ward_stream_open(osk, digest, 32, r->enc, r->enc_len, &pt, &ptl),
                         WARD_OK);
    ward_wipe(osk, sizeof osk);
    assert_null(pt);
    assert_int_equal(ward_stream_open(sk, digest, 32, r->enc, r->enc_len, &pt, &ptl), WARD_OK);
    tu_statement_check(r->statement, r->statement_len, fn, digest, params, pt, ptl);
    char *csv = malloc(ptl + 1);
    assert_non_null(csv);
    memcpy(csv, pt, ptl);
    csv[ptl] = '\0';
    free(pt);
    *pt_len = ptl;
    return csv;
}
