/* hvp_reduce.c - the largest Hessian eigenvalue in the first Dense layer's
 * row space (see hvp_reduce.h for why it is exact).
 *
 * Legend: n rows of the batch (<= B), I and O the first Dense's widths, r
 * the rank of X [n, I]; L [n, r] the pivoted Cholesky factor of X X^T
 * (column-major, LAPACK's, in G), piv its row order (1-based): row p of
 * Pi^T X is X[piv[p] - 1]; L1 its first r rows (lower triangular, r x r).
 * Q = L1^{-1} (Pi^T X)[:r] is never formed: W~ = Q W = L1^{-1} (Pi^T X
 * W)[:r] and W = Q^T W~ = X^T Pi [L1^{-T} W~; 0]. In double: a pivot of
 * L can be small (nearly dependent rows), and the solves divide by it.
 */
#include "hvp_reduce.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "dataset.h"
#include "blas.h"
#include "hvp_eig.h"
#include "hvp_fvec.h"
#include "simd.h"

/* LAPACK (Fortran): pivoted Cholesky of a semidefinite matrix, in OpenBLAS */
void dpstrf_(const char *uplo, const int *n, double *a, const int *lda, int *piv, int *rank,
             const double *tol, double *work, int *info, size_t uplo_len);

/* A batch: X dense (X X^T and X X_held^T: BLAS), and its non-zeros row by
 * row (row i's at rs[i] .. rs[i + 1]: MNIST's pixels are about 80 %
 * zeros, and the maps in and out read only these); used: the inputs
 * non-zero in some row (nu, ascending). */
typedef struct bset {
    int64_t n, nu;
    double *Xd;    /* [B, I] */
    int64_t *rs;   /* [B + 1] */
    int32_t *ci;   /* [B I] */
    double *cv;    /* [B I] */
    int32_t *used; /* [I] */
} bset;

struct wb_hvp_red {
    wb_hvp *h;             /* the engine on the reduced model */
    wb_dense *d;           /* its first Dense: B inputs */
    int64_t B, I, O;       /* most rows; the first Dense's widths */
    int64_t P, Pr, tail;   /* parameters: whole, reduced, after the first kernel */
    double l2;             /* the first Dense's */
    /* S[cur]: the batch set last (n rows, rank r); S[held]: the batch the
     * kept Ritz vector's kernel part is X^T Zh of (-1: none kept). Two, so
     * that the next batch's start is read off the last one's vector
     * without mapping it out and in (X_new X_old^T Zh: n x n x O) */
    bset S[2];
    int cur, held;
    int64_t n, r;
    double *G;             /* [B, B] X X^T, then L (column-major) */
    double *lw;            /* [2 B] dpstrf's work */
    int *piv;              /* [B] */
    double *Wd;            /* [I, O] a kernel in double (maps) */
    double *Yd;            /* [B, O] */
    double *C;             /* [B, B] X_cur X_held^T */
    double *Zh;            /* [B, O] the kept vector's kernel part's coefficients */
    float *th;             /* [tail] and the rest of it */
    wb_tensor *xa;         /* [B, B] X~, the reduced engine's input */
    float *xr;             /* its data */
    wb_tensor *xt;         /* a view of its first n rows (made when n changes) */
    float *wr;             /* [B, O] W~ */
    float *vr;             /* [Pr] a reduced vector: the start, then the Ritz vector */
    const float **pp;      /* [nparts] theta's pieces for the engine, W~ first */
    int64_t *pn;
    int np;
};

wb_hvp_red *wb_hvp_red_new(const wb_hvp_layer *layers, int n_layers, wb_hvp_loss loss,
                           int64_t B, wb_err *err)
{
    int first = -1, nparts = 0;
    for (int k = 0; k < n_layers; k++) {
        if (layers[k].kind == WB_HVP_DENSE) {
            if (first < 0)
                first = k;
            nparts += layers[k].dense && layers[k].dense->use_bias ? 2 : 1;
        } else if (first < 0 && layers[k].kind != WB_HVP_IDENTITY)
            return wb_err_set(err, WB_EINVAL, "reduce: layer %d comes before the first "
                              "Dense and is not an identity", k + 1), NULL;
    }
    if (first < 0 || !layers[first].dense)
        return wb_err_set(err, WB_EINVAL, "reduce: no Dense"), NULL;
    const wb_dense *d0 = layers[first].dense;
    /* the maps cost B x B x n_in (X X^T, X X_held^T) a call and a product
     * B x B x n_out: on MNIST (784 inputs) 3.5x faster than the whole
     * model's at B = 16, 2.5x at 32, 1.4x at 64, even at 96, slower at 128 */
    if (B < 1 || WB_HVP_RED_MIN * B > d0->n_in)
        return wb_err_set(err, WB_EINVAL, "reduce: %lld rows against %lld inputs: the row "
                          "space saves nothing (from %d inputs a row)", (long long)B,
                          (long long)d0->n_in, WB_HVP_RED_MIN), NULL;
    wb_hvp_red *r = wb_calloc(1, sizeof *r);
    wb_hvp_layer *ls = wb_calloc((size_t)n_layers, sizeof *ls);
    if (!r || !ls) {
        wb_free(r), wb_free(ls);
        return wb_err_set(err, WB_ENOMEM, "reduce: out of memory"), NULL;
    }
    r->B = B, r->I = d0->n_in, r->O = d0->n_out, r->l2 = d0->l2, r->np = nparts;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = wb_act_name(d0->act), o.l2 = d0->l2, o.use_bias = d0->use_bias;
    wb_rng rng; /* the reduced kernel's initial values are never read */
    wb_rng_seed(&rng, 1);
    if (!(r->d = wb_dense_new(B, r->O, &o, &rng, err)))
        goto fail;
    memcpy(ls, layers, (size_t)n_layers * sizeof *ls);
    ls[first].dense = r->d;
    wb_hvp_opts ho = {loss, 0, B, 0};
    if (!(r->h = wb_hvp_new(ls, n_layers, &ho, err)))
        goto fail;
    r->Pr = wb_hvp_numel(r->h);
    r->tail = r->Pr - B * r->O;
    r->P = r->I * r->O + r->tail;
    size_t b = (size_t)B, i = (size_t)r->I, ou = (size_t)r->O;
    int fine = 1;
    for (int q = 0; q < 2; q++) {
        bset *S = &r->S[q];
        S->Xd = wb_malloc(b * i * sizeof *S->Xd);
        S->rs = wb_malloc((b + 1) * sizeof *S->rs);
        S->ci = wb_malloc(b * i * sizeof *S->ci);
        S->cv = wb_malloc(b * i * sizeof *S->cv);
        S->used = wb_malloc(i * sizeof *S->used);
        fine = fine && S->Xd && S->rs && S->ci && S->cv && S->used;
    }
    r->held = -1;
    r->C = wb_malloc(b * b * sizeof *r->C);
    r->Zh = wb_malloc(b * ou * sizeof *r->Zh);
    r->th = wb_malloc((size_t)(r->tail > 0 ? r->tail : 1) * sizeof *r->th);
    r->G = wb_malloc(b * b * sizeof *r->G);
    r->lw = wb_malloc(2 * b * sizeof *r->lw);
    r->piv = wb_malloc(b * sizeof *r->piv);
    r->Wd = wb_malloc(i * ou * sizeof *r->Wd);
    r->Yd = wb_malloc(b * ou * sizeof *r->Yd);
    int64_t shape[2] = {B, B};
    if (!(r->xa = wb_tensor_new(WB_F32, 2, shape, err)))
        goto fail;
    r->xr = wb_tensor_f32(r->xa);
    r->wr = wb_malloc(b * ou * sizeof *r->wr);
    r->vr = wb_alloc_aligned((size_t)r->Pr * sizeof *r->vr);
    r->pp = wb_calloc((size_t)nparts, sizeof *r->pp);
    r->pn = wb_calloc((size_t)nparts, sizeof *r->pn);
    if (!fine || !r->C || !r->Zh || !r->th || !r->G || !r->lw || !r->piv || !r->Wd ||
        !r->Yd || !r->wr || !r->vr || !r->pp || !r->pn) {
        wb_err_set(err, WB_ENOMEM, "reduce: out of memory");
        goto fail;
    }
    wb_free(ls);
    return r;
fail:
    wb_free(ls);
    wb_hvp_red_free(r);
    return NULL;
}

void wb_hvp_red_free(wb_hvp_red *r)
{
    if (!r)
        return;
    wb_hvp_free(r->h);
    wb_dense_free(r->d);
    wb_tensor_free(r->xt);
    wb_tensor_free(r->xa);
    for (int q = 0; q < 2; q++) {
        bset *S = &r->S[q];
        wb_free(S->Xd), wb_free(S->rs), wb_free(S->ci), wb_free(S->cv), wb_free(S->used);
    }
    wb_free(r->C), wb_free(r->Zh), wb_free(r->th);
    wb_free(r->G), wb_free(r->lw), wb_free(r->piv), wb_free(r->Wd);
    wb_free(r->Yd), wb_free(r->wr), wb_free(r->vr);
    wb_free(r->pp), wb_free(r->pn);
    wb_free(r);
}

int64_t wb_hvp_red_rows(const wb_hvp_red *r) { return r->B; }

/* The maps' loops, vectorised over the O outputs (the same sums, in the
 * same order, at every SIMD width): rows of a kernel gathered into y and
 * scattered from z by one row of X's non-zeros (ci, cv [m]). (The
 * triangular solves are BLAS's, blas.h.) */
WB_SIMD_BODY gather_body(double *restrict y, const int32_t *restrict ci,
                         const double *restrict cv, int64_t m, const float *restrict w,
                         int64_t O)
{
    for (int64_t t = 0; t < m; t++) {
        double c = cv[t];
        const float *wk = w + (int64_t)ci[t] * O;
        for (int64_t j = 0; j < O; j++)
            y[j] += c * (double)wk[j];
    }
}
WB_SIMD_KERNEL(gather, gather_body,
               (double *restrict y, const int32_t *restrict ci, const double *restrict cv,
                int64_t m, const float *restrict w, int64_t O),
               (y, ci, cv, m, w, O))

WB_SIMD_BODY scatter_body(double *restrict W, const int32_t *restrict ci,
                          const double *restrict cv, int64_t m, const double *restrict z,
                          int64_t O)
{
    for (int64_t t = 0; t < m; t++) {
        double c = cv[t], *wk = W + (int64_t)ci[t] * O;
        for (int64_t j = 0; j < O; j++)
            wk[j] += c * z[j];
    }
}
WB_SIMD_KERNEL(scatter, scatter_body,
               (double *restrict W, const int32_t *restrict ci, const double *restrict cv,
                int64_t m, const double *restrict z, int64_t O),
               (W, ci, cv, m, z, O))

/* L's entry (i, j), i >= j */
static double lo(const wb_hvp_red *r, int64_t i, int64_t j) { return r->G[i + j * r->n]; }

/* out [B, O] = L1^{-1} (Pi^T Yd)[:r] (rows r.. 0): forward substitution in
 * pivot order (BLAS's, all O columns at once), Yd [n, O] in X's row order. */
static void solve_in(wb_hvp_red *r, float *out)
{
    int64_t O = r->O;
    for (int64_t p = 0; p < r->r; p++)
        memcpy(r->Wd + p * O, r->Yd + (int64_t)(r->piv[p] - 1) * O, (size_t)O * sizeof *r->Wd);
    wb_dtrsm_lower(0, r->r, O, r->G, r->n, r->Wd, O);
    for (int64_t t = 0; t < r->r * O; t++)
        out[t] = (float)r->Wd[t];
    memset(out + r->r * O, 0, (size_t)((r->B - r->r) * O) * sizeof *out);
}

/* out [B, O] = W~ = Q w for a kernel w [I, O]: X w over X's non-zeros. */
static void map_in(wb_hvp_red *r, const float *w, float *out)
{
    const bset *S = &r->S[r->cur];
    int64_t O = r->O;
    for (int64_t i = 0; i < S->n; i++) {
        double *y = r->Yd + i * O;
        memset(y, 0, (size_t)O * sizeof *y);
        WB_SIMD_CALL(gather)(y, S->ci + S->rs[i], S->cv + S->rs[i], S->rs[i + 1] - S->rs[i],
                             w, O);
    }
    solve_in(r, out);
}

/* out [B, O] = W~ = Q w from z = X w + b [n, O] (b NULL: none), when z's
 * rows are X w + b's: checked on the first and the last row with a
 * non-zero input (rows of zeros are b in any batch), against X's row
 * times w, to 1e-4 of the row's scale; else 0, and nothing written. */
static int z_in(wb_hvp_red *r, const float *z, const float *b, const float *w, float *out)
{
    const bset *S = &r->S[r->cur];
    int64_t O = r->O, first = -1, last = -1;
    for (int64_t i = 0; i < S->n; i++)
        if (S->rs[i + 1] > S->rs[i])
            last = i, first = first < 0 ? i : first;
    double *y = r->Yd;
    for (int k = 0; k < 2 && first >= 0; k++) {
        int64_t i = k ? last : first;
        double scale = 0, off = 0;
        memset(y, 0, (size_t)O * sizeof *y);
        WB_SIMD_CALL(gather)(y, S->ci + S->rs[i], S->cv + S->rs[i], S->rs[i + 1] - S->rs[i],
                             w, O);
        for (int64_t j = 0; j < O; j++) {
            double d = (double)z[i * O + j] - (b ? (double)b[j] : 0) - y[j];
            scale = fmax(scale, fabs(y[j])), off = fmax(off, fabs(d));
        }
        if (!(off <= 1e-4 * scale))
            return 0;
    }
    for (int64_t i = 0; i < S->n; i++)
        for (int64_t j = 0; j < O; j++)
            y[i * O + j] = (double)z[i * O + j] - (b ? (double)b[j] : 0);
    solve_in(r, out);
    return 1;
}

/* out [B, O] = Q X_held^T Zh, the kept vector's kernel part on this batch's
 * rows: C = X X_held^T, then C Zh. */
static void held_in(wb_hvp_red *r, float *out)
{
    const bset *S = &r->S[r->cur], *Hs = &r->S[r->held];
    int64_t O = r->O, I = r->I, m = Hs->n;
    wb_dgemm(0, 1, S->n, m, I, 1, S->Xd, I, Hs->Xd, I, 0, r->C, m);
    wb_dgemm(0, 0, S->n, O, m, 1, r->C, m, r->Zh, O, 0, r->Yd, O);
    solve_in(r, out);
}

/* Keeps the reduced vector v [Pr] as X^T Zh (and its rest): L1^T z = v's
 * kernel part (back substitution), z's rows put in X's row order. */
static void keep(wb_hvp_red *r, const float *v)
{
    int64_t O = r->O;
    double *z = r->Yd; /* [r, O] */
    for (int64_t t = 0; t < r->r * O; t++)
        z[t] = v[t];
    wb_dtrsm_lower(1, r->r, O, r->G, r->n, z, O);
    memset(r->Zh, 0, (size_t)(r->n * O) * sizeof *r->Zh);
    for (int64_t p = 0; p < r->r; p++)
        memcpy(r->Zh + (int64_t)(r->piv[p] - 1) * O, z + p * O, (size_t)O * sizeof *z);
    memcpy(r->th, v + r->B * O, (size_t)r->tail * sizeof *v);
    r->held = r->cur;
}

wb_status wb_hvp_red_vector(const wb_hvp_red *r, float *x, double *xnorm, wb_err *err)
{
    if (r->held < 0)
        return wb_err_set(err, WB_ESTATE, "reduce: no vector kept");
    const bset *S = &r->S[r->held];
    int64_t O = r->O;
    for (int64_t u = 0; u < S->nu; u++)
        memset(r->Wd + (int64_t)S->used[u] * O, 0, (size_t)O * sizeof *r->Wd);
    for (int64_t i = 0; i < S->n; i++)
        WB_SIMD_CALL(scatter)(r->Wd, S->ci + S->rs[i], S->cv + S->rs[i],
                              S->rs[i + 1] - S->rs[i], r->Zh + i * O, O);
    memset(x, 0, (size_t)(r->I * O) * sizeof *x);
    for (int64_t u = 0; u < S->nu; u++) {
        int64_t k = S->used[u];
        for (int64_t j = 0; j < O; j++)
            x[k * O + j] = (float)r->Wd[k * O + j];
    }
    memcpy(x + r->I * O, r->th, (size_t)r->tail * sizeof *x);
    double s = 0;
    wb_fv_fsumsq(x, r->P, &s);
    *xnorm = sqrt(s);
    return WB_OK;
}

wb_status wb_hvp_red_set(wb_hvp_red *r, const wb_tensor *x, const wb_tensor *y,
                         const float *const *parts, const int64_t *cnt, int nparts,
                         const float *z, wb_err *err)
{
    int64_t n = x->ndim >= 1 ? x->shape[0] : 0, B = r->B, I = r->I;
    if (n < 1 || n > B || (int64_t)wb_tensor_numel(x) != n * I ||
        (x->dtype != WB_F32 && x->dtype != WB_U8))
        return wb_err_set(err, WB_ESHAPE, "reduce: x: expected float32 or uint8 [n, ...] "
                          "with 1 <= n <= %lld rows of %lld numbers", (long long)B,
                          (long long)I);
    if (nparts != r->np || cnt[0] != I * r->O)
        return wb_err_set(err, WB_ESHAPE, "reduce: expected %d pieces of theta, the first "
                          "[%lld, %lld]", r->np, (long long)I, (long long)r->O);
    /* into the set the kept vector does not read */
    int w = r->held == r->cur ? 1 - r->cur : r->cur;
    bset *S = &r->S[w];
    int64_t nz = 0;
    r->n = 0; /* until this batch is whole */
    memset(S->used, 0, (size_t)I * sizeof *S->used);
    for (int64_t i = 0; i < n; i++) {
        S->rs[i] = nz;
        for (int64_t k = 0; k < I; k++) {
            int64_t t = i * I + k;
            double v = x->dtype == WB_U8 ? (double)wb_pixel_f32(wb_tensor_u8(x)[t])
                                         : (double)wb_tensor_f32(x)[t];
            if (!isfinite(v))
                return wb_err_set(err, WB_ENONFINITE, "reduce: x is not finite at row %lld, "
                                  "column %lld", (long long)i + 1, (long long)k + 1);
            S->Xd[t] = v;
            if (v != 0)
                S->ci[nz] = (int32_t)k, S->cv[nz++] = v, S->used[k] = 1;
        }
    }
    S->rs[n] = nz, S->nu = 0, S->n = n, r->cur = w;
    for (int64_t k = 0; k < I; k++)
        if (S->used[k])
            S->used[S->nu++] = (int32_t)k;
    /* X X^T (dense: BLAS's blocked product beats gathering the non-zeros),
     * its lower triangle: what dpstrf ("L") reads */
    wb_dsyrk_lower(n, I, S->Xd, I, r->G, n);
    int nn = (int)n, rank = 0, info = 0;
    double tol = -1; /* LAPACK's: n eps max(diag) */
    dpstrf_("L", &nn, r->G, &nn, r->piv, &rank, &tol, r->lw, &info, 1);
    if (info < 0)
        return wb_err_set(err, WB_EINVAL, "reduce: dpstrf argument %d", -info);
    r->n = n, r->r = rank;
    /* X~ [n, B] = Pi L, columns r.. 0 */
    memset(r->xr, 0, (size_t)(n * B) * sizeof *r->xr);
    for (int64_t p = 0; p < n; p++)
        for (int64_t k = 0; k < rank && k <= p; k++)
            r->xr[(int64_t)(r->piv[p] - 1) * B + k] = (float)lo(r, p, k);
    if (!r->xt || r->xt->shape[0] != n) {
        wb_tensor *rows = wb_tensor_rows(r->xa, 0, n, err);
        if (!rows)
            return err->code;
        wb_tensor_free(r->xt);
        r->xt = rows;
    }
    if (wb_hvp_set_data(r->h, r->xt, y, err))
        return err->code;
    if (!z || !z_in(r, z, r->d->use_bias ? parts[1] : NULL, parts[0], r->wr))
        map_in(r, parts[0], r->wr);
    r->pp[0] = r->wr, r->pn[0] = B * r->O;
    for (int i = 1; i < nparts; i++)
        r->pp[i] = parts[i], r->pn[i] = cnt[i];
    wb_hvp_set_theta_f32(r->h, r->pp, r->pn, nparts);
    return WB_OK;
}

wb_status wb_hvp_red_top(wb_hvp_red *r, int max_iter, double tol, double gmix,
                         const float *x, int kept, wb_rng *rng, double *value,
                         double *resid, int *steps, wb_err *err)
{
    if (r->n < 1)
        return wb_err_set(err, WB_ESTATE, "reduce: no batch set");
    int64_t kr = r->B * r->O, kf = r->I * r->O;
    double xn = 0;
    int have_x = x || (kept && r->held >= 0);
    if (x) { /* the start's part off X's rows dropped */
        map_in(r, x, r->vr);
        memcpy(r->vr + kr, x + kf, (size_t)r->tail * sizeof *x);
    } else if (have_x) {
        held_in(r, r->vr);
        memcpy(r->vr + kr, r->th, (size_t)r->tail * sizeof *r->th);
    }
    if (have_x) {
        wb_fv_fsumsq(r->vr, r->Pr, &xn);
        have_x = xn > 0 && isfinite(xn);
        xn = sqrt(xn);
    }
    r->held = -1; /* a failure below leaves no vector */
    wb_status st = wb_hvp_top_f32(r->h, max_iter, tol, gmix, NULL, NULL, 0, r->vr, &xn,
                                  have_x, rng, value, resid, steps, err);
    if (st)
        return st;
    keep(r, r->vr);
    /* off X's rows H is 2 l2 (the first Dense's L2) times the identity:
     * an exact eigenvalue there (residual 0; the residual of the reduced
     * pair, or its NaN at rank 0, was reported beside it) */
    if (r->r < r->I && 2 * r->l2 > *value)
        *value = 2 * r->l2, *resid = 0;
    return WB_OK;
}
