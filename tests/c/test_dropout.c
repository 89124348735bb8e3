/* test_dropout.c - inverted dropout: rate check, scale, drop fraction, mask
 * reuse, identity at inference, determinism, gradient, allocations.
 * Tolerances: drop fraction within 0.01 of rate over 100k elements; central
 * differences (h = 1e-2, mask fixed by reseeding) 1e-4 + 1e-4 rel.
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/dropout.h"
#include "harness.h"

static wb_tensor *rand_tensor(wb_rng *r, int64_t rows, int64_t cols)
{
    int64_t s[2] = {rows, cols};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, NULL);
    if (t) /* values away from 0 so y == 0 identifies a dropped element */
        for (int64_t k = 0; k < rows * cols; k++)
            wb_tensor_f32(t)[k] = (float)(0.5 + wb_rng_uniform(r));
    return t;
}

static void test_rate_validation(void)
{
    wb_err err;
    CHECK(!wb_dropout_new(-0.1, &err) && err.code == WB_EINVAL &&
              strcmp(err.msg, "rate: expected a number in [0, 1), got -0.1") == 0,
          "%s", err.msg);
    CHECK(!wb_dropout_new(1.0, &err) && err.code == WB_EINVAL, "rate 1");
    CHECK(!wb_dropout_new(NAN, &err) && err.code == WB_EINVAL, "rate nan");
    wb_dropout *d = wb_dropout_new(0.0, &err);
    CHECK(d != NULL, "rate 0 refused");
    wb_dropout_free(d);
    wb_dropout_free(NULL);
}

static void test_training_mask_and_scale(void)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 1);
    double rate = 0.3;
    wb_dropout *d = wb_dropout_new(rate, &err);
    wb_tensor *x = rand_tensor(&r, 1000, 101); /* odd element count */
    REQUIRE(d && x, "alloc");
    REQUIRE(wb_dropout_forward(d, x, 1, &r, &err) == WB_OK, "%s", err.msg);
    REQUIRE(d->masked, "not masked in training");
    const float *xs = wb_tensor_f32(x), *y = wb_tensor_f32(wb_dropout_output(d));
    float scale = (float)(1.0 / (1.0 - rate));
    size_t n = wb_tensor_numel(x), dropped = 0;
    for (size_t k = 0; k < n; k++) {
        if (y[k] == 0)
            dropped++;
        else
            CHECK(y[k] == xs[k] * scale, "y[%zu] = %g, x = %g", k, y[k], xs[k]);
    }
    CHECK_NEAR((double)dropped / (double)n, rate, 0.01);
    /* backward reuses the mask and draws nothing */
    wb_tensor *g = rand_tensor(&r, 1000, 101);
    wb_rng before = r;
    REQUIRE(wb_dropout_backward(d, g, 1, &err) == WB_OK, "%s", err.msg);
    CHECK(memcmp(&before, &r, sizeof r) == 0, "backward drew random numbers");
    const float *dx = wb_tensor_f32(wb_dropout_grad_input(d)), *gs = wb_tensor_f32(g);
    for (size_t k = 0; k < n; k++)
        CHECK(dx[k] == (y[k] == 0 ? 0.0f : gs[k] * scale), "dx[%zu]", k);
    float first = dx[0];
    REQUIRE(wb_dropout_backward(d, g, 1, &err) == WB_OK, "%s", err.msg);
    CHECK(dx[0] == first, "second backward differs");
    /* a new forward draws a new mask */
    float y0[64];
    memcpy(y0, y, sizeof y0);
    REQUIRE(wb_dropout_forward(d, x, 1, &r, &err) == WB_OK, "%s", err.msg);
    CHECK(memcmp(y0, wb_tensor_f32(wb_dropout_output(d)), sizeof y0) != 0,
          "same mask twice");
    wb_tensor_free(x), wb_tensor_free(g);
    wb_dropout_free(d);
}

static void test_inference_is_identity(void)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 2);
    wb_dropout *d = wb_dropout_new(0.5, &err), *d0 = wb_dropout_new(0.0, &err);
    wb_tensor *x = rand_tensor(&r, 3, 7);
    REQUIRE(d && d0 && x, "alloc");
    wb_rng before = r;
    REQUIRE(wb_dropout_forward(d, x, 0, &r, &err) == WB_OK, "%s", err.msg);
    CHECK(!d->masked && wb_dropout_output(d) == NULL, "inference masked");
    REQUIRE(wb_dropout_forward(d0, x, 1, &r, &err) == WB_OK, "%s", err.msg);
    CHECK(!d0->masked, "rate 0 masked");
    CHECK(memcmp(&before, &r, sizeof r) == 0, "identity drew random numbers");
    REQUIRE(wb_dropout_backward(d, x, 1, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dropout_grad_input(d) == NULL, "identity backward wrote a buffer");
    wb_tensor_free(x);
    wb_dropout_free(d), wb_dropout_free(d0);
}

static void test_same_seed_same_mask(void)
{
    wb_err err;
    wb_rng r1, r2, rx;
    wb_rng_seed(&rx, 3);
    wb_tensor *x = rand_tensor(&rx, 17, 9);
    wb_dropout *a = wb_dropout_new(0.4, &err), *b = wb_dropout_new(0.4, &err);
    REQUIRE(x && a && b, "alloc");
    wb_rng_seed(&r1, 77);
    wb_rng_seed(&r2, 77);
    REQUIRE(wb_dropout_forward(a, x, 1, &r1, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dropout_forward(b, x, 1, &r2, &err) == WB_OK, "%s", err.msg);
    CHECK(memcmp(wb_tensor_f32(wb_dropout_output(a)), wb_tensor_f32(wb_dropout_output(b)),
                 17 * 9 * sizeof(float)) == 0, "same seed, different masks");
    wb_tensor_free(x);
    wb_dropout_free(a), wb_dropout_free(b);
}

static void test_gradient_fd(void)
{
    /* L = sum R * y; the mask is fixed by reseeding before each forward */
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 4);
    for (int64_t n = 1; n <= 5; n += 4) {
        wb_tensor *x = rand_tensor(&r, n, 7), *R = rand_tensor(&r, n, 7);
        wb_dropout *d = wb_dropout_new(0.25, &err);
        REQUIRE(x && R && d, "alloc");
        wb_rng m;
        wb_rng_seed(&m, 5);
        REQUIRE(wb_dropout_forward(d, x, 1, &m, &err) == WB_OK, "%s", err.msg);
        REQUIRE(wb_dropout_backward(d, R, 1, &err) == WB_OK, "%s", err.msg);
        float dx[35];
        memcpy(dx, wb_tensor_f32(wb_dropout_grad_input(d)), (size_t)(n * 7) * 4);
        for (int64_t k = 0; k < n * 7; k++) {
            float *p = wb_tensor_f32(x) + k, save = *p, h = 1e-2f;
            double l[2];
            for (int s = 0; s < 2; s++) {
                *p = save + (s ? -h : h);
                wb_rng_seed(&m, 5);
                wb_dropout_forward(d, x, 1, &m, &err);
                l[s] = 0;
                for (int64_t q = 0; q < n * 7; q++)
                    l[s] += (double)wb_tensor_f32(R)[q] *
                            wb_tensor_f32(wb_dropout_output(d))[q];
            }
            *p = save;
            double fd = (l[0] - l[1]) / (2.0 * h);
            CHECK(fabs(dx[k] - fd) <= 1e-4 + 1e-4 * fabs(fd), "dx[%lld] %g vs fd %g",
                  (long long)k, dx[k], fd);
        }
        wb_tensor_free(x), wb_tensor_free(R);
        wb_dropout_free(d);
    }
}

static void test_errors_and_shapes(void)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 6);
    wb_dropout *d = wb_dropout_new(0.5, &err);
    wb_tensor *x = rand_tensor(&r, 4, 3), *g = rand_tensor(&r, 3, 4);
    REQUIRE(d && x && g, "alloc");
    CHECK(wb_dropout_backward(d, x, 1, &err) == WB_ESTATE &&
              strcmp(err.msg, "backward called before forward") == 0, "%s", err.msg);
    REQUIRE(wb_dropout_forward(d, x, 1, &r, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dropout_backward(d, g, 1, &err) == WB_ESHAPE &&
              strcmp(err.msg, "grad_output: expected [4, 3] (the shape of the last "
                              "forward), got [3, 4]") == 0, "%s", err.msg);
    wb_tensor *u8 = wb_tensor_new(WB_U8, 2, x->shape, &err);
    CHECK(wb_dropout_forward(d, u8, 1, &r, &err) == WB_EINVAL, "uint8 accepted");
    wb_tensor_free(x), wb_tensor_free(g), wb_tensor_free(u8);
    wb_dropout_free(d);
}

static void test_steady_state_allocates_nothing(void)
{
    wb_err err;
    wb_rng r;
    wb_rng_seed(&r, 7);
    wb_dropout *d = wb_dropout_new(0.2, &err);
    wb_tensor *x = rand_tensor(&r, 32, 128), *g = rand_tensor(&r, 32, 128);
    wb_tensor *xs = wb_tensor_rows(x, 0, 7, &err), *gs = wb_tensor_rows(g, 0, 7, &err);
    REQUIRE(d && x && g && xs && gs, "alloc");
    REQUIRE(wb_dropout_forward(d, x, 1, &r, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dropout_backward(d, g, 1, &err) == WB_OK, "%s", err.msg);
    wb_alloc_fail_at(0, 0);
    for (int s = 0; s < 5; s++) {
        int small = s == 2;
        REQUIRE(wb_dropout_forward(d, small ? xs : x, s != 3, &r, &err) == WB_OK, "fwd");
        REQUIRE(wb_dropout_backward(d, small ? gs : g, 1, &err) == WB_OK, "%s", err.msg);
    }
    CHECK(wb_alloc_count() == 0, "%ld allocations", wb_alloc_count());
    wb_tensor_free(x), wb_tensor_free(g), wb_tensor_free(xs), wb_tensor_free(gs);
    wb_dropout_free(d);
}

int main(void)
{
    RUN(test_rate_validation);
    RUN(test_training_mask_and_scale);
    RUN(test_inference_is_identity);
    RUN(test_same_seed_same_mask);
    RUN(test_gradient_fd);
    RUN(test_errors_and_shapes);
    RUN(test_steady_state_allocates_nothing);
    TH_EXIT();
}
