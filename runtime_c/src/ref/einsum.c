/* Reference Einsum: an odometer over the loop dimensions of einsum.h. Each operand's offset
 * moves by its stride as a counter ticks and rewinds when the counter wraps, so no index is
 * ever multiplied out; the last (innermost) dimension ticks fastest. */
#include "dlgen/einsum.h"
#include "dlgen/half.h"

/* The odometer over loop dims [first, first + count): counters and each operand's offset. */
typedef struct {
    size_t n_inputs, dims, first, count;
    const int64_t *sizes, *strides;
    int64_t idx[DLG_EINSUM_MAX_DIMS];
    int64_t offset[DLG_EINSUM_MAX_INPUTS];
} odometer;

static void odometer_start(odometer *o, size_t n_inputs, size_t dims, size_t first,
                           size_t count, const int64_t *sizes, const int64_t *strides) {
    size_t j, k;
    o->n_inputs = n_inputs;
    o->dims = dims;
    o->first = first;
    o->count = count;
    o->sizes = sizes;
    o->strides = strides;
    for (j = 0; j < DLG_EINSUM_MAX_DIMS; ++j) {
        o->idx[j] = 0;
    }
    for (k = 0; k < DLG_EINSUM_MAX_INPUTS; ++k) {
        o->offset[k] = 0;
    }
}

/* Tick the odometer; returns 0 once every counter has wrapped (back at the start). */
static int odometer_next(odometer *o) {
    size_t j, k;
    for (j = o->first + o->count; j-- > o->first;) {
        o->idx[j] += 1;
        for (k = 0; k < o->n_inputs; ++k) {
            o->offset[k] += o->strides[k * o->dims + j];
        }
        if (o->idx[j] < o->sizes[j]) {
            return 1;
        }
        for (k = 0; k < o->n_inputs; ++k) {
            o->offset[k] -= o->strides[k * o->dims + j] * o->sizes[j];
        }
        o->idx[j] = 0;
    }
    return 0;
}

/* Elements of a loop-dim range (1 for none). */
static int64_t extent(const int64_t *sizes, size_t first, size_t count) {
    int64_t n = 1;
    size_t j;
    for (j = first; j < first + count; ++j) {
        n *= sizes[j];
    }
    return n;
}

/* One Einsum per element type: ctype is the storage type, acc_type the arithmetic type, LOAD
 * and STORE convert between them (bfloat16 computes in float, rounding once at the end). */
#define IDENTITY(x) (x)
#define DEFINE_EINSUM(suffix, ctype, acc_type, LOAD, STORE) \
    void dlg_einsum_##suffix(size_t n_inputs, size_t out_dims, size_t sum_dims, \
                             const int64_t *sizes, const int64_t *strides, \
                             const ctype *const *inputs, ctype *Y) { \
        const size_t dims = out_dims + sum_dims; \
        const int64_t out_count = extent(sizes, 0, out_dims); \
        const int empty_sum = extent(sizes, out_dims, sum_dims) == 0; \
        odometer out, sum; \
        int64_t y; \
        size_t k; \
        odometer_start(&out, n_inputs, dims, 0, out_dims, sizes, strides); \
        for (y = 0; y < out_count; ++y, odometer_next(&out)) { \
            acc_type acc = 0; \
            odometer_start(&sum, n_inputs, dims, out_dims, sum_dims, sizes, strides); \
            do { \
                acc_type term = 1; \
                for (k = 0; k < n_inputs && !empty_sum; ++k) { \
                    term *= LOAD(inputs[k][out.offset[k] + sum.offset[k]]); \
                } \
                acc += empty_sum ? 0 : term; \
            } while (odometer_next(&sum)); \
            Y[y] = STORE(acc); \
        } \
    }

DEFINE_EINSUM(f32, float, float, IDENTITY, IDENTITY)
DEFINE_EINSUM(f64, double, double, IDENTITY, IDENTITY)
DEFINE_EINSUM(bf16, uint16_t, float, dlg_bf16_to_f32, dlg_f32_to_bf16)
