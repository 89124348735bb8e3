/* dense.h - fully connected layer: y = act(x @ W + b).
 *
 * Shapes (B = rows of the current batch, cap = rows allocated):
 *   weight      [n_in, n_out] row-major (Keras kernel layout)
 *   bias        [n_out]                 (NULL when use_bias is 0)
 *   grad_weight [n_in, n_out], grad_bias [n_out]: ACCUMULATED by backward
 *   z           [cap, n_out] pre-activation x @ W + b of the last forward
 *   y           [cap, n_out] act(z); NULL for linear (the output is z)
 *   dz          [gcap, n_out] dL/dz, allocated at the first backward that
 *               needs it (not for linear, not for backward_logits)
 *   dx          [gcap, n_in] dL/dx, allocated at the first backward with
 *               need_grad_input
 * With keep_dz set (per-sample statistics, core/persample.h), every backward
 * leaves dL/dz in dz (a copy for linear and backward_logits) and dz_n is its
 * row count; a forward sets dz_n to -1 (dz no longer matches the input).
 * The input x is not copied: backward takes the forward's x again. Buffers
 * are allocated when a batch larger than the capacity arrives (once) and
 * reused; a smaller batch uses the first B rows. A steady-state forward +
 * backward allocates nothing. Growing replaces the storage: views of the old
 * one stay valid (they hold a reference) but are no longer written.
 *
 * L2 (Keras kernel_regularizer L2(l2)): penalty l2 * sum(W^2) (no 1/2), and
 * each backward adds 2 * l2 * W to grad_weight. The bias is not penalised.
 *
 * Every fallible call returns a status and fills err; on failure nothing has
 * changed (caches, gradients and capacity are as before).
 */
#ifndef WB_DENSE_H
#define WB_DENSE_H

#include <stdint.h>

#include "activation.h"
#include "err.h"
#include "init.h"
#include "rng.h"
#include "tensor.h"

typedef struct wb_dense_opts {
    const char *activation; /* NULL: "linear" */
    const char *init;       /* NULL: "glorot_uniform" */
    double l2;              /* >= 0; 0: no penalty */
    int use_bias;           /* default 1 */
} wb_dense_opts;

typedef struct wb_dense {
    int64_t n_in, n_out;
    wb_act act;
    wb_init init;
    double l2;
    int use_bias;
    wb_tensor *weight, *bias;           /* [n_in, n_out], [n_out] */
    wb_tensor *grad_weight, *grad_bias; /* same shapes */
    int64_t n_batch;                    /* rows of the last forward; -1: none */
    int64_t cap, gcap;                  /* rows of z/y, rows of dz/dx */
    wb_tensor *z, *y;                   /* [cap, n_out] */
    wb_tensor *dz, *dx;                 /* [gcap, n_out], [gcap, n_in] */
    /* non-zeros of the last forward's input, row by row (sparse path):
     * row i's are sp_idx/sp_val[sp_row[i] .. sp_row[i+1]); sp_x is that
     * input's data (NULL: not kept) so backward can tell it is the same */
    int32_t *sp_idx;                    /* [sp_cap * n_in + 1] */
    float *sp_val;                      /* [sp_cap * n_in + 1] */
    int64_t *sp_row;                    /* [sp_cap + 1] */
    int64_t sp_cap, sp_n;
    const float *sp_x;
    int keep_dz;                        /* backward keeps dL/dz in dz */
    int64_t dz_n;                       /* rows of dz from the last backward; -1 */
} wb_dense;

/* Defaults: linear, glorot_uniform, l2 0, bias on. */
wb_dense_opts wb_dense_defaults(void);

/* New layer; the kernel is drawn from rng now (row-major order), the bias is
 * zero. Errors: n_in/n_out < 1 or too large, unknown activation or init
 * name, l2 negative or not finite (WB_EINVAL / WB_ERANGE), WB_ENOMEM. */
wb_dense *wb_dense_new(int64_t n_in, int64_t n_out, const wb_dense_opts *opts,
                       wb_rng *rng, wb_err *err);
void wb_dense_free(wb_dense *d);

/* Forward for x float32 [B, n_in]: fills z and y for B rows. The result is
 * wb_dense_output(d) (first n_batch rows). Errors: "input: expected
 * [*, 784], got [32, 785]" (WB_ESHAPE), a non-float input, WB_ENOMEM. */
wb_status wb_dense_forward(wb_dense *d, const wb_tensor *x, wb_err *err);
/* The buffer holding the output (y, or z for linear): [cap, n_out]. */
const wb_tensor *wb_dense_output(const wb_dense *d);
/* The pre-activation buffer z: [cap, n_out]. */
const wb_tensor *wb_dense_logits(const wb_dense *d);

/* Backward given x [B, n_in] (the forward's input) and grad_y [B, n_out]:
 * grad_weight += x^T dz, grad_bias += colsum(dz) (+ 2 l2 W), and when
 * need_grad_input, dx = dz W^T into wb_dense_grad_input(d). WB_ESTATE before
 * any forward; WB_ESHAPE when B differs from the last forward's batch. */
wb_status wb_dense_backward(wb_dense *d, const wb_tensor *x,
                            const wb_tensor *grad_y, int need_grad_input,
                            wb_err *err);
/* Same with grad_z = dL/dz given directly (the fused softmax + CE path). */
wb_status wb_dense_backward_logits(wb_dense *d, const wb_tensor *x,
                                   const wb_tensor *grad_z, int need_grad_input,
                                   wb_err *err);
/* The dx buffer [gcap, n_in]; NULL before the first backward that made it. */
const wb_tensor *wb_dense_grad_input(const wb_dense *d);

/* The non-zeros of row xr [I] (NaN counts as non-zero): their columns in
 * idx and values in val, I cells each; returns how many. The sparse
 * forward's scan, also per-sample statistics' (persample_cross.c). */
int wb_dense_row_nonzeros(int32_t *restrict idx, float *restrict val,
                          const float *restrict xr, int64_t I);

/* out [O] = sum_t val[t] * w[idx[t], :] for nnz (index, value) pairs of a
 * row: the sparse forward's kernel (z_i from x_i's non-zeros), shared with
 * the per-sample projections a_i^T V of core/persample.c. */
void wb_dense_sparse_rows(float *restrict out, const float *restrict w, int64_t O,
                          const int32_t *idx, const float *val, int nnz);

/* grad_weight = 0, grad_bias = 0. */
void wb_dense_zero_grad(wb_dense *d);
/* l2 * sum(W^2), accumulated in double; 0 when l2 is 0. */
double wb_dense_l2_penalty(const wb_dense *d);

#endif
