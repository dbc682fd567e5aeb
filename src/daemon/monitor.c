/* wardd's periodic checks (IEEE 2952 5.5.1: abnormal events raise alarms), on a timer of the
 * event loop, every --monitor-interval seconds (default 60):
 *  - the file system holding the data directory: disk.nearly_full at the threshold of the
 *    alarm configuration (--alarm-config; default 90 %);
 *  - the audit log, verified incrementally (ward_audit_verify_from: the records and
 *    checkpoints written since the last check); the first check, at start, walks the whole
 *    log. A failure raises audit.verify_failed once per distinct failure.
 * And the TEE's event hook: every TA lifecycle event becomes an audit record, and an instance
 * that ended abnormally (killed by the sandbox for a forbidden system call or a limit, killed
 * after a timeout, crashed) raises ta.killed. */
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/wardd.h"
#include "ward/alarm.h"
#include "ward/audit.h"
#include "ward/encoding.h"
#include "ward/err.h"
#include "ward/log.h"
#include "ward/tee.h"

static void check_audit(wardd *d)
{
    if (d->audit_pub == NULL)
        return;
    ward_audit_report rep;
    ward_err err = ward_audit_verify_from(d->data_dir, d->audit_pub, &d->audit_cursor, &rep);
    if (err == WARD_OK) {
        d->audit_alarmed_seq = 0;
        return;
    }
    if (err != WARD_ERR_VERIFY) {
        ward_log(WARD_LOG_WARN, "monitor.audit", "error", ward_errmsg(), (char *)NULL);
        return;
    }
    char seq[24];
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)rep.bad_seq);
    ward_log(WARD_LOG_ERROR, "monitor.audit_verify_failed", "bad_seq", seq, "problem",
             ward_audit_problem_name(rep.problem), "detail", rep.detail, (char *)NULL);
    /* The same failure is found at every check until someone repairs or investigates: one
     * alarm for it, not one per interval. bad_seq is never 0 for a record problem; a
     * metadata problem (0) is alarmed once as well. */
    uint64_t key = rep.bad_seq + 1;
    if (d->audit_alarmed_seq == key)
        return;
    d->audit_alarmed_seq = key;
    if (ward_alarms_audit_verify_failed(d->alarms, &rep) != WARD_OK)
        ward_log(WARD_LOG_WARN, "alarm.failed", "error", ward_errmsg(), (char *)NULL);
}

static void check_disk(wardd *d)
{
    if (ward_alarms_check_disk(d->alarms, d->data_dir) != WARD_OK)
        ward_log(WARD_LOG_WARN, "monitor.disk", "error", ward_errmsg(), (char *)NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wardd *d = arg;
    check_disk(d);
    check_audit(d);
}

int wardd_monitor_start(wardd *d)
{
    if (d->monitor_interval_s == 0)
        d->monitor_interval_s = 60;
    ward_err err = ward_cert_public_key(ward_rot_platform_cert(d->rot), &d->audit_pub);
    if (err != WARD_OK)
        return -1;
    /* The first check now, in full: a node should not start serving on a log that does not
     * verify without saying so. */
    on_tick(-1, 0, d);
    d->monitor = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    struct timeval tv = {(time_t)d->monitor_interval_s, 0};
    if (d->monitor == NULL || event_add(d->monitor, &tv) != 0)
        return -1;
    return 0;
}

void wardd_monitor_stop(wardd *d)
{
    if (d->monitor != NULL)
        event_free(d->monitor);
    d->monitor = NULL;
    ward_pkey_free(d->audit_pub);
    d->audit_pub = NULL;
}

void wardd_tee_event(void *arg, const struct ward_tee_event *ev)
{
    wardd *d = arg;
    if (d->audit != NULL)
        ward_audit_tee_event(d->audit, ev);
    if (ev->kind != WARD_TEE_EVENT_DESTROYED || ev->result == WARD_OK || d->alarms == NULL)
        return;
    /* Keyed by the TA's name (the rule counts per TA); the instance goes in the reason. */
    char id[33] = "-", why[640];
    if (ev->instance_id != NULL)
        for (size_t i = 0; i < 16; i++)
            snprintf(id + 2 * i, 3, "%02x", ev->instance_id[i]);
    snprintf(why, sizeof why, "instance %s: %s", id, ev->message != NULL ? ev->message : "");
    if (ward_alarms_ta_killed(d->alarms, ev->ta_name != NULL ? ev->ta_name : "?", why) !=
        WARD_OK)
        ward_log(WARD_LOG_WARN, "alarm.failed", "error", ward_errmsg(), (char *)NULL);
}
