/* Reference normalizations: one pass for the statistics (in double), one to write Y. */
#include "dlgen/norm.h"

/* ---------------------------------------------------------------- LayerNorm, RMSNorm */

void dlg_layer_norm_f32(float *Y, float *mean, float *inv_std, const float *X,
                        const float *scale, const float *bias, size_t outer, size_t n,
                        float epsilon, int rms) {
    size_t o, i;
    for (o = 0; o < outer; ++o) {
        const float *x = X + o * n;
        float *y = Y + o * n;
        double sum = 0.0, sum_sq = 0.0, mu, var;
        float m, r;
        for (i = 0; i < n; ++i) {
            sum += (double)x[i];
            sum_sq += (double)x[i] * (double)x[i];
        }
        mu = rms ? 0.0 : sum / (double)n;
        var = sum_sq / (double)n - mu * mu;
        if (var < 0.0) {
            var = 0.0; /* rounding */
        }
        m = (float)mu;
        r = (float)(1.0 / sqrt(var + (double)epsilon));
        for (i = 0; i < n; ++i) {
            const float v = (x[i] - m) * r * scale[i];
            y[i] = bias != NULL ? v + bias[i] : v;
        }
        if (mean != NULL) {
            mean[o] = m;
        }
        if (inv_std != NULL) {
            inv_std[o] = r;
        }
    }
}

/* ---------------------------------------------------------------- GroupNorm, InstanceNorm */

void dlg_group_norm_f32(float *Y, const float *X, const float *scale, const float *bias,
                        size_t batch, size_t groups, size_t group_channels, size_t spatial,
                        float epsilon) {
    const size_t block = group_channels * spatial;
    size_t b, g, c, i;
    for (b = 0; b < batch; ++b) {
        for (g = 0; g < groups; ++g) {
            const float *x = X + (b * groups + g) * block;
            float *y = Y + (b * groups + g) * block;
            double sum = 0.0, sum_sq = 0.0, mu, var;
            float m, r;
            for (i = 0; i < block; ++i) {
                sum += (double)x[i];
                sum_sq += (double)x[i] * (double)x[i];
            }
            mu = sum / (double)block;
            var = sum_sq / (double)block - mu * mu;
            m = (float)mu;
            r = (float)(1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)epsilon));
            for (c = 0; c < group_channels; ++c) {
                const size_t k = g * group_channels + c;
                const float s = scale[k] * r, t = bias[k];
                for (i = 0; i < spatial; ++i) {
                    y[c * spatial + i] = (x[c * spatial + i] - m) * s + t;
                }
            }
        }
    }
}

/* ---------------------------------------------------------------- LRN */

void dlg_lrn_f32(float *Y, const float *X, size_t batch, size_t channels, size_t spatial,
                 size_t size, float alpha, float beta, float bias) {
    const size_t before = (size - 1) / 2, after = size / 2;
    const float a = alpha / (float)size;
    size_t b, c, k, i;
    for (b = 0; b < batch; ++b) {
        const float *x = X + b * channels * spatial;
        float *y = Y + b * channels * spatial;
        for (c = 0; c < channels; ++c) {
            const size_t lo = c >= before ? c - before : 0;
            const size_t hi = c + after < channels ? c + after : channels - 1;
            float *yc = y + c * spatial;
            for (i = 0; i < spatial; ++i) {
                yc[i] = 0.0f; /* the sum of squares, first */
            }
            for (k = lo; k <= hi; ++k) {
                const float *xk = x + k * spatial;
                for (i = 0; i < spatial; ++i) {
                    yc[i] += xk[i] * xk[i];
                }
            }
            for (i = 0; i < spatial; ++i) {
                yc[i] = x[c * spatial + i] / powf(bias + a * yc[i], beta);
            }
        }
    }
}

/* ---------------------------------------------------------------- LpNormalization */

void dlg_lp_norm_f32(float *Y, const float *X, size_t outer, size_t axis_dim, size_t inner,
                     int p) {
    size_t o, a, j;
    for (o = 0; o < outer; ++o) {
        const float *x = X + o * axis_dim * inner;
        float *y = Y + o * axis_dim * inner;
        for (j = 0; j < inner; ++j) {
            double norm = 0.0;
            for (a = 0; a < axis_dim; ++a) {
                const double v = (double)x[a * inner + j];
                norm += p == 1 ? fabs(v) : v * v;
            }
            if (p != 1) {
                norm = sqrt(norm);
            }
            for (a = 0; a < axis_dim; ++a) {
                y[a * inner + j] = norm == 0.0 ? 0.0f : (float)((double)x[a * inner + j] / norm);
            }
        }
    }
}

/* ---------------------------------------------------------------- MeanVarianceNormalization */

void dlg_mvn_f32(float *Y, const float *X, size_t rank, const int64_t *dims,
                 const int64_t *y_strides, size_t stats_size, size_t count, double *stats) {
    double *mean = stats, *scale = stats + stats_size;
    int64_t index[DLG_NORM_MAX_RANK] = {0};
    const size_t total = dlg_dims_product(dims, rank);
    size_t i, s, d;
    for (s = 0; s < stats_size; ++s) {
        mean[s] = 0.0;
        scale[s] = 0.0;
    }
    for (i = 0, s = 0; i < total; ++i) {
        mean[s] += (double)X[i];
        scale[s] += (double)X[i] * (double)X[i];
        s = (size_t)dlg_index_advance(index, dims, y_strides, rank, (int64_t)s);
    }
    for (s = 0; s < stats_size; ++s) {
        const double mu = mean[s] / (double)count;
        const double var = scale[s] / (double)count - mu * mu;
        mean[s] = mu;
        scale[s] = 1.0 / (sqrt(var > 0.0 ? var : 0.0) + 1e-9);
    }
    for (d = 0; d < rank; ++d) {
        index[d] = 0;
    }
    for (i = 0, s = 0; i < total; ++i) {
        Y[i] = (float)(((double)X[i] - mean[s]) * scale[s]);
        s = (size_t)dlg_index_advance(index, dims, y_strides, rank, (int64_t)s);
    }
}

void dlg_batchnorm_f32(size_t batch, size_t channels, size_t plane, float epsilon,
                       const float *scale, const float *bias, const float *mean,
                       const float *var, const float *X, float *Y) {
    size_t n, c, i;
    for (n = 0; n < batch; ++n) {
        for (c = 0; c < channels; ++c) {
            const float s = scale[c] / sqrtf(var[c] + epsilon);
            const float shift = bias[c] - mean[c] * s;
            const float *x = X + (n * channels + c) * plane;
            float *y = Y + (n * channels + c) * plane;
            for (i = 0; i < plane; ++i) {
                y[i] = x[i] * s + shift;
            }
        }
    }
}
