/* Reference kernels for ops with data-dependent output sizes. Each counts (or reads) the
 * size first, checks it against the bound, and only then writes the output compactly. */
#include <string.h>

#include "dlgen/dynamic.h"
#include "dlgen/half.h"

void dlg_zero_tail(void *data, size_t elem_size, const int64_t *dims, size_t rank, size_t bound) {
    const size_t used = dlg_dims_product(dims, rank);
    if (used < bound) {
        memset((unsigned char *)data + used * elem_size, 0, (bound - used) * elem_size);
    }
}

int dlg_set_count(int64_t *count, int64_t value, size_t bound) {
    if (value < 0 || (uint64_t)value > (uint64_t)bound) {
        return DLG_ERR_BOUND;
    }
    *count = value;
    return DLG_OK;
}

/* ---------------------------------------------------------------- NonZero */

/* Count first, then walk X once more with a row-major multi-index (at most 8 dims kept in a
 * local; the lowering refuses higher ranks). */
#define DEFINE_NONZERO(suffix, T)                                                             \
    int dlg_nonzero_##suffix(int64_t *Y, int64_t *count, const T *X, size_t rank,           \
                             const int64_t *dims, size_t bound) {                            \
        const size_t n = dlg_dims_product(dims, rank);                                      \
        int64_t index[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                        \
        size_t i, d, found = 0;                                                             \
        for (i = 0; i < n; ++i) {                                                           \
            found += X[i] != (T)0;                                                          \
        }                                                                                   \
        if (found > bound) {                                                                \
            return DLG_ERR_BOUND;                                                           \
        }                                                                                   \
        *count = (int64_t)found;                                                            \
        for (i = 0, found = 0; i < n; ++i) {                                                \
            if (X[i] != (T)0) {                                                             \
                for (d = 0; d < rank; ++d) {                                                \
                    Y[d * (size_t)*count + found] = index[d];                               \
                }                                                                           \
                ++found;                                                                    \
            }                                                                               \
            (void)dlg_index_advance(index, dims, NULL, rank, 0);                            \
        }                                                                                   \
        return DLG_OK;                                                                      \
    }

DEFINE_NONZERO(f32, float)
DEFINE_NONZERO(f64, double)
DEFINE_NONZERO(i8, int8_t)
DEFINE_NONZERO(i16, int16_t)
DEFINE_NONZERO(i32, int32_t)
DEFINE_NONZERO(i64, int64_t)
DEFINE_NONZERO(u8, uint8_t)
DEFINE_NONZERO(u16, uint16_t)
DEFINE_NONZERO(u32, uint32_t)
DEFINE_NONZERO(u64, uint64_t)

/* ---------------------------------------------------------------- Compress */

int dlg_compress(void *Y, int64_t *count, const void *X, const uint8_t *condition,
                 size_t cond_len, size_t outer, size_t dim, size_t inner_bytes, size_t bound) {
    const size_t len = cond_len < dim ? cond_len : dim;
    const unsigned char *x = (const unsigned char *)X;
    unsigned char *y = (unsigned char *)Y;
    size_t o, s, kept = 0;
    for (s = 0; s < len; ++s) {
        kept += condition[s] != 0;
    }
    if (kept > bound) {
        return DLG_ERR_BOUND;
    }
    *count = (int64_t)kept;
    for (o = 0; o < outer; ++o) {
        for (s = 0; s < len; ++s) {
            if (condition[s] != 0) {
                memcpy(y, x + (o * dim + s) * inner_bytes, inner_bytes);
                y += inner_bytes;
            }
        }
    }
    return DLG_OK;
}

/* ---------------------------------------------------------------- Unique */

/* Stable bottom-up merge sort of the slice indices perm[0..dim) (tmp: dim entries), then one
 * pass grouping equal neighbours: O(dim log dim) slice comparisons. KEY(x) is the value an
 * element compares by (16-bit floats are stored as bits). */
#define SAME(x) (x)
#define DEFINE_UNIQUE(suffix, T, KEY)                                                         \
    static int compare_slices_##suffix(const T *X, size_t outer, size_t dim, size_t inner,  \
                                       int64_t a, int64_t b) {                              \
        size_t o, j;                                                                        \
        for (o = 0; o < outer; ++o) {                                                       \
            const T *xa = X + (o * dim + (size_t)a) * inner;                                \
            const T *xb = X + (o * dim + (size_t)b) * inner;                                \
            for (j = 0; j < inner; ++j) {                                                   \
                if (KEY(xa[j]) < KEY(xb[j])) {                                              \
                    return -1;                                                              \
                }                                                                           \
                if (KEY(xb[j]) < KEY(xa[j])) {                                              \
                    return 1;                                                               \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
        return 0;                                                                           \
    }                                                                                       \
                                                                                            \
    static void sort_slices_##suffix(int64_t *perm, int64_t *tmp, const T *X, size_t outer, \
                                     size_t dim, size_t inner) {                            \
        int64_t *src = perm, *dst = tmp, *swap;                                             \
        size_t width, lo, i;                                                                \
        for (i = 0; i < dim; ++i) {                                                         \
            perm[i] = (int64_t)i;                                                           \
        }                                                                                   \
        for (width = 1; width < dim; width *= 2) {                                          \
            for (lo = 0; lo < dim; lo += 2 * width) {                                       \
                const size_t mid = lo + width < dim ? lo + width : dim;                     \
                const size_t hi = lo + 2 * width < dim ? lo + 2 * width : dim;              \
                size_t l = lo, r = mid, k = lo;                                             \
                while (l < mid && r < hi) {                                                 \
                    const int c = compare_slices_##suffix(X, outer, dim, inner, src[r],     \
                                                          src[l]);                          \
                    dst[k++] = c < 0 ? src[r++] : src[l++];                                 \
                }                                                                           \
                while (l < mid) {                                                           \
                    dst[k++] = src[l++];                                                    \
                }                                                                           \
                while (r < hi) {                                                            \
                    dst[k++] = src[r++];                                                    \
                }                                                                           \
            }                                                                               \
            swap = src;                                                                     \
            src = dst;                                                                      \
            dst = swap;                                                                     \
        }                                                                                   \
        if (src != perm) {                                                                  \
            memcpy(perm, src, dim * sizeof(int64_t));                                       \
        }                                                                                   \
    }                                                                                       \
                                                                                            \
    int dlg_unique_##suffix(T *Y, int64_t *first, int64_t *inverse, int64_t *counts,         \
                            int64_t *count, const T *X, size_t outer, size_t dim,            \
                            size_t inner, int sorted, size_t bound, int64_t *work) {         \
        int64_t *perm = work, *tmp = work + dim;                                            \
        size_t i, groups = 0, o, g;                                                         \
        sort_slices_##suffix(perm, tmp, X, outer, dim, inner);                              \
        for (i = 0; i < dim; ++i) {                                                         \
            if (i == 0 || compare_slices_##suffix(X, outer, dim, inner, perm[i - 1],        \
                                                  perm[i]) != 0) {                          \
                if (groups == bound) {                                                      \
                    return DLG_ERR_BOUND;                                                   \
                }                                                                           \
                first[groups] = perm[i]; /* stable sort: the lowest index comes first */    \
                counts[groups] = 0;                                                         \
                ++groups;                                                                   \
            }                                                                               \
            counts[groups - 1] += 1;                                                        \
            inverse[perm[i]] = (int64_t)(groups - 1);                                       \
        }                                                                                   \
        if (!sorted) { /* renumber the groups by first occurrence: perm[g] = new number */ \
            int64_t next = 0;                                                               \
            for (i = 0; i < dim; ++i) {                                                     \
                tmp[i] = -1;                                                                \
            }                                                                               \
            for (g = 0; g < groups; ++g) {                                                  \
                tmp[first[g]] = (int64_t)g;                                                 \
            }                                                                               \
            for (i = 0; i < dim; ++i) {                                                     \
                if (tmp[i] >= 0) {                                                          \
                    perm[tmp[i]] = next++;                                                  \
                }                                                                           \
            }                                                                               \
            for (g = 0; g < groups; ++g) {                                                  \
                tmp[perm[g]] = first[g];                                                    \
            }                                                                               \
            memcpy(first, tmp, groups * sizeof(int64_t));                                   \
            for (g = 0; g < groups; ++g) {                                                  \
                tmp[perm[g]] = counts[g];                                                   \
            }                                                                               \
            memcpy(counts, tmp, groups * sizeof(int64_t));                                  \
            for (i = 0; i < dim; ++i) {                                                     \
                inverse[i] = perm[inverse[i]];                                              \
            }                                                                               \
        }                                                                                   \
        *count = (int64_t)groups;                                                           \
        for (o = 0; o < outer; ++o) {                                                       \
            for (g = 0; g < groups; ++g) {                                                  \
                memcpy(Y + (o * groups + g) * inner, X + (o * dim + (size_t)first[g]) * inner, \
                       inner * sizeof(T));                                                  \
            }                                                                               \
        }                                                                                   \
        return DLG_OK;                                                                      \
    }

DEFINE_UNIQUE(f32, float, SAME)
DEFINE_UNIQUE(f64, double, SAME)
DEFINE_UNIQUE(i8, int8_t, SAME)
DEFINE_UNIQUE(i16, int16_t, SAME)
DEFINE_UNIQUE(i32, int32_t, SAME)
DEFINE_UNIQUE(i64, int64_t, SAME)
DEFINE_UNIQUE(u8, uint8_t, SAME)
DEFINE_UNIQUE(u16, uint16_t, SAME)
DEFINE_UNIQUE(u32, uint32_t, SAME)
DEFINE_UNIQUE(u64, uint64_t, SAME)
DEFINE_UNIQUE(f16, uint16_t, dlg_f16_to_f32)
DEFINE_UNIQUE(bf16, uint16_t, dlg_bf16_to_f32)

/* ---------------------------------------------------------------- NonMaxSuppression */

/* The extent of a box along one axis: [lo, hi] from two corners, or from centre and size. */
static void box_extent(const float *box, int center_point_box, int axis, float *lo, float *hi) {
    if (center_point_box) { /* [x_center, y_center, width, height]; axis 0 = y, 1 = x */
        const float centre = box[axis == 0 ? 1 : 0], half = box[axis == 0 ? 3 : 2] / 2.0f;
        *lo = centre - half;
        *hi = centre + half;
    } else { /* [y1, x1, y2, x2] */
        const float a = box[axis], b = box[axis + 2];
        *lo = a < b ? a : b;
        *hi = a < b ? b : a;
    }
}

/* Whether the intersection over union of two boxes exceeds the threshold (as ONNX Runtime:
 * boxes without area never suppress). */
static int suppresses(const float *a, const float *b, int center_point_box, float threshold) {
    float a_lo[2], a_hi[2], b_lo[2], b_hi[2], inter = 1.0f, area_a, area_b, uni;
    int axis;
    for (axis = 0; axis < 2; ++axis) {
        float lo, hi;
        box_extent(a, center_point_box, axis, &a_lo[axis], &a_hi[axis]);
        box_extent(b, center_point_box, axis, &b_lo[axis], &b_hi[axis]);
        lo = a_lo[axis] > b_lo[axis] ? a_lo[axis] : b_lo[axis];
        hi = a_hi[axis] < b_hi[axis] ? a_hi[axis] : b_hi[axis];
        if (hi <= lo) {
            return 0;
        }
        inter *= hi - lo;
    }
    area_a = (a_hi[0] - a_lo[0]) * (a_hi[1] - a_lo[1]);
    area_b = (b_hi[0] - b_lo[0]) * (b_hi[1] - b_lo[1]);
    uni = area_a + area_b - inter;
    if (inter <= 0.0f || area_a <= 0.0f || area_b <= 0.0f || uni <= 0.0f) {
        return 0;
    }
    return inter / uni > threshold;
}

/* Per batch and class: repeatedly take the best remaining candidate (work[i] = 1 while box i
 * is one), keep it unless a kept box of this class suppresses it. O(n * (n + kept)). */
int dlg_non_max_suppression_f32(int64_t *selected, int64_t *count, const float *boxes,
                                const float *scores, size_t batches, size_t classes, size_t n,
                                const int64_t *max_output, const float *iou_threshold,
                                const float *score_threshold, int center_point_box,
                                size_t bound, uint8_t *work) {
    const int64_t limit = max_output != NULL ? *max_output : 0;
    const float iou = iou_threshold != NULL ? *iou_threshold : 0.0f;
    size_t b, c, i, rows = 0;
    for (b = 0; b < batches; ++b) {
        const float *bx = boxes + b * n * 4;
        for (c = 0; c < classes; ++c) {
            const float *sc = scores + (b * classes + c) * n;
            const size_t class_start = rows;
            for (i = 0; i < n; ++i) {
                work[i] = (uint8_t)(score_threshold == NULL || sc[i] > *score_threshold);
            }
            while ((int64_t)(rows - class_start) < limit) {
                size_t best = n, r;
                int keep = 1;
                for (i = 0; i < n; ++i) {
                    if (work[i] && (best == n || sc[i] > sc[best])) {
                        best = i;
                    }
                }
                if (best == n) {
                    break;
                }
                work[best] = 0;
                for (r = class_start; r < rows && keep; ++r) {
                    keep = !suppresses(bx + 4 * best, bx + 4 * (size_t)selected[3 * r + 2],
                                       center_point_box, iou);
                }
                if (!keep) {
                    continue;
                }
                if (rows == bound) {
                    return DLG_ERR_BOUND;
                }
                selected[3 * rows] = (int64_t)b;
                selected[3 * rows + 1] = (int64_t)c;
                selected[3 * rows + 2] = (int64_t)best;
                ++rows;
            }
        }
    }
    *count = (int64_t)rows;
    return DLG_OK;
}
