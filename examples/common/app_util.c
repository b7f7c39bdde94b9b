/* The helpers shared by the example apps; see app_util.h. */
#define _POSIX_C_SOURCE 199309L

#include "app_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPS 100000

int app_argmax(const float *scores, size_t n)
{
    size_t i, best = 0;
    for (i = 1; i < n; ++i) {
        if (scores[i] > scores[best]) {
            best = i;
        }
    }
    return (int)best;
}

double app_now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double app_median(double *values, size_t n)
{
    qsort(values, n, sizeof(double), compare_doubles);
    return (n % 2 == 1) ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static double per_item_times[MAX_REPS];

double app_median_latency_us(app_pass_fn pass, void *ctx, size_t items, double min_seconds)
{
    size_t reps = 0;
    double start = app_now_seconds();

    while (reps < MAX_REPS && (reps < 5 || app_now_seconds() - start < min_seconds)) {
        double t0 = app_now_seconds(), t1;
        if (pass(ctx) != 0) {
            return -1.0;
        }
        t1 = app_now_seconds();
        per_item_times[reps++] = (t1 - t0) / (double)items * 1e6;
    }
    return app_median(per_item_times, reps);
}

void app_print_accuracy(size_t correct, size_t count)
{
    printf("accuracy: %.4f (%lu/%lu)\n", (double)correct / (double)count,
           (unsigned long)correct, (unsigned long)count);
}

int app_write_predictions(const char *path, const int *predicted, size_t count)
{
    FILE *f = fopen(path, "w");
    size_t i;
    if (f == NULL) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < count; ++i) {
        fprintf(f, "%d\n", predicted[i]);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "error writing %s\n", path);
        return -1;
    }
    return 0;
}

void *app_align16(unsigned char *storage)
{
    return (void *)(storage + ((16u - ((uintptr_t)storage & 15u)) & 15u));
}

/* ---- test_set.bin ------------------------------------------------------- */

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

int app_load_test_set(const char *path, size_t n_features, app_test_set *ts)
{
    FILE *f = fopen(path, "rb");
    int32_t header[2];
    size_t count;

    ts->count = 0;
    ts->images = NULL;
    ts->labels = NULL;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (read_words(f, header, 2, 0) != 0) {
        fprintf(stderr, "%s: truncated header\n", path);
        fclose(f);
        return -1;
    }
    if (header[0] <= 0 || header[1] != (int32_t)n_features) {
        fprintf(stderr, "%s: bad header (count %ld, features %ld; model expects %lu)\n",
                path, (long)header[0], (long)header[1], (unsigned long)n_features);
        fclose(f);
        return -1;
    }
    count = (size_t)header[0];
    ts->count = count;
    ts->images = (float *)malloc(count * n_features * sizeof(float));
    ts->labels = (int32_t *)malloc(count * sizeof(int32_t));
    if (ts->images == NULL || ts->labels == NULL) {
        fprintf(stderr, "out of memory\n");
        fclose(f);
        return -1;
    }
    if (read_words(f, ts->images, count * n_features, 1) != 0 ||
        read_words(f, ts->labels, count, 0) != 0) {
        fprintf(stderr, "%s: truncated data\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

void app_free_test_set(app_test_set *ts)
{
    free(ts->images);
    free(ts->labels);
    ts->images = NULL;
    ts->labels = NULL;
}

/* ---- the image classifiers' run ----------------------------------------- */

int app_parse_image_args(int argc, char **argv, int allow_latency_images, app_image_args *args)
{
    int argi;
    args->set_path = NULL;
    args->pred_path = NULL;
    args->min_seconds = 0.5;
    for (argi = 1; argi < argc; ++argi) {
        if (strcmp(argv[argi], "--predictions") == 0 && argi + 1 < argc) {
            args->pred_path = argv[++argi];
        } else if (strcmp(argv[argi], "--min-seconds") == 0 && argi + 1 < argc) {
            args->min_seconds = atof(argv[++argi]);
        } else if (allow_latency_images && strcmp(argv[argi], "--latency-images") == 0 &&
                   argi + 1 < argc) {
            args->latency_images = atol(argv[++argi]);
            if (args->latency_images < 1) {
                return -1;
            }
        } else if (argv[argi][0] == '-' || args->set_path != NULL) {
            return -1;
        } else {
            args->set_path = argv[argi];
        }
    }
    return args->set_path == NULL ? -1 : 0;
}

typedef struct {
    const app_image_model *model;
    const float *images;
    size_t n;
    float *scores;
    volatile int sink;
} image_pass;

static int run_image_pass(void *ctx)
{
    image_pass *p = (image_pass *)ctx;
    size_t i;
    for (i = 0; i < p->n; ++i) {
        if (p->model->run(p->images + i * p->model->n_features, p->scores) != 0) {
            return -1;
        }
        p->sink += app_argmax(p->scores, p->model->n_classes);
    }
    return 0;
}

/* run_ctx with the caller-owned arena must give exactly run's scores on the
 * first n images; scores holds 2 * n_classes floats. */
static int check_ctx_api(const app_image_model *m, const float *images, size_t n, float *scores)
{
    float *a = scores, *b = scores + m->n_classes;
    size_t i;
    for (i = 0; i < n; ++i) {
        const float *x = images + i * m->n_features;
        if (m->run(x, a) != 0 || m->run_ctx(m->arena, x, b) != 0) {
            fprintf(stderr, "model error on image %lu\n", (unsigned long)i);
            return -1;
        }
        if (memcmp(a, b, m->n_classes * sizeof(float)) != 0) {
            fprintf(stderr, "%s_run and %s_run_ctx disagree on image %lu\n", m->name, m->name,
                    (unsigned long)i);
            return -1;
        }
    }
    return 0;
}

/* Times passes over the first n images and prints the latency line; the
 * exit status (0 or 1). */
static int report_latency(const app_image_model *m, const float *images, size_t n,
                          float *scores, double min_seconds)
{
    image_pass pass;
    double latency;
    pass.model = m;
    pass.images = images;
    pass.n = n;
    pass.scores = scores;
    pass.sink = 0;
    latency = app_median_latency_us(run_image_pass, &pass, n, min_seconds);
    if (latency < 0.0) {
        fprintf(stderr, "%s_run failed while timing\n", m->name);
        return 1;
    }
    printf("latency: median %.3f us per image\n", latency);
    return 0;
}

int app_run_image_test(const app_image_model *m, const app_image_args *args)
{
    app_test_set ts;
    int *predicted = NULL;
    float *scores = NULL;
    size_t i, correct = 0, n_timed;
    int status = 1;

    if (app_load_test_set(args->set_path, m->n_features, &ts) != 0) {
        goto done;
    }
    n_timed = ts.count;
    if (args->latency_images > 0 && (size_t)args->latency_images < ts.count) {
        n_timed = (size_t)args->latency_images;
    }
    predicted = (int *)malloc(ts.count * sizeof(int));
    scores = (float *)malloc(2 * m->n_classes * sizeof(float));
    if (predicted == NULL || scores == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    for (i = 0; i < ts.count; ++i) {
        if (m->run(ts.images + i * m->n_features, scores) != 0) {
            fprintf(stderr, "%s_run failed on image %lu\n", m->name, (unsigned long)i);
            goto done;
        }
        predicted[i] = app_argmax(scores, m->n_classes);
        correct += (predicted[i] == ts.labels[i]);
    }
    app_print_accuracy(correct, ts.count);
    if (args->pred_path != NULL &&
        app_write_predictions(args->pred_path, predicted, ts.count) != 0) {
        goto done;
    }
    if (check_ctx_api(m, ts.images, n_timed, scores) == 0) {
        status = report_latency(m, ts.images, n_timed, scores, args->min_seconds);
    }
done:
    free(predicted);
    free(scores);
    app_free_test_set(&ts);
    return status;
}
