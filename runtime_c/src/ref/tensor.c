/* Reference data movement kernels. Every output is written once, in order; inputs are read
 * in runs that are as long as the layout allows (memcpy where a run is contiguous). */
#include <string.h>

#include "dlgen/tensor.h"

/* Copy n elements of `size` bytes to contiguous dst, reading src every src_step bytes.
 * copy_run calls it with a literal size, so each memcpy becomes one load and one store. */
static inline void copy_fixed(unsigned char *dst, const unsigned char *src, size_t n,
                              ptrdiff_t src_step, size_t size) {
    size_t i;
    for (i = 0; i < n; ++i) {
        memcpy(dst + i * size, src + (ptrdiff_t)i * src_step, size);
    }
}

/* Copy a run of n elements read every src_step bytes (0 repeats one element). */
static void copy_run(unsigned char *dst, const unsigned char *src, size_t n, ptrdiff_t src_step,
                     size_t elem_size) {
    if (src_step == (ptrdiff_t)elem_size) {
        memcpy(dst, src, n * elem_size);
        return;
    }
    switch (elem_size) {
    case 1: copy_fixed(dst, src, n, src_step, 1); break;
    case 2: copy_fixed(dst, src, n, src_step, 2); break;
    case 4: copy_fixed(dst, src, n, src_step, 4); break;
    case 8: copy_fixed(dst, src, n, src_step, 8); break;
    default: copy_fixed(dst, src, n, src_step, elem_size); break;
    }
}

void dlg_strided_copy(void *Y, const void *X, size_t elem_size, size_t rank,
                      const int64_t *dims, const int64_t *x_strides, int64_t x_offset) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    const size_t last = rank - 1;
    const size_t run = (size_t)dims[last];
    const ptrdiff_t step = (ptrdiff_t)(x_strides[last] * (int64_t)elem_size);
    const size_t rows = dlg_dims_product(dims, last);
    int64_t index[DLG_TENSOR_MAX_RANK] = {0};
    int64_t offset = x_offset;
    size_t r;
    for (r = 0; r < rows; ++r) {
        copy_run(y, x + (ptrdiff_t)(offset * (int64_t)elem_size), run, step, elem_size);
        y += run * elem_size;
        offset = dlg_index_advance(index, dims, x_strides, last, offset);
    }
}

void dlg_copy_rows(void *Y, size_t y_offset, size_t y_stride, const void *X, size_t x_offset,
                   size_t x_stride, size_t row_bytes, size_t rows) {
    unsigned char *y = (unsigned char *)Y + y_offset;
    const unsigned char *x = (const unsigned char *)X + x_offset;
    size_t r;
    for (r = 0; r < rows; ++r) {
        memcpy(y + r * y_stride, x + r * x_stride, row_bytes);
    }
}

void dlg_fill(void *Y, const void *value, size_t elem_size, size_t n) {
    copy_run((unsigned char *)Y, (const unsigned char *)value, n, 0, elem_size);
}

/* One gathered slice: a negative index counts from the end; out of range gives zeros. */
static void gather_one(unsigned char *y, const unsigned char *x, int64_t index, size_t axis_dim,
                       size_t inner_bytes) {
    if (index < 0) {
        index += (int64_t)axis_dim;
    }
    if (index < 0 || index >= (int64_t)axis_dim) {
        memset(y, 0, inner_bytes);
    } else {
        memcpy(y, x + (size_t)index * inner_bytes, inner_bytes);
    }
}

/* Gather over indices of either type: exactly one of i64 and i32 is not NULL. */
static void gather(void *Y, const void *X, const int64_t *i64, const int32_t *i32,
                   size_t n_indices, size_t outer, size_t axis_dim, size_t inner_bytes) {
    unsigned char *y = (unsigned char *)Y;
    size_t o, j;
    for (o = 0; o < outer; ++o) {
        const unsigned char *x = (const unsigned char *)X + o * axis_dim * inner_bytes;
        for (j = 0; j < n_indices; ++j) {
            gather_one(y, x, i64 != NULL ? i64[j] : (int64_t)i32[j], axis_dim, inner_bytes);
            y += inner_bytes;
        }
    }
}

void dlg_gather_i64(void *Y, const void *X, const int64_t *indices, size_t n_indices,
                    size_t outer, size_t axis_dim, size_t inner_bytes) {
    gather(Y, X, indices, NULL, n_indices, outer, axis_dim, inner_bytes);
}

void dlg_gather_i32(void *Y, const void *X, const int32_t *indices, size_t n_indices,
                    size_t outer, size_t axis_dim, size_t inner_bytes) {
    gather(Y, X, NULL, indices, n_indices, outer, axis_dim, inner_bytes);
}

/* One output row of Pad: y_dim elements along the last dim, each read through `map` from the
 * X row at x_row (in scalars), or the pad value; runs of consecutive X indices are one memcpy. */
static void pad_row(unsigned char *y, const unsigned char *x, size_t x_row, const int64_t *map,
                    size_t y_dim, const void *value, size_t scalar_size, size_t block) {
    const size_t elem = scalar_size * block;
    size_t j = 0;
    while (j < y_dim) {
        const int64_t m = map[j];
        size_t len = 1;
        if (m < 0) {
            dlg_fill(y, value, scalar_size, block);
        } else {
            while (j + len < y_dim && map[j + len] == m + (int64_t)len) {
                ++len;
            }
            memcpy(y, x + (x_row + (size_t)m * block) * scalar_size, len * elem);
        }
        y += len * elem;
        j += len;
    }
}

void dlg_pad(void *Y, const void *X, const void *value, size_t scalar_size, size_t block,
             size_t rank, const int64_t *y_dims, const int64_t *x_strides, const int64_t *maps) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    const size_t last = rank - 1;
    const size_t rows = dlg_dims_product(y_dims, last);
    const size_t row_elems = (size_t)y_dims[last];
    const int64_t *last_map = maps;
    int64_t index[DLG_TENSOR_MAX_RANK] = {0};
    size_t r, d;
    for (d = 0; d < last; ++d) {
        last_map += y_dims[d];
    }
    for (r = 0; r < rows; ++r) {
        /* Where this row comes from in X, or whether it lies in the padding. */
        const int64_t *map = maps;
        size_t x_row = 0;
        int padded = 0;
        for (d = 0; d < last; ++d) {
            const int64_t m = map[index[d]];
            if (m < 0) {
                padded = 1;
            } else {
                x_row += (size_t)(m * x_strides[d]);
            }
            map += y_dims[d];
        }
        if (padded) {
            dlg_fill(y, value, scalar_size, row_elems * block);
        } else {
            pad_row(y, x, x_row, last_map, row_elems, value, scalar_size, block);
        }
        y += row_elems * block * scalar_size;
        dlg_index_advance(index, y_dims, NULL, last, 0);
    }
}
