/* The task service (DESIGN 4, issue 6; docs/api.md "Tasks"): /v1/tasks and below.
 *
 * Every endpoint needs a client certificate (tls.c): the caller's identity is the SHA-256 of its
 * SPKI, checked against the manifest (participants, slot owners, recipients). The lifecycle and
 * the ciphertext files are the task store's (include/ward/task.h: every transition is audited
 * there); this file adds the TA instance of each task: created when the task is approved
 * (init: task key, signing key, report; evidence made here), fed the stored ciphertext at run,
 * destroyed at done, failed or cancelled. TA instances live in memory only: a task found
 * approved or collecting without one (the node restarted) is failed, since its task key is gone.
 *
 * Threads: everything here runs on the event loop thread except a run's TA work. POST .../run
 * checks and records `running`, then hands the instance to a worker thread of its own (run_job)
 * that feeds the stored ciphertext in, calls run and writes the encrypted result file; the loop
 * keeps the request and serves others meanwhile. The worker touches only what is its own (the
 * instance, the result file, its reason) and the thread-safe task store (reads only); when it
 * ends it signals an eventfd, and the loop thread joins it, records the outcome (result, done or
 * failed), destroys the instance and replies. Wardd's task table, metrics and HTTP objects stay
 * on the loop thread. A cancel, the expiry sweep or shutdown cannot destroy an instance the
 * worker is calling into: they ask the worker to stop (checked between input pieces and at every
 * result piece the TA hands over) and interrupt the instance (ward_tee_interrupt: its process
 * is killed, so a query the TA is computing ends at once and the worker's call returns), and
 * the completion sees the task already final and leaves it so, and destroys the instance. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/eventfd.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon/wardd.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/evidence.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/stream.h"
#include "ward/task.h"

#define FEED_PIECE ((size_t)512 << 10) /* ciphertext bytes per add_input call */
#define SWEEP_MS_DEFAULT 5000u            /* expiry sweep period */
#define RESULT_BLOB_MAX ((size_t)8 << 20) /* the result's metadata (its ciphertext: results.c) */

typedef struct run_job run_job;

typedef struct wardd_task_rt {
    char id[WARD_TASK_ID_HEX_LEN + 1];
    ward_tee_instance *inst; /* NULL once destroyed */
    run_job *job; /* the run in progress: its worker owns inst until the loop joins it */
    wardd_ta_init init;
    char *evidence; /* JSON text of the evidence bundle for init.report */
    size_t evidence_len;
    wardd_ta_sink sink; /* the instance's ocall result_piece goes here during run */
} wardd_task_rt;

/* ---- helpers --------------------------------------------------------------------------- */

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static json_t *b64u(const uint8_t *b, size_t n)
{
    char *s = NULL;
    size_t l = 0;
    if (ward_base64url_encode(b, n, &s, &l) != WARD_OK)
        return NULL;
    json_t *j = json_stringn(s, l);
    free(s);
    return j;
}

static void reply_err(wardd *d, wardd_req *r, ward_err e, const char *what)
{
    int st = 500;
    const char *code = "internal";
    switch (e) {
    case WARD_ERR_PERMISSION: st = 403; code = "forbidden"; break;
    case WARD_ERR_NOT_FOUND: st = 404; code = "not_found"; break;
    case WARD_ERR_EXISTS: st = 409; code = "exists"; break;
    case WARD_ERR_STATE: st = 409; code = "state"; break;
    case WARD_ERR_VERIFY: st = 422; code = "verify_failed"; break;
    case WARD_ERR_UNSUPPORTED: st = 422; code = "unsupported"; break;
    case WARD_ERR_FORMAT:
    case WARD_ERR_INVALID_ARG:
    case WARD_ERR_TRUNCATED: st = 400; code = "bad_request"; break;
    case WARD_ERR_LIMIT:
    case WARD_ERR_OVERFLOW: st = 413; code = "too_large"; break;
    default: break;
    }
    wardd_reply_error(d, r, st, code, "%s: %s", what, ward_errmsg());
}

static wardd_task_rt *rt_find(wardd *d, const char *id)
{
    for (size_t i = 0; i < d->n_rt; i++)
        if (strcmp(d->rt[i]->id, id) == 0)
            return d->rt[i];
    return NULL;
}

static void job_stop(run_job *j);
static void stop_runs(wardd *d, int answer);

/* Destroys the instance, or, while a worker is calling into it, asks the worker to stop: the
 * run's completion destroys it then. */
static void rt_kill(wardd_task_rt *rt)
{
    if (rt != NULL && rt->job != NULL) {
        job_stop(rt->job);
        return;
    }
    if (rt != NULL && rt->inst != NULL) {
        wardd_ta_destroy(rt->inst);
        rt->inst = NULL;
    }
}

uint32_t wardd_tasks_live(const wardd *d)
{
    uint32_t n = 0;
    for (size_t i = 0; i < d->n_rt; i++)
        if (d->rt[i]->inst != NULL)
            n++;
    return n;
}

/* ---- the expiry sweep ------------------------------------------------------------------ */

/* One sweep timer per process (there is one daemon per process). */
static struct event *g_sweep;

/* Expired tasks become `expired` (the store's sweep, which also applies "keep-days:N"
 * retention); any TA instance whose task has reached a final state is destroyed, so an expired
 * task's keys and plaintext go at the next sweep, not at the next request. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wardd *d = arg;
    size_t expired = 0, deleted = 0;
    if (d->tasks == NULL)
        return;
    if (ward_task_store_sweep(d->tasks, &expired, &deleted) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "task.sweep", "error", ward_errmsg(), (char *)NULL);
    size_t killed = 0;
    for (size_t i = 0; i < d->n_rt; i++) {
        wardd_task_rt *rt = d->rt[i];
        ward_task_info info;
        if (rt->inst == NULL || ward_task_store_info(d->tasks, rt->id, &info) != WARD_OK ||
            !ward_task_state_is_final(info.state))
            continue;
        if (rt->job != NULL) {
            job_stop(rt->job); /* a running task expired: its completion destroys the TA */
            continue;
        }
        wardd_ta_destroy(rt->inst);
        rt->inst = NULL;
        killed++;
    }
    if (expired > 0 || deleted > 0 || killed > 0) {
        char e[32], f[32], k[32];
        snprintf(e, sizeof e, "%zu", expired);
        snprintf(f, sizeof f, "%zu", deleted);
        snprintf(k, sizeof k, "%zu", killed);
        ward_log(WARD_LOG_INFO, "task.sweep", "expired", e, "files_deleted", f,
                 "instances_destroyed", k, (char *)NULL);
    }
}

void wardd_tasks_start(wardd *d)
{
    if (g_sweep != NULL || d->base == NULL)
        return;
    unsigned ms = SWEEP_MS_DEFAULT;
    /* tests shorten the period (a task that expires in seconds) */
    const char *env = getenv("WARDD_TASK_SWEEP_MS");
    if (env != NULL) {
        char *end = NULL;
        unsigned long v = strtoul(env, &end, 10);
        if (end != env && *end == 0 && v >= 10 && v <= 3600000)
            ms = (unsigned)v;
    }
    g_sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (g_sweep == NULL || event_add(g_sweep, &tv) != 0) {
        ward_log(WARD_LOG_ERROR, "task.sweep", "error", "cannot arm the expiry timer",
                 (char *)NULL);
        if (g_sweep != NULL)
            event_free(g_sweep);
        g_sweep = NULL;
    }
}

void wardd_tasks_close(wardd *d)
{
    /* wardd_tasks_stop_runs ran before the HTTP server went (main.c); a run left here has
     * nobody to answer */
    stop_runs(d, 0);
    if (g_sweep != NULL) {
        event_free(g_sweep);
        g_sweep = NULL;
    }
    for (size_t i = 0; i < d->n_rt; i++) {
        rt_kill(d->rt[i]);
        wardd_ta_init_free(&d->rt[i]->init);
        free(d->rt[i]->evidence);
        free(d->rt[i]);
    }
    free(d->rt);
    d->rt = NULL;
    d->n_rt = d->cap_rt = 0;
}

static int is_participant(const ward_task_manifest *m, const uint8_t who[WARD_TASK_HASH_LEN])
{
    size_t n = ward_task_participant_count(m);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[WARD_TASK_HASH_LEN];
        if (ward_task_participant_at(m, i, h) == WARD_OK && memcmp(h, who, sizeof h) == 0)
            return 1;
    }
    return 0;
}

static void fail_task(wardd *d, const char *id, const char *reason, const char *actor)
{
    char why[WARD_TASK_REASON_MAX + 1];
    snprintf(why, sizeof why, "%s", reason);
    if (ward_task_transition(d->tasks, id, WARD_TASK_FAILED, why, actor) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "task.fail", "task", id, "error", ward_errmsg(), (char *)NULL);
    rt_kill(rt_find(d, id));
}

/* The TA's call timeout: the TEE's default (0), unless a test sets WARDD_TA_CALL_TIMEOUT_MS
 * (one so long that only an interrupt can end a query in time). */
static uint32_t ta_call_timeout_ms(void)
{
    const char *env = getenv("WARDD_TA_CALL_TIMEOUT_MS");
    if (env == NULL)
        return 0;
    char *end = NULL;
    unsigned long v = strtoul(env, &end, 10);
    return end != env && *end == 0 && v >= 1000 && v <= 86400000ul ? (uint32_t)v : 0;
}

/* Starts the task's TA instance and gets its init outputs and evidence. On failure the task
 * becomes failed (reason logged and recorded). */
static void start_instance(wardd *d, const ward_task_manifest *m, const char *actor)
{
    const char *id = ward_task_id(m);
    ward_tee_image *img = ward_task_function(m) == WARD_TASK_FN_SQL   ? d->img_sql
                          : ward_task_function(m) == WARD_TASK_FN_PSI ? d->img_psi
                                                                      : NULL;
    char reason[WARD_TASK_REASON_MAX + 1] = "";
    wardd_task_rt *rt = calloc(1, sizeof *rt);
    if (rt == NULL || img == NULL) {
        snprintf(reason, sizeof reason, "%s", img == NULL ? "function not available on this node"
                                                         : "out of memory");
        goto fail;
    }
    snprintf(rt->id, sizeof rt->id, "%s", id);
    if (d->n_rt == d->cap_rt) {
        size_t nc = d->cap_rt ? 2 * d->cap_rt : 8;
        wardd_task_rt **nr = realloc(d->rt, nc * sizeof *nr);
        if (nr == NULL) {
            snprintf(reason, sizeof reason, "out of memory");
            goto fail;
        }
        d->rt = nr;
        d->cap_rt = nc;
    }
    ward_tee_limits lim = {0};
    lim.call_timeout_ms = ta_call_timeout_ms();
    if (ward_tee_create(d->tee, img, &lim, wardd_ta_ocall, &rt->sink, &rt->inst) != WARD_OK) {
        snprintf(reason, sizeof reason, "TA instance: %s", ward_errmsg());
        goto fail;
    }
    uint64_t max_input = 0;
    for (size_t i = 0; i < ward_task_slot_count(m); i++) {
        ward_task_slot_desc sd;
        if (ward_task_slot_at(m, i, &sd) == WARD_OK && sd.max_bytes > max_input)
            max_input = sd.max_bytes;
    }
    /* The TA gets the signed envelope and checks it itself: slots, associated data, query and
     * the recipients' result keys are taken from it inside, not from this process. */
    char *env = NULL;
    size_t env_len = 0;
    if (ward_task_envelope_serialize(m, &env, &env_len) != WARD_OK) {
        snprintf(reason, sizeof reason, "envelope: %s", ward_errmsg());
        goto fail;
    }
    ward_err ie = wardd_ta_init_call(rt->inst, env, env_len, max_input, &rt->init);
    free(env);
    if (ie != WARD_OK) {
        char *le = wardd_ta_last_error(rt->inst);
        snprintf(reason, sizeof reason, "TA init: %s", le != NULL ? le : ward_errmsg());
        free(le);
        goto fail;
    }
    if (ward_evidence_make_with_hw(d->rot, rt->init.report, rt->init.report_len,
                                   rt->init.report_sig, NULL, &rt->evidence,
                                   &rt->evidence_len) != WARD_OK) {
        snprintf(reason, sizeof reason, "evidence: %s", ward_errmsg());
        goto fail;
    }
    d->rt[d->n_rt++] = rt;
    ward_log(WARD_LOG_INFO, "task.instance", "task", id, "actor", actor, (char *)NULL);
    return;
fail:
    if (rt != NULL) {
        rt_kill(rt);
        wardd_ta_init_free(&rt->init);
        free(rt->evidence);
        free(rt);
    }
    ward_log(WARD_LOG_WARN, "task.instance_failed", "task", id, "reason", reason, (char *)NULL);
    if (ward_task_transition(d->tasks, id, WARD_TASK_FAILED, reason, actor) != WARD_OK)
        ward_log(WARD_LOG_ERROR, "task.fail", "task", id, "error", ward_errmsg(), (char *)NULL);
}

/* created -> approved when every signature verifies; then the TA instance. */
static void try_approve(wardd *d, const char *id, const char *actor)
{
    ward_task_manifest *m = NULL;
    if (ward_task_store_manifest(d->tasks, id, &m) != WARD_OK)
        return;
    ward_task_info info;
    if (ward_task_store_info(d->tasks, id, &info) == WARD_OK && info.state == WARD_TASK_CREATED &&
        ward_task_verify_signatures(m) == WARD_OK &&
        ward_task_transition(d->tasks, id, WARD_TASK_APPROVED, NULL, actor) == WARD_OK)
        start_instance(d, m, actor);
    ward_task_manifest_free(m);
}

/* A task that should have an instance but has none (the node restarted): failed. */
static void check_orphan(wardd *d, const char *id, const char *actor)
{
    ward_task_info info;
    if (ward_task_store_info(d->tasks, id, &info) != WARD_OK)
        return;
    if (info.state != WARD_TASK_APPROVED && info.state != WARD_TASK_COLLECTING)
        return;
    wardd_task_rt *rt = rt_find(d, id);
    if (rt == NULL || rt->inst == NULL || !ward_tee_instance_alive(rt->inst))
        fail_task(d, id, "the task's TA instance is gone (node restarted or TA died)", actor);
}

static json_t *task_view(wardd *d, const ward_task_manifest *m)
{
    const char *id = ward_task_id(m);
    ward_task_info info;
    if (ward_task_store_info(d->tasks, id, &info) != WARD_OK)
        return NULL;
    uint8_t digest[WARD_TASK_HASH_LEN];
    char dhex[2 * WARD_TASK_HASH_LEN + 1];
    ward_task_manifest_digest(m, digest);
    hex_of(digest, sizeof digest, dhex);
    json_t *o = json_object();
    json_t *slots = json_array();
    json_t *missing = json_array();
    if (o == NULL || slots == NULL || missing == NULL) {
        json_decref(o);
        json_decref(slots);
        json_decref(missing);
        return NULL;
    }
    json_object_set_new(o, "task_id", json_string(id));
    json_object_set_new(o, "state", json_string(ward_task_state_name(info.state)));
    if (info.reason[0] != 0) {
        json_t *rs = json_string(info.reason);
        json_object_set_new(o, "reason", rs != NULL ? rs : json_string("(unprintable)"));
    }
    json_object_set_new(o, "manifest_sha256", json_string(dhex));
    json_object_set_new(o, "function", json_string(ward_task_function(m) == WARD_TASK_FN_SQL
                                                       ? "sql"
                                                   : ward_task_function(m) == WARD_TASK_FN_PSI
                                                       ? "psi"
                                                       : "ta"));
    json_object_set_new(o, "created_at", json_integer((json_int_t)info.created_at));
    json_object_set_new(o, "updated_at", json_integer((json_int_t)info.updated_at));
    json_object_set_new(o, "expires_at", json_integer((json_int_t)info.expires_at));
    json_object_set_new(o, "cancel_votes", json_integer((json_int_t)info.cancel_votes));
    json_object_set_new(o, "cancel_quorum", json_integer((json_int_t)info.cancel_quorum));
    size_t np = ward_task_participant_count(m);
    for (size_t i = 0; i < np; i++) {
        uint8_t h[WARD_TASK_HASH_LEN];
        if (ward_task_participant_at(m, i, h) == WARD_OK && !ward_task_has_signature(m, h))
            json_array_append_new(missing, b64u(h, sizeof h));
    }
    json_object_set_new(o, "signatures_missing", missing);
    for (size_t i = 0; i < ward_task_slot_count(m); i++) {
        ward_task_slot_desc sd;
        ward_task_slot_info si;
        if (ward_task_slot_at(m, i, &sd) != WARD_OK)
            continue;
        if (ward_task_slot_get(d->tasks, id, sd.name, &si) != WARD_OK)
            memset(&si, 0, sizeof si);
        json_t *s = json_pack("{s:s, s:o, s:I, s:I, s:I, s:b, s:b}", "name", sd.name, "owner",
                              b64u(sd.owner, sizeof sd.owner), "bytes", (json_int_t)si.bytes,
                              "chunks", (json_int_t)si.chunks, "max_bytes",
                              (json_int_t)sd.max_bytes, "complete", si.complete, "deleted",
                              si.deleted);
        if (s != NULL)
            json_array_append_new(slots, s);
    }
    json_object_set_new(o, "slots", slots);
    wardd_task_rt *rt = rt_find(d, id);
    if (rt != NULL && rt->init.task_pk != NULL) {
        char pk[65];
        hex_of(rt->init.task_pk, 32, pk);
        json_t *ev = NULL;
        if (ward_json_parse(rt->evidence, rt->evidence_len, &ev) != WARD_OK)
            ev = json_null();
        json_t *ta = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "task_pk", pk, "sign_pk",
                               b64u(rt->init.sign_pk, rt->init.sign_pk_len), "report",
                               b64u(rt->init.report, rt->init.report_len), "report_sig",
                               b64u(rt->init.report_sig, rt->init.report_sig_len), "evidence",
                               ev, "alive", rt->inst != NULL);
        if (ta != NULL)
            json_object_set_new(o, "ta", ta);
    }
    return o;
}

/* The task as GET shows it, from a manifest the caller holds (loading one checks every
 * signature: status polls should not pay that twice). */
static void reply_view_of(wardd *d, wardd_req *r, int status, const ward_task_manifest *m)
{
    json_t *v = task_view(d, m);
    if (v == NULL) {
        wardd_reply_error(d, r, 500, "internal", "cannot describe the task");
        return;
    }
    wardd_reply_json(d, r, status, v);
}

/* The same after loading the manifest afresh (its signatures may have changed). */
static void reply_view(wardd *d, wardd_req *r, int status, const char *id)
{
    ward_task_manifest *m = NULL;
    ward_err e = ward_task_store_manifest(d->tasks, id, &m);
    if (e != WARD_OK) {
        reply_err(d, r, e, "task");
        return;
    }
    reply_view_of(d, r, status, m);
    ward_task_manifest_free(m);
}

/* Loads the manifest and checks that the caller is a participant. Replies itself on failure. */
static ward_task_manifest *load_for(wardd *d, wardd_req *r, const char *id)
{
    ward_task_manifest *m = NULL;
    ward_err e = ward_task_store_manifest(d->tasks, id, &m);
    if (e != WARD_OK) {
        reply_err(d, r, e, "task");
        return NULL;
    }
    if (!is_participant(m, r->client)) {
        ward_task_manifest_free(m);
        wardd_reply_error(d, r, 403, "forbidden", "not a participant of this task");
        return NULL;
    }
    return m;
}

/* ---- endpoints --------------------------------------------------------------------------- */

static void create_task(wardd *d, wardd_req *r)
{
    size_t len = 0;
    char *body = wardd_body(d, r, WARD_TASK_TEXT_MAX, &len);
    if (body == NULL)
        return;
    ward_task_manifest *m = NULL;
    ward_err e = ward_task_envelope_parse(body, len, &m);
    if (e != WARD_OK) {
        reply_err(d, r, e, "envelope");
        goto done;
    }
    if (!is_participant(m, r->client)) {
        wardd_reply_error(d, r, 403, "forbidden", "only a participant may post a task");
        goto done;
    }
    ward_task_fn fn = ward_task_function(m);
    if (fn != WARD_TASK_FN_SQL && fn != WARD_TASK_FN_PSI) {
        wardd_reply_error(d, r, 422, "unsupported",
                          "only the built-in functions sql and psi run on this node");
        goto done;
    }
    if ((fn == WARD_TASK_FN_SQL ? d->img_sql : d->img_psi) == NULL) {
        wardd_reply_error(d, r, 503, "unavailable", "the built-in TA images are not installed");
        goto done;
    }
    e = ward_task_store_create(d->tasks, body, len, r->client_hex);
    if (e != WARD_OK) {
        reply_err(d, r, e, "task");
        goto done;
    }
    char id[WARD_TASK_ID_HEX_LEN + 1];
    snprintf(id, sizeof id, "%s", ward_task_id(m));
    try_approve(d, id, r->client_hex);
    reply_view(d, r, 201, id);
done:
    ward_task_manifest_free(m);
    free(body);
}

static void add_signatures(wardd *d, wardd_req *r, const char *id)
{
    ward_task_manifest *m = load_for(d, r, id);
    if (m == NULL)
        return;
    ward_task_manifest_free(m);
    size_t len = 0;
    char *body = wardd_body(d, r, WARD_TASK_TEXT_MAX, &len);
    if (body == NULL)
        return;
    ward_err e = ward_task_store_add_signatures(d->tasks, id, body, len, r->client_hex);
    free(body);
    if (e != WARD_OK) {
        reply_err(d, r, e, "signatures");
        return;
    }
    try_approve(d, id, r->client_hex);
    reply_view(d, r, 200, id);
}

static void get_task(wardd *d, wardd_req *r, const char *id)
{
    ward_task_manifest *m = load_for(d, r, id);
    if (m == NULL)
        return;
    check_orphan(d, id, "node");
    reply_view_of(d, r, 200, m);
    ward_task_manifest_free(m);
}

/* "offset" (required) and "final" (0/1) of the query string. */
static int upload_query(wardd *d, wardd_req *r, uint64_t *offset, int *final)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    if (q == NULL || evhttp_parse_query_str(q, &kv) != 0) {
        evhttp_clear_headers(&kv);
        wardd_reply_error(d, r, 400, "bad_request", "?offset=N is required");
        return -1;
    }
    int have_off = 0, rc = 0;
    *final = 0;
    for (struct evkeyval *e = kv.tqh_first; e != NULL && rc == 0; e = e->next.tqe_next) {
        if (strcmp(e->key, "offset") == 0) {
            rc = wardd_parse_dec(e->value, offset);
            have_off = 1;
        } else if (strcmp(e->key, "final") == 0) {
            if (strcmp(e->value, "1") == 0)
                *final = 1;
            else if (strcmp(e->value, "0") != 0)
                rc = -1;
        } else {
            rc = -1;
        }
    }
    evhttp_clear_headers(&kv);
    if (rc != 0 || !have_off) {
        wardd_reply_error(d, r, 400, "bad_request",
                          "query: offset=N (decimal, required) and final=0|1 only");
        return -1;
    }
    return 0;
}

static void offset_conflict(wardd *d, wardd_req *r, uint64_t have, const char *why)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "error", "offset_mismatch", "message", why,
                          "offset", (json_int_t)have, "request_id", r->id);
    wardd_reply_json(d, r, 409, o);
}

/* The body's segments as store pieces (a malloc'd array), without copying the bytes. */
static ward_task_piece *body_pieces(struct evbuffer *in, size_t *n)
{
    int k = evbuffer_peek(in, -1, NULL, NULL, 0);
    *n = 0;
    if (k <= 0)
        return NULL;
    struct evbuffer_iovec *v = calloc((size_t)k, sizeof *v);
    ward_task_piece *p = calloc((size_t)k, sizeof *p);
    int got = v != NULL && p != NULL ? evbuffer_peek(in, -1, NULL, v, k) : -1;
    if (got != k) {
        free(v);
        free(p);
        return NULL;
    }
    for (int i = 0; i < k; i++) {
        p[i].data = v[i].iov_base;
        p[i].len = v[i].iov_len;
    }
    free(v);
    *n = (size_t)k;
    return p;
}

/* Each check reads the store afresh (a chunk may race with a cancel or the expiry sweep), but
 * parses the manifest only where it is needed: parsing verifies every signature, which would
 * otherwise cost more than receiving a chunk. */
static void upload(wardd *d, wardd_req *r, const char *id, const char *slot)
{
    uint64_t offset = 0;
    int final = 0;
    if (upload_query(d, r, &offset, &final) != 0)
        return;
    ward_task_manifest *m = NULL;
    ward_err e = ward_task_store_manifest(d->tasks, id, &m);
    if (e != WARD_OK) {
        reply_err(d, r, e, "task");
        return;
    }
    e = ward_task_may_upload(m, slot, r->client);
    ward_task_manifest_free(m);
    if (e != WARD_OK) {
        reply_err(d, r, e, "upload");
        return;
    }
    ward_task_info info;
    if ((e = ward_task_store_info(d->tasks, id, &info)) != WARD_OK) {
        reply_err(d, r, e, "task");
        return;
    }
    if (info.state == WARD_TASK_APPROVED || info.state == WARD_TASK_COLLECTING) {
        wardd_task_rt *rt = rt_find(d, id);
        if (rt == NULL || rt->inst == NULL || !ward_tee_instance_alive(rt->inst)) {
            check_orphan(d, id, r->client_hex);
            if ((e = ward_task_store_info(d->tasks, id, &info)) != WARD_OK) {
                reply_err(d, r, e, "task");
                return;
            }
        }
    }
    if (info.state != WARD_TASK_APPROVED && info.state != WARD_TASK_COLLECTING) {
        wardd_reply_error(d, r, 409, "state", "the task is %s: inputs are accepted only once it "
                          "is approved and until it runs", ward_task_state_name(info.state));
        return;
    }
    ward_task_slot_info si;
    if ((e = ward_task_slot_get(d->tasks, id, slot, &si)) != WARD_OK) {
        reply_err(d, r, e, "slot");
        return;
    }
    if (si.complete) {
        wardd_reply_error(d, r, 409, "state", "slot \"%s\" is already complete", slot);
        return;
    }
    if (offset != si.bytes) {
        offset_conflict(d, r, si.bytes, "offset is not the number of bytes stored: resume at "
                                        "\"offset\"");
        return;
    }
    size_t len = 0;
    struct evbuffer *body = wardd_body_buffer(d, r, WARDD_MAX_BODY, &len);
    if (body == NULL)
        return;
    if (len == 0 && !final) {
        wardd_reply_error(d, r, 400, "bad_request", "an empty chunk that is not final");
        return;
    }
    /* refused before the task moves to collecting: a refused request changes nothing */
    if (len == 0 && si.bytes == 0) {
        reply_err(d, r, ward_err_set(WARD_ERR_STATE, "task %s slot \"%s\": a 0-byte input is "
                                                     "refused", id, slot), "upload");
        return;
    }
    size_t n_pieces = 0;
    ward_task_piece *pieces = len > 0 ? body_pieces(body, &n_pieces) : NULL;
    if (len > 0 && pieces == NULL) {
        wardd_reply_error(d, r, 500, "internal", "cannot read the request body");
        return;
    }
    if (info.state == WARD_TASK_APPROVED &&
        (e = ward_task_transition(d->tasks, id, WARD_TASK_COLLECTING, NULL, r->client_hex)) !=
            WARD_OK) {
        free(pieces);
        reply_err(d, r, e, "task");
        return;
    }
    if (len > 0)
        e = ward_task_slot_append_pieces(d->tasks, id, slot, r->client, si.chunks, pieces,
                                         n_pieces);
    free(pieces);
    if (e == WARD_OK && final)
        e = ward_task_slot_finish(d->tasks, id, slot, r->client);
    if (e != WARD_OK) {
        reply_err(d, r, e, "upload");
        return;
    }
    if ((e = ward_task_slot_get(d->tasks, id, slot, &si)) != WARD_OK) {
        reply_err(d, r, e, "slot");
        return;
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:b}", "task_id", id, "slot", slot, "offset",
                          (json_int_t)si.bytes, "chunks", (json_int_t)si.chunks, "complete",
                          si.complete);
    wardd_reply_json(d, r, 200, o);
}

/* ---- running a task: one worker thread per run ------------------------------------------ */

struct run_job {
    wardd *d;
    wardd_task_rt *rt;
    ward_task_manifest *m;          /* read-only on both threads */
    wardd_req r;                    /* the POST run; r.req NULL once it cannot be answered */
    struct evhttp_connection *conn; /* while our close callback is set on it */
    /* the recipients in the manifest's order (the TA's result_piece index), one file each */
    size_t n_rcpt;
    uint8_t rh[WARD_TASK_MAX_RECIPIENTS][WARD_TASK_HASH_LEN];
    uint64_t max_result;
    int stop;      /* atomic: the loop thread asks the worker to stop */
    int shutdown;  /* the node is stopping (loop thread only) */
    int efd;       /* eventfd: the worker's last act is to signal it */
    struct event *done;
    pthread_t th;
    /* the worker's until the loop thread has joined it */
    wardd_result_file *rf; /* n_rcpt of them */
    wardd_ta_result res;
    char reason[WARD_TASK_REASON_MAX + 1];
};

/* The flag first: the worker, seeing its call fail, must know it was stopped (its reason says
 * so, and it asks the dead TA nothing more). The instance stays the worker's to call and the
 * completion's to destroy; the interrupt only kills its process. */
static void job_stop(run_job *j)
{
    __atomic_store_n(&j->stop, 1, __ATOMIC_RELEASE);
    if (j->rt->inst != NULL)
        (void)ward_tee_interrupt(j->rt->inst);
}

static int job_stopping(run_job *j)
{
    return __atomic_load_n(&j->stop, __ATOMIC_ACQUIRE);
}

/* The instance's result_piece ocall during the run: refusing a piece makes the TA's run fail,
 * which is how a stop reaches a worker that is inside run. A piece goes only to the file of the
 * recipient it names; an index outside the manifest's recipients is refused. */
static ward_err job_sink(void *arg, uint32_t recipient, const uint8_t *data, size_t len)
{
    run_job *j = arg;
    if (job_stopping(j))
        return WARD_ERR_STATE;
    if ((size_t)recipient >= j->n_rcpt)
        return WARD_ERR_INVALID_ARG;
    return wardd_result_write(&j->rf[recipient], data, len);
}

static int job_rf_over(const run_job *j)
{
    for (size_t i = 0; i < j->n_rcpt; i++)
        if (j->rf[i].over)
            return 1;
    return 0;
}

static int job_rf_errno(const run_job *j)
{
    for (size_t i = 0; i < j->n_rcpt; i++)
        if (j->rf[i].io_errno != 0)
            return j->rf[i].io_errno;
    return 0;
}

/* Streams one slot's stored ciphertext into the TA (worker thread). */
static ward_err feed_slot(run_job *j, const char *slot)
{
    ward_task_slot_info si;
    ward_err e = ward_task_slot_get(j->d->tasks, j->rt->id, slot, &si);
    if (e != WARD_OK)
        return e;
    FILE *f = fopen(si.path, "rb");
    if (f == NULL)
        return ward_err_set(WARD_ERR_IO, "slot \"%s\": ciphertext file missing", slot);
    uint8_t *buf = malloc(FEED_PIECE);
    if (buf == NULL) {
        fclose(f);
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    uint64_t left = si.bytes;
    while (e == WARD_OK && left > 0) {
        if (job_stopping(j)) {
            e = ward_err_set(WARD_ERR_STATE, "the run was stopped");
            break;
        }
        size_t n = left < FEED_PIECE ? (size_t)left : FEED_PIECE;
        if (fread(buf, 1, n, f) != n) {
            e = ward_err_set(WARD_ERR_IO, "slot \"%s\": short read", slot);
            break;
        }
        left -= n;
        e = wardd_ta_add_input(j->rt->inst, slot, buf, n, left == 0);
    }
    free(buf);
    fclose(f);
    return e;
}

/* The worker: inputs, run, the result file. It records why it failed in j->reason (its
 * ward_errmsg is its own thread's) and leaves the task store's state to the loop thread. */
static void *run_worker(void *arg)
{
    run_job *j = arg;
    wardd_task_rt *rt = j->rt;
    char *reason = j->reason;
    const size_t cap = sizeof j->reason;
    for (size_t i = 0; i < ward_task_slot_count(j->m) && reason[0] == 0; i++) {
        ward_task_slot_desc sd;
        if (ward_task_slot_at(j->m, i, &sd) != WARD_OK) {
            snprintf(reason, cap, "input %zu: %s", i, ward_errmsg());
        } else if (feed_slot(j, sd.name) != WARD_OK) {
            char *le = job_stopping(j) ? NULL : wardd_ta_last_error(rt->inst);
            snprintf(reason, cap, "input \"%s\": %s", sd.name, le != NULL ? le : ward_errmsg());
            free(le);
        }
    }
    if (reason[0] == 0 && job_stopping(j))
        snprintf(reason, cap, "the run was stopped");
    if (reason[0] == 0) {
        /* Each recipient's ciphertext can be no larger than the stream of max_result bytes of
         * CSV (64 KiB chunks, the 32-byte digest as associated data): a TA that sends more is
         * stopped. */
        size_t ct_max = ward_stream_encrypted_size((size_t)j->max_result, 0, WARD_SHA256_LEN);
        for (size_t i = 0; i < j->n_rcpt && reason[0] == 0; i++) {
            char rhex[2 * WARD_TASK_HASH_LEN + 1];
            hex_of(j->rh[i], sizeof j->rh[i], rhex);
            if (wardd_result_open(j->d, rt->id, rhex, ct_max != 0 ? ct_max : UINT64_MAX,
                                  &j->rf[i]) != WARD_OK)
                snprintf(reason, cap, "result file: %s", ward_errmsg());
        }
    }
    if (reason[0] == 0) {
        /* the TA takes the query and the recipients' keys from the manifest it verified */
        ward_err re = wardd_ta_run(rt->inst, j->max_result, &j->res);
        if (re != WARD_OK) {
            char *le = job_stopping(j) ? NULL : wardd_ta_last_error(rt->inst);
            if (job_stopping(j))
                snprintf(reason, cap, "the run was stopped");
            else if (job_rf_over(j))
                snprintf(reason, cap, "run: the TA sent more ciphertext than a result of %llu "
                         "bytes (the node's --max-result) can take",
                         (unsigned long long)j->max_result);
            else if (job_rf_errno(j) != 0)
                snprintf(reason, cap, "run: writing the result: %s", strerror(job_rf_errno(j)));
            else
                snprintf(reason, cap, "run: %s", le != NULL ? le : ward_errmsg());
            free(le);
        } else {
            for (size_t i = 0; i < j->n_rcpt && reason[0] == 0; i++)
                if (wardd_result_commit(&j->rf[i]) != WARD_OK)
                    snprintf(reason, cap, "storing the result: %s", ward_errmsg());
        }
    }
    uint64_t one = 1;
    while (write(j->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    return NULL;
}

/* The data file must be where GET .../result/data looks for it: beside the metadata file the
 * store chose ("....ct" -> "....data"). */
static void check_result_file(wardd *d, const char *id, const uint8_t rh[WARD_TASK_HASH_LEN],
                              const wardd_result_file *rf, char *reason, size_t cap)
{
    ward_task_result_info ri;
    char want[sizeof ri.path + 8];
    if (ward_task_result_get(d->tasks, id, rh, &ri) != WARD_OK ||
        wardd_result_data_path(ri.path, want, sizeof want) != 0 ||
        !wardd_result_same_file(want, rf->path))
        snprintf(reason, cap, "storing the result: the ciphertext file is not beside the "
                              "result's metadata");
}

/* Stores recipient i's result metadata (what GET .../result serves it): the one statement and
 * signature, its own ciphertext's size and SHA-256. */
static void store_one_result(wardd *d, run_job *j, size_t i, char *reason, size_t cap)
{
    wardd_task_rt *rt = j->rt;
    const wardd_result_file *rf = &j->rf[i];
    json_t *ev = NULL;
    if (ward_json_parse(rt->evidence, rt->evidence_len, &ev) != WARD_OK)
        ev = json_null();
    char pk[65];
    hex_of(rt->init.task_pk, 32, pk);
    char csha[2 * WARD_SHA256_LEN + 1];
    hex_of(rf->sha256, sizeof rf->sha256, csha);
    json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o, s:o, s:s, s:o, s:o, s:o}", "task_id",
                          rt->id, "result_bytes", (json_int_t)rf->bytes, "result_sha256", csha,
                          "statement", b64u(j->res.statement, j->res.statement_len), "signature",
                          b64u(j->res.result_sig, j->res.result_sig_len), "sign_pk",
                          b64u(rt->init.sign_pk, rt->init.sign_pk_len), "task_pk", pk, "report",
                          b64u(rt->init.report, rt->init.report_len), "report_sig",
                          b64u(rt->init.report_sig, rt->init.report_sig_len), "evidence", ev);
    char *blob = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (blob == NULL)
        snprintf(reason, cap, "out of memory");
    else if (ward_task_result_put(d->tasks, rt->id, j->rh[i], (const uint8_t *)blob,
                                  strlen(blob)) != WARD_OK)
        snprintf(reason, cap, "storing the result: %s", ward_errmsg());
    else
        check_result_file(d, rt->id, j->rh[i], rf, reason, cap);
    free(blob);
}

/* Every recipient's result metadata, once the worker succeeded; the task is done only when all
 * are stored (the store refuses `done` before). */
static void store_result(wardd *d, run_job *j, char *reason, size_t cap)
{
    for (size_t i = 0; i < j->n_rcpt && reason[0] == 0; i++)
        store_one_result(d, j, i, reason, cap);
}

static void job_rf_abort(run_job *j)
{
    for (size_t i = 0; j->rf != NULL && i < j->n_rcpt; i++)
        wardd_result_abort(&j->rf[i]);
}

static void job_free(run_job *j)
{
    if (j->done != NULL)
        event_free(j->done);
    if (j->efd >= 0)
        close(j->efd);
    for (size_t i = 0; j->rf != NULL && i < j->n_rcpt; i++)
        wardd_result_close(&j->rf[i]);
    free(j->rf);
    wardd_ta_result_free(&j->res);
    ward_task_manifest_free(j->m);
    free(j);
}

/* Loop thread, once the worker has been joined: records the outcome and replies. A task that
 * is no longer running was cancelled or expired meanwhile (or fails at shutdown): that final
 * state stands, whatever the worker achieved. */
static void job_complete(run_job *j)
{
    wardd *d = j->d;
    wardd_task_rt *rt = j->rt;
    const char *actor = j->r.client_hex;
    rt->sink.write = NULL;
    rt->sink.arg = NULL;
    rt->job = NULL;
    if (j->conn != NULL)
        evhttp_connection_set_closecb(j->conn, NULL, NULL);
    j->conn = NULL;
    char reason[WARD_TASK_REASON_MAX + 1];
    snprintf(reason, sizeof reason, "%s", j->reason);
    if (j->shutdown && reason[0] != 0)
        snprintf(reason, sizeof reason, "the node stopped during the run");
    ward_task_info info;
    if (ward_task_store_info(d->tasks, rt->id, &info) != WARD_OK ||
        info.state != WARD_TASK_RUNNING) {
        job_rf_abort(j);
        rt_kill(rt);
    } else {
        if (reason[0] == 0)
            store_result(d, j, reason, sizeof reason);
        if (reason[0] != 0) {
            job_rf_abort(j);
            fail_task(d, rt->id, reason, actor);
        } else {
            rt_kill(rt);
            if (ward_task_transition(d->tasks, rt->id, WARD_TASK_DONE, NULL, actor) != WARD_OK) {
                char why[WARD_TASK_REASON_MAX + 1];
                snprintf(why, sizeof why, "done: %s", ward_errmsg());
                fail_task(d, rt->id, why, actor);
            }
        }
    }
    if (j->r.req != NULL)
        reply_view(d, &j->r, 200, rt->id);
    else
        ward_log(WARD_LOG_INFO, "task.run_unanswered", "task", rt->id, "reason",
                 "the client went away before the run ended", (char *)NULL);
    job_free(j);
}

static void on_job_done(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    run_job *j = arg;
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    pthread_join(j->th, NULL);
    job_complete(j);
}

/* The run's connection is going away. A request still queued on it is freed with it: never
 * answer it then. One libevent detached first (the client closed) is ours to answer, which
 * frees it. */
static void on_job_conn_close(struct evhttp_connection *conn, void *arg)
{
    run_job *j = arg;
    if (j->r.req != NULL && evhttp_request_get_connection(j->r.req) == conn)
        j->r.req = NULL;
    j->conn = NULL;
}

static void run_task(wardd *d, wardd_req *r, const char *id)
{
    ward_task_manifest *m = load_for(d, r, id);
    if (m == NULL)
        return;
    check_orphan(d, id, r->client_hex);
    wardd_task_rt *rt = rt_find(d, id);
    ward_task_info info;
    ward_err e = ward_task_store_info(d->tasks, id, &info);
    if (e != WARD_OK) {
        reply_err(d, r, e, "task");
        goto fail;
    }
    if (info.state != WARD_TASK_COLLECTING || rt == NULL || rt->inst == NULL || rt->job != NULL) {
        wardd_reply_error(d, r, 409, "state", "the task is %s: it runs from collecting, once "
                          "every input is complete", ward_task_state_name(info.state));
        goto fail;
    }
    run_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        wardd_reply_error(d, r, 500, "internal", "out of memory");
        goto fail;
    }
    j->d = d;
    j->rt = rt;
    j->m = m;
    j->r = *r;
    j->max_result = d->max_result != 0 ? d->max_result : WARDD_MAX_RESULT_DEFAULT;
    j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    j->n_rcpt = ward_task_recipient_count(m);
    if (j->n_rcpt == 0 || j->n_rcpt > WARD_TASK_MAX_RECIPIENTS)
        e = ward_err_set(WARD_ERR_FORMAT, "the manifest names %zu recipients", j->n_rcpt);
    else if ((j->rf = calloc(j->n_rcpt, sizeof *j->rf)) == NULL)
        e = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; j->rf != NULL && i < j->n_rcpt; i++)
        j->rf[i].fd = -1;
    for (size_t i = 0; e == WARD_OK && i < j->n_rcpt; i++)
        e = ward_task_recipient_at(m, i, j->rh[i], NULL, NULL);
    if (e != WARD_OK) {
        j->m = NULL;
        job_free(j);
        reply_err(d, r, e, "recipient");
        goto fail;
    }
    if (j->efd >= 0)
        j->done = event_new(d->base, j->efd, EV_READ, on_job_done, j);
    if (j->done == NULL || event_add(j->done, NULL) != 0) {
        j->m = NULL;
        job_free(j);
        wardd_reply_error(d, r, 500, "internal", "cannot set up the run");
        goto fail;
    }
    if ((e = ward_task_transition(d->tasks, id, WARD_TASK_RUNNING, NULL, r->client_hex)) !=
        WARD_OK) {
        j->m = NULL;
        job_free(j);
        reply_err(d, r, e, "run");
        goto fail;
    }
    rt->sink.write = job_sink;
    rt->sink.arg = j;
    rt->job = j;
    /* the worker takes no signals: SIGTERM stays with the loop thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pe = pthread_create(&j->th, NULL, run_worker, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pe != 0) {
        rt->job = NULL;
        rt->sink.write = NULL;
        rt->sink.arg = NULL;
        char why[WARD_TASK_REASON_MAX + 1];
        snprintf(why, sizeof why, "cannot start the run: %s", strerror(pe));
        fail_task(d, id, why, r->client_hex);
        reply_view(d, r, 200, id);
        job_free(j);
        return;
    }
    /* The reply waits for the worker; the request outlives this call, so its connection must
     * tell us if it goes first. */
    j->conn = evhttp_request_get_connection(r->req);
    if (j->conn != NULL)
        evhttp_connection_set_closecb(j->conn, on_job_conn_close, j);
    return;
fail:
    ward_task_manifest_free(m);
}

static void stop_runs(wardd *d, int answer)
{
    for (size_t i = 0; i < d->n_rt; i++) {
        run_job *j = d->rt[i]->job;
        if (j == NULL)
            continue;
        j->shutdown = 1;
        if (!answer) {
            j->r.req = NULL;
            j->conn = NULL;
        }
        job_stop(j);
    }
    /* Each worker's instance was interrupted: its call returns without waiting for the TA. */
    int answered = 0;
    for (size_t i = 0; i < d->n_rt; i++) {
        run_job *j = d->rt[i]->job;
        if (j == NULL)
            continue;
        answered |= j->r.req != NULL;
        pthread_join(j->th, NULL);
        job_complete(j);
    }
    /* The loop has stopped: give the replies just queued a few turns to reach their clients
     * (best effort; a client that gets none sees the connection close, and the task failed). */
    for (int k = 0; answered && d->base != NULL && k < 4; k++)
        event_base_loop(d->base, EVLOOP_NONBLOCK);
}

void wardd_tasks_stop_runs(wardd *d)
{
    stop_runs(d, 1);
}

static void get_result(wardd *d, wardd_req *r, const char *id)
{
    ward_task_result_info ri;
    ward_err e = ward_task_result_get(d->tasks, id, r->client, &ri);
    if (e != WARD_OK) {
        reply_err(d, r, e, "result");
        return;
    }
    if (ri.bytes == 0 || ri.bytes > RESULT_BLOB_MAX) {
        wardd_reply_error(d, r, 500, "internal", "stored result has an unexpected size");
        return;
    }
    FILE *f = fopen(ri.path, "rb");
    char *b = f != NULL ? malloc((size_t)ri.bytes) : NULL;
    size_t n = b != NULL ? fread(b, 1, (size_t)ri.bytes, f) : 0;
    if (f != NULL)
        fclose(f);
    uint8_t h[WARD_TASK_HASH_LEN];
    if (b == NULL || n != ri.bytes || ward_hash(WARD_HASH_SHA256, b, n, h) != WARD_OK ||
        memcmp(h, ri.sha256, sizeof h) != 0) {
        free(b);
        wardd_reply_error(d, r, 500, "internal", "cannot read the stored result");
        return;
    }
    wardd_reply_text(d, r, 200, "application/json", b, n);
    free(b);
}

static void cancel_task(wardd *d, wardd_req *r, const char *id)
{
    int cancelled = 0;
    ward_err e = ward_task_cancel_vote(d->tasks, id, r->client, &cancelled);
    if (e != WARD_OK) {
        reply_err(d, r, e, "cancel");
        return;
    }
    if (cancelled)
        rt_kill(rt_find(d, id));
    reply_view(d, r, 200, id);
}

/* ---- routing ----------------------------------------------------------------------------- */

static int valid_id(const char *s, size_t n)
{
    if (n != WARD_TASK_ID_HEX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int valid_slot(const char *s, size_t n)
{
    if (n == 0 || n > WARD_TASK_SLOT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '_'))))
            return 0;
    }
    return 1;
}

static int method_is(wardd *d, wardd_req *r, enum evhttp_cmd_type want, const char *allow)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(r->req);
    if (cmd == want || (cmd == EVHTTP_REQ_HEAD && want == EVHTTP_REQ_GET))
        return 1;
    r->allow = allow;
    wardd_reply_error(d, r, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
                      r->method, allow);
    return 0;
}

void wardd_route_tasks(wardd *d, wardd_req *r, const char *path)
{
    const char *rest = path + strlen("/v1/tasks");
    char id[WARD_TASK_ID_HEX_LEN + 1] = "", slot[WARD_TASK_SLOT_NAME_MAX + 1] = "";
    enum { T_CREATE, T_GET, T_SIGS, T_INPUT, T_RUN, T_RESULT, T_RESULT_DATA, T_CANCEL } what;
    if (*rest == 0) {
        what = T_CREATE;
    } else {
        const char *p = rest + 1; /* after "/" */
        const char *slash = strchr(p, '/');
        size_t il = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (!valid_id(p, il)) {
            wardd_reply_error(d, r, 404, "not_found", "no such endpoint (task ids are 32 "
                                                      "lower-case hex digits)");
            return;
        }
        memcpy(id, p, il);
        id[il] = 0;
        const char *tail = slash != NULL ? slash : "";
        if (*tail == 0)
            what = T_GET;
        else if (strcmp(tail, "/signatures") == 0)
            what = T_SIGS;
        else if (strcmp(tail, "/run") == 0)
            what = T_RUN;
        else if (strcmp(tail, "/result") == 0)
            what = T_RESULT;
        else if (strcmp(tail, "/result/data") == 0)
            what = T_RESULT_DATA;
        else if (strcmp(tail, "/cancel") == 0)
            what = T_CANCEL;
        else if (strncmp(tail, "/inputs/", 8) == 0 && valid_slot(tail + 8, strlen(tail + 8))) {
            what = T_INPUT;
            snprintf(slot, sizeof slot, "%s", tail + 8);
        } else {
            wardd_reply_error(d, r, 404, "not_found", "no such endpoint under /v1/tasks");
            return;
        }
    }
    int ok;
    switch (what) {
    case T_GET:
    case T_RESULT:
    case T_RESULT_DATA: ok = method_is(d, r, EVHTTP_REQ_GET, "GET"); break;
    case T_INPUT: ok = method_is(d, r, EVHTTP_REQ_PUT, "PUT"); break;
    default: ok = method_is(d, r, EVHTTP_REQ_POST, "POST"); break;
    }
    if (!ok)
        return;
    /* the caller is authenticated and holds the route's permission: authz.c, at dispatch */
    if (d->tasks == NULL) {
        wardd_reply_error(d, r, 503, "unavailable", "the task store is not open");
        return;
    }
    switch (what) {
    case T_CREATE: create_task(d, r); break;
    case T_GET: get_task(d, r, id); break;
    case T_SIGS: add_signatures(d, r, id); break;
    case T_INPUT: upload(d, r, id, slot); break;
    case T_RUN: run_task(d, r, id); break;
    case T_RESULT: get_result(d, r, id); break;
    case T_RESULT_DATA: wardd_result_data(d, r, id); break;
    case T_CANCEL: cancel_task(d, r, id); break;
    }
}
