/*
 * sentiment_app: tweet sentiment (negative / neutral / positive) with the
 * dlgen-compiled embedding + LSTM classifier.
 *
 *   sentiment_app "some sentence" [more words ...]
 *       prints the label, the model's scores (logits) and their softmax
 *   sentiment_app --eval test_set.tsv [--predictions FILE] [--min-seconds S]
 *       classifies every line (label id, TAB, text), prints
 *         accuracy: 0.7473 (2360/3158)
 *         latency: median 1012.345 us per sentence
 *         latency with tokenization: median 1014.567 us per sentence
 *       (latency: passes over the first 200 lines for at least S seconds,
 *       default 0.5, and 5 passes; the model alone, then tokenizing too)
 *       and, with --predictions, writes one predicted label id per line
 *   sentiment_app --dump-ids test_set.tsv
 *       prints the 32 token ids of every line's text, space-separated
 *
 * Tokenization is the rule of sentiment_data.py, byte for byte: a token is a
 * maximal run of ASCII letters and digits, A-Z lowercased; every other byte
 * (including all bytes >= 0x80) separates tokens.  The first 32 tokens are
 * mapped to ids (vocab.c; <unk> = 1 if absent) and left-padded with <pad> = 0.
 *
 * argmax, the accuracy line, the predictions file and the median-of-passes
 * timing come from ../common/app_util.c (shared with the other examples).
 *
 * The model needs no heap: sentiment_run() uses the static arena that dlgen
 * generates.  Only the test set file is read into a malloc'd buffer.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_util.h"
#include "sentiment.h"
#include "vocab.h"

#define SEQ_LEN ((size_t)SENTIMENT_INPUT0_SIZE)
#define N_CLASSES ((size_t)SENTIMENT_OUTPUT0_SIZE)
#define TIMING_SENTENCES 200 /* latency: passes over the first 200 test sentences */

static const char *const label_names[] = {"negative", "neutral", "positive"};

typedef char n_classes_matches_labels[(SENTIMENT_OUTPUT0_SIZE == 3u) ? 1 : -1];

/* ---- tokenizer ---------------------------------------------------------- */

static int is_token_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ids[0 .. SEQ_LEN): the first SEQ_LEN tokens of text[0 .. len), left-padded. */
static void encode(const char *text, size_t len, int64_t *ids)
{
    char token[SENTIMENT_VOCAB_MAX_TOKEN_LEN];
    size_t i = 0, n = 0, k;

    while (i < len && n < SEQ_LEN) {
        size_t start, tlen;
        if (!is_token_byte((unsigned char)text[i])) {
            ++i;
            continue;
        }
        start = i;
        while (i < len && is_token_byte((unsigned char)text[i])) {
            ++i;
        }
        tlen = i - start;
        if (tlen > sizeof token) {
            ids[n++] = SENTIMENT_VOCAB_UNK_ID; /* longer than any word in the table */
            continue;
        }
        for (k = 0; k < tlen; ++k) {
            char c = text[start + k];
            token[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        ids[n++] = sentiment_vocab_lookup(token, tlen);
    }
    /* Move the n ids to the end and pad the front. */
    memmove(ids + (SEQ_LEN - n), ids, n * sizeof ids[0]);
    for (k = 0; k < SEQ_LEN - n; ++k) {
        ids[k] = SENTIMENT_VOCAB_PAD_ID;
    }
}

/* ---- test set ----------------------------------------------------------- */

typedef struct {
    size_t count;
    char *buffer;        /* the whole file, each line's text NUL-terminated in place */
    const char **texts;  /* count */
    size_t *lengths;     /* count */
    int *labels;         /* count */
} test_set;

static void free_test_set(test_set *ts)
{
    free(ts->buffer);
    free((void *)ts->texts);
    free(ts->lengths);
    free(ts->labels);
}

static char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, used = 0, got;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    do {
        if (cap - used < 65536) {
            char *grown;
            cap = cap ? 2 * cap : 1 << 20;
            grown = (char *)realloc(buf, cap + 1);
            if (grown == NULL) {
                fprintf(stderr, "out of memory\n");
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + used, 1, cap - used, f);
        used += got;
    } while (got > 0);
    if (ferror(f)) {
        fprintf(stderr, "error reading %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[used] = '\0';
    *size = used;
    return buf;
}

/* Lines "LABEL\tTEXT\n"; LABEL a class id.  A last line without '\n' counts. */
static int load_test_set(const char *path, test_set *ts)
{
    size_t size, i, lines = 0, n = 0;
    char *p, *end;

    ts->buffer = read_file(path, &size);
    if (ts->buffer == NULL) {
        return -1;
    }
    for (i = 0; i < size; ++i) {
        lines += (ts->buffer[i] == '\n');
    }
    lines += (size > 0 && ts->buffer[size - 1] != '\n');
    if (lines == 0) {
        fprintf(stderr, "%s: empty\n", path);
        return -1;
    }
    ts->texts = (const char **)malloc(lines * sizeof *ts->texts);
    ts->lengths = (size_t *)malloc(lines * sizeof *ts->lengths);
    ts->labels = (int *)malloc(lines * sizeof *ts->labels);
    if (ts->texts == NULL || ts->lengths == NULL || ts->labels == NULL) {
        fprintf(stderr, "out of memory\n");
        return -1;
    }
    p = ts->buffer;
    end = ts->buffer + size;
    while (p < end) {
        char *nl = (char *)memchr(p, '\n', (size_t)(end - p));
        char *line_end = nl ? nl : end;
        char *tab = (char *)memchr(p, '\t', (size_t)(line_end - p));
        long label = 0;
        char *q;
        if (tab == NULL || tab == p) {
            fprintf(stderr, "%s:%lu: expected LABEL<TAB>TEXT\n", path, (unsigned long)(n + 1));
            return -1;
        }
        for (q = p; q < tab; ++q) {
            if (*q < '0' || *q > '9' || label > 1000) {
                fprintf(stderr, "%s:%lu: bad label\n", path, (unsigned long)(n + 1));
                return -1;
            }
            label = label * 10 + (*q - '0');
        }
        if (label >= (long)N_CLASSES) {
            fprintf(stderr, "%s:%lu: label %ld out of range\n", path,
                    (unsigned long)(n + 1), label);
            return -1;
        }
        *line_end = '\0';
        ts->labels[n] = (int)label;
        ts->texts[n] = tab + 1;
        ts->lengths[n] = (size_t)(line_end - (tab + 1));
        ++n;
        p = line_end + 1;
    }
    ts->count = n;
    return 0;
}

/* ---- timing ------------------------------------------------------------- */

typedef struct {
    const test_set *ts;
    const int64_t *ids; /* NULL: tokenize the texts in every pass */
    size_t n;
    volatile int sink;
} timing_pass;

/* One pass over the first n test sentences: the pre-tokenized ids (the
 * model only), or tokenizing the texts too. */
static int run_timing_pass(void *ctx)
{
    timing_pass *p = (timing_pass *)ctx;
    float scores[SENTIMENT_OUTPUT0_SIZE];
    int64_t seq[SENTIMENT_INPUT0_SIZE];
    size_t i;
    for (i = 0; i < p->n; ++i) {
        const int64_t *x = seq;
        if (p->ids != NULL) {
            x = p->ids + i * SEQ_LEN;
        } else {
            encode(p->ts->texts[i], p->ts->lengths[i], seq);
        }
        if (sentiment_run(x, scores) != 0) {
            return -1;
        }
        p->sink += app_argmax(scores, N_CLASSES);
    }
    return 0;
}

/* Passes over the first TIMING_SENTENCES test sentences (all, if fewer)
 * until min_seconds have gone by (at least 5 passes); the median
 * per-sentence time in microseconds, or a negative value if the model
 * reports an error.  With ids != NULL the pre-tokenized ids are used
 * (model only); otherwise every pass tokenizes the texts too. */
static double measure_latency_us(const test_set *ts, const int64_t *ids, double min_seconds)
{
    timing_pass pass;
    pass.ts = ts;
    pass.ids = ids;
    pass.n = ts->count < TIMING_SENTENCES ? ts->count : TIMING_SENTENCES;
    pass.sink = 0;
    return app_median_latency_us(run_timing_pass, &pass, pass.n, min_seconds);
}

/* The reentrant entry point with a caller-owned arena must give exactly the
 * same scores as the default one. */
static unsigned char ctx_arena_storage[SENTIMENT_ARENA_BYTES + 16u];

static int check_ctx_api(const test_set *ts, const int64_t *ids)
{
    void *arena = app_align16(ctx_arena_storage);
    float a[SENTIMENT_OUTPUT0_SIZE], b[SENTIMENT_OUTPUT0_SIZE];
    size_t i;
    for (i = 0; i < ts->count; ++i) {
        const int64_t *x = ids + i * SEQ_LEN;
        if (sentiment_run(x, a) != 0 || sentiment_run_ctx(arena, x, b) != 0) {
            fprintf(stderr, "model error on line %lu\n", (unsigned long)(i + 1));
            return -1;
        }
        if (memcmp(a, b, sizeof a) != 0) {
            fprintf(stderr, "sentiment_run and sentiment_run_ctx disagree on line %lu\n",
                    (unsigned long)(i + 1));
            return -1;
        }
    }
    return 0;
}

/* ---- modes -------------------------------------------------------------- */

static int classify_text(const char *text)
{
    int64_t ids[SENTIMENT_INPUT0_SIZE];
    float scores[SENTIMENT_OUTPUT0_SIZE];
    double probs[SENTIMENT_OUTPUT0_SIZE], max, sum = 0.0;
    size_t i, tokens = 0;
    int best;

    encode(text, strlen(text), ids);
    if (sentiment_run(ids, scores) != 0) {
        fprintf(stderr, "sentiment_run failed\n");
        return 1;
    }
    best = app_argmax(scores, N_CLASSES);
    max = scores[best];
    for (i = 0; i < N_CLASSES; ++i) {
        probs[i] = exp((double)scores[i] - max);
        sum += probs[i];
    }
    for (i = 0; i < SEQ_LEN; ++i) {
        tokens += (ids[i] != SENTIMENT_VOCAB_PAD_ID);
    }
    printf("label: %s\n", label_names[best]);
    for (i = 0; i < N_CLASSES; ++i) {
        printf("  %-8s score %8.4f  probability %.4f\n", label_names[i], (double)scores[i],
               probs[i] / sum);
    }
    printf("(%lu token(s) used of at most %lu)\n", (unsigned long)tokens,
           (unsigned long)SEQ_LEN);
    return 0;
}

static int dump_ids(const char *set_path)
{
    test_set ts = {0, NULL, NULL, NULL, NULL};
    int64_t ids[SENTIMENT_INPUT0_SIZE];
    size_t i, j;
    int status = 1;

    if (load_test_set(set_path, &ts) != 0) {
        goto done;
    }
    for (i = 0; i < ts.count; ++i) {
        encode(ts.texts[i], ts.lengths[i], ids);
        for (j = 0; j < SEQ_LEN; ++j) {
            printf(j ? " %ld" : "%ld", (long)ids[j]);
        }
        putchar('\n');
    }
    status = fflush(stdout) == 0 ? 0 : 1;
done:
    free_test_set(&ts);
    return status;
}

static int evaluate(const char *set_path, const char *pred_path, double min_seconds)
{
    test_set ts = {0, NULL, NULL, NULL, NULL};
    int64_t *ids = NULL;
    int *predicted = NULL;
    size_t i, correct = 0;
    double model_us, total_us;
    int status = 1;

    if (load_test_set(set_path, &ts) != 0) {
        goto done;
    }
    ids = (int64_t *)malloc(ts.count * SEQ_LEN * sizeof *ids);
    predicted = (int *)malloc(ts.count * sizeof *predicted);
    if (ids == NULL || predicted == NULL) {
        fprintf(stderr, "out of memory\n");
        goto done;
    }
    for (i = 0; i < ts.count; ++i) {
        float scores[SENTIMENT_OUTPUT0_SIZE];
        encode(ts.texts[i], ts.lengths[i], ids + i * SEQ_LEN);
        if (sentiment_run(ids + i * SEQ_LEN, scores) != 0) {
            fprintf(stderr, "sentiment_run failed on line %lu\n", (unsigned long)(i + 1));
            goto done;
        }
        predicted[i] = app_argmax(scores, N_CLASSES);
        correct += (predicted[i] == ts.labels[i]);
    }
    app_print_accuracy(correct, ts.count);
    if (pred_path != NULL && app_write_predictions(pred_path, predicted, ts.count) != 0) {
        goto done;
    }
    if (check_ctx_api(&ts, ids) != 0) {
        goto done;
    }
    model_us = measure_latency_us(&ts, ids, min_seconds);
    total_us = measure_latency_us(&ts, NULL, min_seconds);
    if (model_us < 0.0 || total_us < 0.0) {
        fprintf(stderr, "sentiment_run failed while timing\n");
        goto done;
    }
    printf("latency: median %.3f us per sentence\n", model_us);
    printf("latency with tokenization: median %.3f us per sentence\n", total_us);
    status = 0;
done:
    free(ids);
    free(predicted);
    free_test_set(&ts);
    return status;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s \"some sentence\" [more words ...]\n"
            "       %s --eval test_set.tsv [--predictions FILE] [--min-seconds S]\n"
            "       %s --dump-ids test_set.tsv\n",
            prog, prog, prog);
}

int main(int argc, char **argv)
{
    const char *eval_path = NULL, *dump_path = NULL, *pred_path = NULL;
    double min_seconds = 0.5;
    size_t text_len = 0;
    char *text;
    int argi, first_word = 0, status;

    for (argi = 1; argi < argc; ++argi) {
        if (strcmp(argv[argi], "--eval") == 0 && argi + 1 < argc) {
            eval_path = argv[++argi];
        } else if (strcmp(argv[argi], "--dump-ids") == 0 && argi + 1 < argc) {
            dump_path = argv[++argi];
        } else if (strcmp(argv[argi], "--predictions") == 0 && argi + 1 < argc) {
            pred_path = argv[++argi];
        } else if (strcmp(argv[argi], "--min-seconds") == 0 && argi + 1 < argc) {
            min_seconds = atof(argv[++argi]);
        } else if (strcmp(argv[argi], "--") == 0) {
            first_word = argi + 1;
            break;
        } else if (argv[argi][0] == '-' && argv[argi][1] != '\0') {
            usage(argv[0]);
            return 2;
        } else {
            first_word = argi;
            break;
        }
    }
    if (eval_path != NULL && dump_path == NULL && first_word == 0) {
        return evaluate(eval_path, pred_path, min_seconds);
    }
    if (dump_path != NULL && eval_path == NULL && pred_path == NULL && first_word == 0) {
        return dump_ids(dump_path);
    }
    if (eval_path != NULL || dump_path != NULL || pred_path != NULL || first_word == 0 ||
        first_word >= argc) {
        usage(argv[0]);
        return 2;
    }
    /* The words, joined by spaces (spaces only separate tokens). */
    for (argi = first_word; argi < argc; ++argi) {
        text_len += strlen(argv[argi]) + 1;
    }
    text = (char *)malloc(text_len);
    if (text == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    text[0] = '\0';
    for (argi = first_word; argi < argc; ++argi) {
        if (argi > first_word) {
            strcat(text, " ");
        }
        strcat(text, argv[argi]);
    }
    status = classify_text(text);
    free(text);
    return status;
}
