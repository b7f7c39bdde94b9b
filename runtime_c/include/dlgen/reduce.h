/* Reductions: Softmax, LogSoftmax and the Reduce* family (float32; int64 for Sum/Max/Min/Prod). */
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
 * work: y_size floats of scratch for DLG_REDUCE_LOG_SUM_EXP (the maxima), else NULL.
 * 1 <= rank <= DLG_REDUCE_MAX_RANK. */
void dlg_reduce_f32(float *Y, const float *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, size_t count, int op, float *work);

/* The same walk for int64 data; op is DLG_REDUCE_SUM, MAX, MIN or PROD (wrapping on overflow
 * is not defined: int64 sums are expected to fit). */
void dlg_reduce_i64(int64_t *Y, const int64_t *X, size_t rank, const int64_t *dims,
                    const int64_t *y_strides, size_t y_size, int op);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_REDUCE_H */
