/* Starting and stopping the real wardd for end-to-end tests: a temporary data dir, an ephemeral
 * loopback port read from --port-file, and the server key's pin for libcurl. */
#ifndef WARD_TESTS_WARDD_HARNESS_H
#define WARD_TESTS_WARDD_HARNESS_H

#include <sys/types.h>

typedef struct tu_wardd {
    char *tmp;        /* temporary directory, removed by tu_wardd_stop */
    char data[4096];  /* the node data dir inside it */
    char pin[128];    /* "sha256//BASE64" of the TLS key, for CURLOPT_PINNEDPUBLICKEY */
    int port;
    pid_t pid;        /* -1 when not running */
} tu_wardd;

/* Starts $WARD_BUILD_DIR/wardd and waits (up to 60 s) for its port file. 0 on success. */
int tu_wardd_start(tu_wardd *d);
/* SIGKILL and reap, if running. */
void tu_wardd_kill(tu_wardd *d);
/* Kill, then remove the temporary directory. */
void tu_wardd_stop(tu_wardd *d);
void tu_sleep_ms(long ms);

#endif
