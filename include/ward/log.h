/* Structured logging: one line per event to stderr, as key=value pairs or as JSON.
 * Never pass a secret: values are printed as given. */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ward_log_level {
    WARD_LOG_DEBUG = 0,
    WARD_LOG_INFO,
    WARD_LOG_WARN,
    WARD_LOG_ERROR,
    WARD_LOG_OFF
} ward_log_level;

typedef enum ward_log_format {
    WARD_LOG_KV = 0, /* ts=2026-11-21T05:35:25.123Z level=info event=x key=value ... */
    WARD_LOG_JSON    /* {"ts":"...","level":"info","event":"x","key":"value"} */
} ward_log_format;

void ward_log_set_level(ward_log_level level);
ward_log_level ward_log_get_level(void);
void ward_log_set_format(ward_log_format format);
/* Reads WARD_LOG_LEVEL (debug|info|warn|error|off) and WARD_LOG_FORMAT (kv|json). */
void ward_log_from_env(void);
/* Parses a level name; returns -1 if unknown. */
int ward_log_level_parse(const char *name);

/* Logs event with pairs of (const char *key, const char *value), terminated by a NULL key:
 *   ward_log(WARD_LOG_INFO, "task.created", "task", id, "slots", "3", (char *)NULL);
 * Values are quoted/escaped as the format needs; a line is written with a single write(2). */
void ward_log(ward_log_level level, const char *event, ...) __attribute__((sentinel));

#ifdef __cplusplus
}
#endif
#endif
