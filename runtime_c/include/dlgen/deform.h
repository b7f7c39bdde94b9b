/* DeformConv (ONNX DeformConv-19, 2-D), float32: a convolution whose kernel taps are moved by
 * learned per-position offsets and optionally scaled by a mask. */
#ifndef DLGEN_DEFORM_H
#define DLGEN_DEFORM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Indices into the geometry table `geom` (int64, DLG_DEFORM_GEOM_SIZE values). */
enum {
    DLG_DEFORM_IN_H = 0, DLG_DEFORM_IN_W,
    DLG_DEFORM_OUT_H, DLG_DEFORM_OUT_W,
    DLG_DEFORM_KERNEL_H, DLG_DEFORM_KERNEL_W,
    DLG_DEFORM_STRIDE_H, DLG_DEFORM_STRIDE_W,
    DLG_DEFORM_DILATION_H, DLG_DEFORM_DILATION_W,
    DLG_DEFORM_PAD_TOP, DLG_DEFORM_PAD_LEFT,
    DLG_DEFORM_GEOM_SIZE
};

/* Y[n, m, i, j] = B[m] + sum over the input channels c of m's group and the kernel taps (p, q):
 *     W[m, c - group_start, p, q] * mask[n, g, p, q, i, j] * X_c(h, w), where
 *     h = i * stride_h - pad_top  + p * dilation_h + offset[n, g, p, q, 0, i, j]
 *     w = j * stride_w - pad_left + q * dilation_w + offset[n, g, p, q, 1, i, j]
 * with g = c / (channels / offset_groups) the offset group of channel c, and X_c(h, w) the
 * bilinear interpolation of the four pixels around (h, w), pixels outside the image counting
 * as 0 (GridSample with align_corners=1 and zero padding, as ONNX Runtime).
 * X:      [batch, channels, in_h, in_w]; W: [maps, channels / group, kernel_h, kernel_w]
 * offset: [batch, offset_groups * kernel_h * kernel_w * 2, out_h, out_w], i.e. the
 *         (g, p, q, axis) of the formula above, axis 0 = h, 1 = w
 * mask:   optional (NULL = all ones) [batch, offset_groups * kernel_h * kernel_w, out_h, out_w]
 * B:      optional (NULL) [maps]; Y: [batch, maps, out_h, out_w]
 * col:    scratch of out_h * out_w floats (one sampled, masked tap of one channel). */
void dlg_deform_conv2d_f32(size_t batch, size_t channels, size_t maps, size_t group,
                           size_t offset_groups, const int64_t *geom, const float *X,
                           const float *W, const float *offset, const float *mask,
                           const float *B, float *Y, float *col);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_DEFORM_H */
