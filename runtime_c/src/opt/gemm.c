/* Fast Gemm and MatMul over the packed GEMM core (sgemm.c). Operands known only at run time
 * are packed one K x NR panel at a time into a small stack buffer; weights dlgen knows at
 * compile time arrive already packed (dlg_gemm_packed_f32). */
#include "dlgen/gemm.h"
#include "dlgen/sgemm.h"

#ifdef DLG_USE_CBLAS
/* --kernels cblas: dlg_gemm_f32 hands the product to a CBLAS (OpenBLAS, MKL, BLIS, Accelerate,
 * Arm Performance Libraries...). DLG_CBLAS_HEADER names its header if it is not <cblas.h>
 * (MKL: -DDLG_CBLAS_HEADER='<mkl_cblas.h>'). */
#ifdef DLG_CBLAS_HEADER
#include DLG_CBLAS_HEADER
#else
#include <cblas.h>
#endif
#endif

#define MR DLG_SGEMM_MR
#define NR DLG_SGEMM_NR
#define KC DLG_SGEMM_KC

/* The epilogue of Gemm: Y = act(product + beta * C) with C broadcast through its strides. */
static dlg_sgemm_epilogue gemm_epilogue(float beta, const float *C, size_t c_stride_m,
                                        size_t c_stride_n, int act, float act_a, float act_b) {
    dlg_sgemm_epilogue ep = dlg_sgemm_no_epilogue();
    ep.bias = C;
    ep.bias_rs = c_stride_m;
    ep.bias_cs = c_stride_n;
    ep.bias_scale = beta;
    ep.act = act;
    ep.act_a = act_a;
    ep.act_b = act_b;
    return ep;
}

#ifndef DLG_USE_CBLAS
/* Y = op(A) * alpha op(B), packing op(B) one KC x NR panel at a time; then the epilogue. */
static void portable_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                          const float *A, const float *B, float *Y,
                          const dlg_sgemm_epilogue *ep) {
    float panel[KC * NR];
    /* op(A)(m, k) and op(B)(k, n) through strides. */
    const size_t a_rs = trans_a ? 1 : K, a_cs = trans_a ? M : 1;
    const size_t b_rs = trans_b ? 1 : N, b_cs = trans_b ? K : 1;
    size_t n0, k0;
    for (n0 = 0; n0 < N; n0 += NR) {
        const size_t nr = N - n0 < NR ? N - n0 : NR;
        for (k0 = 0; k0 < K; k0 += KC) {
            const size_t kc = K - k0 < KC ? K - k0 : KC;
            dlg_sgemm_pack_b(kc, nr, B + k0 * b_rs + n0 * b_cs, b_rs, b_cs, alpha, panel);
            dlg_sgemm_panels(M, nr, kc, A + k0 * a_cs, MR * a_rs, a_rs, a_cs, panel, 0,
                             Y + n0, N, k0 > 0, k0 + kc == K ? ep : NULL);
        }
    }
}
#endif

void dlg_gemm_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, const float *B, float beta, const float *C,
                  size_t c_stride_m, size_t c_stride_n, float *Y,
                  int act, float act_a, float act_b) {
    const dlg_sgemm_epilogue ep = gemm_epilogue(beta, C, c_stride_m, c_stride_n, act, act_a,
                                                act_b);
    if (M == 0 || N == 0) {
        return;
    }
    if (K == 0) {
        size_t i;
        for (i = 0; i < M * N; ++i) {
            Y[i] = 0.0f;
        }
        dlg_sgemm_apply_epilogue(&ep, M, N, Y, N);
        return;
    }
#ifdef DLG_USE_CBLAS
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                (int)(trans_a ? M : K), B, (int)(trans_b ? K : N), 0.0f, Y, (int)N);
    dlg_sgemm_apply_epilogue(&ep, M, N, Y, N);
#else
    portable_gemm(trans_a, trans_b, M, N, K, alpha, A, B, Y, &ep);
#endif
}

void dlg_matmul_f32(size_t batches, const int64_t *a_off, const int64_t *b_off,
                    size_t M, size_t N, size_t K, const float *A, const float *B, float *Y,
                    int act, float act_a, float act_b) {
    size_t b;
    for (b = 0; b < batches; ++b) {
        dlg_gemm_f32(0, 0, M, N, K, 1.0f, A + a_off[b], B + b_off[b], 0.0f, NULL, 0, 0,
                     Y + b * M * N, act, act_a, act_b);
    }
}

/* Columns [j * NR, j * NR + nr) of the packed-B Gemm: every K block of one B panel. */
static void packed_panel(const float *A, size_t a_rs, size_t a_cs, size_t M, size_t N, size_t K,
                         const float *Bp, size_t j, float *Y, dlg_sgemm_epilogue ep) {
    const size_t n0 = j * NR, nr = N - n0 < NR ? N - n0 : NR;
    size_t k0;
    if (ep.bias != NULL) {
        ep.bias += n0 * ep.bias_cs;
    }
    for (k0 = 0; k0 < K; k0 += KC) {
        const size_t kc = K - k0 < KC ? K - k0 : KC;
        dlg_sgemm_panels(M, nr, kc, A + k0 * a_cs, MR * a_rs, a_rs, a_cs, Bp + j * K * NR + k0 * NR,
                         K * NR, Y + n0, N, k0 > 0, k0 + kc == K ? &ep : NULL);
    }
}

void dlg_gemm_packed_f32(int trans_a, size_t M, size_t N, size_t K, const float *A,
                         const float *Bp, float beta, const float *C, size_t c_stride_m,
                         size_t c_stride_n, float *Y, int act, float act_a, float act_b) {
    const dlg_sgemm_epilogue ep = gemm_epilogue(beta, C, c_stride_m, c_stride_n, act, act_a,
                                                act_b);
    const size_t a_rs = trans_a ? 1 : K, a_cs = trans_a ? M : 1;
    const ptrdiff_t panels = (ptrdiff_t)((N + NR - 1) / NR);
    ptrdiff_t j;
    if (K == 0) {
        dlg_gemm_f32(trans_a, 0, M, N, 0, 1.0f, A, Bp, beta, C, c_stride_m, c_stride_n, Y, act,
                     act_a, act_b);
        return;
    }
    /* Panels of B are independent: with threads they are split among them. */
    DLG_PARALLEL_FOR(M * N * K)
    for (j = 0; j < panels; ++j) {
        packed_panel(A, a_rs, a_cs, M, N, K, Bp, (size_t)j, Y, ep);
    }
}
