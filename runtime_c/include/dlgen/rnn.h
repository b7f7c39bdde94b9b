/* Recurrent layers (ONNX RNN, LSTM and GRU), float32.
 *
 * Shapes use the ONNX names: S = seq_len, N = batch, I = input_size, H = hidden,
 * D = number of directions (2 for DLG_RNN_BIDIRECTIONAL, else 1).
 *
 * layout 0 (ONNX default):          layout 1 (batch first):
 *   X         [S, N, I]                 X         [N, S, I]
 *   Y         [S, D, N, H]              Y         [N, S, D, H]
 *   states    [D, N, H]                 states    [N, D, H]
 * "states" are initial_h, initial_c, Y_h and Y_c.
 *
 * Weights never depend on the layout (gate order as in ONNX: LSTM i,o,f,c; GRU z,r,h):
 *   RNN:  W [D, H, I],  R [D, H, H],  B [D, 2H] (Wb then Rb)
 *   LSTM: W [D, 4H, I], R [D, 4H, H], B [D, 8H] (Wb then Rb), P [D, 3H] (peepholes i,o,f)
 *   GRU:  W [D, 3H, I], R [D, 3H, H], B [D, 6H] (Wb then Rb)
 *
 * Optional inputs (B, seq_lens, init_h, init_c, P) may be NULL: zeros, or full-length
 * sequences for seq_lens. Any output (Y, Y_h, Y_c) may be NULL when it is not wanted.
 *
 * seq_lens [N] gives each batch entry's length (clamped to [0, S]). Steps at or past an
 * entry's length leave its state alone and write zeros to Y; a reverse direction starts at
 * step len-1. Y_h / Y_c hold the state after the entry's last step (zeros when len is 0).
 *
 * Activations: act_kind lists dlg_act_kind values per direction, forward direction first
 * (RNN f: [D]; LSTM f,g,h: [D*3]; GRU f,g: [D*2]); act_params holds an (alpha, beta) pair for
 * each of them. act_kind NULL means the ONNX defaults (RNN Tanh; LSTM Sigmoid,Tanh,Tanh; GRU
 * Sigmoid,Tanh),
 * and act_params may then be NULL too.
 *
 * clip bounds every gate pre-activation to [-clip, clip]; pass HUGE_VALF for no clip.
 *
 * RT is NULL, or R with each direction's matrix transposed: [D, H, G*H] with
 * RT[d, k, r] = R[d, r, k] (G = 1, 4 or 3 gates), which dlgen passes with the fast kernels: the
 * recurrent products then run across all gates at once with unit stride. R must still be
 * given. Sigmoid and Tanh are dlg_sigmoid_approx and dlg_tanh_approx (dlgen/runtime.h).
 */
#ifndef DLGEN_RNN_H
#define DLGEN_RNN_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ONNX `direction` attribute. */
typedef enum {
    DLG_RNN_FORWARD = 0,
    DLG_RNN_REVERSE,
    DLG_RNN_BIDIRECTIONAL
} dlg_rnn_direction;

/* Scratch floats each kernel needs (one batch entry's state and gates at a time). */
#define DLG_RNN_SCRATCH(hidden) (2u * (size_t)(hidden))
#define DLG_LSTM_SCRATCH(hidden) (6u * (size_t)(hidden))
#define DLG_GRU_SCRATCH(hidden) (5u * (size_t)(hidden))

/* Simple (Elman) RNN:  Ht = f(Xt.W^T + Ht-1.R^T + Wb + Rb)
 * scratch holds DLG_RNN_SCRATCH(hidden) floats. */
void dlg_rnn_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                 int direction, int layout,
                 const float *X, const float *W, const float *R, const float *B,
                 const int32_t *seq_lens, const float *init_h,
                 const int *act_kind, const float *act_params, float clip, const float *RT,
                 float *Y, float *Y_h, float *scratch);

/* LSTM, with Wi = W[d] rows [0,H) and so on (i,o,f,c), "." a matrix product, "*" elementwise:
 *       i = f(Xt.Wi^T + Ht-1.Ri^T + Pi*Ct-1 + Wbi + Rbi)
 *       f = f(Xt.Wf^T + Ht-1.Rf^T + Pf*Ct-1 + Wbf + Rbf)   (1 - i when input_forget != 0)
 *       c = g(Xt.Wc^T + Ht-1.Rc^T + Wbc + Rbc)
 *       Ct = f*Ct-1 + i*c
 *       o = f(Xt.Wo^T + Ht-1.Ro^T + Po*Ct + Wbo + Rbo)
 *       Ht = o*h(Ct)             (clip applies to the gates' inputs, not to Ct)
 * XW is NULL, or Xt.W^T of every step and direction computed beforehand (one GEMM per
 * direction, which is how dlgen emits it with the fast kernels): [dirs, seq_len * batch, 4H],
 * its rows in X's row order (layout 0: t * batch + b; layout 1: b * seq_len + t).
 * scratch holds DLG_LSTM_SCRATCH(hidden) floats. */
void dlg_lstm_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                  int direction, int layout,
                  const float *X, const float *W, const float *R, const float *B,
                  const int32_t *seq_lens, const float *init_h, const float *init_c,
                  const float *P, const int *act_kind, const float *act_params,
                  float clip, int input_forget, const float *XW, const float *RT,
                  float *Y, float *Y_h, float *Y_c, float *scratch);

/* GRU, gates z,r,h in that order in W, R and B:
 *      z = f(Xt.Wz^T + Ht-1.Rz^T + Wbz + Rbz)
 *      r = f(Xt.Wr^T + Ht-1.Rr^T + Wbr + Rbr)
 *      h = g(Xt.Wh^T + (r*Ht-1).Rh^T + Rbh + Wbh)       linear_before_reset == 0
 *      h = g(Xt.Wh^T + r*(Ht-1.Rh^T + Rbh) + Wbh)       linear_before_reset != 0
 *      Ht = (1 - z)*h + z*Ht-1
 * XW is NULL or the precomputed input projections, as for LSTM with 3H columns.
 * scratch holds DLG_GRU_SCRATCH(hidden) floats. */
void dlg_gru_f32(size_t seq_len, size_t batch, size_t input_size, size_t hidden,
                 int direction, int layout,
                 const float *X, const float *W, const float *R, const float *B,
                 const int32_t *seq_lens, const float *init_h,
                 const int *act_kind, const float *act_params,
                 float clip, int linear_before_reset, const float *XW, const float *RT,
                 float *Y, float *Y_h, float *scratch);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_RNN_H */
