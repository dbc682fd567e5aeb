/* See wardd_harness.h. */
#include "wardd_harness.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "ward/encoding.h"

void tu_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void tu_wardd_kill(tu_wardd *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = -1;
    }
}

int tu_wardd_start(tu_wardd *d)
{
    d->pid = -1;
    const char *bd = getenv("WARD_BUILD_DIR");
    if (bd == NULL) {
        fprintf(stderr, "WARD_BUILD_DIR is not set\n");
        return -1;
    }
    char bin[4096], port_file[4096];
    snprintf(bin, sizeof bin, "%s/wardd", bd);
    d->tmp = tu_mkdtemp();
    snprintf(d->data, sizeof d->data, "%s/data", d->tmp);
    snprintf(port_file, sizeof port_file, "%s/port.json", d->tmp);
    d->pid = fork();
    if (d->pid < 0)
        return -1;
    if (d->pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(126);
        execl(bin, bin, "--foreground", "--data-dir", d->data, "--listen", "127.0.0.1:0",
              "--port-file", port_file, "--log-level", "warn", (char *)NULL);
        _exit(127);
    }
    /* Up to 60 s: the self-test and a sanitizer build are slow to start. */
    for (int i = 0; i < 600; i++) {
        int st;
        if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
            fprintf(stderr, "wardd exited during start-up (status %d)\n", st);
            d->pid = -1;
            return -1;
        }
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            char line[1024] = {0};
            size_t n = fread(line, 1, sizeof line - 1, f);
            fclose(f);
            json_error_t je;
            json_t *j = json_loadb(line, n, 0, &je);
            const char *spki = json_string_value(json_object_get(j, "tls_spki_sha256"));
            json_int_t port = json_integer_value(json_object_get(j, "port"));
            uint8_t h[32];
            char *b64 = NULL;
            size_t bl = 0;
            int ok = spki != NULL && port > 0 && port < 65536 &&
                     ward_hex_decode_fixed(spki, strlen(spki), h, sizeof h) == WARD_OK &&
                     ward_base64_encode(h, sizeof h, &b64, &bl) == WARD_OK;
            if (ok) {
                snprintf(d->pin, sizeof d->pin, "sha256//%s", b64);
                d->port = (int)port;
            }
            free(b64);
            json_decref(j);
            if (ok)
                return 0;
        }
        tu_sleep_ms(100);
    }
    fprintf(stderr, "wardd did not write its port file\n");
    tu_wardd_kill(d);
    return -1;
}

void tu_wardd_stop(tu_wardd *d)
{
    tu_wardd_kill(d);
    if (d->tmp != NULL) {
        tu_rmtree(d->tmp);
        free(d->tmp);
        d->tmp = NULL;
    }
}
