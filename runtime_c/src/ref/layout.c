/* Reference layout kernels. */
#include <string.h>

#include "dlgen/layout.h"

#define COL2IM_MAX_SPATIAL 8

void dlg_trilu(void *Y, const void *X, size_t elem_size, size_t batch, size_t rows,
               size_t cols, int64_t k, int upper) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    const size_t row_bytes = cols * elem_size;
    size_t r, i;
    for (r = 0; r < batch * rows; ++r) {
        /* Columns [lo, hi) of this row are kept. */
        const int64_t diag = (int64_t)(r % rows) + k;
        int64_t lo = upper ? diag : 0;
        int64_t hi = upper ? (int64_t)cols : diag + 1;
        lo = lo < 0 ? 0 : (lo > (int64_t)cols ? (int64_t)cols : lo);
        hi = hi < lo ? lo : (hi > (int64_t)cols ? (int64_t)cols : hi);
        i = r * row_bytes;
        memset(y + i, 0, (size_t)lo * elem_size);
        memcpy(y + i + (size_t)lo * elem_size, x + i + (size_t)lo * elem_size,
               (size_t)(hi - lo) * elem_size);
        memset(y + i + (size_t)hi * elem_size, 0, (cols - (size_t)hi) * elem_size);
    }
}

void dlg_reverse_sequence(void *Y, const void *X, const int64_t *seq_lens, size_t batch,
                          size_t time, size_t batch_stride, size_t time_stride,
                          size_t inner_bytes) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    size_t b, t;
    for (b = 0; b < batch; ++b) {
        int64_t len = seq_lens[b];
        len = len < 0 ? 0 : (len > (int64_t)time ? (int64_t)time : len);
        for (t = 0; t < time; ++t) {
            const size_t src = (int64_t)t < len ? (size_t)len - 1 - t : t;
            memcpy(y + b * batch_stride + t * time_stride,
                   x + b * batch_stride + src * time_stride, inner_bytes);
        }
    }
}

/* Wrap a raw index into [0, depth), or -1 when it is out of range. */
static int64_t onehot_wrap(int64_t index, size_t depth) {
    if (index < 0) {
        index += (int64_t)depth;
    }
    return (index < 0 || index >= (int64_t)depth) ? -1 : index;
}

/* Y[d * inner] for d in [0, depth): values[1] at d == hot, values[0] elsewhere. */
static void onehot_one(unsigned char *y, int64_t hot, const unsigned char *values,
                       size_t elem_size, size_t depth, size_t inner) {
    size_t d;
    for (d = 0; d < depth; ++d) {
        const size_t which = (int64_t)d == hot ? elem_size : 0;
        memcpy(y + d * inner * elem_size, values + which, elem_size);
    }
}

/* The index at k of whichever of i64, i32 and f32 is not NULL; a NaN or huge float index
 * gives INT64_MIN, which matches no position. */
static int64_t onehot_index(const int64_t *i64, const int32_t *i32, const float *f32,
                            size_t k) {
    if (i64 != NULL) {
        return i64[k];
    }
    if (i32 != NULL) {
        return (int64_t)i32[k];
    }
    return (f32[k] == f32[k] && fabsf(f32[k]) < 1e18f) ? (int64_t)f32[k] : INT64_MIN;
}

/* OneHot over indices of one of three types (see onehot_index). */
static void onehot(void *Y, const int64_t *i64, const int32_t *i32, const float *f32,
                   const void *values, size_t elem_size, size_t outer, size_t depth,
                   size_t inner) {
    size_t o, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < inner; ++i) {
            onehot_one((unsigned char *)Y + (o * depth * inner + i) * elem_size,
                       onehot_wrap(onehot_index(i64, i32, f32, o * inner + i), depth),
                       (const unsigned char *)values, elem_size, depth, inner);
        }
    }
}

void dlg_onehot_i64(void *Y, const int64_t *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner) {
    onehot(Y, indices, NULL, NULL, values, elem_size, outer, depth, inner);
}

void dlg_onehot_i32(void *Y, const int32_t *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner) {
    onehot(Y, NULL, indices, NULL, values, elem_size, outer, depth, inner);
}

void dlg_onehot_f32(void *Y, const float *indices, const void *values, size_t elem_size,
                    size_t outer, size_t depth, size_t inner) {
    onehot(Y, NULL, NULL, indices, values, elem_size, outer, depth, inner);
}

/* Col2Im for one plane: add every column of every block offset into the image. */
static void col2im_plane(float *y, const float *x, size_t spatial, const int64_t *params) {
    const int64_t *image = params, *block = params + spatial, *grid = params + 2 * spatial;
    const int64_t *strides = params + 3 * spatial, *pads = params + 4 * spatial;
    const int64_t *dilations = params + 5 * spatial;
    int64_t k[COL2IM_MAX_SPATIAL] = {0}, g[COL2IM_MAX_SPATIAL];
    size_t n_block = 1, n_grid = 1, b, l, d;
    for (d = 0; d < spatial; ++d) {
        n_block *= (size_t)block[d];
        n_grid *= (size_t)grid[d];
    }
    for (b = 0; b < n_block; ++b) {
        memset(g, 0, sizeof g);
        for (l = 0; l < n_grid; ++l) {
            /* Image position of this column and block offset, if inside. */
            int64_t offset = 0;
            int inside = 1;
            for (d = 0; d < spatial; ++d) {
                const int64_t p = g[d] * strides[d] - pads[d] + k[d] * dilations[d];
                inside &= p >= 0 && p < image[d];
                offset = offset * image[d] + p;
            }
            if (inside) {
                y[offset] += x[b * n_grid + l];
            }
            for (d = spatial; d-- > 0;) {
                if (++g[d] < grid[d]) {
                    break;
                }
                g[d] = 0;
            }
        }
        for (d = spatial; d-- > 0;) {
            if (++k[d] < block[d]) {
                break;
            }
            k[d] = 0;
        }
    }
}

void dlg_col2im_f32(float *Y, const float *X, size_t planes, size_t spatial,
                    const int64_t *params) {
    size_t image_size = 1, column_size = 1, p, d;
    for (d = 0; d < spatial; ++d) {
        image_size *= (size_t)params[d];
        column_size *= (size_t)(params[spatial + d] * params[2 * spatial + d]);
    }
    memset(Y, 0, planes * image_size * sizeof(float));
    for (p = 0; p < planes; ++p) {
        col2im_plane(Y + p * image_size, X + p * column_size, spatial, params);
    }
}
