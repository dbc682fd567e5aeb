/* wardd's small metrics registry and its Prometheus text exposition (format 0.0.4). The daemon
 * serves requests on one thread, so the counters need no lock. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/wardd.h"
#include "ward/alarm.h"

/* Upper bounds of the latency buckets in seconds (the last bucket is +Inf). */
static const double bucket_le[WARDD_LATENCY_BUCKETS - 1] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

static const char *const route_labels[WARDD_ROUTE_COUNT] = {
    "/healthz", "/metrics", "/v1/attestation/challenge", "/v1/attestation/verify",
    "/v1/attestation/verifier-key", "/v1/tasks", "other"};

static const char *const verdict_labels[WARDD_VERDICT_COUNT] = {"affirming", "warning",
                                                                "contraindicated", "refused"};

const char *wardd_route_label(wardd_route r)
{
    return (unsigned)r < WARDD_ROUTE_COUNT ? route_labels[r] : "other";
}

void wardd_metrics_init(wardd_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->start_time = (int64_t)time(NULL);
}

void wardd_metrics_request(wardd_metrics *m, wardd_route r, int status, double seconds,
                           uint64_t bytes_in, uint64_t bytes_out)
{
    if ((unsigned)r >= WARDD_ROUTE_COUNT)
        r = WARDD_ROUTE_OTHER;
    wardd_route_metrics *rt = &m->route[r];
    size_t i = 0;
    while (i < rt->n_status && rt->status[i] != status)
        i++;
    if (i == rt->n_status) {
        if (rt->n_status == WARDD_MAX_STATUSES) {
            /* Cannot happen with the statuses wardd sends; fold into the last slot. */
            i = WARDD_MAX_STATUSES - 1;
        } else {
            rt->status[i] = status;
            rt->n_status++;
        }
    }
    rt->count[i]++;
    size_t b = 0;
    while (b < WARDD_LATENCY_BUCKETS - 1 && seconds > bucket_le[b])
        b++;
    rt->bucket[b]++;
    rt->n++;
    rt->sum += seconds;
    rt->bytes_in += bytes_in;
    rt->bytes_out += bytes_out;
}

void wardd_metrics_verdict(wardd_metrics *m, wardd_verdict v)
{
    if ((unsigned)v < WARDD_VERDICT_COUNT)
        m->verdict[v]++;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->failed = 1;
            return;
        }
        if ((size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        size_t ncap = s->cap * 2 + (size_t)n + 1;
        char *np = realloc(s->p, ncap);
        if (np == NULL) {
            s->failed = 1;
            return;
        }
        s->p = np;
        s->cap = ncap;
    }
}

/* Alarm counter names ("attestation.failure") as metric label values. */
static void alarm_cb(void *arg, const char *name, uint64_t value)
{
    sb_printf(arg, "ward_alarms_total{alarm=\"%s\"} %llu\n", name, (unsigned long long)value);
}

int wardd_metrics_render(const wardd_metrics *m, char **out, size_t *len)
{
    sbuf s = {.p = malloc(4096), .cap = 4096};
    if (s.p == NULL)
        return -1;
    s.p[0] = 0;
    sb_printf(&s, "# HELP wardd_http_requests_total HTTP requests answered, by route and status.\n"
                  "# TYPE wardd_http_requests_total counter\n");
    for (int r = 0; r < WARDD_ROUTE_COUNT; r++)
        for (size_t i = 0; i < m->route[r].n_status; i++)
            sb_printf(&s, "wardd_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                      route_labels[r], m->route[r].status[i],
                      (unsigned long long)m->route[r].count[i]);
    sb_printf(&s, "# HELP wardd_http_request_duration_seconds Time from a complete request to "
                  "its reply.\n"
                  "# TYPE wardd_http_request_duration_seconds histogram\n");
    for (int r = 0; r < WARDD_ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b < WARDD_LATENCY_BUCKETS; b++) {
            cum += m->route[r].bucket[b];
            if (b < WARDD_LATENCY_BUCKETS - 1)
                sb_printf(&s, "wardd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
                              "%llu\n",
                          route_labels[r], bucket_le[b], (unsigned long long)cum);
            else
                sb_printf(&s, "wardd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} "
                              "%llu\n",
                          route_labels[r], (unsigned long long)cum);
        }
        sb_printf(&s, "wardd_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
                  route_labels[r], m->route[r].sum);
        sb_printf(&s, "wardd_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  route_labels[r], (unsigned long long)m->route[r].n);
    }
    sb_printf(&s, "# HELP wardd_http_request_bytes_total Request body bytes received, by "
                  "route.\n"
                  "# TYPE wardd_http_request_bytes_total counter\n");
    for (int r = 0; r < WARDD_ROUTE_COUNT; r++)
        sb_printf(&s, "wardd_http_request_bytes_total{route=\"%s\"} %llu\n", route_labels[r],
                  (unsigned long long)m->route[r].bytes_in);
    sb_printf(&s, "# HELP wardd_http_response_bytes_total Response body bytes sent, by route.\n"
                  "# TYPE wardd_http_response_bytes_total counter\n");
    for (int r = 0; r < WARDD_ROUTE_COUNT; r++)
        sb_printf(&s, "wardd_http_response_bytes_total{route=\"%s\"} %llu\n", route_labels[r],
                  (unsigned long long)m->route[r].bytes_out);
    sb_printf(&s, "# HELP wardd_attestation_verifications_total Evidence verifications, by "
                  "result (refused: the evidence or its nonce was refused before appraisal).\n"
                  "# TYPE wardd_attestation_verifications_total counter\n");
    for (int v = 0; v < WARDD_VERDICT_COUNT; v++)
        sb_printf(&s, "wardd_attestation_verifications_total{result=\"%s\"} %llu\n",
                  verdict_labels[v], (unsigned long long)m->verdict[v]);
    sb_printf(&s, "# HELP ward_alarms_total Alarms raised and alarm deliveries, by name.\n"
                  "# TYPE ward_alarms_total counter\n");
    ward_alarm_metrics_foreach(alarm_cb, &s);
    if (m->have_tasks) {
        sb_printf(&s, "# HELP wardd_tasks Tasks in the node's store, by state.\n"
                      "# TYPE wardd_tasks gauge\n");
        for (int t = 0; t < WARD_TASK_STATE__COUNT; t++)
            sb_printf(&s, "wardd_tasks{state=\"%s\"} %llu\n",
                      ward_task_state_name((ward_task_state)t),
                      (unsigned long long)m->tasks[t]);
        sb_printf(&s, "# HELP wardd_ta_instances TA instances alive (one per approved task).\n"
                      "# TYPE wardd_ta_instances gauge\n"
                      "wardd_ta_instances %u\n",
                  (unsigned)m->ta_instances);
    }
    sb_printf(&s, "# HELP process_start_time_seconds Start time of the process since the Unix "
                  "epoch in seconds.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %lld\n",
              (long long)m->start_time);
    if (s.failed) {
        free(s.p);
        return -1;
    }
    *out = s.p;
    *len = s.len;
    return 0;
}
