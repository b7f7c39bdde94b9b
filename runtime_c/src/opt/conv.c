/* Fast convolution: an implicit GEMM over the packed GEMM core (sgemm.c) whose B panels are
 * im2col columns built on the fly, DLG_SGEMM_NR output positions at a time, in a stack buffer
 * of NB panels; a direct depthwise kernel that finishes one output row at a time; and, for
 * --kernels cblas, an explicit im2col followed by one dlg_gemm_f32 (a CBLAS call). */
#include "dlgen/conv.h"
#include "dlgen/gemm.h"
#include "dlgen/geometry.h"
#include "dlgen/sgemm.h"

#define MR DLG_SGEMM_MR
#define NR DLG_SGEMM_NR
#define KC DLG_SGEMM_KC
/* Output positions per im2col block: NB panels of NR, packed together so that each A
 * micro-panel of weights is reused across all of them (the block, KC x NB * NR floats, lives on
 * the stack and in L2). */
#define NB 6

/* The output positions [first, first + count) of a plane, as runs of consecutive positions in
 * one output row: run r covers panel columns [start[r], start[r] + len[r]) and reads input
 * depth d[r], row h[r] and columns w[r] + j * stride for its first tap. */
typedef struct {
    int64_t d[NR], h[NR], w[NR];
    size_t start[NR], len[NR];
    size_t runs, first, count;
} pixel_panel;

/* dst[0, NR) = src[0, count), zero-padded: a fixed-size copy for full panels, which compilers
 * turn into a few vector moves (a variable-size memcpy is slow at this size). */
static void copy_panel_row(float *dst, const float *src, size_t count) {
    size_t j;
    if (count == NR) {
        for (j = 0; j < NR; ++j) {
            dst[j] = src[j];
        }
        return;
    }
    for (j = 0; j < count; ++j) {
        dst[j] = src[j];
    }
    for (; j < NR; ++j) {
        dst[j] = 0.0f;
    }
}

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

/* The runs of output positions [p0, p0 + np) of a plane (np <= NR). */
static void panel_origins(const dlg_geom_axis ax[3], size_t p0, size_t np, pixel_panel *px) {
    const size_t row = (size_t)ax[2].out, plane = row * (size_t)ax[1].out;
    size_t j = 0, r = 0;
    while (j < np) {
        const size_t p = p0 + j, col = p % row;
        const size_t len = np - j < row - col ? np - j : row - col;
        px->d[r] = (int64_t)(p / plane) * ax[0].stride - ax[0].pad_begin;
        px->h[r] = (int64_t)(p % plane / row) * ax[1].stride - ax[1].pad_begin;
        px->w[r] = (int64_t)col * ax[2].stride - ax[2].pad_begin;
        px->start[r] = j;
        px->len[r] = len;
        j += len;
        ++r;
    }
    px->runs = r;
    px->first = p0;
    px->count = np;
}

/* dst[0, len) = the input row x_row read at columns w + j * stride (+ the tap's offset
 * folded into w), zero where a column falls into padding. */
static void gather_run(float *dst, const float *x_row, int64_t w, int64_t stride, int64_t width,
                       size_t len) {
    /* Columns inside the row: j in [lo, hi) (no division for the common stride 1). */
    const int64_t last = width - 1 - w;
    const int64_t lo = w >= 0 ? 0 : (stride == 1 ? -w : (-w + stride - 1) / stride);
    int64_t hi = last < 0 ? 0 : (stride == 1 ? last + 1 : last / stride + 1), j;
    if (hi > (int64_t)len) {
        hi = (int64_t)len;
    }
    for (j = 0; j < lo && j < (int64_t)len; ++j) {
        dst[j] = 0.0f;
    }
    if (stride == 1) {
        for (j = lo; j < hi; ++j) {
            dst[j] = x_row[w + j];
        }
    } else {
        for (j = lo; j < hi; ++j) {
            dst[j] = x_row[w + j * stride];
        }
    }
    for (j = hi > lo ? hi : lo; j < (int64_t)len; ++j) {
        dst[j] = 0.0f;
    }
}

/* One im2col row: the values of kernel tap (td, th, tw) of the input plane x at the panel's
 * output positions, zero where the tap falls into padding; columns past count are zero. */
static void im2col_row(const float *x, const dlg_geom_axis ax[3], const pixel_panel *px,
                       int64_t td, int64_t th, int64_t tw, float *dst) {
    const int64_t od = td * ax[0].dilation, oh = th * ax[1].dilation, ow = tw * ax[2].dilation;
    size_t r, j;
    for (r = 0; r < px->runs; ++r) {
        const int64_t id = px->d[r] + od, ih = px->h[r] + oh;
        float *out = dst + px->start[r];
        if (id < 0 || id >= ax[0].in || ih < 0 || ih >= ax[1].in) {
            for (j = 0; j < px->len[r]; ++j) {
                out[j] = 0.0f;
            }
        } else {
            gather_run(out, x + (id * ax[1].in + ih) * ax[2].in, px->w[r] + ow, ax[2].stride,
                       ax[2].in, px->len[r]);
        }
    }
    for (j = px->count; j < NR; ++j) {
        dst[j] = 0.0f;
    }
}

/* Pack im2col rows [k0, k0 + kc) (row k = channel * taps + tap) of the panel's positions. */
static void pack_im2col(const float *x, size_t in_plane, const dlg_geom_axis ax[3],
                        const pixel_panel *px, size_t k0, size_t kc, float *panel) {
    const size_t kh_kw = (size_t)(ax[1].kernel * ax[2].kernel);
    const size_t taps = (size_t)ax[0].kernel * kh_kw;
    size_t c = k0 / taps, t = k0 % taps, k;
    int64_t td = (int64_t)(t / kh_kw), th = (int64_t)(t % kh_kw / (size_t)ax[2].kernel);
    int64_t tw = (int64_t)(t % (size_t)ax[2].kernel);
    if (is_pointwise(ax)) {
        for (k = 0; k < kc; ++k, panel += NR) {
            copy_panel_row(panel, x + (k0 + k) * in_plane + px->first, px->count);
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

/* The weights of one group as sgemm.h's A:
 * W_g(m, k) = w[(m / MR) * ps + (m % MR) * rs + k * cs]. */
typedef struct {
    const float *w;
    size_t ps, rs, cs;
} conv_weights;

/* Output positions [p0, p0 + np) of one image and group: pack their im2col columns KC rows at a
 * time and multiply, the epilogue (bias, residual, activation) after the last K block. */
static void conv_block(const float *x, size_t in_plane, const dlg_geom_axis ax[3], size_t kg,
                       size_t rows, conv_weights wg, size_t p0, size_t np, float *y,
                       size_t out_plane, dlg_sgemm_epilogue ep) {
    float block[KC * NR * NB];
    pixel_panel px;
    size_t k0, j;
    if (ep.residual != NULL) {
        ep.residual += p0;
    }
    for (k0 = 0; k0 < kg; k0 += KC) {
        const size_t kc = kg - k0 < KC ? kg - k0 : KC;
        for (j = 0; j < np; j += NR) {
            panel_origins(ax, p0 + j, np - j < NR ? np - j : NR, &px);
            pack_im2col(x, in_plane, ax, &px, k0, kc, block + j / NR * kc * NR);
        }
        dlg_sgemm_panels(rows, np, kc, wg.w + k0 * wg.cs, wg.ps, wg.rs, wg.cs, block, kc * NR,
                         y + p0, out_plane, k0 > 0, k0 + kc == kg ? &ep : NULL);
    }
}

/* A convolution's epilogue: a bias per output channel (row) and a residual laid out like Y;
 * bias and residual pointers are set per image and group. */
static dlg_sgemm_epilogue conv_epilogue(size_t out_plane, int act, float act_a, float act_b) {
    dlg_sgemm_epilogue ep = dlg_sgemm_no_epilogue();
    ep.bias_rs = 1;
    ep.res_ld = out_plane;
    ep.act = act;
    ep.act_a = act_a;
    ep.act_b = act_b;
    return ep;
}

/* The implicit GEMM shared by both weight layouts; group g's weights start at w + g * w_gs.
 * Blocks of output positions are independent: with threads they are split among them. */
static void conv_gemm(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                      const int64_t *geom, const float *X, const float *w, size_t w_gs,
                      size_t w_ps, size_t w_rs, size_t w_cs, const float *B, const float *Z,
                      float *Y, int act, float act_a, float act_b) {
    dlg_geom_axis ax[3];
    size_t n, g, in_plane, out_plane, taps;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_sgemm_epilogue ep;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    ep = conv_epilogue(out_plane, act, act_a, act_b);
    for (n = 0; n < batch; ++n) {
        for (g = 0; g < groups; ++g) {
            const size_t kg = group_in * taps, first = n * out_channels + g * group_out;
            const ptrdiff_t blocks = (ptrdiff_t)((out_plane + NR * NB - 1) / (NR * NB));
            const float *x = X + (n * in_channels + g * group_in) * in_plane;
            float *y = Y + first * out_plane;
            conv_weights wg;
            ptrdiff_t b;
            wg.w = w + g * w_gs;
            wg.ps = w_ps;
            wg.rs = w_rs;
            wg.cs = w_cs;
            ep.bias = B != NULL ? B + g * group_out : NULL;
            ep.residual = Z != NULL ? Z + first * out_plane : NULL;
            DLG_PARALLEL_FOR(group_out * kg * out_plane)
            for (b = 0; b < blocks; ++b) {
                const size_t p0 = (size_t)b * NR * NB;
                const size_t np = out_plane - p0 < NR * NB ? out_plane - p0 : NR * NB;
                conv_block(x, in_plane, ax, kg, group_out, wg, p0, np, y, out_plane, ep);
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
                  const int64_t *geom, const float *X, const float *W, const float *B,
                  const float *Z, float *Y, int act, float act_a, float act_b) {
    const size_t group_out = out_channels / groups;
    const size_t kg = in_channels / groups * geom_taps(geom);
    /* Plain rows: W_g(m, k) = W[(g * group_out + m) * kg + k]. */
    conv_gemm(batch, in_channels, out_channels, groups, geom, X, W, group_out * kg, MR * kg, kg,
              1, B, Z, Y, act, act_a, act_b);
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
    size_t n, in_plane, out_plane, taps;
    ptrdiff_t ci;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    for (n = 0; n < batch; ++n) {
        DLG_PARALLEL_FOR(channels * out_plane * taps)
        for (ci = 0; ci < (ptrdiff_t)channels; ++ci) {
            const size_t c = (size_t)ci, plane = n * channels + c;
            size_t i;
            int64_t od, oh;
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

/* col [group_in * taps, out_plane] = the im2col matrix of the planes x [group_in, in_plane]:
 * row c * taps + tap holds the input value each output position reads through that tap. */
static void im2col(const float *x, size_t group_in, size_t in_plane, const dlg_geom_axis ax[3],
                   float *col) {
    const size_t out_w = (size_t)ax[2].out;
    size_t c;
    int64_t td, th, tw, od, oh, ow, lo, hi;
    for (c = 0; c < group_in; ++c) {
        const float *plane = x + c * in_plane;
        for (td = 0; td < ax[0].kernel; ++td) {
            for (th = 0; th < ax[1].kernel; ++th) {
                for (tw = 0; tw < ax[2].kernel; ++tw) {
                    const int64_t offset = tw * ax[2].dilation - ax[2].pad_begin;
                    dlg_geom_tap_range(&ax[2], tw, &lo, &hi);
                    for (od = 0; od < ax[0].out; ++od) {
                        const int64_t id = od * ax[0].stride - ax[0].pad_begin
                                           + td * ax[0].dilation;
                        for (oh = 0; oh < ax[1].out; ++oh, col += out_w) {
                            const int64_t ih = oh * ax[1].stride - ax[1].pad_begin
                                               + th * ax[1].dilation;
                            const int inside = id >= 0 && id < ax[0].in && ih >= 0
                                               && ih < ax[1].in;
                            const float *row = inside
                                ? plane + (id * ax[1].in + ih) * ax[2].in : plane;
                            for (ow = 0; ow < (int64_t)out_w; ++ow) {
                                col[ow] = inside && ow >= lo && ow < hi
                                    ? row[ow * ax[2].stride + offset] : 0.0f;
                            }
                        }
                    }
                }
            }
        }
    }
}

void dlg_conv_im2col_f32(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                         const int64_t *geom, const float *X, const float *W, const float *B,
                         const float *Z, float *Y, float *col, int act, float act_a,
                         float act_b) {
    dlg_geom_axis ax[3];
    size_t n, g, in_plane, out_plane, taps;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_sgemm_epilogue ep;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    ep = conv_epilogue(out_plane, act, act_a, act_b);
    for (n = 0; n < batch; ++n) {
        for (g = 0; g < groups; ++g) {
            const size_t kg = group_in * taps, first = n * out_channels + g * group_out;
            const float *x = X + (n * in_channels + g * group_in) * in_plane;
            float *y = Y + first * out_plane;
            if (col != NULL) {
                im2col(x, group_in, in_plane, ax, col);
            }
            dlg_gemm_f32(0, 0, group_out, out_plane, kg, 1.0f, W + g * group_out * kg,
                         col != NULL ? col : x, 0.0f, NULL, 0, 0, y, DLG_ACT_NONE, 0.0f, 0.0f);
            ep.bias = B != NULL ? B + g * group_out : NULL;
            ep.residual = Z != NULL ? Z + first * out_plane : NULL;
            dlg_sgemm_apply_epilogue(&ep, group_out, out_plane, y, out_plane);
        }
    }
}
