/* test_loss.c - fused softmax + sparse cross-entropy against a direct double
 * computation, its gradient by central differences, extreme logits, label
 * errors and allocation behaviour.
 * Tolerances: loss vs direct 1e-6 rel; grad vs (softmax - onehot)/n in
 * double 1e-7 abs; central differences (h = 1e-2) 1e-4 + 1e-3 rel.
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/loss.h"
#include "../../core/rng.h"
#include "harness.h"

static wb_tensor *mk(wb_dtype dt, int ndim, int64_t a, int64_t b)
{
    int64_t s[2] = {a, b};
    return wb_tensor_new(dt, ndim, s, NULL);
}

/* direct: mean_i -log softmax(z_i)[t_i], in double */
static double direct_loss(const float *z, const int *t, int64_t n, int64_t C,
                          int64_t *correct)
{
    double total = 0;
    *correct = 0;
    for (int64_t i = 0; i < n; i++) {
        double m = -INFINITY, s = 0;
        int64_t best = 0;
        for (int64_t j = 0; j < C; j++)
            if (z[i * C + j] > m) {
                m = z[i * C + j];
                best = j;
            }
        for (int64_t j = 0; j < C; j++)
            s += exp((double)z[i * C + j] - m);
        total += -(((double)z[i * C + t[i]] - m) - log(s));
        *correct += best == t[i];
    }
    return total / (double)n;
}

static void check_case(int64_t n, int64_t C, int u8_labels)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, (uint64_t)(n * 100 + C));
    wb_tensor *z = mk(WB_F32, 2, n, C);
    wb_tensor *t = mk(u8_labels ? WB_U8 : WB_F32, 1, n, 0);
    wb_sce *ce = wb_sce_new(&err);
    REQUIRE(z && t && ce, "alloc");
    wb_rng_fill_uniform(&r, wb_tensor_f32(z), (size_t)(n * C), -3, 3);
    int *lab = malloc((size_t)n * sizeof *lab);
    for (int64_t i = 0; i < n; i++) {
        lab[i] = (int)wb_rng_below(&r, (uint64_t)C);
        wb_tensor_set_flat(t, (size_t)i, lab[i]);
    }
    double loss;
    int64_t correct, want_correct;
    REQUIRE(wb_sce_forward(ce, z, t, &loss, &correct, &err) == WB_OK, "%s", err.msg);
    double want = direct_loss(wb_tensor_f32(z), lab, n, C, &want_correct);
    CHECK(fabs(loss - want) <= 1e-6 * fabs(want), "loss %.12g vs %.12g", loss, want);
    CHECK(correct == want_correct, "correct %lld vs %lld", (long long)correct,
          (long long)want_correct);
    const wb_tensor *g;
    REQUIRE(wb_sce_backward(ce, &g, &err) == WB_OK, "%s", err.msg);
    const float *gs = wb_tensor_f32(g), *zs = wb_tensor_f32(z);
    for (int64_t i = 0; i < n; i++) {
        double m = -INFINITY, s = 0, rowsum = 0;
        for (int64_t j = 0; j < C; j++)
            m = fmax(m, zs[i * C + j]);
        for (int64_t j = 0; j < C; j++)
            s += exp(zs[i * C + j] - m);
        for (int64_t j = 0; j < C; j++) {
            double p = exp(zs[i * C + j] - m) / s;
            double w = (p - (j == lab[i])) / (double)n;
            CHECK(fabs(gs[i * C + j] - w) <= 1e-7, "grad[%lld,%lld] %.9g vs %.9g",
                  (long long)i, (long long)j, gs[i * C + j], w);
            rowsum += gs[i * C + j];
        }
        CHECK(fabs(rowsum) <= 1e-7, "row %lld of the gradient sums to %g", (long long)i,
              rowsum);
    }
    /* central differences of the loss itself */
    float *gcopy = malloc((size_t)(n * C) * sizeof *gcopy);
    memcpy(gcopy, gs, (size_t)(n * C) * sizeof *gcopy);
    for (int64_t k = 0; k < n * C; k++) {
        float *p = wb_tensor_f32(z) + k, save = *p, h = 1e-2f;
        double lp, lm;
        *p = save + h;
        wb_sce_forward(ce, z, t, &lp, &correct, &err);
        *p = save - h;
        wb_sce_forward(ce, z, t, &lm, &correct, &err);
        *p = save;
        double fd = (lp - lm) / (2.0 * h);
        CHECK(fabs(gcopy[k] - fd) <= 1e-4 + 1e-3 * fabs(fd), "fd[%lld] %.9g vs %.9g",
              (long long)k, gcopy[k], fd);
    }
    free(gcopy);
    free(lab);
    wb_tensor_free(z), wb_tensor_free(t);
    wb_sce_free(ce);
}

static void test_batch1(void) { check_case(1, 10, 1); }
static void test_batch32(void) { check_case(32, 10, 1); }
static void test_odd_sizes_float_labels(void) { check_case(5, 7, 0); }

static void test_extreme_logits(void)
{
    wb_err err;
    wb_sce *ce = wb_sce_new(&err);
    wb_tensor *z = mk(WB_F32, 2, 2, 3), *t = mk(WB_U8, 1, 2, 0);
    REQUIRE(ce && z && t, "alloc");
    float v[6] = {1000, -1000, 0, -1000, 1000, 999};
    memcpy(wb_tensor_f32(z), v, sizeof v);
    wb_tensor_u8(t)[0] = 0; /* right: loss ~ 0 */
    wb_tensor_u8(t)[1] = 0; /* wrong by 2000 */
    double loss;
    int64_t correct;
    REQUIRE(wb_sce_forward(ce, z, t, &loss, &correct, &err) == WB_OK, "%s", err.msg);
    /* row 2: lse = 1000 + log(1 + e^-1) ~ 1000.3133; loss = lse + 1000 */
    double want = (0.0 + (1000.0 + log1p(exp(-1.0)) + 1000.0)) / 2.0;
    CHECK(isfinite(loss) && fabs(loss - want) < 1e-4, "loss %.9g vs %.9g", loss, want);
    CHECK(correct == 1, "correct %lld", (long long)correct);
    const wb_tensor *g;
    REQUIRE(wb_sce_backward(ce, &g, &err) == WB_OK, "%s", err.msg);
    for (int k = 0; k < 6; k++)
        CHECK(isfinite(wb_tensor_f32(g)[k]), "grad[%d] not finite", k);
    CHECK_NEAR(wb_tensor_f32(g)[3], -0.5, 1e-7); /* (0 - 1) / 2 */
    wb_tensor_free(z), wb_tensor_free(t);
    wb_sce_free(ce);
}

static void test_label_errors(void)
{
    wb_err err;
    wb_sce *ce = wb_sce_new(&err);
    wb_tensor *z = mk(WB_F32, 2, 4, 10), *t = mk(WB_U8, 1, 4, 0);
    wb_tensor *tf = mk(WB_F32, 1, 4, 0), *t3 = mk(WB_U8, 1, 3, 0);
    REQUIRE(ce && z && t && tf && t3, "alloc");
    const wb_tensor *g;
    CHECK(wb_sce_backward(ce, &g, &err) == WB_ESTATE &&
              strcmp(err.msg, "backward called before forward") == 0, "%s", err.msg);
    uint8_t lab[4] = {1, 2, 10, 11};
    memcpy(wb_tensor_u8(t), lab, 4);
    double loss = -1;
    int64_t correct = -1;
    CHECK(wb_sce_forward(ce, z, t, &loss, &correct, &err) == WB_ERANGE &&
              strcmp(err.msg, "labels: label 3 (1-based position) is 10, expected an "
                              "integer in 0..9") == 0, "%s", err.msg);
    CHECK(loss == -1 && correct == -1 && ce->n_batch == -1 && !ce->grad,
          "failed forward changed state");
    float lf[4] = {0, 2.5f, 1, 1};
    memcpy(wb_tensor_f32(tf), lf, sizeof lf);
    CHECK(wb_sce_forward(ce, z, tf, &loss, &correct, &err) == WB_ERANGE &&
              strstr(err.msg, "label 2 (1-based position) is 2.5"), "%s", err.msg);
    lf[1] = -1;
    memcpy(wb_tensor_f32(tf), lf, sizeof lf);
    CHECK(wb_sce_forward(ce, z, tf, &loss, &correct, &err) == WB_ERANGE &&
              strstr(err.msg, "is -1,"), "%s", err.msg);
    CHECK(wb_sce_forward(ce, z, t3, &loss, &correct, &err) == WB_ESHAPE &&
              strcmp(err.msg, "labels: expected [4] (one per row of logits [4, 10]), "
                              "got [3]") == 0, "%s", err.msg);
    CHECK(wb_sce_forward(ce, t, t, &loss, &correct, &err) == WB_EINVAL, "uint8 logits");
    wb_tensor_free(z), wb_tensor_free(t), wb_tensor_free(tf), wb_tensor_free(t3);
    wb_sce_free(ce);
    wb_sce_free(NULL);
}

static void test_steady_state_allocates_nothing(void)
{
    wb_err err;
    wb_sce *ce = wb_sce_new(&err);
    wb_tensor *z = mk(WB_F32, 2, 32, 10), *t = mk(WB_U8, 1, 32, 0);
    REQUIRE(ce && z && t, "alloc");
    wb_tensor *zs = wb_tensor_rows(z, 0, 5, &err), *ts = wb_tensor_rows(t, 0, 5, &err);
    double loss;
    int64_t correct;
    const wb_tensor *g;
    REQUIRE(wb_sce_forward(ce, z, t, &loss, &correct, &err) == WB_OK, "%s", err.msg);
    wb_alloc_fail_at(0, 0);
    for (int s = 0; s < 4; s++) {
        REQUIRE(wb_sce_forward(ce, s == 2 ? zs : z, s == 2 ? ts : t, &loss, &correct,
                               &err) == WB_OK, "%s", err.msg);
        REQUIRE(wb_sce_backward(ce, &g, &err) == WB_OK, "%s", err.msg);
    }
    CHECK(wb_alloc_count() == 0, "%ld allocations", wb_alloc_count());
    CHECK_NEAR(loss, log(10.0), 1e-6); /* zero logits: uniform */
    wb_tensor_free(z), wb_tensor_free(t), wb_tensor_free(zs), wb_tensor_free(ts);
    wb_sce_free(ce);
}

int main(void)
{
    RUN(test_batch1);
    RUN(test_batch32);
    RUN(test_odd_sizes_float_labels);
    RUN(test_extreme_logits);
    RUN(test_label_errors);
    RUN(test_steady_state_allocates_nothing);
    TH_EXIT();
}
