/* Einsum over a generic index space (any equation: transposes, sums, diagonals, products).
 *
 * The equation is resolved in Python into loop dimensions: first the output's letters in
 * output order, then the summed letters. For loop dimension j, sizes[j] is its extent and
 * strides[k * dims + j] (dims = out_dims + sum_dims) the element stride of operand k along it:
 * 0 when the operand lacks the letter, the sum of the axes' strides when a letter repeats
 * within one operand (a diagonal).
 *   Y[o] = sum over the summed dims of prod_k inputs[k][offset_k]
 * with Y contiguous in output-letter order. At most DLG_EINSUM_MAX_DIMS loop dims and
 * DLG_EINSUM_MAX_INPUTS operands. The bf16 variant holds bfloat16 bit patterns (uint16_t),
 * computes in float and rounds each output once. */
#ifndef DLGEN_EINSUM_H
#define DLGEN_EINSUM_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_EINSUM_MAX_DIMS 16
#define DLG_EINSUM_MAX_INPUTS 8

void dlg_einsum_f32(size_t n_inputs, size_t out_dims, size_t sum_dims, const int64_t *sizes,
                    const int64_t *strides, const float *const *inputs, float *Y);
void dlg_einsum_f64(size_t n_inputs, size_t out_dims, size_t sum_dims, const int64_t *sizes,
                    const int64_t *strides, const double *const *inputs, double *Y);
void dlg_einsum_bf16(size_t n_inputs, size_t out_dims, size_t sum_dims, const int64_t *sizes,
                     const int64_t *strides, const uint16_t *const *inputs, uint16_t *Y);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_EINSUM_H */
