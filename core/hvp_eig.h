/* hvp_eig.h - spectrum instruments on the Hessian-vector products.
 *
 * Each works on one block of theta (first, count): the whole vector (0, P)
 * or one layer's parameters (wb_hvp_block); the operator is then the
 * block's diagonal block of H (v is zero outside it, H v is read inside it).
 *
 *   eigs     the k largest eigenvalues (algebraic) and their eigenvectors, by
 *            Lanczos with full reorthogonalisation (each new vector is
 *            orthogonalised against all earlier ones, twice), from v0 or a
 *            Gaussian start. Converged when every wanted Ritz pair has
 *            residual |beta_j s_ji| <= tol * max(|theta_i|, 1e-30). When
 *            the Krylov space ends first (a repeated eigenvalue's copies,
 *            a block the start missed lie outside it) it restarts from a
 *            fixed direction off the basis (hvp_restart.h); converged then
 *            also when no direction is left, or when a generic block's
 *            top is at most the k-th value. With k > 1 and no breakdown
 *            the copies were never looked for: a deflated pass checks
 *            (hvp_deflate.h; within max_iter's products, or not converged).
 *   top      the largest eigenvalue from a few warm-started Lanczos steps,
 *            with its residual (the instrument hess_max during training).
 *   trace    Hutchinson: mean of z^T H z over Rademacher probes z.
 *   slq      stochastic Lanczos quadrature: per Gaussian probe, `steps`
 *            Lanczos steps; the nodes (Ritz values) and weights (squared
 *            first components of the Ritz vectors, summing to 1), from
 *            which the spectral density is a sum of smoothed spikes.
 * Random numbers come from the given generator. Work space is the engine's
 * (wb_hvp_work: grown once, then reused by later calls; none per product).
 * The tridiagonal eigenproblems go to LAPACK's dstev (OpenBLAS ships it).
 */
#ifndef WB_HVP_EIG_H
#define WB_HVP_EIG_H

#include <stdint.h>

#include "err.h"
#include "hvp.h"
#include "rng.h"

typedef struct wb_eigs_opts {
    int k;              /* eigenpairs wanted, 1..count */
    double tol;         /* > 0 */
    int max_iter;       /* Lanczos steps at most, >= k (capped at count) */
    const double *v0;   /* [count] start, or NULL: Gaussian */
} wb_eigs_opts;

/* values [k] (largest first), vectors [k, count] (unit norm; may be NULL),
 * *found (k: the space is exhausted only when spanned, count >= k),
 * *converged (1 when tol was met). Errors: bad options (WB_EINVAL), a zero
 * v0, WB_ENOMEM, failures of wb_hvp_apply. */
wb_status wb_hvp_eigs(wb_hvp *h, int64_t first, int64_t count, const wb_eigs_opts *o,
                      wb_rng *rng, double *values, double *vectors, int *found,
                      int *converged, wb_err *err);

/* The block's largest eigenvalue, cheaply and with an honest error: at
 * most max_iter Lanczos steps from x [count]
 * (have_x; e.g. the last call's result: a warm start) or a Gaussian start;
 * with gmix > 0 the block's gradient g (one forward and backward pass) is
 * a start too: it lies mostly in the top eigenspace (Gur-Ari et al. 2018),
 * so when x became the second eigenvector on a new batch g still holds
 * some of the first. Without x, g is the start; with x, the two are kept
 * apart (any gmix > 0 the same): band Lanczos of block size 2 from x and
 * g (core/hvp_band.h; float rows on a float32 engine, swept on the live
 * segments; no stop before 6 products), since in a sum x / ||x|| + g / ||g|| their shares of the top
 * eigenvector can cancel (an audit saw 0.200 and -0.191: 3.8 % low);
 * stopping early when the estimated relative error of the value, by
 * Kato-Temple's bound r^2 / gap with the largest Ritz pair's residual
 * estimate r = |beta_j s_j| and the gap to the second Ritz value less
 * that pair's residual r_2, is at most tol: r^2 <= tol (theta_1 - theta_2
 * - r_2) |theta_1| (tol 0: never; at least 2 steps, 10 from a cold start). The Ritz gap is not the true gap, so this is a guide,
 * not a bound. *value is the largest Ritz value,
 * x becomes its unit Ritz vector y, *resid = ||H y - value y|| / |value|
 * (from the recurrence, exact up to rounding: no extra product), *steps
 * the products used. With one start, the three-term recurrence runs without
 * reorthogonalisation (each step a few sweeps over the vectors whatever
 * its index); for the whole vector on a float32 engine with its data in
 * one chunk (at most WB_HVP_TOP_F32_MAX steps) the basis is float, its
 * rows unscaled, the products go through wb_hvp_apply_f32_dot (half the
 * memory traffic, alpha summed inside the product: one sweep a step), and
 * only the rows' live part (wb_hvp_f32_live) is stored and swept.
 * Errors: bad options (WB_EINVAL), a zero x, WB_ENOMEM, failures of
 * wb_hvp_apply. */
wb_status wb_hvp_top(wb_hvp *h, int64_t first, int64_t count, int max_iter, double tol,
                     double gmix, double *x, int have_x, wb_rng *rng, double *value,
                     double *resid, int *steps, wb_err *err);
/* The same with the block's gradient g [count] given (NULL: computed, as
 * wb_hvp_top does): a training step has just computed it on this batch,
 * and computing it again is a forward and a backward pass. It is only a
 * start direction, so any batch gradient will do. */
wb_status wb_hvp_top_g(wb_hvp *h, int64_t first, int64_t count, int max_iter, double tol,
                       double gmix, const double *g, double *x, int have_x, wb_rng *rng,
                       double *value, double *resid, int *steps, wb_err *err);

/* The float basis's most steps. */
#define WB_HVP_TOP_F32_MAX 64

/* wb_hvp_top_g with its vectors in float, for the whole vector on a
 * float32 engine with its data in one chunk (wb_hvp_f32_ready) and
 * max_iter <= WB_HVP_TOP_F32_MAX (else WB_ESTATE): half the bytes of
 * every sweep, and none to convert. The gradient, when given (else NULL:
 * computed), is in gparts pieces g[i] of gn[i] floats, in theta's order,
 * P in all (a model's gradient tensors, read in place). x [P]: the start
 * (have_x) and on return the Ritz vector, not normalised: *xnorm is its
 * norm (in: x's norm, or 0 when not known). */
wb_status wb_hvp_top_f32(wb_hvp *h, int max_iter, double tol, double gmix,
                         const float *const *g, const int64_t *gn, int gparts, float *x,
                         double *xnorm, int have_x, wb_rng *rng, double *value,
                         double *resid, int *steps, wb_err *err);

/* Hutchinson estimate of the block's trace over `probes` (>= 2) probes:
 * *mean and its standard error *stderr_ (sample sd / sqrt(probes)). */
wb_status wb_hvp_trace(wb_hvp *h, int64_t first, int64_t count, int probes, wb_rng *rng,
                       double *mean, double *stderr_, wb_err *err);

/* nodes, weights [probes, steps]: row p holds probe p's quadrature (steps
 * actually taken in *taken[p]; the rest zero). */
wb_status wb_hvp_slq(wb_hvp *h, int64_t first, int64_t count, int probes, int steps,
                     wb_rng *rng, double *nodes, double *weights, int *taken,
                     wb_err *err);

#endif
