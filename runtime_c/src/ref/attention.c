/* Reference transformer kernels: Attention and RotaryEmbedding. Readable loops; the innermost
 * loops walk a contiguous head vector (dot products over head_size, rows of V). */
#include "dlgen/attention.h"
#include "dlgen/half.h"

/* Whether key j is masked for query i of batch b by a structural rule (bool mask, causal or
 * window frontier, nonpad_kv_seqlen). The float mask is handled separately as a bias. */
static int key_masked(const dlg_attention_desc *d, const uint8_t *bmask, size_t mask_base,
                      int64_t offset, int64_t nonpad, size_t i, size_t j) {
    const int64_t dist = (int64_t)i + offset - (int64_t)j; /* > 0: key j precedes query i */
    if (bmask != NULL && (j >= d->mask_len || !bmask[mask_base + j * d->mask_stride[3]])) {
        return 1;
    }
    if (d->is_causal && dist < 0) {
        return 1;
    }
    if (d->left_window >= 0 && dist > d->left_window) {
        return 1;
    }
    if (d->right_window >= 0 && -dist > d->right_window) {
        return 1;
    }
    return nonpad >= 0 && (int64_t)j >= nonpad;
}

/* Softmax of n scores in place. A row whose maximum is -inf (every key masked or -inf)
 * becomes zeros instead of NaN. */
static void softmax_row(float *s, size_t n) {
    float max = -HUGE_VALF, sum = 0.0f;
    size_t j;
    for (j = 0; j < n; ++j) {
        if (s[j] > max) {
            max = s[j];
        }
    }
    if (max == -HUGE_VALF) {
        max = 0.0f;
    }
    for (j = 0; j < n; ++j) {
        s[j] = expf(s[j] - max);
        sum += s[j];
    }
    if (sum == 0.0f) {
        sum = 1.0f;
    }
    for (j = 0; j < n; ++j) {
        s[j] /= sum;
    }
}

/* Masked, scaled scores of one query row against every key; returns whether any key is
 * allowed by the mask/bias (a row with none produces zeros). Writes qk_out for modes 0-2. */
static int score_row(const dlg_attention_desc *d, const float *q, const float *K,
                     const float *fmask, const uint8_t *bmask, size_t mask_base, int64_t offset,
                     int64_t nonpad, size_t i, float *qk_out, float *scores) {
    int any_allowed = 0;
    size_t j, k;
    for (j = 0; j < d->kv_len; ++j) {
        const float *key = K + j * d->k_stride[2];
        float score = 0.0f, bias = 0.0f;
        for (k = 0; k < d->qk_size; ++k) {
            score += (q[k] * d->scale_sqrt) * (key[k] * d->scale_sqrt);
        }
        if (qk_out != NULL && d->qk_mode == 0) {
            qk_out[j] = score;
        }
        if (d->softcap > 0.0f) {
            score = d->softcap * tanhf(score / d->softcap);
        }
        if (qk_out != NULL && d->qk_mode == 1) {
            qk_out[j] = score;
        }
        if (fmask != NULL) {
            bias = j < d->mask_len ? fmask[mask_base + j * d->mask_stride[3]] : -HUGE_VALF;
        }
        if (key_masked(d, bmask, mask_base, offset, nonpad, i, j)) {
            bias = -HUGE_VALF;
        }
        any_allowed |= bias != -HUGE_VALF;
        scores[j] = score + bias;
        if (qk_out != NULL && d->qk_mode == 2) {
            qk_out[j] = scores[j];
        }
    }
    return any_allowed;
}

void dlg_attention_f32(const dlg_attention_desc *desc, const float *Q, const float *K,
                       const float *V, const float *fmask, const uint8_t *bmask,
                       const int64_t *nonpad, float *Y, float *qk_out, float *scores) {
    const dlg_attention_desc *d = desc;
    const size_t group = d->q_heads / d->kv_heads;
    size_t b, h, i, j, k;
    for (b = 0; b < d->batch; ++b) {
        const int64_t valid = nonpad != NULL ? nonpad[b] : -1;
        const int64_t offset = nonpad != NULL ? valid - (int64_t)d->q_len : d->past_len;
        for (h = 0; h < d->q_heads; ++h) {
            const float *keys = K + b * d->k_stride[0] + (h / group) * d->k_stride[1];
            const float *values = V + b * d->v_stride[0] + (h / group) * d->v_stride[1];
            for (i = 0; i < d->q_len; ++i) {
                const float *q = Q + b * d->q_stride[0] + h * d->q_stride[1] + i * d->q_stride[2];
                float *y = Y + b * d->y_stride[0] + h * d->y_stride[1] + i * d->y_stride[2];
                float *qk = qk_out != NULL
                    ? qk_out + ((b * d->q_heads + h) * d->q_len + i) * d->kv_len : NULL;
                const size_t mask_base = b * d->mask_stride[0] + h * d->mask_stride[1]
                                         + i * d->mask_stride[2];
                const int any = score_row(d, q, keys, fmask, bmask, mask_base, offset, valid,
                                          i, qk, scores);
                softmax_row(scores, d->kv_len);
                for (j = 0; j < d->kv_len; ++j) {
                    if (!any) {
                        scores[j] = 0.0f;
                    }
                    if (qk != NULL && d->qk_mode == 3) {
                        qk[j] = scores[j];
                    }
                }
                for (k = 0; k < d->v_size; ++k) {
                    y[k] = 0.0f;
                }
                for (j = 0; j < d->kv_len; ++j) {
                    const float p = scores[j];
                    const float *v = values + j * d->v_stride[2];
                    for (k = 0; k < d->v_size; ++k) {
                        y[k] += p * v[k];
                    }
                }
            }
        }
    }
}

void dlg_attention_concat_f32(size_t batch, size_t heads, size_t past_len, size_t new_len,
                              size_t size, const float *past, const float *x,
                              size_t x_stride_b, size_t x_stride_h, size_t x_stride_s,
                              float *out) {
    size_t b, h, s, k;
    for (b = 0; b < batch; ++b) {
        for (h = 0; h < heads; ++h) {
            float *o = out + (b * heads + h) * (past_len + new_len) * size;
            if (past_len > 0) {
                const float *p = past + (b * heads + h) * past_len * size;
                for (k = 0; k < past_len * size; ++k) {
                    o[k] = p[k];
                }
                o += past_len * size;
            }
            for (s = 0; s < new_len; ++s) {
                const float *src = x + b * x_stride_b + h * x_stride_h + s * x_stride_s;
                for (k = 0; k < size; ++k) {
                    o[s * size + k] = src[k];
                }
            }
        }
    }
}

/* Rotate one head vector x into y (which may be x itself). */
static void rotate_head(const float *x, float *y, size_t head_size, size_t rot_dim,
                        int interleaved, const float *cos_row, const float *sin_row) {
    const size_t half = rot_dim / 2;
    size_t k;
    for (k = 0; k < half; ++k) {
        const size_t i1 = interleaved ? 2 * k : k;
        const size_t i2 = interleaved ? 2 * k + 1 : k + half;
        const float x1 = x[i1], x2 = x[i2];
        y[i1] = cos_row[k] * x1 - sin_row[k] * x2;
        y[i2] = sin_row[k] * x1 + cos_row[k] * x2;
    }
    for (k = rot_dim; k < head_size; ++k) {
        y[k] = x[k];
    }
}

void dlg_rotary_embedding_f32(size_t batch, size_t heads, size_t seq, size_t head_size,
                              size_t rot_dim, int interleaved, size_t stride_b, size_t stride_h,
                              size_t stride_s, const float *X, const float *cos_cache,
                              const float *sin_cache, size_t cache_rows,
                              const int64_t *position_ids, float *Y) {
    const size_t half = rot_dim / 2;
    size_t b, s, h;
    for (b = 0; b < batch; ++b) {
        for (s = 0; s < seq; ++s) {
            const int64_t row = position_ids != NULL ? position_ids[b * seq + s]
                                                     : (int64_t)(b * seq + s);
            const int in_range = row >= 0 && (uint64_t)row < (uint64_t)cache_rows;
            for (h = 0; h < heads; ++h) {
                const size_t at = b * stride_b + h * stride_h + s * stride_s;
                if (in_range) {
                    rotate_head(X + at, Y + at, head_size, rot_dim, interleaved,
                                cos_cache + (size_t)row * half, sin_cache + (size_t)row * half);
                } else {
                    rotate_head(X + at, Y + at, head_size, 0, interleaved, NULL, NULL);
                }
            }
        }
    }
}

void dlg_attention_widen(size_t n, int bf16, const uint16_t *bits, float *y) {
    size_t i;
    for (i = 0; i < n; ++i) {
        y[i] = bf16 ? dlg_bf16_to_f32(bits[i]) : dlg_f16_to_f32(bits[i]);
    }
}

void dlg_attention_narrow(size_t n, int bf16, const float *x, uint16_t *bits) {
    size_t i;
    for (i = 0; i < n; ++i) {
        bits[i] = bf16 ? dlg_f32_to_bf16(x[i]) : dlg_f32_to_f16(x[i]);
    }
}
