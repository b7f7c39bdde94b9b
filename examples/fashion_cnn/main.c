/*
 * fashion_app: classify Fashion-MNIST images with the dlgen-compiled CNN.
 *
 *   fashion_app [--predictions FILE] [--min-seconds S] [--latency-images N] test_set.bin
 *   fashion_app --classify IMAGE
 *
 * test_set.bin (little-endian): int32 count, int32 features (784),
 * count*784 float32 images (pixels / 255), count int32 labels.
 * For a test set it prints
 *   accuracy: 0.9012 (9012/10000)
 *   latency: median 123.456 us per image
 * and, with --predictions, writes one predicted label per line to FILE.
 * The latency is the median per-image time over whole passes (at least 5,
 * at least S seconds) over the first N images of the set (default 200).
 *
 * IMAGE is a 28x28 grayscale PGM (binary P5 or text P2, maxval 1..255) or a
 * headerless file of 784 bytes, row-major; it prints the class name.
 *
 * The model needs no heap: fashion_run() uses the static arena that dlgen
 * generates.  Only the test set is read into malloc'd buffers.
 */
#define _POSIX_C_SOURCE 199309L

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fashion.h"

#define SIDE 28
#define N_FEATURES ((size_t)FASHION_INPUT0_SIZE)
#define N_CLASSES ((size_t)FASHION_OUTPUT0_SIZE)
#define MAX_REPS 100000

typedef char input_is_28x28[(N_FEATURES == SIDE * SIDE) ? 1 : -1];
typedef char ten_classes[(N_CLASSES == 10) ? 1 : -1];

static const char *const class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

typedef struct {
    size_t count;
    float *images;   /* count * N_FEATURES */
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

/* Passes over the first n images until min_seconds have gone by (and at
 * least 5 passes); returns the median per-image time in microseconds, or a
 * negative value if the model reports an error. */
static double measure_latency_us(const float *images, size_t n, double min_seconds)
{
    float scores[FASHION_OUTPUT0_SIZE];
    volatile int sink = 0;
    size_t reps = 0, i;
    double start = now_seconds();

    while (reps < MAX_REPS && (reps < 5 || now_seconds() - start < min_seconds)) {
        double t0 = now_seconds(), t1;
        for (i = 0; i < n; ++i) {
            if (fashion_run(images + i * N_FEATURES, scores) != 0) {
                return -1.0;
            }
            sink += argmax(scores, N_CLASSES);
        }
        t1 = now_seconds();
        per_image_times[reps++] = (t1 - t0) / (double)n * 1e6;
    }
    (void)sink;
    qsort(per_image_times, reps, sizeof(double), compare_doubles);
    return (reps % 2 == 1) ? per_image_times[reps / 2]
                           : 0.5 * (per_image_times[reps / 2 - 1] + per_image_times[reps / 2]);
}

/* The reentrant entry point with a caller-owned arena must give exactly the
 * same scores as the default one (checked on the first n images). */
static unsigned char ctx_arena_storage[FASHION_ARENA_BYTES + 16u];

static int check_ctx_api(const float *images, size_t n)
{
    void *arena = (void *)(ctx_arena_storage +
                           ((16u - ((uintptr_t)ctx_arena_storage & 15u)) & 15u));
    float a[FASHION_OUTPUT0_SIZE], b[FASHION_OUTPUT0_SIZE];
    size_t i;
    for (i = 0; i < n; ++i) {
        const float *x = images + i * N_FEATURES;
        if (fashion_run(x, a) != 0 || fashion_run_ctx(arena, x, b) != 0) {
            fprintf(stderr, "model error on image %lu\n", (unsigned long)i);
            return -1;
        }
        if (memcmp(a, b, sizeof a) != 0) {
            fprintf(stderr, "fashion_run and fashion_run_ctx disagree on image %lu\n",
                    (unsigned long)i);
            return -1;
        }
    }
    return 0;
}

/* Next PGM header number, skipping whitespace and '#' comments; -1 on error. */
static long pgm_number(const unsigned char *buf, size_t len, size_t *pos)
{
    long v = 0;
    int digits = 0;
    while (*pos < len && (isspace(buf[*pos]) || buf[*pos] == '#')) {
        if (buf[*pos] == '#') {
            while (*pos < len && buf[*pos] != '\n') {
                ++*pos;
            }
        } else {
            ++*pos;
        }
    }
    while (*pos < len && isdigit(buf[*pos]) && v < 100000) {
        v = v * 10 + (buf[(*pos)++] - '0');
        ++digits;
    }
    return digits > 0 ? v : -1;
}

/* Reads a 28x28 PGM (P5 or P2) or a raw 784-byte file into pixels / maxval. */
static int load_image(const char *path, float *image)
{
    static unsigned char buf[1u << 16];
    FILE *f = fopen(path, "rb");
    size_t len, pos = 2, i;
    long width, height, maxval;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (len == N_FEATURES && !(buf[0] == 'P' && (buf[1] == '5' || buf[1] == '2'))) {
        for (i = 0; i < N_FEATURES; ++i) {
            image[i] = (float)buf[i] / 255.0f;
        }
        return 0;
    }
    if (len < 2 || buf[0] != 'P' || (buf[1] != '5' && buf[1] != '2')) {
        fprintf(stderr, "%s: not a PGM (P5/P2) nor a raw %lu-byte image\n", path,
                (unsigned long)N_FEATURES);
        return -1;
    }
    width = pgm_number(buf, len, &pos);
    height = pgm_number(buf, len, &pos);
    maxval = pgm_number(buf, len, &pos);
    if (width != SIDE || height != SIDE || maxval < 1 || maxval > 255) {
        fprintf(stderr, "%s: need a %dx%d PGM with maxval 1..255 (got %ldx%ld, %ld)\n", path,
                SIDE, SIDE, width, height, maxval);
        return -1;
    }
    if (buf[1] == '5') {
        ++pos; /* the single whitespace byte after maxval */
        if (len < pos + N_FEATURES) {
            fprintf(stderr, "%s: truncated pixel data\n", path);
            return -1;
        }
    }
    for (i = 0; i < N_FEATURES; ++i) {
        long v = (buf[1] == '5') ? (long)buf[pos + i] : pgm_number(buf, len, &pos);
        if (v < 0 || v > maxval) {
            fprintf(stderr, "%s: bad or missing pixel %lu\n", path, (unsigned long)i);
            return -1;
        }
        image[i] = (maxval == 255) ? (float)v / 255.0f : (float)v / (float)maxval;
    }
    return 0;
}

static int classify(const char *path)
{
    float image[FASHION_INPUT0_SIZE], scores[FASHION_OUTPUT0_SIZE];
    int best;
    if (load_image(path, image) != 0) {
        return 1;
    }
    if (fashion_run(image, scores) != 0) {
        fprintf(stderr, "fashion_run failed\n");
        return 1;
    }
    best = argmax(scores, N_CLASSES);
    printf("%s: %s (class %d)\n", path, class_names[best], best);
    return 0;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--predictions FILE] [--min-seconds S] [--latency-images N] "
            "test_set.bin\n"
            "       %s --classify IMAGE   (28x28 PGM, or 784 raw bytes)\n",
            prog, prog);
}

int main(int argc, char **argv)
{
    const char *set_path = NULL, *pred_path = NULL;
    double min_seconds = 0.5, latency;
    long latency_images = 200;
    test_set ts = {0, NULL, NULL};
    int *predicted;
    size_t i, correct = 0, n_timed;
    int argi, status = 1;

    if (argc == 3 && strcmp(argv[1], "--classify") == 0) {
        return classify(argv[2]);
    }
    for (argi = 1; argi < argc; ++argi) {
        if (strcmp(argv[argi], "--predictions") == 0 && argi + 1 < argc) {
            pred_path = argv[++argi];
        } else if (strcmp(argv[argi], "--min-seconds") == 0 && argi + 1 < argc) {
            min_seconds = atof(argv[++argi]);
        } else if (strcmp(argv[argi], "--latency-images") == 0 && argi + 1 < argc) {
            latency_images = atol(argv[++argi]);
        } else if (argv[argi][0] == '-' || set_path != NULL) {
            usage(argv[0]);
            return 2;
        } else {
            set_path = argv[argi];
        }
    }
    if (set_path == NULL || latency_images < 1) {
        usage(argv[0]);
        return 2;
    }
    if (load_test_set(set_path, &ts) != 0) {
        goto done;
    }
    n_timed = ((size_t)latency_images < ts.count) ? (size_t)latency_images : ts.count;
    predicted = (int *)malloc(ts.count * sizeof(int));
    if (predicted == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }

    for (i = 0; i < ts.count; ++i) {
        float scores[FASHION_OUTPUT0_SIZE];
        if (fashion_run(ts.images + i * N_FEATURES, scores) != 0) {
            fprintf(stderr, "fashion_run failed on image %lu\n", (unsigned long)i);
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

    if (check_ctx_api(ts.images, n_timed) != 0) {
        goto done;
    }
    latency = measure_latency_us(ts.images, n_timed, min_seconds);
    if (latency < 0.0) {
        fprintf(stderr, "fashion_run failed while timing\n");
        goto done;
    }
    printf("latency: median %.3f us per image\n", latency);
    status = 0;

done:
    free(ts.images);
    free(ts.labels);
    return status;
}
