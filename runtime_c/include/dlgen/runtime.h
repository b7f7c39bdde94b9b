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

/* Threads (dlgen compile --threads N): the fast kernels split their loops with
 * dlg_parallel_for, dlgen/parallel.h (OpenMP or a POSIX thread pool). */

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

/* Vectorizable exp, sigmoid and tanh (float32), for the activations of dlg_act_apply and
 * dlg_act_inplace (fused epilogues, RNN gates). Branch-free, without calls or tables, so that
 * compilers vectorize a loop over an array of them at -O3 (the libm functions are calls that
 * cost more than the rest of an LSTM step). Accuracy, measured against float64 over every
 * float32 (tests/targets/c/test_approx_math.py checks a dense sweep):
 *   dlg_exp_approx      within 1 ulp (relative error < 1e-7), subnormal results (x in
 *                       [-103.97, -87.34]) included; +inf above 88.72, 0 below -103.97
 *   dlg_sigmoid_approx  within 3 ulp (relative error < 2e-7), down to its subnormal results;
 *                       exactly 1 above 17.4, 0 below -103.97
 *   dlg_tanh_approx     within 1.5 ulp (relative error < 1.5e-7); exactly +-1 for |x| > 9.1,
 *                       x itself for tiny x, tanh(-0) = -0
 * NaN in gives NaN out; +-inf give the limits. ONNX Runtime's MLAS approximates these too. */

/* c ? a : b, computed with bit masks: GCC (under its default -ftrapping-math) turns a ?: whose
 * result feeds arithmetic into a branch, which stops the vectorization of the loop around it. */
static inline float dlg_selectf(int c, float a, float b) {
    union {
        uint32_t u;
        float f;
    } va, vb, r;
    const uint32_t mask = 0u - (uint32_t)(c != 0);
    va.f = a;
    vb.f = b;
    r.u = (va.u & mask) | (vb.u & ~mask);
    return r.f;
}

/* 2^n for n in [-126, 127], from the exponent bits. */
static inline float dlg_pow2i(int32_t n) {
    union {
        uint32_t u;
        float f;
    } v;
    v.u = (uint32_t)(n + 127) << 23;
    return v.f;
}

static inline float dlg_exp_approx(float x) {
    /* Clamped to where e^x is neither 0 nor infinite in float32 (NaN passes); then
     * x = n ln2 + r, |r| <= ln2 / 2 (ln2 in two parts, Cody-Waite), and e^r by Cephes' expf
     * polynomial. 2^n is applied as 2^(n/2) 2^(n - n/2), both normal, so that results
     * round right into the subnormal range and overflow to infinity past 88.72. */
    const float xc = dlg_selectf(x > 89.0f, 89.0f, dlg_selectf(x < -104.0f, -104.0f, x));
    const float z = xc * 1.44269504088896341f;
    const float zs = dlg_selectf(z > -200.0f, z, 0.0f); /* NaN -> 0: a defined conversion */
    const int32_t n = (int32_t)(zs + copysignf(0.5f, zs));
    const float fn = (float)n;
    const float r = (xc - fn * 0.693359375f) - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    return p * dlg_pow2i(n / 2) * dlg_pow2i(n - n / 2);
}

static inline float dlg_sigmoid_approx(float x) {
    /* From e = e^-|x| <= 1, which never overflows: 1 / (1 + e) for x > 0, else e / (1 + e). */
    const float e = dlg_exp_approx(-fabsf(x));
    return dlg_selectf(x > 0.0f, 1.0f, e) / (1.0f + e);
}

static inline float dlg_tanh_approx(float x) {
    /* |x| < 0.625: x (1 + x^2 P(x^2)), a minimax fit (relative error 4.4e-9), where the formula
     * below would lose digits to cancellation; else sign(x) (1 - 2 / (e^2|x| + 1)). */
    const float x2 = x * x;
    const float big = 1.0f - 2.0f / (dlg_exp_approx(2.0f * fabsf(x)) + 1.0f);
    float p = -5.704985000e-03f;
    p = p * x2 + 2.063908614e-02f;
    p = p * x2 - 5.373971537e-02f;
    p = p * x2 + 1.333144158e-01f;
    p = p * x2 - 3.333328068e-01f;
    return dlg_selectf(fabsf(x) < 0.625f, x * (1.0f + x2 * p), copysignf(big, x));
}

static inline float dlg_act_apply(float x, int kind, float a, float b) {
    switch (kind) {
    case DLG_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case DLG_ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case DLG_ACT_SIGMOID: return dlg_sigmoid_approx(x);
    case DLG_ACT_TANH: return dlg_tanh_approx(x);
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
    case DLG_ACT_SIGMOID:
        for (i = 0; i < n; ++i) {
            y[i] = dlg_sigmoid_approx(y[i]);
        }
        return;
    case DLG_ACT_TANH:
        for (i = 0; i < n; ++i) {
            y[i] = dlg_tanh_approx(y[i]);
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
