/* hvp_band.c - band Lanczos of block size 2 for the largest eigenvalue.
 * See hvp_band.h.
 */
#include "hvp_band.h"
#include "hvp_fvec.h"

#include <math.h>
#include <string.h>

/* LAPACK (Fortran) dense symmetric eigensolver, in OpenBLAS. */
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
            double *w, double *work, const int *lwork, int *info, size_t jobz_len,
            size_t uplo_len);

size_t wb_band_doubles(int64_t P, int64_t count, int m, int f)
{
    size_t r = (size_t)m + 2, rows = f ? (r * (size_t)P + 1) / 2 : r * (size_t)count;
    return 2 * (size_t)P + rows + 2 * r * r + 6 * r;
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
 * to 8.6 %) and one 5.4 % low on MNIST. */
#define BAND_MIN 6

/* Rows: double (Q) or float (F), count entries each; the float sweeps
 * are hvp_fvec.h's (wb_fv_frec: w = w - b up, with w's square and w . u
 * in the same pass). */
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

/* float rows: row w -= a1 row r1 + a2 row r2 on the live segments, and
 * its coefficients off them; returns row w's square, *wu = row w . row u */
static double fsub2(wb_band *b, int w, double a1, int r1, double a2, int r2, double *wu)
{
    double nn = 0, x = 0, t, tu;
    for (int k = 0; k < b->nseg; k++) {
        int64_t s = b->seg[2 * k], e = b->seg[2 * k + 1];
        wb_fv_frec(frow(b, w) + s, frow(b, r1) + s, frow(b, r2) + s, 1, (float)a1,
                   (float)a2, e - s, &t, &tu);
        nn += t, x += tu;
    }
    b->ca[w] -= a1 * b->ca[r1] + a2 * b->ca[r2];
    b->cb[w] -= a1 * b->cb[r1] + a2 * b->cb[r2];
    *wu = x + dead(b, w, r2);
    return nn + dead(b, w, w);
}

/* row w -= a row s; returns row w's square, *wu = row w . row u after */
static double raxpy(wb_band *b, int w, double a, int s, int u, double *wu)
{
    int64_t c = b->count;
    double nn = 0, x = 0;
    if (b->F)
        return fsub2(b, w, a, s, 0, u, wu);
    double *y = qrow(b, w);
    const double *xs = qrow(b, s), *xu = qrow(b, u);
    for (int64_t t = 0; t < c; t++) {
        y[t] -= a * xs[t];
        nn += y[t] * y[t], x += y[t] * xu[t];
    }
    *wu = x;
    return nn;
}

/* row i's square */
static double rsq(const wb_band *b, int i)
{
    double nn = 0, sq;
    if (b->F) {
        for (int k = 0; k < b->nseg; k++) {
            int64_t s = b->seg[2 * k], e = b->seg[2 * k + 1];
            wb_fv_fsumsq(frow(b, i) + s, e - s, &sq);
            nn += sq;
        }
        nn += dead(b, i, i);
    } else {
        const double *x = qrow(b, i);
        for (int64_t t = 0; t < b->count; t++)
            nn += x[t] * x[t];
    }
    return nn;
}

/* row w -= a1 row r1 + a2 row r2; returns row w's square, *wu = row w .
 * row r2 after (one sweep) */
static double rsub2(wb_band *b, int w, double a1, int r1, double a2, int r2, double *wu)
{
    int64_t c = b->count;
    double nn = 0, x = 0;
    if (b->F)
        return fsub2(b, w, a1, r1, a2, r2, wu);
    double *y = qrow(b, w);
    const double *x1 = qrow(b, r1), *x2 = qrow(b, r2);
    for (int64_t t = 0; t < c; t++) {
        y[t] -= a1 * x1[t] + a2 * x2[t];
        nn += y[t] * y[t], x += y[t] * x2[t];
    }
    *wu = x;
    return nn;
}

static void rscale(wb_band *b, int i, double a)
{
    int64_t c = b->count;
    if (b->Q) {
        double *x = qrow(b, i);
        for (int64_t t = 0; t < c; t++)
            x[t] *= a;
    } else {
        float *x = frow(b, i), af = (float)a;
        for (int k = 0; k < b->nseg; k++)
            for (int64_t t = b->seg[2 * k]; t < b->seg[2 * k + 1]; t++)
                x[t] *= af;
        b->ca[i] *= a, b->cb[i] *= a;
    }
    (void)c;
}

/* rows i, j <- c i + d j, -d i + c j (c^2 + d^2 = 1), and T's rows */
static void rrot(wb_band *b, int i, int j, double cc, double d, int cols, int ld)
{
    int64_t n = b->count;
    if (b->Q) {
        double *x = qrow(b, i), *y = qrow(b, j);
        for (int64_t t = 0; t < n; t++) {
            double u = x[t], v = y[t];
            x[t] = cc * u + d * v, y[t] = -d * u + cc * v;
        }
    } else {
        float *x = frow(b, i), *y = frow(b, j), cf = (float)cc, df = (float)d;
        for (int k = 0; k < b->nseg; k++)
            for (int64_t t = b->seg[2 * k]; t < b->seg[2 * k + 1]; t++) {
                float u = x[t], v = y[t];
                x[t] = cf * u + df * v, y[t] = -df * u + cf * v;
            }
        double a = b->ca[i], e = b->cb[i];
        b->ca[i] = cc * a + d * b->ca[j], b->ca[j] = -d * a + cc * b->ca[j];
        b->cb[i] = cc * e + d * b->cb[j], b->cb[j] = -d * e + cc * b->cb[j];
    }
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

/* Row n orthogonalised (modified Gram-Schmidt, once) against rows
 * lo..n-1 (lo < n), the coefficients written to T's column col (col < 0:
 * none);
 * returns its norm before and (in *after) after. Rows below lo are
 * orthogonal to it in exact arithmetic (T's band, see wb_band_top); as in
 * three-term Lanczos, the basis may lose orthogonality to rounding, while
 * H Q = Q T + (the rows past the block) holds to rounding whatever it is,
 * so the Ritz values' residuals stay right. */
static double orth(wb_band *b, int n, int lo, int col, int ld, double *after)
{
    double cf, nn = raxpy(b, n, 0, lo, lo, &cf), before = sqrt(nn);
    for (int i = lo; i < n; i++) {
        double next;
        nn = raxpy(b, n, cf, i, i + 1 < n ? i + 1 : lo, &next);
        if (col >= 0)
            b->T[i + (size_t)col * ld] = cf;
        cf = next;
    }
    *after = sqrt(nn);
    return before;
}

/* Row n = H q_p orthogonalised against rows lo..n-1 (lo <= p < n), the
 * coefficients written to T's column p: classical Gram-Schmidt, once, in
 * as few sweeps as two rows a sweep allow. Below p the coefficients are
 * known, q_i . H q_p = (H q_i) . q_p = T[p][i] (T's symmetry: no dot);
 * rows p..n-1 (at most 2) take a dot each, in the sweeps that take the
 * known rows off. Returns the norm before (from the coefficients, as if
 * the rows were orthonormal) and (in *after) after. */
static double orth_product(wb_band *b, int n, int lo, int p, int ld, double *after)
{
    /* the coefficients and rows left, in A (free until the next Ritz step) */
    double *col = b->T + (size_t)p * ld, nn = 0, ss = 0, *cf = b->A, *rows = b->A + ld;
    int k = lo, m = 0;
    for (int i = p; i < n; i++) { /* a dot each, with a known row off */
        double t = k < p ? b->T[p + (size_t)k * ld] : 0;
        nn = rsub2(b, n, t, k < p ? k : i, 0, i, &col[i]);
        if (k < p)
            col[k] = t, ss += t * t, k++;
    }
    for (; k < p; k++) /* the known rows left, then the dotted ones */
        cf[m] = col[k] = b->T[p + (size_t)k * ld], rows[m++] = k;
    for (int i = p; i < n; i++)
        cf[m] = col[i], rows[m++] = i;
    for (int j = 0; j < m; j += 2) {
        double u;
        ss += cf[j] * cf[j] + (j + 1 < m ? cf[j + 1] * cf[j + 1] : 0);
        nn = rsub2(b, n, cf[j], (int)rows[j], j + 1 < m ? cf[j + 1] : 0,
                   (int)rows[j + 1 < m ? j + 1 : j], &u);
    }
    *after = sqrt(nn);
    return sqrt(ss + nn);
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
    /* float rows: a new vector below 1e-5 of the product is rounding */
    double small = b->F ? 1e-5 : 1e-12, nb, n1, n0 = sqrt(rsq(b, 0));
    memset(b->T, 0, (size_t)ld * (size_t)ld * sizeof(double));
    if (!(n0 > 0 && isfinite(n0)))
        return wb_err_set(err, WB_EINVAL, "x: expected a non-zero finite start vector");
    rscale(b, 0, 1 / n0);
    double g0 = orth(b, 1, 0, -1, ld, &n1);
    orth(b, 1, 0, -1, ld, &nb); /* twice: g may lie near x */
    if (isfinite(g0) && nb > small * g0) /* else g lies along x: one start */
        rscale(b, 1, 1 / nb), n = 2;
    else
        b->xg = b->gg = 0, b->cb[0] = b->cb[1] = 0; /* G unused (maybe not finite) */
    double th = 0, r1 = 0;
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
        if (nb > small * w0) {
            b->T[n + (size_t)p * ld] = nb;
            rscale(b, n, 1 / nb);
            n++;
        }
        p++;
        if (p < BAND_MIN && p < m && p < n) /* no rotation nor stop yet */
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
        if (p >= 2 && p >= jmin && p >= BAND_MIN) { /* Kato-Temple, as lanczos3 (hvp_eig.c) */
            double r2 = resid_of(b, b->A + (size_t)(p - 2) * p, p, n, ld);
            double gp = th - b->ev[p - 2] - r2;
            if (gp > 0 && r1 * r1 <= tol * gp * fabs(th))
                break;
        }
    }
    /* y = Q_p s */
    const double *s = b->A + (size_t)(p - 1) * p;
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
        for (int k = 0; k <= b->nseg; k++) { /* off the live segments */
            int64_t e = k < b->nseg ? b->seg[2 * k] : c;
            for (; t < e; t++) {
                yf[t] = (float)(ya * X[t] + (yb != 0 ? yb * G[t] : 0));
                yy += (double)yf[t] * yf[t];
            }
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
        for (int64_t t = 0; t < P; t++)
            b.F[t] = xf[t];
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
            for (; t < e; t++) {
                b.xx += (double)X[t] * X[t], b.xg += (double)X[t] * G[t];
                b.gg += (double)G[t] * G[t];
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
