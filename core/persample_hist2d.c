/* persample_hist2d.c - grad_hist_2d: the exact 2-D histogram of a Dense
 * layer's per-sample gradient entries against their parameter's value
 * (Cockpit's GradHist2d), wb_persample_hist2d (persample.h), without
 * binning its B * I * O entries one by one.
 *
 * Legend: B, I, O, s as in persample.h. Row i's kernel entry (k, j) is x =
 * (s a_ik) dz_ij computed in double (0 for a zero input), as
 * wb_persample_hist's, paired with y = W_kj, the kernel's value; the bias's
 * entry is x = s dz_ij with y = b_j. The kernel's y bins are the same for
 * every row: found once a call (yb, a byte each). Three facts keep the
 * count cheap:
 * (1) Zero inputs. Every kernel entry starts in x's bin of 0 (x0): (x0, y)
 *     gets B times the kernel's count in y bin y, and only an entry of a
 *     non-zero input that lands in another x bin moves, one count out of
 *     (x0, y) and one into (x, y).
 * (2) Monotonicity (persample_hist.c): for a finite d = dz_ij and finite s
 *     a_ik, x's bin is monotone in s a_ik, so when the row's smallest and
 *     largest s a_ik put output j's entries in one bin c, all of them are
 *     there. With c = x0 nothing moves; otherwise N_y[j] move, N_y[j] being
 *     the row's non-zero inputs k with yb_kj = y.
 * (3) N_y [O] for every y in the kernel's range of y bins comes from a
 *     walk over the row's non-zero inputs: row k of yb compared with each y,
 *     64 outputs a vector of byte counters, eight y bins in registers at a
 *     time, with no scattered count.
 * An output whose entries span x bins (or with a non-finite d or s a) is
 * counted entry by entry. Counts are int64 until the end.
 */
#include "persample.h"

#include <math.h>
#include <string.h>

#include "dense.h"
#include "persample_hist.h"
#include "persample_impl.h"
#include "simd.h"

typedef uint8_t wb_v64u8 __attribute__((vector_size(64), aligned(1)));

/* yb [n] = the y bin of w [n] (bin_of's: outside into the end bins, NaN
 * into the first) and their range into *lo_bin .. *hi_bin. */
WB_SIMD_BODY ybins_body(uint8_t *yb, const float *w, int64_t n, double lo, double inv,
                        double nb, int32_t *lo_bin, int32_t *hi_bin)
{
    int32_t mn = 255, mx = 0;
    for (int64_t k = 0; k < n; k++) {
        double f = ((double)w[k] - lo) * inv;
        f = f >= 0 ? f : 0;
        f = f < nb ? f : nb - 1;
        int32_t b = (int32_t)f;
        yb[k] = (uint8_t)b;
        mn = b < mn ? b : mn;
        mx = b > mx ? b : mx;
    }
    *lo_bin = mn, *hi_bin = mx;
}
WB_SIMD_KERNEL(ybins, ybins_body,
               (uint8_t * yb, const float *w, int64_t n, double lo, double inv, double nb,
                int32_t *lo_bin, int32_t *hi_bin),
               (yb, w, n, lo, inv, nb, lo_bin, hi_bin))

/* The 64 byte counters c into N's row from column j on (the columns
 * below O16). */
static inline __attribute__((always_inline)) void add_bytes(int32_t *N, wb_v64u8 c, int64_t j,
                                                            int64_t O16)
{
    int64_t m = O16 - j < 64 ? O16 - j : 64;
    for (int64_t l = 0; l < m; l++)
        N[j + l] += c[l];
}

/* N [(y - y0) O16 + j] += #{t < n: yb [k_t O + j] = y} for y in y0 .. y1
 * and j < O16 (k_t = t when k is NULL): for each 64 outputs and 8 y bins,
 * eight vectors of byte counters held in registers over the inputs, added
 * into N every 255 inputs, before one could wrap (y bins past y1, and
 * past 255 as bytes, are counted and dropped). yb's rows are read 64 bytes
 * at a time, so yb has 64 bytes after its last row, and the columns from O
 * on count those bytes: the caller reads j < O only. */
WB_SIMD_BODY ycount_body(int32_t *N, int64_t O16, int64_t O64, const uint8_t *yb,
                         const int32_t *k, int64_t n, int64_t O, int32_t y0, int32_t y1)
{
    for (int64_t j = 0; j < O64; j += 64)
        for (int32_t g = y0; g <= y1; g += 8)
            for (int64_t t0 = 0; t0 < n; t0 += 255) {
                int64_t t1 = n - t0 > 255 ? t0 + 255 : n;
                wb_v64u8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0},
                         c6 = {0}, c7 = {0};
                uint8_t b0 = (uint8_t)g, b1 = (uint8_t)(g + 1), b2 = (uint8_t)(g + 2),
                        b3 = (uint8_t)(g + 3), b4 = (uint8_t)(g + 4), b5 = (uint8_t)(g + 5),
                        b6 = (uint8_t)(g + 6), b7 = (uint8_t)(g + 7);
                for (int64_t t = t0; t < t1; t++) {
                    wb_v64u8 v = *(const wb_v64u8 *)(yb + (k ? (int64_t)k[t] : t) * O + j);
                    c0 -= (wb_v64u8)(v == b0), c1 -= (wb_v64u8)(v == b1);
                    c2 -= (wb_v64u8)(v == b2), c3 -= (wb_v64u8)(v == b3);
                    c4 -= (wb_v64u8)(v == b4), c5 -= (wb_v64u8)(v == b5);
                    c6 -= (wb_v64u8)(v == b6), c7 -= (wb_v64u8)(v == b7);
                }
                int32_t *row = N + (int64_t)(g - y0) * O16;
                wb_v64u8 c[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
                for (int q = 0; q < 8 && g + q <= y1; q++)
                    add_bytes(row + q * O16, c[q], j, O16);
            }
}
WB_SIMD_KERNEL(ycount, ycount_body,
               (int32_t * N, int64_t O16, int64_t O64, const uint8_t *yb, const int32_t *k,
                int64_t n, int64_t O, int32_t y0, int32_t y1),
               (N, O16, O64, yb, k, n, O, y0, y1))

/* xb [n] = the x bins of v [n] d (bin_of's, without branches) times ny:
 * where their row of H starts. */
WB_SIMD_BODY xbins_body(int32_t *xb, const double *v, int64_t n, double d, double lo,
                        double inv, double nb, int32_t ny)
{
    for (int64_t t = 0; t < n; t++) {
        double f = (v[t] * d - lo) * inv;
        f = f >= 0 ? f : 0;
        f = f < nb ? f : nb - 1;
        xb[t] = (int32_t)f * ny;
    }
}
WB_SIMD_KERNEL(xbins, xbins_body,
               (int32_t * xb, const double *v, int64_t n, double d, double lo, double inv,
                double nb, int32_t ny),
               (xb, v, n, d, lo, inv, nb, ny))

/* The per-call state: the counts H, and four int32 copies C of them for
 * entries counted one by one (four chains of increments, not one), added
 * into H before any could wrap. */
typedef struct h2 {
    int64_t *H; /* [nx ny] */
    int32_t *C; /* [4 nx ny] */
    int32_t *xb; /* [I] */
    int64_t in_c; /* entries in C since it was added into H */
    double xlo, xinv;
    int nx, ny, x0;
} h2;

static void flush_copies(h2 *h)
{
    int64_t nb = (int64_t)h->nx * h->ny;
    for (int64_t q = 0; q < nb; q++) {
        h->H[q] += (int64_t)h->C[q] + h->C[nb + q] + h->C[2 * nb + q] + h->C[3 * nb + q];
        h->C[q] = h->C[nb + q] = h->C[2 * nb + q] = h->C[3 * nb + q] = 0;
    }
    h->in_c = 0;
}

/* Output j's n entries v [t] d one by one, at y bins ybj [off [t]] (ybj
 * = yb + j, off [t] = the input's row of yb); the caller moves them out of
 * (x0, y) by N_y [j]. */
static void count_output(h2 *h, const double *v, const int64_t *off, int64_t n, double d,
                         const uint8_t *ybj)
{
    if (h->in_c + n > INT32_MAX)
        flush_copies(h);
    h->in_c += n;
    WB_SIMD_CALL(xbins)(h->xb, v, n, d, h->xlo, h->xinv, h->nx, h->ny);
    int64_t nb = (int64_t)h->nx * h->ny, t = 0;
    int32_t *C = h->C, *xb = h->xb;
    for (; t + 4 <= n; t += 4)
        for (int q = 0; q < 4; q++)
            C[q * nb + xb[t + q] + ybj[off[t + q]]]++;
    for (; t < n; t++)
        C[xb[t] + ybj[off[t]]]++;
}

/* A row's non-zero inputs f [n] (their columns idx) and its dz d [O]. */
typedef struct row_in {
    const float *f;
    const int32_t *idx;
    int64_t n;
    const float *d;
    int64_t O, O16, O64;
    double s;
} row_in;

/* Moves the row's kernel entries out of (x0, y) where they do not belong
 * ((2) and (3) of the header), with scratch v, off [n] and N [(y1 - y0 + 1)
 * O16]; yb the kernel's y bins, y0 .. y1 their range. */
static void count_row(h2 *h, row_in r, double *v, int64_t *off, int32_t *N, const uint8_t *yb,
                      int32_t y0, int32_t y1)
{
    double vmin = INFINITY, vmax = -INFINITY;
    int finite = 1;
    for (int64_t t = 0; t < r.n; t++) {
        off[t] = (int64_t)r.idx[t] * r.O;
        v[t] = r.s * (double)r.f[t];
        finite &= isfinite(v[t]);
        vmin = v[t] < vmin ? v[t] : vmin, vmax = v[t] > vmax ? v[t] : vmax;
    }
    int64_t ny = h->ny, x0 = h->x0;
    memset(N, 0, (size_t)(y1 - y0 + 1) * (size_t)r.O16 * sizeof *N);
    WB_SIMD_CALL(ycount)(N, r.O16, r.O64, yb, r.idx, r.n, r.O, y0, y1);
    for (int64_t j = 0; j < r.O; j++) {
        double dj = r.d[j];
        const int32_t *Nj = N + j;
        if (finite && isfinite(dj)) { /* (2) */
            int c = bin_of(vmin * dj, h->xlo, h->xinv, h->nx);
            if (c == bin_of(vmax * dj, h->xlo, h->xinv, h->nx)) {
                for (int32_t y = y0; c != x0 && y <= y1; y++) {
                    int32_t m = Nj[(int64_t)(y - y0) * r.O16];
                    h->H[c * ny + y] += m, h->H[x0 * ny + y] -= m;
                }
                continue;
            }
        }
        count_output(h, v, off, r.n, dj, yb + j);
        for (int32_t y = y0; y <= y1; y++)
            h->H[x0 * ny + y] -= Nj[(int64_t)(y - y0) * r.O16];
    }
}

wb_status wb_persample_hist2d(wb_persample *p, double *hist, int nx, double xlo, double xhi,
                              int ny, double ylo, double yhi, const float *a,
                              const wb_persample_csr *sp, const float *dz, const float *w,
                              const float *bias, int64_t B, int64_t I, int64_t O, double scale,
                              wb_err *err)
{
    if (nx < 1 || ny < 1 || ny > 255 || !(xlo < xhi) || !(ylo < yhi) || !isfinite(xhi - xlo) ||
        !isfinite(yhi - ylo))
        return wb_err_set(err, WB_EINVAL,
                          "2-D histogram: %d x %d bins over [%g, %g) x [%g, %g) (expected 1 or "
                          "more x bins, 1 to 255 y bins, finite lo < hi)",
                          nx, ny, xlo, xhi, ylo, yhi);
    if ((int64_t)nx * ny > INT32_MAX / 4) /* bins * ny and C's four copies are int32 */
        return wb_err_set(err, WB_ERANGE, "2-D histogram: %d x %d bins (at most %d)", nx, ny,
                          INT32_MAX / 4);
    /* doubles: v [I], off [I] and H [nx ny] (int64); then C [4 nx ny], xb
     * [I], N [ny O16] and idx [I] (int32), fbuf [I] (floats), yb [I O + 64]
     * (bytes) */
    int64_t O16 = (O + 15) & ~(int64_t)15, O64 = (O + 63) & ~(int64_t)63;
    size_t nbytes = 4 * (4 * (size_t)nx * ny + (size_t)ny * (size_t)O16 + 3 * (size_t)I) +
                    (size_t)I * (size_t)O + 64;
    size_t nd = 2 * (size_t)I + (size_t)nx * (size_t)ny + (nbytes + 7) / 8;
    double *v = wb_persample_dscratch(p, nd, err);
    if (!v)
        return err ? err->code : WB_ENOMEM;
    int64_t *off = (int64_t *)(v + I);
    h2 h = {off + I, NULL, NULL, 0, xlo, nx / (xhi - xlo), nx, ny, 0};
    double yinv = ny / (yhi - ylo);
    h.C = (int32_t *)(h.H + (size_t)nx * ny), h.xb = h.C + 4 * (size_t)nx * ny;
    int32_t *N = h.xb + I, *kidx = N + (size_t)ny * O16;
    float *fbuf = (float *)(kidx + I);
    uint8_t *yb = (uint8_t *)(fbuf + I);
    memset(h.H, 0, (size_t)nx * ny * sizeof *h.H);
    memset(h.C, 0, 4 * (size_t)nx * ny * sizeof *h.C);
    memset(yb + I * O, 0, 64);
    h.x0 = bin_of(0.0, xlo, h.xinv, nx);
    int32_t y0 = 0, y1 = -1;
    if (I * O > 0)
        WB_SIMD_CALL(ybins)(yb, w, I * O, ylo, yinv, ny, &y0, &y1);
    int64_t span = (int64_t)(y1 - y0 + 1) * O16;
    if (span > 0) { /* (1): every entry at x0, B times the kernel's y counts */
        memset(N, 0, (size_t)span * sizeof *N);
        WB_SIMD_CALL(ycount)(N, O16, O64, yb, NULL, I, O, y0, y1);
        for (int32_t y = y0; y <= y1; y++) {
            int64_t c = 0;
            for (int64_t j = 0; j < O; j++)
                c += N[(int64_t)(y - y0) * O16 + j];
            h.H[(int64_t)h.x0 * ny + y] += B * c;
        }
    }
    for (int64_t i = 0; i < B; i++) {
        const float *d = dz + i * O, *f;
        const int32_t *idx;
        int64_t n;
        for (int64_t j = 0; bias && j < O; j++)
            h.H[(int64_t)bin_of(scale * d[j], xlo, h.xinv, nx) * ny +
                bin_of(bias[j], ylo, yinv, ny)]++;
        if (sp) {
            n = sp->row[i + 1] - sp->row[i];
            f = sp->val + sp->row[i], idx = sp->idx + sp->row[i];
        } else {
            n = wb_dense_row_nonzeros(kidx, fbuf, a + i * I, I);
            f = fbuf, idx = kidx;
        }
        if (n > 0)
            count_row(&h, (row_in){f, idx, n, d, O, O16, O64, scale}, v, off, N, yb, y0, y1);
    }
    flush_copies(&h);
    for (int64_t q = 0; q < (int64_t)nx * ny; q++)
        hist[q] += (double)h.H[q];
    return WB_OK;
}
