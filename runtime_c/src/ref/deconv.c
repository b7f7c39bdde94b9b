/* Reference transposed convolution: every input position scatters into the output, one kernel
 * tap of one input channel at a time over a whole plane. */
#include "dlgen/deconv.h"
#include "dlgen/geometry.h"

typedef dlg_geom_axis conv_axis; /* one spatial axis of the geometry table */

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
        dlg_geom_tap_range(&swapped, tap[i], &lo[i], &hi[i]);
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

/* Scatter every input position of the plane x through every kernel tap of w [kD, kH, kW]
 * into the output plane y. */
static void scatter_taps(float *y, const float *x, const float *w, const conv_axis ax[3]) {
    int64_t tap[3];
    for (tap[0] = 0; tap[0] < ax[0].kernel; ++tap[0]) {
        for (tap[1] = 0; tap[1] < ax[1].kernel; ++tap[1]) {
            for (tap[2] = 0; tap[2] < ax[2].kernel; ++tap[2]) {
                scatter_tap(y, x, *w, ax, tap);
                ++w;
            }
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
                scatter_taps(y, x, w, ax);
            }
        }
    }
}
