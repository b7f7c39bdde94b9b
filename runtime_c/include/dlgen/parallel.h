/* Threads of the fast kernels: one parallel-for over a range of independent iterations.
 *
 * dlgen compile --threads N builds with -DDLG_THREADS=N and one backend:
 *   -DDLG_PARALLEL_OPENMP   an OpenMP parallel region (-fopenmp), the compiler's thread team;
 *   -DDLG_PARALLEL_PTHREAD  a static pool of N - 1 POSIX threads (-pthread), started on first
 *                           use (pthread_once), never stopped; idle workers poll briefly
 *                           (DLG_PARALLEL_SPIN, parallel.c) then sleep on a condition
 *                           variable; the calling thread takes a share too. No malloc.
 * Without DLG_THREADS > 1 (the default) or without a backend, every loop runs on the caller's
 * thread and no thread is created. --parallel auto|openmp|pthread picks the backend.
 */
#ifndef DLGEN_PARALLEL_H
#define DLGEN_PARALLEL_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DLG_THREADS) && DLG_THREADS > 1 \
    && (defined(DLG_PARALLEL_OPENMP) || defined(DLG_PARALLEL_PTHREAD))
#define DLG_PARALLEL_THREADS DLG_THREADS
#else
#define DLG_PARALLEL_THREADS 1
#endif

/* A loop smaller than this many multiply-adds (the caller's estimate, `work`) runs on the
 * caller's thread: waking threads costs more than it saves. */
#ifndef DLG_PARALLEL_MIN_WORK
#define DLG_PARALLEL_MIN_WORK 200000
#endif

/* The body of a parallel loop: iterations [begin, end) of the range, with the caller's ctx. */
typedef void (*dlg_parallel_body)(void *ctx, size_t begin, size_t end);

/* Run body over iterations [0, count): with threads (DLG_PARALLEL_THREADS > 1 and
 * work >= DLG_PARALLEL_MIN_WORK) split into DLG_PARALLEL_THREADS contiguous shares of about
 * count / DLG_PARALLEL_THREADS iterations, one per thread, and return when all are done;
 * otherwise one call body(ctx, 0, count) on the calling thread. Iterations must be
 * independent. A call made while the pthread pool is busy (from inside a body, or from a
 * second application thread) runs on its caller's thread. */
void dlg_parallel_for(size_t count, size_t work, dlg_parallel_body body, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_PARALLEL_H */
