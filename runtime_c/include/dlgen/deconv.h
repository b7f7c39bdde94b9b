/* Transposed convolution (1-D, 2-D, 3-D, grouped, dilated, strided, padded), float32,
 * NC[D]HW layout. The geometry table is conv.h's (DLG_CONV_GEOM_FIELDS). */
#ifndef DLGEN_DECONV_H
#define DLGEN_DECONV_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Y = conv_transpose(X, W) + B, the gradient of dlg_conv_f32 with respect to its input:
 * every input position i scatters X[i] * W[tap] to output position
 * o = i * stride - pad_begin + k * dilation (positions outside [0, out) are dropped).
 * geom: conv.h's geometry table with in/out the sizes of X and Y along each axis; pad_end is unused
 *   (an output position that no tap reaches just holds the bias).
 * X [batch, in_channels, D, H, W], row-major.
 * W [in_channels, out_channels / groups, kD, kH, kW]: input channel c writes the output
 *   channels of its group g = c / (in_channels / groups).
 * B [out_channels] or NULL (no bias).
 * Y [batch, out_channels, oD, oH, oW]. */
void dlg_conv_transpose_f32(size_t batch, size_t in_channels, size_t out_channels,
                            size_t groups, const int64_t *geom, const float *X, const float *W,
                            const float *B, float *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_DECONV_H */
