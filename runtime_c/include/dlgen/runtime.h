/* dlgen C runtime: common definitions shared by every kernel and by generated code.
 *
 * C99, no dynamic memory, no global state. Kernels take plain pointers and sizes;
 * generated code owns all storage (a static or caller-provided arena, and const weights).
 */
#ifndef DLGEN_RUNTIME_H
#define DLGEN_RUNTIME_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes returned by generated <name>_run functions. */
#define DLG_OK 0
#define DLG_ERR_NO_WEIGHTS (-1)   /* weights blob not loaded (--weights bin) */
#define DLG_ERR_BAD_WEIGHTS (-2)  /* weights blob has the wrong size or header */
#define DLG_ERR_ARENA (-3)        /* caller arena pointer is NULL or misaligned */
#define DLG_ERR_SPECIALIZED (-4)  /* an input differs from the value the model was compiled for */
#define DLG_ERR_BOUND (-5)        /* a data-dependent size exceeds its compile-time bound */

/* Threads. Built with OpenMP and -DDLG_THREADS=N (dlgen compile --threads N), the fast kernels
 * split a loop over N threads when it has at least DLG_PARALLEL_MIN_WORK multiply-adds of work;
 * otherwise (the default) everything runs on the caller's thread and no thread is created. */
#if defined(_OPENMP) && defined(DLG_THREADS) && DLG_THREADS > 1
#define DLG_PRAGMA(text) _Pragma(#text)
#ifndef DLG_PARALLEL_MIN_WORK
#define DLG_PARALLEL_MIN_WORK 200000
#endif
#define DLG_PARALLEL_FOR(work) \
    DLG_PRAGMA(omp parallel for num_threads(DLG_THREADS) schedule(static) \
               if ((work) >= DLG_PARALLEL_MIN_WORK))
#else
#define DLG_PARALLEL_FOR(work)
#endif

/* Activations fused into a kernel's epilogue (Conv, Gemm, MatMul). */
typedef enum {
    DLG_ACT_NONE = 0,
    DLG_ACT_RELU,
    DLG_ACT_LEAKY_RELU,   /* a = alpha */
    DLG_ACT_SIGMOID,
    DLG_ACT_TANH,
    DLG_ACT_CLIP,         /* a = min, b = max */
    DLG_ACT_HARD_SIGMOID, /* a = alpha, b = beta */
    DLG_ACT_HARD_SWISH
} dlg_act_kind;

static inline float dlg_sigmoid(float x) {
    /* Split by sign so that expf never overflows. */
    if (x >= 0.0f) {
        return 1.0f / (1.0f + expf(-x));
    } else {
        const float e = expf(x);
        return e / (1.0f + e);
    }
}

static inline float dlg_clampf(float x, float lo, float hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline float dlg_act_apply(float x, int kind, float a, float b) {
    switch (kind) {
    case DLG_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DLG_ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case DLG_ACT_SIGMOID: return dlg_sigmoid(x);
    case DLG_ACT_TANH: return tanhf(x);
    case DLG_ACT_CLIP: return dlg_clampf(x, a, b);
    case DLG_ACT_HARD_SIGMOID: return dlg_clampf(a * x + b, 0.0f, 1.0f);
    case DLG_ACT_HARD_SWISH: return x * dlg_clampf(x / 6.0f + 0.5f, 0.0f, 1.0f);
    default: return x;
    }
}

/* Apply an activation to n contiguous values in place. */
static inline void dlg_act_inplace(float *y, size_t n, int kind, float a, float b) {
    size_t i;
    /* The common kinds get their own loop (which compilers vectorize); the others go through
     * dlg_act_apply. */
    switch (kind) {
    case DLG_ACT_NONE:
        return;
    case DLG_ACT_RELU:
        for (i = 0; i < n; ++i) {
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        }
        return;
    case DLG_ACT_CLIP:
        for (i = 0; i < n; ++i) {
            y[i] = y[i] < a ? a : (y[i] > b ? b : y[i]);
        }
        return;
    default:
        for (i = 0; i < n; ++i) {
            y[i] = dlg_act_apply(y[i], kind, a, b);
        }
    }
}

/* N-d index helpers for kernels that walk a row-major multi-index. */

/* The number of elements of a shape: the product of dims[0..n) (1 for n = 0). */
static inline size_t dlg_dims_product(const int64_t *dims, size_t n) {
    size_t p = 1, d;
    for (d = 0; d < n; ++d) {
        p *= (size_t)dims[d];
    }
    return p;
}

/* Step the row-major multi-index index[0..n) over dims by one (the last axis fastest,
 * wrapping to all zeros after the last position); return `offset` moved along `strides`
 * accordingly, or `offset` unchanged when strides is NULL. */
static inline int64_t dlg_index_advance(int64_t *index, const int64_t *dims,
                                        const int64_t *strides, size_t n, int64_t offset) {
    size_t d = n;
    while (d-- > 0) {
        if (strides != NULL) {
            offset += strides[d];
        }
        if (++index[d] < dims[d]) {
            return offset;
        }
        if (strides != NULL) {
            offset -= strides[d] * dims[d];
        }
        index[d] = 0;
    }
    return offset;
}

/* Elementwise helpers (Mod, Pow on integers). */

/* Python-style modulo: the result takes the sign of the divisor (a zero takes b's sign). */
static inline double dlg_floor_mod(double a, double b) {
    double r = fmod(a, b);
    if (r != 0.0) {
        if ((r < 0.0) != (b < 0.0)) {
            r += b;
        }
    } else {
        r = copysign(0.0, b);
    }
    return r;
}

static inline float dlg_floor_modf(float a, float b) {
    float r = fmodf(a, b);
    if (r != 0.0f) {
        if ((r < 0.0f) != (b < 0.0f)) {
            r += b;
        }
    } else {
        r = copysignf(0.0f, b);
    }
    return r;
}

/* Python-style integer modulo (sign of the divisor); b must not be 0. */
static inline int64_t dlg_floor_mod_i64(int64_t a, int64_t b) {
    const int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

/* Integer power by squaring, wrapping like repeated multiplication; exponents < 0 give
 * 1 / base truncated toward zero (1, -1 or 0). */
static inline int64_t dlg_ipow_i64(int64_t base, int64_t exponent) {
    uint64_t result = 1u;
    uint64_t factor = (uint64_t)base;
    if (exponent < 0) {
        return base == 1 ? 1 : (base == -1 ? ((exponent & 1) ? -1 : 1) : 0);
    }
    while (exponent > 0) {
        if (exponent & 1) {
            result *= factor;
        }
        factor *= factor;
        exponent >>= 1;
    }
    return (int64_t)result;
}

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_RUNTIME_H */
