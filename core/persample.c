/* persample.c - per-sample gradient statistics of Dense layers. See
 * persample.h for the identities; legend there (B, I, O, s).
 *
 * The products go through float GEMMs (as the layer's own backward does);
 * sums over rows and layers are kept in double by the callers' buffers.
 */
#include "persample.h"

#include <math.h>
#include <string.h>

#include "alloc.h"
#include "blas.h"

#define HIST_FAST 256 /* up to this many bins, integer counts on the stack */

struct wb_persample {
    float *buf; /* scratch, cap floats */
    size_t cap;
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

static double sumsq(const float *v, int64_t n)
{
    double s = 0;
    for (int64_t k = 0; k < n; k++)
        s += (double)v[k] * v[k];
    return s;
}

void wb_persample_norms(double *sq, const float *a, const float *dz, int64_t B,
                        int64_t I, int64_t O, int bias, double scale)
{
    for (int64_t i = 0; i < B; i++)
        sq[i] += (sumsq(a + i * I, I) + (bias ? 1.0 : 0.0)) * scale * scale *
                 sumsq(dz + i * O, O);
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

wb_status wb_persample_sum_sq(wb_persample *p, float *sq_w, float *sq_b,
                              const float *a, const float *dz, int64_t B,
                              int64_t I, int64_t O, double scale, wb_err *err)
{
    float *a2 = scratch(p, (size_t)(B * (I + O)), err);
    if (!a2)
        return err ? err->code : WB_ENOMEM;
    float *d2 = a2 + B * I;
    float s2 = (float)(scale * scale);
    for (int64_t k = 0; k < B * I; k++)
        a2[k] = a[k] * a[k];
    for (int64_t k = 0; k < B * O; k++)
        d2[k] = s2 * dz[k] * dz[k];
    wb_sgemm(1, 0, I, O, B, 1.0f, a2, I, d2, O, 0.0f, sq_w, O);
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

wb_status wb_persample_dot(wb_persample *p, double *proj, const float *a,
                           const float *dz, int64_t B, int64_t I, int64_t O,
                           const float *v_w, const float *v_b, double scale,
                           wb_err *err)
{
    float *av = scratch(p, (size_t)(B * O), err);
    if (!av)
        return err ? err->code : WB_ENOMEM;
    wb_sgemm(0, 0, B, O, I, 1.0f, a, I, v_w, O, 0.0f, av, O); /* a_i^T V */
    for (int64_t i = 0; i < B; i++) {
        const float *r = av + i * O, *d = dz + i * O;
        double s = 0;
        for (int64_t j = 0; j < O; j++)
            s += ((double)r[j] + (v_b ? v_b[j] : 0.0f)) * d[j];
        proj[i] += scale * s;
    }
    return WB_OK;
}

/* The bin of v: equal bins over [lo, hi) (inv = nbins / (hi - lo)), the
 * outside into the end bins; truncation is floor for f >= 0. */
static inline int bin_of(double v, double lo, double inv, int nbins)
{
    double f = (v - lo) * inv;
    if (!(f >= 0)) /* also NaN: counted, in the first bin */
        return 0;
    return f >= nbins ? nbins - 1 : (int)f;
}

/* Count k's entries ak * d[j] (j < O) into four interleaved integer
 * histograms c[4][nbins]: most entries fall in the few bins around 0, and
 * four copies keep consecutive increments of one bin from waiting on each
 * other. */
static void count_row(uint32_t (*c)[HIST_FAST], double ak, const float *d, int64_t O,
                      double lo, double inv, int nbins)
{
    int64_t j = 0;
    for (; j + 4 <= O; j += 4) {
        c[0][bin_of(ak * d[j], lo, inv, nbins)]++;
        c[1][bin_of(ak * d[j + 1], lo, inv, nbins)]++;
        c[2][bin_of(ak * d[j + 2], lo, inv, nbins)]++;
        c[3][bin_of(ak * d[j + 3], lo, inv, nbins)]++;
    }
    for (; j < O; j++)
        c[0][bin_of(ak * d[j], lo, inv, nbins)]++;
}

void wb_persample_hist(double *hist, int nbins, double lo, double hi,
                       const float *a, const float *dz, int64_t B, int64_t I,
                       int64_t O, int bias, double scale)
{
    double inv = nbins / (hi - lo);
    int zero = bin_of(0.0, lo, inv, nbins);
    if (nbins > HIST_FAST) { /* rare: plain double counts */
        for (int64_t i = 0; i < B; i++) {
            const float *ar = a + i * I, *d = dz + i * O;
            for (int64_t k = 0; k < I; k++) {
                if (ar[k] == 0.0f) {
                    hist[zero] += (double)O;
                    continue;
                }
                for (int64_t j = 0; j < O; j++)
                    hist[bin_of(scale * ar[k] * d[j], lo, inv, nbins)] += 1.0;
            }
            for (int64_t j = 0; bias && j < O; j++)
                hist[bin_of(scale * d[j], lo, inv, nbins)] += 1.0;
        }
        return;
    }
    uint32_t c[4][HIST_FAST];
    for (int64_t i = 0; i < B; i++) { /* per row, so no count can overflow */
        memset(c, 0, sizeof c);
        const float *ar = a + i * I, *d = dz + i * O;
        double zeros = 0;
        for (int64_t k = 0; k < I; k++) {
            if (ar[k] == 0.0f) /* a zero input: O zero entries, no products */
                zeros += (double)O;
            else
                count_row(c, scale * ar[k], d, O, lo, inv, nbins);
        }
        if (bias)
            count_row(c, scale, d, O, lo, inv, nbins);
        hist[zero] += zeros;
        for (int b = 0; b < nbins; b++)
            hist[b] += (double)c[0][b] + c[1][b] + c[2][b] + c[3][b];
    }
}

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

double wb_persample_sqdist(const float *a, const float *b, int64_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains: the loop vectorises */
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        double d0 = (double)a[k] - (b ? b[k] : 0.0f);
        double d1 = (double)a[k + 1] - (b ? b[k + 1] : 0.0f);
        double d2 = (double)a[k + 2] - (b ? b[k + 2] : 0.0f);
        double d3 = (double)a[k + 3] - (b ? b[k + 3] : 0.0f);
        s0 += d0 * d0, s1 += d1 * d1, s2 += d2 * d2, s3 += d3 * d3;
    }
    for (; k < n; k++) {
        double d = (double)a[k] - (b ? b[k] : 0.0f);
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

double wb_persample_diff(float *out, const float *a, const float *b, int64_t n)
{
    for (int64_t k = 0; k < n; k++)
        out[k] = a[k] - b[k];
    return wb_persample_sqdist(out, NULL, n);
}

double wb_persample_gsnr(const float *g, const float *w, double c, const float *S,
                         int64_t n, double B, double eps)
{
    double s = 0;
    for (int64_t k = 0; k < n; k++) {
        double m = (double)g[k] - (w ? c * w[k] : 0.0);
        s += m * m / (S[k] / B - m * m + eps);
    }
    return s;
}
