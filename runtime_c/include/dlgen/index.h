/* Index kernels: GatherElements, GatherND, ScatterElements (and Scatter), ScatterND.
 *
 * Data moves as elements of `elem_size` bytes (one function serves every dtype); only the
 * scatter reductions look at values, for the types in dlg_scatter_type. Indices are int64;
 * a negative index counts from the end of its dim. An index still out of range never
 * touches memory outside the buffers: gathers write zero bytes for it, scatters skip it.
 * Tensors are contiguous, row-major; ranks are at most DLG_INDEX_MAX_RANK.
 */
#ifndef DLGEN_INDEX_H
#define DLGEN_INDEX_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_INDEX_MAX_RANK 8

typedef enum {
    DLG_SCATTER_NONE = 0, /* replace */
    DLG_SCATTER_ADD,
    DLG_SCATTER_MUL,
    DLG_SCATTER_MAX,
    DLG_SCATTER_MIN
} dlg_scatter_reduction;

/* Element types a scatter reduction understands (DLG_SCATTER_NONE works on any). */
typedef enum {
    DLG_SCATTER_BYTES = 0, /* no reduction: elements are copied */
    DLG_SCATTER_F32,
    DLG_SCATTER_F64,
    DLG_SCATTER_I32,
    DLG_SCATTER_I64
} dlg_scatter_type;

/* GatherElements: Y and indices have the shape idx_dims[rank]; X has x_dims[rank].
 * Y[p] = X[p with p[axis] replaced by indices[p]]. */
void dlg_gather_elements(void *Y, const void *X, const int64_t *indices, size_t elem_size,
                         size_t rank, const int64_t *idx_dims, const int64_t *x_dims,
                         size_t axis);

/* ScatterElements, on Y already holding a copy of the data (shape y_dims[rank]): for every
 * position p of indices (and updates, both idx_dims[rank]),
 * Y[p with p[axis] = indices[p]] = reduction(that element, updates[p]). */
void dlg_scatter_elements(void *Y, const void *updates, const int64_t *indices,
                          size_t elem_size, size_t rank, const int64_t *idx_dims,
                          const int64_t *y_dims, size_t axis, dlg_scatter_reduction reduction,
                          dlg_scatter_type type);

/* GatherND: X is [batch, dims[0..k), slice] (slice in elements), indices are
 * [batch, n_tuples, k], Y is [batch, n_tuples, slice]:
 * Y[b, t, :] = X[b, indices[b, t, 0], ..., indices[b, t, k-1], :]. */
void dlg_gather_nd(void *Y, const void *X, const int64_t *indices, size_t elem_size,
                   size_t batch, size_t n_tuples, size_t k, const int64_t *dims, size_t slice);

/* ScatterND, on Y already holding a copy of the data, [dims[0..k), slice]: indices are
 * [n_tuples, k], updates [n_tuples, slice]; for each tuple t in order,
 * Y[indices[t, :], :] = reduction(Y[indices[t, :], :], updates[t, :]). */
void dlg_scatter_nd(void *Y, const void *updates, const int64_t *indices, size_t elem_size,
                    size_t n_tuples, size_t k, const int64_t *dims, size_t slice,
                    dlg_scatter_reduction reduction, dlg_scatter_type type);

/* TensorScatter, on Y already holding a copy of the cache [batch, heads, max_seq, inner]
 * (inner in bytes; heads is the product of the dims between batch and the sequence axis):
 * update [batch, heads, seq, inner] goes to sequence positions write_indices[b] + s (NULL
 * write_indices: 0), modulo max_seq when circular; a position outside [0, max_seq) is
 * skipped in linear mode. */
void dlg_tensor_scatter(void *Y, const void *update, const int64_t *write_indices,
                        size_t batch, size_t heads, size_t max_seq, size_t seq,
                        size_t inner_bytes, int circular);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_INDEX_H */
