/* Convolution (1-D, 2-D, 3-D, grouped, dilated, strided, padded), float32, NC[D]HW layout. */
#ifndef DLGEN_CONV_H
#define DLGEN_CONV_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Window geometry table (int64, 3 rows of 7), one row per spatial axis D, H, W:
 *   { in, out, kernel, stride, dilation, pad_begin, pad_end }
 * in/out are the input and output sizes of the axis; input index i = o * stride - pad_begin
 * + k * dilation for output o and kernel tap k (taps outside [0, in) read zero padding).
 * 1-D and 2-D convolutions use leading rows of size 1: {1, 1, 1, 1, 1, 0, 0}. */
#define DLG_CONV_GEOM_FIELDS 7

/* Y = act(conv(X, W) + B + Z)
 * X [batch, in_channels, D, H, W], row-major.
 * W [out_channels, in_channels / groups, kD, kH, kW]: output channel m reads the input channels
 *   of its group g = m / (out_channels / groups).
 * B [out_channels] or NULL (no bias).
 * Z [batch, out_channels, oD, oH, oW] or NULL: a residual added before the activation.
 * Y [batch, out_channels, oD, oH, oW]; sizes come from geom (see above).
 * act, act_a, act_b: the fused activation (dlg_act_kind and its parameters). */
void dlg_conv_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                  const int64_t *geom, const float *X, const float *W, const float *B,
                  const float *Z, float *Y, int act, float act_a, float act_b);

/* The forms below are what dlgen emits with the portable fast kernels (src/opt/conv.c). */

/* Y = act(conv(X, W) + B + Z) as an implicit GEMM per group: Y_g [group_out, out_plane] =
 * W_g [group_out, group_in * taps] x im2col(X_g), the im2col panels built on the fly.
 * Wp: the weights pre-packed by dlgen at compile time, per group, in sgemm.h's MR-row panels:
 *   group g, output channel m of the group, column k = c * taps + tap:
 *   Wp[g * ceil(group_out / MR) * MR * Kg + (m / MR) * Kg * MR + k * MR + m % MR],
 *   Kg = group_in * taps, rows past group_out zero.
 * Other arguments as dlg_conv_f32. */
void dlg_conv_packed_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                         const int64_t *geom, const float *X, const float *Wp, const float *B,
                         const float *Z, float *Y, int act, float act_a, float act_b);

/* Depthwise convolution (groups = channels, one output channel per input channel):
 * Y[n, c] = act(conv(X[n, c], W[c]) + B[c] + Z[n, c]), each output row computed with all its
 * kernel taps while it stays in cache. W [channels, 1, kD, kH, kW]; B, Z may be NULL. */
void dlg_conv_depthwise_f32(size_t batch, size_t channels, const int64_t *geom, const float *X,
                            const float *W, const float *B, const float *Z, float *Y, int act,
                            float act_a, float act_b);

/* The CBLAS form (--kernels cblas): per image and group, the im2col matrix
 * [group_in * taps, out_plane] is built in col (that many floats), or col is NULL for a
 * pointwise convolution (1x1 kernel, stride 1, no padding: X is read as it is), then one
 * cblas_sgemm with the plain weights W (layout of dlg_conv_f32); other arguments likewise. */
void dlg_conv_im2col_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                         const int64_t *geom, const float *X, const float *W, const float *B,
                         const float *Z, float *Y, float *col, int act, float act_a,
                         float act_b);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_CONV_H */
