/* Reference losses. SoftmaxCrossEntropyLoss is LogSoftmax (reduce.c) followed by the
 * negative log likelihood here. */
#include "dlgen/loss.h"

void dlg_nll_loss_f32(float *loss, const float *X, const int64_t *target, const float *weight,
                      size_t n, size_t c, size_t inner, int64_t ignore_index, int use_ignore,
                      int reduction) {
    double total = 0.0, total_weight = 0.0;
    size_t i, j;
    for (i = 0; i < n; ++i) {
        const float *x = X + i * c * inner;
        const int64_t *t = target + i * inner;
        for (j = 0; j < inner; ++j) {
            const int64_t cls = t[j];
            const int counted = !(use_ignore && cls == ignore_index) && cls >= 0 &&
                                (uint64_t)cls < (uint64_t)c;
            float w = 0.0f, l = 0.0f;
            if (counted) {
                w = weight != NULL ? weight[cls] : 1.0f;
                l = -x[(size_t)cls * inner + j] * w;
            }
            if (reduction == DLG_LOSS_NONE) {
                loss[i * inner + j] = l;
            } else {
                total += (double)l;
                total_weight += (double)w;
            }
        }
    }
    if (reduction == DLG_LOSS_SUM) {
        loss[0] = (float)total;
    } else if (reduction == DLG_LOSS_MEAN) {
        loss[0] = (float)(total / total_weight);
    }
}
