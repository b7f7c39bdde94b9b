/* Linear quantization: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear and the integer
 * pieces of MatMulInteger / QLinearMatMul (widening with a zero point, int32 matrix products,
 * requantization).
 *
 * Type suffixes: i8 int8_t, u8 uint8_t, i16 int16_t, u16 uint16_t, i32 int32_t (and the
 * uint8_t-stored sub-byte and float8 types below).
 *
 * Quantization layout table (int64 [DLG_QUANT_LAYOUT_FIELDS]), shared by QuantizeLinear and
 * DequantizeLinear:
 *   { outer, axis_len, inner, block, stride_outer, stride_block, stride_inner }
 * X and Y are viewed as [outer, axis_len, inner]; element (o, a, i) uses the scale and zero
 * point at index o * stride_outer + (a / block) * stride_block + i * stride_inner. So:
 *   per tensor:  { 1, 1, size, 1, 0, 0, 0 }
 *   per axis:    { outer, axis_len, inner, 1, 0, 1, 0 }     scale [axis_len]
 *   blocked:     { outer, axis_len, inner, block, ceil(axis_len / block) * inner, inner, 1 }
 *                scale [outer, ceil(axis_len / block), inner]
 * Rounding is to nearest, ties to even (nearbyint in the default rounding mode), then the
 * value saturates to the output type's range, as ONNX Runtime does. */
#ifndef DLGEN_QUANT_H
#define DLGEN_QUANT_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_QUANT_LAYOUT_FIELDS 7

/* Y = saturate(round(X / scale) + zero_point). X float [outer * axis_len * inner], scale float
 * and zero_point (NULL: 0) indexed by the layout table, Y of the suffix's type. */
#define DLG_DECLARE_QUANTIZE(suffix, ctype) \
    void dlg_quantize_linear_##suffix(const int64_t *layout, const float *X, \
                                      const float *scale, const ctype *zero_point, ctype *Y);
DLG_DECLARE_QUANTIZE(i8, int8_t)
DLG_DECLARE_QUANTIZE(u8, uint8_t)
DLG_DECLARE_QUANTIZE(i16, int16_t)
DLG_DECLARE_QUANTIZE(u16, uint16_t)
DLG_DECLARE_QUANTIZE(i32, int32_t)

/* Y = (X - zero_point) * scale, X of the suffix's type, Y float, indexed as above. */
#define DLG_DECLARE_DEQUANTIZE(suffix, ctype) \
    void dlg_dequantize_linear_##suffix(const int64_t *layout, const ctype *X, \
                                        const float *scale, const ctype *zero_point, float *Y);
DLG_DECLARE_DEQUANTIZE(i8, int8_t)
DLG_DECLARE_DEQUANTIZE(u8, uint8_t)
DLG_DECLARE_DEQUANTIZE(i16, int16_t)
DLG_DECLARE_DEQUANTIZE(u16, uint16_t)
DLG_DECLARE_DEQUANTIZE(i32, int32_t)

/* The same for the types stored one element a byte as uint8_t bits (subbyte.h, float8.h):
 * i4 int4, u4 uint4, i2 int2, u2 uint2 (round, add the zero point, saturate to the type's
 * range), f4e2m1 float4e2m1 and f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz (Y = X / scale +
 * zero_point rounded to nearest even, saturating). Dequantizing is (X - zero_point) * scale. */
#define DLG_DECLARE_QUANTIZE_BITS(suffix) \
    DLG_DECLARE_QUANTIZE(suffix, uint8_t) \
    DLG_DECLARE_DEQUANTIZE(suffix, uint8_t)
DLG_DECLARE_QUANTIZE_BITS(i4)
DLG_DECLARE_QUANTIZE_BITS(u4)
DLG_DECLARE_QUANTIZE_BITS(i2)
DLG_DECLARE_QUANTIZE_BITS(u2)
DLG_DECLARE_QUANTIZE_BITS(f4e2m1)
DLG_DECLARE_QUANTIZE_BITS(f8e4m3fn)
DLG_DECLARE_QUANTIZE_BITS(f8e4m3fnuz)
DLG_DECLARE_QUANTIZE_BITS(f8e5m2)
DLG_DECLARE_QUANTIZE_BITS(f8e5m2fnuz)

/* DynamicQuantizeLinear to uint8 over X [n]: the range [min(X, 0), max(X, 0)] maps onto
 * [0, 255]; scale [1] = range / 255 (1 when the range is empty), zero_point [1] =
 * saturate(round(-min / scale)), Y [n] = saturate(round(X / scale) + zero_point). */
void dlg_dynamic_quantize_linear_u8(size_t n, const float *X, uint8_t *Y, float *scale,
                                    uint8_t *zero_point);

/* Widen a matrix of the suffix's type to int32 less its zero point:
 * Y[r, c] = X[r, c] - zero_point[r * zp_row_stride + c * zp_col_stride] for X, Y [rows, cols]
 * (strides 0, 0: one zero point; zero_point NULL: 0). */
#define DLG_DECLARE_WIDEN(suffix, ctype) \
    void dlg_widen_##suffix(size_t rows, size_t cols, const ctype *X, const ctype *zero_point, \
                            size_t zp_row_stride, size_t zp_col_stride, int32_t *Y);
DLG_DECLARE_WIDEN(i8, int8_t)
DLG_DECLARE_WIDEN(u8, uint8_t)

/* Batched int32 MatMul: for each batch b, Y[b] (M x N) = A[a_off[b]] (M x K) * B[b_off[b]]
 * (K x N), all int32, row-major, with wrapping int32 sums as ONNX Runtime. */
void dlg_matmul_i32(size_t batches, const int64_t *a_off, const int64_t *b_off, size_t M,
                    size_t N, size_t K, const int32_t *A, const int32_t *B, int32_t *Y);

/* Requantize int32 accumulators ACC [rows, cols] to the suffix's type:
 * Y = saturate(round(ACC * a_scale[0] * b_scale[c * b_scale_stride] / y_scale[0]) + y_zp[0])
 * (b_scale_stride 1: one scale per column; 0: one scale; y_zero_point NULL: 0). The
 * multiplier a_scale * b_scale / y_scale is formed in float first, as ONNX Runtime does. */
#define DLG_DECLARE_REQUANTIZE(suffix, ctype) \
    void dlg_requantize_##suffix(size_t rows, size_t cols, const int32_t *ACC, \
                                 const float *a_scale, const float *b_scale, \
                                 size_t b_scale_stride, const float *y_scale, \
                                 const ctype *y_zero_point, ctype *Y);
DLG_DECLARE_REQUANTIZE(i8, int8_t)
DLG_DECLARE_REQUANTIZE(u8, uint8_t)

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_QUANT_H */
