/* Reference GEMM kernels: readable loops in a cache-friendly order (the innermost loop walks
 * contiguous memory of B and Y). Fast kernels with the same names live in src/opt/. */
#include "dlgen/gemm.h"

static float load_a(const float *A, int trans_a, size_t M, size_t K, size_t m, size_t k) {
    return trans_a ? A[k * M + m] : A[m * K + k];
}

void dlg_gemm_f32(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, const float *B, float beta, const float *C,
                  size_t c_stride_m, size_t c_stride_n, float *Y,
                  int act, float act_a, float act_b) {
    size_t m, n, k;
    for (m = 0; m < M; ++m) {
        float *y = Y + m * N;
        for (n = 0; n < N; ++n) {
            y[n] = C ? beta * C[m * c_stride_m + n * c_stride_n] : 0.0f;
        }
        if (trans_b) {
            /* B is [N,K]: each output is a dot product of two contiguous rows. */
            for (n = 0; n < N; ++n) {
                const float *b = B + n * K;
                float acc = 0.0f;
                for (k = 0; k < K; ++k) {
                    acc += load_a(A, trans_a, M, K, m, k) * b[k];
                }
                y[n] += alpha * acc;
            }
        } else {
            /* B is [K,N]: accumulate scaled rows of B into the output row. */
            for (k = 0; k < K; ++k) {
                const float a = alpha * load_a(A, trans_a, M, K, m, k);
                const float *b = B + k * N;
                for (n = 0; n < N; ++n) {
                    y[n] += a * b[n];
                }
            }
        }
        dlg_act_inplace(y, N, act, act_a, act_b);
    }
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
