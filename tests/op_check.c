/* SPDX-License-Identifier: GPL-3.0-or-later
 * Helpers of the op suites (op_check.h). */
#include "op_check.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

float *random_floats(size_t n, float scale, uint64_t seed)
{
    float *v = malloc((n ? n : 1) * sizeof(float));

    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * (float)((double)(next_random(&seed) >> 11) * 0x1.0p-52 - 1.0);
    return v;
}

float *abs_copy(const float *v, size_t n)
{
    float *a = malloc((n ? n : 1) * sizeof(float));

    assert_non_null(a);
    for (size_t i = 0; i < n; i++)
        a[i] = fabsf(v[i]);
    return a;
}

size_t numel(int c, int h, int w)
{
    return (size_t)c * (size_t)h * (size_t)w;
}

backend_tensor *tensor_with(const backend_ops *ops, backend *be, int c, int h, int w,
                            const float *chw)
{
    backend_tensor *t = ops->tensor_new(be, c, h, w);

    if (!t)
        print_error("%s: tensor_new: %s\n", ops->name, ops->error(be));
    assert_non_null(t);
    if (chw)
        assert_int_equal(ops->upload(be, t, chw), FGSD_OK);
    return t;
}

float *download(const backend_ops *ops, backend *be, const backend_tensor *t, int c, int h, int w)
{
    float *v = malloc(numel(c, h, w) * sizeof(float));

    assert_non_null(v);
    if (ops->download(be, t, v) != FGSD_OK) {
        print_error("%s: download: %s\n", ops->name, ops->error(be));
        fail();
    }
    return v;
}

int compare(const char *what, const float *got, const float *want, const float *scale, size_t n,
            double tol)
{
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        double s = scale ? scale[i] : 1.0;
        double d = fabs((double)got[i] - (double)want[i]);

        if (!(d <= tol * s)) {
            if (bad < 5)
                print_error("%s: [%zu] got %.9g want %.9g (|diff| %.3g > %.3g)\n", what, i,
                            (double)got[i], (double)want[i], d, tol * s);
            bad++;
        }
    }
    return bad;
}
