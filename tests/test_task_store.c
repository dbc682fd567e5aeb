/* The task lifecycle store: transitions and their guards, uploads, results, cancellation by
 * quorum, expiry, crash recovery, retention. The clock is injected: no sleeps. */
#include "testutil.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ward/audit.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/task.h"

#define ID "00112233445566778899aabbccddeeff"
#define EXPIRES 2000000

static ward_pkey *g_creator, *g_owner_a, *g_owner_b, *g_outsider, *g_audit_key;
static uint8_t h_creator[32], h_a[32], h_b[32], h_out[32];
static int64_t g_now = 1000000;

static int64_t fake_now(void *arg)
{
    (void)arg;
    return g_now;
}

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

/* An envelope signed by the given keys (NULL-terminated). */
static char *envelope(const char *retention, ward_pkey *const *signers)
{
    char *c = spki_b64(g_creator), *a = spki_b64(g_owner_a), *b = spki_b64(g_owner_b);
    json_t *j = json_pack(
        "{s:i,s:s,s:s,s:{s:s},s:{s:s},s:[{s:s,s:s,s:i},{s:s,s:s,s:i}],s:[{s:s,s:s}],s:I,s:s}",
        "version", 1, "task_id", ID, "creator", c, "function", "builtin", "sql", "params",
        "query", "SELECT 1", "inputs", "a", "a", "owner", a, "max_bytes", 100, "slot", "b",
        "owner", b, "max_bytes", 100, "recipients", "identity", c, "x25519",
        "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", "expires_at", (json_int_t)EXPIRES,
        "retention", retention);
    free(c);
    free(a);
    free(b);
    assert_non_null(j);
    /* "a","a" above: the first slot is named "a" (key "slot" set below) */
    json_t *in0 = json_array_get(json_object_get(j, "inputs"), 0);
    json_object_del(in0, "a");
    json_object_set_new(in0, "slot", json_string("a"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    ward_task_manifest *m = NULL;
    assert_int_equal(ward_task_manifest_parse(text, strlen(text), &m), WARD_OK);
    free(text);
    for (size_t i = 0; signers[i] != NULL; i++)
        assert_int_equal(ward_task_sign(m, signers[i]), WARD_OK);
    char *env = NULL;
    assert_int_equal(ward_task_envelope_serialize(m, &env, NULL), WARD_OK);
    ward_task_manifest_free(m);
    return env;
}

static char *all_signed(const char *retention)
{
    ward_pkey *const all[] = {g_creator, g_owner_a, g_owner_b, NULL};
    return envelope(retention, all);
}

static ward_task_store *open_store(const char *dir, ward_audit *audit)
{
    ward_task_store_options o = {.audit = audit, .now = fake_now, .no_fsync = 1};
    ward_task_store *s = NULL;
    if (ward_task_store_open(dir, &o, &s) != WARD_OK)
        fail_msg("open: %s", ward_errmsg());
    return s;
}

static ward_task_state state_of(ward_task_store *s)
{
    ward_task_info info;
    assert_int_equal(ward_task_store_info(s, ID, &info), WARD_OK);
    return info.state;
}

/* A store holding the task, all signed, moved to collecting. */
static ward_task_store *collecting(const char *dir, const char *retention, ward_audit *audit)
{
    ward_task_store *s = open_store(dir, audit);
    char *env = all_signed(retention);
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_OK);
    free(env);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL), WARD_OK);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_COLLECTING, NULL, NULL), WARD_OK);
    return s;
}

static void upload_both(ward_task_store *s)
{
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 0, (const uint8_t *)"alpha", 5),
                     WARD_OK);
    assert_int_equal(ward_task_slot_finish(s, ID, "a", h_a), WARD_OK);
    assert_int_equal(ward_task_slot_append(s, ID, "b", h_b, 0, (const uint8_t *)"beta", 4),
                     WARD_OK);
    assert_int_equal(ward_task_slot_finish(s, ID, "b", h_b), WARD_OK);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- tests ---- */

static ward_err sign_cb(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    uint8_t *s = NULL;
    size_t n = 0;
    ward_err err = ward_sign(arg, WARD_HASH_SHA256, WARD_SIG_RAW, msg, len, &s, &n);
    if (err == WARD_OK && n == 64)
        memcpy(sig, s, 64);
    free(s);
    return err;
}

static void test_full_lifecycle_audited(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_audit_options ao = {.sign = sign_cb, .sign_arg = g_audit_key, .verify_key = g_audit_key};
    ward_audit *log = NULL;
    assert_int_equal(ward_audit_open(dir, &ao, &log), WARD_OK);
    ward_task_store *s = collecting(dir, "delete-on-done", log);
    upload_both(s);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_RUNNING, NULL, NULL), WARD_OK);
    /* done needs a result for every recipient */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_DONE, NULL, NULL), WARD_ERR_STATE);
    assert_int_equal(ward_task_result_put(s, ID, h_creator, (const uint8_t *)"r", 1), WARD_OK);
    assert_int_equal(ward_task_result_put(s, ID, h_creator, (const uint8_t *)"r", 1),
                     WARD_ERR_EXISTS);
    assert_int_equal(ward_task_result_put(s, ID, h_a, (const uint8_t *)"r", 1),
                     WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_DONE, "ok", "ta"), WARD_OK);
    ward_task_info info;
    assert_int_equal(ward_task_store_info(s, ID, &info), WARD_OK);
    assert_int_equal(info.state, WARD_TASK_DONE);
    assert_int_equal(info.transitions, 5); /* created, approved, collecting, running, done */
    assert_true(info.final_at > 0);
    uint64_t counts[WARD_TASK_STATE__COUNT];
    assert_int_equal(ward_task_store_count(s, counts), WARD_OK);
    assert_int_equal(counts[WARD_TASK_DONE], 1);
    ward_task_result_info ri;
    assert_int_equal(ward_task_result_get(s, ID, h_creator, &ri), WARD_OK);
    assert_int_equal(ri.bytes, 1);
    assert_true(exists(ri.path));
    ward_task_store_close(s);
    assert_true(ward_audit_last_seq(log) >= 5);
    assert_int_equal(ward_audit_close(log), WARD_OK);
    tu_rmtree(dir);
    free(dir);
}

static void test_illegal_transitions(void **state)
{
    (void)state;
    g_now = 1000000;
    assert_false(ward_task_transition_allowed(WARD_TASK_DONE, WARD_TASK_RUNNING));
    assert_false(ward_task_transition_allowed(WARD_TASK_CREATED, WARD_TASK_RUNNING));
    assert_false(ward_task_transition_allowed(WARD_TASK_CANCELLED, WARD_TASK_FAILED));
    assert_true(ward_task_transition_allowed(WARD_TASK_RUNNING, WARD_TASK_CANCELLED));
    char *dir = tu_mkdtemp();
    ward_task_store *s = open_store(dir, NULL);
    char *env = all_signed("delete-on-done");
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_OK);
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_ERR_EXISTS);
    free(env);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_RUNNING, NULL, NULL), WARD_ERR_STATE);
    assert_non_null(strstr(ward_errmsg(), "illegal transition created -> running"));
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_DONE, NULL, NULL), WARD_ERR_STATE);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_FAILED, NULL, NULL),
                     WARD_ERR_INVALID_ARG); /* failing needs a reason */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_CANCELLED, NULL, NULL),
                     WARD_ERR_STATE); /* no quorum */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_EXPIRED, NULL, NULL),
                     WARD_ERR_STATE); /* not yet */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_FAILED, "operator", NULL), WARD_OK);
    for (int to = 0; to < WARD_TASK_STATE__COUNT; to++)
        assert_int_equal(ward_task_transition(s, ID, (ward_task_state)to, "x", NULL),
                         WARD_ERR_STATE);
    assert_int_equal(state_of(s), WARD_TASK_FAILED);
    assert_int_equal(ward_task_transition(s, "nothex", WARD_TASK_FAILED, "x", NULL),
                     WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_task_transition(s, "ffffffffffffffffffffffffffffffff", WARD_TASK_FAILED,
                                          "x", NULL),
                     WARD_ERR_NOT_FOUND);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_approval_needs_signatures_and_time(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = open_store(dir, NULL);
    ward_pkey *const two[] = {g_creator, g_owner_a, NULL};
    char *partial = envelope("delete-on-done", two);
    assert_int_equal(ward_task_store_create(s, partial, strlen(partial), NULL), WARD_OK);
    free(partial);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL),
                     WARD_ERR_VERIFY);
    assert_non_null(strstr(ward_errmsg(), "missing 1 of 3"));
    /* the last signature arrives separately */
    ward_pkey *const last[] = {g_owner_b, NULL};
    char *b_only = envelope("delete-on-done", last);
    assert_int_equal(ward_task_store_add_signatures(s, ID, b_only, strlen(b_only), NULL), WARD_OK);
    /* a signature of another manifest is not merged */
    char *other = envelope("keep-days:1", last);
    assert_int_equal(ward_task_store_add_signatures(s, ID, other, strlen(other), NULL),
                     WARD_ERR_VERIFY);
    free(other);
    free(b_only);
    /* expiry in the past at approval */
    g_now = EXPIRES;
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL), WARD_ERR_STATE);
    assert_non_null(strstr(ward_errmsg(), "cannot approve"));
    g_now = EXPIRES - 1;
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL), WARD_OK);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_create_refuses_bad_signature(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = open_store(dir, NULL);
    char *env = all_signed("delete-on-done");
    char *at = strstr(env, "SELECT 1");
    assert_non_null(at);
    at[7] = '2'; /* a field changed after signing */
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_ERR_VERIFY);
    free(env);
    assert_int_equal(ward_task_store_info(s, ID, &(ward_task_info){0}), WARD_ERR_NOT_FOUND);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_uploads(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = open_store(dir, NULL);
    char *env = all_signed("delete-on-done");
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_OK);
    free(env);
    /* not before collecting */
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 0, (const uint8_t *)"x", 1),
                     WARD_ERR_STATE);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL), WARD_OK);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_COLLECTING, NULL, NULL), WARD_OK);
    /* upload by a non-owner */
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_b, 0, (const uint8_t *)"x", 1),
                     WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_out, 0, (const uint8_t *)"x", 1),
                     WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_slot_finish(s, ID, "a", h_b), WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_slot_append(s, ID, "zz", h_a, 0, (const uint8_t *)"x", 1),
                     WARD_ERR_NOT_FOUND);
    /* 0-byte input */
    assert_int_equal(ward_task_slot_finish(s, ID, "a", h_a), WARD_ERR_STATE);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 0, (const uint8_t *)"hello ", 6),
                     WARD_OK);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 0, (const uint8_t *)"hello ", 6),
                     WARD_ERR_EXISTS);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 2, (const uint8_t *)"x", 1),
                     WARD_ERR_STATE);
    /* the running task cannot start before every slot is finished */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_RUNNING, NULL, NULL), WARD_ERR_STATE);
    /* crash mid-upload: close, leave a torn partial chunk in the file, reopen, resume */
    ward_task_slot_info si;
    assert_int_equal(ward_task_slot_get(s, ID, "a", &si), WARD_OK);
    ward_task_store_close(s);
    FILE *f = fopen(si.path, "ab");
    assert_non_null(f);
    fputs("torn", f);
    fclose(f);
    s = open_store(dir, NULL);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 1, (const uint8_t *)"world", 5),
                     WARD_OK);
    /* over max_bytes (100) */
    uint8_t big[100] = {0};
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 2, big, sizeof big), WARD_ERR_LIMIT);
    assert_int_equal(ward_task_slot_get(s, ID, "a", &si), WARD_OK);
    assert_int_equal(si.bytes, 11);
    assert_int_equal(si.chunks, 2);
    uint8_t expect[32];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, "hello world", 11, expect), WARD_OK);
    assert_memory_equal(si.sha256, expect, 32);
    size_t flen = 0;
    uint8_t *content = tu_read_file(si.path, &flen);
    assert_int_equal(flen, 11);
    assert_memory_equal(content, "hello world", 11);
    free(content);
    assert_int_equal(ward_task_slot_finish(s, ID, "a", h_a), WARD_OK);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 2, (const uint8_t *)"x", 1),
                     WARD_ERR_STATE);
    /* tampered stored ciphertext is detected on resume */
    assert_int_equal(ward_task_slot_append(s, ID, "b", h_b, 0, (const uint8_t *)"bbbb", 4),
                     WARD_OK);
    ward_task_slot_info sb;
    assert_int_equal(ward_task_slot_get(s, ID, "b", &sb), WARD_OK);
    ward_task_store_close(s);
    f = fopen(sb.path, "r+b");
    assert_non_null(f);
    fputc('X', f);
    fclose(f);
    s = open_store(dir, NULL);
    assert_int_equal(ward_task_slot_append(s, ID, "b", h_b, 1, (const uint8_t *)"b", 1),
                     WARD_ERR_VERIFY);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

/* A chunk given as pieces is stored and hashed as their concatenation; the owner and limit
 * kept with the open upload after its first chunk neither let another party append nor lift
 * max_bytes. With real syncs here (the other tests skip them). */
static void test_upload_pieces(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = NULL;
    ward_task_store_options o = {.now = fake_now};
    assert_int_equal(ward_task_store_open(dir, &o, &s), WARD_OK);
    char *env = all_signed("delete-on-done");
    assert_int_equal(ward_task_store_create(s, env, strlen(env), NULL), WARD_OK);
    free(env);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_APPROVED, NULL, NULL), WARD_OK);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_COLLECTING, NULL, NULL), WARD_OK);
    const ward_task_piece p1[] = {{(const uint8_t *)"hel", 3}, {(const uint8_t *)"", 0},
                                  {(const uint8_t *)"lo ", 3}};
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_a, 0, p1, 3), WARD_OK);
    const ward_task_piece p2[] = {{(const uint8_t *)"wor", 3}, {(const uint8_t *)"ld", 2}};
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_b, 1, p2, 2),
                     WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_a, 1, p2, 2), WARD_OK);
    const ward_task_piece empty[] = {{(const uint8_t *)"", 0}};
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_a, 2, empty, 1),
                     WARD_ERR_INVALID_ARG);
    const ward_task_piece none[] = {{NULL, 4}};
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_a, 2, none, 1),
                     WARD_ERR_INVALID_ARG);
    uint8_t big[90] = {0};
    const ward_task_piece over[] = {{big, sizeof big}};
    assert_int_equal(ward_task_slot_append_pieces(s, ID, "a", h_a, 2, over, 1), WARD_ERR_LIMIT);
    ward_task_slot_info si;
    assert_int_equal(ward_task_slot_get(s, ID, "a", &si), WARD_OK);
    assert_int_equal(si.bytes, 11);
    assert_int_equal(si.chunks, 2);
    uint8_t expect[32];
    assert_int_equal(ward_hash(WARD_HASH_SHA256, "hello world", 11, expect), WARD_OK);
    assert_memory_equal(si.sha256, expect, 32);
    size_t flen = 0;
    uint8_t *content = tu_read_file(si.path, &flen);
    assert_int_equal(flen, 11);
    assert_memory_equal(content, "hello world", 11);
    free(content);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_result_non_recipient(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = collecting(dir, "delete-on-done", NULL);
    upload_both(s);
    assert_int_equal(ward_task_result_put(s, ID, h_creator, (const uint8_t *)"r", 1),
                     WARD_ERR_STATE); /* not running yet */
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_RUNNING, NULL, NULL), WARD_OK);
    ward_task_result_info ri;
    assert_int_equal(ward_task_result_get(s, ID, h_creator, &ri), WARD_ERR_NOT_FOUND);
    assert_int_equal(ward_task_result_put(s, ID, h_creator, (const uint8_t *)"res", 3), WARD_OK);
    assert_int_equal(ward_task_result_get(s, ID, h_a, &ri), WARD_ERR_PERMISSION);
    assert_non_null(strstr(ward_errmsg(), "not a recipient"));
    assert_int_equal(ward_task_result_get(s, ID, h_out, &ri), WARD_ERR_PERMISSION);
    assert_int_equal(ward_task_result_get(s, ID, h_creator, &ri), WARD_OK);
    assert_int_equal(ri.bytes, 3);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_cancel_quorum(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = collecting(dir, "delete-on-done", NULL);
    int cancelled = 7;
    assert_int_equal(ward_task_cancel_vote(s, ID, h_out, &cancelled), WARD_ERR_PERMISSION);
    assert_non_null(strstr(ward_errmsg(), "not a participant"));
    assert_int_equal(cancelled, 0);
    assert_int_equal(ward_task_cancel_vote(s, ID, h_a, &cancelled), WARD_OK);
    assert_int_equal(cancelled, 0);
    assert_int_equal(ward_task_cancel_vote(s, ID, h_a, &cancelled), WARD_OK); /* counts once */
    assert_int_equal(cancelled, 0);
    ward_task_info info;
    assert_int_equal(ward_task_store_info(s, ID, &info), WARD_OK);
    assert_int_equal(info.cancel_votes, 1);
    assert_int_equal(info.cancel_quorum, 2);
    assert_int_equal(info.state, WARD_TASK_COLLECTING);
    assert_int_equal(ward_task_cancel_vote(s, ID, h_creator, &cancelled), WARD_OK);
    assert_int_equal(cancelled, 1); /* the quorum: exactly this call cancels */
    assert_int_equal(ward_task_cancel_vote(s, ID, h_b, &cancelled), WARD_ERR_STATE);
    assert_int_equal(cancelled, 0);
    assert_int_equal(ward_task_store_info(s, ID, &info), WARD_OK);
    assert_int_equal(info.state, WARD_TASK_CANCELLED);
    assert_int_equal(info.transitions, 4); /* created, approved, collecting, cancelled */
    assert_non_null(strstr(info.reason, "quorum"));
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_crash_recovery(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = collecting(dir, "delete-on-done", NULL);
    upload_both(s);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_RUNNING, NULL, NULL), WARD_OK);
    ward_task_slot_info si;
    assert_int_equal(ward_task_slot_get(s, ID, "a", &si), WARD_OK);
    assert_true(exists(si.path));
    assert_int_equal(ward_task_store_recovered(s), 0);
    ward_task_store_close(s); /* the node "dies" while running */
    s = open_store(dir, NULL);
    assert_int_equal(ward_task_store_recovered(s), 1);
    ward_task_info info;
    assert_int_equal(ward_task_store_info(s, ID, &info), WARD_OK);
    assert_int_equal(info.state, WARD_TASK_FAILED);
    assert_string_equal(info.reason, WARD_TASK_REASON_RESTART);
    assert_false(exists(si.path)); /* delete-on-done applies to failed too */
    assert_int_equal(ward_task_slot_get(s, ID, "a", &si), WARD_OK);
    assert_true(si.deleted);
    ward_task_store_close(s);
    s = open_store(dir, NULL);
    assert_int_equal(ward_task_store_recovered(s), 0);
    /* a second store on the same directory is refused */
    ward_task_store *s2 = NULL;
    assert_int_equal(ward_task_store_open(dir, NULL, &s2), WARD_ERR_STATE);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_retention_keep_days(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = collecting(dir, "keep-days:2", NULL);
    upload_both(s);
    ward_task_slot_info sa, sb;
    assert_int_equal(ward_task_slot_get(s, ID, "a", &sa), WARD_OK);
    assert_int_equal(ward_task_slot_get(s, ID, "b", &sb), WARD_OK);
    assert_int_equal(ward_task_transition(s, ID, WARD_TASK_FAILED, "ta crashed", NULL), WARD_OK);
    assert_true(exists(sa.path));
    size_t expired = 9, deleted = 9;
    g_now += 2 * 86400 - 1;
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(deleted, 0);
    assert_true(exists(sa.path));
    g_now += 1;
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(deleted, 2);
    assert_false(exists(sa.path));
    assert_false(exists(sb.path));
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(deleted, 0);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void test_expiry_sweep(void **state)
{
    (void)state;
    g_now = 1000000;
    char *dir = tu_mkdtemp();
    ward_task_store *s = collecting(dir, "delete-on-done", NULL);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 0, (const uint8_t *)"x", 1), WARD_OK);
    ward_task_slot_info sa;
    assert_int_equal(ward_task_slot_get(s, ID, "a", &sa), WARD_OK);
    size_t expired = 9, deleted = 9;
    g_now = EXPIRES - 1;
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(state_of(s), WARD_TASK_COLLECTING);
    g_now = EXPIRES;
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(state_of(s), WARD_TASK_EXPIRED);
    assert_false(exists(sa.path));
    assert_int_equal(ward_task_store_sweep(s, &expired, &deleted), WARD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(ward_task_slot_append(s, ID, "a", h_a, 1, (const uint8_t *)"x", 1),
                     WARD_ERR_STATE);
    ward_task_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static int group_setup(void **state)
{
    (void)state;
    if (ward_pkey_generate(WARD_KEY_EC_P256, &g_creator) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_owner_a) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_owner_b) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_outsider) != WARD_OK ||
        ward_pkey_generate(WARD_KEY_EC_P256, &g_audit_key) != WARD_OK)
        return -1;
    if (ward_pkey_spki_sha256(g_creator, h_creator) != WARD_OK ||
        ward_pkey_spki_sha256(g_owner_a, h_a) != WARD_OK ||
        ward_pkey_spki_sha256(g_owner_b, h_b) != WARD_OK ||
        ward_pkey_spki_sha256(g_outsider, h_out) != WARD_OK)
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
    ward_pkey_free(g_audit_key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_lifecycle_audited),
        cmocka_unit_test(test_illegal_transitions),
        cmocka_unit_test(test_approval_needs_signatures_and_time),
        cmocka_unit_test(test_create_refuses_bad_signature),
        cmocka_unit_test(test_uploads),
        cmocka_unit_test(test_upload_pieces),
        cmocka_unit_test(test_result_non_recipient),
        cmocka_unit_test(test_cancel_quorum),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_retention_keep_days),
        cmocka_unit_test(test_expiry_sweep),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
