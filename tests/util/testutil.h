/* Shared helpers for the cmocka tests: vector files, hex, temporary directories. */
#ifndef WARD_TESTUTIL_H
#define WARD_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

/* Path of a file under the vectors directory ($WARD_VECTORS); static buffer. */
const char *tu_vector_path(const char *rel);
/* Reads a whole file (malloc'd, NUL-terminated). Fails the test if it cannot. */
uint8_t *tu_read_file(const char *path, size_t *len);
/* Loads a JSON vector file; fails the test if it cannot. */
json_t *tu_load_json_vector(const char *rel);
/* Hex string to malloc'd bytes (never NULL, even for ""); fails the test on bad hex. */
uint8_t *tu_unhex(const char *hex, size_t *len);
/* A fresh private temporary directory (malloc'd path); tu_rmtree removes it. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);

#endif
