/* Fast convolution: an implicit GEMM over the packed GEMM core (sgemm.c) whose B panels are
 * im2col columns built on the fly, DLG_SGEMM_NR output positions at a time, in a small stack
 * buffer; and a direct depthwise kernel that finishes one output row at a time. */
#include <string.h>

#include "dlgen/conv.h"
#include "dlgen/geometry.h"
#include "dlgen/sgemm.h"

#define MR DLG_SGEMM_MR
#define NR DLG_SGEMM_NR
#define KC DLG_SGEMM_KC

/* The input coordinates of the first tap of the output positions [p0, p0 + np) of a plane. */
typedef struct {
    int64_t d[NR], h[NR], w[NR];
    size_t first, count;
    int one_row; /* all positions in one output row: their w are consecutive strides */
} pixel_panel;

/* Whether output position p reads input position p for the only tap (a 1x1 kernel with stride
 * 1 and no padding): im2col rows are then plain slices of the input planes. */
static int is_pointwise(const dlg_geom_axis ax[3]) {
    size_t i;
    for (i = 0; i < 3; ++i) {
        if (ax[i].kernel != 1 || ax[i].stride != 1 || ax[i].pad_begin != 0
            || ax[i].in != ax[i].out) {
            return 0;
        }
    }
    return 1;
}

static void panel_origins(const dlg_geom_axis ax[3], size_t p0, size_t np, pixel_panel *px) {
    size_t j;
    const size_t row = (size_t)ax[2].out, plane = row * (size_t)ax[1].out;
    for (j = 0; j < np; ++j) {
        const size_t p = p0 + j;
        px->d[j] = (int64_t)(p / plane) * ax[0].stride - ax[0].pad_begin;
        px->h[j] = (int64_t)(p % plane / row) * ax[1].stride - ax[1].pad_begin;
        px->w[j] = (int64_t)(p % row) * ax[2].stride - ax[2].pad_begin;
    }
    px->first = p0;
    px->count = np;
    px->one_row = p0 / row == (p0 + np - 1) / row;
}

/* One im2col row: the values of kernel tap (td, th, tw) of the input plane x at the panel's
 * output positions, zero where the tap falls into padding; columns past count are zero. */
static void im2col_row(const float *x, const dlg_geom_axis ax[3], const pixel_panel *px,
                       int64_t td, int64_t th, int64_t tw, float *dst) {
    const int64_t od = td * ax[0].dilation, oh = th * ax[1].dilation, ow = tw * ax[2].dilation;
    size_t j;
    if (px->one_row && ax[2].stride == 1) {
        /* One input row, consecutive columns: copy the part inside the row. */
        const int64_t id = px->d[0] + od, ih = px->h[0] + oh, iw = px->w[0] + ow;
        if (id >= 0 && id < ax[0].in && ih >= 0 && ih < ax[1].in && iw >= 0
            && iw + (int64_t)px->count <= ax[2].in) {
            memcpy(dst, x + (id * ax[1].in + ih) * ax[2].in + iw, px->count * sizeof(float));
            for (j = px->count; j < NR; ++j) {
                dst[j] = 0.0f;
            }
            return;
        }
    }
    for (j = 0; j < px->count; ++j) {
        const int64_t id = px->d[j] + od, ih = px->h[j] + oh, iw = px->w[j] + ow;
        const int inside = id >= 0 && id < ax[0].in && ih >= 0 && ih < ax[1].in && iw >= 0
                           && iw < ax[2].in;
        dst[j] = inside ? x[(id * ax[1].in + ih) * ax[2].in + iw] : 0.0f;
    }
    for (; j < NR; ++j) {
        dst[j] = 0.0f;
    }
}

/* Pack im2col rows [k0, k0 + kc) (row k = channel * taps + tap) of the panel's positions. */
static void pack_im2col(const float *x, size_t in_plane, const dlg_geom_axis ax[3],
                        const pixel_panel *px, size_t k0, size_t kc, float *panel) {
    const size_t kh_kw = (size_t)(ax[1].kernel * ax[2].kernel);
    const size_t taps = (size_t)ax[0].kernel * kh_kw;
    size_t c = k0 / taps, t = k0 % taps, k, j;
    int64_t td = (int64_t)(t / kh_kw), th = (int64_t)(t % kh_kw / (size_t)ax[2].kernel);
    int64_t tw = (int64_t)(t % (size_t)ax[2].kernel);
    if (is_pointwise(ax)) {
        for (k = 0; k < kc; ++k, panel += NR) {
            memcpy(panel, x + (k0 + k) * in_plane + px->first, px->count * sizeof(float));
            for (j = px->count; j < NR; ++j) {
                panel[j] = 0.0f;
            }
        }
        return;
    }
    for (k = 0; k < kc; ++k, panel += NR) {
        im2col_row(x + c * in_plane, ax, px, td, th, tw, panel);
        if (++tw == ax[2].kernel) { /* next tap, carrying into h, d and the channel */
            tw = 0;
            if (++th == ax[1].kernel) {
                th = 0;
                if (++td == ax[0].kernel) {
                    td = 0;
                    ++c;
                }
            }
        }
    }
}

/* The implicit GEMM shared by both weight layouts: W_g(m, k) is
 * w[g * w_gs + (m / MR) * w_ps + (m % MR) * w_rs + k * w_cs]. */
static void conv_gemm(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                      const int64_t *geom, const float *X, const float *w, size_t w_gs,
                      size_t w_ps, size_t w_rs, size_t w_cs, const float *B, const float *Z,
                      float *Y, int act, float act_a, float act_b) {
    float panel[KC * NR];
    dlg_geom_axis ax[3];
    pixel_panel px;
    size_t n, g, p0, k0, in_plane, out_plane, taps;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_sgemm_epilogue ep = dlg_sgemm_no_epilogue();
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    ep.bias_rs = 1;
    ep.res_ld = out_plane;
    ep.act = act;
    ep.act_a = act_a;
    ep.act_b = act_b;
    for (n = 0; n < batch; ++n) {
        for (g = 0; g < groups; ++g) {
            const size_t kg = group_in * taps, first = n * out_channels + g * group_out;
            const float *x = X + (n * in_channels + g * group_in) * in_plane;
            float *y = Y + first * out_plane;
            ep.bias = B != NULL ? B + g * group_out : NULL;
            ep.residual = Z != NULL ? Z + first * out_plane : NULL;
            for (p0 = 0; p0 < out_plane; p0 += NR) {
                const size_t np = out_plane - p0 < NR ? out_plane - p0 : NR;
                panel_origins(ax, p0, np, &px);
                if (ep.residual != NULL) {
                    ep.residual = Z + first * out_plane + p0;
                }
                for (k0 = 0; k0 < kg; k0 += KC) {
                    const size_t kc = kg - k0 < KC ? kg - k0 : KC;
                    pack_im2col(x, in_plane, ax, &px, k0, kc, panel);
                    dlg_sgemm_panels(group_out, np, kc, w + g * w_gs + k0 * w_cs, w_ps, w_rs,
                                     w_cs, panel, 0, y + p0, out_plane, k0 > 0,
                                     k0 + kc == kg ? &ep : NULL);
                }
            }
        }
    }
}

/* The number of taps of a kernel (kD * kH * kW). */
static size_t geom_taps(const int64_t *geom) {
    dlg_geom_axis ax[3];
    size_t taps;
    dlg_geom_read(geom, ax, NULL, NULL, &taps);
    return taps;
}

void dlg_conv_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                  const int64_t *geom, const float *X, const float *W, const float *B, float *Y,
                  int act, float act_a, float act_b) {
    const size_t group_out = out_channels / groups;
    const size_t kg = in_channels / groups * geom_taps(geom);
    /* Plain rows: W_g(m, k) = W[(g * group_out + m) * kg + k]. */
    conv_gemm(batch, in_channels, out_channels, groups, geom, X, W, group_out * kg, MR * kg, kg,
              1, B, NULL, Y, act, act_a, act_b);
}

void dlg_conv_packed_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                         const int64_t *geom, const float *X, const float *Wp, const float *B,
                         const float *Z, float *Y, int act, float act_a, float act_b) {
    const size_t group_out = out_channels / groups;
    const size_t kg = in_channels / groups * geom_taps(geom);
    conv_gemm(batch, in_channels, out_channels, groups, geom, X, Wp,
              (group_out + MR - 1) / MR * MR * kg, kg * MR, 1, MR, B, Z, Y, act, act_a, act_b);
}

/* y (one output row of a channel) += every kernel tap of w over the input plane x. */
static void depthwise_row(float *y, const float *x, const float *w, const dlg_geom_axis ax[3],
                          int64_t od, int64_t oh) {
    int64_t td, th, tw, ow;
    for (td = 0; td < ax[0].kernel; ++td) {
        const int64_t id = od * ax[0].stride - ax[0].pad_begin + td * ax[0].dilation;
        if (id < 0 || id >= ax[0].in) {
            continue;
        }
        for (th = 0; th < ax[1].kernel; ++th) {
            const int64_t ih = oh * ax[1].stride - ax[1].pad_begin + th * ax[1].dilation;
            const float *taps = w + (td * ax[1].kernel + th) * ax[2].kernel;
            if (ih < 0 || ih >= ax[1].in) {
                continue;
            }
            for (tw = 0; tw < ax[2].kernel; ++tw) {
                const float wt = taps[tw];
                const int64_t offset = tw * ax[2].dilation - ax[2].pad_begin;
                const float *xrow = x + (id * ax[1].in + ih) * ax[2].in;
                int64_t lo, hi;
                dlg_geom_tap_range(&ax[2], tw, &lo, &hi);
                if (ax[2].stride == 1) {
                    for (ow = lo; ow < hi; ++ow) {
                        y[ow] += wt * xrow[ow + offset];
                    }
                } else {
                    for (ow = lo; ow < hi; ++ow) {
                        y[ow] += wt * xrow[ow * ax[2].stride + offset];
                    }
                }
            }
        }
    }
}

void dlg_conv_depthwise_f32(size_t batch, size_t channels, const int64_t *geom, const float *X,
                            const float *W, const float *B, const float *Z, float *Y, int act,
                            float act_a, float act_b) {
    dlg_geom_axis ax[3];
    size_t n, c, in_plane, out_plane, taps, i;
    int64_t od, oh;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    for (n = 0; n < batch; ++n) {
        for (c = 0; c < channels; ++c) {
            const size_t plane = n * channels + c;
            const float *x = X + plane * in_plane;
            const float bias = B != NULL ? B[c] : 0.0f;
            for (od = 0; od < ax[0].out; ++od) {
                for (oh = 0; oh < ax[1].out; ++oh) {
                    const size_t row = ((size_t)od * (size_t)ax[1].out + (size_t)oh)
                                       * (size_t)ax[2].out;
                    float *y = Y + plane * out_plane + row;
                    for (i = 0; i < (size_t)ax[2].out; ++i) {
                        y[i] = Z != NULL ? bias + Z[plane * out_plane + row + i] : bias;
                    }
                    depthwise_row(y, x, W + c * taps, ax, od, oh);
                    dlg_act_inplace(y, (size_t)ax[2].out, act, act_a, act_b);
                }
            }
        }
    }
}
