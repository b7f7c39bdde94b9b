/* Reference DeformConv: for every channel and kernel tap, sample the shifted positions of the
 * whole output plane into `col` (bilinear, masked), then accumulate col times the tap's weight
 * into each output map of the channel's group; the inner loops walk contiguous planes. */
#include "dlgen/deform.h"

/* Bilinear interpolation of plane x [height, width] at (h, w); pixels outside count as 0. */
static float bilinear(const float *x, size_t height, size_t width, float h, float w) {
    const float h0f = floorf(h), w0f = floorf(w);
    const float dh = h - h0f, dw = w - w0f;
    const int64_t h0 = (int64_t)h0f, w0 = (int64_t)w0f;
    const int64_t H = (int64_t)height, Wd = (int64_t)width;
    float value = 0.0f;
    int a, b;
    if (!(h > -1.0f && h < (float)height && w > -1.0f && w < (float)width)) {
        return 0.0f; /* all four neighbours are outside (also catches NaN) */
    }
    for (a = 0; a < 2; ++a) {
        const int64_t r = h0 + a;
        const float wh = a ? dh : 1.0f - dh;
        if (r < 0 || r >= H) {
            continue;
        }
        for (b = 0; b < 2; ++b) {
            const int64_t c = w0 + b;
            const float ww = b ? dw : 1.0f - dw;
            if (c >= 0 && c < Wd) {
                value += wh * ww * x[r * Wd + c];
            }
        }
    }
    return value;
}

/* col[i, j] = mask * X_c(h, w) for one channel plane x and one kernel tap (p, q). */
static void sample_tap(const int64_t *geom, const float *x, const float *off_h,
                       const float *off_w, const float *mask, size_t p, size_t q, float *col) {
    const size_t in_h = (size_t)geom[DLG_DEFORM_IN_H], in_w = (size_t)geom[DLG_DEFORM_IN_W];
    const size_t out_h = (size_t)geom[DLG_DEFORM_OUT_H], out_w = (size_t)geom[DLG_DEFORM_OUT_W];
    const int64_t base_h = (int64_t)p * geom[DLG_DEFORM_DILATION_H] - geom[DLG_DEFORM_PAD_TOP];
    const int64_t base_w = (int64_t)q * geom[DLG_DEFORM_DILATION_W] - geom[DLG_DEFORM_PAD_LEFT];
    size_t i, j;
    for (i = 0; i < out_h; ++i) {
        const int64_t row = (int64_t)i * geom[DLG_DEFORM_STRIDE_H] + base_h;
        for (j = 0; j < out_w; ++j) {
            const size_t k = i * out_w + j;
            const int64_t column = (int64_t)j * geom[DLG_DEFORM_STRIDE_W] + base_w;
            const float v = bilinear(x, in_h, in_w, (float)row + off_h[k],
                                     (float)column + off_w[k]);
            col[k] = mask != NULL ? v * mask[k] : v;
        }
    }
}

void dlg_deform_conv2d_f32(size_t batch, size_t channels, size_t maps, size_t group,
                           size_t offset_groups, const int64_t *geom, const float *X,
                           const float *W, const float *offset, const float *mask,
                           const float *B, float *Y, float *col) {
    const size_t kh = (size_t)geom[DLG_DEFORM_KERNEL_H], kw = (size_t)geom[DLG_DEFORM_KERNEL_W];
    const size_t taps = kh * kw;
    const size_t plane_in = (size_t)(geom[DLG_DEFORM_IN_H] * geom[DLG_DEFORM_IN_W]);
    const size_t plane = (size_t)(geom[DLG_DEFORM_OUT_H] * geom[DLG_DEFORM_OUT_W]);
    const size_t group_channels = channels / group, group_maps = maps / group;
    const size_t channels_per_offset = channels / offset_groups;
    size_t n, m, c, t, k;
    for (n = 0; n < batch; ++n) {
        float *y = Y + n * maps * plane;
        for (m = 0; m < maps; ++m) {
            const float bias = B != NULL ? B[m] : 0.0f;
            for (k = 0; k < plane; ++k) {
                y[m * plane + k] = bias;
            }
        }
        for (c = 0; c < channels; ++c) {
            const size_t g = c / channels_per_offset, first_map = (c / group_channels) * group_maps;
            const float *x = X + (n * channels + c) * plane_in;
            for (t = 0; t < taps; ++t) {
                const size_t tap = g * taps + t; /* (g, p, q) */
                const float *off = offset + (n * offset_groups * taps + tap) * 2 * plane;
                const float *msk = mask != NULL
                    ? mask + (n * offset_groups * taps + tap) * plane : NULL;
                sample_tap(geom, x, off, off + plane, msk, t / kw, t % kw, col);
                for (m = first_map; m < first_map + group_maps; ++m) {
                    const float weight = W[(m * group_channels + c % group_channels) * taps + t];
                    float *ym = y + m * plane;
                    for (k = 0; k < plane; ++k) {
                        ym[k] += weight * col[k];
                    }
                }
            }
        }
    }
}
