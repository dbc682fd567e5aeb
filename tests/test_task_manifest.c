/* Task manifests: strict parsing, canonical bytes, every party's signature, authorization. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/json.h"
#include "ward/task.h"

#define ID "00112233445566778899aabbccddeeff"

/* creator (also the recipient), two owners, one outsider */
static ward_pkey *g_creator, *g_owner_a, *g_owner_b, *g_outsider;

static char *spki_b64(const ward_pkey *k)
{
    uint8_t *der = NULL;
    size_t n = 0;
    char *b64 = NULL;
    assert_int_equal(ward_pkey_spki_der(k, &der, &n), WARD_OK);
    assert_int_equal(ward_base64_encode(der, n, &b64, NULL), WARD_OK);
    free(der);
    return b64;
}

static void hash_of(const ward_pkey *k, uint8_t out[32])
{
    assert_int_equal(ward_pkey_spki_sha256(k, out), WARD_OK);
}

#define RX "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

static json_t *base_manifest(void)
{
    char *c = spki_b64(g_creator), *a = spki_b64(g_owner_a), *b = spki_b64(g_owner_b);
    json_t *m = json_pack(
        "{s:i,s:s,s:s,s:{s:s},s:{s:s},s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:[{s:s,s:s}],s:I,s:s}",
        "version", 1, "task_id", ID, "creator", c, "function", "builtin", "sql", "params",
        "query", "SELECT count(*) FROM a JOIN b USING (id)", "inputs", "slot", "a", "owner", a,
        "max_bytes", 1000000, "slot", "b", "owner", b, "max_bytes", 1000000, "recipients",
        "identity", c, "x25519", RX,
        "expires_at", (json_int_t)4000000000LL, "retention", "delete-on-done");
    assert_non_null(m);
    free(c);
    free(a);
    free(b);
    return m;
}

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static ward_err parse_json(const json_t *v, ward_task_manifest **out)
{
    char *s = dump(v);
    ward_err err = ward_task_manifest_parse(s, strlen(s), out);
    free(s);
    return err;
}

/* Parses text, expects err and a message containing needle. */
static void refused(const char *text, ward_err expect, const char *needle)
{
    ward_task_manifest *m = NULL;
    ward_err err = ward_task_manifest_parse(text, strlen(text), &m);
    if (err != expect)
        fail_msg("expected %s, got %s (%s) for %.200s", ward_err_name(expect),
                 ward_err_name(err), ward_errmsg(), text);
    assert_null(m);
    if (needle != NULL && strstr(ward_errmsg(), needle) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", ward_errmsg(), needle);
}

static void refused_json(json_t *v, ward_err expect, const char *needle)
{
    char *s = dump(v);
    refused(s, expect, needle);
    free(s);
    json_decref(v);
}

/* A fully signed envelope text. */
static char *signed_envelope(void)
{
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    assert_int_equal(ward_task_sign(m, g_creator), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_owner_a), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_owner_b), WARD_OK);
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    ward_task_manifest_free(m);
    return env;
}

static ward_err verify_text(const char *env)
{
    ward_task_manifest *m = NULL;
    ward_err err = ward_task_envelope_parse(env, strlen(env), &m);
    if (err != WARD_OK)
        return err;
    err = ward_task_verify_signatures(m);
    ward_task_manifest_free(m);
    return err;
}

/* ---- tests ---- */

static void test_parse_and_accessors(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    assert_string_equal(ward_task_id(m), ID);
    assert_int_equal(ward_task_function(m), WARD_TASK_FN_SQL);
    assert_null(ward_task_ta_measurement(m));
    assert_string_equal(ward_task_sql_query(m), "SELECT count(*) FROM a JOIN b USING (id)");
    assert_int_equal(ward_task_slot_count(m), 2);
    ward_task_slot_desc d;
    assert_int_equal(ward_task_slot_find(m, "b", &d), WARD_OK);
    uint8_t h[32], hb[32];
    hash_of(g_owner_b, hb);
    assert_memory_equal(d.owner, hb, 32);
    assert_int_equal(d.max_bytes, 1000000);
    assert_int_equal(ward_task_slot_find(m, "c", &d), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_task_recipient_count(m), 1);
    /* creator = recipient: three participants; default quorum = majority = 2 */
    assert_int_equal(ward_task_participant_count(m), 3);
    assert_int_equal(ward_task_cancel_quorum(m), 2);
    assert_int_equal(ward_task_expires_at(m), 4000000000LL);
    uint32_t days = 9;
    assert_int_equal(ward_task_retention_of(m, &days), WARD_TASK_RETAIN_DELETE);
    ward_task_creator(m, h);
    uint8_t hc[32];
    hash_of(g_creator, hc);
    assert_memory_equal(h, hc, 32);
    /* the digest is SHA-256 of the canonical bytes */
    size_t n = 0;
    const char *c = ward_task_manifest_canonical(m, &n);
    uint8_t dg[32], dg2[32];
    ward_task_manifest_digest(m, dg);
    assert_int_equal(ward_hash(WARD_HASH_SHA256, c, n, dg2), WARD_OK);
    assert_memory_equal(dg, dg2, 32);
    assert_int_equal(c[0], '{');
    assert_non_null(strstr(c, "\"cancel_quorum\"") == NULL ? c : NULL);
    ward_task_manifest_free(m);
}

static void test_psi_and_ta(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    json_object_set_new(j, "function", json_pack("{s:s}", "builtin", "psi"));
    json_object_set_new(j, "params", json_pack("{s:s,s:[s,s]}", "key", "email", "columns",
                                               "email", "age"));
    json_object_set_new(j, "cancel_quorum", json_integer(3));
    json_object_set_new(j, "retention", json_string("keep-days:30"));
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    assert_int_equal(ward_task_function(m), WARD_TASK_FN_PSI);
    assert_string_equal(ward_task_psi_key(m), "email");
    assert_int_equal(ward_task_psi_column_count(m), 2);
    assert_string_equal(ward_task_psi_column(m, 1), "age");
    assert_null(ward_task_psi_column(m, 2));
    assert_int_equal(ward_task_cancel_quorum(m), 3);
    uint32_t days = 0;
    assert_int_equal(ward_task_retention_of(m, &days), WARD_TASK_RETAIN_KEEP_DAYS);
    assert_int_equal(days, 30);
    ward_task_manifest_free(m);

    json_object_set_new(j, "function",
                        json_pack("{s:s}", "ta_measurement",
                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    json_object_set_new(j, "params", json_pack("{s:[i,b,n]}", "anything", 1, 1));
    assert_int_equal(parse_json(j, &m), WARD_OK);
    assert_int_equal(ward_task_function(m), WARD_TASK_FN_TA);
    assert_non_null(ward_task_ta_measurement(m));
    assert_non_null(ward_task_params(m));
    ward_task_manifest_free(m);
    json_decref(j);
}

static void test_sign_and_verify(void **state)
{
    (void)state;
    char *env = signed_envelope();
    assert_int_equal(verify_text(env), WARD_OK);
    /* layout does not matter: re-serialised with other whitespace, still verifies */
    json_t *j = NULL;
    assert_int_equal(ward_json_parse(env, strlen(env), &j), WARD_OK);
    char *pretty = json_dumps(j, JSON_INDENT(3));
    assert_int_equal(verify_text(pretty), WARD_OK);
    free(pretty);
    json_decref(j);
    free(env);
}

static void test_missing_signature(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    assert_int_equal(ward_task_sign(m, g_creator), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_owner_a), WARD_OK);
    assert_int_equal(ward_task_verify_signatures(m), WARD_ERR_VERIFY);
    assert_non_null(strstr(ward_errmsg(), "missing 1 of 3"));
    assert_non_null(strstr(ward_errmsg(), "slot \"b\""));
    /* and through the envelope */
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    assert_int_equal(verify_text(env), WARD_ERR_VERIFY);
    free(env);
    ward_task_manifest_free(m);
}

static void test_field_changed_after_signing(void **state)
{
    (void)state;
    char *env = signed_envelope();
    static const char *const edits[][2] = {
        {"\"max_bytes\":1000000", "\"max_bytes\":1000001"},
        {"SELECT count(*)", "SELECT sum(x)  "},
        {"4000000000", "4000000001"},
        {"delete-on-done", "keep-days:3650"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *copy = strdup(env);
        char *at = strstr(copy, edits[i][0]);
        assert_non_null(at);
        size_t ol = strlen(edits[i][0]), nl = strlen(edits[i][1]);
        assert_int_equal(ol, nl);
        memcpy(at, edits[i][1], nl);
        assert_int_equal(verify_text(copy), WARD_ERR_VERIFY);
        assert_non_null(strstr(ward_errmsg(), "changed after signing"));
        free(copy);
    }
    /* an added member is refused at parse, before any signature is looked at */
    char *copy = strdup(env);
    char *at = strstr(copy, "{\"cancel") ? NULL : strstr(copy, "\"manifest\":{");
    assert_non_null(at);
    size_t need = strlen(copy) + 32;
    char *grown = malloc(need);
    size_t pre = (size_t)(at - copy) + strlen("\"manifest\":{");
    snprintf(grown, need, "%.*s\"cancel_quorum\":1,%s", (int)pre, copy, copy + pre);
    assert_int_equal(verify_text(grown), WARD_ERR_VERIFY); /* quorum added after signing */
    free(grown);
    free(copy);
    free(env);
}

static void test_non_party_signature(void **state)
{
    (void)state;
    char *env = signed_envelope();
    json_t *j = NULL;
    assert_int_equal(ward_json_parse(env, strlen(env), &j), WARD_OK);
    /* the outsider signs the same canonical bytes */
    ward_task_manifest *m = NULL;
    assert_int_equal(ward_task_envelope_parse(env, strlen(env), &m), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_outsider), WARD_ERR_PERMISSION);
    size_t n = 0;
    const char *c = ward_task_manifest_canonical(m, &n);
    uint8_t *sig = NULL, h[32];
    size_t sl = 0;
    assert_int_equal(ward_sign(g_outsider, WARD_HASH_SHA256, WARD_SIG_RAW, c, n, &sig, &sl),
                     WARD_OK);
    hash_of(g_outsider, h);
    assert_int_equal(ward_task_add_signature(m, h, sig), WARD_ERR_PERMISSION);
    char *kh = NULL, *ks = NULL;
    assert_int_equal(ward_base64url_encode(h, 32, &kh, NULL), WARD_OK);
    assert_int_equal(ward_base64url_encode(sig, sl, &ks, NULL), WARD_OK);
    json_object_set_new(json_object_get(j, "signatures"), kh, json_string(ks));
    char *text = dump(j);
    ward_task_manifest *m2 = NULL;
    assert_int_equal(ward_task_envelope_parse(text, strlen(text), &m2), WARD_ERR_PERMISSION);
    assert_non_null(strstr(ward_errmsg(), "non-party"));
    free(text);
    free(kh);
    free(ks);
    free(sig);
    ward_task_manifest_free(m);
    json_decref(j);
    free(env);
}

static void test_duplicate_signer(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    assert_int_equal(ward_task_sign(m, g_owner_a), WARD_OK);
    assert_int_equal(ward_task_sign(m, g_owner_a), WARD_ERR_EXISTS);
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    ward_task_manifest_free(m);
    /* the same signer twice in the envelope text: a duplicate member */
    char *sigs = strstr(env, "\"signatures\":{");
    assert_non_null(sigs);
    char *entry = sigs + strlen("\"signatures\":{");
    char *end = strchr(entry, '}');
    size_t elen = (size_t)(end - entry);
    size_t need = strlen(env) + elen + 4;
    char *dup = malloc(need);
    snprintf(dup, need, "%.*s%.*s,%s", (int)(entry - env), env, (int)elen, entry, entry);
    ward_task_manifest *m2 = NULL;
    assert_int_not_equal(ward_task_envelope_parse(dup, strlen(dup), &m2), WARD_OK);
    assert_null(m2);
    free(dup);
    free(env);
}

static void test_floats_refused(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    json_object_set_new(j, "expires_at", json_real(4000000000.0));
    refused_json(j, WARD_ERR_FORMAT, "real number");
    j = base_manifest();
    json_object_set_new(j, "version", json_real(1.0));
    refused_json(j, WARD_ERR_FORMAT, "real number");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "inputs"), 0), "max_bytes",
                        json_real(10.5));
    refused_json(j, WARD_ERR_FORMAT, "inputs[0].max_bytes");
    j = base_manifest();
    json_object_set_new(j, "cancel_quorum", json_real(2.0));
    refused_json(j, WARD_ERR_FORMAT, "real number");
    /* a real number deep in a TA's params */
    j = base_manifest();
    json_object_set_new(j, "function",
                        json_pack("{s:s}", "ta_measurement",
                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    json_object_set_new(j, "params", json_pack("{s:{s:f}}", "x", "y", 0.5));
    refused_json(j, WARD_ERR_FORMAT, NULL);
    /* 1e3 in text is a real too */
    refused("{\"version\":1e0}", WARD_ERR_FORMAT, NULL);
}

static void test_unknown_members(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    json_object_set_new(j, "participants", json_array());
    refused_json(j, WARD_ERR_FORMAT, "unknown member \"participants\"");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "inputs"), 1), "note", json_string(""));
    refused_json(j, WARD_ERR_FORMAT, "inputs[1]: unknown member \"note\"");
    j = base_manifest();
    json_object_set_new(json_object_get(j, "params"), "limit", json_integer(1));
    refused_json(j, WARD_ERR_FORMAT, "params: unknown member");
    j = base_manifest();
    json_object_set_new(json_object_get(j, "function"), "ta_measurement", json_string("00"));
    refused_json(j, WARD_ERR_FORMAT, "exactly one");
    /* envelope-level */
    char *env = signed_envelope();
    json_t *e = NULL;
    assert_int_equal(ward_json_parse(env, strlen(env), &e), WARD_OK);
    json_object_set_new(e, "extra", json_true());
    char *t = dump(e);
    ward_task_manifest *m = NULL;
    assert_int_equal(ward_task_envelope_parse(t, strlen(t), &m), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "unknown member \"extra\""));
    free(t);
    json_decref(e);
    free(env);
}

static void test_bad_encodings(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    json_object_set_new(j, "task_id", json_string("00112233445566778899aabbccddeefg"));
    refused_json(j, WARD_ERR_FORMAT, "task_id");
    j = base_manifest();
    json_object_set_new(j, "task_id", json_string("00112233445566778899AABBCCDDEEFF"));
    refused_json(j, WARD_ERR_FORMAT, "task_id");
    j = base_manifest();
    json_object_set_new(j, "task_id", json_string("0011"));
    refused_json(j, WARD_ERR_FORMAT, "task_id");
    j = base_manifest();
    json_object_set_new(j, "function", json_pack("{s:s}", "ta_measurement", "zz"));
    refused_json(j, WARD_ERR_FORMAT, "ta_measurement");
    j = base_manifest();
    json_object_set_new(j, "creator", json_string("not base64!"));
    refused_json(j, WARD_ERR_FORMAT, "creator: not base64");
    j = base_manifest();
    json_object_set_new(j, "creator", json_string("AAAA"));
    refused_json(j, WARD_ERR_FORMAT, "creator: not a DER");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "recipients"), 0), "identity",
                        json_string("QUJD")); /* "ABC" */
    refused_json(j, WARD_ERR_FORMAT, "recipients[0].identity");
    /* an Ed25519 key is not a P-256 key */
    ward_pkey *ed = NULL;
    assert_int_equal(ward_pkey_generate(WARD_KEY_ED25519, &ed), WARD_OK);
    char *edb = spki_b64(ed);
    j = base_manifest();
    json_object_set_new(j, "creator", json_string(edb));
    refused_json(j, WARD_ERR_FORMAT, "P-256");
    free(edb);
    ward_pkey_free(ed);
    /* bad signature encodings in an envelope */
    char *env = signed_envelope();
    json_t *e = NULL;
    assert_int_equal(ward_json_parse(env, strlen(env), &e), WARD_OK);
    json_t *sigs = json_object_get(e, "signatures");
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(sigs, tmp, k, v) {
        json_object_set_new(sigs, k, json_string("@@@"));
        break;
    }
    char *t = dump(e);
    ward_task_manifest *m = NULL;
    assert_int_equal(ward_task_envelope_parse(t, strlen(t), &m), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "64-byte"));
    free(t);
    json_object_clear(sigs);
    json_object_set_new(sigs, "AAAA", json_string("AAAA"));
    t = dump(e);
    assert_int_equal(ward_task_envelope_parse(t, strlen(t), &m), WARD_ERR_FORMAT);
    assert_non_null(strstr(ward_errmsg(), "32-byte"));
    free(t);
    json_decref(e);
    free(env);
}

static void test_ranges_and_types(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    json_object_set_new(j, "version", json_integer(2));
    refused_json(j, WARD_ERR_UNSUPPORTED, "version");
    j = base_manifest();
    json_object_del(j, "expires_at");
    refused_json(j, WARD_ERR_FORMAT, "expires_at: missing");
    j = base_manifest();
    json_object_set_new(j, "cancel_quorum", json_integer(4));
    refused_json(j, WARD_ERR_FORMAT, "cancel_quorum");
    j = base_manifest();
    json_object_set_new(j, "cancel_quorum", json_integer(0));
    refused_json(j, WARD_ERR_FORMAT, "cancel_quorum");
    j = base_manifest();
    json_object_set_new(j, "retention", json_string("keep-days:0"));
    refused_json(j, WARD_ERR_FORMAT, "retention");
    j = base_manifest();
    json_object_set_new(j, "retention", json_string("keep-days:007"));
    refused_json(j, WARD_ERR_FORMAT, "retention");
    j = base_manifest();
    json_object_set_new(j, "retention", json_string("forever"));
    refused_json(j, WARD_ERR_FORMAT, "retention");
    j = base_manifest();
    json_object_set_new(j, "function", json_pack("{s:s}", "builtin", "python"));
    refused_json(j, WARD_ERR_UNSUPPORTED, "python");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "inputs"), 1), "slot", json_string("a"));
    refused_json(j, WARD_ERR_FORMAT, "duplicate slot");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "inputs"), 1), "slot",
                       json_string("../x"));
    refused_json(j, WARD_ERR_FORMAT, "inputs[1].slot");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "inputs"), 0), "max_bytes",
                        json_integer(0));
    refused_json(j, WARD_ERR_FORMAT, "max_bytes");
    j = base_manifest();
    json_object_set_new(j, "inputs", json_array());
    refused_json(j, WARD_ERR_FORMAT, "inputs");
    j = base_manifest();
    json_array_append(json_object_get(j, "recipients"),
                      json_array_get(json_object_get(j, "recipients"), 0));
    refused_json(j, WARD_ERR_FORMAT, "duplicate recipient");
    j = base_manifest();
    json_object_set_new(json_object_get(j, "params"), "query", json_string(""));
    refused_json(j, WARD_ERR_FORMAT, "params.query");
    j = base_manifest();
    json_object_set_new(j, "function", json_pack("{s:s}", "builtin", "psi"));
    json_object_set_new(j, "params", json_pack("{s:s,s:[s,s]}", "key", "k", "columns", "x", "x"));
    refused_json(j, WARD_ERR_FORMAT, "duplicate column");
    refused("[]", WARD_ERR_FORMAT, "not a JSON object");
    refused("", WARD_ERR_FORMAT, NULL);
    refused("{\"version\":1,\"version\":1}", WARD_ERR_FORMAT, NULL);
    /* too long */
    size_t big = WARD_TASK_TEXT_MAX + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    refused(huge, WARD_ERR_LIMIT, NULL);
    free(huge);
}

/* Each recipient is {"identity", "x25519"}: the result key is signed with the rest. */
static void test_recipient_x25519(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    uint8_t x[WARD_TASK_X25519_LEN];
    assert_int_equal(ward_task_recipient_x25519(m, 0, x), WARD_OK);
    for (size_t i = 0; i < sizeof x; i++)
        assert_int_equal(x[i], i + 1);
    assert_int_equal(ward_task_recipient_x25519(m, 1, x), WARD_ERR_NOT_FOUND);
    char aad[WARD_TASK_AAD_MAX];
    size_t al = 0;
    assert_int_equal(ward_task_slot_aad(m, "b", aad, sizeof aad, &al), WARD_OK);
    assert_string_equal(aad, "ward-task-input-v1/" ID "/b");
    assert_int_equal(al, strlen(aad));
    assert_int_equal(ward_task_slot_aad(m, "zz", aad, sizeof aad, NULL), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_task_slot_aad(m, "b", aad, 10, NULL), WARD_ERR_OVERFLOW);
    ward_task_manifest_free(m);
    /* the key is part of the signed bytes: changing it changes the digest */
    char *c = spki_b64(g_creator);
    j = base_manifest();
    json_array_set_new(json_object_get(j, "recipients"), 0, json_string(c));
    refused_json(j, WARD_ERR_FORMAT, "recipients[0]: must be an object");
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "recipients"), 0), "extra",
                        json_true());
    refused_json(j, WARD_ERR_FORMAT, "unknown member \"extra\"");
    j = base_manifest();
    json_object_del(json_array_get(json_object_get(j, "recipients"), 0), "x25519");
    refused_json(j, WARD_ERR_FORMAT, "recipients[0].x25519: missing");
    j = base_manifest();
    json_object_del(json_array_get(json_object_get(j, "recipients"), 0), "identity");
    refused_json(j, WARD_ERR_FORMAT, "recipients[0].identity: missing");
    static const char *const bad[] = {
        "0102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F20", /* upper case */
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",   /* 31 bytes */
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021", /* 33 */
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=",                      /* base64 */
        "0000000000000000000000000000000000000000000000000000000000000000", /* all zero */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = base_manifest();
        json_object_set_new(json_array_get(json_object_get(j, "recipients"), 0), "x25519",
                            json_string(bad[i]));
        refused_json(j, WARD_ERR_FORMAT, "recipients[0].x25519");
    }
    j = base_manifest();
    json_object_set_new(json_array_get(json_object_get(j, "recipients"), 0), "x25519",
                        json_integer(1));
    refused_json(j, WARD_ERR_FORMAT, "recipients[0].x25519");
    /* two manifests differing only in the result key have different digests */
    ward_task_manifest *m1 = NULL, *m2 = NULL;
    j = base_manifest();
    assert_int_equal(parse_json(j, &m1), WARD_OK);
    json_object_set_new(json_array_get(json_object_get(j, "recipients"), 0), "x25519",
                        json_string("ff02030405060708090a0b0c0d0e0f10"
                                    "1112131415161718191a1b1c1d1e1f20"));
    assert_int_equal(parse_json(j, &m2), WARD_OK);
    json_decref(j);
    uint8_t d1[32], d2[32];
    ward_task_manifest_digest(m1, d1);
    ward_task_manifest_digest(m2, d2);
    assert_memory_not_equal(d1, d2, 32);
    ward_task_manifest_free(m1);
    ward_task_manifest_free(m2);
    free(c);
}

static void test_authorization(void **state)
{
    (void)state;
    json_t *j = base_manifest();
    ward_task_manifest *m = NULL;
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    uint8_t c[32], a[32], b[32], o[32];
    hash_of(g_creator, c);
    hash_of(g_owner_a, a);
    hash_of(g_owner_b, b);
    hash_of(g_outsider, o);
    assert_int_equal(ward_task_may_upload(m, "a", a), WARD_OK);
    assert_int_equal(ward_task_may_upload(m, "a", b), WARD_ERR_PERMISSION);
    assert_non_null(strstr(ward_errmsg(), "not the owner of slot \"a\""));
    assert_int_equal(ward_task_may_upload(m, "a", c), WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_may_upload(m, "zz", a), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_task_may_read_result(m, c), WARD_OK);
    assert_int_equal(ward_task_may_read_result(m, a), WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_may_read_result(m, o), WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_may_cancel(m, a), WARD_OK);
    assert_int_equal(ward_task_may_cancel(m, c), WARD_OK);
    assert_int_equal(ward_task_may_cancel(m, o), WARD_ERR_PERMISSION);
    ward_task_manifest_free(m);
}

static void test_add_signature(void **state)
{
    (void)state;
    char *env = signed_envelope();
    ward_task_manifest *full = NULL, *m = NULL;
    assert_int_equal(ward_task_envelope_parse(env, strlen(env), &full), WARD_OK);
    json_t *j = base_manifest();
    assert_int_equal(parse_json(j, &m), WARD_OK);
    json_decref(j);
    uint8_t a[32];
    hash_of(g_owner_a, a);
    assert_int_equal(ward_task_has_signature(full, a), 1);
    assert_int_equal(ward_task_has_signature(m, a), 0);
    /* a signature over other bytes does not verify */
    uint8_t *sig = NULL;
    size_t sl = 0;
    assert_int_equal(ward_sign(g_owner_a, WARD_HASH_SHA256, WARD_SIG_RAW, "other", 5, &sig, &sl),
                     WARD_OK);
    assert_int_equal(ward_task_add_signature(m, a, sig), WARD_ERR_VERIFY);
    free(sig);
    /* nor does one over the bare canonical JSON: signatures are domain-separated */
    size_t n = 0;
    const char *c = ward_task_manifest_canonical(m, &n);
    assert_int_equal(ward_sign(g_owner_a, WARD_HASH_SHA256, WARD_SIG_RAW, c, n, &sig, &sl),
                     WARD_OK);
    assert_int_equal(ward_task_add_signature(m, a, sig), WARD_ERR_VERIFY);
    free(sig);
    uint8_t msg[WARD_TASK_SIGNED_MSG_LEN];
    assert_int_equal(ward_task_signed_message(m, msg), WARD_OK);
    assert_memory_equal(msg, "ward-task-manifest-v1", 22); /* label and its NUL */
    assert_int_equal(ward_sign(g_owner_a, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, &sig,
                               &sl),
                     WARD_OK);
    assert_int_equal(ward_task_add_signature(m, a, sig), WARD_OK);
    assert_int_equal(ward_task_add_signature(m, a, sig), WARD_OK); /* the same one again */
    free(sig);
    ward_task_manifest_free(m);
    ward_task_manifest_free(full);
    free(env);
}

static int group_setup(void **state)
{
    (void)state;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &g_creator) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_owner_a) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_owner_b) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_outsider) != WARD_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ward_pkey_free(g_creator);
    ward_pkey_free(g_owner_a);
    ward_pkey_free(g_owner_b);
    ward_pkey_free(g_outsider);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_accessors),
        cmocka_unit_test(test_psi_and_ta),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_missing_signature),
        cmocka_unit_test(test_field_changed_after_signing),
        cmocka_unit_test(test_non_party_signature),
        cmocka_unit_test(test_duplicate_signer),
        cmocka_unit_test(test_floats_refused),
        cmocka_unit_test(test_unknown_members),
        cmocka_unit_test(test_bad_encodings),
        cmocka_unit_test(test_ranges_and_types),
        cmocka_unit_test(test_recipient_x25519),
        cmocka_unit_test(test_authorization),
        cmocka_unit_test(test_add_signature),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
