/* Reference CausalConvWithState and LinearAttention: plain loops over contiguous rows. */
#include "dlgen/stateful.h"

#include <string.h>

void dlg_causal_conv_f32(size_t batch, size_t channels, size_t length, size_t kernel,
                         const float *X, const float *W, const float *bias, const float *past,
                         int silu, float *Y, float *present) {
    const size_t context = kernel - 1; /* positions taken from the past state */
    size_t b, c, t, k, j;
    for (b = 0; b < batch; ++b) {
        for (c = 0; c < channels; ++c) {
            const size_t row = b * channels + c;
            const float *x = X + row * length, *w = W + c * kernel;
            const float *p = past != NULL ? past + row * context : NULL;
            float *y = Y + row * length;
            for (t = 0; t < length; ++t) {
                float acc = bias != NULL ? bias[c] : 0.0f;
                for (k = 0; k < kernel; ++k) {
                    const size_t pos = t + k; /* in concat(past, x) */
                    if (pos >= context) {
                        acc += w[k] * x[pos - context];
                    } else if (p != NULL) {
                        acc += w[k] * p[pos];
                    }
                }
                y[t] = silu ? acc * dlg_sigmoid(acc) : acc;
            }
            for (j = 0; present != NULL && j < context; ++j) {
                const size_t pos = length + j;
                float *out = present + row * context;
                out[j] = pos >= context ? x[pos - context] : (p != NULL ? p[pos] : 0.0f);
            }
        }
    }
}

/* One step of the recurrence for one key/value head: decay, delta correction, write. */
static void update_state(size_t qk_size, size_t v_size, const float *k, const float *v,
                         const float *gate, size_t gate_width, const float *beta, float *S,
                         float *v_row) {
    size_t d, m;
    if (gate != NULL) {
        for (d = 0; d < qk_size; ++d) {
            const float g = expf(gate_width == 1 ? gate[0] : gate[d]);
            for (m = 0; m < v_size; ++m) {
                S[d * v_size + m] *= g;
            }
        }
    }
    memcpy(v_row, v, v_size * sizeof(float));
    if (beta != NULL) {
        for (m = 0; m < v_size; ++m) {
            v_row[m] = 0.0f; /* first the retrieved value S^T k */
        }
        for (d = 0; d < qk_size; ++d) {
            for (m = 0; m < v_size; ++m) {
                v_row[m] += S[d * v_size + m] * k[d];
            }
        }
        for (m = 0; m < v_size; ++m) {
            v_row[m] = beta[0] * (v[m] - v_row[m]);
        }
    }
    for (d = 0; d < qk_size; ++d) {
        for (m = 0; m < v_size; ++m) {
            S[d * v_size + m] += k[d] * v_row[m];
        }
    }
}

/* y = scale * S^T q for one query head. */
static void read_state(size_t qk_size, size_t v_size, const float *S, const float *q,
                       float scale, float *y) {
    size_t d, m;
    for (m = 0; m < v_size; ++m) {
        y[m] = 0.0f;
    }
    for (d = 0; d < qk_size; ++d) {
        for (m = 0; m < v_size; ++m) {
            y[m] += q[d] * S[d * v_size + m];
        }
    }
    for (m = 0; m < v_size; ++m) {
        y[m] *= scale;
    }
}

void dlg_linear_attention_f32(size_t batch, size_t seq, size_t q_heads, size_t kv_heads,
                              size_t qk_size, size_t v_size, const float *Q, const float *K,
                              const float *V, const float *past, const float *decay,
                              size_t decay_width, const float *beta, size_t beta_width,
                              float scale, float *Y, float *state, float *v_row) {
    const size_t group = q_heads / kv_heads, state_size = qk_size * v_size;
    const size_t gate_width = decay_width == kv_heads ? 1 : qk_size;
    size_t b, h, t, r;
    for (b = 0; b < batch; ++b) {
        for (h = 0; h < kv_heads; ++h) {
            float *S = state + (b * kv_heads + h) * state_size;
            if (past != NULL) {
                memcpy(S, past + (b * kv_heads + h) * state_size, state_size * sizeof(float));
            } else {
                memset(S, 0, state_size * sizeof(float));
            }
            for (t = 0; t < seq; ++t) {
                const size_t bt = b * seq + t;
                const float *k = K + (bt * kv_heads + h) * qk_size;
                const float *v = V + (bt * kv_heads + h) * v_size;
                const float *gate = decay != NULL ? decay + bt * decay_width + h * gate_width
                                                  : NULL;
                const float *bt_beta = beta != NULL
                    ? beta + bt * beta_width + (beta_width == 1 ? 0 : h) : NULL;
                update_state(qk_size, v_size, k, v, gate, gate_width, bt_beta, S, v_row);
                for (r = 0; r < group; ++r) {
                    const size_t qh = h * group + r;
                    read_state(qk_size, v_size, S, Q + (bt * q_heads + qh) * qk_size, scale,
                               Y + (bt * q_heads + qh) * v_size);
                }
            }
        }
    }
}
