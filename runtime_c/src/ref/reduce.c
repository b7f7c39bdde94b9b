/* Reference reductions. Inputs are read in memory order; a reduction along the last dim
 * accumulates in a register, one along an outer dim accumulates whole rows of the output. */
#include "dlgen/reduce.h"

/* ---------------------------------------------------------------- Softmax, LogSoftmax */

/* One contiguous row of n values. */
static void softmax_row(float *y, const float *x, size_t n, int log_softmax) {
    float max = x[0];
    float sum = 0.0f;
    size_t i;
    for (i = 1; i < n; ++i) {
        if (x[i] > max) {
            max = x[i];
        }
    }
    if (log_softmax) {
        float shift;
        for (i = 0; i < n; ++i) {
            sum += expf(x[i] - max);
        }
        shift = max + logf(sum);
        for (i = 0; i < n; ++i) {
            y[i] = x[i] - shift;
        }
    } else {
        for (i = 0; i < n; ++i) {
            const float e = expf(x[i] - max);
            y[i] = e;
            sum += e;
        }
        for (i = 0; i < n; ++i) {
            y[i] /= sum;
        }
    }
}

/* One [axis_dim, inner] block, normalised along axis_dim for each of the inner columns;
 * max and sum hold one value per column. The inner loops walk contiguous memory. */
static void softmax_block(float *y, const float *x, size_t axis_dim, size_t inner,
                          int log_softmax, float *max, float *sum) {
    size_t a, j;
    for (j = 0; j < inner; ++j) {
        max[j] = x[j];
        sum[j] = 0.0f;
    }
    for (a = 1; a < axis_dim; ++a) {
        const float *xa = x + a * inner;
        for (j = 0; j < inner; ++j) {
            if (xa[j] > max[j]) {
                max[j] = xa[j];
            }
        }
    }
    for (a = 0; a < axis_dim; ++a) {
        const float *xa = x + a * inner;
        float *ya = y + a * inner;
        for (j = 0; j < inner; ++j) {
            const float e = expf(xa[j] - max[j]);
            sum[j] += e;
            if (!log_softmax) {
                ya[j] = e;
            }
        }
    }
    if (log_softmax) {
        for (j = 0; j < inner; ++j) {
            sum[j] = max[j] + logf(sum[j]);  /* now the shift to subtract */
        }
    }
    for (a = 0; a < axis_dim; ++a) {
        const float *xa = x + a * inner;
        float *ya = y + a * inner;
        for (j = 0; j < inner; ++j) {
            ya[j] = log_softmax ? xa[j] - sum[j] : ya[j] / sum[j];
        }
    }
}

void dlg_softmax_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int log_softmax, float *work) {
    const size_t block = axis_dim * inner;
    size_t o;
    for (o = 0; o < outer; ++o) {
        if (inner == 1) {
            softmax_row(Y + o * block, X + o * block, axis_dim, log_softmax);
        } else {
            softmax_block(Y + o * block, X + o * block, axis_dim, inner, log_softmax,
                          work, work + inner);
        }
    }
}

/* ---------------------------------------------------------------- Reduce* */

/* The floating-point reductions, written once over the element type T and its math
 * functions, and instantiated for float (f32) and double (f64) below.
 * init: the accumulator's start; term: what one element v adds (shift is the max for
 * LOG_SUM_EXP); combine: how it is added; accumulate: fold every element of X into Y (see
 * dlg_reduce_f32), with shift NULL or one per output. */
#define DEFINE_REDUCE_FLOAT(suffix, T, EXP, LOG, SQRT, FABS, HUGE)                          \
    static T init_##suffix(int op) {                                                        \
        switch (op) {                                                                       \
        case DLG_REDUCE_MAX: return -HUGE;                                                  \
        case DLG_REDUCE_MIN: return HUGE;                                                   \
        case DLG_REDUCE_PROD: return (T)1;                                                  \
        default: return (T)0;                                                               \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    static T term_##suffix(int op, T v, T shift) {                                          \
        switch (op) {                                                                       \
        case DLG_REDUCE_L1: return FABS(v);                                                 \
        case DLG_REDUCE_L2:                                                                 \
        case DLG_REDUCE_SUM_SQUARE: return v * v;                                           \
        case DLG_REDUCE_LOG_SUM_EXP: return EXP(v - shift);                                 \
        default: return v;                                                                  \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    static T combine_##suffix(int op, T acc, T t) {                                         \
        switch (op) {                                                                       \
        case DLG_REDUCE_MAX: return (t > acc || t != t) ? t : acc;                          \
        case DLG_REDUCE_MIN: return (t < acc || t != t) ? t : acc;                          \
        case DLG_REDUCE_PROD: return acc * t;                                               \
        default: return acc + t;                                                            \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    static void accumulate_##suffix(T *Y, const T *X, size_t rank, const int64_t *dims,     \
                                    const int64_t *y_strides, int op, const T *shift) {     \
        const size_t last = rank - 1;                                                       \
        const size_t run = (size_t)dims[last];                                              \
        const size_t y_step = (size_t)y_strides[last];                                      \
        const size_t rows = dlg_dims_product(dims, last);                                   \
        int64_t index[DLG_REDUCE_MAX_RANK] = {0};                                           \
        size_t r, j;                                                                        \
        int64_t y_row = 0;                                                                  \
        for (r = 0; r < rows; ++r) {                                                        \
            const T *x = X + r * run;                                                       \
            if (y_step == 0) {                                                              \
                /* The whole run reduces into one output. */                                \
                const T s = shift != NULL ? shift[y_row] : (T)0;                            \
                T acc = Y[y_row];                                                           \
                for (j = 0; j < run; ++j) {                                                 \
                    acc = combine_##suffix(op, acc, term_##suffix(op, x[j], s));            \
                }                                                                           \
                Y[y_row] = acc;                                                             \
            } else {                                                                        \
                /* The run maps onto a row of outputs. */                                   \
                T *y = Y + y_row;                                                           \
                for (j = 0; j < run; ++j) {                                                 \
                    const T s = shift != NULL ? shift[y_row + j * y_step] : (T)0;           \
                    y[j * y_step] = combine_##suffix(op, y[j * y_step],                     \
                                                     term_##suffix(op, x[j], s));           \
                }                                                                           \
            }                                                                               \
            y_row = dlg_index_advance(index, dims, y_strides, last, y_row);                 \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    void dlg_reduce_##suffix(T *Y, const T *X, size_t rank, const int64_t *dims,            \
                             const int64_t *y_strides, size_t y_size, size_t count, int op, \
                             T *work) {                                                     \
        size_t o;                                                                           \
        for (o = 0; o < y_size; ++o) {                                                      \
            Y[o] = init_##suffix(op);                                                       \
        }                                                                                   \
        if (op == DLG_REDUCE_LOG_SUM_EXP) {                                                 \
            /* Maxima first; an infinite max shifts by 0 so exp/log keep the infinity. */   \
            for (o = 0; o < y_size; ++o) {                                                  \
                work[o] = -HUGE;                                                            \
            }                                                                               \
            accumulate_##suffix(work, X, rank, dims, y_strides, DLG_REDUCE_MAX, NULL);      \
            for (o = 0; o < y_size; ++o) {                                                  \
                if (isinf(work[o])) {                                                       \
                    work[o] = (T)0;                                                         \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        accumulate_##suffix(Y, X, rank, dims, y_strides, op,                                \
                            op == DLG_REDUCE_LOG_SUM_EXP ? work : NULL);                    \
        for (o = 0; o < y_size; ++o) {                                                      \
            switch (op) {                                                                   \
            case DLG_REDUCE_MEAN: Y[o] /= (T)count; break;                                  \
            case DLG_REDUCE_L2: Y[o] = SQRT(Y[o]); break;                                   \
            case DLG_REDUCE_LOG_SUM: Y[o] = LOG(Y[o]); break;                               \
            case DLG_REDUCE_LOG_SUM_EXP: Y[o] = LOG(Y[o]) + work[o]; break;                 \
            default: break;                                                                 \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_REDUCE_FLOAT(f32, float, expf, logf, sqrtf, fabsf, HUGE_VALF)
DEFINE_REDUCE_FLOAT(f64, double, exp, log, sqrt, fabs, HUGE_VAL)

/* The integer reductions (SUM, MAX, MIN, PROD), one instance per integer type; LO and HI
 * are the type's limits. */
#define DEFINE_REDUCE_INT(suffix, T, LO, HI)                                                \
    static T init_##suffix(int op) {                                                        \
        switch (op) {                                                                       \
        case DLG_REDUCE_MAX: return LO;                                                     \
        case DLG_REDUCE_MIN: return HI;                                                     \
        case DLG_REDUCE_PROD: return 1;                                                     \
        default: return 0;                                                                  \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    static T combine_##suffix(int op, T acc, T v) {                                         \
        switch (op) {                                                                       \
        case DLG_REDUCE_MAX: return v > acc ? v : acc;                                      \
        case DLG_REDUCE_MIN: return v < acc ? v : acc;                                      \
        case DLG_REDUCE_PROD: return (T)(acc * v);                                          \
        default: return (T)(acc + v);                                                       \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    void dlg_reduce_##suffix(T *Y, const T *X, size_t rank, const int64_t *dims,            \
                             const int64_t *y_strides, size_t y_size, int op) {             \
        const size_t last = rank - 1;                                                       \
        const size_t run = (size_t)dims[last];                                              \
        const size_t y_step = (size_t)y_strides[last];                                      \
        const size_t rows = dlg_dims_product(dims, last);                                   \
        int64_t index[DLG_REDUCE_MAX_RANK] = {0};                                           \
        size_t o, r, j;                                                                     \
        int64_t y_row = 0;                                                                  \
        for (o = 0; o < y_size; ++o) {                                                      \
            Y[o] = init_##suffix(op);                                                       \
        }                                                                                   \
        for (r = 0; r < rows; ++r) {                                                        \
            const T *x = X + r * run;                                                       \
            for (j = 0; j < run; ++j) {                                                     \
                T *y = Y + y_row + j * y_step;                                              \
                *y = combine_##suffix(op, *y, x[j]);                                        \
            }                                                                               \
            y_row = dlg_index_advance(index, dims, y_strides, last, y_row);                 \
        }                                                                                   \
    }

DEFINE_REDUCE_INT(i32, int32_t, INT32_MIN, INT32_MAX)
DEFINE_REDUCE_INT(i64, int64_t, INT64_MIN, INT64_MAX)
DEFINE_REDUCE_INT(u8, uint8_t, 0, UINT8_MAX)
DEFINE_REDUCE_INT(b8, uint8_t, 0, 1)

/* ---------------------------------------------------------------- index reductions
 * Each kernel is written once as a macro over the element type T and instantiated per type
 * below; all walk X as [outer, axis_dim, inner] with the inner loop over contiguous memory. */

/* ArgMax/ArgMin: Y holds the best index so far for each column; each row of X is compared
 * against the values those indices point at. */
#define DEFINE_ARG_EXTREME(suffix, T)                                                       \
    void dlg_arg_extreme_##suffix(int64_t *Y, const T *X, size_t outer, size_t axis_dim,   \
                                  size_t inner, int find_max, int select_last) {           \
        size_t o, a, j;                                                                    \
        for (o = 0; o < outer; ++o) {                                                      \
            const T *x = X + o * axis_dim * inner;                                         \
            int64_t *y = Y + o * inner;                                                    \
            for (j = 0; j < inner; ++j) {                                                  \
                y[j] = 0;                                                                  \
            }                                                                              \
            for (a = 1; a < axis_dim; ++a) {                                               \
                const T *xa = x + a * inner;                                               \
                for (j = 0; j < inner; ++j) {                                              \
                    const T best = x[(size_t)y[j] * inner + j];                            \
                    const int better = find_max ? xa[j] > best : xa[j] < best;             \
                    if (better || (select_last && xa[j] == best)) {                        \
                        y[j] = (int64_t)a;                                                 \
                    }                                                                      \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_ARG_EXTREME(f32, float)
DEFINE_ARG_EXTREME(f64, double)
DEFINE_ARG_EXTREME(i32, int32_t)
DEFINE_ARG_EXTREME(i64, int64_t)

void dlg_hardmax_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int64_t *work) {
    size_t o, a, j;
    dlg_arg_extreme_f32(work, X, outer, axis_dim, inner, 1, 0);
    for (o = 0; o < outer; ++o) {
        float *y = Y + o * axis_dim * inner;
        const int64_t *best = work + o * inner;
        for (a = 0; a < axis_dim; ++a) {
            for (j = 0; j < inner; ++j) {
                y[a * inner + j] = best[j] == (int64_t)a ? 1.0f : 0.0f;
            }
        }
    }
}

/* TopK: per column, insertion into the k sorted slots of the outputs (stride inner). A value
 * enters before the first slot it strictly beats, so earlier indices win ties. */
#define DEFINE_TOP_K(suffix, T)                                                             \
    void dlg_top_k_##suffix(T *values, int64_t *indices, const T *X, size_t outer,          \
                            size_t axis_dim, size_t inner, size_t k, int largest) {         \
        size_t o, a, j, filled, p;                                                          \
        for (o = 0; o < outer; ++o) {                                                       \
            for (j = 0; j < inner; ++j) {                                                   \
                const T *x = X + o * axis_dim * inner + j;                                  \
                T *v = values + o * k * inner + j;                                          \
                int64_t *ix = indices + o * k * inner + j;                                  \
                for (a = 0, filled = 0; a < axis_dim; ++a) {                                \
                    const T xa = x[a * inner];                                              \
                    for (p = filled; p > 0; --p) {                                          \
                        const T prev = v[(p - 1) * inner];                                  \
                        if (!(largest ? xa > prev : xa < prev)) {                           \
                            break;                                                          \
                        }                                                                   \
                        if (p < k) {                                                        \
                            v[p * inner] = prev;                                            \
                            ix[p * inner] = ix[(p - 1) * inner];                            \
                        }                                                                   \
                    }                                                                       \
                    if (p < k) {                                                            \
                        v[p * inner] = xa;                                                  \
                        ix[p * inner] = (int64_t)a;                                         \
                    }                                                                       \
                    if (filled < k) {                                                       \
                        ++filled;                                                           \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_TOP_K(f32, float)
DEFINE_TOP_K(f64, double)
DEFINE_TOP_K(i32, int32_t)
DEFINE_TOP_K(i64, int64_t)
DEFINE_TOP_K(u64, uint64_t)

/* CumSum/CumProd: whole rows of inner values at a time; the running total of row a is the
 * output row before it (inclusive), or that row combined with the input row before it
 * (exclusive). */
#define DEFINE_CUMULATE(suffix, T)                                                          \
    void dlg_cumulate_##suffix(T *Y, const T *X, size_t outer, size_t axis_dim,             \
                               size_t inner, int product, int exclusive, int reverse) {     \
        size_t o, s, j;                                                                     \
        for (o = 0; o < outer; ++o) {                                                       \
            const T *x = X + o * axis_dim * inner;                                          \
            T *y = Y + o * axis_dim * inner;                                                \
            const size_t first = reverse ? axis_dim - 1 : 0;                                \
            for (j = 0; j < inner; ++j) {                                                   \
                y[first * inner + j] = exclusive ? (T)product : x[first * inner + j];       \
            }                                                                               \
            for (s = 1; s < axis_dim; ++s) {                                                \
                const size_t a = reverse ? axis_dim - 1 - s : s;                            \
                const size_t prev = reverse ? a + 1 : a - 1;                                \
                const T *xa = x + (exclusive ? prev : a) * inner;                           \
                const T *yp = y + prev * inner;                                             \
                T *ya = y + a * inner;                                                      \
                for (j = 0; j < inner; ++j) {                                               \
                    ya[j] = product ? (T)(yp[j] * xa[j]) : (T)(yp[j] + xa[j]);              \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_CUMULATE(f32, float)
DEFINE_CUMULATE(f64, double)
DEFINE_CUMULATE(i32, int32_t)
DEFINE_CUMULATE(i64, int64_t)
