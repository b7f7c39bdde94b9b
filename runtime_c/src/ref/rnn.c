/* Reference RNN, LSTM and GRU kernels (see dlgen/rnn.h for the layouts and equations).
 *
 * Each direction runs each batch entry through its sequence on its own, so the state in
 * scratch is one entry's [H] vectors. Per step, the gate pre-activations are matrix-vector
 * products with the row-major weights: the innermost loops walk a weight row and the input
 * (or hidden) vector, both contiguous; or, when dlgen passes the recurrent weights transposed
 * (RT, with the fast kernels), a sum of weight rows scaled by the hidden values, which runs
 * across all gates at once. Activations are applied to a whole gate vector at a time
 * (dlg_act_inplace), which compilers vectorize. */
#include <string.h>

#include "dlgen/rnn.h"

/* Sizes and layout shared by both cells: where a (time, direction, batch) row lives. */
typedef struct {
    size_t seq_len, batch, input_size, hidden, dirs;
    int layout;
} rnn_geom;

/* One activation function of a direction, with its (alpha, beta) parameters. */
typedef struct {
    int kind;
    float a, b;
} rnn_act;

static rnn_geom make_geom(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                          int direction, int layout) {
    rnn_geom g;
    g.seq_len = seq_len;
    g.batch = batch;
    g.input_size = input_size;
    g.hidden = hidden;
    g.dirs = direction == DLG_RNN_BIDIRECTIONAL ? 2u : 1u;
    g.layout = layout;
    return g;
}

/* Offset of X[t, b, :] (layout 0) or X[b, t, :] (layout 1). */
static size_t x_offset(const rnn_geom *g, size_t t, size_t b) {
    return (g->layout ? b * g->seq_len + t : t * g->batch + b) * g->input_size;
}

/* Offset of Y[t, d, b, :] (layout 0) or Y[b, t, d, :] (layout 1). */
static size_t y_offset(const rnn_geom *g, size_t t, size_t d, size_t b) {
    return (g->layout ? (b * g->seq_len + t) * g->dirs + d : (t * g->dirs + d) * g->batch + b)
           * g->hidden;
}

/* Offset of a state row: initial_h[d, b, :] (layout 0) or initial_h[b, d, :] (layout 1). */
static size_t state_offset(const rnn_geom *g, size_t d, size_t b) {
    return (g->layout ? b * g->dirs + d : d * g->batch + b) * g->hidden;
}

/* Batch entry b's sequence length, clamped to [0, seq_len]. */
static size_t entry_length(const rnn_geom *g, const int32_t *seq_lens, size_t b) {
    if (seq_lens == NULL || seq_lens[b] > (int64_t)g->seq_len) {
        return g->seq_len;
    }
    return seq_lens[b] > 0 ? (size_t)seq_lens[b] : 0u;
}

/* Direction d runs backwards for "reverse" and for the second half of "bidirectional". */
static int runs_reverse(int direction, size_t d) {
    return direction == DLG_RNN_REVERSE || d == 1;
}

static rnn_act activation(const int *kinds, const float *params, size_t index,
                          int default_kind) {
    rnn_act f;
    f.kind = kinds ? (int)kinds[index] : default_kind;
    f.a = kinds ? params[2 * index] : 0.0f;
    f.b = kinds ? params[2 * index + 1] : 0.0f;
    return f;
}

/* y[0..n) = f(y bounded to [-clip, clip]): the activation of n gate pre-activations. */
static void activate(const rnn_act *f, float *y, size_t n, float clip) {
    size_t i;
    if (clip < HUGE_VALF) {
        for (i = 0; i < n; ++i) {
            y[i] = dlg_clampf(y[i], -clip, clip);
        }
    }
    dlg_act_inplace(y, n, f->kind, f->a, f->b);
}

/* y[0..n) = b[0..n), or zeros when b is NULL. */
static void set_bias(size_t n, const float *b, float *y) {
    if (b) {
        memcpy(y, b, n * sizeof(float));
    } else {
        memset(y, 0, n * sizeof(float));
    }
}

/* y[0..n) += b[0..n) when b is not NULL. */
static void add_bias(size_t n, const float *b, float *y) {
    size_t i;
    if (b) {
        for (i = 0; i < n; ++i) {
            y[i] += b[i];
        }
    }
}

/* y[r] += M[r, :] . v for r < rows, with M row-major [rows, cols]. Eight partial sums per
 * row, so that compilers can keep them in one vector register (a single running sum is a
 * chain they may not reorder). */
static void matvec_acc(size_t rows, size_t cols, const float *M, const float *v, float *y) {
    size_t r, k, j;
    for (r = 0; r < rows; ++r) {
        const float *m = M + r * cols;
        float part[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
        float acc = 0.0f;
        for (k = 0; k + 8 <= cols; k += 8) {
            for (j = 0; j < 8; ++j) {
                part[j] += m[k + j] * v[k + j];
            }
        }
        for (; k < cols; ++k) {
            acc += m[k] * v[k];
        }
        for (j = 0; j < 8; ++j) {
            acc += part[j];
        }
        y[r] += acc;
    }
}

/* y[r] += M[r, :] . v for r < rows, reading M^T: MT [cols, ld] holds M[r, k] at MT[k * ld + r].
 * The inner loop runs over r, contiguous in MT and y, four weight rows at a time. */
static void matvec_t_acc(size_t rows, size_t cols, const float *MT, size_t ld, const float *v,
                         float *restrict y) {
    size_t k = 0, r;
    for (; k + 4 <= cols; k += 4) {
        const float *m0 = MT + k * ld, *m1 = m0 + ld, *m2 = m1 + ld, *m3 = m2 + ld;
        const float v0 = v[k], v1 = v[k + 1], v2 = v[k + 2], v3 = v[k + 3];
        for (r = 0; r < rows; ++r) {
            y[r] += v0 * m0[r] + v1 * m1[r] + v2 * m2[r] + v3 * m3[r];
        }
    }
    for (; k < cols; ++k) {
        const float *m = MT + k * ld;
        const float vk = v[k];
        for (r = 0; r < rows; ++r) {
            y[r] += vk * m[r];
        }
    }
}

/* y[r] += R[r, :] . h for r < rows (R [rows, H] row-major, rows of a recurrent weight matrix),
 * read from RT (R^T, [H, ld], column r0 for R's row 0) when it is not NULL. */
static void recurrent_acc(size_t rows, size_t H, const float *R, const float *RT, size_t ld,
                          const float *h, float *y) {
    if (RT != NULL) {
        matvec_t_acc(rows, H, RT, ld, h, y);
    } else {
        matvec_acc(rows, H, R, h, y);
    }
}

/* gates += the input projection of step t of entry b: Xt.W^T, computed here or, when XW is
 * not NULL, read from XW (all steps' projections, computed beforehand as one GEMM). */
static void input_projection(const rnn_geom *g, const float *XW, size_t rows, const float *W,
                             const float *X, size_t t, size_t b, float *gates) {
    const size_t off = x_offset(g, t, b);
    size_t k;
    if (XW == NULL) {
        matvec_acc(rows, g->input_size, W, X + off, gates);
        return;
    }
    XW += (g->layout ? b * g->seq_len + t : t * g->batch + b) * rows; /* X's row of (t, b) */
    for (k = 0; k < rows; ++k) {
        gates[k] += XW[k];
    }
}

/* The start state of one entry: init[off..off+n) or zeros. */
static void load_state(float *state, const float *init, size_t off, size_t n) {
    set_bias(n, init ? init + off : NULL, state);
}

/* Y_h / Y_c of one entry: the final state, or zeros for an empty sequence. */
static void store_state(float *out, size_t off, const float *state, size_t len, size_t n) {
    if (out == NULL) {
        return;
    }
    if (len > 0) {
        memcpy(out + off, state, n * sizeof(float));
    } else {
        memset(out + off, 0, n * sizeof(float));
    }
}

/* Zeros in Y for the steps [len, seq_len) of entry b in direction d (past its length). */
static void zero_tail(const rnn_geom *g, float *Y, size_t d, size_t b, size_t len) {
    size_t t;
    if (Y == NULL) {
        return;
    }
    for (t = len; t < g->seq_len; ++t) {
        memset(Y + y_offset(g, t, d, b), 0, g->hidden * sizeof(float));
    }
}

/* ---- LSTM ------------------------------------------------------------------------------- */

/* One direction's weights and activations. */
typedef struct {
    const float *W, *R, *B, *P;  /* [4H, I], [4H, H], [8H] or NULL, [3H] or NULL */
    const float *RT;             /* R^T [H, 4H] or NULL */
    const float *XW;             /* precomputed X.W^T [steps * batch, 4H] or NULL */
    rnn_act f, g, h;
    float clip;
    int input_forget;
} lstm_dir;

/* One LSTM step of entry b at time t: updates h[H] and c[H] in place; gates holds [4H]. */
static void lstm_step(const lstm_dir *p, const rnn_geom *g, const float *X, size_t t,
                      size_t b, float *h, float *c, float *gates) {
    const size_t H = g->hidden;
    float *gi = gates, *go = gates + H, *gf = gates + 2 * H, *gc = gates + 3 * H;
    size_t k;
    set_bias(4 * H, p->B, gates);
    add_bias(4 * H, p->B ? p->B + 4 * H : NULL, gates);
    input_projection(g, p->XW, 4 * H, p->W, X, t, b, gates);
    recurrent_acc(4 * H, H, p->R, p->RT, 4 * H, h, gates);
    if (p->P) {
        for (k = 0; k < H; ++k) {
            gi[k] += p->P[k] * c[k];
            gf[k] += p->P[2 * H + k] * c[k];
        }
        activate(&p->f, gi, H, p->clip);
        activate(&p->f, gf, H, p->clip);
    } else {
        activate(&p->f, gi, 3 * H, p->clip); /* i, o and f: o needs no peephole on Ct */
    }
    activate(&p->g, gc, H, p->clip);
    for (k = 0; k < H; ++k) {
        const float f = p->input_forget ? 1.0f - gi[k] : gf[k];
        c[k] = f * c[k] + gi[k] * gc[k];
    }
    if (p->P) {
        for (k = 0; k < H; ++k) {
            go[k] += p->P[H + k] * c[k];
        }
        activate(&p->f, go, H, p->clip);
    }
    memcpy(gc, c, H * sizeof(float)); /* h(Ct), in the c gate's place */
    activate(&p->h, gc, H, HUGE_VALF);
    for (k = 0; k < H; ++k) {
        h[k] = go[k] * gc[k];
    }
}

void dlg_lstm_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                  int direction, int layout,
                  const float *X, const float *W, const float *R, const float *B,
                  const int32_t *seq_lens, const float *init_h, const float *init_c,
                  const float *P, const int *act_kind, const float *act_params,
                  float clip, int input_forget, const float *XW, const float *RT,
                  float *Y, float *Y_h, float *Y_c, float *scratch) {
    const rnn_geom geom = make_geom(seq_len, batch, input_size, hidden, direction, layout);
    float *h = scratch, *c = scratch + hidden, *gates = scratch + 2 * hidden;
    size_t d, b, step;
    for (d = 0; d < geom.dirs; ++d) {
        const int reverse = runs_reverse(direction, d);
        lstm_dir p;
        p.W = W + d * 4 * hidden * input_size;
        p.R = R + d * 4 * hidden * hidden;
        p.RT = RT ? RT + d * 4 * hidden * hidden : NULL;
        p.B = B ? B + d * 8 * hidden : NULL;
        p.P = P ? P + d * 3 * hidden : NULL;
        p.XW = XW ? XW + d * seq_len * batch * 4 * hidden : NULL;
        p.f = activation(act_kind, act_params, 3 * d, DLG_ACT_SIGMOID);
        p.g = activation(act_kind, act_params, 3 * d + 1, DLG_ACT_TANH);
        p.h = activation(act_kind, act_params, 3 * d + 2, DLG_ACT_TANH);
        p.clip = clip;
        p.input_forget = input_forget;
        for (b = 0; b < batch; ++b) {
            const size_t len = entry_length(&geom, seq_lens, b);
            const size_t s_off = state_offset(&geom, d, b);
            load_state(h, init_h, s_off, hidden);
            load_state(c, init_c, s_off, hidden);
            for (step = 0; step < len; ++step) {
                const size_t t = reverse ? len - 1 - step : step;
                lstm_step(&p, &geom, X, t, b, h, c, gates);
                if (Y) {
                    memcpy(Y + y_offset(&geom, t, d, b), h, hidden * sizeof(float));
                }
            }
            zero_tail(&geom, Y, d, b, len);
            store_state(Y_h, s_off, h, len, hidden);
            store_state(Y_c, s_off, c, len, hidden);
        }
    }
}

/* ---- GRU -------------------------------------------------------------------------------- */

/* One direction's weights and activations. */
typedef struct {
    const float *W, *R, *B;  /* [3H, I], [3H, H], [6H] or NULL */
    const float *RT;         /* R^T [H, 3H] or NULL */
    const float *XW;         /* precomputed X.W^T [steps * batch, 3H] or NULL */
    rnn_act f, g;
    float clip;
    int linear_before_reset;
} gru_dir;

/* One GRU step of entry b at time t: updates h[H] in place; gates holds [3H], tmp [H]. */
static void gru_step(const gru_dir *p, const rnn_geom *g, const float *X, size_t t, size_t b,
                     float *h, float *gates, float *tmp) {
    const size_t H = g->hidden;
    const float *Rb = p->B ? p->B + 3 * H : NULL;
    const float *Rh = p->R + 2 * H * H, *Rbh = Rb ? Rb + 2 * H : NULL;
    const float *RTh = p->RT ? p->RT + 2 * H : NULL; /* Rh^T: columns [2H, 3H) of RT */
    float *gz = gates, *gr = gates + H, *gh = gates + 2 * H;
    size_t k;
    /* z, r and the input half of h: Xt.W^T + Wb; then the recurrent half of z and r. */
    set_bias(3 * H, p->B, gates);
    input_projection(g, p->XW, 3 * H, p->W, X, t, b, gates);
    add_bias(2 * H, Rb, gates);
    recurrent_acc(2 * H, H, p->R, p->RT, 3 * H, h, gates);
    activate(&p->f, gz, 2 * H, p->clip); /* z and r */
    if (p->linear_before_reset) {
        /* gh += r * (Ht-1.Rh^T + Rbh) */
        set_bias(H, Rbh, tmp);
        recurrent_acc(H, H, Rh, RTh, 3 * H, h, tmp);
        for (k = 0; k < H; ++k) {
            gh[k] += gr[k] * tmp[k];
        }
    } else {
        /* gh += (r * Ht-1).Rh^T + Rbh */
        for (k = 0; k < H; ++k) {
            tmp[k] = gr[k] * h[k];
        }
        add_bias(H, Rbh, gh);
        recurrent_acc(H, H, Rh, RTh, 3 * H, tmp, gh);
    }
    activate(&p->g, gh, H, p->clip);
    for (k = 0; k < H; ++k) {
        h[k] = (1.0f - gz[k]) * gh[k] + gz[k] * h[k];
    }
}

void dlg_gru_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                 int direction, int layout,
                 const float *X, const float *W, const float *R, const float *B,
                 const int32_t *seq_lens, const float *init_h,
                 const int *act_kind, const float *act_params,
                 float clip, int linear_before_reset, const float *XW, const float *RT,
                 float *Y, float *Y_h, float *scratch) {
    const rnn_geom geom = make_geom(seq_len, batch, input_size, hidden, direction, layout);
    float *h = scratch, *gates = scratch + hidden, *tmp = scratch + 4 * hidden;
    size_t d, b, step;
    for (d = 0; d < geom.dirs; ++d) {
        const int reverse = runs_reverse(direction, d);
        gru_dir p;
        p.W = W + d * 3 * hidden * input_size;
        p.R = R + d * 3 * hidden * hidden;
        p.RT = RT ? RT + d * 3 * hidden * hidden : NULL;
        p.B = B ? B + d * 6 * hidden : NULL;
        p.XW = XW ? XW + d * seq_len * batch * 3 * hidden : NULL;
        p.f = activation(act_kind, act_params, 2 * d, DLG_ACT_SIGMOID);
        p.g = activation(act_kind, act_params, 2 * d + 1, DLG_ACT_TANH);
        p.clip = clip;
        p.linear_before_reset = linear_before_reset;
        for (b = 0; b < batch; ++b) {
            const size_t len = entry_length(&geom, seq_lens, b);
            const size_t s_off = state_offset(&geom, d, b);
            load_state(h, init_h, s_off, hidden);
            for (step = 0; step < len; ++step) {
                const size_t t = reverse ? len - 1 - step : step;
                gru_step(&p, &geom, X, t, b, h, gates, tmp);
                if (Y) {
                    memcpy(Y + y_offset(&geom, t, d, b), h, hidden * sizeof(float));
                }
            }
            zero_tail(&geom, Y, d, b, len);
            store_state(Y_h, s_off, h, len, hidden);
        }
    }
}

/* One simple RNN step: h = f(x.W^T + h.R^T + Wb + Rb); pre is [H] scratch; RT is R^T
 * [H, H] or NULL. */
static void rnn_step(const float *W, const float *R, const float *RT, const float *B,
                     const rnn_act *f, float clip, size_t input_size, size_t hidden,
                     const float *x, float *h, float *pre) {
    set_bias(hidden, B, pre);
    add_bias(hidden, B ? B + hidden : NULL, pre);
    matvec_acc(hidden, input_size, W, x, pre);
    recurrent_acc(hidden, hidden, R, RT, hidden, h, pre);
    activate(f, pre, hidden, clip);
    memcpy(h, pre, hidden * sizeof(float));
}

void dlg_rnn_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                 int direction, int layout,
                 const float *X, const float *W, const float *R, const float *B,
                 const int32_t *seq_lens, const float *init_h,
                 const int *act_kind, const float *act_params, float clip, const float *RT,
                 float *Y, float *Y_h, float *scratch) {
    const rnn_geom geom = make_geom(seq_len, batch, input_size, hidden, direction, layout);
    float *h = scratch, *pre = scratch + hidden;
    size_t d, b, step;
    for (d = 0; d < geom.dirs; ++d) {
        const int reverse = runs_reverse(direction, d);
        const float *W_d = W + d * hidden * input_size;
        const float *R_d = R + d * hidden * hidden;
        const float *RT_d = RT ? RT + d * hidden * hidden : NULL;
        const float *B_d = B ? B + d * 2 * hidden : NULL;
        const rnn_act f = activation(act_kind, act_params, d, DLG_ACT_TANH);
        for (b = 0; b < batch; ++b) {
            const size_t len = entry_length(&geom, seq_lens, b);
            const size_t s_off = state_offset(&geom, d, b);
            load_state(h, init_h, s_off, hidden);
            for (step = 0; step < len; ++step) {
                const size_t t = reverse ? len - 1 - step : step;
                rnn_step(W_d, R_d, RT_d, B_d, &f, clip, input_size, hidden,
                         X + x_offset(&geom, t, b), h, pre);
                if (Y) {
                    memcpy(Y + y_offset(&geom, t, d, b), h, hidden * sizeof(float));
                }
            }
            zero_tail(&geom, Y, d, b, len);
            store_state(Y_h, s_off, h, len, hidden);
        }
    }
}
