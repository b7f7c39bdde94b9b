/* Reference linear quantization kernels. Each dtype variant is stamped out from one readable
 * body by a DEFINE_* macro below; the arithmetic lives in the static helpers. */
#include "dlgen/quant.h"

#include "dlgen/float8.h"
#include "dlgen/subbyte.h"

/* The quantization layout table of quant.h. */
typedef struct {
    size_t outer, axis_len, inner, block, stride_outer, stride_block, stride_inner;
} quant_layout;

static quant_layout read_layout(const int64_t *t) {
    quant_layout q;
    q.outer = (size_t)t[0];
    q.axis_len = (size_t)t[1];
    q.inner = (size_t)t[2];
    q.block = (size_t)t[3];
    q.stride_outer = (size_t)t[4];
    q.stride_block = (size_t)t[5];
    q.stride_inner = (size_t)t[6];
    return q;
}

/* Walks the elements in order and yields the index of each one's scale / zero point. */
typedef struct {
    quant_layout q;
    size_t o, a, i;
} quant_walk;

static quant_walk walk_start(const int64_t *layout) {
    quant_walk w;
    w.q = read_layout(layout);
    w.o = w.a = w.i = 0;
    return w;
}

static size_t walk_count(const quant_walk *w) {
    return w->q.outer * w->q.axis_len * w->q.inner;
}

/* The parameter index of the current element; then step to the next element. */
static size_t walk_next(quant_walk *w) {
    const quant_layout *q = &w->q;
    const size_t p = w->o * q->stride_outer + (w->a / q->block) * q->stride_block +
                     w->i * q->stride_inner;
    if (++w->i == q->inner) {
        w->i = 0;
        if (++w->a == q->axis_len) {
            w->a = 0;
            ++w->o;
        }
    }
    return p;
}

/* round-half-to-even(v) + zero_point, saturated to [lo, hi]; computed in double so that the
 * int32 range is exact. A NaN gives 0 (never an out-of-range conversion). */
static double round_saturate(float v, double zero_point, double lo, double hi) {
    const double q = (double)nearbyintf(v) + zero_point;
    if (q != q) {
        return 0.0;
    }
    return q < lo ? lo : (q > hi ? hi : q);
}

#define DEFINE_QUANTIZE(suffix, ctype, lo, hi) \
    void dlg_quantize_linear_##suffix(const int64_t *layout, const float *X, \
                                      const float *scale, const ctype *zero_point, ctype *Y) { \
        quant_walk w = walk_start(layout); \
        const size_t n = walk_count(&w); \
        size_t k; \
        for (k = 0; k < n; ++k) { \
            const size_t p = walk_next(&w); \
            const double zp = zero_point ? (double)zero_point[p] : 0.0; \
            Y[k] = (ctype)round_saturate(X[k] / scale[p], zp, lo, hi); \
        } \
    }

DEFINE_QUANTIZE(i8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_QUANTIZE(u8, uint8_t, 0, UINT8_MAX)
DEFINE_QUANTIZE(i16, int16_t, INT16_MIN, INT16_MAX)
DEFINE_QUANTIZE(u16, uint16_t, 0, UINT16_MAX)
DEFINE_QUANTIZE(i32, int32_t, INT32_MIN, INT32_MAX)

#define DEFINE_DEQUANTIZE(suffix, ctype) \
    void dlg_dequantize_linear_##suffix(const int64_t *layout, const ctype *X, \
                                        const float *scale, const ctype *zero_point, \
                                        float *Y) { \
        quant_walk w = walk_start(layout); \
        const size_t n = walk_count(&w); \
        size_t k; \
        for (k = 0; k < n; ++k) { \
            const size_t p = walk_next(&w); \
            const int64_t zp = zero_point ? (int64_t)zero_point[p] : 0; \
            Y[k] = (float)((int64_t)X[k] - zp) * scale[p]; \
        } \
    }

DEFINE_DEQUANTIZE(i8, int8_t)
DEFINE_DEQUANTIZE(u8, uint8_t)
DEFINE_DEQUANTIZE(i16, int16_t)
DEFINE_DEQUANTIZE(u16, uint16_t)
DEFINE_DEQUANTIZE(i32, int32_t)

/* The types stored as uint8_t bits (subbyte.h, float8.h): `to_float` reads one, `from_int`
 * (integers, wrapping; given a value already saturated to [lo, hi]) or `from_float`
 * (floats, rounding to nearest even and saturating) writes one. */
#define DEFINE_QUANTIZE_BITS_INT(suffix, lo, hi, to_float, from_int) \
    void dlg_quantize_linear_##suffix(const int64_t *layout, const float *X, \
                                      const float *scale, const uint8_t *zero_point, \
                                      uint8_t *Y) { \
        quant_walk w = walk_start(layout); \
        const size_t n = walk_count(&w); \
        size_t k; \
        for (k = 0; k < n; ++k) { \
            const size_t p = walk_next(&w); \
            const double zp = zero_point ? (double)to_float(zero_point[p]) : 0.0; \
            Y[k] = from_int(round_saturate(X[k] / scale[p], zp, lo, hi)); \
        } \
    }

/* Floats: Y = convert(X / scale + zero_point), no rounding to an integer first. */
#define DEFINE_QUANTIZE_BITS_FLOAT(suffix, to_float, from_float) \
    void dlg_quantize_linear_##suffix(const int64_t *layout, const float *X, \
                                      const float *scale, const uint8_t *zero_point, \
                                      uint8_t *Y) { \
        quant_walk w = walk_start(layout); \
        const size_t n = walk_count(&w); \
        size_t k; \
        for (k = 0; k < n; ++k) { \
            const size_t p = walk_next(&w); \
            const float zp = zero_point ? to_float(zero_point[p]) : 0.0f; \
            Y[k] = from_float(X[k] / scale[p] + zp); \
        } \
    }

#define DEFINE_DEQUANTIZE_BITS(suffix, to_float) \
    void dlg_dequantize_linear_##suffix(const int64_t *layout, const uint8_t *X, \
                                        const float *scale, const uint8_t *zero_point, \
                                        float *Y) { \
        quant_walk w = walk_start(layout); \
        const size_t n = walk_count(&w); \
        size_t k; \
        for (k = 0; k < n; ++k) { \
            const size_t p = walk_next(&w); \
            const float zp = zero_point ? to_float(zero_point[p]) : 0.0f; \
            Y[k] = (to_float(X[k]) - zp) * scale[p]; \
        } \
    }

DEFINE_QUANTIZE_BITS_INT(i4, -8.0, 7.0, dlg_i4_to_f32, dlg_to_i4)
DEFINE_QUANTIZE_BITS_INT(u4, 0.0, 15.0, dlg_u4_to_f32, dlg_to_u4)
DEFINE_QUANTIZE_BITS_INT(i2, -2.0, 1.0, dlg_i2_to_f32, dlg_to_i2)
DEFINE_QUANTIZE_BITS_INT(u2, 0.0, 3.0, dlg_u2_to_f32, dlg_to_u2)
DEFINE_QUANTIZE_BITS_FLOAT(f4e2m1, dlg_f4e2m1_to_f32, dlg_f32_to_f4e2m1)
DEFINE_QUANTIZE_BITS_FLOAT(f8e4m3fn, dlg_f8e4m3fn_to_f32, dlg_f32_to_f8e4m3fn)
DEFINE_QUANTIZE_BITS_FLOAT(f8e4m3fnuz, dlg_f8e4m3fnuz_to_f32, dlg_f32_to_f8e4m3fnuz)
DEFINE_QUANTIZE_BITS_FLOAT(f8e5m2, dlg_f8e5m2_to_f32, dlg_f32_to_f8e5m2)
DEFINE_QUANTIZE_BITS_FLOAT(f8e5m2fnuz, dlg_f8e5m2fnuz_to_f32, dlg_f32_to_f8e5m2fnuz)
DEFINE_DEQUANTIZE_BITS(i4, dlg_i4_to_f32)
DEFINE_DEQUANTIZE_BITS(u4, dlg_u4_to_f32)
DEFINE_DEQUANTIZE_BITS(i2, dlg_i2_to_f32)
DEFINE_DEQUANTIZE_BITS(u2, dlg_u2_to_f32)
DEFINE_DEQUANTIZE_BITS(f4e2m1, dlg_f4e2m1_to_f32)
DEFINE_DEQUANTIZE_BITS(f8e4m3fn, dlg_f8e4m3fn_to_f32)
DEFINE_DEQUANTIZE_BITS(f8e4m3fnuz, dlg_f8e4m3fnuz_to_f32)
DEFINE_DEQUANTIZE_BITS(f8e5m2, dlg_f8e5m2_to_f32)
DEFINE_DEQUANTIZE_BITS(f8e5m2fnuz, dlg_f8e5m2fnuz_to_f32)

void dlg_dynamic_quantize_linear_u8(size_t n, const float *X, uint8_t *Y, float *scale,
                                    uint8_t *zero_point) {
    float lo = 0.0f, hi = 0.0f, s, zp;
    size_t i;
    for (i = 0; i < n; ++i) {
        lo = X[i] < lo ? X[i] : lo;
        hi = X[i] > hi ? X[i] : hi;
    }
    s = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    zp = (float)round_saturate(dlg_clampf(0.0f - lo / s, 0.0f, 255.0f), 0.0, 0.0, 255.0);
    *scale = s;
    *zero_point = (uint8_t)zp;
    for (i = 0; i < n; ++i) {
        Y[i] = (uint8_t)round_saturate(X[i] / s, zp, 0.0, 255.0);
    }
}

#define DEFINE_WIDEN(suffix, ctype) \
    void dlg_widen_##suffix(size_t rows, size_t cols, const ctype *X, const ctype *zero_point, \
                            size_t zp_row_stride, size_t zp_col_stride, int32_t *Y) { \
        size_t r, c; \
        for (r = 0; r < rows; ++r) { \
            for (c = 0; c < cols; ++c) { \
                const size_t p = r * zp_row_stride + c * zp_col_stride; \
                const int32_t zp = zero_point ? (int32_t)zero_point[p] : 0; \
                Y[r * cols + c] = (int32_t)X[r * cols + c] - zp; \
            } \
        } \
    }

DEFINE_WIDEN(i8, int8_t)
DEFINE_WIDEN(u8, uint8_t)

void dlg_matmul_i32(size_t batches, const int64_t *a_off, const int64_t *b_off, size_t M,
                    size_t N, size_t K, const int32_t *A, const int32_t *B, int32_t *Y) {
    size_t b, m, n, k;
    for (b = 0; b < batches; ++b) {
        const int32_t *a = A + a_off[b];
        const int32_t *bm = B + b_off[b];
        int32_t *y = Y + b * M * N;
        for (m = 0; m < M; ++m) {
            uint32_t *y_row = (uint32_t *)(y + m * N); /* unsigned: sums wrap, never overflow */
            for (n = 0; n < N; ++n) {
                y_row[n] = 0u;
            }
            for (k = 0; k < K; ++k) {
                const uint32_t a_mk = (uint32_t)a[m * K + k];
                const int32_t *b_row = bm + k * N;
                for (n = 0; n < N; ++n) {
                    y_row[n] += a_mk * (uint32_t)b_row[n];
                }
            }
        }
    }
}

#define DEFINE_REQUANTIZE(suffix, ctype, lo, hi) \
    void dlg_requantize_##suffix(size_t rows, size_t cols, const int32_t *ACC, \
                                 const float *a_scale, const float *b_scale, \
                                 size_t b_scale_stride, const float *y_scale, \
                                 const ctype *y_zero_point, ctype *Y) { \
        const double zp = y_zero_point ? (double)y_zero_point[0] : 0.0; \
        size_t r, c; \
        for (r = 0; r < rows; ++r) { \
            for (c = 0; c < cols; ++c) { \
                const float multiplier = a_scale[0] * b_scale[c * b_scale_stride] / y_scale[0]; \
                const float v = (float)ACC[r * cols + c] * multiplier; \
                Y[r * cols + c] = (ctype)round_saturate(v, zp, lo, hi); \
            } \
        } \
    }

DEFINE_REQUANTIZE(i8, int8_t, INT8_MIN, INT8_MAX)
DEFINE_REQUANTIZE(u8, uint8_t, 0, UINT8_MAX)
