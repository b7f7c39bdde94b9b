/* Pooling over NC[D]HW float32 data: MaxPool (with optional argmax indices), AveragePool,
 * GlobalMaxPool and GlobalAveragePool. */
#ifndef DLGEN_POOL_H
#define DLGEN_POOL_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Window geometry table (int64, 3 rows of 7), one row per spatial axis D, H, W:
 *   { in, out, kernel, stride, dilation, pad_begin, pad_end }
 * Window o of an axis covers input indices o * stride - pad_begin + k * dilation for taps
 * k = 0 .. kernel - 1; taps outside [0, in) are padding and never contribute a value.
 * pad_end only bounds AveragePool's count_include_pad divisor: the taps inside
 * [-pad_begin, in + pad_end) are counted (a ceil_mode window may reach past the padding).
 * 1-D and 2-D pools use leading rows of size 1: {1, 1, 1, 1, 1, 0, 0}. */
#define DLG_POOL_GEOM_FIELDS 7

/* MaxPool. X [planes, D, H, W] and Y [planes, oD, oH, oW], planes = batch * channels.
 * I is NULL or [planes, oD, oH, oW]: the position of each maximum in X, as
 * p * D*H*W + id * index_strides[0] + ih * index_strides[1] + iw * index_strides[2]
 * (row-major strides {H*W, W, 1} for storage_order 0); the first maximum in scan order wins.
 * index_strides [3] is only read when I is not NULL. */
void dlg_maxpool_f32(size_t planes, const int64_t *geom, const float *X, float *Y, int64_t *I,
                     const int64_t *index_strides);

/* AveragePool, same layouts as dlg_maxpool_f32. Each output is the sum of its window's input
 * values divided by the number of taps inside the input (count_include_pad = 0) or inside the
 * padded input (count_include_pad = 1); a window with no input taps gives 0. */
void dlg_avgpool_f32(size_t planes, const int64_t *geom, int count_include_pad, const float *X,
                     float *Y);

/* LpPool, same layouts as dlg_maxpool_f32: Y = (sum over the window's input taps of |x|^p)^(1/p)
 * (padding adds nothing). */
void dlg_lppool_f32(size_t planes, const int64_t *geom, float p, const float *X, float *Y);

/* MaxUnpool: Y [planes_total] = 0, then Y[I[k]] = X[k] for every k < count (X and I have the
 * same shape; I holds flat positions into Y as MaxPool's Indices output does). Positions
 * outside [0, y_size) are skipped. */
void dlg_maxunpool_f32(size_t count, const float *X, const int64_t *I, size_t y_size, float *Y);

/* RoiAlign (ONNX Runtime's algorithm). X [batch, channels, height, width]; rois [num_rois, 4]
 * as (x1, y1, x2, y2) in input coordinates before spatial_scale; batch_indices [num_rois]
 * picks each roi's image; Y [num_rois, channels, out_h, out_w]. Each output bin averages
 * (mode_max 0) or takes the max of (mode_max 1; per sample the largest weighted corner, as
 * ONNX Runtime) grid_h x grid_w bilinear samples, grid = sampling_ratio or, when 0,
 * ceil(roi size / output size). half_pixel 1 shifts the roi by -0.5 pixel and does not
 * clamp its size to at least 1 (coordinate_transformation_mode half_pixel). */
void dlg_roi_align_f32(size_t channels, size_t height, size_t width, size_t num_rois,
                       size_t out_h, size_t out_w, int64_t sampling_ratio, float spatial_scale,
                       int half_pixel, int mode_max, const float *X, const float *rois,
                       const int64_t *batch_indices, float *Y);

/* GlobalMaxPool / GlobalAveragePool: X [planes, plane_size] -> Y [planes], the max or the mean
 * of each plane. */
void dlg_global_maxpool_f32(size_t planes, size_t plane_size, const float *X, float *Y);
void dlg_global_avgpool_f32(size_t planes, size_t plane_size, const float *X, float *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_POOL_H */
