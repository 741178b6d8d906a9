/* SPDX-License-Identifier: GPL-3.0-or-later
 * The sampler loop on a backend's images (backend.h image_*,
 * sampler_device.c: what a GPU runs with only sigma coming back per step),
 * checked on the CPU: a backend that is the reference backend plus images
 * kept in host memory, each image op computing with image_math.h and
 * canvas.c as the host loop does.  On it every sampling task that the
 * device loop serves must give the host loop's result to the bit (the same
 * steps, sigma and tiles), whole, tiled, tileable, with the colour lock and
 * coarse-to-fine levels; it must really run there (the windows filled and
 * stored by the image ops, one download at the end, more only for the
 * watch); heal and guidance stay on the host; an image op that runs out of
 * memory runs the task again on the host's images with the same result and
 * a notice; images switched off leave the host loop; cancel frees all.
 *
 * Steps (backend.h step_begin, a GPU's one CUDA graph per step): the
 * wrapper takes them, refuses the image ops a step may not hold, writes
 * the residual's sum only at step_end, and checks that every step of a run
 * records the same ops on the same images (else no graph could be
 * replayed); runs with steps and without give the same texture. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host_images.h"
#include "image_math.h"
#include "op_check.h"
#include "rng.h"
#include "session.h"
#include "tiny_model.h"

/* An image op as a step records it: what a graph's signature holds. */
typedef struct step_op {
    int kind;
    const void *im[3];
    int k;
    float sign;
} step_op;

enum { OP_NOISE = 1, OP_LOWPASS, OP_UPDATE, OP_RESIDUAL, OP_FILL, OP_STORE };

/* What the images did, and how to make them fail. */
static struct {
    int off;            /* image_new gives none (the backend's switch) */
    int no_steps;       /* step_begin declines */
    long fail_at;       /* the image op of this number fails out of memory (0: none) */
    long calls;         /* image ops so far */
    long fills, stores, downloads, news, frees, steps;
    int in_step;
    step_op step[64], last[64]; /* this step's records, the last whole step's */
    int n_step, n_last;
    const backend_image *res_x, *res_d; /* the residual a step owes */
    double *res_ss;
} images;

/* Notes an image op into the open step (refusing those a step may not hold). */
static void in_step(int kind, const void *a, const void *b, const void *c, int k, float sign)
{
    if (!images.in_step)
        return;
    if (!kind)
        fail_msg("an image op that a step may not hold, inside a step");
    step_op *op = &images.step[images.n_step++];

    assert_true(images.n_step <= 64);
    memset(op, 0, sizeof(*op)); /* padding too: the records are compared as memory */
    op->kind = kind;
    op->im[0] = a;
    op->im[1] = b;
    op->im[2] = c;
    op->k = k;
    op->sign = sign;
}

static backend_ops host_image_ops;

static fgsd_status counted(backend *be)
{
    (void)be;
    if (images.fail_at && ++images.calls == images.fail_at)
        return FGSD_ERR_NO_MEMORY;
    return FGSD_OK;
}

static fgsd_status hi_new(backend *be, int w, int h, backend_image **out)
{
    fgsd_status st = counted(be);

    *out = NULL;
    if (st || images.off)
        return st;
    *out = host_image_new(w, h, NULL);
    if (!*out)
        return FGSD_ERR_NO_MEMORY;
    images.news++;
    images.n_last = 0; /* new images: a new graph */
    return FGSD_OK;
}

static void hi_free(backend *be, backend_image *im)
{
    (void)be;
    images.frees++;
    host_image_free(im);
}

static fgsd_status hi_upload(backend *be, backend_image *im, const float *hwc)
{
    fgsd_status st = counted(be);

    in_step(0, NULL, NULL, NULL, 0, 0.0f);
    if (!st)
        memcpy(im->p, hwc, host_image_floats(im) * sizeof(float));
    return st;
}

static fgsd_status hi_download(backend *be, const backend_image *im, float *hwc)
{
    fgsd_status st = counted(be);

    in_step(0, NULL, NULL, NULL, 0, 0.0f);
    if (!st) {
        memcpy(hwc, im->p, host_image_floats(im) * sizeof(float));
        images.downloads++;
    }
    return st;
}

static fgsd_status hi_copy(backend *be, backend_image *dst, const backend_image *src)
{
    fgsd_status st = counted(be);

    in_step(0, NULL, NULL, NULL, 0, 0.0f);
    if (!st)
        memcpy(dst->p, src->p, host_image_floats(src) * sizeof(float));
    return st;
}

static fgsd_status hi_noise(backend *be, backend_image *im, uint64_t seed, uint32_t step)
{
    fgsd_status st = counted(be);

    in_step(OP_NOISE, im, NULL, NULL, 0, 0.0f);
    if (!st)
        rng_normal_fill(seed, step, 0, host_image_floats(im), im->p);
    return st;
}

static fgsd_status hi_add_scaled(backend *be, backend_image *y, float a, const backend_image *x)
{
    fgsd_status st = counted(be);

    in_step(0, NULL, NULL, NULL, 0, 0.0f);
    for (size_t i = 0; !st && i < host_image_floats(y); i++)
        y->p[i] = y->p[i] + a * x->p[i];
    return st;
}

static fgsd_status hi_add_lowpass(backend *be, backend_image *v, float sign,
                                  const backend_image *a, const backend_image *b, int k)
{
    fgsd_status st = counted(be);
    int side = v->w > v->h ? v->w : v->h;
    float *buf = malloc((size_t)v->w * (size_t)v->h * sizeof(float));
    double *line = malloc((size_t)side * sizeof(double));

    in_step(OP_LOWPASS, v, a, b, k, sign);
    if (!st && (!buf || !line))
        st = FGSD_ERR_NO_MEMORY;
    if (!st)
        add_lowpass(v->p, sign, a->p, b ? b->p : NULL, v->w, v->h, k, buf, line);
    free(buf);
    free(line);
    return st;
}

static fgsd_status hi_update(backend *be, backend_image *x, const backend_image *d,
                             const backend_image *z, double h, double g)
{
    fgsd_status st = counted(be);

    in_step(OP_UPDATE, x, d, z, 0, 0.0f);
    for (size_t i = 0; !st && i < host_image_floats(x); i++)
        x->p[i] = sisa_update_value(x->p[i], d->p[i], z->p[i], h, g);
    return st;
}

static fgsd_status hi_residual(backend *be, const backend_image *x, const backend_image *d,
                               double *ss)
{
    fgsd_status st = counted(be);

    in_step(OP_RESIDUAL, x, d, NULL, 0, 0.0f);
    if (!st && images.in_step) { /* owed until step_end */
        images.res_x = x;
        images.res_d = d;
        images.res_ss = ss;
        *ss = NAN;
    } else if (!st) {
        *ss = residual_sum(x->p, d->p, host_image_floats(x));
    }
    return st;
}

static int hi_step_begin(backend *be)
{
    (void)be;
    assert_false(images.in_step);
    if (images.no_steps)
        return 0;
    images.in_step = 1;
    images.n_step = 0;
    images.res_ss = NULL;
    return 1;
}

/* Ends the step whatever happened; a whole step must record what the
 * last one did. */
static fgsd_status hi_step_end(backend *be)
{
    (void)be;
    assert_true(images.in_step);
    images.in_step = 0;
    if (images.res_ss)
        *images.res_ss = residual_sum(images.res_x->p, images.res_d->p,
                                      host_image_floats(images.res_x));
    if (!images.res_ss || images.fail_at)
        return FGSD_OK; /* a failed step */
    if (images.n_last) {
        assert_int_equal(images.n_step, images.n_last);
        assert_memory_equal(images.step, images.last, (size_t)images.n_step * sizeof(step_op));
    }
    memcpy(images.last, images.step, (size_t)images.n_step * sizeof(step_op));
    images.n_last = images.n_step;
    images.steps++;
    return FGSD_OK;
}

static fgsd_status hi_window_fill(backend *be, backend_tensor *t, const backend_image *x,
                                  const backend_window *win)
{
    fgsd_status st = counted(be);

    in_step(OP_FILL, t, x, NULL, win->wx, 0.0f);
    if (!st)
        st = host_window_fill(be, t, x, win);
    if (!st)
        images.fills++;
    return st;
}

static fgsd_status hi_window_store(backend *be, const backend_tensor *t, const backend_image *x,
                                   backend_image *clean, const backend_window *win, int residual)
{
    fgsd_status st = counted(be);

    in_step(OP_STORE, t, x, clean, win->wx, (float)residual);
    if (!st)
        st = host_window_store(be, t, x, clean, win, residual);
    if (!st)
        images.stores++;
    return st;
}

/* A reference-backend session whose backend keeps images (or a plain one). */
static fgsd_session *session(const fgsd_model *m, int with_images, int max_tile)
{
    fgsd_session_options o = fgsd_session_options_default();
    fgsd_session *s = NULL;
    char err[512];

    o.backend = FGSD_BACKEND_REFERENCE;
    o.threads = 1;
    o.max_tile = max_tile;
    assert_int_equal(fgsd_session_create(m, &o, &s, err, sizeof(err)), FGSD_OK);
    if (with_images) {
        unet_free(s->net);
        s->ops = &host_image_ops;
        assert_int_equal(unet_create(s->model, s->ops, s->be, &s->net, err, sizeof(err)),
                         FGSD_OK);
    }
    return s;
}

typedef struct fixture {
    fgsd_model *model;
    fgsd_reference *ref;
} fixture;

static int setup(void **state)
{
    char err[256];
    fixture *f = calloc(1, sizeof(*f));
    float *tex = random_floats(96 * 80 * 3, 0.5f, 77u);
    fgsd_session *s;

    if (!f || !tex || !(f->model = test_tiny_model_load(9, err, sizeof(err))))
        return -1;
    host_image_ops = backend_ref_ops;
    host_image_ops.tensor_new = shape_tensor_new;
    host_image_ops.image_new = hi_new;
    host_image_ops.image_free = hi_free;
    host_image_ops.image_upload = hi_upload;
    host_image_ops.image_download = hi_download;
    host_image_ops.image_copy = hi_copy;
    host_image_ops.image_noise = hi_noise;
    host_image_ops.image_add_scaled = hi_add_scaled;
    host_image_ops.image_add_lowpass = hi_add_lowpass;
    host_image_ops.image_sisa_update = hi_update;
    host_image_ops.image_residual = hi_residual;
    host_image_ops.window_fill = hi_window_fill;
    host_image_ops.window_store = hi_window_store;
    host_image_ops.step_begin = hi_step_begin;
    host_image_ops.step_end = hi_step_end;
    for (size_t i = 0; i < 96 * 80 * 3; i++)
        tex[i] += 0.5f;
    s = session(f->model, 0, 0);
    if (fgsd_reference_measure_scales(s, tex, 96, 80, NULL, 2, &f->ref))
        return -1;
    fgsd_session_free(s);
    free(tex);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    fgsd_reference_free(f->ref);
    fgsd_model_free(f->model);
    free(f);
    return 0;
}

/* One synthesis on both, with the same settings: equal to the bit. */
typedef struct run {
    int w, h, max_tile, tileable, levels, with_ref;
} run;

static void same_synthesis(const fixture *f, const run *r)
{
    fgsd_session *host = session(f->model, 0, r->max_tile);
    fgsd_session *dev = session(f->model, 1, r->max_tile);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    size_t n = (size_t)r->w * (size_t)r->h * 3;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    fgsd_sample_stats sa, sb;
    const fgsd_reference *ref = r->with_ref ? f->ref : NULL;

    assert_true(a && b);
    p.seed = 11;
    p.max_steps = 6;
    p.h0 = 0.001f; /* the untrained model's sigma stays below the divergence stop */
    p.tileable = r->tileable;
    p.levels = r->levels;
    memset(&images, 0, sizeof(images));
    if (fgsd_synthesize(host, ref, &p, r->w, r->h, a, &sa))
        fail_msg("%s", fgsd_session_last_error(host));
    assert_int_equal(images.news, 0);
    assert_int_equal(fgsd_synthesize(dev, ref, &p, r->w, r->h, b, &sb), FGSD_OK);
    printf("# %dx%d tile %d tileable %d levels %d ref %d: %d steps, %d tiles, %ld fills, "
           "%ld stores\n",
           r->w, r->h, r->max_tile, r->tileable, r->levels, r->with_ref, sb.steps, sb.tiles,
           images.fills, images.stores);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_int_equal(sa.steps, sb.steps);
    assert_true(sa.final_sigma == sb.final_sigma);
    assert_int_equal(sa.tiles, sb.tiles);
    /* Run on the images: every pass's windows filled there, the clean
     * estimate stored there at every step, one download per level. */
    assert_true(images.fills >= sb.steps * sb.tiles);
    assert_true(images.stores >= sb.steps);
    assert_int_equal(images.downloads, r->levels);
    assert_int_equal(images.news, images.frees);
    /* Each update and the estimate after it one step where the pass is
     * whole; none where it is tiled (its staged means come back). */
    assert_int_equal(images.steps, sb.tiles == 1 ? sb.steps - r->levels : 0);
    assert_false(images.in_step);
    /* Without steps: the same. */
    memset(&images, 0, sizeof(images));
    images.no_steps = 1;
    memset(b, 0, n * sizeof(float));
    assert_int_equal(fgsd_synthesize(dev, ref, &p, r->w, r->h, b, &sb), FGSD_OK);
    assert_memory_equal(a, b, n * sizeof(float));
    assert_int_equal(images.steps, 0);
    images.no_steps = 0;
    free(a);
    free(b);
    fgsd_session_free(host);
    fgsd_session_free(dev);
}

static void test_same_as_host(void **state)
{
    const fixture *f = *state;
    const run runs[] = {
        {40, 32, 0, 0, 1, 0},  /* the prior: no colour lock */
        {40, 32, 0, 0, 1, 1},  /* the colour lock */
        {44, 36, 0, 1, 1, 1},  /* tileable: a wrapped halo */
        {96, 80, 64, 0, 1, 1}, /* tiles: staged and extrapolated means */
        {64, 48, 0, 0, 2, 1},  /* coarse to fine: a start image */
        {45, 37, 0, 0, 1, 1},  /* sizes not a multiple: a mirrored band */
    };

    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
        same_synthesis(f, &runs[i]);
}

/* The watcher sees the same D(x) at the same steps; each costs a download. */
typedef struct watched {
    int calls;
    float sum;
} watched;

static int watch(void *user, const float *d, int w, int h, int step)
{
    watched *wt = user;

    (void)step;
    wt->calls++;
    for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++)
        wt->sum += d[i];
    return 0;
}

static void test_watch(void **state)
{
    const fixture *f = *state;
    fgsd_session *host = session(f->model, 0, 0), *dev = session(f->model, 1, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    float *a = malloc(32 * 32 * 3 * sizeof(float));
    watched wa = {0}, wb = {0};

    assert_non_null(a);
    p.seed = 3;
    p.max_steps = 5;
    fgsd_session_set_watch(host, watch, &wa, 2);
    fgsd_session_set_watch(dev, watch, &wb, 2);
    memset(&images, 0, sizeof(images));
    assert_int_equal(fgsd_synthesize(host, f->ref, &p, 32, 32, a, NULL), FGSD_OK);
    assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 32, a, NULL), FGSD_OK);
    assert_int_equal(wa.calls, 3); /* steps 1, 2 and 4 */
    assert_int_equal(wb.calls, wa.calls);
    assert_true(wa.sum == wb.sum);
    assert_int_equal(images.downloads, wb.calls + 1);
    free(a);
    fgsd_session_free(host);
    fgsd_session_free(dev);
}

/* Heal's known pixels and guidance's second network stay on the host. */
static void test_host_hooks(void **state)
{
    const fixture *f = *state;
    fgsd_session *dev = session(f->model, 1, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    float *a = malloc(32 * 32 * 3 * sizeof(float));

    assert_non_null(a);
    p.seed = 3;
    p.max_steps = 3;
    p.guidance = 2.0f;
    memset(&images, 0, sizeof(images));
    assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 32, a, NULL), FGSD_OK);
    assert_int_equal(images.news, 0);
    assert_int_equal(images.fills, 0);
    free(a);
    fgsd_session_free(dev);
}

/* Images switched off: the host loop, the same texture. */
static void test_images_off(void **state)
{
    const fixture *f = *state;

    memset(&images, 0, sizeof(images));
    images.off = 1;
    {
        fgsd_session *host = session(f->model, 0, 0), *dev = session(f->model, 1, 0);
        fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
        float *a = malloc(32 * 32 * 3 * sizeof(float)), *b = malloc(32 * 32 * 3 * sizeof(float));

        assert_true(a && b);
        p.max_steps = 4;
        assert_int_equal(fgsd_synthesize(host, f->ref, &p, 32, 32, a, NULL), FGSD_OK);
        assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 32, b, NULL), FGSD_OK);
        assert_memory_equal(a, b, 32 * 32 * 3 * sizeof(float));
        assert_int_equal(images.fills, 0);
        assert_string_equal(fgsd_session_notice(dev), "");
        free(a);
        free(b);
        fgsd_session_free(host);
        fgsd_session_free(dev);
    }
    images.off = 0;
}

/* An image op out of memory at any point of the run: the run again on the
 * host's images, the same texture, a notice, nothing leaked. */
static void test_out_of_memory(void **state)
{
    const fixture *f = *state;
    fgsd_session *host = session(f->model, 0, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    size_t n = 32 * 24 * 3;
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    long total;

    assert_true(a && b);
    p.max_steps = 4;
    assert_int_equal(fgsd_synthesize(host, f->ref, &p, 32, 24, a, NULL), FGSD_OK);
    /* Count the ops of a whole run, then fail each in turn. */
    memset(&images, 0, sizeof(images));
    images.fail_at = -1;
    {
        fgsd_session *dev = session(f->model, 1, 0);
        assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 24, b, NULL), FGSD_OK);
        fgsd_session_free(dev);
    }
    total = images.calls;
    assert_true(total > 20);
    for (long k = 1; k <= total; k++) {
        fgsd_session *dev = session(f->model, 1, 0);

        memset(&images, 0, sizeof(images));
        images.fail_at = k;
        memset(b, 0, n * sizeof(float));
        assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 24, b, NULL), FGSD_OK);
        assert_memory_equal(a, b, n * sizeof(float));
        assert_non_null(strstr(fgsd_session_notice(dev), "ran again"));
        assert_int_equal(images.news, images.frees);
        assert_false(images.in_step);
        fgsd_session_free(dev);
    }
    free(a);
    free(b);
    fgsd_session_free(host);
}

static int cancel_at_two(void *user, int step, float sigma, float fraction)
{
    (void)user;
    (void)sigma;
    (void)fraction;
    return step == 2;
}

/* Cancelled halfway: the status says so and every image is freed. */
static void test_cancel(void **state)
{
    const fixture *f = *state;
    fgsd_session *dev = session(f->model, 1, 0);
    fgsd_sampler_params p = fgsd_sampler_params_default(FGSD_TASK_SYNTHESIZE);
    float *a = malloc(32 * 32 * 3 * sizeof(float));

    assert_non_null(a);
    dev->opt.progress = cancel_at_two;
    memset(&images, 0, sizeof(images));
    assert_int_equal(fgsd_synthesize(dev, f->ref, &p, 32, 32, a, NULL), FGSD_ERR_CANCELLED);
    assert_true(images.news > 0);
    assert_false(images.in_step);
    assert_int_equal(images.news, images.frees);
    free(a);
    fgsd_session_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_host), cmocka_unit_test(test_watch),
        cmocka_unit_test(test_host_hooks),   cmocka_unit_test(test_images_off),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_cancel),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
