/* Reference convolution: a direct convolution that, for each output channel, adds one kernel
 * tap of one input channel at a time to the whole output plane, so the innermost loop walks a
 * contiguous output row (and an input row at the stride). The portable fast kernels with the
 * same names live in src/opt/conv.c. */
#include "dlgen/conv.h"
#include "dlgen/geometry.h"

typedef dlg_geom_axis conv_axis; /* one spatial axis of the geometry table */

/* y += weight * x shifted by kernel tap (tap[0], tap[1], tap[2]), for every output position
 * whose tap lands inside x (padding contributes nothing). y is one output plane, x one input
 * plane. */
static void add_tap(float *y, const float *x, float weight, const conv_axis ax[3],
                    const int64_t tap[3]) {
    int64_t lo[3], hi[3], offset[3];
    int64_t od, oh, ow;
    size_t i;
    for (i = 0; i < 3; ++i) {
        dlg_geom_tap_range(&ax[i], tap[i], &lo[i], &hi[i]);
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

/* Add every kernel tap of the weights w [kD, kH, kW] between the input plane x and the
 * output plane y. */
static void add_taps(float *y, const float *x, const float *w, const conv_axis ax[3]) {
    int64_t tap[3];
    for (tap[0] = 0; tap[0] < ax[0].kernel; ++tap[0]) {
        for (tap[1] = 0; tap[1] < ax[1].kernel; ++tap[1]) {
            for (tap[2] = 0; tap[2] < ax[2].kernel; ++tap[2]) {
                add_tap(y, x, *w, ax, tap);
                ++w;
            }
        }
    }
}

void dlg_conv_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                  const int64_t *geom, const float *X, const float *W, const float *B,
                  const float *Z, float *Y, int act, float act_a, float act_b) {
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
            const float *z = Z != NULL ? Z + (n * out_channels + m) * out_plane : NULL;
            for (i = 0; i < out_plane; ++i) {
                y[i] = z != NULL ? bias + z[i] : bias;
            }
            for (c = 0; c < group_in; ++c) {
                add_taps(y, x + c * in_plane, w + c * taps, ax);
            }
            dlg_act_inplace(y, out_plane, act, act_a, act_b);
        }
    }
}
