/* hvp_eig.c - Lanczos, Hutchinson and stochastic Lanczos quadrature on the
 * Hessian-vector products. See hvp_eig.h.
 *
 * Legend: m = Lanczos steps, Q [m + 1, count] the orthonormal basis (row j
 * is q_j), T the m x m tridiagonal with diagonal alpha and off-diagonal
 * beta, T = S diag(theta) S^T.
 */
#include "hvp_eig.h"

#include <math.h>
#include <string.h>

#include "alloc.h"

/* LAPACK (Fortran) symmetric tridiagonal eigensolver, in OpenBLAS. */
void dstev_(const char *jobz, const int *n, double *d, double *e, double *z,
            const int *ldz, double *work, int *info, size_t jobz_len);

/* The operator restricted to a block: full-length scratch vectors. */
typedef struct blk {
    wb_hvp *h;
    int64_t first, count, P;
    double *v, *hv; /* [P] */
} blk;

static wb_status blk_apply(blk *b, const double *x, double *y, wb_err *err)
{
    memcpy(b->v + b->first, x, (size_t)b->count * sizeof *x);
    if (wb_hvp_apply(b->h, b->v, b->hv, err))
        return err->code;
    memcpy(y, b->hv + b->first, (size_t)b->count * sizeof *y);
    return WB_OK;
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static wb_status check_block(const wb_hvp *h, int64_t first, int64_t count, wb_err *err)
{
    int64_t P = wb_hvp_numel(h);
    if (first < 0 || count < 1 || first > P - count)
        return wb_err_set(err, WB_ERANGE, "block [%lld, +%lld) is outside the %lld "
                          "parameters", (long long)first, (long long)count, (long long)P);
    return WB_OK;
}

/* Work space of one call: the block operator, the basis and T's arrays. */
typedef struct work {
    blk b;
    double *Q;          /* [m + 1, count] */
    double *w;          /* [count] */
    double *alpha, *beta, *d, *e, *s, *lw; /* [m], [m], [m], [m], [m*m], [2m] */
} work;

static void work_free(work *k)
{
    wb_free(k->b.v);
    wb_free(k->b.hv);
    wb_free(k->Q);
    wb_free(k->w);
    wb_free(k->alpha);
    wb_free(k->beta);
    wb_free(k->d);
    wb_free(k->e);
    wb_free(k->s);
    wb_free(k->lw);
}

static wb_status work_new(work *k, wb_hvp *h, int64_t first, int64_t count, int m,
                          wb_err *err)
{
    memset(k, 0, sizeof *k);
    int64_t P = wb_hvp_numel(h);
    k->b = (blk){h, first, count, P, wb_calloc((size_t)P, sizeof(double)),
                 wb_calloc((size_t)P, sizeof(double))};
    size_t mm = (size_t)m;
    k->Q = wb_calloc((mm + 1) * (size_t)count, sizeof(double));
    k->w = wb_calloc((size_t)count, sizeof(double));
    k->alpha = wb_calloc(mm, sizeof(double));
    k->beta = wb_calloc(mm, sizeof(double));
    k->d = wb_calloc(mm, sizeof(double));
    k->e = wb_calloc(mm, sizeof(double));
    k->s = wb_calloc(mm * mm, sizeof(double));
    k->lw = wb_calloc(2 * mm, sizeof(double));
    if (!k->b.v || !k->b.hv || !k->Q || !k->w || !k->alpha || !k->beta || !k->d ||
        !k->e || !k->s || !k->lw) {
        work_free(k);
        return wb_err_set(err, WB_ENOMEM, "out of memory for %d Lanczos vectors of %lld",
                          m + 1, (long long)count);
    }
    return WB_OK;
}

/* Eigen-decomposition of T_j (j steps): k->d ascending, k->s column-major. */
static wb_status tridiag(work *k, int j, wb_err *err)
{
    memcpy(k->d, k->alpha, (size_t)j * sizeof(double));
    if (j > 1)
        memcpy(k->e, k->beta, (size_t)(j - 1) * sizeof(double));
    int n = j, info = 0;
    dstev_("V", &n, k->d, k->e, k->s, &n, k->lw, &info, 1);
    if (info != 0)
        return wb_err_set(err, WB_ENONFINITE, "Lanczos: the tridiagonal eigensolver "
                          "failed (dstev info %d)", info);
    return WB_OK;
}

/* q_0 = start / |start|: *ok 0 when start is zero. */
static void start_vector(work *k, const double *v0, wb_rng *rng, int *ok)
{
    int64_t c = k->b.count;
    for (int64_t i = 0; i < c; i++)
        k->Q[i] = v0 ? v0[i] : wb_rng_normal(rng);
    double nrm = sqrt(dot(k->Q, k->Q, c));
    *ok = nrm > 0 && isfinite(nrm);
    for (int64_t i = 0; *ok && i < c; i++)
        k->Q[i] /= nrm;
}

/* Lanczos step j (0-based): alpha_j, beta_j and q_{j+1} (when beta_j is not
 * negligible: *stop 1 otherwise, the Krylov space is invariant). */
static wb_status step(work *k, int j, int *stop, wb_err *err)
{
    int64_t c = k->b.count;
    double *q = k->Q + (size_t)j * (size_t)c, *w = k->w;
    if (blk_apply(&k->b, q, w, err))
        return err->code;
    double a = dot(q, w, c);
    k->alpha[j] = a;
    double wn0 = sqrt(dot(w, w, c));
    /* full reorthogonalisation against q_0..q_j, twice ("twice is enough") */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i <= j; i++) {
            const double *qi = k->Q + (size_t)i * (size_t)c;
            double r = dot(qi, w, c);
            for (int64_t t = 0; t < c; t++)
                w[t] -= r * qi[t];
        }
    double b = sqrt(dot(w, w, c));
    k->beta[j] = b;
    *stop = !(b > 1e-12 * (wn0 > fabs(a) ? wn0 : fabs(a))) || b == 0;
    if (!*stop) {
        double *qn = q + c;
        for (int64_t t = 0; t < c; t++)
            qn[t] = w[t] / b;
    }
    return WB_OK;
}

wb_status wb_hvp_eigs(wb_hvp *h, int64_t first, int64_t count, const wb_eigs_opts *o,
                      wb_rng *rng, double *values, double *vectors, int *found,
                      int *converged, wb_err *err)
{
    if (check_block(h, first, count, err))
        return err->code;
    if (o->k < 1 || o->k > count)
        return wb_err_set(err, WB_EINVAL, "k: expected 1..%lld, got %d", (long long)count,
                          o->k);
    if (!(o->tol > 0) || o->max_iter < o->k)
        return wb_err_set(err, WB_EINVAL, "tol must be > 0 and max_iter >= k (got tol "
                          "%g, max_iter %d, k %d)", o->tol, o->max_iter, o->k);
    int m = o->max_iter < count ? o->max_iter : (int)count, ok, stop = 0, j = 0;
    work k;
    if (work_new(&k, h, first, count, m, err))
        return err->code;
    start_vector(&k, o->v0, rng, &ok);
    wb_status st = WB_OK;
    if (!ok) {
        st = wb_err_set(err, WB_EINVAL, "v0: expected a non-zero finite vector");
        goto done;
    }
    *converged = 0;
    while (j < m && !stop) {
        if ((st = step(&k, j, &stop, err)))
            goto done;
        j++;
        if (j < o->k && !stop)
            continue;
        if ((st = tridiag(&k, j, err)))
            goto done;
        int want = o->k < j ? o->k : j, conv = 1;
        for (int i = 0; i < want && conv; i++) {
            double th = k.d[j - 1 - i], sl = k.s[(size_t)(j - 1 - i) * j + (j - 1)];
            double tiny = fabs(th) > 1e-30 ? fabs(th) : 1e-30;
            conv = stop || fabs(k.beta[j - 1] * sl) <= o->tol * tiny;
        }
        if (conv && want == o->k) {
            *converged = 1;
            break;
        }
    }
    if (!*converged && (st = tridiag(&k, j, err)))
        goto done;
    *found = o->k < j ? o->k : j;
    for (int i = 0; i < *found; i++) {
        int col = j - 1 - i;
        values[i] = k.d[col];
        if (!vectors)
            continue;
        double *y = vectors + (size_t)i * (size_t)count;
        memset(y, 0, (size_t)count * sizeof *y);
        for (int r = 0; r < j; r++) {
            double sr = k.s[(size_t)col * j + r];
            const double *qr = k.Q + (size_t)r * (size_t)count;
            for (int64_t t = 0; t < count; t++)
                y[t] += sr * qr[t];
        }
    }
done:
    work_free(&k);
    return st;
}

wb_status wb_hvp_trace(wb_hvp *h, int64_t first, int64_t count, int probes, wb_rng *rng,
                       double *mean, double *stderr_, wb_err *err)
{
    if (check_block(h, first, count, err))
        return err->code;
    if (probes < 2)
        return wb_err_set(err, WB_EINVAL, "probes: expected >= 2, got %d", probes);
    work k;
    if (work_new(&k, h, first, count, 1, err))
        return err->code;
    double s = 0, s2 = 0;
    wb_status st = WB_OK;
    for (int p = 0; p < probes; p++) {
        for (int64_t i = 0; i < count; i++)
            k.Q[i] = (wb_rng_next(rng) >> 63) ? 1.0 : -1.0;
        if ((st = blk_apply(&k.b, k.Q, k.w, err)))
            break;
        double x = dot(k.Q, k.w, count);
        s += x;
        s2 += x * x;
    }
    if (!st) {
        double mu = s / probes, var = (s2 - probes * mu * mu) / (probes - 1);
        *mean = mu;
        *stderr_ = sqrt(var > 0 ? var / probes : 0);
    }
    work_free(&k);
    return st;
}

wb_status wb_hvp_slq(wb_hvp *h, int64_t first, int64_t count, int probes, int steps,
                     wb_rng *rng, double *nodes, double *weights, int *taken,
                     wb_err *err)
{
    if (check_block(h, first, count, err))
        return err->code;
    if (probes < 1 || steps < 1)
        return wb_err_set(err, WB_EINVAL, "probes and steps: expected >= 1, got %d and %d",
                          probes, steps);
    int m = steps < count ? steps : (int)count;
    work k;
    if (work_new(&k, h, first, count, m, err))
        return err->code;
    wb_status st = WB_OK;
    memset(nodes, 0, (size_t)probes * (size_t)steps * sizeof *nodes);
    memset(weights, 0, (size_t)probes * (size_t)steps * sizeof *weights);
    for (int p = 0; p < probes && !st; p++) {
        int ok, stop = 0, j = 0;
        start_vector(&k, NULL, rng, &ok);
        while (j < m && !stop && !(st = step(&k, j, &stop, err)))
            j++;
        if (st || (st = tridiag(&k, j, err)))
            break;
        taken[p] = j;
        for (int i = 0; i < j; i++) {
            double s0 = k.s[(size_t)i * j];
            nodes[(size_t)p * steps + i] = k.d[i];
            weights[(size_t)p * steps + i] = s0 * s0;
        }
    }
    work_free(&k);
    return st;
}
