/* test_persample_hist2d.c - wb_persample_hist2d (core/persample_hist2d.c)
 * against the naive count: every entry's (x, y) bin one at a time, x =
 * (s a_ik) * dz_ij in double (a zero input's entries are 0) against y =
 * W_kj, plus the bias's (s dz_ij, b_j). Each case runs from the dense input
 * and from its non-zeros (CSR), at every SIMD level the CPU has, onto bins
 * that already hold counts (the function adds). The cases aim at what the
 * shortcuts assume: outputs whose entries share an x bin (moved by y bin),
 * span x bins, sit on x's bin of 0, negative inputs, scales and
 * gradients, empty rows, non-finite inputs, gradients and weights, weights
 * outside the y range, one y bin and 255, and MNIST-sized layers. Layers of
 * 64 outputs or more take the sorted path (each row's inputs sorted, an
 * output's entries counted by runs of one x bin): its cases aim at rows of
 * more than 255 inputs, many equal inputs and bunched ones, runs that end
 * on x's edges, both signs, non-finite gradients among finite ones, and
 * 4, 5, 7 and 9 y bins (its counters come 4 or 8 at a time, the bin after
 * them the rest).
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/persample.h"
#include "../../core/simd.h"

#define MB 8
#define MI 784
#define MO 130
#define MBINS (64 * 255)

static float xa[MB * MI], xd[MB * MO], xw[MI * MO], xb[MO];
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

/* The bins (of nx x ny over [-1, 1) x [ylo, yhi)) where the library's
 * count differs from the naive one for xa [B, I], xd [B, O], xw [I, O] and
 * xb [O] when bias; 0 when none does, -1 when the call fails. */
static int differ(int B, int I, int O, int bias, double s, int nx, int ny, double ylo,
                  double yhi)
{
    int nb = nx * ny;
    memset(want, 0, (size_t)nb * sizeof *want);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < O; j++) {
            double d = xd[i * O + j];
            for (int k = 0; k < I; k++) {
                float a = xa[i * I + k];
                int bx = a == 0.0f ? naive_bin(0, -1, 1, nx) : naive_bin((s * a) * d, -1, 1, nx);
                want[bx * ny + naive_bin(xw[k * O + j], ylo, yhi, ny)] += 1;
            }
            if (bias)
                want[naive_bin(s * d, -1, 1, nx) * ny + naive_bin(xb[j], ylo, yhi, ny)] += 1;
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
            for (int b = 0; b < nb; b++)
                got[b] = 3;
            if (wb_persample_hist2d(ps, got, nx, -1, 1, ny, ylo, yhi, csr ? NULL : xa,
                                    csr ? &sp : NULL, xd, xw, bias ? xb : NULL, B, I, O, s,
                                    &err) != WB_OK)
                return -1;
            int n = 0;
            for (int b = 0; b < nb; b++)
                n += got[b] != want[b] + 3;
            bad = n > bad ? n : bad;
        }
    }
    wb_simd_allow_avx2(1);
    return bad;
}

/* A double in [0, 1) from rand(). */
static double unif(void)
{
    return (double)rand() / ((double)RAND_MAX + 1);
}

/* Random weights of scale ws (and biases), gradients of scale ds, inputs
 * zero with probability pz and else pixels k / 255 (sign < 0: either sign). */
static void fill(int B, int I, int O, double ws, double ds, double pz, int sign)
{
    for (int k = 0; k < I * O; k++)
        xw[k] = (float)((unif() - 0.5) * 2 * ws);
    for (int j = 0; j < O; j++)
        xb[j] = (float)((unif() - 0.5) * 2 * ws);
    for (int k = 0; k < B * O; k++)
        xd[k] = (float)((unif() - 0.5) * 2 * ds);
    for (int k = 0; k < B * I; k++) {
        float f = unif() < pz ? 0.0f : (float)(1 + rand() % 255) / 255.0f;
        xa[k] = sign < 0 && rand() % 2 ? -f : f;
    }
}

/* Weights uniform in [lo, hi) for a layer of I x O. */
static void weights(int I, int O, double lo, double hi)
{
    for (int k = 0; k < I * O; k++)
        xw[k] = (float)(lo + unif() * (hi - lo));
}

/* The sorted path: 128 outputs, Cockpit's bins. */
static int sorted_differ(int B, double s)
{
    return differ(B, 784, 128, 1, s, 40, 50, -2, 2);
}

static void test_hist2d_sorted(void)
{
    srand(19);
    fill(4, 784, 128, 0.08, 0.05, 0.05, 1); /* ~745 inputs a row: three ysnap chunks */
    CHECK(sorted_differ(4, 4.0) == 0, "rows of more than 255 inputs");
    fill(3, 784, 128, 0.08, 0.3, 0.3, -1);
    CHECK(sorted_differ(3, -3.0) == 0, "both signs, a negative scale, wide spans");
    CHECK(sorted_differ(1, 1.0) == 0, "one row");
    fill(4, 784, 128, 0.08, 0.05, 0.8, 1);
    for (int k = 0; k < 784; k++) /* row 0: one value (one bucket, sorted) */
        xa[k] = xa[k] != 0.0f ? 1.0f : 0.0f;
    for (int k = 784; k < 2 * 784; k++) /* row 1: bunched below one outlier */
        xa[k] = xa[k] != 0.0f ? (float)(0.5 + 1e-4 * unif()) : 0.0f;
    xa[784 + 5] = 400.0f;
    for (int k = 2 * 784; k < 3 * 784; k++) /* row 2: three values */
        xa[k] = xa[k] != 0.0f ? (float)(1 + rand() % 3) / 3.0f : 0.0f;
    CHECK(sorted_differ(4, 4.0) == 0, "equal and bunched inputs, an outlier");
    for (int i = 0; i < 3; i++) { /* dyadic: entries on x's edges */
        for (int k = 0; k < 784; k++)
            xa[i * 784 + k] = k % 3 ? (float)((k + i) % 17 - 8) / 8 : 0.0f;
        for (int j = 0; j < 128; j++)
            xd[i * 128 + j] = (float)((j + i) % 9 - 4) / 4;
    }
    CHECK(sorted_differ(3, 1.0) == 0, "runs that end on x's edges");
    fill(4, 784, 128, 0.08, 0.2, 0.7, -1);
    xd[0 * 128 + 3] = NAN, xd[1 * 128 + 70] = INFINITY, xd[2 * 128 + 127] = -INFINITY;
    xa[3 * 784 + 100] = NAN;
    CHECK(sorted_differ(4, 8.0) == 0, "non-finite gradients and an input among finite");
    static const double lo[4] = {-0.08, -0.159, -0.24, -0.32}, hi[4] = {0.16, 0.239, 0.32, 0.4};
    static const char *what[4] = {"4 y bins", "5 y bins (the fifth the rest)", "7 y bins",
                                  "9 y bins (the ninth the rest)"};
    fill(4, 784, 128, 0.08, 0.1, 0.8, 1);
    for (int q = 0; q < 4; q++) {
        weights(784, 128, lo[q], hi[q]);
        CHECK(sorted_differ(4, 8.0) == 0, what[q]);
    }
}

/* MNIST-like first layers (Cockpit's bins: 40 over [-1, 1), 50 over [-2,
 * 2)): entries mostly inside one x bin, some spanning, weights in a few y
 * bins or spread over all of them; a hidden layer of either sign. */
static void test_hist2d_layers(void)
{
    srand(11);
    fill(8, 784, 128, 0.08, 0.003, 0.8, 1);
    CHECK(differ(8, 784, 128, 1, 8.0, 40, 50, -2, 2) == 0, "first layer, small entries");
    fill(8, 784, 128, 0.08, 0.05, 0.8, 1);
    CHECK(differ(8, 784, 128, 1, 8.0, 40, 50, -2, 2) == 0, "first layer, spanning entries");
    fill(8, 784, 128, 3.0, 0.05, 0.8, 1);
    CHECK(differ(8, 784, 128, 1, 8.0, 40, 50, -2, 2) == 0, "weights over every y bin");
    fill(8, 128, 10, 0.3, 0.2, 0.5, -1);
    CHECK(differ(8, 128, 10, 1, 8.0, 40, 50, -2, 2) == 0, "hidden layer, both signs");
    CHECK(differ(8, 128, 10, 0, -3.0, 40, 50, -2, 2) == 0, "no bias, a negative scale");
    fill(5, 33, 130, 0.5, 0.1, 0.3, -1);
    CHECK(differ(5, 33, 130, 1, 5.0, 7, 1, -2, 2) == 0, "one y bin");
    CHECK(differ(5, 33, 130, 1, 5.0, 64, 255, -0.6, 0.4) == 0, "255 y bins, another range");
    CHECK(differ(5, 33, 17, 1, 5.0, 1, 3, -2, 2) == 0, "one x bin, 17 outputs");
}

/* Rows of zeros, one non-zero a row, no rows, zero gradients (every entry
 * at x's bin of 0), and entries exactly on x's edges (dyadic products). */
static void test_hist2d_edges(void)
{
    srand(13);
    fill(6, 50, 12, 0.5, 0.1, 0.5, 1);
    for (int k = 0; k < 50; k++)
        xa[2 * 50 + k] = 0.0f;
    CHECK(differ(6, 50, 12, 1, 6.0, 40, 50, -2, 2) == 0, "a row of zeros");
    memset(xa, 0, sizeof xa);
    for (int i = 0; i < 6; i++)
        xa[i * 50 + (i * 7) % 50] = (float)(i - 3) * 0.3f;
    CHECK(differ(6, 50, 12, 1, 6.0, 40, 50, -2, 2) == 0, "one non-zero a row");
    CHECK(differ(0, 50, 12, 1, 6.0, 40, 50, -2, 2) == 0, "no rows");
    fill(6, 50, 1, 0.5, 0.1, 0.5, -1);
    CHECK(differ(6, 50, 1, 1, 6.0, 40, 50, -2, 2) == 0, "one output");
    CHECK(differ(1, 50, 1, 0, 6.0, 40, 50, -2, 2) == 0, "one output, one row");
    memset(xd, 0, sizeof xd);
    CHECK(differ(6, 50, 12, 1, 6.0, 40, 50, -2, 2) == 0, "zero gradients");
    for (int i = 0; i < 4; i++) {
        for (int k = 0; k < 17; k++)
            xa[i * 17 + k] = (float)(k - 8) / 8;
        for (int j = 0; j < 9; j++)
            xd[i * 9 + j] = (float)((j + i) % 9 - 4) / 4;
    }
    for (int k = 0; k < 17 * 9; k++)
        xw[k] = (float)(k % 33 - 16) / 8; /* on y's edges too */
    CHECK(differ(4, 17, 9, 1, 1.0, 40, 50, -2, 2) == 0, "entries and weights on edges");
}

/* inf and NaN inputs, gradients and weights, and products that overflow. */
static void test_hist2d_nonfinite(void)
{
    srand(17);
    fill(5, 40, 9, 0.5, 0.15, 0.3, -1);
    xa[1 * 40 + 3] = INFINITY;
    xa[2 * 40 + 5] = NAN;
    xd[0 * 9 + 2] = NAN;
    xd[1 * 9 + 4] = INFINITY;
    xd[4 * 9 + 1] = -INFINITY;
    xw[7 * 9 + 2] = NAN;
    xw[3 * 9 + 8] = -INFINITY;
    xb[5] = NAN;
    CHECK(differ(5, 40, 9, 1, 5.0, 40, 50, -2, 2) == 0, "inf and NaN");
    for (int k = 0; k < 5 * 40; k++)
        xa[k] = (float)(k % 7) * 1e37f;
    for (int k = 0; k < 5 * 9; k++)
        xd[k] = (float)(k % 5 - 2) * 1e38f;
    CHECK(differ(5, 40, 9, 1, 5.0, 40, 50, -2, 2) == 0, "overflowing products");
}

static void test_hist2d_bad_bins(void)
{
    wb_err err;
    CHECK(wb_persample_hist2d(ps, got, 40, -1, 1, 256, -2, 2, xa, NULL, xd, xw, NULL, 1, 2, 2,
                              1.0, &err) == WB_EINVAL &&
          strstr(err.msg, "256"), "256 y bins refused");
    CHECK(wb_persample_hist2d(ps, got, 40, 1, 1, 50, -2, 2, xa, NULL, xd, xw, NULL, 1, 2, 2,
                              1.0, &err) == WB_EINVAL, "an empty x range refused");
}

int main(void)
{
    wb_err err;
    ps = wb_persample_new(&err);
    if (!ps)
        return 1;
    RUN(test_hist2d_layers);
    RUN(test_hist2d_edges);
    RUN(test_hist2d_sorted);
    RUN(test_hist2d_nonfinite);
    RUN(test_hist2d_bad_bins);
    wb_persample_free(ps);
    TH_EXIT();
}
