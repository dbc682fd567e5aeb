/* A participant's side of a task (docs/api.md "Tasks"): manifests, API calls with wardd's error
 * codes, evidence and binding checks, encrypted resumable uploads, result verification. */
#include "cli/task_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/stream.h"

const char *tc_prog = "ward";
tc_error tc_last_error;

int tc_fail(const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", tc_prog, what, ward_errmsg());
    return -1;
}

int tc_fail_msg(const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", tc_prog, what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    return -1;
}

void tc_hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t i = 0;
    for (; i < n && 2 * i + 3 <= cap; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * i] = '\0';
}

static void set_error(long status, const char *code, const char *message)
{
    tc_last_error.status = status;
    snprintf(tc_last_error.code, sizeof tc_last_error.code, "%s", code);
    snprintf(tc_last_error.message, sizeof tc_last_error.message, "%s", message);
}

ward_err tc_request(cli_client *c, const char *method, const char *path, const void *body,
                    size_t len, long *status, json_t **json)
{
    *status = 0;
    *json = NULL;
    cli_resp r;
    ward_err err = cli_client_request(c, method, path, body, len, &r);
    if (err != WARD_OK) {
        set_error(0, "transport", ward_errmsg());
        return err;
    }
    *status = r.status;
    json_error_t je;
    json_t *j = json_loadb(r.body, r.len, 0, &je);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    *json = j;
    cli_resp_free(&r);
    return WARD_OK;
}

/* Prints wardd's error (code, message, request id) and keeps it in tc_last_error. */
void tc_report_http(const char *who, const char *method, const char *path, long status,
                    const json_t *j, int not_json)
{
    const char *code = json_string_value(json_object_get(j, "error"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    const char *rid = json_string_value(json_object_get(j, "request_id"));
    if (not_json)
        code = "reply", msg = "the reply is not a JSON object";
    set_error(status, code != NULL ? code : "http", msg != NULL ? msg : "");
    fprintf(stderr, "%s: %s %s%s%s: HTTP %ld %s: %s%s%s%s\n", tc_prog, method, path,
            who != NULL ? " as " : "", who != NULL ? who : "", status,
            code != NULL ? code : "(no error code)", msg != NULL ? msg : "",
            rid != NULL ? " (request " : "", rid != NULL ? rid : "", rid != NULL ? ")" : "");
}

json_t *tc_call(cli_client *c, const char *who, const char *method, const char *path,
                const void *body, size_t len, long want)
{
    fflush(stdout);
    long status = 0;
    json_t *j = NULL;
    if (tc_request(c, method, path, body, len, &status, &j) != WARD_OK) {
        fprintf(stderr, "%s: %s %s: %s\n", tc_prog, method, path, ward_errmsg());
        return NULL;
    }
    if (status == want && j != NULL)
        return j;
    tc_report_http(who, method, path, status, j, status == want);
    json_decref(j);
    return NULL;
}

/* ---- manifests ------------------------------------------------------------------------------ */

ward_err tc_manifest_build(const tc_manifest_spec *s, ward_task_manifest **out)
{
    *out = NULL;
    char id[WARD_TASK_ID_HEX_LEN + 1];
    if (s->task_id == NULL) {
        uint8_t rid[WARD_TASK_ID_LEN];
        ward_err err = ward_random(rid, sizeof rid);
        if (err != WARD_OK)
            return err;
        tc_hex(rid, sizeof rid, id, sizeof id);
    } else {
        snprintf(id, sizeof id, "%s", s->task_id);
    }
    json_t *j = json_pack("{s:i, s:s, s:s, s:{s:s}, s:O, s:[], s:[], s:I, s:s}", "version",
                          WARD_TASK_VERSION, "task_id", id, "creator", s->creator, "function",
                          "builtin", s->function, "params", s->params, "inputs", "recipients",
                          "expires_at", (json_int_t)s->expires_at, "retention", s->retention);
    if (j == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "manifest: out of memory");
    int bad = 0;
    json_t *inputs = json_object_get(j, "inputs");
    for (size_t i = 0; i < s->n_slots && !bad; i++)
        bad = json_array_append_new(inputs, json_pack("{s:s, s:s, s:I}", "slot", s->slots[i].name,
                                                      "owner", s->slots[i].owner, "max_bytes",
                                                      (json_int_t)s->slots[i].max_bytes)) != 0;
    json_t *recipients = json_object_get(j, "recipients");
    for (size_t i = 0; i < s->n_recipients && !bad; i++) {
        char x[2 * WARD_TASK_X25519_LEN + 1];
        tc_hex(s->recipients[i].x25519, WARD_TASK_X25519_LEN, x, sizeof x);
        bad = json_array_append_new(recipients, json_pack("{s:s, s:s}", "identity",
                                                          s->recipients[i].identity, "x25519",
                                                          x)) != 0;
    }
    if (!bad && s->cancel_quorum != 0)
        bad = json_object_set_new(j, "cancel_quorum", json_integer(s->cancel_quorum)) != 0;
    char *text = bad ? NULL : json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "manifest: out of memory");
    ward_err err = ward_task_manifest_parse(text, strlen(text), out);
    free(text);
    return err;
}

ward_err tc_params_text(const ward_task_manifest *m, char **out)
{
    *out = NULL;
    if (ward_task_function(m) == WARD_TASK_FN_SQL) {
        *out = strdup(ward_task_sql_query(m));
    } else if (ward_task_function(m) == WARD_TASK_FN_PSI) {
        const char *key = ward_task_psi_key(m);
        size_t n = ward_task_psi_column_count(m), len = strlen(key) + 2;
        for (size_t i = 0; i < n; i++)
            len += strlen(ward_task_psi_column(m, i)) + 1;
        char *p = malloc(len);
        if (p != NULL) {
            size_t off = (size_t)snprintf(p, len, "%s\n", key);
            for (size_t i = 0; i < n; i++)
                off += (size_t)snprintf(p + off, len - off, "%s%s", i > 0 ? "," : "",
                                        ward_task_psi_column(m, i));
        }
        *out = p;
    } else {
        return ward_err_set(WARD_ERR_UNSUPPORTED, "only the built-in sql and psi are supported");
    }
    return *out != NULL ? WARD_OK : ward_err_set(WARD_ERR_NOMEM, "out of memory");
}

/* ---- evidence -------------------------------------------------------------------------------- */

void tc_task_keys_free(tc_task_keys *k)
{
    if (k == NULL)
        return;
    free(k->sign_spki);
    ward_pkey_free(k->sign_pk);
    memset(k, 0, sizeof *k);
}

int tc_task_keys_equal(const tc_task_keys *a, const tc_task_keys *b)
{
    return memcmp(a->task_pk, b->task_pk, sizeof a->task_pk) == 0 &&
           a->sign_spki_len == b->sign_spki_len &&
           memcmp(a->sign_spki, b->sign_spki, a->sign_spki_len) == 0;
}

static int b64u_member(const json_t *j, const char *member, uint8_t **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(j, member));
    if (s == NULL)
        return tc_fail_msg("the reply lacks", member);
    if (ward_base64url_decode(s, strlen(s), out, len) != WARD_OK)
        return tc_fail(member);
    return 0;
}

int tc_check_evidence(const json_t *obj, const uint8_t digest[WARD_TASK_HASH_LEN],
                      const tc_trust *trust, tc_task_keys *out)
{
    memset(out, 0, sizeof *out);
    const char *pkhex = json_string_value(json_object_get(obj, "task_pk"));
    if (!json_is_object(obj) || pkhex == NULL ||
        ward_hex_decode_fixed(pkhex, strlen(pkhex), out->task_pk, sizeof out->task_pk) !=
            WARD_OK)
        return tc_fail_msg("the task has no TA keys (not approved yet?)", NULL);
    if (b64u_member(obj, "sign_pk", &out->sign_spki, &out->sign_spki_len) != 0) {
        tc_task_keys_free(out);
        return -1;
    }
    int rc = -1;
    ward_policy *def = NULL;
    char *ev = json_dumps(json_object_get(obj, "evidence"), JSON_COMPACT);
    int64_t now = (int64_t)time(NULL);
    if (ev == NULL) {
        tc_fail_msg("the task has no evidence", NULL);
        goto out;
    }
    ward_evidence_result res;
    if (ward_evidence_verify(ev, strlen(ev), &trust->anchors, now, &out->claims, &res) !=
        WARD_OK) {
        tc_fail("the task's evidence is refused");
        goto out;
    }
    const ward_policy *pol = trust->policy;
    if (pol == NULL && ward_policy_default(&def) != WARD_OK) {
        tc_fail("default policy");
        goto out;
    }
    if (pol == NULL)
        pol = def;
    if (ward_policy_appraise(pol, &out->claims, NULL, 0, 0, now, &out->appraisal) != WARD_OK) {
        tc_fail("appraising the task's evidence");
        goto out;
    }
    if (!ward_policy_accepts(pol, out->appraisal.status)) {
        fprintf(stderr, "%s: the task's evidence is `%s` under %s, which this policy does not "
                        "accept:\n",
                tc_prog, ward_ear_status_name(out->appraisal.status), out->appraisal.policy_id);
        for (size_t i = 0; i < out->appraisal.n_reasons; i++)
            fprintf(stderr, "    %s\n", out->appraisal.reasons[i]);
        if (out->appraisal.status == WARD_EAR_WARNING)
            fprintf(stderr, "    (a software TEE is never better than `warning`: accept it "
                            "explicitly, e.g. --accept-warning, knowing that the machine's root "
                            "is trusted)\n");
        goto out;
    }
    /* report_data = SHA-256(manifest digest || task_pk || SHA-256(sign_pk)) || 0^32 */
    uint8_t bind[96], expect[64] = {0};
    memcpy(bind, digest, 32);
    memcpy(bind + 32, out->task_pk, 32);
    if (ward_hash(WARD_HASH_SHA256, out->sign_spki, out->sign_spki_len, bind + 64) != WARD_OK ||
        ward_hash(WARD_HASH_SHA256, bind, sizeof bind, expect) != WARD_OK) {
        tc_fail("hash");
        goto out;
    }
    if (!ward_ct_equal(out->claims.report_data, expect, sizeof expect)) {
        tc_fail_msg("the TA's report does not bind this manifest and these task keys: refusing",
                    NULL);
        goto out;
    }
    if (ward_pkey_from_spki_der(out->sign_spki, out->sign_spki_len, &out->sign_pk) != WARD_OK) {
        tc_fail("task signing key");
        goto out;
    }
    rc = 0;
out:
    free(ev);
    ward_policy_free(def);
    if (rc != 0)
        tc_task_keys_free(out);
    return rc;
}

void tc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- progress -------------------------------------------------------------------------------- */

double tc_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tc_bar_start(tc_bar *b, const char *label, uint64_t total)
{
    memset(b, 0, sizeof *b);
    b->on = label != NULL && isatty(STDERR_FILENO);
    b->label = label;
    b->total = total;
    b->t0 = tc_now_s();
}

void tc_bar_update(tc_bar *b, uint64_t done)
{
    if (!b->on)
        return;
    if (done > b->done)
        b->done = done;
    double t = tc_now_s();
    if (t - b->last < 0.1 && (b->total == 0 || done < b->total))
        return;
    b->last = t;
    double el = t - b->t0;
    double mib = (double)done / 1048576.0, rate = el > 0 ? mib / el : 0.0;
    if (b->total == 0) { /* a pipe: no end known, so no bar */
        fprintf(stderr, "\r%s %8.1f MiB %7.1f MiB/s", b->label, mib, rate);
        fflush(stderr);
        return;
    }
    enum { WIDTH = 30 };
    if (done > b->total)
        done = b->total;
    int fill = (int)((double)done / (double)b->total * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%s [%s] %5.1f%% %8.1f MiB %7.1f MiB/s", b->label, bar,
            100.0 * (double)done / (double)b->total, mib, rate);
    fflush(stderr);
}

void tc_bar_end(tc_bar *b)
{
    if (!b->on)
        return;
    b->last = 0;
    tc_bar_update(b, b->total != 0 ? b->total : b->done);
    fputc('\n', stderr);
    b->on = 0;
}

/* ---- results --------------------------------------------------------------------------------- */

void tc_result_free(tc_result *r)
{
    if (r == NULL)
        return;
    if (r->csv != NULL) {
        ward_wipe(r->csv, r->csv_len);
        free(r->csv);
    }
    memset(r, 0, sizeof *r);
}

#define STATEMENT_LABEL "WARD-RESULT-1" /* followed by its NUL in the statement */

/* Where the plaintext goes while the pieces arrive: memory (exactly the signed length) or a
 * temporary file beside the destination, renamed into place only after every check. */
typedef struct pt_sink {
    uint8_t *mem;
    size_t cap;
    FILE *f;
    char tmp[4096 + 16];
    uint64_t len, want;
    ward_hash_ctx *h;
} pt_sink;

static int pt_put(pt_sink *s, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if ((uint64_t)n > s->want - s->len)
        return tc_fail_msg("the decrypted result is longer than the signed statement says",
                           NULL);
    if (ward_hash_update(s->h, p, n) != WARD_OK)
        return tc_fail("hashing the result");
    if (s->f != NULL) {
        if (fwrite(p, 1, n, s->f) != n)
            return tc_fail_msg("writing the result", s->tmp);
    } else {
        memcpy(s->mem + s->len, p, n);
    }
    s->len += n;
    return 0;
}

static void pt_drop(pt_sink *s)
{
    if (s->f != NULL) {
        /* what it holds was authenticated chunk by chunk, but not as a whole: not the result */
        if (ftruncate(fileno(s->f), 0) != 0) {
            /* unlinked below anyway */
        }
        fclose(s->f);
        s->f = NULL;
        unlink(s->tmp);
    }
    if (s->mem != NULL) {
        ward_wipe(s->mem, s->cap);
        free(s->mem);
        s->mem = NULL;
    }
    ward_hash_free(s->h);
    s->h = NULL;
}

#define FETCH_TRIES 4

/* One piece of ciphertext at offset (a lost connection is retried a few times). */
static int fetch_piece(cli_client *c, const char *who, const char *task_id, uint64_t offset,
                       cli_resp *out)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/result/data?offset=%llu", task_id,
             (unsigned long long)offset);
    ward_err err = WARD_OK;
    for (int attempt = 0; attempt < FETCH_TRIES; attempt++) {
        if (attempt > 0)
            tc_sleep_ms(200L << attempt);
        err = cli_client_request(c, "GET", path, NULL, 0, out);
        if (err == WARD_OK)
            break;
    }
    if (err != WARD_OK) {
        set_error(0, "transport", ward_errmsg());
        fprintf(stderr, "%s: GET %s: %s\n", tc_prog, path, ward_errmsg());
        return -1;
    }
    if (out->status == 200 && out->len > 0)
        return 0;
    json_t *j = json_loadb(out->body, out->len, 0, NULL);
    tc_report_http(who, "GET", path, out->status, j, out->status == 200);
    json_decref(j);
    cli_resp_free(out);
    return -1;
}

/* Fetches the ciphertext (total bytes) piece by piece and decrypts it as it comes. */
static int fetch_and_open(cli_client *c, const char *who, const char *task_id, uint64_t total,
                          const uint8_t x_sk[WARD_X25519_LEN], const uint8_t digest[32],
                          const char *bar_label, pt_sink *sink)
{
    ward_stream *s = NULL;
    if (ward_stream_decrypt_init(x_sk, digest, 32, &s) != WARD_OK)
        return tc_fail("decrypting the result");
    tc_bar bar;
    tc_bar_start(&bar, bar_label, total);
    uint8_t *pt = NULL;
    size_t pt_cap = 0, pl = 0;
    int rc = 0;
    uint64_t off = 0;
    while (rc == 0 && off < total) {
        cli_resp r;
        if (fetch_piece(c, who, task_id, off, &r) != 0) {
            rc = -1;
            break;
        }
        if ((uint64_t)r.len > total - off) {
            cli_resp_free(&r);
            rc = tc_fail_msg("the node sent more ciphertext than the result has", NULL);
            break;
        }
        size_t need = ward_stream_update_bound(s, r.len);
        if (need > pt_cap) {
            if (pt != NULL) {
                ward_wipe(pt, pt_cap);
                free(pt);
            }
            pt_cap = need;
            pt = malloc(pt_cap);
            if (pt == NULL) {
                pt_cap = 0;
                cli_resp_free(&r);
                rc = tc_fail_msg("out of memory", NULL);
                break;
            }
        }
        if (ward_stream_decrypt_update(s, (const uint8_t *)r.body, r.len, pt, pt_cap, &pl) !=
            WARD_OK)
            rc = tc_fail("decrypting the result (is it encrypted to this identity's X25519 "
                         "key?)");
        else
            rc = pt_put(sink, pt, pl);
        off += r.len;
        cli_resp_free(&r);
        tc_bar_update(&bar, off);
    }
    if (rc == 0) {
        size_t need = ward_stream_update_bound(s, 0);
        if (need > pt_cap) {
            if (pt != NULL) {
                ward_wipe(pt, pt_cap);
                free(pt);
            }
            pt_cap = need;
            pt = malloc(pt_cap);
        }
        if (pt == NULL)
            rc = tc_fail_msg("out of memory", NULL);
        else if (ward_stream_decrypt_final(s, pt, pt_cap, &pl) != WARD_OK)
            rc = tc_fail("decrypting the result (its last chunk)");
        else
            rc = pt_put(sink, pt, pl);
    }
    tc_bar_end(&bar);
    if (pt != NULL) {
        ward_wipe(pt, pt_cap);
        free(pt);
    }
    ward_stream_free(s);
    return rc;
}

int tc_result_open(cli_client *c, const char *who, const json_t *res,
                   const ward_task_manifest *m, const tc_task_keys *bound,
                   const uint8_t x_sk[WARD_X25519_LEN], const char *out_path,
                   const char *bar_label, tc_result *out)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    uint8_t *st = NULL, *sig = NULL, *spk = NULL;
    size_t stl = 0, sigl = 0, spl = 0;
    char *params = NULL;
    pt_sink sink;
    memset(&sink, 0, sizeof sink);
    uint8_t digest[WARD_TASK_HASH_LEN];
    ward_task_manifest_digest(m, digest);
    json_t *jb = json_object_get(res, "result_bytes");
    if (b64u_member(res, "statement", &st, &stl) != 0 ||
        b64u_member(res, "signature", &sig, &sigl) != 0 ||
        b64u_member(res, "sign_pk", &spk, &spl) != 0)
        goto out;
    if (!json_is_integer(jb) || json_integer_value(jb) <= 0) {
        tc_fail_msg("the reply lacks", "result_bytes");
        goto out;
    }
    uint64_t total = (uint64_t)json_integer_value(jb);
    if (spl != bound->sign_spki_len || memcmp(spk, bound->sign_spki, spl) != 0) {
        tc_fail_msg("the result was signed by a key the evidence did not bind", NULL);
        goto out;
    }
    if (ward_verify(bound->sign_pk, WARD_HASH_SHA256, WARD_SIG_RAW, st, stl, sig, sigl) !=
        WARD_OK) {
        tc_fail("the result signature does not verify");
        goto out;
    }
    /* "WARD-RESULT-1" 0 | u8 len | function | digest | SHA-256(params) | inputs digest
     * | SHA-256(csv) | u64le length */
    const char *fn = ward_task_function(m) == WARD_TASK_FN_SQL ? "sql" : "psi";
    size_t fl = strlen(fn), ll = sizeof STATEMENT_LABEL;
    size_t want = ll + 1 + fl + 4 * 32 + 8;
    if (stl != want || memcmp(st, STATEMENT_LABEL, ll) != 0 || st[ll] != fl ||
        memcmp(st + ll + 1, fn, fl) != 0 || memcmp(st + ll + 1 + fl, digest, 32) != 0) {
        tc_fail_msg("the signed statement is not about this task's manifest", NULL);
        goto out;
    }
    const uint8_t *p = st + ll + 1 + fl + 32;
    uint8_t h[32];
    if (tc_params_text(m, &params) != WARD_OK ||
        ward_hash(WARD_HASH_SHA256, params, strlen(params), h) != WARD_OK ||
        memcmp(p, h, 32) != 0) {
        tc_fail_msg("the signed statement names other parameters than the manifest", NULL);
        goto out;
    }
    memcpy(out->inputs_digest, p + 32, 32);
    uint64_t n = 0;
    for (int k = 0; k < 8; k++)
        n |= (uint64_t)p[96 + k] << (8 * k);
    /* The smallest chunks give the largest stream: more ciphertext than that is not this
     * result, whatever the node says. */
    size_t bound_ct = n > (uint64_t)SIZE_MAX / 2
                          ? 0
                          : ward_stream_encrypted_size((size_t)n, WARD_STREAM_MIN_CHUNK, 32);
    if (bound_ct == 0 || total > bound_ct) {
        tc_fail_msg("the node's result is larger than the signed statement allows", NULL);
        goto out;
    }
    sink.want = n;
    if (ward_hash_new(WARD_HASH_SHA256, &sink.h) != WARD_OK) {
        tc_fail("hashing the result");
        goto out;
    }
    if (out_path != NULL) {
        int k = snprintf(sink.tmp, sizeof sink.tmp, "%s.partXXXXXX", out_path);
        int fd = k > 0 && (size_t)k < sizeof sink.tmp ? mkstemp(sink.tmp) : -1;
        if (fd < 0 || (sink.f = fdopen(fd, "wb")) == NULL) {
            if (fd >= 0) {
                close(fd);
                unlink(sink.tmp);
            }
            tc_fail_msg("cannot create a temporary file beside", out_path);
            goto out;
        }
    } else {
        sink.cap = n > 0 ? (size_t)n : 1;
        sink.mem = malloc(sink.cap);
        if (sink.mem == NULL) {
            tc_fail_msg("out of memory for the result (write it to a file with --out)", NULL);
            goto out;
        }
    }
    if (fetch_and_open(c, who, ward_task_id(m), total, x_sk, digest, bar_label, &sink) != 0)
        goto out;
    if (ward_hash_final(sink.h, out->csv_sha256) != WARD_OK ||
        memcmp(p + 64, out->csv_sha256, 32) != 0 || sink.len != n) {
        tc_fail_msg("the decrypted result is not the one the TA signed", NULL);
        goto out;
    }
    if (sink.f != NULL) {
        FILE *f = sink.f;
        sink.f = NULL;
        int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
        bad |= fclose(f) != 0;
        if (bad || rename(sink.tmp, out_path) != 0) {
            unlink(sink.tmp);
            tc_fail_msg("writing the result", out_path);
            goto out;
        }
    } else {
        out->csv = sink.mem;
        sink.mem = NULL;
    }
    out->csv_len = (size_t)n;
    rc = 0;
out:
    pt_drop(&sink);
    if (rc != 0)
        tc_result_free(out);
    free(params);
    free(st);
    free(sig);
    free(spk);
    return rc;
}

ward_err tc_inputs_digest(const ward_task_manifest *m, const uint8_t (*sha256)[32],
                          const uint64_t *records, uint8_t out[32])
{
    ward_hash_ctx *h = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &h);
    for (size_t i = 0; err == WARD_OK && i < ward_task_slot_count(m); i++) {
        ward_task_slot_desc d;
        char aad[WARD_TASK_AAD_MAX + 1];
        size_t al = 0;
        err = ward_task_slot_at(m, i, &d);
        if (err == WARD_OK)
            err = ward_task_slot_aad(m, d.name, aad, sizeof aad, &al);
        if (err != WARD_OK)
            break;
        uint8_t u[8];
        size_t nl = strlen(d.name);
        for (int k = 0; k < 4; k++)
            u[k] = (uint8_t)((uint32_t)nl >> (8 * k));
        err = ward_hash_update(h, u, 4);
        if (err == WARD_OK)
            err = ward_hash_update(h, d.name, nl);
        for (int k = 0; k < 4; k++)
            u[k] = (uint8_t)((uint32_t)al >> (8 * k));
        if (err == WARD_OK)
            err = ward_hash_update(h, u, 4);
        if (err == WARD_OK)
            err = ward_hash_update(h, aad, al);
        if (err == WARD_OK)
            err = ward_hash_update(h, sha256[i], 32);
        for (int k = 0; k < 8; k++)
            u[k] = (uint8_t)(records[i] >> (8 * k));
        if (err == WARD_OK)
            err = ward_hash_update(h, u, 8);
    }
    if (err == WARD_OK)
        err = ward_hash_final(h, out);
    ward_hash_free(h);
    return err;
}
