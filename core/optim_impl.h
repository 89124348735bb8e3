/* optim_impl.h - what optim.c shares with optim_watch.c (not part of the
 * public API): the optimizer's record, the per-step scalars and the update
 * kernels' dispatch. */
#ifndef WB_OPTIM_IMPL_H
#define WB_OPTIM_IMPL_H

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "optim.h"

/* Per-parameter record: the shape seen at the first step and its state. */
typedef struct wb_optim_pstate {
    int ndim;
    int64_t shape[WB_MAX_DIM];
    size_t numel;
    float *m; /* [numel] sgd velocity / adam m / rmsprop mean square, or NULL */
    float *v; /* [numel] adam second moment, or NULL */
} wb_optim_pstate;

struct wb_optim {
    wb_optim_config cfg;
    int64_t iterations;       /* steps applied since construction or reset */
    int n_params;             /* 0: no state yet (before the first step) */
    wb_optim_pstate *params;  /* [n_params] */
    float *block;             /* every state buffer, one aligned allocation */
    /* the update's sums for instruments (wb_optim_watch, optim_watch.c) */
    int n_watch;              /* tensors watched, 0: none */
    int armed, measured;      /* the next step measures; the last one did */
    int form;                 /* sums per tensor of the last measured step: 2 or 4 */
    const float **w0;         /* [n_watch] theta0 of each tensor, or NULL */
    size_t *w_numel;          /* [n_watch] */
    double *w_c;              /* [n_watch] 2 l2 of each tensor's L2 term, or 0 */
    int need;                 /* WB_OPTIM_SUM_* the watched steps take */
    float **dirs;             /* [n_watch] where the armed step writes its update */
    int has_dirs;             /* the armed step was given dirs */
    double *sums;             /* [4 n_watch] */
    float *old;               /* [WB_OPTIM_WATCH_BLOCK] a block's weights before */
};

/* Entries of a tensor the watched update walks at a time (a multiple of
 * eight, param_sums.h): the block's weights, gradient, state, old weights,
 * theta0 and update (7 x 1 KB) stay in the level-1 cache for the sums.
 * For the baseline MLP with Adam 256 took 3 to 10 % less time than 128,
 * 512, 1024 or 2048. */
#define WB_OPTIM_WATCH_BLOCK 256

/* Per-step scalars, computed once per step (wb_optim_step). */
typedef struct wb_optim_coef {
    float lr, mu;       /* sgd */
    int nesterov;       /* sgd: which kernel runs */
    float c1, c2;       /* adam: 1 - beta1, 1 - beta2 */
    float alpha, eps;   /* adam: lr*sqrt(1 - beta2^t)/(1 - beta1^t); adam, rmsprop */
    float dk;           /* adamw: weight_decay*lr (0: no decay) */
    float rho, crho;    /* rmsprop: rho, 1 - rho */
} wb_optim_coef;

/* One entry of each update, op for op (no FMA: -ffp-contract=off), for
 * optim.c's kernels and optim_watch.c's watched ones: the new weight from
 * w and g, the state at *m and *v written. */
#define WB_OPTIM_ONE static inline __attribute__((always_inline)) float
/* sgd with momentum: m = m*mu - g*lr; w += m (nesterov: w += m*mu - g*lr) */
/* x, or 0 when it is subnormal (|x| < FLT_MIN). The moments of a weight
 * whose gradient stays 0 (an input pixel that is 0 in most images) decay
 * by a constant factor each step down into the subnormal floats, and Intel
 * CPUs take a microcode assist of about a hundred cycles on each operation
 * with a subnormal operand or result: on one such machine Adam's update was
 * 83 % of a batch-8 step, four times what it was elsewhere. Flushed where
 * each moment is stored, the update never meets one (TensorFlow, whose
 * Keras this follows, runs with flush-to-zero on). A subnormal moment
 * moves a weight by about 1e-33, below a float's last bit of any weight
 * larger than about 1e-26: without L2 the report's runs are the same bits.
 * A weight that itself decays that far (strong L2 under Adam drives those
 * of unused pixels to about 0) follows another path there: task 6's
 * l2 = 0.01 runs moved in their fourth digit (C4's kernel norm 4.2244 ->
 * 4.2247, test accuracy 91.01 -> 91.04 %), every other run of the report
 * kept its bits. */
static inline __attribute__((always_inline)) float wb_optim_flush(float x)
{
    return fabsf(x) < FLT_MIN ? 0.0f : x;
}

WB_OPTIM_ONE wb_optim_momentum_one(float w, float g, float *m, const wb_optim_coef *k,
                                   int nesterov)
{
    float glr = g * k->lr;
    float mi = wb_optim_flush(*m * k->mu - glr);
    *m = mi;
    return w + (nesterov ? mi * k->mu - glr : mi);
}
/* adam / adamw, Keras's operation order: (1) w -= w*dk (adamw only);
 * (2) m += (g - m)*c1; v += (g^2 - v)*c2; (4) w -= (m*alpha)/(sqrt(v) + eps) */
WB_OPTIM_ONE wb_optim_adam_one(float w, float g, float *m, float *v, const wb_optim_coef *k,
                               int decay)
{
    if (decay)
        w -= w * k->dk;
    float mi = wb_optim_flush(*m + (g - *m) * k->c1);
    float vi = wb_optim_flush(*v + (g * g - *v) * k->c2);
    *m = mi;
    *v = vi;
    return w - (mi * k->alpha) / (sqrtf(vi) + k->eps);
}
/* rmsprop: v = rho*v + (1 - rho)*g^2; w -= (lr*g)/sqrt(v + eps) */
WB_OPTIM_ONE wb_optim_rmsprop_one(float w, float g, float *v, const wb_optim_coef *k)
{
    float vi = wb_optim_flush(k->rho * *v + k->crho * (g * g));
    *v = vi;
    return w - (k->lr * g) / sqrtf(vi + k->eps);
}

/* The update of n entries of one tensor by the kernel of kind (m, v its
 * state at the same entries, NULL where it keeps none). The kernels are
 * elementwise: updating a tensor in pieces gives the bits of one call. */
void wb_optim_update(wb_optim_kind kind, const wb_optim_coef *k, float *w, const float *g,
                     float *m, float *v, size_t n);

/* optim_watch.c: whether this step (armed: it was) over n tensors
 * measures, setting o->form; then each tensor's update and sums; then
 * disarm. */
int wb_optim_watch_begin(wb_optim *o, int n, int armed);
void wb_optim_watch_update(wb_optim *o, int i, float *w, const float *g,
                           const wb_optim_coef *k);
void wb_optim_watch_clear(wb_optim *o);

#endif
