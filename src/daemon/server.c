/* wardd's HTTP/1.1 server: libevent evhttp over OpenSSL bufferevents, routing, limits, timeouts,
 * request ids, JSON replies, the access log and the per-request metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon/wardd.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/log.h"

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static const char *method_name(enum evhttp_cmd_type m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "OTHER";
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 409: return "Conflict";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

/* Sends the reply and accounts for it (metrics, access log). */
static void finish(wardd *d, wardd_req *r, int status, const char *ctype, const char *data,
                   size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "X-Request-Id", r->id);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (status == 405) {
        const char *allow = "GET, HEAD";
        if (r->route == WARDD_ROUTE_CHALLENGE || r->route == WARDD_ROUTE_VERIFY)
            allow = "POST";
        else if (r->route == WARDD_ROUTE_TASKS)
            allow = r->allow != NULL ? r->allow : "GET, POST, PUT";
        evhttp_add_header(h, "Allow", allow);
    }
    struct evbuffer *buf = evbuffer_new();
    if (buf != NULL && len > 0 && evbuffer_add(buf, data, len) != 0) {
        evbuffer_free(buf);
        buf = NULL;
    }
    if (buf == NULL) {
        status = 500;
        len = 0;
        evhttp_send_reply(r->req, status, reason_phrase(status), NULL);
    } else {
        evhttp_send_reply(r->req, status, reason_phrase(status), buf);
        evbuffer_free(buf);
    }
    double secs = (double)(mono_ns() - r->start_ns) / 1e9;
    wardd_metrics_request(&d->metrics, r->route, status, secs, r->in_bytes, len);
    char st[16], ms[32];
    snprintf(st, sizeof st, "%d", status);
    snprintf(ms, sizeof ms, "%.3f", secs * 1000.0);
    ward_log(status >= 500 ? WARD_LOG_ERROR : WARD_LOG_INFO, "http.request", "request_id", r->id,
             "peer", r->peer, "method", r->method, "route", wardd_route_label(r->route),
             "status", st, "ms", ms, (char *)NULL);
}

void wardd_reply_text(wardd *d, wardd_req *r, int status, const char *ctype, const char *text,
                      size_t len)
{
    finish(d, r, status, ctype, text, len);
}

void wardd_reply_json(wardd *d, wardd_req *r, int status, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text == NULL) {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
        finish(d, r, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL: finish sends exactly n + 1 bytes */
    finish(d, r, status, "application/json", text, n + 1);
    free(text);
}

void wardd_reply_error(wardd *d, wardd_req *r, int status, const char *code, const char *fmt,
                       ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    if (o != NULL) {
        json_object_set_new(o, "error", json_string(code));
        /* json_string refuses invalid UTF-8 (a message quoting client input): fall back. */
        json_t *m = json_string(msg);
        json_object_set_new(o, "message", m != NULL ? m : json_string("(unprintable message)"));
        json_object_set_new(o, "request_id", json_string(r->id));
    }
    wardd_reply_json(d, r, status, o);
}

char *wardd_body(wardd *d, wardd_req *r, size_t max, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    if (n > max) {
        wardd_reply_error(d, r, 413, "too_large", "request body of %zu bytes exceeds %zu bytes",
                          n, max);
        return NULL;
    }
    char *b = malloc(n + 1);
    if (b == NULL || (n > 0 && evbuffer_copyout(in, b, n) != (ev_ssize_t)n)) {
        free(b);
        wardd_reply_error(d, r, 500, "internal", "cannot read the request body");
        return NULL;
    }
    b[n] = 0;
    *len = n;
    return b;
}

struct evbuffer *wardd_body_buffer(wardd *d, wardd_req *r, size_t max, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t n = evbuffer_get_length(in);
    if (n > max) {
        wardd_reply_error(d, r, 413, "too_large", "request body of %zu bytes exceeds %zu bytes",
                          n, max);
        return NULL;
    }
    *len = n;
    return in;
}

static void peer_of(struct evhttp_request *req, char *out, size_t cap)
{
    snprintf(out, cap, "-");
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    if (c == NULL)
        return;
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(c, &addr, &port);
    if (addr != NULL)
        snprintf(out, cap, "%s:%u", addr, (unsigned)port);
}

typedef struct route_def {
    const char *path;
    wardd_route route;
    enum evhttp_cmd_type method;
    void (*fn)(wardd *d, wardd_req *r);
} route_def;

static const route_def routes[] = {
    {"/healthz", WARDD_ROUTE_HEALTHZ, EVHTTP_REQ_GET, wardd_route_healthz},
    {"/metrics", WARDD_ROUTE_METRICS, EVHTTP_REQ_GET, wardd_route_prom},
    {"/v1/attestation/challenge", WARDD_ROUTE_CHALLENGE, EVHTTP_REQ_POST, wardd_route_challenge},
    {"/v1/attestation/verify", WARDD_ROUTE_VERIFY, EVHTTP_REQ_POST, wardd_route_verify},
    {"/v1/attestation/verifier-key", WARDD_ROUTE_VERIFIER_KEY, EVHTTP_REQ_GET,
     wardd_route_verifier_key},
};

/* A reply is two writes (headers, then body): with Nagle on, the second waits for the ACK of
 * the first, which a client delays by up to 40 ms. Every request pays that, so Nagle goes. */
static void no_delay(struct evhttp_request *req)
{
    struct evhttp_connection *c = evhttp_request_get_connection(req);
    struct bufferevent *bev = c != NULL ? evhttp_connection_get_bufferevent(c) : NULL;
    evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    int one = 1;
    if (fd >= 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    wardd *d = arg;
    no_delay(req);
    wardd_req r;
    memset(&r, 0, sizeof r);
    r.req = req;
    r.start_ns = mono_ns();
    r.in_bytes = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    r.route = WARDD_ROUTE_OTHER;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    r.method = method_name(cmd);
    peer_of(req, r.peer, sizeof r.peer);
    uint8_t rid[WARDD_REQUEST_ID_LEN / 2];
    if (ward_random(rid, sizeof rid) != WARD_OK)
        memset(rid, 0, sizeof rid);
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(r.id + 2 * i, 3, "%02x", rid[i]);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL) {
        wardd_reply_error(d, &r, 400, "bad_request", "malformed request target");
        return;
    }
    if (wardd_tls_client_id(req, r.client) == 0) {
        r.has_client = 1;
        for (size_t i = 0; i < sizeof r.client; i++)
            snprintf(r.client_hex + 2 * i, 3, "%02x", r.client[i]);
    }
    /* Every endpoint's permission is checked here, before its handler runs (authz.c); a path
     * or method that names no endpoint goes on to the handlers' 404 or 405. */
    const char *perm = NULL;
    int is_endpoint = wardd_route_permission(r.method, path, &perm);
    int is_tasks = strcmp(path, "/v1/tasks") == 0 || strncmp(path, "/v1/tasks/", 10) == 0;
    if (is_tasks)
        r.route = WARDD_ROUTE_TASKS;
    for (size_t i = 0; !is_tasks && i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(path, routes[i].path) == 0)
            r.route = routes[i].route;
    if (is_endpoint && wardd_authorize(d, &r, perm) != 0)
        return;
    if (is_tasks) {
        wardd_route_tasks(d, &r, path);
        return;
    }
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(path, routes[i].path) != 0)
            continue;
        int ok = cmd == routes[i].method ||
                 (cmd == EVHTTP_REQ_HEAD && routes[i].method == EVHTTP_REQ_GET);
        if (!ok) {
            wardd_reply_error(d, &r, 405, "method_not_allowed", "%s is not allowed on %s",
                              r.method, routes[i].path);
            return;
        }
        routes[i].fn(d, &r);
        return;
    }
    wardd_reply_error(d, &r, 404, "not_found", "no such endpoint (API paths are under /v1/)");
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    wardd *d = arg;
    SSL *ssl = SSL_new(d->ssl);
    if (ssl == NULL)
        return NULL;
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify is an EOF, not an error to report. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    wardd *d = arg;
    ward_log(WARD_LOG_INFO, "wardd.stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             (char *)NULL);
    event_base_loopexit(d->base, NULL);
}

/* "HOST:PORT" with HOST an IPv4 address or [IPv6]. */
static int parse_listen(const char *s, char *host, size_t cap, uint16_t *port)
{
    const char *colon;
    size_t hl;
    const char *h = s;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        h = s + 1;
        hl = (size_t)(end - h);
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hl = (size_t)(colon - s);
    }
    if (hl == 0 || hl >= cap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    const char *p = colon + 1;
    if (*p == 0 || strlen(p) > 5)
        return -1;
    unsigned long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return -1;
    unsigned char tmp[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, tmp) != 1 && inet_pton(AF_INET6, host, tmp) != 1)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int write_port_file(const char *path, const char *line)
{
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return -1;
    snprintf(tmp, n, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    size_t len = strlen(line);
    if (ok && write(fd, line, len) != (ssize_t)len)
        ok = 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int wardd_server_start(wardd *d, const char *listen, const char *port_file)
{
    char host[INET6_ADDRSTRLEN + 1];
    uint16_t port = 0;
    if (parse_listen(listen, host, sizeof host, &port) != 0) {
        ward_log(WARD_LOG_ERROR, "wardd.config", "error", "--listen wants IPV4:PORT or [IPV6]:PORT",
                 "value", listen, (char *)NULL);
        return -1;
    }
    d->ssl = wardd_tls_server_ctx(d);
    if (d->ssl == NULL)
        return -1;
    d->http = evhttp_new(d->base);
    if (d->http == NULL)
        return -1;
    evhttp_set_bevcb(d->http, make_bev, d);
    evhttp_set_gencb(d->http, on_request, d);
    evhttp_set_max_body_size(d->http, (ev_ssize_t)WARDD_MAX_BODY);
    evhttp_set_max_headers_size(d->http, (ev_ssize_t)WARDD_MAX_HEADERS);
    evhttp_set_timeout(d->http, WARDD_TIMEOUT_S);
    /* Every method reaches on_request, so that a wrong one gets our JSON 405. */
    evhttp_set_allowed_methods(d->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    /* Read (and discard) an oversized body before answering 413, so that the client sees the
     * answer instead of a reset connection. */
    evhttp_set_flags(d->http, EVHTTP_SERVER_LINGERING_CLOSE);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(d->http, host, port);
    if (bs == NULL) {
        ward_log(WARD_LOG_ERROR, "wardd.listen", "error", strerror(errno), "address", listen,
                 (char *)NULL);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(bs);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    uint16_t bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                              : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    char addr[INET6_ADDRSTRLEN + 16];
    snprintf(addr, sizeof addr, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u", host,
             (unsigned)bound);

    d->sig_term = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->sig_int = evsignal_new(d->base, SIGINT, on_signal, d);
    if (d->sig_term == NULL || d->sig_int == NULL || evsignal_add(d->sig_term, NULL) != 0 ||
        evsignal_add(d->sig_int, NULL) != 0)
        return -1;

    char line[512];
    snprintf(line, sizeof line,
             "{\"event\":\"listening\",\"address\":\"%s\",\"port\":%u,"
             "\"tls_spki_sha256\":\"%s\"}\n",
             addr, (unsigned)bound, d->tls_spki_hex);
    if (port_file != NULL && write_port_file(port_file, line) != 0) {
        ward_log(WARD_LOG_ERROR, "wardd.port_file", "error", strerror(errno), "path", port_file,
                 (char *)NULL);
        return -1;
    }
    fputs(line, stdout);
    fflush(stdout);
    ward_log(WARD_LOG_INFO, "wardd.listening", "address", addr, "tls_spki_sha256",
             d->tls_spki_hex, (char *)NULL);
    return 0;
}

void wardd_server_stop(wardd *d)
{
    if (d->sig_term != NULL)
        event_free(d->sig_term);
    if (d->sig_int != NULL)
        event_free(d->sig_int);
    d->sig_term = d->sig_int = NULL;
    if (d->http != NULL)
        evhttp_free(d->http);
    d->http = NULL;
    if (d->ssl != NULL)
        SSL_CTX_free(d->ssl);
    d->ssl = NULL;
}
