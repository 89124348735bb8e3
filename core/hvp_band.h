/* hvp_band.h - band Lanczos of block size 2 for the largest eigenvalue
 * (internal to core/hvp_eig.c: wb_hvp_top's warm start).
 *
 * A warm start of hess_max has two directions, the last Ritz vector x and
 * the batch gradient g, either of which can hold the new top eigenvector's
 * share. Summed into one start (x / |x| + g / |g|), their shares can
 * cancel: an audit (audI, I1) saw components 0.200 and -0.191 on the new
 * top eigenvector add up to 0.009, and Lanczos stopped on the second
 * eigenvalue, 3.8 % low. Here both start the basis (rows 0 and 1): the
 * search space after p products is span{x, g, H x, H g, H^2 x, ...} (its
 * first p vectors), which contains every combination a x + b g, so the
 * top eigenvector's share in it is never below its share in the better of
 * x and g, whatever their signs.
 *
 * Each product multiplies the oldest basis vector not yet multiplied
 * (q_p, p = 0, 1, ...); the result is orthogonalised against the basis
 * (classical Gram-Schmidt with T's known coefficients, two sweeps; see
 * orth_product; then against every basis vector, reorth: the basis is
 * small) and, unless it vanishes (below 1e-5, float rows, or 1e-12 of the
 * largest product norm so far: the space is then invariant on that side,
 * deflation), becomes the next vector, left unscaled (its scale kept
 * apart, sg). When every vector is multiplied and none is new before the
 * budget, the space ended: it restarts (as ARPACK) from a fixed hash-made
 * direction off the whole basis, once (a restart's block that ends holds
 * every eigenvalue of the rest). T
 * holds the coefficients: H q_j = sum_i T[i][j] q_i, exactly up to
 * rounding. The Rayleigh-Ritz values after p products are those of T's
 * leading p x p block (LAPACK dsyev); the residual of a Ritz pair (theta,
 * Q_p s) is ||sum_{i >= p} (sum_{j < p} T[i][j] s_j) q_i|| (at most two
 * rows below the block), with no extra product. The stop test is
 * lanczos3's in hvp_eig.c: Kato-Temple, r^2 <= tol (theta_1 - theta_2 -
 * r_2) |theta_1| after at least jmin products.
 */
#ifndef WB_HVP_BAND_H
#define WB_HVP_BAND_H

#include <stdint.h>

#include "err.h"
#include "hvp.h"

typedef struct wb_band {
    wb_hvp *h;
    int64_t first, count, P;
    double *v, *hv; /* [P]: a block's product (count < P) */
    double *Q;      /* [m + 2, count] double rows, or NULL: */
    float *F;       /* [m + 2, P] float rows (the whole vector, a float32
                     * engine with its data in one chunk) */
    double *T, *A;  /* [(m + 2)^2] each */
    double *ev, *lw; /* [m + 2], [3 (m + 2)] */
    /* float rows: swept only on the engine's live segments
     * (wb_hvp_f32_live); off them H v = l2x2 v, so row i there is
     * ca[i] X + cb[i] G for X, G rows 0 and 1 there as given (never
     * written after), whose products are xx, xg, gg. nseg 0: no split
     * (double rows) */
    const int64_t *seg;
    int nseg;
    double l2x2, xx, xg, gg, *ca, *cb; /* ca, cb [m + 2] */
    double *sg;     /* [m + 2]: basis vector i is sg[i] times row i */
} wb_band;

/* Doubles of scratch wb_band_init carves for at most m products. */
size_t wb_band_doubles(int64_t P, int64_t count, int m, int f);

/* Carves b's arrays from p (wb_band_doubles of them). */
void wb_band_init(wb_band *b, wb_hvp *h, int64_t first, int64_t count, int m, int f,
                  double *p);

/* At most m products from the basis rows 0 and 1 (filled by the caller:
 * row 0 non-zero, row 1 any vector, e.g. the gradient; either scale).
 * *value the largest Ritz value, *resid the relative residual
 * ||H y - value y|| / |value| of its Ritz vector y, which goes to yd
 * [count] or yf [count] (one of them; unnormalised, norm *ny), *steps the
 * products. */
wb_status wb_band_top(wb_band *b, int m, int jmin, double tol, double *value,
                      double *resid, int *steps, double *yd, float *yf, double *ny,
                      wb_err *err);

/* wb_hvp_top's warm start with the gradient (gmix > 0 and a start x):
 * band Lanczos from x and the gradient, at most m products. In double
 * rows from x [count] (the block first, count) and the gradient gd
 * [count]; or, xf given (wb_hvp_top_f32: the whole vector on a float32
 * engine), in float rows from xf [P] and the gradient's gparts pieces
 * gf[i] of gn[i] floats. A gradient not given (gd / gf NULL) is computed.
 * The Ritz vector goes to x (unit) or xf (norm *xnorm). */
wb_status wb_band_warm(wb_hvp *h, int64_t first, int64_t count, int m, double tol,
                       const double *gd, double *x, const float *const *gf,
                       const int64_t *gn, int gparts, float *xf, double *xnorm,
                       double *value, double *resid, int *steps, wb_err *err);

#endif
