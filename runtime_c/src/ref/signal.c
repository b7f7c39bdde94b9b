/* Reference DFT and STFT: a direct sum per output bin in double precision. The twiddle table
 * comes from the compiler, so the kernels never call sin/cos. */
#include "dlgen/signal.h"

/* Sample n of one transform (stride apart in X), as a complex number; zero past the data.
 * With hermitian, bins above n_fft / 2 mirror the stored one-sided half, conjugated. */
static void dft_sample(const float *x, size_t stride, size_t x_len, size_t x_cplx,
                       size_t n, size_t n_fft, int hermitian, double *re, double *im) {
    size_t idx = n;
    double sign = 1.0;
    *re = 0.0;
    *im = 0.0;
    if (hermitian && n > n_fft / 2) {
        idx = n_fft - n;
        sign = -1.0;
    }
    if (idx >= x_len) {
        return;
    }
    *re = (double)x[idx * stride];
    if (x_cplx == 2) {
        *im = sign * (double)x[idx * stride + 1];
    }
}

void dlg_dft_f32(size_t outer, size_t inner, const float *X, size_t x_len, size_t x_cplx,
                 float *Y, size_t y_len, size_t y_cplx, size_t n_fft, const double *twiddle,
                 int inverse, int hermitian) {
    const size_t x_stride = inner * x_cplx;
    const size_t terms = hermitian ? n_fft : (x_len < n_fft ? x_len : n_fft);
    const size_t used_len = hermitian ? (x_len < n_fft / 2 + 1 ? x_len : n_fft / 2 + 1) : x_len;
    const double sign = inverse ? 1.0 : -1.0;
    const double scale = inverse ? 1.0 / (double)n_fft : 1.0;
    size_t o, j, k, n;
    for (o = 0; o < outer; ++o) {
        for (j = 0; j < inner; ++j) {
            const float *x = X + o * x_len * x_stride + j * x_cplx;
            float *y = Y + o * y_len * inner * y_cplx + j * y_cplx;
            for (k = 0; k < y_len; ++k) {
                double acc_re = 0.0, acc_im = 0.0;
                for (n = 0; n < terms; ++n) {
                    const double *w = twiddle + 2 * ((k * n) % n_fft);
                    const double c = w[0], s = sign * w[1];
                    double re, im;
                    dft_sample(x, x_stride, used_len, x_cplx, n, n_fft, hermitian, &re, &im);
                    acc_re += re * c - im * s;
                    acc_im += re * s + im * c;
                }
                y[k * inner * y_cplx] = (float)(acc_re * scale);
                if (y_cplx == 2) {
                    y[k * inner * y_cplx + 1] = (float)(acc_im * scale);
                }
            }
        }
    }
}

void dlg_stft_f32(size_t batch, size_t frames, size_t frame_step, const float *signal,
                  size_t signal_len, size_t x_cplx, const float *window, size_t frame_length,
                  float *Y, size_t bins, const double *twiddle, float *frame) {
    size_t b, f, n, c;
    for (b = 0; b < batch; ++b) {
        for (f = 0; f < frames; ++f) {
            const float *x = signal + (b * signal_len + f * frame_step) * x_cplx;
            for (n = 0; n < frame_length; ++n) {
                const float w = window != NULL ? window[n] : 1.0f;
                for (c = 0; c < x_cplx; ++c) {
                    frame[n * x_cplx + c] = x[n * x_cplx + c] * w;
                }
            }
            dlg_dft_f32(1, 1, frame, frame_length, x_cplx, Y + (b * frames + f) * bins * 2,
                        bins, 2, frame_length, twiddle, 0, 0);
        }
    }
}
