/* hvp_deflate.c - the deflated check of wb_hvp_eigs' top k (see
 * hvp_deflate.h). Legend as hvp_eig.c: Q [m + 1, count] the pass's basis,
 * T its tridiagonal (alpha, beta), T = S diag(d) S^T (d ascending).
 */
#include "hvp_deflate.h"
#include "hvp_dvec.h"
#include "hvp_restart.h"

#include <math.h>
#include <string.h>

/* LAPACK (Fortran) symmetric tridiagonal eigensolver, in OpenBLAS. */
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
            const int *ldz, double *work, int *info, size_t jobz_len);

/* steps of a pass before its stop test (as wb_hvp_eigs' k + 7 for k = 1: a
 * residual says nothing of what lies above until the space has grown) */
enum { DEFL_MIN = 8 };
/* a top above the k-th value by more than DEFL_MERGE tol times the largest
 * |value| is merged: with tol itself, a cluster at tol's scale kept a value
 * 1.3 tol low (generator seeds 417, 1732, 2494); at tol / 100, none of 6400
 * runs, for 0.2 % more products (a merge costs one more pass) */
#define DEFL_MERGE 0.01

typedef struct dwork {
    wb_hvp *h;
    int64_t first, count, P;
    double *v, *hv;                          /* [P] */
    double *Q, *w;                           /* [m + 1, count], [count] */
    double *alpha, *beta, *d, *e, *s, *lw;   /* [m] x 4, [m m], [2 m] */
} dwork;

size_t wb_deflate_need(int64_t P, int64_t count, int m)
{
    size_t mm = (size_t)(m > 0 ? m : 1), c = (size_t)count;
    return 2 * (size_t)P + (mm + 2) * c + 6 * mm + mm * mm;
}

/* w = the block of H v, v the block's q */
static wb_status apply(dwork *k, const double *q, wb_err *err)
{
    if (k->count == k->P)
        return wb_hvp_apply(k->h, q, k->w, err);
    memcpy(k->v + k->first, q, (size_t)k->count * sizeof *q);
    if (wb_hvp_apply(k->h, k->v, k->hv, err))
        return err->code;
    memcpy(k->w, k->hv + k->first, (size_t)k->count * sizeof *q);
    return WB_OK;
}

/* w -= (r . w) r over the n rows r of R, twice (modified Gram-Schmidt) */
static void orth(double *w, const double *R, int n, int64_t c)
{
    for (int i = 0; i < n; i++) {
        const double *r = R + (size_t)i * (size_t)c;
        wb_dv_axpby(w, 1, r, -wb_dv_dot(r, w, c), c);
    }
}

/* T's eigen-decomposition, j steps: d ascending, s column-major */
static wb_status tri(dwork *k, int j, wb_err *err)
{
    memcpy(k->d, k->alpha, (size_t)j * sizeof(double));
    if (j > 1)
        memcpy(k->e, k->beta, (size_t)(j - 1) * sizeof(double));
    int info = 0;
    dstev_("V", &j, k->d, k->e, k->s, &j, k->lw, &info, 1);
    if (info != 0)
        return wb_err_set(err, WB_ENONFINITE, "Lanczos (deflated): the tridiagonal "
                          "eigensolver failed (dstev info %d)", info);
    return WB_OK;
}

/* One pass from row 0 of Q (unit, off Y's k rows), at most m steps: *mu its
 * top Ritz value, w its unit Ritz vector, *j the steps, *conv 1 when the pair's
 * residual is at most tol sc, the space ended, or m spans what is left */
static wb_status pass(dwork *k, const double *Y, int nk, int m, int mfull, double tol,
                      double sc, double *mu, int *j, int *conv, wb_err *err)
{
    int64_t c = k->count;
    int jmin = DEFL_MIN < m ? DEFL_MIN : m;
    *conv = 0;
    for (*j = 0; *j < m && !*conv;) {
        double *q = k->Q + (size_t)*j * (size_t)c;
        if (apply(k, q, err))
            return err->code;
        double a = wb_dv_dot(q, k->w, c), wn0 = sqrt(wb_dv_dot(k->w, k->w, c));
        k->alpha[*j] = a;
        for (int p = 0; p < 2; p++) { /* off Y and the basis */
            orth(k->w, Y, nk, c);
            orth(k->w, k->Q, *j + 1, c);
        }
        double b = sqrt(wb_dv_dot(k->w, k->w, c));
        k->beta[*j] = b;
        int stop = !(b > 1e-12 * (wn0 > fabs(a) ? wn0 : fabs(a)));
        for (int64_t t = 0; !stop && t < c; t++)
            q[c + t] = k->w[t] / b;
        (*j)++;
        if (!stop && *j < jmin && *j < m)
            continue;
        if (tri(k, *j, err))
            return err->code;
        double sl = k->s[(size_t)(*j - 1) * (size_t)*j + (size_t)(*j - 1)];
        *conv = stop || *j == mfull || fabs(b * sl) <= tol * sc;
    }
    if (*j == 0)
        return WB_OK;
    *mu = k->d[*j - 1];
    double yy;
    wb_dv_ritz(k->w, k->Q, k->s + (size_t)(*j - 1) * (size_t)*j, *j, c, &yy);
    double inv = 1 / sqrt(yy);
    for (int64_t t = 0; t < c; t++)
        k->w[t] *= inv;
    return WB_OK;
}

wb_status wb_hvp_deflate(wb_hvp *h, int64_t first, int64_t count, int k, double tol,
                         int budget, double *values, double *Y, int *used, int *ok,
                         wb_err *err)
{
    int64_t P = wb_hvp_numel(h), left = count - k;
    int m = (int64_t)budget < left ? budget : (int)left;
    *used = 0, *ok = 0;
    if (left <= 0) { /* the k vectors span the block */
        *ok = 1;
        return WB_OK;
    }
    if (m < 1)
        return WB_OK;
    double *p = wb_hvp_work(h, wb_deflate_need(P, count, m), err);
    if (!p)
        return err->code;
    size_t mm = (size_t)m, c = (size_t)count;
    dwork d = {h, first, count, P, p, p + P, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    p += 2 * P;
    d.Q = p, p += (mm + 1) * c;
    d.w = p, p += c;
    d.alpha = p, p += mm;
    d.beta = p, p += mm;
    d.d = p, p += mm;
    d.e = p, p += mm;
    d.s = p, p += mm * mm;
    d.lw = p;
    if (count < P)
        memset(d.v, 0, (size_t)P * sizeof(double));
    /* one scale for every test: the residual of a pass whose top is near 0
     * (the rest of a spectrum of zeros) could never meet tol |mu| */
    double sc = fabs(values[0]) > fabs(values[k - 1]) ? fabs(values[0]) : fabs(values[k - 1]);
    sc = sc > 1e-30 ? sc : 1e-30;
    for (int r = 0; r < k; r++) {
        int rest = budget - *used, mr = rest < left ? rest : (int)left, j, conv;
        if (mr < 1)
            return WB_OK; /* the budget ran out: not checked */
        if (!wb_restart_dv(d.Q, Y, k, count, WB_DEFLATE_R + (uint64_t)r)) {
            *ok = 1; /* nothing is left off Y */
            return WB_OK;
        }
        double mu = 0;
        if (pass(&d, Y, k, mr, (int)left, tol, sc, &mu, &j, &conv, err))
            return err->code;
        *used += j;
        if (!conv)
            return WB_OK;
        if (!(mu > values[k - 1] + DEFL_MERGE * tol * sc)) {
            *ok = 1;
            return WB_OK;
        }
        int at = k - 1; /* a missed eigenvalue: in at its place, the last out */
        while (at > 0 && mu > values[at - 1])
            at--;
        memmove(values + at + 1, values + at, (size_t)(k - 1 - at) * sizeof *values);
        memmove(Y + (size_t)(at + 1) * c, Y + (size_t)at * c,
                (size_t)(k - 1 - at) * c * sizeof *Y);
        values[at] = mu;
        memcpy(Y + (size_t)at * c, d.w, c * sizeof *Y);
    }
    return WB_OK; /* k passes each found one more: not checked */
}
