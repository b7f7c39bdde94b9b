/* Winograd convolution F(4x4, 3x3) for the portable fast kernels (src/opt/winograd.c): a 2-D
 * float32 convolution with a 3x3 kernel, stride 1, dilation 1 and one group, computed per
 * 4x4 output tile from a 6x6 input patch with 36 multiplications per input/output channel
 * pair instead of 144 (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016, interpolation points 0, 1, -1, 2, -2 and infinity):
 *   Y_tile = A^T [ (G g G^T) (.) (B^T d B) ] A,
 * with the 36 elementwise products of all channel pairs done as 36 GEMMs
 * [out_channels x in_channels] x [in_channels x tiles] by the sgemm.h core. dlgen transforms
 * and packs the weights at compile time (dlgen/targets/c/ops/packing.py, in float64). */
#ifndef DLGEN_WINOGRAD_H
#define DLGEN_WINOGRAD_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_WINOGRAD_TILE 4   /* output rows and columns per tile */
#define DLG_WINOGRAD_ALPHA 6  /* input patch rows and columns per tile (TILE + 3 - 1) */

/* The floats of scratch that dlg_conv_winograd_f32 needs for blocks of tile_block tiles. */
#define DLG_WINOGRAD_SCRATCH(in_channels, out_channels, tile_block) \
    (DLG_WINOGRAD_ALPHA * DLG_WINOGRAD_ALPHA * (tile_block) * ((in_channels) + (out_channels)))

/* Y = act(conv(X, W) + B + Z) for a 3x3, stride-1, dilation-1, one-group 2-D convolution.
 * geom: conv.h's geometry table (3 rows of 7, the D row unused: {1, 1, 1, 1, 1, 0, 0});
 *   any padding, symmetric or not; any H and W (partial tiles at the borders are clipped).
 * X [batch, in_channels, H, W], row-major.
 * U: the transformed weights U = G g G^T of every channel pair, packed by dlgen at compile
 *   time as 36 sgemm.h A matrices of MR-row panels, one per transform position
 *   xi = 6 * i + j (i, j < 6), Mp = ceil(out_channels / MR) * MR:
 *   U[xi * Mp * in_channels + (m / MR) * in_channels * MR + c * MR + m % MR] = U_xi(m, c)
 *   (rows past out_channels zero).
 * B [out_channels] or NULL; Z [batch, out_channels, oH, oW] or NULL (a residual added
 *   before the activation); Y [batch, out_channels, oH, oW].
 * scratch: DLG_WINOGRAD_SCRATCH(in_channels, out_channels, tile_block) floats, used per block
 *   of tiles (tiles are numbered row-major over the ceil(oH / 4) x ceil(oW / 4) tile grid).
 * tile_block: tiles per block, a positive multiple of DLG_SGEMM_NR.
 * act, act_a, act_b: the fused activation (dlg_act_kind and its parameters). */
void dlg_conv_winograd_f32(size_t batch, size_t in_channels, size_t out_channels,
                           const int64_t *geom, const float *X, const float *U, const float *B,
                           const float *Z, float *Y, float *scratch, size_t tile_block,
                           int act, float act_a, float act_b);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_WINOGRAD_H */
