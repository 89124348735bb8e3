/* test_persample_vec.c - the instruments' fused passes (core/persample_vec.c
 * wb_persample_params, sqdist, rowdot, tic_diag; core/persample.c
 * wb_persample_dots, gsnr_layer) against plain loops of their definitions, and the same
 * bits from every SIMD copy (baseline, AVX2, AVX-512). */
#include "harness.h"

#include <stdlib.h>

#include "../../core/persample.h"
#include "../../core/simd.h"

#define N 1003 /* not a multiple of 8 or 32: the tails run too */

static float g[N], th[N], tt[N], t0[N];

static float rnd(void) { return (float)rand() / RAND_MAX - 0.5f; }

static void setup(void)
{
    srand(11);
    for (int k = 0; k < N; k++)
        g[k] = rnd(), tt[k] = rnd(), th[k] = tt[k] + 0.01f * rnd(), t0[k] = rnd();
}

/* wb_persample_params' sums and dir equal their definitions, with and
 * without theta0 and dir, and every SIMD copy gives the same bits. */
static void test_params(void)
{
    setup();
    double c = 0.3, want[4] = {0, 0, 0, 0};
    for (int k = 0; k < N; k++) {
        double m = g[k] - c * tt[k], d = (double)tt[k] - t0[k], u = (double)th[k] - tt[k];
        want[0] += (double)g[k] * g[k], want[1] += m * m, want[2] += d * d, want[3] += u * u;
    }
    double first[4];
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        for (int variant = 0; variant < 4; variant++) {
            static float dir[N];
            for (int k = 0; k < N; k++)
                dir[k] = -99.0f;
            double s[4];
            wb_persample_params(s, g, th, tt, variant & 1 ? t0 : NULL,
                                variant & 2 ? dir : NULL, c, 0.0, N);
            for (int q = 0; q < 4; q++) {
                double w = q == 2 && !(variant & 1) ? 0.0 : want[q];
                CHECK_NEAR(s[q], w, 1e-12 * (1 + fabs(w)));
            }
            for (int k = 0; k < N; k++)
                CHECK(dir[k] == (variant & 2 ? th[k] - tt[k] : -99.0f), "dir[%d]", k);
            if (variant == 3) {
                if (lv == 0)
                    memcpy(first, s, sizeof s);
                CHECK(memcmp(first, s, sizeof s) == 0, "SIMD copy %d gives other bits", lv);
            }
        }
    }
    wb_simd_allow_avx2(1);
}

/* Without theta_t it is theta + back g (plain SGD's step taken back). */
static void test_params_step_back(void)
{
    setup();
    double back = 0.05, want[4] = {0, 0, 0, 0};
    for (int k = 0; k < N; k++) {
        double t = th[k] + back * g[k], m = g[k] - 0.1 * t, d = t - t0[k], u = th[k] - t;
        want[0] += (double)g[k] * g[k], want[1] += m * m, want[2] += d * d, want[3] += u * u;
    }
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        double s[4];
        wb_persample_params(s, g, th, NULL, t0, NULL, 0.1, back, N);
        for (int q = 0; q < 4; q++)
            CHECK_NEAR(s[q], want[q], 1e-12 * (1 + fabs(want[q])));
        wb_persample_params(s, g, th, NULL, NULL, NULL, 0.1, back, N);
        CHECK(s[2] == 0.0, "no theta0: no distance");
        double u2 = 0; /* c = 0, no theta0: the sums from sum g^2 alone */
        for (int k = 0; k < N; k++) {
            double u = th[k] - (th[k] + back * g[k]);
            u2 += u * u;
        }
        wb_persample_params(s, g, th, NULL, NULL, NULL, 0.0, back, N);
        CHECK_NEAR(s[0], want[0], 1e-12 * want[0]);
        CHECK(s[1] == s[0] && s[2] == 0.0, "c = 0: the mean gradient is g");
        CHECK_NEAR(s[3], u2, 1e-9 * u2);
        double d2 = 0; /* and with theta0 */
        for (int k = 0; k < N; k++) {
            double d = th[k] + back * g[k] - t0[k];
            d2 += d * d;
        }
        wb_persample_params(s, g, th, NULL, t0, NULL, 0.0, back, N);
        CHECK_NEAR(s[0], want[0], 1e-6 * want[0]); /* summed in float by 64s */
        CHECK_NEAR(s[2], d2, 1e-6 * d2);
        CHECK(s[1] == s[0], "c = 0: the mean gradient is g");
        CHECK_NEAR(s[3], u2, 1e-6 * u2);
    }
    wb_simd_allow_avx2(1);
}

/* sqdist equals its scalar definition on every copy. */
static void test_sums(void)
{
    setup();
    double sq = 0;
    for (int k = 0; k < N; k++) {
        double d = (double)g[k] - tt[k];
        sq += d * d;
    }
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        CHECK_NEAR(wb_persample_sqdist(g, tt, N), sq, 1e-12 * sq);
    }
    wb_simd_allow_avx2(1);
}

/* rowdot equals its definition, with and without the bias term, at
 * lengths that run the 16-entry blocks, the tail or both, and every copy
 * gives the same bits. */
static void test_rowdot(void)
{
    setup();
    const int64_t lens[] = {0, 1, 15, 16, 17, 128, 131};
    for (size_t q = 0; q < sizeof lens / sizeof lens[0]; q++) {
        int64_t n = lens[q];
        for (int withb = 0; withb <= 1; withb++) {
            const float *b = withb ? tt : NULL;
            double want = 0, first = 0;
            for (int64_t k = 0; k < n; k++)
                want += ((double)g[k] + (b ? b[k] : 0.0)) * t0[k];
            for (int lv = 0; lv < 3; lv++) {
                wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
                double got = wb_persample_rowdot(g, b, t0, n);
                CHECK_NEAR(got, want, 1e-12 * (fabs(want) + 1));
                if (lv == 0)
                    first = got;
                else
                    CHECK(memcmp(&got, &first, sizeof got) == 0, "n %lld bias %d copy %d: "
                          "%.17g vs %.17g", (long long)n, withb, lv, got, first);
            }
        }
    }
    wb_simd_allow_avx2(1);
}

/* Random dz [B, O] and three vectors: vw + q sw [I, O], vb + q sb [O]. */
static void randoms(float *dz, float *vw, float *vb, int B, int I, int O, int sw, int sb)
{
    for (int k = 0; k < B * O; k++)
        dz[k] = rnd();
    for (int q = 0; q < 3; q++) {
        for (int k = 0; k < I * O; k++)
            vw[q * sw + k] = rnd();
        for (int k = 0; k < O; k++)
            vb[q * sb + k] = rnd();
    }
}

/* The non-zeros of a [B, I] by rows (as the forward keeps them), in row
 * [B + 1], idx and val. */
static wb_persample_csr nonzeros(const float *a, int B, int I, int64_t *row, int32_t *idx,
                                 float *val)
{
    int64_t n = 0;
    for (int i = 0; i < B; i++) {
        row[i] = n;
        for (int k = 0; k < I; k++)
            if (a[i * I + k] != 0.0f)
                idx[n] = k, val[n++] = a[i * I + k];
    }
    row[B] = n;
    return (wb_persample_csr){row, idx, val};
}

/* Three projections in one call equal three calls of one, bit for bit,
 * from the non-zeros and from the dense input, at 128 outputs (the
 * 32-column blocks) and at 5 (the tail); and they equal the definition. */
static void test_dots(void)
{
    enum { B = 6, I = 40 };
    static const int64_t outs[2] = {128, 5};
    for (int oi = 0; oi < 2; oi++) {
        int64_t O = outs[oi];
        static float a[B * I], dz[B * 128], vw[3][I * 128], vb[3][128];
        srand(5);
        for (int k = 0; k < B * I; k++)
            a[k] = k % 4 == 0 ? rnd() : 0.0f;
        randoms(dz, vw[0], vb[0], B, I, O, I * 128, 128);
        static int64_t row[B + 1];
        static int32_t idx[B * I];
        static float val[B * I];
        wb_persample_csr sp = nonzeros(a, B, I, row, idx, val);
        wb_err err;
        wb_persample *ps = wb_persample_new(&err);
        REQUIRE(ps, "new");
        const float *w[3] = {vw[0], vw[1], vw[2]}, *bb[3] = {vb[0], vb[1], vb[2]};
        for (int dense = 0; dense < 2; dense++) {
            double one[3][B] = {{0}}, three[3][B] = {{0}};
            double *p3[3] = {three[0], three[1], three[2]};
            const wb_persample_csr *s = dense ? NULL : &sp;
            for (int q = 0; q < 3; q++)
                CHECK(wb_persample_dot(ps, one[q], a, s, dz, B, I, O, w[q], bb[q], 2.0,
                                       &err) == WB_OK, "dot");
            CHECK(wb_persample_dots(ps, p3, 3, a, s, dz, B, I, O, w, bb, 2.0, &err) == WB_OK,
                  "dots");
            CHECK(memcmp(one, three, sizeof one) == 0, "three in one call differ (dense %d, "
                  "O %d)", dense, (int)O);
            for (int q = 0; q < 3; q++)
                for (int i = 0; i < B; i++) {
                    double want = 0;
                    for (int j = 0; j < O; j++) {
                        double r = vb[q][j];
                        for (int k = 0; k < I; k++)
                            r += (double)a[i * I + k] * vw[q][k * O + j];
                        want += 2.0 * r * dz[i * O + j];
                    }
                    CHECK_NEAR(three[q][i], want, 1e-4 * (1 + fabs(want)));
                }
        }
        double *p4[4] = {NULL, NULL, NULL, NULL};
        CHECK(wb_persample_dots(ps, p4, 4, a, &sp, dz, B, I, O, w, bb, 1.0, &err) ==
              WB_EINVAL, "four vectors are refused");
        wb_persample_free(ps);
    }
}

/* Batches of at least 32 rows take persample.c's column blocks (V_q copied
 * 16 columns at a time, at the inputs some row has): against the
 * definition at 45 outputs (two whole blocks and 13 columns), with inputs
 * that no row has, some that one row has, rows with no non-zero, one to
 * three vectors, with and without biases, and the same bits from every
 * SIMD copy; the dense input (no non-zeros kept) for comparison. */
static void test_dots_columns(void)
{
    enum { B = 37, I = 300, O = 45 };
    static float a[B * I], dz[B * O], vw[3][I * O], vb[3][O];
    srand(9);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < I; k++) /* inputs 0..99 in about 1 row in 4, */
            a[i * I + k] = i % 11 == 5 ? 0.0f /* 200..299 in row 3 only, */
                         : k < 100 ? (rand() % 4 == 0 ? rnd() : 0.0f)
                         : k >= 200 ? (i == 3 ? rnd() : 0.0f)
                                    : 0.0f; /* 100..199 in none */
    randoms(dz, vw[0], vb[0], B, I, O, I * O, O);
    static int64_t row[B + 1];
    static int32_t idx[B * I];
    static float val[B * I];
    wb_persample_csr sp = nonzeros(a, B, I, row, idx, val);
    static double want[2][3][B];
    for (int withb = 0; withb < 2; withb++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < B; i++) {
                double s = 0;
                for (int j = 0; j < O; j++) {
                    double r = withb ? vb[q][j] : 0.0;
                    for (int k = 0; k < I; k++)
                        r += (double)a[i * I + k] * vw[q][k * O + j];
                    s += 0.5 * r * dz[i * O + j];
                }
                want[withb][q][i] = s;
            }
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    REQUIRE(ps, "new");
    const float *w[3] = {vw[0], vw[1], vw[2]};
    static double first[2][3][B];
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        for (int dense = 0; dense < 2; dense++)
            for (int withb = 0; withb < 2; withb++)
                for (int nv = 1; nv <= 3; nv++) {
                    double got[3][B] = {{0}};
                    double *pp[3] = {got[0], got[1], got[2]};
                    const float *bb[3] = {withb ? vb[0] : NULL, withb ? vb[1] : NULL,
                                          withb ? vb[2] : NULL};
                    CHECK(wb_persample_dots(ps, pp, nv, a, dense ? NULL : &sp, dz, B, I, O,
                                            w, bb, 0.5, &err) == WB_OK, "dots");
                    int bad = 0;
                    for (int q = 0; q < nv; q++)
                        for (int i = 0; i < B; i++) {
                            double e = want[withb][q][i];
                            bad += !(fabs(got[q][i] - e) <= 1e-5 * (1 + fabs(e)));
                        }
                    CHECK(bad == 0, "copy %d dense %d bias %d nv %d: %d rows differ from the "
                          "definition", lv, dense, withb, nv, bad);
                    if (dense || nv < 3)
                        continue;
                    if (lv == 0)
                        memcpy(first[withb], got, sizeof got);
                    CHECK(memcmp(first[withb], got, sizeof got) == 0, "copy %d bias %d "
                          "gives other bits", lv, withb);
                }
    }
    wb_simd_allow_avx2(1);
    wb_persample_free(ps);
}

/* tic_diag equals its definition on every copy. */
static void test_tic_diag(void)
{
    setup();
    static float S[N], D[N];
    double want = 0;
    for (int k = 0; k < N; k++) {
        S[k] = fabsf(g[k]), D[k] = fabsf(t0[k]) * 1e-3f;
        want += S[k] / 16.0 / (D[k] + 1e-7);
    }
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        CHECK_NEAR(wb_persample_tic_diag(S, D, N, 16, 1e-7), want, 1e-12 * want);
    }
    wb_simd_allow_avx2(1);
}

/* gsnr_layer equals its double definition from explicit per-sample
 * gradients (dense and sparse rows), and on rows all equal each term is
 * exactly m^2 / eps (variance 0), not a float32 rounding off it. */
static void test_gsnr_layer(void)
{
    enum { B = 6, I = 40, O = 5 };
    static float a[B * I], dz[B * O];
    static int64_t row[B + 1];
    static int32_t idx[B * I];
    static float val[B * I];
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    REQUIRE(ps, "new");
    for (int equal = 0; equal < 2; equal++) {
        srand(9);
        for (int k = 0; k < B * I; k++)
            a[k] = equal ? a[k % I] : k % 3 == 0 ? rnd() : 0.0f;
        for (int k = 0; k < B * O; k++)
            dz[k] = equal ? (k < O ? rnd() : dz[k % O]) : rnd();
        double want = 0, scale = 6.0;
        for (int e = 0; e < I * O + O; e++) { /* kernel entries, then the bias's */
            double s1 = 0, s2 = 0;
            for (int i = 0; i < B; i++) {
                double x = e < I * O ? a[i * I + e / O] : 1.0;
                double gi = scale * x * dz[i * O + (e < I * O ? e % O : e - I * O)];
                s1 += gi, s2 += gi * gi;
            }
            double mm = s1 / B, v = equal ? 0.0 : s2 / B - mm * mm;
            want += mm * mm / (v + 1e-5);
        }
        wb_persample_csr sp = nonzeros(a, B, I, row, idx, val);
        for (int dense = 0; dense < 2; dense++) {
            double got = -1;
            CHECK(wb_persample_gsnr_layer(ps, &got, a, dense ? NULL : &sp, dz, B, I, O, 1,
                                          scale, 1e-5, &err) == WB_OK, "gsnr_layer");
            CHECK_NEAR(got, want, 1e-6 * want);
        }
    }
    wb_persample_free(ps);
}

int main(void)
{
    RUN(test_params);
    RUN(test_params_step_back);
    RUN(test_sums);
    RUN(test_tic_diag);
    RUN(test_gsnr_layer);
    RUN(test_rowdot);
    RUN(test_dots);
    RUN(test_dots_columns);
    TH_EXIT();
}
