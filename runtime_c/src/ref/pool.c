/* Reference pooling kernels: for each output position, scan the taps of its window that lie
 * inside the input (padding never wins a max and is never summed). The window's tap ranges are
 * worked out per axis first, so the scan has no bounds checks. */
#include <float.h>

#include "dlgen/pool.h"

/* One spatial axis of the geometry table (see pool.h). */
typedef struct {
    int64_t in, out, kernel, stride, dilation, pad_begin, pad_end;
} pool_axis;

/* The window of one output along one axis: input index start + k * dilation for tap k; taps
 * [lo, hi) lie inside the input; padded counts the taps inside the padded input. */
typedef struct {
    int64_t start, lo, hi, padded;
} pool_window;

static pool_axis read_axis(const int64_t *geom, size_t axis) {
    const int64_t *row = geom + axis * DLG_POOL_GEOM_FIELDS;
    pool_axis a;
    a.in = row[0];
    a.out = row[1];
    a.kernel = row[2];
    a.stride = row[3];
    a.dilation = row[4];
    a.pad_begin = row[5];
    a.pad_end = row[6];
    return a;
}

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

static float window_average(const float *x, const pool_axis ax[3], const pool_window w[3],
                            int count_include_pad) {
    float sum = 0.0f;
    int64_t kd, kh, kw, count;
    for (kd = w[0].lo; kd < w[0].hi; ++kd) {
        const int64_t id = w[0].start + kd * ax[0].dilation;
        for (kh = w[1].lo; kh < w[1].hi; ++kh) {
            const int64_t ih = w[1].start + kh * ax[1].dilation;
            const float *x_row = x + (id * ax[1].in + ih) * ax[2].in;
            for (kw = w[2].lo; kw < w[2].hi; ++kw) {
                sum += x_row[w[2].start + kw * ax[2].dilation];
            }
        }
    }
    count = (w[0].hi - w[0].lo) * (w[1].hi - w[1].lo) * (w[2].hi - w[2].lo);
    if (count == 0) {
        return 0.0f;
    }
    if (count_include_pad) {
        count = w[0].padded * w[1].padded * w[2].padded;
    }
    return sum / (float)count;
}

/* base + the position's offset under index_strides; -1 for no position. */
static int64_t flat_index(int64_t base, const int64_t pos[3], const int64_t strides[3]) {
    if (pos[0] < 0) {
        return -1;
    }
    return base + pos[0] * strides[0] + pos[1] * strides[1] + pos[2] * strides[2];
}

static size_t read_axes(const int64_t *geom, pool_axis ax[3], size_t *out_plane) {
    size_t i, in_plane = 1;
    *out_plane = 1;
    for (i = 0; i < 3; ++i) {
        ax[i] = read_axis(geom, i);
        in_plane *= (size_t)ax[i].in;
        *out_plane *= (size_t)ax[i].out;
    }
    return in_plane;
}

void dlg_maxpool_f32(size_t planes, const int64_t *geom, const float *X, float *Y, int64_t *I,
                     const int64_t *index_strides) {
    pool_axis ax[3];
    pool_window w[3];
    int64_t o[3], pos[3];
    size_t out_plane, p, k = 0;
    const size_t in_plane = read_axes(geom, ax, &out_plane);
    for (p = 0; p < planes; ++p) {
        const float *x = X + p * in_plane;
        for (o[0] = 0; o[0] < ax[0].out; ++o[0]) {
            w[0] = axis_window(&ax[0], o[0]);
            for (o[1] = 0; o[1] < ax[1].out; ++o[1]) {
                w[1] = axis_window(&ax[1], o[1]);
                for (o[2] = 0; o[2] < ax[2].out; ++o[2], ++k) {
                    w[2] = axis_window(&ax[2], o[2]);
                    Y[k] = window_max(x, ax, w, pos);
                    if (I) {
                        I[k] = flat_index((int64_t)(p * in_plane), pos, index_strides);
                    }
                }
            }
        }
    }
}

void dlg_avgpool_f32(size_t planes, const int64_t *geom, int count_include_pad, const float *X,
                     float *Y) {
    pool_axis ax[3];
    pool_window w[3];
    int64_t o[3];
    size_t out_plane, p, k = 0;
    const size_t in_plane = read_axes(geom, ax, &out_plane);
    for (p = 0; p < planes; ++p) {
        const float *x = X + p * in_plane;
        for (o[0] = 0; o[0] < ax[0].out; ++o[0]) {
            w[0] = axis_window(&ax[0], o[0]);
            for (o[1] = 0; o[1] < ax[1].out; ++o[1]) {
                w[1] = axis_window(&ax[1], o[1]);
                for (o[2] = 0; o[2] < ax[2].out; ++o[2], ++k) {
                    w[2] = axis_window(&ax[2], o[2]);
                    Y[k] = window_average(x, ax, w, count_include_pad);
                }
            }
        }
    }
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
