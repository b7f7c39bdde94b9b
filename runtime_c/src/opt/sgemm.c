/* The GEMM core of the portable fast kernels: a 6 x 16 register tile computed in strips of
 * twelve vector accumulators (one strip of 8-float vectors with AVX, two of 4-float vectors
 * with SSE or NEON), fed by packed B panel rows and six broadcast A values per step of k.
 * Written with GCC/Clang vector extensions, which every target lowers to its own SIMD (AVX2 +
 * FMA on x86-64 with -march=native, NEON on Arm), with FMA intrinsics where the compiler
 * announces them, and a plain C fallback for other compilers. */
#include <string.h>

#include "dlgen/sgemm.h"

#define MR DLG_SGEMM_MR
#define NR DLG_SGEMM_NR

#if defined(__GNUC__) || defined(__clang__)
#define DLG_SGEMM_VECTOR 1
#if defined(__AVX__)
#include <immintrin.h>
#define VW 8 /* floats per vector */
typedef float vec __attribute__((vector_size(32)));
typedef float vecu __attribute__((vector_size(32), aligned(4))); /* unaligned access */
#define BROADCAST(s) _mm256_set1_ps(s)
#if defined(__FMA__)
#define FMA(acc, a, b) ((acc) = _mm256_fmadd_ps((a), (b), (acc)))
#endif
#else
#define VW 4
typedef float vec __attribute__((vector_size(16)));
typedef float vecu __attribute__((vector_size(16), aligned(4)));
#define BROADCAST(s) ((vec){(s), (s), (s), (s)})
#endif
#ifndef FMA
#define FMA(acc, a, b) ((acc) += (a) * (b))
#endif
#endif

/* The MR rows of an A micro-panel; rows past mr repeat row 0 (computed, never stored). */
static void panel_rows(const float *a, size_t a_rs, size_t mr, const float *rows[MR]) {
    size_t r;
    for (r = 0; r < MR; ++r) {
        rows[r] = a + (r < mr ? r : 0) * a_rs;
    }
}

/* t (mr x nr of the MR x NR tile) += C: the partial sums of the earlier K blocks. */
static void add_c(float *t, const float *C, size_t ldc, size_t mr, size_t nr) {
    size_t r, c;
    for (r = 0; r < mr; ++r, t += NR, C += ldc) {
        if (nr == NR) { /* fixed-size loops: vectorized even at -O2 */
            for (c = 0; c < NR; ++c) {
                t[c] += C[c];
            }
        } else {
            for (c = 0; c < nr; ++c) {
                t[c] += C[c];
            }
        }
    }
}

/* C = t, mr x nr of it. */
static void store_tile(const float *t, float *C, size_t ldc, size_t mr, size_t nr) {
    size_t r, c;
    for (r = 0; r < mr; ++r, t += NR, C += ldc) {
        if (nr == NR) {
            for (c = 0; c < NR; ++c) {
                C[c] = t[c];
            }
        } else {
            for (c = 0; c < nr; ++c) {
                C[c] = t[c];
            }
        }
    }
}

#ifdef DLG_SGEMM_VECTOR
typedef int32_t veci __attribute__((vector_size(sizeof(vec)))); /* a comparison's mask */

/* The common epilogue (Conv): a tile row t[0, NR) += b, then ReLU when relu, in vector code
 * (the compilers' own vectorization of these fixed-size loops mixes scalar stores and vector
 * loads of the tile, which stalls). */
static void bias_relu_row(float *t, float b, int relu) {
    const vec bias = BROADCAST(b), zero = BROADCAST(0.0f);
    size_t j;
    for (j = 0; j < NR; j += VW) {
        vec v = *(vecu *)(t + j) + bias;
        if (relu) {
            v = (vec)((veci)v & (v > zero)); /* v > 0 ? v : 0, NaN included */
        }
        *(vecu *)(t + j) = v;
    }
}
#endif

/* The epilogue on the tile t (rows m0.., columns n0.. of C) while it is in cache. */
static void epilogue_tile(const dlg_sgemm_epilogue *ep, size_t m0, size_t n0, float *t,
                          size_t mr, size_t nr) {
    size_t r, c;
#ifdef DLG_SGEMM_VECTOR
    if (ep->residual == NULL && (ep->bias == NULL || ep->bias_cs == 0)
        && (ep->act == DLG_ACT_NONE || ep->act == DLG_ACT_RELU)) {
        if (ep->bias == NULL && ep->act == DLG_ACT_NONE) {
            return; /* nothing to do (and -0 stays -0) */
        }
        for (r = 0; r < mr; ++r, t += NR) {
            bias_relu_row(t, ep->bias != NULL ? ep->bias_scale * ep->bias[(m0 + r) * ep->bias_rs]
                                              : 0.0f, ep->act == DLG_ACT_RELU);
        }
        return;
    }
#endif
    for (r = 0; r < mr; ++r, t += NR) {
        if (ep->bias != NULL && ep->bias_cs == 0) { /* one bias per row (Conv) */
            const float b = ep->bias_scale * ep->bias[(m0 + r) * ep->bias_rs];
            for (c = 0; c < NR; ++c) {
                t[c] += b;
            }
        } else if (ep->bias != NULL) {
            const float *b = ep->bias + (m0 + r) * ep->bias_rs + n0 * ep->bias_cs;
            for (c = 0; c < nr; ++c) {
                t[c] += ep->bias_scale * b[c * ep->bias_cs];
            }
        }
        if (ep->residual != NULL) {
            add_c(t, ep->residual + (m0 + r) * ep->res_ld + n0, 0, 1, nr);
        }
        if (ep->act == DLG_ACT_RELU) {
            /* A bit-mask select: GCC unrolls this fixed-size loop and then keeps a ?: as 16
             * branches, where the select vectorizes. */
            for (c = 0; c < NR; ++c) {
                t[c] = dlg_selectf(t[c] > 0.0f, t[c], 0.0f);
            }
        } else {
            dlg_act_inplace(t, nr, ep->act, ep->act_a, ep->act_b);
        }
    }
}

#ifdef DLG_SGEMM_VECTOR
/* The twelve accumulators of a strip, and one step of k: the MR values of A's column (at
 * offset off in each row) times the two vectors of B's row at bk. */
#define STRIP_ACCUMULATORS                                                                     \
    vec c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};                     \
    vec c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0}
#define STRIP_STEP(off, bk)                                                                    \
    do {                                                                                       \
        const vec b0 = *(const vecu *)(bk);                                                    \
        const vec b1 = *(const vecu *)((bk) + VW);                                             \
        vec x;                                                                                 \
        x = BROADCAST(row[0][off]);                                                            \
        FMA(c00, x, b0);                                                                       \
        FMA(c01, x, b1);                                                                       \
        x = BROADCAST(row[1][off]);                                                            \
        FMA(c10, x, b0);                                                                       \
        FMA(c11, x, b1);                                                                       \
        x = BROADCAST(row[2][off]);                                                            \
        FMA(c20, x, b0);                                                                       \
        FMA(c21, x, b1);                                                                       \
        x = BROADCAST(row[3][off]);                                                            \
        FMA(c30, x, b0);                                                                       \
        FMA(c31, x, b1);                                                                       \
        x = BROADCAST(row[4][off]);                                                            \
        FMA(c40, x, b0);                                                                       \
        FMA(c41, x, b1);                                                                       \
        x = BROADCAST(row[5][off]);                                                            \
        FMA(c50, x, b0);                                                                       \
        FMA(c51, x, b1);                                                                       \
    } while (0)
#define STRIP_STORE(t)                                                                         \
    do {                                                                                       \
        *(vecu *)((t) + 0 * NR) = c00;                                                         \
        *(vecu *)((t) + 0 * NR + VW) = c01;                                                    \
        *(vecu *)((t) + 1 * NR) = c10;                                                         \
        *(vecu *)((t) + 1 * NR + VW) = c11;                                                    \
        *(vecu *)((t) + 2 * NR) = c20;                                                         \
        *(vecu *)((t) + 2 * NR + VW) = c21;                                                    \
        *(vecu *)((t) + 3 * NR) = c30;                                                         \
        *(vecu *)((t) + 3 * NR + VW) = c31;                                                    \
        *(vecu *)((t) + 4 * NR) = c40;                                                         \
        *(vecu *)((t) + 4 * NR + VW) = c41;                                                    \
        *(vecu *)((t) + 5 * NR) = c50;                                                         \
        *(vecu *)((t) + 5 * NR + VW) = c51;                                                    \
    } while (0)

/* Columns [0, 2 * VW) of t (row stride NR) = the MR rows (MR x K) * B panel columns
 * [0, 2 * VW) (row stride NR): twelve accumulators, which fit the registers of AVX2 (16),
 * SSE (16) and NEON (32). */
static void micro_strip(size_t K, const float *const row[MR], size_t a_cs, const float *bp,
                        float *t) {
    STRIP_ACCUMULATORS;
    size_t k, off = 0;
    for (k = 0; k < K; ++k, off += a_cs, bp += NR) {
        STRIP_STEP(off, bp);
    }
    STRIP_STORE(t);
}

/* micro_strip with B's row k read in place at b + b_off[k] (dlg_sgemm_rows). */
static void micro_strip_rows(size_t K, const float *const row[MR], size_t a_cs, const float *b,
                             const ptrdiff_t *b_off, float *t) {
    STRIP_ACCUMULATORS;
    size_t k, off = 0;
    for (k = 0; k < K; ++k, off += a_cs) {
        STRIP_STEP(off, b + b_off[k]);
    }
    STRIP_STORE(t);
}

/* t (MR x NR) = A micro-panel (MR x K) * B panel (K x NR), in strips of 2 * VW columns. */
static void micro_kernel(size_t K, const float *a, size_t a_rs, size_t a_cs, size_t mr,
                         const float *bp, float *t) {
    const float *row[MR];
    size_t s;
    panel_rows(a, a_rs, mr, row);
    for (s = 0; s < NR; s += 2 * VW) {
        micro_strip(K, row, a_cs, bp + s, t + s);
    }
}

/* micro_kernel with B's row k read in place at b + b_off[k] (NR floats of it). */
static void micro_kernel_rows(size_t K, const float *a, size_t a_rs, size_t a_cs, size_t mr,
                              const float *b, const ptrdiff_t *b_off, float *t) {
    const float *row[MR];
    size_t s;
    panel_rows(a, a_rs, mr, row);
    for (s = 0; s < NR; s += 2 * VW) {
        micro_strip_rows(K, row, a_cs, b + s, b_off, t + s);
    }
}

/* Row 0 of t = one row of A (1 x K) * B panel (K x NR): the matrix-vector case (batch 1). */
static void row_kernel(size_t K, const float *a, size_t a_cs, const float *bp, float *t) {
    vec acc[NR / VW], acc2[NR / VW];
    size_t k, j;
    for (j = 0; j < NR / VW; ++j) {
        acc[j] = (vec){0};
        acc2[j] = (vec){0};
    }
    for (k = 0; k + 1 < K; k += 2, bp += 2 * NR) {
        const vec x = BROADCAST(a[k * a_cs]), y = BROADCAST(a[(k + 1) * a_cs]);
        for (j = 0; j < NR / VW; ++j) {
            FMA(acc[j], x, *(const vecu *)(bp + j * VW));
            FMA(acc2[j], y, *(const vecu *)(bp + NR + j * VW));
        }
    }
    if (k < K) {
        const vec x = BROADCAST(a[k * a_cs]);
        for (j = 0; j < NR / VW; ++j) {
            FMA(acc[j], x, *(const vecu *)(bp + j * VW));
        }
    }
    for (j = 0; j < NR / VW; ++j) {
        *(vecu *)(t + j * VW) = acc[j] + acc2[j];
    }
}
#else
/* t (MR x NR) = A micro-panel (MR x K) * B panel (K x NR), in plain C. */
static void micro_kernel(size_t K, const float *a, size_t a_rs, size_t a_cs, size_t mr,
                         const float *bp, float *t) {
    const float *row[MR];
    size_t k, r, c, off = 0;
    panel_rows(a, a_rs, mr, row);
    memset(t, 0, MR * NR * sizeof(float));
    for (k = 0; k < K; ++k, off += a_cs, bp += NR) {
        for (r = 0; r < MR; ++r) {
            const float x = row[r][off];
            for (c = 0; c < NR; ++c) {
                t[r * NR + c] += x * bp[c];
            }
        }
    }
}

/* micro_kernel with B's row k read in place at b + b_off[k], in plain C. */
static void micro_kernel_rows(size_t K, const float *a, size_t a_rs, size_t a_cs, size_t mr,
                              const float *b, const ptrdiff_t *b_off, float *t) {
    const float *row[MR];
    size_t k, r, c, off = 0;
    panel_rows(a, a_rs, mr, row);
    memset(t, 0, MR * NR * sizeof(float));
    for (k = 0; k < K; ++k, off += a_cs) {
        const float *bk = b + b_off[k];
        for (r = 0; r < MR; ++r) {
            const float x = row[r][off];
            for (c = 0; c < NR; ++c) {
                t[r * NR + c] += x * bk[c];
            }
        }
    }
}

/* Row 0 of t = one row of A (1 x K) * B panel (K x NR), in plain C. */
static void row_kernel(size_t K, const float *a, size_t a_cs, const float *bp, float *t) {
    size_t k, c;
    memset(t, 0, NR * sizeof(float));
    for (k = 0; k < K; ++k, bp += NR) {
        const float x = a[k * a_cs];
        for (c = 0; c < NR; ++c) {
            t[c] += x * bp[c];
        }
    }
}
#endif

void dlg_sgemm_panels(size_t M, size_t N, size_t K, const float *a, size_t a_ps, size_t a_rs,
                      size_t a_cs, const float *bp, size_t b_ps, float *C, size_t ldc,
                      int accumulate, const dlg_sgemm_epilogue *ep) {
    float tile[MR * NR];
    size_t n0, m0;
    /* Rows outer: an A micro-panel stays in L1 while it meets every B panel of the block. */
    for (m0 = 0; m0 < M; m0 += MR) {
        const size_t mr = M - m0 < MR ? M - m0 : MR;
        const float *arows = a + (m0 / MR) * a_ps;
        for (n0 = 0; n0 < N; n0 += NR) {
            const size_t nr = N - n0 < NR ? N - n0 : NR;
            const float *panel = bp + (n0 / NR) * b_ps;
            float *c = C + m0 * ldc + n0;
            if (mr == 1) {
                row_kernel(K, arows, a_cs, panel, tile);
            } else {
                micro_kernel(K, arows, a_rs, a_cs, mr, panel, tile);
            }
            if (accumulate) {
                add_c(tile, c, ldc, mr, nr);
            }
            if (ep != NULL) {
                epilogue_tile(ep, m0, n0, tile, mr, nr);
            }
            store_tile(tile, c, ldc, mr, nr);
        }
    }
}

void dlg_sgemm_rows(size_t M, size_t N, size_t K, const float *a, size_t a_ps, size_t a_rs,
                    size_t a_cs, const float *b, const ptrdiff_t *b_off, float *C, size_t ldc,
                    int accumulate, const dlg_sgemm_epilogue *ep) {
    float tile[MR * NR];
    size_t n0, m0;
    for (m0 = 0; m0 < M; m0 += MR) {
        const size_t mr = M - m0 < MR ? M - m0 : MR;
        const float *arows = a + (m0 / MR) * a_ps;
        for (n0 = 0; n0 < N; n0 += NR) {
            const size_t nr = N - n0 < NR ? N - n0 : NR;
            float *c = C + m0 * ldc + n0;
            micro_kernel_rows(K, arows, a_rs, a_cs, mr, b + n0, b_off, tile);
            if (accumulate) {
                add_c(tile, c, ldc, mr, nr);
            }
            if (ep != NULL) {
                epilogue_tile(ep, m0, n0, tile, mr, nr);
            }
            store_tile(tile, c, ldc, mr, nr);
        }
    }
}

void dlg_sgemm_apply_epilogue(const dlg_sgemm_epilogue *ep, size_t M, size_t N, float *C,
                              size_t ldc) {
    float tile[MR * NR];
    size_t m0, n0;
    for (m0 = 0; m0 < M; m0 += MR) {
        const size_t mr = M - m0 < MR ? M - m0 : MR;
        for (n0 = 0; n0 < N; n0 += NR) {
            const size_t nr = N - n0 < NR ? N - n0 : NR;
            float *c = C + m0 * ldc + n0;
            memset(tile, 0, sizeof(tile));
            add_c(tile, c, ldc, mr, nr);
            epilogue_tile(ep, m0, n0, tile, mr, nr);
            store_tile(tile, c, ldc, mr, nr);
        }
    }
}

void dlg_sgemm_pack_b(size_t K, size_t N, const float *b, size_t b_rs, size_t b_cs, float scale,
                      float *bp) {
    size_t n0, k, c;
    for (n0 = 0; n0 < N; n0 += NR) {
        const size_t nr = N - n0 < NR ? N - n0 : NR;
        float *panel = bp + (n0 / NR) * K * NR;
        for (k = 0; k < K; ++k) {
            const float *src = b + k * b_rs + n0 * b_cs;
            float *dst = panel + k * NR;
            for (c = 0; c < nr; ++c) {
                dst[c] = scale * src[c * b_cs];
            }
            for (; c < NR; ++c) {
                dst[c] = 0.0f;
            }
        }
    }
}
