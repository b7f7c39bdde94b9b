/* dlg_parallel_for (parallel.h): an OpenMP backend, a POSIX threads backend, and the serial
 * form used when neither is compiled in. */
#if defined(DLG_PARALLEL_PTHREAD) && defined(DLG_THREADS) && DLG_THREADS > 1 \
    && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L /* pthreads and sigset_t under -std=c99 */
#endif

#include "dlgen/parallel.h"

/* Share `part` of `parts` of the range [0, count): contiguous, sizes differing by at most 1. */
static void run_share(dlg_parallel_body body, void *ctx, size_t count, size_t part,
                      size_t parts) {
    const size_t base = count / parts, extra = count % parts;
    const size_t begin = part * base + (part < extra ? part : extra);
    const size_t end = begin + base + (part < extra ? 1 : 0);
    if (begin < end) {
        body(ctx, begin, end);
    }
}

#if DLG_PARALLEL_THREADS > 1 && defined(DLG_PARALLEL_OPENMP) && defined(_OPENMP)

void dlg_parallel_for(size_t count, size_t work, dlg_parallel_body body, void *ctx) {
    int part;
    if (count < 2 || work < DLG_PARALLEL_MIN_WORK) {
        run_share(body, ctx, count, 0, 1);
        return;
    }
#pragma omp parallel for num_threads(DLG_THREADS) schedule(static, 1)
    for (part = 0; part < DLG_THREADS; ++part) {
        run_share(body, ctx, count, (size_t)part, DLG_THREADS);
    }
}

#elif DLG_PARALLEL_THREADS > 1 && defined(DLG_PARALLEL_PTHREAD)

#include <pthread.h>
#include <signal.h>

/* Waiting: a worker polls for the next job, and the caller for the workers' end, up to
 * DLG_PARALLEL_SPIN times (a few tens of microseconds: the loops of one model call follow each
 * other closely) before sleeping on a condition variable, so that back-to-back loops do not
 * pay a wake-up each, and idle threads do not hold a core for long (which a busy machine, or a
 * BLAS's own pool, would feel). The polls are GCC/Clang atomics; other compilers only sleep. */
#ifndef DLG_PARALLEL_SPIN
#define DLG_PARALLEL_SPIN 4000
#endif
#if defined(__GNUC__)
#define POOL_LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define POOL_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define POOL_SPIN DLG_PARALLEL_SPIN
#if defined(__x86_64__) || defined(__i386__)
#define POOL_RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__) || defined(__arm__)
#define POOL_RELAX() __asm__ __volatile__("yield")
#else
#define POOL_RELAX() ((void)0)
#endif
#else
#define POOL_LOAD(p) (*(p))
#define POOL_STORE(p, v) (*(p) = (v))
#define POOL_SPIN 0
#define POOL_RELAX() ((void)0)
#endif

/* The pool: DLG_THREADS - 1 workers, state behind pool_lock (pool_job and pool_pending are also
 * polled atomically). A caller posts a job (body, ctx, count) by bumping pool_job and waking
 * the workers; worker i runs share i + 1 of pool_size + 1 once per job value, the caller runs
 * share 0, and the last worker to finish wakes the caller. One job at a time: pool_busy marks
 * the pool taken. */
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pool_done = PTHREAD_COND_INITIALIZER;
static pthread_t pool_threads[DLG_THREADS - 1];
static size_t pool_parts[DLG_THREADS - 1]; /* each worker's share index */
static size_t pool_size;                   /* workers running (0: serial) */
static unsigned long pool_job;             /* bumped for every job posted */
static size_t pool_pending;                /* workers yet to finish the current job */
static int pool_busy;
static dlg_parallel_body job_body;
static void *job_ctx;
static size_t job_count;

static void *pool_worker(void *arg) {
    const size_t part = *(const size_t *)arg;
    unsigned long seen = 0;
    for (;;) {
        dlg_parallel_body body;
        void *ctx;
        size_t count, parts;
        int spin;
        for (spin = 0; spin < POOL_SPIN && POOL_LOAD(&pool_job) == seen; ++spin) {
            POOL_RELAX();
        }
        pthread_mutex_lock(&pool_lock);
        while (POOL_LOAD(&pool_job) == seen) {
            pthread_cond_wait(&pool_wake, &pool_lock);
        }
        seen = POOL_LOAD(&pool_job);
        body = job_body;
        ctx = job_ctx;
        count = job_count;
        parts = pool_size + 1;
        pthread_mutex_unlock(&pool_lock);
        run_share(body, ctx, count, part, parts);
        pthread_mutex_lock(&pool_lock);
        POOL_STORE(&pool_pending, POOL_LOAD(&pool_pending) - 1);
        if (POOL_LOAD(&pool_pending) == 0) {
            pthread_cond_signal(&pool_done);
        }
        pthread_mutex_unlock(&pool_lock);
    }
    return NULL;
}

/* fork() copies only the calling thread: the child runs every loop serially. */
static void pool_fork_prepare(void) {
    pthread_mutex_lock(&pool_lock);
}

static void pool_fork_parent(void) {
    pthread_mutex_unlock(&pool_lock);
}

static void pool_fork_child(void) {
    pool_size = 0;
    pthread_mutex_unlock(&pool_lock);
}

/* Start the workers with every signal blocked (signals go to the application's threads). */
static void pool_start(void) {
    sigset_t all, old;
    size_t n = 0, i;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (i = 0; i < DLG_THREADS - 1; ++i) {
        pool_parts[n] = n + 1;
        if (pthread_create(&pool_threads[n], NULL, pool_worker, &pool_parts[n]) == 0) {
            ++n;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_atfork(pool_fork_prepare, pool_fork_parent, pool_fork_child);
    pthread_mutex_lock(&pool_lock);
    pool_size = n;
    pthread_mutex_unlock(&pool_lock);
}

void dlg_parallel_for(size_t count, size_t work, dlg_parallel_body body, void *ctx) {
    size_t parts;
    int spin;
    if (count < 2 || work < DLG_PARALLEL_MIN_WORK) {
        run_share(body, ctx, count, 0, 1);
        return;
    }
    pthread_once(&pool_once, pool_start);
    pthread_mutex_lock(&pool_lock);
    if (pool_busy || pool_size == 0) {
        pthread_mutex_unlock(&pool_lock);
        run_share(body, ctx, count, 0, 1);
        return;
    }
    pool_busy = 1;
    job_body = body;
    job_ctx = ctx;
    job_count = count;
    POOL_STORE(&pool_pending, pool_size);
    parts = pool_size + 1;
    POOL_STORE(&pool_job, POOL_LOAD(&pool_job) + 1);
    pthread_cond_broadcast(&pool_wake);
    pthread_mutex_unlock(&pool_lock);
    run_share(body, ctx, count, 0, parts);
    for (spin = 0; spin < POOL_SPIN && POOL_LOAD(&pool_pending) > 0; ++spin) {
        POOL_RELAX();
    }
    pthread_mutex_lock(&pool_lock);
    while (POOL_LOAD(&pool_pending) > 0) {
        pthread_cond_wait(&pool_done, &pool_lock);
    }
    pool_busy = 0;
    pthread_mutex_unlock(&pool_lock);
}

#else

void dlg_parallel_for(size_t count, size_t work, dlg_parallel_body body, void *ctx) {
    (void)work;
    run_share(body, ctx, count, 0, 1);
}

#endif
