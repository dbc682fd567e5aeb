/* The shared core of the built-in TAs (builtin.h, docs/builtins.md). One task per instance:
 * init -> add_input ... -> run -> destroy. Everything secret (the task's X25519 key, its ECDSA
 * signing key, the stream state, every byte of plaintext, SQLite's whole heap) lives in this
 * process's secret heap and is wiped when freed: SQLite allocates through a wiping allocator. */
#include "builtin.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ward/crypto.h"
#include "ward/csv.h"
#include "ward/hpke.h"
#include "ward/report.h"
#include "ward/stream.h"
#include "ward/ta.h"
#include "ward/task.h"

enum { WB_NEW = 0, WB_READY, WB_DONE };

typedef struct wb_col {
    char *name;
    size_t name_len;
    bool nonempty; /* some value is not empty */
    bool is_int;   /* every non-empty value is a canonical 64-bit integer */
    bool is_real;  /* every non-empty value is a finite number */
} wb_col;

typedef struct wb_seg {
    struct wb_seg *next;
    size_t len;
    uint8_t data[];
} wb_seg;

typedef struct wb_input {
    char name[65];
    uint8_t aad[WARD_STREAM_MAX_AAD];
    size_t aad_len;
    uint8_t pt_sha256[WARD_SHA256_LEN];
    uint64_t records;
} wb_input;

static struct {
    int state;
    const char *function;
    bool infer;
    uint64_t max_input;
    uint8_t manifest_digest[WARD_SHA256_LEN];
    ward_task_manifest *manifest;           /* the verified, signed manifest */
    /* from the manifest, in its order: piece i of the result goes to recipient_pk[i] */
    uint8_t recipient_pk[WARD_TASK_MAX_RECIPIENTS][WARD_HPKE_PK_LEN];
    size_t n_recipients;
    uint8_t task_sk[WARD_HPKE_SK_LEN];
    uint8_t task_pk[WARD_HPKE_PK_LEN];
    ward_pkey *sign_key;
    sqlite3 *db;
    wb_input inputs[WB_MAX_TABLES];
    size_t n_inputs;
    /* the input being loaded */
    bool loading;
    wb_input cur;
    ward_stream *stream;
    ward_csv_reader *csv;
    ward_hash_ctx *hash;
    sqlite3_stmt *insert;
    wb_col *cols;
    size_t n_cols;
    wb_seg *segs, *segs_tail; /* the plaintext kept for the second pass (sql) */
    bool second_pass;
    uint64_t pt_bytes;
    ward_err cb_err;
} W;

static char last_msg[512];

ward_err wb_note(ward_err err)
{
    if (err != WARD_OK)
        snprintf(last_msg, sizeof last_msg, "%s: %s", ward_err_name(err), ward_errmsg());
    return err;
}

ward_err wb_last_error(char **message)
{
    *message = strdup(last_msg);
    return *message == NULL ? WARD_ERR_NOMEM : WARD_OK;
}

/* ---- SQLite: a wiping allocator, and a VFS that opens no file ------------------------------- */

#define WM_HDR 16u

static void *wm_malloc(int n)
{
    if (n <= 0 || (size_t)n > SIZE_MAX - WM_HDR)
        return NULL;
    size_t sz = (size_t)n;
    uint8_t *p = malloc(sz + WM_HDR);
    if (p == NULL)
        return NULL;
    memcpy(p, &sz, sizeof sz);
    return p + WM_HDR;
}

static size_t wm_usable(void *p)
{
    size_t sz;
    memcpy(&sz, (uint8_t *)p - WM_HDR, sizeof sz);
    return sz;
}

static void wm_free(void *p)
{
    if (p == NULL)
        return;
    uint8_t *b = (uint8_t *)p - WM_HDR;
    ward_wipe(b, wm_usable(p) + WM_HDR);
    free(b);
}

/* Through the heap's own realloc: the TA heap grows a block in place when it can (SQLite's
 * sorter doubles one large buffer; a copy would hold the old and the new one at once) and wipes
 * a block it moves away from, as it wipes every freed block. */
static void *wm_realloc(void *p, int n)
{
    if (p == NULL)
        return wm_malloc(n);
    if (n <= 0 || (size_t)n > SIZE_MAX - WM_HDR)
        return NULL;
    size_t old = wm_usable(p), sz = (size_t)n;
    if (sz < old)
        ward_wipe((uint8_t *)p + sz, old - sz);
    uint8_t *b = realloc((uint8_t *)p - WM_HDR, sz + WM_HDR);
    if (b == NULL)
        return NULL;
    memcpy(b, &sz, sizeof sz);
    return b + WM_HDR;
}

static int wm_size(void *p)
{
    return p == NULL ? 0 : (int)wm_usable(p);
}

static int wm_roundup(int n)
{
    return n > INT_MAX - 8 ? n : (n + 7) & ~7;
}

static int wm_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void wm_shutdown(void *arg)
{
    (void)arg;
}

static const sqlite3_mem_methods wiping_mem = {wm_malloc, wm_free,   wm_realloc, wm_size,
                                               wm_roundup, wm_init, wm_shutdown, NULL};

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    (void)vfs;
    (void)name;
    (void)flags;
    (void)out;
    f->pMethods = NULL;
    return SQLITE_CANTOPEN;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    (void)vfs;
    (void)name;
    (void)sync;
    return SQLITE_IOERR_DELETE;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *res)
{
    (void)vfs;
    (void)name;
    (void)flags;
    *res = 0;
    return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    if (n <= 0 || strlen(name) >= (size_t)n)
        return SQLITE_CANTOPEN;
    memcpy(out, name, strlen(name) + 1);
    return SQLITE_OK;
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    if (n <= 0)
        return 0;
    if (ward_random(out, (size_t)n) != WARD_OK)
        abort(); /* never run with a predictable PRNG */
    return n;
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    if (us < 0)
        us = 0;
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    return us;
}

static int vfs_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return SQLITE_ERROR;
    /* Julian day number in milliseconds */
    *out = (sqlite3_int64)210866760000000ll + (sqlite3_int64)ts.tv_sec * 1000 +
           (sqlite3_int64)(ts.tv_nsec / 1000000);
    return SQLITE_OK;
}

static int vfs_time(sqlite3_vfs *vfs, double *out)
{
    sqlite3_int64 ms = 0;
    int rc = vfs_time64(vfs, &ms);
    *out = (double)ms / 86400000.0;
    return rc;
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    if (n > 0)
        out[0] = '\0';
    return 0;
}

static sqlite3_vfs ward_vfs = {
    .iVersion = 2,
    .szOsFile = (int)sizeof(sqlite3_file),
    .mxPathname = 256,
    .zName = "ward-nofile",
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_full_pathname,
    .xRandomness = vfs_randomness,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_time,
    .xGetLastError = vfs_last_error,
    .xCurrentTimeInt64 = vfs_time64,
};

static bool sqlite_ready;

static ward_err sql_err(const char *what)
{
    return ward_err_set(WARD_ERR_FORMAT, "%s: %s", what,
                        W.db != NULL ? sqlite3_errmsg(W.db) : "no database");
}

static ward_err exec(const char *sql, const char *what)
{
    char *msg = NULL;
    int rc = sqlite3_exec(W.db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return WARD_OK;
    ward_err err = ward_err_set(rc == SQLITE_NOMEM ? WARD_ERR_NOMEM : WARD_ERR_FORMAT, "%s: %s",
                                what, msg != NULL ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return err;
}

static ward_err db_open(void)
{
    if (!sqlite_ready) {
        if (sqlite3_config(SQLITE_CONFIG_MALLOC, &wiping_mem) != SQLITE_OK ||
            sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
            return ward_err_set(WARD_ERR_STATE, "sqlite: cannot configure the allocator");
        if (sqlite3_initialize() != SQLITE_OK || sqlite3_vfs_register(&ward_vfs, 1) != SQLITE_OK)
            return ward_err_set(WARD_ERR_STATE, "sqlite: cannot initialise");
        sqlite_ready = true;
    }
    int rc = sqlite3_open_v2(":memory:", &W.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                             ward_vfs.zName);
    if (rc != SQLITE_OK)
        return sql_err("sqlite: open");
    int off = 0, on = 1;
    if (sqlite3_db_config(W.db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, &off) != SQLITE_OK ||
        sqlite3_db_config(W.db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) != SQLITE_OK ||
        sqlite3_db_config(W.db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &off) != SQLITE_OK ||
        /* "x" is an identifier, never a string literal: a misspelt column is an error */
        sqlite3_db_config(W.db, SQLITE_DBCONFIG_DQS_DML, 0, &off) != SQLITE_OK ||
        sqlite3_db_config(W.db, SQLITE_DBCONFIG_DQS_DDL, 0, &off) != SQLITE_OK ||
        sqlite3_enable_load_extension(W.db, 0) != SQLITE_OK)
        return sql_err("sqlite: configure");
    sqlite3_limit(W.db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_limit(W.db, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
    /* temporary tables and sorts stay in memory: the VFS opens no file */
    return exec("PRAGMA temp_store=MEMORY; PRAGMA journal_mode=MEMORY;", "sqlite: configure");
}

/* ---- init -------------------------------------------------------------------------------------- */

static ward_err dup_out(const void *p, size_t n, uint8_t **out, size_t *out_len)
{
    *out = malloc(n == 0 ? 1 : n);
    if (*out == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    memcpy(*out, p, n);
    *out_len = n;
    return WARD_OK;
}

static bool valid_table_name(const char *t);

static const char *fn_name(ward_task_fn fn)
{
    return fn == WARD_TASK_FN_SQL ? "sql" : fn == WARD_TASK_FN_PSI ? "psi" : "ta";
}

/* The envelope, checked inside the TA: nothing of it is taken on the host's word. */
static ward_err take_manifest(ward_task_fn fn, const char *envelope)
{
    if (envelope == NULL || envelope[0] == '\0')
        return ward_err_set(WARD_ERR_INVALID_ARG, "init: the signed task envelope is required");
    ward_task_manifest *m = NULL;
    ward_err err = ward_task_envelope_parse(envelope, strlen(envelope), &m);
    if (err != WARD_OK)
        return ward_err_wrap(err, "init");
    /* every participant must have signed, each signature over these very bytes; expiry is the
     * host's business (the TA has no trusted clock) */
    err = ward_task_verify_signatures(m);
    if (err != WARD_OK) {
        ward_task_manifest_free(m);
        return ward_err_wrap(err, "init");
    }
    if (ward_task_function(m) != fn) {
        err = ward_err_set(WARD_ERR_PERMISSION, "init: the manifest's function is %s, this TA "
                                                "is %s", fn_name(ward_task_function(m)),
                           fn_name(fn));
    } else if (ward_task_recipient_count(m) == 0 ||
               ward_task_recipient_count(m) > WARD_TASK_MAX_RECIPIENTS) {
        err = ward_err_set(WARD_ERR_LIMIT, "init: 1 .. %u recipients",
                           WARD_TASK_MAX_RECIPIENTS);
    } else if (ward_task_slot_count(m) == 0 || ward_task_slot_count(m) > WB_MAX_TABLES) {
        err = ward_err_set(WARD_ERR_LIMIT, "init: 1 .. %u slots", WB_MAX_TABLES);
    } else {
        W.n_recipients = ward_task_recipient_count(m);
        for (size_t i = 0; err == WARD_OK && i < W.n_recipients; i++)
            err = ward_task_recipient_x25519(m, i, W.recipient_pk[i]);
    }
    for (size_t i = 0; err == WARD_OK && i < ward_task_slot_count(m); i++) {
        ward_task_slot_desc sd;
        err = ward_task_slot_at(m, i, &sd);
        if (err == WARD_OK && !valid_table_name(sd.name))
            err = ward_err_set(WARD_ERR_INVALID_ARG,
                               "init: slot \"%s\" cannot name a table (no sqlite_ or ward_ "
                               "prefix)", sd.name);
    }
    if (err != WARD_OK) {
        ward_task_manifest_free(m);
        ward_wipe(W.recipient_pk, sizeof W.recipient_pk);
        W.n_recipients = 0;
        return err;
    }
    ward_task_manifest_digest(m, W.manifest_digest);
    W.manifest = m;
    return WARD_OK;
}

const ward_task_manifest *wb_manifest(void)
{
    return W.state == WB_READY ? W.manifest : NULL;
}

ward_err wb_init(ward_task_fn fn, bool infer, const char *envelope, uint64_t max_input,
                 uint8_t **task_pk, size_t *task_pk_len, uint8_t **sign_pk, size_t *sign_pk_len,
                 uint8_t **report, size_t *report_len, uint8_t **report_sig,
                 size_t *report_sig_len)
{
    if (W.state != WB_NEW)
        return ward_err_set(WARD_ERR_STATE, "init: the task is already initialised");
    /* jansson's hash seed from ward_random, not from a file the sandbox would refuse */
    size_t seed = 0;
    if (ward_random(&seed, sizeof seed) != WARD_OK)
        return ward_err_set(WARD_ERR_CRYPTO, "init: no randomness");
    json_object_seed(seed | 1u);
    W.function = fn_name(fn);
    W.infer = infer;
    W.max_input = max_input == 0 ? WB_DEFAULT_MAX_INPUT : max_input;
    ward_err err = take_manifest(fn, envelope);
    if (err != WARD_OK)
        return err;
    err = db_open();
    if (err == WARD_OK)
        err = ward_hpke_generate_keypair(W.task_sk, W.task_pk);
    if (err == WARD_OK)
        err = ward_pkey_generate(WARD_KEY_EC_P256, &W.sign_key);
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    uint8_t spki_hash[WARD_SHA256_LEN], rd[WARD_REPORT_DATA_LEN] = {0};
    uint8_t rep[WARD_REPORT_LEN], sig[WARD_REPORT_SIG_LEN];
    if (err == WARD_OK)
        err = ward_pkey_spki_der(W.sign_key, &spki, &spki_len);
    if (err == WARD_OK)
        err = ward_hash(WARD_HASH_SHA256, spki, spki_len, spki_hash);
    if (err == WARD_OK) {
        /* report_data = SHA-256(manifest_digest || task_pk || SHA-256(sign_pk SPKI)) || 0^32 */
        uint8_t bind[WARD_SHA256_LEN + WARD_HPKE_PK_LEN + WARD_SHA256_LEN];
        memcpy(bind, W.manifest_digest, WARD_SHA256_LEN);
        memcpy(bind + WARD_SHA256_LEN, W.task_pk, WARD_HPKE_PK_LEN);
        memcpy(bind + WARD_SHA256_LEN + WARD_HPKE_PK_LEN, spki_hash, WARD_SHA256_LEN);
        err = ward_hash(WARD_HASH_SHA256, bind, sizeof bind, rd);
    }
    if (err == WARD_OK)
        err = ward_ta_report(rd, rep, sig);
    if (err == WARD_OK)
        err = dup_out(W.task_pk, sizeof W.task_pk, task_pk, task_pk_len);
    if (err == WARD_OK)
        err = dup_out(spki, spki_len, sign_pk, sign_pk_len);
    if (err == WARD_OK)
        err = dup_out(rep, sizeof rep, report, report_len);
    if (err == WARD_OK)
        err = dup_out(sig, sizeof sig, report_sig, report_sig_len);
    free(spki);
    if (err != WARD_OK) {
        wb_destroy();
        W.state = WB_NEW;
        return err;
    }
    W.state = WB_READY;
    return WARD_OK;
}

/* ---- inputs ------------------------------------------------------------------------------------ */

ward_err wb_quote_ident(char *buf, size_t cap, const char *name)
{
    size_t len = strlen(buf);
    size_t need = 2;
    for (const char *p = name; *p != '\0'; p++)
        need += *p == '"' ? 2u : 1u;
    if (len >= cap || need >= cap - len)
        return ward_err_set(WARD_ERR_LIMIT, "an SQL statement is too long");
    char *o = buf + len;
    *o++ = '"';
    for (const char *p = name; *p != '\0'; p++) {
        *o++ = *p;
        if (*p == '"')
            *o++ = '"';
    }
    *o++ = '"';
    *o = '\0';
    return WARD_OK;
}

static bool valid_table_name(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 64 || !(isalpha((unsigned char)t[0]) || t[0] == '_'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)t[i]) || t[i] == '_'))
            return false;
    if (n >= 7 && strncasecmp(t, "sqlite_", 7) == 0)
        return false;
    if (strncasecmp(t, "ward_", 5) == 0)
        return false;
    return true;
}

/* -?(0|[1-9][0-9]*) within int64 */
static bool is_int64(const char *s, size_t n)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    size_t digits = n - i;
    if (digits == 0 || digits > 19)
        return false;
    if (s[i] == '0')
        return digits == 1 && !neg;
    for (size_t k = i; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return false;
    if (digits == 19) {
        const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(s + i, lim, 19) > 0)
            return false;
    }
    return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and finite */
static bool is_real(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return false;
    size_t i = 0;
    if (s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == st)
            return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == st)
            return false;
    }
    if (i != n)
        return false;
    return isfinite(strtod(s, NULL));
}

static void free_cols(void)
{
    for (size_t i = 0; i < W.n_cols; i++)
        free(W.cols[i].name);
    free(W.cols);
    W.cols = NULL;
    W.n_cols = 0;
}

static void free_segs(void)
{
    while (W.segs != NULL) {
        wb_seg *s = W.segs;
        W.segs = s->next;
        ward_wipe(s->data, s->len);
        free(s);
    }
    W.segs_tail = NULL;
}

static ward_err take_header(const char *const *fields, const size_t *lens, size_t n)
{
    W.cols = calloc(n, sizeof *W.cols);
    if (W.cols == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    W.n_cols = n;
    for (size_t i = 0; i < n; i++) {
        W.cols[i].name = strndup(fields[i], lens[i]);
        if (W.cols[i].name == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "out of memory");
        W.cols[i].name_len = lens[i];
        W.cols[i].is_int = W.cols[i].is_real = true;
    }
    return WARD_OK;
}

static int col_type(const wb_col *c)
{
    if (!W.infer || !c->nonempty)
        return SQLITE_TEXT;
    return c->is_int ? SQLITE_INTEGER : c->is_real ? SQLITE_FLOAT : SQLITE_TEXT;
}

/* Creates the input's STRICT table with the columns' types (all known by now) and prepares the
 * insert into it. */
static ward_err create_table(void)
{
    size_t cap = 256 + W.n_cols * 16;
    for (size_t i = 0; i < W.n_cols; i++)
        cap += 2 * W.cols[i].name_len + 2;
    char *sql = calloc(1, cap);
    if (sql == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "out of memory");
    strcpy(sql, "CREATE TABLE ");
    ward_err err = wb_quote_ident(sql, cap, W.cur.name);
    size_t len = strlen(sql);
    snprintf(sql + len, cap - len, "(");
    for (size_t i = 0; i < W.n_cols && err == WARD_OK; i++) {
        len = strlen(sql);
        snprintf(sql + len, cap - len, "%s", i ? "," : "");
        err = wb_quote_ident(sql, cap, W.cols[i].name);
        int t = col_type(&W.cols[i]);
        len = strlen(sql);
        snprintf(sql + len, cap - len, " %s", t == SQLITE_INTEGER ? "INTEGER"
                                              : t == SQLITE_FLOAT ? "REAL"
                                                                  : "TEXT");
    }
    len = strlen(sql);
    snprintf(sql + len, cap - len, ") STRICT");
    if (err == WARD_OK)
        err = exec(sql, "load: create the table");
    if (err == WARD_OK) {
        strcpy(sql, "INSERT INTO ");
        err = wb_quote_ident(sql, cap, W.cur.name);
    }
    if (err == WARD_OK) {
        len = strlen(sql);
        snprintf(sql + len, cap - len, " VALUES(");
        for (size_t i = 0; i < W.n_cols; i++) {
            len = strlen(sql);
            snprintf(sql + len, cap - len, "%s?", i ? "," : "");
        }
        len = strlen(sql);
        snprintf(sql + len, cap - len, ")");
        if (sqlite3_prepare_v3(W.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &W.insert, NULL) !=
            SQLITE_OK)
            err = sql_err("load: prepare the insert");
    }
    free(sql);
    return err;
}

/* A canonical integer (checked by is_int64 in the first pass) to its value. */
static int64_t int_value(const char *s, size_t n)
{
    bool neg = n > 0 && s[0] == '-';
    uint64_t v = 0;
    for (size_t i = neg ? 1 : 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    return neg ? (int64_t)(0 - v) : (int64_t)v;
}

static ward_err insert_row(uint64_t index, const char *const *fields, const size_t *lens,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (lens[i] > INT_MAX)
            return ward_err_set(WARD_ERR_LIMIT, "load: a field is too long");
        int t = col_type(&W.cols[i]);
        if (t != SQLITE_TEXT && lens[i] == 0)
            rc = sqlite3_bind_null(W.insert, (int)i + 1);
        else if (t == SQLITE_INTEGER)
            rc = sqlite3_bind_int64(W.insert, (int)i + 1, int_value(fields[i], lens[i]));
        else /* TEXT exactly as sent; REAL converted by the column as CAST would */
            rc = sqlite3_bind_text(W.insert, (int)i + 1, fields[i], (int)lens[i], SQLITE_STATIC);
        if (rc != SQLITE_OK)
            return sql_err("load: bind");
    }
    int rc = sqlite3_step(W.insert);
    sqlite3_reset(W.insert);
    if (rc != SQLITE_DONE)
        return rc == SQLITE_NOMEM || rc == SQLITE_FULL
                   ? ward_err_set(WARD_ERR_NOMEM, "load: out of memory at record %llu",
                                  (unsigned long long)index)
                   : sql_err("load: insert");
    return WARD_OK;
}

/* Column types need the whole column, and a text column keeps its exact bytes, so an input
 * whose types are inferred (sql) is read twice: the first pass, as it is decrypted, checks the
 * CSV and infers the types while the plaintext is kept in the secret heap; the second inserts
 * each record once, typed, into the final table and frees the plaintext as it goes. Without
 * inference (psi: every column TEXT) the table exists after the header and one pass inserts. */
static ward_err on_record(void *arg, uint64_t index, const char *const *fields,
                          const size_t *lens, size_t n)
{
    (void)arg;
    if (index == 0) {
        if (W.second_pass)
            return WARD_OK; /* the same header, read again */
        ward_err err = take_header(fields, lens, n);
        if (err == WARD_OK && !W.infer)
            err = create_table();
        return err;
    }
    if (W.insert != NULL)
        return insert_row(index, fields, lens, n);
    for (size_t i = 0; i < n; i++) {
        if (lens[i] == 0)
            continue;
        wb_col *c = &W.cols[i];
        c->nonempty = true;
        if (c->is_int && !is_int64(fields[i], lens[i]))
            c->is_int = false;
        if (c->is_real && !c->is_int && !is_real(fields[i], lens[i]))
            c->is_real = false;
    }
    return WARD_OK;
}

/* After the first pass over a typed input: the table, then the second pass. */
static ward_err load_second_pass(void)
{
    ward_err err = create_table();
    ward_csv_limits lim = {.max_bytes = W.max_input};
    ward_csv_reader_free(W.csv);
    W.csv = NULL;
    W.second_pass = true;
    if (err == WARD_OK)
        err = ward_csv_reader_new(&lim, on_record, NULL, &W.csv);
    while (err == WARD_OK && W.segs != NULL) {
        wb_seg *s = W.segs;
        err = ward_csv_reader_feed(W.csv, s->data, s->len);
        W.segs = s->next;
        ward_wipe(s->data, s->len);
        free(s);
    }
    if (W.segs == NULL)
        W.segs_tail = NULL;
    if (err == WARD_OK)
        err = ward_csv_reader_finish(W.csv);
    return err;
}

static void abort_input(void)
{
    if (W.insert != NULL) {
        sqlite3_finalize(W.insert);
        W.insert = NULL;
    }
    if (W.db != NULL && !sqlite3_get_autocommit(W.db))
        sqlite3_exec(W.db, "ROLLBACK", NULL, NULL, NULL);
    ward_stream_free(W.stream);
    W.stream = NULL;
    ward_csv_reader_free(W.csv);
    W.csv = NULL;
    ward_hash_free(W.hash);
    W.hash = NULL;
    free_cols();
    free_segs();
    W.second_pass = false;
    ward_wipe(&W.cur, sizeof W.cur);
    W.loading = false;
    W.pt_bytes = 0;
}

static ward_err start_input(const char *slot)
{
    if (slot == NULL || ward_task_slot_find(W.manifest, slot, NULL) != WARD_OK)
        return ward_err_set(WARD_ERR_NOT_FOUND, "add_input: slot \"%.64s\" is not in the "
                                                "manifest", slot != NULL ? slot : "");
    for (size_t i = 0; i < W.n_inputs; i++)
        if (strcmp(W.inputs[i].name, slot) == 0)
            return ward_err_set(WARD_ERR_EXISTS, "add_input: slot %s is already loaded", slot);
    if (W.n_inputs == WB_MAX_TABLES)
        return ward_err_set(WARD_ERR_LIMIT, "add_input: at most %u inputs", WB_MAX_TABLES);
    memset(&W.cur, 0, sizeof W.cur);
    snprintf(W.cur.name, sizeof W.cur.name, "%s", slot);
    /* the associated data comes from the manifest: "ward-task-input-v1/<task_id>/<slot>" */
    char aad[WARD_TASK_AAD_MAX];
    size_t aad_len = 0;
    ward_err err = ward_task_slot_aad(W.manifest, slot, aad, sizeof aad, &aad_len);
    if (err != WARD_OK)
        return err;
    if (aad_len > WARD_STREAM_MAX_AAD)
        return ward_err_set(WARD_ERR_INVALID_ARG, "add_input: associated data too long");
    memcpy(W.cur.aad, aad, aad_len);
    W.cur.aad_len = aad_len;
    W.loading = true;
    ward_csv_limits lim = {.max_bytes = W.max_input};
    err = ward_stream_decrypt_init(W.task_sk, W.cur.aad, aad_len, &W.stream);
    if (err == WARD_OK)
        err = ward_csv_reader_new(&lim, on_record, NULL, &W.csv);
    if (err == WARD_OK)
        err = ward_hash_new(WARD_HASH_SHA256, &W.hash);
    if (err == WARD_OK)
        err = exec("BEGIN", "load: begin");
    return err;
}

static ward_err feed_plain(const uint8_t *pt, size_t n)
{
    if (n == 0)
        return WARD_OK;
    if (n > W.max_input - W.pt_bytes)
        return ward_err_set(WARD_ERR_LIMIT, "add_input: input %s exceeds %llu bytes",
                            W.cur.name, (unsigned long long)W.max_input);
    W.pt_bytes += n;
    ward_err err = ward_hash_update(W.hash, pt, n);
    if (err == WARD_OK)
        err = ward_csv_reader_feed(W.csv, pt, n);
    if (err == WARD_OK && W.infer) {
        wb_seg *s = malloc(sizeof *s + n);
        if (s == NULL)
            return ward_err_set(WARD_ERR_NOMEM, "add_input: out of memory keeping input %s",
                                W.cur.name);
        s->next = NULL;
        s->len = n;
        memcpy(s->data, pt, n);
        if (W.segs_tail != NULL)
            W.segs_tail->next = s;
        else
            W.segs = s;
        W.segs_tail = s;
    }
    return err;
}

ward_err wb_add_input(const char *slot, const uint8_t *chunk, size_t chunk_len, bool last)
{
    if (W.state != WB_READY)
        return ward_err_set(WARD_ERR_STATE, "add_input: the task is not ready (init first; no "
                                            "input after run)");
    ward_err err = WARD_OK;
    if (!W.loading) {
        err = start_input(slot);
    } else if (slot == NULL || strcmp(slot, W.cur.name) != 0) {
        /* the input being loaded is abandoned: one input at a time */
        err = ward_err_set(WARD_ERR_STATE,
                           "add_input: input %s is being loaded; another input started before "
                           "its last chunk (both dropped)",
                           W.cur.name);
    }
    size_t cap = 0, n = 0;
    uint8_t *pt = NULL;
    if (err == WARD_OK) {
        cap = ward_stream_update_bound(W.stream, chunk_len);
        size_t fcap = ward_stream_update_bound(W.stream, 0);
        if (fcap > cap)
            cap = fcap;
        pt = malloc(cap == 0 ? 1 : cap);
        if (pt == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    if (err == WARD_OK)
        err = ward_stream_decrypt_update(W.stream, chunk, chunk_len, pt, cap, &n);
    if (err == WARD_OK)
        err = feed_plain(pt, n);
    if (err == WARD_OK && last) {
        err = ward_stream_decrypt_final(W.stream, pt, cap, &n);
        if (err == WARD_OK)
            err = feed_plain(pt, n);
        if (err == WARD_OK)
            err = ward_csv_reader_finish(W.csv);
        if (err == WARD_OK)
            W.cur.records = ward_csv_reader_records(W.csv);
        if (err == WARD_OK && W.infer)
            err = load_second_pass();
        if (err == WARD_OK) {
            sqlite3_finalize(W.insert);
            W.insert = NULL;
            err = exec("COMMIT", "load: commit");
        }
        if (err == WARD_OK)
            err = ward_hash_final(W.hash, W.cur.pt_sha256);
        if (err == WARD_OK) {
            ward_hash_free(W.hash);
            W.hash = NULL;
            W.inputs[W.n_inputs++] = W.cur;
            ward_stream_free(W.stream);
            W.stream = NULL;
            ward_csv_reader_free(W.csv);
            W.csv = NULL;
            free_cols();
            W.second_pass = false;
            ward_wipe(&W.cur, sizeof W.cur);
            W.loading = false;
            W.pt_bytes = 0;
        }
    }
    if (pt != NULL) {
        ward_wipe(pt, cap);
        free(pt);
    }
    if (err != WARD_OK && W.loading) {
        char name[65];
        snprintf(name, sizeof name, "%s", W.cur.name);
        abort_input();
        ward_err_wrap(err, "input %s refused", name);
    }
    return err;
}

size_t wb_table_count(void)
{
    return W.manifest != NULL ? ward_task_slot_count(W.manifest) : 0;
}

const char *wb_table_name(size_t i)
{
    ward_task_slot_desc sd;
    if (W.manifest == NULL || ward_task_slot_at(W.manifest, i, &sd) != WARD_OK)
        return NULL;
    return sd.name;
}

/* The loaded input of slot i of the manifest, or NULL. */
static const wb_input *input_of_slot(size_t i)
{
    const char *name = wb_table_name(i);
    for (size_t k = 0; name != NULL && k < W.n_inputs; k++)
        if (strcmp(W.inputs[k].name, name) == 0)
            return &W.inputs[k];
    return NULL;
}

/* ---- the query ------------------------------------------------------------------------------- */

static bool auth_denied;

static int deny(void)
{
    auth_denied = true;
    return SQLITE_DENY;
}

static int authorizer(void *arg, int action, const char *a1, const char *a2, const char *db,
                      const char *trigger)
{
    (void)arg;
    (void)a1;
    (void)db;
    (void)trigger;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_FUNCTION:
        /* a2 is the function name */
        if (a2 == NULL || strcasecmp(a2, "load_extension") == 0 ||
            strcasecmp(a2, "fts3_tokenizer") == 0 || strcasecmp(a2, "readfile") == 0 ||
            strcasecmp(a2, "writefile") == 0 || strcasecmp(a2, "edit") == 0)
            return deny();
        return SQLITE_OK;
    case SQLITE_PRAGMA: /* pragma_* table-valued functions too: none is needed */
    default:
        /* writes, schema changes, ATTACH/DETACH, transactions, ANALYZE, ... */
        return deny();
    }
}

static bool starts_with_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    if (strncasecmp(s, word, n) != 0)
        return false;
    unsigned char c = (unsigned char)s[n];
    return !(isalnum(c) || c == '_' || c >= 0x80);
}

static ward_err prepare_query(const char *query, sqlite3_stmt **out)
{
    *out = NULL;
    size_t qlen = strlen(query);
    if (qlen == 0 || qlen > WB_MAX_QUERY)
        return ward_err_set(WARD_ERR_INVALID_ARG, "run: the query is empty or longer than %u "
                                                  "bytes", WB_MAX_QUERY);
    const char *s = query;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (!starts_with_word(s, "SELECT") && !starts_with_word(s, "WITH"))
        return ward_err_set(WARD_ERR_PERMISSION,
                            "run: the query must be one SELECT or WITH statement");
    auth_denied = false;
    sqlite3_set_authorizer(W.db, authorizer, NULL);
    const char *tail = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(W.db, query, (int)qlen, 0, &st, &tail);
    if (rc != SQLITE_OK) {
        ward_err err = ward_err_set(rc == SQLITE_AUTH || auth_denied ? WARD_ERR_PERMISSION : WARD_ERR_FORMAT,
                                    "run: the query is refused: %s", sqlite3_errmsg(W.db));
        sqlite3_finalize(st);
        return err;
    }
    if (st == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "run: the query holds no statement");
    for (const char *t = tail; t != NULL && *t != '\0'; t++) {
        if (!(*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r' || *t == ';')) {
            sqlite3_finalize(st);
            return ward_err_set(WARD_ERR_PERMISSION, "run: only one statement is allowed");
        }
    }
    if (!sqlite3_stmt_readonly(st) || sqlite3_stmt_isexplain(st) != 0) {
        sqlite3_finalize(st);
        return ward_err_set(WARD_ERR_PERMISSION, "run: the query is not read-only");
    }
    *out = st;
    return WARD_OK;
}

static const char HEX[] = "0123456789abcdef";

/* The result on its way out: CSV records gather in a writer of at most WB_PIECE-odd bytes,
 * which is then hashed, counted, encrypted once per recipient and handed to the host, so that
 * the TA never holds more than about one piece of the result whatever its size (and however
 * many recipients). */
typedef struct wb_out {
    wb_sink sink;
    ward_stream *s[WARD_TASK_MAX_RECIPIENTS]; /* one stream, one data key, per recipient */
    size_t n;
    ward_hash_ctx *h;
    ward_csv_writer *w;
    uint8_t *ct; /* one piece of ciphertext */
    size_t ct_cap;
    uint64_t pt_len, max;
} wb_out;

static ward_err too_large(const wb_out *o)
{
    return ward_err_set(WARD_ERR_LIMIT, "run: the result is larger than the %llu bytes of CSV "
                                        "this node allows",
                        (unsigned long long)o->max);
}

static ward_err out_writer(wb_out *o)
{
    uint64_t left = o->max - o->pt_len;
    /* A record is at least CRLF: a 1-byte budget refuses the next one with WARD_ERR_LIMIT. */
    size_t cap = left == 0 ? 1 : left > SIZE_MAX ? SIZE_MAX : (size_t)left;
    return ward_csv_writer_new(cap, &o->w);
}

static ward_err out_emit(wb_out *o, size_t recipient, const uint8_t *p, size_t n)
{
    ward_err err = n == 0 ? WARD_OK : o->sink((uint32_t)recipient, p, n);
    if (err != WARD_OK)
        return ward_err_set(err, "run: the host did not take a piece of the encrypted result "
                                 "(%s)", ward_err_name(err));
    return WARD_OK;
}

static ward_err out_flush(wb_out *o)
{
    size_t len = 0;
    const uint8_t *p = ward_csv_writer_data(o->w, &len);
    ward_err err = len > 0 ? ward_hash_update(o->h, p, len) : WARD_OK;
    o->pt_len += len;
    for (size_t off = 0; err == WARD_OK && off < len;) {
        size_t n = len - off < WB_PIECE ? len - off : WB_PIECE;
        for (size_t r = 0; err == WARD_OK && r < o->n; r++) {
            size_t cl = 0;
            err = ward_stream_encrypt_update(o->s[r], p + off, n, o->ct, o->ct_cap, &cl);
            if (err == WARD_OK)
                err = out_emit(o, r, o->ct, cl);
        }
        off += n;
    }
    ward_csv_writer_free(o->w);
    o->w = NULL;
    return err == WARD_OK ? out_writer(o) : err;
}

static ward_err out_record(wb_out *o, const char *const *f, const size_t *l, size_t n)
{
    ward_err err = ward_csv_writer_record(o->w, f, l, n);
    if (err == WARD_ERR_LIMIT)
        return too_large(o);
    size_t len = 0;
    (void)ward_csv_writer_data(o->w, &len);
    return err == WARD_OK && len >= WB_PIECE ? out_flush(o) : err;
}

static ward_err result_csv(sqlite3_stmt *st, wb_out *o)
{
    int ncol = sqlite3_column_count(st);
    if (ncol <= 0)
        return ward_err_set(WARD_ERR_INVALID_ARG, "run: the query returns no columns");
    size_t n = (size_t)ncol;
    const char **f = calloc(n, sizeof *f);
    size_t *l = calloc(n, sizeof *l);
    char **own = calloc(n, sizeof *own);
    ward_err err = WARD_OK;
    if (f == NULL || l == NULL || own == NULL)
        err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && err == WARD_OK; i++) {
        f[i] = sqlite3_column_name(st, (int)i);
        if (f[i] == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
        else
            l[i] = strlen(f[i]);
    }
    if (err == WARD_OK)
        err = out_record(o, f, l, n);
    while (err == WARD_OK) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            err = ward_err_set(rc == SQLITE_NOMEM ? WARD_ERR_NOMEM : WARD_ERR_FORMAT,
                               "run: the query failed: %s", sqlite3_errmsg(W.db));
            break;
        }
        char num[64];
        for (size_t i = 0; i < n && err == WARD_OK; i++) {
            int c = (int)i;
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL:
                f[i] = NULL;
                l[i] = 0;
                break;
            case SQLITE_INTEGER:
            case SQLITE_FLOAT: {
                if (sqlite3_column_type(st, c) == SQLITE_INTEGER)
                    snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, c));
                else
                    snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, c));
                if (own[i] != NULL) {
                    ward_wipe(own[i], strlen(own[i]));
                    free(own[i]);
                }
                l[i] = strlen(num);
                own[i] = strdup(num);
                ward_wipe(num, sizeof num);
                if (own[i] == NULL)
                    err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                f[i] = own[i];
                break;
            }
            case SQLITE_TEXT:
                f[i] = (const char *)sqlite3_column_text(st, c);
                l[i] = (size_t)sqlite3_column_bytes(st, c);
                if (f[i] == NULL)
                    err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                break;
            default: { /* BLOB: lower-case hex */
                const uint8_t *b = sqlite3_column_blob(st, c);
                size_t bl = (size_t)sqlite3_column_bytes(st, c);
                if ((uint64_t)bl > o->max / 2) {
                    err = too_large(o);
                    break;
                }
                if (own[i] != NULL) {
                    ward_wipe(own[i], strlen(own[i]));
                    free(own[i]);
                }
                own[i] = malloc(2 * bl + 1);
                if (own[i] == NULL) {
                    err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
                    break;
                }
                for (size_t k = 0; k < bl; k++) {
                    own[i][2 * k] = HEX[b[k] >> 4];
                    own[i][2 * k + 1] = HEX[b[k] & 15];
                }
                own[i][2 * bl] = '\0';
                f[i] = own[i];
                l[i] = 2 * bl;
            }
            }
        }
        if (err == WARD_OK)
            err = out_record(o, f, l, n);
    }
    for (size_t i = 0; own != NULL && i < n; i++) {
        if (own[i] != NULL) {
            ward_wipe(own[i], strlen(own[i]));
            free(own[i]);
        }
    }
    free(own);
    free(f);
    free(l);
    return err;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* SHA-256 over every input in the manifest's slot order: u32le name length, name, u32le aad
 * length, aad, SHA-256 of the plaintext, u64le records. */
static ward_err inputs_digest(uint8_t out[WARD_SHA256_LEN])
{
    ward_hash_ctx *h = NULL;
    ward_err err = ward_hash_new(WARD_HASH_SHA256, &h);
    size_t ns = wb_table_count();
    for (size_t i = 0; i < ns && err == WARD_OK; i++) {
        const wb_input *in = input_of_slot(i);
        if (in == NULL) {
            err = ward_err_set(WARD_ERR_STATE, "run: slot %zu has no input", i);
            break;
        }
        uint8_t b[8];
        size_t nl = strlen(in->name);
        put_u32(b, (uint32_t)nl);
        err = ward_hash_update(h, b, 4);
        if (err == WARD_OK)
            err = ward_hash_update(h, in->name, nl);
        put_u32(b, (uint32_t)in->aad_len);
        if (err == WARD_OK)
            err = ward_hash_update(h, b, 4);
        if (err == WARD_OK && in->aad_len > 0)
            err = ward_hash_update(h, in->aad, in->aad_len);
        if (err == WARD_OK)
            err = ward_hash_update(h, in->pt_sha256, WARD_SHA256_LEN);
        put_u64(b, in->records);
        if (err == WARD_OK)
            err = ward_hash_update(h, b, 8);
    }
    if (err == WARD_OK)
        err = ward_hash_final(h, out);
    ward_hash_free(h);
    return err;
}

ward_err wb_check_inputs(void)
{
    if (W.state != WB_READY || W.loading)
        return ward_err_set(WARD_ERR_STATE, "run: the task is not ready (an input is still "
                                            "being loaded, or run already happened)");
    /* every slot of the manifest, none left out by the host */
    for (size_t i = 0; i < wb_table_count(); i++)
        if (input_of_slot(i) == NULL)
            return ward_err_set(WARD_ERR_STATE, "run: no input loaded for slot %s (every slot "
                                                "of the manifest is needed)", wb_table_name(i));
    return WARD_OK;
}

/* For every recipient, in the manifest's order: header, the CSV as it is produced, and the
 * last chunk, its whole encrypted stream. Each stream has its own data key wrapped to its
 * recipient's key, and all take the manifest digest as associated data. */
static ward_err result_stream(sqlite3_stmt *st, wb_out *o)
{
    ward_err err = WARD_OK;
    for (size_t r = 0; err == WARD_OK && r < W.n_recipients; r++) {
        err = ward_stream_encrypt_init(W.recipient_pk[r], 0, W.manifest_digest,
                                       WARD_SHA256_LEN, &o->s[r]);
        if (err == WARD_OK)
            o->n = r + 1;
    }
    if (err == WARD_OK && o->n == 0)
        err = ward_err_set(WARD_ERR_STATE, "run: no recipient");
    if (err == WARD_OK)
        err = ward_hash_new(WARD_HASH_SHA256, &o->h);
    if (err == WARD_OK) {
        /* the same suite and chunking for every stream: one bound fits them all */
        o->ct_cap = ward_stream_update_bound(o->s[0], WB_PIECE);
        size_t fcap = ward_stream_update_bound(o->s[0], 0);
        if (fcap > o->ct_cap)
            o->ct_cap = fcap;
        o->ct = malloc(o->ct_cap);
        if (o->ct == NULL)
            err = ward_err_set(WARD_ERR_NOMEM, "out of memory");
    }
    if (err == WARD_OK)
        err = out_writer(o);
    for (size_t r = 0; err == WARD_OK && r < o->n; r++) {
        const uint8_t *hdr = NULL;
        size_t hl = 0;
        err = ward_stream_header(o->s[r], &hdr, &hl);
        if (err == WARD_OK)
            err = out_emit(o, r, hdr, hl);
    }
    if (err == WARD_OK)
        err = result_csv(st, o);
    if (err == WARD_OK)
        err = out_flush(o);
    for (size_t r = 0; err == WARD_OK && r < o->n; r++) {
        size_t cl = 0;
        err = ward_stream_encrypt_final(o->s[r], o->ct, o->ct_cap, &cl);
        if (err == WARD_OK)
            err = out_emit(o, r, o->ct, cl);
    }
    return err;
}

ward_err wb_run(const char *query, const char *params, uint64_t max_result, wb_sink sink,
                uint8_t **statement, size_t *statement_len, uint8_t **result_sig,
                size_t *result_sig_len)
{
    *statement = *result_sig = NULL;
    *statement_len = *result_sig_len = 0;
    ward_err err0 = wb_check_inputs();
    if (err0 != WARD_OK)
        return err0;
    if (sink == NULL)
        return ward_err_set(WARD_ERR_INVALID_ARG, "run: no result sink");
    wb_out o;
    memset(&o, 0, sizeof o);
    o.sink = sink;
    o.max = max_result != 0 ? max_result : WB_DEFAULT_MAX_RESULT;
    sqlite3_stmt *st = NULL;
    ward_err err = prepare_query(query, &st);
    if (err == WARD_OK)
        err = result_stream(st, &o);
    sqlite3_finalize(st);
    sqlite3_set_authorizer(W.db, NULL, NULL);
    /* statement = magic NUL | u8 len | function | manifest_digest | SHA-256(params) |
     *             inputs digest | SHA-256(result CSV) | u64le result length */
    uint8_t stmt[sizeof WB_STATEMENT_MAGIC + 1 + 16 + 4 * WARD_SHA256_LEN + 8];
    size_t sl = 0;
    size_t fl = strlen(W.function);
    if (err == WARD_OK && fl > 16)
        err = ward_err_set(WARD_ERR_STATE, "run: function name too long");
    if (err == WARD_OK) {
        memcpy(stmt, WB_STATEMENT_MAGIC, sizeof WB_STATEMENT_MAGIC); /* with its NUL */
        sl = sizeof WB_STATEMENT_MAGIC;
        stmt[sl++] = (uint8_t)fl;
        memcpy(stmt + sl, W.function, fl);
        sl += fl;
        memcpy(stmt + sl, W.manifest_digest, WARD_SHA256_LEN);
        sl += WARD_SHA256_LEN;
        err = ward_hash(WARD_HASH_SHA256, params, strlen(params), stmt + sl);
        sl += WARD_SHA256_LEN;
    }
    if (err == WARD_OK) {
        err = inputs_digest(stmt + sl);
        sl += WARD_SHA256_LEN;
    }
    if (err == WARD_OK) {
        err = ward_hash_final(o.h, stmt + sl);
        sl += WARD_SHA256_LEN;
        put_u64(stmt + sl, o.pt_len);
        sl += 8;
    }
    if (err == WARD_OK)
        err = ward_sign(W.sign_key, WARD_HASH_SHA256, WARD_SIG_RAW, stmt, sl, result_sig,
                        result_sig_len);
    if (err == WARD_OK)
        err = dup_out(stmt, sl, statement, statement_len);
    ward_csv_writer_free(o.w);
    for (size_t r = 0; r < o.n; r++)
        ward_stream_free(o.s[r]);
    ward_hash_free(o.h);
    if (o.ct != NULL) {
        ward_wipe(o.ct, o.ct_cap);
        free(o.ct);
    }
    if (err != WARD_OK) {
        free(*result_sig);
        *result_sig = NULL;
        *result_sig_len = 0;
        return err;
    }
    /* one result per task: the plaintext and the keys go now */
    wb_destroy();
    W.state = WB_DONE;
    return WARD_OK;
}

ward_err wb_destroy(void)
{
    abort_input();
    if (W.db != NULL) {
        sqlite3_close_v2(W.db);
        W.db = NULL;
    }
    ward_pkey_free(W.sign_key);
    W.sign_key = NULL;
    ward_wipe(W.task_sk, sizeof W.task_sk);
    ward_wipe(W.recipient_pk, sizeof W.recipient_pk);
    W.n_recipients = 0;
    ward_wipe(W.inputs, sizeof W.inputs);
    ward_task_manifest_free(W.manifest);
    W.manifest = NULL;
    W.n_inputs = 0;
    W.state = WB_DONE;
    return WARD_OK;
}
