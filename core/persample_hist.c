/* persample_hist.c - grad_hist: the exact histogram of a Dense layer's
 * per-sample gradient entries (wb_persample_hist, persample.h) without
 * visiting its B * I * O entries.
 *
 * Legend: B, I, O, s as in persample.h. For one row, v [n] = s a_ik over its
 * non-zero inputs and d = dz_ij; an entry is v * d, computed in double.
 *
 * Exactness rests on monotonicity: for a finite d, v -> fl(v * d) is
 * monotone (rounding is), and so is an entry's bin (each step of bin_of is
 * a monotone rounding). Hence (1) when the smallest and the largest v land
 * in one bin, output j's n entries all do: one O(1) step, and most outputs
 * of a first layer take it (their entries are small against a bin), and
 * a row where all do is counted from its inputs' extremes alone, before it
 * is compacted or keyed (tried while such rows are one in six of the
 * call); their bins are then tallied in a vector kernel of byte
 * counters; (2) otherwise its entries lie in the bins from that of its
 * smallest to that of its largest. Counted one of three ways, whichever
 * costs least for the row's size and the spans (COST_*): every entry's bin
 * on its own into a table (for a d that is not finite: inf * 0 is NaN, not
 * monotone; or 32 bins or more); every entry's bin on its own into byte
 * counters held in vector lanes (count_bytes: no table store an entry,
 * and no entry can fall outside the counters, as monotonicity keeps every
 * bin within the two); or, when many outputs span, from one number per
 * edge spanned, the entries >= E_b (E_b the smallest double of bin b,
 * found on its first use in a call; those in bin b or above are the ones
 * >= E_b), taken from the row's v grouped by a counting sort into 2n cells
 * of equal width over [vmin, vmax], without sorting within a cell
 * (ge_cells). There only the
 * cells of a narrow window about x = fl(E_b fl(1 / d)) are compared entry
 * by entry; the others are decided by their side of it, which is exact
 * because (for E_b and x normal, d != 0 finite; otherwise the window is
 * every cell): fl(v d) >= E when v d >= E (E is a double), and fl(v d) < E
 * when v d < E - 2^-53 |E| (the midpoint between E and the double below
 * is no further below E), so only v d in [E - 2^-53 |E|, E) are in doubt,
 * i.e. v within 2^-53 |E / d| of E / d, and x is within about 2^-52 |E /
 * d| of E / d (two roundings): a window of 2^-40 |x| either side holds
 * every doubtful v with room to spare, and as cell_at is monotone a v in a
 * cell before the window's is below it, one in a cell after it above.
 * Products in double, comparisons with E_b: no rounding of a guess ever
 * decides a count.
 *
 * Rows on a grid take none of those three ways (persample_hist_grid.c), and
 * their counts go to a difference array (persample_hist.h): an output whose
 * entries lie in bins lo .. hi adds n at lo and, per edge b in (lo, hi],
 * its entries >= E_b at b, with no running total from edge to edge. A row
 * is on the grid when every non-zero input f of it has a key k = (int)(255
 * f + 1/2) in 1 .. 255 and is the one float of its key in the call (8-bit
 * pixels over 255, whichever way a loader divides); such a row is a table
 * of counts by key, S[k] the inputs of key k or above. The key is monotone
 * in f, so distinct keys' floats rise with k, and for an output d the
 * entries >= E_b are the keys from some m up (s d > 0) or below it (s d <
 * 0): m is guessed from E_b 255 / (s d) for all the row's (output, edge)
 * pairs in one vector loop, which also checks each guess exactly (fl(fl(s
 * f_k) d) >= E_b turns between m - 1 and m, the products computed as the
 * definition does); the rare guesses that fail are walked until it does.
 * The count is S[m]. Keys the row lacks keep the float of another row or
 * fl(k / 255), so that the walk sees a monotone table. A row off the grid
 * (another float of a key, a key out of range, s f not finite) is counted
 * as above, and the later rows of the call are too (one row off the grid:
 * the layer is not an image's).
 */
#include "persample.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

#include "dense.h"
#include "persample_hist.h"
#include "persample_impl.h"
#include "simd.h"

/* bin_of without branches (nb = nbins as a double), for the vector kernel. */
static inline int32_t bin_vec(double e, double lo, double inv, double nb)
{
    double f = (e - lo) * inv;
    f = f >= 0 ? f : 0;
    f = f < nb ? f : nb - 1;
    return (int32_t)f;
}

/* The lowest (blo) and highest (bhi) bins of output j's entries (those of
 * vmin d_j and vmax d_j, in either order) and its bias's (bb, of s d_j);
 * e[0], e[1] = the least blo and the largest bhi of the outputs with blo <
 * bhi (nb and 0 when none has); e[2], e[3] the least and largest blo, e[4],
 * e[5] bb's; e[6] whether a d_j is inf or NaN. */
WB_SIMD_BODY ends_body(int32_t *blo, int32_t *bhi, int32_t *bb, int32_t *e, const float *d,
                       int64_t O, double vmin, double vmax, double s, double lo, double inv,
                       double nb)
{
    int32_t none = (int32_t)nb, elo = none, ehi = 0, llo = none, lhi = 0, blo_ = none, bhi_ = 0;
    int32_t nf = 0;
    for (int64_t j = 0; j < O; j++) {
        double dj = d[j];
        int32_t bits;
        memcpy(&bits, &d[j], sizeof bits);
        nf |= (bits & 0x7f800000) == 0x7f800000;
        int32_t b1 = bin_vec(vmin * dj, lo, inv, nb), b2 = bin_vec(vmax * dj, lo, inv, nb);
        int32_t l = b1 < b2 ? b1 : b2, h = b1 < b2 ? b2 : b1, b = bin_vec(s * dj, lo, inv, nb);
        blo[j] = l, bhi[j] = h, bb[j] = b;
        int32_t el = l < h ? l : none, eh = l < h ? h : 0;
        elo = el < elo ? el : elo;
        ehi = eh > ehi ? eh : ehi;
        llo = l < llo ? l : llo;
        lhi = l > lhi ? l : lhi;
        blo_ = b < blo_ ? b : blo_;
        bhi_ = b > bhi_ ? b : bhi_;
    }
    e[0] = elo, e[1] = ehi, e[2] = llo, e[3] = lhi, e[4] = blo_, e[5] = bhi_, e[6] = nf;
}
WB_SIMD_KERNEL(ends, ends_body,
               (int32_t *blo, int32_t *bhi, int32_t *bb, int32_t *e, const float *d, int64_t O,
                double vmin, double vmax, double s, double lo, double inv, double nb),
               (blo, bhi, bb, e, d, O, vmin, vmax, s, lo, inv, nb))

/* ends's kernel for row d [O], blo, bhi, bb [O16] (O rounded up to 16):
 * a few outputs (a last layer's ten) would run as the vector loop's
 * scalar tail, so they are copied to dpad [O16] and padded with copies of
 * d[0] (which change no extreme of e) to run as whole vectors. */
static void ends(int32_t *blo, int32_t *bhi, int32_t *bb, int32_t *e, const float *d, int64_t O,
                 float *dpad, double vmin, double vmax, double s, double lo, double inv,
                 double nb)
{
    int64_t O16 = (O + 15) & ~(int64_t)15;
    if (O < 64 && O16 > O) {
        memcpy(dpad, d, (size_t)O * sizeof *d);
        for (int64_t j = O; j < O16; j++)
            dpad[j] = d[0];
        d = dpad, O = O16;
    }
    WB_SIMD_CALL(ends)(blo, bhi, bb, e, d, O, vmin, vmax, s, lo, inv, nb);
}

/* The order of the doubles as unsigned keys (and back), for bisection. */
static uint64_t key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u >> 63 ? ~u : u | (1ull << 63);
}

static double of_key(uint64_t k)
{
    uint64_t u = k >> 63 ? k & ~(1ull << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* E_b: the smallest double e with bin_of(e) >= b (0 < b < nbins; +inf
 * when none is), by the doubles' order as keys: from the nominal edge lo +
 * b w, steps of 1, 2, 4, ... doubles away until they bracket the edge,
 * then a bisection. The nominal edge is a few ulps of lo off, which near 0
 * are many ulps of the edge: a walk one ulp at a time may take millions,
 * a bisection over all doubles 64 steps; this takes about twice the log of
 * the distance. */
double wb_hist_edge_of(int b, double lo, double w, double inv, int nbins)
{
    const uint64_t kneg = key_of(-INFINITY), kpos = key_of(INFINITY);
    if (bin_of(INFINITY, lo, inv, nbins) < b)
        return INFINITY;
    double e = lo + b * w;
    uint64_t no = kneg, yes = kpos, k = isfinite(e) ? key_of(e) : key_of(0.0), step = 1;
    if (bin_of(of_key(k), lo, inv, nbins) >= b) { /* bin < b at no, >= b at yes */
        for (yes = k; yes - kneg > step; step *= 2) {
            if (bin_of(of_key(yes - step), lo, inv, nbins) < b) {
                no = yes - step;
                break;
            }
            yes -= step;
        }
    } else {
        for (no = k; kpos - no > step; step *= 2) {
            if (bin_of(of_key(no + step), lo, inv, nbins) >= b) {
                yes = no + step;
                break;
            }
            no += step;
        }
    }
    while (yes - no > 1) {
        uint64_t mid = no + (yes - no) / 2;
        if (bin_of(of_key(mid), lo, inv, nbins) >= b)
            yes = mid;
        else
            no = mid;
    }
    return of_key(yes);
}

/* One row's non-zero inputs grouped by cells of equal width over [vmin,
 * vmax] (a counting sort without the sort within a cell): cell c holds
 * u[tab[c] .. tab[c + 1]), in no order; u[n] is readable. */
typedef struct celled_row {
    double *u;
    int32_t *tab;
    int64_t n, K; /* K cells */
    double vmin, inv, last; /* cell_at(x, vmin, inv, last = K - 1) */
} celled_row;

/* floor((x - vmin) inv) clamped to [0, last] (NaN to 0), without a branch
 * (also the vector kernel's): monotone in x, each step being a monotone
 * rounding. */
static inline int32_t cell_at(double x, double vmin, double inv, double last)
{
    double f = (x - vmin) * inv;
    f = f >= 0 ? f : 0;
    f = f < last ? f : last;
    return (int32_t)f;
}

/* cell [n] = the cells of v [n]. */
WB_SIMD_BODY cells_body(int32_t *cell, const double *v, int64_t n, double vmin, double inv,
                        double last)
{
    for (int64_t t = 0; t < n; t++)
        cell[t] = cell_at(v[t], vmin, inv, last);
}
WB_SIMD_KERNEL(cells, cells_body,
               (int32_t *cell, const double *v, int64_t n, double vmin, double inv,
                double last),
               (cell, v, n, vmin, inv, last))

/* Groups v [n] (finite, vmin < vmax) into r->u by K = 2n cells (half a v
 * a cell on average). cell [n] and tab [2n + 2] are scratch. */
static void bucket_row(celled_row *r, const double *v, int64_t n, double vmin, double vmax,
                       int32_t *cell)
{
    int32_t *tab = r->tab;
    int64_t K = 2 * n;
    r->n = n, r->K = K, r->vmin = vmin, r->inv = (double)K / (vmax - vmin);
    r->last = (double)(K - 1);
    memset(tab, 0, (size_t)(K + 2) * sizeof *tab);
    WB_SIMD_CALL(cells)(cell, v, n, vmin, r->inv, r->last);
    for (int64_t t = 0; t < n; t++)
        tab[cell[t] + 2]++;
    for (int64_t c = 2; c <= K + 1; c++) /* tab[c + 1]: the start of cell c */
        tab[c] += tab[c - 1];
    double *u = r->u;
    for (int64_t t = 0; t < n; t++) /* after this tab[c] is the start of cell c */
        u[tab[cell[t] + 1]++] = v[t];
    u[n] = vmin;
}

/* The number of p < n with fl(u[p] d) >= E (finite d != 0, id = 1 / d).
 * The v beyond the window [x - 2^-40 |x|, x + 2^-40 |x|] about x = E / d
 * are decided by their side of it (see the header), those in its cells
 * compared one by one; out of the range where that holds the window is
 * every cell. */
static inline int64_t ge_cells(const celled_row *r, double d, double id, double E)
{
    const double *u = r->u;
    double x = E * id, ax = fabs(x), xl = x - ax * 0x1p-40, xh = x + ax * 0x1p-40;
    if (!(fabs(E) >= 0x1p-1000 && ax >= 0x1p-1000 && ax <= 0x1p1000))
        xl = -INFINITY, xh = INFINITY;
    int64_t p0 = r->tab[cell_at(xl, r->vmin, r->inv, r->last)];
    int64_t p1 = r->tab[cell_at(xh, r->vmin, r->inv, r->last) + 1];
    int64_t g = d > 0 ? r->n - p1 : p0; /* the cells after the window, or before it */
    g += (p1 > p0) & (u[p0] * d >= E); /* a cell holds half a v on average */
    for (int64_t p = p0 + 1; p < p1; p++)
        g += u[p] * d >= E;
    return g;
}

/* Counts output j's n entries (finite d; in bins lo < hi) from the
 * grouped row: the entries in bin b or above are those >= E_b. */
static void count_cells(hist_ctx *h, const celled_row *r, double d, int lo, int hi)
{
    double id = 1 / d; /* the windows need no division */
    int64_t above = r->n; /* the entries in bin b - 1 or up */
    for (int b = lo + 1; b <= hi; b++) {
        int64_t g = ge_cells(r, d, id, edge(h, b));
        h->cnt[b - 1] += above - g;
        above = g;
    }
    h->cnt[hi] += above;
}

/* Adds one (a count shifted into its byte) to counter word g of the eight
 * 32-bit words a0 .. a7 (4 G counters, G in 1, 2, 4, 8 a constant of the
 * kernel): branch-free, so that gcc keeps the words in vector registers.
 * Shared by bytes_body and tally_body. */
#define BYTE_ADD(one, g, G)                                 \
    do {                                                    \
        a0 += (G) == 1 ? (one) : (one) & -(uint32_t)((g) == 0); \
        a1 += (G) > 1 ? (one) & -(uint32_t)((g) == 1) : 0;  \
        a2 += (G) > 2 ? (one) & -(uint32_t)((g) == 2) : 0;  \
        a3 += (G) > 2 ? (one) & -(uint32_t)((g) == 3) : 0;  \
        a4 += (G) > 4 ? (one) & -(uint32_t)((g) == 4) : 0;  \
        a5 += (G) > 4 ? (one) & -(uint32_t)((g) == 5) : 0;  \
        a6 += (G) > 4 ? (one) & -(uint32_t)((g) == 6) : 0;  \
        a7 += (G) > 4 ? (one) & -(uint32_t)((g) == 7) : 0;  \
    } while (0)

/* c[r] += the entries of v [n] d in bin blo + r, r < 4 G (n <= 255,
 * finite d; every entry in those bins): entry t adds 1 at byte r & 3 of
 * word r >> 2, and the words are added to c at the end. A vector counts
 * eight entries at once with no store to a table; a byte never carries,
 * as it counts at most n <= 255 entries summed over the lanes. G is a
 * constant in each kernel (1, 2, 4 or 8), so the words stay in registers
 * and the adds to c are one fixed-length loop; 32-bit words, as gcc 12
 * vectorises a variable shift of 32 bits, not of 64. */
WB_SIMD_BODY bytes_body(int64_t *c, const double *v, int64_t n, double d, double lo,
                        double inv, double nb, int32_t blo, int G, int clamp)
{
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int64_t t = 0; t < n; t++) {
        /* bin_vec, its clamps left out when the bins lie inside (clamp 0) */
        int32_t b = clamp ? bin_vec(v[t] * d, lo, inv, nb) : (int32_t)((v[t] * d - lo) * inv);
        int32_t r = b - blo, g = r >> 2;
        uint32_t one = 1u << (8 * (r & 3));
        BYTE_ADD(one, g, G);
    }
    uint32_t a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    for (int q = 0; q < 4 * G; q++)
        c[q] += a[q >> 2] >> (8 * (q & 3)) & 0xff;
}
#define BYTES_PARAMS                                                                     \
    (int64_t *c, const double *v, int64_t n, double d, double lo, double inv, double nb, \
     int32_t blo)
WB_SIMD_KERNEL(bytes1, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 1, 0))
WB_SIMD_KERNEL(bytes2, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 2, 0))
WB_SIMD_KERNEL(bytes4, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 4, 0))
WB_SIMD_KERNEL(bytes8, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 8, 0))
WB_SIMD_KERNEL(bytes1c, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 1, 1))
WB_SIMD_KERNEL(bytes2c, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 2, 1))
WB_SIMD_KERNEL(bytes4c, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 4, 1))
WB_SIMD_KERNEL(bytes8c, bytes_body, BYTES_PARAMS, (c, v, n, d, lo, inv, nb, blo, 8, 1))

/* Counts output j's n entries v[t] d (finite d; in bins lo < hi, hi - lo <
 * 32) bin by bin with byte counters (bytes_body), 240 entries at a time:
 * each entry's own bin, so exact whatever the span, and no entry is lost
 * as monotonicity keeps every bin within lo .. hi. The kernel adds 4 G
 * counters, those past hi 0, to the bins from lo on (cnt has room: its
 * copies of the bins follow). v holds n16 (n rounded up to 16) entries,
 * those past n being vmin, so that the kernel runs no scalar tail: their
 * entry is in bin lo when d > 0, hi when d < 0, and is taken off there.
 * When lo > 0 and hi < nbins - 1 no entry is clamped into an end bin (its
 * bin >= 1 means (e - lo) inv >= 1, < nbins - 1 that it is below nbins -
 * 1; a NaN or inf entry lies in an end bin): the kernel leaves bin_vec's
 * clamps out, the truncation alone giving the same bin. */
static void count_bytes(hist_ctx *h, const double *v, int64_t n, int64_t n16, double d, int lo,
                        int hi)
{
    int span = hi - lo, clamp = lo == 0 || hi == h->nbins - 1;
    int64_t *c = h->cnt + lo;
    double nb = h->nbins;
    h->cnt[d > 0 ? lo : hi] -= n16 - n;
    for (int64_t t0 = 0; t0 < n16; t0 += 240) {
        int64_t m = n16 - t0 < 240 ? n16 - t0 : 240;
        if (!clamp)
            (span < 4    ? WB_SIMD_CALL(bytes1)
             : span < 8  ? WB_SIMD_CALL(bytes2)
             : span < 16 ? WB_SIMD_CALL(bytes4)
                         : WB_SIMD_CALL(bytes8))(c, v + t0, m, d, h->lo, h->inv, nb, lo);
        else
            (span < 4    ? WB_SIMD_CALL(bytes1c)
             : span < 8  ? WB_SIMD_CALL(bytes2c)
             : span < 16 ? WB_SIMD_CALL(bytes4c)
                         : WB_SIMD_CALL(bytes8c))(c, v + t0, m, d, h->lo, h->inv, nb, lo);
    }
}

/* bin [n] = the bins of v[t] d (also NaN and inf: bin_of's). */
WB_SIMD_BODY bins_body(int32_t *bin, const double *v, int64_t n, double d, double lo,
                       double inv, double nb)
{
    for (int64_t t = 0; t < n; t++)
        bin[t] = bin_vec(v[t] * d, lo, inv, nb);
}
WB_SIMD_KERNEL(bins, bins_body,
               (int32_t *bin, const double *v, int64_t n, double d, double lo, double inv,
                double nb),
               (bin, v, n, d, lo, inv, nb))

/* Every entry v[t] d on its own (d not finite, or many bins spanned): the
 * bins by the vector kernel into bin [n] (scratch), counted into the four
 * copies in turn. */
static void count_each(hist_ctx *h, const double *v, int64_t n, double d, int32_t *bin)
{
    WB_SIMD_CALL(bins)(bin, v, n, d, h->lo, h->inv, (double)h->nbins);
    int64_t *c4 = h->cnt + h->nbins;
    for (int64_t t = 0; t < n; t++)
        c4[(t & 3) * h->nbins + bin[t]]++;
}

/* Floats as int32 keys in the same order (-0 just below +0), and back (the
 * map is its own inverse): min and max reductions vectorise on ints. */
static inline int32_t fkey(int32_t bits)
{
    return bits ^ (int32_t)((uint32_t)(bits >> 31) >> 1);
}

/* v [n] = s f, the extreme keys of f and whether an f is inf or NaN. */
WB_SIMD_BODY scan_body(double *v, const float *f, int64_t n, double s, int32_t *kmin,
                       int32_t *kmax, int *bad)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN, nf = 0;
    for (int64_t t = 0; t < n; t++) {
        int32_t bits;
        memcpy(&bits, &f[t], sizeof bits);
        int32_t k = fkey(bits);
        lo = k < lo ? k : lo;
        hi = k > hi ? k : hi;
        nf |= (bits & 0x7f800000) == 0x7f800000;
        v[t] = s * f[t];
    }
    *kmin = lo, *kmax = hi, *bad = nf;
}
WB_SIMD_KERNEL(scan, scan_body,
               (double *v, const float *f, int64_t n, double s, int32_t *kmin, int32_t *kmax,
                int *bad),
               (v, f, n, s, kmin, kmax, bad))

/* Row i's non-zero inputs: its sp's, or a's compacted into fbuf [I] (idx
 * [I] scratch) by the forward's kernel (16 a vector where the CPU can);
 * returns their number. */
static const float *nonzeros(float *fbuf, int32_t *idx, const float *a,
                             const wb_persample_csr *sp, int64_t i, int64_t I, int64_t *n)
{
    if (sp) {
        *n = sp->row[i + 1] - sp->row[i];
        return sp->val + sp->row[i];
    }
    *n = wb_dense_row_nonzeros(idx, fbuf, a + i * I, I);
    return fbuf;
}

/* v [n] = s f for a row's n non-zero inputs f; v's extremes into *vmin,
 * *vmax (from the inputs' extremes: s a is monotone in a); returns
 * whether all v are finite. */
static int gather(double *v, const float *f, int64_t n, double s, double *vmin, double *vmax)
{
    int32_t kmin, kmax;
    int bad;
    WB_SIMD_CALL(scan)(v, f, n, s, &kmin, &kmax, &bad);
    float fmin, fmax;
    kmin = fkey(kmin), kmax = fkey(kmax);
    memcpy(&fmin, &kmin, sizeof fmin), memcpy(&fmax, &kmax, sizeof fmax);
    double x = s * fmin, y = s * fmax; /* s < 0 reverses the order */
    *vmin = x < y ? x : y, *vmax = x < y ? y : x;
    return !bad && isfinite(x) && isfinite(y); /* s a may overflow, s be NaN */
}

/* The extreme keys of a row's non-zero inputs and their number (*m): of
 * every f [n] (a CSR row's values), or when dense of those that are not 0
 * (as nonzeros takes them). */
WB_SIMD_BODY extent_body(int64_t *m, int32_t *kmin, int32_t *kmax, const float *f, int64_t n,
                         int dense)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN, c = 0, all = dense ? 0 : -1;
    for (int64_t t = 0; t < n; t++) { /* on ints, without a branch: it vectorises */
        int32_t bits;
        memcpy(&bits, &f[t], sizeof bits);
        int32_t k = fkey(bits), in = -((bits & INT32_MAX) != 0) | all; /* -1: taken */
        int32_t kl = (k & in) | (INT32_MAX & ~in), kh = (k & in) | (INT32_MIN & ~in);
        lo = kl < lo ? kl : lo;
        hi = kh > hi ? kh : hi;
        c -= in;
    }
    *m = c, *kmin = lo, *kmax = hi;
}
WB_SIMD_KERNEL(extent, extent_body,
               (int64_t *m, int32_t *kmin, int32_t *kmax, const float *f, int64_t n, int dense),
               (m, kmin, kmax, f, n, dense))

/* gather's extremes and finiteness without v, for a row f [n] (dense: its
 * zeros skipped), and its non-zero inputs' number *m: whether any output
 * spans bins is known before the row is compacted or keyed. */
static int extent(const float *f, int64_t n, int dense, double s, double *vmin, double *vmax,
                  int64_t *m)
{
    int32_t kmin, kmax;
    WB_SIMD_CALL(extent)(m, &kmin, &kmax, f, n, dense);
    float fmin, fmax;
    kmin = fkey(kmin), kmax = fkey(kmax);
    memcpy(&fmin, &kmin, sizeof fmin), memcpy(&fmax, &kmax, sizeof fmax);
    double x = s * fmin, y = s * fmax;
    *vmin = x < y ? x : y, *vmax = x < y ? y : x;
    return isfinite(x) && isfinite(y); /* an inf or NaN f is an extreme key */
}

/* D[b0 + r] += w #{j < O: x[j] = y[j] = b0 + r} for r < 4 G (O <= 255,
 * every x[j] in b0 .. b0 + 4 G - 1): byte counters in 32-bit words, as
 * bytes_body's (a byte counts at most O <= 255 outputs); G a constant. */
WB_SIMD_BODY tally_body(int64_t *D, const int32_t *x, const int32_t *y, int64_t O, int32_t b0,
                        int64_t w, int G)
{
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (int64_t j = 0; j < O; j++) {
        int32_t r = x[j] - b0, g = r >> 2;
        uint32_t one = (uint32_t)(x[j] == y[j]) << (8 * (r & 3));
        BYTE_ADD(one, g, G);
    }
    uint32_t a[8] = {a0, a1, a2, a3, a4, a5, a6, a7};
    for (int q = 0; q < 4 * G; q++)
        D[b0 + q] += w * (a[q >> 2] >> (8 * (q & 3)) & 0xff);
}
#define TALLY_PARAMS \
    (int64_t *D, const int32_t *x, const int32_t *y, int64_t O, int32_t b0, int64_t w)
WB_SIMD_KERNEL(tally1, tally_body, TALLY_PARAMS, (D, x, y, O, b0, w, 1))
WB_SIMD_KERNEL(tally2, tally_body, TALLY_PARAMS, (D, x, y, O, b0, w, 2))
WB_SIMD_KERNEL(tally4, tally_body, TALLY_PARAMS, (D, x, y, O, b0, w, 4))
WB_SIMD_KERNEL(tally8, tally_body, TALLY_PARAMS, (D, x, y, O, b0, w, 8))

void wb_hist_tally(hist_ctx *h, int copy, const int32_t *x, const int32_t *y, int64_t O, int b0,
                   int b1, int64_t w)
{
    /* By byte counters in vector lanes when the bins are few (the counters
     * past b1 add 0 to D: its copies follow it), 255 outputs at a time. */
    int span = b1 - b0;
    for (int64_t j0 = 0; span < 32 && O >= 32 && j0 < O; j0 += 255) {
        int64_t m = O - j0 < 255 ? O - j0 : 255;
        if (span < 4)
            WB_SIMD_CALL(tally1)(h->cnt, x + j0, y + j0, m, b0, w);
        else if (span < 8)
            WB_SIMD_CALL(tally2)(h->cnt, x + j0, y + j0, m, b0, w);
        else if (span < 16)
            WB_SIMD_CALL(tally4)(h->cnt, x + j0, y + j0, m, b0, w);
        else
            WB_SIMD_CALL(tally8)(h->cnt, x + j0, y + j0, m, b0, w);
    }
    if (span < 32 && O >= 32)
        return;
    for (int64_t j = 0; j < O; j++) {
        int64_t *c = h->cnt + (copy + (j & 3)) * h->nbins;
        c[x[j]] += x[j] == y[j] ? w : 0;
    }
}

/* The outputs whose n entries share a bin (e: ends's): n to their bin; and
 * every bias's entry when bias; the others listed into multi (when there
 * are any). Returns the others' number. */
static int64_t count_one(hist_ctx *h, int64_t n, int64_t O, const int32_t *blo,
                         const int32_t *bhi, const int32_t *bb, const int32_t *e, int bias,
                         int32_t *multi)
{
    int64_t nm = 0;
    if (O < 32) { /* too few outputs for a vector count: one loop, in four copies */
        for (int64_t j = 0; j < O; j++) {
            int64_t *c = h->cnt + (1 + (j & 3)) * h->nbins;
            int one = blo[j] == bhi[j];
            c[blo[j]] += one ? n : 0;
            c[4 * h->nbins + bb[j]] += bias;
            multi[nm] = (int32_t)j;
            nm += !one;
        }
        return nm;
    }
    wb_hist_tally(h, 1, blo, bhi, O, e[2], e[3], n);
    if (bias)
        wb_hist_tally(h, 5, bb, bb, O, e[4], e[5], 1);
    for (int64_t j = 0; e[0] < e[1] && j < O; j++) {
        multi[nm] = (int32_t)j;
        nm += blo[j] != bhi[j];
    }
    return nm;
}

/* Rough costs (in cycles) of counting one output spanning `span` bins of
 * a row of n entries: with byte counters, g = ceil(span / 4) words of
 * them (G = g rounded up to a power of two, more work a lane; from the
 * kernel's instructions, eight entries a vector); by the grouped row, per
 * output plus the grouping, once a row (measured on the baseline MLP). */
#define COST_BYTES(n, g) (((n) + 7) / 8 * (4 + 2 * (g)) + 30)
#define COST_CELLS(span) (20 + 25 * (span))
#define COST_GROUP(n) (12 * (n))

/* s[0] = the bins the O outputs span in all, s[1] = the words of byte
 * counters they take, s[2] = how many span more than one bin. */
WB_SIMD_BODY spans_body(int64_t *s, const int32_t *blo, const int32_t *bhi, int64_t O)
{
    int64_t bins = 0, words = 0, multi = 0;
    for (int64_t j = 0; j < O; j++) {
        int32_t span = bhi[j] - blo[j];
        bins += span;
        words += (span + 3) >> 2;
        multi += span > 0;
    }
    s[0] = bins, s[1] = words, s[2] = multi;
}
WB_SIMD_KERNEL(spans, spans_body,
               (int64_t *s, const int32_t *blo, const int32_t *bhi, int64_t O),
               (s, blo, bhi, O))

/* Row i's kernel entries of non-zero inputs (n of them, finite) from v,
 * and its bias's when bias (bins bb). The outputs whose entries share a
 * bin first, without a branch (most do): their counts go to four copies
 * of the bins in turn, so that runs of one bin do not wait on each
 * other's adds; then the others, each the cheaper way, the row grouped
 * when that pays; one by one for a d not finite or 32 bins or more. */
static void count_row(hist_ctx *h, celled_row *r, double *v, int64_t n, double vmin,
                      double vmax, const float *d, int64_t O, const int32_t *blo,
                      const int32_t *bhi, int32_t *bb, const int32_t *e, int bias,
                      int32_t *multi, int32_t *cell)
{
    int64_t nm = count_one(h, n, O, blo, bhi, bb, e, bias, multi), n16 = (n + 15) & ~15;
    if (nm == 0)
        return;
    for (int64_t t = n; t < n16; t++)
        v[t] = vmin;
    int64_t s[3];
    WB_SIMD_CALL(spans)(s, blo, bhi, O);
    int group = COST_GROUP(n) + s[2] * COST_CELLS(0) + s[0] * (COST_CELLS(1) - COST_CELLS(0)) <
                s[2] * COST_BYTES(n, 0) + s[1] * (COST_BYTES(n, 1) - COST_BYTES(n, 0));
    if (group)
        bucket_row(r, v, n, vmin, vmax, cell);
    for (int64_t t = 0; t < nm; t++) {
        int64_t j = multi[t], span = bhi[j] - blo[j];
        double dj = d[j];
        if (!isfinite(dj) || span >= 32)
            count_each(h, v, n, dj, cell);
        else if (group && COST_CELLS(span) < COST_BYTES(n, (span + 3) / 4))
            count_cells(h, r, dj, blo[j], bhi[j]);
        else
            count_bytes(h, v, n, n16, dj, blo[j], bhi[j]);
    }
}

wb_status wb_persample_hist(wb_persample *p, double *hist, int nbins, double lo,
                            double hi, const float *a, const wb_persample_csr *sp,
                            const float *dz, int64_t B, int64_t I, int64_t O, int bias,
                            double scale, wb_err *err)
{
    /* doubles: v [I + 16], u [I + 2], counts [13 nbins] (int64: D, its
     * eight copies, X's four), the grid's; then ints: cell [I], tab [2I +
     * 2], blo, bhi, bb, multi, dpad (floats) [O16] each, the grid's. u
     * doubles as the dense row's floats, cell as a grid row's keys and the
     * columns of the dense row's non-zeros. The edges are p's own, kept
     * from call to call (wb_persample_edges). */
    size_t ngd = WB_GRID_DOUBLES;
    size_t ngi = WB_GRID_INTS((size_t)O, (size_t)nbins);
    size_t nd = 2 * (size_t)I + 18 + 13 * (size_t)nbins + ngd;
    int64_t O16 = (O + 15) & ~(int64_t)15;
    size_t ni = 3 * (size_t)I + 2 + 5 * (size_t)O16 + ngi;
    double *edges = wb_persample_edges(p, nbins, lo, hi, err);
    double *v = edges ? wb_persample_dscratch(p, nd + (ni + 1) / 2, err) : NULL;
    if (!v)
        return err ? err->code : WB_ENOMEM;
    double *u = v + I + 16;
    int64_t *cnt = (int64_t *)(u + I + 2);
    hist_ctx h = {cnt, cnt + 9 * nbins, edges, lo, (hi - lo) / nbins, nbins / (hi - lo), nbins};
    int32_t *cell = (int32_t *)(v + nd), *tab = cell + I, *blo = tab + 2 * I + 2,
            *bhi = blo + O16, *bb = bhi + O16, *multi = bb + O16, e[7];
    float *dpad = (float *)(multi + O16);
    grid g;
    celled_row r = {u, tab, 0, 0, 0, 0, 0};
    memset(h.cnt, 0, 13 * (size_t)nbins * sizeof *h.cnt);
    int zero = bin_of(0.0, lo, h.inv, nbins), on_grid = isfinite(scale), grid_set = 0;
    double nb = nbins;
    int64_t tried = 0, skipped = 0;
    for (int64_t i = 0; i < B; i++) {
        const float *d = dz + i * O, *f = sp ? sp->val + sp->row[i] : a + i * I;
        int64_t n = sp ? sp->row[i + 1] - sp->row[i] : I, m;
        double vmin, vmax;
        /* A row whose outputs' entries stay in one bin each (a third of a
         * first layer's at batch 32) is counted from its inputs' extremes
         * alone, before it is compacted or keyed: tried while at least one
         * row in six of the call has been one. */
        int first = tried < 4 || skipped * 6 >= tried, finite = 1;
        if (first) {
            tried++;
            finite = extent(f, n, !sp, scale, &vmin, &vmax, &m);
            ends(blo, bhi, bb, e, d, O, dpad, vmin, vmax, scale, lo, h.inv, nb);
            if (m == 0 || (finite && e[0] >= e[1])) {
                skipped++;
                h.cnt[zero] += (I - m) * O; /* a zero input: O zero entries */
                count_one(&h, m, O, blo, bhi, bb, e, bias, multi);
                continue;
            }
        }
        f = nonzeros((float *)r.u, cell, a, sp, i, I, &n);
        h.cnt[zero] += (I - n) * O;
        /* The grid's tables cost about as much to set up as a row of hidden
         * units takes to count: set up only when the first row to count
         * looks like pixels (the grid's own checks still decide each row). */
        if (on_grid && n > 0 && !grid_set) {
            on_grid = wb_hist_grid_plausible(f, n);
            if (on_grid)
                wb_hist_grid_begin(&g, (int32_t *)dpad + O16, (double *)(cnt + 13 * nbins), O,
                                   nbins, scale);
            grid_set = 1;
        }
        int row_grid = on_grid && n > 0 && wb_hist_grid_row(&g, f, n, cell);
        if (!row_grid) {
            on_grid &= n == 0; /* one row off the grid: the others likely too */
            finite = gather(v, f, n, scale, &vmin, &vmax); /* v, and as extent's */
        } else if (!first) {
            double x = g.V[g.kmin], y = g.V[g.kmax]; /* s < 0 reverses the order */
            vmin = x < y ? x : y, vmax = x < y ? y : x;
        }
        if (!first)
            ends(blo, bhi, bb, e, d, O, dpad, vmin, vmax, scale, lo, h.inv, nb);
        if (row_grid)
            wb_hist_grid_count(&h, &g, d, O, blo, bhi, bb, bias, e);
        else if (n > 0 && finite)
            count_row(&h, &r, v, n, vmin, vmax, d, O, blo, bhi, bb, e, bias, multi, cell);
        else {
            for (int64_t j = 0; bias && j < O; j++)
                h.cnt[(1 + (j & 3)) * nbins + bb[j]]++;
            for (int64_t j = 0; n > 0 && j < O; j++) /* inf * 0 is NaN: not monotone */
                count_each(&h, v, n, d[j], cell);
        }
    }
    const int64_t *x = h.x;
    for (int b = 0; b < nbins; b++) {
        int64_t xb = x[4 * b] + x[4 * b + 1] + x[4 * b + 2] + x[4 * b + 3], db = 0;
        int64_t xn = b + 1 < nbins ? x[4 * b + 4] + x[4 * b + 5] + x[4 * b + 6] + x[4 * b + 7] : 0;
        for (int q = 0; q < 9; q++)
            db += h.cnt[q * nbins + b];
        hist[b] += (double)(db + xb - xn);
    }
    return WB_OK;
}
