/* test_persample.c - core/persample.c against explicit per-sample gradients
 * g_i = s a_i dz_i^T (kernel) and s dz_i (bias), built with plain loops. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/persample.h"

#define B 5
#define I 7
#define O 4
#define P (I * O + O)

static float a[B * I], dz[B * O];
static double g[B][P]; /* explicit per-sample gradients, kernel then bias */

static void setup(void)
{
    srand(7);
    for (int k = 0; k < B * I; k++) /* some exact zeros, as pixels have */
        a[k] = k % 3 == 0 ? 0.0f : (float)rand() / RAND_MAX - 0.5f;
    for (int k = 0; k < B * O; k++)
        dz[k] = (float)rand() / RAND_MAX - 0.5f;
    for (int i = 0; i < B; i++) {
        for (int k = 0; k < I; k++)
            for (int o = 0; o < O; o++)
                g[i][k * O + o] = (double)B * a[i * I + k] * dz[i * O + o];
        for (int o = 0; o < O; o++)
            g[i][I * O + o] = (double)B * dz[i * O + o];
    }
}

/* a's non-zeros row by row, as a Dense layer keeps them. */
static int64_t csr_row[B + 1];
static int32_t csr_idx[B * I];
static float csr_val[B * I];
static const wb_persample_csr csr = {csr_row, csr_idx, csr_val};

static void make_csr(const float *x, int64_t rows, int64_t cols)
{
    int64_t t = 0;
    csr_row[0] = 0;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t k = 0; k < cols; k++)
            if (x[i * cols + k] != 0.0f)
                csr_idx[t] = (int32_t)k, csr_val[t++] = x[i * cols + k];
        csr_row[i + 1] = t;
    }
}

static double dot(const double *u, const double *v)
{
    double s = 0;
    for (int p = 0; p < P; p++)
        s += u[p] * v[p];
    return s;
}

static void test_norms_gram_dot(void)
{
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    REQUIRE(ps, "new");
    double sq[B] = {0}, gram[B * B] = {0}, proj[B] = {0};
    float vw[I * O], vb[O];
    double v[P];
    for (int p = 0; p < P; p++) {
        v[p] = 0.01 * (p % 11) - 0.05;
        if (p < I * O)
            vw[p] = (float)v[p];
        else
            vb[p - I * O] = (float)v[p];
    }
    double sq2[B] = {0}, proj2[B] = {0};
    make_csr(a, B, I);
    wb_persample_norms(sq, a, NULL, dz, B, I, O, 1, B);
    wb_persample_norms(sq2, NULL, &csr, dz, B, I, O, 1, B);
    CHECK(wb_persample_gram(ps, gram, a, dz, B, I, O, 1, B, &err) == WB_OK, "gram");
    CHECK(wb_persample_dot(ps, proj, a, NULL, dz, B, I, O, vw, vb, B, &err) == WB_OK, "dot");
    CHECK(wb_persample_dot(ps, proj2, NULL, &csr, dz, B, I, O, vw, vb, B, &err) == WB_OK,
          "dot from the non-zeros");
    for (int i = 0; i < B; i++) {
        CHECK_NEAR(sq[i], dot(g[i], g[i]), 1e-5);
        CHECK_NEAR(sq2[i], dot(g[i], g[i]), 1e-5);
        CHECK_NEAR(proj[i], dot(g[i], v), 1e-5);
        CHECK_NEAR(proj2[i], dot(g[i], v), 1e-5);
        for (int j = 0; j < B; j++)
            CHECK_NEAR(gram[i * B + j], dot(g[i], g[j]), 1e-5);
    }
    wb_persample_free(ps);
}

static void test_sum_sq_and_hist(void)
{
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    REQUIRE(ps, "new");
    float sw[I * O], sb[O], sw2[I * O], sb2[O];
    make_csr(a, B, I);
    CHECK(wb_persample_sum_sq(ps, sw, sb, a, NULL, dz, B, I, O, B, &err) == WB_OK, "sum_sq");
    CHECK(wb_persample_sum_sq(ps, sw2, sb2, NULL, &csr, dz, B, I, O, B, &err) == WB_OK,
          "sum_sq from the non-zeros");
    for (int p = 0; p < P; p++) {
        double want = 0;
        for (int i = 0; i < B; i++)
            want += g[i][p] * g[i][p];
        CHECK_NEAR(p < I * O ? sw[p] : sb[p - I * O], want, 1e-5);
        CHECK_NEAR(p < I * O ? sw2[p] : sb2[p - I * O], want, 1e-5);
    }
    double hist[8] = {0}, want[8] = {0};
    CHECK(wb_persample_hist(ps, hist, 8, -1.0, 1.0, a, NULL, dz, B, I, O, 1, B, &err) ==
          WB_OK, "hist");
    for (int i = 0; i < B; i++)
        for (int p = 0; p < P; p++) {
            int k = (int)floor((g[i][p] + 1.0) / 0.25);
            want[k < 0 ? 0 : k > 7 ? 7 : k] += 1;
        }
    for (int k = 0; k < 8; k++)
        CHECK(hist[k] == want[k], "bin %d: %g, expected %g", k, hist[k], want[k]);
    wb_persample_free(ps);
}

/* The naive count: every entry's bin, one product at a time, computed as
 * the library does ((s a_ik) * dz_ij in double). */
static int naive_bin(double v, double lo, double hi, int nbins)
{
    double f = (v - lo) * (nbins / (hi - lo));
    return !(f >= 0) ? 0 : f >= nbins ? nbins - 1 : (int)f;
}

#define HB 9
#define HI 300
#define HO 37

/* The sorted count equals the naive count exactly: random rows with ties
 * (pixel-like k / 255 inputs), negative inputs, entries beyond [lo, hi),
 * zeros in dz, many bins and few, dense and non-zero input, and rows with
 * inf and NaN (counted one by one). */
static void test_hist_exact(void)
{
    static float x[HB * HI], d[HB * HO];
    static double got[600], got2[600], want[600];
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    REQUIRE(ps, "new");
    srand(11);
    for (int round = 0; round < 24; round++) {
        int nbins = round % 3 == 0 ? 600 : round % 3 == 1 ? 64 : 3;
        double lo = round % 2 ? -1.0 : -0.05, hi = round % 2 ? 1.0 : 0.3;
        double s = round % 4 ? HB : 1.0;
        for (int k = 0; k < HB * HI; k++) {
            int r = rand() % 10;
            x[k] = r < 7 ? 0.0f : round % 2 ? (float)(rand() % 256) / 255.0f
                                            : (float)rand() / RAND_MAX - 0.5f;
        }
        for (int k = 0; k < HB * HO; k++)
            d[k] = rand() % 8 == 0 ? 0.0f : ((float)rand() / RAND_MAX - 0.5f) * 0.2f;
        if (round == 5)
            x[3 * HI + 7] = 1.0f / 0.0f, d[2 * HO] = 0.0f / 0.0f;
        if (round == 6)
            x[HI + 1] = 0.0f / 0.0f;
        memset(got, 0, sizeof got), memset(got2, 0, sizeof got2), memset(want, 0, sizeof want);
        CHECK(wb_persample_hist(ps, got, nbins, lo, hi, x, NULL, d, HB, HI, HO, 1, s, &err)
              == WB_OK, "hist");
        int64_t row[HB + 1];
        static int32_t idx[HB * HI];
        static float val[HB * HI];
        int64_t t = 0;
        row[0] = 0;
        for (int i = 0; i < HB; i++) {
            for (int k = 0; k < HI; k++)
                if (x[i * HI + k] != 0.0f)
                    idx[t] = k, val[t++] = x[i * HI + k];
            row[i + 1] = t;
        }
        wb_persample_csr sp = {row, idx, val};
        CHECK(wb_persample_hist(ps, got2, nbins, lo, hi, NULL, &sp, d, HB, HI, HO, 1, s,
                                &err) == WB_OK, "hist from the non-zeros");
        for (int i = 0; i < HB; i++) {
            for (int k = 0; k < HI; k++) {
                double ak = s * x[i * HI + k];
                for (int j = 0; j < HO; j++)
                    want[x[i * HI + k] == 0.0f ? naive_bin(0, lo, hi, nbins)
                                               : naive_bin(ak * d[i * HO + j], lo, hi,
                                                           nbins)] += 1;
            }
            for (int j = 0; j < HO; j++)
                want[naive_bin(s * d[i * HO + j], lo, hi, nbins)] += 1;
        }
        if (round == 1) { /* the register-blocked sparse dot (37 outputs: a block
                           * of 32 and a tail) against the dense GEMM */
            static float vw[HI * HO];
            double pd[HB] = {0}, ps2[HB] = {0};
            for (int k = 0; k < HI * HO; k++)
                vw[k] = (float)((k * 7) % 13) * 0.01f - 0.06f;
            CHECK(wb_persample_dot(ps, pd, x, NULL, d, HB, HI, HO, vw, NULL, s, &err) ==
                  WB_OK, "dense dot");
            CHECK(wb_persample_dot(ps, ps2, NULL, &sp, d, HB, HI, HO, vw, NULL, s, &err) ==
                  WB_OK, "sparse dot");
            for (int i = 0; i < HB; i++)
                CHECK_NEAR(ps2[i], pd[i], 1e-5 * (fabs(pd[i]) + 1e-3));
        }
        int bad = 0;
        for (int b = 0; b < nbins; b++)
            bad += got[b] != want[b] || got2[b] != want[b];
        CHECK(bad == 0, "round %d (%d bins): %d bins differ from the naive count", round,
              nbins, bad);
    }
    wb_persample_free(ps);
}

static void test_ce(void)
{
    float z[6] = {1, 2, 3, 0, 0, 0};
    uint8_t y[2] = {2, 1}, bad[2] = {0, 3};
    double l[2];
    wb_err err;
    CHECK(wb_persample_ce(l, z, y, 2, 3, &err) == WB_OK, "ce");
    CHECK_NEAR(l[0], log(exp(1) + exp(2) + exp(3)) - 3, 1e-12);
    CHECK_NEAR(l[1], log(3.0), 1e-12);
    CHECK(wb_persample_ce(l, z, bad, 2, 3, &err) == WB_ERANGE, "bad label");
    CHECK(strstr(err.msg, "row 2") != NULL, "message: %s", err.msg);
}

int main(void)
{
    setup();
    RUN(test_norms_gram_dot);
    RUN(test_sum_sq_and_hist);
    RUN(test_hist_exact);
    RUN(test_ce);
    TH_EXIT();
}
