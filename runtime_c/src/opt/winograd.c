/* Winograd F(4x4, 3x3) convolution (see winograd.h). Per image, the tiles are processed in
 * blocks of tile_block, each in three phases over the scratch buffer:
 *   1. input transform: every channel's 6x6 patches, NR tiles at a time (one vector lane per
 *      tile), V_xi = B^T d B written straight into the packed B panels of 36 GEMMs;
 *   2. 36 GEMMs M_xi [out_channels x tiles] = U_xi [out_channels x in_channels] x V_xi;
 *   3. output transform A^T M A per output channel, NR tiles at a time, then bias, residual
 *      and activation on the 4x4 tiles while they are in registers/L1, clipped to Y.
 * Each phase's iterations are independent (channels, transform positions, output channels):
 * with threads, dlg_parallel_for splits them among them. The lane loops have a fixed trip count of NR so
 * that compilers vectorize them. */
#include <string.h>

#include "dlgen/geometry.h"
#include "dlgen/parallel.h"
#include "dlgen/sgemm.h"
#include "dlgen/winograd.h"

#define MR DLG_SGEMM_MR
#define NR DLG_SGEMM_NR
#define KC DLG_SGEMM_KC
#define TILE DLG_WINOGRAD_TILE
#define ALPHA DLG_WINOGRAD_ALPHA
#define XI (ALPHA * ALPHA) /* transform positions = GEMMs per block */

/* A plane's tiling and one block of its tiles. */
typedef struct {
    int64_t in_h, in_w, out_h, out_w, pad_top, pad_left;
    size_t tiles_w, tiles;   /* tile grid columns, tiles per plane */
    size_t first, count;     /* this block's tiles [first, first + count) */
    size_t width;            /* columns of the block's GEMMs: count rounded up to NR */
} wino_plane;

/* out[k * os + l] (k < 6) = row k of B^T times the 6 vectors in[k * is + l], for every
 * lane l < NR. */
static void bt_lanes(const float *in, size_t is, float *out, size_t os) {
    size_t l;
    for (l = 0; l < NR; ++l) {
        const float d0 = in[l], d1 = in[is + l], d2 = in[2 * is + l];
        const float d3 = in[3 * is + l], d4 = in[4 * is + l], d5 = in[5 * is + l];
        out[l] = 4.0f * d0 - 5.0f * d2 + d4;
        out[os + l] = -4.0f * (d1 + d2) + d3 + d4;
        out[2 * os + l] = 4.0f * (d1 - d2) - d3 + d4;
        out[3 * os + l] = 2.0f * (d3 - d1) - d2 + d4;
        out[4 * os + l] = 2.0f * (d1 - d3) - d2 + d4;
        out[5 * os + l] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* out[k * os + l] (k < 4) = row k of A^T times the 6 vectors in[k * is + l]. */
static void at_lanes(const float *in, size_t is, float *out, size_t os) {
    size_t l;
    for (l = 0; l < NR; ++l) {
        const float m0 = in[l], m1 = in[is + l], m2 = in[2 * is + l];
        const float m3 = in[3 * is + l], m4 = in[4 * is + l], m5 = in[5 * is + l];
        const float s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
        out[l] = m0 + s12 + s34;
        out[os + l] = d12 + 2.0f * d34;
        out[2 * os + l] = s12 + 4.0f * s34;
        out[3 * os + l] = d12 + 8.0f * d34 + m5;
    }
}

/* The top-left input row and column of the patch of tile t. */
static void tile_origin(const wino_plane *p, size_t t, int64_t *iy, int64_t *ix) {
    *iy = (int64_t)(t / p->tiles_w) * TILE - p->pad_top;
    *ix = (int64_t)(t % p->tiles_w) * TILE - p->pad_left;
}

/* d[k][l] (k = 6 * row + column) = the 6x6 input patch of tile first + l of the plane x,
 * zero in the padding and for lanes past count. */
static void gather_patches(const float *x, const wino_plane *p, size_t first, size_t count,
                           float d[XI][NR]) {
    size_t l, k;
    int64_t i, j, iy, ix;
    for (l = 0; l < NR; ++l) {
        if (l >= count) {
            for (k = 0; k < XI; ++k) {
                d[k][l] = 0.0f;
            }
            continue;
        }
        tile_origin(p, first + l, &iy, &ix);
        if (iy >= 0 && ix >= 0 && iy + ALPHA <= p->in_h && ix + ALPHA <= p->in_w) {
            const float *row = x + iy * p->in_w + ix;
            for (i = 0; i < ALPHA; ++i, row += p->in_w) {
                for (j = 0; j < ALPHA; ++j) {
                    d[i * ALPHA + j][l] = row[j];
                }
            }
            continue;
        }
        for (i = 0; i < ALPHA; ++i) {
            const int inside = iy + i >= 0 && iy + i < p->in_h;
            for (j = 0; j < ALPHA; ++j) {
                d[i * ALPHA + j][l] = inside && ix + j >= 0 && ix + j < p->in_w
                    ? x[(iy + i) * p->in_w + ix + j] : 0.0f;
            }
        }
    }
}

/* Phase 1 for input channel c: V_xi(c, tile) = (B^T d B)_xi of every tile of the block, into
 * the packed B panels V + xi * vs + (tile / NR) * in_channels * NR + c * NR + tile % NR. */
static void input_transform(const float *x, const wino_plane *p, size_t c, size_t in_channels,
                            float *V, size_t vs) {
    float d[XI][NR], t[XI][NR];
    size_t q, j, i;
    for (q = 0; q < p->width; q += NR) {
        float *v = V + q * in_channels + c * NR;
        const size_t left = p->count - q < NR ? p->count - q : NR;
        gather_patches(x, p, p->first + q, left, d);
        for (j = 0; j < ALPHA; ++j) { /* columns: t[6 * k + j] = B^T d[:, j] */
            bt_lanes(d[j], ALPHA * NR, t[j], ALPHA * NR);
        }
        for (i = 0; i < ALPHA; ++i) { /* rows: V_(6i + k) = (t[6i, :] B)_k */
            bt_lanes(t[i * ALPHA], NR, v + i * ALPHA * vs, vs);
        }
    }
}

/* Phase 2 for transform position xi: M_xi [out_channels, width] (row stride ms_ld) = U_xi x
 * V_xi, K blocked by KC. */
static void block_gemm(size_t in_channels, size_t out_channels, const float *U_xi,
                       const float *V_xi, float *M_xi, size_t width, size_t m_ld) {
    size_t k0;
    for (k0 = 0; k0 < in_channels; k0 += KC) {
        const size_t kc = in_channels - k0 < KC ? in_channels - k0 : KC;
        dlg_sgemm_panels(out_channels, width, kc, U_xi + k0 * MR, in_channels * MR, 1, MR,
                         V_xi + k0 * NR, in_channels * NR, M_xi, m_ld, k0 > 0, NULL);
    }
}

/* What phase 3 adds to every output: a channel's bias, the residual plane, the activation. */
typedef struct {
    float bias;
    const float *z; /* residual plane or NULL */
    int act;
    float act_a, act_b;
} wino_epilogue;

/* y (an output plane) = epilogue(o), the 4x4 tiles o[4 * i + j][l] of the block's tiles
 * first + l, l < count, clipped at the plane's bottom and right borders. */
static void store_tiles(float o[TILE * TILE][NR], const wino_plane *p, size_t first,
                        size_t count, const wino_epilogue *ep, float *y) {
    size_t l, k;
    int64_t i, j;
    if (ep->z != NULL) {
        for (l = 0; l < count; ++l) {
            const int64_t oy = (int64_t)((first + l) / p->tiles_w) * TILE;
            const int64_t ox = (int64_t)((first + l) % p->tiles_w) * TILE;
            for (i = 0; i < TILE && oy + i < p->out_h; ++i) {
                for (j = 0; j < TILE && ox + j < p->out_w; ++j) {
                    o[i * TILE + j][l] += ep->z[(oy + i) * p->out_w + ox + j];
                }
            }
        }
    }
    for (k = 0; k < TILE * TILE; ++k) {
        for (l = 0; l < NR; ++l) {
            o[k][l] += ep->bias;
        }
    }
    dlg_act_inplace(o[0], TILE * TILE * NR, ep->act, ep->act_a, ep->act_b);
    for (l = 0; l < count; ++l) {
        const int64_t oy = (int64_t)((first + l) / p->tiles_w) * TILE;
        const int64_t ox = (int64_t)((first + l) % p->tiles_w) * TILE;
        for (i = 0; i < TILE && oy + i < p->out_h; ++i) {
            float *row = y + (oy + i) * p->out_w + ox;
            for (j = 0; j < TILE && ox + j < p->out_w; ++j) {
                row[j] = o[i * TILE + j][l];
            }
        }
    }
}

/* Phase 3 for output channel m: Y plane y = epilogue(A^T M A) over the block's tiles, from
 * M_xi(m, tile) = M[xi * ms + m * m_ld + tile]. */
static void output_transform(const float *M, size_t ms, size_t m_ld, size_t m,
                             const wino_plane *p, const wino_epilogue *ep, float *y) {
    float t[TILE * ALPHA][NR], o[TILE * TILE][NR];
    size_t q, i, j;
    for (q = 0; q < p->width; q += NR) {
        const float *mq = M + m * m_ld + q;
        const size_t left = p->count - q < NR ? p->count - q : NR;
        for (j = 0; j < ALPHA; ++j) { /* columns: t[6 * k + j] = A^T M[:, j] */
            at_lanes(mq + j * ms, ALPHA * ms, t[j], ALPHA * NR);
        }
        for (i = 0; i < TILE; ++i) { /* rows: o[4 * i + k] = (t[6i, :] A)_k */
            at_lanes(t[i * ALPHA], NR, o[i * TILE], NR);
        }
        store_tiles(o, p, p->first + q, left, ep, y);
    }
}

/* The tiling of a plane from the geometry table (the H and W rows). */
static wino_plane plane_tiling(const int64_t *geom) {
    dlg_geom_axis ax[3];
    wino_plane p;
    dlg_geom_read(geom, ax, NULL, NULL, NULL);
    p.in_h = ax[1].in;
    p.in_w = ax[2].in;
    p.out_h = ax[1].out;
    p.out_w = ax[2].out;
    p.pad_top = ax[1].pad_begin;
    p.pad_left = ax[2].pad_begin;
    p.tiles_w = (size_t)(p.out_w + TILE - 1) / TILE;
    p.tiles = (size_t)(p.out_h + TILE - 1) / TILE * p.tiles_w;
    p.first = 0;
    p.count = 0;
    p.width = 0;
    return p;
}

/* One block of tiles of one image: what the three phases' loop bodies share. */
typedef struct {
    size_t in_channels, out_channels;
    const wino_plane *p;
    const float *x, *U, *B, *z;
    float *y, *V, *M;
    size_t tile_block;
    int act;
    float act_a, act_b;
} wino_job;

/* Phase 1 over input channels [begin, end). */
static void input_phase(void *arg, size_t begin, size_t end) {
    const wino_job *job = (const wino_job *)arg;
    const size_t in_plane = (size_t)(job->p->in_h * job->p->in_w);
    size_t c;
    for (c = begin; c < end; ++c) {
        input_transform(job->x + c * in_plane, job->p, c, job->in_channels, job->V,
                        job->in_channels * job->tile_block);
    }
}

/* Phase 2 over transform positions [begin, end). */
static void gemm_phase(void *arg, size_t begin, size_t end) {
    const wino_job *job = (const wino_job *)arg;
    const size_t us = (job->out_channels + MR - 1) / MR * MR * job->in_channels;
    const size_t vs = job->in_channels * job->tile_block;
    const size_t ms = job->out_channels * job->tile_block;
    size_t xi;
    for (xi = begin; xi < end; ++xi) {
        block_gemm(job->in_channels, job->out_channels, job->U + xi * us, job->V + xi * vs,
                   job->M + xi * ms, job->p->width, job->tile_block);
    }
}

/* Phase 3 over output channels [begin, end). */
static void output_phase(void *arg, size_t begin, size_t end) {
    const wino_job *job = (const wino_job *)arg;
    const size_t out_plane = (size_t)(job->p->out_h * job->p->out_w);
    size_t m;
    for (m = begin; m < end; ++m) {
        wino_epilogue ep;
        ep.bias = job->B != NULL ? job->B[m] : 0.0f;
        ep.z = job->z != NULL ? job->z + m * out_plane : NULL;
        ep.act = job->act;
        ep.act_a = job->act_a;
        ep.act_b = job->act_b;
        output_transform(job->M, job->out_channels * job->tile_block, job->tile_block, m,
                         job->p, &ep, job->y + m * out_plane);
    }
}

/* The three phases over one block of tiles (job->p) of one image; the work estimates are in
 * multiply-adds (a transform costs about 12 per tile, channel and transform position). */
static void wino_block(wino_job *job) {
    const size_t width = job->p->width;
    dlg_parallel_for(job->in_channels, job->in_channels * width * XI * 12, input_phase, job);
    dlg_parallel_for(XI, XI * job->out_channels * job->in_channels * width, gemm_phase, job);
    dlg_parallel_for(job->out_channels, job->out_channels * width * XI * 8, output_phase, job);
}

void dlg_conv_winograd_f32(size_t batch, size_t in_channels, size_t out_channels,
                           const int64_t *geom, const float *X, const float *U, const float *B,
                           const float *Z, float *Y, float *scratch, size_t tile_block,
                           int act, float act_a, float act_b) {
    wino_plane p = plane_tiling(geom);
    const size_t in_plane = (size_t)(p.in_h * p.in_w);
    const size_t out_plane = (size_t)(p.out_h * p.out_w);
    size_t n;
    wino_job job;
    job.in_channels = in_channels;
    job.out_channels = out_channels;
    job.p = &p;
    job.U = U;
    job.B = B;
    job.V = scratch;
    job.M = scratch + XI * tile_block * in_channels;
    job.tile_block = tile_block;
    job.act = act;
    job.act_a = act_a;
    job.act_b = act_b;
    for (n = 0; n < batch; ++n) {
        job.x = X + n * in_channels * in_plane;
        job.z = Z != NULL ? Z + n * out_channels * out_plane : NULL;
        job.y = Y + n * out_channels * out_plane;
        for (p.first = 0; p.first < p.tiles; p.first += tile_block) {
            p.count = p.tiles - p.first < tile_block ? p.tiles - p.first : tile_block;
            p.width = (p.count + NR - 1) / NR * NR;
            wino_block(&job);
        }
    }
}
