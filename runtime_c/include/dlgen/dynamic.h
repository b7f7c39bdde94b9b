/* dlgen C runtime: ops whose output size depends on the data (NonZero, Unique, Compress with a
 * run-time condition, NonMaxSuppression, TopK with a run-time k).
 *
 * Generated code sizes such an output by a compile-time bound and keeps its actual shape in
 * an int64_t dims array. Each kernel here writes the data-dependent size to `*count` and the
 * data compactly in the actual shape (row-major). When the size would exceed `bound`, the
 * kernel returns DLG_ERR_BOUND before writing anything past the bound; otherwise DLG_OK.
 */
#ifndef DLGEN_DYNAMIC_H
#define DLGEN_DYNAMIC_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Zero the elements of `data` (elem_size bytes each, `bound` elements of storage) that lie past
 * the actual size, the product of dims[0..rank). */
void dlg_zero_tail(void *data, size_t elem_size, const int64_t *dims, size_t rank, size_t bound);

/* A run-time size read from an input (TopK's k): *count = value when 0 <= value <= bound,
 * else DLG_ERR_BOUND. */
int dlg_set_count(int64_t *count, int64_t value, size_t bound);

/* NonZero: the indices of the non-zero elements of X (shape dims[0..rank), rank >= 1) as
 * Y [rank, count]: row d holds coordinate d of each non-zero element, in row-major order.
 * bound: the most elements Y's storage holds per row. */
#define DLG_DECLARE_NONZERO(suffix, T)                                                        \
    int dlg_nonzero_##suffix(int64_t *Y, int64_t *count, const T *X, size_t rank,           \
                             const int64_t *dims, size_t bound);
DLG_DECLARE_NONZERO(f32, float)
DLG_DECLARE_NONZERO(f64, double)
DLG_DECLARE_NONZERO(i8, int8_t)
DLG_DECLARE_NONZERO(i16, int16_t)
DLG_DECLARE_NONZERO(i32, int32_t)
DLG_DECLARE_NONZERO(i64, int64_t)
DLG_DECLARE_NONZERO(u8, uint8_t)
DLG_DECLARE_NONZERO(u16, uint16_t)
DLG_DECLARE_NONZERO(u32, uint32_t)
DLG_DECLARE_NONZERO(u64, uint64_t)

/* Compress with a run-time condition: X is [outer, dim, inner] (inner given in bytes); Y gets
 * the slices s < min(cond_len, dim) whose condition[s] is non-zero, as [outer, count, inner].
 * bound: the most slices Y's storage holds (per outer index). */
int dlg_compress(void *Y, int64_t *count, const void *X, const uint8_t *condition,
                 size_t cond_len, size_t outer, size_t dim, size_t inner_bytes, size_t bound);

/* Unique over the dim slices of X [outer, dim, inner] (no axis: outer = inner = 1). A slice is
 * the outer * inner elements at one index along dim, compared lexicographically (outer index
 * major). Writes U = *count unique slices:
 *   Y [outer, U, inner]   the unique slices, ascending (sorted) or by first occurrence
 *   first [U]             the index of each one's first occurrence in X
 *   inverse [dim]         for each slice of X, its position in Y
 *   counts [U]            how often each occurs
 * first and counts need `bound` entries of storage; work needs 2 * dim int64. */
#define DLG_DECLARE_UNIQUE(suffix, T)                                                         \
    int dlg_unique_##suffix(T *Y, int64_t *first, int64_t *inverse, int64_t *counts,         \
                            int64_t *count, const T *X, size_t outer, size_t dim,            \
                            size_t inner, int sorted, size_t bound, int64_t *work);
DLG_DECLARE_UNIQUE(f32, float)
DLG_DECLARE_UNIQUE(f64, double)
DLG_DECLARE_UNIQUE(i8, int8_t)
DLG_DECLARE_UNIQUE(i16, int16_t)
DLG_DECLARE_UNIQUE(i32, int32_t)
DLG_DECLARE_UNIQUE(i64, int64_t)
DLG_DECLARE_UNIQUE(u8, uint8_t)
DLG_DECLARE_UNIQUE(u16, uint16_t)
DLG_DECLARE_UNIQUE(u32, uint32_t)
DLG_DECLARE_UNIQUE(u64, uint64_t)
DLG_DECLARE_UNIQUE(f16, uint16_t) /* float16 bits */
DLG_DECLARE_UNIQUE(bf16, uint16_t) /* bfloat16 bits */

/* NonMaxSuppression. boxes [batches, n, 4] as [y1, x1, y2, x2] (any diagonal corners) or,
 * with center_point_box, [x_center, y_center, width, height]; scores [batches, classes, n].
 * max_output (boxes per class, default 0), iou_threshold (default 0) and score_threshold
 * (default: none) point at one value each, or are NULL when the input is omitted. Per batch
 * and class, boxes are taken by descending score (ties: lower index first) among those with
 * score > score_threshold, skipping any whose IoU with a box already taken exceeds
 * iou_threshold. selected [count, 3] gets (batch, class, box) rows; bound: the most rows its
 * storage holds. work: n bytes. */
int dlg_non_max_suppression_f32(int64_t *selected, int64_t *count, const float *boxes,
                                const float *scores, size_t batches, size_t classes, size_t n,
                                const int64_t *max_output, const float *iou_threshold,
                                const float *score_threshold, int center_point_box,
                                size_t bound, uint8_t *work);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_DYNAMIC_H */
