/* dlgen C runtime: helpers of the control-flow ops (Scan slices along any axis).
 *
 * A tensor is seen as [outer, n, inner] around the scanned axis, `inner` counted in bytes, so
 * one function serves every dtype.
 */
#ifndef DLGEN_CONTROL_H
#define DLGEN_CONTROL_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst [outer, inner] = src [outer, n, inner] at index t of the middle axis (t < n). */
void dlg_slice_get(void *dst, const void *src, size_t outer, size_t n, size_t inner, size_t t);

/* dst [outer, n, inner] at index t of the middle axis = src [outer, inner] (t < n). */
void dlg_slice_put(void *dst, const void *src, size_t outer, size_t n, size_t inner, size_t t);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_CONTROL_H */
