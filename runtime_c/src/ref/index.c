/* Reference index kernels. */
#include <string.h>

#include "dlgen/index.h"

/* Wrap index into [0, dim), or -1 when it is out of range. */
static int64_t wrap(int64_t index, int64_t dim) {
    if (index < 0) {
        index += dim;
    }
    return (index < 0 || index >= dim) ? -1 : index;
}

/* The row-major strides of dims, and walk: the same with 0 along the indexed axis (whose
 * offset the caller adds itself), for stepping through the other axes. */
static void axis_strides(int64_t *strides, int64_t *walk, const int64_t *dims, size_t rank,
                         size_t axis) {
    size_t d;
    int64_t s = 1;
    for (d = rank; d-- > 0;) {
        strides[d] = s;
        walk[d] = d == axis ? 0 : s;
        s *= dims[d];
    }
}

void dlg_gather_elements(void *Y, const void *X, const int64_t *indices, size_t elem_size,
                         size_t rank, const int64_t *idx_dims, const int64_t *x_dims,
                         size_t axis) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *x = (const unsigned char *)X;
    int64_t strides[DLG_INDEX_MAX_RANK], walk[DLG_INDEX_MAX_RANK];
    int64_t pos[DLG_INDEX_MAX_RANK] = {0};
    const size_t count = dlg_dims_product(idx_dims, rank);
    int64_t base = 0;
    size_t n;
    axis_strides(strides, walk, x_dims, rank, axis);
    for (n = 0; n < count; ++n) {
        const int64_t i = wrap(indices[n], x_dims[axis]);
        if (i < 0) {
            memset(y + n * elem_size, 0, elem_size);
        } else {
            memcpy(y + n * elem_size, x + (size_t)(base + i * strides[axis]) * elem_size,
                   elem_size);
        }
        base = dlg_index_advance(pos, idx_dims, walk, rank, base);
    }
}

/* -- scatter reductions ------------------------------------------------------------------ */

#define COMBINE(T)                                                                          \
    do {                                                                                    \
        T *y = (T *)dst;                                                                    \
        const T u = *(const T *)src;                                                        \
        switch (reduction) {                                                                \
        case DLG_SCATTER_ADD: *y = *y + u; break;                                           \
        case DLG_SCATTER_MUL: *y = *y * u; break;                                           \
        case DLG_SCATTER_MAX: *y = *y > u ? *y : u; break;                                  \
        case DLG_SCATTER_MIN: *y = *y < u ? *y : u; break;                                  \
        default: *y = u; break;                                                             \
        }                                                                                   \
    } while (0)

/* dst = reduction(dst, src) for one element of the given type. */
static void combine(unsigned char *dst, const unsigned char *src, size_t elem_size,
                    dlg_scatter_reduction reduction, dlg_scatter_type type) {
    switch (reduction == DLG_SCATTER_NONE ? DLG_SCATTER_BYTES : type) {
    case DLG_SCATTER_F32: COMBINE(float); break;
    case DLG_SCATTER_F64: COMBINE(double); break;
    case DLG_SCATTER_I32: COMBINE(int32_t); break;
    case DLG_SCATTER_I64: COMBINE(int64_t); break;
    default: memcpy(dst, src, elem_size); break;
    }
}

void dlg_scatter_elements(void *Y, const void *updates, const int64_t *indices,
                          size_t elem_size, size_t rank, const int64_t *idx_dims,
                          const int64_t *y_dims, size_t axis, dlg_scatter_reduction reduction,
                          dlg_scatter_type type) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *u = (const unsigned char *)updates;
    int64_t strides[DLG_INDEX_MAX_RANK], walk[DLG_INDEX_MAX_RANK];
    int64_t pos[DLG_INDEX_MAX_RANK] = {0};
    const size_t count = dlg_dims_product(idx_dims, rank);
    int64_t base = 0;
    size_t n;
    axis_strides(strides, walk, y_dims, rank, axis);
    for (n = 0; n < count; ++n) {
        const int64_t i = wrap(indices[n], y_dims[axis]);
        if (i >= 0) {
            combine(y + (size_t)(base + i * strides[axis]) * elem_size, u + n * elem_size,
                    elem_size, reduction, type);
        }
        base = dlg_index_advance(pos, idx_dims, walk, rank, base);
    }
}

/* -- ND ---------------------------------------------------------------------------------- */

/* Element offset of the slice that one index tuple selects, or -1 when out of range. */
static int64_t tuple_offset(const int64_t *tuple, size_t k, const int64_t *dims,
                            size_t slice) {
    int64_t offset = 0;
    size_t j;
    for (j = 0; j < k; ++j) {
        const int64_t i = wrap(tuple[j], dims[j]);
        if (i < 0) {
            return -1;
        }
        offset = offset * dims[j] + i;
    }
    return offset * (int64_t)slice;
}

void dlg_gather_nd(void *Y, const void *X, const int64_t *indices, size_t elem_size,
                   size_t batch, size_t n_tuples, size_t k, const int64_t *dims, size_t slice) {
    unsigned char *y = (unsigned char *)Y;
    const size_t block = dlg_dims_product(dims, k) * slice; /* elements of X per batch */
    const size_t slice_bytes = slice * elem_size;
    size_t b, t;
    for (b = 0; b < batch; ++b) {
        const unsigned char *x = (const unsigned char *)X + b * block * elem_size;
        for (t = 0; t < n_tuples; ++t) {
            const int64_t offset = tuple_offset(indices + (b * n_tuples + t) * k, k, dims, slice);
            if (offset < 0) {
                memset(y, 0, slice_bytes);
            } else {
                memcpy(y, x + (size_t)offset * elem_size, slice_bytes);
            }
            y += slice_bytes;
        }
    }
}

void dlg_scatter_nd(void *Y, const void *updates, const int64_t *indices, size_t elem_size,
                    size_t n_tuples, size_t k, const int64_t *dims, size_t slice,
                    dlg_scatter_reduction reduction, dlg_scatter_type type) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *u = (const unsigned char *)updates;
    size_t t, e;
    for (t = 0; t < n_tuples; ++t) {
        const int64_t offset = tuple_offset(indices + t * k, k, dims, slice);
        if (offset < 0) {
            continue;
        }
        if (reduction == DLG_SCATTER_NONE) {
            memcpy(y + (size_t)offset * elem_size, u + t * slice * elem_size, slice * elem_size);
            continue;
        }
        for (e = 0; e < slice; ++e) {
            combine(y + ((size_t)offset + e) * elem_size, u + (t * slice + e) * elem_size,
                    elem_size, reduction, type);
        }
    }
}

void dlg_tensor_scatter(void *Y, const void *update, const int64_t *write_indices,
                        size_t batch, size_t heads, size_t max_seq, size_t seq,
                        size_t inner_bytes, int circular) {
    unsigned char *y = (unsigned char *)Y;
    const unsigned char *u = (const unsigned char *)update;
    size_t b, h, s;
    for (b = 0; b < batch; ++b) {
        const int64_t start = write_indices != NULL ? write_indices[b] : 0;
        for (h = 0; h < heads; ++h) {
            const size_t row = b * heads + h;
            for (s = 0; s < seq; ++s) {
                int64_t pos = start + (int64_t)s;
                if (circular) {
                    pos %= (int64_t)max_seq;
                    pos += pos < 0 ? (int64_t)max_seq : 0;
                } else if (pos < 0 || pos >= (int64_t)max_seq) {
                    continue;
                }
                memcpy(y + (row * max_seq + (size_t)pos) * inner_bytes,
                       u + (row * seq + s) * inner_bytes, inner_bytes);
            }
        }
    }
}
