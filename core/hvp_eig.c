/* hvp_eig.c - Lanczos, Hutchinson and stochastic Lanczos quadrature on the
 * Hessian-vector products. See hvp_eig.h.
 *
 * Legend: m = Lanczos steps, Q [m + 1, count] the orthonormal basis (row j
 * is q_j), T the m x m tridiagonal with diagonal alpha and off-diagonal
 * beta, T = S diag(theta) S^T.
 */
#include "hvp_eig.h"
#include "hvp_band.h"
#include "hvp_deflate.h"
#include "hvp_dvec.h"
#include "hvp_restart.h"
#include "hvp_fvec.h"

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
    if (b->count == b->P) /* the whole vector: no copies */
        return wb_hvp_apply(b->h, x, y, err);
    memcpy(b->v + b->first, x, (size_t)b->count * sizeof *x);
    if (wb_hvp_apply(b->h, b->v, b->hv, err))
        return err->code;
    memcpy(y, b->hv + b->first, (size_t)b->count * sizeof *y);
    return WB_OK;
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
    double *sig;        /* [m + 1] the float basis rows' scales */
    double cross;       /* u_j . u_{j-1} of the float basis's last rows */
    /* the float basis is swept only on the engine's live segments
     * (wb_hvp_f32_live): elsewhere H v = l2x2 v, so there row j is gam_j
     * times row 0, whose squared norm there is dd */
    const int64_t *seg;
    int nseg;
    float l2x2;
    double dd, *gam;    /* gam [m + 1] */
    float *F;           /* [m + 1, count] float basis (wb_hvp_top on a float32
                         * engine), or NULL */
} work;

/* work_new's doubles */
static size_t work_need(int64_t P, int64_t count, int m, int fbasis)
{
    size_t mm = (size_t)m, c = (size_t)count, nf = fbasis ? ((mm + 1) * c + 1) / 2 : 0;
    return 2 * (size_t)P + ((fbasis ? 1 : mm + 1) + 1) * c + 8 * mm + 2 + mm * mm + nf;
}

static wb_status work_new(work *k, wb_hvp *h, int64_t first, int64_t count, int m,
                          int fbasis, wb_err *err)
{
    memset(k, 0, sizeof *k);
    int64_t P = wb_hvp_numel(h);
    size_t mm = (size_t)m, c = (size_t)count;
    size_t qrows = fbasis ? 1 : mm + 1;
    /* v [P], hv [P], Q [m + 1, count] (with a float basis only its first
     * row, the start), w [count], alpha, beta, d, e [m], s [m * m], lw [2m],
     * sig, gam [m + 1], the float basis F [m + 1, count]; every entry is
     * written before it is read, except v outside the block, zeroed here.
     * (Size matters beyond the memory: a buffer that glibc maps afresh for
     * every engine costs a page fault per 4 KB touched.) */
    double *p = wb_hvp_work(h, work_need(P, count, m, fbasis), err);
    if (!p)
        return err->code;
    k->b = (blk){h, first, count, P, p, p + P};
    if (count < P)
        memset(k->b.v, 0, (size_t)P * sizeof(double));
    p += 2 * P;
    k->Q = p, p += qrows * c;
    k->w = p, p += c;
    k->alpha = p, p += mm;
    k->beta = p, p += mm;
    k->d = p, p += mm;
    k->e = p, p += mm;
    k->s = p, p += mm * mm;
    k->lw = p, p += 2 * mm;
    k->sig = p, p += mm + 1;
    k->gam = p, p += mm + 1;
    k->F = fbasis ? (float *)p : NULL;
    return WB_OK;
}

/* Eigen-decomposition of T's rows and columns i0..j-1 (T_j when i0 is 0):
 * k->d ascending, k->s column-major. */
static wb_status tridiag_from(work *k, int i0, int j, wb_err *err)
{
    memcpy(k->d, k->alpha + i0, (size_t)(j - i0) * sizeof(double));
    if (j - i0 > 1)
        memcpy(k->e, k->beta + i0, (size_t)(j - i0 - 1) * sizeof(double));
    int n = j - i0, info = 0;
    dstev_("V", &n, k->d, k->e, k->s, &n, k->lw, &info, 1);
    if (info != 0)
        return wb_err_set(err, WB_ENONFINITE, "Lanczos: the tridiagonal eigensolver "
                          "failed (dstev info %d)", info);
    return WB_OK;
}

static wb_status tridiag(work *k, int j, wb_err *err)
{
    return tridiag_from(k, 0, j, err);
}

/* q_0 = start / |start|: v0, else Gaussian from rng, else (rng NULL) the
 * hash-made direction 0; *ok 0 when start is zero. */
static void start_vector(work *k, const double *v0, wb_rng *rng, int *ok)
{
    int64_t c = k->b.count;
    for (int64_t i = 0; i < c; i++)
        k->Q[i] = v0 ? v0[i] : rng ? wb_rng_normal(rng) : wb_restart_entry(0, (uint64_t)i);
    double nrm = sqrt(wb_dv_dot(k->Q, k->Q, c));
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
    double a = wb_dv_dot(q, w, c);
    k->alpha[j] = a;
    double wn0 = sqrt(wb_dv_dot(w, w, c));
    /* full reorthogonalisation against q_0..q_j, twice ("twice is enough"),
     * modified Gram-Schmidt: w -= (q_i . w) q_i for i = 0..j, each pass. The
     * update by q_i and the dot with the next q are one sweep (the same
     * numbers as two, in the same order, from half the memory traffic:
     * with P in the 100,000s this loop is most of a Lanczos step). */
    for (int pass = 0; pass < 2; pass++) {
        double r;
        wb_dv_sweep(w, 0.0, NULL, k->Q, c, 0, 1, &r);
        for (int i = 0; i <= j; i++) {
            const double *qi = k->Q + (size_t)i * (size_t)c;
            wb_dv_sweep(w, -r, qi, qi + c, c, 1, i < j, &r);
        }
    }
    double b = sqrt(wb_dv_dot(w, w, c));
    k->beta[j] = b;
    *stop = !(b > 1e-12 * (wn0 > fabs(a) ? wn0 : fabs(a))) || b == 0;
    if (!*stop) {
        double *qn = q + c;
        for (int64_t t = 0; t < c; t++)
            qn[t] = w[t] / b;
    }
    return WB_OK;
}

enum { EIGS_MIN = 7 }; /* wb_hvp_eigs's products past k before a stop */

/* Row j of Q <- the r-th restart direction off rows 0..j-1, normalised:
 * 1, or 0 when the rows span the space (hvp_restart.h) */
static int restart(work *k, int j, uint64_t r)
{
    size_t c = (size_t)k->b.count;
    return wb_restart_dv(k->Q + j * c, k->Q, j, k->b.count, r);
}

/* The Krylov space ended (breakdown) after j steps, its last block (rows
 * b0..j-1) invariant: a start sees one vector of each eigenspace, so
 * copies of a repeated eigenvalue, and blocks a start missed, lie outside
 * (linear regression's 3 copies: 0.729 returned as the second of 1.17 x3,
 * converged). The block is uncoupled in T (beta 0). Done (*full) when the
 * whole space is spanned, or when the block came from a generic direction
 * (a restart, or the Gaussian start) and its top is at most the k-th Ritz
 * value: such a block holds every eigenvalue of the space left before it
 * (the direction has a share in each eigenspace there), so what is left
 * after it is no larger, and a further copy changes no value. Otherwise
 * restart (as ARPACK; core/hvp_band.c) from a fixed direction off the
 * whole basis, with k + EIGS_MIN more products before a stop. At the
 * budget with a direction left the rest is unexplored: not done. */
static wb_status ended(work *k, const wb_eigs_opts *o, int b0, int j, int m, int *nrs,
                       int *jmin, int *full, wb_err *err)
{
    k->beta[j - 1] = 0;
    *full = 0;
    if ((b0 > 0 || !o->v0) && j >= o->k) {
        if (tridiag_from(k, b0, j, err))
            return err->code;
        double mu = k->d[j - b0 - 1];
        if (tridiag(k, j, err))
            return err->code;
        double th = k->d[j - o->k];
        *full = mu <= th + o->tol * (fabs(th) > 1e-30 ? fabs(th) : 1e-30);
    }
    if (!*full && !restart(k, j, (uint64_t)(*nrs)++))
        *full = 1;
    else if (!*full && j < m)
        *jmin = j + o->k + EIGS_MIN < m ? j + o->k + EIGS_MIN : m;
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
    /* k > 1: room for the deflated check after the run (hvp_deflate.h),
     * and past both, for the Ritz vectors it needs when vectors is NULL */
    int64_t P = wb_hvp_numel(h);
    size_t need = work_need(P, count, m, 0), dn = wb_deflate_need(P, count, m);
    size_t tot = (need > dn ? need : dn) + (vectors ? 0 : (size_t)o->k * (size_t)count);
    double *Y = vectors, *wk = o->k > 1 ? wb_hvp_work(h, tot, err) : NULL;
    if (o->k > 1 && !wk)
        return err->code;
    if (o->k > 1 && !vectors)
        Y = wk + tot - (size_t)o->k * (size_t)count;
    work k;
    if (work_new(&k, h, first, count, m, 0, err))
        return err->code;
    start_vector(&k, o->v0, rng, &ok);
    wb_status st = WB_OK;
    if (!ok) {
        st = wb_err_set(err, WB_EINVAL, "v0: expected a non-zero finite vector");
        goto done;
    }
    *converged = 0;
    /* no stop before EIGS_MIN more products than k: a start near a lower
     * eigenvector (a warm start after two eigenvalues crossed, an earlier
     * vectors[2]) met tol after one product and returned that eigenvalue as
     * the largest, converged (a new user's: 20 % low); the Krylov space
     * must grow before a residual says anything of what lies above */
    int jmin = o->k + EIGS_MIN < m ? o->k + EIGS_MIN : m, full = 0, nrs = 0, b0 = 0;
    while (j < m && !full) {
        if ((st = step(&k, j, &stop, err)))
            goto done;
        j++;
        if (stop && (st = ended(&k, o, b0, j, m, &nrs, &jmin, &full, err)))
            goto done;
        if (stop && !full)
            b0 = j;
        if (j < jmin && !full)
            continue;
        if ((st = tridiag(&k, j, err)))
            goto done;
        int want = o->k < j ? o->k : j, conv = !(stop && !full);
        for (int i = 0; i < want && conv && !full; i++) {
            double th = k.d[j - 1 - i], sl = k.s[(size_t)(j - 1 - i) * j + (j - 1)];
            double tiny = fabs(th) > 1e-30 ? fabs(th) : 1e-30;
            conv = fabs(k.beta[j - 1] * sl) <= o->tol * tiny;
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
        if (!Y)
            continue;
        double *y = Y + (size_t)i * (size_t)count;
        memset(y, 0, (size_t)count * sizeof *y);
        for (int r = 0; r < j; r++) {
            double sr = k.s[(size_t)col * j + r];
            const double *qr = k.Q + (size_t)r * (size_t)count;
            for (int64_t t = 0; t < count; t++)
                y[t] += sr * qr[t];
        }
    }
    /* one start sees one vector of each eigenspace: without a breakdown,
     * copies were never looked for (hvp_deflate.h); max_iter bounds both */
    if (*converged && o->k > 1 && !full && j < count) {
        int used;
        st = wb_hvp_deflate(h, first, count, o->k, o->tol, o->max_iter - j, values, Y, &used,
                            converged, err);
    }
done: /* the work space lives in the engine (wb_hvp_work): nothing to free */
    return st;
}


/* The i-th gap (0..nseg) between the live segments: [*b, *e), maybe empty */
static void gap(const work *k, int i, int64_t *b, int64_t *e)
{
    *b = i ? k->seg[2 * i - 1] : 0;
    *e = i < k->nseg ? k->seg[2 * i] : k->b.count;
}

/* The live segments of the engine's data, and row 0's squared norm off
 * them (F's row 0 written) */
static wb_status live(work *k, wb_err *err)
{
    if (!(k->seg = wb_hvp_f32_live(k->b.h, &k->nseg, &k->l2x2, err)))
        return err->code;
    k->dd = 0, k->gam[0] = 1;
    for (int i = 0; i <= k->nseg; i++) {
        int64_t b, e;
        double t;
        gap(k, i, &b, &e);
        if (e > b) {
            wb_fv_fsumsq(k->F + b, e - b, &t);
            k->dd += t;
        }
    }
    return WB_OK;
}

/* Row j of the float basis <- restart direction 1 (hvp_restart.h), its
 * scale and off-live share set: 1, or 0 when no direction is left */
static int frestart(work *k, int j)
{
    int64_t c = k->b.count;
    double g, nn;
    if (!wb_restart_fv(k->F + (size_t)j * (size_t)c, k->F, k->sig, k->gam, k->dd, k->seg,
                       k->nseg, j, c, 1, &g, &nn))
        return 0;
    k->gam[j] = g, k->sig[j] = 1 / nn, k->cross = 0;
    return 1;
}

/* Off the live segments H is l2x2 times the identity: an eigenvalue no
 * float row sees when row 0 is zero there (dd 0: a zero-init first layer
 * on inputs all zero, whose gradient there is 2 l2 W = 0; hess_max gave
 * 1/3 for a top of 2 l2 = 1). Above the Ritz value it is the top, exact:
 * the Ritz vector (xd double or xf float [count], norm *ny) becomes the
 * hash-made direction 0 there, zero elsewhere. */
static void dead_top(work *k, double *xd, float *xf, double *value, double *resid,
                     double *ny)
{
    int64_t c = k->b.count, nd = 0;
    if (!k->F || k->dd > 0 || !((double)k->l2x2 > *value))
        return;
    for (int i = 0; i <= k->nseg; i++) {
        int64_t b, e;
        gap(k, i, &b, &e);
        nd += e > b ? e - b : 0;
    }
    if (nd == 0)
        return;
    double yy = 0;
    for (int64_t t = 0; t < c; t++) {
        if (xd)
            xd[t] = 0;
        else
            xf[t] = 0;
    }
    for (int i = 0; i <= k->nseg; i++) {
        int64_t b, e;
        gap(k, i, &b, &e);
        for (int64_t t = b; t < e; t++) {
            float v = (float)wb_restart_entry(0, (uint64_t)t);
            if (xd)
                xd[t] = v;
            else
                xf[t] = v;
            yy += (double)v * (double)v;
        }
    }
    *value = (double)k->l2x2, *resid = 0, *ny = sqrt(yy);
}

/* The fewest Lanczos steps of a cold start (no vector given) before its
 * stop test: from the gradient, whose component on the top eigenvector
 * can be small, the top eigenvalue can be absent from the first Ritz
 * values while Kato-Temple, which sees only them, already holds for a
 * lower one (an audit found 0.547 for 1.002 after 4 steps, the gradient's
 * component 7e-4; the top showed at step 6). A warm start, close to the
 * top eigenvector, keeps 2; a cold one is once per fit. */
#define TOP_COLD_MIN 10

/* The three-term recurrence, without reorthogonalisation: over a few
 * steps the basis stays close to orthogonal, and whatever its rounding,
 * H Q_j = Q_j T_j + beta_j q_{j+1} e_j^T holds to rounding (Paige), so
 * for y = Q_j s, H y - theta y = beta_j s_j q_{j+1}: the residual is
 * |beta_j s_j| / ||y|| without another product. Stops after *j steps
 * (at most m) when the Krylov space is invariant or when Kato-Temple's
 * estimate meets tol; *r = beta_j s_j of the largest Ritz pair, whose
 * value is k->d[*j - 1]. */
typedef wb_status (*step_fn)(work *k, int j, double *a, double *b, wb_err *err);

static wb_status lanczos3(work *k, int m, int jmin, double tol, step_fn stepf, int *jo,
                          double *ro, wb_err *err)
{
    int j = 0, restarted = 0;
    double r = 0;
    wb_status st;
    while (j < m) {
        double a, b;
        if ((st = stepf(k, j, &a, &b, err)))
            return st;
        /* a norm or a Rayleigh quotient past the range (a Hessian whose
         * eigenvalues pass ~1.8e19 overflows the float32 products) is no
         * invariant subspace: it stopped on a Ritz value a fifth of the
         * eigenvalue, with no error (found with the instruments' overflow
         * test, where fit's hess_max now records NaN) */
        if (!isfinite(a) || !isfinite(b))
            return wb_err_set(err, WB_ENONFINITE, "Lanczos: a non-finite %s at step %d (a "
                              "Hessian past float32's range?)", isfinite(a) ? "norm" :
                              "Rayleigh quotient", j + 1);
        k->alpha[j] = a;
        k->beta[j] = b;
        j++;
        if ((st = tridiag(k, j, err)))
            return st;
        /* Kato-Temple: |lambda - theta| <= r^2 / gap, gap = theta -
         * lambda_2. The next Ritz value theta_2 is at most lambda_2
         * (interlacing), so theta - theta_2 overstates the gap while
         * theta_2 is unconverged (an audit saw 1.8e-4 at tol 1e-4); an
         * eigenvalue lies within r_2, its pair's residual, of theta_2, so
         * the gap taken is theta - theta_2 - r_2. No stop before jmin
         * steps: Ritz values cannot show an eigenvector the start nearly
         * misses (see TOP_COLD_MIN). Or the residual alone, |lambda -
         * theta| <= r: at a top eigenvalue that is multiple, or nearly
         * (gap under tol theta), Kato-Temple cannot hold, and steps past
         * convergence lose the basis' orthogonality. */
        double th = k->d[j - 1];
        r = b * k->s[(size_t)(j - 1) * j + (j - 1)];
        double r2 = j > 1 ? fabs(b * k->s[(size_t)(j - 2) * j + (j - 1)]) : 0;
        double gp = j > 1 ? th - k->d[j - 2] - r2 : 0;
        int invariant = !(b > 1e-12 * fabs(a));
        /* The space ended before the budget: restart (as ARPACK; the band,
         * core/hvp_band.c) from a fixed direction off the basis, its block
         * uncoupled in T. A start inside an invariant block (a zero-init
         * model's gradient: rounding noise on the biases, H g = 0) stopped
         * after one product on 0, residual 0, for a top of 1/3. Once: a
         * restart's block that ends too holds every eigenvalue of the rest
         * (its direction has a share in each eigenspace there). After it,
         * TOP_COLD_MIN products before a stop, as from any cold start. */
        if (invariant && j < m && !restarted) {
            k->beta[j - 1] = 0;
            if (k->F ? frestart(k, j) : restart(k, j, 1)) {
                restarted = 1, jmin = j + TOP_COLD_MIN, r = 0;
                continue;
            }
        }
        if (invariant || (j > 1 && j >= jmin && ((gp > 0 && r * r <= tol * gp * fabs(th))
                                                  || fabs(r) <= tol * fabs(th))))
            break;
    }
    *jo = j, *ro = r;
    return WB_OK;
}

/* A double step: q_{j+1} = (H q_j - a q_j - b q_{j-1}) / beta_j in Q */
static wb_status dstep(work *k, int j, double *a, double *nb, wb_err *err)
{
    size_t c = (size_t)k->b.count;
    double *q = k->Q + j * c, *qn = q + c, *w = k->w, nn, b = j ? k->beta[j - 1] : 0;
    if (blk_apply(&k->b, q, w, err))
        return err->code;
    wb_dv_sweep(w, 0.0, NULL, q, (int64_t)c, 0, 1, a);
    wb_dv_recur(qn, w, q, j ? q - c : q, *a, b, (int64_t)c, &nn);
    *nb = sqrt(nn);
    double inv = 1 / *nb;
    for (size_t t = 0; *nb > 0 && t < c; t++)
        qn[t] *= inv;
    return WB_OK;
}

/* A float step on the whole vector: row j of F is u_j = q_j / sig_j,
 * unscaled (scaling it would be another sweep), and only its live part is
 * stored (off it, u_j = gam_j u_0). The product writes H u_j straight
 * into row j + 1 and sums u_j . H u_j as it goes; with u_j . u_{j-1} from
 * the last step's sweep, that gives alpha = q_j . (H q_j - beta_{j-1}
 * q_{j-1}) (Paige's stable order) without a sweep, and one sweep makes
 * row j + 1 u_{j+1} = H q_j - beta_{j-1} q_{j-1} - alpha q_j, its square
 * and u_{j+1} . u_j. */
static wb_status fstep(work *k, int j, double *a, double *nb, wb_err *err)
{
    size_t c = (size_t)k->b.count;
    float *u = k->F + j * c, *w = u + c, *up = j ? u - c : u;
    double sj = k->sig[j], vw, nn = 0, x = 0, t, tx, cp = j ? k->beta[j - 1] * k->sig[j - 1] : 0;
    double g = k->gam[j], gp = j ? k->gam[j - 1] : 0;
    if (wb_hvp_apply_f32_dot(k->b.h, u, w, &vw, err))
        return err->code;
    vw += (double)k->l2x2 * g * g * k->dd;
    *a = sj * sj * vw - (j ? cp * sj * k->cross : 0);
    for (int i = 0; i < k->nseg; i++) {
        int64_t b = k->seg[2 * i], e = k->seg[2 * i + 1];
        wb_fv_frec(w + b, up + b, u + b, (float)sj, (float)cp, (float)(*a * sj),
                           e - b, &t, &tx);
        nn += t, x += tx;
    }
    double gn = k->gam[j + 1] = sj * k->l2x2 * g - cp * gp - *a * sj * g;
    nn += gn * gn * k->dd;
    k->cross = x + gn * g * k->dd;
    *nb = sqrt(nn);
    k->sig[j + 1] = 1 / *nb;
    return WB_OK;
}

/* value, resid, steps from the recurrence's end; y [count] in double
 * (yd) or float (yf) gets the largest Ritz vector Q s (unnormalised),
 * its norm *ny */
static void ritz_out(work *k, int j, double r, double *yd, float *yf, double *value,
                     double *resid, int *steps, double *ny)
{
    double th = k->d[j - 1], yy, *sv = k->s + (size_t)(j - 1) * j;
    int64_t c = k->b.count;
    if (k->F) { /* on the unscaled rows: coefficients s_i sig_i */
        double cd = 0; /* off the live segments, y = cd u_0 */
        yy = 0;
        for (int i = 0; i < j; i++)
            k->sig[i] *= sv[i], cd += k->sig[i] * k->gam[i];
        for (int i = 0; i < k->nseg; i++) {
            int64_t b = k->seg[2 * i], e = k->seg[2 * i + 1];
            if (yd)
                wb_fv_fritz(yd + b, k->F + b, k->sig, j, c, e - b, &yy);
            else
                wb_fv_fritzf(yf + b, k->F + b, k->sig, j, c, e - b, &yy);
        }
        for (int i = 0; i <= k->nseg; i++) {
            int64_t b, e;
            gap(k, i, &b, &e);
            if (yf && e > b)
                wb_fv_fmix(yf + b, k->F + b, k->F + b, (float)cd, 0, e - b, &yy);
            for (int64_t t = b; yd && t < e; t++) {
                yd[t] = (double)((float)cd * k->F[t]);
                yy += yd[t] * yd[t];
            }
        }
    } else {
        wb_dv_ritz(yd, k->Q, sv, j, c, &yy);
    }
    *ny = sqrt(yy);
    *value = th;
    *resid = fabs(r) / (*ny * (fabs(th) > 1e-30 ? fabs(th) : 1e-30));
    *steps = j;
}

static wb_status top_args(int max_iter, double tol, double gmix, wb_err *err)
{
    if (!(tol >= 0) || max_iter < 1 || !(gmix >= 0))
        return wb_err_set(err, WB_EINVAL, "tol and gmix must be >= 0 and max_iter >= 1 (got "
                          "tol %g, gmix %g, max_iter %d)", tol, gmix, max_iter);
    return WB_OK;
}

wb_status wb_hvp_top(wb_hvp *h, int64_t first, int64_t count, int max_iter, double tol,
                     double gmix, double *x, int have_x, wb_rng *rng, double *value,
                     double *resid, int *steps, wb_err *err)
{
    return wb_hvp_top_g(h, first, count, max_iter, tol, gmix, NULL, x, have_x, rng, value,
                        resid, steps, err);
}

wb_status wb_hvp_top_g(wb_hvp *h, int64_t first, int64_t count, int max_iter, double tol,
                       double gmix, const double *gin, double *x, int have_x, wb_rng *rng,
                       double *value, double *resid, int *steps, wb_err *err)
{
    if (check_block(h, first, count, err) || top_args(max_iter, tol, gmix, err))
        return err->code;
    int m = max_iter < count ? max_iter : (int)count, ok, j = 0;
    if (gmix > 0 && have_x) /* two directions: both kept */
        return wb_band_warm(h, first, count, m, tol, gin, x, NULL, NULL, 0, NULL, NULL,
                            value, resid, steps, err);
    int fb = count == wb_hvp_numel(h) && wb_hvp_f32_ready(h) && m <= WB_HVP_TOP_F32_MAX;
    work k;
    if (work_new(&k, h, first, count, m, fb, err))
        return err->code;
    int cold = !have_x; /* no last Ritz vector: TOP_COLD_MIN */
    if (gmix > 0) { /* the gradient: mostly in the top eigenspace */
        double loss;
        const double *g = gin ? gin : k.b.hv + first;
        if (!gin && wb_hvp_loss_grad(h, &loss, k.b.hv, err))
            return err->code;
        double gn, xn = 0;
        wb_dv_sumsq(g, count, &gn);
        if (have_x)
            wb_dv_sumsq(x, count, &xn);
        gn = sqrt(gn), xn = sqrt(xn);
        if (gn > 0 && isfinite(gn) && (!have_x || (xn > 0 && isfinite(xn)))) {
            /* multiplies by reciprocals: a divide per entry was most of
             * this loop */
            double cx = have_x ? 1 / xn : 0, cg = gmix / gn;
            if (!have_x) /* x holds no number yet (0 times it could be NaN) */
                memset(x, 0, (size_t)count * sizeof *x);
            wb_dv_axpby(x, cx, g, cg, count);
            have_x = 1;
        }
    }
    double n0 = 0;
    if (fb && have_x) { /* straight into the float basis */
        double nrm;
        wb_dv_sumsq(x, count, &nrm);
        nrm = sqrt(nrm);
        double inv = 1 / nrm;
        ok = nrm > 0 && isfinite(nrm);
        for (int64_t t = 0; ok && t < count; t++) {
            k.F[t] = (float)(x[t] * inv);
            n0 += (double)k.F[t] * (double)k.F[t];
        }
    } else {
        /* a gradient start that is zero: the hash-made direction (an
         * instrument draws no random number) */
        start_vector(&k, have_x ? x : NULL, gmix > 0 ? NULL : rng, &ok);
        for (int64_t t = 0; ok && fb && t < count; t++) {
            k.F[t] = (float)k.Q[t];
            n0 += (double)k.F[t] * (double)k.F[t];
        }
    }
    if (!ok)
        return wb_err_set(err, WB_EINVAL, "x: expected a non-zero finite start vector");
    if (fb && live(&k, err))
        return err->code;
    if (fb)
        k.sig[0] = 1 / sqrt(n0);
    double r, ny;
    wb_status st = lanczos3(&k, m, cold ? TOP_COLD_MIN : 2, tol, fb ? fstep : dstep, &j, &r,
                            err);
    if (st)
        return st;
    ritz_out(&k, j, r, x, NULL, value, resid, steps, &ny);
    dead_top(&k, x, NULL, value, resid, &ny);
    double inv = 1 / ny;
    for (int64_t t = 0; t < count; t++)
        x[t] *= inv;
    return WB_OK;
}

wb_status wb_hvp_top_f32(wb_hvp *h, int max_iter, double tol, double gmix,
                         const float *const *g, const int64_t *gn, int gparts, float *x,
                         double *xnorm, int have_x, wb_rng *rng, double *value,
                         double *resid, int *steps, wb_err *err)
{
    if (top_args(max_iter, tol, gmix, err))
        return err->code;
    int64_t P = wb_hvp_numel(h), at = 0;
    if (!wb_hvp_f32_ready(h) || max_iter > WB_HVP_TOP_F32_MAX)
        return wb_err_set(err, WB_ESTATE, "top in float: needs a float32 engine with its "
                          "data in one chunk and max_iter <= %d (got %d)",
                          WB_HVP_TOP_F32_MAX, max_iter);
    for (int i = 0; g && i < gparts; i++)
        at += gn[i] >= 0 ? gn[i] : P + 1;
    if (g && at != P)
        return wb_err_set(err, WB_EINVAL, "g: expected pieces of %lld numbers in all, got "
                          "%lld", (long long)P, (long long)at);
    int m = max_iter < P ? max_iter : (int)P, j = 0;
    if (gmix > 0 && have_x) /* two directions: both kept */
        return wb_band_warm(h, 0, P, m, tol, NULL, NULL, g, gn, gparts, x, xnorm, value,
                            resid, steps, err);
    work k;
    if (work_new(&k, h, 0, P, m, 1, err))
        return err->code;
    float *F = k.F;
    double n0 = 0, xn = have_x ? *xnorm : 0;
    if (have_x && !(xn > 0)) {
        wb_fv_fsumsq(x, P, &xn);
        xn = sqrt(xn);
    }
    int mixed = 0;
    if (gmix > 0) { /* the gradient: mostly in the top eigenspace */
        double loss, gg = 0, t;
        const float *own = (const float *)k.b.v; /* the computed one, in float */
        if (!g) {
            if (wb_hvp_loss_grad(h, &loss, k.b.hv, err))
                return err->code;
            for (int64_t i = 0; i < P; i++)
                ((float *)k.b.v)[i] = (float)k.b.hv[i];
            g = &own, gn = &P, gparts = 1;
        }
        for (int i = 0; i < gparts; i++, gg += t)
            wb_fv_fsumsq(g[i], gn[i], &t);
        gg = sqrt(gg);
        if (gg > 0 && isfinite(gg) && (!have_x || (xn > 0 && isfinite(xn)))) {
            /* without x, x is the gradient times 0 (x holds no number yet) */
            float cx = have_x ? (float)(1 / xn) : 0, cg = (float)(gmix / gg);
            int64_t o = 0;
            for (int i = 0; i < gparts; o += gn[i], i++)
                wb_fv_fmix(F + o, have_x ? x + o : g[i], g[i], cx, cg, gn[i], &n0);
            mixed = 1;
        }
    }
    if (!mixed && have_x) {
        wb_fv_fmix(F, x, x, 1, 0, P, &n0);
    } else if (!mixed) {
        for (int64_t t = 0; t < P; t++) { /* a zero gradient: no draw */
            F[t] = (float)(gmix > 0 ? wb_restart_entry(0, (uint64_t)t) : wb_rng_normal(rng));
            n0 += (double)F[t] * (double)F[t];
        }
    }
    n0 = sqrt(n0);
    if (!(n0 > 0 && isfinite(n0)))
        return wb_err_set(err, WB_EINVAL, "x: expected a non-zero finite start vector");
    k.sig[0] = 1 / n0;
    if (live(&k, err))
        return err->code;
    double r;
    wb_status st = lanczos3(&k, m, have_x ? 2 : TOP_COLD_MIN, tol, fstep, &j, &r, err);
    if (st)
        return st;
    ritz_out(&k, j, r, NULL, x, value, resid, steps, xnorm);
    dead_top(&k, NULL, x, value, resid, xnorm);
    return WB_OK;
}

wb_status wb_hvp_trace(wb_hvp *h, int64_t first, int64_t count, int probes, wb_rng *rng,
                       double *mean, double *stderr_, wb_err *err)
{
    if (check_block(h, first, count, err))
        return err->code;
    if (probes < 2)
        return wb_err_set(err, WB_EINVAL, "probes: expected >= 2, got %d", probes);
    work k;
    if (work_new(&k, h, first, count, 1, 0, err))
        return err->code;
    double s = 0, s2 = 0;
    wb_status st = WB_OK;
    for (int p = 0; p < probes; p++) {
        for (int64_t i = 0; i < count; i++)
            k.Q[i] = (wb_rng_next(rng) >> 63) ? 1.0 : -1.0;
        if ((st = blk_apply(&k.b, k.Q, k.w, err)))
            break;
        double x = wb_dv_dot(k.Q, k.w, count);
        s += x;
        s2 += x * x;
    }
    if (!st) {
        double mu = s / probes, var = (s2 - probes * mu * mu) / (probes - 1);
        *mean = mu;
        *stderr_ = sqrt(var > 0 ? var / probes : 0);
    }
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
    if (work_new(&k, h, first, count, m, 0, err))
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
    return st;
}
