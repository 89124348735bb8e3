/* flatten.h - the Flatten layer: [n, d1, d2, ...] -> [n, d1 * d2 * ...].
 *
 * A float32 input is not copied: the output is a reshaped view of x (the
 * bindings make it), and backward's grad_input is grad_output reshaped to
 * x's shape. A uint8 input (raw images, 0..255) is converted into a layer
 * buffer divided by 255, like ds:batch and model:predict; it has no
 * gradient (backward gives none). The input needs at least 2 dimensions.
 */
#ifndef WB_FLATTEN_H
#define WB_FLATTEN_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

typedef struct wb_flatten {
    int have_forward;
    int in_u8;                    /* the last input was uint8 */
    int ndim;                     /* the last forward's input shape */
    int64_t shape[WB_MAX_DIM];
    int64_t out_shape[2];         /* [n, numel / n] */
    size_t cap;
    wb_tensor *buf;               /* [cap] flat, uint8 inputs only */
} wb_flatten;

wb_flatten *wb_flatten_new(wb_err *err);
void wb_flatten_free(wb_flatten *f);
/* Records the shapes; for uint8 fills buf[0 .. numel) with x / 255. */
wb_status wb_flatten_forward(wb_flatten *f, const wb_tensor *x, wb_err *err);
/* Checks grad_y against out_shape (WB_ESTATE before any forward). */
wb_status wb_flatten_backward(wb_flatten *f, const wb_tensor *grad_y, wb_err *err);

#endif
