/* test_sha256.c — the store's SHA-256 against the FIPS 180-2 / NIST
 * vectors (empty, "abc", the two-block message, a million 'a'), fed in one
 * piece and in awkward pieces, and tc_avatar_sha256_file against the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "avatar/avatar.h"
#include "core/err.h"

static void hash(const char *msg, size_t len, size_t piece, char out[65])
{
    tc_avatar_sha256 s;
    tc_avatar_sha256_init(&s);
    for (size_t off = 0; off < len; off += piece)
        tc_avatar_sha256_update(&s, msg + off, len - off < piece ? len - off : piece);
    tc_avatar_sha256_final(&s, out);
}

static void test_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *msg, *sha;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrl"
         "mnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char out[65];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t len = strlen(v[i].msg);
        static const size_t pieces[] = {1, 3, 63, 64, 65, 1000};
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            hash(v[i].msg, len, pieces[p], out);
            assert_string_equal(out, v[i].sha);
        }
    }
}

static void test_million_a(void **state)
{
    (void)state;
    static char buf[1000000];
    memset(buf, 'a', sizeof buf);
    char out[65];
    hash(buf, sizeof buf, 4093, out);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* lengths around the padding boundary (55, 56, 64 bytes) differ */
    char a[65], b[65];
    hash(buf, 55, 55, a);
    hash(buf, 56, 56, b);
    assert_string_not_equal(a, b);
    assert_string_equal(a, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    assert_string_equal(b, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/tc-sha-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < 1000; i++)
        fputs("abcdefghij", f); /* 10000 bytes, many blocks */
    fclose(f);
    char a[65], b[65];
    int64_t size = 0;
    assert_int_equal(tc_avatar_sha256_file(path, a, &size), TC_OK);
    assert_int_equal(size, 10000);
    static char mem[10001];
    for (int i = 0; i < 1000; i++)
        memcpy(mem + 10 * i, "abcdefghij", 10);
    hash(mem, 10000, 10000, b);
    assert_string_equal(a, b);
    unlink(path);
    assert_int_equal(tc_avatar_sha256_file(path, a, NULL), TC_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
