/* test_persample_hist.c - wb_persample_hist (core/persample_hist.c) against
 * the naive count: every entry's bin, one product at a time, (s a_ik) *
 * dz_ij in double (a zero input's entries are 0), plus the bias's s dz_ij.
 * Each case runs from the dense input and from its non-zeros (CSR), at
 * every SIMD level the CPU has, onto bins that already hold counts (the
 * function adds). The cases aim at what the fast paths assume: entries on
 * bin edges and an ulp beside them, ties, negative inputs and scales,
 * single non-zeros, empty rows, non-finite inputs and gradients, products
 * that overflow, ranges other than [-1, 1), one bin and thousands, random
 * rows whose outputs span from one bin to all of them, and wide rows
 * against many outputs (the grouped rows' windows).
 */
#include "harness.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/persample.h"
#include "../../core/simd.h"

#define MB 8
#define MI 300
#define MO 40
#define MBINS 5000

static float xa[MB * MI], xd[MB * MO];
static double got[MBINS], want[MBINS];
static int64_t row[MB + 1];
static int32_t idx[MB * MI];
static float val[MB * MI];
static wb_persample *ps;

static int naive_bin(double v, double lo, double hi, int nbins)
{
    double f = (v - lo) * (nbins / (hi - lo));
    return !(f >= 0) ? 0 : f >= nbins ? nbins - 1 : (int)f;
}

/* The bins (of nbins) where the library's count differs from the naive
 * one for xa [B, I], xd [B, O]; 0 when none does. */
static int differ(int B, int I, int O, int bias, double s, double lo, double hi, int nbins)
{
    memset(want, 0, (size_t)nbins * sizeof *want);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < O; j++) {
            double d = xd[i * O + j];
            for (int k = 0; k < I; k++) {
                float a = xa[i * I + k];
                want[a == 0.0f ? naive_bin(0, lo, hi, nbins)
                               : naive_bin((s * a) * d, lo, hi, nbins)] += 1;
            }
            if (bias)
                want[naive_bin(s * d, lo, hi, nbins)] += 1;
        }
    int64_t t = 0;
    row[0] = 0;
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < I; k++)
            if (xa[i * I + k] != 0.0f)
                idx[t] = k, val[t++] = xa[i * I + k];
        row[i + 1] = t;
    }
    wb_persample_csr sp = {row, idx, val};
    int top = wb_simd_avx512() ? 2 : wb_simd_avx2() ? 1 : 0, bad = 0;
    static const int level_arg[3] = {0, 2, 1}; /* wb_simd_allow_avx2's for each level */
    for (int lv = 0; lv <= top; lv++) {
        wb_simd_allow_avx2(level_arg[lv]);
        for (int csr = 0; csr < 2; csr++) {
            wb_err err;
            for (int b = 0; b < nbins; b++)
                got[b] = 3;
            if (wb_persample_hist(ps, got, nbins, lo, hi, csr ? NULL : xa, csr ? &sp : NULL,
                                  xd, B, I, O, bias, s, &err) != WB_OK)
                return -1;
            int n = 0;
            for (int b = 0; b < nbins; b++)
                n += got[b] != want[b] + 3;
            bad = n > bad ? n : bad;
        }
    }
    wb_simd_allow_avx2(1);
    return bad;
}

/* The smallest double of bin b (0 < b < nbins) by the naive bin: a
 * bisection over the doubles in order (as unsigned keys). */
static double smallest_of(int b, double lo, double hi, int nbins)
{
    uint64_t no, yes, sign = 1ull << 63;
    double x = -INFINITY, y = INFINITY;
    memcpy(&no, &x, sizeof no), memcpy(&yes, &y, sizeof yes);
    no = ~no, yes |= sign; /* the keys of -inf and inf */
    while (yes - no > 1) {
        uint64_t mid = no + (yes - no) / 2, u = mid >> 63 ? mid & ~sign : ~mid;
        memcpy(&x, &u, sizeof x);
        if (naive_bin(x, lo, hi, nbins) >= b)
            yes = mid;
        else
            no = mid;
    }
    uint64_t u = yes >> 63 ? yes & ~sign : ~yes;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* A double in [0, 1) from rand(). */
static double unif(void)
{
    return (double)rand() / ((double)RAND_MAX + 1);
}

/* Entries exactly on bin edges: products of eighths and quarters are the
 * edges of 64 bins over [-1, 1) (multiples of 1/32) with nothing rounded;
 * then, for bins whose edges are not dyadic, scales on the exact edge (the
 * smallest double of a bin, by bisection) and an ulp either
 * side, with inputs and gradients of 1 among others. */
static void test_hist_edges(void)
{
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 17; k++)
            xa[i * 17 + k] = (float)(k - 8) / 8; /* -1 .. 1, a zero among them */
        for (int j = 0; j < 9; j++)
            xd[i * 9 + j] = (float)((j + i) % 9 - 4) / 4;
    }
    CHECK(differ(4, 17, 9, 1, 1.0, -1.0, 1.0, 64) == 0, "dyadic edges");
    CHECK(differ(4, 17, 9, 1, 0.5, -1.0, 1.0, 64) == 0, "dyadic edges, scale 1/2");
    double lo = -0.3, hi = 0.7;
    int nbins = 10;
    for (int b = 1; b < nbins; b++) {
        double e = smallest_of(b, lo, hi, nbins);
        CHECK(naive_bin(e, lo, hi, nbins) == b && naive_bin(nextafter(e, -INFINITY), lo, hi,
              nbins) == b - 1, "the edge of bin %d", b);
        for (int u = -1; u <= 1; u++) {
            double s = u < 0 ? nextafter(e, -INFINITY) : u > 0 ? nextafter(e, INFINITY) : e;
            for (int i = 0; i < 3; i++) {
                for (int k = 0; k < 20; k++)
                    xa[i * 20 + k] = k % 4 == 0 ? 1.0f : k % 4 == 1 ? 0.0f
                                   : (float)(k - 10) / (float)(7 + i);
                for (int j = 0; j < 6; j++)
                    xd[i * 6 + j] = j == 0 ? 1.0f : j == 1 ? -1.0f : (float)(j - 3) * 0.37f;
            }
            CHECK(differ(3, 20, 6, 1, s, lo, hi, nbins) == 0, "edge of bin %d, ulp %d", b, u);
        }
    }
}

/* Negative inputs and scales, ties (one value many times), -0.0 inputs,
 * zero gradients, one non-zero per row, rows of zeros, one output. */
static void test_hist_signs_ties(void)
{
    srand(3);
    for (int k = 0; k < 6 * 50; k++) {
        int r = rand() % 6;
        xa[k] = r == 0 ? 0.0f : r == 1 ? -0.0f : r == 2 ? 0.75f : r == 3 ? -0.75f
              : (float)(rand() % 9 - 4) / 9.0f;
    }
    for (int k = 0; k < 6 * 12; k++)
        xd[k] = k % 5 == 0 ? 0.0f : (float)(unif() - 0.5) * 0.4f;
    CHECK(differ(6, 50, 12, 1, 6.0, -1.0, 1.0, 64) == 0, "ties, both signs");
    CHECK(differ(6, 50, 12, 1, -6.0, -1.0, 1.0, 64) == 0, "a negative scale");
    CHECK(differ(6, 50, 12, 0, 3.3, -1.0, 1.0, 7) == 0, "no bias, 7 bins");
    memset(xa, 0, 6 * 50 * sizeof *xa);
    CHECK(differ(6, 50, 12, 1, 6.0, -1.0, 1.0, 64) == 0, "all zeros");
    for (int i = 0; i < 6; i++)
        xa[i * 50 + (i * 7) % 50] = (float)(i - 3) * 0.3f;
    CHECK(differ(6, 50, 12, 1, 6.0, -1.0, 1.0, 64) == 0, "one non-zero a row");
    for (int k = 0; k < 6 * 50; k++)
        xa[k] = 0.5f;
    CHECK(differ(6, 50, 12, 1, 6.0, -1.0, 1.0, 64) == 0, "one value a row");
    CHECK(differ(6, 50, 1, 1, 6.0, -1.0, 1.0, 64) == 0, "one output");
    CHECK(differ(0, 50, 12, 1, 6.0, -1.0, 1.0, 64) == 0, "no rows");
}

/* inf and NaN inputs (their rows one by one), inf and NaN gradients (their
 * outputs one by one), a scale so small that inputs become 0 before an
 * infinite gradient (0 * inf is NaN), products that overflow to inf from
 * finite factors, and s a itself overflowing. */
static void test_hist_nonfinite(void)
{
    srand(5);
    for (int k = 0; k < 5 * 40; k++)
        xa[k] = rand() % 3 == 0 ? 0.0f : (float)(unif() - 0.3);
    for (int k = 0; k < 5 * 9; k++)
        xd[k] = (float)(unif() - 0.5) * 0.3f;
    xa[1 * 40 + 3] = INFINITY;
    xa[2 * 40 + 5] = NAN;
    xa[3 * 40 + 0] = -INFINITY;
    xd[0 * 9 + 2] = NAN;
    xd[1 * 9 + 4] = INFINITY;
    xd[4 * 9 + 1] = -INFINITY;
    xd[4 * 9 + 6] = INFINITY;
    CHECK(differ(5, 40, 9, 1, 5.0, -1.0, 1.0, 64) == 0, "inf and NaN");
    for (int k = 0; k < 5 * 40; k++)
        xa[k] = k % 4 == 0 ? 0.0f : k % 4 == 1 ? 1e-30f : k % 4 == 2 ? -1e-30f : 1.0f;
    CHECK(differ(5, 40, 9, 1, 1e-300, -1.0, 1.0, 64) == 0, "inputs underflowing to 0");
    for (int k = 0; k < 5 * 40; k++)
        xa[k] = (float)(k % 7) * 1e37f;
    for (int k = 0; k < 5 * 9; k++)
        xd[k] = (float)(k % 5 - 2) * 1e38f;
    CHECK(differ(5, 40, 9, 1, 1e250, -1.0, 1.0, 64) == 0, "products overflowing");
    CHECK(differ(5, 40, 9, 1, 1e300, -1.0, 1.0, 64) == 0, "s a overflowing");
}

/* Ranges other than [-1, 1): narrow, shifted (all entries below), tiny
 * against its position (a few ulps wide: edges past the nominal ones), so
 * wide that hi - lo overflows (every entry in bin 0); one bin; 5000. */
static void test_hist_ranges(void)
{
    srand(9);
    for (int k = 0; k < 7 * 60; k++)
        xa[k] = rand() % 4 == 0 ? 0.0f : (float)(rand() % 256) / 255.0f;
    for (int k = 0; k < 7 * 11; k++)
        xd[k] = (float)(unif() - 0.5) * 0.2f;
    CHECK(differ(7, 60, 11, 1, 7.0, -0.05, 0.3, 64) == 0, "[-0.05, 0.3)");
    CHECK(differ(7, 60, 11, 1, 7.0, 2.0, 5.0, 64) == 0, "[2, 5)");
    CHECK(differ(7, 60, 11, 1, 7.0, -1e-7, 1e-7, 64) == 0, "[-1e-7, 1e-7)");
    CHECK(differ(7, 60, 11, 1, 7.0, 0.01, 0.01 + 4 * DBL_EPSILON / 64, 64) == 0,
          "a few ulps wide");
    CHECK(differ(7, 60, 11, 1, 7.0, -1.5e308, 1.5e308, 64) == 0, "hi - lo overflowing");
    CHECK(differ(7, 60, 11, 1, 7.0, -1.0, 1.0, 1) == 0, "one bin");
    CHECK(differ(7, 60, 11, 1, 7.0, -1.0, 1.0, MBINS) == 0, "%d bins", MBINS);
    CHECK(differ(7, 60, 11, 1, 7.0, -0.01, 0.01, 600) == 0, "600 narrow bins");
}

/* Random rows: sizes, densities, pixel-like (k / 255, many ties) or
 * continuous inputs of either sign, gradients from tiny (every output in
 * one bin) to large (spanning all), scales, bins and ranges. */
static void test_hist_random(void)
{
    srand(12);
    int fails = 0, first = -1;
    for (int round = 0; round < 300; round++) {
        int B = 1 + rand() % MB, I = 1 + rand() % MI, O = 1 + rand() % MO;
        int kind = rand() % 3, nbins = rand() % 4 == 0 ? 1 + rand() % 700 : 64;
        double density = unif(), mag = pow(10.0, -3 + 4 * unif());
        for (int k = 0; k < B * I; k++)
            xa[k] = unif() >= density ? 0.0f
                  : kind == 0 ? (float)(rand() % 256) / 255.0f
                  : kind == 1 ? (float)(unif() * 4 - 1)
                  : (float)((rand() % 5) - 2) * 0.25f;
        for (int k = 0; k < B * O; k++)
            xd[k] = rand() % 10 == 0 ? 0.0f : (float)((unif() - 0.5) * mag);
        double s = rand() % 3 == 0 ? (double)B : rand() % 2 ? 1.0 : -0.37 * (1 + rand() % 9);
        double lo = rand() % 2 ? -1.0 : -unif(), hi = rand() % 2 ? 1.0 : lo + 0.01 + unif();
        int bad = differ(B, I, O, rand() % 4 != 0, s, lo, hi, nbins);
        if (bad != 0 && first < 0)
            first = round;
        fails += bad != 0;
    }
    CHECK(fails == 0, "%d of 300 random rounds differ from the naive count (first %d)",
          fails, first);
}

/* Rows of many non-zeros against many outputs that each span a few bins:
 * the case where the row is grouped into cells and only a window of cells
 * about E_b / d is compared (ge_cells). Inputs on the bin edges (k / 32,
 * gradients of +-1/2^k: products exactly on the edges of 64 bins over
 * [-1, 1)), pixel-like ties, both signs; then ranges so small or so large
 * that E_b / d leaves the range where the window's bound holds (the
 * window is then every cell). */
static void test_hist_grouped(void)
{
    srand(21);
    int B = 6, I = MI, O = MO, fails = 0, first = -1;
    for (int round = 0; round < 24; round++) {
        int kind = round % 4;
        for (int k = 0; k < B * I; k++)
            xa[k] = rand() % 5 == 0 ? 0.0f
                  : kind == 0 ? (float)(rand() % 65 - 32) / 32.0f
                  : kind == 1 ? (float)(rand() % 256) / 255.0f
                  : kind == 2 ? (float)(unif() * 2 - 0.5)
                  : (float)(rand() % 8) / 8.0f;
        for (int k = 0; k < B * O; k++) {
            int r = rand() % 4;
            xd[k] = r == 0 ? (float)ldexp(rand() % 2 ? 1.0 : -1.0, -(rand() % 5))
                  : (float)((unif() - 0.5) * 0.2);
        }
        double s = kind == 0 ? 1.0 : kind == 1 ? 32.0 : -3.0;
        int bad = differ(B, I, O, 1, s, -1.0, 1.0, 64);
        if (bad != 0 && first < 0)
            first = round;
        fails += bad != 0;
    }
    CHECK(fails == 0, "%d of 24 grouped rounds differ from the naive count (first %d)", fails,
          first);
    for (int k = 0; k < B * I; k++)
        xa[k] = rand() % 5 == 0 ? 0.0f : (float)unif();
    for (int k = 0; k < B * O; k++)
        xd[k] = (float)(unif() - 0.5);
    CHECK(differ(B, I, O, 1, 1e300, -1e300, 1e300, 64) == 0, "E_b / d overflowing");
    CHECK(differ(B, I, O, 1, 1e-300, -1e-300, 1e-300, 64) == 0, "E_b subnormal");
    /* An entry exactly on the edge (E = fl(a d), the one edge of two bins
     * over [E - 1/2, E + 1/2)) whose x = fl(E fl(1 / d)) is a double above
     * a, across a cell boundary from it (found by a search, for the 2n cells
     * of this row's 25 non-zeros between vmin and vmax): only a window
     * wider than x's own cell counts a in bin 1, as its product is. */
    float ea = 0x1.7b398p+0f, ed = 0x1.de9bf8p-1f, emin = 0x1.6cd0cap-1f, emax = 0x1.18736ap+1f;
    double e = (double)ea * ed;
    for (int k = 0; k < 25; k++)
        xa[k] = k == 0 ? ea : k == 1 ? emax : emin;
    for (int j = 0; j < 20; j++)
        xd[j] = ed;
    CHECK(e * (1 / (double)ed) > ea && differ(1, 25, 20, 0, 1.0, e - 0.5, e + 0.5, 2) == 0,
          "an entry on the edge, its guess a cell away");
}

/* A pixel as the loaders make it: byte * (1 / 255) in float (kind 0, a
 * loader that multiplies) or byte / 255 (1, the core's wb_pixel_f32 and
 * numpy's), which differ for some bytes; or the float below kind 0's (2): 255 times either is never below the byte, so only these
 * make the grid's guess of a boundary key low (and its walk go up). */
static float pixel(int byte, int kind)
{
    float f = (float)byte * (1.0f / 255.0f);
    return kind == 1 ? (float)((double)byte / 255.0) : kind == 2 ? nextafterf(f, 0.0f) : f;
}

/* MNIST-like rows of the grid: B rows of I inputs, about density of them
 * non-zero, bytes from 1 to 255, near 255 more often (as in digits). */
static void grid_rows(int B, int I, double density, int kind)
{
    for (int k = 0; k < B * I; k++) {
        int byte = rand() % 3 == 0 ? 250 + rand() % 6 : 1 + rand() % 255;
        xa[k] = unif() < density ? pixel(byte, kind) : 0.0f;
    }
}

/* Rows on the grid (every non-zero input one of 255 floats, one a key):
 * both loaders' floats, each on its own and mixed in one call (then a
 * key has two floats: those rows are counted as before); rows with an
 * input off the grid (negative, above 1, between two keys' floats) among
 * grid rows; one non-zero; all zeros; a batch of one; bias on and off;
 * scales of either sign. */
static void test_hist_grid(void)
{
    srand(31);
    for (int kind = 0; kind < 3; kind++) {
        grid_rows(MB, MI, 0.2, kind);
        for (int k = 0; k < MB * MO; k++)
            xd[k] = (float)((unif() - 0.5) * 0.02);
        CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "grid rows, pixels of kind %d", kind);
        CHECK(differ(MB, MI, MO, 0, -MB, -1.0, 1.0, 64) == 0, "a negative scale, no bias");
        CHECK(differ(1, MI, MO, 1, 1.0, -1.0, 1.0, 64) == 0, "a batch of one");
    }
    int differs = 0; /* the loaders' floats of some byte differ: the mixed rows conflict */
    for (int byte = 1; byte < 256; byte++)
        differs += pixel(byte, 0) != pixel(byte, 1);
    CHECK(differs > 0, "the two loaders' pixels never differ: the mixed case tests nothing");
    for (int k = 0; k < MB * MI; k++)
        xa[k] = rand() % 4 ? 0.0f : pixel(1 + rand() % 255, k / MI % 2);
    CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "both loaders in one call");
    for (int k = 0; k < MB * MI; k++) /* odd columns: other floats of the same keys */
        xa[k] = rand() % 4 ? 0.0f : (float)((rand() % 255 + 1 + (k % 2) * 0.4) / 255);
    for (int k = 0; k < MB * MO; k++)
        xd[k] = (float)(unif() - 0.5);
    CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "two floats of a key in one call");
    const float off[4] = {-0.5f, 1.5f, 0.5f / 255.0f, pixel(7, 0) * (1 + FLT_EPSILON)};
    for (int q = 0; q < 4; q++) {
        grid_rows(MB, MI, 0.2, 0);
        xa[3 * MI + 11] = off[q];
        CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "a row off the grid (%g)",
              (double)off[q]);
    }
    grid_rows(MB, MI, 0.2, 0);
    memset(xa, 0, MI * sizeof *xa); /* row 0: all zeros; row 1: one non-zero */
    memset(xa + MI, 0, MI * sizeof *xa);
    xa[MI + 5] = pixel(200, 0);
    CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "zero and one non-zero rows");
    memset(xa, 0, MB * MI * sizeof *xa);
    CHECK(differ(MB, MI, MO, 1, MB, -1.0, 1.0, 64) == 0, "all zeros");
}

/* Entries of a grid row exactly on a bin edge E: a scale s found so that
 * fl(fl(s g_k) d) == E for the float g_k of a key k and d = +-1 (or, at
 * the next scales that move s g_k, just beside E), against rows holding
 * every key: a
 * boundary key found one off counts key k's entries in the wrong bin. */
static void test_hist_grid_edges(void)
{
    int fails = 0, tried = 0;
    const double range[3][2] = {{-1.0, 1.0}, {-0.3, 0.7}, {-1.0, 0.37}};
    for (int r = 0; r < 3; r++)
        for (int b = 1; b < 64; b += 9)
            for (int sign = -1; sign <= 1; sign += 2)
                for (int key = 1; key < 256; key += 7) {
                    double lo = range[r][0], hi = range[r][1], e = smallest_of(b, lo, hi, 64);
                    float g = pixel(key, r);
                    double s = sign * e / g;
                    int hit = 0;
                    for (int u = 0; u < 40 && !hit; u++) {
                        hit = (s * g) * sign == e;
                        if (!hit)
                            s = nextafter(s, ((s * g) * sign < e) == (sign * g > 0) ? INFINITY
                                                                                     : -INFINITY);
                    }
                    if (!hit || e == 0)
                        continue;
                    for (int i = 0; i < 3; i++)
                        for (int k = 0; k < MI; k++)
                            xa[i * MI + k] = k < 255 ? pixel(k + 1, r) : 0.0f;
                    for (int j = 0; j < MO; j++)
                        xd[j] = xd[MO + j] = xd[2 * MO + j] = j % 3 == 0 ? (float)sign
                                                            : (float)((unif() - 0.5) * 0.1);
                    for (int u = -1; u <= 1; u++) { /* the next scales that move fl(s g) */
                        double su = s;
                        while (u != 0 && (su * g) * sign == e)
                            su = nextafter(su, u * INFINITY);
                        fails += differ(3, MI, MO, 1, su, lo, hi, 64) != 0;
                    }
                    tried++;
                }
    CHECK(tried > 1000, "only %d edges hit exactly", tried);
    CHECK(fails == 0, "%d of %d grid rows on an edge (and an ulp beside) differ", fails,
          3 * tried);
}

/* Grid rows against inf, -inf and NaN gradients among finite ones (their
 * entries counted key by key, the others by the pairs), with scales of
 * either sign and one so small that s f underflows to 0 for keys below
 * 128 (inf * 0 is NaN: an infinite gradient's entries then span bins). */
static void test_hist_grid_nonfinite(void)
{
    srand(13);
    const float bad[3] = {INFINITY, -INFINITY, NAN};
    const double scales[3] = {MB, -0.5, 0x1p-1074}; /* the last: s f is 0 or 2^-1074 */
    for (int q = 0; q < 3; q++) {
        grid_rows(MB, MI, 0.2, q);
        for (int k = 0; k < MB * MO; k++)
            xd[k] = rand() % 7 == 0 ? bad[rand() % 3] : (float)((unif() - 0.5) * 0.3);
        CHECK(differ(MB, MI, MO, 1, scales[q], -1.0, 1.0, 64) == 0,
              "grid rows, non-finite gradients, scale %g", scales[q]);
    }
}

/* MNIST-like grid rows against many random gradients, from tiny (one
 * bin) to large (spanning many), against the naive count. */
static void test_hist_grid_random(void)
{
    srand(41);
    int fails = 0, first = -1;
    for (int round = 0; round < 200; round++) {
        int B = 1 + rand() % MB, O = 1 + rand() % MO;
        grid_rows(B, MI, 0.05 + 0.3 * unif(), rand() % 3);
        double mag = pow(10.0, -4 + 4 * unif());
        for (int k = 0; k < B * O; k++)
            xd[k] = rand() % 10 == 0 ? 0.0f : (float)((unif() - 0.5) * mag);
        double s = rand() % 2 ? (double)B : -0.37 * (1 + rand() % 9);
        int nbins = rand() % 3 == 0 ? 1 + rand() % 300 : 64;
        int bad = differ(B, MI, O, rand() % 2, s, -1.0, 1.0, nbins);
        if (bad != 0 && first < 0)
            first = round;
        fails += bad != 0;
    }
    CHECK(fails == 0, "%d of 200 grid rounds differ from the naive count (first %d)", fails,
          first);
}

/* Rows whose outputs' entries all stay in one bin each, counted from the
 * inputs' extremes alone (the shortcut, tried while it pays in a call),
 * with their bins and biases tallied bin by bin for 32 outputs or more:
 * calls whose first rows span bins and whose later ones do not (the
 * shortcut given up) and the reverse; one-bin rows with an entry exactly
 * on a bin's lower edge; NaN and inf gradients (one bin each with positive
 * inputs), -0.0 and NaN inputs; biases spread over more bins than the
 * vector tally takes; grid and other rows, and few outputs. */
static void test_hist_one_bin(void)
{
    srand(51);
    int B = MB, I = 60, fails = 0, first = -1;
    for (int round = 0; round < 48; round++) {
        int O = round % 8 == 7 ? 5 : MO, kind = round % 3, late = round % 2;
        for (int k = 0; k < B * I; k++)
            xa[k] = rand() % 3 == 0 ? 0.0f
                  : kind == 0 ? (float)(1 + rand() % 255) / 255.0f
                  : kind == 1 ? (float)(unif() * 2 - 0.5)
                  : (float)(1 + rand() % 8) / 8.0f;
        for (int i = 0; i < B; i++) {
            int wide = (i < B / 2) == late; /* spanning rows first, or last */
            for (int j = 0; j < O; j++)
                xd[i * O + j] = wide ? (float)(unif() - 0.5)
                              : kind == 2 && j % 3 == 0 ? -1.0f / 256 /* on an edge */
                              : (float)((unif() - 0.5) * 1e-3);
        }
        double s = round % 4 < 2 ? 1.0 : -2.5;
        int bad = differ(B, I, O, 1, s, -1.0, 1.0, 64);
        if (bad != 0 && first < 0)
            first = round;
        fails += bad != 0;
    }
    CHECK(fails == 0, "%d of 48 one-bin rounds differ from the naive count (first %d)", fails,
          first);
    for (int k = 0; k < B * I; k++)
        xa[k] = k % 5 == 0 ? 0.0f : k % 5 == 1 ? -0.0f : (float)(1 + k % 7) / 8.0f;
    for (int k = 0; k < B * MO; k++)
        xd[k] = k % 11 == 0 ? NAN : k % 11 == 1 ? INFINITY : k % 11 == 2 ? -INFINITY
              : -1.0f / 256;
    CHECK(differ(B, I, MO, 1, 1.0, -1.0, 1.0, 64) == 0, "NaN and inf gradients, one bin each");
    xa[3 * I + 4] = NAN;
    CHECK(differ(B, I, MO, 1, 1.0, -1.0, 1.0, 64) == 0, "a NaN input among one-bin rows");
    for (int k = 0; k < B * I; k++)
        xa[k] = k % 3 == 0 ? 0.0f : 1e-3f * (float)(1 + k % 5);
    for (int k = 0; k < B * MO; k++)
        xd[k] = (float)(unif() - 0.5) * 1.9f;
    CHECK(differ(B, I, MO, 1, 1.0, -1.0, 1.0, 64) == 0, "biases over many bins");
    CHECK(differ(B, I, MO, 1, 1.0, -1.0, 1.0, 7) == 0, "biases over many bins, 7 bins");
}

/* The byte counters (rows off the grid whose outputs span 2 to 32 bins,
 * and the tallies of outputs by bin when there are 32 outputs or more):
 * rows like a last layer's (relu-like inputs, half zero, ten outputs,
 * gradients up to +-1) at scales that make spans from one bin to all;
 * more than 255 entries of an output in one bin (the counters go 240
 * entries at a time); row lengths that are not a multiple of 16 (the
 * padding is taken off the lowest bin for d > 0, the highest for d < 0);
 * one-bin outputs and biases over 4 to 40 bins (each width of the
 * tally); -0, subnormals, a huge d, NaN and inf among them; one row, one
 * output. */
static void test_hist_bytes(void)
{
    int fails = 0, first = -1;
    for (int round = 0; round < 40; round++) {
        int B = 1 + round % 8, I = round % 5 == 0 ? 300 : 1 + (round * 37) % 200;
        int O = round % 7 == 0 ? 1 : round % 3 == 0 ? 33 : 10;
        for (int k = 0; k < B * I; k++)
            xa[k] = unif() < 0.5 ? 0.0f : (float)(3 * unif());
        for (int k = 0; k < B * O; k++)
            xd[k] = (float)(2 * unif() - 1) / (float)B;
        double s = (double)B * (round % 4 == 0 ? 0.1 : round % 4 == 1 ? 1 : 10);
        int bad = differ(B, I, O, round % 2, round % 6 == 5 ? -s : s, -1.0, 1.0, 64);
        if (bad != 0 && first < 0)
            first = round;
        fails += bad != 0;
    }
    CHECK(fails == 0, "%d of 40 last-layer rounds differ from the naive count (first %d)",
          fails, first);
    for (int I = 290; I <= 300; I += 10)
        for (int sign = -1; sign <= 1; sign += 2) {
            for (int k = 0; k < 2 * I; k++) /* 0.5 d in one bin, the last's an edge away */
                xa[k] = k % I == I - 1 ? 1.0f : 0.5f;
            for (int j = 0; j < 4; j++)
                xd[j] = (float)sign * (0.3f + 0.2f * (float)j);
            CHECK(differ(2, I, 2, 1, 1.0, -1.0, 1.0, 64) == 0,
                  "%d entries of an output in one bin, d of sign %d", I - 1, sign);
        }
    for (int w = 4; w <= 40; w += w < 32 ? w : 8) { /* one bin each, over about w bins */
        for (int k = 0; k < 4 * 20; k++)
            xa[k] = k % 3 == 0 ? 0.0f : 0.5f;
        for (int k = 0; k < 4 * MO; k++)
            xd[k] = (float)((unif() - 0.5) * w / 16);
        CHECK(differ(4, 20, MO, 1, 1.0, -1.0, 1.0, 64) == 0, "one-bin outputs over %d bins", w);
        CHECK(differ(4, 20, 32, 1, 1.0, -1.0, 1.0, 64) == 0, "32 outputs over %d bins", w);
    }
    for (int k = 0; k < 3 * 50; k++)
        xa[k] = k % 7 == 0 ? -0.0f : k % 7 == 1 ? 1e-40f : k % 7 == 2 ? -1e-39f
              : (float)(unif() - 0.3);
    for (int k = 0; k < 3 * 10; k++)
        xd[k] = k == 4 ? 1e30f : k == 7 ? -1e-30f : k == 12 ? 0.0f : k == 13 ? -0.0f
              : (float)(unif() - 0.5);
    CHECK(differ(3, 50, 10, 1, 3.0, -1.0, 1.0, 64) == 0, "-0, subnormals, a huge d");
    xd[20] = NAN, xd[21] = INFINITY, xa[60] = INFINITY;
    CHECK(differ(3, 50, 10, 1, 3.0, -1.0, 1.0, 64) == 0, "NaN and inf among them");
    for (int k = 0; k < 100; k++)
        xa[k] = (float)unif();
    xd[0] = 0.9f;
    CHECK(differ(1, 100, 1, 0, 1.0, -1.0, 1.0, 64) == 0, "one row, one output");
}

int main(void)
{
    wb_err err;
    ps = wb_persample_new(&err);
    if (!ps)
        return 1;
    RUN(test_hist_edges);
    RUN(test_hist_signs_ties);
    RUN(test_hist_nonfinite);
    RUN(test_hist_ranges);
    RUN(test_hist_random);
    RUN(test_hist_grouped);
    RUN(test_hist_grid);
    RUN(test_hist_grid_edges);
    RUN(test_hist_grid_random);
    RUN(test_hist_grid_nonfinite);
    RUN(test_hist_one_bin);
    RUN(test_hist_bytes);
    wb_persample_free(ps);
    TH_EXIT();
}
