/* Sequence-mixing kernels that carry a recurrent state between calls, float32:
 * CausalConvWithState and LinearAttention (ONNX opset 27). float16/bfloat16 tensors are
 * widened to float32 around them (dlg_attention_widen/narrow). */
#ifndef DLGEN_STATEFUL_H
#define DLGEN_STATEFUL_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CausalConvWithState: a depthwise causal 1-D convolution whose left context is the previous
 * call's tail. With P[b, c] = concat(past[b, c], X[b, c]) (length + kernel - 1 positions):
 *   Y[b, c, t] = act(bias[c] + sum_k W[c, k] P[b, c, t + k]),  act = x sigmoid(x) if silu
 *   present[b, c, j] = P[b, c, length + j]  (the last kernel - 1 positions)
 * X, Y:    [batch, channels, length]; W: [channels, 1, kernel]; bias: optional (NULL) [channels]
 * past:    optional (NULL = zeros) [batch, channels, kernel - 1]
 * present: optional (NULL) [batch, channels, kernel - 1]. */
void dlg_causal_conv_f32(size_t batch, size_t channels, size_t length, size_t kernel,
                         const float *X, const float *W, const float *bias, const float *past,
                         int silu, float *Y, float *present);

/* LinearAttention: a linear-attention recurrence over the sequence, for each batch b and
 * key/value head h, with state S [qk_size, v_size] (starting at past[b, h], or zeros):
 *   S *= exp(g_t)                         if decay is given (g_t per key row or per head)
 *   v_t = beta_t (v_t - S^T k_t)           if beta is given (the delta rule)
 *   S += k_t v_t^T
 *   Y_t[q head] = scale * S^T q_t          for the q_heads / kv_heads query heads of head h
 * Q: [batch, seq, q_heads * qk_size]; K: [batch, seq, kv_heads * qk_size];
 * V: [batch, seq, kv_heads * v_size]; Y: [batch, seq, q_heads * v_size]
 * past:  optional (NULL = zeros) [batch, kv_heads, qk_size, v_size]
 * decay: optional (NULL) [batch, seq, decay_width], decay_width = kv_heads (one gate per head)
 *        or kv_heads * qk_size (one per key row)
 * beta:  optional (NULL) [batch, seq, beta_width], beta_width = kv_heads or 1 (shared)
 * state: [batch, kv_heads, qk_size, v_size], the final state (the present_state output, or
 *        scratch); it may not alias past
 * v_row: scratch of v_size floats. Query head q reads key/value head q / (q_heads / kv_heads). */
void dlg_linear_attention_f32(size_t batch, size_t seq, size_t q_heads, size_t kv_heads,
                              size_t qk_size, size_t v_size, const float *Q, const float *K,
                              const float *V, const float *past, const float *decay,
                              size_t decay_width, const float *beta, size_t beta_width,
                              float scale, float *Y, float *state, float *v_row);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_STATEFUL_H */
