/* Reference convolution: a direct convolution that, for each output channel, adds one kernel
 * tap of one input channel at a time to the whole output plane, so the innermost loop walks a
 * contiguous output row (and an input row at the stride). Fast kernels with the same names
 * live in src/opt/. */
#include "dlgen/conv.h"
#include "dlgen/geometry.h"

typedef dlg_geom_axis conv_axis; /* one spatial axis of the geometry table */

/* The outputs [*lo, *hi) for which kernel tap k reads inside the input along this axis, i.e.
 * 0 <= o * stride + offset < in with offset = k * dilation - pad_begin. */
static void tap_outputs(const conv_axis *a, int64_t k, int64_t *lo, int64_t *hi) {
    const int64_t offset = k * a->dilation - a->pad_begin;
    const int64_t last_in = a->in - 1 - offset; /* o * stride must not exceed this */
    const int64_t first = offset >= 0 ? 0 : (-offset + a->stride - 1) / a->stride;
    const int64_t end = last_in < 0 ? 0 : last_in / a->stride + 1;
    *hi = end < a->out ? end : a->out;
    *lo = first < *hi ? first : *hi;
}

/* y += weight * x shifted by kernel tap (tap[0], tap[1], tap[2]), for every output position
 * whose tap lands inside x (padding contributes nothing). y is one output plane, x one input
 * plane. */
static void add_tap(float *y, const float *x, float weight, const conv_axis ax[3],
                    const int64_t tap[3]) {
    int64_t lo[3], hi[3], offset[3];
    int64_t od, oh, ow;
    size_t i;
    for (i = 0; i < 3; ++i) {
        tap_outputs(&ax[i], tap[i], &lo[i], &hi[i]);
        offset[i] = tap[i] * ax[i].dilation - ax[i].pad_begin;
    }
    for (od = lo[0]; od < hi[0]; ++od) {
        const int64_t id = od * ax[0].stride + offset[0];
        for (oh = lo[1]; oh < hi[1]; ++oh) {
            const int64_t ih = oh * ax[1].stride + offset[1];
            const float *x_row = x + (id * ax[1].in + ih) * ax[2].in;
            float *y_row = y + (od * ax[1].out + oh) * ax[2].out;
            for (ow = lo[2]; ow < hi[2]; ++ow) {
                y_row[ow] += weight * x_row[ow * ax[2].stride + offset[2]];
            }
        }
    }
}

/* y += weight * x scattered by kernel tap (tap[0], tap[1], tap[2]): each input position i of
 * the plane x adds to output position i * stride + tap * dilation - pad_begin of the plane y
 * when that lies inside y. */
static void scatter_tap(float *y, const float *x, float weight, const conv_axis ax[3],
                        const int64_t tap[3]) {
    int64_t lo[3], hi[3], offset[3];
    int64_t id, ih, iw;
    size_t i;
    for (i = 0; i < 3; ++i) {
        /* The inputs that land inside y: tap_outputs with the roles of in and out swapped. */
        conv_axis swapped = ax[i];
        swapped.in = ax[i].out;
        swapped.out = ax[i].in;
        tap_outputs(&swapped, tap[i], &lo[i], &hi[i]);
        offset[i] = tap[i] * ax[i].dilation - ax[i].pad_begin;
    }
    for (id = lo[0]; id < hi[0]; ++id) {
        const int64_t od = id * ax[0].stride + offset[0];
        for (ih = lo[1]; ih < hi[1]; ++ih) {
            const int64_t oh = ih * ax[1].stride + offset[1];
            const float *x_row = x + (id * ax[1].in + ih) * ax[2].in;
            float *y_row = y + (od * ax[1].out + oh) * ax[2].out;
            for (iw = lo[2]; iw < hi[2]; ++iw) {
                y_row[iw * ax[2].stride + offset[2]] += weight * x_row[iw];
            }
        }
    }
}

/* Add every kernel tap of the weights w [kD, kH, kW] between the input plane x and the output
 * plane y: gathered into each output (add_tap, Conv) or scattered from each input
 * (scatter_tap, ConvTranspose). */
static void apply_taps(float *y, const float *x, const float *w, const conv_axis ax[3],
                       int transpose) {
    int64_t tap[3];
    for (tap[0] = 0; tap[0] < ax[0].kernel; ++tap[0]) {
        for (tap[1] = 0; tap[1] < ax[1].kernel; ++tap[1]) {
            for (tap[2] = 0; tap[2] < ax[2].kernel; ++tap[2]) {
                if (transpose) {
                    scatter_tap(y, x, *w, ax, tap);
                } else {
                    add_tap(y, x, *w, ax, tap);
                }
                ++w;
            }
        }
    }
}

void dlg_conv_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                  const int64_t *geom, const float *X, const float *W, const float *B, float *Y,
                  int act, float act_a, float act_b) {
    conv_axis ax[3];
    size_t i, n, m, c, in_plane, out_plane, taps;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    for (n = 0; n < batch; ++n) {
        for (m = 0; m < out_channels; ++m) {
            const float *x = X + (n * in_channels + (m / group_out) * group_in) * in_plane;
            const float *w = W + m * group_in * taps;
            float *y = Y + (n * out_channels + m) * out_plane;
            const float bias = B ? B[m] : 0.0f;
            for (i = 0; i < out_plane; ++i) {
                y[i] = bias;
            }
            for (c = 0; c < group_in; ++c) {
                apply_taps(y, x + c * in_plane, w + c * taps, ax, 0);
            }
            dlg_act_inplace(y, out_plane, act, act_a, act_b);
        }
    }
}

void dlg_conv_transpose_f32(size_t batch, size_t in_channels, size_t out_channels,
                            size_t groups, const int64_t *geom, const float *X, const float *W,
                            const float *B, float *Y) {
    conv_axis ax[3];
    size_t i, n, m, c, in_plane, out_plane, taps;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    for (n = 0; n < batch; ++n) {
        for (m = 0; m < out_channels; ++m) {
            float *y = Y + (n * out_channels + m) * out_plane;
            const float bias = B ? B[m] : 0.0f;
            for (i = 0; i < out_plane; ++i) {
                y[i] = bias;
            }
        }
        for (c = 0; c < in_channels; ++c) {
            const float *x = X + (n * in_channels + c) * in_plane;
            const size_t first_out = (c / group_in) * group_out;
            for (m = 0; m < group_out; ++m) {
                const float *w = W + (c * group_out + m) * taps;
                float *y = Y + (n * out_channels + first_out + m) * out_plane;
                apply_taps(y, x, w, ax, 1);
            }
        }
    }
}

void dlg_batchnorm_f32(size_t batch, size_t channels, size_t plane, float epsilon,
                       const float *scale, const float *bias, const float *mean,
                       const float *var, const float *X, float *Y) {
    size_t n, c, i;
    for (n = 0; n < batch; ++n) {
        for (c = 0; c < channels; ++c) {
            const float s = scale[c] / sqrtf(var[c] + epsilon);
            const float shift = bias[c] - mean[c] * s;
            const float *x = X + (n * channels + c) * plane;
            float *y = Y + (n * channels + c) * plane;
            for (i = 0; i < plane; ++i) {
                y[i] = x[i] * s + shift;
            }
        }
    }
}
