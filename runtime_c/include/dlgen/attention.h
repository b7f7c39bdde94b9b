/* Transformer kernels: scaled dot-product Attention (ONNX Attention-23/24) and RotaryEmbedding,
 * float32. */
#ifndef DLGEN_ATTENTION_H
#define DLGEN_ATTENTION_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The geometry and attributes of one Attention node, filled in by the code generator.
 *
 * Q, K, V and Y are addressed through element strides, so one kernel reads both the 4-D
 * layout [batch, heads, seq, head_size] and the 3-D layout [batch, seq, heads * head_size]:
 * element d of head h at position s of batch b lives at
 *     b * stride[0] + h * stride[1] + s * stride[2] + d.
 * Keys and values count kv_len positions (past + new when a cache is concatenated first). */
typedef struct {
    size_t batch;
    size_t q_heads;          /* query heads; q head h reads kv head h / (q_heads / kv_heads) */
    size_t kv_heads;
    size_t q_len;            /* query positions */
    size_t kv_len;           /* key/value positions, the softmax axis */
    size_t qk_size;          /* head size of Q and K */
    size_t v_size;           /* head size of V and Y */
    size_t q_stride[3];      /* batch, head, position strides of Q (elements) */
    size_t k_stride[3];
    size_t v_stride[3];
    size_t y_stride[3];
    size_t mask_stride[4];   /* batch, q head, query, key strides of attn_mask (0 = broadcast) */
    size_t mask_len;         /* keys covered by attn_mask; keys at or past it are masked out */
    float scale_sqrt;        /* sqrt(scale): scores = (Q * scale_sqrt) . (K * scale_sqrt) */
    float softcap;           /* > 0: scores = softcap * tanh(scores / softcap) */
    int is_causal;           /* query i sees key j only if j <= i + offset */
    int64_t left_window;     /* >= 0: query i sees key j only if i + offset - j <= left_window */
    int64_t right_window;    /* >= 0: ... and j - (i + offset) <= right_window */
    int64_t past_len;        /* offset of the causal/window frontier without nonpad_kv_seqlen */
    int qk_mode;             /* what qk_out holds: 0 Q.K^T scaled, 1 after softcap,
                                2 after adding the mask, 3 softmax probabilities */
} dlg_attention_desc;

/* Y = softmax(softcap(scale Q K^T) + bias) V for every batch, query head and query.
 * bias is 0 where a key is allowed and -inf where it is masked (by the bool mask, causal and
 * window frontiers, nonpad_kv_seqlen, or keys beyond mask_len), plus the float mask.
 * fmask:  optional (NULL) float mask added to the scores, read through mask_stride.
 * bmask:  optional (NULL) bool mask (uint8_t, 0 = masked), read through mask_stride.
 * nonpad: optional (NULL) int64 [batch] count of valid keys per batch; keys at or past it
 *         are masked and the frontier offset becomes nonpad[b] - q_len.
 * qk_out: optional (NULL) [batch, q_heads, q_len, kv_len] contiguous, see qk_mode.
 * scores: scratch of kv_len floats.
 * A query row with every key masked produces zeros (Y and qk_mode 3), not NaN. */
void dlg_attention_f32(const dlg_attention_desc *desc, const float *Q, const float *K,
                       const float *V, const float *fmask, const uint8_t *bmask,
                       const int64_t *nonpad, float *Y, float *qk_out, float *scores);

/* The KV cache update: out[b, h] = concat(past[b, h], x[b, h]) along the position axis.
 * past: optional (NULL when past_len is 0) [batch, heads, past_len, size] contiguous.
 * x:    the new positions, element d of head h at position s of batch b at
 *       b * x_stride_b + h * x_stride_h + s * x_stride_s + d (4-D or 3-D layout).
 * out:  [batch, heads, past_len + new_len, size] contiguous. */
void dlg_attention_concat_f32(size_t batch, size_t heads, size_t past_len, size_t new_len,
                              size_t size, const float *past, const float *x,
                              size_t x_stride_b, size_t x_stride_h, size_t x_stride_s,
                              float *out);

/* RotaryEmbedding. X and Y have the same layout: element d of head h at position s of batch b
 * at b * stride_b + h * stride_h + s * stride_s + d (d < head_size).
 * The first rot_dim elements of each head are rotated, the rest copied:
 *   pairs (d, d + rot_dim/2) for d < rot_dim/2, or (2d, 2d + 1) when interleaved;
 *   (x1, x2) -> (cos x1 - sin x2, sin x1 + cos x2).
 * cos_cache/sin_cache rows have rot_dim/2 values. The row of (b, s) is position_ids[b * seq + s]
 * when position_ids is given (rows in [0, cache_rows); ids outside leave the token unrotated),
 * else b * seq + s (caches of shape [batch, seq, rot_dim/2]). */
void dlg_rotary_embedding_f32(size_t batch, size_t heads, size_t seq, size_t head_size,
                              size_t rot_dim, int interleaved, size_t stride_b, size_t stride_h,
                              size_t stride_s, const float *X, const float *cos_cache,
                              const float *sin_cache, size_t cache_rows,
                              const int64_t *position_ids, float *Y);

/* float16/bfloat16 inputs and outputs are widened to float32 scratch around the kernels above.
 * bits: n values stored as uint16_t bit patterns (bf16 = 0: IEEE float16, 1: bfloat16).
 * dlg_attention_widen: y[i] = float(bits[i]); dlg_attention_narrow: bits[i] = round(x[i]). */
void dlg_attention_widen(size_t n, int bf16, const uint16_t *bits, float *y);
void dlg_attention_narrow(size_t n, int bf16, const float *x, uint16_t *bits);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_ATTENTION_H */
