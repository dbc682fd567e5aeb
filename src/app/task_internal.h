/* Private helpers shared by the task manifest and the task store (src/app/task_*.c). */
#ifndef WARD_APP_TASK_INTERNAL_H
#define WARD_APP_TASK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ward/task.h"

/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void wtask_hex(const uint8_t *in, size_t n, char *out);

/* 1 if s (NUL-terminated) is exactly 32 lower-case hex digits: a task id. */
int wtask_id_valid(const char *s);

/* 1 if name is a valid slot name ([A-Za-z][A-Za-z0-9_]{0,63}). */
int wtask_slot_name_valid(const char *name, size_t len);

/* Index of the participant with that hash, or -1. */
long wtask_party_index(const ward_task_manifest *m, const uint8_t hash[WARD_TASK_HASH_LEN]);

/* Verifies every signature m holds (missing ones are not an error here). */
ward_err wtask_verify_present(const ward_task_manifest *m);

/* Adds to dst each signature src holds that dst lacks, checking each (same manifest digest
 * required, else WARD_ERR_VERIFY). *added counts them. */
ward_err wtask_merge_signatures(ward_task_manifest *dst, const ward_task_manifest *src,
                                size_t *added);

#endif
