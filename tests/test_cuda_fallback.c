/* SPDX-License-Identifier: GPL-3.0-or-later
 * Backend choice when the CUDA module cannot be used, through the public
 * API (docs/cuda.md, "Fallback"): meson runs this with FGSD_CUDA_MODULE
 * naming a file that does not exist, so it runs on every machine.
 *   CUDA            -> a CPU session, FGSD_OK, one notice naming the reason
 *   CUDA + strict   -> FGSD_ERR_BACKEND, the reason in the error text
 *   AUTO            -> a CPU session; the notice too, as the user named a module
 *   CPU, REFERENCE  -> never look at CUDA: no notice */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fgsd.h"
#include "tiny_model.h"

static int setup(void **state)
{
    char err[256] = "";
    fgsd_model *m = test_tiny_model_load(7, err, sizeof(err));

    if (!m)
        print_error("tiny model: %s\n", err);
    assert_non_null(m);
    *state = m;
    return 0;
}

static int teardown(void **state)
{
    fgsd_model_free(*state);
    return 0;
}

static fgsd_status open_session(const fgsd_model *m, fgsd_backend_kind kind, int strict,
                                fgsd_session **s, char *err, size_t errlen)
{
    fgsd_session_options o = fgsd_session_options_default();

    o.backend = kind;
    o.cuda_strict = strict;
    return fgsd_session_create(m, &o, s, err, errlen);
}

static void test_cuda_falls_back(void **state)
{
    fgsd_session *s = NULL;
    char err[512];
    float rgb[16 * 16 * 3], out[16 * 16 * 3];

    assert_int_equal(open_session(*state, FGSD_BACKEND_CUDA, 0, &s, err, sizeof(err)), FGSD_OK);
    assert_non_null(s);
    assert_non_null(strstr(fgsd_session_notice(s), "CUDA backend unavailable"));
    assert_non_null(strstr(fgsd_session_notice(s), "does not exist"));
    assert_non_null(strstr(fgsd_session_notice(s), "using the CPU"));
    assert_string_not_equal(fgsd_session_backend_name(s), "cuda-cudnn");
    /* The session works. */
    for (size_t i = 0; i < sizeof(rgb) / sizeof(rgb[0]); i++)
        rgb[i] = (float)(i % 7) / 7.0f;
    assert_int_equal(fgsd_denoise(s, NULL, rgb, 16, 16, out), FGSD_OK);
    fgsd_session_free(s);
}

static void test_strict_fails(void **state)
{
    fgsd_session *s = NULL;
    char err[512] = "";

    assert_int_equal(open_session(*state, FGSD_BACKEND_CUDA, 1, &s, err, sizeof(err)),
                     FGSD_ERR_BACKEND);
    assert_null(s);
    assert_non_null(strstr(err, "CUDA backend unavailable"));
    assert_non_null(strstr(err, "does not exist"));
}

static void test_auto_falls_back(void **state)
{
    fgsd_session *s = NULL;
    char err[512];

    assert_int_equal(open_session(*state, FGSD_BACKEND_AUTO, 0, &s, err, sizeof(err)), FGSD_OK);
    assert_string_not_equal(fgsd_session_backend_name(s), "cuda-cudnn");
    assert_non_null(strstr(fgsd_session_notice(s), "CUDA backend unavailable"));
    fgsd_session_free(s);
    /* strict concerns an explicit CUDA request only */
    assert_int_equal(open_session(*state, FGSD_BACKEND_AUTO, 1, &s, err, sizeof(err)), FGSD_OK);
    fgsd_session_free(s);
}

static void test_host_backends_are_quiet(void **state)
{
    static const fgsd_backend_kind kinds[] = {FGSD_BACKEND_CPU, FGSD_BACKEND_REFERENCE};

    for (int i = 0; i < 2; i++) {
        fgsd_session *s = NULL;
        char err[512];

        assert_int_equal(open_session(*state, kinds[i], 1, &s, err, sizeof(err)), FGSD_OK);
        assert_string_equal(fgsd_session_notice(s), "");
        fgsd_session_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cuda_falls_back),
        cmocka_unit_test(test_strict_fails),
        cmocka_unit_test(test_auto_falls_back),
        cmocka_unit_test(test_host_backends_are_quiet),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
