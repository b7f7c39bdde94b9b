/* Convolution (1-D, 2-D, 3-D, grouped, dilated, strided, padded) and inference
 * BatchNormalization, float32, NC[D]HW layout. */
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

/* Y = act(conv(X, W) + B)
 * X [batch, in_channels, D, H, W], row-major.
 * W [out_channels, in_channels / groups, kD, kH, kW]: output channel m reads the input channels
 *   of its group g = m / (out_channels / groups).
 * B [out_channels] or NULL (no bias).
 * Y [batch, out_channels, oD, oH, oW]; sizes come from geom (see above).
 * act, act_a, act_b: the fused activation (dlg_act_kind and its parameters). */
void dlg_conv_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                  const int64_t *geom, const float *X, const float *W, const float *B, float *Y,
                  int act, float act_a, float act_b);

/* Y = conv_transpose(X, W) + B, the gradient of dlg_conv_f32 with respect to its input:
 * every input position i scatters X[i] * W[tap] to output position
 * o = i * stride - pad_begin + k * dilation (positions outside [0, out) are dropped).
 * geom: the table above with in/out the sizes of X and Y along each axis; pad_end is unused
 *   (an output position that no tap reaches just holds the bias).
 * X [batch, in_channels, D, H, W], row-major.
 * W [in_channels, out_channels / groups, kD, kH, kW]: input channel c writes the output
 *   channels of its group g = c / (in_channels / groups).
 * B [out_channels] or NULL (no bias).
 * Y [batch, out_channels, oD, oH, oW]. */
void dlg_conv_transpose_f32(size_t batch, size_t in_channels, size_t out_channels,
                            size_t groups, const int64_t *geom, const float *X, const float *W,
                            const float *B, float *Y);

/* Inference BatchNormalization over X [batch, channels, plane] (plane = product of the spatial
 * dims, 1 for 2-D input): Y = (X - mean[c]) * scale[c] / sqrt(var[c] + epsilon) + bias[c].
 * scale, bias, mean, var are [channels]. Y may alias X. */
void dlg_batchnorm_f32(size_t batch, size_t channels, size_t plane, float epsilon,
                       const float *scale, const float *bias, const float *mean,
                       const float *var, const float *X, float *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_CONV_H */
