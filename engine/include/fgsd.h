/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * fgsd: feature-guided score diffusion for textures (the engine).
 *
 * The only public header of libfgsd.  Pure C11; no GLib, GTK or GIMP.
 *
 * Objects
 *   fgsd_model    immutable weights loaded from a model file; may be shared by
 *                 several sessions and threads once loaded.
 *   fgsd_session  one per thread: backend state, scratch buffers, last error.
 *                 A session is NOT thread-safe; never call two functions on
 *                 the same session at once.
 *
 * Images cross the API as interleaved RGB float (3 values per pixel, row
 * major, no padding), in the paper's units: 0 = black, 1 = white; noisy images
 * may leave [0, 1].  Masks are one float per pixel in [0, 1] (0 = not
 * selected).  The caller owns every buffer; the engine copies what it needs
 * and keeps no pointer after a call returns ("borrows").
 *
 * Every fallible call returns fgsd_status (FGSD_OK == 0).  Details go to the
 * session's last-error text (or, for model loading, to the caller's buffer).
 * The library never prints and never exits.
 */
#ifndef FGSD_H
#define FGSD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FGSD_BUILDING_LIBRARY) && defined(__GNUC__)
#define FGSD_API __attribute__((visibility("default")))
#else
#define FGSD_API
#endif

#define FGSD_VERSION_STRING "0.1.0"

/* Model file format version this engine reads (docs/model-format.md). */
#define FGSD_MODEL_FORMAT_VERSION 1

/* Smallest reference the feature extractor accepts: the selection's bounding
 * box must be at least this many pixels on each side and contain at least
 * FGSD_MIN_REFERENCE_PIXELS selected pixels (mask-weighted).  Below that the
 * channel means of the deepest blocks average fewer than 4x4 positions and
 * stop describing a texture. */
#define FGSD_MIN_REFERENCE_SIDE 32
#define FGSD_MIN_REFERENCE_PIXELS 1024

/* Largest canvas the engine accepts on either side. */
#define FGSD_MAX_SIDE 32768

/* Largest step cap of the sampler. */
#define FGSD_MAX_STEPS 100000

typedef enum fgsd_status {
    FGSD_OK = 0,
    FGSD_ERR_INVALID_ARGUMENT, /* NULL, out-of-range or NaN parameter */
    FGSD_ERR_NO_MEMORY,        /* an allocation failed */
    FGSD_ERR_IO,               /* file missing or unreadable */
    FGSD_ERR_FORMAT,           /* model file corrupt or truncated */
    FGSD_ERR_VERSION,          /* model file of an unsupported format version */
    FGSD_ERR_ARCHITECTURE,     /* model architecture this engine cannot run */
    FGSD_ERR_CHECKSUM,         /* model data does not match its checksum */
    FGSD_ERR_TOO_SMALL,        /* reference or image below the minimum size */
    FGSD_ERR_TOO_LARGE,        /* canvas above FGSD_MAX_SIDE or the budget */
    FGSD_ERR_BACKEND,          /* requested backend unavailable or failed */
    FGSD_ERR_CANCELLED,        /* the progress callback asked to stop */
    FGSD_ERR_INTERNAL,         /* a bug: please report */
} fgsd_status;

/* Static English name of a status code ("corrupt model file", ...). */
FGSD_API const char *fgsd_status_string(fgsd_status status);

/* ---- models ------------------------------------------------------------ */

typedef struct fgsd_model fgsd_model;

#define FGSD_MAX_LEVELS 6

typedef struct fgsd_model_info {
    int format_version;
    int channels;                      /* image channels (3) */
    int levels;                        /* number of 2x2 poolings */
    int widths[FGSD_MAX_LEVELS + 1];   /* channels per level, [0..levels] */
    int conditioned;                   /* 1: has feature projection gains */
    int output_residual;               /* 1: net outputs x - D(x); 0: D(x) */
    int feature_dim;                   /* length of phi (0 if unconditioned) */
    int receptive_field;               /* pixels, for tiling halos */
    int size_multiple;                 /* 2^levels */
    float data_mean[3];                /* per-channel training-data mean m */
    int64_t parameters;                /* number of weights */
    int feature_window;                /* side of the training crops: phi of a reference
                                          is the mean over windows of this side; 0 = the
                                          whole reference in one pass */
} fgsd_model_info;

/* Loads a model file.  On failure *model is NULL and, when err is not NULL,
 * a one-line message naming the problem is written into err (errlen bytes
 * including the terminating NUL). */
FGSD_API fgsd_status fgsd_model_load(const char *path, fgsd_model **model, char *err,
                                     size_t errlen);

/* Same, from memory (borrows data; copies what it keeps). */
FGSD_API fgsd_status fgsd_model_load_memory(const void *data, size_t size, fgsd_model **model,
                                            char *err, size_t errlen);

/* Accepts NULL. */
FGSD_API void fgsd_model_free(fgsd_model *model);

FGSD_API void fgsd_model_get_info(const fgsd_model *model, fgsd_model_info *info);

/* A metadata string of the model file ("recipe", "description", ...), or NULL.
 * The pointer lives as long as the model. */
FGSD_API const char *fgsd_model_metadata(const fgsd_model *model, const char *key);

/* Number of metadata entries, and the key of entry i (NULL when out of
 * range); the pointers live as long as the model. */
FGSD_API int fgsd_model_metadata_count(const fgsd_model *model);
FGSD_API const char *fgsd_model_metadata_key(const fgsd_model *model, int i);

/* ---- sessions ---------------------------------------------------------- */

typedef struct fgsd_session fgsd_session;

typedef enum fgsd_backend_kind {
    FGSD_BACKEND_AUTO = 0, /* CUDA when usable, else CPU */
    FGSD_BACKEND_CPU,      /* oneDNN when built with it, else the plain C code */
    FGSD_BACKEND_CUDA,     /* falls back to CPU (with a message) when unusable */
    FGSD_BACKEND_REFERENCE /* plain C oracle: slow, for tests */
} fgsd_backend_kind;

/* Progress: called on the caller's thread between network passes.  fraction
 * is an estimate in [0, 1]; sigma the current noise estimate (0 when not
 * sampling).  Return non-zero to cancel: the running call then returns
 * FGSD_ERR_CANCELLED and writes nothing to its outputs. */
typedef int (*fgsd_progress_fn)(void *user, int step, float sigma, float fraction);

typedef struct fgsd_session_options {
    fgsd_backend_kind backend;
    int threads;                /* 0 = all cores */
    int cuda_strict;            /* 1: fail instead of falling back to CPU */
    size_t memory_budget;       /* bytes for activations; 0 (the default) =
                                   automatic: 1 GiB on the CPU, three quarters
                                   of the free memory on a GPU.  A budget given
                                   holds on both.  Larger images run in tiles
                                   that fit. */
    int max_tile;               /* 0 = tiles as large as the budget allows; else
                                   the largest tile window side in pixels */
    int deterministic;          /* 1: bit-identical run to run */
    fgsd_progress_fn progress;  /* may be NULL */
    void *progress_user;
} fgsd_session_options;

FGSD_API fgsd_session_options fgsd_session_options_default(void);

/* Creates a session on model (borrowed: the model must outlive the session).
 * options NULL = defaults.  When the requested backend is unavailable and
 * cuda_strict is 0, the session is created on the CPU, FGSD_OK is returned
 * and fgsd_session_notice() says why.  On failure *session is NULL and, when
 * err is not NULL, a one-line message is written there (errlen bytes). */
FGSD_API fgsd_status fgsd_session_create(const fgsd_model *model,
                                         const fgsd_session_options *options,
                                         fgsd_session **session, char *err, size_t errlen);

/* Accepts NULL. */
FGSD_API void fgsd_session_free(fgsd_session *session);

/* The detail of the last error on this session ("" if none). */
FGSD_API const char *fgsd_session_last_error(const fgsd_session *session);

/* A notice a user should see (backend fallback, tiling), or "". */
FGSD_API const char *fgsd_session_notice(const fgsd_session *session);

/* Name of the backend actually in use ("reference", "cpu-onednn", ...). */
FGSD_API const char *fgsd_session_backend_name(const fgsd_session *session);

/* Sets the model of classifier-free guidance's D0 (fgsd_sampler_params
 * .guidance): guide is another session (e.g. on the Algorithm 4 baseline,
 * models/uncond.fgsd), borrowed until it is replaced or this session is
 * freed; NULL (the default) = this session's model without its projection. */
FGSD_API void fgsd_session_set_guide(fgsd_session *session, fgsd_session *guide);

/* A watch on the sampler for a live preview: fn is called at its first
 * step and every `every` steps after (every >= 1) with the current clean
 * estimate D(x) (width x height RGB, valid during the call only; a
 * coarse-to-fine level at its own size), on the caller's thread.  A
 * non-zero return cancels, as the progress callback's.  fn NULL: none. */
typedef int (*fgsd_watch_fn)(void *user, const float *rgb, int width, int height, int step);
FGSD_API void fgsd_session_set_watch(fgsd_session *session, fgsd_watch_fn fn, void *user,
                                     int every);

/* ---- references: what a texture should look like ----------------------- */

/* Length of phi for this model (0 for an unconditioned model). */
FGSD_API int fgsd_model_feature_dim(const fgsd_model *model);

/* A measured reference texture: phi (method.md section 2) and the mean
 * colour, at full scale and at the coarser scales of the coarse-to-fine
 * sampler (the image shrunk by 2, 4, ... with 2x2 means, while it keeps
 * FGSD_MIN_REFERENCE_SIDE pixels a side and FGSD_MIN_REFERENCE_PIXELS
 * selected).  Immutable once made; it belongs to the model it was measured
 * with (the same feature_dim). */
typedef struct fgsd_reference fgsd_reference;

/* Measures rgb (width x height, borrowed) with an optional mask (NULL =
 * every pixel counts; weights in [0, 1]).  A reference larger than the
 * model's feature window is measured as the mean of its windows (at most
 * 16 x 16 of them, spread evenly; the notice says when it was sampled).
 * Reports progress and can be cancelled. */
FGSD_API fgsd_status fgsd_reference_measure(fgsd_session *session, const float *rgb, int width,
                                            int height, const float *mask,
                                            fgsd_reference **reference);

/* fgsd_reference_measure at the first `scales` scales only (below 1: all of
 * them): a sampler of L coarse-to-fine levels uses L, every other task 1,
 * and each scale costs network passes (about a third more work for all). */
FGSD_API fgsd_status fgsd_reference_measure_scales(fgsd_session *session, const float *rgb,
                                                   int width, int height, const float *mask,
                                                   int scales, fgsd_reference **reference);

/* The convex blend sum_i weights[i] refs[i] of phi and colour at every scale
 * all of them have: interpolation between textures, or with equal weights
 * the class centroid of several references.  Weights finite, >= 0, not all
 * 0; they are normalised to sum to 1. */
FGSD_API fgsd_status fgsd_reference_blend(const fgsd_reference *const *refs,
                                          const float *weights, int n,
                                          fgsd_reference **reference);

/* A reference of one scale from a feature vector measured before (dim =
 * the model's feature_dim; e.g. `fgsd features` output) and its colour. */
FGSD_API fgsd_status fgsd_reference_from_features(const float *phi, int dim,
                                                  const float colour[3],
                                                  fgsd_reference **reference);

/* Accepts NULL. */
FGSD_API void fgsd_reference_free(fgsd_reference *reference);

/* Scales measured (1 = full scale only). */
FGSD_API int fgsd_reference_levels(const fgsd_reference *reference);

/* phi at level (0 = full scale; feature_dim floats, living as long as the
 * reference), or NULL when level was not measured. */
FGSD_API const float *fgsd_reference_features(const fgsd_reference *reference, int level);

/* The mean colour at full scale. */
FGSD_API void fgsd_reference_colour(const fgsd_reference *reference, float colour[3]);

/* phi of one image in one call, without the reference's scales or colour
 * (windows, mask and cancel as fgsd_reference_measure); writes feature_dim
 * floats.  The paper's features, for tools that study them. */
FGSD_API fgsd_status fgsd_features(fgsd_session *session, const float *rgb, int width, int height,
                                   const float *mask, float *phi);

/* ---- the denoiser -------------------------------------------------------- */

/* One pass of the denoiser: clean = D(noisy; phi of reference at full
 * scale).  reference NULL = no projection (the unconditioned pass).  Any
 * size >= 8x8 (padded internally to the model's size multiple).  Large
 * images are tiled within the memory budget. */
FGSD_API fgsd_status fgsd_denoise(fgsd_session *session, const fgsd_reference *reference,
                                  const float *noisy, int width, int height, float *clean);

/* Blind estimate of the noise level of an image: ||x - D(x)|| / sqrt(d) with
 * the unconditioned pass (method.md section 1). */
FGSD_API fgsd_status fgsd_estimate_sigma(fgsd_session *session, const float *rgb, int width,
                                         int height, float *sigma);

/* ---- the sampler's settings (SISA, paper Algorithm 1) -------------------- */

typedef struct fgsd_sampler_params {
    float h0;          /* step size, (0, 1); default 0.02 */
    float beta;        /* injected-noise control, (0, 1]; default 0.02 */
    float sigma0;      /* noise added to the start, [0, 4]: synthesis 1
                          (default), restyle its strength (fgsd_restyle) */
    float sigma_final; /* stop when the estimate falls below, (0, 1); default 0.02 */
    int ascending;     /* 1: h_t = h0 t / (1 + h0 (t - 1)); 0: fixed h0 */
    int max_steps;     /* step cap, 1..FGSD_MAX_STEPS; default 1000 */
    uint64_t seed;     /* same seed -> same noise, whatever threads or tiling */
    int tileable;      /* 1: wrap-around padding, output tiles seamlessly */
    int free_colour;   /* 0 (default): the result keeps the colour layout of
                          its start (synthesis: the reference's mean colour;
                          restyle and heal: the image's low frequencies;
                          docs/design.md "Colour").  1: the paper's sampler,
                          the colours may drift (synthesis starts at the
                          model's data mean). */
    float guidance;    /* classifier-free guidance on top of the feature
                          guidance: D = D0 + w (D(x; phi) - D0), D0 from
                          fgsd_session_set_guide's model; one more network
                          pass per step.  0 (default) or 1: none; else in
                          (1, 8].  docs/quality.md, "Classifier-free
                          guidance". */
    int levels;        /* synthesis, coarse to fine: 1 (default) = one level
                          at full size; L > 1 draws at 1/2^(L-1) of the size
                          from the reference at that scale first, then each
                          finer level from the one above (upsampled, noise
                          FGSD_LEVEL_SIGMA added, low frequencies kept).
                          At most FGSD_MAX_SAMPLER_LEVELS, and at most the
                          reference's levels. */
} fgsd_sampler_params;

#define FGSD_MAX_SAMPLER_LEVELS 4
#define FGSD_LEVEL_SIGMA 0.3f

typedef struct fgsd_sample_stats {
    int steps;           /* network passes of the loop (all levels) */
    float final_sigma;   /* last noise estimate */
    int tiles;           /* tiles per pass at full size (1 = whole image) */
} fgsd_sample_stats;

/* The tasks that sample; each has its own measured default settings. */
typedef enum fgsd_task {
    FGSD_TASK_SYNTHESIZE = 0, /* fgsd_synthesize, interpolation included */
    FGSD_TASK_RESTYLE,        /* fgsd_restyle */
    FGSD_TASK_DENOISE,        /* fgsd_denoise_iterate */
    FGSD_TASK_HEAL,           /* fgsd_heal */
} fgsd_task;

/* The defaults for task (docs/quality.md, "Sampler settings"); an unknown
 * task gets the synthesis defaults. */
FGSD_API fgsd_sampler_params fgsd_sampler_params_default(fgsd_task task);

/* ---- memory ------------------------------------------------------------- */

/* Bytes of the full-size buffers task keeps at once for a width x height
 * result with params (NULL = the defaults), not counting the caller's own
 * images nor the network's activations (those stay within the session's
 * memory budget, in tiles). */
FGSD_API size_t fgsd_task_memory(fgsd_task task, const fgsd_sampler_params *params, int width,
                                 int height);

/* Bytes this process may still use: free memory plus swap, or what its
 * address-space limit (ulimit -v) allows when that is less (then
 * *address_space_limited, when not NULL, is 1); 0 when unknown. */
FGSD_API size_t fgsd_memory_available(int *address_space_limited);

/* ---- tasks: one call each ------------------------------------------------ */
/* Each writes its result (interleaved RGB, caller-allocated, width x height)
 * only on success; stats may be NULL.  Results are the final clean estimate
 * D(x), unclipped. */

/* A new width x height texture like reference (NULL = a sample of the
 * model's prior; interpolation: a blended reference). */
FGSD_API fgsd_status fgsd_synthesize(fgsd_session *session, const fgsd_reference *reference,
                                     const fgsd_sampler_params *params, int width, int height,
                                     float *out, fgsd_sample_stats *stats);

/* The patch start of a synthesis (docs/design.md "Patch start"). */
typedef struct fgsd_patch_params {
    int patch;      /* side of the squares taken from the source: 0
                       (default) = 3/8 of the source's smaller side, within
                       8..128; else >= 8 (at most that side) */
    int candidates; /* source positions tried per square, 1..4096 (a
                       synthesis or interpolation screens 16 times as many
                       by block means to find them); the one
                       that fits its placed neighbours best is used, the
                       seams cut along the least difference; default 64 */
    uint64_t seed;  /* same seed -> same squares */
} fgsd_patch_params;

#define FGSD_MAX_PATCH_CANDIDATES 4096
/* The default redraw strength (params->sigma0) of a patch start: the
 * measured best (docs/quality.md, "Patch start"). */
#define FGSD_PATCH_STRENGTH 0.0f

FGSD_API fgsd_patch_params fgsd_patch_params_default(void);

/* A new width x height texture that starts from squares of the reference
 * image itself: source (sw x sh RGB; mask NULL or its per-pixel weights in
 * [0, 1], squares mostly outside it avoided) is quilted into the canvas
 * (each square the best-fitting of patch->candidates positions, the seams
 * cut where the squares differ least), and then, when params->sigma0 > 0, redrawn by the sampler
 * from there as fgsd_restyle does with that strength (reference conditions
 * it; NULL = unconditioned).  sigma0 = 0: the quilt alone, no network pass.
 * Not tileable (params->tileable must be 0). */
FGSD_API fgsd_status fgsd_synthesize_from_patches(fgsd_session *session,
                                                  const fgsd_reference *reference,
                                                  const fgsd_sampler_params *params,
                                                  const fgsd_patch_params *patch,
                                                  const float *source, const float *mask, int sw,
                                                  int sh, int width, int height, float *out,
                                                  fgsd_sample_stats *stats);

/* image (width x height) redrawn with reference's texture: the sampler
 * starts at image + params->sigma0 (the strength) noise; unless
 * free_colour, the image's low frequencies (its colour layout) stay. */
FGSD_API fgsd_status fgsd_restyle(fgsd_session *session, const fgsd_reference *reference,
                                  const fgsd_sampler_params *params, const float *image,
                                  int width, int height, float *out, fgsd_sample_stats *stats);

/* One texture of an interpolation from patches. */
typedef struct fgsd_patch_source {
    const float *rgb;  /* width x height RGB */
    const float *mask; /* NULL, or per-pixel weights in [0, 1] (a selection) */
    int width, height;
    float weight;      /* its share of the canvas, >= 0 (normalised to sum 1) */
} fgsd_patch_source;

/* A width x height mixture of n textures from their own squares
 * (docs/design.md "Interpolation from patches"); no network pass.  The
 * canvas's grid of squares (side: the smallest of patch->patch or, for 0,
 * 3/8 of each source's smaller side) is split between the sources by a
 * smooth random field of the seed, each source getting its weight's share
 * of the squares in regions a few squares wide; each square is then the
 * best of patch->candidates positions in its source at fitting the squares
 * laid before, seams cut where they differ least, as in
 * fgsd_synthesize_from_patches. */
FGSD_API fgsd_status fgsd_interpolate_from_patches(fgsd_session *session,
                                                   const fgsd_patch_params *patch,
                                                   const fgsd_patch_source *sources, int n,
                                                   int width, int height, float *out);

/* The default strength of a restyle from patches: the measured best
 * (docs/quality.md, "Restyle"). */
#define FGSD_TRANSFER_STRENGTH 0.1f

/* image (width x height RGB) redrawn in squares of source (sw x sh RGB;
 * mask NULL or its per-pixel weights, as fgsd_synthesize_from_patches) by
 * texture transfer (Efros and Freeman 2001; docs/design.md "Restyle from
 * patches"); no network pass.  The squares (side patch->patch; 0 = 1/8 of
 * the source's smaller side, within 8..64) are laid in raster order, each
 * the best of patch->candidates positions at strength x its mean squared
 * difference from the squares laid before + (1 - strength) x that of its
 * luminance from the image's (moved to the source's mean and spread
 * first); seams cut where the squares differ least.  strength in [0, 1]:
 * low follows the image's light and dark closely, 1 ignores the image.
 * The result has the source's colours; out must not be image. */
FGSD_API fgsd_status fgsd_restyle_from_patches(fgsd_session *session,
                                               const fgsd_patch_params *patch, float strength,
                                               const float *image, int width, int height,
                                               const float *source, const float *mask, int sw,
                                               int sh, float *out);

/* fgsd_restyle_from_patches on a part of a larger image (a preview's
 * crop): the part's luminance is moved to the source's with the whole
 * image's luma mean and spread (Rec. 601, 0.299 R + 0.587 G + 0.114 B; the
 * population standard deviation) instead of its own, so that the part
 * follows the tones the whole image's restyle gives it. */
FGSD_API fgsd_status fgsd_restyle_part_from_patches(fgsd_session *session,
                                                    const fgsd_patch_params *patch,
                                                    float strength, const float *image, int width,
                                                    int height, double whole_mean,
                                                    double whole_std, const float *source,
                                                    const float *mask, int sw, int sh,
                                                    float *out);

/* The luma restyle follows: Rec. 601, 0.299 r + 0.587 g + 0.114 b in
 * double, rounded to float (for a caller that measures an image's tones
 * for fgsd_restyle_part_from_patches itself). */
FGSD_API float fgsd_luma(float r, float g, float b);

/* Denoises by running the sampler from the noisy image itself (no noise
 * added: params->sigma0 is not used), reference NULL = unconditioned;
 * unless free_colour, the image's low frequencies stay. */
FGSD_API fgsd_status fgsd_denoise_iterate(fgsd_session *session, const fgsd_reference *reference,
                                          const fgsd_sampler_params *params, const float *noisy,
                                          int width, int height, float *out,
                                          fgsd_sample_stats *stats);

/* ---- healing a hole (docs/design.md "Heal") ------------------------------ */

/* The reference band around a hole: band = 1 - hole on the pixels within
 * band_width pixels (Chebyshev distance) of a hole pixel (hole > 0), else 0.
 * hole: width x height weights in [0, 1], 1 = to be filled. */
FGSD_API fgsd_status fgsd_heal_band(const float *hole, int width, int height, int band_width,
                                    float *band);

/* Fills the hole of image (interleaved RGB, width x height; hole as above)
 * with texture that continues its surroundings: the sampler runs on the
 * hole's bounding box grown by a margin (the larger of band_width and half
 * the receptive field), holding every pixel outside the hole at its value.
 * reference NULL: the texture is read from the band around the hole
 * (fgsd_heal_band); else the reference conditions the fill.  out receives
 * the whole image (pixels outside the hole unchanged); it may be image
 * itself. */
FGSD_API fgsd_status fgsd_heal(fgsd_session *session, const fgsd_reference *reference,
                               const fgsd_sampler_params *params, const float *image,
                               const float *hole, int width, int height, int band_width,
                               float *out, fgsd_sample_stats *stats);

/* How far around the hole's bounding box fgsd_heal_from_patches looks for
 * a place to clone the hole from: a caller that passes a crop of a larger
 * image gives it this much of the image around the hole. */
#define FGSD_HEAL_CLONE_REACH 272

/* Fills the hole with texture that continues its surroundings, with no
 * network pass (docs/design.md "Heal from patches").  Where the
 * surroundings repeat (a lattice), the hole is cloned whole from the one
 * place within FGSD_HEAL_CLONE_REACH pixels (or anywhere in source) whose
 * pixels around the copy match those around the hole.  Otherwise squares
 * of texture are laid as fgsd_synthesize_from_patches lays them: source
 * NULL: from the band of band_width (8..) pixels around the hole (side
 * patch->patch, 0 = 3/4 of the band); else from source (sw x sh RGB;
 * source_mask NULL or its selection; side 0 = 3/8 of its smaller side).
 * They cover the hole's bounding box grown by a quarter square in raster
 * order, each the best of patch->candidates positions at fitting the
 * pixels around it and those laid before, the seams cut where they differ
 * least.  out = hole * fill + (1 - hole) * image: pixels outside the hole
 * are kept bit for bit; out may be image.  FGSD_ERR_TOO_SMALL when no
 * square fits in the band (and no clone fits). */
FGSD_API fgsd_status fgsd_heal_from_patches(fgsd_session *session,
                                            const fgsd_patch_params *patch, const float *image,
                                            const float *hole, int width, int height,
                                            int band_width, const float *source,
                                            const float *source_mask, int sw, int sh,
                                            float *out);

#ifdef __cplusplus
}
#endif

#endif
