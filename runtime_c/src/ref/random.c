/* Reference random number kernels: Philox4x32-10 blocks turned into uniform, normal and
 * Bernoulli values. See dlgen/random.h for the exact mapping from (key, stream, index) to
 * values; everything here is deterministic, portable integer and IEEE-754 arithmetic.
 * Floating-point expressions are split into one operation per statement so that compilers
 * that contract a * b + c into a fused multiply-add within an expression (clang's default)
 * compute the same values everywhere. */
#include "dlgen/random.h"
#include "dlgen/half.h"

/* Philox4x32 round multipliers and key increments (the Weyl constants of the golden ratio
 * and of sqrt(3) - 1), as published. */
#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

void dlg_philox4x32(const uint32_t ctr[4], uint32_t k0, uint32_t k1, uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    int round;
    for (round = 0; round < 10; ++round) {
        const uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        const uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        c1 = (uint32_t)p1;
        c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c3 = (uint32_t)p0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The key and stream of one op execution (see the header). */
typedef struct {
    uint64_t key;
    uint64_t stream;
} rng_stream;

static rng_stream draw_stream(uint64_t *state, uint64_t seed_key) {
    rng_stream s;
    if (state == NULL) {
        s.key = seed_key;
        s.stream = DLG_RNG_SEEDED_STREAM;
        return s;
    }
    s.key = state[0];
    s.stream = state[1];
    state[1] = s.stream + 1u;
    if (state[1] == DLG_RNG_SEEDED_STREAM) {
        state[1] = 0;
    }
    return s;
}

/* The 4 random words of block number `block` of stream s. */
static void block_words(rng_stream s, uint64_t block, uint32_t w[4]) {
    uint32_t ctr[4];
    ctr[0] = (uint32_t)block;
    ctr[1] = (uint32_t)(block >> 32);
    ctr[2] = (uint32_t)s.stream;
    ctr[3] = (uint32_t)(s.stream >> 32);
    dlg_philox4x32(ctr, (uint32_t)s.key, (uint32_t)(s.key >> 32), w);
}

/* A double in [0, 1) from 53 of the 64 bits of (hi, lo); exact. */
static double unit_double(uint32_t hi, uint32_t lo) {
    const uint64_t bits = ((uint64_t)hi << 32 | lo) >> 11;
    return (double)bits * 0x1.0p-53;
}

/* Uniform value i of stream s (the mapping shared by RandomUniform and Bernoulli). */
static double uniform_at(rng_stream s, size_t i, uint32_t w[4]) {
    const size_t word = 2 * (i % 2);
    if (word == 0) {
        block_words(s, (uint64_t)(i / 2), w);
    }
    return unit_double(w[word], w[word + 1]);
}

/* Natural logarithm of x > 0 using only IEEE arithmetic (frexp is exact), so that it gives
 * the same bits on every platform, unlike libm's log. x = m 2^e with m in [sqrt(1/2),
 * sqrt(2)); ln m = 2 atanh(t) with t = (m - 1) / (m + 1), |t| < 0.172, summed as
 * 2 t (1 + t^2/3 + t^4/5 + ... + t^22/23) (truncation error below 1e-18 relative). */
static double portable_log(double x) {
    const double ln2 = 0.6931471805599453094;
    int e = 0, k;
    double m = frexp(x, &e), t, t2, sum = 0.0, scaled;
    if (m < 0.70710678118654752440) {
        m = m * 2.0;
        e -= 1;
    }
    t = (m - 1.0) / (m + 1.0);
    t2 = t * t;
    for (k = 23; k >= 1; k -= 2) {
        sum = sum * t2;
        sum = sum + 1.0 / (double)k;
    }
    sum = sum * t;
    sum = sum * 2.0;
    scaled = (double)e * ln2;
    return scaled + sum;
}

static void store(void *y, int type, size_t i, double v) {
    switch (type) {
    case DLG_RNG_F32: ((float *)y)[i] = (float)v; break;
    case DLG_RNG_F64: ((double *)y)[i] = v; break;
    case DLG_RNG_F16: ((uint16_t *)y)[i] = dlg_f32_to_f16((float)v); break;
    case DLG_RNG_BF16: ((uint16_t *)y)[i] = dlg_f32_to_bf16((float)v); break;
    case DLG_RNG_I8: ((int8_t *)y)[i] = (int8_t)v; break;
    case DLG_RNG_I16: ((int16_t *)y)[i] = (int16_t)v; break;
    case DLG_RNG_I32: ((int32_t *)y)[i] = (int32_t)v; break;
    case DLG_RNG_I64: ((int64_t *)y)[i] = (int64_t)v; break;
    case DLG_RNG_U8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    case DLG_RNG_U16: ((uint16_t *)y)[i] = (uint16_t)v; break;
    case DLG_RNG_U32: ((uint32_t *)y)[i] = (uint32_t)v; break;
    case DLG_RNG_U64: ((uint64_t *)y)[i] = (uint64_t)v; break;
    default: ((uint8_t *)y)[i] = (uint8_t)(v != 0.0); break;
    }
}

static double load(const void *p, int type, size_t i) {
    switch (type) {
    case DLG_RNG_F64: return ((const double *)p)[i];
    case DLG_RNG_F16: return (double)dlg_f16_to_f32(((const uint16_t *)p)[i]);
    case DLG_RNG_BF16: return (double)dlg_bf16_to_f32(((const uint16_t *)p)[i]);
    default: return (double)((const float *)p)[i];
    }
}

void dlg_random_uniform(size_t n, uint64_t *state, uint64_t seed_key, double low, double high,
                        int y_type, void *y) {
    const rng_stream s = draw_stream(state, seed_key);
    const double range = high - low;
    uint32_t w[4] = {0, 0, 0, 0};
    size_t i;
    for (i = 0; i < n; ++i) {
        const double u = uniform_at(s, i, w);
        const double step = u * range;
        double v = low + step;
        if (y_type == DLG_RNG_F32 && high > low && (float)v >= (float)high) {
            v = (double)nextafterf((float)high, -HUGE_VALF);
        } else if (y_type == DLG_RNG_F64 && high > low && v >= high) {
            v = nextafter(high, -HUGE_VAL);
        }
        store(y, y_type, i, v);
    }
}

/* A pair of independent standard normal values from pair j of stream s: Marsaglia's polar
 * method, attempt a using block 64 j + a. (The chance that 64 attempts all fail is below
 * 1e-42; the pair is then (0, 0).) */
static void normal_pair(rng_stream s, uint64_t j, double z[2]) {
    uint32_t w[4];
    unsigned a;
    z[0] = 0.0;
    z[1] = 0.0;
    for (a = 0; a < 64u; ++a) {
        double v1, v2, s1, s2, r, f;
        block_words(s, j * 64u + a, w);
        v1 = unit_double(w[0], w[1]) * 2.0;
        v1 = v1 - 1.0;
        v2 = unit_double(w[2], w[3]) * 2.0;
        v2 = v2 - 1.0;
        s1 = v1 * v1;
        s2 = v2 * v2;
        r = s1 + s2;
        if (r > 0.0 && r < 1.0) {
            f = portable_log(r) * -2.0;
            f = f / r;
            f = sqrt(f);
            z[0] = v1 * f;
            z[1] = v2 * f;
            return;
        }
    }
}

void dlg_random_normal(size_t n, uint64_t *state, uint64_t seed_key, double mean, double scale,
                       int y_type, void *y) {
    const rng_stream s = draw_stream(state, seed_key);
    double z[2];
    size_t i;
    for (i = 0; i < n; ++i) {
        double v;
        if (i % 2 == 0) {
            normal_pair(s, (uint64_t)(i / 2), z);
        }
        v = scale * z[i % 2];
        v = mean + v;
        store(y, y_type, i, v);
    }
}

void dlg_bernoulli(size_t n, uint64_t *state, uint64_t seed_key, int p_type, const void *p,
                   int y_type, void *y) {
    const rng_stream s = draw_stream(state, seed_key);
    uint32_t w[4] = {0, 0, 0, 0};
    size_t i;
    for (i = 0; i < n; ++i) {
        const double u = uniform_at(s, i, w);
        store(y, y_type, i, u < load(p, p_type, i) ? 1.0 : 0.0);
    }
}
