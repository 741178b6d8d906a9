/* SPDX-License-Identifier: GPL-3.0-or-later
 * Quilting (the patch start, issue 19; docs/design.md "Patch start").
 *
 * The canvas is covered in raster order by squares of side p on a grid of
 * stride p - p / 4, so neighbours overlap by v = p / 4 pixels.  Each square
 * is the best of q->candidates positions in the source, drawn from the
 * counter hash (seed, QUILT_RNG_STEP, 2 (cell candidates + k) [+ 1]): best =
 * the least squared difference with what the canvas already holds over the
 * overlap (the bands of the squares above and to the left).  The seam
 * through each overlap is the path of least squared difference (dynamic
 * programming, Efros and Freeman's image quilting): on its far side the
 * canvas keeps what it had, so every pixel is one square's and seams stay
 * sharp.  With a mask (a selection), squares less than QUILT_MIN_COVER
 * inside it are skipped and more positions drawn (the hash's index wraps
 * past 2^32 on canvases far above 8192², which only repeats draws).
 * Every quilt but heal's also spreads its squares over the source
 * (docs/quality.md "Spread over the source"): a candidate's error is
 * multiplied by 1 + QUILT_REUSE (a transfer: QUILT_TRANSFER_REUSE) x the
 * number of squares laid from within p / 2 of it (so one striking spot is
 * not laid all over the canvas), and the best is then moved to the least
 * error among its eight neighbours at distance p / 12, p / 24, ... 1 (so a
 * lattice's squares line up).  Synthesis and interpolation also screen:
 * where squares are laid to fit, QUILT_SCREEN times as many positions are
 * drawn and the q->candidates of least coarse_error (4x4 block means of
 * the source against the canvas's drawn blocks) kept (screen).  Every
 * quilt but heal's adds an occurrence term (quilt_occur.h: a square whose
 * pixels were written more than their share pays for it).  The arithmetic is
 * models/sisa.py patch_start's (errors and path costs in double, ties to
 * the lower index), so the two agree (tests/python/test_patch_start.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quilt.h"
#include "quilt_occur.h"
#include "rng_core.h"
#include "sat.h"

/* A square must lie this much inside a masked source to be used. */
#define QUILT_MIN_COVER 0.99
#define QUILT_MASK_DRAWS 16
/* ... and at least this much for a masked source to be usable at all. */
#define QUILT_MIN_USABLE 0.5
/* Heal from the band: squares wholly inside it (summed-area rounding aside). */
#define QUILT_HEAL_COVER (1.0 - 1e-9)

/* A canvas pixel: not drawn yet, drawn by a square (a later square may
 * replace it beyond its seam), or held (heal: outside the hole). */
enum { QUILT_EMPTY, QUILT_PLACED, QUILT_FIXED };
/* patch 0: 3/8 of the source's smaller side within these (48 for the 128²
 * selections measured in docs/quality.md). */
#define QUILT_AUTO_MIN 8
#define QUILT_AUTO_MAX 128
/* Interpolation: the field that splits the canvas between the sources has
 * a value every QUILT_MIX_CELL squares; its rng step is below the squares'. */
#define QUILT_MIX_CELL 2
#define QUILT_MIX_STEP 0x7FFFFFFDu
/* Spreading: the weight of one earlier square laid from near a candidate
 * (a transfer's lower: more would cost the image's layout, docs/quality.md
 * "Restyle"), and the local search's rounds per distance. */
#define QUILT_REUSE 0.5
#define QUILT_TRANSFER_REUSE 0.1
#define QUILT_REFINE_ROUNDS 8
/* A transfer's squares follow the image's layout: 1/8 of the source's side
 * within 8..64 (16 for a 128² selection, docs/quality.md "Restyle"). */
#define QUILT_TRANSFER_MAX 64
/* Screening (synthesis and interpolation): with squares laid to fit,
 * QUILT_SCREEN times as many positions are drawn and the candidates kept
 * are those whose QUILT_BLOCK-pixel block means fit the canvas's best, so
 * that a lattice's few aligned positions are among them (docs/quality.md
 * "Screened candidates"). */
#define QUILT_SCREEN 16
#define QUILT_BLOCK 4

uint32_t quilt_uniform_int(uint64_t seed, uint32_t step, uint32_t index, uint32_t n)
{
    uint64_t key = rng_core_key(seed);
    uint64_t counter = ((uint64_t)step << 32) | index;
    uint64_t r = rng_core_mix(rng_core_mix(counter ^ key) + key);

    return (uint32_t)(((r >> 40) * (uint64_t)n) >> 24);
}

fgsd_status quilt_check(fgsd_session *s, const fgsd_patch_params *q, const float *mask, int sw,
                        int sh)
{
    if (!q)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "no patch settings given");
    if (q->patch != 0 && q->patch < 8)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                            "patch size must be 0 (automatic) or at least 8, not %d", q->patch);
    if (q->candidates < 1 || q->candidates > FGSD_MAX_PATCH_CANDIDATES)
        return session_fail(s, FGSD_ERR_INVALID_ARGUMENT, "candidates must lie in [1, %d], not %d",
                            FGSD_MAX_PATCH_CANDIDATES, q->candidates);
    for (size_t i = 0; mask && i < (size_t)sw * (size_t)sh; i++)
        if (!(mask[i] >= 0.0f && mask[i] <= 1.0f))
            return session_fail(s, FGSD_ERR_INVALID_ARGUMENT,
                                "the reference's mask holds a value outside [0, 1]");
    return FGSD_OK;
}

int quilt_patch_side(int patch, int sw, int sh)
{
    int side = sw < sh ? sw : sh;

    if (patch <= 0) {
        patch = 3 * side / 8;
        patch = patch < QUILT_AUTO_MIN ? QUILT_AUTO_MIN : patch;
        patch = patch > QUILT_AUTO_MAX ? QUILT_AUTO_MAX : patch;
    }
    return patch < side ? patch : side;
}

typedef struct quilt {
    const float *src, *mask;
    int sw, sh, p, v, s;
    int width, height;
    float *canvas;         /* width x height x 3 */
    unsigned char *filled; /* width x height: QUILT_EMPTY, _PLACED or _FIXED */
    int rx, ry;            /* the region's origin: squares at rx + gx s, ry + gy s */
    double *err, *cost;    /* p x v: one overlap's errors and path costs */
    int *cut;              /* p: the seam's first new column per row */
    unsigned char *keep;   /* p x p: the canvas keeps its pixel */
    double *cover;         /* summed-area table of mask, (sw + 1) x (sh + 1), or NULL */
    double min_cover;      /* a square's least mean mask weight */
    float *shadow;         /* heal: the squares' own values over held pixels, or NULL */
    int bands_only;        /* synthesis: drawn pixels lie in a square's top and left bands */
    const float *src_lum;  /* transfer: the source's luminance (sw x sh), or NULL */
    const float *target_lum; /* transfer: the image's, moved to the source's mean and spread */
    double alpha;          /* transfer: the overlap's weight against the image's */
    int *cand_x, *cand_y;  /* the positions drawn for one square (q->candidates, screening
                            * QUILT_SCREEN times as many) */
    double *cand_err;      /* and the errors of those tried */
    unsigned *used;        /* spreading: per source position, the squares laid within p / 2;
                            * NULL: no spreading (heal) */
    double reuse;          /* spreading: QUILT_REUSE or QUILT_TRANSFER_REUSE */
    const float *box;      /* screening: the source's QUILT_BLOCK box means (box_means),
                            * or NULL: no screening (transfer, heal) */
    double *screen_err;    /* screening: per drawn position, its coarse error */
    int *screen_order, *screen_tmp; /* and the positions sorted by it */
    double *block_mean;    /* the square's blocks wholly drawn: their canvas means (RGB) */
    int *block_at;         /* and their top-left corners (x, y) in the square */
    quilt_occur *occur;    /* synthesis, interpolation: the source's occurrence map, or NULL */
    struct mix_source *mix; /* interpolation: the sources, or NULL */
    const int *square_source;     /* and each grid square's (row-major) */
} quilt;

/* An interpolation's source: its pixels, mask and mask table. */
typedef struct mix_source {
    const float *rgb, *mask;
    int sw, sh;
    double *cover;
    unsigned *used;
    float *box;
    quilt_occur occur;
} mix_source;

/* Mean mask weight of the p x p square at (x, y) of the source. */
static double square_cover(const quilt *qt, int x, int y)
{
    return sat_square_sum(qt->cover, qt->sw, x, y, qt->p) / ((double)qt->p * qt->p);
}

/* Squared difference of the h x w source square at (px, py) with the
 * canvas where it already holds something. */
static double overlap_error(const quilt *qt, int x0, int y0, int w, int h, int px, int py)
{
    double err = 0.0;

    for (int y = 0; y < h; y++) {
        /* Synthesis: below the top band only the left band can be drawn
         * (the same pixels in the same order as the whole square). */
        int xend = qt->bands_only && y >= qt->v && qt->v < w ? qt->v : w;

        for (int x = 0; x < xend; x++) {
            size_t at = (size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x);
            const float *sp = qt->src + ((size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)) * 3;

            if (!qt->filled[at])
                continue;
            for (int c = 0; c < 3; c++) {
                double d = (double)sp[c] - (double)qt->canvas[at * 3 + (size_t)c];

                err += d * d;
            }
        }
    }
    return err;
}

/* Whether the w x h square at (x0, y0) of the canvas holds a pixel that is
 * at least state (QUILT_PLACED: drawn or held; QUILT_EMPTY: any) and, for
 * QUILT_EMPTY, one still empty. */
static int square_holds(const quilt *qt, int x0, int y0, int w, int h, int state)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char f = qt->filled[(size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x)];

            if (state == QUILT_EMPTY ? f == QUILT_EMPTY : f >= state)
                return 1;
        }
    return 0;
}

/* Texture transfer: mean squared difference of the source square's
 * luminance at (px, py) with the image's over the w x h square at (x0, y0). */
static double correspondence_error(const quilt *qt, int x0, int y0, int w, int h, int px, int py)
{
    double err = 0.0;

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double d = (double)qt->src_lum[(size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)] -
                       (double)qt->target_lum[(size_t)(y0 + y) * (size_t)qt->width +
                                              (size_t)(x0 + x)];

            err += d * d;
        }
    return err / ((double)w * h);
}

/* The canvas pixels of the w x h square at (x0, y0) already drawn (those
 * overlap_error sums). */
static size_t placed_count(const quilt *qt, int x0, int y0, int w, int h)
{
    size_t n = 0;

    for (int y = 0; y < h; y++) {
        int xend = qt->bands_only && y >= qt->v && qt->v < w ? qt->v : w;

        for (int x = 0; x < xend; x++)
            n += qt->filled[(size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x)] != 0;
    }
    return n;
}

/* The canvas square whose source position is being chosen. */
typedef struct square {
    int x0, y0, w, h;
    int any;              /* it holds pixels drawn or held already */
    double overlap_scale; /* transfer: 3 x those pixels (the overlap's mean error) */
    double occur_px;      /* the occurrence term's pixels: those (placed_count), or a
                           * transfer's 1/3 (its errors are means per pixel and channel) */
} square;

/* A candidate's error at square sq: the overlap's (synthesis, heal) or the
 * transfer's mix. */
static double candidate_error(const quilt *qt, const square *sq, int px, int py)
{
    double err;

    if (!qt->target_lum)
        return overlap_error(qt, sq->x0, sq->y0, sq->w, sq->h, px, py);
    err = (1.0 - qt->alpha) * correspondence_error(qt, sq->x0, sq->y0, sq->w, sq->h, px, py);
    if (sq->any)
        err += qt->alpha *
               (overlap_error(qt, sq->x0, sq->y0, sq->w, sq->h, px, py) / sq->overlap_scale);
    return err;
}

/* Spreading: how many squares were laid from within p / 2 of (px, py). */
static unsigned reuse_count(const quilt *qt, int px, int py)
{
    return qt->used[(size_t)py * (size_t)(qt->sw - qt->p + 1) + (size_t)px];
}

/* Spreading: counts the square just laid from (px, py) at every position
 * within p / 2 of it. */
static void mark_used(quilt *qt, int px, int py)
{
    int nx = qt->sw - qt->p + 1, ny = qt->sh - qt->p + 1, r = qt->p / 2;
    int xa = px - r + 1 > 0 ? px - r + 1 : 0, xb = px + r - 1 < nx - 1 ? px + r - 1 : nx - 1;
    int ya = py - r + 1 > 0 ? py - r + 1 : 0, yb = py + r - 1 < ny - 1 ? py + r - 1 : ny - 1;

    for (int y = ya; y <= yb; y++)
        for (int x = xa; x <= xb; x++)
            qt->used[(size_t)y * (size_t)nx + (size_t)x]++;
}

/* A spread quilt's error of the source square at (px, py): the candidate's
 * error weighed up by the squares already laid from near it, plus, with
 * an occurrence map, what its pixels' use costs. */
static double spread_error(const quilt *qt, const square *sq, int px, int py)
{
    double err = candidate_error(qt, sq, px, py) *
                 (1.0 + qt->reuse * (double)reuse_count(qt, px, py));

    if (qt->occur)
        err += quilt_occur_cost(qt->occur, px, py, qt->p, sq->occur_px);
    return err;
}

/* Moves (*bx, *by), of spread error best, to the least error among its
 * eight neighbours at distance d (p / 12, then halved down to 1), up to
 * QUILT_REFINE_ROUNDS moves per distance; neighbours in raster order, a
 * strictly lower error wins; squares leaving the source or the selection
 * are not tried. */
static void refine(const quilt *qt, const square *sq, double best, int *bx, int *by)
{
    int nx = qt->sw - qt->p + 1, ny = qt->sh - qt->p + 1;

    for (int d = qt->p / 12 > 1 ? qt->p / 12 : 1; d >= 1; d /= 2) {
        int moved = 1;

        for (int round = 0; moved && round < QUILT_REFINE_ROUNDS; round++) {
            int cx = *bx, cy = *by;

            moved = 0;
            for (int dy = -d; dy <= d; dy += d)
                for (int dx = -d; dx <= d; dx += d) {
                    int px = cx + dx, py = cy + dy;
                    double err;

                    if ((!dx && !dy) || px < 0 || py < 0 || px >= nx || py >= ny)
                        continue;
                    if (qt->cover && square_cover(qt, px, py) < qt->min_cover)
                        continue;
                    err = spread_error(qt, sq, px, py);
                    if (err < best) {
                        best = err;
                        *bx = px;
                        *by = py;
                        moved = 1;
                    }
                }
        }
    }
}

/* order[0..n) sorted by f[order[i]], ties by index (a stable merge sort:
 * qsort has no context argument, and a global one would not be
 * thread-safe). */
static void sort_by_field(int *order, int *tmp, size_t n, const double *f)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;

            while (i < mid && j < hi)
                tmp[k++] = f[order[j]] < f[order[i]] ? order[j++] : order[i++];
            while (i < mid)
                tmp[k++] = order[i++];
            while (j < hi)
                tmp[k++] = order[j++];
        }
        memcpy(order, tmp, n * sizeof(int));
    }
}

/* Screening: the means of every QUILT_BLOCK x QUILT_BLOCK square of src
 * (sw x sh RGB) at each top-left corner, (sw - QUILT_BLOCK + 1) x (sh -
 * QUILT_BLOCK + 1) RGB, added in double row by row (sisa.py box_means);
 * NULL: out of memory, said in the session. */
static float *box_means(fgsd_session *s, const float *src, int sw, int sh)
{
    int bw = sw - QUILT_BLOCK + 1, bh = sh - QUILT_BLOCK + 1;
    float *box = malloc((size_t)bw * (size_t)bh * 3 * sizeof(float));

    if (!box) {
        session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the patches' screen");
        return NULL;
    }
    for (int y = 0; y < bh; y++)
        for (int x = 0; x < bw; x++)
            for (int c = 0; c < 3; c++) {
                double acc = 0.0;

                for (int dy = 0; dy < QUILT_BLOCK; dy++)
                    for (int dx = 0; dx < QUILT_BLOCK; dx++)
                        acc += (double)src[((size_t)(y + dy) * (size_t)sw + (size_t)(x + dx)) * 3 +
                                           (size_t)c];
                box[((size_t)y * (size_t)bw + (size_t)x) * 3 + (size_t)c] =
                    (float)(acc / (double)(QUILT_BLOCK * QUILT_BLOCK));
            }
    return box;
}

/* Screening: the blocks of the w x h square at (x0, y0) whose pixels are
 * all drawn, in raster order: their corners and canvas means into
 * block_at and block_mean; returns their number. */
static int drawn_blocks(const quilt *qt, int x0, int y0, int w, int h)
{
    int nb = 0;

    for (int i = 0; i + QUILT_BLOCK <= h; i += QUILT_BLOCK)
        for (int j = 0; j + QUILT_BLOCK <= w; j += QUILT_BLOCK) {
            double acc[3] = {0.0, 0.0, 0.0};
            int whole = 1;

            for (int dy = 0; whole && dy < QUILT_BLOCK; dy++)
                for (int dx = 0; whole && dx < QUILT_BLOCK; dx++) {
                    size_t at = (size_t)(y0 + i + dy) * (size_t)qt->width + (size_t)(x0 + j + dx);

                    whole = qt->filled[at] != QUILT_EMPTY;
                    for (int c = 0; whole && c < 3; c++)
                        acc[c] += (double)qt->canvas[at * 3 + (size_t)c];
                }
            if (!whole)
                continue;
            qt->block_at[2 * nb] = j;
            qt->block_at[2 * nb + 1] = i;
            for (int c = 0; c < 3; c++)
                qt->block_mean[3 * nb + c] = acc[c] / (double)(QUILT_BLOCK * QUILT_BLOCK);
            nb++;
        }
    return nb;
}

/* Screening: the squared difference of the source square at (px, py) with
 * the canvas over the nb drawn blocks, box mean against canvas mean, block
 * by block, channels in order. */
static double coarse_error(const quilt *qt, int nb, int px, int py)
{
    size_t bw = (size_t)(qt->sw - QUILT_BLOCK + 1);
    double e = 0.0;

    for (int b = 0; b < nb; b++) {
        const float *m = qt->box + ((size_t)(py + qt->block_at[2 * b + 1]) * bw +
                                    (size_t)(px + qt->block_at[2 * b])) * 3;

        for (int c = 0; c < 3; c++) {
            double d = (double)m[c] - qt->block_mean[3 * b + c];

            e += d * d;
        }
    }
    return e;
}

/* Screening: keeps, first in cand_x / cand_y, the keep of the n drawn
 * positions of least coarse_error, in that order (ties to the earlier
 * drawn); with n <= keep or no block drawn the first keep as drawn.
 * Returns how many are kept. */
static int screen(const quilt *qt, int x0, int y0, int w, int h, int n, int keep)
{
    int nb = n > keep ? drawn_blocks(qt, x0, y0, w, h) : 0;

    if (!nb)
        return n < keep ? n : keep;
    for (int k = 0; k < n; k++) {
        qt->screen_err[k] = coarse_error(qt, nb, qt->cand_x[k], qt->cand_y[k]);
        /* a block's error is a mean's: its use counted once per block */
        if (qt->occur)
            qt->screen_err[k] +=
                quilt_occur_cost(qt->occur, qt->cand_x[k], qt->cand_y[k], qt->p, (double)nb);
        qt->screen_order[k] = k;
    }
    sort_by_field(qt->screen_order, qt->screen_tmp, (size_t)n, qt->screen_err);
    for (int k = 0; k < keep; k++)
        qt->screen_tmp[k] = qt->cand_x[qt->screen_order[k]];
    for (int k = 0; k < keep; k++)
        qt->screen_order[k] = qt->cand_y[qt->screen_order[k]];
    memcpy(qt->cand_x, qt->screen_tmp, (size_t)keep * sizeof(int));
    memcpy(qt->cand_y, qt->screen_order, (size_t)keep * sizeof(int));
    return keep;
}

/* The source position of square (gx, gy): the best of the candidates.  The
 * positions are drawn first (with a mask: the first q->candidates inside
 * it; the best-covered one while none is; screening, QUILT_SCREEN times as
 * many narrowed to q->candidates by screen), then their errors computed
 * (spread_error where the quilt spreads), the least taken, ties to the
 * first drawn, and, spreading, moved by refine.  One thread: scoring a square's
 * candidates on OpenMP threads made a 4096² quilt ten times slower on a
 * loaded 2-core machine (a barrier per square), docs/status.md. */
static void choose(const quilt *qt, const fgsd_patch_params *q, int gx, int gy, int cols,
                   int *bx, int *by)
{
    int x0 = qt->rx + gx * qt->s, y0 = qt->ry + gy * qt->s;
    int w = qt->p < qt->width - x0 ? qt->p : qt->width - x0;
    int h = qt->p < qt->height - y0 ? qt->p : qt->height - y0;
    uint32_t cell = (uint32_t)gy * (uint32_t)cols + (uint32_t)gx;
    double best_cover = -1.0;
    int any = square_holds(qt, x0, y0, w, h, QUILT_PLACED), n = 0;
    /* Something to fit: squares laid before, or a transfer's image. */
    int fit = any || qt->target_lum;
    double placed = any && (qt->target_lum || qt->occur) ? (double)placed_count(qt, x0, y0, w, h)
                                                         : 0.0;
    /* Transfer: the overlap's mean error, so that alpha weighs like against like. */
    square sq = {x0, y0, w, h, any, qt->target_lum && any ? 3.0 * placed : 1.0,
                 qt->target_lum ? 1.0 / 3.0 : placed};

    /* Screening needs squares laid to fit; with a mask, up to
     * QUILT_MASK_DRAWS times as many positions are drawn to find candidates
     * inside it. */
    int screening = qt->box && any;
    int want = screening ? q->candidates * QUILT_SCREEN : q->candidates;
    int draws = qt->cover ? want * QUILT_MASK_DRAWS : want;

    for (int k = 0; k < draws && n < want; k++) {
        uint32_t i = 2u * (cell * (uint32_t)draws + (uint32_t)k);
        int py = (int)quilt_uniform_int(q->seed, QUILT_RNG_STEP, i, (uint32_t)(qt->sh - qt->p + 1));
        int px = (int)quilt_uniform_int(q->seed, QUILT_RNG_STEP, i + 1,
                                        (uint32_t)(qt->sw - qt->p + 1));

        if (qt->cover) {
            /* Outside the selection: usable only while nothing inside is found. */
            double cover = square_cover(qt, px, py);

            if (cover < qt->min_cover) {
                if (!n && cover > best_cover) {
                    best_cover = cover;
                    *bx = px;
                    *by = py;
                }
                continue;
            }
        }
        qt->cand_x[n] = px;
        qt->cand_y[n] = py;
        n++;
        if (!fit)
            break; /* nothing to fit yet: the first inside */
    }
    if (!n)
        return;
    if (screening)
        n = screen(qt, x0, y0, w, h, n, q->candidates);
    if (qt->used && fit) {
        for (int k = 0; k < n; k++)
            qt->cand_err[k] = spread_error(qt, &sq, qt->cand_x[k], qt->cand_y[k]);
    } else {
        for (int k = 0; n > 1 && k < n; k++)
            qt->cand_err[k] = candidate_error(qt, &sq, qt->cand_x[k], qt->cand_y[k]);
    }
    *bx = qt->cand_x[0];
    *by = qt->cand_y[0];
    for (int k = 1; k < n; k++)
        if (qt->cand_err[k] < qt->cand_err[0]) {
            qt->cand_err[0] = qt->cand_err[k];
            *bx = qt->cand_x[k];
            *by = qt->cand_y[k];
        }
    if (qt->used && fit)
        refine(qt, &sq, qt->cand_err[0], bx, by);
}

/* The least-cost path through err (n rows of v): cut[i] = its column in
 * row i.  Each row's cost adds the least of the three (or two) neighbours
 * above; ties go to the lower column. */
static void least_cut(double *cost, const double *err, int n, int v, int *cut)
{
    memcpy(cost, err, (size_t)n * (size_t)v * sizeof(double));
    for (int i = 1; i < n; i++)
        for (int x = 0; x < v; x++) {
            int lo = x > 0 ? x - 1 : 0, hi = x + 2 < v ? x + 2 : v;
            double m = cost[(size_t)(i - 1) * (size_t)v + (size_t)lo];

            for (int k = lo + 1; k < hi; k++)
                if (cost[(size_t)(i - 1) * (size_t)v + (size_t)k] < m)
                    m = cost[(size_t)(i - 1) * (size_t)v + (size_t)k];
            cost[(size_t)i * (size_t)v + (size_t)x] += m;
        }
    for (int i = n - 1, x = 0; i >= 0; i--) {
        int lo = i == n - 1 ? 0 : (x > 0 ? x - 1 : 0);
        int hi = i == n - 1 ? v : (x + 2 < v ? x + 2 : v);

        x = lo;
        for (int k = lo + 1; k < hi; k++)
            if (cost[(size_t)i * (size_t)v + (size_t)k] < cost[(size_t)i * (size_t)v + (size_t)x])
                x = k;
        cut[i] = x;
    }
}

/* Squared difference of the source square at (px, py) with the canvas at
 * square pixel (x, y): the three channels summed in order. */
static double pixel_error(const quilt *qt, int x0, int y0, int px, int py, int x, int y)
{
    size_t at = (size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x);
    const float *sp = qt->src + ((size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)) * 3;
    double e = 0.0;

    for (int c = 0; c < 3; c++) {
        double d = (double)sp[c] - (double)qt->canvas[at * 3 + (size_t)c];

        e += d * d;
    }
    return e;
}

/* Lays the source square at (px, py) on square (gx, gy): left of the left
 * seam and above the top seam the canvas keeps its pixels. */
static void place(quilt *qt, int gx, int gy, int px, int py)
{
    int x0 = qt->rx + gx * qt->s, y0 = qt->ry + gy * qt->s;
    int w = qt->p < qt->width - x0 ? qt->p : qt->width - x0;
    int h = qt->p < qt->height - y0 ? qt->p : qt->height - y0;

    memset(qt->keep, 0, (size_t)qt->p * (size_t)qt->p);
    if (gx && qt->v) {
        int v = qt->v < w ? qt->v : w;

        for (int y = 0; y < h; y++)
            for (int x = 0; x < v; x++)
                qt->err[(size_t)y * (size_t)v + (size_t)x] = pixel_error(qt, x0, y0, px, py, x, y);
        least_cut(qt->cost, qt->err, h, v, qt->cut);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < qt->cut[y]; x++)
                qt->keep[(size_t)y * (size_t)qt->p + (size_t)x] = 1;
    }
    if (gy && qt->v) {
        int v = qt->v < h ? qt->v : h;

        for (int x = 0; x < w; x++)
            for (int y = 0; y < v; y++)
                qt->err[(size_t)x * (size_t)v + (size_t)y] = pixel_error(qt, x0, y0, px, py, x, y);
        least_cut(qt->cost, qt->err, w, v, qt->cut);
        for (int x = 0; x < w; x++)
            for (int y = 0; y < qt->cut[x]; y++)
                qt->keep[(size_t)y * (size_t)qt->p + (size_t)x] = 1;
    }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t at = (size_t)(y0 + y) * (size_t)qt->width + (size_t)(x0 + x);
            const float *sp =
                qt->src + ((size_t)(py + y) * (size_t)qt->sw + (size_t)(px + x)) * 3;

            if (qt->filled[at] == QUILT_FIXED) {
                if (qt->shadow)
                    memcpy(qt->shadow + at * 3, sp, 3 * sizeof(float));
                continue;
            }
            if (qt->filled[at] && qt->keep[(size_t)y * (size_t)qt->p + (size_t)x])
                continue;
            memcpy(qt->canvas + at * 3, sp, 3 * sizeof(float));
            qt->filled[at] = QUILT_PLACED;
            if (qt->occur)
                quilt_occur_count(qt->occur, px + x, py + y);
        }
    if (qt->occur)
        quilt_occur_update(qt->occur, px, py);
}

static fgsd_status make_cover(fgsd_session *s, quilt *qt)
{
    size_t stride = (size_t)qt->sw + 1;

    qt->cover = calloc(stride * ((size_t)qt->sh + 1), sizeof(double));
    if (!qt->cover)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the reference's mask");
    for (int y = 0; y < qt->sh; y++) {
        double row = 0.0;

        for (int x = 0; x < qt->sw; x++) {
            row += qt->mask[(size_t)y * (size_t)qt->sw + (size_t)x];
            qt->cover[(size_t)(y + 1) * stride + (size_t)(x + 1)] =
                qt->cover[(size_t)y * stride + (size_t)(x + 1)] + row;
        }
    }
    return FGSD_OK;
}

static void quilt_free(quilt *qt)
{
    free(qt->cand_x);
    free(qt->cand_y);
    free(qt->cand_err);
    free(qt->screen_err);
    free(qt->screen_order);
    free(qt->screen_tmp);
    free(qt->block_mean);
    free(qt->block_at);
    free(qt->err);
    free(qt->cost);
    free(qt->cut);
    free(qt->keep);
    free(qt->cover);
    free(qt->used);
}

/* The buffers of a quilt with squares of side p (and the source mask's
 * table); those of screening too, for up to QUILT_SCREEN x candidates
 * positions. */
static fgsd_status quilt_alloc(fgsd_session *s, quilt *qt, int p, int candidates)
{
    size_t drawn = (size_t)candidates * QUILT_SCREEN;
    size_t blocks = (size_t)(p / QUILT_BLOCK) * (size_t)(p / QUILT_BLOCK) + 1;

    qt->p = p;
    qt->v = p / 4;
    qt->s = p - qt->v;
    qt->err = malloc((size_t)p * (size_t)(qt->v + 1) * sizeof(double));
    qt->cost = malloc((size_t)p * (size_t)(qt->v + 1) * sizeof(double));
    qt->cut = malloc((size_t)p * sizeof(int));
    qt->keep = malloc((size_t)p * (size_t)p);
    qt->cand_x = malloc(drawn * sizeof(int));
    qt->cand_y = malloc(drawn * sizeof(int));
    qt->cand_err = malloc((size_t)candidates * sizeof(double));
    qt->screen_err = malloc(drawn * sizeof(double));
    qt->screen_order = malloc(drawn * sizeof(int));
    qt->screen_tmp = malloc(drawn * sizeof(int));
    qt->block_mean = malloc(blocks * 3 * sizeof(double));
    qt->block_at = malloc(blocks * 2 * sizeof(int));
    if (!qt->err || !qt->cost || !qt->cut || !qt->keep || !qt->cand_x || !qt->cand_y ||
        !qt->cand_err || !qt->screen_err || !qt->screen_order || !qt->screen_tmp ||
        !qt->block_mean || !qt->block_at)
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the patches");
    return qt->mask ? make_cover(s, qt) : FGSD_OK;
}

/* Spreading's counts for the current source (all zero). */
static fgsd_status alloc_used(fgsd_session *s, const quilt *qt, unsigned **used)
{
    *used = calloc((size_t)(qt->sw - qt->p + 1) * (size_t)(qt->sh - qt->p + 1), sizeof(unsigned));
    return *used ? FGSD_OK
                 : session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the patches' counts");
}

/* Covers the rw x rh region at (qt->rx, qt->ry) with squares; those with
 * nothing left to draw are skipped. */
static fgsd_status quilt_region(fgsd_session *s, quilt *qt, const fgsd_patch_params *q, int rw,
                                int rh)
{
    int cols = rw - qt->v > qt->s ? (rw - qt->v + qt->s - 1) / qt->s : 1;
    int rows = rh - qt->v > qt->s ? (rh - qt->v + qt->s - 1) / qt->s : 1;

    for (int gy = 0; gy < rows; gy++) {
        for (int gx = 0; gx < cols; gx++) {
            int x0 = qt->rx + gx * qt->s, y0 = qt->ry + gy * qt->s, px = 0, py = 0;
            int w = qt->p < qt->width - x0 ? qt->p : qt->width - x0;
            int h = qt->p < qt->height - y0 ? qt->p : qt->height - y0;

            if (!square_holds(qt, x0, y0, w, h, QUILT_EMPTY))
                continue;
            if (qt->mix) {
                mix_source *m = &qt->mix[qt->square_source[gy * cols + gx]];

                qt->src = m->rgb;
                qt->mask = m->mask;
                qt->sw = m->sw;
                qt->sh = m->sh;
                qt->cover = m->cover;
                qt->used = m->used;
                qt->box = m->box;
                qt->occur = &m->occur;
            }
            choose(qt, q, gx, gy, cols, &px, &py);
            place(qt, gx, gy, px, py);
            if (qt->used)
                mark_used(qt, px, py);
        }
        if (session_progress(s, 0, 0.0f, (float)(gy + 1) / (float)rows))
            return session_fail(s, FGSD_ERR_CANCELLED, "cancelled while the patches were laid");
    }
    return FGSD_OK;
}

/* Whether some p x p square of the source has a mean mask weight of at
 * least cover. */
static int any_square_covered(const quilt *qt, double cover)
{
    for (int y = 0; y + qt->p <= qt->sh; y++)
        for (int x = 0; x + qt->p <= qt->sw; x++)
            if (square_cover(qt, x, y) >= cover)
                return 1;
    return 0;
}

/* A masked source must hold a square at least half inside (squares less
 * inside than min_cover are used only where none is found: a feathered
 * selection's soft squares); else FGSD_ERR_TOO_SMALL. */
static fgsd_status check_inside(fgsd_session *s, const quilt *qt)
{
    if (any_square_covered(qt, QUILT_MIN_USABLE))
        return FGSD_OK;
    return session_fail(s, FGSD_ERR_TOO_SMALL,
                        "no %dx%d square lies inside the reference's selection: select a "
                        "larger area or take smaller squares",
                        qt->p, qt->p);
}

fgsd_status quilt_fill(fgsd_session *s, const float *src, const float *mask, int sw, int sh,
                       const fgsd_patch_params *q, int width, int height, float *out)
{
    quilt qt = {.src = src, .mask = mask, .sw = sw, .sh = sh, .width = width, .height = height,
                .canvas = out, .min_cover = QUILT_MIN_COVER, .bands_only = 1,
                .reuse = QUILT_REUSE};
    quilt_occur occur = {0};
    float *box = NULL;
    fgsd_status st;

    qt.filled = calloc((size_t)width * (size_t)height, 1);
    st = qt.filled ? quilt_alloc(s, &qt, quilt_patch_side(q->patch, sw, sh), q->candidates)
                   : session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d patch start",
                                  width, height);
    if (!st && mask)
        st = check_inside(s, &qt);
    if (!st)
        st = alloc_used(s, &qt, &qt.used);
    if (!st && !(box = box_means(s, src, sw, sh)))
        st = FGSD_ERR_NO_MEMORY;
    qt.box = box;
    if (!st)
        st = quilt_occur_init(s, &occur, src, mask, sw, sh, qt.p, (double)width * (double)height);
    qt.occur = &occur;
    if (!st)
        st = quilt_region(s, &qt, q, width, height);
    quilt_occur_free(&occur);
    free(box);
    free(qt.filled);
    quilt_free(&qt);
    return st;
}

int quilt_transfer_side(int patch, int sw, int sh)
{
    int side = sw < sh ? sw : sh;

    if (patch <= 0) {
        patch = side / 8;
        patch = patch < QUILT_AUTO_MIN ? QUILT_AUTO_MIN : patch;
        patch = patch > QUILT_TRANSFER_MAX ? QUILT_TRANSFER_MAX : patch;
    }
    return patch < side ? patch : side;
}

float fgsd_luma(float r, float g, float b)
{
    return (float)(0.299 * (double)r + 0.587 * (double)g + 0.114 * (double)b);
}

/* Rec. 601 luma of n RGB pixels, in double (sisa.py luminance), stored as
 * float; *mean and *std (population) of the stored values, weighted by
 * mask where it is given (a selection: the unselected pixels do not
 * count). */
static void luminance(const float *rgb, const float *mask, size_t n, float *lum, double *mean,
                      double *std)
{
    double sum = 0.0, sq = 0.0, weight = 0.0;

    for (size_t i = 0; i < n; i++) {
        lum[i] = fgsd_luma(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]);
        sum += mask ? (double)mask[i] * lum[i] : (double)lum[i];
        weight += mask ? (double)mask[i] : 1.0;
    }
    *mean = sum / weight;
    for (size_t i = 0; i < n; i++) {
        double d = (double)lum[i] - *mean;

        sq += mask ? (double)mask[i] * d * d : d * d;
    }
    *std = sqrt(sq / weight);
}

fgsd_status quilt_transfer(fgsd_session *s, const float *src, const float *mask, int sw, int sh,
                           const fgsd_patch_params *q, float alpha, const float *image, int width,
                           int height, const double *tone, float *out)
{
    quilt qt = {.src = src, .mask = mask, .sw = sw, .sh = sh, .width = width, .height = height,
                .canvas = out, .min_cover = QUILT_MIN_COVER, .bands_only = 1, .alpha = alpha,
                .reuse = QUILT_TRANSFER_REUSE};
    quilt_occur occur = {0};
    size_t n = (size_t)width * (size_t)height, ns = (size_t)sw * (size_t)sh;
    float *src_lum = malloc(ns * sizeof(float)), *target_lum = malloc(n * sizeof(float));
    double sm, ss, tm, ts;
    fgsd_status st;

    qt.filled = calloc(n, 1);
    st = qt.filled && src_lum && target_lum
             ? quilt_alloc(s, &qt, quilt_transfer_side(q->patch, sw, sh), q->candidates)
             : session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d restyle", width,
                            height);
    if (!st && mask)
        st = check_inside(s, &qt);
    if (!st) {
        /* The image's light and dark moved to the source's, so that its
         * squares can follow them whatever the two images' exposure. */
        luminance(src, mask, ns, src_lum, &sm, &ss);
        luminance(image, NULL, n, target_lum, &tm, &ts);
        if (tone) {
            /* a part of a larger image: that image's light and dark */
            tm = tone[0];
            ts = tone[1];
        }
        ts = ts > 1e-6 ? ts : 1e-6;
        for (size_t i = 0; i < n; i++)
            target_lum[i] = (float)(((double)target_lum[i] - tm) / ts * ss + sm);
        qt.src_lum = src_lum;
        qt.target_lum = target_lum;
        st = alloc_used(s, &qt, &qt.used);
    }
    if (!st)
        st = quilt_occur_init(s, &occur, src, mask, sw, sh, qt.p, (double)width * (double)height);
    qt.occur = &occur;
    if (!st)
        st = quilt_region(s, &qt, q, width, height);
    quilt_occur_free(&occur);
    free(src_lum);
    free(target_lum);
    free(qt.filled);
    quilt_free(&qt);
    return st;
}

fgsd_status quilt_heal(fgsd_session *s, const float *src, const float *mask, int whole, int sw,
                       int sh, int patch, const fgsd_patch_params *q, const float *hole, int x0,
                       int y0, int bw, int bh, int width, int height, float *canvas,
                       float *shadow)
{
    quilt qt = {.src = src, .mask = mask, .sw = sw, .sh = sh, .width = width, .height = height,
                .canvas = canvas, .min_cover = whole ? QUILT_HEAL_COVER : QUILT_MIN_COVER,
                .shadow = shadow};
    size_t n = (size_t)width * (size_t)height;
    fgsd_status st;
    int x1, y1;

    qt.filled = malloc(n);
    st = qt.filled ? quilt_alloc(s, &qt, patch, q->candidates)
                   : session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for the patches");
    if (!st && mask && !any_square_covered(&qt, qt.min_cover))
        st = session_fail(s, FGSD_ERR_TOO_SMALL,
                          "no %dx%d square fits in the texture around the hole; widen the band "
                          "or give a reference",
                          qt.p, qt.p);
    if (!st) {
        for (size_t i = 0; i < n; i++)
            qt.filled[i] = hole[i] > 0.0f ? QUILT_EMPTY : QUILT_FIXED;
        /* The hole's box grown by the overlap, so that the first squares
         * meet held pixels on every side. */
        qt.rx = x0 - qt.v > 0 ? x0 - qt.v : 0;
        qt.ry = y0 - qt.v > 0 ? y0 - qt.v : 0;
        x1 = x0 + bw + qt.v < width ? x0 + bw + qt.v : width;
        y1 = y0 + bh + qt.v < height ? y0 + bh + qt.v : height;
        st = quilt_region(s, &qt, q, x1 - qt.rx, y1 - qt.ry);
    }
    for (size_t i = 0; !st && i < n; i++)
        if (qt.filled[i] == QUILT_EMPTY)
            st = session_fail(s, FGSD_ERR_INTERNAL, "a hole pixel was left empty");
    free(qt.filled);
    quilt_free(&qt);
    return st;
}

/* ---- interpolation: squares of several sources, region by region ------- */

/* The grid's smooth random field: values drawn on a grid QUILT_MIX_CELL
 * squares apart, bilinear between them (models/sisa.py mix_field). */
static void mix_field(uint64_t seed, int cols, int rows, double *f)
{
    int gc = cols / QUILT_MIX_CELL + 2;

    for (int y = 0; y < rows; y++)
        for (int x = 0; x < cols; x++) {
            double fy = (double)y / QUILT_MIX_CELL, fx = (double)x / QUILT_MIX_CELL;
            int y0 = (int)fy, x0 = (int)fx;
            double ty = fy - y0, tx = fx - x0, g[4];

            for (int k = 0; k < 4; k++)
                g[k] = (double)quilt_uniform_int(seed, QUILT_MIX_STEP,
                                                 (uint32_t)((y0 + k / 2) * gc + x0 + k % 2),
                                                 1u << 24) /
                       (double)(1u << 24);
            f[(size_t)y * (size_t)cols + (size_t)x] =
                (g[0] * (1 - tx) + g[1] * tx) * (1 - ty) + (g[2] * (1 - tx) + g[3] * tx) * ty;
        }
}

/* Each grid square's source: the squares in the order of the field, the
 * first share weights[0] of them the first source's and so on (rounded
 * half to even, as numpy), so each source gets its share of the canvas in
 * regions a few squares wide. */
static fgsd_status mix_assign(fgsd_session *s, uint64_t seed, const fgsd_patch_source *src,
                              int n, int cols, int rows, int *square_source)
{
    size_t cells = (size_t)cols * (size_t)rows;
    double *f = malloc(cells * sizeof(double)), total = 0.0, cum = 0.0;
    int *order = malloc(cells * sizeof(int)), *tmp = malloc(cells * sizeof(int));
    size_t start = 0;

    if (!f || !order || !tmp) {
        free(f);
        free(order);
        free(tmp);
        return session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for an interpolation");
    }
    mix_field(seed, cols, rows, f);
    for (size_t i = 0; i < cells; i++)
        order[i] = (int)i;
    sort_by_field(order, tmp, cells, f);
    for (int k = 0; k < n; k++)
        total += (double)src[k].weight;
    for (int k = 0; k < n; k++) {
        size_t end;

        cum += (double)src[k].weight / total;
        end = k == n - 1 ? cells : (size_t)nearbyint(cum * (double)cells);
        for (; start < end && start < cells; start++)
            square_source[order[start]] = k;
    }
    free(f);
    free(order);
    free(tmp);
    return FGSD_OK;
}

fgsd_status quilt_mix(fgsd_session *s, const fgsd_patch_source *src, int n,
                      const fgsd_patch_params *q, int width, int height, float *out)
{
    quilt qt = {.width = width, .height = height, .canvas = out, .min_cover = QUILT_MIN_COVER,
                .bands_only = 1, .reuse = QUILT_REUSE};
    mix_source *m = calloc((size_t)n, sizeof(mix_source));
    int *square_source = NULL, p = 0;
    fgsd_status st = FGSD_OK;

    qt.filled = calloc((size_t)width * (size_t)height, 1);
    if (!m || !qt.filled)
        st = session_fail(s, FGSD_ERR_NO_MEMORY, "out of memory for a %dx%d interpolation",
                          width, height);
    for (int k = 0; !st && k < n; k++) {
        int side = quilt_patch_side(q->patch, src[k].width, src[k].height);

        p = k == 0 || side < p ? side : p;
    }
    if (!st)
        st = quilt_alloc(s, &qt, p, q->candidates); /* no mask here: none is qt's own */
    for (int k = 0; !st && k < n; k++) {
        m[k] = (mix_source){.rgb = src[k].rgb, .mask = src[k].mask, .sw = src[k].width,
                            .sh = src[k].height};
        qt.src = m[k].rgb;
        qt.mask = m[k].mask;
        qt.sw = m[k].sw;
        qt.sh = m[k].sh;
        st = alloc_used(s, &qt, &m[k].used);
        if (!st && !(m[k].box = box_means(s, m[k].rgb, m[k].sw, m[k].sh)))
            st = FGSD_ERR_NO_MEMORY;
        if (!st && qt.mask) {
            st = make_cover(s, &qt);
            m[k].cover = qt.cover;
            if (!st)
                st = check_inside(s, &qt);
            qt.cover = NULL;
        }
    }
    if (!st) {
        int cols = width - qt.v > qt.s ? (width - qt.v + qt.s - 1) / qt.s : 1;
        int rows = height - qt.v > qt.s ? (height - qt.v + qt.s - 1) / qt.s : 1;

        square_source = malloc((size_t)cols * (size_t)rows * sizeof(int));
        st = square_source ? mix_assign(s, q->seed, src, n, cols, rows, square_source)
                           : session_fail(s, FGSD_ERR_NO_MEMORY,
                                          "out of memory for an interpolation");
        /* each source's occurrences against its share of the squares */
        for (int k = 0; !st && k < n; k++) {
            size_t cells = (size_t)cols * (size_t)rows, mine = 0;

            for (size_t i = 0; i < cells; i++)
                mine += square_source[i] == k;
            st = quilt_occur_init(s, &m[k].occur, m[k].rgb, m[k].mask, m[k].sw, m[k].sh, p,
                                  (double)width * (double)height * (double)mine / (double)cells);
        }
    }
    if (!st) {
        qt.mix = m;
        qt.square_source = square_source;
        st = quilt_region(s, &qt, q, width, height);
    }
    qt.cover = NULL; /* the sources' tables and counts, freed below */
    qt.used = NULL;
    for (int k = 0; m && k < n; k++) {
        free(m[k].cover);
        free(m[k].used);
        free(m[k].box);
        quilt_occur_free(&m[k].occur);
    }
    free(m);
    free(square_source);
    free(qt.filled);
    quilt_free(&qt);
    return st;
}
