/* hvp_band.c - band Lanczos of block size 2 for the largest eigenvalue.
 * See hvp_band.h.
 */
#include "hvp_band.h"
#include "hvp_fvec.h"
#include "hvp_restart.h"

#include <math.h>
#include <string.h>

/* LAPACK (Fortran) dense symmetric eigensolver, in OpenBLAS. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t jobz_len,
            size_t uplo_len);

size_t wb_band_doubles(int64_t P, int64_t count, int m, int f)
{
    size_t r = (size_t)m + 2, rows = f ? (r * (size_t)P + 1) / 2 : r * (size_t)count;
    return 2 * (size_t)P + rows + 2 * r * r + 7 * r;
}

void wb_band_init(wb_band *b, wb_hvp *h, int64_t first, int64_t count, int m, int f,
                  double *p)
{
    size_t r = (size_t)m + 2;
    int64_t P = wb_hvp_numel(h);
    memset(b, 0, sizeof *b);
    b->h = h, b->first = first, b->count = count, b->P = P, b->v = p, b->hv = p + P;
    if (count < P)
        memset(b->v, 0, (size_t)P * sizeof(double));
    p += 2 * P;
    b->T = p, p += r * r;
    b->A = p, p += r * r;
    b->ev = p, p += r;
    b->lw = p, p += 3 * r;
    b->ca = p, p += r;
    b->cb = p, p += r;
    b->sg = p, p += r;
    if (f)
        b->F = (float *)p;
    else
        b->Q = p;
}

/* Products of the band phase: the basis grows by one vector per product,
 * the oldest not yet multiplied, so that the two start directions take
 * turns (block Krylov: after 6 products span{x, g, Hx, Hg, H^2x, H^2g});
 * no stop before its end, whatever Kato-Temple says. After it, each
 * product is of the top Ritz pair's residual (Lanczos continued from the
 * top Ritz vector, the other directions kept in the basis). 6: on 1000
 * small models x 7 warm steps no stop more than 1e-4 low with a small
 * residual (5 with the summed start, up to 5.3 %; 2 with 5, up to 4.3 %;
 * 3 with 4, up to 5.7 %, and an 8.7 % miss on the MNIST benchmark). A
 * band throughout (no phase end) stops nowhere low but takes 45 % more
 * products on the MNIST benchmark; continuing from the top Ritz vector
 * from the 2nd product, 6 % more, but 7 stops low on the small models (up
 * to 8.6 %) and one 5.4 % low on MNIST. 8 (span{x, g, ..., H^3 x, H^3 g}):
 * with sigmoid, tanh and elu models too (1500 small models, 18,000
 * measurements) 6 left 9 warm stops up to 11 % low, on the second
 * eigenvalue, after 8 products (the new top's share in x and g 0.01 to
 * 0.08: three products of each did not lift it past the second), and MNIST
 * 784-32-10 tanh's step 49 8.1 % low; 8 leaves 2, up to 5.0 %, and finds
 * MNIST's, for 8 % more products on bench_hess_max (9.96 and 10.64 a
 * measurement at batch 32 and 128, from 9.20 and 10.05). On the 3000 12-6-3
 * models above, 2 warm misses either way (6: seeds 1204 and 1755, 0.88 %
 * and 3.8 %; 8: 1204 and 2868, 0.88 % and 5.4 %). */
#define BAND_MIN 8

/* Rows: double (Q) or float (F), count entries each, scaled lazily: basis
 * vector q_i is sg[i] times row i (a new row is left at its norm nb, sg
 * 1 / nb: no sweep to scale it), and each sweep takes its coefficients
 * times the rows' sg; the product of row p is H q_p / sg[p], which the
 * first sweep over it multiplies by sg[p]. The float sweeps are
 * hvp_fvec.h's (wb_fv_frec2: w = a w - b1 x1 - b2 x2, with w's square and
 * its dots with two rows in the same pass). */
static double *qrow(const wb_band *b, int i) { return b->Q + (size_t)i * (size_t)b->count; }
static float *frow(const wb_band *b, int i) { return b->F + (size_t)i * (size_t)b->count; }

/* rows i and j's product off the live segments */
static double dead(const wb_band *b, int i, int j)
{
    double r = b->ca[i] * b->ca[j] * b->xx, m = b->ca[i] * b->cb[j] + b->cb[i] * b->ca[j];
    if (m != 0) /* G's terms only where G is: a gradient that is not finite is
                 * dropped (wb_band_top), its products with it not read */
        r += m * b->xg;
    if (b->cb[i] * b->cb[j] != 0)
        r += b->cb[i] * b->cb[j] * b->gg;
    return r;
}

/* Row w = a row w - c1 row k1 - c2 row k2 (rows, not basis vectors: the
 * caller scales the coefficients; w none of the others), one sweep; then
 * its dots with rows u1 and u2 in *d1, *d2 (returns 0), or, u1 < 0, its
 * square (returned) */
static double sweep(wb_band *b, int w, double a, int k1, double c1, int k2, double c2, int u1,
                    int u2, double *d1, double *d2)
{
    double nn = 0, x1 = 0, x2 = 0, t, e1, e2;
    int dots = u1 >= 0;
    if (b->Q) {
        double *y = qrow(b, w);
        const double *r1 = qrow(b, k1), *r2 = qrow(b, k2);
        const double *v1 = qrow(b, dots ? u1 : w), *v2 = qrow(b, dots ? u2 : w);
        for (int64_t i = 0; i < b->count; i++) {
            y[i] = a * y[i] - c1 * r1[i] - c2 * r2[i];
            nn += y[i] * y[i], x1 += y[i] * v1[i], x2 += y[i] * v2[i];
        }
        if (dots)
            *d1 = x1, *d2 = x2;
        return dots ? 0 : nn;
    }
    for (int k = 0; k < b->nseg; k++) {
        int64_t s = b->seg[2 * k], e = b->seg[2 * k + 1];
        if (dots)
            wb_fv_frec2(frow(b, w) + s, frow(b, k1) + s, frow(b, k2) + s, frow(b, u1) + s,
                        frow(b, u2) + s, (float)a, (float)c1, (float)c2, e - s, &e1, &e2);
        else
            wb_fv_frec2n(frow(b, w) + s, frow(b, k1) + s, frow(b, k2) + s, (float)a,
                         (float)c1, (float)c2, e - s, &t);
        if (dots)
            x1 += e1, x2 += e2;
        else
            nn += t;
    }
    b->ca[w] = a * b->ca[w] - c1 * b->ca[k1] - c2 * b->ca[k2];
    b->cb[w] = a * b->cb[w] - c1 * b->cb[k1] - c2 * b->cb[k2];
    if (dots)
        *d1 = x1 + dead(b, w, u1), *d2 = x2 + dead(b, w, u2);
    if (dots)
        return 0;
    /* a square of a row that cancels to nothing (a start or product in an
     * invariant space: deflation) can round below 0 off the live segments;
     * its root was NaN, taken for a non-finite product */
    nn += dead(b, w, w);
    return nn > 0 ? nn : 0;
}

/* rows 0 and 1's squares and product (*xx, *xy, *yy), one read */
static void gram(wb_band *b, double *xx, double *xy, double *yy)
{
    double s = 0, t = 0, u = 0, e1, e2, e3;
    if (b->Q) {
        const double *x = qrow(b, 0), *y = qrow(b, 1);
        for (int64_t i = 0; i < b->count; i++)
            s += x[i] * x[i], t += x[i] * y[i], u += y[i] * y[i];
    } else {
        for (int k = 0; k < b->nseg; k++) {
            int64_t s0 = b->seg[2 * k], e = b->seg[2 * k + 1];
            wb_fv_fgram(frow(b, 0) + s0, frow(b, 1) + s0, e - s0, &e1, &e2, &e3);
            s += e1, t += e2, u += e3;
        }
        s += dead(b, 0, 0), t += dead(b, 0, 1), u += dead(b, 1, 1);
    }
    *xx = s, *xy = t, *yy = u;
}

/* basis vectors i, j <- c q_i + d q_j, -d q_i + c q_j (c^2 + d^2 = 1), and
 * T's rows; both rows then unscaled (sg 1) */
static void rrot(wb_band *b, int i, int j, double cc, double d, int cols, int ld)
{
    double si = b->sg[i], sj = b->sg[j];
    double a11 = cc * si, a12 = d * sj, a21 = -d * si, a22 = cc * sj;
    if (b->Q) {
        double *x = qrow(b, i), *y = qrow(b, j);
        for (int64_t t = 0; t < b->count; t++) {
            double u = x[t], v = y[t];
            x[t] = a11 * u + a12 * v, y[t] = a21 * u + a22 * v;
        }
    } else {
        for (int k = 0; k < b->nseg; k++) {
            int64_t s = b->seg[2 * k], e = b->seg[2 * k + 1];
            wb_fv_frot(frow(b, i) + s, frow(b, j) + s, (float)a11, (float)a12, (float)a21,
                       (float)a22, e - s);
        }
        double a = b->ca[i], e = b->cb[i];
        b->ca[i] = a11 * a + a12 * b->ca[j], b->ca[j] = a21 * a + a22 * b->ca[j];
        b->cb[i] = a11 * e + a12 * b->cb[j], b->cb[j] = a21 * e + a22 * b->cb[j];
    }
    b->sg[i] = b->sg[j] = 1;
    for (int k = 0; k < cols; k++) {
        double *x = b->T + i + (size_t)k * ld, *y = b->T + j + (size_t)k * ld, t = *x;
        *x = cc * t + d * *y, *y = -d * t + cc * *y;
    }
}

/* row o = H row i */
static wb_status rapply(wb_band *b, int i, int o, wb_err *err)
{
    size_t c = (size_t)b->count;
    if (b->F) { /* off the live segments, H v = l2x2 v */
        b->ca[o] = b->l2x2 * b->ca[i], b->cb[o] = b->l2x2 * b->cb[i];
        return wb_hvp_apply_f32(b->h, b->F + i * c, b->F + o * c, err);
    }
    const double *x = b->Q + i * c;
    double *y = b->Q + o * c;
    if (b->count == b->P)
        return wb_hvp_apply(b->h, x, y, err);
    memcpy(b->v + b->first, x, c * sizeof *x);
    if (wb_hvp_apply(b->h, b->v, b->hv, err))
        return err->code;
    memcpy(y, b->hv + b->first, c * sizeof *y);
    return WB_OK;
}

/* Row n = H q_p / sg[p] (rapply's) made sg[p] times itself and
 * orthogonalised against basis vectors lo..n-1 (lo <= p < n, n - p <= 2),
 * the coefficients written to T's column p: classical Gram-Schmidt, once,
 * in two sweeps. Below p the coefficients are known, q_i . H q_p = (H q_i)
 * . q_p = T[p][i] (T's symmetry: no dot); the first sweep takes two of
 * those rows off (T's band: there are at most two, unless vectors
 * deflated) and dots with rows p..n-1, whose multiples the second takes
 * off. As in three-term Lanczos, the basis may lose orthogonality to
 * rounding, while H Q = Q T + (the rows past the block) holds to rounding
 * whatever it is, so the Ritz values' residuals stay right. Returns the
 * norm before (from the coefficients, as if the basis were orthonormal)
 * and (in *after) after. */
static double orth_product(wb_band *b, int n, int lo, int p, int ld, double *after)
{
    double *col = b->T + (size_t)p * ld, ss = 0, nn, d1 = 0, d2 = 0, z, *sg = b->sg;
    int u2 = n - p > 1 ? p + 1 : p, k = lo, a = 1;
    for (;;) { /* the known rows two a sweep, the first with the dots */
        int k1 = k < p ? k : 0, k2 = k + 1 < p ? k + 1 : 0;
        double c1 = k < p ? b->T[p + (size_t)k * ld] : 0;
        double c2 = k + 1 < p ? b->T[p + (size_t)(k + 1) * ld] : 0;
        sweep(b, n, a ? sg[p] : 1, k1, c1 * sg[k1], k2, c2 * sg[k2], a ? p : -1, u2, &d1, &d2);
        if (k < p)
            col[k] = c1, ss += c1 * c1;
        if (k + 1 < p)
            col[k + 1] = c2, ss += c2 * c2;
        a = 0, k += 2;
        if (k >= p)
            break;
    }
    col[p] = d1 * sg[p], ss += col[p] * col[p];
    if (u2 > p)
        col[u2] = d2 * sg[u2], ss += col[u2] * col[u2];
    nn = sweep(b, n, 1, p, col[p] * sg[p], u2, u2 > p ? col[u2] * sg[u2] : 0, -1, 0, &z, &z);
    *after = sqrt(nn);
    return sqrt(ss + nn);
}

/* Row n taken off every basis vector 0..n-1 (modified Gram-Schmidt in
 * pairs: each sweep takes one pair off and dots with the next), a second
 * time when that took more than half its norm (Kahan-Parlett's "twice is
 * enough"); before its norm, returns the norm after. orth_product takes
 * off only the band (T's known coefficients, which assume an orthonormal
 * basis): once the top Ritz value converged, the rounding left along it
 * grew back, unchecked (Paige), until T was no projection of H and its top
 * Ritz value no Rayleigh quotient: tryU saw 2.17 for a lambda_max of
 * 0.116 on a dead ReLU net (Hessian of rank 9). The basis is at most m + 2
 * rows (a few tens): a sweep per two rows costs little beside a product.
 * The coefficients are not added to T (rounding-sized on an orthonormal
 * basis; Lanczos with full reorthogonalisation drops them likewise).
 * Every vector, always: starting only once a Ritz pair's residual fell
 * below 1e-2 of the largest product (Paige's loss is along converged
 * pairs) left 11 of tryU's 100 steps off, up to 5.5x high, with residuals
 * under 3e-3 (the exhausted space's noise is cancellation, not Paige's),
 * for 0-15 % less time. */
static double reorth(wb_band *b, int n, double before)
{
    const double *sg = b->sg;
    double nb = before;
    for (int pass = 0; pass < 2; pass++) {
        double d1 = 0, d2 = 0, nn = 0;
        sweep(b, n, 1, 0, 0, 0, 0, 0, n > 1 ? 1 : 0, &d1, &d2);
        for (int k = 0; k < n; k += 2) {
            int k2 = k + 1 < n ? k + 1 : k, u1 = k + 2 < n ? k + 2 : -1;
            int u2 = k + 3 < n ? k + 3 : u1;
            double c1 = d1 * sg[k] * sg[k], c2 = k2 > k ? d2 * sg[k2] * sg[k2] : 0;
            nn = sweep(b, n, 1, k, c1, k2, c2, u1, u2, &d1, &d2);
        }
        double after = sqrt(nn);
        if (after > 0.5 * nb)
            return after;
        nb = after;
    }
    return nb;
}

/* Row n <- the restart's direction (hvp_restart.h's hash, r 0: a fixed
 * direction, no random draw; why there) taken off every basis vector 0..n-1
 * (reorth): returns 1 and makes it the basis's next vector, or 0 when the
 * basis already spans (to below small) every direction. Float rows: on the
 * live segments only (off them a row must be a mix of X and G; there H is
 * l2x2 times the identity, which X and G already see). Writes only row n,
 * allocated with the rest (nothing allocated in a step). */
static int restart(wb_band *b, int n, double small)
{
    double z, nn;
    if (b->Q) {
        double *y = qrow(b, n);
        for (int64_t i = 0; i < b->count; i++)
            y[i] = wb_restart_entry(0, (uint64_t)i);
    } else {
        float *y = frow(b, n);
        for (int s = 0; s < b->nseg; s++)
            for (int64_t i = b->seg[2 * s]; i < b->seg[2 * s + 1]; i++)
                y[i] = (float)wb_restart_entry(0, (uint64_t)i);
        b->ca[n] = b->cb[n] = 0;
    }
    nn = sqrt(sweep(b, n, 1, 0, 0, 0, 0, -1, 0, &z, &z));
    double after = nn > 0 ? reorth(b, n, nn) : 0;
    if (!(after > small * nn))
        return 0;
    b->sg[n] = 1 / after;
    return 1;
}

/* The residual norm of the Ritz pair with coefficients s [p] */
static double resid_of(const wb_band *b, const double *s, int p, int n, int ld)
{
    double rr = 0;
    for (int i = p; i < n; i++) {
        double t = 0;
        for (int j = 0; j < p; j++)
            t += b->T[i + (size_t)j * ld] * s[j];
        rr += t * t;
    }
    return sqrt(rr);
}

wb_status wb_band_top(wb_band *b, int m, int jmin, double tol, double *value,
                      double *resid, int *steps, double *yd, float *yf, double *ny,
                      wb_err *err)
{
    int ld = m + 2, n = 1, p = 0, info = 0;
    /* a new vector below small times the operator's scale (the largest
     * product norm so far) is rounding: the Krylov space is exhausted on
     * that side (a Hessian of low rank). Relative to its own product, as
     * before, the noise of a product of a vector in H's null space passed
     * and was normalised into the basis. Float rows: 1e-5 */
    double small = b->F ? 1e-5 : 1e-12, nb, xx, xg, gg, r, z;
    memset(b->T, 0, (size_t)ld * (size_t)ld * sizeof(double));
    gram(b, &xx, &xg, &gg);
    double n0 = sqrt(xx), g0 = sqrt(gg);
    if (!(n0 > 0 && isfinite(n0)))
        return wb_err_set(err, WB_EINVAL, "x: expected a non-zero finite start vector");
    b->sg[0] = 1 / n0;
    /* row 1 orthogonalised against row 0 twice (g may lie near x): the
     * first sweep's dot gives the second's coefficient */
    sweep(b, 1, 1, 0, xg / xx, 0, 0, 0, 0, &r, &z);
    nb = sqrt(sweep(b, 1, 1, 0, r / xx, 0, 0, -1, 0, &z, &z));
    if (isfinite(g0) && nb > small * g0) /* else g lies along x: one start */
        b->sg[1] = 1 / nb, n = 2;
    else
        b->xg = b->gg = 0, b->cb[0] = b->cb[1] = 0; /* G unused (maybe not finite) */
    double th = 0, r1 = 0, scale = 0;
    int restarted = 0, pmin = BAND_MIN; /* no stop before pmin products */
    while (p < m && p < n) {
        if (p >= BAND_MIN && n - p == 2) {
            /* rows p, p + 1 (not multiplied yet) span every Ritz pair's
             * residual: turn row p to the top pair's, which the product
             * then adds (Lanczos continued from the top Ritz vector) */
            const double *sv = b->A + (size_t)(p - 1) * p;
            double ca = 0, cb = 0;
            for (int j = 0; j < p; j++) {
                ca += b->T[p + (size_t)j * ld] * sv[j];
                cb += b->T[p + 1 + (size_t)j * ld] * sv[j];
            }
            double h = hypot(ca, cb);
            if (h > 0)
                rrot(b, p, p + 1, ca / h, cb / h, p, ld);
        }
        if (rapply(b, p, n, err))
            return err->code;
        int lo = 0; /* q_i . H q_p = (H q_i) . q_p = T[p][i]: 0 unless set */
        while (lo < p && b->T[p + (size_t)lo * ld] == 0)
            lo++;
        double w0 = orth_product(b, n, lo, p, ld, &nb);
        if (!isfinite(w0))
            return wb_err_set(err, WB_ENONFINITE, "Lanczos: a non-finite Hessian-vector "
                              "product");
        nb = reorth(b, n, nb);
        scale = fmax(scale, w0);
        if (nb > small * scale) {
            b->T[n + (size_t)p * ld] = nb;
            b->sg[n++] = 1 / nb;
        }
        p++;
        /* The space ended before the budget (every vector multiplied, no new
         * one): do not conclude, restart (as ARPACK on a breakdown) with a
         * direction off the whole basis, its block uncoupled in T (the
         * space before is invariant: q_i . H q = H q_i . q = 0). A float
         * start 1e-5 along the top eigenvector left it below small after
         * one product: the space {x} "ended" on the second eigenpair, with
         * residual 0, which no resid_max catches. Once: a restart's block
         * that ends too holds every eigenvalue of the rest (its direction
         * has a share in each eigenspace there, and an invariant space
         * holding it holds those shares), so the top is among the Ritz
         * values (a Hessian of low rank pays a product; restarting until a
         * block of one vector, an eigenvector, took 8 products where once
         * takes 5 to 7: test_hess_band_start's L2 case). After it, BAND_MIN
         * products before a stop: its top need not show in its first Ritz
         * values. */
        if (p >= n && p < m && !restarted && restart(b, n, small)) {
            restarted = 1, n++;
            pmin = p + BAND_MIN;
        }
        if (p < pmin && p < m && p < n) /* no rotation nor stop yet */
            continue;
        for (int j = 0; j < p; j++) /* the leading block's upper triangle */
            for (int i = 0; i <= j; i++)
                b->A[i + (size_t)j * p] = b->T[i + (size_t)j * ld];
        int lwork = 3 * ld;
        dsyev_("V", "U", &p, b->A, &p, b->ev, b->lw, &lwork, &info, 1, 1);
        if (info != 0)
            return wb_err_set(err, WB_ENONFINITE, "Lanczos: the Ritz eigensolver failed "
                              "(dsyev info %d)", info);
        th = b->ev[p - 1];
        r1 = resid_of(b, b->A + (size_t)(p - 1) * p, p, n, ld);
        if (p >= n) /* invariant: exact */
            break;
        /* Kato-Temple, as lanczos3 (hvp_eig.c), or the residual alone: from
         * two starts a multiple top eigenvalue shows twice, a gap of 0. A
         * float32 engine's products are exact to about 1e-7 of their size:
         * a residual under 1e-6 of the value is their rounding, and steps
         * past it take the basis apart (at tol 1e-12 its 60 products gave
         * 10.012 for 10, the Ritz values of a T no longer H's projection). */
        if (p >= 2 && p >= jmin && p >= pmin) {
            double r2 = resid_of(b, b->A + (size_t)(p - 2) * p, p, n, ld);
            double gp = th - b->ev[p - 2] - r2, rt = wb_hvp_f64(b->h) ? tol : fmax(tol, 1e-6);
            if ((gp > 0 && r1 * r1 <= tol * gp * fabs(th)) || r1 <= rt * fabs(th))
                break;
        }
    }
    /* y = Q_p s: the rows times s_j sg[j] */
    double *s = b->lw;
    for (int j = 0; j < p; j++)
        s[j] = b->A[(size_t)(p - 1) * p + j] * b->sg[j];
    int64_t c = b->count;
    double yy = 0;
    if (b->F) {
        double ya = 0, yb = 0;
        const float *X = frow(b, 0), *G = frow(b, 1);
        for (int k = 0; k < b->nseg; k++) {
            int64_t s0 = b->seg[2 * k], e = b->seg[2 * k + 1];
            wb_fv_fritzf(yf + s0, b->F + s0, s, p, c, e - s0, &yy);
        }
        for (int j = 0; j < p; j++)
            ya += s[j] * b->ca[j], yb += s[j] * b->cb[j];
        int64_t t = 0;
        for (int k = 0; k <= b->nseg; k++) { /* off the live segments (G only where
                                               * used: it may not be finite) */
            int64_t e = k < b->nseg ? b->seg[2 * k] : c;
            if (e > t)
                wb_fv_fmix(yf + t, X + t, (yb != 0 ? G : X) + t, (float)ya, (float)yb, e - t,
                           &yy);
            t = k < b->nseg ? b->seg[2 * k + 1] : c;
        }
    } else {
        memset(yd, 0, (size_t)c * sizeof *yd);
        for (int j = 0; j < p; j++) {
            const double *q = qrow(b, j);
            for (int64_t t = 0; t < c; t++)
                yd[t] += s[j] * q[t];
        }
        for (int64_t t = 0; t < c; t++)
            yy += yd[t] * yd[t];
    }
    *ny = sqrt(yy);
    *value = th;
    *resid = r1 / (*ny * (fabs(th) > 1e-30 ? fabs(th) : 1e-30));
    *steps = p;
    return WB_OK;
}

/* The gradient, when computed, goes to hv (the products' scratch): it is
 * copied into row 1 before the first product. */
wb_status wb_band_warm(wb_hvp *h, int64_t first, int64_t count, int m, double tol,
                       const double *gd, double *x, const float *const *gf,
                       const int64_t *gn, int gparts, float *xf, double *xnorm,
                       double *value, double *resid, int *steps, wb_err *err)
{
    int64_t P = wb_hvp_numel(h);
    int f = xf != NULL;
    double *p = wb_hvp_work(h, wb_band_doubles(P, count, m, f), err), loss, ny;
    if (!p)
        return err->code;
    wb_band b;
    wb_band_init(&b, h, first, count, m, f, p);
    if (f ? !gf : !gd) { /* the block's gradient, into hv (the products' scratch) */
        if (wb_hvp_loss_grad(h, &loss, b.hv, err))
            return err->code;
        gd = b.hv + first;
    }
    if (f) {
        memcpy(b.F, xf, (size_t)P * sizeof(float));
        if (gf) {
            int64_t o = P;
            for (int i = 0; i < gparts; o += gn[i], i++)
                memcpy(b.F + o, gf[i], (size_t)gn[i] * sizeof(float));
        } else {
            for (int64_t t = 0; t < P; t++)
                b.F[P + t] = (float)gd[t];
        }
        float l2;
        if (!(b.seg = wb_hvp_f32_live(h, &b.nseg, &l2, err)))
            return err->code;
        b.l2x2 = l2, b.ca[0] = b.cb[1] = 1, b.cb[0] = b.ca[1] = 0;
        const float *X = b.F, *G = b.F + P;
        int64_t t = 0;
        for (int k = 0; k <= b.nseg; k++) { /* rows 0 and 1 off the live segments */
            int64_t e = k < b.nseg ? b.seg[2 * k] : P;
            double xx, xg, gg;
            if (e > t) {
                wb_fv_fgram(X + t, G + t, e - t, &xx, &xg, &gg);
                b.xx += xx, b.xg += xg, b.gg += gg;
            }
            t = k < b.nseg ? b.seg[2 * k + 1] : P;
        }
    } else {
        memcpy(b.Q, x, (size_t)count * sizeof *x);
        memcpy(b.Q + count, gd, (size_t)count * sizeof *x);
    }
    wb_status st = wb_band_top(&b, m, 2, tol, value, resid, steps, f ? NULL : x, xf,
                               f ? xnorm : &ny, err);
    for (int64_t t = 0; !st && !f && t < count; t++)
        x[t] /= ny;
    return st;
}
