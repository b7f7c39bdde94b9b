/* Reference pooling kernels: for each output position, scan the taps of its window that lie
 * inside the input (padding never wins a max and is never summed). The window's tap ranges are
 * worked out per axis first, so the scan has no bounds checks. */
#include <float.h>

#include "dlgen/geometry.h"
#include "dlgen/pool.h"

typedef dlg_geom_axis pool_axis; /* one spatial axis of the geometry table */

/* The window of one output along one axis: input index start + k * dilation for tap k; taps
 * [lo, hi) lie inside the input; padded counts the taps inside the padded input. */
typedef struct {
    int64_t start, lo, hi, padded;
} pool_window;

static int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b; /* a >= 0, b > 0 */
}

static pool_window axis_window(const pool_axis *a, int64_t o) {
    pool_window w;
    const int64_t end = o * a->stride - a->pad_begin + a->kernel * a->dilation;
    const int64_t padded_end = end < a->in + a->pad_end ? end : a->in + a->pad_end;
    w.start = o * a->stride - a->pad_begin;
    w.lo = w.start >= 0 ? 0 : ceil_div(-w.start, a->dilation);
    w.hi = w.start >= a->in ? 0 : ceil_div(a->in - w.start, a->dilation);
    if (w.hi > a->kernel) {
        w.hi = a->kernel;
    }
    if (w.lo > w.hi) {
        w.lo = w.hi;
    }
    w.padded = padded_end > w.start ? ceil_div(padded_end - w.start, a->dilation) : 0;
    return w;
}

/* The largest input value in a window (-FLT_MAX when it has no input taps) and its position
 * (-1 when none). */
static float window_max(const float *x, const pool_axis ax[3], const pool_window w[3],
                        int64_t pos[3]) {
    float best = -FLT_MAX;
    int found = 0;
    int64_t kd, kh, kw;
    pos[0] = pos[1] = pos[2] = -1;
    for (kd = w[0].lo; kd < w[0].hi; ++kd) {
        const int64_t id = w[0].start + kd * ax[0].dilation;
        for (kh = w[1].lo; kh < w[1].hi; ++kh) {
            const int64_t ih = w[1].start + kh * ax[1].dilation;
            const float *x_row = x + (id * ax[1].in + ih) * ax[2].in;
            for (kw = w[2].lo; kw < w[2].hi; ++kw) {
                const int64_t iw = w[2].start + kw * ax[2].dilation;
                if (!found || x_row[iw] > best) {
                    best = x_row[iw];
                    pos[0] = id;
                    pos[1] = ih;
                    pos[2] = iw;
                    found = 1;
                }
            }
        }
    }
    return best;
}

/* The sum over a window's input taps of x (lp = 0) or of |x|^p (lp = 1); *count receives
 * the number of those taps. */
static float window_sum(const float *x, const pool_axis ax[3], const pool_window w[3], int lp,
                        float p, int64_t *count) {
    float sum = 0.0f;
    int64_t kd, kh, kw;
    for (kd = w[0].lo; kd < w[0].hi; ++kd) {
        const int64_t id = w[0].start + kd * ax[0].dilation;
        for (kh = w[1].lo; kh < w[1].hi; ++kh) {
            const int64_t ih = w[1].start + kh * ax[1].dilation;
            const float *x_row = x + (id * ax[1].in + ih) * ax[2].in;
            for (kw = w[2].lo; kw < w[2].hi; ++kw) {
                const float v = x_row[w[2].start + kw * ax[2].dilation];
                sum += lp ? powf(fabsf(v), p) : v;
            }
        }
    }
    *count = (w[0].hi - w[0].lo) * (w[1].hi - w[1].lo) * (w[2].hi - w[2].lo);
    return sum;
}

/* base + the position's offset under index_strides; -1 for no position. */
static int64_t flat_index(int64_t base, const int64_t pos[3], const int64_t strides[3]) {
    if (pos[0] < 0) {
        return -1;
    }
    return base + pos[0] * strides[0] + pos[1] * strides[1] + pos[2] * strides[2];
}

typedef enum { POOL_MAX, POOL_AVERAGE, POOL_LP } pool_kind;

/* The value of one output window: its max and its position in pos, its average
 * over the taps inside the input or the padded input (count_include_pad), or its Lp norm. */
static float pool_window_value(const float *x, const pool_axis ax[3], const pool_window w[3],
                               pool_kind kind, int count_include_pad, float p, int64_t pos[3]) {
    int64_t count;
    float sum;
    if (kind == POOL_MAX) {
        return window_max(x, ax, w, pos);
    }
    sum = window_sum(x, ax, w, kind == POOL_LP, p, &count);
    if (kind == POOL_LP) {
        return powf(sum, 1.0f / p);
    }
    if (count == 0) {
        return 0.0f;
    }
    if (count_include_pad) {
        count = w[0].padded * w[1].padded * w[2].padded;
    }
    return sum / (float)count;
}

/* Every output window of every plane, in row-major order (see the public kernels below). */
static void pool_f32(size_t planes, const int64_t *geom, pool_kind kind, int count_include_pad,
                     float p, const float *X, float *Y, int64_t *I,
                     const int64_t *index_strides) {
    pool_axis ax[3];
    pool_window w[3];
    int64_t o[3], pos[3];
    size_t in_plane, pl, k = 0;
    dlg_geom_read(geom, ax, &in_plane, NULL, NULL);
    for (pl = 0; pl < planes; ++pl) {
        const float *x = X + pl * in_plane;
        for (o[0] = 0; o[0] < ax[0].out; ++o[0]) {
            w[0] = axis_window(&ax[0], o[0]);
            for (o[1] = 0; o[1] < ax[1].out; ++o[1]) {
                w[1] = axis_window(&ax[1], o[1]);
                for (o[2] = 0; o[2] < ax[2].out; ++o[2], ++k) {
                    w[2] = axis_window(&ax[2], o[2]);
                    Y[k] = pool_window_value(x, ax, w, kind, count_include_pad, p, pos);
                    if (I) {
                        I[k] = flat_index((int64_t)(pl * in_plane), pos, index_strides);
                    }
                }
            }
        }
    }
}

/* y (one output row) = the max or the sum over the taps of the windows along W, for one input
 * row x; taps of a window that fall into padding are skipped. */
static void pool_row_taps(float *y, const float *x, const pool_axis *aw, int is_max) {
    int64_t tw, ow, lo, hi;
    if (aw->kernel == 2 && aw->dilation == 1 && aw->pad_begin == 0
        && (aw->out - 1) * aw->stride + 1 < aw->in) {
        /* Two taps inside the row for every window (2 x 2 pooling): one loop for both. */
        const int64_t s = aw->stride;
        if (is_max) {
            for (ow = 0; ow < aw->out; ++ow) {
                const float a = x[ow * s], b = x[ow * s + 1];
                const float m = y[ow] < a ? a : y[ow];
                y[ow] = m < b ? b : m;
            }
        } else {
            for (ow = 0; ow < aw->out; ++ow) {
                y[ow] = (y[ow] + x[ow * s]) + x[ow * s + 1];
            }
        }
        return;
    }
    for (tw = 0; tw < aw->kernel; ++tw) {
        const int64_t offset = tw * aw->dilation - aw->pad_begin;
        dlg_geom_tap_range(aw, tw, &lo, &hi);
        if (is_max) {
            for (ow = lo; ow < hi; ++ow) {
                const float v = x[ow * aw->stride + offset];
                y[ow] = v > y[ow] ? v : y[ow];
            }
        } else {
            for (ow = lo; ow < hi; ++ow) {
                y[ow] += x[ow * aw->stride + offset];
            }
        }
    }
}

/* y[0..out) (an output row of window sums) /= the number of taps each window counts: `outer`
 * (the D and H windows' share) times the taps of its W window inside the input (or the padded
 * input with count_include_pad). Windows clear of both edges count all their taps; only the
 * others work their W window out. */
static void average_row(float *y, const pool_axis *aw, int64_t outer, int count_include_pad) {
    const int64_t span = (aw->kernel - 1) * aw->dilation;
    int64_t ow;
    for (ow = 0; ow < aw->out; ++ow) {
        const int64_t start = ow * aw->stride - aw->pad_begin;
        int64_t count = outer * aw->kernel;
        if (start < 0 || start + span >= aw->in) {
            const pool_window ww = axis_window(aw, ow);
            count = outer * (count_include_pad ? ww.padded : ww.hi - ww.lo);
        }
        y[ow] = count > 0 ? y[ow] / (float)count : 0.0f;
    }
}

/* Whether a geometry is the common 2 x 2 pooling with stride 2 over planes (no depth, no
 * padding, no dilation, every window inside the input): pool_2x2 computes it. */
static int is_plain_2x2(const pool_axis ax[3]) {
    int i;
    if (ax[0].in != 1 || ax[0].out != 1 || ax[0].kernel != 1) {
        return 0;
    }
    for (i = 1; i < 3; ++i) {
        if (ax[i].kernel != 2 || ax[i].stride != 2 || ax[i].dilation != 1
            || ax[i].pad_begin != 0 || 2 * ax[i].out > ax[i].in) {
            return 0;
        }
    }
    return 1;
}

/* pool_by_rows for is_plain_2x2 geometries: each output row from its two input rows in one
 * loop (a constant stride, which compilers vectorize), the taps in pool_by_rows' order. */
static void pool_2x2(size_t planes, const pool_axis ax[3], int is_max, const float *X,
                     float *Y) {
    const size_t in_w = (size_t)ax[2].in, out_h = (size_t)ax[1].out, out_w = (size_t)ax[2].out;
    size_t pl, oh, ow;
    for (pl = 0; pl < planes; ++pl) {
        for (oh = 0; oh < out_h; ++oh, Y += out_w) {
            const float *r0 = X + (pl * (size_t)ax[1].in + 2 * oh) * in_w, *r1 = r0 + in_w;
            if (is_max) {
                for (ow = 0; ow < out_w; ++ow) {
                    float m = -FLT_MAX;
                    m = r0[2 * ow] > m ? r0[2 * ow] : m;
                    m = r0[2 * ow + 1] > m ? r0[2 * ow + 1] : m;
                    m = r1[2 * ow] > m ? r1[2 * ow] : m;
                    Y[ow] = r1[2 * ow + 1] > m ? r1[2 * ow + 1] : m;
                }
            } else {
                for (ow = 0; ow < out_w; ++ow) {
                    Y[ow] = (((0.0f + r0[2 * ow]) + r0[2 * ow + 1]) + r1[2 * ow]
                             + r1[2 * ow + 1]) / 4.0f;
                }
            }
        }
    }
}

/* MaxPool without indices and AveragePool, one output row at a time: every tap of the D and H
 * windows adds one input row to the output row, so the inner loops walk rows of memory. */
static void pool_by_rows(size_t planes, const int64_t *geom, int is_max, int count_include_pad,
                         const float *X, float *Y) {
    pool_axis ax[3];
    size_t in_plane, pl;
    float *y = Y;
    dlg_geom_read(geom, ax, &in_plane, NULL, NULL);
    if (is_plain_2x2(ax)) {
        pool_2x2(planes, ax, is_max, X, Y);
        return;
    }
    for (pl = 0; pl < planes; ++pl) {
        const float *x = X + pl * in_plane;
        int64_t od, oh, ow, kd, kh;
        for (od = 0; od < ax[0].out; ++od) {
            const pool_window wd = axis_window(&ax[0], od);
            for (oh = 0; oh < ax[1].out; ++oh, y += ax[2].out) {
                const pool_window wh = axis_window(&ax[1], oh);
                for (ow = 0; ow < ax[2].out; ++ow) {
                    y[ow] = is_max ? -FLT_MAX : 0.0f;
                }
                for (kd = wd.lo; kd < wd.hi; ++kd) {
                    const int64_t id = wd.start + kd * ax[0].dilation;
                    for (kh = wh.lo; kh < wh.hi; ++kh) {
                        const int64_t ih = wh.start + kh * ax[1].dilation;
                        pool_row_taps(y, x + (id * ax[1].in + ih) * ax[2].in, &ax[2], is_max);
                    }
                }
                if (!is_max) {
                    average_row(y, &ax[2], count_include_pad ? wd.padded * wh.padded
                                                             : (wd.hi - wd.lo) * (wh.hi - wh.lo),
                                count_include_pad);
                }
            }
        }
    }
}

void dlg_maxpool_f32(size_t planes, const int64_t *geom, const float *X, float *Y, int64_t *I,
                     const int64_t *index_strides) {
    if (I == NULL) {
        pool_by_rows(planes, geom, 1, 0, X, Y);
    } else {
        pool_f32(planes, geom, POOL_MAX, 0, 0.0f, X, Y, I, index_strides);
    }
}

void dlg_avgpool_f32(size_t planes, const int64_t *geom, int count_include_pad, const float *X,
                     float *Y) {
    pool_by_rows(planes, geom, 0, count_include_pad, X, Y);
}

void dlg_global_maxpool_f32(size_t planes, size_t plane_size, const float *X, float *Y) {
    size_t p, i;
    for (p = 0; p < planes; ++p) {
        const float *x = X + p * plane_size;
        float best = x[0];
        for (i = 1; i < plane_size; ++i) {
            best = x[i] > best ? x[i] : best;
        }
        Y[p] = best;
    }
}

void dlg_global_avgpool_f32(size_t planes, size_t plane_size, const float *X, float *Y) {
    size_t p, i;
    for (p = 0; p < planes; ++p) {
        const float *x = X + p * plane_size;
        float sum = 0.0f;
        for (i = 0; i < plane_size; ++i) {
            sum += x[i];
        }
        Y[p] = sum / (float)plane_size;
    }
}

void dlg_lppool_f32(size_t planes, const int64_t *geom, float p, const float *X, float *Y) {
    pool_f32(planes, geom, POOL_LP, 0, p, X, Y, NULL, NULL);
}

void dlg_maxunpool_f32(size_t count, const float *X, const int64_t *I, size_t y_size, float *Y) {
    size_t k;
    for (k = 0; k < y_size; ++k) {
        Y[k] = 0.0f;
    }
    for (k = 0; k < count; ++k) {
        if (I[k] >= 0 && (size_t)I[k] < y_size) {
            Y[I[k]] = X[k];
        }
    }
}

/* One bilinear sample of a roi: four flat positions in a plane and their weights (all 0 for a
 * sample that falls outside the plane by more than a pixel). */
typedef struct {
    size_t pos[4];
    float w[4];
} roi_sample;

static roi_sample bilinear_sample(float y, float x, size_t height, size_t width) {
    roi_sample s;
    size_t i, y_low, x_low, y_high, x_high;
    float ly, lx;
    for (i = 0; i < 4; ++i) {
        s.pos[i] = 0;
        s.w[i] = 0.0f;
    }
    if (y < -1.0f || y > (float)height || x < -1.0f || x > (float)width) {
        return s;
    }
    y = y <= 0.0f ? 0.0f : y;
    x = x <= 0.0f ? 0.0f : x;
    y_low = (size_t)y;
    x_low = (size_t)x;
    if (y_low >= height - 1) {
        y_high = y_low = height - 1;
        y = (float)y_low;
    } else {
        y_high = y_low + 1;
    }
    if (x_low >= width - 1) {
        x_high = x_low = width - 1;
        x = (float)x_low;
    } else {
        x_high = x_low + 1;
    }
    ly = y - (float)y_low;
    lx = x - (float)x_low;
    s.pos[0] = y_low * width + x_low;
    s.pos[1] = y_low * width + x_high;
    s.pos[2] = y_high * width + x_low;
    s.pos[3] = y_high * width + x_high;
    s.w[0] = (1.0f - ly) * (1.0f - lx);
    s.w[1] = (1.0f - ly) * lx;
    s.w[2] = ly * (1.0f - lx);
    s.w[3] = ly * lx;
    return s;
}

/* The value of one output bin over a plane x: the average or the max of its samples. */
static float roi_bin(const float *x, size_t height, size_t width, float y0, float x0,
                     float bin_h, float bin_w, int64_t grid_h, int64_t grid_w, int mode_max) {
    float out = 0.0f;
    int64_t iy, ix;
    size_t i;
    for (iy = 0; iy < grid_h; ++iy) {
        const float y = y0 + ((float)iy + 0.5f) * bin_h / (float)grid_h;
        for (ix = 0; ix < grid_w; ++ix) {
            const roi_sample s = bilinear_sample(y, x0 + ((float)ix + 0.5f) * bin_w /
                                                 (float)grid_w, height, width);
            float v = mode_max ? s.w[0] * x[s.pos[0]] : 0.0f;
            for (i = 0; i < 4; ++i) {
                const float term = s.w[i] * x[s.pos[i]];
                v = mode_max ? (term > v ? term : v) : v + term;
            }
            out = mode_max ? ((iy == 0 && ix == 0) || v > out ? v : out) : out + v;
        }
    }
    if (mode_max) {
        return out;
    }
    return grid_h * grid_w > 0 ? out / (float)(grid_h * grid_w) : out;
}

void dlg_roi_align_f32(size_t channels, size_t height, size_t width, size_t num_rois,
                       size_t out_h, size_t out_w, int64_t sampling_ratio, float spatial_scale,
                       int half_pixel, int mode_max, const float *X, const float *rois,
                       const int64_t *batch_indices, float *Y) {
    const float offset = half_pixel ? 0.5f : 0.0f;
    size_t r, c, ph, pw;
    for (r = 0; r < num_rois; ++r) {
        const float *roi = rois + 4 * r;
        const float x1 = roi[0] * spatial_scale - offset, y1 = roi[1] * spatial_scale - offset;
        float roi_w = roi[2] * spatial_scale - offset - x1;
        float roi_h = roi[3] * spatial_scale - offset - y1;
        float bin_h, bin_w;
        int64_t grid_h, grid_w;
        if (!half_pixel) {
            roi_w = roi_w > 1.0f ? roi_w : 1.0f;
            roi_h = roi_h > 1.0f ? roi_h : 1.0f;
        }
        bin_h = roi_h / (float)out_h;
        bin_w = roi_w / (float)out_w;
        grid_h = sampling_ratio > 0 ? sampling_ratio : (int64_t)ceilf(roi_h / (float)out_h);
        grid_w = sampling_ratio > 0 ? sampling_ratio : (int64_t)ceilf(roi_w / (float)out_w);
        for (c = 0; c < channels; ++c) {
            const float *x = X + ((size_t)batch_indices[r] * channels + c) * height * width;
            float *y = Y + (r * channels + c) * out_h * out_w;
            for (ph = 0; ph < out_h; ++ph) {
                for (pw = 0; pw < out_w; ++pw) {
                    y[ph * out_w + pw] = roi_bin(x, height, width, y1 + (float)ph * bin_h,
                                                 x1 + (float)pw * bin_w, bin_h, bin_w, grid_h,
                                                 grid_w, mode_max);
                }
            }
        }
    }
}
