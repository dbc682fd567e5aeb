/* The software root of trust (include/ward/rot.h): the node data directory and its three files.
 * Fresh creation (0700 directory, 0600 files, whatever the umask), reopening (same key, same
 * certificate, same derived keys), the certificate's contents, signing and key derivation, and
 * every refusal: loose directory or file modes, another owner, symbolic links, a sealing secret
 * of the wrong length, a corrupt or wrong-curve key, a certificate for another key, incomplete
 * and damaged directories, and concurrent first starts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "ward/crypto.h"
#include "ward/encoding.h"
#include "ward/rot.h"
#include "ward/x509.h"

#define SECRET "sealing-secret"
#define KEY "platform-key.pem"
#define CERT "platform-cert.pem"

struct fixture {
    char *base; /* private temporary directory */
    char dir[4096]; /* base/node: the data directory under test */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base = tu_mkdtemp();
    snprintf(f->dir, sizeof f->dir, "%s/node", f->base);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rmtree(f->base);
    free(f->base);
    free(f);
    return 0;
}

static const char *in(const char *dir, const char *name)
{
    static char buf[4][4200];
    static int next;
    char *b = buf[next++ % 4];
    int n = snprintf(b, sizeof buf[0], "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < sizeof buf[0]);
    return b;
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return (unsigned)(st.st_mode & 07777);
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static void copy_file(const char *from, const char *to)
{
    size_t len = 0;
    uint8_t *data = tu_read_file(from, &len);
    write_file(to, data, len, 0600);
    free(data);
}

static ward_rot *open_ok(const char *dir, int create)
{
    ward_rot *rot = NULL;
    ward_err err = ward_rot_open(dir, create, &rot);
    if (err != WARD_OK)
        fail_msg("ward_rot_open(%s, %d): %s: %s", dir, create, ward_err_name(err),
                 ward_errmsg());
    assert_non_null(rot);
    return rot;
}

static void make_fresh(const char *dir)
{
    ward_rot_close(open_ok(dir, 1));
}

static void expect_open(const char *dir, int create, ward_err want, const char *part1,
                        const char *part2)
{
    ward_rot *rot = (ward_rot *)(uintptr_t)1;
    ward_err err = ward_rot_open(dir, create, &rot);
    if (err != want)
        fail_msg("expected %s, got %s (%s)", ward_err_name(want), ward_err_name(err),
                 ward_errmsg());
    assert_null(rot);
    if (part1 != NULL && strstr(ward_errmsg(), part1) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", ward_errmsg(), part1);
    if (part2 != NULL && strstr(ward_errmsg(), part2) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", ward_errmsg(), part2);
}

static void key_id(const char *dir, uint8_t id[32])
{
    ward_rot *rot = open_ok(dir, 0);
    ward_rot_platform_key_id(rot, id);
    ward_rot_close(rot);
}

static void derive(const char *dir, const char *label, uint8_t out[32])
{
    ward_rot *rot = open_ok(dir, 0);
    assert_int_equal(ward_rot_derive(rot, label, (const uint8_t *)"ctx", 3, out, 32), WARD_OK);
    ward_rot_close(rot);
}

/* ---- creation and reopening -------------------------------------------------------------- */

static void test_fresh_create(void **state)
{
    struct fixture *f = *state;
    /* Nested, not yet existing, under a permissive umask: modes are exact anyway. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/a/b/ward", f->base);
    mode_t old = umask(0);
    ward_rot *rot = open_ok(dir, 1);
    umask(old);
    assert_int_equal(mode_of(dir), 0700);
    assert_int_equal(mode_of(in(dir, SECRET)), 0600);
    assert_int_equal(mode_of(in(dir, KEY)), 0600);
    assert_int_equal(mode_of(in(dir, CERT)), 0600);
    struct stat st;
    assert_int_equal(stat(in(dir, SECRET), &st), 0);
    assert_int_equal(st.st_size, 32);

    /* No temporary file is left. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep -v -x -e %s -e %s -e %s)\"", dir,
             SECRET, KEY, CERT);
    assert_int_equal(system(cmd), 0);

    /* The key file is a PKCS#8 P-256 key; the certificate is for it. */
    size_t len = 0;
    char *pem = (char *)tu_read_file(in(dir, KEY), &len);
    assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
    ward_pkey *key = NULL;
    assert_int_equal(ward_pkey_from_pem(pem, len, &key), WARD_OK);
    assert_int_equal(ward_pkey_type(key), WARD_KEY_EC_P256);
    ward_wipe(pem, len);
    free(pem);
    uint8_t id[32], kid[32], cid[32];
    ward_rot_platform_key_id(rot, id);
    assert_int_equal(ward_pkey_spki_sha256(key, kid), WARD_OK);
    const ward_cert *cert = ward_rot_platform_cert(rot);
    assert_non_null(cert);
    assert_int_equal(ward_cert_spki_sha256(cert, cid), WARD_OK);
    assert_memory_equal(id, kid, 32);
    assert_memory_equal(id, cid, 32);
    ward_pkey_free(key);

    /* CN "ward platform <first 8 bytes of the key id>", O "Ward", now-1h .. now+10y. */
    char *cn = NULL, *subject = NULL, *idhex = NULL;
    assert_int_equal(ward_cert_common_name(cert, &cn), WARD_OK);
    assert_int_equal(ward_hex_encode(id, 8, &idhex, NULL), WARD_OK);
    char want[64];
    snprintf(want, sizeof want, "ward platform %s", idhex);
    assert_string_equal(cn, want);
    assert_int_equal(ward_cert_subject(cert, &subject), WARD_OK);
    assert_non_null(strstr(subject, "O=Ward"));
    int64_t nb = 0, na = 0, now = (int64_t)time(NULL);
    assert_int_equal(ward_cert_validity(cert, &nb, &na), WARD_OK);
    assert_true(nb <= now - 3600 + 5 && nb >= now - 3600 - 600);
    assert_true(na >= now + 3652 * INT64_C(86400) - 600);
    assert_true(na <= now + 3653 * INT64_C(86400) + 5);
    assert_false(ward_cert_is_ca(cert));
    free(cn);
    free(subject);
    free(idhex);
    ward_rot_close(rot);
}

static void test_reopen_same(void **state)
{
    struct fixture *f = *state;
    ward_rot *a = open_ok(f->dir, 1);
    uint8_t ida[32], fpa[32], da[32];
    ward_rot_platform_key_id(a, ida);
    assert_int_equal(ward_cert_fingerprint(ward_rot_platform_cert(a), fpa), WARD_OK);
    assert_int_equal(ward_rot_derive(a, "seal", NULL, 0, da, 32), WARD_OK);
    ward_rot_close(a);
    /* without and with create: nothing is regenerated */
    for (int create = 0; create <= 1; create++) {
        ward_rot *b = open_ok(f->dir, create);
        uint8_t idb[32], fpb[32], db[32];
        ward_rot_platform_key_id(b, idb);
        assert_int_equal(ward_cert_fingerprint(ward_rot_platform_cert(b), fpb), WARD_OK);
        assert_int_equal(ward_rot_derive(b, "seal", NULL, 0, db, 32), WARD_OK);
        assert_memory_equal(ida, idb, 32);
        assert_memory_equal(fpa, fpb, 32);
        assert_memory_equal(da, db, 32);
        ward_rot_close(b);
    }
    /* Another directory is another platform. */
    char other[4200];
    snprintf(other, sizeof other, "%s/other", f->base);
    ward_rot *c = open_ok(other, 1);
    uint8_t idc[32], dc[32];
    ward_rot_platform_key_id(c, idc);
    assert_int_equal(ward_rot_derive(c, "seal", NULL, 0, dc, 32), WARD_OK);
    assert_memory_not_equal(ida, idc, 32);
    assert_memory_not_equal(da, dc, 32);
    ward_rot_close(c);
}

/* The data directory may be reached through a symbolic link (its checks apply to the real
 * directory). */
static void test_dir_through_symlink(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    char link[4200];
    snprintf(link, sizeof link, "%s/link", f->base);
    assert_int_equal(symlink(f->dir, link), 0);
    uint8_t a[32], b[32];
    key_id(f->dir, a);
    key_id(link, b);
    assert_memory_equal(a, b, 32);
    assert_int_equal(chmod(f->dir, 0755), 0);
    expect_open(link, 0, WARD_ERR_PERMISSION, "0755", NULL);
}

static void test_not_found(void **state)
{
    struct fixture *f = *state;
    expect_open(f->dir, 0, WARD_ERR_NOT_FOUND, f->dir, "does not exist");
    assert_int_equal(mkdir(f->dir, 0700), 0);
    expect_open(f->dir, 0, WARD_ERR_NOT_FOUND, f->dir, "no platform key");
    /* An existing empty directory is a fresh one. */
    make_fresh(f->dir);
    /* A file where the directory should be. */
    char file[4200];
    snprintf(file, sizeof file, "%s/plain", f->base);
    write_file(file, "x", 1, 0600);
    ward_rot *rot = NULL;
    assert_int_not_equal(ward_rot_open(file, 0, &rot), WARD_OK);
    assert_int_not_equal(ward_rot_open(file, 1, &rot), WARD_OK);
    assert_null(rot);
    assert_int_equal(ward_rot_open("", 1, &rot), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_open(NULL, 1, &rot), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_open(f->dir, 1, NULL), WARD_ERR_INVALID_ARG);
    ward_rot_close(NULL);
}

/* ---- permissions ---------------------------------------------------------------------------- */

static void test_dir_mode_refused(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const mode_t bad[] = {0755, 0750, 0710, 0701, 0707, 0770, 0777};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(f->dir, bad[i]), 0);
        char m[8];
        snprintf(m, sizeof m, "%04o", (unsigned)bad[i]);
        expect_open(f->dir, 0, WARD_ERR_PERMISSION, f->dir, m);
        assert_non_null(strstr(ward_errmsg(), "0700"));
        /* create does not repair it either */
        expect_open(f->dir, 1, WARD_ERR_PERMISSION, f->dir, m);
        assert_int_equal(mode_of(f->dir), bad[i]);
    }
    /* A fresh create refuses an existing loose directory too. */
    char loose[4200];
    snprintf(loose, sizeof loose, "%s/loose", f->base);
    assert_int_equal(mkdir(loose, 0700), 0);
    assert_int_equal(chmod(loose, 0755), 0);
    expect_open(loose, 1, WARD_ERR_PERMISSION, loose, "0755");
    struct stat st;
    assert_int_not_equal(stat(in(loose, SECRET), &st), 0);
    assert_int_equal(chmod(f->dir, 0700), 0);
    ward_rot_close(open_ok(f->dir, 0));
    /* Tighter than 0700 is fine. */
    assert_int_equal(chmod(f->dir, 0500), 0);
    ward_rot_close(open_ok(f->dir, 0));
    assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_file_mode_refused(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const char *files[] = {SECRET, KEY, CERT};
    const mode_t bad[] = {0644, 0640, 0604, 0660, 0602, 0620};
    for (size_t i = 0; i < 3; i++) {
        const char *path = in(f->dir, files[i]);
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            assert_int_equal(chmod(path, bad[k]), 0);
            char m[8];
            snprintf(m, sizeof m, "%04o", (unsigned)bad[k]);
            expect_open(f->dir, 0, WARD_ERR_PERMISSION, path, m);
            assert_non_null(strstr(ward_errmsg(), "0600"));
            expect_open(f->dir, 1, WARD_ERR_PERMISSION, path, m);
        }
        assert_int_equal(chmod(path, 0400), 0); /* read-only for the owner is fine */
        ward_rot_close(open_ok(f->dir, 0));
        assert_int_equal(chmod(path, 0600), 0);
    }
}

static void test_other_owner_refused(void **state)
{
    struct fixture *f = *state;
    if (geteuid() != 0) {
        /* Only root can give a file away; the check itself is the same code as the mode's. */
        skip();
    }
    make_fresh(f->dir);
    const char *files[] = {SECRET, KEY, CERT};
    for (size_t i = 0; i < 3; i++) {
        const char *path = in(f->dir, files[i]);
        assert_int_equal(chown(path, 65534, 65534), 0);
        expect_open(f->dir, 0, WARD_ERR_PERMISSION, path, "owned by uid 65534");
        assert_int_equal(chown(path, 0, 0), 0);
    }
    assert_int_equal(chown(f->dir, 65534, 65534), 0);
    expect_open(f->dir, 0, WARD_ERR_PERMISSION, f->dir, "owned by uid 65534");
    expect_open(f->dir, 1, WARD_ERR_PERMISSION, f->dir, "owned by uid 65534");
    assert_int_equal(chown(f->dir, 0, 0), 0);
    ward_rot_close(open_ok(f->dir, 0));
}

static void test_symlink_refused(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const char *files[] = {SECRET, KEY, CERT};
    for (size_t i = 0; i < 3; i++) {
        /* A link to a perfectly good copy of the same file, owned by us and 0600. */
        char saved[4200];
        snprintf(saved, sizeof saved, "%s/saved-%s", f->base, files[i]);
        const char *path = in(f->dir, files[i]);
        copy_file(path, saved);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(saved, path), 0);
        expect_open(f->dir, 0, WARD_ERR_PERMISSION, path, "symbolic link");
        expect_open(f->dir, 1, WARD_ERR_PERMISSION, path, "symbolic link");
        /* the target is untouched */
        assert_int_equal(mode_of(saved), 0600);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(rename(saved, path), 0);
        ward_rot_close(open_ok(f->dir, 0));
    }
    /* A dangling link where a file should be is not "absent" either. */
    const char *cert = in(f->dir, CERT);
    assert_int_equal(unlink(cert), 0);
    assert_int_equal(symlink("/nonexistent/ward-cert", cert), 0);
    expect_open(f->dir, 1, WARD_ERR_PERMISSION, cert, "symbolic link");
    struct stat st;
    assert_int_not_equal(stat("/nonexistent/ward-cert", &st), 0);
}

static void test_not_regular_refused(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const char *secret = in(f->dir, SECRET);
    assert_int_equal(unlink(secret), 0);
    assert_int_equal(mkfifo(secret, 0600), 0); /* must not block the open */
    expect_open(f->dir, 0, WARD_ERR_FORMAT, secret, "not a regular file");
    assert_int_equal(unlink(secret), 0);
    assert_int_equal(mkdir(secret, 0700), 0);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, secret, "not a regular file");
}

/* ---- corrupt files ---------------------------------------------------------------------------- */

static void test_secret_length(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const char *path = in(f->dir, SECRET);
    size_t len = 0;
    uint8_t *good = tu_read_file(path, &len);
    assert_int_equal(len, 32);
    const size_t lens[] = {0, 1, 16, 31, 33, 64, 2000};
    uint8_t big[2000];
    memset(big, 0x5a, sizeof big);
    memcpy(big, good, 32);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        write_file(path, big, lens[i], 0600);
        expect_open(f->dir, 0, WARD_ERR_FORMAT, path, "exactly 32");
        expect_open(f->dir, 1, WARD_ERR_FORMAT, NULL, NULL);
        /* the message never carries secret bytes: it names the path and a length only */
        assert_null(strstr(ward_errmsg(), "5a5a"));
    }
    write_file(path, good, 32, 0600);
    ward_rot_close(open_ok(f->dir, 0));
    ward_wipe(good, len);
    free(good);
}

static void test_corrupt_key(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    const char *path = in(f->dir, KEY);
    size_t len = 0;
    char *good = (char *)tu_read_file(path, &len);

    /* garbage, empty, truncated, a flipped base64 character, a broken header */
    write_file(path, "not a key\n", 10, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, NULL);
    write_file(path, "", 0, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, NULL);
    write_file(path, good, len / 2, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, NULL);
    char *flipped = strdup(good);
    char *body = strchr(flipped, '\n') + 5;
    *body = *body == 'A' ? 'B' : 'A';
    write_file(path, flipped, len, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, NULL);
    free(flipped);
    char *hdr = strdup(good);
    memcpy(hdr, "-----BEGIN PRIVATX KEY", 22);
    write_file(path, hdr, len, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, NULL);
    free(hdr);
    /* too large to be a key */
    char *huge = malloc(20000);
    memset(huge, 'A', 20000);
    write_file(path, huge, 20000, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, "bytes");
    free(huge);

    /* well-formed keys of the wrong kind: P-384, Ed25519, a public key */
    ward_key_type kinds[] = {WARD_KEY_EC_P384, WARD_KEY_ED25519};
    for (size_t i = 0; i < 2; i++) {
        ward_pkey *k = NULL;
        char *pem = NULL;
        size_t pem_len = 0;
        assert_int_equal(ward_pkey_generate(kinds[i], &k), WARD_OK);
        assert_int_equal(ward_pkey_private_pem(k, &pem, &pem_len), WARD_OK);
        write_file(path, pem, pem_len, 0600);
        expect_open(f->dir, 0, WARD_ERR_FORMAT, path, "P-256");
        free(pem);
        ward_pkey_free(k);
    }
    ward_pkey *k = NULL;
    assert_int_equal(ward_pkey_from_pem(good, len, &k), WARD_OK);
    char *pub = NULL;
    size_t pub_len = 0;
    assert_int_equal(ward_pkey_public_pem(k, &pub, &pub_len), WARD_OK);
    write_file(path, pub, pub_len, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, path, "private key");
    free(pub);
    ward_pkey_free(k);

    /* a valid P-256 key, but another one: the certificate no longer matches */
    ward_pkey *other = NULL;
    char *pem = NULL;
    size_t pem_len = 0;
    assert_int_equal(ward_pkey_generate(WARD_KEY_EC_P256, &other), WARD_OK);
    assert_int_equal(ward_pkey_private_pem(other, &pem, &pem_len), WARD_OK);
    write_file(path, pem, pem_len, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, in(f->dir, CERT), "another key");
    ward_wipe(pem, pem_len);
    free(pem);
    ward_pkey_free(other);

    write_file(path, good, len, 0600);
    ward_rot_close(open_ok(f->dir, 0));
    ward_wipe(good, len);
    free(good);
}

static void test_cert_for_another_key(void **state)
{
    struct fixture *f = *state;
    char other[4200];
    snprintf(other, sizeof other, "%s/other", f->base);
    make_fresh(f->dir);
    make_fresh(other);
    const char *cert = in(f->dir, CERT);
    size_t len = 0;
    uint8_t *good = tu_read_file(cert, &len);
    copy_file(in(other, CERT), cert);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, cert, "another key");
    expect_open(f->dir, 1, WARD_ERR_FORMAT, cert, "another key");
    /* a corrupt certificate */
    write_file(cert, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 59,
               0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, cert, NULL);
    write_file(cert, "", 0, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, cert, NULL);
    write_file(cert, good, len / 2, 0600);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, cert, NULL);
    write_file(cert, good, len, 0600);
    ward_rot_close(open_ok(f->dir, 0));
    free(good);
}

/* ---- crash safety ------------------------------------------------------------------------ */

static void test_incomplete_completed_with_create(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    uint8_t id[32], d[32], id2[32], d2[32];
    key_id(f->dir, id);
    derive(f->dir, "seal", d);

    /* Crash after the key, before the certificate. */
    assert_int_equal(unlink(in(f->dir, CERT)), 0);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, f->dir, "incomplete");
    assert_non_null(strstr(ward_errmsg(), CERT));
    make_fresh(f->dir);
    key_id(f->dir, id2);
    derive(f->dir, "seal", d2);
    assert_memory_equal(id, id2, 32); /* the same key, a new certificate */
    assert_memory_equal(d, d2, 32);

    /* Crash after the secret, before the key. */
    assert_int_equal(unlink(in(f->dir, CERT)), 0);
    assert_int_equal(unlink(in(f->dir, KEY)), 0);
    expect_open(f->dir, 0, WARD_ERR_FORMAT, f->dir, "incomplete");
    make_fresh(f->dir);
    key_id(f->dir, id2);
    derive(f->dir, "seal", d2);
    assert_memory_not_equal(id, id2, 32); /* a new key ... */
    assert_memory_equal(d, d2, 32);       /* ... the sealing secret kept */

    /* A crash's temporary files are cleaned up by the next create, not by a plain open. */
    const char *tmp = in(f->dir, ".ward-tmp-platform-key.pem-0011223344556677");
    write_file(tmp, "partial", 7, 0600);
    ward_rot_close(open_ok(f->dir, 0));
    struct stat st;
    assert_int_equal(stat(tmp, &st), 0);
    make_fresh(f->dir);
    assert_int_not_equal(stat(tmp, &st), 0);
}

static void test_damaged_refused(void **state)
{
    struct fixture *f = *state;
    make_fresh(f->dir);
    char keep[4200];
    snprintf(keep, sizeof keep, "%s/keep", f->base);
    assert_int_equal(mkdir(keep, 0700), 0);
    const char *files[] = {SECRET, KEY, CERT};
    for (size_t i = 0; i < 3; i++)
        copy_file(in(f->dir, files[i]), in(keep, files[i]));

    /* A lost secret is never replaced: sealed data would be lost with it. */
    assert_int_equal(unlink(in(f->dir, SECRET)), 0);
    expect_open(f->dir, 1, WARD_ERR_FORMAT, "sealing-secret is missing", "damaged");
    expect_open(f->dir, 0, WARD_ERR_FORMAT, "sealing-secret is missing", NULL);
    struct stat st;
    assert_int_not_equal(stat(in(f->dir, SECRET), &st), 0);
    copy_file(in(keep, SECRET), in(f->dir, SECRET));

    /* A lost key with its certificate still there. */
    assert_int_equal(unlink(in(f->dir, KEY)), 0);
    expect_open(f->dir, 1, WARD_ERR_FORMAT, "platform-key.pem is missing", "damaged");
    assert_int_not_equal(stat(in(f->dir, KEY), &st), 0);

    /* Only the certificate left. */
    assert_int_equal(unlink(in(f->dir, SECRET)), 0);
    expect_open(f->dir, 1, WARD_ERR_FORMAT, "sealing-secret is missing", "damaged");

    /* Only the key left. */
    assert_int_equal(unlink(in(f->dir, CERT)), 0);
    copy_file(in(keep, KEY), in(f->dir, KEY));
    expect_open(f->dir, 1, WARD_ERR_FORMAT, "sealing-secret is missing", "damaged");
}

struct race {
    const char *dir;
    uint8_t id[32];
    ward_err err;
};

static void *race_open(void *arg)
{
    struct race *r = arg;
    ward_rot *rot = NULL;
    r->err = ward_rot_open(r->dir, 1, &rot);
    if (r->err == WARD_OK) {
        ward_rot_platform_key_id(rot, r->id);
        ward_rot_close(rot);
    }
    return NULL;
}

/* Several first starts at once: one creates, the others find what it made. */
static void test_concurrent_create(void **state)
{
    struct fixture *f = *state;
    enum { N = 6 };
    for (int round = 0; round < 5; round++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/race%d", f->base, round);
        pthread_t t[N];
        struct race r[N];
        for (int i = 0; i < N; i++) {
            r[i].dir = dir;
            r[i].err = WARD_ERR_STATE;
            assert_int_equal(pthread_create(&t[i], NULL, race_open, &r[i]), 0);
        }
        for (int i = 0; i < N; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        for (int i = 0; i < N; i++) {
            assert_int_equal(r[i].err, WARD_OK);
            assert_memory_equal(r[i].id, r[0].id, 32);
        }
    }
}

/* ---- signing and derivation ------------------------------------------------------------- */

static void test_sign_verifies_with_cert(void **state)
{
    struct fixture *f = *state;
    ward_rot *rot = open_ok(f->dir, 1);
    ward_pkey *pub = NULL;
    assert_int_equal(ward_cert_public_key(ward_rot_platform_cert(rot), &pub), WARD_OK);
    static const char msg[] = "WRPT a report to sign";
    uint8_t sig[WARD_ROT_SIG_LEN], sig2[WARD_ROT_SIG_LEN];
    assert_int_equal(ward_rot_sign(rot, msg, sizeof msg, sig), WARD_OK);
    assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, sig,
                                 sizeof sig), WARD_OK);
    assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg - 1, sig,
                                 sizeof sig), WARD_ERR_VERIFY);
    sig[10] ^= 1;
    assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_RAW, msg, sizeof msg, sig,
                                 sizeof sig), WARD_ERR_VERIFY);
    /* the empty message */
    assert_int_equal(ward_rot_sign(rot, NULL, 0, sig2), WARD_OK);
    assert_int_equal(ward_verify(pub, WARD_HASH_SHA256, WARD_SIG_RAW, "", 0, sig2, sizeof sig2),
                     WARD_OK);
    assert_int_equal(ward_rot_sign(rot, NULL, 3, sig2), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_sign(rot, msg, 3, NULL), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_sign(NULL, msg, 3, sig2), WARD_ERR_INVALID_ARG);
    ward_pkey_free(pub);
    ward_rot_close(rot);
}

static void test_derive(void **state)
{
    struct fixture *f = *state;
    ward_rot *rot = open_ok(f->dir, 1);
    uint8_t a[32], b[32], c[32], d[32], e[64];
    const uint8_t ctx1[] = {1, 2, 3}, ctx2[] = {1, 2, 4};
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, a, 32), WARD_OK);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, b, 32), WARD_OK);
    assert_memory_equal(a, b, 32); /* deterministic */
    assert_int_equal(ward_rot_derive(rot, "seal", ctx2, 3, c, 32), WARD_OK);
    assert_memory_not_equal(a, c, 32); /* contexts separate */
    assert_int_equal(ward_rot_derive(rot, "audit", ctx1, 3, d, 32), WARD_OK);
    assert_memory_not_equal(a, d, 32); /* labels separate */
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 2, d, 32), WARD_OK);
    assert_memory_not_equal(a, d, 32);
    /* the 0x00 separator: ("ab", "") differs from ("a", "b") */
    assert_int_equal(ward_rot_derive(rot, "ab", NULL, 0, c, 32), WARD_OK);
    assert_int_equal(ward_rot_derive(rot, "a", (const uint8_t *)"b", 1, d, 32), WARD_OK);
    assert_memory_not_equal(c, d, 32);
    /* other lengths */
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, e, 64), WARD_OK);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, e, 1), WARD_OK);
    uint8_t *big = malloc(255 * 32);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, big, 255 * 32), WARD_OK);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, big, 255 * 32 + 1),
                     WARD_ERR_INVALID_ARG);
    free(big);
    /* bad arguments */
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, a, 0), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_derive(rot, "", ctx1, 3, a, 32), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_derive(rot, NULL, ctx1, 3, a, 32), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_derive(rot, "seal", NULL, 3, a, 32), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, NULL, 32), WARD_ERR_INVALID_ARG);
    assert_int_equal(ward_rot_derive(NULL, "seal", ctx1, 3, a, 32), WARD_ERR_INVALID_ARG);

    /* The documented derivation, recomputed from the secret on disk:
     * HKDF-SHA256(salt "ward-rot-v1", ikm secret, info label || 0x00 || context). */
    size_t len = 0;
    uint8_t *secret = tu_read_file(in(f->dir, SECRET), &len);
    assert_int_equal(len, 32);
    const uint8_t info[] = {'s', 'e', 'a', 'l', 0, 1, 2, 3};
    uint8_t want[32];
    assert_int_equal(ward_hkdf(WARD_HASH_SHA256, (const uint8_t *)"ward-rot-v1", 11, secret, 32,
                               info, sizeof info, want, 32), WARD_OK);
    assert_int_equal(ward_rot_derive(rot, "seal", ctx1, 3, a, 32), WARD_OK);
    assert_memory_equal(a, want, 32);
    ward_wipe(secret, len);
    free(secret);
    ward_rot_close(rot);
}

/* A fork child never derives from a zeroed secret: where the kernel wipes the secret's page
 * on fork (MADV_WIPEONFORK, Linux >= 4.14) derivation fails with WARD_ERR_STATE; elsewhere it
 * gives the parent's keys. */
static void test_derive_after_fork(void **state)
{
    struct fixture *f = *state;
    ward_rot *rot = open_ok(f->dir, 1);
    uint8_t parent[32];
    assert_int_equal(ward_rot_derive(rot, "seal", NULL, 0, parent, 32), WARD_OK);
    int wipes = 0;
#ifdef MADV_WIPEONFORK
    void *probe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(probe != MAP_FAILED);
    wipes = madvise(probe, 4096, MADV_WIPEONFORK) == 0;
    munmap(probe, 4096);
#endif
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint8_t child[32];
        ward_err err = ward_rot_derive(rot, "seal", NULL, 0, child, 32);
        if (err == WARD_ERR_STATE)
            _exit(1);
        _exit(err == WARD_OK && memcmp(child, parent, 32) == 0 ? 0 : 2);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), wipes ? 1 : 0);
    /* the parent is unaffected */
    uint8_t again[32];
    assert_int_equal(ward_rot_derive(rot, "seal", NULL, 0, again, 32), WARD_OK);
    assert_memory_equal(parent, again, 32);
    ward_rot_close(rot);
}

/* ---- the default directory ------------------------------------------------------------- */

static void test_default_dir(void **state)
{
    (void)state;
    char *saved_xdg = getenv("XDG_DATA_HOME") ? strdup(getenv("XDG_DATA_HOME")) : NULL;
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *d = NULL;

    setenv("XDG_DATA_HOME", "/srv/data", 1);
    setenv("HOME", "/home/alice", 1);
    assert_int_equal(ward_rot_default_dir(&d), WARD_OK);
    assert_string_equal(d, "/srv/data/ward");
    free(d);
    setenv("XDG_DATA_HOME", "/srv/data//", 1);
    assert_int_equal(ward_rot_default_dir(&d), WARD_OK);
    assert_string_equal(d, "/srv/data/ward");
    free(d);
    /* relative and empty values are ignored, as the XDG spec says */
    setenv("XDG_DATA_HOME", "relative/dir", 1);
    assert_int_equal(ward_rot_default_dir(&d), WARD_OK);
    assert_string_equal(d, "/home/alice/.local/share/ward");
    free(d);
    setenv("XDG_DATA_HOME", "", 1);
    assert_int_equal(ward_rot_default_dir(&d), WARD_OK);
    assert_string_equal(d, "/home/alice/.local/share/ward");
    free(d);
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/", 1);
    assert_int_equal(ward_rot_default_dir(&d), WARD_OK);
    assert_string_equal(d, "/.local/share/ward");
    free(d);
    unsetenv("HOME");
    assert_int_equal(ward_rot_default_dir(&d), WARD_ERR_NOT_FOUND);
    assert_null(d);
    assert_int_equal(ward_rot_default_dir(NULL), WARD_ERR_INVALID_ARG);

    if (saved_xdg) setenv("XDG_DATA_HOME", saved_xdg, 1); else unsetenv("XDG_DATA_HOME");
    if (saved_home) setenv("HOME", saved_home, 1); else unsetenv("HOME");
    free(saved_xdg);
    free(saved_home);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_fresh_create),
        T(test_reopen_same),
        T(test_dir_through_symlink),
        T(test_not_found),
        T(test_dir_mode_refused),
        T(test_file_mode_refused),
        T(test_other_owner_refused),
        T(test_symlink_refused),
        T(test_not_regular_refused),
        T(test_secret_length),
        T(test_corrupt_key),
        T(test_cert_for_another_key),
        T(test_incomplete_completed_with_create),
        T(test_damaged_refused),
        T(test_concurrent_create),
        T(test_sign_verifies_with_cert),
        T(test_derive),
        T(test_derive_after_fork),
        T(test_default_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
