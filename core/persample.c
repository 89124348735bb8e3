/* persample.c - per-sample gradient statistics of Dense layers. See
 * persample.h for the identities; legend there (B, I, O, s).
 *
 * The products go through float GEMMs (as the layer's own backward does);
 * sums over rows and layers are kept in double by the callers' buffers.
 */
#include "persample.h"
#include "persample_impl.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "blas.h"
#include "simd.h"

struct wb_persample {
    float *buf; /* scratch, cap floats */
    size_t cap;
    double *dbuf; /* scratch, dcap doubles (also persample_hist.c's) */
    size_t dcap;
    double *edges; /* [ecap] persample_hist.c's bin edges for elo, ehi, enb */
    int ecap, enb;
    double elo, ehi;
};

wb_persample *wb_persample_new(wb_err *err)
{
    wb_persample *p = wb_calloc(1, sizeof *p);
    if (!p)
        wb_err_set(err, WB_ENOMEM, "out of memory allocating per-sample scratch");
    return p;
}

void wb_persample_free(wb_persample *p)
{
    if (!p)
        return;
    wb_free(p->buf);
    wb_free(p->dbuf);
    wb_free(p->edges);
    wb_free(p);
}

/* Scratch of at least n floats (grown once; the old contents are dropped). */
static float *scratch(wb_persample *p, size_t n, wb_err *err)
{
    if (n <= p->cap)
        return p->buf;
    float *b = wb_malloc(n * sizeof *b);
    if (!b)
        return wb_err_set(err, WB_ENOMEM, "out of memory for %zu floats of per-sample "
                          "scratch", n), NULL;
    wb_free(p->buf);
    p->buf = b;
    p->cap = n;
    return b;
}

/* Doubles scratch of at least n (grown once; the old contents dropped). */
static double *dscratch(wb_persample *p, size_t n, wb_err *err)
{
    if (n <= p->dcap)
        return p->dbuf;
    double *b = wb_malloc(n * sizeof *b);
    if (!b)
        return wb_err_set(err, WB_ENOMEM, "out of memory for %zu doubles of per-sample "
                          "scratch", n), NULL;
    wb_free(p->dbuf);
    p->dbuf = b;
    p->dcap = n;
    return b;
}

/* f rounded up to a 64-byte boundary (f has 15 floats to spare), so that
 * a padded row of 16 floats is one cache line, not parts of two */
static float *line_aligned(float *f)
{
    return f ? (float *)(((uintptr_t)f + 63) & ~(uintptr_t)63) : NULL;
}

double *wb_persample_dscratch(wb_persample *p, size_t n, wb_err *err)
{
    return dscratch(p, n, err);
}

double *wb_persample_edges(wb_persample *p, int nbins, double lo, double hi, wb_err *err)
{
    /* the same bins (lo and hi bit for bit: -0 is not 0 to every edge's
     * arithmetic) keep their edges: the fit instruments histogram every
     * step over the same bins */
    if (p->edges && p->enb == nbins && !memcmp(&p->elo, &lo, sizeof lo) &&
        !memcmp(&p->ehi, &hi, sizeof hi))
        return p->edges;
    if (nbins + 1 > p->ecap) {
        double *e = wb_malloc((size_t)(nbins + 1) * sizeof *e);
        if (!e)
            return wb_err_set(err, WB_ENOMEM, "out of memory for %d bin edges", nbins + 1),
                   NULL;
        wb_free(p->edges);
        p->edges = e, p->ecap = nbins + 1;
    }
    for (int b = 0; b <= nbins; b++)
        p->edges[b] = NAN;
    p->enb = nbins, p->elo = lo, p->ehi = hi;
    return p->edges;
}

/* ||a_i||^2 from the dense row or its non-zeros. */
static double row_sumsq(const float *a, const wb_persample_csr *sp, int64_t i, int64_t I)
{
    if (!sp)
        return wb_persample_sqdist(a + i * I, NULL, I);
    return wb_persample_sqdist(sp->val + sp->row[i], NULL, sp->row[i + 1] - sp->row[i]);
}

void wb_persample_norms(double *sq, const float *a, const wb_persample_csr *sp,
                        const float *dz, int64_t B, int64_t I, int64_t O, int bias,
                        double scale)
{
    for (int64_t i = 0; i < B; i++)
        sq[i] += (row_sumsq(a, sp, i, I) + (bias ? 1.0 : 0.0)) * scale * scale *
                 wb_persample_sqdist(dz + i * O, NULL, O);
}

wb_status wb_persample_gram(wb_persample *p, double *gram, const float *a,
                            const float *dz, int64_t B, int64_t I, int64_t O,
                            int bias, double scale, wb_err *err)
{
    float *ga = scratch(p, (size_t)(2 * B * B), err);
    if (!ga)
        return err ? err->code : WB_ENOMEM;
    float *gd = ga + B * B;
    wb_sgemm(0, 1, B, B, I, 1.0f, a, I, a, I, 0.0f, ga, B);   /* a_i . a_j */
    wb_sgemm(0, 1, B, B, O, 1.0f, dz, O, dz, O, 0.0f, gd, B); /* dz_i . dz_j */
    double b = bias ? 1.0 : 0.0, s2 = scale * scale;
    for (int64_t k = 0; k < B * B; k++)
        gram[k] += ((double)ga[k] + b) * s2 * gd[k];
    return WB_OK;
}

/* out [I, O] += sum_i (a_ik^2) d2_i over the non-zeros of a: sum_sq's and the
 * Hessian diagonal's product. Elementwise along a row of O outputs, so every
 * SIMD copy gives the same bits; in the AVX-512 copy 16 outputs a vector (the
 * baseline's 4 made it most of tic's cost at batch 128). */
WB_SIMD_BODY a2t_sparse_body(float *restrict out, const wb_persample_csr *sp,
                             const float *restrict d2, int64_t B, int64_t O)
{
    for (int64_t i = 0; i < B; i++) {
        const float *dr = d2 + i * O;
        for (int64_t t = sp->row[i]; t < sp->row[i + 1]; t++) {
            float v2 = sp->val[t] * sp->val[t], *o = out + (int64_t)sp->idx[t] * O;
            for (int64_t j = 0; j < O; j++)
                o[j] += v2 * dr[j];
        }
    }
}
WB_SIMD_KERNEL(a2t_sparse, a2t_sparse_body,
               (float *restrict out, const wb_persample_csr *sp, const float *restrict d2,
                int64_t B, int64_t O),
               (out, sp, d2, B, O))

/* out [I, O] = (a (.) a)^T d2 for d2 [B, O]: from the non-zeros, row by
 * row into out's rows, or one GEMM with a2 [B, I] scratch. */
void wb_persample_a2t_d2(float *out, const float *a, const wb_persample_csr *sp,
                         const float *d2, int64_t B, int64_t I, int64_t O, float *a2)
{
    if (!sp) {
        for (int64_t k = 0; k < B * I; k++)
            a2[k] = a[k] * a[k];
        wb_sgemm(1, 0, I, O, B, 1.0f, a2, I, d2, O, 0.0f, out, O);
        return;
    }
    memset(out, 0, (size_t)(I * O) * sizeof *out);
    WB_SIMD_CALL(a2t_sparse)(out, sp, d2, B, O);
}

/* out [I, O] = a^T dz for dz [B, O]: from the non-zeros, or one GEMM. */
static void at_d(float *out, const float *a, const wb_persample_csr *sp, const float *dz,
                 int64_t B, int64_t I, int64_t O)
{
    if (!sp) {
        wb_sgemm(1, 0, I, O, B, 1.0f, a, I, dz, O, 0.0f, out, O);
        return;
    }
    memset(out, 0, (size_t)(I * O) * sizeof *out);
    for (int64_t i = 0; i < B; i++)
        for (int64_t t = sp->row[i]; t < sp->row[i + 1]; t++) {
            float v = sp->val[t], *o = out + (int64_t)sp->idx[t] * O;
            for (int64_t j = 0; j < O; j++)
                o[j] += v * dz[i * O + j];
        }
}

/* One entry's GSNR term from its B per-sample gradients g_i = c x_i y_i
 * (stride sx, sy; x NULL: 1), mean and variance in double. */
static double exact_term(const float *x, int64_t sx, const float *y, int64_t sy, int64_t B,
                         double c, double eps)
{
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < B; i++) {
        double g = c * (x ? x[i * sx] : 1.0f) * y[i * sy];
        s1 += g, s2 += g * g;
    }
    double m = s1 / (double)B, v = s2 / (double)B - m * m;
    return m * m / ((v < 0 ? 0.0 : v) + eps);
}

/* The term of an entry with mean m and second moment q = sum g_i^2 / B
 * (float32 sums), or exact_term's where the variance q - m^2 is under a
 * tenth of q: there the sums' rounding (about 1e-7 q) is over 1e-6 of it;
 * and where a float32 sum overflowed (an entry past about 1.8e19, a run
 * exploding: q or m inf, or NaN from inf - inf or inf * 0), where m^2 /
 * (inf + eps) was a silent 0. exact_term's doubles hold any product of two
 * floats squared. The negated tests take that path for a NaN too. */
#define GSNR_TERM(m, q, exact)                                                    \
    do {                                                                          \
        double v_ = (q) - (m) * (m);                                              \
        total += !(v_ >= 0.1 * (q)) || !((q) < HUGE_VAL) ? (exact)                \
                                                          : (m) * (m) / (v_ + eps); \
    } while (0)

wb_status wb_persample_gsnr_layer(wb_persample *p, double *sum, const float *a,
                                  const wb_persample_csr *sp, const float *dz, int64_t B,
                                  int64_t I, int64_t O, int bias, double scale, double eps,
                                  wb_err *err)
{
    float *sq = scratch(p, (size_t)(2 * I * O + B * O + (sp ? 0 : B * I)), err);
    if (!sq)
        return err ? err->code : WB_ENOMEM;
    float *mg = sq + I * O, *d2 = mg + I * O;
    float s2 = (float)(scale * scale);
    for (int64_t k = 0; k < B * O; k++)
        d2[k] = s2 * dz[k] * dz[k];
    wb_persample_a2t_d2(sq, a, sp, d2, B, I, O, d2 + B * O);
    at_d(mg, a, sp, dz, B, I, O);
    double total = 0, rb = 1.0 / (double)B;
    for (int64_t k = 0; k < I; k++)
        for (int64_t j = 0; j < O; j++) {
            double m = scale * rb * mg[k * O + j], q = rb * sq[k * O + j];
            GSNR_TERM(m, q, exact_term(a + k, I, dz + j, O, B, scale, eps));
        }
    for (int64_t j = 0; bias && j < O; j++) {
        double m = 0, q = 0;
        for (int64_t i = 0; i < B; i++)
            m += dz[i * O + j], q += d2[i * O + j];
        m *= scale * rb, q *= rb;
        GSNR_TERM(m, q, exact_term(NULL, 0, dz + j, O, B, scale, eps));
    }
    *sum = total;
    return WB_OK;
}

wb_status wb_persample_sum_sq(wb_persample *p, float *sq_w, float *sq_b,
                              const float *a, const wb_persample_csr *sp,
                              const float *dz, int64_t B, int64_t I, int64_t O,
                              double scale, wb_err *err)
{
    float *d2 = scratch(p, (size_t)(B * O + (sp ? 0 : B * I)), err);
    if (!d2)
        return err ? err->code : WB_ENOMEM;
    float s2 = (float)(scale * scale);
    for (int64_t k = 0; k < B * O; k++)
        d2[k] = s2 * dz[k] * dz[k];
    wb_persample_a2t_d2(sq_w, a, sp, d2, B, I, O, d2 + B * O);
    if (sq_b) {
        for (int64_t j = 0; j < O; j++) {
            double c = 0;
            for (int64_t i = 0; i < B; i++)
                c += d2[i * O + j];
            sq_b[j] = (float)c;
        }
    }
    return WB_OK;
}

/* {---- dots with few outputs ---- */

typedef float v16 __attribute__((vector_size(64), aligned(4)));

/* vp [n, 16] = v [n, w] (rows ld apart) with zeros past w (w <= 16) */
WB_SIMD_BODY pad16_body(float *restrict vp, const float *restrict v, int64_t n, int64_t ld,
                        int64_t w)
{
    for (int64_t k = 0; k < n; k++)
        for (int64_t j = 0; j < 16; j++)
            vp[k * 16 + j] = j < w ? v[k * ld + j] : 0.0f;
}
WB_SIMD_KERNEL(pad16, pad16_body,
               (float *restrict vp, const float *restrict v, int64_t n, int64_t ld, int64_t w),
               (vp, v, n, ld, w))

/* u[q] = sum_t val[t] * vp_q[idx[t]] for nv (1 to 3) padded matrices vp_q
 * = vp + q n 16, in four chains (t mod 4, added up at the end: one vector
 * per non-zero, so the adds' latency would bound a single chain) */
WB_SIMD_BODY walk16_body(float *restrict u, const float *restrict vp, int64_t n,
                         const int32_t *idx, const float *val, int64_t na, int nv)
{
    v16 c[3][4] = {{{0}}};
    int64_t t = 0;
    for (; t + 4 <= na; t += 4)
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const v16 *r = (const v16 *)(vp + (int64_t)idx[t + k] * 16);
            float v = val[t + k];
            c[0][k] += v * r[0];
            if (nv > 1)
                c[1][k] += v * r[n];
            if (nv > 2)
                c[2][k] += v * r[2 * n];
        }
    for (; t < na; t++) {
        const v16 *r = (const v16 *)(vp + (int64_t)idx[t] * 16);
        float v = val[t];
        c[0][0] += v * r[0];
        if (nv > 1)
            c[1][0] += v * r[n];
        if (nv > 2)
            c[2][0] += v * r[2 * n];
    }
#pragma GCC unroll 3
    for (int q = 0; q < nv; q++) {
        v16 s = (c[q][0] + c[q][1]) + (c[q][2] + c[q][3]);
        memcpy(u + 16 * q, &s, sizeof s);
    }
}
#define WALK16(nv) walk16_body(u, vp, n, idx, val, na, nv)
WB_SIMD_BODY walk16_any(float *restrict u, const float *restrict vp, int64_t n,
                        const int32_t *idx, const float *val, int64_t na, int nv)
{
    if (nv == 1)
        WALK16(1);
    else if (nv == 2)
        WALK16(2);
    else
        WALK16(3);
}
WB_SIMD_KERNEL(walk16, walk16_any,
               (float *restrict u, const float *restrict vp, int64_t n, const int32_t *idx,
                const float *val, int64_t na, int nv),
               (u, vp, n, idx, val, na, nv))

/* wb_persample_dots for O <= 16: V_q's rows padded to 16 lanes, so that
 * a_i^T V_q is one 16-float vector per non-zero of a_i (the forward's
 * kernel walks such a narrow V a column at a time; at the baseline's last
 * layer, O = 10, this is a quarter of a Gram product's work). The same
 * products and sums per column, in the same order, as that kernel. */
static wb_status small_dots(wb_persample *p, double *const *proj, int nv, const float *a,
                            const wb_persample_csr *sp, const float *dz, int64_t B,
                            int64_t I, int64_t O, const float *const *v_w,
                            const float *const *v_b, double scale, wb_err *err)
{
    /* floats: the padded V_q, u, a dense row's non-zeros (values, columns) */
    float *vp = line_aligned(scratch(p, (size_t)(nv * I * 16 + 48 + (sp ? 0 : 2 * I)) + 15,
                                     err));
    if (!vp)
        return err ? err->code : WB_ENOMEM;
    float *u = vp + nv * I * 16, *rv = u + 48;
    int32_t *ri = (int32_t *)(rv + I);
    for (int q = 0; q < nv; q++)
        WB_SIMD_CALL(pad16)(vp + q * I * 16, v_w[q], I, O, O);
    for (int64_t i = 0; i < B; i++) {
        if (sp)
            WB_SIMD_CALL(walk16)(u, vp, I, sp->idx + sp->row[i], sp->val + sp->row[i],
                                 sp->row[i + 1] - sp->row[i], nv);
        else /* a dense row's non-zeros first: a relu zeroes about half */
            WB_SIMD_CALL(walk16)(u, vp, I, ri, rv, wb_dense_row_nonzeros(ri, rv, a + i * I, I),
                                 nv);
        const float *d = dz + i * O;
        for (int q = 0; q < nv; q++) {
            double s = 0;
            for (int64_t j = 0; j < O; j++)
                s += ((double)u[q * 16 + j] + (v_b[q] ? v_b[q][j] : 0.0f)) * d[j];
            proj[q][i] += scale * s;
        }
    }
    return WB_OK;
}

/* vp[k] [16] = v[k, 0 .. w) (rows ld apart) with zeros past w (w <= 16),
 * for the rows k in rows [n] (vp's other rows are not written) */
WB_SIMD_BODY gather16_body(float *restrict vp, const float *restrict v, const int32_t *rows,
                           int64_t n, int64_t ld, int64_t w)
{
    for (int64_t s = 0; s < n; s++) {
        int64_t k = rows[s];
        for (int64_t j = 0; j < 16; j++)
            vp[k * 16 + j] = j < w ? v[k * ld + j] : 0.0f;
    }
}
WB_SIMD_KERNEL(gather16, gather16_body,
               (float *restrict vp, const float *restrict v, const int32_t *rows, int64_t n,
                int64_t ld, int64_t w),
               (vp, v, rows, n, ld, w))

/* av[i ld .. i ld + 16) = sum over row i's non-zeros of val[t] vp[idx[t]],
 * for the B rows of sp (walk16 with one matrix, row after row) */
WB_SIMD_BODY rows16_body(float *restrict av, int64_t ld, const float *restrict vp,
                         const wb_persample_csr *sp, int64_t B)
{
    for (int64_t i = 0; i < B; i++)
        walk16_body(av + i * ld, vp, 0, sp->idx + sp->row[i], sp->val + sp->row[i],
                    sp->row[i + 1] - sp->row[i], 1);
}
WB_SIMD_KERNEL(rows16, rows16_body,
               (float *restrict av, int64_t ld, const float *restrict vp,
                const wb_persample_csr *sp, int64_t B),
               (av, ld, vp, sp, B))

/* wb_persample_dots from the non-zeros of a wide layer, 16 columns at a
 * time: V_q[:, j0 .. j0 + 16) copied to [I, 16] (small_dots' layout), and
 * only at the inputs some row of the batch has (at I = 784, about 520 in a
 * batch of 128 MNIST rows: 33 KB, about L1), so that each non-zero of a row
 * reads one 64-byte line that is at hand. The forward's kernel instead
 * reads V_q's whole row (512 bytes at O = 128) per non-zero from L2 (V_q is
 * 400 KB), at about half the speed of its multiply-adds. The copies cost a
 * pass over V_q's used rows per vector, which pays from COL_MIN_ROWS rows
 * on. */
#define COL_MIN_ROWS 32
static wb_status column_dots(wb_persample *p, double *const *proj, int nv,
                             const wb_persample_csr *sp, const float *dz, int64_t B,
                             int64_t I, int64_t O, const float *const *v_w,
                             const float *const *v_b, double scale, wb_err *err)
{
    int64_t ld = (O + 15) / 16 * 16; /* a_i^T V_q's rows in av, whole blocks */
    /* floats: the block, av, the used inputs (int32) */
    float *vp = line_aligned(scratch(p, (size_t)(I * 16 + B * ld + I) + 15, err));
    if (!vp)
        return err ? err->code : WB_ENOMEM;
    float *av = vp + I * 16;
    int32_t *used = (int32_t *)(av + B * ld);
    memset(used, 0, (size_t)I * sizeof *used); /* flags first, then the list */
    for (int64_t i = 0; i < B; i++)
        for (int64_t t = sp->row[i]; t < sp->row[i + 1]; t++)
            used[sp->idx[t]] = 1;
    int64_t nu = 0;
    for (int64_t k = 0; k < I; k++)
        if (used[k])
            used[nu++] = (int32_t)k;
    for (int q = 0; q < nv; q++) {
        for (int64_t j0 = 0; j0 < O; j0 += 16) {
            WB_SIMD_CALL(gather16)(vp, v_w[q] + j0, used, nu, O, O - j0 < 16 ? O - j0 : 16);
            WB_SIMD_CALL(rows16)(av + j0, ld, vp, sp, B);
        }
        for (int64_t i = 0; i < B; i++)
            proj[q][i] += scale * wb_persample_rowdot(av + i * ld, v_b[q], dz + i * O, O);
    }
    return WB_OK;
}

/* }---- */

wb_status wb_persample_dots(wb_persample *p, double *const *proj, int nv, const float *a,
                            const wb_persample_csr *sp, const float *dz, int64_t B,
                            int64_t I, int64_t O, const float *const *v_w,
                            const float *const *v_b, double scale, wb_err *err)
{
    if (nv < 1 || nv > 3)
        return wb_err_set(err, WB_EINVAL, "per-sample dots: %d vectors (expected 1 to 3)",
                          nv);
    if (O <= 16)
        return small_dots(p, proj, nv, a, sp, dz, B, I, O, v_w, v_b, scale, err);
    if (sp && B >= COL_MIN_ROWS)
        return column_dots(p, proj, nv, sp, dz, B, I, O, v_w, v_b, scale, err);
    float *av = scratch(p, (size_t)(sp ? nv * O : nv * B * O), err);
    if (!av)
        return err ? err->code : WB_ENOMEM;
    if (!sp) /* a_i^T V_q for every row: a GEMM per vector */
        for (int q = 0; q < nv; q++)
            wb_sgemm(0, 0, B, O, I, 1.0f, a, I, v_w[q], O, 0.0f, av + q * B * O, O);
    for (int64_t i = 0; i < B; i++) {
        const float *d = dz + i * O;
        if (sp) { /* a_i^T V_q from the non-zeros: rows of V_q */
            const int32_t *idx = sp->idx + sp->row[i];
            const float *val = sp->val + sp->row[i];
            int64_t nnz = sp->row[i + 1] - sp->row[i];
            for (int q = 0; q < nv; q++) /* the forward's kernel, on V_q */
                wb_dense_sparse_rows(av + q * O, v_w[q], O, idx, val, (int)nnz);
        }
        for (int q = 0; q < nv; q++) {
            const float *r = sp ? av + q * O : av + (q * B + i) * O;
            proj[q][i] += scale * wb_persample_rowdot(r, v_b[q], d, O);
        }
    }
    return WB_OK;
}

wb_status wb_persample_dot(wb_persample *p, double *proj, const float *a,
                           const wb_persample_csr *sp, const float *dz, int64_t B,
                           int64_t I, int64_t O, const float *v_w, const float *v_b,
                           double scale, wb_err *err)
{
    return wb_persample_dots(p, &proj, 1, a, sp, dz, B, I, O, &v_w, &v_b, scale, err);
}

/* {---- the Hessian's diagonal ---- */

/* Checks of wb_persample_hess_diag's chain; the widest layer. */
static wb_status chain_ok(int n, const wb_dense *const *layers, int64_t B, int64_t *wmax,
                          wb_err *err)
{
    *wmax = 0;
    for (int l = 0; l < n; l++) {
        const wb_dense *d = layers[l];
        wb_act act = d->act;
        int ok = l < n - 1 ? act == WB_ACT_RELU || act == WB_ACT_LINEAR
                           : act == WB_ACT_SOFTMAX || act == WB_ACT_LINEAR;
        if (!ok)
            return wb_err_set(err, WB_EINVAL, "layer %d: activation %s: the exact "
                              "diagonal needs relu or linear layers and a softmax or "
                              "linear last", l + 1, wb_act_name(act));
        if (l > 0 && d->n_in != layers[l - 1]->n_out)
            return wb_err_set(err, WB_EINVAL, "layer %d: n_in %lld, expected %lld (the "
                              "width before it)", l + 1, (long long)d->n_in,
                              (long long)layers[l - 1]->n_out);
        if (d->n_batch != B || !d->z)
            return wb_err_set(err, WB_ESTATE, "layer %d: its last forward had %lld rows, "
                              "expected %lld", l + 1, (long long)d->n_batch, (long long)B);
        *wmax = d->n_out > *wmax ? d->n_out : *wmax;
        *wmax = d->n_in > *wmax ? d->n_in : *wmax;
    }
    return WB_OK;
}

/* sum v [n] in double, four chains (the loop vectorises). */
static double plain_sum(const float *v, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int64_t k = 0;
    for (; k + 4 <= n; k += 4)
        s0 += v[k], s1 += v[k + 1], s2 += v[k + 2], s3 += v[k + 3];
    for (; k < n; k++)
        s0 += v[k];
    return (s0 + s1) + (s2 + s3);
}

/* s [B * C, C]: row (i, c) is column c of row i's factor S / sqrt(B),
 * sqrt(p_c) (e_c - p) / sqrt(B), p = softmax(z_i). */
static void softmax_factor(float *s, const float *z, int64_t B, int64_t C, double *pr)
{
    double rb = 1.0 / sqrt((double)B);
    for (int64_t i = 0; i < B; i++) {
        const float *r = z + i * C;
        double m = r[0], sum = 0;
        for (int64_t c = 1; c < C; c++)
            m = r[c] > m ? r[c] : m;
        for (int64_t c = 0; c < C; c++)
            sum += pr[c] = exp((double)r[c] - m);
        for (int64_t c = 0; c < C; c++)
            pr[c] /= sum;
        for (int64_t c = 0; c < C; c++) {
            double q = sqrt(pr[c]) * rb;
            float *o = s + (i * C + c) * C;
            for (int64_t j = 0; j < C; j++)
                o[j] = (float)(q * ((j == c ? 1.0 : 0.0) - pr[j]));
        }
    }
}

/* d2 [B, O] = sum_c s_ic (.) s_ic for s [B * C, O], in double, c = 0 .. C -
 * 1 in turn for each entry: a row of O at a time (contiguous; acc [O]), the
 * same sums as one entry at a time down its stride-O column. Elementwise
 * along the row: every SIMD copy gives the same bits (the baseline's two
 * doubles an instruction were a fifth of tic's walk at batch 128). */
WB_SIMD_BODY sumsq_cols_body(float *restrict d2, const float *restrict s, double *restrict acc,
                             int64_t B, int64_t C, int64_t O)
{
    for (int64_t i = 0; i < B; i++) {
        for (int64_t j = 0; j < O; j++)
            acc[j] = 0;
        for (int64_t c = 0; c < C; c++) {
            const float *r = s + (i * C + c) * O;
            for (int64_t j = 0; j < O; j++)
                acc[j] += (double)r[j] * (double)r[j];
        }
        for (int64_t j = 0; j < O; j++)
            d2[i * O + j] = (float)acc[j];
    }
}
WB_SIMD_KERNEL(sumsq_cols, sumsq_cols_body,
               (float *restrict d2, const float *restrict s, double *restrict acc, int64_t B,
                int64_t C, int64_t O),
               (d2, s, acc, B, C, O))

/* s [B * C, I]: the entries where relu's input z [B, I] is not > 0 zeroed,
 * as a select, not a branch: relu's signs are a coin toss each, and the
 * mispredicted branch was most of the walk's time */
WB_SIMD_BODY relu_mask_body(float *restrict s, const float *restrict z, int64_t B, int64_t C,
                            int64_t I)
{
    for (int64_t i = 0; i < B; i++)
        for (int64_t c = 0; c < C; c++) {
            float *r = s + (i * C + c) * I;
            const float *zr = z + i * I;
            for (int64_t k = 0; k < I; k++)
                r[k] = zr[k] > 0.0f ? r[k] : 0.0f;
        }
}
WB_SIMD_KERNEL(relu_mask, relu_mask_body,
               (float *restrict s, const float *restrict z, int64_t B, int64_t C, int64_t I),
               (s, z, B, C, I))

/* persample_impl.h: the walk of wb_persample_hess_diag and of wb_persample_tic. */
wb_status wb_persample_hess_walk(wb_persample *p, int n, const wb_dense *const *layers,
                                 const float *const *kernels, int64_t B, size_t extra,
                                 float **xp, wb_persample_layer_fn fn, void *ctx, wb_err *err)
{
    int64_t W, C = layers[n - 1]->n_out;
    wb_status st = chain_ok(n, layers, B, &W, err);
    if (st)
        return st;
    size_t cols = (size_t)(B * C * W);
    float *cur = scratch(p, 2 * cols + (size_t)(2 * B * W) + extra, err);
    double *pr = dscratch(p, (size_t)(C + W), err), *acc = pr + C;
    if (!cur || !pr)
        return err ? err->code : WB_ENOMEM;
    float *nxt = cur + cols, *d2 = nxt + cols, *a2 = d2 + B * W;
    *xp = a2 + B * W;
    softmax_factor(cur, wb_tensor_f32(layers[n - 1]->z), B, C, pr);
    for (int l = n - 1; l >= 0; l--) {
        const wb_dense *d = layers[l];
        int64_t I = d->n_in, O = d->n_out;
        /* d2 [B, O] = sum_c s_ic (.) s_ic */
        WB_SIMD_CALL(sumsq_cols)(d2, cur, acc, B, C, O);
        if ((st = fn(ctx, l, d2, a2, err)))
            return st;
        if (l == 0)
            break;
        /* back through W and the relu before it: nxt = cur W^T (.) f'(z) */
        const float *w = kernels && kernels[l] ? kernels[l] : wb_tensor_f32(d->weight);
        wb_sgemm(0, 1, B * C, I, O, 1.0f, cur, O, w, O, 0.0f, nxt, I);
        if (layers[l - 1]->act == WB_ACT_RELU)
            WB_SIMD_CALL(relu_mask)(nxt, wb_tensor_f32(layers[l - 1]->z), B, C, I);
        float *t = cur;
        cur = nxt, nxt = t;
    }
    return WB_OK;
}

double wb_persample_layer_trace(const wb_dense *d, const float *a, const wb_persample_csr *sp,
                                const float *d2, int64_t B)
{
    /* sum_i ||a_i||^2 sum_j d2_ij, no I x O product */
    int64_t I = d->n_in, O = d->n_out;
    double tw = 0, tb = 0;
    for (int64_t i = 0; i < B; i++) {
        double r = 0;
        for (int64_t j = 0; j < O; j++)
            r += d2[i * O + j];
        tw += row_sumsq(a, sp, i, I) * r, tb += r;
    }
    return tw + 2.0 * d->l2 * (double)(I * O) + (d->use_bias ? tb : 0.0);
}

/* wb_persample_hess_diag's per-layer part. */
typedef struct diag_ctx {
    const wb_dense *const *layers;
    const float *const *inputs;
    const wb_persample_csr *const *sps;
    float *const *diag_w, *const *diag_b;
    int64_t B;
    double trace;
} diag_ctx;

static wb_status diag_layer(void *ctx, int l, const float *d2, float *a2, wb_err *err)
{
    (void)err;
    diag_ctx *x = ctx;
    const wb_dense *d = x->layers[l];
    int64_t I = d->n_in, O = d->n_out, B = x->B;
    if (!x->diag_w) {
        x->trace += wb_persample_layer_trace(d, x->inputs[l], x->sps[l], d2, B);
        return WB_OK;
    }
    float *dw = x->diag_w[l], *db = x->diag_b[l];
    wb_persample_a2t_d2(dw, x->inputs[l], x->sps[l], d2, B, I, O, a2);
    for (int64_t k = 0; d->l2 > 0 && k < I * O; k++)
        dw[k] += (float)(2.0 * d->l2);
    x->trace += plain_sum(dw, I * O);
    for (int64_t j = 0; db && j < O; j++) {
        double s = 0;
        for (int64_t i = 0; i < B; i++)
            s += d2[i * O + j];
        db[j] = (float)s;
        x->trace += db[j];
    }
    return WB_OK;
}

wb_status wb_persample_hess_diag(wb_persample *p, int n, const wb_dense *const *layers,
                                 const float *const *inputs,
                                 const wb_persample_csr *const *sps,
                                 const float *const *kernels, int64_t B,
                                 float *const *diag_w, float *const *diag_b,
                                 double *trace, wb_err *err)
{
    diag_ctx x = {layers, inputs, sps, diag_w, diag_b, B, 0.0};
    float *unused;
    wb_status st = wb_persample_hess_walk(p, n, layers, kernels, B, 0, &unused, diag_layer, &x,
                                          err);
    *trace = x.trace;
    return st;
}

/* }---- */

wb_status wb_persample_ce(double *loss, const float *z, const uint8_t *y, int64_t B,
                          int64_t C, wb_err *err)
{
    for (int64_t i = 0; i < B; i++)
        if (y[i] >= C)
            return wb_err_set(err, WB_ERANGE, "labels: row %lld is %d, expected 0..%lld",
                              (long long)(i + 1), y[i], (long long)(C - 1));
    for (int64_t i = 0; i < B; i++) {
        const float *r = z + i * C;
        double m = r[0], s = 0;
        for (int64_t c = 1; c < C; c++)
            m = r[c] > m ? r[c] : m;
        for (int64_t c = 0; c < C; c++)
            s += exp((double)r[c] - m);
        loss[i] = m + log(s) - r[y[i]];
    }
    return WB_OK;
}
