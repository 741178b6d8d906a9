/* SPDX-License-Identifier: GPL-3.0-or-later
 * The engine through its public API on tiny models: tiling and wrap-around
 * are exact, the sampler is deterministic and cancellable, features honour
 * masks, and bad arguments are refused with the documented codes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fgsd.h"
#include "model_writer.h"
#include "op_check.h"
#include "rng.h"
#include "quilt.h"   /* white box: the heal's squares before the blend */
#include "sampler.h" /* white box: the loop's known-pixel hook */
#include "tiny_model.h"

typedef struct fixture {
    fgsd_model *model;
} fixture;

static int setup(void **state)
{
    char err[256] = "";
    fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->model = test_tiny_model_load(7, err, sizeof(err));
    if (!f->model)
        print_error("tiny model: %s\n", err);
    assert_non_null(f->model);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    fgsd_model_free(f->model);
    free(f);
    return 0;
}

static float *random_image(int w, int h, uint32_t seed)
{
    size_t n = (size_t)w * (size_t)h * 3;
    float *p = malloc(n * sizeof(float));

    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (float)(seed >> 8) / 16777216.0f;
    }
    return p;
}

/* A reference of phi (NULL: none) with the model's data mean as colour. */
static fgsd_reference *ref_of(const fgsd_model *m, const float *phi)
{
    fgsd_model_info info;
    fgsd_reference *r = NULL;

    if (!phi)
        return NULL;
    fgsd_model_get_info(m, &info);
    assert_int_equal(fgsd_reference_from_features(phi, info.feature_dim, info.data_mean, &r),
                     FGSD_OK);
    return r;
}

/* The paper's sampler (no colour lock) conditioned on phi (NULL: none). */
static fgsd_status synth_phi(fgsd_session *s, const fgsd_model *m, fgsd_sampler_params p,
                             const float *phi, int w, int h, float *out,
                             fgsd_sample_stats *stats)
{
    fgsd_reference *r = ref_of(m, phi);
    fgsd_status st;

    p.free_colour = 1;
    st = fgsd_synthesize(s, r, &p, w, h, out, stats);
    fgsd_reference_free(r);
    return st;
}

/* One denoiser pass conditioned on phi (NULL: none). */
static fgsd_status denoise_phi(fgsd_session *s, const fgsd_model *m, const float *x, int w,
                               int h, const float *phi, float *out)
{
    fgsd_reference *r = ref_of(m, phi);
    fgsd_status st = fgsd_denoise(s, r, x, w, h, out);

    fgsd_reference_free(r);
    return st;
}

static fgsd_session *new_session(const fgsd_model *m, int max_tile)
{
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = NULL;
    char err[256];

    o.backend = FGSD_BACKEND_REFERENCE;
    o.max_tile = max_tile;
    assert_int_equal(fgsd_session_create(m, &o, &s, err, sizeof(err)), FGSD_OK);
    return s;
}


/* A tiled pass (staged exact means) equals the whole-image pass.  The tile
 * halo covers the receptive field, so only float rounding differs: the sums
 * of the means run in another order, about 1e-6 relative. */
static void test_tiled_pass_is_exact(void **state)
{
    fixture *f = *state;
    fgsd_model_info info;
    int w = 72, h = 56;
    size_t n = (size_t)w * (size_t)h * 3;
    float *x = random_image(w, h, 1), *ref = random_image(48, 48, 2);
    float *whole = malloc(n * sizeof(float)), *tiled = malloc(n * sizeof(float));
    float *phi;
    fgsd_session *a, *b;

    fgsd_model_get_info(f->model, &info);
    phi = malloc((size_t)info.feature_dim * sizeof(float));
    a = new_session(f->model, 0);
    /* windows of halo + 8 pixels of interior: many tiles */
    b = new_session(f->model, ((info.receptive_field + 1) / 2 + 8) * 2 + 8);
    assert_int_equal(fgsd_features(a, ref, 48, 48, NULL, phi), FGSD_OK);
    assert_int_equal(denoise_phi(a, f->model, x, w, h, phi, whole), FGSD_OK);
    assert_int_equal(denoise_phi(b, f->model, x, w, h, phi, tiled), FGSD_OK);
    assert_true(max_abs_diff(whole, tiled, n) <= 1e-5 * (1.0 + max_abs(whole, n)));
    /* and unconditioned */
    assert_int_equal(denoise_phi(a, f->model, x, w, h, NULL, whole), FGSD_OK);
    assert_int_equal(denoise_phi(b, f->model, x, w, h, NULL, tiled), FGSD_OK);
    assert_true(max_abs_diff(whole, tiled, n) <= 1e-5 * (1.0 + max_abs(whole, n)));
    fgsd_session_free(a);
    fgsd_session_free(b);
    free(x);
    free(ref);
    free(whole);
    free(tiled);
    free(phi);
}

/* The noise is a function of its index alone: drawn on several threads, or
 * one channel at a time, it equals the one-thread draw bit for bit. */
static void test_noise_threads(void **state)
{
    size_t n = 3 * 173 * 101;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));

    (void)state;
    assert_true(a && b);
    rng_normal_fill(42, 9, 5, n, a);
    for (int threads = 0; threads <= 3; threads++) {
        memset(b, 0, n * sizeof(float));
        rng_normal_fill_threads(42, 9, 5, n, b, threads);
        assert_memory_equal(a, b, n * sizeof(float));
    }
    rng_normal_fill_threads(42, 9, 5, 7, b, 2); /* below the threshold: one thread */
    assert_memory_equal(a, b, 7 * sizeof(float));
    /* one channel of an interleaved image (the sampler's draw): every third
     * value of the whole draw, on any thread count */
    for (int c = 0; c < 3; c++)
        for (int threads = 1; threads <= 3; threads += 2) {
            memset(b, 0, n * sizeof(float));
            rng_normal_fill_strided(42, 9, 5 + (uint32_t)c, 3, n / 3, b, threads);
            for (size_t i = 0; i < n / 3; i++)
                assert_true(memcmp(&b[i], &a[3 * i + (size_t)c], sizeof(float)) == 0);
        }
    free(a);
    free(b);
}

/* The sampler: same seed, same result; tiled (extrapolated means) close to whole. */
static void test_sampler_deterministic_and_tiled(void **state)
{
    fixture *f = *state;
    fgsd_model_info info;
    int w = 80, h = 56;
    size_t n = (size_t)w * (size_t)h * 3;
    float *ref = random_image(48, 48, 3), *phi;
    float *o1 = malloc(n * sizeof(float)), *o2 = malloc(n * sizeof(float));
    float *o3 = malloc(n * sizeof(float));
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_sample_stats st1, st2, st3;
    fgsd_session *a, *b;

    fgsd_model_get_info(f->model, &info);
    phi = malloc((size_t)info.feature_dim * sizeof(float));
    a = new_session(f->model, 0);
    b = new_session(f->model, ((info.receptive_field + 1) / 2 + 8) * 2 + 8);
    assert_int_equal(fgsd_features(a, ref, 48, 48, NULL, phi), FGSD_OK);
    p.seed = 11;
    p.max_steps = 12;
    assert_int_equal(synth_phi(a, f->model, p, phi, w, h, o1, &st1), FGSD_OK);
    assert_int_equal(synth_phi(a, f->model, p, phi, w, h, o2, &st2), FGSD_OK);
    assert_memory_equal(o1, o2, n * sizeof(float));
    assert_int_equal(st1.steps, st2.steps);
    assert_int_equal(st1.tiles, 1);
    /* The first pass of a tiled run uses exact (staged) means, as does every
     * DENOISE_EXACT_EVERY-th; the passes between extrapolate them.  An
     * untrained random net is far from smooth in x, so only the exact first
     * pass is compared tightly here; whole runs are compared on the trained
     * model (tests/python/test_engine_vs_torch.py). */
    for (int steps = 1; steps <= 3; steps++) {
        p.max_steps = steps;
        assert_int_equal(synth_phi(a, f->model, p, phi, w, h, o1, &st1), FGSD_OK);
        assert_int_equal(synth_phi(b, f->model, p, phi, w, h, o3, &st3), FGSD_OK);
        assert_true(st3.tiles > 1);
        assert_int_equal(st3.steps, st1.steps);
        print_message("# tiled sampler, %d steps: %d tiles, max |diff| %.3g of max %.3g\n", steps,
                      st3.tiles, max_abs_diff(o1, o3, n), max_abs(o1, n));
        if (steps == 1)
            assert_true(max_abs_diff(o1, o3, n) <= 1e-5 * (1.0 + max_abs(o1, n)));
    }
    p.seed = 12;
    assert_int_equal(synth_phi(a, f->model, p, phi, w, h, o2, NULL), FGSD_OK);
    assert_true(max_abs_diff(o1, o2, n) > 1e-3);
    fgsd_session_free(a);
    fgsd_session_free(b);
    free(ref);
    free(phi);
    free(o1);
    free(o2);
    free(o3);
}

/* Wrap-around: rolling the input by a multiple of the size multiple rolls the
 * output (a periodic canvas has no edges), in one tile or several. */
static void roll(const float *in, float *out, int w, int h, int dx, int dy)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                out[(((size_t)((y + dy) % h)) * (size_t)w + (size_t)((x + dx) % w)) * 3 +
                    (size_t)c] = in[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
}

static int cancel_after(void *user, int step, float sigma, float fraction)
{
    (void)sigma;
    (void)fraction;
    return step >= *(int *)user;
}

static void test_tileable_is_periodic(void **state)
{
    fixture *f = *state;
    fgsd_model_info info;
    int w = 48, h = 40;
    size_t n = (size_t)w * (size_t)h * 3;
    float *init = random_image(w, h, 5), *rolled = malloc(n * sizeof(float));
    float *o1 = malloc(n * sizeof(float)), *o2 = malloc(n * sizeof(float));
    float *o1r = malloc(n * sizeof(float));
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *a;

    fgsd_model_get_info(f->model, &info);
    a = new_session(f->model, 0);
    /* sigma0 = 0 and one step: a single periodic denoiser pass, no noise */
    p.tileable = 1;
    p.max_steps = 1;
    p.free_colour = 1;
    assert_int_equal(fgsd_denoise_iterate(a, NULL, &p, init, w, h, o1, NULL), FGSD_OK);
    roll(init, rolled, w, h, 2 * info.size_multiple, info.size_multiple);
    assert_int_equal(fgsd_denoise_iterate(a, NULL, &p, rolled, w, h, o2, NULL), FGSD_OK);
    roll(o1, o1r, w, h, 2 * info.size_multiple, info.size_multiple);
    assert_true(max_abs_diff(o1r, o2, n) <= 1e-5 * (1.0 + max_abs(o2, n)));
    fgsd_session_free(a);
    free(init);
    free(rolled);
    free(o1);
    free(o2);
    free(o1r);
}

static void test_cancel_leaves_output(void **state)
{
    fixture *f = *state;
    int w = 32, h = 32, stop = 2;
    size_t n = (size_t)w * (size_t)h * 3;
    float *out = malloc(n * sizeof(float));
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *s = NULL;
    char err[256];

    o.backend = FGSD_BACKEND_REFERENCE;
    o.progress = cancel_after;
    o.progress_user = &stop;
    assert_int_equal(fgsd_session_create(f->model, &o, &s, err, sizeof(err)), FGSD_OK);
    for (size_t i = 0; i < n; i++)
        out[i] = 42.0f;
    p.max_steps = 50;
    assert_int_equal(synth_phi(s, f->model, p, NULL, w, h, out, NULL), FGSD_ERR_CANCELLED);
    for (size_t i = 0; i < n; i++)
        assert_true(out[i] == 42.0f);
    assert_true(strlen(fgsd_session_last_error(s)) > 0);
    fgsd_session_free(s);
    free(out);
}

/* A synthesis keeps its reference's colour (the result's channel means are
 * it, tiled and whole alike) unless free_colour; fgsd_reference_measure's
 * colour weighs by the mask. */
static void test_sample_keeps_colour(void **state)
{
    fixture *f = *state;
    int w = 96, h = 48;
    size_t n = (size_t)w * (size_t)h * 3;
    const float colour[3] = {0.7f, 0.2f, 0.45f};
    fgsd_model_info info;
    float *out = malloc(n * sizeof(float)), *img = malloc(n * sizeof(float));
    float *mask = malloc((size_t)w * (size_t)h * sizeof(float)), got[3];
    float *phi;
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *s = NULL;
    fgsd_reference *r = NULL;

    assert_non_null(out);
    assert_non_null(img);
    assert_non_null(mask);
    fgsd_model_get_info(f->model, &info);
    phi = calloc((size_t)info.feature_dim, sizeof(float));
    assert_int_equal(fgsd_reference_from_features(phi, info.feature_dim, colour, &r), FGSD_OK);
    for (int tiled = 0; tiled < 2; tiled++) {
        /* the smallest window that leaves the halo an interior of 8+ px */
        s = new_session(f->model, tiled ? ((info.receptive_field + 1) / 2 + 8) * 2 + 8 : 0);
        p.max_steps = 4;
        for (int free_colour = 0; free_colour < 2; free_colour++) {
            double worst = 0.0;

            p.free_colour = free_colour;
            assert_int_equal(fgsd_synthesize(s, r, &p, w, h, out, NULL), FGSD_OK);
            for (int c = 0; c < 3; c++) {
                double sum = 0.0;

                for (size_t i = (size_t)c; i < n; i += 3)
                    sum += out[i];
                worst = fmax(worst, fabs(sum / (double)(n / 3) - colour[c]));
            }
            if (free_colour)
                assert_true(worst > 1e-3);
            else
                assert_true(worst < 1e-5);
        }
        p.free_colour = 0;
        fgsd_session_free(s);
    }
    fgsd_reference_free(r);
    /* Left half red, right half blue; the mask selects the left half only,
     * with weight 0.5 on its first column. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float *px = img + 3 * ((size_t)y * (size_t)w + (size_t)x);
            px[0] = x < w / 2 ? 1.0f : 0.0f;
            px[1] = 0.0f;
            px[2] = x < w / 2 ? 0.0f : 1.0f;
            mask[(size_t)y * (size_t)w + (size_t)x] = x < w / 2 ? (x == 0 ? 0.5f : 1.0f) : 0.0f;
        }
    s = new_session(f->model, 0);
    assert_int_equal(fgsd_reference_measure(s, img, w, h, mask, &r), FGSD_OK);
    fgsd_reference_colour(r, got);
    assert_true(fabsf(got[0] - 1.0f) < 1e-6f && fabsf(got[2]) < 1e-6f);
    fgsd_reference_free(r);
    assert_int_equal(fgsd_reference_measure(s, img, w, h, NULL, &r), FGSD_OK);
    fgsd_reference_colour(r, got);
    assert_true(fabsf(got[0] - 0.5f) < 1e-6f && fabsf(got[2] - 0.5f) < 1e-6f);
    fgsd_reference_free(r);
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        mask[i] = 0.0f;
    assert_int_equal(fgsd_reference_measure(s, img, w, h, mask, &r), FGSD_ERR_TOO_SMALL);
    assert_null(r);
    mask[0] = NAN;
    assert_int_equal(fgsd_reference_measure(s, img, w, h, mask, &r), FGSD_ERR_INVALID_ARGUMENT);
    fgsd_session_free(s);
    free(phi);
    free(out);
    free(img);
    free(mask);
}

/* The loop's known-pixel hook (white box, sampler.h): a run of heal's sampler. */
static fgsd_status run_known(fgsd_session *s, const fgsd_sampler_params *p, const float *known,
                             const float *mask, int w, int h, float *out)
{
    sisa_task t = {.p = p, .width = w, .height = h, .seed = p->seed, .sigma0 = p->sigma0,
                   .colour = {0.5f, 0.5f, 0.5f}, .known = known, .known_mask = mask};

    return sisa_run(s, &t, out, NULL);
}

/* Known pixels (heal): the result is the known image exactly where the mask
 * is 1, the hole is drawn and follows what surrounds it, runs repeat; heal
 * refuses a hole outside [0, 1], no parameters and no output. */
static void test_heal_keeps_known_pixels(void **state)
{
    fixture *f = *state;
    int w = 64, h = 48;
    size_t np = (size_t)w * (size_t)h, n = np * 3;
    float *known = random_image(w, h, 11), *other = malloc(n * sizeof(float));
    float *mask = malloc(np * sizeof(float)), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float));
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *s = new_session(f->model, 0);
    double hole_diff = 0.0, hole_other = 0.0;

    assert_non_null(other);
    assert_non_null(mask);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[(size_t)y * (size_t)w + (size_t)x] =
                x >= 24 && x < 40 && y >= 16 && y < 32 ? 0.0f : 1.0f;
    for (size_t i = 0; i < n; i++)
        other[i] = 1.0f - known[i];
    p.max_steps = 6;
    p.seed = 5;
    assert_int_equal(run_known(s, &p, known, mask, w, h, a), FGSD_OK);
    assert_int_equal(run_known(s, &p, known, mask, w, h, b), FGSD_OK);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_int_equal(run_known(s, &p, other, mask, w, h, c), FGSD_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(a[i]));
        if (mask[i / 3] == 1.0f) {
            assert_true(a[i] == known[i]);
            assert_true(c[i] == other[i]);
        } else {
            hole_diff = fmax(hole_diff, fabs((double)a[i] - known[i]));
            hole_other = fmax(hole_other, fabs((double)a[i] - c[i]));
        }
    }
    assert_true(hole_diff > 1e-3); /* the hole is drawn, not copied */
    assert_true(hole_other > 1e-3); /* and depends on the known pixels */

    /* mask is 1 - hole: as a hole it is 1 in the middle square. */
    mask[3] = 1.5f;
    assert_int_equal(fgsd_heal(s, NULL, &p, known, mask, w, h, 8, a, NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "[0, 1]"));
    mask[3] = NAN;
    assert_int_equal(fgsd_heal(s, NULL, &p, known, mask, w, h, 8, a, NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    /* No parameters or no output: an error, not a crash. */
    mask[3] = 1.0f;
    assert_int_equal(fgsd_heal(s, NULL, NULL, known, mask, w, h, 8, a, NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_heal(s, NULL, &p, known, mask, w, h, 8, NULL, NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_synthesize(s, NULL, NULL, w, h, a, NULL), FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_synthesize(s, NULL, &p, w, h, NULL, NULL), FGSD_ERR_INVALID_ARGUMENT);
    fgsd_session_free(s);
    free(known);
    free(other);
    free(mask);
    free(a);
    free(b);
    free(c);
}

/* fgsd_heal_band: the pixels within the band's Chebyshev distance of a hole
 * pixel, weighted by 1 - hole, also at the image's edge. */
static void test_heal_band(void **state)
{
    int w = 20, h = 16, count = 0;
    float hole[20 * 16] = {0}, band[20 * 16];

    (void)state;
    hole[10 * w + 10] = 1.0f; /* the middle: a 5x5 square less its centre */
    hole[0] = 1.0f;           /* a corner: 3x3 less the corner */
    hole[10 * w + 11] = 0.5f; /* soft: counts half in the band */
    assert_int_equal(fgsd_heal_band(hole, w, h, 2, band), FGSD_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = band[y * w + x];
            int near_mid = abs(x - 10) <= 2 && abs(y - 10) <= 2;
            int near_soft = abs(x - 11) <= 2 && abs(y - 10) <= 2;
            int near_corner = x <= 2 && y <= 2;
            float want = near_mid || near_soft || near_corner ? 1.0f - hole[y * w + x] : 0.0f;

            assert_true(v == want);
            count += v > 0.0f;
        }
    assert_int_equal(count, 24 + 5 + 8); /* the soft pixel's column adds 5 */
    hole[5] = -0.1f;
    assert_int_equal(fgsd_heal_band(hole, w, h, 2, band), FGSD_ERR_INVALID_ARGUMENT);
    hole[5] = 0.0f;
    assert_int_equal(fgsd_heal_band(hole, w, h, 0, band), FGSD_ERR_INVALID_ARGUMENT);
}

/* fgsd_heal: pixels outside the hole come back unchanged, the hole is
 * drawn; a band too narrow for a reference and an empty hole are refused;
 * in-place works and repeats. */
static void test_heal(void **state)
{
    fixture *f = *state;
    int w = 112, h = 80;
    size_t np = (size_t)w * (size_t)h, n = np * 3;
    float *img = random_image(w, h, 21), *hole = calloc(np, sizeof(float));
    float *out = malloc(n * sizeof(float)), *again = malloc(n * sizeof(float));
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *s = new_session(f->model, 0);
    fgsd_sample_stats st;
    double changed = 0.0;

    assert_non_null(hole);
    assert_non_null(out);
    assert_non_null(again);
    p.max_steps = 4;
    p.seed = 9;
    assert_int_equal(fgsd_heal(s, NULL, &p, img, hole, w, h, 24, out, NULL),
                     FGSD_ERR_TOO_SMALL);
    for (int y = 32; y < 48; y++)
        for (int x = 48; x < 64; x++)
            hole[(size_t)y * (size_t)w + (size_t)x] = 1.0f;
    assert_int_equal(fgsd_heal(s, NULL, &p, img, hole, w, h, 4, out, NULL), FGSD_ERR_TOO_SMALL);
    assert_non_null(strstr(fgsd_session_last_error(s), "widen the band"));
    /* The message quotes its cause once (it was formatted into the buffer
     * it read from: doubled text and an empty "()"). */
    assert_null(strstr(fgsd_session_last_error(s), "()"));
    assert_non_null(strstr(fgsd_session_last_error(s), "selected pixels"));
    assert_null(strstr(strstr(fgsd_session_last_error(s), "too small") + 1, "too small"));
    assert_int_equal(fgsd_heal(s, NULL, &p, img, hole, w, h, 24, out, &st), FGSD_OK);
    assert_true(st.steps >= 1 && st.steps <= 4);
    for (size_t i = 0; i < n; i++) {
        if (hole[i / 3] == 0.0f)
            assert_true(out[i] == img[i]);
        else
            changed = fmax(changed, fabs((double)out[i] - img[i]));
    }
    assert_true(changed > 1e-3);
    memcpy(again, img, n * sizeof(float));
    assert_int_equal(fgsd_heal(s, NULL, &p, again, hole, w, h, 24, again, NULL), FGSD_OK);
    assert_memory_equal(again, out, n * sizeof(float));
    fgsd_session_free(s);
    free(img);
    free(hole);
    free(out);
    free(again);
}

/* Heal from patches on a lattice (heal_offset.h): where the ring of held
 * pixels repeats elsewhere in the image or in a reference, the hole is
 * cloned from there, so the lattice continues across it exactly; the
 * squares alone cannot (the random image of test_heal_from_patches keeps
 * them). */
static void test_heal_lattice(void **state)
{
    fixture *f = *state;
    int w = 160, h = 160, px = 23, py = 17;
    size_t np = (size_t)w * (size_t)h, n = np * 3;
    float *cell = random_image(px, py, 41), *img = malloc(n * sizeof(float));
    float *hole = calloc(np, sizeof(float)), *out = malloc(n * sizeof(float));
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_session *s = new_session(f->model, 0);
    assert_true(img && hole && out);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(img + ((size_t)y * (size_t)w + (size_t)x) * 3,
                   cell + ((size_t)(y % py) * (size_t)px + (size_t)(x % px)) * 3, 3 * sizeof(float));
    for (int y = 68; y < 92; y++)
        for (int x = 68; x < 92; x++)
            hole[(size_t)y * (size_t)w + (size_t)x] = 1.0f;
    q.seed = 2;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_OK);
    assert_true(max_abs_diff(out, img, n) < 1e-6);
    /* From a reference of the same lattice in another phase and size: the
     * clone comes from there; with the reference's selection leaving out
     * every place that fits, the squares fill the hole instead. */
    {
        int rw = 90, rh = 80;
        float *ref = malloc((size_t)rw * (size_t)rh * 3 * sizeof(float));
        float *sel = malloc((size_t)rw * (size_t)rh * sizeof(float));

        assert_true(ref && sel);
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                memcpy(ref + ((size_t)y * (size_t)rw + (size_t)x) * 3,
                       cell + ((size_t)((y + 5) % py) * (size_t)px + (size_t)((x + 11) % px)) * 3,
                       3 * sizeof(float));
                sel[(size_t)y * (size_t)rw + (size_t)x] = x < 40 ? 1.0f : 0.0f;
            }
        assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, ref, NULL, rw, rh,
                                                out),
                         FGSD_OK);
        assert_true(max_abs_diff(out, img, n) < 1e-6);
        assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, ref, sel, rw, rh, out),
                         FGSD_OK);
        assert_true(max_abs_diff(out, img, n) > 1e-3);
        free(ref);
        free(sel);
    }
    fgsd_session_free(s);
    free(cell);
    free(img);
    free(hole);
    free(out);
}

/* Heal from patches: pixels outside the hole kept bit for bit; every hole
 * pixel of a hard hole is a pixel of the band (a copy, not a blend); a
 * soft edge blends; a band too thin for a square, an empty hole and bad
 * settings are refused; a reference image is used instead of the band; the
 * same seed gives the same fill, in place too. */
static void test_heal_from_patches(void **state)
{
    fixture *f = *state;
    int w = 96, h = 80;
    size_t np = (size_t)w * (size_t)h, n = np * 3;
    float *img = random_image(w, h, 31), *hole = calloc(np, sizeof(float));
    float *band = malloc(np * sizeof(float));
    float *out = malloc(n * sizeof(float)), *again = malloc(n * sizeof(float));
    float *src = random_image(40, 40, 32);
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_session *s = new_session(f->model, 0);

    q.seed = 4;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_ERR_TOO_SMALL);
    assert_non_null(strstr(fgsd_session_last_error(s), "empty"));
    for (int y = 30; y < 50; y++)
        for (int x = 36; x < 60; x++)
            hole[(size_t)y * (size_t)w + (size_t)x] = 1.0f;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_OK);
    for (size_t i = 0; i < np; i++)
        if (hole[i] == 0.0f)
            assert_memory_equal(out + 3 * i, img + 3 * i, 3 * sizeof(float));
    /* Before the blend (white box): every hole pixel is a copy of a band
     * pixel. */
    assert_int_equal(fgsd_heal_band(hole, w, h, 24, band), FGSD_OK);
    memcpy(again, img, n * sizeof(float));
    assert_int_equal(quilt_heal(s, img, band, 1, w, h, 18, &q, hole, 36, 30, 24, 20, w, h, again,
                                NULL),
                     FGSD_OK);
    for (size_t i = 0; i < np; i++) {
        int found = hole[i] == 0.0f;
        for (size_t j = 0; j < np && !found; j++)
            found = band[j] == 1.0f && memcmp(again + 3 * i, img + 3 * j, 3 * sizeof(float)) == 0;
        assert_true(found);
    }
    memcpy(again, img, n * sizeof(float));
    assert_int_equal(fgsd_heal_from_patches(s, &q, again, hole, w, h, 24, NULL, NULL, 0, 0, again),
                     FGSD_OK);
    assert_memory_equal(again, out, n * sizeof(float));

    /* from a reference image: another fill, the outside kept; before the
     * blend the hole's pixels are the reference's */
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, src, NULL, 40, 40, out),
                     FGSD_OK);
    assert_true(max_abs_diff(out, again, n) > 0.05);
    for (size_t i = 0; i < np; i++)
        if (hole[i] == 0.0f)
            assert_memory_equal(out + 3 * i, img + 3 * i, 3 * sizeof(float));
    memcpy(again, img, n * sizeof(float));
    assert_int_equal(quilt_heal(s, src, NULL, 0, 40, 40, 15, &q, hole, 36, 30, 24, 20, w, h,
                                again, NULL),
                     FGSD_OK);
    for (size_t i = 0; i < np; i++) {
        int found = hole[i] == 0.0f;
        for (size_t j = 0; j < 40 * 40 && !found; j++)
            found = memcmp(again + 3 * i, src + 3 * j, 3 * sizeof(float)) == 0;
        assert_true(found);
    }

    /* The blend: on a ramp the squares' levels do not match where they
     * land; the step across the hole's edge shrinks. */
    {
        float *ramp = malloc(n * sizeof(float)), *plain = malloc(n * sizeof(float));
        float *shadow = malloc(n * sizeof(float));
        double step_plain = 0.0, step_blend = 0.0, step_own = 0.0;
        int count = 0;

        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    ramp[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] =
                        0.2f + 0.006f * (float)x + 0.05f * sinf(0.8f * (float)x + (float)c) *
                                                       sinf(0.9f * (float)y);
        memcpy(plain, ramp, n * sizeof(float));
        memcpy(shadow, ramp, n * sizeof(float));
        assert_int_equal(quilt_heal(s, ramp, band, 1, w, h, 18, &q, hole, 36, 30, 24, 20, w, h,
                                    plain, shadow),
                         FGSD_OK);
        assert_int_equal(fgsd_heal_from_patches(s, &q, ramp, hole, w, h, 24, NULL, NULL, 0, 0,
                                                out),
                         FGSD_OK);
        for (int y = 30; y < 50; y++) /* the left and right edges of the hole */
            for (int c = 0; c < 3; c++) {
                size_t l = ((size_t)y * (size_t)w + 36) * 3 + (size_t)c;
                size_t r = ((size_t)y * (size_t)w + 59) * 3 + (size_t)c;

                step_plain += fabs(plain[l] - ramp[l - 3]) + fabs(plain[r] - ramp[r + 3]);
                step_blend += fabs(out[l] - ramp[l - 3]) + fabs(out[r] - ramp[r + 3]);
                step_own += fabs(ramp[l] - ramp[l - 3]) + fabs(ramp[r] - ramp[r + 3]);
                count += 2;
            }
        step_plain /= count;
        step_blend /= count;
        step_own /= count;
        print_message("# heal edge step: squares %.4f, blended %.4f, the image's own %.4f\n",
                      step_plain, step_blend, step_own);
        /* what the edge adds to the image's own step halves at least */
        assert_true(step_blend - step_own < 0.5 * (step_plain - step_own));
        free(ramp);
        free(plain);
        free(shadow);
    }

    /* a soft edge blends squares and image */
    hole[(size_t)30 * (size_t)w + 36] = 0.5f;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_OK);
    hole[(size_t)30 * (size_t)w + 36] = 1.0f;

    /* refusals, output untouched */
    memcpy(again, out, n * sizeof(float));
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 8, NULL, NULL, 0, 0, out),
                     FGSD_OK); /* 3/4 of 8 is below 8: squares of 8, which the band holds */
    memcpy(out, again, n * sizeof(float));
    q.patch = 40; /* no 40x40 square fits in a 24-px band */
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_ERR_TOO_SMALL);
    assert_non_null(strstr(fgsd_session_last_error(s), "widen the band"));
    q.patch = 5;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_ERR_INVALID_ARGUMENT);
    q = fgsd_patch_params_default();
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 4, NULL, NULL, 0, 0, out),
                     FGSD_ERR_TOO_SMALL); /* no 8x8 square in a 4-px band */
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 0, NULL, NULL, 0, 0, out),
                     FGSD_ERR_INVALID_ARGUMENT);
    hole[0] = 2.0f;
    assert_int_equal(fgsd_heal_from_patches(s, &q, img, hole, w, h, 24, NULL, NULL, 0, 0, out),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_memory_equal(again, out, n * sizeof(float));
    fgsd_session_free(s);
    free(img);
    free(hole);
    free(band);
    free(out);
    free(again);
    free(src);
}

static void test_features_mask(void **state)
{
    fixture *f = *state;
    fgsd_model_info info;
    int w = 64, h = 64;
    size_t np = (size_t)w * (size_t)h;
    float *img = random_image(w, h, 9), *mask = malloc(np * sizeof(float));
    float *p1, *p2, *p3;
    fgsd_session *s = new_session(f->model, 0);
    double d = 0.0;

    fgsd_model_get_info(f->model, &info);
    p1 = malloc((size_t)info.feature_dim * sizeof(float));
    p2 = malloc((size_t)info.feature_dim * sizeof(float));
    p3 = malloc((size_t)info.feature_dim * sizeof(float));
    for (size_t i = 0; i < np; i++)
        mask[i] = 1.0f;
    assert_int_equal(fgsd_features(s, img, w, h, NULL, p1), FGSD_OK);
    assert_int_equal(fgsd_features(s, img, w, h, mask, p2), FGSD_OK);
    assert_memory_equal(p1, p2, (size_t)info.feature_dim * sizeof(float));
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[(size_t)y * (size_t)w + (size_t)x] = x < w / 2 ? 1.0f : 0.0f;
    assert_int_equal(fgsd_features(s, img, w, h, mask, p3), FGSD_OK);
    for (int i = 0; i < info.feature_dim; i++)
        d += fabs((double)p3[i] - p1[i]);
    assert_true(d > 1e-4);
    /* too few selected pixels */
    for (size_t i = 0; i < np; i++)
        mask[i] = i < 100 ? 1.0f : 0.0f;
    assert_int_equal(fgsd_features(s, img, w, h, mask, p3), FGSD_ERR_TOO_SMALL);
    mask[5] = NAN;
    assert_int_equal(fgsd_features(s, img, w, h, mask, p3), FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_features(s, img, 16, 16, NULL, p3), FGSD_ERR_TOO_SMALL);
    fgsd_session_free(s);
    free(img);
    free(mask);
    free(p1);
    free(p2);
    free(p3);
}

/* phi of a window-sized piece of img (x0, 0, 32 x 32), accumulated with weight wt. */
static void add_window_phi(fgsd_session *s, const float *img, int w, int x0, double wt,
                           int dim, double *acc)
{
    float sub[32 * 32 * 3], *phi = malloc((size_t)dim * sizeof(float));

    for (int y = 0; y < 32; y++)
        memcpy(sub + (size_t)y * 32 * 3, img + ((size_t)y * (size_t)w + (size_t)x0) * 3,
               32 * 3 * sizeof(float));
    assert_int_equal(fgsd_features(s, sub, 32, 32, NULL, phi), FGSD_OK);
    for (int i = 0; i < dim; i++)
        acc[i] += wt * phi[i];
    free(phi);
}

/* The tiny test model with metadata feature_window = window. */
static fgsd_model *window_model(const char *window)
{
    test_model_arch a = test_model_arch_tiny();
    test_model tm;
    unsigned char *buf;
    size_t len;
    fgsd_model *m = NULL;
    char msg[256];

    assert_int_equal(test_model_make(&a, 7, TEST_MODEL_F32, &tm), 0);
    assert_int_equal(test_model_set_meta(&tm, "feature_window", window), 0);
    assert_int_equal(test_model_serialize(&tm, &buf, &len), 0);
    test_model_free(&tm);
    assert_int_equal(fgsd_model_load_memory(buf, len, &m, msg, sizeof(msg)), FGSD_OK);
    free(buf);
    return m;
}

/* A model with feature_window measures a larger reference as the mean of
 * its windows' phi, weighted by their selected pixels (features.c). */
/* A reference measured at fewer scales holds those scales' phi and colour
 * to the bit as the whole measure does, and no more. */
static void test_reference_scales(void **state)
{
    fixture *f = *state;
    int w = 128, h = 128, dim = fgsd_model_feature_dim(f->model);
    float *img = random_image(w, h, 23), all_colour[3], colour[3];
    fgsd_session *s = new_session(f->model, 0);
    fgsd_reference *all = NULL, *r = NULL;

    assert_int_equal(fgsd_reference_measure(s, img, w, h, NULL, &all), FGSD_OK);
    assert_true(fgsd_reference_levels(all) >= 3);
    fgsd_reference_colour(all, all_colour);
    for (int scales = 1; scales <= 2; scales++) {
        assert_int_equal(fgsd_reference_measure_scales(s, img, w, h, NULL, scales, &r), FGSD_OK);
        assert_int_equal(fgsd_reference_levels(r), scales);
        for (int l = 0; l < scales; l++)
            assert_memory_equal(fgsd_reference_features(r, l), fgsd_reference_features(all, l),
                                (size_t)dim * sizeof(float));
        assert_null(fgsd_reference_features(r, scales));
        fgsd_reference_colour(r, colour);
        assert_memory_equal(colour, all_colour, sizeof(colour));
        fgsd_reference_free(r);
    }
    /* Below 1: every scale, as fgsd_reference_measure. */
    assert_int_equal(fgsd_reference_measure_scales(s, img, w, h, NULL, 0, &r), FGSD_OK);
    assert_int_equal(fgsd_reference_levels(r), fgsd_reference_levels(all));
    fgsd_reference_free(r);
    fgsd_reference_free(all);
    fgsd_session_free(s);
    free(img);
}

static void test_features_window(void **state)
{
    fixture *f = *state;
    fgsd_model *m = NULL;
    fgsd_model_info info;
    int w = 128, h = 32; /* four 32x32 windows side by side */
    float *img = random_image(w, h, 21), *mask = malloc((size_t)w * h * sizeof(float));
    float *got, *whole;
    double *want, err = 0.0, d = 0.0, scale = 0.0;
    fgsd_session *s, *plain = new_session(f->model, 0);

    m = window_model("32");
    fgsd_model_get_info(m, &info);
    assert_int_equal(info.feature_window, 32);
    s = new_session(m, 0);
    got = malloc((size_t)info.feature_dim * sizeof(float));
    whole = malloc((size_t)info.feature_dim * sizeof(float));
    want = calloc((size_t)info.feature_dim, sizeof(double));

    /* No mask: the plain mean of the four windows' phi. */
    assert_int_equal(fgsd_features(s, img, w, h, NULL, got), FGSD_OK);
    for (int x0 = 0; x0 < w; x0 += 32)
        add_window_phi(s, img, w, x0, 0.25, info.feature_dim, want);
    for (int i = 0; i < info.feature_dim; i++) {
        err = fmax(err, fabs(got[i] - want[i]));
        scale = fmax(scale, fabs(want[i]));
    }
    assert_true(err <= 1e-5 * scale);
    /* ... which is not what the same weights give for the whole at once. */
    assert_int_equal(fgsd_features(plain, img, w, h, NULL, whole), FGSD_OK);
    for (int i = 0; i < info.feature_dim; i++)
        d = fmax(d, fabs(whole[i] - got[i]));
    assert_true(d > 1e-3 * scale);

    /* A mask: windows weigh by their selected pixels (1, 1, 0.5, 0); the
     * unselected last window adds nothing. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            mask[(size_t)y * w + (size_t)x] = x < 64 ? 1.0f : x < 96 ? 0.5f : 0.0f;
    memset(want, 0, (size_t)info.feature_dim * sizeof(double));
    add_window_phi(s, img, w, 0, 1.0 / 2.5, info.feature_dim, want);
    add_window_phi(s, img, w, 32, 1.0 / 2.5, info.feature_dim, want);
    add_window_phi(s, img, w, 64, 0.5 / 2.5, info.feature_dim, want);
    assert_int_equal(fgsd_features(s, img, w, h, mask, got), FGSD_OK);
    err = 0.0;
    for (int i = 0; i < info.feature_dim; i++)
        err = fmax(err, fabs(got[i] - want[i]));
    assert_true(err <= 1e-5 * scale);

    fgsd_session_free(s);
    fgsd_session_free(plain);
    fgsd_model_free(m);
    free(img);
    free(mask);
    free(got);
    free(whole);
    free(want);
}

typedef struct
{
    int calls, cancel_at;
    float last;
    int increasing;
} window_progress;

static int count_windows(void *user, int step, float sigma, float fraction)
{
    window_progress *w = user;

    (void)step;
    (void)sigma;
    w->increasing &= fraction > w->last;
    w->last = fraction;
    return ++w->calls == w->cancel_at;
}

/* A reference of more than 16 windows a side is measured on an even 16 x 16
 * sample of them (bounded time), says so in the notice, reports progress per
 * window and stops at a cancel (issue 21: a 20000 x 20000 reference ran for
 * ten minutes, deaf to Ctrl-C). */
static void test_features_window_sample(void **state)
{
    fgsd_model *m = NULL;
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = NULL;
    window_progress wp = {0, 0, 0.0f, 1};
    int w = 32 * 20, h = 32 * 2; /* 20 x 2 windows: 16 x 2 measured */
    float *img = random_image(w, h, 5), phi[512];
    char msg[256];

    (void)state;
    m = window_model("32");
    assert_true(fgsd_model_feature_dim(m) <= 512);
    o.backend = FGSD_BACKEND_REFERENCE;
    o.progress = count_windows;
    o.progress_user = &wp;
    assert_int_equal(fgsd_session_create(m, &o, &s, msg, sizeof(msg)), FGSD_OK);
    assert_int_equal(fgsd_features(s, img, w, h, NULL, phi), FGSD_OK);
    assert_int_equal(wp.calls, 32);
    assert_true(wp.increasing && wp.last == 1.0f);
    assert_non_null(strstr(fgsd_session_notice(s), "measured on 32 of its 40 windows"));
    wp = (window_progress){0, 3, 0.0f, 1};
    assert_int_equal(fgsd_features(s, img, w, h, NULL, phi), FGSD_ERR_CANCELLED);
    assert_int_equal(wp.calls, 3);
    assert_non_null(strstr(fgsd_session_last_error(s), "window 3 of 32"));
    fgsd_session_free(s);
    fgsd_model_free(m);
    free(img);
}

/* fgsd_task_memory counts each task's full-size buffers: the sampler's three
 * RGB images and its noise's channel, the colour lock's channel, guidance's D0, the levels' two
 * images, heal's region; fgsd_memory_available reads this machine. */
static void test_task_memory(void **state)
{
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    const size_t px = (size_t)100 * 50, f = sizeof(float);
    int limited = -1;

    (void)state;
    assert_int_equal(fgsd_task_memory(FGSD_TASK_SYNTHESIZE, &p, 100, 50), px * 11 * f);
    p.free_colour = 1;
    assert_int_equal(fgsd_task_memory(FGSD_TASK_SYNTHESIZE, &p, 100, 50), px * 10 * f);
    p.free_colour = 0;
    p.guidance = 1.5f;
    assert_int_equal(fgsd_task_memory(FGSD_TASK_SYNTHESIZE, &p, 100, 50), px * 14 * f);
    p.guidance = 0.0f;
    p.levels = 2;
    assert_int_equal(fgsd_task_memory(FGSD_TASK_SYNTHESIZE, &p, 100, 50),
                     (size_t)((double)px * 14.75 * (double)f));
    assert_int_equal(fgsd_task_memory(FGSD_TASK_RESTYLE, &p, 100, 50), px * 11 * f);
    assert_int_equal(fgsd_task_memory(FGSD_TASK_HEAL, NULL, 100, 50), px * 19 * f);
    assert_true(fgsd_memory_available(&limited) > 0);
    assert_true(limited == 0 || limited == 1);
}

static int cancel_half(void *user, int step, float sigma, float fraction)
{
    (void)user;
    (void)step;
    (void)sigma;
    return fraction >= 0.5f;
}

/* The patch start: squares only from inside the reference's mask, the same
 * seed the same quilt, bad settings and cancel leave the output alone, and
 * a strength > 0 runs the sampler from the quilt. */
static void test_patch_start(void **state)
{
    fixture *f = *state;
    int sw = 64, sh = 48, w = 100, h = 80;
    size_t n = (size_t)w * (size_t)h * 3;
    float *src = malloc((size_t)sw * (size_t)sh * 3 * sizeof(float));
    float *mask = malloc((size_t)sw * (size_t)sh * sizeof(float));
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_sample_stats stats = {0};
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = new_session(f->model, 0), *c = NULL;
    char err[256];

    /* left half red and masked out, right half green */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            size_t i = (size_t)y * (size_t)sw + (size_t)x;
            src[3 * i] = x < sw / 2 ? 1.0f : 0.0f;
            src[3 * i + 1] = x < sw / 2 ? 0.0f : 1.0f;
            src[3 * i + 2] = 0.0f;
            mask[i] = x < sw / 2 ? 0.0f : 1.0f;
        }
    q.patch = 16;
    q.candidates = 8;
    q.seed = 7;
    p.sigma0 = 0.0f;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, mask, sw, sh, w, h, a,
                                                  &stats),
                     FGSD_OK);
    assert_int_equal(stats.steps, 0);
    for (size_t i = 0; i < n; i += 3) {
        assert_true(a[i] == 0.0f);
        assert_true(fabsf(a[i + 1] - 1.0f) < 1e-6f);
    }
    /* without the mask red squares appear */
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_OK);
    assert_true(max_abs_diff(a, b, n) > 0.5);
    /* same seed, same quilt; another seed, another */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            for (int ch = 0; ch < 3; ch++)
                src[((size_t)y * (size_t)sw + (size_t)x) * 3 + (size_t)ch] =
                    (float)((x * 7 + y * 13 + ch * 5) % 17) / 16.0f;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, a,
                                                  NULL),
                     FGSD_OK);
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_OK);
    assert_true(max_abs_diff(a, b, n) == 0.0);
    q.seed = 8;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_OK);
    assert_true(max_abs_diff(a, b, n) > 0.1);

    /* bad settings: an error that says which, the output untouched */
    memcpy(b, a, n * sizeof(float));
    q.patch = 4;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "patch size"));
    q = fgsd_patch_params_default();
    q.candidates = 0;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "candidates"));
    q.candidates = FGSD_MAX_PATCH_CANDIDATES + 1;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    q = fgsd_patch_params_default();
    p.tileable = 1;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "tileable"));
    p.tileable = 0;
    mask[5] = 2.0f;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, mask, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "mask"));
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, NULL, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, 4, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_TOO_SMALL);
    assert_true(max_abs_diff(a, b, n) == 0.0);

    /* cancelled halfway through the rows of squares */
    o.backend = FGSD_BACKEND_REFERENCE;
    o.progress = cancel_half;
    assert_int_equal(fgsd_session_create(f->model, &o, &c, err, sizeof(err)), FGSD_OK);
    assert_int_equal(fgsd_synthesize_from_patches(c, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  NULL),
                     FGSD_ERR_CANCELLED);
    assert_true(max_abs_diff(a, b, n) == 0.0);

    /* a strength: the sampler redraws the quilt */
    q.patch = 16;
    q.seed = 7;
    p.sigma0 = 0.3f;
    p.max_steps = 3;
    assert_int_equal(fgsd_synthesize_from_patches(s, NULL, &p, &q, src, NULL, sw, sh, w, h, b,
                                                  &stats),
                     FGSD_OK);
    assert_true(stats.steps >= 1);
    assert_true(max_abs_diff(a, b, n) > 1e-3);
    fgsd_session_free(c);
    fgsd_session_free(s);
    free(src);
    free(mask);
    free(a);
    free(b);
}

/* The restyle from patches (texture transfer): the image's light and dark
 * decide which squares go where (a source half dark, half bright, masked
 * or not), same seed the same result, bad settings and cancel leave the
 * output alone. */
static void test_restyle_from_patches(void **state)
{
    fixture *f = *state;
    int sw = 64, sh = 64, w = 96, h = 64;
    size_t n = (size_t)w * (size_t)h * 3;
    float *src = malloc((size_t)sw * (size_t)sh * 3 * sizeof(float));
    float *mask = malloc((size_t)sw * (size_t)sh * sizeof(float));
    float *img = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float));
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = new_session(f->model, 0), *c = NULL;
    double left = 0.0, right = 0.0;
    char err[256];

    /* source: top half dark blue, bottom half bright yellow; the image:
     * its left third bright, the rest dark grey */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            size_t i = (size_t)y * (size_t)sw + (size_t)x;
            int bright = y >= sh / 2;
            float grain = 0.02f * (float)((x * 7 + y * 13) % 5);
            src[3 * i] = (bright ? 0.9f : 0.1f) + grain;
            src[3 * i + 1] = bright ? 0.9f : 0.1f;
            src[3 * i + 2] = bright ? 0.1f : 0.5f;
            mask[i] = 1.0f;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < 3; ch++)
                img[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)ch] =
                    x < w / 3 ? 0.8f : 0.3f;
    q.patch = 8;
    q.seed = 5;
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, mask, sw, sh, a),
                     FGSD_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float red = a[((size_t)y * (size_t)w + (size_t)x) * 3];

            if (x < w / 3 - 8)
                left += red;
            else if (x >= w / 3 + 8)
                right += red;
        }
    left /= (double)h * (w / 3 - 8);
    right /= (double)h * (w - w / 3 - 8);
    assert_true(left > 0.85 && right < 0.25); /* bright squares left, dark right */
    /* only the bright half selected: bright squares everywhere */
    for (int i = 0; i < sw * sh; i++)
        mask[i] = i / sw >= sh / 2 ? 1.0f : 0.0f;
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, mask, sw, sh, b),
                     FGSD_OK);
    for (size_t i = 0; i < n; i += 3)
        assert_true(b[i] > 0.85f);
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, NULL, sw, sh, a),
                     FGSD_OK);
    q.seed = 6;
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, NULL, sw, sh, b),
                     FGSD_OK);
    assert_true(max_abs_diff(a, b, n) > 0.0);
    q.seed = 5;

    /* bad settings: an error that says which, the output untouched */
    memcpy(b, a, n * sizeof(float));
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 1.5f, img, w, h, src, NULL, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "[0, 1]"));
    assert_int_equal(fgsd_restyle_from_patches(s, &q, NAN, img, w, h, src, NULL, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, NULL, sw, sh, img),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_restyle_from_patches(s, NULL, 0.1f, img, w, h, src, NULL, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, NULL, w, h, src, NULL, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, NULL, 4, sh, b),
                     FGSD_ERR_TOO_SMALL);
    for (int i = 0; i < sw * sh; i++)
        mask[i] = i % sw < 3 ? 1.0f : 0.0f; /* 192 pixels: too few to be a reference */
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, mask, sw, sh, b),
                     FGSD_ERR_TOO_SMALL);
    assert_non_null(strstr(fgsd_session_last_error(s), "selected pixels"));
    for (int i = 0; i < sw * sh; i++)
        mask[i] = i % 3 == 0 ? 1.0f : 0.0f; /* every third column: 1366 pixels, no 32x32
                                               square half inside */
    q.patch = 32;
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, mask, sw, sh, b),
                     FGSD_ERR_TOO_SMALL);
    assert_non_null(strstr(fgsd_session_last_error(s), "no 32x32 square"));
    q.patch = 8;
    mask[0] = -1.0f;
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, mask, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_true(max_abs_diff(a, b, n) == 0.0);

    /* cancelled halfway through the rows of squares */
    o.backend = FGSD_BACKEND_REFERENCE;
    o.progress = cancel_half;
    assert_int_equal(fgsd_session_create(f->model, &o, &c, err, sizeof(err)), FGSD_OK);
    assert_int_equal(fgsd_restyle_from_patches(c, &q, 0.1f, img, w, h, src, NULL, sw, sh, b),
                     FGSD_ERR_CANCELLED);
    assert_true(max_abs_diff(a, b, n) == 0.0);
    fgsd_session_free(c);
    fgsd_session_free(s);
    free(src);
    free(mask);
    free(img);
    free(a);
    free(b);
}

/* The preview's watch: called at step 1 and every `every` steps with the
 * clean estimate at the canvas's size; the last one shown is the result
 * when the run stops on a watched step; a non-zero return cancels. */
typedef struct {
    int calls, last_step, width, height, stop_at, not_finite;
} watch_log;

static int watch_cb(void *user, const float *rgb, int width, int height, int step)
{
    watch_log *l = user;

    l->calls++;
    l->last_step = step;
    l->width = width;
    l->height = height;
    for (int i = 0; i < width * height * 3; i++)
        l->not_finite += !isfinite(rgb[i]);
    return l->stop_at && step >= l->stop_at;
}

static void test_watch(void **state)
{
    fixture *f = *state;
    fgsd_session *s = new_session(f->model, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_sample_stats stats = {0};
    float out[12 * 10 * 3], keep[12 * 10 * 3];
    watch_log l = {0};

    p.seed = 3;
    p.max_steps = 6;
    p.sigma_final = 1e-6f; /* run to the cap */
    fgsd_session_set_watch(s, watch_cb, &l, 2);
    assert_int_equal(synth_phi(s, f->model, p, NULL, 12, 10, out, &stats), FGSD_OK);
    /* steps 1, 2, 4, ... up to the last (the tiny model's safeguard may stop early) */
    assert_true(stats.steps >= 2);
    assert_int_equal(l.calls, 1 + stats.steps / 2);
    assert_int_equal(l.last_step, stats.steps - stats.steps % 2);
    assert_int_equal(l.width, 12);
    assert_int_equal(l.height, 10);
    assert_int_equal(l.not_finite, 0);
    /* a watch that says stop cancels, the output untouched */
    memcpy(keep, out, sizeof out);
    l = (watch_log){.stop_at = 2};
    assert_int_equal(synth_phi(s, f->model, p, NULL, 12, 10, out, NULL), FGSD_ERR_CANCELLED);
    assert_int_equal(l.last_step, 2);
    assert_true(max_abs_diff(keep, out, sizeof out / sizeof *out) == 0.0);
    /* removed: no more calls */
    fgsd_session_set_watch(s, NULL, NULL, 1);
    l = (watch_log){0};
    assert_int_equal(synth_phi(s, f->model, p, NULL, 12, 10, out, NULL), FGSD_OK);
    assert_int_equal(l.calls, 0);
    fgsd_session_free(s);
}

/* The luma mean and population spread of n RGB pixels, as quilt.c's
 * luminance measures an image (each value stored as float). */
static void luma_stats(const float *rgb, size_t n, double *mean, double *std)
{
    double sum = 0.0, sq = 0.0;

    for (size_t i = 0; i < n; i++)
        sum += (float)(0.299 * (double)rgb[3 * i] + 0.587 * (double)rgb[3 * i + 1] +
                       0.114 * (double)rgb[3 * i + 2]);
    *mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = (double)(float)(0.299 * (double)rgb[3 * i] + 0.587 * (double)rgb[3 * i + 1] +
                                   0.114 * (double)rgb[3 * i + 2]) -
                   *mean;

        sq += d * d;
    }
    *std = sqrt(sq / (double)n);
}

/* A part of an image restyled with the whole image's tones (the preview's
 * crop): with the image's own statistics it is fgsd_restyle_from_patches
 * exactly; a dark part of a half-bright image gets dark squares. */
static void test_restyle_part_from_patches(void **state)
{
    fixture *f = *state;
    int sw = 64, sh = 64, w = 96, h = 64, pw = 48;
    size_t n = (size_t)w * (size_t)h * 3, np = (size_t)pw * (size_t)h * 3;
    float *src = malloc((size_t)sw * (size_t)sh * 3 * sizeof(float));
    float *img = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *part = malloc(np * sizeof(float));
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_session *s = new_session(f->model, 0);
    double mean, std, red = 0.0;

    /* source: top half dark blue, bottom half bright yellow; the image:
     * its left half bright, its right half dark grey */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++) {
            size_t i = (size_t)y * (size_t)sw + (size_t)x;
            int bright = y >= sh / 2;

            src[3 * i] = (bright ? 0.9f : 0.1f) + 0.02f * (float)((x * 7 + y * 13) % 5);
            src[3 * i + 1] = bright ? 0.9f : 0.1f;
            src[3 * i + 2] = bright ? 0.1f : 0.5f;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int ch = 0; ch < 3; ch++)
                img[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)ch] = x < w / 2 ? 0.8f : 0.3f;
    q.patch = 8;
    q.seed = 3;
    /* the public luma is the weights the tones are measured with */
    assert_true(fgsd_luma(1.0f, 0.0f, 0.0f) == 0.299f);
    assert_true(fgsd_luma(0.0f, 1.0f, 0.0f) == 0.587f);
    assert_true(fgsd_luma(0.0f, 0.0f, 1.0f) == 0.114f);
    assert_true(fgsd_luma(0.8f, 0.3f, 0.1f) ==
                (float)(0.299 * (double)0.8f + 0.587 * (double)0.3f + 0.114 * (double)0.1f));
    luma_stats(img, (size_t)w * (size_t)h, &mean, &std);
    assert_int_equal(fgsd_restyle_from_patches(s, &q, 0.1f, img, w, h, src, NULL, sw, sh, a),
                     FGSD_OK);
    assert_int_equal(fgsd_restyle_part_from_patches(s, &q, 0.1f, img, w, h, mean, std, src, NULL,
                                                    sw, sh, b),
                     FGSD_OK);
    assert_true(max_abs_diff(a, b, n) == 0.0);
    /* the dark right half alone, with the whole image's tones: dark squares */
    for (int y = 0; y < h; y++)
        memcpy(part + (size_t)y * (size_t)pw * 3, img + ((size_t)y * (size_t)w + (size_t)(w - pw)) * 3,
               (size_t)pw * 3 * sizeof(float));
    assert_int_equal(fgsd_restyle_part_from_patches(s, &q, 0.1f, part, pw, h, mean, std, src, NULL,
                                                    sw, sh, b),
                     FGSD_OK);
    for (size_t i = 0; i < np; i += 3)
        red += b[i];
    assert_true(red / (double)(np / 3) < 0.25);
    /* a spread that is not one: refused, the output untouched */
    memcpy(a, b, np * sizeof(float));
    assert_int_equal(fgsd_restyle_part_from_patches(s, &q, 0.1f, part, pw, h, mean, -1.0, src,
                                                    NULL, sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "spread"));
    assert_int_equal(fgsd_restyle_part_from_patches(s, &q, 0.1f, part, pw, h, NAN, std, src, NULL,
                                                    sw, sh, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_true(max_abs_diff(a, b, np) == 0.0);
    fgsd_session_free(s);
    free(src);
    free(img);
    free(a);
    free(b);
    free(part);
}

/* Interpolation from patches: each source covers about its weight's share
 * of the canvas (two flat colours), the seed decides where, weight 0 keeps
 * a source out, bad settings and cancel leave the output alone. */
static void test_interpolate_from_patches(void **state)
{
    fixture *f = *state;
    int sw = 64, sh = 64, w = 240, h = 200;
    size_t n = (size_t)w * (size_t)h * 3;
    float *red = malloc((size_t)sw * (size_t)sh * 3 * sizeof(float));
    float *blue = malloc((size_t)sw * (size_t)sh * 3 * sizeof(float));
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    fgsd_patch_params q = fgsd_patch_params_default();
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = new_session(f->model, 0), *c = NULL;
    fgsd_patch_source src[2];
    double share;
    char err[256];

    for (int i = 0; i < sw * sh; i++) {
        float grain = 0.01f * (float)(i % 7);
        red[3 * i] = 0.9f - grain;
        red[3 * i + 1] = red[3 * i + 2] = 0.1f + grain;
        blue[3 * i] = blue[3 * i + 1] = 0.1f + grain;
        blue[3 * i + 2] = 0.9f - grain;
    }
    src[0] = (fgsd_patch_source){red, NULL, sw, sh, 0.25f};
    src[1] = (fgsd_patch_source){blue, NULL, sw, sh, 0.75f};
    q.patch = 16;
    q.seed = 3;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, a), FGSD_OK);
    share = 0.0;
    for (size_t i = 0; i < n; i += 3)
        share += a[i] > 0.5f;
    share /= (double)(n / 3);
    assert_true(share > 0.15 && share < 0.35); /* about a quarter red */
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b), FGSD_OK);
    assert_true(max_abs_diff(a, b, n) == 0.0);
    q.seed = 4;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b), FGSD_OK);
    assert_true(max_abs_diff(a, b, n) > 0.5);
    src[0].weight = 0.0f; /* all blue */
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b), FGSD_OK);
    for (size_t i = 0; i < n; i += 3)
        assert_true(b[i + 2] > 0.5f);

    /* bad settings: an error that says which, the output untouched */
    memcpy(b, a, n * sizeof(float));
    src[1].weight = 0.0f;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "add up to 0"));
    src[1].weight = -1.0f;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    src[1].weight = NAN;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    src[0].weight = src[1].weight = 0.5f;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 0, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, NULL, 2, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    src[1].width = 16; /* too small to be a reference */
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b), FGSD_ERR_TOO_SMALL);
    src[1].width = sw;
    q.candidates = 0;
    assert_int_equal(fgsd_interpolate_from_patches(s, &q, src, 2, w, h, b),
                     FGSD_ERR_INVALID_ARGUMENT);
    q.candidates = 64;
    assert_true(max_abs_diff(a, b, n) == 0.0);

    /* cancelled halfway through the rows of squares */
    o.backend = FGSD_BACKEND_REFERENCE;
    o.progress = cancel_half;
    assert_int_equal(fgsd_session_create(f->model, &o, &c, err, sizeof(err)), FGSD_OK);
    assert_int_equal(fgsd_interpolate_from_patches(c, &q, src, 2, w, h, b), FGSD_ERR_CANCELLED);
    assert_true(max_abs_diff(a, b, n) == 0.0);
    fgsd_session_free(c);
    fgsd_session_free(s);
    free(red);
    free(blue);
    free(a);
    free(b);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    fgsd_session *s = new_session(f->model, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    float out[8 * 8 * 3] = {0}, *img = random_image(8, 8, 4);
    float weights[2] = {1.0f, -1.0f};

    p.h0 = NAN;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "(0, 1)"));
    p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    p.beta = 0.0f;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    p.guidance = 0.5f; /* between none and 1: no meaning */
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "guidance"));
    p.guidance = NAN;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    p.guidance = 9.0f;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    assert_int_equal(synth_phi(s, f->model, p, NULL, 40000, 8, out, NULL), FGSD_ERR_TOO_LARGE);
    assert_int_equal(synth_phi(s, f->model, p, NULL, 4, 8, out, NULL), FGSD_ERR_TOO_SMALL);
    assert_int_equal(synth_phi(NULL, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    p.levels = 0;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 8, 8, out, NULL), FGSD_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(fgsd_session_last_error(s), "levels"));
    img[7] = INFINITY;
    assert_int_equal(denoise_phi(s, f->model, img, 8, 8, NULL, out), FGSD_ERR_INVALID_ARGUMENT);
    {
        fgsd_model_info info;
        fgsd_reference *r = NULL, *blend = NULL;
        const fgsd_reference *refs[2];
        float *phi;

        fgsd_model_get_info(f->model, &info);
        phi = calloc((size_t)info.feature_dim, sizeof(float));
        assert_int_equal(fgsd_reference_from_features(phi, info.feature_dim, out, &r), FGSD_OK);
        refs[0] = refs[1] = r;
        assert_int_equal(fgsd_reference_blend(refs, weights, 2, &blend),
                         FGSD_ERR_INVALID_ARGUMENT);
        assert_null(blend);
        weights[1] = 3.0f;
        assert_int_equal(fgsd_reference_blend(refs, weights, 2, &blend), FGSD_OK);
        fgsd_reference_free(blend);
        phi[0] = NAN;
        fgsd_reference_free(r);
        assert_int_equal(fgsd_reference_from_features(phi, info.feature_dim, out, &r),
                         FGSD_ERR_INVALID_ARGUMENT);
        free(phi);
    }
    assert_int_equal(fgsd_session_create(NULL, NULL, NULL, NULL, 0), FGSD_ERR_INVALID_ARGUMENT);
    fgsd_session_free(NULL);
    fgsd_session_free(s);
    free(img);
}

/* A canvas above the memory budget runs in tiles; one whose smallest tile
 * does not fit is refused with FGSD_ERR_TOO_LARGE and a message. */
static void test_budget(void **state)
{
    fixture *f = *state;
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_sample_stats st;
    fgsd_session *s = NULL;
    float *out = malloc((size_t)96 * 96 * 3 * sizeof(float));
    char err[256];

    o.backend = FGSD_BACKEND_REFERENCE;
    o.memory_budget = 1 << 20;
    assert_int_equal(fgsd_session_create(f->model, &o, &s, err, sizeof(err)), FGSD_OK);
    p.max_steps = 2;
    assert_int_equal(synth_phi(s, f->model, p, NULL, 96, 96, out, &st), FGSD_OK);
    assert_true(st.tiles > 1);
    fgsd_session_free(s);
    o.memory_budget = 1000;
    assert_int_equal(fgsd_session_create(f->model, &o, &s, err, sizeof(err)), FGSD_OK);
    assert_int_equal(synth_phi(s, f->model, p, NULL, 96, 96, out, &st), FGSD_ERR_TOO_LARGE);
    assert_non_null(strstr(fgsd_session_last_error(s), "budget"));
    fgsd_session_free(s);
    free(out);
}

/* Classifier-free guidance: a guide session on the same model gives what
 * the model's own unprojected pass gives, whole or tiled; guidance changes
 * the sample; a failing guide is reported by the sampling session. */
static void test_guidance(void **state)
{
    fixture *f = *state;
    const int w = 48, h = 40;
    size_t n = (size_t)w * (size_t)h * 3;
    fgsd_model_info info;
    float *ref = random_image(w, h, 7), *a = malloc(n * sizeof(float));
    float *b = malloc(n * sizeof(float)), *c = malloc(n * sizeof(float)), *phi;
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    fgsd_session *s, *g;

    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    fgsd_model_get_info(f->model, &info);
    phi = malloc((size_t)info.feature_dim * sizeof(float));
    assert_non_null(phi);
    for (int tiled = 0; tiled < 2; tiled++) {
        int tile = tiled ? ((info.receptive_field + 1) / 2 + 8) * 2 + 8 : 0;

        s = new_session(f->model, tile);
        g = new_session(f->model, tile);
        assert_int_equal(fgsd_features(s, ref, w, h, NULL, phi), FGSD_OK);
        p.max_steps = 5;
        p.seed = 11;
        assert_int_equal(synth_phi(s, f->model, p, phi, w, h, a, NULL), FGSD_OK);
        p.guidance = 2.0f;
        assert_int_equal(synth_phi(s, f->model, p, phi, w, h, b, NULL), FGSD_OK);
        fgsd_session_set_guide(s, g);
        assert_int_equal(synth_phi(s, f->model, p, phi, w, h, c, NULL), FGSD_OK);
        assert_true(max_abs_diff(b, c, n) < 1e-5);
        assert_true(max_abs_diff(a, b, n) > 1e-3);
        fgsd_session_set_guide(s, NULL);
        p.guidance = 0.0f;
        fgsd_session_free(g);
        fgsd_session_free(s);
    }
    /* A guide that cannot run the size (budget too small): the sampler says so. */
    {
        fgsd_session_options o = fgsd_session_options_default();
        char err[256];

        s = new_session(f->model, 0);
        o.backend = FGSD_BACKEND_REFERENCE;
        o.memory_budget = 1000;
        assert_int_equal(fgsd_session_create(f->model, &o, &g, err, sizeof(err)), FGSD_OK);
        p.guidance = 1.5f;
        fgsd_session_set_guide(s, g);
        assert_int_equal(synth_phi(s, f->model, p, phi, w, h, a, NULL), FGSD_ERR_TOO_LARGE);
        assert_non_null(strstr(fgsd_session_last_error(s), "guide model"));
        fgsd_session_free(g);
        fgsd_session_free(s);
    }
    free(phi);
    free(ref);
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiled_pass_is_exact),
        cmocka_unit_test(test_noise_threads),
        cmocka_unit_test(test_sampler_deterministic_and_tiled),
        cmocka_unit_test(test_tileable_is_periodic),
        cmocka_unit_test(test_cancel_leaves_output),
        cmocka_unit_test(test_sample_keeps_colour),
        cmocka_unit_test(test_heal_keeps_known_pixels),
        cmocka_unit_test(test_heal_band),
        cmocka_unit_test(test_heal),
        cmocka_unit_test(test_reference_scales),
        cmocka_unit_test(test_features_window),
        cmocka_unit_test(test_features_window_sample),
        cmocka_unit_test(test_task_memory),
        cmocka_unit_test(test_features_mask),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_patch_start),
        cmocka_unit_test(test_heal_from_patches),
        cmocka_unit_test(test_heal_lattice),
        cmocka_unit_test(test_restyle_part_from_patches),
        cmocka_unit_test(test_restyle_from_patches),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_interpolate_from_patches),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test_guidance),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
