/* Data movement kernels: Transpose, Slice, Expand, Concat, Split, Gather, Pad, fills.
 *
 * Every kernel here is type-agnostic: it moves elements of `elem_size` bytes (4 for float and
 * int32_t, 8 for double and int64_t, 1 for bool...), so one function serves every dtype.
 * Outputs are always written contiguously, in row-major order. The compiler collapses shapes
 * before calling (size-1 dims dropped, neighbours that move together merged), so ranks stay
 * small; a kernel taking a rank handles at most DLG_TENSOR_MAX_RANK dims.
 */
#ifndef DLGEN_TENSOR_H
#define DLGEN_TENSOR_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_TENSOR_MAX_RANK 8

/* Y[i0, ..., i(rank-1)] = X[x_offset + i0 * x_strides[0] + ... + i(rank-1) * x_strides[rank-1]]
 * dims[rank]: the output's (collapsed) shape; Y is contiguous with dims.
 * x_strides[rank]: element strides of X per output dim: 0 repeats (Expand), negative walks
 * backwards (Slice with negative steps), a permutation of X's strides transposes.
 * x_offset: element offset in X of Y's first element. 1 <= rank <= DLG_TENSOR_MAX_RANK. */
void dlg_strided_copy(void *Y, const void *X, size_t elem_size, size_t rank,
                      const int64_t *dims, const int64_t *x_strides, int64_t x_offset);

/* Copy `rows` rows of row_bytes bytes: row r goes from X + x_offset + r * x_stride to
 * Y + y_offset + r * y_stride (all in bytes). Concat and Split along an axis are one call
 * per input (output): a row is the block of one outer index. */
void dlg_copy_rows(void *Y, size_t y_offset, size_t y_stride, const void *X, size_t x_offset,
                   size_t x_stride, size_t row_bytes, size_t rows);

/* Y[n] (contiguous) = n copies of the single element *value (elem_size bytes). */
void dlg_fill(void *Y, const void *value, size_t elem_size, size_t n);

/* Gather along an axis: X is [outer, axis_dim, inner] with inner given in bytes (inner_bytes,
 * the product of the dims after the axis times elem_size); Y is [outer, n_indices, inner].
 * Y[o, j, :] = X[o, indices[j], :]. A negative index counts from the end (adds axis_dim);
 * an index still out of [0, axis_dim) yields zero bytes rather than reading out of bounds.
 * The suffix names the type of `indices`. */
void dlg_gather_i64(void *Y, const void *X, const int64_t *indices, size_t n_indices,
                    size_t outer, size_t axis_dim, size_t inner_bytes);
void dlg_gather_i32(void *Y, const void *X, const int32_t *indices, size_t n_indices,
                    size_t outer, size_t axis_dim, size_t inner_bytes);

/* Pad (and crop): Y has the (collapsed) shape y_dims[rank], contiguous.
 * maps: for each dim d in turn, y_dims[d] entries (so sum(y_dims) in all) giving the X index
 * along d that Y index reads, or -1 where Y holds the pad value; the compiler builds them for
 * each mode (constant, edge, reflect, wrap). x_strides[rank]: X's strides per dim in scalars;
 * X is contiguous, so x_strides[rank-1] == block.
 * An element is `block` consecutive scalars of scalar_size bytes (trailing dims that are not
 * padded); a padded element is `block` copies of the scalar *value (NULL: never used). */
void dlg_pad(void *Y, const void *X, const void *value, size_t scalar_size, size_t block,
             size_t rank, const int64_t *y_dims, const int64_t *x_strides, const int64_t *maps);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_TENSOR_H */
