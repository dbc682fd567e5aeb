/* Structured logging: one event, one line, one write(2), so that lines from several threads or
 * processes sharing stderr never interleave. */
#include "ward/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096
#define TAIL_RESERVE 32

static _Atomic int cur_level = WARD_LOG_INFO;
static _Atomic int cur_format = WARD_LOG_KV;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void ward_log_set_level(ward_log_level level)
{
    if ((unsigned)level <= WARD_LOG_OFF)
        atomic_store(&cur_level, (int)level);
}

ward_log_level ward_log_get_level(void)
{
    return (ward_log_level)atomic_load(&cur_level);
}

void ward_log_set_format(ward_log_format format)
{
    atomic_store(&cur_format, format == WARD_LOG_JSON ? WARD_LOG_JSON : WARD_LOG_KV);
}

int ward_log_level_parse(const char *name)
{
    if (name == NULL)
        return -1;
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcasecmp(name, "warning") == 0)
        return WARD_LOG_WARN;
    return -1;
}

void ward_log_from_env(void)
{
    int lvl = ward_log_level_parse(getenv("WARD_LOG_LEVEL"));
    if (lvl >= 0)
        ward_log_set_level((ward_log_level)lvl);
    const char *fmt = getenv("WARD_LOG_FORMAT");
    if (fmt != NULL)
        ward_log_set_format(strcasecmp(fmt, "json") == 0 ? WARD_LOG_JSON : WARD_LOG_KV);
}

struct line {
    char buf[LINE_MAX_LEN];
    size_t len;
    int truncated;
};

static void put(struct line *l, const char *s, size_t n)
{
    /* Keep room for the truncation marker, the closing brace and the newline. */
    size_t room = sizeof l->buf - TAIL_RESERVE - l->len;
    if (l->truncated)
        return;
    if (n > room) {
        l->truncated = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* JSON string body escaping (also used for quoted key=value values). */
static void put_escaped(struct line *l, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': put(l, "\\\"", 2); break;
        case '\\': put(l, "\\\\", 2); break;
        case '\n': put(l, "\\n", 2); break;
        case '\r': put(l, "\\r", 2); break;
        case '\t': put(l, "\\t", 2); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                puts_(l, esc);
            } else {
                put(l, (const char *)p, 1);
            }
        }
    }
}

static void put_pair(struct line *l, int json, int first, const char *key, const char *val);

static int needs_quotes(const char *s)
{
    if (*s == '\0')
        return 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
            return 1;
    return 0;
}

/* A pair is written whole or not at all, so that a long line stays parseable. */
static void put_kv(struct line *l, int json, int first, const char *key, const char *val)
{
    size_t mark = l->len;
    put_pair(l, json, first, key, val);
    if (l->truncated)
        l->len = mark;
}

static void put_pair(struct line *l, int json, int first, const char *key, const char *val)
{
    if (json) {
        puts_(l, first ? "\"" : ",\"");
        put_escaped(l, key);
        puts_(l, "\":\"");
        put_escaped(l, val);
        puts_(l, "\"");
    } else {
        if (!first)
            puts_(l, " ");
        puts_(l, key);
        puts_(l, "=");
        if (needs_quotes(val)) {
            puts_(l, "\"");
            put_escaped(l, val);
            puts_(l, "\"");
        } else {
            puts_(l, val);
        }
    }
}

void ward_log(ward_log_level level, const char *event, ...)
{
    if ((unsigned)level >= WARD_LOG_OFF || (int)level < atomic_load(&cur_level))
        return;
    int json = atomic_load(&cur_format) == WARD_LOG_JSON;

    char ts[40];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03ldZ", now.tv_nsec / 1000000);

    struct line l = {.len = 0};
    if (json)
        puts_(&l, "{");
    put_kv(&l, json, 1, "ts", ts);
    put_kv(&l, json, 0, "level", level_names[level]);
    put_kv(&l, json, 0, "event", event ? event : "");

    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *val = va_arg(ap, const char *);
        put_kv(&l, json, 0, key, val ? val : "");
    }
    va_end(ap);

    if (l.truncated) {
        const char *mark = json ? ",\"truncated\":\"true\"" : " truncated=true";
        memcpy(l.buf + l.len, mark, strlen(mark));
        l.len += strlen(mark);
    }
    if (json)
        l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    /* A short write to stderr is not worth failing the caller over. */
    ssize_t w = write(STDERR_FILENO, l.buf, l.len);
    (void)w;
}
