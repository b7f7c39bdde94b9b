/* FlexAttention (ai.onnx.preview FlexAttention-1) in three stages, float32, so that the
 * generated code can run the score_mod / prob_mod subgraphs between them:
 *   scores = (Q sqrt(scale)) (K sqrt(scale))^T -> [score_mod] -> softmax -> [prob_mod] -> P V.
 * Layouts are 4-D and contiguous: Q [batch, q_heads, q_len, qk_size], K [batch, kv_heads,
 * kv_len, qk_size], V [batch, kv_heads, kv_len, v_size], Y [batch, q_heads, q_len, v_size],
 * scores/probabilities [batch, q_heads, q_len, kv_len]. Query head h reads key/value head
 * h / (q_heads / kv_heads). */
#ifndef DLGEN_FLEX_ATTENTION_H
#define DLGEN_FLEX_ATTENTION_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* scores[b, h, i, j] = sum_e (Q[b, h, i, e] * scale_sqrt) * (K[b, h / g, j, e] * scale_sqrt). */
void dlg_flex_scores_f32(size_t batch, size_t q_heads, size_t kv_heads, size_t q_len,
                         size_t kv_len, size_t qk_size, float scale_sqrt, const float *Q,
                         const float *K, float *scores);

/* Softmax of each of `rows` rows of n values, in place: exp(x - max) / sum. A row whose
 * values are all -inf becomes NaN, as in the ONNX reference. */
void dlg_flex_softmax_f32(size_t rows, size_t n, float *x);

/* Y[b, h, i, :] = sum_j probs[b, h, i, j] * V[b, h / g, j, :]. */
void dlg_flex_combine_f32(size_t batch, size_t q_heads, size_t kv_heads, size_t q_len,
                          size_t kv_len, size_t v_size, const float *probs, const float *V,
                          float *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_FLEX_ATTENTION_H */
