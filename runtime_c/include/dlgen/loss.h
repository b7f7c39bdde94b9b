/* Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (float32). */
#ifndef DLGEN_LOSS_H
#define DLGEN_LOSS_H

#include "dlgen/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the per-element losses are combined into the output. */
typedef enum {
    DLG_LOSS_NONE = 0,  /* loss has target's shape: one value per element */
    DLG_LOSS_SUM,       /* loss is one value: the sum of the element losses */
    DLG_LOSS_MEAN       /* the sum divided by the sum of the weights of counted elements */
} dlg_loss_reduction;

/* NegativeLogLikelihoodLoss. X: log-probabilities [n, c, inner] (inner = d1 * ... * dk);
 * target: class indices [n, inner]; weight: per-class weights [c], or NULL for all ones.
 * An element whose target equals ignore_index (when use_ignore is 1), or lies outside
 * [0, c), contributes 0 with weight 0. Element loss = -X[i, target, j] * weight[target].
 * loss: [n, inner] floats for DLG_LOSS_NONE, else 1 float. reduction: a dlg_loss_reduction.
 * Sums are accumulated in double. */
void dlg_nll_loss_f32(float *loss, const float *X, const int64_t *target, const float *weight,
                      size_t n, size_t c, size_t inner, int64_t ignore_index, int use_ignore,
                      int reduction);

#ifdef __cplusplus
}
#endif

#endif /* DLGEN_LOSS_H */
