/* Reference FlexAttention stages: dot products over contiguous head vectors, rows of V. */
#include "dlgen/flex_attention.h"

void dlg_flex_scores_f32(size_t batch, size_t q_heads, size_t kv_heads, size_t q_len,
                         size_t kv_len, size_t qk_size, float scale_sqrt, const float *Q,
                         const float *K, float *scores) {
    const size_t group = q_heads / kv_heads;
    size_t b, h, i, j, e;
    for (b = 0; b < batch; ++b) {
        for (h = 0; h < q_heads; ++h) {
            const float *k_head = K + (b * kv_heads + h / group) * kv_len * qk_size;
            for (i = 0; i < q_len; ++i) {
                const float *q = Q + ((b * q_heads + h) * q_len + i) * qk_size;
                float *row = scores + ((b * q_heads + h) * q_len + i) * kv_len;
                for (j = 0; j < kv_len; ++j) {
                    const float *k = k_head + j * qk_size;
                    float acc = 0.0f;
                    for (e = 0; e < qk_size; ++e) {
                        acc += (q[e] * scale_sqrt) * (k[e] * scale_sqrt);
                    }
                    row[j] = acc;
                }
            }
        }
    }
}

void dlg_flex_softmax_f32(size_t rows, size_t n, float *x) {
    size_t r, j;
    for (r = 0; r < rows; ++r) {
        float *row = x + r * n;
        float max = -HUGE_VALF, sum = 0.0f;
        for (j = 0; j < n; ++j) {
            if (row[j] > max) {
                max = row[j];
            }
        }
        for (j = 0; j < n; ++j) {
            row[j] = expf(row[j] - max);
            sum += row[j];
        }
        for (j = 0; j < n; ++j) {
            row[j] /= sum;
        }
    }
}

void dlg_flex_combine_f32(size_t batch, size_t q_heads, size_t kv_heads, size_t q_len,
                          size_t kv_len, size_t v_size, const float *probs, const float *V,
                          float *Y) {
    const size_t group = q_heads / kv_heads;
    size_t b, h, i, j, m;
    for (b = 0; b < batch; ++b) {
        for (h = 0; h < q_heads; ++h) {
            const float *v_head = V + (b * kv_heads + h / group) * kv_len * v_size;
            for (i = 0; i < q_len; ++i) {
                const float *p = probs + ((b * q_heads + h) * q_len + i) * kv_len;
                float *y = Y + ((b * q_heads + h) * q_len + i) * v_size;
                for (m = 0; m < v_size; ++m) {
                    y[m] = 0.0f;
                }
                for (j = 0; j < kv_len; ++j) {
                    const float *v = v_head + j * v_size;
                    for (m = 0; m < v_size; ++m) {
                        y[m] += p[j] * v[m];
                    }
                }
            }
        }
    }
}
