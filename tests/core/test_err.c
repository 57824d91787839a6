/* test_err.c — every code has its own text and name; errno maps sensibly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"

static void test_every_code_has_text(void **state)
{
    (void)state;
    for (int e = TC_OK; e >= TC_ERR_UNSUPPORTED; e--) {
        assert_string_not_equal(tc_strerror(e), "unknown error");
        assert_string_not_equal(tc_err_name(e), "TC_ERR_UNKNOWN");
        for (int f = e - 1; f >= TC_ERR_UNSUPPORTED; f--)
            assert_string_not_equal(tc_strerror(e), tc_strerror(f));
    }
    assert_string_equal(tc_strerror(-999), "unknown error");
}

static void test_errno_mapping(void **state)
{
    (void)state;
    assert_int_equal(tc_err_from_errno(-ENOMEM), TC_ERR_NOMEM);
    assert_int_equal(tc_err_from_errno(-ENOENT), TC_ERR_NOTFOUND);
    assert_int_equal(tc_err_from_errno(-EPIPE), TC_ERR_NET);
    assert_int_equal(tc_err_from_errno(-EIO), TC_ERR_IO);
    assert_int_equal(tc_err_from_errno(0), TC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_text),
        cmocka_unit_test(test_errno_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
