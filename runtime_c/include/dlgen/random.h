/* Random number kernels: RandomUniform(Like), RandomNormal(Like) and Bernoulli.
 *
 * The generator is Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11; the generator of Random123, cuRAND and JAX), a counter-based generator: block
 * (key, counter) -> 4 x 32 random bits, with no hidden state. Every value is a pure function
 * of the 64-bit key, a 64-bit stream number and the value's index, so the results are the
 * same on every run and every platform (the conversions below use only exact integer
 * operations, IEEE-754 +, -, *, / and sqrt, and a log written here, never libm's
 * transcendental functions; compile without cross-statement FP contraction, e.g. GCC's
 * -ffp-contract=off, which -std=c99 implies).
 *
 * Philox counter of a block: words 0-1 = the block number (64 bits, little word first),
 * words 2-3 = the stream number. The key words are key & 0xffffffff and key >> 32.
 *
 * Where the key and stream come from (see docs/GENERATED_C.md, "Random numbers"):
 * - an op with a `seed` attribute uses key = the float32 bit pattern of the seed and stream
 *   DLG_RNG_SEEDED_STREAM: it produces the same values on every call;
 * - an op without one draws from the model's RNG state, two uint64_t {key, next stream} in a
 *   reserved arena slot: it uses key = state[0] and stream = state[1], then increments
 *   state[1], so every call (and every random op within a call) gets a fresh stream.
 */
#ifndef DLGEN_RANDOM_H
#define DLGEN_RANDOM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stream of ops with a seed attribute; the state's stream counter skips it. */
#define DLG_RNG_SEEDED_STREAM UINT64_C(0xffffffffffffffff)

/* Element type of an output (y) or of Bernoulli's probabilities (p). */
typedef enum {
    DLG_RNG_F32 = 0,
    DLG_RNG_F64,
    DLG_RNG_F16,  /* stored as uint16_t bits */
    DLG_RNG_BF16, /* stored as uint16_t bits */
    DLG_RNG_I8,
    DLG_RNG_I16,
    DLG_RNG_I32,
    DLG_RNG_I64,
    DLG_RNG_U8,
    DLG_RNG_U16,
    DLG_RNG_U32,
    DLG_RNG_U64,
    DLG_RNG_BOOL /* uint8_t 0/1 */
} dlg_rng_type;

/* Philox4x32-10: out[0..4) = the random block of counter ctr[0..4) under key (k0, k1). */
void dlg_philox4x32(const uint32_t ctr[4], uint32_t k0, uint32_t k1, uint32_t out[4]);

/* Arguments shared by the kernels below:
 *   state:    the model's RNG state {key, next stream} for an op without a seed attribute
 *             (one stream is drawn and state[1] advanced), or NULL for a seeded op;
 *   seed_key: the key of a seeded op (ignored when state is not NULL);
 *   y_type:   the element type of y; y holds n values, contiguous.
 * Uniform doubles u in [0, 1) have 53 random bits: value i takes words 2(i%2), 2(i%2)+1 of
 * block i/2, u = ((w0 << 32 | w1) >> 11) * 2^-53. */

/* y[i] = low + u_i * (high - low), computed in double and rounded to y_type; float32 and
 * float64 results that round up to high are moved to the value just below it, so y < high. */
void dlg_random_uniform(size_t n, uint64_t *state, uint64_t seed_key, double low, double high,
                        int y_type, void *y);

/* y[i] = mean + scale * z_i with z standard normal, by Marsaglia's polar method in double:
 * values 2j and 2j+1 come from pair j, whose attempt a (0..63) uses block 64 j + a. */
void dlg_random_normal(size_t n, uint64_t *state, uint64_t seed_key, double mean, double scale,
                       int y_type, void *y);

/* y[i] = 1 if u_i < p[i] else 0 (so p <= 0 gives 0 and p >= 1 gives 1 exactly); p has n values
 * of type p_type (a float type). u_i is the uniform value RandomUniform would use. */
void dlg_bernoulli(size_t n, uint64_t *state, uint64_t seed_key, int p_type, const void *p,
                   int y_type, void *y);

/* The generated <prefix>_seed functions: state = {key, 0}. */
static inline void dlg_rng_seed(uint64_t *state, uint64_t key) {
    state[0] = key;
    state[1] = 0;
}

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_RANDOM_H */
