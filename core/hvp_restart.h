/* hvp_restart.h - a Lanczos restart's direction after a breakdown (the
 * Krylov space ended before the answer: core/hvp_eig.c's eigs and top).
 *
 * The direction is fixed, made by a hash of (r, i), not by a generator:
 * hess_max measures during a fit, whose history must be bit-identical with
 * and without instruments, so no measurement draws a random number; nor is
 * it a coordinate vector, which a Hessian with structure (a layer's block,
 * a dead unit's rows) can meet exactly orthogonal to what is missing. It
 * is taken off the basis kept so far; when (almost) nothing is left the
 * basis spans the space. Plain loops (the double dots are hvp_dvec.h's
 * wb_dv_dot): a breakdown is rare. Nothing here allocates or fails.
 * core/hvp_band.c's restart uses entry r 0 as well.
 */
#ifndef WB_HVP_RESTART_H
#define WB_HVP_RESTART_H

#include <stdint.h>

/* Entry i of the r-th direction: in [-1, 1) (splitmix64's finaliser). A
 * call's restarts use distinct r: each lies in the span of the basis that
 * follows it. */
double wb_restart_entry(uint64_t r, uint64_t i);

/* y [c] <- the r-th direction taken off the j orthonormal rows of Q [j, c]
 * (modified Gram-Schmidt, twice), normalised: returns 1, or 0 when under
 * 1e-10 of it is left or j >= c (the rows span the space). y is not a row
 * of those j. */
int wb_restart_dv(double *y, const double *Q, int j, int64_t c, uint64_t r);

/* The same for a float basis of unscaled rows (core/hvp_eig.c's wb_hvp_top
 * in float): row i of F [j, c] is u_i = q_i / sig_i, stored on the nseg
 * live segments seg [2 nseg] only; off them u_i = gam_i u_0, whose squared
 * norm there is dd. y [c] gets the direction on the live segments, off
 * them it is *g times u_0; *nn is its norm. Returns 1, or 0 when under
 * 1e-5 of it is left (float rows' rounding). */
int wb_restart_fv(float *y, const float *F, const double *sig, const double *gam, double dd,
                  const int64_t *seg, int nseg, int j, int64_t c, uint64_t r, double *g,
                  double *nn);

#endif
