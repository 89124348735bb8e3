/* hvp_dvec.h - the double sweeps of Lanczos over P-long vectors (core/
 * hvp_eig.c), each compiled for the baseline, AVX2 and AVX-512 (core/
 * simd.h). Sums run in four chains added as (l0 + l1) + (l2 + l3), chain l
 * the entries l mod 4, in every one of them: the same numbers whichever
 * copy runs. Not the float sweeps (hvp_fvec.h). None allocates or fails.
 */
#ifndef WB_HVP_DVEC_H
#define WB_HVP_DVEC_H

#include <stdint.h>

/* a . b over n entries */
double wb_dv_dot(const double *a, const double *b, int64_t n);
/* when upd, w += a x; when dot, *out = y . w (the new w) */
void wb_dv_sweep(double *w, double a, const double *x, const double *y, int64_t n, int upd,
                 int dot, double *out);
/* qn = hq - a q - b qp; *nn = ||qn||^2 */
void wb_dv_recur(double *qn, const double *hq, const double *q, const double *qp, double a,
                 double b, int64_t n, double *nn);
/* y [c] = Q s over j rows of Q (stride c); *yy = ||y||^2 */
void wb_dv_ritz(double *y, const double *Q, const double *sv, int j, int64_t c, double *yy);
/* *out = ||x||^2 */
void wb_dv_sumsq(const double *x, int64_t n, double *out);
/* x = a x + b y */
void wb_dv_axpby(double *x, double a, const double *y, double b, int64_t n);

#endif
