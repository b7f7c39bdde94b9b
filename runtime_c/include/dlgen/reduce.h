/* Reductions: Softmax, LogSoftmax (float32), the Reduce* family (float32, float64; int32
 * and int64 for Sum/Max/Min/Prod; uint8 and bool for Max/Min) and the index reductions
 * ArgMax, ArgMin, Hardmax, TopK, CumSum, CumProd. */
#ifndef DLGEN_REDUCE_H
#define DLGEN_REDUCE_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_REDUCE_MAX_RANK 8

/* What dlg_reduce_* computes over the reduced elements v of each output. */
typedef enum {
    DLG_REDUCE_SUM = 0,      /* sum(v) */
    DLG_REDUCE_MEAN,         /* sum(v) / count */
    DLG_REDUCE_MAX,          /* max(v), NaN propagates */
    DLG_REDUCE_MIN,          /* min(v), NaN propagates */
    DLG_REDUCE_PROD,         /* prod(v) */
    DLG_REDUCE_L1,           /* sum(|v|) */
    DLG_REDUCE_L2,           /* sqrt(sum(v * v)) */
    DLG_REDUCE_SUM_SQUARE,   /* sum(v * v) */
    DLG_REDUCE_LOG_SUM,      /* log(sum(v)) */
    DLG_REDUCE_LOG_SUM_EXP   /* log(sum(exp(v))), computed as max + log(sum(exp(v - max))) */
} dlg_reduce_op;

/* Softmax (log_softmax = 0) or LogSoftmax (1) of X viewed as [outer, axis_dim, inner], along
 * the middle dim; Y has the same layout. Numerically stable (the max is subtracted first).
 * work: 2 * inner floats of scratch when inner > 1 (per-column max and sum), else NULL.
 * Y may equal X (in place). */
void dlg_softmax_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int log_softmax, float *work);

/* Reduce X (contiguous, collapsed shape dims[rank]) into Y (contiguous, y_size elements):
 * the element X[i0, ..., i(rank-1)] contributes to Y[i0 * y_strides[0] + ... ], where a
 * reduced dim has y stride 0 and the kept dims have Y's contiguous strides.
 * count: reduced elements per output (for MEAN). op: a dlg_reduce_op.
 * work: y_size elements of scratch for DLG_REDUCE_LOG_SUM_EXP (the maxima), else NULL.
 * 1 <= rank <= DLG_REDUCE_MAX_RANK. _f32: float, _f64: double. */
void dlg_reduce_f32(float *Y, const float *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, size_t count, int op, float *work);
void dlg_reduce_f64(double *Y, const double *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, size_t count, int op,
                    double *work);

/* The same walk for integer data: _i32 int32_t, _i64 int64_t, _u8 uint8_t, _b8 bool held in
 * uint8_t (0 or 1); op is DLG_REDUCE_SUM, MAX, MIN or PROD (sums and products are expected
 * to fit; MAX and MIN only for _u8 and _b8). */
void dlg_reduce_i32(int32_t *Y, const int32_t *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, int op);
void dlg_reduce_i64(int64_t *Y, const int64_t *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, int op);
void dlg_reduce_u8(uint8_t *Y, const uint8_t *X, size_t rank, const int64_t *dims,
                   const int64_t *y_strides, size_t y_size, int op);
void dlg_reduce_b8(uint8_t *Y, const uint8_t *X, size_t rank, const int64_t *dims,
                   const int64_t *y_strides, size_t y_size, int op);

/* ---------------------------------------------------------------- index reductions
 * The kernels below view X as [outer, axis_dim, inner] and work along the middle dim, one
 * instance per element type: _f32 float, _f64 double, _i32 int32_t, _i64 int64_t and, for
 * TopK, _u64 uint64_t. */

/* ArgMax (find_max = 1) or ArgMin (0): Y [outer, inner] receives the index along axis_dim
 * of the extreme value, the first one on ties (the last one when select_last is 1). */
void dlg_arg_extreme_f32(int64_t *Y, const float *X, size_t outer, size_t axis_dim,
                         size_t inner, int find_max, int select_last);
void dlg_arg_extreme_f64(int64_t *Y, const double *X, size_t outer, size_t axis_dim,
                         size_t inner, int find_max, int select_last);
void dlg_arg_extreme_i32(int64_t *Y, const int32_t *X, size_t outer, size_t axis_dim,
                         size_t inner, int find_max, int select_last);
void dlg_arg_extreme_i64(int64_t *Y, const int64_t *X, size_t outer, size_t axis_dim,
                         size_t inner, int find_max, int select_last);

/* Hardmax: Y (same layout as X) is 1 at the first maximum along axis_dim, 0 elsewhere.
 * work: outer * inner int64_t of scratch (the argmax indices). */
void dlg_hardmax_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int64_t *work);

/* TopK: the k largest (largest = 1) or smallest (0) values along axis_dim, sorted, into
 * values [outer, k, inner] and their indices into indices [outer, k, inner]. Equal values
 * keep the lower index first. 1 <= k <= axis_dim. */
void dlg_top_k_f32(float *values, int64_t *indices, const float *X, size_t outer,
                   size_t axis_dim, size_t inner, size_t k, int largest);
void dlg_top_k_f64(double *values, int64_t *indices, const double *X, size_t outer,
                   size_t axis_dim, size_t inner, size_t k, int largest);
void dlg_top_k_i32(int32_t *values, int64_t *indices, const int32_t *X, size_t outer,
                   size_t axis_dim, size_t inner, size_t k, int largest);
void dlg_top_k_i64(int64_t *values, int64_t *indices, const int64_t *X, size_t outer,
                   size_t axis_dim, size_t inner, size_t k, int largest);
void dlg_top_k_u64(uint64_t *values, int64_t *indices, const uint64_t *X, size_t outer,
                   size_t axis_dim, size_t inner, size_t k, int largest);

/* CumSum (product = 0) or CumProd (1) along axis_dim into Y (same layout as X). exclusive:
 * each output leaves out its own element (the first is 0, or 1 for a product); reverse:
 * accumulate from the end. Y must not alias X. */
void dlg_cumulate_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                      int product, int exclusive, int reverse);
void dlg_cumulate_f64(double *Y, const double *X, size_t outer, size_t axis_dim, size_t inner,
                      int product, int exclusive, int reverse);
void dlg_cumulate_i32(int32_t *Y, const int32_t *X, size_t outer, size_t axis_dim,
                      size_t inner, int product, int exclusive, int reverse);
void dlg_cumulate_i64(int64_t *Y, const int64_t *X, size_t outer, size_t axis_dim,
                      size_t inner, int product, int exclusive, int reverse);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_REDUCE_H */
