/* dropout.h - inverted dropout (Keras Dropout, noise_shape None).
 *
 * Training (rate > 0): y = x * mask with mask[k] = 0 with probability rate,
 * else 1 / (1 - rate); the mask is drawn from the given generator at forward
 * and reused by backward (dx = dy * mask), never redrawn. Inference, or rate
 * 0: the identity, with no draws (Keras only calls the RNG when training and
 * rate > 0); the output is then the input itself and backward's grad_input
 * is grad_output itself (d->masked is 0 and no buffer is written).
 *
 * Shapes: any float32 tensor x with n elements; y, mask and dx are flat
 * buffers of cap >= n elements, viewed with x's shape (d->ndim, d->shape).
 * Buffers grow once to the largest input seen and are reused.
 */
#ifndef WB_DROPOUT_H
#define WB_DROPOUT_H

#include <stdint.h>

#include "err.h"
#include "rng.h"
#include "tensor.h"

typedef struct wb_dropout {
    double rate;              /* in [0, 1) */
    int have_forward;         /* a forward has run */
    int masked;               /* the last forward applied a mask */
    int ndim;                 /* the last forward's input shape */
    int64_t shape[WB_MAX_DIM];
    size_t cap;               /* elements of y, mask (and dx when made) */
    size_t gcap;              /* elements of dx */
    wb_tensor *y, *mask, *dx; /* [cap] flat, [cap], [gcap] */
} wb_dropout;

/* rate must be in [0, 1): otherwise WB_EINVAL "rate: expected a number in
 * [0, 1), got -0.1". */
wb_dropout *wb_dropout_new(double rate, wb_err *err);
void wb_dropout_free(wb_dropout *d);

/* Forward; with training and rate > 0 draws a new mask from rng and writes
 * y (wb_dropout_output), else records x's shape only (output = x). */
wb_status wb_dropout_forward(wb_dropout *d, const wb_tensor *x, int training,
                             wb_rng *rng, wb_err *err);
/* Backward for grad_y of the last forward's shape: when masked and
 * need_grad_input, dx = dy * mask (wb_dropout_grad_input). WB_ESTATE before
 * any forward, WB_ESHAPE on a shape other than the forward's. */
wb_status wb_dropout_backward(wb_dropout *d, const wb_tensor *grad_y,
                              int need_grad_input, wb_err *err);
const wb_tensor *wb_dropout_output(const wb_dropout *d);     /* [cap] */
const wb_tensor *wb_dropout_grad_input(const wb_dropout *d); /* [gcap] */

#endif
