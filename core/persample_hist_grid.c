/* persample_hist_grid.c - grad_hist's rows of 8-bit pixels
 * (wb_persample_hist, persample.h; the method in persample_hist.c's
 * header): a row is a table of suffix counts by key, and an output's
 * entries >= an edge are the count at one boundary key, guessed for every
 * (output, edge) pair of the row at once in a vector kernel and checked
 * exactly there; the few guesses the checks reject are walked.
 *
 * Legend: s the scale, f a non-zero input, k = (int)(255 f + 1/2) its key
 * (1 .. 255), V[k] = fl(s f_k), d = dz_ij, an entry fl(V[k] d).
 */
#include "persample_hist.h"

#include <math.h>
#include <string.h>

#include "simd.h"

void wb_hist_grid_begin(grid *g, int32_t *ints, double *dbl, int64_t O, int nbins, double s)
{
    int64_t np = O * (nbins - 1) + 8;
    g->bits = (uint32_t *)ints, g->S = ints + 256, g->c4 = g->S + 258;
    g->pj = g->c4 + 4 * 256, g->pb = g->pj + np, g->ge = g->pb + np, g->nonfin = g->ge + np;
    g->V = dbl;
    g->s = s;
    memset(g->bits, 0, 256 * sizeof *g->bits);
    memset(g->c4, 0, 4 * 256 * sizeof *g->c4);
    g->V[0] = 0; /* V[kmin - 1] and V[kmax + 1] are read, not used, at the ends */
    for (int k = 1; k < 257; k++)
        g->V[k] = s * (double)((float)k / 255.0f);
}

/* key [n] = the keys of f [n], k = (int)(255 f + 1/2) in 1 .. 255 (0 for
 * none: NaN, inf, too small or large), and the extreme keys. Monotone in
 * f (each step is a monotone rounding), which is all the grid needs. */
WB_SIMD_BODY gkeys_body(int32_t *key, const float *f, int64_t n, int32_t *kmin,
                        int32_t *kmax)
{
    int32_t lo = 256, hi = 0;
    for (int64_t t = 0; t < n; t++) {
        float x = f[t] * 255.0f + 0.5f;
        x = x >= 1.0f ? x : 0.0f;
        x = x < 256.0f ? x : 0.0f;
        int32_t k = (int32_t)x;
        key[t] = k;
        lo = k < lo ? k : lo;
        hi = k > hi ? k : hi;
    }
    *kmin = lo, *kmax = hi;
}
WB_SIMD_KERNEL(gkeys, gkeys_body,
               (int32_t *key, const float *f, int64_t n, int32_t *kmin, int32_t *kmax),
               (key, f, n, kmin, kmax))

/* Whether every f [n] is within 2^-10 of a multiple k / 255, k in 1 ..
 * 255: pixels, as far as a cheap look can tell (the grid's tables are not
 * set up for a layer whose first row is not). */
WB_SIMD_BODY plausible_body(int *ok, const float *f, int64_t n)
{
    int bad = 0;
    for (int64_t t = 0; t < n; t++) {
        float x = f[t] * 255.0f, k = (float)(int32_t)(x + 0.5f);
        bad |= !(x >= 0.5f && x < 255.5f && fabsf(x - k) <= 0x1p-10f);
    }
    *ok = !bad;
}
WB_SIMD_KERNEL(plausible, plausible_body, (int *ok, const float *f, int64_t n), (ok, f, n))

int wb_hist_grid_plausible(const float *f, int64_t n)
{
    int ok;
    WB_SIMD_CALL(plausible)(&ok, f, n);
    return ok;
}

/* Takes the floats of keys first seen in f [n] into the grid; 0 when an f
 * has no key or another float than its key's. */
static int grid_take(grid *g, const float *f, const int32_t *key, int64_t n)
{
    for (int64_t t = 0; t < n; t++) {
        uint32_t bits;
        memcpy(&bits, &f[t], sizeof bits);
        if (g->bits[key[t]] == bits) /* bits != 0: f != +0 */
            continue;
        if (key[t] == 0 || g->bits[key[t]] != 0)
            return 0;
        g->bits[key[t]] = bits, g->V[key[t]] = g->s * f[t];
    }
    return 1;
}

/* S [k0 .. k1] = c4's four copies summed there, and c4 back to 0. */
WB_SIMD_BODY merge_body(int32_t *S, int32_t *c4, int k0, int k1)
{
    for (int k = k0; k <= k1; k++) {
        S[k] = c4[k] + c4[256 + k] + c4[512 + k] + c4[768 + k];
        c4[k] = c4[256 + k] = c4[512 + k] = c4[768 + k] = 0;
    }
}
WB_SIMD_KERNEL(merge, merge_body, (int32_t *S, int32_t *c4, int k0, int k1), (S, c4, k0, k1))

/* S[k] = S[k] + .. + S[k1] for k in k0 .. k1: the range cut into four
 * quarters of q keys from the top (the lowest takes the rest), summed
 * down at once (four chains of adds, not one that waits on each add),
 * then the sums of the quarters above added to each (vector loops). */
static void suffix_sums(int32_t *S, int k0, int k1)
{
    int q = (k1 - k0 + 1) / 4, k = k1;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; k > k1 - q; k--) {
        s3 += S[k], S[k] = s3;
        s2 += S[k - q], S[k - q] = s2;
        s1 += S[k - 2 * q], S[k - 2 * q] = s1;
        s0 += S[k - 3 * q], S[k - 3 * q] = s0;
    }
    for (k -= 3 * q; k >= k0; k--)
        s0 += S[k], S[k] = s0;
    for (k = k1 - 2 * q + 1; k <= k1 - q; k++)
        S[k] += s3;
    for (k = k1 - 3 * q + 1; k <= k1 - 2 * q; k++)
        S[k] += s3 + s2;
    for (k = k0; k <= k1 - 3 * q; k++)
        S[k] += s3 + s2 + s1;
}

/* Counts the row's inputs by key, four copies in turn (c4) so that runs of
 * one key do not wait on each other's adds, checking that each holds its
 * key's float in the call; then S[k] = the inputs of key k or above. The
 * first float seen of a key is taken (the counts made anyway are undone
 * when the row is off the grid). */
int wb_hist_grid_row(grid *g, const float *f, int64_t n, int32_t *key)
{
    int32_t kmin, kmax, *S = g->S, *c4 = g->c4;
    uint32_t miss = 0;
    WB_SIMD_CALL(gkeys)(key, f, n, &kmin, &kmax);
    for (int64_t t = 0; t < n; t++) {
        uint32_t bits;
        memcpy(&bits, &f[t], sizeof bits);
        miss |= g->bits[key[t]] ^ bits;
        c4[(t & 3) * 256 + key[t]]++;
    }
    WB_SIMD_CALL(merge)(S, c4, kmin, kmax);
    if ((miss && !grid_take(g, f, key, n)) || !isfinite(g->V[kmin]) || !isfinite(g->V[kmax]))
        return 0;
    g->kmin = kmin, g->kmax = kmax, g->n = n;
    S[kmax + 1] = 0;
    suffix_sums(S, kmin, kmax);
    return 1;
}

/* The number of the grid row's entries V[k] d >= E (d finite, not 0; neg:
 * s d < 0). T(k) = (V[k] d >= E) != neg is monotone, false then true as k
 * rises; m = the first key in [kmin, kmax] with T(m), kmax + 1 when none:
 * from the guess E 255 / (s d) walked down while T(m - 1), up while not
 * T(m). Keys the row lacks are walked as any (V is monotone over all keys)
 * and add nothing to S. */
static int32_t ge_walk(const grid *g, double d, int neg, double E)
{
    const double *V = g->V;
    double y = E * (255 / (g->s * d)), ylo = g->kmin - 1, yhi = g->kmax;
    y = y >= ylo ? y : ylo; /* also NaN */
    y = y <= yhi ? y : yhi;
    int m = (int)y + 1;
    while (m > g->kmin && (V[m - 1] * d >= E) != neg)
        m--;
    while (m <= g->kmax && (V[m] * d >= E) == neg)
        m++;
    return (int32_t)(neg ? g->n - g->S[m] : g->S[m]);
}

/* ge [P] = the entries >= E[pb] of outputs pj, from the key m guessed from
 * E[pb] r / d (r = 255 / s; the guess is rounded several times, so it is
 * only a guess) when T(m - 1) is false and T(m) true as in ge_walk, else
 * -1 (walk). The products and comparisons are ge_walk's. */
WB_SIMD_BODY guess_body(int32_t *restrict ge, const int32_t *restrict pj,
                        const int32_t *restrict pb, int64_t P, const float *restrict d,
                        const double *restrict E, double r, const double *restrict V,
                        const int32_t *restrict S, int sneg, int32_t kmin, int32_t kmax,
                        int32_t n)
{
    double ylo = kmin - 1, yhi = kmax;
    for (int64_t p = 0; p < P; p++) {
        double dv = d[pj[p]], e = E[pb[p]];
        double y = e * r / dv; /* one gather fewer than a table of E r */
        y = y >= ylo ? y : ylo;
        y = y <= yhi ? y : yhi;
        int32_t m = (int32_t)y + 1, neg = (dv < 0) != sneg;
        int32_t down = (m > kmin) & ((V[m - 1] * dv >= e) != neg);
        int32_t up = (m <= kmax) & ((V[m] * dv >= e) == neg);
        int32_t g = neg ? n - S[m] : S[m];
        ge[p] = down | up ? -1 : g;
    }
}
WB_SIMD_KERNEL(guess, guess_body,
               (int32_t *restrict ge, const int32_t *restrict pj, const int32_t *restrict pb,
                int64_t P, const float *restrict d, const double *restrict E, double r,
                const double *restrict V, const int32_t *restrict S, int sneg, int32_t kmin,
                int32_t kmax, int32_t n),
               (ge, pj, pb, P, d, E, r, V, S, sneg, kmin, kmax, n))

/* A grid row's entries for a d not finite, key by key (inf * 0 is NaN:
 * not monotone). */
static void count_each_key(hist_ctx *h, const grid *g, double d)
{
    for (int k = g->kmin; k <= g->kmax; k++)
        h->cnt[bin_of(g->V[k] * d, h->lo, h->inv, h->nbins)] += g->S[k] - g->S[k + 1];
}

/* Output j's (output, edge) pairs for the span edges above bin lo, from
 * slot P on, eight slots written at a time (also for span 0: no branch
 * on it); returns the next free slot. */
static inline int64_t list_pairs(int32_t *pj, int32_t *pb, int64_t P, int32_t j, int32_t lo,
                                 int32_t span)
{
    for (int32_t at = lo + 1;; at += 8) {
        for (int q = 0; q < 8; q++)
            pj[P + q] = j, pb[P + q] = at + q;
        int32_t k = span < 8 ? span : 8;
        P += k, span -= k;
        if (span <= 0)
            return P;
    }
}

/* Every output adds its n entries to D at its lowest bin and its bias to
 * D at its bin (four copies each, in turn: runs of one bin do not wait on
 * each other's adds) and writes its (output, edge) pairs, eight slots at a
 * time, without a branch on whether it spans bins (with a d not finite,
 * the outputs that do are listed first); then the edges the row uses
 * (elo + 1 .. ehi) are found, the pairs guessed and checked by the
 * kernel, the rejected ones walked, and the counts added to X (four
 * copies, interleaved). */
void wb_hist_grid_count(hist_ctx *h, grid *g, const float *d, int64_t O, const int32_t *lo,
                        const int32_t *hi, const int32_t *bb, int bias, const int32_t *e)
{
    int32_t *pj = g->pj, *pb = g->pb, *ge = g->ge, *multi = g->ge, n = (int32_t)g->n;
    int64_t nb = h->nbins, P = 0, nf = 0, nm = 0;
    int elo = e[0], ehi = e[1];
    if (bias)
        wb_hist_tally(h, 5, bb, bb, O, e[4], e[5], 1);
    if (!e[6]) { /* every d finite */
        wb_hist_tally(h, 1, lo, lo, O, e[2], e[3], n);
        for (int64_t j = 0; j < O; j++)
            P = list_pairs(pj, pb, P, (int32_t)j, lo[j], hi[j] - lo[j]);
    } else {
        int64_t *cq[4] = {h->cnt + nb, h->cnt + 2 * nb, h->cnt + 3 * nb, h->cnt + 4 * nb};
        for (int64_t j = 0; j < O; j++) {
            int fin = isfinite(d[j]);
            cq[j & 3][lo[j]] += fin ? n : 0;
            g->nonfin[nf] = multi[nm] = (int32_t)j;
            nf += !fin;
            nm += fin & (lo[j] < hi[j]);
        }
        for (int64_t t = 0; t < nf; t++)
            count_each_key(h, g, d[g->nonfin[t]]);
        for (int64_t t = 0; t < nm; t++) /* (multi borrows ge until the kernel) */
            P = list_pairs(pj, pb, P, multi[t], lo[multi[t]], hi[multi[t]] - lo[multi[t]]);
    }
    if (P == 0)
        return;
    for (int b = elo + 1; b <= ehi; b++)
        edge(h, b); /* found before the kernel reads them */
    WB_SIMD_CALL(guess)(ge, pj, pb, P, d, h->edge, 255 / g->s, g->V, g->S, g->s < 0, g->kmin,
                        g->kmax, n);
    int64_t *x = h->x;
    for (int64_t p = 0; p < P; p++) {
        int32_t c = ge[p];
        if (c < 0) {
            double dv = d[pj[p]];
            c = ge_walk(g, dv, (g->s < 0) != (dv < 0), h->edge[pb[p]]);
        }
        x[4 * pb[p] + (p & 3)] += c;
    }
}
