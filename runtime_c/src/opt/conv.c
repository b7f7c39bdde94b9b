/* Fast convolution: an implicit GEMM over the packed GEMM core (sgemm.c) whose B panels are
 * im2col columns built on the fly, DLG_SGEMM_NR output positions at a time, in a stack buffer
 * of NB panels; a direct depthwise kernel that finishes one output row at a time; and, for
 * --kernels cblas, an explicit im2col followed by one dlg_gemm_blas_f32 (a CBLAS call). */
#include <string.h>

#include "dlgen/conv.h"
#include "dlgen/gemm.h"
#include "dlgen/geometry.h"
#include "dlgen/parallel.h"
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

/* ---- Small unit-stride 2-D convolutions (LeNet-sized) ------------------------------------
 * The input planes are copied once into a zero-padded buffer xp [C, Hp, Wp]. Numbering the
 * output positions over the padded width, n = oh * Wp + ow, the im2col row of tap (c, kh, kw)
 * is then the contiguous slice xp[c, kh * dilation_h, kw + n], which the GEMM core reads in
 * place (dlg_sgemm_rows): nothing is packed, where the general path walks the runs of output
 * rows tap by tap (on small convolutions that costs more than the GEMM). The Wp - Wo columns
 * past each output row are computed and dropped. */
#define SMALL_XP_MAX 8192 /* floats of the padded input planes of one group (and a panel) */
#define SMALL_ROWS_MAX 48 /* output channels of one group */

/* The padded height and width (Hp, Wp) when the small path applies to these axes, else 0. */
static size_t small_padded_plane(const dlg_geom_axis ax[3], size_t group_in, size_t rows,
                                 size_t *hp, size_t *wp) {
    *hp = (size_t)(ax[1].out + (ax[1].kernel - 1) * ax[1].dilation);
    *wp = (size_t)(ax[2].out + ax[2].kernel - 1);
    if (ax[0].in != 1 || ax[0].out != 1 || ax[0].kernel != 1 || ax[1].stride != 1
        || ax[2].stride != 1 || ax[2].dilation != 1 || is_pointwise(ax)
        || (int64_t)*hp != ax[1].in + ax[1].pad_begin + ax[1].pad_end
        || (int64_t)*wp != ax[2].in + ax[2].pad_begin + ax[2].pad_end
        || rows > SMALL_ROWS_MAX || group_in * *hp * *wp + NR > SMALL_XP_MAX) {
        return 0;
    }
    return *hp * *wp;
}

/* xp [C, Hp, Wp] (and NR floats past it, which the last panel may read) = x [C, H, W] placed
 * at (pad_begin_h, pad_begin_w), zeros around. */
static void pad_planes(const float *x, size_t channels, const dlg_geom_axis ax[3], size_t hp,
                       size_t wp, float *xp) {
    const size_t height = (size_t)ax[1].in, width = (size_t)ax[2].in;
    size_t c, h;
    memset(xp, 0, (channels * hp * wp + NR) * sizeof(float));
    for (c = 0; c < channels; ++c) {
        for (h = 0; h < height; ++h) {
            memcpy(xp + (c * hp + h + (size_t)ax[1].pad_begin) * wp + (size_t)ax[2].pad_begin,
                   x + (c * height + h) * width, width * sizeof(float));
        }
    }
}

/* off[k] = where im2col row k0 + k (tap (c, kh, kw)) starts in xp, for k < kc. */
static void tap_offsets(const dlg_geom_axis ax[3], size_t hp, size_t wp, size_t k0, size_t kc,
                        ptrdiff_t *off) {
    const size_t kh_n = (size_t)ax[1].kernel, kw_n = (size_t)ax[2].kernel;
    size_t c = k0 / (kh_n * kw_n), th = k0 % (kh_n * kw_n) / kw_n, tw = k0 % kw_n, k;
    for (k = 0; k < kc; ++k) {
        off[k] = (ptrdiff_t)((c * hp + th * (size_t)ax[1].dilation) * wp + tw);
        if (++tw == kw_n) { /* next tap, carrying into h and the channel */
            tw = 0;
            if (++th == kh_n) {
                th = 0;
                ++c;
            }
        }
    }
}

/* Y = the padded positions [p0, p0 + np) that are outputs, from c [rows, NR * NB]: copied
 * when the GEMM applied the epilogue (ep NULL), else as act(C + bias + residual) (the
 * residual is laid out like Y, not like c). */
static void store_small(const float *c, size_t rows, size_t p0, size_t np, size_t wp,
                        size_t wo, size_t out_plane, const dlg_sgemm_epilogue *ep, float *y) {
    size_t n = p0, m, i;
    while (n < p0 + np) {
        const size_t oh = n / wp, ow = n % wp;
        const size_t row_end = (oh + 1) * wp < p0 + np ? (oh + 1) * wp : p0 + np;
        const size_t len = ow >= wo ? 0 : (row_end - n < wo - ow ? row_end - n : wo - ow);
        for (m = 0; m < rows && len > 0; ++m) {
            const size_t at = m * out_plane + oh * wo + ow;
            const float *src = c + m * NR * NB + (n - p0);
            if (ep == NULL) {
                for (i = 0; i < len; ++i) { /* short rows: a loop beats a memcpy call */
                    y[at + i] = src[i];
                }
                continue;
            }
            for (i = 0; i < len; ++i) {
                y[at + i] = src[i] + (ep->bias != NULL ? ep->bias[m] : 0.0f)
                            + ep->residual[at + i];
            }
            dlg_act_inplace(y + at, len, ep->act, ep->act_a, ep->act_b);
        }
        n = row_end;
    }
}

/* One image and group on the small path (small_padded_plane said yes): blocks of NR * NB
 * padded positions, the last output row cut at Wo. */
static void conv_small(const float *x, const dlg_geom_axis ax[3], size_t group_in, size_t rows,
                       size_t hp, size_t wp, conv_weights wg, float *y, size_t out_plane,
                       const dlg_sgemm_epilogue *ep) {
    float xp[SMALL_XP_MAX];
    float c[SMALL_ROWS_MAX * NR * NB];
    ptrdiff_t off[KC];
    const size_t kg = group_in * (size_t)(ax[1].kernel * ax[2].kernel), wo = (size_t)ax[2].out;
    const size_t positions = ((size_t)ax[1].out - 1) * wp + wo;
    /* Bias and activation in the GEMM's epilogue (per row of c) unless there is a residual. */
    dlg_sgemm_epilogue gemm_ep = *ep;
    const int in_gemm = ep->residual == NULL;
    size_t p0, k0;
    gemm_ep.res_ld = NR * NB;
    pad_planes(x, group_in, ax, hp, wp, xp);
    for (p0 = 0; p0 < positions; p0 += NR * NB) {
        const size_t np = positions - p0 < NR * NB ? positions - p0 : NR * NB;
        for (k0 = 0; k0 < kg; k0 += KC) {
            const size_t kc = kg - k0 < KC ? kg - k0 : KC;
            tap_offsets(ax, hp, wp, k0, kc, off);
            dlg_sgemm_rows(rows, np, kc, wg.w + k0 * wg.cs, wg.ps, wg.rs, wg.cs, xp + p0, off,
                           c, NR * NB, k0 > 0, in_gemm && k0 + kc == kg ? &gemm_ep : NULL);
        }
        store_small(c, rows, p0, np, wp, wo, out_plane, in_gemm ? NULL : ep, y);
    }
}

/* One image and group of conv_gemm, as units of work for dlg_parallel_for: a block of NR * NB
 * output positions times a chunk of `chunk` output channels (a multiple of MR), unit
 * u = chunk index * blocks + block. A plane of many blocks is split by blocks only (one chunk);
 * a plane of few (ResNet's 7x7 and 14x14 layers: 1 and 3 blocks) into one chunk of channels
 * per thread, so that every thread gets the same work: each thread then packs the im2col
 * blocks it needs once, as a single thread would, and computes its share of the channels. */
typedef struct {
    const float *x;
    size_t in_plane;
    const dlg_geom_axis *ax;
    size_t kg, rows, chunk, blocks;
    conv_weights wg;
    float *y;
    size_t out_plane;
    dlg_sgemm_epilogue ep;
} conv_job;

/* Units [begin, end) of a conv_job. */
static void conv_blocks(void *arg, size_t begin, size_t end) {
    const conv_job *job = (const conv_job *)arg;
    size_t u;
    for (u = begin; u < end; ++u) {
        const size_t r0 = u / job->blocks * job->chunk, p0 = u % job->blocks * NR * NB;
        const size_t rows = job->rows - r0 < job->chunk ? job->rows - r0 : job->chunk;
        const size_t np = job->out_plane - p0 < NR * NB ? job->out_plane - p0 : NR * NB;
        conv_weights wg = job->wg;
        dlg_sgemm_epilogue ep = job->ep;
        wg.w += r0 / MR * wg.ps;
        if (ep.bias != NULL) {
            ep.bias += r0 * ep.bias_rs;
        }
        if (ep.residual != NULL) {
            ep.residual += r0 * job->out_plane;
        }
        conv_block(job->x, job->in_plane, job->ax, job->kg, rows, wg, p0, np,
                   job->y + r0 * job->out_plane, job->out_plane, ep);
    }
}

/* Output channels per unit of a conv_job: all of them, unless the plane has fewer than 4
 * blocks per thread (split by blocks, threads would get uneven shares of few blocks) and there
 * are at least 4 * MR channels per thread; then one chunk per thread. */
static size_t conv_chunk(size_t rows, size_t blocks) {
    const size_t threads = DLG_PARALLEL_THREADS;
    if (threads == 1 || blocks >= 4 * threads || rows < threads * 4 * MR) {
        return rows;
    }
    return ((rows + threads - 1) / threads + MR - 1) / MR * MR;
}

/* The implicit GEMM shared by both weight layouts; group g's weights start at w + g * w_gs. */
static void conv_gemm(size_t batch, size_t in_channels, size_t out_channels, size_t groups,
                      const int64_t *geom, const float *X, const float *w, size_t w_gs,
                      size_t w_ps, size_t w_rs, size_t w_cs, const float *B, const float *Z,
                      float *Y, int act, float act_a, float act_b) {
    dlg_geom_axis ax[3];
    size_t n, g, in_plane, out_plane, taps, hp, wp;
    const size_t group_in = in_channels / groups, group_out = out_channels / groups;
    dlg_sgemm_epilogue ep;
    dlg_geom_read(geom, ax, &in_plane, &out_plane, &taps);
    ep = conv_epilogue(out_plane, act, act_a, act_b);
    for (n = 0; n < batch; ++n) {
        for (g = 0; g < groups; ++g) {
            const size_t first = n * out_channels + g * group_out;
            conv_job job;
            job.x = X + (n * in_channels + g * group_in) * in_plane;
            job.in_plane = in_plane;
            job.ax = ax;
            job.kg = group_in * taps;
            job.rows = group_out;
            job.wg.w = w + g * w_gs;
            job.wg.ps = w_ps;
            job.wg.rs = w_rs;
            job.wg.cs = w_cs;
            job.y = Y + first * out_plane;
            job.out_plane = out_plane;
            job.ep = ep;
            job.ep.bias = B != NULL ? B + g * group_out : NULL;
            job.ep.residual = Z != NULL ? Z + first * out_plane : NULL;
            if (small_padded_plane(ax, group_in, group_out, &hp, &wp) > 0) {
                conv_small(job.x, ax, group_in, group_out, hp, wp, job.wg, job.y, out_plane,
                           &job.ep);
                continue;
            }
            job.blocks = (out_plane + NR * NB - 1) / (NR * NB);
            job.chunk = conv_chunk(group_out, job.blocks);
            dlg_parallel_for(job.blocks * ((group_out + job.chunk - 1) / job.chunk),
                             group_out * job.kg * out_plane, conv_blocks, &job);
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

/* dlg_conv_depthwise_f32's arguments, for dlg_parallel_for over the planes (image, channel). */
typedef struct {
    const dlg_geom_axis *ax;
    size_t channels, in_plane, out_plane, taps;
    const float *X, *W, *B, *Z;
    float *Y;
    int act;
    float act_a, act_b;
} depthwise_job;

/* Planes [begin, end) (plane = image * channels + channel) of a depthwise convolution. */
static void depthwise_planes(void *arg, size_t begin, size_t end) {
    const depthwise_job *job = (const depthwise_job *)arg;
    const dlg_geom_axis *ax = job->ax;
    size_t plane, i;
    int64_t od, oh;
    for (plane = begin; plane < end; ++plane) {
        const size_t c = plane % job->channels;
        const float *x = job->X + plane * job->in_plane;
        const float bias = job->B != NULL ? job->B[c] : 0.0f;
        for (od = 0; od < ax[0].out; ++od) {
            for (oh = 0; oh < ax[1].out; ++oh) {
                const size_t row = (plane * (size_t)ax[0].out + (size_t)od) * (size_t)ax[1].out
                                   * (size_t)ax[2].out + (size_t)oh * (size_t)ax[2].out;
                float *y = job->Y + row;
                for (i = 0; i < (size_t)ax[2].out; ++i) {
                    y[i] = job->Z != NULL ? bias + job->Z[row + i] : bias;
                }
                depthwise_row(y, x, job->W + c * job->taps, ax, od, oh);
                dlg_act_inplace(y, (size_t)ax[2].out, job->act, job->act_a, job->act_b);
            }
        }
    }
}

void dlg_conv_depthwise_f32(size_t batch, size_t channels, const int64_t *geom, const float *X,
                            const float *W, const float *B, const float *Z, float *Y, int act,
                            float act_a, float act_b) {
    dlg_geom_axis ax[3];
    depthwise_job job;
    dlg_geom_read(geom, ax, &job.in_plane, &job.out_plane, &job.taps);
    job.ax = ax;
    job.channels = channels;
    job.X = X;
    job.W = W;
    job.B = B;
    job.Z = Z;
    job.Y = Y;
    job.act = act;
    job.act_a = act_a;
    job.act_b = act_b;
    dlg_parallel_for(batch * channels, batch * channels * job.out_plane * job.taps,
                     depthwise_planes, &job);
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
#ifdef DLG_USE_CBLAS
            dlg_gemm_blas_f32(0, 0, group_out, out_plane, kg, 1.0f, W + g * group_out * kg,
                              col != NULL ? col : x, 0.0f, NULL, 0, 0, y, DLG_ACT_NONE, 0.0f,
                              0.0f);
#else
            dlg_gemm_f32(0, 0, group_out, out_plane, kg, 1.0f, W + g * group_out * kg,
                         col != NULL ? col : x, 0.0f, NULL, 0, 0, y, DLG_ACT_NONE, 0.0f, 0.0f);
#endif
            ep.bias = B != NULL ? B + g * group_out : NULL;
            ep.residual = Z != NULL ? Z + first * out_plane : NULL;
            dlg_sgemm_apply_epilogue(&ep, group_out, out_plane, y, out_plane);
        }
    }
}
