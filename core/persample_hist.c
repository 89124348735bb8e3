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
 * of a first layer take it (their entries are small against a bin); (2)
 * otherwise, with v sorted, the entries below bin b are those before the
 * first v with fl(v * d) >= E_b, E_b the smallest double of bin b (found
 * on its first use in a call): one search per bin edge the output spans. A table over
 * v's range guesses the position from E_b / d, and a step or two along v
 * comparing the products themselves makes it exact, so the table's (and
 * the division's) rounding never decides a count. v is sorted by a
 * counting sort into 2n cells of equal width over its range, whose starts
 * are the table, and an insertion pass within the cells. An output whose
 * edges outnumber a quarter of its entries, or whose d is not finite, is
 * counted entry by entry.
 */
#include "persample.h"

#include <math.h>
#include <string.h>

#include "persample_impl.h"
#include "simd.h"

/* The bin of e: equal bins over [lo, hi) (inv = nbins / (hi - lo)), the
 * outside into the end bins; truncation is floor for f >= 0. */
static inline int bin_of(double e, double lo, double inv, int nbins)
{
    double f = (e - lo) * inv;
    if (!(f >= 0)) /* also NaN: counted, in the first bin */
        return 0;
    return f >= nbins ? nbins - 1 : (int)f;
}

/* bin_of without branches (nb = nbins as a double), for the vector kernel. */
static inline int32_t bin_vec(double e, double lo, double inv, double nb)
{
    double f = (e - lo) * inv;
    f = f >= 0 ? f : 0;
    f = f < nb ? f : nb - 1;
    return (int32_t)f;
}

/* The bins of output j's smallest (b1), largest (b2) and bias (bb)
 * entries: vmin d_j, vmax d_j and s d_j. */
WB_SIMD_BODY ends_body(int32_t *b1, int32_t *b2, int32_t *bb, const float *d, int64_t O,
                       double vmin, double vmax, double s, double lo, double inv, double nb)
{
    for (int64_t j = 0; j < O; j++) {
        double dj = d[j];
        b1[j] = bin_vec(vmin * dj, lo, inv, nb);
        b2[j] = bin_vec(vmax * dj, lo, inv, nb);
        bb[j] = bin_vec(s * dj, lo, inv, nb);
    }
}
WB_SIMD_KERNEL(ends, ends_body,
               (int32_t *b1, int32_t *b2, int32_t *bb, const float *d, int64_t O, double vmin,
                double vmax, double s, double lo, double inv, double nb),
               (b1, b2, bb, d, O, vmin, vmax, s, lo, inv, nb))

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

/* The next double up (dir > 0) or down from a finite x. */
static double ulp_step(double x, int dir)
{
    if (x == 0)
        return dir > 0 ? 4.9406564584124654e-324 : -4.9406564584124654e-324;
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    u += (x > 0) == (dir > 0) ? 1 : (uint64_t)-1;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* E_b: the smallest double e with bin_of(e) >= b (0 < b < nbins; +inf
 * when none is). The nominal edge lo + b w is a few ulps off at most for
 * sane lo, hi; a bisection over all doubles settles any other case. */
static double edge_of(int b, double lo, double w, double inv, int nbins)
{
    double e = lo + b * w;
    for (int k = 0; k < 8 && isfinite(e); k++) {
        if (bin_of(e, lo, inv, nbins) < b) {
            e = ulp_step(e, 1);
            continue;
        }
        double below = ulp_step(e, -1);
        if (bin_of(below, lo, inv, nbins) < b)
            return e;
        e = below;
    }
    if (bin_of(INFINITY, lo, inv, nbins) < b)
        return INFINITY;
    uint64_t no = key_of(-INFINITY), yes = key_of(INFINITY); /* bin < b at no, >= b at yes */
    while (yes - no > 1) {
        uint64_t mid = no + (yes - no) / 2;
        if (bin_of(of_key(mid), lo, inv, nbins) >= b)
            yes = mid;
        else
            no = mid;
    }
    return of_key(yes);
}

/* One row's non-zero inputs sorted: u [n] ascending, cells of equal width
 * over [u[0], u[n-1]] (cell_of), tab[c] the first p whose cell is >= c. */
typedef struct sorted_row {
    double *u;
    int32_t *tab;
    int64_t n, K; /* K cells */
    double vmin, inv; /* cell_of(x) = floor((x - vmin) * inv), clamped */
} sorted_row;

/* floor((x - vmin) inv) clamped to [0, K - 1] (NaN to 0), without a branch
 * (also the vector kernel's). */
static inline int32_t cell_at(double x, double vmin, double inv, double last)
{
    double f = (x - vmin) * inv;
    f = f >= 0 ? f : 0;
    f = f < last ? f : last;
    return (int32_t)f;
}

static inline int64_t cell_of(const sorted_row *r, double x)
{
    return cell_at(x, r->vmin, r->inv, (double)(r->K - 1));
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

/* Sorts v [n] (finite, vmin < vmax) into r->u: counting sort into K = 2n
 * cells (few share one), then insertion within cells. cell [n] and tab
 * [2n + 2] are scratch. */
static void sort_row(sorted_row *r, const double *v, int64_t n, double vmin, double vmax,
                     int32_t *cell)
{
    int32_t *tab = r->tab;
    int64_t K = 2 * n;
    r->n = n, r->K = K, r->vmin = vmin, r->inv = (double)K / (vmax - vmin);
    memset(tab, 0, (size_t)(K + 2) * sizeof *tab);
    WB_SIMD_CALL(cells)(cell, v, n, vmin, r->inv, (double)(K - 1));
    for (int64_t t = 0; t < n; t++)
        tab[cell[t] + 2]++;
    for (int64_t c = 2; c <= K + 1; c++) /* tab[c + 1]: the start of cell c */
        tab[c] += tab[c - 1];
    double *u = r->u;
    for (int64_t t = 0; t < n; t++) /* after this tab[c] is the start of cell c */
        u[tab[cell[t] + 1]++] = v[t];
    for (int64_t t = 1; t < n; t++) {
        double x = u[t];
        int64_t k = t;
        for (; k > 0 && u[k - 1] > x; k--)
            u[k] = u[k - 1];
        u[k] = x;
    }
}

/* The first p with fl(u[p] d) >= E when d > 0 (< E when d < 0), knowing it
 * is in [1, n - 1] (u[0]'s entry is on the other side of E, u[n-1]'s on
 * this one): guessed from the table at E / d (x, roughly), then made exact
 * by steps. */
static inline int64_t rank_of(const sorted_row *r, double d, double E, double x)
{
    const double *u = r->u;
    int64_t p = r->tab[cell_of(r, x)];
    p = p < 1 ? 1 : p > r->n - 1 ? r->n - 1 : p;
    if (d > 0) { /* a first step without a branch: it is a coin toss */
        p += u[p] * d < E;
        while (u[p] * d < E)
            p++;
        while (!(u[p - 1] * d < E))
            p--;
    } else {
        p += !(u[p] * d < E);
        while (!(u[p] * d < E))
            p++;
        while (u[p - 1] * d < E)
            p--;
    }
    return p;
}

/* The per-call state: bins, their edges (E_b found on first use, NaN
 * before), and the counts, kept as integers until the end. */
typedef struct hist_ctx {
    int64_t *cnt;
    double *edge;
    double lo, w, inv;
    int nbins;
} hist_ctx;

static inline double edge(hist_ctx *h, int b)
{
    if (isnan(h->edge[b]))
        h->edge[b] = edge_of(b, h->lo, h->w, h->inv, h->nbins);
    return h->edge[b];
}

/* Counts output j's n entries u[p] d (finite d; b1, b2 the bins of u[0] d
 * and u[n-1] d, unequal) by the bin edges between them. */
static void count_sorted(hist_ctx *h, const sorted_row *r, double d, int b1, int b2)
{
    int64_t *cnt = h->cnt, n = r->n;
    double id = 1 / d; /* the guesses need no division */
    if (d > 0) { /* the entries below bin b: the first rank_of(E_b) */
        int64_t prev = 0;
        for (int b = b1 + 1; b <= b2; b++) {
            double E = edge(h, b);
            int64_t k = rank_of(r, d, E, E * id);
            cnt[b - 1] += k - prev;
            prev = k;
        }
        cnt[b2] += n - prev;
    } else { /* the entries in bin b or above: the first rank_of(E_b) */
        int64_t prev = 0;
        for (int b = b1; b > b2; b--) {
            double E = edge(h, b);
            int64_t k = rank_of(r, d, E, E * id);
            cnt[b] += k - prev;
            prev = k;
        }
        cnt[b2] += n - prev;
    }
}

/* Every entry v[t] d on its own (non-finite d, or more bins spanned than
 * entries). */
static void count_each(hist_ctx *h, const double *v, int64_t n, double d)
{
    for (int64_t t = 0; t < n; t++)
        h->cnt[bin_of(v[t] * d, h->lo, h->inv, h->nbins)]++;
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

/* Row i's non-zero inputs times s into v (fbuf [I]: scratch for the dense
 * input's); returns their number, v's extremes in *vmin, *vmax (from the
 * inputs' extremes: s a is monotone in a) and whether all v are finite. */
static int64_t gather(double *v, float *fbuf, const float *a, const wb_persample_csr *sp,
                      int64_t i, int64_t I, double s, double *vmin, double *vmax, int *finite)
{
    const float *f = fbuf;
    int64_t n = 0;
    if (sp) {
        f = sp->val + sp->row[i];
        n = sp->row[i + 1] - sp->row[i];
    } else {
        const float *ai = a + i * I;
        for (int64_t k = 0; k < I; k++) { /* branch-free: zeros are a coin toss */
            fbuf[n] = ai[k];
            n += ai[k] != 0.0f;
        }
    }
    int32_t kmin, kmax;
    int bad;
    WB_SIMD_CALL(scan)(v, f, n, s, &kmin, &kmax, &bad);
    float fmin, fmax;
    kmin = fkey(kmin), kmax = fkey(kmax);
    memcpy(&fmin, &kmin, sizeof fmin), memcpy(&fmax, &kmax, sizeof fmax);
    double x = s * fmin, y = s * fmax; /* s < 0 reverses the order */
    *vmin = x < y ? x : y, *vmax = x < y ? y : x;
    *finite = !bad && isfinite(x) && isfinite(y); /* s a may overflow, s be NaN */
    return n;
}

/* Row i's kernel entries of non-zero inputs (n of them, finite). The
 * outputs whose entries share a bin first, without a branch (about half
 * do): their counts go to four copies of the bins in turn, so that runs
 * of one bin do not wait on each other's adds; then the others. */
static void count_row(hist_ctx *h, sorted_row *r, const double *v, int64_t n, double vmin,
                      double vmax, const float *d, int64_t O, const int32_t *b1,
                      const int32_t *b2, int32_t *multi, int32_t *cell)
{
    int64_t nm = 0, *c4 = h->cnt + h->nbins;
    for (int64_t j = 0; j < O; j++) {
        int one = b1[j] == b2[j];
        c4[(j & 3) * h->nbins + b1[j]] += one ? n : 0;
        multi[nm] = (int32_t)j;
        nm += !one;
    }
    int sorted = 0;
    for (int64_t t = 0; t < nm; t++) {
        int64_t j = multi[t];
        double dj = d[j];
        int span = b1[j] < b2[j] ? b2[j] - b1[j] : b1[j] - b2[j];
        if (!isfinite(dj) || 4 * (int64_t)span > n) { /* inf * 0 is NaN: not monotone */
            count_each(h, v, n, dj);
            continue;
        }
        if (!sorted) {
            sort_row(r, v, n, vmin, vmax, cell);
            sorted = 1;
        }
        count_sorted(h, r, dj, b1[j], b2[j]);
    }
}

wb_status wb_persample_hist(wb_persample *p, double *hist, int nbins, double lo,
                            double hi, const float *a, const wb_persample_csr *sp,
                            const float *dz, int64_t B, int64_t I, int64_t O, int bias,
                            double scale, wb_err *err)
{
    /* doubles: v [I], u [I], edges [nbins + 1], counts [5 nbins] (int64:
     * one, then the four copies); then ints: cell [I], tab [2I + 2], b1,
     * b2, bb, multi [O] each. u doubles as the dense row's floats. */
    size_t nd = 2 * (size_t)I + 6 * (size_t)nbins + 1;
    size_t ni = 3 * (size_t)I + 2 + 4 * (size_t)O;
    double *v = wb_persample_dscratch(p, nd + (ni + 1) / 2, err);
    if (!v)
        return err ? err->code : WB_ENOMEM;
    hist_ctx h = {(int64_t *)(v + 2 * I + nbins + 1), v + 2 * I, lo, (hi - lo) / nbins,
                  nbins / (hi - lo), nbins};
    int32_t *cell = (int32_t *)(v + nd), *tab = cell + I, *b1 = tab + 2 * I + 2, *b2 = b1 + O,
            *bb = b2 + O, *multi = bb + O;
    sorted_row r = {v + I, tab, 0, 0, 0, 0};
    for (int b = 0; b <= nbins; b++)
        h.edge[b] = NAN;
    memset(h.cnt, 0, 5 * (size_t)nbins * sizeof *h.cnt);
    int zero = bin_of(0.0, lo, h.inv, nbins);
    for (int64_t i = 0; i < B; i++) {
        const float *d = dz + i * O;
        double vmin, vmax;
        int finite;
        int64_t n = gather(v, (float *)r.u, a, sp, i, I, scale, &vmin, &vmax, &finite);
        h.cnt[zero] += (I - n) * O; /* a zero input: O zero entries */
        WB_SIMD_CALL(ends)(b1, b2, bb, d, O, vmin, vmax, scale, lo, h.inv, (double)nbins);
        for (int64_t j = 0; bias && j < O; j++)
            h.cnt[(1 + (j & 3)) * nbins + bb[j]]++;
        if (n == 0)
            continue;
        if (finite) {
            count_row(&h, &r, v, n, vmin, vmax, d, O, b1, b2, multi, cell);
        } else { /* inf * 0 is NaN: not monotone, one by one */
            for (int64_t j = 0; j < O; j++)
                count_each(&h, v, n, d[j]);
        }
    }
    for (int b = 0; b < nbins; b++)
        hist[b] += (double)(h.cnt[b] + h.cnt[nbins + b] + h.cnt[2 * nbins + b] +
                            h.cnt[3 * nbins + b] + h.cnt[4 * nbins + b]);
    return WB_OK;
}
