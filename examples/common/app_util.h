/*
 * app_util: the plain C99 helpers shared by the example apps
 * (digits_mlp, fashion_cnn, sentiment_lstm): argmax, a monotonic clock and
 * median-of-passes latency, the accuracy line, the predictions file, the
 * 16-byte-aligned arena for the *_run_ctx() check, and, for the two image
 * classifiers, reading test_set.bin and the whole evaluate-and-time run.
 *
 * test_set.bin (little-endian): int32 count, int32 features,
 * count*features float32 images, count int32 labels.
 */
#ifndef APP_UTIL_H
#define APP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Index of the largest score; the first one wins ties (like numpy.argmax). */
int app_argmax(const float *scores, size_t n);

/* Seconds on CLOCK_MONOTONIC. */
double app_now_seconds(void);

/* Median of values[0 .. n), n >= 1; sorts values in place. */
double app_median(double *values, size_t n);

/* One timing pass over `items` inputs; returns 0, or nonzero if the model
 * reports an error. */
typedef int (*app_pass_fn)(void *ctx);

/* Runs pass(ctx) until min_seconds have gone by (and at least 5 passes, at
 * most 100000); returns the median per-item time in microseconds, or a
 * negative value if a pass fails. */
double app_median_latency_us(app_pass_fn pass, void *ctx, size_t items, double min_seconds);

/* Prints "accuracy: 0.9815 (530/540)". */
void app_print_accuracy(size_t correct, size_t count);

/* Writes one predicted label per line to path; 0 or -1 (message printed). */
int app_write_predictions(const char *path, const int *predicted, size_t count);

/* The first 16-byte-aligned address in storage (which needs 15 spare bytes). */
void *app_align16(unsigned char *storage);

/* ---- image classifiers on test_set.bin ---------------------------------- */

typedef struct {
    size_t count;
    float *images;   /* count * features */
    int32_t *labels; /* count */
} app_test_set;

/* Reads test_set.bin, whose features must be n_features; 0 or -1 (message
 * printed).  Free with app_free_test_set() either way. */
int app_load_test_set(const char *path, size_t n_features, app_test_set *ts);
void app_free_test_set(app_test_set *ts);

/* A dlgen-compiled classifier with one float input and one float output. */
typedef struct {
    const char *name; /* the --name given to dlgen, for messages */
    size_t n_features;
    size_t n_classes;
    int (*run)(const float *input, float *scores);
    int (*run_ctx)(void *arena, const float *input, float *scores);
    void *arena; /* aligned, at least <NAME>_ARENA_BYTES, for run_ctx */
} app_image_model;

typedef struct {
    const char *set_path;
    const char *pred_path; /* NULL: no predictions file */
    double min_seconds;    /* default 0.5 */
    long latency_images;   /* 0: time (and check run_ctx on) the whole set */
} app_image_args;

/* Parses [--predictions FILE] [--min-seconds S] [--latency-images N]
 * test_set.bin (--latency-images only if allow_latency_images) into args,
 * whose latency_images holds the default on entry; 0, or -1 on a usage error. */
int app_parse_image_args(int argc, char **argv, int allow_latency_images, app_image_args *args);

/* Classifies the whole test set and prints the accuracy line, writes the
 * predictions file, checks that run_ctx gives exactly run's scores on the
 * timed images, times passes over them and prints
 * "latency: median 1.234 us per image"; the exit status (0 or 1). */
int app_run_image_test(const app_image_model *model, const app_image_args *args);

#endif /* APP_UTIL_H */
