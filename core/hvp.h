/* hvp.h - exact Hessian-vector products of a model's mean loss.
 *
 * H v for the Hessian H of L(theta) = mean_i loss(model(x_i; theta), y_i) +
 * sum over Dense layers of l2 * sum(W^2), by forward-over-backward
 * differentiation (Pearlmutter 1994, the R-operator R{f} = d/dr f(theta + r v)
 * at r = 0): one forward pass, one backward pass, then R of both. No finite
 * differences: exact up to rounding.
 *
 * Layers: Dense (every activation; softmax only as the last, fused with the
 * cross-entropy), Activation (element-wise ones), and identities (Flatten,
 * Dropout, which runs as at inference). Losses: the fused softmax sparse
 * cross-entropy on the last layer's logits (core/loss.h), or the mean
 * squared error mean_i mean_j (y_ij - t_ij)^2 (Keras "mse") on its output.
 *
 * theta (P numbers) is the parameters in Sequential:parameters() order: per
 * Dense layer, W [n_in, n_out] row-major then b [n_out]. Vectors crossing
 * this interface (theta, v, H v, the gradient) are double [P].
 *
 * Precision: by default float32 buffers and BLAS sgemm, with the products
 * summed over chunks and the bias column sums in double; with f64 every
 * buffer and product is double (dgemm): the mode the tests use against
 * finite differences and LAPACK. Inputs are float32 or uint8 (divided
 * by 255, as Flatten does). In float32, when at most half of a chunk's
 * inputs to the first Dense are non-zero (MNIST pixels: about 80 % zeros),
 * that layer's products read only the non-zeros, gathered once per chunk
 * by the forward pass (core/hvp_sparse.h): the same sums, in another
 * order, for a fraction of the work.
 *
 * Memory: everything is allocated by wb_hvp_new (max_rows rows of every
 * activation, forward and R) and wb_hvp_set_data (room for the labels,
 * views of the data unless the same storage and shape come again, and in
 * float32 room for min(N, max_rows) rows of the first Dense's input as
 * non-zeros, each grown only); a product allocates nothing, nor does
 * setting data of the same tensors and no more rows. When the data has
 * at most max_rows rows, the forward and backward passes are kept between
 * products (they do not depend on v): a product is then only the two R
 * passes. Otherwise each product runs the data in chunks of max_rows rows.
 *
 * The engine borrows the layers (wb_dense pointers): they must outlive it.
 * It copies their weights at wb_hvp_sync, never writes them.
 */
#ifndef WB_HVP_H
#define WB_HVP_H

#include <stdint.h>

#include "activation.h"
#include "dense.h"
#include "err.h"
#include "tensor.h"

typedef enum wb_hvp_kind {
    WB_HVP_DENSE = 0,  /* dense: a wb_dense */
    WB_HVP_ACTIVATION, /* act: element-wise (not softmax) */
    WB_HVP_IDENTITY    /* Flatten, Dropout at inference */
} wb_hvp_kind;

typedef struct wb_hvp_layer {
    wb_hvp_kind kind;
    const wb_dense *dense; /* WB_HVP_DENSE; borrowed */
    wb_act act;            /* WB_HVP_ACTIVATION */
} wb_hvp_layer;

typedef enum wb_hvp_loss { WB_HVP_SCE = 0, WB_HVP_MSE } wb_hvp_loss;

typedef struct wb_hvp_opts {
    wb_hvp_loss loss;
    int f64;          /* 1: double throughout */
    int64_t max_rows; /* rows per chunk, >= 1 */
    int dense_input;  /* 1: float32 products never skip the input's zeros
                       * (tests compare the two ways) */
} wb_hvp_opts;

typedef struct wb_hvp wb_hvp;

/* An engine for the layers (n_layers >= 1, at least one Dense). Errors:
 * WB_EINVAL naming the layer (1-based) for softmax other than last, an
 * Activation softmax, a Dense whose n_in does not match the width before
 * it, no Dense; WB_ERANGE for max_rows; WB_ENOMEM. */
wb_hvp *wb_hvp_new(const wb_hvp_layer *layers, int n_layers, const wb_hvp_opts *opts,
                   wb_err *err);
void wb_hvp_free(wb_hvp *h);

/* P, the number of parameters. */
int64_t wb_hvp_numel(const wb_hvp *h);
/* The parameters of layer `layer` (0-based, counting every layer): their
 * offset and count in theta; WB_EINVAL when it has none or is out of range. */
wb_status wb_hvp_block(const wb_hvp *h, int layer, int64_t *first, int64_t *count,
                       wb_err *err);
/* Scratch of at least n doubles owned by the engine (for hvp_eig.c's work
 * space), grown once and reused by later calls: an engine kept across
 * training steps allocates nothing per call. Contents are not kept across
 * calls that grow it. NULL and WB_ENOMEM when it cannot grow. */
double *wb_hvp_work(wb_hvp *h, size_t n, wb_err *err);
/* Products computed so far (each wb_hvp_apply is one). */
int64_t wb_hvp_count(const wb_hvp *h);
/* 1 when the last chunk's first-Dense products read only its input's
 * non-zeros (float32, at most half non-zero), else 0. */
int wb_hvp_sparse(const wb_hvp *h);

/* Whether its products are computed in double (else float32). */
int wb_hvp_f64(const wb_hvp *h);

/* The data: x float32 or uint8 [N, ...] with numel / N equal to the first
 * Dense's n_in; y for cross-entropy integer labels [N] (uint8 or float32)
 * in 0..C-1, for mse float32 [N, C] (or [N] when C is 1). Keeps references
 * (views) of both; checks every label. Errors name "x" or "y" with the
 * shapes, or the label's 1-based position. */
wb_status wb_hvp_set_data(wb_hvp *h, const wb_tensor *x, const wb_tensor *y,
                          wb_err *err);
/* theta <- the layers' current weights. */
void wb_hvp_sync(wb_hvp *h);
/* theta <- nparts float pieces parts[i] of n[i] numbers, in theta's order
 * (P in all; the caller checks): a model's weights kept elsewhere (the fit
 * instruments' theta_t), read in place instead of swapped into the layers
 * for wb_hvp_sync. */
void wb_hvp_set_theta_f32(wb_hvp *h, const float *const *parts, const int64_t *n,
                          int nparts);
/* theta <- t [P] / t [P] <- theta. */
void wb_hvp_set_theta(wb_hvp *h, const double *t);
void wb_hvp_get_theta(const wb_hvp *h, double *t);

/* Mean loss (L2 included) and, when grad is not NULL, its gradient [P] at
 * theta. WB_ESTATE without data; WB_ENONFINITE when the loss is not finite. */
wb_status wb_hvp_loss_grad(wb_hvp *h, double *loss, double *grad, wb_err *err);
/* hv [P] = H v [P] at theta (hv must not overlap v). WB_ESTATE without data. */
wb_status wb_hvp_apply(wb_hvp *h, const double *v, double *hv, wb_err *err);
/* The same in float32, v read in place (no conversion) and H v written in
 * float: half the memory traffic of the doubles, for Lanczos on large P
 * (wb_hvp_top). Needs a float32 engine and data in one chunk
 * (wb_hvp_f32_ready), else WB_ESTATE. */
wb_status wb_hvp_apply_f32(wb_hvp *h, const float *v, float *hv, wb_err *err);
/* The same for Lanczos (core/hvp_eig.c), and *vhv = v . H v, each layer's
 * part of H v summed while it is still in cache (alpha: a sweep over two
 * P-long vectors costs a sixth of the product); outside
 * wb_hvp_f32_live's segments H v is neither written nor summed. */
wb_status wb_hvp_apply_f32_dot(wb_hvp *h, const float *v, float *hv, double *vhv,
                               wb_err *err);
int wb_hvp_f32_ready(const wb_hvp *h);
/* Where H v can be other than l2x2 v on the current data (float32, one
 * chunk; runs the forward pass when it is not current): everything but
 * the rows of the first Dense's W whose input is zero in every row (that
 * input takes no part in the loss; on MNIST at batch 32, 42 % of the
 * parameters), with l2x2 = 2 l2 of that Dense. *nseg [begin, end) ranges
 * of theta, in order, owned by the engine (valid until the data or the
 * weights change). NULL and WB_ESTATE when the engine is not ready. */
const int64_t *wb_hvp_f32_live(wb_hvp *h, int *nseg, float *l2x2, wb_err *err);

#endif
