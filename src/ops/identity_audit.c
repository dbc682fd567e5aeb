/* The identity database's events into Ward's audit log (include/ward/audit.h): the hook that
 * wardd installs with ward_identity_set_audit_hook(db, ward_identity_audit_to_log, audit). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ward/audit.h"
#include "ward/err.h"
#include "ward/identity.h"

ward_err ward_identity_audit_to_log(void *audit, const ward_identity_event *ev)
{
    if (audit == NULL || ev == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "identity audit: NULL argument");
    /* A permission check that fails is a denial; any other event that fails (an
     * authentication, a confirmation) is a failure. */
    ward_audit_outcome outcome = ev->success ? WARD_AUDIT_SUCCESS
                                 : strcmp(ev->action, "rbac.check") == 0 ? WARD_AUDIT_DENIED
                                                                        : WARD_AUDIT_FAILURE;
    json_t *d = json_object();
    if (d == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity audit: out of memory");
    int bad = 0;
    if (ev->reason && ev->reason[0])
        bad |= json_object_set_new(d, "reason", json_string(ev->reason));
    if (ev->source && ev->source[0])
        bad |= json_object_set_new(d, "source", json_string(ev->source));
    char *details = bad ? NULL : json_dumps(d, JSON_COMPACT);
    json_decref(d);
    if (details == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "identity audit: cannot make details");
    ward_audit_record rec = {
        .actor = ev->actor && ev->actor[0] ? ev->actor : "anonymous",
        .auth_method = ev->method && ev->method[0] ? ev->method : NULL,
        .action = ev->action,
        .object = ev->object,
        .outcome = outcome,
        .request_id = ev->request_id,
        .details = details,
    };
    /* Durable before the authentication's result is returned: fail closed. */
    ward_err err = ward_audit_append((ward_audit *)audit, &rec, NULL);
    free(details);
    return err;
}
