/* test_persample.c - core/persample.c against explicit per-sample gradients
 * g_i = s a_i dz_i^T (kernel) and s dz_i (bias), built with plain loops. */
#include "harness.h"

#include <stdlib.h>

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
    wb_persample_norms(sq, a, dz, B, I, O, 1, B);
    CHECK(wb_persample_gram(ps, gram, a, dz, B, I, O, 1, B, &err) == WB_OK, "gram");
    CHECK(wb_persample_dot(ps, proj, a, dz, B, I, O, vw, vb, B, &err) == WB_OK, "dot");
    for (int i = 0; i < B; i++) {
        CHECK_NEAR(sq[i], dot(g[i], g[i]), 1e-5);
        CHECK_NEAR(proj[i], dot(g[i], v), 1e-5);
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
    float sw[I * O], sb[O];
    CHECK(wb_persample_sum_sq(ps, sw, sb, a, dz, B, I, O, B, &err) == WB_OK, "sum_sq");
    for (int p = 0; p < P; p++) {
        double want = 0;
        for (int i = 0; i < B; i++)
            want += g[i][p] * g[i][p];
        CHECK_NEAR(p < I * O ? sw[p] : sb[p - I * O], want, 1e-5);
    }
    double hist[8] = {0}, want[8] = {0};
    wb_persample_hist(hist, 8, -1.0, 1.0, a, dz, B, I, O, 1, B);
    for (int i = 0; i < B; i++)
        for (int p = 0; p < P; p++) {
            int k = (int)floor((g[i][p] + 1.0) / 0.25);
            want[k < 0 ? 0 : k > 7 ? 7 : k] += 1;
        }
    for (int k = 0; k < 8; k++)
        CHECK(hist[k] == want[k], "bin %d: %g, expected %g", k, hist[k], want[k]);
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
    RUN(test_ce);
    TH_EXIT();
}
