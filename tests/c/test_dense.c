/* test_dense.c - Dense forward/backward against a double reference and by
 * central differences, L2, capacity/views, errors, allocation behaviour,
 * initializers and the sgemm wrapper.
 *
 * Tolerances: float forward vs double reference 1e-5 + 1e-5 rel; analytic
 * gradients vs the double reference 1e-5 + 1e-4 rel; central differences of
 * the float layer (h = 1e-2, 1e-3 for relu and selu; L = sum(R * y)
 * accumulated in double) 2e-3 + 2e-3 rel, skipping a coordinate whose step
 * moves any z across 0 (kinks of relu and selu; at most 20% skipped).
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/blas.h"
#include "../../core/dense.h"
#include "harness.h"

static int near(double a, double b, double atol, double rtol)
{
    return fabs(a - b) <= atol + rtol * fabs(b);
}

static wb_tensor *rand_tensor(wb_rng *r, int64_t rows, int64_t cols, double lo,
                              double hi)
{
    int64_t s[2] = {rows, cols};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, NULL);
    if (t)
        wb_rng_fill_uniform(r, wb_tensor_f32(t), (size_t)(rows * cols), lo, hi);
    return t;
}

/* L = sum R * out, out = z when logits, else the layer output */
static double objective(wb_dense *d, const wb_tensor *x, const float *R, int logits)
{
    if (wb_dense_forward(d, x, NULL) != WB_OK)
        return NAN;
    const float *o = wb_tensor_f32(logits ? wb_dense_logits(d) : wb_dense_output(d));
    double s = 0;
    for (int64_t k = 0; k < x->shape[0] * d->n_out; k++)
        s += (double)R[k] * o[k];
    return s + (logits ? 0 : wb_dense_l2_penalty(d));
}

/* signs of z of the last forward, to see kinks crossed */
static void z_signs(const wb_dense *d, int64_t n, char *s)
{
    const float *z = wb_tensor_f32(wb_dense_logits(d));
    for (int64_t k = 0; k < n * d->n_out; k++)
        s[k] = z[k] > 0;
}

typedef struct {
    int checked, skipped, bad;
} fd_stats;

/* central difference of objective() in *p; compares with `an` */
static void fd_one(wb_dense *d, const wb_tensor *x, const float *R, int logits, float *p,
                   double an, const char *what, int64_t idx, fd_stats *st)
{
    int64_t n = x->shape[0], m = n * d->n_out;
    char *s0 = malloc((size_t)m), *s1 = malloc((size_t)m);
    /* piecewise-linear activations: small steps cross fewer kinks */
    int kinked = d->act == WB_ACT_RELU || d->act == WB_ACT_SELU;
    float save = *p, h = kinked && !logits ? 1e-3f : 1e-2f;
    objective(d, x, R, logits);
    z_signs(d, n, s0);
    *p = save + h;
    double lp = objective(d, x, R, logits);
    z_signs(d, n, s1);
    int crossed = memcmp(s0, s1, (size_t)m) != 0;
    *p = save - h;
    double lm = objective(d, x, R, logits);
    z_signs(d, n, s1);
    crossed |= memcmp(s0, s1, (size_t)m) != 0;
    *p = save;
    free(s0);
    free(s1);
    if (crossed) {
        st->skipped++;
        return;
    }
    st->checked++;
    double fd = (lp - lm) / (2.0 * h);
    if (!near(an, fd, 2e-3, 2e-3)) {
        if (!st->bad)
            TH_FAIL("%s %s[%lld]: analytic %.9g, fd %.9g", wb_act_name(d->act), what,
                    (long long)idx, an, fd);
        st->bad++;
    }
}

/* One full check for activation `act`, batch n, sizes I -> O. */
static void grad_check(wb_act act, int64_t n, int64_t I, int64_t O, double l2, int logits)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 100 + (uint64_t)act * 7 + (uint64_t)n);
    wb_dense_opts o = wb_dense_defaults();
    o.activation = wb_act_name(act);
    o.l2 = l2;
    wb_dense *d = wb_dense_new(I, O, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    float *W = wb_tensor_f32(d->weight), *b = wb_tensor_f32(d->bias);
    wb_rng_fill_uniform(&r, b, (size_t)O, -0.5, 0.5);
    /* x is a row view into a larger tensor: offset != 0 */
    wb_tensor *big = rand_tensor(&r, n + 3, I, -1, 1);
    wb_tensor *x = wb_tensor_rows(big, 2, n, &err);
    wb_tensor *R = rand_tensor(&r, n, O, -1, 1);
    REQUIRE(big && x && R, "alloc");
    const float *xs = wb_tensor_f32(x), *Rs = wb_tensor_f32(R);

    /* double reference forward and backward */
    int64_t m = n * O;
    double *z = calloc((size_t)m, sizeof *z), *y = calloc((size_t)m, sizeof *y);
    double *dz = calloc((size_t)m, sizeof *dz);
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < O; j++) {
            double s = b[j];
            for (int64_t k = 0; k < I; k++)
                s += (double)xs[i * I + k] * W[k * O + j];
            z[i * O + j] = s;
        }
        if (act == WB_ACT_SOFTMAX) {
            double mx = -INFINITY, sum = 0, dot = 0;
            for (int64_t j = 0; j < O; j++)
                mx = fmax(mx, z[i * O + j]);
            for (int64_t j = 0; j < O; j++)
                sum += exp(z[i * O + j] - mx);
            for (int64_t j = 0; j < O; j++) {
                y[i * O + j] = exp(z[i * O + j] - mx) / sum;
                dot += Rs[i * O + j] * y[i * O + j];
            }
            for (int64_t j = 0; j < O; j++)
                dz[i * O + j] = y[i * O + j] * (Rs[i * O + j] - dot);
        } else {
            for (int64_t j = 0; j < O; j++) {
                y[i * O + j] = wb_act_ref(act, z[i * O + j]);
                dz[i * O + j] = Rs[i * O + j] * wb_act_ref_grad(act, z[i * O + j]);
            }
        }
        if (logits)
            for (int64_t j = 0; j < O; j++)
                dz[i * O + j] = Rs[i * O + j];
    }
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    const float *zf = wb_tensor_f32(wb_dense_logits(d));
    const float *yf = wb_tensor_f32(wb_dense_output(d));
    for (int64_t k = 0; k < m; k++) {
        CHECK(near(zf[k], z[k], 1e-5, 1e-5), "z[%lld] %.9g vs %.9g", (long long)k, zf[k],
              z[k]);
        CHECK(near(yf[k], y[k], 1e-5, 1e-5), "%s y[%lld] %.9g vs %.9g",
              wb_act_name(act), (long long)k, yf[k], y[k]);
    }
    wb_dense_zero_grad(d);
    wb_status st = logits ? wb_dense_backward_logits(d, x, R, 1, &err)
                          : wb_dense_backward(d, x, R, 1, &err);
    REQUIRE(st == WB_OK, "%s", err.msg);
    const float *gw = wb_tensor_f32(d->grad_weight), *gb = wb_tensor_f32(d->grad_bias);
    const float *gx = wb_tensor_f32(wb_dense_grad_input(d));
    for (int64_t k = 0; k < I; k++)
        for (int64_t j = 0; j < O; j++) {
            double s = 2.0 * l2 * W[k * O + j];
            for (int64_t i = 0; i < n; i++)
                s += (double)xs[i * I + k] * dz[i * O + j];
            CHECK(near(gw[k * O + j], s, 1e-5, 1e-4), "%s dW[%lld,%lld] %.9g vs %.9g",
                  wb_act_name(act), (long long)k, (long long)j, gw[k * O + j], s);
        }
    for (int64_t j = 0; j < O; j++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++)
            s += dz[i * O + j];
        CHECK(near(gb[j], s, 1e-5, 1e-4), "db[%lld] %.9g vs %.9g", (long long)j, gb[j], s);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < I; k++) {
            double s = 0;
            for (int64_t j = 0; j < O; j++)
                s += dz[i * O + j] * W[k * O + j];
            CHECK(near(gx[i * I + k], s, 1e-5, 1e-4), "dx %.9g vs %.9g", gx[i * I + k], s);
        }

    /* central differences of the float layer itself */
    float *gwc = malloc((size_t)(I * O) * sizeof *gwc), *gbc = malloc((size_t)O * 4);
    float *gxc = malloc((size_t)(n * I) * sizeof *gxc);
    memcpy(gwc, gw, (size_t)(I * O) * sizeof *gwc);
    memcpy(gbc, gb, (size_t)O * sizeof *gbc);
    memcpy(gxc, gx, (size_t)(n * I) * sizeof *gxc);
    fd_stats fs = {0, 0, 0};
    for (int64_t k = 0; k < I * O; k++)
        fd_one(d, x, Rs, logits, W + k, gwc[k], "dW", k, &fs);
    for (int64_t j = 0; j < O; j++)
        fd_one(d, x, Rs, logits, b + j, gbc[j], "db", j, &fs);
    for (int64_t k = 0; k < n * I; k++)
        fd_one(d, x, Rs, logits, wb_tensor_f32(x) + k, gxc[k], "dx", k, &fs);
    CHECK(fs.skipped * 5 <= fs.checked + fs.skipped, "%s: %d of %d skipped at kinks",
          wb_act_name(act), fs.skipped, fs.checked + fs.skipped);
    CHECK(fs.bad == 0, "%d bad coordinates", fs.bad);
    free(gwc), free(gbc), free(gxc), free(z), free(y), free(dz);
    wb_tensor_free(x), wb_tensor_free(big), wb_tensor_free(R);
    wb_dense_free(d);
}

static void test_grad_every_activation_batch1(void)
{
    for (int a = 0; a < WB_ACT_COUNT; a++)
        grad_check((wb_act)a, 1, 7, 5, 0.0, 0);
}

static void test_grad_every_activation_batch6(void)
{
    for (int a = 0; a < WB_ACT_COUNT; a++)
        grad_check((wb_act)a, 6, 7, 5, 0.0, 0);
}

static void test_grad_larger_odd_sizes(void)
{
    grad_check(WB_ACT_RELU, 9, 33, 17, 0.0, 0);
    grad_check(WB_ACT_SOFTMAX, 9, 33, 10, 0.0, 0);
    grad_check(WB_ACT_GELU, 3, 13, 1, 0.0, 0);
}

static void test_grad_with_l2(void)
{
    grad_check(WB_ACT_RELU, 4, 7, 5, 0.01, 0);
    grad_check(WB_ACT_TANH, 1, 7, 5, 0.3, 0);
    grad_check(WB_ACT_LINEAR, 6, 7, 5, 0.05, 0);
}

static void test_grad_logits_path(void)
{
    grad_check(WB_ACT_SOFTMAX, 1, 7, 5, 0.0, 1);
    grad_check(WB_ACT_SOFTMAX, 6, 7, 5, 0.0, 1);
    grad_check(WB_ACT_RELU, 5, 7, 5, 0.0, 1);
}

static void test_l2_penalty(void)
{
    wb_rng r;
    wb_rng_seed(&r, 1);
    wb_dense_opts o = wb_dense_defaults();
    o.l2 = 1e-3;
    wb_err err;
    wb_dense *d = wb_dense_new(9, 4, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    double s = 0;
    for (int k = 0; k < 36; k++)
        s += (double)wb_tensor_f32(d->weight)[k] * wb_tensor_f32(d->weight)[k];
    CHECK(s > 0, "weights all zero");
    CHECK_NEAR(wb_dense_l2_penalty(d), 1e-3 * s, 1e-12);
    wb_dense_free(d);
    d = wb_dense_new(9, 4, NULL, &r, &err);
    REQUIRE(d, "%s", err.msg);
    CHECK(wb_dense_l2_penalty(d) == 0, "penalty without l2");
    wb_dense_free(d);
}

static void test_errors(void)
{
    wb_rng r;
    wb_rng_seed(&r, 2);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "rleu";
    CHECK(!wb_dense_new(784, 128, &o, &r, &err) && err.code == WB_EINVAL &&
              strstr(err.msg, "activation: unknown 'rleu' (valid: linear, relu,"),
          "%s", err.msg);
    o = wb_dense_defaults();
    o.init = "xavier";
    CHECK(!wb_dense_new(784, 128, &o, &r, &err) && err.code == WB_EINVAL &&
              strstr(err.msg, "init: unknown 'xavier' (valid: glorot_uniform"),
          "%s", err.msg);
    o = wb_dense_defaults();
    o.l2 = -1e-3;
    CHECK(!wb_dense_new(784, 128, &o, &r, &err) && err.code == WB_EINVAL &&
              strcmp(err.msg, "l2: expected a finite number >= 0, got -0.001") == 0,
          "%s", err.msg);
    o.l2 = NAN;
    CHECK(!wb_dense_new(784, 128, &o, &r, &err) && err.code == WB_EINVAL, "nan l2");
    CHECK(!wb_dense_new(0, 128, NULL, &r, &err) && err.code == WB_EINVAL &&
              strstr(err.msg, "n_in: expected a size in 1.."), "%s", err.msg);
    CHECK(!wb_dense_new(4, (int64_t)1 << 40, NULL, &r, &err) && err.code == WB_ERANGE,
          "huge n_out: %s", err.msg);
    CHECK(!wb_dense_new(100000, 100000, NULL, &r, &err) && err.code == WB_ERANGE,
          "40 GB weight: %s", err.msg);

    wb_dense *d = wb_dense_new(784, 16, NULL, &r, &err);
    REQUIRE(d, "%s", err.msg);
    wb_tensor *bad = rand_tensor(&r, 32, 785, 0, 1);
    wb_tensor *x = rand_tensor(&r, 32, 784, 0, 1);
    wb_tensor *g = rand_tensor(&r, 32, 16, 0, 1);
    wb_tensor *x16 = rand_tensor(&r, 16, 784, 0, 1);
    CHECK(wb_dense_backward(d, x, g, 1, &err) == WB_ESTATE &&
              strcmp(err.msg, "backward called before forward") == 0, "%s", err.msg);
    CHECK(wb_dense_forward(d, bad, &err) == WB_ESHAPE &&
              strcmp(err.msg, "input: expected [*, 784], got [32, 785]") == 0,
          "%s", err.msg);
    CHECK(d->n_batch == -1 && d->z == NULL, "failed forward changed the layer");
    int64_t s3[3] = {32, 28, 28};
    wb_tensor *img = wb_tensor_new(WB_F32, 3, s3, &err);
    CHECK(wb_dense_forward(d, img, &err) == WB_ESHAPE &&
              strcmp(err.msg, "input: expected [*, 784], got [32, 28, 28]") == 0,
          "%s", err.msg);
    wb_tensor *u8 = wb_tensor_new(WB_U8, 2, x->shape, &err);
    CHECK(wb_dense_forward(d, u8, &err) == WB_EINVAL &&
              strstr(err.msg, "input: expected a float32 tensor, got uint8") &&
              strstr(err.msg, "x:float() / 255"), /* :float() alone: 0..255 inputs */
          "%s", err.msg);
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dense_backward(d, x16, g, 1, &err) == WB_ESHAPE &&
              strcmp(err.msg, "input: expected [32, 784] (the batch of the last "
                              "forward), got [16, 784]") == 0, "%s", err.msg);
    CHECK(wb_dense_backward(d, x, x, 1, &err) == WB_ESHAPE &&
              strcmp(err.msg, "grad_output: expected [32, 16], got [32, 784]") == 0,
          "%s", err.msg);
    CHECK(wb_dense_backward_logits(d, x, x, 1, &err) == WB_ESHAPE &&
              strstr(err.msg, "grad_logits: expected [32, 16]"), "%s", err.msg);
    /* the layer's own buffers cannot be fed back (square layer) */
    wb_dense *sq = wb_dense_new(16, 16, NULL, &r, &err);
    wb_tensor *x16b = rand_tensor(&r, 4, 16, -1, 1);
    REQUIRE(sq && x16b && wb_dense_forward(sq, x16b, &err) == WB_OK, "square");
    wb_tensor own = *wb_dense_output(sq);
    own.shape[0] = 4;
    CHECK(wb_dense_forward(sq, &own, &err) == WB_EINVAL &&
              strstr(err.msg, "input: is this layer's own output buffer"), "%s", err.msg);
    REQUIRE(wb_dense_backward(sq, x16b, x16b, 1, &err) == WB_OK, "%s", err.msg);
    wb_tensor owng = *wb_dense_grad_input(sq);
    owng.shape[0] = 4;
    CHECK(wb_dense_backward(sq, x16b, &owng, 1, &err) == WB_EINVAL &&
              strstr(err.msg, "grad_output: is this layer's own output buffer"), "%s",
          err.msg);
    wb_tensor_free(x16b);
    wb_dense_free(sq);
    /* failed backwards left the gradients untouched */
    const float *gw = wb_tensor_f32(d->grad_weight);
    int zero = 1;
    for (int k = 0; k < 784 * 16; k++)
        zero &= gw[k] == 0;
    CHECK(zero, "failed backward wrote gradients");
    wb_tensor_free(bad), wb_tensor_free(x), wb_tensor_free(g), wb_tensor_free(x16);
    wb_tensor_free(img), wb_tensor_free(u8);
    wb_dense_free(d);
    wb_dense_free(NULL);
}

static void test_accumulate_and_zero_grad(void)
{
    wb_rng r;
    wb_rng_seed(&r, 3);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "tanh";
    wb_dense *d = wb_dense_new(7, 5, &o, &r, &err);
    wb_tensor *x = rand_tensor(&r, 4, 7, -1, 1), *g = rand_tensor(&r, 4, 5, -1, 1);
    REQUIRE(d && x && g, "alloc");
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dense_backward(d, x, g, 1, &err) == WB_OK, "%s", err.msg);
    float w1[35], b1[5];
    memcpy(w1, wb_tensor_f32(d->grad_weight), sizeof w1);
    memcpy(b1, wb_tensor_f32(d->grad_bias), sizeof b1);
    REQUIRE(wb_dense_backward(d, x, g, 0, &err) == WB_OK, "%s", err.msg);
    for (int k = 0; k < 35; k++)
        CHECK_NEAR(wb_tensor_f32(d->grad_weight)[k], 2 * w1[k], 1e-6);
    for (int k = 0; k < 5; k++)
        CHECK_NEAR(wb_tensor_f32(d->grad_bias)[k], 2 * b1[k], 1e-6);
    wb_dense_zero_grad(d);
    for (int k = 0; k < 35; k++)
        CHECK(wb_tensor_f32(d->grad_weight)[k] == 0, "zero_grad weight");
    for (int k = 0; k < 5; k++)
        CHECK(wb_tensor_f32(d->grad_bias)[k] == 0, "zero_grad bias");
    wb_tensor_free(x), wb_tensor_free(g);
    wb_dense_free(d);
}

static void test_no_bias_and_no_grad_input(void)
{
    wb_rng r;
    wb_rng_seed(&r, 4);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.use_bias = 0;
    o.activation = "relu";
    wb_dense *d = wb_dense_new(6, 3, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    CHECK(d->bias == NULL && d->grad_bias == NULL, "bias made");
    wb_tensor *x = rand_tensor(&r, 2, 6, -1, 1), *g = rand_tensor(&r, 2, 3, -1, 1);
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    /* y = relu(x W), no bias */
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 6; k++)
                s += (double)wb_tensor_f32(x)[i * 6 + k] * wb_tensor_f32(d->weight)[k * 3 + j];
            CHECK_NEAR(wb_tensor_f32(wb_dense_output(d))[i * 3 + j], s > 0 ? s : 0, 1e-6);
        }
    REQUIRE(wb_dense_backward(d, x, g, 0, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dense_grad_input(d) == NULL, "dx made without need_grad_input");
    REQUIRE(wb_dense_backward(d, x, g, 1, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dense_grad_input(d) != NULL, "dx not made");
    wb_tensor_free(x), wb_tensor_free(g);
    wb_dense_free(d);
}

static void test_capacity_and_row_views(void)
{
    wb_rng r;
    wb_rng_seed(&r, 5);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "sigmoid";
    wb_dense *d = wb_dense_new(5, 4, &o, &r, &err);
    wb_tensor *x8 = rand_tensor(&r, 8, 5, -1, 1);
    REQUIRE(d && x8, "alloc");
    REQUIRE(wb_dense_forward(d, x8, &err) == WB_OK, "%s", err.msg);
    const wb_tensor *buf = wb_dense_output(d);
    float first[16];
    memcpy(first, wb_tensor_f32(buf), sizeof first);
    wb_tensor *view = wb_tensor_rows(buf, 0, 8, &err); /* a caller's view */
    wb_tensor *x4 = wb_tensor_rows(x8, 0, 4, &err);
    long before = wb_alloc_live();
    REQUIRE(wb_dense_forward(d, x4, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_alloc_live() == before && wb_dense_output(d) == buf && d->cap == 8,
          "smaller batch reallocated");
    CHECK(memcmp(first, wb_tensor_f32(wb_dense_output(d)), sizeof first) == 0,
          "rows of the smaller batch differ");
    wb_tensor *x16 = rand_tensor(&r, 16, 5, -1, 1);
    REQUIRE(wb_dense_forward(d, x16, &err) == WB_OK, "%s", err.msg);
    CHECK(d->cap == 16 && wb_dense_output(d)->storage != view->storage, "no growth");
    /* the old view still reads its (now stale) storage: valid, not freed */
    CHECK(memcmp(first, wb_tensor_f32(view), sizeof first) == 0, "stale view changed");
    wb_tensor_free(view), wb_tensor_free(x4), wb_tensor_free(x8), wb_tensor_free(x16);
    wb_dense_free(d);
}

static void test_steady_state_allocates_nothing(void)
{
    wb_rng r;
    wb_rng_seed(&r, 6);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "relu";
    o.l2 = 1e-4;
    wb_dense *d1 = wb_dense_new(784, 128, &o, &r, &err);
    o.activation = "softmax";
    wb_dense *d2 = wb_dense_new(128, 10, &o, &r, &err);
    wb_tensor *x = rand_tensor(&r, 32, 784, 0, 1), *g = rand_tensor(&r, 32, 10, -1, 1);
    wb_tensor *xs = wb_tensor_rows(x, 0, 16, &err), *gs = wb_tensor_rows(g, 0, 16, &err);
    REQUIRE(d1 && d2 && x && g && xs && gs, "alloc");
    for (int step = 0; step < 6; step++) {
        if (step == 1)
            wb_alloc_fail_at(0, 0); /* reset the counter after the warm-up */
        const wb_tensor *xi = step == 4 ? xs : x, *gi = step == 4 ? gs : g;
        int64_t n = xi->shape[0];
        REQUIRE(wb_dense_forward(d1, xi, &err) == WB_OK, "%s", err.msg);
        wb_tensor h = *wb_dense_output(d1); /* a stack header: no allocation */
        h.ndim = 2, h.shape[0] = n, h.shape[1] = 128;
        REQUIRE(wb_dense_forward(d2, &h, &err) == WB_OK, "%s", err.msg);
        REQUIRE(wb_dense_backward_logits(d2, &h, gi, 1, &err) == WB_OK, "%s", err.msg);
        wb_tensor gh = *wb_dense_grad_input(d2);
        gh.shape[0] = n;
        REQUIRE(wb_dense_backward(d1, xi, &gh, 0, &err) == WB_OK, "%s", err.msg);
        wb_dense_zero_grad(d1);
        wb_dense_zero_grad(d2);
        (void)wb_dense_l2_penalty(d1);
    }
    CHECK(wb_alloc_count() == 0, "%ld allocations in 5 steady-state steps",
          wb_alloc_count());
    wb_tensor_free(x), wb_tensor_free(g), wb_tensor_free(xs), wb_tensor_free(gs);
    wb_dense_free(d1), wb_dense_free(d2);
}

static void test_allocation_failures_leak_nothing(void)
{
    wb_rng r;
    wb_rng_seed(&r, 7);
    wb_err err;
    wb_tensor *x = rand_tensor(&r, 3, 4, -1, 1), *g = rand_tensor(&r, 3, 2, -1, 1);
    long base = wb_alloc_live();
    int completed = 0;
    for (long k = 1; k < 60 && !completed; k++) {
        wb_alloc_fail_at(k, 0);
        wb_dense_opts o = wb_dense_defaults();
        o.activation = "tanh";
        wb_dense *d = wb_dense_new(4, 2, &o, &r, &err);
        if (!d) {
            CHECK(err.code == WB_ENOMEM, "k=%ld: %s", k, err.msg);
            CHECK(wb_alloc_live() == base, "k=%ld: leak in new", k);
            continue;
        }
        wb_status st = wb_dense_forward(d, x, &err);
        if (st != WB_OK) {
            CHECK(st == WB_ENOMEM && d->n_batch == -1 && !d->z, "k=%ld forward", k);
        } else {
            st = wb_dense_backward(d, x, g, 1, &err);
            if (st != WB_OK)
                CHECK(st == WB_ENOMEM && !d->dz && !d->dx && d->gcap == 0,
                      "k=%ld backward: %s", k, err.msg);
            else
                completed = wb_alloc_count() < k;
        }
        wb_dense_free(d);
        CHECK(wb_alloc_live() == base, "k=%ld: leak", k);
    }
    wb_alloc_fail_at(0, 0);
    CHECK(completed, "never completed without an injected failure");
    wb_tensor_free(x), wb_tensor_free(g);
}

static void test_init_determinism(void)
{
    wb_rng a, b;
    wb_err err;
    wb_rng_seed(&a, 42);
    wb_rng_seed(&b, 42);
    wb_dense *d1 = wb_dense_new(50, 20, NULL, &a, &err);
    wb_dense *d2 = wb_dense_new(50, 20, NULL, &b, &err);
    wb_rng_seed(&b, 43);
    wb_dense *d3 = wb_dense_new(50, 20, NULL, &b, &err);
    REQUIRE(d1 && d2 && d3, "alloc");
    CHECK(memcmp(wb_tensor_f32(d1->weight), wb_tensor_f32(d2->weight), 1000 * 4) == 0,
          "same seed, different weights");
    CHECK(memcmp(wb_tensor_f32(d1->weight), wb_tensor_f32(d3->weight), 1000 * 4) != 0,
          "different seeds, same weights");
    wb_dense_free(d1), wb_dense_free(d2), wb_dense_free(d3);
}

static void test_init_statistics(void)
{
    const int64_t I = 400, O = 300;
    const double T = 0.87962566103423978;
    struct {
        const char *name;
        double bound; /* max |w| allowed */
        double std;   /* expected std */
    } cases[] = {
        {"glorot_uniform", sqrt(6.0 / 700), sqrt(6.0 / 700) / sqrt(3.0)},
        {"glorot_normal", 2 * sqrt(2.0 / 700) / T, sqrt(2.0 / 700)},
        {"he_uniform", sqrt(6.0 / 400), sqrt(6.0 / 400) / sqrt(3.0)},
        {"he_normal", 2 * sqrt(2.0 / 400) / T, sqrt(2.0 / 400)},
        {"lecun_uniform", sqrt(3.0 / 400), sqrt(3.0 / 400) / sqrt(3.0)},
        {"lecun_normal", 2 * sqrt(1.0 / 400) / T, sqrt(1.0 / 400)},
        {"uniform", 0.05, 0.05 / sqrt(3.0)},
        {"normal", 1.0, 0.05},
        {"zeros", 0.0, 0.0},
    };
    wb_rng r;
    wb_rng_seed(&r, 8);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        wb_err err;
        wb_dense_opts o = wb_dense_defaults();
        o.init = cases[c].name;
        wb_dense *d = wb_dense_new(I, O, &o, &r, &err);
        REQUIRE(d, "%s", err.msg);
        const float *w = wb_tensor_f32(d->weight);
        double s = 0, s2 = 0, mx = 0;
        for (int64_t k = 0; k < I * O; k++) {
            s += w[k];
            s2 += (double)w[k] * w[k];
            mx = fmax(mx, fabs(w[k]));
        }
        double mean = s / (double)(I * O), sd = sqrt(s2 / (double)(I * O) - mean * mean);
        CHECK(mx <= cases[c].bound * (1 + 1e-6), "%s: max |w| %g > %g", cases[c].name, mx,
              cases[c].bound);
        CHECK(fabs(sd - cases[c].std) <= 0.02 * cases[c].std + 1e-12,
              "%s: std %g, expected %g", cases[c].name, sd, cases[c].std);
        CHECK(fabs(mean) <= 0.01 * cases[c].std + 1e-12, "%s: mean %g", cases[c].name,
              mean);
        for (int64_t j = 0; j < O; j++)
            CHECK(wb_tensor_f32(d->bias)[j] == 0, "bias not zero");
        wb_dense_free(d);
    }
}

static void test_sgemm_wrapper_vs_naive(void)
{
    wb_rng r;
    wb_rng_seed(&r, 9);
    const int64_t m = 7, n = 5, k = 9;
    float a[9 * 9], b[9 * 9], c1[7 * 5], c2[7 * 5];
    wb_rng_fill_uniform(&r, a, 81, -1, 1);
    wb_rng_fill_uniform(&r, b, 81, -1, 1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            wb_rng_fill_uniform(&r, c1, 35, -1, 1);
            memcpy(c2, c1, sizeof c1);
            int64_t lda = ta ? m : k, ldb = tb ? k : n;
            wb_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1.0f, c1, n);
            wb_sgemm_naive(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1.0f, c2, n);
            for (int q = 0; q < 35; q++)
                CHECK_NEAR(c1[q], c2[q], 1e-5);
        }
    /* k = 0: C = beta C */
    float c[2] = {3, 4};
    wb_sgemm(0, 0, 1, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    CHECK(c[0] == 0 && c[1] == 0, "k = 0, beta = 0");
}

int main(void)
{
    RUN(test_grad_every_activation_batch1);
    RUN(test_grad_every_activation_batch6);
    RUN(test_grad_larger_odd_sizes);
    RUN(test_grad_with_l2);
    RUN(test_grad_logits_path);
    RUN(test_l2_penalty);
    RUN(test_errors);
    RUN(test_accumulate_and_zero_grad);
    RUN(test_no_bias_and_no_grad_input);
    RUN(test_capacity_and_row_views);
    RUN(test_steady_state_allocates_nothing);
    RUN(test_allocation_failures_leak_nothing);
    RUN(test_init_determinism);
    RUN(test_init_statistics);
    RUN(test_sgemm_wrapper_vs_naive);
    TH_EXIT();
}
