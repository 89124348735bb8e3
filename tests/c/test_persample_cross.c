/* test_persample_cross.c - core/persample_cross.c (a pair of kept batches
 * and wb_persample_cross) against the plain double loop of its definition,
 *   proj_i += c sum_m (a_i . a2_m + b) (dz_i . dz2_m),
 * at odd sizes (B = 1, 3, 17, 64; B2 != B; I and O not multiples of 16),
 * with zero rows, dense and sparse inputs, one or both partners, after
 * several puts (the halves alternate) and growth, with more rows than a
 * half (a batch not put); and the copies of
 * core/simd.h give the same bits. Also wb_persample_dots' path for at most
 * 16 outputs, which the instruments take instead at such layers. */
#include "harness.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/persample.h"
#include "../../core/simd.h"

#define MAXB 64
#define MAXI 150
#define MAXO 40

typedef struct batch {
    int64_t B, I, O;
    float a[MAXB * MAXI], dz[MAXB * MAXO];
    int64_t row[MAXB + 1];
    int32_t idx[MAXB * MAXI];
    float val[MAXB * MAXI];
    wb_persample_csr sp;
} batch;

static unsigned rng = 12345;
static float urand(void) /* in [-0.5, 0.5) */
{
    rng = rng * 1103515245u + 12345u;
    return (float)((rng >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* density in 0..1: the share of non-zero inputs; every fifth row all zero
 * (in a and in dz); dz half zero, as a relu leaves it */
static void fill(batch *x, int64_t B, int64_t I, int64_t O, double density)
{
    x->B = B, x->I = I, x->O = O;
    int64_t t = 0;
    x->row[0] = 0;
    for (int64_t i = 0; i < B; i++) {
        int zero = i % 5 == 4;
        for (int64_t k = 0; k < I; k++) {
            float u = urand();
            x->a[i * I + k] = !zero && u + 0.5f < density ? urand() * 4 : 0.0f;
            if (x->a[i * I + k] != 0.0f)
                x->idx[t] = (int32_t)k, x->val[t++] = x->a[i * I + k];
        }
        x->row[i + 1] = t;
        for (int64_t j = 0; j < O; j++)
            x->dz[i * O + j] = !zero && urand() > 0 ? urand() : 0.0f;
    }
    x->sp = (wb_persample_csr){x->row, x->idx, x->val};
}

/* the definition, in double */
static void naive(double *proj, double c, const batch *x, const batch *y, int bias)
{
    for (int64_t i = 0; i < x->B; i++) {
        double s = 0;
        for (int64_t m = 0; m < y->B; m++) {
            double aa = 0, dd = 0;
            for (int64_t k = 0; k < x->I; k++)
                aa += (double)x->a[i * x->I + k] * y->a[m * x->I + k];
            for (int64_t j = 0; j < x->O; j++)
                dd += (double)x->dz[i * x->O + j] * y->dz[m * x->O + j];
            s += (aa + bias) * dd;
        }
        proj[i] += c * s;
    }
}

/* |got - want| within float rounding of the terms' magnitude */
static int close_to(double got, double want, double mag)
{
    return fabs(got - want) <= 1e-5 * mag + 1e-12;
}

/* the sum of |terms|, the scale of the rounding */
static double magnitude(const batch *x, const batch *y, int64_t i, int bias)
{
    double s = 0;
    for (int64_t m = 0; m < y->B; m++) {
        double aa = 0, dd = 0;
        for (int64_t k = 0; k < x->I; k++)
            aa += fabs((double)x->a[i * x->I + k] * y->a[m * x->I + k]);
        for (int64_t j = 0; j < x->O; j++)
            dd += fabs((double)x->dz[i * x->O + j] * y->dz[m * x->O + j]);
        s += (aa + bias) * dd;
    }
    return s;
}

static batch b1, b2, b3;

/* put y then x (after x once more when flip: the newest in the other half),
 * cross x with both (newest x, older y) and each alone, with self (x is the
 * newest: its symmetric terms walked once) and without */
static int one_case(int64_t B, int64_t B2, int64_t I, int64_t O, double density, int bias,
                    int sparse)
{
    int bad = 0;
    fill(&b2, B2, I, O, density);
    fill(&b1, B, I, O, density);
    double want[2][MAXB] = {{0}}, c[2] = {0.5, -3.0};
    naive(want[0], c[0], &b1, &b1, bias);
    naive(want[1], c[1], &b1, &b2, bias);
    const wb_persample_csr *sp = sparse ? &b1.sp : NULL;
    const float *a = sparse ? NULL : b1.a;
    for (int flip = 0; flip < 2; flip++)
        for (int self = 0; self < 2; self++) {
            wb_err err;
            wb_persample_pair *q = wb_persample_pair_new(&err);
            if (!q)
                return 1;
            if (flip)
                bad += wb_persample_pair_put(q, b1.a, b1.dz, B, I, O, &err) != WB_OK;
            bad += wb_persample_pair_put(q, b2.a, b2.dz, B2, I, O, &err) != WB_OK;
            bad += wb_persample_pair_put(q, b1.a, b1.dz, B, I, O, &err) != WB_OK;
            bad += wb_persample_pair_rows(q, 0) != B || wb_persample_pair_rows(q, 1) != B2;
            double got[2][MAXB] = {{0}}, one[MAXB] = {0}, old[MAXB] = {0};
            double *both[2] = {got[0], got[1]}, *first[2] = {one, NULL};
            double *second[2] = {NULL, old};
            bad += wb_persample_cross(q, both, c, a, sp, b1.dz, B, I, O, bias, self, &err) !=
                   WB_OK;
            bad += wb_persample_cross(q, first, c, a, sp, b1.dz, B, I, O, bias, self, &err) !=
                   WB_OK;
            bad += wb_persample_cross(q, second, c, a, sp, b1.dz, B, I, O, bias, self, &err) !=
                   WB_OK;
            for (int64_t i = 0; i < B; i++) {
                double m0 = fabs(c[0]) * magnitude(&b1, &b1, i, bias);
                double m1 = fabs(c[1]) * magnitude(&b1, &b2, i, bias);
                bad += !close_to(got[0][i], want[0][i], m0) || !close_to(one[i], want[0][i], m0);
                bad += !close_to(got[1][i], want[1][i], m1) || !close_to(old[i], want[1][i], m1);
                /* the zero rows: exactly nothing */
                if (i % 5 == 4)
                    bad += got[0][i] != 0.0 || got[1][i] != 0.0;
            }
            wb_persample_pair_free(q);
        }
    return bad;
}

static void test_against_the_definition(void)
{
    static const int64_t sizes[][4] = {
        /* B, B2, I, O */
        {1, 1, 1, 1},   {3, 3, 7, 5},    {17, 3, 37, 33},  {3, 17, 37, 33},
        {17, 17, 16, 16}, {64, 64, 150, 40}, {64, 17, 150, 10}, {5, 64, 33, 1},
        {16, 32, 48, 17}, {40, 64, 31, 40},
    };
    int cases = 0;
    for (size_t n = 0; n < sizeof sizes / sizeof sizes[0]; n++)
        for (int sparse = 0; sparse < 2; sparse++)
            for (int bias = 0; bias < 2; bias++)
                for (int dense_in = 0; dense_in < 2; dense_in++) {
                    const int64_t *s = sizes[n];
                    int bad = one_case(s[0], s[1], s[2], s[3], dense_in ? 1.0 : 0.2, bias,
                                       sparse);
                    CHECK(bad == 0, "B %lld, B2 %lld, I %lld, O %lld, %s rows, bias %d, "
                          "%s input: %d wrong", (long long)s[0], (long long)s[1],
                          (long long)s[2], (long long)s[3], sparse ? "sparse" : "dense",
                          bias, dense_in ? "dense" : "sparse", bad);
                    cases++;
                }
    CHECK(cases == 80, "ran %d cases", cases);
}

/* Puts alternate the halves; a larger batch regrows (dropping the older
 * one); errors name what is wrong. */
static void test_puts_growth_and_errors(void)
{
    wb_err err;
    wb_persample_pair *q = wb_persample_pair_new(&err);
    REQUIRE(q, "new");
    double p[MAXB] = {0}, want[MAXB] = {0}, c[2] = {1, 1};
    double *newest[2] = {p, NULL}, *older[2] = {NULL, p};
    fill(&b1, 5, 20, 6, 0.3);
    CHECK(wb_persample_cross(q, newest, c, b1.a, NULL, b1.dz, 5, 20, 6, 1, 0, &err) ==
          WB_ESTATE && strstr(err.msg, "newest"), "an empty pair: %s", err.msg);
    CHECK(wb_persample_pair_put(q, b1.a, b1.dz, 5, 20, 6, &err) == WB_OK, "put");
    CHECK(wb_persample_cross(q, older, c, b1.a, NULL, b1.dz, 5, 20, 6, 1, 0, &err) ==
          WB_ESTATE && strstr(err.msg, "older"), "no older batch: %s", err.msg);
    CHECK(wb_persample_cross(q, newest, c, b1.a, NULL, b1.dz, 5, 21, 6, 1, 0, &err) ==
          WB_ESHAPE && strstr(err.msg, "20 -> 6"), "another layer: %s", err.msg);
    CHECK(wb_persample_pair_put(q, b1.a, b1.dz, 0, 20, 6, &err) == WB_EINVAL, "0 rows");
    CHECK(wb_persample_cross(q, newest, c, b1.a, NULL, b1.dz, 4, 20, 6, 1, 1, &err) ==
          WB_EINVAL && strstr(err.msg, "4 rows"), "self, other rows: %s", err.msg);
    /* five puts of three batches of 5, 12 and 9 rows: the newest and older
     * are always the last two */
    batch *seq[5] = {&b1, &b2, &b3, &b1, &b2};
    fill(&b2, 12, 20, 6, 0.3);
    fill(&b3, 9, 20, 6, 0.3);
    for (int t = 1; t < 5; t++) {
        CHECK(wb_persample_pair_put(q, seq[t]->a, seq[t]->dz, seq[t]->B, 20, 6, &err) == WB_OK,
              "put %d", t);
        memset(p, 0, sizeof p), memset(want, 0, sizeof want);
        naive(want, 1.0, &b3, seq[t - 1], 1);
        CHECK(wb_persample_cross(q, older, c, NULL, &b3.sp, b3.dz, 9, 20, 6, 1, 0, &err) ==
              WB_OK, "cross %d", t);
        for (int i = 0; i < 9; i++)
            CHECK(close_to(p[i], want[i], magnitude(&b3, seq[t - 1], i, 1)),
                  "put %d, row %d: %.9g, expected %.9g", t, i, p[i], want[i]);
        CHECK(wb_persample_pair_rows(q, 0) == seq[t]->B &&
              wb_persample_pair_rows(q, 1) == seq[t - 1]->B, "rows after put %d", t);
    }
    /* 40 rows not put: more than the 16-column halves (the newest b2, the
     * older b1) and the rows' terms held at once (a half's worth) */
    fill(&b3, 40, 20, 6, 0.3);
    for (int w = 0; w < 2; w++) {
        memset(p, 0, sizeof p), memset(want, 0, sizeof want);
        naive(want, 1.0, &b3, w ? &b1 : &b2, 1);
        CHECK(wb_persample_cross(q, w ? older : newest, c, NULL, &b3.sp, b3.dz, 40, 20, 6, 1,
                                 0, &err) == WB_OK, "cross 40 not put");
        for (int i = 0; i < 40; i++)
            CHECK(close_to(p[i], want[i], magnitude(&b3, w ? &b1 : &b2, i, 1)),
                  "40 rows not put, %s, row %d", w ? "older" : "newest", i);
    }
    /* put, they do not fit: regrown, the last batch (b2, 12 rows) kept as
     * the older */
    CHECK(wb_persample_pair_put(q, b3.a, b3.dz, 40, 20, 6, &err) == WB_OK, "put 40");
    CHECK(wb_persample_pair_rows(q, 0) == 40 && wb_persample_pair_rows(q, 1) == 12,
          "regrown: the older kept");
    for (int w = 0; w < 2; w++) {
        memset(p, 0, sizeof p), memset(want, 0, sizeof want);
        naive(want, 1.0, &b3, w ? &b2 : &b3, 1);
        CHECK(wb_persample_cross(q, w ? older : newest, c, b3.a, NULL, b3.dz, 40, 20, 6, 1, 0,
                                 &err) == WB_OK, "cross 40");
        for (int i = 0; i < 40; i++)
            CHECK(close_to(p[i], want[i], magnitude(&b3, w ? &b2 : &b3, i, 1)),
                  "40 rows, %s, row %d", w ? "older" : "newest", i);
    }
    /* another layer's shape: both dropped */
    CHECK(wb_persample_pair_put(q, b3.a, b3.dz, 40, 10, 12, &err) == WB_OK, "put 10 -> 12");
    CHECK(wb_persample_pair_rows(q, 0) == 40 && wb_persample_pair_rows(q, 1) == 0,
          "another shape: the older dropped");
    CHECK(wb_persample_cross(q, older, c, b3.a, NULL, b3.dz, 40, 10, 12, 1, 0, &err) ==
          WB_ESTATE, "no older after a new shape");
    wb_persample_pair_free(q);
    wb_persample_pair_free(NULL);
}

/* The baseline, AVX2 and AVX-512 copies give the same bits. */
static void test_simd_copies_agree(void)
{
    static const int level_arg[3] = {0, 2, 1}; /* wb_simd_allow_avx2's for each level */
    double out[3][4][MAXB];
    fill(&b2, 64, 150, 40, 0.3);
    fill(&b1, 47, 150, 40, 0.3);
    wb_err err;
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(level_arg[lv]);
        wb_persample_pair *q = wb_persample_pair_new(&err);
        REQUIRE(q, "new");
        memset(out[lv], 0, sizeof out[lv]);
        double *both[2] = {out[lv][0], out[lv][1]}, c[2] = {1, 1};
        double *sym[2] = {out[lv][2], out[lv][3]}; /* self, dense rows */
        CHECK(wb_persample_pair_put(q, b2.a, b2.dz, 64, 150, 40, &err) == WB_OK, "put");
        CHECK(wb_persample_pair_put(q, b1.a, b1.dz, 47, 150, 40, &err) == WB_OK, "put");
        CHECK(wb_persample_cross(q, both, c, NULL, &b1.sp, b1.dz, 47, 150, 40, 1, 0, &err) ==
              WB_OK, "cross");
        CHECK(wb_persample_cross(q, sym, c, b1.a, NULL, b1.dz, 47, 150, 40, 1, 1, &err) ==
              WB_OK, "cross, self");
        wb_persample_pair_free(q);
    }
    wb_simd_allow_avx2(1);
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0, "baseline and AVX2 copies differ");
    CHECK(memcmp(out[0], out[2], sizeof out[0]) == 0, "baseline and AVX-512 copies differ");
}

/* wb_persample_dots with at most 16 outputs (V's rows padded to one
 * vector, persample.c small_dots) against g_i . v = s (a_i^T V dz_i + dz_i .
 * v_b), for 1 to 3 vectors, dense and sparse rows; the copies agree. */
static void test_small_dots(void)
{
    static const int64_t Os[] = {1, 10, 16};
    static float vw[3][MAXI * 16], vb[3][16];
    double out[3][3][MAXB];
    wb_err err;
    wb_persample *p = wb_persample_new(&err);
    REQUIRE(p, "new");
    int bad = 0, cases = 0;
    for (size_t n = 0; n < sizeof Os / sizeof Os[0]; n++) {
        int64_t O = Os[n], I = 37, B = 17;
        fill(&b1, B, I, O, 0.4);
        for (int q = 0; q < 3; q++) {
            for (int64_t k = 0; k < I * O; k++)
                vw[q][k] = urand();
            for (int64_t j = 0; j < O; j++)
                vb[q][j] = urand();
        }
        for (int nv = 1; nv <= 3; nv++)
            for (int sparse = 0; sparse < 2; sparse++)
                for (int lv = 0; lv < 3; lv++) {
                    static const int level_arg[3] = {0, 2, 1};
                    wb_simd_allow_avx2(level_arg[lv]);
                    double *proj[3] = {out[lv][0], out[lv][1], out[lv][2]};
                    const float *w[3] = {vw[0], vw[1], vw[2]};
                    const float *bb[3] = {vb[0], NULL, vb[2]}; /* one without bias */
                    memset(out[lv], 0, sizeof out[lv]);
                    bad += wb_persample_dots(p, proj, nv, sparse ? NULL : b1.a,
                                             sparse ? &b1.sp : NULL, b1.dz, B, I, O, w, bb,
                                             2.5, &err) != WB_OK;
                    for (int q = 0; q < nv; q++)
                        for (int64_t i = 0; i < B; i++) {
                            double want = 0, mag = 0;
                            for (int64_t j = 0; j < O; j++) {
                                double u = bb[q] ? bb[q][j] : 0.0, um = fabs(u);
                                for (int64_t k = 0; k < I; k++) {
                                    double x = (double)b1.a[i * I + k] * w[q][k * O + j];
                                    u += x, um += fabs(x);
                                }
                                want += 2.5 * u * b1.dz[i * O + j];
                                mag += 2.5 * um * fabs(b1.dz[i * O + j]);
                            }
                            bad += !close_to(out[lv][q][i], want, mag);
                        }
                    if (lv > 0)
                        bad += memcmp(out[lv], out[0], sizeof out[0]) != 0;
                    cases++;
                }
    }
    wb_simd_allow_avx2(1);
    CHECK(bad == 0 && cases == 54, "%d wrong in %d cases", bad, cases);
    wb_persample_free(p);
}

int main(void)
{
    RUN(test_against_the_definition);
    RUN(test_puts_growth_and_errors);
    RUN(test_simd_copies_agree);
    RUN(test_small_dots);
    TH_EXIT();
}
