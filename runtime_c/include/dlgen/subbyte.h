/* dlgen C runtime: the ONNX sub-byte and exotic element types, one element per byte.
 *
 * Each element is stored in one uint8_t exactly as numpy (ml_dtypes) holds it:
 *   INT4, UINT4   the low 4 bits (two's complement for INT4: -3 is 0x0d)
 *   INT2, UINT2   the low 2 bits (two's complement for INT2: -1 is 0x03)
 *   FLOAT4E2M1    bits S.EE.M, bias 1, no infinity or NaN: 0, 0.5, 1, 1.5, 2, 3, 4, 6
 *   FLOAT8E8M0    an unsigned power of two 2^(v - 127); 0xff is NaN
 * Conversions to integers truncate toward zero and then wrap modulo 2^bits (NaN and
 * infinities become 0), as numpy's astype does. float -> FLOAT4E2M1 rounds to nearest even
 * and saturates at +-6. float -> FLOAT8E8M0 follows onnx.numpy_helper.to_float8e8m0.
 */
#ifndef DLGEN_SUBBYTE_H
#define DLGEN_SUBBYTE_H

#include <string.h>

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline float dlg_i4_to_f32(uint8_t v) { return (float)(((v & 0x0f) ^ 0x08) - 0x08); }
static inline float dlg_u4_to_f32(uint8_t v) { return (float)(v & 0x0f); }
static inline float dlg_i2_to_f32(uint8_t v) { return (float)(((v & 0x03) ^ 0x02) - 0x02); }
static inline float dlg_u2_to_f32(uint8_t v) { return (float)(v & 0x03); }

/* x truncated toward zero, modulo 2^bits (0 for NaN and infinities): the stored bits. */
static inline uint8_t dlg_wrap_bits(double x, int bits) {
    const double period = (double)(1 << bits);
    double r;
    if (isnan(x) || isinf(x)) {
        return 0u;
    }
    r = fmod(trunc(x), period); /* exact */
    if (r < 0.0) {
        r += period;
    }
    return (uint8_t)r;
}

static inline uint8_t dlg_to_i4(double x) { return dlg_wrap_bits(x, 4); }
static inline uint8_t dlg_to_u4(double x) { return dlg_wrap_bits(x, 4); }
static inline uint8_t dlg_to_i2(double x) { return dlg_wrap_bits(x, 2); }
static inline uint8_t dlg_to_u2(double x) { return dlg_wrap_bits(x, 2); }

static inline float dlg_f4e2m1_to_f32(uint8_t v) {
    const int exponent = (v >> 1) & 0x03;
    const float mantissa = (float)(v & 0x01);
    const float r = exponent == 0 ? 0.5f * mantissa : ldexpf(1.0f + 0.5f * mantissa, exponent - 1);
    return (v & 0x08) ? -r : r;
}

static inline uint8_t dlg_f32_to_f4e2m1(float x) {
    const uint8_t sign = signbit(x) ? 0x08u : 0u;
    const float magnitude = fabsf(x);
    float quantum, r;
    if (isnan(x)) {
        return sign ? 0u : 0x08u; /* as ml_dtypes: a zero of the opposite sign */
    }
    if (magnitude >= 6.0f) {
        return (uint8_t)(sign | 0x07u);
    }
    /* Round to a multiple of the quantum of the value's binade; ties go to the even code. */
    quantum = magnitude < 2.0f ? 0.5f : (magnitude < 4.0f ? 1.0f : 2.0f);
    r = nearbyintf(magnitude / quantum) * quantum;
    if (r < 2.0f) {
        return (uint8_t)(sign | (int)(r * 2.0f));
    }
    if (r < 4.0f) {
        return (uint8_t)(sign | ((int)r + 2));
    }
    return (uint8_t)(sign | ((int)(r * 0.5f) + 4));
}

typedef enum {
    DLG_E8M0_ROUND_UP = 0,
    DLG_E8M0_ROUND_NEAREST,
    DLG_E8M0_ROUND_DOWN
} dlg_e8m0_round;

static inline float dlg_f8e8m0_to_f32(uint8_t v) {
    return v == 0xffu ? NAN : ldexpf(1.0f, (int)v - 127);
}

/* The float's biased exponent, rounded by its mantissa as ``mode`` says (the sign is
 * ignored); NaN and infinities become 0xff; saturating keeps finite values below 0xff. */
static inline uint8_t dlg_f32_to_f8e8m0_mode(float x, int saturate, dlg_e8m0_round mode) {
    uint32_t bits;
    unsigned exponent;
    int round_up = 0;
    memcpy(&bits, &x, sizeof bits);
    exponent = (bits >> 23) & 0xffu;
    if (exponent == 0xffu) {
        return 0xffu;
    }
    if (mode == DLG_E8M0_ROUND_UP) {
        round_up = (bits & 0x7fffffu) != 0;
    } else if (mode == DLG_E8M0_ROUND_NEAREST) {
        round_up = (bits & 0x400000u) && ((bits & 0x3fffffu) || exponent > 0);
    }
    if (round_up && !(saturate && exponent == 0xfeu)) {
        exponent += 1;
    }
    return (uint8_t)exponent;
}

static inline uint8_t dlg_f32_to_f8e8m0(float x) {
    return dlg_f32_to_f8e8m0_mode(x, 1, DLG_E8M0_ROUND_UP);
}

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_SUBBYTE_H */
