/* Resampling kernels: Resize (and Upsample) through per-axis tap tables, GridSample.
 *
 * float32 data, contiguous row-major tensors. The compiler computes everything that depends
 * only on shapes and constant attributes (source coordinates, neighbours, weights); the
 * kernels sum weighted input values.
 */
#ifndef DLGEN_RESIZE_H
#define DLGEN_RESIZE_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_RESIZE_MAX_RANK 8

/* Separable resampling: Y[o] = sum over taps t of prod_d weight_d[o_d, t_d] * X[i(t)].
 * x_dims[rank], y_dims[rank]: input and output shapes (1 <= rank <= DLG_RESIZE_MAX_RANK).
 * taps[rank]: neighbours per output index along each dim; 0 marks an unchanged dim
 * (y_dims[d] == x_dims[d], output index d reads input index d, no table).
 * index, weight: for each dim d with taps[d] > 0, in order, a [y_dims[d], taps[d]] table of
 * input indices along d (in [0, x_dims[d])) and their weights. An index of -1 in a row's
 * first tap marks an output index outside the crop (tf_crop_and_resize): every output
 * element on it is `extrapolation`. */
void dlg_resize_f32(float *Y, const float *X, size_t rank, const int64_t *x_dims,
                    const int64_t *y_dims, const int64_t *taps, const int64_t *index,
                    const float *weight, float extrapolation);

/* Nearest-neighbour Resize for any dtype: the tables of dlg_resize_f32 with at most one tap
 * per dim (taps[d] is 0 or 1, no weights); elements of elem_size bytes are copied, and
 * *extrapolation (one element) fills output indices marked -1. */
void dlg_resize_nearest(void *Y, const void *X, size_t elem_size, size_t rank,
                        const int64_t *x_dims, const int64_t *y_dims, const int64_t *taps,
                        const int64_t *index, const void *extrapolation);

typedef enum { DLG_GRID_NEAREST = 0, DLG_GRID_LINEAR, DLG_GRID_CUBIC } dlg_grid_mode;
typedef enum { DLG_GRID_ZEROS = 0, DLG_GRID_BORDER, DLG_GRID_REFLECTION } dlg_grid_padding;

/* GridSample: X is [n, c, x_dims[0..spatial)], Grid is [n, points..., spatial] holding
 * normalized coordinates in [-1, 1], innermost first (x = width, then height, then depth);
 * Y is [n, c, points...] with `points` the product of Grid's middle dims.
 * mode: nearest (round half to even), linear or cubic (Keys, a = -0.75), per spatial dim.
 * padding: where a position falls outside X: zeros, border (clamp) or reflection.
 * align_corners: 1 maps -1 and 1 to the centres of the corner pixels, 0 to their outer
 * edges. 1 <= spatial <= 3. */
void dlg_grid_sample_f32(float *Y, const float *X, const float *Grid, size_t n, size_t c,
                         size_t spatial, const int64_t *x_dims, size_t points,
                         dlg_grid_mode mode, dlg_grid_padding padding, int align_corners);

/* AffineGrid: Grid[b, p, i] = sum_j theta[b, i, j] * base[p, j] for i < spatial,
 * j <= spatial. theta is [n, spatial, spatial + 1]; base is [points, spatial + 1], each point's
 * normalized coordinates (x = width first) followed by 1; Grid is [n, points, spatial]. */
void dlg_affine_grid_f32(float *Grid, const float *theta, const float *base, size_t n,
                         size_t points, size_t spatial);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_RESIZE_H */
