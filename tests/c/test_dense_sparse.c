/* test_dense_sparse.c - the sparse-input path of Dense (wide inputs that are
 * mostly zeros, like MNIST pixels) against a double-precision reference,
 * and the switch between the sparse and the dense (GEMM) path.
 *
 * Tolerance: 1e-4 absolute + 1e-4 relative for z and dW (float sums of up to
 * 784 terms in a different order than the reference).
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/dense.h"
#include "harness.h"

/* x [n, I] with a fraction `density` of non-zeros in (0, 1]. */
static wb_tensor *sparse_input(wb_rng *r, int64_t n, int64_t I, double density)
{
    int64_t s[2] = {n, I};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, NULL);
    float *x = wb_tensor_f32(t);
    for (int64_t k = 0; k < n * I; k++)
        x[k] = wb_rng_uniform(r) < density ? (float)(0.01 + wb_rng_uniform(r)) : 0.0f;
    return t;
}

static void check_layer(int64_t n, int64_t I, int64_t O, double density)
{
    wb_rng r;
    wb_rng_seed(&r, 42 + (uint64_t)n);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    wb_dense *d = wb_dense_new(I, O, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    wb_tensor *x = sparse_input(&r, n, I, density);
    REQUIRE(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    const float *xv = wb_tensor_f32(x), *w = wb_tensor_f32(d->weight);
    const float *z = wb_tensor_f32(wb_dense_logits(d));
    double worst = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < O; j++) {
            double ref = 0;
            for (int64_t k = 0; k < I; k++)
                ref += (double)xv[i * I + k] * w[k * O + j];
            double diff = fabs(z[i * O + j] - ref) / (1e-4 + 1e-4 * fabs(ref));
            if (diff > worst)
                worst = diff;
        }
    CHECK(worst <= 1.0, "z: worst error %.3g tolerances (n %lld, density %.2f)", worst,
          (long long)n, density);
    /* dW += x^T dz with dz = a fixed pattern, accumulating onto a non-zero dW */
    int64_t s[2] = {n, O};
    wb_tensor *dz = wb_tensor_new(WB_F32, 2, s, NULL);
    float *g = wb_tensor_f32(dz);
    for (int64_t k = 0; k < n * O; k++)
        g[k] = (float)(wb_rng_uniform(&r) - 0.5);
    float *dw = wb_tensor_f32(d->grad_weight);
    for (int64_t k = 0; k < I * O; k++)
        dw[k] = 0.5f;
    REQUIRE(wb_dense_backward_logits(d, x, dz, 0, &err) == WB_OK, "%s", err.msg);
    worst = 0;
    for (int64_t k = 0; k < I; k++)
        for (int64_t j = 0; j < O; j++) {
            double ref = 0.5;
            for (int64_t i = 0; i < n; i++)
                ref += (double)xv[i * I + k] * g[i * O + j];
            double diff = fabs(dw[k * O + j] - ref) / (1e-4 + 1e-4 * fabs(ref));
            if (diff > worst)
                worst = diff;
        }
    CHECK(worst <= 1.0, "dW: worst error %.3g tolerances (n %lld, density %.2f)", worst,
          (long long)n, density);
    wb_tensor_free(dz);
    wb_tensor_free(x);
    wb_dense_free(d);
}

/* MNIST-like: 784 inputs, 19% non-zero; batch sizes around the chunking of
 * the column lists (16384 / 784 = 20 rows per chunk) and an odd width. */
static void test_sparse_path_matches_reference(void)
{
    check_layer(1, 784, 128, 0.19);
    check_layer(8, 784, 128, 0.19);
    check_layer(21, 784, 128, 0.19);
    check_layer(45, 784, 37, 0.3);
}

/* A dense input takes the GEMM path and must agree just the same. */
static void test_dense_input_still_right(void)
{
    check_layer(16, 300, 40, 0.9);
    check_layer(4, 300, 40, 0.5);
}

/* Rows of zeros only (a blank image) give exactly the bias-free zero. */
static void test_blank_rows(void)
{
    check_layer(6, 784, 128, 0.0);
}

/* backward given another input than the last forward's (a different
 * tensor): the kept non-zeros must not be used; dW comes from that input. */
static void test_backward_with_another_input(void)
{
    wb_rng r;
    wb_rng_seed(&r, 9);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    wb_dense *d = wb_dense_new(784, 64, &o, &r, &err);
    wb_tensor *x1 = sparse_input(&r, 5, 784, 0.2), *x2 = sparse_input(&r, 5, 784, 0.2);
    int64_t s[2] = {5, 64};
    wb_tensor *dz = wb_tensor_new(WB_F32, 2, s, NULL);
    float *g = wb_tensor_f32(dz);
    for (int64_t k = 0; k < 5 * 64; k++)
        g[k] = (float)(wb_rng_uniform(&r) - 0.5);
    REQUIRE(wb_dense_forward(d, x1, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_dense_backward_logits(d, x2, dz, 0, &err) == WB_OK, "%s", err.msg);
    const float *dw = wb_tensor_f32(d->grad_weight), *xv = wb_tensor_f32(x2);
    double worst = 0;
    for (int64_t k = 0; k < 784; k++)
        for (int64_t j = 0; j < 64; j++) {
            double ref = 0;
            for (int64_t i = 0; i < 5; i++)
                ref += (double)xv[i * 784 + k] * g[i * 64 + j];
            double diff = fabs(dw[k * 64 + j] - ref) / (1e-4 + 1e-4 * fabs(ref));
            if (diff > worst)
                worst = diff;
        }
    CHECK(worst <= 1.0, "dW from the second input: worst %.3g tolerances", worst);
    wb_tensor_free(dz);
    wb_tensor_free(x1);
    wb_tensor_free(x2);
    wb_dense_free(d);
}

static void test_no_allocation_in_steady_state(void)
{
    wb_rng r;
    wb_rng_seed(&r, 1);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "relu";
    wb_dense *d = wb_dense_new(784, 128, &o, &r, &err);
    wb_tensor *x = sparse_input(&r, 32, 784, 0.19);
    int64_t s[2] = {32, 128};
    wb_tensor *dy = wb_tensor_new(WB_F32, 2, s, NULL);
    wb_dense_forward(d, x, &err);
    wb_dense_backward(d, x, dy, 0, &err);
    wb_alloc_fail_at(0, 0);
    for (int i = 0; i < 5; i++) {
        wb_dense_forward(d, x, &err);
        wb_dense_backward(d, x, dy, 0, &err);
    }
    CHECK(wb_alloc_count() == 0, "%ld allocations in 5 steps", wb_alloc_count());
    wb_tensor_free(dy);
    wb_tensor_free(x);
    wb_dense_free(d);
}

/* A first forward of no rows on a wide layer (predict of an empty set):
 * the sparse path's buffers did not exist yet (capacity 0 rows), and the
 * row index was written through NULL. */
static void test_no_rows_first(void)
{
    wb_rng r;
    wb_rng_seed(&r, 3);
    wb_err err;
    wb_dense_opts o = wb_dense_defaults();
    wb_dense *d = wb_dense_new(784, 16, &o, &r, &err);
    REQUIRE(d, "%s", err.msg);
    int64_t s[2] = {0, 784};
    wb_tensor *x = wb_tensor_new(WB_F32, 2, s, NULL);
    REQUIRE(x, "no tensor");
    CHECK(wb_dense_forward(d, x, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_dense_logits(d)->shape[0] == 0, "rows %lld",
          (long long)wb_dense_logits(d)->shape[0]);
    wb_tensor_free(x);
    wb_dense_free(d);
}

int main(void)
{
    RUN(test_no_rows_first);
    RUN(test_sparse_path_matches_reference);
    RUN(test_dense_input_still_right);
    RUN(test_blank_rows);
    RUN(test_backward_with_another_input);
    RUN(test_no_allocation_in_steady_state);
    TH_EXIT();
}
