/* Alarms: rules, the metrics registry, and delivery to syslog and webhooks. Behaviour and
 * configuration: include/ward/alarm.h. */
#include "ward/alarm.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ops/audit_internal.h"
#include "ward/json.h"
#include "ward/log.h"

#define SUBJECT_MAX 256u
#define MAX_KEYS 4096u   /* keys tracked per rule */
#define BUCKETS 256u
#define MAX_SINKS 8u
#define COUNTERS_MAX 64u
#define COUNTER_NAME_MAX 48u

/* ---- the metrics registry ------------------------------------------------------------------ */

static pthread_mutex_t metrics_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char name[COUNTER_NAME_MAX];
    uint64_t value;
} counters[COUNTERS_MAX];
static size_t n_counters;

static void count(const char *name)
{
    pthread_mutex_lock(&metrics_mu);
    size_t i = 0;
    for (; i < n_counters; i++)
        if (strcmp(counters[i].name, name) == 0)
            break;
    if (i == n_counters && n_counters < COUNTERS_MAX && strlen(name) < COUNTER_NAME_MAX) {
        snprintf(counters[i].name, COUNTER_NAME_MAX, "%s", name);
        n_counters++;
    }
    if (i < n_counters)
        counters[i].value++;
    pthread_mutex_unlock(&metrics_mu);
}

uint64_t ward_alarm_count(const char *name)
{
    if (name == NULL)
        return 0;
    uint64_t v = 0;
    pthread_mutex_lock(&metrics_mu);
    for (size_t i = 0; i < n_counters; i++)
        if (strcmp(counters[i].name, name) == 0)
            v = counters[i].value;
    pthread_mutex_unlock(&metrics_mu);
    return v;
}

void ward_alarm_metrics_foreach(void (*fn)(void *arg, const char *name, uint64_t value),
                                void *arg)
{
    if (fn == NULL)
        return;
    char names[COUNTERS_MAX][COUNTER_NAME_MAX];
    uint64_t values[COUNTERS_MAX];
    pthread_mutex_lock(&metrics_mu);
    size_t n = n_counters;
    for (size_t i = 0; i < n; i++) {
        memcpy(names[i], counters[i].name, COUNTER_NAME_MAX);
        values[i] = counters[i].value;
    }
    pthread_mutex_unlock(&metrics_mu);
    for (size_t i = 0; i < n; i++) /* outside the lock: fn may count */
        fn(arg, names[i], values[i]);
}

/* ---- rate rules ---------------------------------------------------------------------------- */

struct rkey {
    struct rkey *next;
    char *name;
    int64_t *times; /* ring of the last `threshold` event times */
    uint32_t n, head;
    int64_t last, quiet_until;
};

struct rule {
    int enabled;
    uint32_t threshold, window_s;
    struct rkey *buckets[BUCKETS];
    size_t nkeys;
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void rkey_free(struct rkey *k)
{
    free(k->name);
    free(k->times);
    free(k);
}

static void rule_clear(struct rule *r)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        while (r->buckets[b] != NULL) {
            struct rkey *k = r->buckets[b];
            r->buckets[b] = k->next;
            rkey_free(k);
        }
    }
    r->nkeys = 0;
}

/* Makes room for one key: drops the keys idle for a window, else the least recently seen. */
static void rule_evict(struct rule *r, int64_t now)
{
    int64_t window = (int64_t)r->window_s * 1000;
    struct rkey **oldest = NULL;
    for (size_t b = 0; b < BUCKETS; b++) {
        struct rkey **pp = &r->buckets[b];
        while (*pp != NULL) {
            struct rkey *k = *pp;
            if (k->last < now - window && k->quiet_until <= now) {
                *pp = k->next;
                rkey_free(k);
                r->nkeys--;
                continue;
            }
            if (oldest == NULL || k->last < (*oldest)->last)
                oldest = pp;
            pp = &k->next;
        }
    }
    if (r->nkeys >= MAX_KEYS && oldest != NULL) {
        struct rkey *k = *oldest;
        *oldest = k->next;
        rkey_free(k);
        r->nkeys--;
    }
}

/* Records an event for key at now; 1 if it crosses the threshold (and the key is not quiet). */
static int rule_event(struct rule *r, const char *key, int64_t now, int *oom)
{
    uint32_t b = fnv1a(key) % BUCKETS;
    struct rkey *k = r->buckets[b];
    while (k != NULL && strcmp(k->name, key) != 0)
        k = k->next;
    if (k == NULL) {
        if (r->nkeys >= MAX_KEYS)
            rule_evict(r, now);
        k = calloc(1, sizeof *k);
        if (k != NULL) {
            k->name = strdup(key);
            k->times = calloc(r->threshold, sizeof *k->times);
        }
        if (k == NULL || k->name == NULL || k->times == NULL) {
            if (k != NULL)
                rkey_free(k);
            *oom = 1;
            return 0;
        }
        k->quiet_until = INT64_MIN;
        k->next = r->buckets[b];
        r->buckets[b] = k;
        r->nkeys++;
    }
    k->last = now;
    if (k->n < r->threshold) {
        k->times[(k->head + k->n) % r->threshold] = now;
        k->n++;
    } else {
        k->times[k->head] = now;
        k->head = (k->head + 1) % r->threshold;
    }
    int64_t window = (int64_t)r->window_s * 1000;
    if (k->n == r->threshold && k->times[k->head] >= now - window && now >= k->quiet_until)
        return 1;
    return 0;
}

/* After an alarm: the key's count restarts and it stays quiet for a window. */
static void rule_fired(struct rule *r, const char *key, int64_t now)
{
    struct rkey *k = r->buckets[fnv1a(key) % BUCKETS];
    while (k != NULL && strcmp(k->name, key) != 0)
        k = k->next;
    if (k != NULL) {
        k->n = 0;
        k->head = 0;
        k->quiet_until = now + (int64_t)r->window_s * 1000;
    }
}

/* ---- sinks and the delivery queue ------------------------------------------------------------ */

enum sink_type { SINK_SYSLOG = 1, SINK_WEBHOOK = 2 };

struct sink {
    enum sink_type type;
    char *url;
    uint32_t timeout_ms, max_attempts, backoff_ms, max_backoff_ms;
    int priority_base; /* syslog facility */
};

struct msg {
    struct msg *next;
    int level; /* syslog level */
    size_t len;
    char body[];
};

struct ward_alarms {
    ward_audit *audit;
    ward_alarm_hooks hooks;
    pthread_mutex_t mu; /* rules and disk state */
    struct rule auth, attest, killed;
    int per_actor, per_address;
    int audit_verify_enabled;
    int disk_enabled;
    uint32_t disk_percent;
    int disk_in_alarm;

    struct sink sinks[MAX_SINKS];
    size_t nsinks;
    char *syslog_ident;
    int syslog_open;

    pthread_mutex_t qmu; /* the delivery queue */
    pthread_cond_t qcv;  /* work, stop, idle (monotonic clock) */
    struct msg *qhead, *qtail;
    size_t qlen, qmax;
    int busy, stop, thread_started;
    pthread_t thread;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t alarms_now(const ward_alarms *a)
{
    return a->hooks.now_ms != NULL ? a->hooks.now_ms(a->hooks.arg) : mono_ms();
}

static void abs_deadline(int64_t mono, struct timespec *ts)
{
    ts->tv_sec = (time_t)(mono / 1000);
    ts->tv_nsec = (long)((mono % 1000) * 1000000);
}

static size_t discard_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * nmemb;
}

/* One POST. 0: delivered; 1: failed, worth retrying; 2: failed for good. */
static int webhook_post(const struct sink *s, const struct msg *m, char *why, size_t why_len)
{
    const char *body = m->body; /* a pointer, for curl's type checks */
    CURL *c = curl_easy_init();
    if (c == NULL) {
        snprintf(why, why_len, "curl_easy_init failed");
        return 1;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    CURLcode rc = hdr != NULL ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_URL, s->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)s->timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "ward-alarm/1");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)m->len);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    int result = 1;
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s", curl_easy_strerror(rc));
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
            result = 0;
        else
            result = (status == 408 || status == 429 || status >= 500) ? 1 : 2;
        if (result != 0)
            snprintf(why, why_len, "HTTP status %ld", status);
    }
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return result;
}

/* Waits ms unless stopping (under qmu); 1 if stopping. */
static int backoff_wait(ward_alarms *a, uint64_t ms)
{
    int64_t deadline = mono_ms() + (int64_t)ms;
    struct timespec ts;
    abs_deadline(deadline, &ts);
    pthread_mutex_lock(&a->qmu);
    while (!a->stop && mono_ms() < deadline)
        if (pthread_cond_timedwait(&a->qcv, &a->qmu, &ts) == ETIMEDOUT)
            break;
    int stop = a->stop;
    pthread_mutex_unlock(&a->qmu);
    return stop;
}

static void deliver(ward_alarms *a, const struct msg *m)
{
    for (size_t i = 0; i < a->nsinks; i++) {
        const struct sink *s = &a->sinks[i];
        char sink_no[16];
        snprintf(sink_no, sizeof sink_no, "%zu", i);
        if (s->type == SINK_SYSLOG) {
            syslog(s->priority_base | m->level, "%s", m->body);
            count(WARD_ALARM_DELIVERED);
            continue;
        }
        char why[128] = "";
        uint64_t wait = s->backoff_ms;
        int done = 0;
        for (uint32_t attempt = 1; attempt <= s->max_attempts; attempt++) {
            int r = webhook_post(s, m, why, sizeof why);
            if (r == 0) {
                done = 1;
                break;
            }
            if (r == 2 || attempt == s->max_attempts)
                break;
            ward_log(WARD_LOG_WARN, "alarm.webhook_retry", "sink", sink_no, "reason", why,
                     (char *)NULL);
            if (backoff_wait(a, wait))
                break;
            wait = wait * 2 > s->max_backoff_ms ? s->max_backoff_ms : wait * 2;
        }
        if (done) {
            count(WARD_ALARM_DELIVERED);
        } else {
            count(WARD_ALARM_DELIVERY_FAILED);
            ward_log(WARD_LOG_ERROR, "alarm.webhook_failed", "sink", sink_no, "reason", why,
                     (char *)NULL);
        }
    }
}

static void *delivery_main(void *arg)
{
    ward_alarms *a = arg;
    pthread_mutex_lock(&a->qmu);
    for (;;) {
        while (a->qhead == NULL && !a->stop) {
            a->busy = 0;
            pthread_cond_broadcast(&a->qcv);
            pthread_cond_wait(&a->qcv, &a->qmu);
        }
        if (a->stop)
            break;
        struct msg *m = a->qhead;
        a->qhead = m->next;
        if (a->qhead == NULL)
            a->qtail = NULL;
        a->qlen--;
        a->busy = 1;
        pthread_mutex_unlock(&a->qmu);
        deliver(a, m);
        free(m);
        pthread_mutex_lock(&a->qmu);
    }
    a->busy = 0;
    pthread_cond_broadcast(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
    return NULL;
}

static void enqueue_msg(ward_alarms *a, const char *body, size_t len, int level)
{
    if (a->nsinks == 0)
        return;
    struct msg *m = malloc(sizeof *m + len + 1);
    if (m == NULL) {
        count(WARD_ALARM_DROPPED);
        return;
    }
    m->next = NULL;
    m->level = level;
    m->len = len;
    memcpy(m->body, body, len);
    m->body[len] = '\0';
    pthread_mutex_lock(&a->qmu);
    if (a->qlen >= a->qmax) {
        struct msg *old = a->qhead;
        a->qhead = old->next;
        if (a->qhead == NULL)
            a->qtail = NULL;
        a->qlen--;
        free(old);
        count(WARD_ALARM_DROPPED);
    }
    if (a->qtail != NULL)
        a->qtail->next = m;
    else
        a->qhead = m;
    a->qtail = m;
    a->qlen++;
    a->busy = 1;
    pthread_cond_broadcast(&a->qcv);
    pthread_mutex_unlock(&a->qmu);
}

ward_err ward_alarms_drain(ward_alarms *a, uint32_t timeout_ms)
{
    if (a == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL handle");
    if (!a->thread_started)
        return WARD_OK;
    int64_t deadline = mono_ms() + (int64_t)timeout_ms;
    struct timespec ts;
    abs_deadline(deadline, &ts);
    ward_err err = WARD_OK;
    pthread_mutex_lock(&a->qmu);
    while (a->qhead != NULL || a->busy) {
        if (pthread_cond_timedwait(&a->qcv, &a->qmu, &ts) == ETIMEDOUT &&
            (a->qhead != NULL || a->busy)) {
            err = ward_err_set(WARD_ERR_TIMEOUT, "alarms: %zu alarm(s) still undelivered after "
                                                 "%u ms", a->qlen + (a->busy ? 1u : 0u),
                               timeout_ms);
            break;
        }
    }
    pthread_mutex_unlock(&a->qmu);
    return err;
}

/* ---- raising ------------------------------------------------------------------------------- */

static const char *severity_name(int level)
{
    switch (level) {
    case LOG_CRIT: return "critical";
    case LOG_ERR: return "error";
    default: return "warning";
    }
}

/* Copies s (may be NULL) cut to SUBJECT_MAX bytes, on a UTF-8 boundary. */
static void cut(char out[SUBJECT_MAX + 1], const char *s)
{
    size_t n = s != NULL ? strnlen(s, SUBJECT_MAX + 1) : 0;
    if (n > SUBJECT_MAX) {
        n = SUBJECT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    if (n != 0)
        memcpy(out, s, n);
    out[n] = '\0';
}

/* A JSON string from arbitrary bytes: invalid UTF-8 and control characters replaced. */
static json_t *safe_string(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char buf[SUBJECT_MAX + 1];
    size_t n = 0;
    for (; s[n] != '\0' && n < SUBJECT_MAX; n++)
        buf[n] = ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] >= 0x7F) ? '?' : s[n];
    buf[n] = '\0';
    return json_string(buf);
}

/* Counts, audits and queues an alarm. extra (may be NULL) is merged into the JSON. */
static ward_err raise_alarm(ward_alarms *a, const char *name, int level, const char *subject,
                            uint64_t n, uint32_t window_s, const char *message, json_t *extra)
{
    count(name);
    json_t *o = json_object();
    ward_err err = WARD_OK;
    if (o == NULL) {
        json_decref(extra);
        return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char t[AUDIT_TIME_LEN];
    audit_format_time(now, t);
    json_object_set_new(o, "alarm", json_string(name));
    json_object_set_new(o, "severity", json_string(severity_name(level)));
    json_object_set_new(o, "time", json_string(t));
    json_object_set_new(o, "subject", safe_string(subject != NULL ? subject : ""));
    json_object_set_new(o, "count", json_integer((json_int_t)n));
    if (window_s != 0)
        json_object_set_new(o, "window_s", json_integer((json_int_t)window_s));
    json_object_set_new(o, "message", safe_string(message));
    if (extra != NULL) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    char *body = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (body == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    ward_log(level == LOG_CRIT ? WARD_LOG_ERROR : WARD_LOG_WARN, "alarm.raised", "alarm", name,
             "subject", subject != NULL ? subject : "", (char *)NULL);
    if (a->audit != NULL) {
        ward_audit_record rec = {.actor = "node", .auth_method = "system",
                                 .action = "alarm.raised", .object = name,
                                 .outcome = WARD_AUDIT_SUCCESS, .details = body};
        err = ward_audit_append_async(a->audit, &rec, NULL);
        if (err != WARD_OK)
            ward_err_wrap(err, "alarms: recording the alarm");
    }
    enqueue_msg(a, body, strlen(body), level);
    free(body);
    return err;
}

/* One event for a rate rule under up to two keys; raises at most one alarm. */
static ward_err rate_event(ward_alarms *a, struct rule *r, const char *name, int level,
                           const char *what, const char *key1, const char *key2,
                           const char *reason)
{
    if (!r->enabled)
        return WARD_OK;
    int oom = 0, fired1 = 0, fired2 = 0;
    pthread_mutex_lock(&a->mu);
    int64_t now = alarms_now(a);
    if (key1 != NULL)
        fired1 = rule_event(r, key1, now, &oom);
    if (key2 != NULL)
        fired2 = rule_event(r, key2, now, &oom);
    if (fired1 || fired2) {
        /* Both keys start over: one attack, one alarm. */
        if (key1 != NULL)
            rule_fired(r, key1, now);
        if (key2 != NULL)
            rule_fired(r, key2, now);
    }
    uint32_t threshold = r->threshold, window = r->window_s;
    pthread_mutex_unlock(&a->mu);
    if (oom)
        return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    if (!fired1 && !fired2)
        return WARD_OK;
    char subject[2 * SUBJECT_MAX + 16];
    if (fired1 && fired2)
        snprintf(subject, sizeof subject, "%s %s", key1, key2);
    else
        snprintf(subject, sizeof subject, "%s", fired1 ? key1 : key2);
    char message[160];
    snprintf(message, sizeof message, "%u %s in %u s", threshold, what, window);
    json_t *extra = NULL;
    if (reason != NULL) {
        char rs[SUBJECT_MAX + 1];
        cut(rs, reason);
        extra = json_object();
        if (extra != NULL)
            json_object_set_new(extra, "reason", safe_string(rs));
    }
    return raise_alarm(a, name, level, subject, threshold, window, message, extra);
}

static void make_key(char *out, size_t cap, const char *prefix, const char *value)
{
    char v[SUBJECT_MAX + 1];
    cut(v, value);
    snprintf(out, cap, "%s:%s", prefix, v);
}

ward_err ward_alarms_auth_failure(ward_alarms *a, const char *actor, const char *address)
{
    if (a == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL handle");
    char k1[SUBJECT_MAX + 16], k2[SUBJECT_MAX + 16];
    int use1 = actor != NULL && a->per_actor, use2 = address != NULL && a->per_address;
    if (use1)
        make_key(k1, sizeof k1, "actor", actor);
    if (use2)
        make_key(k2, sizeof k2, "address", address);
    return rate_event(a, &a->auth, WARD_ALARM_AUTH_FAILURES, LOG_WARNING,
                      "authentication failures", use1 ? k1 : NULL, use2 ? k2 : NULL, NULL);
}

ward_err ward_alarms_attestation_failure(ward_alarms *a, const char *subject, const char *reason)
{
    if (a == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL handle");
    char k[SUBJECT_MAX + 16];
    make_key(k, sizeof k, "subject", subject != NULL ? subject : "unknown");
    return rate_event(a, &a->attest, WARD_ALARM_ATTESTATION_FAILURE, LOG_WARNING,
                      "attestation failures", k, NULL, reason);
}

ward_err ward_alarms_ta_killed(ward_alarms *a, const char *ta, const char *reason)
{
    if (a == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL handle");
    char k[SUBJECT_MAX + 16];
    make_key(k, sizeof k, "ta", ta != NULL ? ta : "unknown");
    return rate_event(a, &a->killed, WARD_ALARM_TA_KILLED, LOG_ERR,
                      "trusted applications killed by the sandbox", k, NULL, reason);
}

ward_err ward_alarms_audit_verify_failed(ward_alarms *a, const ward_audit_report *rep)
{
    if (a == NULL || rep == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL argument");
    if (!a->audit_verify_enabled)
        return WARD_OK;
    json_t *extra = json_object();
    if (extra != NULL) {
        json_object_set_new(extra, "problem", json_string(ward_audit_problem_name(rep->problem)));
        json_object_set_new(extra, "bad_seq", json_integer((json_int_t)rep->bad_seq));
    }
    char detail[SUBJECT_MAX + 1];
    cut(detail, rep->detail);
    char message[SUBJECT_MAX + 64];
    snprintf(message, sizeof message, "audit log verification failed: %s", detail);
    return raise_alarm(a, WARD_ALARM_AUDIT_VERIFY_FAILED, LOG_CRIT, "audit", 1, 0, message,
                       extra);
}

/* Percentage used as df computes it (rounded up); -1 if the numbers are unusable. */
static int used_percent(uint64_t total, uint64_t free_all, uint64_t avail)
{
    if (total == 0 || free_all > total)
        return -1;
    uint64_t used = total - free_all;
    uint64_t denom = used + avail;
    if (denom == 0 || denom < used)
        return -1;
    /* used * 100 cannot overflow for any real file system (< 2^57 blocks). */
    if (used > UINT64_MAX / 100)
        return -1;
    return (int)((used * 100 + denom - 1) / denom);
}

ward_err ward_alarms_check_disk(ward_alarms *a, const char *path)
{
    if (a == NULL || path == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL argument");
    if (!a->disk_enabled)
        return WARD_OK;
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    int rc = a->hooks.statvfs != NULL ? a->hooks.statvfs(a->hooks.arg, path, &sv)
                                      : statvfs(path, &sv);
    if (rc != 0)
        return ward_err_set(WARD_ERR_IO, "alarms: statvfs %s: %s", path, strerror(errno));
    int blocks = used_percent((uint64_t)sv.f_blocks, (uint64_t)sv.f_bfree, (uint64_t)sv.f_bavail);
    int inodes = used_percent((uint64_t)sv.f_files, (uint64_t)sv.f_ffree, (uint64_t)sv.f_favail);
    int worst = blocks > inodes ? blocks : inodes;
    if (worst < 0)
        return WARD_OK;
    int fire = 0;
    pthread_mutex_lock(&a->mu);
    if ((uint32_t)worst >= a->disk_percent) {
        fire = !a->disk_in_alarm;
        a->disk_in_alarm = 1;
    } else {
        a->disk_in_alarm = 0;
    }
    uint32_t threshold = a->disk_percent;
    pthread_mutex_unlock(&a->mu);
    if (!fire)
        return WARD_OK;
    char p[SUBJECT_MAX + 1];
    cut(p, path);
    json_t *extra = json_object();
    if (extra != NULL) {
        json_object_set_new(extra, "used_percent", json_integer(blocks));
        json_object_set_new(extra, "inodes_used_percent", json_integer(inodes));
        json_object_set_new(extra, "threshold_percent", json_integer((json_int_t)threshold));
    }
    char message[SUBJECT_MAX + 96];
    snprintf(message, sizeof message, "file system of %s is %d%% used (threshold %u%%)", p, worst,
             threshold);
    return raise_alarm(a, WARD_ALARM_DISK_NEARLY_FULL, LOG_WARNING, p, (uint64_t)worst, 0,
                       message, extra);
}

/* ---- configuration ------------------------------------------------------------------------- */

static ward_err check_members(json_t *o, const char *where, const char *const *allowed)
{
    if (!json_is_object(o))
        return ward_err_set(WARD_ERR_FORMAT, "alarms config: %s must be an object", where);
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        int ok = 0;
        for (const char *const *p = allowed; *p != NULL && !ok; p++)
            ok = strcmp(key, *p) == 0;
        if (!ok)
            return ward_err_set(WARD_ERR_FORMAT, "alarms config: unknown member \"%.64s\" in %s",
                                key, where);
    }
    return WARD_OK;
}

static ward_err get_uint(json_t *o, const char *where, const char *name, uint32_t lo,
                         uint32_t hi, uint32_t *out)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return WARD_OK;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        json_integer_value(v) > (json_int_t)hi)
        return ward_err_set(WARD_ERR_FORMAT, "alarms config: %s.%s must be an integer in %u..%u",
                            where, name, lo, hi);
    *out = (uint32_t)json_integer_value(v);
    return WARD_OK;
}

static ward_err get_bool(json_t *o, const char *where, const char *name, int *out)
{
    json_t *v = json_object_get(o, name);
    if (v == NULL)
        return WARD_OK;
    if (!json_is_boolean(v))
        return ward_err_set(WARD_ERR_FORMAT, "alarms config: %s.%s must be true or false", where,
                            name);
    *out = json_is_true(v);
    return WARD_OK;
}

static ward_err parse_rule(json_t *root, const char *name, struct rule *r)
{
    json_t *o = json_object_get(root, name);
    if (o == NULL)
        return WARD_OK;
    static const char *const allowed[] = {"enabled", "threshold", "window_s", "per", NULL};
    ward_err err = check_members(o, name, allowed);
    if (err == WARD_OK)
        err = get_bool(o, name, "enabled", &r->enabled);
    if (err == WARD_OK)
        err = get_uint(o, name, "threshold", 1, 10000, &r->threshold);
    if (err == WARD_OK)
        err = get_uint(o, name, "window_s", 1, 604800, &r->window_s);
    return err;
}

static ward_err parse_per(ward_alarms *a, json_t *root)
{
    json_t *o = json_object_get(root, "auth_failures");
    json_t *per = o != NULL ? json_object_get(o, "per") : NULL;
    if (per == NULL)
        return WARD_OK;
    if (!json_is_array(per) || json_array_size(per) == 0)
        return ward_err_set(WARD_ERR_FORMAT,
                            "alarms config: auth_failures.per must be a non-empty array");
    a->per_actor = a->per_address = 0;
    size_t i;
    json_t *v;
    json_array_foreach(per, i, v) {
        const char *s = json_string_value(v);
        if (s != NULL && strcmp(s, "actor") == 0)
            a->per_actor = 1;
        else if (s != NULL && strcmp(s, "address") == 0)
            a->per_address = 1;
        else
            return ward_err_set(WARD_ERR_FORMAT,
                                "alarms config: auth_failures.per holds \"actor\" and/or "
                                "\"address\"");
    }
    return WARD_OK;
}

static int facility_of(const char *name, int *out)
{
    static const struct {
        const char *name;
        int value;
    } f[] = {{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"daemon", LOG_DAEMON},
             {"user", LOG_USER},     {"local0", LOG_LOCAL0},     {"local1", LOG_LOCAL1},
             {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
             {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (strcmp(name, f[i].name) == 0) {
            *out = f[i].value;
            return 1;
        }
    }
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static ward_err parse_sink(ward_alarms *a, json_t *o, size_t idx)
{
    char where[32];
    snprintf(where, sizeof where, "sinks[%zu]", idx);
    if (a->nsinks >= MAX_SINKS)
        return ward_err_set(WARD_ERR_LIMIT, "alarms config: at most %u sinks", MAX_SINKS);
    if (!json_is_object(o))
        return ward_err_set(WARD_ERR_FORMAT, "alarms config: %s must be an object", where);
    const char *type = json_string_value(json_object_get(o, "type"));
    struct sink *s = &a->sinks[a->nsinks];
    memset(s, 0, sizeof *s);
    ward_err err;
    if (type != NULL && strcmp(type, "syslog") == 0) {
        static const char *const allowed[] = {"type", "ident", "facility", NULL};
        err = check_members(o, where, allowed);
        if (err != WARD_OK)
            return err;
        json_t *ident = json_object_get(o, "ident");
        json_t *fac = json_object_get(o, "facility");
        if ((ident != NULL && (!json_is_string(ident) || json_string_length(ident) == 0 ||
                               json_string_length(ident) > 64)) ||
            (fac != NULL && !json_is_string(fac)))
            return ward_err_set(WARD_ERR_FORMAT,
                                "alarms config: %s: ident (1..64 characters) and facility are "
                                "strings", where);
        if (a->syslog_ident != NULL)
            return ward_err_set(WARD_ERR_FORMAT, "alarms config: one syslog sink at most");
        s->type = SINK_SYSLOG;
        s->priority_base = LOG_DAEMON;
        if (fac != NULL && !facility_of(json_string_value(fac), &s->priority_base))
            return ward_err_set(WARD_ERR_FORMAT, "alarms config: %s: unknown facility \"%.32s\"",
                                where, json_string_value(fac));
        a->syslog_ident = strdup(ident != NULL ? json_string_value(ident) : "ward");
        if (a->syslog_ident == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    } else if (type != NULL && strcmp(type, "webhook") == 0) {
        static const char *const allowed[] = {"type", "url", "timeout_ms", "max_attempts",
                                              "backoff_ms", "max_backoff_ms", NULL};
        err = check_members(o, where, allowed);
        if (err != WARD_OK)
            return err;
        const char *url = json_string_value(json_object_get(o, "url"));
        if (url == NULL || strlen(url) > 2048 ||
            (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
            return ward_err_set(WARD_ERR_FORMAT,
                                "alarms config: %s.url must be an http:// or https:// URL", where);
        s->type = SINK_WEBHOOK;
        s->timeout_ms = 5000;
        s->max_attempts = 5;
        s->backoff_ms = 500;
        s->max_backoff_ms = 60000;
        err = get_uint(o, where, "timeout_ms", 1, 600000, &s->timeout_ms);
        if (err == WARD_OK)
            err = get_uint(o, where, "max_attempts", 1, 100, &s->max_attempts);
        if (err == WARD_OK)
            err = get_uint(o, where, "backoff_ms", 1, 3600000, &s->backoff_ms);
        if (err == WARD_OK)
            err = get_uint(o, where, "max_backoff_ms", 1, 3600000, &s->max_backoff_ms);
        if (err != WARD_OK)
            return err;
        if (s->max_backoff_ms < s->backoff_ms)
            s->max_backoff_ms = s->backoff_ms;
        pthread_once(&curl_once, curl_init);
        if (curl_init_rc != CURLE_OK)
            return ward_err_set(WARD_ERR_CRYPTO, "alarms: curl_global_init failed");
        s->url = strdup(url);
        if (s->url == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    } else {
        return ward_err_set(WARD_ERR_FORMAT,
                            "alarms config: %s.type must be \"syslog\" or \"webhook\"", where);
    }
    a->nsinks++;
    return WARD_OK;
}

static ward_err parse_config(ward_alarms *a, const char *text, size_t len)
{
    json_t *root = NULL;
    ward_err err = ward_json_parse(text, len, &root);
    if (err != WARD_OK)
        return ward_err_wrap(err, "alarms config");
    static const char *const allowed[] = {"auth_failures", "attestation_failures", "ta_killed",
                                          "audit_verify", "disk", "queue_max", "sinks", NULL};
    err = check_members(root, "the configuration", allowed);
    if (err == WARD_OK)
        err = parse_rule(root, "auth_failures", &a->auth);
    if (err == WARD_OK)
        err = parse_per(a, root);
    if (err == WARD_OK)
        err = parse_rule(root, "attestation_failures", &a->attest);
    if (err == WARD_OK)
        err = parse_rule(root, "ta_killed", &a->killed);
    json_t *o;
    if (err == WARD_OK && (o = json_object_get(root, "audit_verify")) != NULL) {
        static const char *const al[] = {"enabled", NULL};
        err = check_members(o, "audit_verify", al);
        if (err == WARD_OK)
            err = get_bool(o, "audit_verify", "enabled", &a->audit_verify_enabled);
    }
    if (err == WARD_OK && (o = json_object_get(root, "disk")) != NULL) {
        static const char *const al[] = {"enabled", "threshold_percent", NULL};
        err = check_members(o, "disk", al);
        if (err == WARD_OK)
            err = get_bool(o, "disk", "enabled", &a->disk_enabled);
        if (err == WARD_OK)
            err = get_uint(o, "disk", "threshold_percent", 1, 100, &a->disk_percent);
    }
    if (err == WARD_OK) {
        uint32_t qmax = (uint32_t)a->qmax;
        err = get_uint(root, "configuration", "queue_max", 1, 100000, &qmax);
        a->qmax = qmax;
    }
    json_t *sinks = json_object_get(root, "sinks");
    if (err == WARD_OK && sinks != NULL) {
        if (!json_is_array(sinks)) {
            err = ward_err_set(WARD_ERR_FORMAT, "alarms config: sinks must be an array");
        } else {
            size_t i;
            json_t *s;
            json_array_foreach(sinks, i, s) {
                err = parse_sink(a, s, i);
                if (err != WARD_OK)
                    break;
            }
        }
    }
    json_decref(root);
    return err;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void defaults(ward_alarms *a)
{
    a->auth = (struct rule){.enabled = 1, .threshold = 5, .window_s = 300};
    a->attest = (struct rule){.enabled = 1, .threshold = 1, .window_s = 300};
    a->killed = (struct rule){.enabled = 1, .threshold = 1, .window_s = 60};
    a->per_actor = a->per_address = 1;
    a->audit_verify_enabled = 1;
    a->disk_enabled = 1;
    a->disk_percent = 90;
    a->qmax = 1024;
}

static void release(ward_alarms *a)
{
    rule_clear(&a->auth);
    rule_clear(&a->attest);
    rule_clear(&a->killed);
    for (size_t i = 0; i < a->nsinks; i++)
        free(a->sinks[i].url);
    while (a->qhead != NULL) {
        struct msg *m = a->qhead;
        a->qhead = m->next;
        free(m);
        count(WARD_ALARM_DROPPED);
    }
    if (a->syslog_open)
        closelog();
    free(a->syslog_ident);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->qmu);
    pthread_cond_destroy(&a->qcv);
    free(a);
}

ward_err ward_alarms_new(const char *config, size_t len, ward_audit *audit,
                         const ward_alarm_hooks *hooks, ward_alarms **out)
{
    if (out == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "alarms: NULL output");
    *out = NULL;
    ward_alarms *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "alarms: out of memory");
    pthread_condattr_t ca;
    int bad = pthread_condattr_init(&ca) != 0;
    if (!bad) {
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        bad |= pthread_mutex_init(&a->mu, NULL) != 0;
        bad |= pthread_mutex_init(&a->qmu, NULL) != 0;
        bad |= pthread_cond_init(&a->qcv, &ca) != 0;
        pthread_condattr_destroy(&ca);
    }
    if (bad) {
        free(a);
        return ward_err_set(WARD_ERR_NOMEM, "alarms: cannot create locks");
    }
    defaults(a);
    a->audit = audit;
    if (hooks != NULL)
        a->hooks = *hooks;
    ward_err err = config != NULL ? parse_config(a, config, len) : WARD_OK;
    if (err == WARD_OK && a->syslog_ident != NULL) {
        int facility = LOG_DAEMON;
        for (size_t i = 0; i < a->nsinks; i++)
            if (a->sinks[i].type == SINK_SYSLOG)
                facility = a->sinks[i].priority_base;
        openlog(a->syslog_ident, LOG_PID | LOG_NDELAY, facility);
        a->syslog_open = 1;
    }
    if (err == WARD_OK && a->nsinks > 0) {
        if (pthread_create(&a->thread, NULL, delivery_main, a) != 0)
            err = ward_err_set(WARD_ERR_NOMEM, "alarms: cannot start the delivery thread");
        else
            a->thread_started = 1;
    }
    if (err != WARD_OK) {
        release(a);
        return err;
    }
    *out = a;
    return WARD_OK;
}

void ward_alarms_free(ward_alarms *a)
{
    if (a == NULL)
        return;
    if (a->thread_started) {
        pthread_mutex_lock(&a->qmu);
        a->stop = 1;
        pthread_cond_broadcast(&a->qcv);
        pthread_mutex_unlock(&a->qmu);
        pthread_join(a->thread, NULL);
    }
    release(a);
}
