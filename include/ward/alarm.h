/* Alarms and monitoring (IEEE 2952 5.5.1, 5.5.3; issue 8): rules with configurable thresholds
 * over the events that matter for security, and what an alarm does.
 *
 * An alarm is, all three at once:
 *   1. an audit record: actor "node", auth_method "system", action "alarm.raised", object the
 *      alarm's name, outcome success, details {"alarm", "severity", "subject", "count",
 *      "window_s", ...} (appended asynchronously to the log given to ward_alarms_new, if any);
 *   2. a counter in a process-wide metrics registry: ward_alarm_count(name) (the daemon's
 *      Prometheus /metrics endpoint exports them);
 *   3. a delivery to every configured sink, from one delivery thread, in order: syslog
 *      (syslog(3), the alarm's JSON as the message) and/or an HTTP webhook (libcurl: a JSON POST;
 *      retried with exponential back-off on connection errors, timeouts, 408, 429 and 5xx, up to
 *      max_attempts; other statuses are not retried). The delivery queue is bounded: when it is
 *      full the oldest undelivered alarm is dropped and counted (the audit record and the
 *      counter remain).
 *
 * The alarm's JSON (also the webhook body):
 *   {"alarm":"auth.failures","severity":"warning","time":"2026-01-02T03:04:05.678Z",
 *    "subject":"actor:alice","count":5,"window_s":300,"message":"5 authentication failures
 *    in 300 s"}
 * Subjects and messages hold names, addresses and counts: never a secret.
 *
 * Rules:
 *   auth.failures        N failures (threshold) within window_s per actor and/or per client
 *                        address ("per"). One failure event feeds both keys; it raises at most
 *                        one alarm. After an alarm a key's count restarts and the key stays quiet
 *                        for window_s: a sustained attack raises one alarm per window, not one
 *                        per attempt.
 *   attestation.failure  likewise per subject (the node or TA whose evidence failed).
 *   ta.killed            likewise per TA (killed by the sandbox: seccomp, limits).
 *   audit.verify_failed  every reported audit verification failure.
 *   disk.nearly_full     on ward_alarms_check_disk when the file system holding the path is at
 *                        or above threshold_percent used (blocks or inodes, as df counts); raised
 *                        once, re-armed when usage drops below the threshold.
 *
 * Configuration (JSON; every member optional; unknown members are refused, so that a typo in
 * a security setting fails loudly):
 *   {
 *     "auth_failures":        {"enabled": true, "threshold": 5, "window_s": 300,
 *                              "per": ["actor", "address"]},
 *     "attestation_failures": {"enabled": true, "threshold": 1, "window_s": 300},
 *     "ta_killed":            {"enabled": true, "threshold": 1, "window_s": 60},
 *     "audit_verify":         {"enabled": true},
 *     "disk":                 {"enabled": true, "threshold_percent": 90},
 *     "queue_max": 1024,
 *     "sinks": [
 *       {"type": "syslog", "ident": "ward", "facility": "auth"},
 *       {"type": "webhook", "url": "https://siem.example/hook", "timeout_ms": 5000,
 *        "max_attempts": 5, "backoff_ms": 500, "max_backoff_ms": 60000}
 *     ]
 *   }
 * Limits: threshold 1..10000, window_s 1..604800, threshold_percent 1..100, queue_max
 * 1..100000, timeout_ms 1..600000, max_attempts 1..100, backoff_ms 1..3600000 (attempt k waits
 * min(backoff_ms * 2^(k-1), max_backoff_ms) before attempt k+1). Webhook URLs are http:// or
 * https:// (redirects are not followed); a URL is never logged (it may hold a credential).
 * syslog facilities: auth, authpriv, daemon, user, local0..local7.
 *
 * Thread safety: every function may be called from any thread. */
#ifndef WARD_ALARM_H
#define WARD_ALARM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/statvfs.h>

#include "ward/audit.h"
#include "ward/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Alarm names (the counters of ward_alarm_count and the "alarm" member). */
#define WARD_ALARM_AUTH_FAILURES "auth.failures"
#define WARD_ALARM_ATTESTATION_FAILURE "attestation.failure"
#define WARD_ALARM_TA_KILLED "ta.killed"
#define WARD_ALARM_AUDIT_VERIFY_FAILED "audit.verify_failed"
#define WARD_ALARM_DISK_NEARLY_FULL "disk.nearly_full"
/* Delivery counters in the same registry. */
#define WARD_ALARM_DELIVERED "alarm.delivered"             /* alarm delivered to a sink */
#define WARD_ALARM_DELIVERY_FAILED "alarm.delivery_failed" /* a sink gave up on an alarm */
#define WARD_ALARM_DROPPED "alarm.dropped"                 /* the delivery queue overflowed */

/* Injectable environment, for tests; every member may be NULL. */
typedef struct ward_alarm_hooks {
    /* Milliseconds on a clock that does not jump, for the rules' windows (default:
     * CLOCK_MONOTONIC). */
    int64_t (*now_ms)(void *arg);
    /* statvfs(3) replacement for the disk rule; returns 0 or -1. */
    int (*statvfs)(void *arg, const char *path, struct statvfs *out);
    void *arg;
} ward_alarm_hooks;

typedef struct ward_alarms ward_alarms;

/* Parses config (len bytes of JSON; NULL: every default, no sink) and starts the delivery
 * thread when a sink is configured. audit (may be NULL) receives the alarm records and must
 * stay open until ward_alarms_free. hooks may be NULL. */
ward_err ward_alarms_new(const char *config, size_t len, ward_audit *audit,
                         const ward_alarm_hooks *hooks, ward_alarms **out);
/* Stops the delivery thread: an attempt in flight finishes (bounded by its timeout), back-off
 * waits are cut short, undelivered alarms are dropped (counted). Use ward_alarms_drain first
 * for a graceful stop. NULL is allowed. */
void ward_alarms_free(ward_alarms *alarms);
/* Waits until every queued alarm has been delivered or given up, at most timeout_ms
 * (WARD_ERR_TIMEOUT). */
ward_err ward_alarms_drain(ward_alarms *alarms, uint32_t timeout_ms);

/* Events. actor, address and the subjects may be NULL (not counted for that key); strings are
 * at most 256 bytes (longer ones are cut). Errors only for bad arguments or when the alarm's
 * audit record could not be queued (the alarm is counted and delivered anyway). */
ward_err ward_alarms_auth_failure(ward_alarms *alarms, const char *actor, const char *address);
ward_err ward_alarms_attestation_failure(ward_alarms *alarms, const char *subject,
                                         const char *reason);
ward_err ward_alarms_ta_killed(ward_alarms *alarms, const char *ta, const char *reason);
ward_err ward_alarms_audit_verify_failed(ward_alarms *alarms, const ward_audit_report *report);
/* Checks the file system holding path (the node data directory). */
ward_err ward_alarms_check_disk(ward_alarms *alarms, const char *path);

/* The process-wide counter name (an alarm name or a delivery counter); 0 if never counted. */
uint64_t ward_alarm_count(const char *name);
/* Calls fn for every counter, in the order they were first counted. */
void ward_alarm_metrics_foreach(void (*fn)(void *arg, const char *name, uint64_t value),
                                void *arg);

#ifdef __cplusplus
}
#endif
#endif
