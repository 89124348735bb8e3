/* optim.h - first-order optimizers (SGD, Adam, AdamW, RMSprop) with lazily
 * allocated per-parameter state, following Keras 3 (KERAS.md items 12-15).
 *
 * Hyper-parameters and their Keras defaults (the one place they are listed):
 *
 *   sgd      lr = 0.01   momentum = 0 in [0, 1)   nesterov = false
 *            v = mu*v - lr*g;  w += v   (nesterov: w += mu*v - lr*g)
 *            momentum 0 keeps no state: w -= lr*g
 *   adam     lr = 1e-3   beta1 = 0.9   beta2 = 0.999 (both in [0, 1))
 *            eps = 1e-7 (> 0)
 *            t += 1;  m += (g - m)*(1 - beta1);  v += (g^2 - v)*(1 - beta2)
 *            alpha = lr*sqrt(1 - beta2^t)/(1 - beta1^t)
 *            w -= alpha*m/(sqrt(v) + eps)      (eps is not bias-corrected)
 *   adamw    as adam, plus weight_decay = 0.004 (>= 0) applied first, to every
 *            parameter (biases too):  w -= w*weight_decay*lr
 *   rmsprop  lr = 1e-3   rho = 0.9 in [0, 1)   eps = 1e-7 (> 0)
 *            v = rho*v + (1 - rho)*g^2;  w -= lr*g/sqrt(v + eps)
 *            (keras/src/optimizers/rmsprop.py: eps inside the square root;
 *            momentum = 0 and centered = false, the Keras defaults, only)
 *
 * lr is finite and >= 0. What this is not: no clipping, EMA, gradient
 * accumulation or loss scaling (KERAS.md 15 defaults: all off), no amsgrad.
 *
 * State: one record per parameter tensor (shape + state buffers m, v),
 * allocated at the first wb_optim_step for the count and shapes given then;
 * every later step must pass the same count and shapes (wb_optim_reset drops
 * the state). Steps after the first allocate nothing. The iteration count t is
 * one per optimizer, as Keras's `optimizer.iterations`.
 *
 * Kernels: per step the scalars are computed once (in double, then rounded to
 * float), then one fused loop runs over each parameter tensor, in float32.
 * The loops are SSE2 intrinsics, or AVX2 when the CPU has it (chosen at run
 * time; GCC's -O2 auto-vectorisation cannot vectorise sqrtf under
 * -fmath-errno). The scalar loop is the reference and handles tails. All
 * widths do the same IEEE operations in the same order without FMA, so the
 * results are bit-identical whichever ran.
 */
#ifndef WB_OPTIM_H
#define WB_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "tensor.h"

typedef enum wb_optim_kind {
    WB_OPTIM_SGD = 0,
    WB_OPTIM_ADAM,
    WB_OPTIM_ADAMW,
    WB_OPTIM_RMSPROP
} wb_optim_kind;

/* Hyper-parameters. Fields an optimizer does not use are ignored. */
typedef struct wb_optim_config {
    wb_optim_kind kind;
    double lr;           /* all */
    double momentum;     /* sgd */
    int nesterov;        /* sgd, 0 or 1 */
    double beta1, beta2; /* adam, adamw */
    double eps;          /* adam, adamw, rmsprop */
    double weight_decay; /* adamw */
    double rho;          /* rmsprop */
} wb_optim_config;

typedef struct wb_optim wb_optim;

/* ---- names and options ------------------------------------------------ */

/* Lower-case name used by wb.optim.new and opt.name: "sgd", "adam", "adamw",
 * "rmsprop". */
const char *wb_optim_kind_name(wb_optim_kind kind);
/* Class name for display: "SGD", "Adam", "AdamW", "RMSprop". */
const char *wb_optim_class_name(wb_optim_kind kind);
/* Parse a name (case-insensitive, either spelling above). WB_EINVAL listing
 * the valid names when unknown. */
wb_status wb_optim_kind_parse(const char *name, wb_optim_kind *kind,
                              wb_err *err);
/* Keras defaults for kind into cfg (can't fail). */
void wb_optim_defaults(wb_optim_kind kind, wb_optim_config *cfg);

/* Option keys of a kind, in display order: sgd lr, momentum, nesterov; adam
 * lr, beta1, beta2, eps; adamw the same plus weight_decay; rmsprop lr, rho,
 * eps. */
int wb_optim_nkeys(wb_optim_kind kind);
const char *wb_optim_key_name(wb_optim_kind kind, int i);  /* 0-based */
int wb_optim_key_is_bool(wb_optim_kind kind, int i);       /* nesterov */
/* Index of key for kind, or -1 (then wb_optim_key_error explains). */
int wb_optim_key_find(wb_optim_kind kind, const char *key);
/* Fill err: "Adam: unknown option 'beta_1' (valid: lr, beta1, ...)".
 * Returns WB_EINVAL. */
wb_status wb_optim_key_error(wb_optim_kind kind, const char *key, wb_err *err);
/* Get/set option i of cfg (booleans as 0/1). No validation here: that is
 * wb_optim_new's and wb_optim_set_lr's job. */
double wb_optim_config_get(const wb_optim_config *cfg, int i);
void wb_optim_config_set(wb_optim_config *cfg, int i, double value);

/* Check every hyper-parameter of cfg. WB_EINVAL naming the option and value,
 * e.g. "Adam: beta1 must be in [0, 1), got 1". */
wb_status wb_optim_validate(const wb_optim_config *cfg, wb_err *err);

/* ---- lifecycle -------------------------------------------------------- */

/* New optimizer with a copy of cfg (validated first), no state yet. NULL with
 * err filled on a bad hyper-parameter or out of memory. */
wb_optim *wb_optim_new(const wb_optim_config *cfg, wb_err *err);
void wb_optim_free(wb_optim *o); /* NULL-safe; frees the state too */
/* Drop all per-parameter state and set iterations to 0 (can't fail). */
void wb_optim_reset(wb_optim *o);

/* ---- stepping --------------------------------------------------------- */

/* One update of n parameter tensors (n >= 1): params[i] -= f(grads[i]).
 * params[i] and grads[i] are float32 with the same shape, not overlapping.
 * The first step allocates the state for these shapes; later steps must pass
 * the same count and shapes. All checks (shapes, state, every gradient
 * finite) happen before any write: on failure nothing has changed (weights,
 * state, iterations) and err says which parameter (1-based) and why:
 *   WB_EINVAL     n < 1, NULL tensor, not float32, param and grad overlap
 *   WB_ESHAPE     grads[i] shape differs from params[i], or count/shape
 *                 differs from the first step ("parameter 2: shape [10]
 *                 differs from [128] at the first step")
 *   WB_ENONFINITE a gradient holds NaN or infinity
 *   WB_ENOMEM     first step could not allocate the state
 * Borrows params and grads. */
wb_status wb_optim_step(wb_optim *o, int n, wb_tensor *const *params,
                        const wb_tensor *const *grads, wb_err *err);

/* ---- the update's sums, for instruments --------------------------------- */

/* The sums instruments read from the parameters, from the update's own
 * pass (a pass of their own after the step rereads what the update just
 * read, and needs a copy of the weights before it: for the baseline MLP
 * each costs about what the update does).
 *
 * wb_optim_watch(o, n, theta0, numel, c, need) watches n tensors of
 * numel[i] entries: theta0[i] (numel[i] floats, living while watched;
 * theta0 NULL: none is) the weights at the start of training, c[i] = 2 l2
 * of tensor i's L2 term (c NULL: all 0), need the sums to take (bits
 * WB_OPTIM_SUM_*: each costs about as much as the update of Adam; those
 * not taken are 0). n = 0 stops watching. Allocates what an armed step
 * uses (WB_ENOMEM), so steps allocate nothing; WB_EINVAL for unknown bits
 * of need.
 *
 * wb_optim_arm(o, n, dirs) arms the next step: dirs NULL, or the n watched
 * tensors' (an entry NULL: none for that tensor), float32 with numel[i]
 * entries, not sharing memory with the step's, living until that step,
 * into which it writes its update theta_{t+1} - theta_t (float). WB_EINVAL
 * (another n, not float32) or WB_ESHAPE (another count of entries), naming
 * the tensor (1-based); then the arming is as before. Not watching:
 * nothing is armed (WB_OK).
 *
 * Each step disarms (a refused one too). A step armed over n tensors of
 * those sizes measures, any optimizer; its update is the same, bit for
 * bit. wb_optim_watched gives the last step's sums, per tensor in order,
 * with *n (may be NULL) the tensors and *per (may be NULL) the sums each:
 *   per 4: (sum g^2, sum (g - c theta_t)^2, sum (theta_t - theta0)^2 (0
 *          without theta0), sum (theta_{t+1} - theta_t)^2) with theta_t the
 *          weights before the step. A tensor whose second sum is asked
 *          for with c[i] != 0: bit for bit persample.h
 *          wb_persample_params' (double, the same lanes in the same order,
 *          a block at a time from the level-1 cache: g - c theta_t may
 *          cancel, which float would not survive). Any other: blocks of
 *          128 summed in float, the blocks in double, as plain SGD's
 *          below, in the update's own loop (momentum, Nesterov, Adam,
 *          AdamW, RMSprop) or after it from the block (plain SGD). Each
 *          term's difference, square and at most seven float adds: a
 *          relative rounding of at most 10 2^-24 = 6e-7 a sum, about 2e-8
 *          seen; squares past 1.8e19 overflow. With c[i] = 0 the second
 *          is the first, as it is for finite weights;
 *   per 2: plain SGD (no momentum), every c 0 and no dirs: (sum g^2, sum
 *          (theta_t - theta0)^2), whatever need says, summed in the
 *          update's own loop (blocks of 128 in float, a relative rounding
 *          of about 5e-7, for a few percent of the update's time); the
 *          other two follow: g - c theta_t = g and the update is -lr g.
 * NULL (and 0, 0) when the last step did not measure (not armed, refused,
 * other tensors). */
enum {
    WB_OPTIM_SUM_G2 = 1, /* sum g^2 */
    WB_OPTIM_SUM_M2 = 2, /* sum (g - c theta_t)^2 */
    WB_OPTIM_SUM_D2 = 4, /* sum (theta_t - theta0)^2 */
    WB_OPTIM_SUM_U2 = 8, /* sum (theta_{t+1} - theta_t)^2 */
    WB_OPTIM_SUM_ALL = 15
};
wb_status wb_optim_watch(wb_optim *o, int n, const float *const *theta0,
                         const size_t *numel, const double *c, int need, wb_err *err);
wb_status wb_optim_arm(wb_optim *o, int n, wb_tensor *const *dirs, wb_err *err);
const double *wb_optim_watched(const wb_optim *o, int *n, int *per);

/* ---- accessors -------------------------------------------------------- */

const wb_optim_config *wb_optim_get_config(const wb_optim *o);
double wb_optim_lr(const wb_optim *o);
/* New learning rate (finite, >= 0), used from the next step on; keeps the
 * state (ReduceLROnPlateau). WB_EINVAL otherwise, lr unchanged. */
wb_status wb_optim_set_lr(wb_optim *o, double lr, wb_err *err);
int64_t wb_optim_iterations(const wb_optim *o);
/* Index of the first NaN or infinity of float32 t (the check of the
 * gradients, one vectorised pass), or its numel when it has none (and for
 * a tensor of another dtype, which holds none). fit checks weights a hook
 * of the user's may write with it (wb/fit_finite.lua). */
size_t wb_optim_first_nonfinite(const wb_tensor *t);
/* Number of parameter tensors with state (0 before the first step). */
int wb_optim_n_params(const wb_optim *o);
/* ---- state export / import (exact resume) ------------------------------ */
/* State buffers per parameter: 0 (sgd without momentum), 1 (sgd velocity,
 * rmsprop mean square) or 2 (adam/adamw m then v). */
int wb_optim_n_slots(const wb_optim *o);
/* A new float32 copy of buffer `slot` (0-based) of parameter i (0-based),
 * shaped as the parameter. WB_ESTATE before the first step, WB_ERANGE for
 * an index out of range. */
wb_tensor *wb_optim_state_get(const wb_optim *o, int i, int slot, wb_err *err);
/* Replace the whole state, as if the optimizer had stepped `iterations`
 * times over n parameters shaped like params[0..n): bufs holds n * n_slots
 * float32 tensors, parameter-major (p1 m, p1 v, p2 m, ...), each of its
 * parameter's shape. n = 0 with iterations = 0 is a reset. Everything is
 * checked first: on failure nothing has changed (WB_EINVAL, WB_ESHAPE,
 * WB_ENOMEM). Borrows params and bufs (the data is copied). */
wb_status wb_optim_state_set(wb_optim *o, int n, const wb_tensor *const *params,
                             const wb_tensor *const *bufs, int64_t iterations,
                             wb_err *err);

/* "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)" into buf; returns buf. */
char *wb_optim_str(const wb_optim *o, char *buf, size_t n);
#define WB_OPTIM_STR_MAX 160

#endif
