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
 * The latency is the median per-image time over whole passes over the test
 * set (at least 5, at least S seconds, default 0.5).
 *
 * The reading, evaluating and timing are shared with fashion_cnn:
 * app_run_image_test() in ../common/app_util.c.
 *
 * The model itself needs no heap: digits_run() uses the static arena that
 * dlgen generates.  Only the test set is read into malloc'd buffers.
 */
#include <stdio.h>

#include "app_util.h"
#include "digits.h"

/* For the check that digits_run_ctx() with a caller-owned arena gives
 * exactly the same scores as digits_run(). */
static unsigned char ctx_arena_storage[DIGITS_ARENA_BYTES + 16u];

int main(int argc, char **argv)
{
    app_image_model model = {"digits", DIGITS_INPUT0_SIZE, DIGITS_OUTPUT0_SIZE,
                             digits_run, digits_run_ctx, NULL};
    app_image_args args;

    args.latency_images = 0; /* time whole passes over the test set */
    if (app_parse_image_args(argc, argv, 0, &args) != 0) {
        fprintf(stderr, "usage: %s [--predictions FILE] [--min-seconds S] test_set.bin\n",
                argv[0]);
        return 2;
    }
    model.arena = app_align16(ctx_arena_storage);
    return app_run_image_test(&model, &args);
}
