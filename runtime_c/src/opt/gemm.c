/* Fast Gemm and MatMul over the packed GEMM core (sgemm.c). Operands known only at run time
 * are packed one K x NR panel at a time into a small stack buffer; weights dlgen knows at
 * compile time arrive already packed (dlg_gemm_packed_f32). With --kernels cblas, the
 * products dlgen routes to the BLAS go through dlg_gemm_blas_f32 / dlg_matmul_blas_f32. */
#include "dlgen/gemm.h"
#include "dlgen/parallel.h"
#include "dlgen/sgemm.h"

#ifdef DLG_USE_CBLAS
/* --kernels cblas: dlg_gemm_blas_f32 hands the product to a CBLAS (OpenBLAS, MKL, BLIS,
 * Accelerate, Arm Performance Libraries...). DLG_CBLAS_HEADER names its header if it is not
 * <cblas.h> (MKL: -DDLG_CBLAS_HEADER='<mkl_cblas.h>'). */
#ifdef DLG_CBLAS_HEADER
#include DLG_CBLAS_HEADER
#else
#include <cblas.h>
#endif
/* DLG_BLAS_SET_THREADS(n) sets the threads of the BLAS's own pool; every BLAS call is preceded
 * by it with n = --threads, so the BLAS uses exactly the threads asked for (and none of its
 * own with --threads 1). OpenBLAS (-DDLG_BLAS_OPENBLAS, set by dlgen when linking -lopenblas):
 * openblas_set_num_threads. Intel MKL: -D'DLG_BLAS_SET_THREADS(n)=mkl_set_num_threads_local(n)'.
 * Other CBLASes have no standard call: by default nothing is set (their own default, or
 * environment variables such as BLIS_NUM_THREADS, applies). */
#ifndef DLG_BLAS_SET_THREADS
#ifdef DLG_BLAS_OPENBLAS
void openblas_set_num_threads(int num_threads);
#define DLG_BLAS_SET_THREADS(n) openblas_set_num_threads(n)
#else
#define DLG_BLAS_SET_THREADS(n) ((void)(n))
#endif
#endif
#ifdef DLG_THREADS
#define BLAS_THREADS DLG_THREADS
#else
#define BLAS_THREADS 1
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

/* Whether the product is empty, handled here: nothing to write (M or N = 0), or K = 0, where
 * Y = act(epilogue) of zeros (bias and activation only). */
static int empty_gemm(size_t M, size_t N, size_t K, float *Y, const dlg_sgemm_epilogue *ep) {
    size_t i;
    if (M != 0 && N != 0 && K != 0) {
        return 0;
    }
    for (i = 0; i < M * N; ++i) {
        Y[i] = 0.0f;
    }
    dlg_sgemm_apply_epilogue(ep, M, N, Y, N);
    return 1;
}

void dlg_gemm_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, const float *B, float beta, const float *C,
                  size_t c_stride_m, size_t c_stride_n, float *Y,
                  int act, float act_a, float act_b) {
    const dlg_sgemm_epilogue ep = gemm_epilogue(beta, C, c_stride_m, c_stride_n, act, act_a,
                                                act_b);
    if (empty_gemm(M, N, K, Y, &ep)) {
        return;
    }
    portable_gemm(trans_a, trans_b, M, N, K, alpha, A, B, Y, &ep);
}

#ifdef DLG_USE_CBLAS
void dlg_gemm_blas_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                       const float *A, const float *B, float beta, const float *C,
                       size_t c_stride_m, size_t c_stride_n, float *Y,
                       int act, float act_a, float act_b) {
    const dlg_sgemm_epilogue ep = gemm_epilogue(beta, C, c_stride_m, c_stride_n, act, act_a,
                                                act_b);
    if (empty_gemm(M, N, K, Y, &ep)) {
        return;
    }
    DLG_BLAS_SET_THREADS(BLAS_THREADS);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
                (int)(trans_a ? M : K), B, (int)(trans_b ? K : N), 0.0f, Y, (int)N);
    if (C != NULL || act != DLG_ACT_NONE) {
        dlg_sgemm_apply_epilogue(&ep, M, N, Y, N);
    }
}

void dlg_matmul_blas_f32(size_t batches, const int64_t *a_off, const int64_t *b_off,
                         size_t M, size_t N, size_t K, const float *A, const float *B, float *Y,
                         int act, float act_a, float act_b) {
    size_t b;
    for (b = 0; b < batches; ++b) {
        dlg_gemm_blas_f32(0, 0, M, N, K, 1.0f, A + a_off[b], B + b_off[b], 0.0f, NULL, 0, 0,
                          Y + b * M * N, act, act_a, act_b);
    }
}
#endif

void dlg_matmul_f32(size_t batches, const int64_t *a_off, const int64_t *b_off,
                    size_t M, size_t N, size_t K, const float *A, const float *B, float *Y,
                    int act, float act_a, float act_b) {
    size_t b;
    for (b = 0; b < batches; ++b) {
        dlg_gemm_f32(0, 0, M, N, K, 1.0f, A + a_off[b], B + b_off[b], 0.0f, NULL, 0, 0,
                     Y + b * M * N, act, act_a, act_b);
    }
}

/* A packed-B Gemm, for dlg_parallel_for over its B panels (which are independent). */
typedef struct {
    const float *A;
    size_t a_rs, a_cs, M, N, K;
    const float *Bp;
    float *Y;
    dlg_sgemm_epilogue ep;
} packed_job;

/* Columns [j * NR, j * NR + nr) of the packed-B Gemm, for B panels j in [begin, end): every K
 * block of each panel. */
static void packed_panels(void *arg, size_t begin, size_t end) {
    const packed_job *job = (const packed_job *)arg;
    const size_t M = job->M, N = job->N, K = job->K;
    size_t j, k0;
    for (j = begin; j < end; ++j) {
        const size_t n0 = j * NR, nr = N - n0 < NR ? N - n0 : NR;
        dlg_sgemm_epilogue ep = job->ep;
        if (ep.bias != NULL) {
            ep.bias += n0 * ep.bias_cs;
        }
        for (k0 = 0; k0 < K; k0 += KC) {
            const size_t kc = K - k0 < KC ? K - k0 : KC;
            dlg_sgemm_panels(M, nr, kc, job->A + k0 * job->a_cs, MR * job->a_rs, job->a_rs,
                             job->a_cs, job->Bp + j * K * NR + k0 * NR, K * NR, job->Y + n0, N,
                             k0 > 0, k0 + kc == K ? &ep : NULL);
        }
    }
}

void dlg_gemm_packed_f32(int trans_a, size_t M, size_t N, size_t K, const float *A,
                         const float *Bp, float beta, const float *C, size_t c_stride_m,
                         size_t c_stride_n, float *Y, int act, float act_a, float act_b) {
    packed_job job;
    if (K == 0) {
        dlg_gemm_f32(trans_a, 0, M, N, 0, 1.0f, A, Bp, beta, C, c_stride_m, c_stride_n, Y, act,
                     act_a, act_b);
        return;
    }
    job.A = A;
    job.a_rs = trans_a ? 1 : K;
    job.a_cs = trans_a ? M : 1;
    job.M = M;
    job.N = N;
    job.K = K;
    job.Bp = Bp;
    job.Y = Y;
    job.ep = gemm_epilogue(beta, C, c_stride_m, c_stride_n, act, act_a, act_b);
    dlg_parallel_for((N + NR - 1) / NR, M * N * K, packed_panels, &job);
}
