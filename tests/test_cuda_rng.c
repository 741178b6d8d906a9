/* SPDX-License-Identifier: GPL-3.0-or-later
 * The GPU's noise generator (engine/src/cuda/rng_device.h, compiled here as
 * host C) is a faithful transcription of docs/rng.md: bit-identical to
 * engine/src/rng.c on the host for seeds, steps and indices across their
 * ranges.  On the device only CUDA's libm can differ (test_cuda checks the
 * kernel's output there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cuda/rng_device.h"
#include "rng.h"

static void test_same_bits(void **state)
{
    static const uint64_t seeds[] = {0, 1, 1234, 0xFFFFFFFFFFFFFFFFull, 0x9E3779B97F4A7C15ull};
    static const uint32_t steps[] = {0, 1, 2, 999, 0x7FFFFFFFu};
    static const uint32_t starts[] = {0, 1000003, 0xFFFFF000u};

    (void)state;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 5; b++)
            for (int c = 0; c < 3; c++) {
                uint64_t key = rngd_key(seeds[a]);
                for (uint32_t i = 0; i < 4096; i++) {
                    uint32_t idx = starts[c] + i;
                    float want = rng_normal(seeds[a], steps[b], idx);
                    float got = rngd_normal_keyed(key, steps[b], idx);
                    assert_memory_equal(&got, &want, sizeof(float));
                }
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
