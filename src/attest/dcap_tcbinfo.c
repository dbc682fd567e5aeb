/* Intel DCAP verifier: the TCB Info (SGX or TDX, v2 or v3) and QE Identity (v2) JSON bodies, as
 * Intel's PCS v4 serves them, into plain structures. Their signatures are checked by the caller
 * before this runs; this checks every field it uses for type and range. Members not used are
 * ignored, so that Intel can add some. Levels are sorted highest first, as QVL does. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/dcap_internal.h"
#include "ward/encoding.h"
#include "ward/json.h"

/* ---- field readers -------------------------------------------------------------------------- */

static ward_err field_err(const char *doc, const char *key, const char *what)
{
    return ward_err_set(WARD_ERR_FORMAT, "%s: \"%s\" %s", doc, key, what);
}

static ward_err get_str(const json_t *o, const char *doc, const char *key, const char **s,
                        size_t *n)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return field_err(doc, key, "is missing");
    if (!json_is_string(v))
        return field_err(doc, key, "is not a string");
    *s = json_string_value(v);
    *n = json_string_length(v);
    return WARD_OK;
}

static ward_err get_uint(const json_t *o, const char *doc, const char *key, uint32_t max,
                         uint32_t *out)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return field_err(doc, key, "is missing");
    if (!json_is_integer(v))
        return field_err(doc, key, "is not an integer");
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max)
        return field_err(doc, key, "is out of range");
    *out = (uint32_t)x;
    return WARD_OK;
}

static ward_err get_hex(const json_t *o, const char *doc, const char *key, uint8_t *out,
                        size_t n)
{
    const char *s = NULL;
    size_t len = 0;
    ward_err err = get_str(o, doc, key, &s, &len);
    if (err)
        return err;
    if (len != 2 * n || ward_hex_decode_fixed(s, len, out, n) != WARD_OK)
        return ward_err_set(WARD_ERR_FORMAT, "%s: \"%s\" is not %zu bytes of hex", doc, key, n);
    return WARD_OK;
}

static ward_err get_time(const json_t *o, const char *doc, const char *key, int64_t *out)
{
    const char *s = NULL;
    size_t len = 0;
    ward_err err = get_str(o, doc, key, &s, &len);
    if (err)
        return err;
    char what[96];
    snprintf(what, sizeof what, "%s: \"%s\"", doc, key);
    return dcap_parse_time(s, len, what, out);
}

/* Statuses: for TCB levels every one of Intel's; for QE and module levels only UpToDate,
 * OutOfDate and Revoked. Anything else is WARD_TCB_UNKNOWN, refused only if it is selected. */
static ward_tcb_status parse_status(const char *s, int isv)
{
    static const struct {
        const char *name;
        ward_tcb_status st;
        int isv_ok;
    } T[] = {
        {"UpToDate", WARD_TCB_UP_TO_DATE, 1},
        {"SWHardeningNeeded", WARD_TCB_SW_HARDENING_NEEDED, 0},
        {"ConfigurationNeeded", WARD_TCB_CONFIGURATION_NEEDED, 0},
        {"ConfigurationAndSWHardeningNeeded", WARD_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED, 0},
        {"OutOfDate", WARD_TCB_OUT_OF_DATE, 1},
        {"OutOfDateConfigurationNeeded", WARD_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED, 0},
        {"Revoked", WARD_TCB_REVOKED, 1},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        if (strcmp(s, T[i].name) == 0)
            return (!isv || T[i].isv_ok) ? T[i].st : WARD_TCB_UNKNOWN;
    }
    return WARD_TCB_UNKNOWN;
}

static ward_err get_status(const json_t *lvl, const char *doc, int isv, ward_tcb_status *out)
{
    const char *s = NULL;
    size_t n = 0;
    ward_err err = get_str(lvl, doc, "tcbStatus", &s, &n);
    if (err)
        return err;
    *out = strlen(s) == n ? parse_status(s, isv) : WARD_TCB_UNKNOWN;
    return WARD_OK;
}

static ward_err get_advisories(const json_t *lvl, const char *doc, dcap_advisory **adv,
                               size_t *n_adv)
{
    *adv = NULL;
    *n_adv = 0;
    const json_t *a = json_object_get(lvl, "advisoryIDs");
    if (a == NULL)
        return WARD_OK;
    if (!json_is_array(a))
        return field_err(doc, "advisoryIDs", "is not an array");
    size_t n = json_array_size(a);
    if (n == 0)
        return WARD_OK;
    if (n > DCAP_MAX_ADVISORIES)
        return field_err(doc, "advisoryIDs", "has too many entries");
    dcap_advisory *list = calloc(n, sizeof *list);
    if (list == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", doc);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        size_t len = s != NULL ? json_string_length(v) : 0;
        if (s == NULL || len == 0 || len >= WARD_CLAIMS_ADVISORY_LEN || strlen(s) != len) {
            free(list);
            return field_err(doc, "advisoryIDs",
                             "holds something other than a short advisory ID string");
        }
        memcpy(list[i], s, len + 1);
    }
    *adv = list;
    *n_adv = n;
    return WARD_OK;
}

static const json_t *get_object(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_object(v) ? v : NULL;
}

/* ---- ISV levels (QE identity, TDX module identities) ----------------------------------------- */

static void isv_levels_free(dcap_isv_level *l, size_t n)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i].adv);
    free(l);
}

static int isv_cmp(const void *a, const void *b)
{
    const dcap_isv_level *x = a, *y = b;
    if (x->isvsvn != y->isvsvn)
        return x->isvsvn > y->isvsvn ? -1 : 1;
    return 0;
}

/* A stable sort (insertion; the lists are short) highest first. */
static void sort_isv(dcap_isv_level *l, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        dcap_isv_level t = l[i];
        size_t j = i;
        while (j > 0 && isv_cmp(&l[j - 1], &t) > 0) {
            l[j] = l[j - 1];
            j--;
        }
        l[j] = t;
    }
}

static ward_err parse_isv_levels(const json_t *o, const char *doc, dcap_isv_level **out,
                                 size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    const json_t *a = json_object_get(o, "tcbLevels");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return field_err(doc, "tcbLevels", "is not a non-empty array");
    size_t n = json_array_size(a);
    if (n > DCAP_MAX_TCB_LEVELS)
        return field_err(doc, "tcbLevels", "has too many entries");
    dcap_isv_level *l = calloc(n, sizeof *l);
    if (l == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", doc);
    ward_err err = WARD_OK;
    for (size_t i = 0; i < n && err == WARD_OK; i++) {
        const json_t *lvl = json_array_get(a, i);
        const json_t *tcb = json_is_object(lvl) ? get_object(lvl, "tcb") : NULL;
        uint32_t svn = 0;
        if (tcb == NULL) {
            err = field_err(doc, "tcbLevels", "holds an entry without a \"tcb\" object");
            break;
        }
        if ((err = get_uint(tcb, doc, "isvsvn", 65535, &svn)) != WARD_OK ||
            (err = get_time(lvl, doc, "tcbDate", &l[i].date)) != WARD_OK ||
            (err = get_status(lvl, doc, 1, &l[i].status)) != WARD_OK)
            break;
        l[i].isvsvn = (uint16_t)svn;
        err = get_advisories(lvl, doc, &l[i].adv, &l[i].n_adv);
    }
    if (err) {
        isv_levels_free(l, n);
        return err;
    }
    sort_isv(l, n);
    *out = l;
    *n_out = n;
    return WARD_OK;
}

/* ---- TCB Info ------------------------------------------------------------------------------- */

static void module_free(dcap_module_id *m)
{
    isv_levels_free(m->levels, m->n_levels);
    m->levels = NULL;
    m->n_levels = 0;
}

void dcap_tcb_info_free(dcap_tcb_info *t)
{
    if (t == NULL)
        return;
    if (t->levels != NULL) {
        for (size_t i = 0; i < t->n_levels; i++)
            free(t->levels[i].adv);
        free(t->levels);
    }
    if (t->mods != NULL) {
        for (size_t i = 0; i < t->n_mods; i++)
            module_free(&t->mods[i]);
        free(t->mods);
    }
    memset(t, 0, sizeof *t);
}

static ward_err parse_module(const json_t *o, const char *doc, int with_levels,
                             dcap_module_id *m)
{
    ward_err err;
    if ((err = get_hex(o, doc, "mrsigner", m->mrsigner, 48)) != WARD_OK ||
        (err = get_hex(o, doc, "attributes", m->attributes, 8)) != WARD_OK ||
        (err = get_hex(o, doc, "attributesMask", m->attributes_mask, 8)) != WARD_OK)
        return err;
    if (!with_levels)
        return WARD_OK;
    const char *id = NULL;
    size_t id_len = 0;
    if ((err = get_str(o, doc, "id", &id, &id_len)) != WARD_OK)
        return err;
    if (id_len == 0 || id_len >= sizeof m->id || strlen(id) != id_len)
        return field_err(doc, "id", "of a TDX module identity is not a short string");
    memcpy(m->id, id, id_len + 1);
    return parse_isv_levels(o, doc, &m->levels, &m->n_levels);
}

/* The 16 SGX component SVNs of a level: v3 "sgxtcbcomponents" (or "tdxtcbcomponents"), an array
 * of 16 objects with "svn"; v2 flat "sgxtcbcomp01svn".."sgxtcbcomp16svn". */
static ward_err get_components(const json_t *tcb, const char *doc, const char *key,
                               uint8_t out[16])
{
    const json_t *a = json_object_get(tcb, key);
    if (!json_is_array(a) || json_array_size(a) != 16)
        return field_err(doc, key, "is not an array of 16 components");
    for (size_t i = 0; i < 16; i++) {
        const json_t *c = json_array_get(a, i);
        uint32_t v = 0;
        if (!json_is_object(c))
            return field_err(doc, key, "holds a component that is not an object");
        ward_err err = get_uint(c, doc, "svn", 255, &v);
        if (err)
            return err;
        out[i] = (uint8_t)v;
    }
    return WARD_OK;
}

static ward_err get_components_v2(const json_t *tcb, const char *doc, uint8_t out[16])
{
    for (unsigned i = 0; i < 16; i++) {
        char key[32];
        snprintf(key, sizeof key, "sgxtcbcomp%02usvn", i + 1);
        uint32_t v = 0;
        ward_err err = get_uint(tcb, doc, key, 255, &v);
        if (err)
            return err;
        out[i] = (uint8_t)v;
    }
    return WARD_OK;
}

/* QVL's TcbLevel order: SGX components, then PCESVN, then TDX components; highest first. */
static int level_cmp(const dcap_tcb_level *x, const dcap_tcb_level *y)
{
    int c = memcmp(x->sgx, y->sgx, 16);
    if (c == 0)
        c = x->pcesvn == y->pcesvn ? 0 : (x->pcesvn < y->pcesvn ? -1 : 1);
    if (c == 0)
        c = memcmp(x->tdx, y->tdx, 16);
    if (c == 0)
        return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
    return c > 0 ? -1 : 1;
}

static int level_qsort_cmp(const void *a, const void *b)
{
    return level_cmp(a, b);
}

static ward_err parse_tcb_levels(const json_t *o, const char *doc, dcap_tcb_info *t)
{
    const json_t *a = json_object_get(o, "tcbLevels");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return field_err(doc, "tcbLevels", "is not a non-empty array");
    size_t n = json_array_size(a);
    if (n > DCAP_MAX_TCB_LEVELS)
        return field_err(doc, "tcbLevels", "has too many entries");
    t->levels = calloc(n, sizeof *t->levels);
    if (t->levels == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", doc);
    t->n_levels = n;
    for (size_t i = 0; i < n; i++) {
        dcap_tcb_level *l = &t->levels[i];
        l->index = i;
        const json_t *lvl = json_array_get(a, i);
        const json_t *tcb = json_is_object(lvl) ? get_object(lvl, "tcb") : NULL;
        if (tcb == NULL)
            return field_err(doc, "tcbLevels", "holds an entry without a \"tcb\" object");
        uint32_t pcesvn = 0;
        ward_err err = t->version >= 3 ? get_components(tcb, doc, "sgxtcbcomponents", l->sgx)
                                       : get_components_v2(tcb, doc, l->sgx);
        if (err == WARD_OK && t->is_tdx)
            err = get_components(tcb, doc, "tdxtcbcomponents", l->tdx);
        if (err == WARD_OK)
            err = get_uint(tcb, doc, "pcesvn", 65535, &pcesvn);
        if (err == WARD_OK)
            err = get_time(lvl, doc, "tcbDate", &l->date);
        if (err == WARD_OK)
            err = get_status(lvl, doc, 0, &l->status);
        if (err == WARD_OK)
            err = get_advisories(lvl, doc, &l->adv, &l->n_adv);
        if (err)
            return err;
        l->pcesvn = (uint16_t)pcesvn;
    }
    qsort(t->levels, n, sizeof *t->levels, level_qsort_cmp);
    return WARD_OK;
}

static ward_err parse_tdx_modules(const json_t *o, const char *doc, dcap_tcb_info *t)
{
    const json_t *m = get_object(o, "tdxModule");
    if (m == NULL)
        return field_err(doc, "tdxModule", "is missing (a TDX TCB Info needs it)");
    ward_err err = parse_module(m, doc, 0, &t->module);
    if (err)
        return err;
    t->has_module = 1;
    const json_t *ids = json_object_get(o, "tdxModuleIdentities");
    if (ids == NULL)
        return WARD_OK;
    if (!json_is_array(ids))
        return field_err(doc, "tdxModuleIdentities", "is not an array");
    size_t n = json_array_size(ids);
    if (n > DCAP_MAX_MODULE_IDS)
        return field_err(doc, "tdxModuleIdentities", "has too many entries");
    if (n == 0)
        return WARD_OK;
    t->mods = calloc(n, sizeof *t->mods);
    if (t->mods == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "%s: out of memory", doc);
    t->n_mods = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *mi = json_array_get(ids, i);
        if (!json_is_object(mi))
            return field_err(doc, "tdxModuleIdentities", "holds a non-object");
        err = parse_module(mi, doc, 1, &t->mods[i]);
        if (err)
            return err;
    }
    return WARD_OK;
}

ward_err dcap_tcb_info_parse(const char *text, size_t len, dcap_tcb_info *out)
{
    static const char doc[] = "TCB Info";
    memset(out, 0, sizeof *out);
    json_t *o = NULL;
    ward_err err = ward_json_parse(text, len, &o);
    if (err)
        return ward_err_wrap(err, "%s", doc);
    dcap_tcb_info t;
    memset(&t, 0, sizeof t);
    uint32_t u = 0;
    if (!json_is_object(o)) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: not a JSON object", doc);
        goto done;
    }
    if ((err = get_uint(o, doc, "version", 1000, &t.version)) != WARD_OK)
        goto done;
    if (t.version != 2 && t.version != 3) {
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: version %u (2 and 3 are supported)", doc,
                           (unsigned)t.version);
        goto done;
    }
    if (t.version >= 3) {
        const char *id = NULL;
        size_t id_len = 0;
        if ((err = get_str(o, doc, "id", &id, &id_len)) != WARD_OK)
            goto done;
        if (id_len == 3 && memcmp(id, "SGX", 3) == 0) {
            t.is_tdx = 0;
        } else if (id_len == 3 && memcmp(id, "TDX", 3) == 0) {
            t.is_tdx = 1;
        } else {
            err = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: id is neither \"SGX\" nor \"TDX\"",
                               doc);
            goto done;
        }
    }
    if ((err = get_time(o, doc, "issueDate", &t.issue_date)) != WARD_OK ||
        (err = get_time(o, doc, "nextUpdate", &t.next_update)) != WARD_OK ||
        (err = get_hex(o, doc, "fmspc", t.fmspc, 6)) != WARD_OK ||
        (err = get_hex(o, doc, "pceId", t.pceid, 2)) != WARD_OK ||
        (err = get_uint(o, doc, "tcbType", UINT32_MAX, &u)) != WARD_OK ||
        (err = get_uint(o, doc, "tcbEvaluationDataNumber", UINT32_MAX, &t.eval_number)) !=
            WARD_OK)
        goto done;
    if (u != 0) {
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: tcbType %u (only 0 is defined)", doc,
                           (unsigned)u);
        goto done;
    }
    if (t.next_update < t.issue_date) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: nextUpdate is before issueDate", doc);
        goto done;
    }
    if (t.is_tdx && (err = parse_tdx_modules(o, doc, &t)) != WARD_OK)
        goto done;
    err = parse_tcb_levels(o, doc, &t);
done:
    json_decref(o);
    if (err) {
        dcap_tcb_info_free(&t);
        return err;
    }
    *out = t;
    return WARD_OK;
}

/* ---- QE Identity ---------------------------------------------------------------------------- */

void dcap_qe_identity_free(dcap_qe_identity *q)
{
    if (q == NULL)
        return;
    isv_levels_free(q->levels, q->n_levels);
    memset(q, 0, sizeof *q);
}

ward_err dcap_qe_identity_parse(const char *text, size_t len, dcap_qe_identity *out)
{
    static const char doc[] = "QE Identity";
    memset(out, 0, sizeof *out);
    json_t *o = NULL;
    ward_err err = ward_json_parse(text, len, &o);
    if (err)
        return ward_err_wrap(err, "%s", doc);
    dcap_qe_identity q;
    memset(&q, 0, sizeof q);
    const char *id = NULL;
    size_t id_len = 0;
    uint8_t b4[4];
    uint32_t u = 0;
    if (!json_is_object(o)) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: not a JSON object", doc);
        goto done;
    }
    if ((err = get_uint(o, doc, "version", 1000, &q.version)) != WARD_OK ||
        (err = get_str(o, doc, "id", &id, &id_len)) != WARD_OK)
        goto done;
    if (q.version != 2) {
        err = ward_err_set(WARD_ERR_UNSUPPORTED, "%s: version %u (2 is supported)", doc,
                           (unsigned)q.version);
        goto done;
    }
    if (id_len == 2 && memcmp(id, "QE", 2) == 0) {
        q.is_td = 0;
    } else if (id_len == 5 && memcmp(id, "TD_QE", 5) == 0) {
        q.is_td = 1;
    } else {
        err = ward_err_set(WARD_ERR_UNSUPPORTED,
                           "%s: id is neither \"QE\" nor \"TD_QE\" (a QVE or other identity?)",
                           doc);
        goto done;
    }
    if ((err = get_time(o, doc, "issueDate", &q.issue_date)) != WARD_OK ||
        (err = get_time(o, doc, "nextUpdate", &q.next_update)) != WARD_OK ||
        (err = get_uint(o, doc, "tcbEvaluationDataNumber", UINT32_MAX, &q.eval_number)) !=
            WARD_OK ||
        (err = get_hex(o, doc, "miscselect", b4, 4)) != WARD_OK)
        goto done;
    /* Written as a big-endian hex number, as in Intel's samples ("00000000", "FFFFFFFF"). */
    q.miscselect = ((uint32_t)b4[0] << 24) | ((uint32_t)b4[1] << 16) | ((uint32_t)b4[2] << 8) |
                   b4[3];
    if ((err = get_hex(o, doc, "miscselectMask", b4, 4)) != WARD_OK)
        goto done;
    q.miscselect_mask = ((uint32_t)b4[0] << 24) | ((uint32_t)b4[1] << 16) |
                        ((uint32_t)b4[2] << 8) | b4[3];
    if ((err = get_hex(o, doc, "attributes", q.attributes, 16)) != WARD_OK ||
        (err = get_hex(o, doc, "attributesMask", q.attributes_mask, 16)) != WARD_OK ||
        (err = get_hex(o, doc, "mrsigner", q.mrsigner, 32)) != WARD_OK ||
        (err = get_uint(o, doc, "isvprodid", 65535, &u)) != WARD_OK)
        goto done;
    q.isvprodid = (uint16_t)u;
    if (q.next_update < q.issue_date) {
        err = ward_err_set(WARD_ERR_FORMAT, "%s: nextUpdate is before issueDate", doc);
        goto done;
    }
    err = parse_isv_levels(o, doc, &q.levels, &q.n_levels);
done:
    json_decref(o);
    if (err) {
        dcap_qe_identity_free(&q);
        return err;
    }
    *out = q;
    return WARD_OK;
}
