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
 * (4) Runs. An output whose entries span x bins took ~2.5 ns an entry one
 *     by one (18% of an MNIST first layer's outputs, most of the cost).
 *     Sorted by s a_ik (once a row, for all its outputs), by (2) its entries
 *     fall into runs of one x bin; the runs' ends are the row's cuts, each
 *     the count of the row's entries before an x edge (a vector count over
 *     the sort's buckets around it, not a search, whose branches went
 *     either way at random). The walk of (3), taken along the sorted
 *     inputs, stores its byte counters at every cut (ysnap), so
 *     a run's counts by y bin are the difference of two stored counts: no
 *     entry is binned alone. The rows of a layer of fewer than 64 outputs
 *     (the sort costs more than it saves there), and those with a
 *     non-finite s a, take (2) and (3) and bin the rest one by one; an
 *     output of non-finite d is binned one by one.
 * Counts are int64 until the end (int32 in C's copies between flushes).
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

/* For one block of 64 outputs (yb offset to its first) and the y bins g ..
 * g + G - 1 (G = 4, or 8 when w8), the counts of y bin g + q among the
 * inputs k [0 .. p) (in that order) for every cut p: ycount's byte
 * counters, stored at each cut (cut [ncut], ascending, within 1 .. n - 1)
 * into snap [s] (512 bytes: q, then the output), and added into tot every
 * 255 inputs before they could wrap: tot [c] [q] [l] = the counts before
 * input 255 c, c = 0 .. n / 255 rounded up (the last the totals, N_y). So
 * the count before a cut p is tot [p / 255] + snap [its s]. Four counters
 * (the kernel's y bins are four or five at Glorot's initialisation, the
 * fifth found as the rest) cost half of eight. */
WB_SIMD_BODY ysnap_body(uint8_t *snap, int32_t *tot, const uint8_t *yb, const int32_t *k,
                        int64_t n, int64_t O, int32_t g, const int32_t *cut, int64_t ncut,
                        int w8)
{
    uint8_t b0 = (uint8_t)g, b1 = (uint8_t)(g + 1), b2 = (uint8_t)(g + 2), b3 = (uint8_t)(g + 3),
            b4 = (uint8_t)(g + 4), b5 = (uint8_t)(g + 5), b6 = (uint8_t)(g + 6),
            b7 = (uint8_t)(g + 7);
    int G = w8 ? 8 : 4;
    memset(tot, 0, 64 * (size_t)G * sizeof *tot);
    int64_t s = 0;
    for (int64_t t0 = 0; t0 < n; t0 += 255, tot += 512) {
        int64_t t1 = n - t0 > 255 ? t0 + 255 : n, t = t0;
        wb_v64u8 c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}, c4 = {0}, c5 = {0}, c6 = {0}, c7 = {0};
        for (;;) {
            int64_t te = s < ncut && cut[s] < t1 ? cut[s] : t1;
            for (; t < te; t++) {
                wb_v64u8 v = *(const wb_v64u8 *)(yb + (int64_t)k[t] * O);
                c0 -= (wb_v64u8)(v == b0), c1 -= (wb_v64u8)(v == b1);
                c2 -= (wb_v64u8)(v == b2), c3 -= (wb_v64u8)(v == b3);
                if (w8) {
                    c4 -= (wb_v64u8)(v == b4), c5 -= (wb_v64u8)(v == b5);
                    c6 -= (wb_v64u8)(v == b6), c7 -= (wb_v64u8)(v == b7);
                }
            }
            if (t == t1)
                break;
            wb_v64u8 *o = (wb_v64u8 *)(snap + 512 * s++);
            o[0] = c0, o[1] = c1, o[2] = c2, o[3] = c3;
            if (w8)
                o[4] = c4, o[5] = c5, o[6] = c6, o[7] = c7;
        }
        wb_v64u8 c[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
        for (int q = 0; q < G; q++)
            for (int l = 0; l < 64; l++)
                tot[512 + 64 * q + l] = tot[64 * q + l] + c[q][l];
    }
}
#define WB_YSNAP_PARAMS                                                                     \
    (uint8_t * snap, int32_t * tot, const uint8_t *yb, const int32_t *k, int64_t n, int64_t O, \
     int32_t g, const int32_t *cut, int64_t ncut)
WB_SIMD_KERNEL(ysnap4, ysnap_body, WB_YSNAP_PARAMS, (snap, tot, yb, k, n, O, g, cut, ncut, 0))
WB_SIMD_KERNEL(ysnap8, ysnap_body, WB_YSNAP_PARAMS, (snap, tot, yb, k, n, O, g, cut, ncut, 1))

/* The per-call state: the counts H, and four int32 copies C of them for
 * entries counted one by one, the bias's and add_block's moves (four
 * chains of increments, not one), added into H before any could wrap.
 * Only the y bins yl .. yh of the kernel's and the bias's values are
 * ever counted: H and C are cleared, flushed and read there alone (a few
 * of 50 bins: the call's fixed cost was the 48 KB of all of them). */
typedef struct h2 {
    int64_t *H; /* [nx ny] */
    int32_t *C; /* [4 nx ny] */
    int32_t *M; /* [4 nx ny] entries counted one by one that also move out of (x0, y): out
                 * of it when added into H (one increment an entry, not two) */
    int32_t *xb; /* [I] */
    int64_t in_c; /* entries in C since it was added into H */
    double xlo, xinv, xw; /* xw = 1 / xinv, a bin's width */
    double *edge; /* [nx + 1] x's bin edges E_b (persample_hist.h), NaN until found */
    int nx, ny, x0, yl, yh;
} h2;

static void flush_copies(h2 *h)
{
    int64_t nb = (int64_t)h->nx * h->ny;
    for (int64_t x = 0; x < h->nx; x++)
        for (int64_t q = x * h->ny + h->yl; q <= x * h->ny + h->yh; q++) {
            int64_t m = (int64_t)h->M[q] + h->M[nb + q] + h->M[2 * nb + q] + h->M[3 * nb + q];
            h->H[q] += (int64_t)h->C[q] + h->C[nb + q] + h->C[2 * nb + q] + h->C[3 * nb + q] + m;
            h->H[h->x0 * h->ny + q - x * h->ny] -= m;
            h->C[q] = h->C[nb + q] = h->C[2 * nb + q] = h->C[3 * nb + q] = 0;
            h->M[q] = h->M[nb + q] = h->M[2 * nb + q] = h->M[3 * nb + q] = 0;
        }
    h->in_c = 0;
}

/* Output j's n entries v [t] d one by one, at y bins ybj [off [t]] (ybj
 * = yb + j, off [t] = the input's row of yb); the caller moves them out of
 * (x0, y) by N_y [j], or, when out0, they go to M, which moves them. */
static void count_output(h2 *h, const double *v, const int64_t *off, int64_t n, double d,
                         const uint8_t *ybj, int out0)
{
    if (h->in_c + n > INT32_MAX)
        flush_copies(h);
    h->in_c += n;
    WB_SIMD_CALL(xbins)(h->xb, v, n, d, h->xlo, h->xinv, h->nx, h->ny);
    int64_t nb = (int64_t)h->nx * h->ny, t = 0;
    int32_t *C = out0 ? h->M : h->C, *xb = h->xb;
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
 * with the unsorted inputs v [n] (vmin .. vmax when finite): the outputs
 * whose entries share an x bin by N_y ((2) and (3) of the header), the
 * others one by one; scratch off [n] and N [(y1 - y0 + 1) O16]. */
static void count_row_unsorted(h2 *h, row_in r, const double *v, double vmin, double vmax,
                               int finite, int64_t *off, int32_t *N, const uint8_t *yb,
                               int32_t y0, int32_t y1)
{
    for (int64_t t = 0; t < r.n; t++)
        off[t] = (int64_t)r.idx[t] * r.O;
    int64_t ny = h->ny, x0 = h->x0;
    if (r.O < 32) { /* ycount's 64 lanes would be mostly empty: only the outputs not all
                     * at x0 (few, in an output layer) go, one by one */
        for (int64_t j = 0; j < r.O; j++) {
            double dj = r.d[j];
            if (finite && isfinite(dj) && bin_of(vmin * dj, h->xlo, h->xinv, h->nx) == x0 &&
                bin_of(vmax * dj, h->xlo, h->xinv, h->nx) == x0)
                continue;
            count_output(h, v, off, r.n, dj, yb + j, 1);
        }
        return;
    }
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
        count_output(h, v, off, r.n, dj, yb + j, 0);
        for (int32_t y = y0; y <= y1; y++)
            h->H[x0 * ny + y] -= Nj[(int64_t)(y - y0) * r.O16];
    }
}

/* ---- The sorted path (4) of the header ---------------------------------- */

/* Output j, whose entries in a row span x bins: in runs r0 .. r1 - 1
 * along the sorted inputs (S's rend, rbin ...); or one run of bin -1, a
 * non-finite d, whose entries are counted one by one. */
typedef struct lane {
    int64_t r0, r1, j;
} lane;

/* A row's scratch for the sorted path (I the layer's inputs). */
typedef struct srt {
    double *sv; /* [I] the row's s a_ik, ascending */
    double *dd; /* [O] its dz as doubles */
    lane *ln; /* [O] the outputs that span x bins, nl of them */
    int32_t *sk; /* [I] their inputs k */
    int32_t *cnt; /* [4 I + 2] bucket counts */
    int32_t *slot; /* [I] position t's snapshot, or -1 */
    int32_t *cut; /* [I] the snapshots' positions, ascending */
    int32_t *e0, *e1; /* [O] the x bin of each output's entry at sv [0], sv [n - 1]; then
                       * the outputs whose entries share a bin other than x0, na of
                       * them, and their bins */
    int32_t *rend, *rbin; /* [O min(I, nx) + 1] the row's runs: end position, x bin */
    int32_t *rchk, *rslot; /* [the same] the counts before rend: tot's row, snap's */
    uint8_t *snap; /* [min(I, O64 (nx - 1)) + 1] [512] the byte counters at each cut */
    int32_t *tot; /* [(I / 255 + 2) 512] the counts before each 255 positions */
    const int32_t *bend; /* [2 n] sort_row's buckets' ends */
    double h0, sc; /* sort_row's buckets: v's is (v / 2 - h0) sc, nb of them */
    int64_t nb, nr, nl, na; /* nr: runs so far */
} srt;

/* Shell sort of v [n] ascending, carrying k (Ciura's gaps; the last is 1,
 * insertion sort): a bucket too full for plain insertion sort. */
static void shell_sort(double *v, int32_t *k, int64_t n)
{
    static const int64_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (int q = 0; q < 8; q++)
        for (int64_t g = gaps[q], i = g; i < n; i++) {
            double x = v[i];
            int32_t kx = k[i];
            int64_t t = i;
            for (; t >= g && v[t - g] > x; t -= g)
                v[t] = v[t - g], k[t] = k[t - g];
            v[t] = x, k[t] = kx;
        }
}

/* S's sv [n] and sk [n] = v [n] (finite, vmin .. vmax) and idx [n] sorted
 * by v: a counting sort into 2 n equal buckets of v, whose index is
 * monotone in v (halves, so that vmax - vmin cannot overflow; a NaN index,
 * from a width that underflows, falls into the last), then insertion sort,
 * which moves nothing across buckets; a bucket of more than 32 not in order
 * already (values bunched below an outlier) is shell sorted first, so no
 * row costs n^2. */
static void sort_row(srt *S, const double *v, const int32_t *idx, int64_t n, double vmin,
                     double vmax)
{
    double *sv = S->sv;
    int32_t *sk = S->sk, *cnt = S->cnt, *bk = S->slot, *big = S->cut; /* (scratch) */
    if (vmin == vmax) { /* every order is sorted */
        memcpy(sv, v, (size_t)n * sizeof *sv), memcpy(sk, idx, (size_t)n * sizeof *sk);
        return;
    }
    int64_t nb = S->nb = 2 * n;
    double h0 = S->h0 = 0.5 * vmin, sc = S->sc = (double)nb / (0.5 * vmax - h0);
    /* The even and the odd inputs count (and then place) apart, ce and
     * co: two chains of increments through memory where inputs share a
     * bucket (8-bit pixels' 255 are a third of an MNIST row), not one. */
    int32_t *ce = cnt, *co = cnt + nb;
    S->bend = co;
    memset(cnt, 0, 2 * (size_t)nb * sizeof *cnt);
    for (int64_t t = 0; t < n; t++) {
        double f = (0.5 * v[t] - h0) * sc;
        bk[t] = f < (double)nb ? (int32_t)f : (int32_t)(nb - 1);
    }
    for (int64_t t = 0; t + 1 < n; t += 2)
        ce[bk[t]]++, co[bk[t + 1]]++;
    if (n & 1)
        ce[bk[n - 1]]++;
    int64_t nbig = 0;
    for (int64_t b = 0, run = 0; b < nb; b++) { /* their starts (the sum in a register) */
        if (ce[b] + co[b] > 32)
            big[nbig++] = (int32_t)b;
        int32_t e = ce[b], o = co[b];
        ce[b] = (int32_t)run, co[b] = (int32_t)(run + e), run += e + o;
    }
    for (int64_t t = 0; t + 1 < n; t += 2) {
        int32_t q = ce[bk[t]]++, q1 = co[bk[t + 1]]++;
        sv[q] = v[t], sk[q] = idx[t], sv[q1] = v[t + 1], sk[q1] = idx[t + 1];
    }
    if (n & 1) {
        int32_t q = ce[bk[n - 1]]++;
        sv[q] = v[n - 1], sk[q] = idx[n - 1];
    }
    for (int64_t i = 0; i < nbig; i++) { /* co [b] is now bucket b's end */
        int64_t b = big[i], lo = b > 0 ? co[b - 1] : 0, t = lo + 1;
        while (t < co[b] && sv[t - 1] <= sv[t]) /* (one value, as 8-bit pixels' 255) */
            t++;
        if (t < co[b])
            shell_sort(sv + lo, sk + lo, co[b] - lo);
    }
    for (int64_t i = 1; i < n; i++) {
        double x = sv[i];
        int32_t kx = sk[i];
        int64_t t = i;
        for (; t > 0 && sv[t - 1] > x; t--)
            sv[t] = sv[t - 1], sk[t] = sk[t - 1];
        sv[t] = x, sk[t] = kx;
    }
}
typedef double wb_v8d __attribute__((vector_size(64)));
typedef int64_t wb_v8i __attribute__((vector_size(64)));

/* c [q] = #{t < n: sv [t] d < E [q]} for q < ne: where output j's entries
 * (sv ascending, d finite) cross the x edges E (bin_of (x) >= b exactly
 * when x >= E_b): a count over the row, without a branch on the data. sv
 * has NaN after its n (NaN d < E is false), so the count goes 8 at a time
 * to the end. */
WB_SIMD_BODY below_body(int32_t *c, const double *sv, int64_t n, double d, const double *E,
                        int ne)
{
    for (int q = 0; q < ne; q++) {
        wb_v8i m = {0};
        for (int64_t t = 0; t < n; t += 8) {
            wb_v8d x;
            memcpy(&x, sv + t, sizeof x);
            m += x * d < E[q];
        }
        int64_t k = 0;
        for (int l = 0; l < 8; l++)
            k -= m[l];
        c[q] = (int32_t)k;
    }
}
WB_SIMD_KERNEL(below, below_body,
               (int32_t * c, const double *sv, int64_t n, double d, const double *E, int ne),
               (c, sv, n, d, E, ne))

/* The end of the run before edge E of output j (d finite, not 0): the
 * first t at which sv [t] d is on E's far side, i.e. the count of entries
 * before E (d > 0: sv [t] d < E, a prefix; d < 0: the rest). The count
 * goes over the buckets of sort_row around E / d (8 at a time from a
 * multiple of 8: the entries before and after are on known sides, and
 * the NaN after the row count as none) when the entries just outside them
 * show that they hold the change, as they mostly do (two checks that go
 * the same way nearly always); else over the row. */
static int32_t run_end(const srt *S, int64_t n, double d, double hd, double E)
{
    const double *sv = S->sv;
    double f = E * hd - S->h0 * S->sc; /* (hd = sc / 2d) */
    int64_t q = f >= 0 ? (f < (double)S->nb ? (int64_t)f : S->nb - 1) : 0; /* NaN: 0 */
    int64_t a = q >= 2 ? S->bend[q - 2] & ~(int64_t)7 : 0;
    int64_t e = q + 1 < S->nb ? S->bend[q + 1] : n;
    e = a + (e - a + 7) / 8 * 8;
    int32_t c, pos = d > 0; /* (no branch on which ends are the row's) */
    int ok = (a == 0) | ((sv[a > 0 ? a - 1 : 0] * d < E) == pos);
    ok &= (e >= n) | ((sv[e < n ? e : n - 1] * d < E) != pos);
    if (ok) {
        WB_SIMD_CALL(below)(&c, sv + a, e - a, d, &E, 1);
        return d > 0 ? (int32_t)a + c : (int32_t)(e < n ? e : n) - c;
    }
    WB_SIMD_CALL(below)(&c, sv, n, d, &E, 1);
    return d > 0 ? c : (int32_t)n - c;
}

/* Output j's runs along the sorted inputs (into S's rend, rbin from nr
 * on; their ends marked in slot): b and e the x bins at either end (b !=
 * e). The entries' bins are monotone along the inputs, so the run of bin
 * c ends where as many entries lie before c's far edge as the row has
 * (run_end); a run of no entries (an empty bin between) is dropped. Not a
 * search, whose steps' branches went either way at random from row to
 * row. */
static void find_runs(const h2 *h, srt *S, int64_t n, double d, int b, int e)
{
    int dir = b < e ? 1 : -1;
    int32_t last = 0; /* the last run's end */
    double hd = 0.5 * S->sc / d;
    for (int c = b; c != e; c += dir) { /* edges b + 1 .. e up, or b .. e + 1 down */
        int at = dir > 0 ? c + 1 : c;
        if (isnan(h->edge[at]))
            h->edge[at] = wb_hist_edge_of(at, h->xlo, h->xw, h->xinv, h->nx);
        int32_t end = run_end(S, n, d, hd, h->edge[at]); /* 1 .. n - 1 */
        S->rend[S->nr] = end, S->rbin[S->nr] = c, S->slot[end] = 0;
        S->nr += end > last, last = end;
    }
    S->rend[S->nr] = (int32_t)n, S->rbin[S->nr++] = e;
}

/* Block j0's counts by y bin (ysnap's G from g on, and the one after them,
 * the rest) out of (x0, y) and into their bins, for the first nq of them
 * (nq <= G + 1): each run gets the difference of the counts before its end
 * and before its start. Into C, output l's into copy l mod 4, and out of x0
 * summed over the block first: the outputs' counts mostly go to the same
 * few bins, and a chain of increments of one bin in memory costs a
 * store-to-load round trip each. G is a constant (4 or 8), so that the
 * loops over the bins unroll and their counts stay in registers. */
static inline __attribute__((always_inline)) void add_block_g(h2 *h, const srt *S, int64_t j0,
                                                              int64_t a0, int64_t a1, int64_t l0,
                                                              int64_t l1, int32_t g, const int G,
                                                              int nq)
{
    const int32_t *restrict rend = S->rend, *restrict rbin = S->rbin, *restrict tot = S->tot;
    const int32_t *restrict rchk = S->rchk, *restrict rslot = S->rslot;
    const int32_t *restrict aj = S->e0, *restrict ac = S->e1;
    const uint8_t *restrict snap = S->snap;
    const lane *restrict ln = S->ln;
    const int32_t *T = tot + 512 * (int64_t)rchk[S->nr]; /* the totals */
    int64_t ny = h->ny, nb = (int64_t)h->nx * ny, out[9] = {0};
    for (int64_t i = a0; i < a1; i++) { /* one bin c: N_y moves */
        int64_t l = aj[i] - j0;
        int32_t *restrict C = h->C + (i & 3) * nb + g + ac[i] * ny;
#pragma GCC unroll 8
        for (int q = 0; q < G; q++)
            C[q] += T[64 * q + l], out[q] += T[64 * q + l], out[G] -= T[64 * q + l];
        out[G] += rend[S->nr];
        if (nq > G)
            C[G] += (int32_t)(rend[S->nr] - T[l] - T[64 + l] - T[128 + l] - T[192 + l] -
                              (G > 4 ? T[256 + l] + T[320 + l] + T[384 + l] + T[448 + l] : 0));
    }
    for (int64_t i = l0; i < l1; i++) {
        int32_t prev[9] = {0}, P[9];
        int64_t l = ln[i].j - j0;
        int32_t *restrict C = h->C + (i & 3) * nb + g;
        for (int64_t u = ln[i].r0; u < ln[i].r1; u++) {
            const int32_t *Tu = tot + 512 * (int64_t)rchk[u] + l;
            const uint8_t *Su = snap + 512 * (int64_t)rslot[u] + l;
            int32_t c = rbin[u];
            P[G] = rend[u]; /* the rest: all before the end, less the G bins */
#pragma GCC unroll 8
            for (int q = 0; q < G; q++)
                P[q] = Tu[64 * q] + Su[64 * q], P[G] -= P[q];
#pragma GCC unroll 9
            for (int q = 0; q <= G; q++) {
                if (q < nq && c >= 0)
                    C[c * ny + q] += P[q] - prev[q];
                prev[q] = P[q];
            }
        }
#pragma GCC unroll 9
        for (int q = 0; q <= G; q++)
            out[q] += prev[q];
    }
    for (int q = 0; q < nq; q++)
        h->H[h->x0 * ny + g + q] -= out[q];
}

/* Moves the row's kernel entries out of (x0, y) where they do not belong,
 * with v [n] scratch: when all s a are finite, sorted ((4) of the header):
 * each output's entries at the smallest and largest s a give its x bins'
 * range; one that spans bins finds where along the inputs its bin changes
 * (find_runs), those positions are the row's cuts; then for each block of
 * 64 outputs, one ysnap pass for each 4 or 8 y bins counts them before
 * every cut, and add_block moves the counts. Else count_row_unsorted. */
static void count_row(h2 *h, row_in r, srt *S, double *v, int64_t *off, int32_t *N,
                      const uint8_t *yb, int32_t y0, int32_t y1)
{
    int64_t n = r.n, ncut = 0, any_one = 0, x0 = h->x0;
    double m0 = INFINITY, m1 = INFINITY, M0 = -INFINITY, M1 = -INFINITY;
    int finite = 1;
    for (int64_t t = 0; t < n; t++) /* (apart from the minima, which do not vectorise) */
        v[t] = r.s * (double)r.f[t], finite &= isfinite(v[t]);
    for (int64_t t = 0; t + 1 < n; t += 2) { /* two chains of minima and maxima, not one */
        m0 = v[t] < m0 ? v[t] : m0, m1 = v[t + 1] < m1 ? v[t + 1] : m1;
        M0 = v[t] > M0 ? v[t] : M0, M1 = v[t + 1] > M1 ? v[t + 1] : M1;
    }
    double vmin = fmin(m0, m1), vmax = fmax(M0, M1);
    vmin = n & 1 && v[n - 1] < vmin ? v[n - 1] : vmin;
    vmax = n & 1 && v[n - 1] > vmax ? v[n - 1] : vmax;
    if (!finite || r.O < 64) { /* a sort for fewer outputs costs more than it saves */
        count_row_unsorted(h, r, v, vmin, vmax, finite, off, N, yb, y0, y1);
        return;
    }
    if (h->in_c + n * r.O > INT32_MAX) /* add_block's counts into C, n an output at most */
        flush_copies(h);
    h->in_c += n * r.O;
    sort_row(S, v, r.idx, n, vmin, vmax);
    for (int q = 0; q < 8; q++)
        S->sv[n + q] = NAN;
    WB_SIMD_CALL(xbins)(S->e0, S->dd, r.O, S->sv[0], h->xlo, h->xinv, h->nx, 1);
    WB_SIMD_CALL(xbins)(S->e1, S->dd, r.O, S->sv[n - 1], h->xlo, h->xinv, h->nx, 1);
    for (int64_t t = 0; t < n; t++)
        S->slot[t] = -1;
    S->nr = S->nl = S->na = 0;
    /* e0, e1 become the list of one bin each, and the lanes are listed
     * (their r0, r1 hold the bins at either end until their runs are
     * found): no branch on which outputs span, which is random */
    for (int64_t j = 0; j < r.O; j++) {
        int b = S->e0[j], e = S->e1[j], fin = isfinite(r.d[j]);
        S->e0[S->na] = (int32_t)j, S->e1[S->na] = b;
        S->na += fin && b == e && b != x0;
        lane *L = &S->ln[S->nl];
        L->j = j, L->r0 = b, L->r1 = e;
        S->nl += !(fin && b == e);
    }
    for (int64_t i = 0; i < S->nl; i++) {
        lane *L = &S->ln[i];
        int b = (int)L->r0, e = (int)L->r1;
        L->r0 = S->nr;
        if (isfinite(r.d[L->j]))
            find_runs(h, S, n, r.d[L->j], b, e);
        else
            any_one = 1, S->rend[S->nr] = (int32_t)n, S->rbin[S->nr++] = -1;
        L->r1 = S->nr;
    }
    S->rend[S->nr] = (int32_t)n; /* (a run past the last: the totals, for add_block) */
    for (int64_t t = 1; t < n; t++) { /* (no branch either) */
        int z = S->slot[t] == 0;
        S->cut[ncut] = (int32_t)t, S->slot[t] = z ? (int32_t)ncut : -1, ncut += z;
    }
    for (int64_t u = 0; u <= S->nr; u++) { /* the end n: tot's last row, a zero snap */
        int64_t p = S->rend[u];
        S->rchk[u] = (int32_t)(p < n ? p / 255 : (n + 254) / 255);
        S->rslot[u] = p < n ? S->slot[p] : (int32_t)ncut;
    }
    memset(S->snap + 512 * ncut, 0, 512);
    int G = y1 - y0 <= 4 ? 4 : 8, cmp = y1 - y0 == G; /* the bin after G is the rest */
    for (int64_t j0 = 0, a0 = 0, l0 = 0, a1, l1; j0 < r.O; j0 += 64, a0 = a1, l0 = l1) {
        for (a1 = a0; a1 < S->na && S->e0[a1] < j0 + 64; a1++)
            ;
        for (l1 = l0; l1 < S->nl && S->ln[l1].j < j0 + 64; l1++)
            ;
        for (int32_t g = y0; g <= y1 && (a1 > a0 || l1 > l0); g += G) {
            int nq = y1 - g + 1 < G ? y1 - g + 1 : G + cmp;
            if (G == 4) {
                WB_SIMD_CALL(ysnap4)(S->snap, S->tot, yb + j0, S->sk, n, r.O, g, S->cut, ncut);
                add_block_g(h, S, j0, a0, a1, l0, l1, g, 4, nq);
            } else {
                WB_SIMD_CALL(ysnap8)(S->snap, S->tot, yb + j0, S->sk, n, r.O, g, S->cut, ncut);
                add_block_g(h, S, j0, a0, a1, l0, l1, g, 8, nq);
            }
            if (cmp)
                break;
        }
    }
    if (!any_one)
        return;
    for (int64_t t = 0; t < n; t++)
        off[t] = (int64_t)S->sk[t] * r.O;
    for (int64_t j = 0; j < r.O; j++)
        if (!isfinite(r.d[j]))
            count_output(h, S->sv, off, n, r.d[j], yb + j, 0);
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
    /* doubles: v [I], off [I] and H [nx ny] (int64), sv [I], dd [O], ln
     * [O] (three each); then C and M [4 nx ny], xb [I], N [ny O16], idx [I] and
     * srt's int32 (sk, cnt, slot, cut, e0, e1, rend, rbin, rchk, rslot, tot), fbuf [I]
     * (floats), yb [I O + 64], snap and byb [O] (bytes) */
    int64_t O16 = (O + 15) & ~(int64_t)15, O64 = (O + 63) & ~(int64_t)63;
    int64_t xe = O64 * (nx - 1); /* the cuts: fewer than I and the outputs' x edges */
    size_t nrun = (size_t)O * (size_t)(I < nx ? I : nx) + 1, nsnap = (size_t)(I < xe ? I : xe) + 1;
    size_t ntot = ((size_t)I / 255 + 2) * 512;
    size_t nint = 8 * (size_t)nx * ny + (size_t)ny * (size_t)O16 + 9 * (size_t)I + 2 +
                  2 * (size_t)O + 4 * nrun + ntot;
    size_t nbytes = 4 * nint + 4 * (size_t)I + (size_t)I * (size_t)O + 64 + 512 * nsnap + O;
    size_t nd = 3 * (size_t)I + 8 + 4 * (size_t)O + (size_t)nx * (size_t)ny + (nbytes + 7) / 8 +
                (size_t)nx + 1;
    _Static_assert(sizeof(lane) <= 3 * sizeof(double), "a lane in three doubles");
    double *v = wb_persample_dscratch(p, nd, err);
    if (!v)
        return err ? err->code : WB_ENOMEM;
    int64_t *off = (int64_t *)(v + I);
    h2 h = {off + I, NULL, NULL, NULL, 0, xlo, nx / (xhi - xlo), (xhi - xlo) / nx, NULL, nx, ny,
            0, 0, -1};
    double yinv = ny / (yhi - ylo);
    srt S = {.sv = (double *)(h.H + (size_t)nx * ny)};
    S.dd = S.sv + I + 8, S.ln = (lane *)(S.dd + O); /* (sv: 8 NaN after a row) */
    h.edge = S.dd + 4 * O;
    for (int b = 0; b <= nx; b++)
        h.edge[b] = NAN;
    h.C = (int32_t *)(h.edge + nx + 1), h.M = h.C + 4 * (size_t)nx * ny;
    h.xb = h.M + 4 * (size_t)nx * ny;
    int32_t *N = h.xb + I, *kidx = N + (size_t)ny * O16;
    S.sk = kidx + I, S.cnt = S.sk + I, S.slot = S.cnt + 4 * I + 2, S.cut = S.slot + I;
    S.e0 = S.cut + I, S.e1 = S.e0 + O, S.rend = S.e1 + O, S.rbin = S.rend + nrun;
    S.rchk = S.rbin + nrun, S.rslot = S.rchk + nrun, S.tot = S.rslot + nrun;
    float *fbuf = (float *)(S.tot + ntot);
    uint8_t *yb = (uint8_t *)(fbuf + I);
    S.snap = yb + I * O + 64;
    uint8_t *byb = S.snap + 512 * nsnap; /* [O] the bias's y bins */
    memset(yb + I * O, 0, 64);
    h.x0 = bin_of(0.0, xlo, h.xinv, nx);
    int32_t y0 = 0, y1 = -1;
    if (I * O > 0)
        WB_SIMD_CALL(ybins)(yb, w, I * O, ylo, yinv, ny, &y0, &y1);
    h.yl = I * O > 0 ? y0 : ny, h.yh = I * O > 0 ? y1 : -1;
    for (int64_t j = 0; bias && j < O; j++) {
        byb[j] = (uint8_t)bin_of(bias[j], ylo, yinv, ny);
        h.yl = byb[j] < h.yl ? byb[j] : h.yl, h.yh = byb[j] > h.yh ? byb[j] : h.yh;
    }
    for (int64_t x = 0, nb = (int64_t)nx * ny, wy = h.yh - h.yl + 1; x < nx && wy > 0; x++) {
        memset(h.H + x * ny + h.yl, 0, (size_t)wy * sizeof *h.H);
        for (int64_t c = 0; c < 8; c++) /* C's four copies, then M's */
            memset(h.C + c * nb + x * ny + h.yl, 0, (size_t)wy * sizeof *h.C);
    }
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
        for (int64_t j = 0; j < O; j++)
            S.dd[j] = d[j];
        if (bias) { /* the bias's entries, into C's four copies in turn */
            if (h.in_c + O > INT32_MAX)
                flush_copies(&h);
            h.in_c += O;
            WB_SIMD_CALL(xbins)(S.e0, S.dd, O, scale, xlo, h.xinv, nx, ny);
            for (int64_t j = 0; j < O; j++)
                h.C[(j & 3) * (int64_t)nx * ny + S.e0[j] + byb[j]]++;
        }
        if (sp) {
            n = sp->row[i + 1] - sp->row[i];
            f = sp->val + sp->row[i], idx = sp->idx + sp->row[i];
        } else {
            n = wb_dense_row_nonzeros(kidx, fbuf, a + i * I, I);
            f = fbuf, idx = kidx;
        }
        if (n > 0)
            count_row(&h, (row_in){f, idx, n, d, O, O16, O64, scale}, &S, v, off, N, yb, y0,
                      y1);
    }
    flush_copies(&h);
    for (int64_t x = 0; x < nx; x++)
        for (int64_t q = x * ny + h.yl; q <= x * ny + h.yh; q++)
            hist[q] += (double)h.H[q];
    return WB_OK;
}
