/* loss.h - sparse categorical cross-entropy fused with softmax.
 *
 * For logits z [n, C] and integer labels t [n] (0..C-1, unshifted):
 *   loss    = mean_i (logsumexp(z_i) - z_i[t_i])   (max-subtracted: finite
 *             for logits of +-1000), accumulated in double
 *   correct = #{i : argmax z_i == t_i}             (first maximum wins)
 *   grad    = (softmax(z) - onehot(t)) / n         computed in the forward
 * Labels are a uint8 or float32 tensor [n] (float labels must be integral).
 * The grad buffer [cap] (flat, viewed as [n, C]) grows once and is reused.
 * Keras: SparseCategoricalCrossentropy(from_logits=True), "sum_over_batch_size".
 */
#ifndef WB_LOSS_H
#define WB_LOSS_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

typedef struct wb_sce {
    int64_t n_batch;   /* rows of the last forward; -1: none */
    int64_t n_classes; /* C of the last forward */
    size_t cap;
    wb_tensor *grad;   /* [cap] flat; [n_batch, n_classes] valid */
} wb_sce;

wb_sce *wb_sce_new(wb_err *err);
void wb_sce_free(wb_sce *ce);
/* Loss and correct count of one batch; also computes the gradient. Errors
 * (nothing changed): logits not float32 [n, C] with n, C >= 1; labels not
 * [n]; "labels: label 7 (1-based position) is 10, expected 0..9". */
wb_status wb_sce_forward(wb_sce *ce, const wb_tensor *logits, const wb_tensor *labels,
                         double *loss, int64_t *correct, wb_err *err);
/* wb_sce_forward, with correct counted on scores [n, C] (float32, the
 * logits' shape; NULL: the logits) instead: argmax scores_i == t_i, first
 * maximum. Keras's accuracy compares the argmax of the model's output, so a
 * softmax head passes its probabilities: logits that differ by less than
 * float32 resolves after exp (0 and 1e-9) give equal probabilities, whose
 * first maximum is the first class. Errors as wb_sce_forward, and "scores:
 * expected float32 [n, C] ..." (arg 4). */
wb_status wb_sce_forward_scored(wb_sce *ce, const wb_tensor *logits, const wb_tensor *labels,
                                const wb_tensor *scores, double *loss, int64_t *correct,
                                wb_err *err);
/* The gradient buffer of the last forward (WB_ESTATE before any). */
wb_status wb_sce_backward(const wb_sce *ce, const wb_tensor **grad, wb_err *err);

#endif
