/* test_persample.c - core/persample.c against explicit per-sample gradients
 * g_i = s a_i dz_i^T (kernel) and s dz_i (bias), built with plain loops. */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

#include "../../core/dense.h"
#include "../../core/persample.h"
#include "../../core/simd.h"

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

/* A chain 784 -> 128 relu (L2) -> 10 softmax, as the baseline MLP, run
 * forward and backward on NB MNIST-like rows (a fifth of the pixels on)
 * with dL/dz kept; its first layer takes the sparse path. */
#define NB 24
static wb_dense *lay[2];
static wb_tensor *xin;

static void mlp(void)
{
    wb_rng r;
    wb_rng_seed(&r, 11);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "relu", o.l2 = 1e-3;
    lay[0] = wb_dense_new(784, 128, &o, &r, &err);
    o.activation = "softmax", o.l2 = 0;
    lay[1] = wb_dense_new(128, 10, &o, &r, &err);
    REQUIRE(lay[0] && lay[1], "%s", err.msg);
    int64_t s[2] = {NB, 784}, sz[2] = {NB, 10};
    xin = wb_tensor_new(WB_F32, 2, s, NULL);
    float *x = wb_tensor_f32(xin);
    for (int64_t k = 0; k < NB * 784; k++)
        x[k] = wb_rng_uniform(&r) < 0.2 ? (float)wb_rng_uniform(&r) : 0.0f;
    wb_tensor *gz = wb_tensor_new(WB_F32, 2, sz, NULL);
    float *gv = wb_tensor_f32(gz);
    for (int64_t k = 0; k < NB * 10; k++)
        gv[k] = (float)((wb_rng_uniform(&r) - 0.5) / NB);
    for (int l = 0; l < 2; l++)
        lay[l]->keep_dz = 1;
    REQUIRE(wb_dense_forward(lay[0], xin, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dense_forward(lay[1], wb_dense_output(lay[0]), &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dense_backward_logits(lay[1], wb_dense_output(lay[0]), gz, 1, &err) == WB_OK,
            "%s", err.msg);
    REQUIRE(wb_dense_backward(lay[0], xin, wb_dense_grad_input(lay[1]), 0, &err) == WB_OK,
            "%s", err.msg);
    wb_tensor_free(gz);
}

/* wb_persample_tic is sum_sq and hess_diag into [I, O] tensors and
 * wb_persample_tic_diag over them, bit for bit (32 divides the sparse
 * layer's 128 outputs), its trace hess_diag's to double rounding, at
 * kernels other than the layers' own; the same bits at every SIMD level. */
static void test_tic(void)
{
    mlp();
    const wb_dense *ls[2] = {lay[0], lay[1]};
    const float *in[2] = {wb_tensor_f32(xin), wb_tensor_f32(wb_dense_output(lay[0]))};
    wb_persample_csr sp = {lay[0]->sp_row, lay[0]->sp_idx, lay[0]->sp_val};
    REQUIRE(lay[0]->sp_x == in[0], "the first layer kept its input's non-zeros");
    const wb_persample_csr *sps[2] = {&sp, NULL};
    static float k2[128 * 10], sw0[784 * 128], dw0[784 * 128], sw1[1280], dw1[1280];
    static float sb0[128], db0[128], sb1[10], db1[10];
    const float *w2 = wb_tensor_f32(lay[1]->weight);
    for (int k = 0; k < 1280; k++)
        k2[k] = 1.25f * w2[k];
    const float *kern[2] = {NULL, k2};
    float *dw[2] = {dw0, dw1}, *db[2] = {db0, db1};
    wb_err err;
    wb_persample *ps = wb_persample_new(&err);
    double tr, want = 0;
    CHECK(wb_persample_sum_sq(ps, sw0, sb0, NULL, &sp, wb_tensor_f32(lay[0]->dz), NB, 784,
                              128, NB, &err) == WB_OK, "sum_sq 1");
    CHECK(wb_persample_sum_sq(ps, sw1, sb1, in[1], NULL, wb_tensor_f32(lay[1]->dz), NB, 128,
                              10, NB, &err) == WB_OK, "sum_sq 2");
    double tr_diag, tr_alone;
    CHECK(wb_persample_hess_diag(ps, 2, ls, in, sps, kern, NB, dw, db, &tr_diag, &err) ==
          WB_OK, "hess_diag: %s", err.msg);
    /* tic's trace is the trace alone's, to the bit (hess_trace's bits must
     * not depend on whether tic is measured too); the float diagonal's sum
     * agrees to rounding */
    CHECK(wb_persample_hess_diag(ps, 2, ls, in, sps, kern, NB, NULL, NULL, &tr_alone, &err) ==
          WB_OK, "hess_diag, the trace alone: %s", err.msg);
    CHECK(fabs(tr_alone - tr_diag) <= 1e-6 * tr_diag, "the trace alone %.17g, the diagonal's "
          "sum %.17g", tr_alone, tr_diag);
    tr = tr_alone;
    want += wb_persample_tic_diag(sw0, dw0, 784 * 128, NB, 1e-7);
    want += wb_persample_tic_diag(sb0, db0, 128, NB, 1e-7);
    want += wb_persample_tic_diag(sw1, dw1, 1280, NB, 1e-7);
    want += wb_persample_tic_diag(sb1, db1, 10, NB, 1e-7);
    double first[2] = {0, 0};
    for (int lv = 0; lv < 3; lv++) {
        wb_simd_allow_avx2(lv == 0 ? 0 : lv == 1 ? 2 : 1);
        double tic, trace;
        CHECK(wb_persample_tic(ps, 2, ls, in, sps, kern, NB, NB, 1e-7, &tic, &trace, &err) ==
              WB_OK, "tic: %s", err.msg);
        CHECK(tic == want && want > 0, "level %d: tic %.17g, parts %.17g", lv, tic, want);
        CHECK(trace == tr, "level %d: trace %.17g, the trace alone %.17g", lv, trace, tr);
        if (lv == 0)
            first[0] = tic, first[1] = trace;
        CHECK(tic == first[0] && trace == first[1], "level %d: other bits than the baseline's",
              lv);
    }
    wb_simd_allow_avx2(1);
    lay[0]->dz_n = -1; /* no kept dL/dz: refused, naming the layer */
    double tic, trace;
    CHECK(wb_persample_tic(ps, 2, ls, in, sps, kern, NB, NB, 1e-7, &tic, &trace, &err) ==
          WB_ESTATE && strstr(err.msg, "layer 1"), "no dz: %s", err.msg);
    wb_persample_free(ps);
    for (int l = 0; l < 2; l++)
        wb_dense_free(lay[l]);
    wb_tensor_free(xin);
}

int main(void)
{
    setup();
    RUN(test_norms_gram_dot);
    RUN(test_sum_sq_and_hist);
    RUN(test_hist_exact);
    RUN(test_ce);
    RUN(test_tic);
    TH_EXIT();
}
