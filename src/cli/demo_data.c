/* `ward demo`'s data: two hospitals' files, generated from a seed (reproducible).
 *
 * Patient ids are 1000000 + k. Hospital A's patients are k in [0, rows); hospital B's
 * treatments name patients drawn uniformly from k in [0.6 rows, 1.6 rows): about 40% of B's
 * treatments are of A's patients, and about a quarter of A's patients are among B's. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "ward/crypto.h"

#define ID_BASE 1000000u

/* splitmix64: small, fast, good enough for test data (never for keys). */
static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0 (the tiny modulo bias does not matter here). */
static size_t below(uint64_t *s, size_t n)
{
    return (size_t)(next(s) % (uint64_t)n);
}

static ward_err buf_reserve(demo_buf *b, size_t add)
{
    if (add > SIZE_MAX / 2 - b->len)
        return ward_err_set(WARD_ERR_OVERFLOW, "demo data: too large");
    if (b->len + add <= b->cap)
        return WARD_OK;
    size_t cap = b->cap != 0 ? b->cap : 65536;
    while (cap < b->len + add)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "demo data: out of memory");
    b->p = p;
    b->cap = cap;
    return WARD_OK;
}

static ward_err buf_printf(demo_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ward_err buf_printf(demo_buf *b, const char *fmt, ...)
{
    ward_err err = buf_reserve(b, 256);
    if (err != WARD_OK)
        return err;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len)
        return ward_err_set(WARD_ERR_OVERFLOW, "demo data: line too long");
    b->len += (size_t)n;
    return WARD_OK;
}

static const char *const regions[] = {"north", "south", "east", "west", "central", "coast"};
/* Diagnoses with weights (per mille) and the age they lean towards. */
static const struct {
    const char *name;
    unsigned weight, age;
} diagnoses[] = {
    {"hypertension", 220, 62}, {"diabetes", 160, 58}, {"asthma", 110, 30},
    {"copd", 70, 68},          {"arthritis", 120, 66}, {"depression", 100, 40},
    {"migraine", 80, 35},      {"heart-failure", 50, 74}, {"fracture", 90, 45},
};
/* Treatments with their typical cost in cents. */
static const struct {
    const char *name;
    unsigned cost;
} treatments[] = {
    {"consultation", 9000},   {"lab-panel", 14000},   {"x-ray", 22000},
    {"mri", 110000},          {"physiotherapy", 7500}, {"prescription", 4500},
    {"day-surgery", 380000},  {"inpatient-stay", 950000}, {"follow-up", 6000},
};
#define COUNT(a) (sizeof(a) / sizeof(a)[0])

static size_t pick_diagnosis(uint64_t *s)
{
    size_t r = below(s, 1000), acc = 0;
    for (size_t i = 0; i < COUNT(diagnoses); i++) {
        acc += diagnoses[i].weight;
        if (r < acc)
            return i;
    }
    return 0;
}

static ward_err make_patients(size_t rows, uint64_t *s, demo_data *d)
{
    ward_err err = buf_printf(&d->patients, "patient_id,age,region,diagnosis\n");
    if (err == WARD_OK)
        err = buf_printf(&d->ids_a, "patient_id\n");
    for (size_t k = 0; k < rows && err == WARD_OK; k++) {
        size_t di = pick_diagnosis(s);
        /* age: the diagnosis's typical age, spread by a triangular +-25 years, 0..99 */
        long age = (long)diagnoses[di].age + (long)below(s, 26) - (long)below(s, 26);
        if (age < 0)
            age = 0;
        if (age > 99)
            age = 99;
        size_t region = below(s, 7);
        if (region >= COUNT(regions)) /* central is twice as likely */
            region = 4;
        err = buf_printf(&d->patients, "%zu,%ld,%s,%s\n", ID_BASE + k, age, regions[region],
                         diagnoses[di].name);
        if (err == WARD_OK)
            err = buf_printf(&d->ids_a, "%zu\n", ID_BASE + k);
    }
    return err;
}

static ward_err make_treatments(size_t rows, uint64_t *s, demo_data *d)
{
    size_t lo = rows * 6 / 10, span = rows;
    unsigned char *seen = calloc(span, 1);
    if (seen == NULL)
        return ward_err_set(WARD_ERR_NOMEM, "demo data: out of memory");
    ward_err err = buf_printf(&d->treatments, "patient_id,treatment,cost_cents\n");
    for (size_t i = 0; i < rows && err == WARD_OK; i++) {
        size_t k = below(s, span);
        seen[k] = 1;
        size_t t = below(s, COUNT(treatments));
        /* cost: typical cost times 0.5 .. 2.0 */
        uint64_t cost = (uint64_t)treatments[t].cost * (50 + below(s, 151)) / 100;
        err = buf_printf(&d->treatments, "%zu,%s,%llu\n", ID_BASE + lo + k, treatments[t].name,
                         (unsigned long long)cost);
    }
    if (err == WARD_OK)
        err = buf_printf(&d->ids_b, "patient_id\n");
    for (size_t k = 0; k < span && err == WARD_OK; k++) {
        if (!seen[k])
            continue;
        d->n_ids_b++;
        if (lo + k < rows)
            d->n_common++;
        err = buf_printf(&d->ids_b, "%zu\n", ID_BASE + lo + k);
    }
    free(seen);
    return err;
}

ward_err demo_data_generate(size_t rows, uint64_t seed, demo_data *out)
{
    if (out == NULL || rows < DEMO_ROWS_MIN || rows > DEMO_ROWS_MAX)
        return ward_err_set(WARD_ERR_INVALID_ARG, "demo data: rows must be %u .. %u",
                            DEMO_ROWS_MIN, DEMO_ROWS_MAX);
    memset(out, 0, sizeof *out);
    uint64_t s = seed;
    ward_err err = make_patients(rows, &s, out);
    if (err == WARD_OK)
        err = make_treatments(rows, &s, out);
    if (err != WARD_OK)
        demo_data_free(out);
    return err;
}

static void buf_free(demo_buf *b)
{
    if (b->p != NULL) {
        ward_wipe(b->p, b->cap);
        free(b->p);
    }
    memset(b, 0, sizeof *b);
}

void demo_data_free(demo_data *d)
{
    if (d == NULL)
        return;
    buf_free(&d->patients);
    buf_free(&d->treatments);
    buf_free(&d->ids_a);
    buf_free(&d->ids_b);
    d->n_ids_b = d->n_common = 0;
}
