/* TEE lifecycle events into the audit log (IEEE 2952 5.5.4: every TA create/destroy and every
 * key release is an audit record). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "ward/audit.h"
#include "ward/encoding.h"
#include "ward/tee.h"

static const char *action_of(ward_tee_event_kind kind)
{
    switch (kind) {
    case WARD_TEE_EVENT_CREATED: return "ta.create";
    case WARD_TEE_EVENT_DESTROYED: return "ta.destroy";
    case WARD_TEE_EVENT_KEY_RELEASED: return "key.release";
    case WARD_TEE_EVENT_REPORT: return "ta.report";
    }
    return "ta.event";
}

void ward_audit_tee_event(void *arg, const struct ward_tee_event *ev)
{
    ward_audit *log = arg;
    if (log == NULL || ev == NULL)
        return;
    char *meas = NULL, *inst = NULL;
    if (ward_hex_encode(ev->measurement, 32, &meas, NULL) != WARD_OK)
        meas = NULL;
    if (ev->instance_id == NULL || ward_hex_encode(ev->instance_id, 16, &inst, NULL) != WARD_OK)
        inst = NULL;
    char object[160];
    snprintf(object, sizeof object, "%s/%s", ev->ta_name ? ev->ta_name : "?",
             inst ? inst : "-");
    json_t *d = json_pack("{s:s?, s:s, s:s?}", "measurement", meas, "result",
                          ward_err_name(ev->result), "reason",
                          ev->message != NULL && ev->message[0] != '\0' ? ev->message : NULL);
    char *details = d ? json_dumps(d, JSON_COMPACT) : NULL;
    ward_audit_record rec = {
        .actor = "node",
        .auth_method = "platform",
        .action = action_of(ev->kind),
        .object = object,
        .outcome = ev->result == WARD_OK ? WARD_AUDIT_SUCCESS : WARD_AUDIT_FAILURE,
        .request_id = NULL,
        .details = details,
    };
    /* The hook cannot fail the TA operation; a failed log puts the audit handle in its failed
     * state, which every later append and the daemon's checks report (fail closed there). */
    (void)ward_audit_append_async(log, &rec, NULL);
    free(details);
    json_decref(d);
    free(meas);
    free(inst);
}
