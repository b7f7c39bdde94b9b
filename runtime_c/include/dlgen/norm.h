/* Normalizations (float32): LayerNormalization, RMSNormalization, GroupNormalization,
 * InstanceNormalization, inference BatchNormalization, LRN, LpNormalization, MeanVarianceNormalization. Statistics are
 * accumulated in double. */
#ifndef DLGEN_NORM_H
#define DLGEN_NORM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_NORM_MAX_RANK 8

/* LayerNormalization of X viewed as [outer, n], each row normalised on its own:
 * Y = (X - mean) * inv_std * scale + bias, inv_std = 1 / sqrt(var + epsilon).
 * scale: [n]; bias: [n] or NULL; mean, inv_std: [outer] outputs, or NULL when not wanted.
 * rms = 1 gives RMSNormalization: no mean is subtracted, inv_std = 1 / sqrt(mean(X^2) +
 * epsilon), and bias and mean must be NULL. */
void dlg_layer_norm_f32(float *Y, float *mean, float *inv_std, const float *X,
                        const float *scale, const float *bias, size_t outer, size_t n,
                        float epsilon, int rms);

/* GroupNormalization of X [batch, groups * group_channels, spatial]: each (batch, group)
 * block of group_channels * spatial values is normalised, then channel c is scaled and
 * shifted by scale[c] and bias[c] ([groups * group_channels] each). InstanceNormalization is
 * group_channels = 1. */
void dlg_group_norm_f32(float *Y, const float *X, const float *scale, const float *bias,
                        size_t batch, size_t groups, size_t group_channels, size_t spatial,
                        float epsilon);

/* LRN across channels of X [batch, channels, spatial]: Y = X / (bias + alpha / size *
 * sum of squares over channels [c - (size - 1) / 2, c + size / 2]) ^ beta. */
void dlg_lrn_f32(float *Y, const float *X, size_t batch, size_t channels, size_t spatial,
                 size_t size, float alpha, float beta, float bias);

/* LpNormalization of X viewed as [outer, axis_dim, inner] along the middle dim: Y = X / the
 * p-norm (p = 1 or 2) of its column, or 0 where that norm is 0. */
void dlg_lp_norm_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int p);

/* MeanVarianceNormalization: Y = (X - mean) / (sqrt(E[X^2] - mean^2) + 1e-9), with the
 * statistics taken over the reduced dims. X and Y are contiguous with collapsed shape
 * dims[rank]; y_strides has stride 0 for reduced dims and the statistics' contiguous strides
 * for kept dims (as dlg_reduce_f32). stats: 2 * stats_size doubles of scratch; count: the
 * number of reduced elements per statistic. 1 <= rank <= DLG_NORM_MAX_RANK. */
void dlg_mvn_f32(float *Y, const float *X, size_t rank, const int64_t *dims,
                 const int64_t *y_strides, size_t stats_size, size_t count, double *stats);

/* Inference BatchNormalization over X [batch, channels, plane] (plane = product of the spatial
 * dims, 1 for 2-D input): Y = (X - mean[c]) * scale[c] / sqrt(var[c] + epsilon) + bias[c].
 * scale, bias, mean, var are [channels]. Y may alias X. */
void dlg_batchnorm_f32(size_t batch, size_t channels, size_t plane, float epsilon,
                       const float *scale, const float *bias, const float *mean,
                       const float *var, const float *X, float *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_NORM_H */
