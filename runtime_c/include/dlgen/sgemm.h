/* The single-precision GEMM core of the portable fast kernels (src/opt/): a register-tiled
 * micro-kernel over packed panels, used by the fast Gemm/MatMul and convolution kernels.
 *
 * Operand layouts (all row-major float32):
 *   A (M x K) is read through strides, in row panels of DLG_SGEMM_MR rows:
 *     A(m, k) = a[(m / MR) * a_ps + (m % MR) * a_rs + k * a_cs]
 *   which covers a plain row-major matrix (a_ps = MR * lda, a_rs = lda, a_cs = 1), a transposed
 *   one (a_ps = MR, a_rs = 1, a_cs = lda) and weights pre-packed by dlgen at compile time into
 *   MR-row panels (a_ps = K * MR, a_rs = 1, a_cs = MR; rows past M are zero).
 *   B (K x N) is always packed in column panels of DLG_SGEMM_NR columns:
 *     B(k, n) = bp[(n / NR) * b_ps + k * NR + n % NR]   (columns past N are zero)
 *   C (M x N) has row stride ldc.
 */
#ifndef DLGEN_SGEMM_H
#define DLGEN_SGEMM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_SGEMM_MR 6   /* rows of the register tile */
#define DLG_SGEMM_NR 16  /* columns of the register tile (one packed B panel) */
#define DLG_SGEMM_KC 256 /* depth of a K block: an A micro-panel and a B panel stay in L1 */

/* What happens to C(m, n) after the last K block: C = act(C + bias_scale * bias(m, n) +
 * residual(m, n)), bias(m, n) = bias[m * bias_rs + n * bias_cs] (NULL: none; strides of 0
 * broadcast a per-row or per-column bias), residual(m, n) = residual[m * res_ld + n] (NULL:
 * none). */
typedef struct {
    const float *bias;
    size_t bias_rs, bias_cs;
    float bias_scale;
    const float *residual;
    size_t res_ld;
    int act;
    float act_a, act_b;
} dlg_sgemm_epilogue;

/* A bias-free, activation-free epilogue. */
static inline dlg_sgemm_epilogue dlg_sgemm_no_epilogue(void) {
    dlg_sgemm_epilogue ep;
    ep.bias = NULL;
    ep.bias_rs = 0;
    ep.bias_cs = 0;
    ep.bias_scale = 1.0f;
    ep.residual = NULL;
    ep.res_ld = 0;
    ep.act = DLG_ACT_NONE;
    ep.act_a = 0.0f;
    ep.act_b = 0.0f;
    return ep;
}

/* C (M x N) = A (M x K) * B (K x N), or C += A * B with accumulate != 0; then the epilogue
 * ep when it is not NULL (pass it with the last K block only). Layouts above; K is the depth
 * of this block (at most a few DLG_SGEMM_KC for cache efficiency, any value is correct). */
void dlg_sgemm_panels(size_t M, size_t N, size_t K, const float *a, size_t a_ps, size_t a_rs,
                      size_t a_cs, const float *bp, size_t b_ps, float *C, size_t ldc,
                      int accumulate, const dlg_sgemm_epilogue *ep);

/* dlg_sgemm_panels with B read in place rather than packed: B(k, n) = b[b_off[k] + n]. Each
 * row is read in whole panels of NR columns, so up to NR - 1 floats past column N - 1 of it
 * must be readable (their products are never stored). For convolutions whose im2col rows are
 * slices of one padded input (src/opt/conv.c). */
void dlg_sgemm_rows(size_t M, size_t N, size_t K, const float *a, size_t a_ps, size_t a_rs,
                    size_t a_cs, const float *b, const ptrdiff_t *b_off, float *C, size_t ldc,
                    int accumulate, const dlg_sgemm_epilogue *ep);

/* Apply an epilogue to all of C (M x N, row stride ldc): for products computed elsewhere
 * (a CBLAS call). */
void dlg_sgemm_apply_epilogue(const dlg_sgemm_epilogue *ep, size_t M, size_t N, float *C,
                              size_t ldc);

/* Pack the K x N block B(k, n) = b[k * b_rs + n * b_cs] into column panels at bp with panel
 * stride K * NR (zero-padded to a multiple of NR columns), times scale. */
void dlg_sgemm_pack_b(size_t K, size_t N, const float *b, size_t b_rs, size_t b_cs, float scale,
                      float *bp);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_SGEMM_H */
