/* dlgen C runtime: 16-bit floating-point storage (IEEE float16 and bfloat16).
 *
 * Both are stored as uint16_t bit patterns; kernels load them as float, compute in float and
 * store back with these conversions. Float -> 16-bit rounds to nearest, ties to even; NaN
 * stays NaN (made quiet) and infinities stay infinite.
 */
#ifndef DLGEN_HALF_H
#define DLGEN_HALF_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef union {
    float f;
    uint32_t u;
} dlg_f32_bits_;

static inline uint32_t dlg_f32_to_bits(float f) {
    dlg_f32_bits_ v;
    v.f = f;
    return v.u;
}

static inline float dlg_bits_to_f32(uint32_t u) {
    dlg_f32_bits_ v;
    v.u = u;
    return v.f;
}

/* IEEE binary16 (1 sign, 5 exponent, 10 mantissa bits) -> float; exact. */
static inline float dlg_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t exponent = (uint32_t)(h >> 10) & 0x1fu;
    const uint32_t mantissa = (uint32_t)h & 0x3ffu;
    if (exponent == 0x1fu) { /* infinity or NaN */
        return dlg_bits_to_f32(sign | 0x7f800000u | (mantissa << 13));
    }
    if (exponent != 0) { /* normal: rebias 15 -> 127 */
        return dlg_bits_to_f32(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
    { /* zero or subnormal: mantissa * 2^-24 */
        const float magnitude = (float)mantissa * 5.9604644775390625e-8f;
        return sign ? -magnitude : magnitude;
    }
}

/* float -> IEEE binary16, round to nearest even; overflow gives infinity. */
static inline uint16_t dlg_f32_to_f16(float f) {
    const uint32_t bits = dlg_f32_to_bits(f);
    const uint16_t sign = (uint16_t)((bits >> 16) & 0x8000u);
    const uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) { /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00u | ((magnitude >> 13) & 0x3ffu));
    }
    if (magnitude >= 0x477ff000u) { /* >= 65520 (rounds past the largest half) or infinity */
        return (uint16_t)(sign | 0x7c00u);
    }
    if (magnitude < 0x33000000u) { /* <= 2^-25: rounds to zero */
        return sign;
    }
    if (magnitude < 0x38800000u) { /* below 2^-14: a half subnormal, in units of 2^-24 */
        const uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - (magnitude >> 23); /* 14..24 */
        const uint32_t rest = significand & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1u);
        uint32_t q = significand >> shift;
        if (rest > halfway || (rest == halfway && (q & 1u))) {
            ++q;
        }
        return (uint16_t)(sign | q);
    }
    { /* normal: rebias 127 -> 15, drop 13 mantissa bits (a carry may bump the exponent) */
        uint32_t q = (magnitude - (112u << 23)) >> 13;
        const uint32_t rest = magnitude & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (q & 1u))) {
            ++q;
        }
        return (uint16_t)(sign | q);
    }
}

/* bfloat16 (the top half of a float) -> float; exact. */
static inline float dlg_bf16_to_f32(uint16_t h) {
    return dlg_bits_to_f32((uint32_t)h << 16);
}

/* float -> bfloat16, round to nearest even. */
static inline uint16_t dlg_f32_to_bf16(float f) {
    uint32_t bits = dlg_f32_to_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) { /* NaN: force quiet */
        return (uint16_t)((bits >> 16) | 0x40u);
    }
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_HALF_H */
