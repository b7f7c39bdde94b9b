/* Layout kernels: Trilu, ReverseSequence, OneHot, Col2Im.
 *
 * All but Col2Im move elements of `elem_size` bytes, so one function serves every dtype;
 * tensors are contiguous, row-major.
 */
#ifndef DLGEN_LAYOUT_H
#define DLGEN_LAYOUT_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Trilu: X and Y are [batch, rows, cols]. Y keeps X[b, i, j] where j - i >= k (upper != 0)
 * or j - i <= k (upper == 0), and is zero (all bits clear) elsewhere. */
void dlg_trilu(void *Y, const void *X, size_t elem_size, size_t batch, size_t rows,
               size_t cols, int64_t k, int upper);

/* ReverseSequence: X and Y have batch and time as their first two dims (in either order);
 * batch_stride and time_stride are their strides in bytes, inner_bytes the size of one
 * [batch, time] slot. Y[b, t] = X[b, len_b - 1 - t] for t < len_b, X[b, t] otherwise, with
 * len_b = seq_lens[b] clamped to [0, time]. */
void dlg_reverse_sequence(void *Y, const void *X, const int64_t *seq_lens, size_t batch,
                          size_t time, size_t batch_stride, size_t time_stride,
                          size_t inner_bytes);

/* OneHot: indices are [outer, inner]; Y is [outer, depth, inner] of elem_size-byte elements,
 * values[1] where the index (negative counts from depth; a float index is truncated) equals
 * the depth position, values[0] elsewhere: an index out of [-depth, depth) gives a row of
 * values[0]. The suffix names the type of `indices`. */
void dlg_onehot_i64(void *Y, const int64_t *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner);
void dlg_onehot_i32(void *Y, const int32_t *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner);
void dlg_onehot_f32(void *Y, const float *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner);

/* Col2Im: X is [planes * prod(block), L] (planes = N * C), Y is [planes, image...]; every
 * column l (a position in the block grid) and block offset k adds X to Y at image position
 * grid_l * stride - pad_begin + k * dilation, skipped where that falls outside the image.
 * params is a [6, spatial] table: image, block, grid (L = prod(grid)), strides, pad_begin,
 * dilations. 1 <= spatial <= 8. */
void dlg_col2im_f32(float *Y, const float *X, size_t planes, size_t spatial,
                    const int64_t *params);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_LAYOUT_H */
