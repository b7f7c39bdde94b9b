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
 * The reading, evaluating and timing are shared with digits_mlp:
 * app_run_image_test() in ../common/app_util.c.
 *
 * The model needs no heap: fashion_run() uses the static arena that dlgen
 * generates.  Only the test set is read into malloc'd buffers.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app_util.h"
#include "fashion.h"

#define SIDE 28
#define N_FEATURES ((size_t)FASHION_INPUT0_SIZE)
#define N_CLASSES ((size_t)FASHION_OUTPUT0_SIZE)

typedef char input_is_28x28[(N_FEATURES == SIDE * SIDE) ? 1 : -1];
typedef char ten_classes[(N_CLASSES == 10) ? 1 : -1];

static const char *const class_names[10] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* For the check that fashion_run_ctx() with a caller-owned arena gives
 * exactly the same scores as fashion_run(). */
static unsigned char ctx_arena_storage[FASHION_ARENA_BYTES + 16u];

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
    best = app_argmax(scores, N_CLASSES);
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
    app_image_model model = {"fashion", FASHION_INPUT0_SIZE, FASHION_OUTPUT0_SIZE,
                             fashion_run, fashion_run_ctx, NULL};
    app_image_args args;

    if (argc == 3 && strcmp(argv[1], "--classify") == 0) {
        return classify(argv[2]);
    }
    args.latency_images = 200;
    if (app_parse_image_args(argc, argv, 1, &args) != 0) {
        usage(argv[0]);
        return 2;
    }
    model.arena = app_align16(ctx_arena_storage);
    return app_run_image_test(&model, &args);
}
