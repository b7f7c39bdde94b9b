/* dlgen C runtime: 8-bit floating-point storage (the ONNX float8 types).
 *
 * Values are stored as uint8_t bit patterns: 1 sign bit, then exponent and mantissa bits.
 *   E4M3FN    bias 7,  no infinity, NaN = S.1111.111, largest 448
 *   E4M3FNUZ  bias 8,  no infinity, no -0, NaN = 0x80, largest 240
 *   E5M2      bias 15, IEEE-like: infinity S.11111.00, NaN S.11111.xx, largest 57344
 *   E5M2FNUZ  bias 16, no infinity, no -0, NaN = 0x80, largest 57344
 * float -> float8 rounds to nearest even. Out-of-range values (and infinities) become the
 * largest finite value when saturating; otherwise infinity (E5M2) or NaN (the others).
 */
#ifndef DLGEN_FLOAT8_H
#define DLGEN_FLOAT8_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DLG_F8_E4M3FN = 0,
    DLG_F8_E4M3FNUZ,
    DLG_F8_E5M2,
    DLG_F8_E5M2FNUZ
} dlg_f8_format;

static inline int dlg_f8_mantissa_bits(dlg_f8_format f) {
    return (f == DLG_F8_E4M3FN || f == DLG_F8_E4M3FNUZ) ? 3 : 2;
}

static inline int dlg_f8_bias(dlg_f8_format f) {
    switch (f) {
    case DLG_F8_E4M3FN: return 7;
    case DLG_F8_E4M3FNUZ: return 8;
    case DLG_F8_E5M2: return 15;
    default: return 16;
    }
}

/* The largest finite value's bit pattern (without sign). */
static inline uint8_t dlg_f8_max_code(dlg_f8_format f) {
    switch (f) {
    case DLG_F8_E4M3FN: return 0x7eu;
    case DLG_F8_E5M2: return 0x7bu;
    default: return 0x7fu;
    }
}

static inline float dlg_f8_to_f32(uint8_t v, dlg_f8_format f) {
    const int m = dlg_f8_mantissa_bits(f);
    const int bias = dlg_f8_bias(f);
    const int exponent = (v & 0x7f) >> m;
    const int mantissa = v & ((1 << m) - 1);
    float r;
    if (f == DLG_F8_E4M3FNUZ || f == DLG_F8_E5M2FNUZ) {
        if (v == 0x80u) {
            return NAN;
        }
    } else if (f == DLG_F8_E4M3FN) {
        if ((v & 0x7fu) == 0x7fu) {
            return NAN;
        }
    } else if (exponent == 31) { /* E5M2 */
        return mantissa ? NAN : ((v & 0x80u) ? -HUGE_VALF : HUGE_VALF);
    }
    if (exponent == 0) { /* subnormal */
        r = ldexpf((float)mantissa, 1 - bias - m);
    } else {
        r = ldexpf((float)(mantissa + (1 << m)), exponent - bias - m);
    }
    return (v & 0x80u) ? -r : r;
}

/* What a value beyond the range becomes. */
static inline uint8_t dlg_f8_overflow(uint8_t sign, dlg_f8_format f, int saturate) {
    if (saturate) {
        return (uint8_t)(sign | dlg_f8_max_code(f));
    }
    switch (f) {
    case DLG_F8_E4M3FN: return (uint8_t)(sign | 0x7fu);
    case DLG_F8_E5M2: return (uint8_t)(sign | 0x7cu);
    default: return 0x80u;
    }
}

static inline uint8_t dlg_f32_to_f8(float x, dlg_f8_format f, int saturate) {
    const int m = dlg_f8_mantissa_bits(f);
    const int bias = dlg_f8_bias(f);
    const int unsigned_zero = (f == DLG_F8_E4M3FNUZ || f == DLG_F8_E5M2FNUZ);
    const uint8_t sign = signbit(x) ? 0x80u : 0u;
    const float magnitude = fabsf(x);
    int e;
    float r;
    if (isnan(x)) {
        return unsigned_zero ? 0x80u : (uint8_t)(sign | 0x7fu);
    }
    if (isinf(x)) {
        return dlg_f8_overflow(sign, f, saturate);
    }
    /* Round to a multiple of the quantum of the value's binade (subnormals share 1 - bias). */
    (void)frexpf(magnitude, &e);
    e = e - 1 < 1 - bias ? 1 - bias : e - 1;
    r = ldexpf(nearbyintf(ldexpf(magnitude, m - e)), e - m);
    if (r > dlg_f8_to_f32(dlg_f8_max_code(f), f)) {
        return dlg_f8_overflow(sign, f, saturate);
    }
    if (r == 0.0f) {
        return unsigned_zero ? 0u : sign;
    }
    (void)frexpf(r, &e);
    e -= 1;
    if (e < 1 - bias) { /* subnormal: the mantissa counts quanta of 2^(1 - bias - m) */
        return (uint8_t)(sign | (int)ldexpf(r, bias - 1 + m));
    }
    return (uint8_t)(sign | ((e + bias) << m) | ((int)ldexpf(r, m - e) - (1 << m)));
}

/* One-argument forms for generated loads and (saturating) stores. */
static inline float dlg_f8e4m3fn_to_f32(uint8_t v) { return dlg_f8_to_f32(v, DLG_F8_E4M3FN); }
static inline float dlg_f8e4m3fnuz_to_f32(uint8_t v) { return dlg_f8_to_f32(v, DLG_F8_E4M3FNUZ); }
static inline float dlg_f8e5m2_to_f32(uint8_t v) { return dlg_f8_to_f32(v, DLG_F8_E5M2); }
static inline float dlg_f8e5m2fnuz_to_f32(uint8_t v) { return dlg_f8_to_f32(v, DLG_F8_E5M2FNUZ); }
static inline uint8_t dlg_f32_to_f8e4m3fn(float x) { return dlg_f32_to_f8(x, DLG_F8_E4M3FN, 1); }
static inline uint8_t dlg_f32_to_f8e4m3fnuz(float x) { return dlg_f32_to_f8(x, DLG_F8_E4M3FNUZ, 1); }
static inline uint8_t dlg_f32_to_f8e5m2(float x) { return dlg_f32_to_f8(x, DLG_F8_E5M2, 1); }
static inline uint8_t dlg_f32_to_f8e5m2fnuz(float x) { return dlg_f32_to_f8(x, DLG_F8_E5M2FNUZ, 1); }

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_FLOAT8_H */
