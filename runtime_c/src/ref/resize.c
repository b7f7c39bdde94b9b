/* Reference resampling kernels: Resize through precomputed tap tables, GridSample,
 * AffineGrid. */
#include <string.h>

#include "dlgen/resize.h"

/* Per-dim view of the Resize tables for one output element. */
typedef struct {
    size_t rank;
    size_t resized[DLG_RESIZE_MAX_RANK];   /* the dims with taps, in order */
    size_t n_resized;
    int64_t x_strides[DLG_RESIZE_MAX_RANK];
    const int64_t *index[DLG_RESIZE_MAX_RANK]; /* table start per resized dim */
    const float *weight[DLG_RESIZE_MAX_RANK];
} resize_plan;

/* One output element at multi-index `out`: the weighted sum over every tap combination. */
static float resize_point(const float *X, const resize_plan *p, const int64_t *taps,
                          const int64_t *out, float extrapolation) {
    const int64_t *row_index[DLG_RESIZE_MAX_RANK];
    const float *row_weight[DLG_RESIZE_MAX_RANK];
    int64_t t[DLG_RESIZE_MAX_RANK] = {0};
    int64_t base = 0;
    float acc = 0.0f;
    size_t d, j;
    for (d = 0; d < p->rank; ++d) {
        if (taps[d] == 0) {
            base += out[d] * p->x_strides[d];
        }
    }
    for (j = 0; j < p->n_resized; ++j) {
        d = p->resized[j];
        row_index[j] = p->index[j] + out[d] * taps[d];
        row_weight[j] = p->weight[j] + out[d] * taps[d];
        if (row_index[j][0] < 0) {
            return extrapolation;
        }
    }
    for (;;) {
        int64_t offset = base;
        float w = 1.0f;
        for (j = 0; j < p->n_resized; ++j) {
            offset += row_index[j][t[j]] * p->x_strides[p->resized[j]];
            w *= row_weight[j][t[j]];
        }
        acc += w * X[offset];
        /* Next tap combination, the last resized dim fastest. */
        j = p->n_resized;
        while (j-- > 0) {
            if (++t[j] < taps[p->resized[j]]) {
                break;
            }
            t[j] = 0;
        }
        if (j == (size_t)-1) {
            return acc;
        }
    }
}

void dlg_resize_f32(float *Y, const float *X, size_t rank, const int64_t *x_dims,
                    const int64_t *y_dims, const int64_t *taps, const int64_t *index,
                    const float *weight, float extrapolation) {
    resize_plan p;
    int64_t out[DLG_RESIZE_MAX_RANK] = {0};
    size_t total = 1, table = 0, i, d;
    p.rank = rank;
    p.n_resized = 0;
    for (d = rank; d-- > 0;) {
        p.x_strides[d] = (d + 1 == rank) ? 1 : p.x_strides[d + 1] * x_dims[d + 1];
    }
    for (d = 0; d < rank; ++d) {
        total *= (size_t)y_dims[d];
        if (taps[d] > 0) {
            p.resized[p.n_resized] = d;
            p.index[p.n_resized] = index + table;
            p.weight[p.n_resized] = weight + table;
            p.n_resized++;
            table += (size_t)(y_dims[d] * taps[d]);
        }
    }
    for (i = 0; i < total; ++i) {
        Y[i] = resize_point(X, &p, taps, out, extrapolation);
        for (d = rank; d-- > 0;) {
            if (++out[d] < y_dims[d]) {
                break;
            }
            out[d] = 0;
        }
    }
}

void dlg_resize_nearest(void *Y, const void *X, size_t elem_size, size_t rank,
                        const int64_t *x_dims, const int64_t *y_dims, const int64_t *taps,
                        const int64_t *index, const void *extrapolation) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    const int64_t *table[DLG_RESIZE_MAX_RANK];
    int64_t x_strides[DLG_RESIZE_MAX_RANK], out[DLG_RESIZE_MAX_RANK] = {0};
    size_t total = 1, i, d;
    for (d = rank; d-- > 0;) {
        x_strides[d] = (d + 1 == rank) ? 1 : x_strides[d + 1] * x_dims[d + 1];
    }
    for (d = 0; d < rank; ++d) {
        table[d] = index;
        index += taps[d] > 0 ? y_dims[d] : 0;
        total *= (size_t)y_dims[d];
    }
    for (i = 0; i < total; ++i) {
        int64_t offset = 0;
        int outside = 0;
        for (d = 0; d < rank; ++d) {
            const int64_t src = taps[d] > 0 ? table[d][out[d]] : out[d];
            outside |= src < 0;
            offset += src * x_strides[d];
        }
        memcpy(y + i * elem_size,
               outside ? (const unsigned char *)extrapolation : x + (size_t)offset * elem_size,
               elem_size);
        for (d = rank; d-- > 0;) {
            if (++out[d] < y_dims[d]) {
                break;
            }
            out[d] = 0;
        }
    }
}

/* -- GridSample ------------------------------------------------------------------------- */

/* Taps of one spatial dim for one sampling position: input indices (-1: reads zero) and
 * their weights. */
typedef struct {
    int64_t index[4];
    float weight[4];
    int count;
} grid_taps;

/* Reflect x into [lo, hi] by folding at the borders, as often as needed. */
static float reflect(float x, float lo, float hi) {
    const float range = hi - lo;
    float dx, r;
    long n;
    if (x >= lo && x <= hi) {
        return x;
    }
    if (range <= 0.0f) {
        return lo;
    }
    dx = x < lo ? lo - x : x - hi;
    n = (long)(dx / range);
    r = dx - (float)n * range;
    if (x < lo) {
        return n % 2 == 0 ? lo + r : hi - r;
    }
    return n % 2 == 0 ? hi - r : lo + r;
}

/* The input index an integer position reads along a dim of size `dim` (-1: zero). */
static int64_t grid_index(int64_t i, int64_t dim, dlg_grid_padding padding, float lo,
                          float hi) {
    if (i >= 0 && i < dim) {
        return i;
    }
    switch (padding) {
    case DLG_GRID_BORDER: return i < 0 ? 0 : dim - 1;
    case DLG_GRID_REFLECTION: return (int64_t)reflect((float)i, lo, hi);
    default: return -1;
    }
}

static void cubic_weights(float r, float *w) {
    const float a = -0.75f;
    const float x0 = r + 1.0f, x1 = r, x2 = 1.0f - r, x3 = 2.0f - r;
    w[0] = ((a * x0 - 5.0f * a) * x0 + 8.0f * a) * x0 - 4.0f * a;
    w[1] = ((a + 2.0f) * x1 - (a + 3.0f)) * x1 * x1 + 1.0f;
    w[2] = ((a + 2.0f) * x2 - (a + 3.0f)) * x2 * x2 + 1.0f;
    w[3] = ((a * x3 - 5.0f * a) * x3 + 8.0f * a) * x3 - 4.0f * a;
}

/* Taps along one dim of size `dim` for the normalized coordinate g. */
static void grid_dim_taps(grid_taps *t, float g, int64_t dim, dlg_grid_mode mode,
                          dlg_grid_padding padding, int align_corners) {
    const float lo = align_corners ? 0.0f : -0.5f;
    const float hi = align_corners ? (float)dim - 1.0f : (float)dim - 0.5f;
    float x = align_corners ? (g + 1.0f) / 2.0f * (float)(dim - 1)
                            : ((g + 1.0f) * (float)dim - 1.0f) / 2.0f;
    int64_t x0;
    int k;
    if (mode == DLG_GRID_NEAREST) {
        x = rintf(x); /* halfway cases to even, as PyTorch */
    }
    /* Cubic pads each tap instead (as PyTorch and ONNX Runtime do). */
    if (mode != DLG_GRID_CUBIC && (x < lo || x > hi)) {
        if (padding == DLG_GRID_BORDER) {
            x = dlg_clampf(x, 0.0f, (float)dim - 1.0f);
        } else if (padding == DLG_GRID_REFLECTION) {
            x = reflect(x, lo, hi);
        }
    }
    if (mode == DLG_GRID_NEAREST) {
        t->count = 1;
        t->index[0] = grid_index((int64_t)x, dim, padding, lo, hi);
        t->weight[0] = 1.0f;
        return;
    }
    x0 = (int64_t)floorf(x);
    if (mode == DLG_GRID_LINEAR) {
        t->count = 2;
        t->weight[0] = 1.0f - (x - (float)x0);
        t->weight[1] = x - (float)x0;
    } else {
        t->count = 4;
        cubic_weights(x - (float)x0, t->weight);
        x0 -= 1;
    }
    for (k = 0; k < t->count; ++k) {
        t->index[k] = grid_index(x0 + k, dim, padding, lo, hi);
    }
}

/* Sum over the tap combinations of every spatial dim (dim 0 outermost) for one channel. */
static float grid_point(const float *x, const grid_taps *taps, size_t spatial,
                        const int64_t *strides) {
    int t[3] = {0, 0, 0};
    float acc = 0.0f;
    size_t d;
    for (;;) {
        int64_t offset = 0;
        float w = 1.0f;
        int zero = 0;
        for (d = 0; d < spatial; ++d) {
            const int64_t i = taps[d].index[t[d]];
            zero |= i < 0;
            offset += i * strides[d];
            w *= taps[d].weight[t[d]];
        }
        if (!zero) {
            acc += w * x[offset];
        }
        d = spatial;
        while (d-- > 0) {
            if (++t[d] < taps[d].count) {
                break;
            }
            t[d] = 0;
        }
        if (d == (size_t)-1) {
            return acc;
        }
    }
}

void dlg_grid_sample_f32(float *Y, const float *X, const float *Grid, size_t n, size_t c,
                         size_t spatial, const int64_t *x_dims, size_t points,
                         dlg_grid_mode mode, dlg_grid_padding padding, int align_corners) {
    int64_t strides[3];
    size_t plane = 1, b, p, ch, d;
    for (d = spatial; d-- > 0;) {
        strides[d] = (int64_t)plane;
        plane *= (size_t)x_dims[d];
    }
    for (b = 0; b < n; ++b) {
        for (p = 0; p < points; ++p) {
            const float *g = Grid + (b * points + p) * spatial;
            grid_taps taps[3];
            for (d = 0; d < spatial; ++d) {
                /* The grid lists coordinates innermost dim first. */
                grid_dim_taps(&taps[d], g[spatial - 1 - d], x_dims[d], mode, padding,
                              align_corners);
            }
            for (ch = 0; ch < c; ++ch) {
                const float *x = X + (b * c + ch) * plane;
                Y[(b * c + ch) * points + p] = grid_point(x, taps, spatial, strides);
            }
        }
    }
}

void dlg_affine_grid_f32(float *Grid, const float *theta, const float *base, size_t n,
                         size_t points, size_t spatial) {
    const size_t homo = spatial + 1;
    size_t b, p, i, j;
    for (b = 0; b < n; ++b) {
        const float *t = theta + b * spatial * homo;
        for (p = 0; p < points; ++p) {
            float *g = Grid + (b * points + p) * spatial;
            for (i = 0; i < spatial; ++i) {
                float acc = 0.0f;
                for (j = 0; j < homo; ++j) {
                    acc += t[i * homo + j] * base[p * homo + j];
                }
                g[i] = acc;
            }
        }
    }
}
