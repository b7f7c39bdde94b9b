/* Signal-processing kernels: DFT (also the inverse and the one-sided real forms) and STFT,
 * float32, as a direct O(n^2) transform over a twiddle table computed at compile time. */
#ifndef DLGEN_SIGNAL_H
#define DLGEN_SIGNAL_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One DFT of length n_fft along the middle axis of X, for every outer and inner position.
 * X is [outer, x_len, inner, x_cplx]: x_cplx = 1 holds real samples, 2 holds (re, im) pairs.
 * Y is [outer, y_len, inner, y_cplx] and receives bins 0 .. y_len - 1 (y_len <= n_fft).
 * twiddle is [n_fft, 2]: (cos, sin) of 2 * pi * m / n_fft for m = 0 .. n_fft - 1.
 * Forward: Y[k] = sum_n X[n] exp(-2 pi j k n / n_fft), over n < min(x_len, n_fft) (samples
 * past x_len are zero). inverse = 1 flips the sign and divides by n_fft.
 * hermitian = 1 (IRFFT, inverse one-sided): X holds the one-sided spectrum, bins
 * 0 .. n_fft / 2; the other bins are the conjugates X[n_fft - k]; Y (y_cplx = 1) receives
 * the real part of the result. */
void dlg_dft_f32(size_t outer, size_t inner, const float *X, size_t x_len, size_t x_cplx,
                 float *Y, size_t y_len, size_t y_cplx, size_t n_fft, const double *twiddle,
                 int inverse, int hermitian);

/* Short-time Fourier transform: for each batch b and frame f, the DFT of length frame_length
 * of signal[b, f * frame_step + n] * window[n] (n < frame_length).
 * signal is [batch, signal_len, x_cplx] (x_cplx 1 = real, 2 = complex pairs); window is
 * [frame_length] or NULL (all ones); Y is [batch, frames, bins, 2] holding bins
 * 0 .. bins - 1; twiddle is [frame_length, 2] as for dlg_dft_f32; frame is a scratch buffer
 * of frame_length * x_cplx floats. */
void dlg_stft_f32(size_t batch, size_t frames, size_t frame_step, const float *signal,
                  size_t signal_len, size_t x_cplx, const float *window, size_t frame_length,
                  float *Y, size_t bins, const double *twiddle, float *frame);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_SIGNAL_H */
