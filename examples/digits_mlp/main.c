/*
 * digits_app: classify the 8x8 digits test set with the dlgen-compiled MLP.
 *
 *   digits_app [--predictions FILE] [--min-seconds S] test_set.bin
 *
 * test_set.bin (little-endian): int32 count, int32 features,
 * count*features float32 images, count int32 labels.
 *
 * Prints
 *   accuracy: 0.9815 (530/540)
 *   latency: median 1.234 us per image
 * and, with --predictions, writes one predicted label per line to FILE.
 *
 * The model itself needs no heap: digits_run() uses the static arena that
 * dlgen generates.  Only the test set is read into malloc'd buffers.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digits.h"

#define N_FEATURES ((size_t)DIGITS_INPUT0_SIZE)
#define N_CLASSES ((size_t)DIGITS_OUTPUT0_SIZE)
#define MAX_REPS 100000

typedef struct {
    size_t count;
    float *images;  /* count * N_FEATURES */
    int32_t *labels; /* count */
} test_set;

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Reads n little-endian 32-bit words from f into dst (4*n bytes). */
static int read_words(FILE *f, void *dst, size_t n, int is_float)
{
    unsigned char buf[4];
    size_t i;
    for (i = 0; i < n; ++i) {
        uint32_t w;
        if (fread(buf, 1, 4, f) != 4) {
            return -1;
        }
        w = le32(buf);
        if (is_float) {
            float v;
            memcpy(&v, &w, sizeof v);
            ((float *)dst)[i] = v;
        } else {
            ((int32_t *)dst)[i] = (int32_t)w;
        }
    }
    return 0;
}

static int load_test_set(const char *path, test_set *ts)
{
    FILE *f = fopen(path, "rb");
    int32_t header[2];
    size_t count;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (read_words(f, header, 2, 0) != 0) {
        fprintf(stderr, "%s: truncated header\n", path);
        fclose(f);
        return -1;
    }
    if (header[0] <= 0 || header[1] != (int32_t)N_FEATURES) {
        fprintf(stderr, "%s: bad header (count %ld, features %ld; model expects %lu)\n",
                path, (long)header[0], (long)header[1], (unsigned long)N_FEATURES);
        fclose(f);
        return -1;
    }
    count = (size_t)header[0];
    ts->count = count;
    ts->images = (float *)malloc(count * N_FEATURES * sizeof(float));
    ts->labels = (int32_t *)malloc(count * sizeof(int32_t));
    if (ts->images == NULL || ts->labels == NULL) {
        fprintf(stderr, "out of memory\n");
        fclose(f);
        return -1;
    }
    if (read_words(f, ts->images, count * N_FEATURES, 1) != 0 ||
        read_words(f, ts->labels, count, 0) != 0) {
        fprintf(stderr, "%s: truncated data\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

/* Index of the largest score; the first one wins ties (like numpy.argmax). */
static int argmax(const float *scores, size_t n)
{
    size_t i, best = 0;
    for (i = 1; i < n; ++i) {
        if (scores[i] > scores[best]) {
            best = i;
        }
    }
    return (int)best;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double per_image_times[MAX_REPS];

/* Whole-set passes until min_seconds have gone by (and at least 5 passes);
 * returns the median per-image time in microseconds, or a negative value
 * if the model reports an error. */
static double measure_latency_us(const test_set *ts, double min_seconds)
{
    float scores[DIGITS_OUTPUT0_SIZE];
    volatile int sink = 0;
    size_t reps = 0, i;
    double start = now_seconds();
    double median;

    while (reps < MAX_REPS && (reps < 5 || now_seconds() - start < min_seconds)) {
        double t0 = now_seconds(), t1;
        for (i = 0; i < ts->count; ++i) {
            if (digits_run(ts->images + i * N_FEATURES, scores) != 0) {
                return -1.0;
            }
            sink += argmax(scores, N_CLASSES);
        }
        t1 = now_seconds();
        per_image_times[reps++] = (t1 - t0) / (double)ts->count * 1e6;
    }
    (void)sink;
    qsort(per_image_times, reps, sizeof(double), compare_doubles);
    median = (reps % 2 == 1)
                 ? per_image_times[reps / 2]
                 : 0.5 * (per_image_times[reps / 2 - 1] + per_image_times[reps / 2]);
    return median;
}

/* The reentrant entry point with a caller-owned arena must give exactly the
 * same scores as the default one. */
static unsigned char ctx_arena_storage[DIGITS_ARENA_BYTES + 16u];

static int check_ctx_api(const test_set *ts)
{
    void *arena = (void *)(ctx_arena_storage +
                           ((16u - ((uintptr_t)ctx_arena_storage & 15u)) & 15u));
    float a[DIGITS_OUTPUT0_SIZE], b[DIGITS_OUTPUT0_SIZE];
    size_t i;
    for (i = 0; i < ts->count; ++i) {
        const float *x = ts->images + i * N_FEATURES;
        if (digits_run(x, a) != 0 || digits_run_ctx(arena, x, b) != 0) {
            fprintf(stderr, "model error on image %lu\n", (unsigned long)i);
            return -1;
        }
        if (memcmp(a, b, sizeof a) != 0) {
            fprintf(stderr, "digits_run and digits_run_ctx disagree on image %lu\n",
                    (unsigned long)i);
            return -1;
        }
    }
    return 0;
}

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--predictions FILE] [--min-seconds S] test_set.bin\n", prog);
}

int main(int argc, char **argv)
{
    const char *set_path = NULL, *pred_path = NULL;
    double min_seconds = 0.5, latency;
    test_set ts = {0, NULL, NULL};
    int *predicted;
    size_t i, correct = 0;
    int argi, status = 1;

    for (argi = 1; argi < argc; ++argi) {
        if (strcmp(argv[argi], "--predictions") == 0 && argi + 1 < argc) {
            pred_path = argv[++argi];
        } else if (strcmp(argv[argi], "--min-seconds") == 0 && argi + 1 < argc) {
            min_seconds = atof(argv[++argi]);
        } else if (argv[argi][0] == '-' || set_path != NULL) {
            usage(argv[0]);
            return 2;
        } else {
            set_path = argv[argi];
        }
    }
    if (set_path == NULL) {
        usage(argv[0]);
        return 2;
    }
    if (load_test_set(set_path, &ts) != 0) {
        goto done;
    }
    predicted = (int *)malloc(ts.count * sizeof(int));
    if (predicted == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }

    for (i = 0; i < ts.count; ++i) {
        float scores[DIGITS_OUTPUT0_SIZE];
        if (digits_run(ts.images + i * N_FEATURES, scores) != 0) {
            fprintf(stderr, "digits_run failed on image %lu\n", (unsigned long)i);
            free(predicted);
            goto done;
        }
        predicted[i] = argmax(scores, N_CLASSES);
        correct += (predicted[i] == ts.labels[i]);
    }
    printf("accuracy: %.4f (%lu/%lu)\n", (double)correct / (double)ts.count,
           (unsigned long)correct, (unsigned long)ts.count);

    if (pred_path != NULL) {
        FILE *f = fopen(pred_path, "w");
        if (f == NULL) {
            fprintf(stderr, "cannot write %s: %s\n", pred_path, strerror(errno));
            free(predicted);
            goto done;
        }
        for (i = 0; i < ts.count; ++i) {
            fprintf(f, "%d\n", predicted[i]);
        }
        if (fclose(f) != 0) {
            fprintf(stderr, "error writing %s\n", pred_path);
            free(predicted);
            goto done;
        }
    }
    free(predicted);

    if (check_ctx_api(&ts) != 0) {
        goto done;
    }

    latency = measure_latency_us(&ts, min_seconds);
    if (latency < 0.0) {
        fprintf(stderr, "digits_run failed while timing\n");
        goto done;
    }
    printf("latency: median %.3f us per image\n", latency);
    status = 0;

done:
    free(ts.images);
    free(ts.labels);
    return status;
}
