/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "image_math.h"

double residual_sum(const float *x, const float *d, size_t n)
{
    double ss = 0.0;

    for (size_t i = 0; i < n; i++)
        ss += ((double)x[i] - d[i]) * ((double)x[i] - d[i]);
    return ss;
}

/* Box filter of width k (at most n) along a line of n values at stride
 * `stride`, with wrap-around.  line: n doubles of scratch. */
static void box_line(float *v, int n, size_t stride, int k, double *line)
{
    double sum = 0.0;
    int lo;

    if (k > n)
        k = n;
    lo = k / 2;
    for (int i = 0; i < n; i++)
        line[i] = v[(size_t)i * stride];
    for (int j = -lo; j < k - lo; j++)
        sum += line[((j % n) + n) % n];
    for (int i = 0; i < n; i++) {
        v[(size_t)i * stride] = (float)(sum / k);
        sum += line[(i + k - lo) % n] - line[((i - lo) % n + n) % n];
    }
}

void lowpass_plane(float *v, int w, int h, int k, double *line)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < h; y++)
            box_line(v + (size_t)y * (size_t)w, w, 1, k, line);
        for (int x = 0; x < w; x++)
            box_line(v + x, h, (size_t)w, k, line);
    }
}

void add_lowpass(float *v, float sign, const float *a, const float *b, int w, int h, int k,
                 float *buf, double *line)
{
    size_t np = (size_t)w * (size_t)h;

    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < np; i++)
            buf[i] = a[3 * i + (size_t)c] - (b ? b[3 * i + (size_t)c] : 0.0f);
        lowpass_plane(buf, w, h, k, line);
        for (size_t i = 0; i < np; i++)
            v[3 * i + (size_t)c] += sign * buf[i];
    }
}
