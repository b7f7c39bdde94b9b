/* GEMM-shaped kernels: Gemm and (batched) MatMul, float32, with a fused activation epilogue. */
#ifndef DLGEN_GEMM_H
#define DLGEN_GEMM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Y[M,N] = act(alpha * op(A) * op(B) + beta * C)
 * op(A) is A[M,K] (trans_a = 0) or A[K,M] transposed; op(B) is B[K,N] or B[N,K] transposed.
 * C is optional (NULL); it is read as C[m * c_stride_m + n * c_stride_n], so a stride of 0
 * broadcasts it (a scalar, a row [N], or a column [M,1]). */
void dlg_gemm_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, const float *B, float beta, const float *C,
                  size_t c_stride_m, size_t c_stride_n, float *Y,
                  int act, float act_a, float act_b);

/* Batched MatMul: for each batch b, Y[b] (M x N) = act(A[a_off[b]] (M x K) * B[b_off[b]] (K x N)).
 * a_off/b_off are element offsets of each batch's matrices (broadcasting repeats offsets). */
void dlg_matmul_f32(size_t batches, const int64_t *a_off, const int64_t *b_off,
                    size_t M, size_t N, size_t K, const float *A, const float *B, float *Y,
                    int act, float act_a, float act_b);

/* Gemm with B pre-packed by dlgen at compile time (portable fast kernels only, src/opt):
 * Y[M,N] = act(op(A) * B + beta * C), B given as sgemm.h's column panels over the whole depth
 * (panel stride K * DLG_SGEMM_NR), alpha already folded into them. op(A), C as above. */
void dlg_gemm_packed_f32(int trans_a, size_t M, size_t N, size_t K, const float *A,
                         const float *Bp, float beta, const float *C, size_t c_stride_m,
                         size_t c_stride_n, float *Y, int act, float act_a, float act_b);

#ifdef DLG_USE_CBLAS
/* --kernels cblas only: dlg_gemm_f32 and dlg_matmul_f32 computed by the CBLAS library
 * (cblas_sgemm; the bias and activation applied in a second pass over Y). Same arguments. */
void dlg_gemm_blas_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                       const float *A, const float *B, float beta, const float *C,
                       size_t c_stride_m, size_t c_stride_n, float *Y,
                       int act, float act_a, float act_b);

void dlg_matmul_blas_f32(size_t batches, const int64_t *a_off, const int64_t *b_off,
                         size_t M, size_t N, size_t K, const float *A, const float *B, float *Y,
                         int act, float act_a, float act_b);
#endif

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_GEMM_H */
