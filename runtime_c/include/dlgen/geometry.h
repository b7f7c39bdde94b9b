/* Window geometry shared by the convolution and pooling kernels: the int64 table of 3 rows of
 * DLG_GEOM_FIELDS, one row per spatial axis D, H, W (see DLG_CONV_GEOM_FIELDS in conv.h and
 * DLG_POOL_GEOM_FIELDS in pool.h for what each kernel makes of it):
 *   { in, out, kernel, stride, dilation, pad_begin, pad_end } */
#ifndef DLGEN_GEOMETRY_H
#define DLGEN_GEOMETRY_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DLG_GEOM_FIELDS 7

/* One spatial axis of the geometry table. */
typedef struct {
    int64_t in, out, kernel, stride, dilation, pad_begin, pad_end;
} dlg_geom_axis;

/* Read the three axes of geom into ax; *in_plane, *out_plane and *taps (each may be NULL)
 * receive the number of input positions, output positions and kernel taps per plane. */
static inline void dlg_geom_read(const int64_t *geom, dlg_geom_axis ax[3], size_t *in_plane,
                                 size_t *out_plane, size_t *taps) {
    size_t i, n_in = 1, n_out = 1, n_taps = 1;
    for (i = 0; i < 3; ++i) {
        const int64_t *row = geom + i * DLG_GEOM_FIELDS;
        ax[i].in = row[0];
        ax[i].out = row[1];
        ax[i].kernel = row[2];
        ax[i].stride = row[3];
        ax[i].dilation = row[4];
        ax[i].pad_begin = row[5];
        ax[i].pad_end = row[6];
        n_in *= (size_t)ax[i].in;
        n_out *= (size_t)ax[i].out;
        n_taps *= (size_t)ax[i].kernel;
    }
    if (in_plane != NULL) {
        *in_plane = n_in;
    }
    if (out_plane != NULL) {
        *out_plane = n_out;
    }
    if (taps != NULL) {
        *taps = n_taps;
    }
}

/* The outputs [*lo, *hi) for which kernel tap k reads inside the input along axis a, i.e.
 * 0 <= o * stride + offset < in with offset = k * dilation - pad_begin. */
static inline void dlg_geom_tap_range(const dlg_geom_axis *a, int64_t k, int64_t *lo,
                                      int64_t *hi) {
    const int64_t offset = k * a->dilation - a->pad_begin;
    const int64_t last_in = a->in - 1 - offset; /* o * stride must not exceed this */
    const int64_t first = offset >= 0 ? 0 : (-offset + a->stride - 1) / a->stride;
    const int64_t end = last_in < 0 ? 0 : last_in / a->stride + 1;
    *hi = end < a->out ? end : a->out;
    *lo = first < *hi ? first : *hi;
}

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_GEOMETRY_H */
