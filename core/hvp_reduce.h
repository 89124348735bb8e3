/* hvp_reduce.h - the largest Hessian eigenvalue of a batch in the first
 * Dense layer's row space: the same eigenvalue as wb_hvp_top_f32 on the
 * whole model, from products a fraction of the cost.
 *
 * Why it is exact. The loss of a batch X [n, I] depends on the first
 * Dense's kernel W [I, O] only through X W (the layers before it are
 * identities: Flatten, Dropout at inference). So every Hessian product's
 * W part is X^T M for some M [n, O], and H = T H~ T^T + (the rest), where,
 * with X = Pi L Q (Pi L L^T Pi^T = X X^T pivoted Cholesky of rank r, Q [r,
 * I] orthonormal rows), T maps reduced parameters (W~ [r, O], the other
 * parameters as they are) to W = Q^T W~, and H~ = T^T H T is the Hessian of
 * the same model whose first Dense reads X~ = Pi L [n, r] with kernel W~ =
 * Q W: X~ W~ = X W, the same loss, logits and gradients. Off T's range
 * (W parts orthogonal to X's rows) H is 2 l2 times the identity (the
 * first Dense's L2; 0 without), so the largest eigenvalue is max(largest
 * of H~, 2 l2) while r < I. A product of H~ costs n x n x O where H's
 * costs (the input's non-zeros) x O twice, and Lanczos sweeps vectors of
 * n O + (the rest) numbers instead of I O + (the rest): on MNIST at batch
 * 32, 4096 + 1418 instead of 100352 + 1418.
 *
 * Between calls the Ritz vector stays in the row space, as X^T Zh for the
 * batch it was found on, and the next batch's start is read off it
 * (X_new X_old^T Zh: n x n x I, then n x n x O); W~ itself is read off the
 * first Dense's pre-activation X W + b when the caller has it. Whole
 * vectors in theta's order (a given start, wb_hvp_red_vector) are mapped
 * in by W~ = Q W (X W over X's non-zeros, then a triangular solve) and out
 * by W = Q^T W~ (a triangular solve, then X^T times it). The part of a
 * start off X's rows is dropped (an eigenvector of eigenvalue 2 l2).
 *
 * Memory: everything at wb_hvp_red_new for batches of at most B rows;
 * later calls allocate nothing (the fit instruments call it inside
 * training steps), but for a view of X~'s first n rows when n changes.
 */
#ifndef WB_HVP_REDUCE_H
#define WB_HVP_REDUCE_H

#include <stdint.h>

#include "err.h"
#include "hvp.h"
#include "rng.h"
#include "tensor.h"

typedef struct wb_hvp_red wb_hvp_red;

/* Inputs of the first Dense a row of the batch, at least, for a reduced
 * engine (below, the maps cost more than the products save). */
#define WB_HVP_RED_MIN 10

/* A reduced engine (float32) for the layers (as wb_hvp_new) and batches of
 * at most B rows. WB_EINVAL when it would not pay: a layer with
 * parameters before the first Dense, or its n_in < WB_HVP_RED_MIN B; other
 * errors as wb_hvp_new's and WB_ENOMEM. */
wb_hvp_red *wb_hvp_red_new(const wb_hvp_layer *layers, int n_layers, wb_hvp_loss loss,
                           int64_t B, wb_err *err);
void wb_hvp_red_free(wb_hvp_red *r);
/* The most rows a batch may have (B). */
int64_t wb_hvp_red_rows(const wb_hvp_red *r);

/* The batch (x float32 or uint8 [n, ...], n <= B, numel / n the first
 * Dense's n_in; y as wb_hvp_set_data's) and the parameters theta, nparts
 * float pieces parts[i] of cnt[i] numbers in theta's order (the whole
 * model's; the first is the first Dense's kernel): the row space's basis,
 * X~ and W~. z [n, O] (row stride O), when not NULL, is the first Dense's
 * pre-activation X W + b at theta (a training step's forward has it): W~
 * is then read off it instead of from X W, when its first row agrees
 * with X W's to 1e-4 (else it is not this batch's, and is not used).
 * Errors: shapes (WB_ESHAPE), labels (wb_hvp_set_data's), an input that
 * is not finite (WB_ENONFINITE). */
wb_status wb_hvp_red_set(wb_hvp_red *r, const wb_tensor *x, const wb_tensor *y,
                         const float *const *parts, const int64_t *cnt, int nparts,
                         const float *z, wb_err *err);

/* wb_hvp_top_f32 of the batch set last, on the reduced problem, from its
 * own batch gradient (gmix) and a start: x [P] (the whole model's) when
 * not NULL, else (kept) the Ritz vector the last call kept, else none
 * (cold). The new
 * Ritz vector is kept (not mapped out: wb_hvp_red_vector). *value is
 * max(the reduced problem's, 2 l2) while r < n_in (2 l2: exact, *resid 0). */
wb_status wb_hvp_red_top(wb_hvp_red *r, int max_iter, double tol, double gmix,
                         const float *x, int kept, wb_rng *rng, double *value,
                         double *resid, int *steps, wb_err *err);
/* x [P] = the kept Ritz vector, mapped out of the row space (W = X^T Zh
 * over X's non-zeros), *xnorm its norm (1 to rounding). WB_ESTATE when
 * none is kept. */
wb_status wb_hvp_red_vector(const wb_hvp_red *r, float *x, double *xnorm, wb_err *err);

#endif
