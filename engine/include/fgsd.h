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

/* ---- features phi ------------------------------------------------------- */

/* Length of phi for this model (0 for an unconditioned model). */
FGSD_API int fgsd_model_feature_dim(const fgsd_model *model);

/* phi of a reference image (width x height, interleaved RGB, borrowed) with an
 * optional mask (NULL = every pixel counts).  Writes feature_dim floats. */
FGSD_API fgsd_status fgsd_features(fgsd_session *session, const float *rgb, int width, int height,
                                   const float *mask, float *phi);

/* The mean colour of a reference (interleaved RGB, width x height), each
 * pixel weighted by mask (NULL = 1), as fgsd_features weighs it: the
 * sampler's start and colour (fgsd_sampler_params.mean).  Blend the colours
 * of several references with fgsd_features_blend (dim 3). */
FGSD_API fgsd_status fgsd_mean_colour(const float *rgb, int width, int height, const float *mask,
                                      float colour[3]);

/* Convex combination out = sum_i weights[i] * phis[i].  Weights must be
 * finite and >= 0; they are normalised to sum to 1 (a zero sum is an error).
 * With all weights equal this is the class centroid of several references. */
FGSD_API fgsd_status fgsd_features_blend(const float *const *phis, const float *weights, int n,
                                         int dim, float *out);

/* ---- the denoiser -------------------------------------------------------- */

/* One pass of the denoiser: clean = D(noisy; phi).  phi NULL = no projection
 * (the unconditioned pass).  Any size >= 8x8 (padded internally to the
 * model's size multiple).  Large images are tiled within the memory budget. */
FGSD_API fgsd_status fgsd_denoise(fgsd_session *session, const float *noisy, int width, int height,
                                  const float *phi, float *clean);

/* Blind estimate of the noise level of an image: ||x - D(x)|| / sqrt(d) with
 * the unconditioned pass (method.md section 1). */
FGSD_API fgsd_status fgsd_estimate_sigma(fgsd_session *session, const float *rgb, int width,
                                         int height, float *sigma);

/* ---- the sampler (SISA, paper Algorithm 1) ------------------------------- */

typedef struct fgsd_sampler_params {
    float h0;          /* step size, (0, 1); default 0.02 */
    float beta;        /* injected-noise control, (0, 1]; default 0.02 */
    float sigma0;      /* initial noise std, [0, 4]; default 1.0 */
    float sigma_final; /* stop when the estimate falls below, (0, 1); default 0.02 */
    int ascending;     /* 1: h_t = h0 t / (1 + h0 (t - 1)); 0: fixed h0 */
    int max_steps;     /* step cap, 1..FGSD_MAX_STEPS; default 1000 */
    uint64_t seed;     /* same seed -> same noise, whatever threads or tiling */
    int tileable;      /* 1: wrap-around padding, output tiles seamlessly */
    const float *init; /* NULL: start at m + sigma0 z.  Else start at
                          init + sigma0 z (borrowed, width x height RGB);
                          sigma0 = 0 with a noisy init denoises it as is. */
    const float *mean; /* NULL: m is the model's data mean (the paper).
                          Else 3 floats (borrowed), usually the reference's
                          colour (fgsd_mean_colour): x starts at mean +
                          sigma0 z and its low frequencies stay there (z,
                          every residual x - D(x) and the injected noise
                          lose their low-pass part, wider than half the
                          receptive field; channel means are kept
                          exactly), so the texture has the reference's
                          colour; see docs/design.md "Colour".  Not with
                          init. */
    const float *known; /* NULL, or width x height RGB (borrowed): pixels
                           to keep, for healing a hole (docs/design.md
                           "Heal").  Where known_mask is 1 the sampler
                           holds x at known + the current noise level
                           times fresh noise at every step, and the
                           result is known there; where it is 0 the
                           pixel is drawn; between, a blend.  Without
                           init the drawn pixels start at the known
                           pixels' mean colour.  Not with mean. */
    const float *known_mask; /* with known: one weight per pixel in [0, 1] */
    int keep_low_frequencies; /* 1: the low frequencies of x stay those of the
                                 start (init, the known pixels with the
                                 hole at their mean colour, or m), as mean
                                 does for a flat start: restyle and heal
                                 keep the image's colour layout.  Implied
                                 by mean. */
    float guidance;     /* classifier-free guidance on top of the feature
                           guidance: D = D0 + w (D(x; phi) - D0), D0 an
                           unconditional denoiser (guide, below); one more
                           network pass per step.  0 (the default) or 1:
                           none; else in (1, 8].  docs/quality.md,
                           "Classifier-free guidance": w = 1.25 with the
                           baseline model as guide. */
    fgsd_session *guide; /* with guidance: the session whose model gives D0
                            (its pass without a reference, e.g. the
                            Algorithm 4 baseline); NULL: this session's
                            model without its projection.  Borrowed. */
} fgsd_sampler_params;

typedef struct fgsd_sample_stats {
    int steps;           /* network passes of the loop */
    float final_sigma;   /* last noise estimate */
    int tiles;           /* tiles per pass (1 = whole image) */
} fgsd_sample_stats;

FGSD_API fgsd_sampler_params fgsd_sampler_params_default(void);

/* Draws a width x height texture conditioned on phi (NULL = unconditioned)
 * into out (interleaved RGB, caller-allocated).  stats may be NULL.
 * Returns the final clean estimate D(x), unclipped. */
FGSD_API fgsd_status fgsd_sample(fgsd_session *session, const fgsd_sampler_params *params,
                                 const float *phi, int width, int height, float *out,
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
 * the receptive field), holding every pixel outside the hole at its value
 * (fgsd_sampler_params.known).  phi NULL: the texture is read from the band
 * around the hole (fgsd_heal_band); else phi conditions the fill.  params
 * gives h0, beta, sigma0, sigma_final, the schedule, the cap and the seed;
 * its init, mean, known and known_mask must be NULL.  out receives the whole
 * image (pixels outside the hole unchanged); it may be image itself. */
FGSD_API fgsd_status fgsd_heal(fgsd_session *session, const fgsd_sampler_params *params,
                               const float *phi, const float *image, const float *hole,
                               int width, int height, int band_width, float *out,
                               fgsd_sample_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
