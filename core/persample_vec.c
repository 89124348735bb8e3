/* persample_vec.c - the instruments' sums over parameter vectors: squared
 * norms and distances, Cockpit's GSNR (persample.h
 * "Vector helpers"), in double over float data.
 *
 * Why vectorised by hand: the compiler does not vectorise a reduction in
 * double without -ffast-math, and a loop of four scalar chains ran at about
 * one entry per cycle; four such sums over the baseline's 100k parameters
 * cost more than its whole training step (issue 16). Here each sum keeps
 * four vectors of eight double partial sums (explicit vector types, so the
 * baseline, AVX2 and AVX-512 copies of core/simd.h do the same operations
 * in the same order and give the same bits), folded in a fixed order.
 */
#include <string.h>

#include "persample.h"
#include "persample_impl.h"

#include "param_sums.h"
#include "simd.h"

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64), aligned(4)));

#define LOAD(p) __builtin_convertvector(*(const v8f *)(p), v8d)

static inline __attribute__((always_inline)) double fold(v8d s0, v8d s1, v8d s2, v8d s3)
{
    v8d s = (s0 + s1) + (s2 + s3);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* *out = sum (a - c b)^2 (b NULL: sum a^2). */
WB_SIMD_BODY sqdist_body(double *out, const float *a, const float *b, double c, int64_t n)
{
    v8d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t k = 0;
    if (b) {
        for (; k + 32 <= n; k += 32) {
            v8d d0 = LOAD(a + k) - c * LOAD(b + k), d1 = LOAD(a + k + 8) - c * LOAD(b + k + 8);
            v8d d2 = LOAD(a + k + 16) - c * LOAD(b + k + 16);
            v8d d3 = LOAD(a + k + 24) - c * LOAD(b + k + 24);
            s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
        }
    } else {
        for (; k + 32 <= n; k += 32) {
            v8d d0 = LOAD(a + k), d1 = LOAD(a + k + 8), d2 = LOAD(a + k + 16);
            v8d d3 = LOAD(a + k + 24);
            s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
        }
    }
    double s = fold(s0, s1, s2, s3);
    for (; k < n; k++) {
        double d = (double)a[k] - (b ? c * b[k] : 0.0);
        s += d * d;
    }
    *out = s;
}
WB_SIMD_KERNEL(sqdist, sqdist_body,
               (double *out, const float *a, const float *b, double c, int64_t n),
               (out, a, b, c, n))

double wb_persample_sqdist(const float *a, const float *b, int64_t n)
{
    double s;
    WB_SIMD_CALL(sqdist)(&s, a, b, 1.0, n);
    return s;
}

/* *out = sum (r + b) d (b NULL: sum r d); two chains of eight lanes (a
 * scalar double chain was a cycle or four an entry: as long as the walk
 * that made r, at batch 128 and 128 outputs). */
WB_SIMD_BODY rowdot_body(double *out, const float *r, const float *b, const float *d,
                         int64_t n)
{
    v8d s0 = {0}, s1 = {0}, z = {0};
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        v8d r0 = LOAD(r + k), r1 = LOAD(r + k + 8);
        if (b)
            r0 += LOAD(b + k), r1 += LOAD(b + k + 8);
        s0 += r0 * LOAD(d + k), s1 += r1 * LOAD(d + k + 8);
    }
    double s = fold(s0, s1, z, z);
    for (; k < n; k++)
        s += ((double)r[k] + (b ? (double)b[k] : 0.0)) * d[k];
    *out = s;
}
WB_SIMD_KERNEL(rowdot, rowdot_body,
               (double *out, const float *r, const float *b, const float *d, int64_t n),
               (out, r, b, d, n))

double wb_persample_rowdot(const float *r, const float *b, const float *d, int64_t n)
{
    double s;
    WB_SIMD_CALL(rowdot)(&s, r, b, d, n);
    return s;
}

/* *out = sum (S / B) / (D + eps), as (sum S / (D + eps)) / B: one division
 * an entry, not two (a double division is a quarter of tic's cost). S + D
 * 0 is S for a finite D (S >= 0, so never -0) and NaN for an inf one: a
 * float32 diagonal that overflowed (inputs past about 1e19, a run
 * exploding) made a term S / inf a silent 0 (ticterms alike). A multiply
 * and an add beside each division, which bounds the loop. */
WB_SIMD_BODY ticd_body(double *out, const float *S, const float *D, int64_t n, double B,
                       double eps)
{
    v8d s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int64_t k = 0;
    for (; k + 32 <= n; k += 32) {
        v8d r[4];
        for (int q = 0; q < 4; q++)
            r[q] = (LOAD(S + k + 8 * q) + LOAD(D + k + 8 * q) * 0.0) /
                   (LOAD(D + k + 8 * q) + eps);
        s0 += r[0], s1 += r[1], s2 += r[2], s3 += r[3];
    }
    double s = fold(s0, s1, s2, s3);
    for (; k < n; k++)
        s += ((double)S[k] + (double)D[k] * 0.0) / ((double)D[k] + eps);
    *out = s / B;
}
WB_SIMD_KERNEL(ticd, ticd_body,
               (double *out, const float *S, const float *D, int64_t n, double B, double eps),
               (out, S, D, n, B, eps))

double wb_persample_tic_diag(const float *S, const float *D, int64_t n, double B, double eps)
{
    double s;
    WB_SIMD_CALL(ticd)(&s, S, D, n, B, eps);
    return s;
}

/* {---- TICDiag without its [I, O] outputs (persample.h wb_persample_tic) ---- */

/* A sparse layer's kernel, input by input (k, a column of a), over the nu
 * inputs some row has (used): S_k = sum_i a_ik^2 d2s_i and D_k = sum_i
 * a_ik^2 d2_i, each entry summed from 0 over the column's rows in order
 * (a2t_sparse's sums in its order: the same bits), into SD [nu, nch, 64]:
 * for chunk c, S_k at outputs 32c .. 32c + 32, then D_k at the same. R
 * [nch, B, 64] holds the rows' d2s and d2 so, a chunk's block contiguous
 * (32 KB at batch 128: in L1; the rows' whole [B, 2 O] was in L2, and its
 * loads bound the walk), and two inputs at a time give eight independent
 * sums (four were bound by the adds' latency). Elementwise: every SIMD copy
 * gives the same bits. */
#define TIC_COL(acc, q, e)                                                              \
    for (; q < e; q++) {                                                                \
        const v16 *r_ = (const v16 *)(Rc + (int64_t)crow[q] * 64);                      \
        float v_ = cv2[q];                                                              \
        acc[0] += v_ * r_[0], acc[1] += v_ * r_[1], acc[2] += v_ * r_[2],               \
            acc[3] += v_ * r_[3];                                                       \
    }
WB_SIMD_BODY ticacc_body(float *restrict SD, const float *restrict R, const int64_t *cp,
                         const int32_t *crow, const float *cv2, const int32_t *used,
                         int64_t nu, int64_t B, int64_t nch)
{
    for (int64_t c = 0; c < nch; c++) {
        const float *Rc = R + c * B * 64;
        int64_t u = 0;
        for (; u + 2 <= nu; u += 2) {
            int64_t q1 = cp[used[u]], e1 = cp[used[u] + 1];
            int64_t q2 = cp[used[u + 1]], e2 = cp[used[u + 1] + 1];
            v16 a[4] = {{0}}, b[4] = {{0}};
            for (; q1 < e1 && q2 < e2; q1++, q2++) {
                const v16 *r1 = (const v16 *)(Rc + (int64_t)crow[q1] * 64);
                const v16 *r2 = (const v16 *)(Rc + (int64_t)crow[q2] * 64);
                float v1 = cv2[q1], v2 = cv2[q2];
#pragma GCC unroll 4
                for (int h = 0; h < 4; h++)
                    a[h] += v1 * r1[h], b[h] += v2 * r2[h];
            }
            TIC_COL(a, q1, e1)
            TIC_COL(b, q2, e2)
            memcpy(SD + (u * nch + c) * 64, a, sizeof a);
            memcpy(SD + ((u + 1) * nch + c) * 64, b, sizeof b);
        }
        for (; u < nu; u++) {
            int64_t q = cp[used[u]], e = cp[used[u] + 1];
            v16 a[4] = {{0}};
            TIC_COL(a, q, e)
            memcpy(SD + (u * nch + c) * 64, a, sizeof a);
        }
    }
}
WB_SIMD_KERNEL(ticacc, ticacc_body,
               (float *restrict SD, const float *restrict R, const int64_t *cp,
                const int32_t *crow, const float *cv2, const int32_t *used, int64_t nu,
                int64_t B, int64_t nch),
               (SD, R, cp, crow, cv2, used, nu, B, nch))

/* The sum of S / (D + w + eps) over SD's inputs and outputs j < O, w L2's
 * 2 l2 added to D as a float after the product (hess_diag's; + 0 is no
 * change to D >= 0): the inputs in order, j in order, in four chains of
 * eight doubles by (j / 8) mod 4, ticd's over the whole [I, O] when 32
 * divides O (an input no row has adds ticd's exact 0s there: the same
 * bits). The chains go on from and back to st [TIC_ST] (four v8d, then the
 * scalar tail), so that a layer's inputs can come a block at a time;
 * tic_fold gives the sum. (The trace is wb_persample_layer_trace's.) */
#define TIC_ST 33
WB_SIMD_BODY ticterms_body(double *restrict st8, const float *restrict SD, int64_t nu,
                           int64_t nch, int64_t O, float w, double eps)
{
    v8d s[4];
    memcpy(s, st8, sizeof s);
    double st = st8[32];
    for (int64_t u = 0; u < nu; u++) {
        const float *col = SD + u * nch * 64;
        for (int64_t c = 0; c < nch; c++) {
            const float *S = col + c * 64, *D = S + 32;
            int64_t m = O - 32 * c < 32 ? O - 32 * c : 32, j = 0; /* outputs in the chunk */
            for (; j + 8 <= m; j += 8) {
                v8d d = __builtin_convertvector(*(const v8f *)(D + j) + w, v8d);
                s[j / 8] += (LOAD(S + j) + d * 0.0) / (d + eps);
            }
            for (; j < m; j++) {
                float dj = D[j] + w;
                st += ((double)S[j] + (double)dj * 0.0) / ((double)dj + eps);
            }
        }
    }
    memcpy(st8, s, sizeof s);
    st8[32] = st;
}
WB_SIMD_KERNEL(ticterms, ticterms_body,
               (double *restrict st8, const float *restrict SD, int64_t nu, int64_t nch,
                int64_t O, float w, double eps),
               (st8, SD, nu, nch, O, w, eps))

/* the sum of the chains in st8 (ticterms) */
static double tic_fold(const double *st8)
{
    v8d s[4];
    memcpy(s, st8, sizeof s);
    return fold(s[0], s[1], s[2], s[3]) + st8[32];
}

#define TIC_BLOCK 64

typedef struct tic_ctx {
    const wb_dense *const *layers;
    const float *const *inputs;
    const wb_persample_csr *const *sps;
    int64_t B, W, dio, nnz;
    int n;
    float s2; /* scale^2, sum_sq's factor */
    double eps, trace;
    float *base; /* the walk's extra scratch, carved at the first layer */
    double *tw, *tb; /* [n]: each layer's kernel's and bias's sums */
    double *cs; /* [2W]: the bias sums */
    float *R, *SD, *sb, *db, *sw, *dw, *d2s, *cv2;
    int64_t *cp, Wp; /* Wp: W rounded up to 32 */
    int32_t *crow, *used;
} tic_ctx;

/* n rounded up to even: the next carve of floats stays 8-byte aligned */
static size_t even(size_t n) { return (n + 1) & ~(size_t)1; }

/* The floats of scratch tic needs after the walk's (tic_carve's layout):
 * tw, tb, cs [n, n, 2W doubles], cp [W + 2 int64], R [B, 2Wp], SD
 * [TIC_BLOCK, 2Wp], sb, db [W each], sw, dw [dio each], d2s [B, W], used [W int32],
 * crow, cv2 [nnz each]. */
static size_t tic_floats(const tic_ctx *x, int n)
{
    return (size_t)(4 * n + 4 * x->W + 2 * (x->W + 2)) + (size_t)(2 * x->B * x->Wp) +
           (size_t)(2 * TIC_BLOCK * x->Wp) + (size_t)(2 * x->W) + (size_t)(2 * x->dio) +
           even((size_t)(x->B * x->W)) + even((size_t)x->W) + (size_t)(2 * x->nnz);
}

static void tic_carve(tic_ctx *x, int n)
{
    float *f = x->base; /* 8-byte aligned (the walk's carves are even) */
    x->tw = (double *)f, x->tb = x->tw + n, x->cs = x->tb + n, f += 4 * n + 4 * x->W;
    x->cp = (int64_t *)f, f += 2 * (x->W + 2);
    x->R = f, f += 2 * x->B * x->Wp;
    x->SD = f, f += 2 * TIC_BLOCK * x->Wp;
    x->sb = f, x->db = f + x->W, f += 2 * x->W;
    x->sw = f, x->dw = f + x->dio, f += 2 * x->dio;
    x->d2s = f, f += even((size_t)(x->B * x->W));
    x->used = (int32_t *)f, f += even((size_t)x->W);
    x->crow = (int32_t *)f, x->cv2 = f + x->nnz;
}

/* cp [I + 2], crow, cv2: sp's non-zeros by column (input), each column's
 * rows in order, squared (as a2t_sparse squares them); column k's are
 * cp[k] .. cp[k + 1]. */
static void by_column(tic_ctx *x, const wb_persample_csr *sp, int64_t B, int64_t I)
{
    int64_t *cp = x->cp;
    for (int64_t k = 0; k < I + 2; k++)
        cp[k] = 0;
    for (int64_t t = 0; t < sp->row[B]; t++)
        cp[sp->idx[t] + 2]++;
    for (int64_t k = 2; k < I + 2; k++)
        cp[k] += cp[k - 1];
    for (int64_t i = 0; i < B; i++)
        for (int64_t t = sp->row[i]; t < sp->row[i + 1]; t++) {
            int64_t q = cp[sp->idx[t] + 1]++;
            x->crow[q] = (int32_t)i, x->cv2[q] = sp->val[t] * sp->val[t];
        }
}

static wb_status tic_layer(void *ctx, int l, const float *d2, float *a2, wb_err *err)
{
    (void)err;
    tic_ctx *x = ctx;
    if (!x->tw)
        tic_carve(x, x->n);
    const wb_dense *d = x->layers[l];
    const wb_persample_csr *sp = x->sps[l];
    int64_t I = d->n_in, O = d->n_out, B = x->B;
    const float *dz = wb_tensor_f32(d->dz);
    float *d2s = x->d2s, w = d->l2 > 0 ? (float)(2.0 * d->l2) : 0.0f;
    for (int64_t k = 0; k < B * O; k++) /* sum_sq's: the same expression */
        d2s[k] = x->s2 * dz[k] * dz[k];
    double rb = (double)B;
    if (sp) {
        int64_t nch = (O + 31) / 32, nu = 0; /* R [nch, B, 64] (ticacc) */
        for (int64_t c = 0; c < nch; c++)
            for (int64_t i = 0; i < B; i++) {
                float *r = x->R + (c * B + i) * 64;
                for (int64_t j = 0; j < 32; j++) {
                    int64_t o = 32 * c + j;
                    r[j] = o < O ? d2s[i * O + o] : 0.0f, r[32 + j] = o < O ? d2[i * O + o] : 0.0f;
                }
            }
        by_column(x, sp, B, I);
        for (int64_t k = 0; k < I; k++)
            if (x->cp[k] < x->cp[k + 1])
                x->used[nu++] = (int32_t)k;
        /* TIC_BLOCK inputs at a time: their SD (64 KB at 128 outputs) stays
         * in cache between the passes, and the rows' R chunk in L1 for them */
        double st8[TIC_ST] = {0};
        for (int64_t u0 = 0; u0 < nu; u0 += TIC_BLOCK) {
            int64_t m = nu - u0 < TIC_BLOCK ? nu - u0 : TIC_BLOCK;
            WB_SIMD_CALL(ticacc)(x->SD, x->R, x->cp, x->crow, x->cv2, x->used + u0, m, B,
                                 nch);
            WB_SIMD_CALL(ticterms)(st8, x->SD, m, nch, O, w, x->eps);
        }
        x->tw[l] = tic_fold(st8) / rb;
    } else {
        wb_persample_a2t_d2(x->sw, x->inputs[l], NULL, d2s, B, I, O, a2);
        wb_persample_a2t_d2(x->dw, x->inputs[l], NULL, d2, B, I, O, a2);
        for (int64_t k = 0; w != 0.0f && k < I * O; k++)
            x->dw[k] += w;
        x->tw[l] = wb_persample_tic_diag(x->sw, x->dw, I * O, rb, x->eps);
    }
    /* the trace as the trace alone sums it (not the float diagonal's sum:
     * hess_trace moved in its ninth digit when tic was measured too) */
    x->trace += wb_persample_layer_trace(d, x->inputs[l], sp, d2, B);
    x->tb[l] = 0;
    if (!d->use_bias)
        return WB_OK;
    /* sum_sq's and hess_diag's bias sums, each entry's over the rows in
     * order, a row at a time (down the columns it was a chain of latency) */
    double *cs = x->cs, *cd = cs + O;
    for (int64_t j = 0; j < O; j++)
        cs[j] = 0, cd[j] = 0;
    for (int64_t i = 0; i < B; i++)
        for (int64_t j = 0; j < O; j++)
            cs[j] += d2s[i * O + j], cd[j] += d2[i * O + j];
    for (int64_t j = 0; j < O; j++)
        x->sb[j] = (float)cs[j], x->db[j] = (float)cd[j];
    x->tb[l] = wb_persample_tic_diag(x->sb, x->db, O, rb, x->eps);
    return WB_OK;
}

wb_status wb_persample_tic(wb_persample *p, int n, const wb_dense *const *layers,
                           const float *const *inputs, const wb_persample_csr *const *sps,
                           const float *const *kernels, int64_t B, double scale, double eps,
                           double *tic, double *trace, wb_err *err)
{
    tic_ctx x = {.layers = layers, .inputs = inputs, .sps = sps, .B = B, .n = n,
                 .s2 = (float)(scale * scale), .eps = eps};
    for (int l = 0; l < n; l++) {
        const wb_dense *d = layers[l];
        if (d->dz_n != B || !d->dz)
            return wb_err_set(err, WB_ESTATE, "layer %d kept no dL/dz of %lld rows (keep_dz "
                              "before the backward)", l + 1, (long long)B);
        x.W = d->n_in > x.W ? d->n_in : x.W;
        x.W = d->n_out > x.W ? d->n_out : x.W;
        x.Wp = (x.W + 31) / 32 * 32;
        if (sps[l]) /* room for every entry: the scratch then grows at the first
                     * batch of a size, not whenever a batch has more non-zeros */
            x.nnz = B * d->n_in > x.nnz ? B * d->n_in : x.nnz;
        else
            x.dio = d->n_in * d->n_out > x.dio ? d->n_in * d->n_out : x.dio;
    }
    *tic = 0, *trace = 0;
    wb_status st = wb_persample_hess_walk(p, n, layers, kernels, B, tic_floats(&x, n),
                                          &x.base, tic_layer, &x, err);
    if (st)
        return st;
    /* the order of the fit's sum of wb_persample_tic_diag over its tensors */
    for (int l = 0; l < n; l++) {
        *tic += x.tw[l];
        if (layers[l]->use_bias)
            *tic += x.tb[l];
    }
    *trace = x.trace;
    return WB_OK;
}

/* }---- */

/* wb_persample_params in one pass, each of theta_t, theta0 and dir present
 * or not as a constant of the copy (the loop tests no pointer); without
 * theta_t it is theta + back g. The sums are param_sums.h's, which the
 * optimizer's watched update (optim_watch.c) walks a block at a time: the
 * same bits. */
WB_SIMD_BODY params_body(double *restrict s, const float *restrict g,
                         const float *restrict theta, const float *restrict theta_t,
                         const float *restrict theta0, float *restrict dir, double c,
                         double back, int64_t n, int hast, int has0, int hasdir)
{
    const int need = WB_PSUM_G | WB_PSUM_M | WB_PSUM_U | (has0 ? WB_PSUM_D : 0);
    wb_psums a = {{{0}}, {{0}}, {{0}}, {{0}}};
    int64_t k = wb_psums_add(&a, g, theta, theta_t, theta0, dir, c, back, n, hast, need,
                             hasdir);
    wb_psums_end(&a, s, g, theta, theta_t, theta0, dir, c, back, k, n, hast, need, hasdir);
}
#define PARAMS_PARAMS                                                              \
    (double *restrict s, const float *restrict g, const float *restrict theta,     \
     const float *restrict theta_t, const float *restrict theta0, float *restrict dir, \
     double c, double back, int64_t n)
#define PARAMS_KERNEL(name, t, z, d) \
    WB_SIMD_KERNEL(name, params_body, PARAMS_PARAMS, \
                   (s, g, theta, theta_t, theta0, dir, c, back, n, t, z, d))
PARAMS_KERNEL(params100, 1, 0, 0)
PARAMS_KERNEL(params101, 1, 0, 1)
PARAMS_KERNEL(params110, 1, 1, 0)
PARAMS_KERNEL(params111, 1, 1, 1)
PARAMS_KERNEL(params000, 0, 0, 0)
PARAMS_KERNEL(params010, 0, 1, 0)

/* Plain SGD with theta0 (c = 0, no theta_t): only sum g^2 and the
 * distance are read from the data, the rest follows from them. Blocks of
 * 64 entries are summed in float (eight-lane vectors, four terms per
 * lane: a relative rounding of about 1e-7, far below what the statistics
 * resolve) and the blocks in double: converting every entry to double cost
 * as much as the training step's whole update. */
#define LOADF(p) (*(const v8f *)(p))
#define WIDEN(v) __builtin_convertvector(v, v8d)

WB_SIMD_BODY sgd_dist_body(double *restrict s, const float *restrict g,
                           const float *restrict theta, const float *restrict theta0,
                           double back, int64_t n)
{
    v8d g2 = {0}, d2 = {0};
    float b = (float)back;
    int64_t k = 0;
    for (; k + 64 <= n; k += 64) {
        v8f ga = {0}, gb = {0}, da = {0}, db = {0};
        for (int q = 0; q < 64; q += 16) {
            v8f g0 = LOADF(g + k + q), g1 = LOADF(g + k + q + 8);
            v8f d0 = LOADF(theta + k + q) + b * g0 - LOADF(theta0 + k + q);
            v8f d1 = LOADF(theta + k + q + 8) + b * g1 - LOADF(theta0 + k + q + 8);
            ga += g0 * g0, gb += g1 * g1, da += d0 * d0, db += d1 * d1;
        }
        g2 += WIDEN(ga) + WIDEN(gb), d2 += WIDEN(da) + WIDEN(db);
    }
    v8d z = {0};
    s[0] = fold(g2, z, z, z), s[2] = fold(d2, z, z, z);
    for (; k < n; k++) {
        float gk = g[k], d = theta[k] + b * gk - theta0[k];
        s[0] += (double)(gk * gk), s[2] += (double)(d * d);
    }
}
WB_SIMD_KERNEL(sgd_dist, sgd_dist_body,
               (double *restrict s, const float *restrict g, const float *restrict theta,
                const float *restrict theta0, double back, int64_t n),
               (s, g, theta, theta0, back, n))

void wb_persample_params(double s[4], const float *g, const float *theta,
                         const float *theta_t, const float *theta0, float *dir, double c,
                         double back, int64_t n)
{
    if (!theta_t && c == 0.0) { /* plain SGD: all from sum g^2 and the distance */
        if (theta0)
            WB_SIMD_CALL(sgd_dist)(s, g, theta, theta0, back, n);
        else
            WB_SIMD_CALL(sqdist)(&s[0], g, NULL, 1.0, n), s[2] = 0.0;
        s[1] = s[0], s[3] = back * back * s[0];
    } else if (!theta_t) /* dir needs theta_t: without it, none is written */
        (theta0 ? WB_SIMD_CALL(params010) : WB_SIMD_CALL(params000))(
            s, g, theta, theta_t, theta0, NULL, c, back, n);
    else if (theta0)
        (dir ? WB_SIMD_CALL(params111) : WB_SIMD_CALL(params110))(s, g, theta, theta_t, theta0,
                                                                  dir, c, back, n);
    else
        (dir ? WB_SIMD_CALL(params101) : WB_SIMD_CALL(params100))(s, g, theta, theta_t, theta0,
                                                                  dir, c, back, n);
}
