/* test_tensor_math.c - core/tensor_math.c: values against closed forms,
 * the reductions' shapes and errors (nothing allocated on failure). */
#include <math.h>
#include <string.h>

#include "../../core/tensor_math.h"
#include "harness.h"

static wb_tensor *mat(int64_t m, int64_t n, const float *v)
{
    int64_t s[2] = {m, n};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, NULL);
    if (t)
        memcpy(wb_tensor_f32(t), v, sizeof(float) * (size_t)(m * n));
    return t;
}

static void test_unary_values(void)
{
    wb_err err;
    const float v[6] = {-2.0f, -0.5f, 0.0f, 0.25f, 1.0f, 3.0f};
    wb_tensor *a = mat(2, 3, v);
    REQUIRE(a, "alloc");
    wb_tensor *e = wb_tensor_unop(a, WB_EXP, &err), *ab = wb_tensor_unop(a, WB_ABS, &err);
    wb_tensor *sg = wb_tensor_unop(a, WB_SIGN, &err), *p = wb_tensor_pow(a, 3.0f, &err);
    wb_tensor *c = wb_tensor_clamp(a, -1.0f, 0.5f, &err);
    REQUIRE(e && ab && sg && p && c, "alloc");
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(wb_tensor_f32(e)[i], expf(v[i]), 0);
        CHECK_NEAR(wb_tensor_f32(ab)[i], fabsf(v[i]), 0);
        CHECK_NEAR(wb_tensor_f32(sg)[i], v[i] > 0 ? 1.0f : (v[i] < 0 ? -1.0f : 0.0f), 0);
        CHECK_NEAR(wb_tensor_f32(p)[i], v[i] * v[i] * v[i], 1e-6);
        CHECK_NEAR(wb_tensor_f32(c)[i], v[i] < -1 ? -1.0f : (v[i] > 0.5f ? 0.5f : v[i]), 0);
    }
    wb_tensor *l = wb_tensor_unop(a, WB_LOG, &err), *s = wb_tensor_unop(a, WB_SQRT, &err);
    REQUIRE(l && s, "alloc");
    CHECK(isnan(wb_tensor_f32(l)[0]) && isinf(wb_tensor_f32(l)[2]), "IEEE log");
    CHECK_NEAR(wb_tensor_f32(s)[3], 0.5f, 0);
    CHECK(wb_tensor_clamp(a, 1.0f, 0.0f, &err) == NULL && err.code == WB_EINVAL,
          "lo > hi refused");
    wb_tensor *t = wb_tensor_transpose(a, &err);
    REQUIRE(t, "alloc");
    CHECK(t->shape[0] == 3 && t->shape[1] == 2, "shape");
    CHECK_NEAR(wb_tensor_f32(t)[1], v[3], 0); /* t[0][1] = a[1][0] */
    wb_tensor *fl[] = {e, ab, sg, p, c, l, s, t, a};
    for (size_t i = 0; i < sizeof fl / sizeof *fl; i++)
        wb_tensor_free(fl[i]);
}

static void test_reduce_dim(void)
{
    wb_err err;
    const float v[6] = {1, 7, -3, 4, 2, 6};
    wb_tensor *a = mat(2, 3, v);
    REQUIRE(a, "alloc");
    wb_tensor *s0 = wb_tensor_reduce_dim(a, 0, WB_RED_SUM, &err);
    wb_tensor *m1 = wb_tensor_reduce_dim(a, 1, WB_RED_MEAN, &err);
    wb_tensor *x1 = wb_tensor_reduce_dim(a, 1, WB_RED_MAX, &err);
    REQUIRE(s0 && m1 && x1, "alloc");
    CHECK(s0->ndim == 1 && s0->shape[0] == 3 && m1->shape[0] == 2, "dim removed");
    CHECK_NEAR(wb_tensor_f32(s0)[0], 5, 0);
    CHECK_NEAR(wb_tensor_f32(s0)[2], 3, 0);
    CHECK_NEAR(wb_tensor_f32(m1)[0], 5.0f / 3.0f, 1e-7);
    CHECK_NEAR(wb_tensor_f32(x1)[0], 7, 0);
    CHECK_NEAR(wb_tensor_f32(x1)[1], 6, 0);
    CHECK(wb_tensor_reduce_dim(a, 2, WB_RED_SUM, &err) == NULL && err.code == WB_ERANGE,
          "dim out of range");
    int64_t s[2] = {2, 3};
    wb_tensor *u = wb_tensor_new(WB_U8, 2, s, NULL);
    REQUIRE(u, "alloc");
    CHECK(wb_tensor_unop(u, WB_EXP, &err) == NULL && strstr(err.msg, "float32"), "dtype");
    CHECK(wb_tensor_transpose(s0, &err) == NULL && err.code == WB_ESHAPE, "1-D transpose");
    wb_tensor_free(u);
    wb_tensor_free(s0);
    wb_tensor_free(m1);
    wb_tensor_free(x1);
    wb_tensor_free(a);
}

static void test_row_broadcast(void)
{
    wb_err err;
    const float v[6] = {1, 2, 3, 4, 5, 6}, r[3] = {10, 20, 30};
    wb_tensor *a = mat(2, 3, v), *row = mat(1, 3, r), *bad = mat(3, 1, r);
    REQUIRE(a && row && bad, "alloc");
    wb_tensor *p = wb_tensor_binop(a, row, 0, WB_MUL, &err);
    REQUIRE(p, "%s", err.msg);
    CHECK_NEAR(wb_tensor_f32(p)[4], 100, 0);
    CHECK(wb_tensor_binop(a, bad, 0, WB_DIV, &err) == NULL && err.code == WB_ESHAPE &&
              strstr(err.msg, "[2, 3] and [3, 1]"), "%s", err.msg);
    wb_tensor_free(p);
    wb_tensor_free(a);
    wb_tensor_free(row);
    wb_tensor_free(bad);
}

int main(void)
{
    RUN(test_unary_values);
    RUN(test_reduce_dim);
    RUN(test_row_broadcast);
    TH_EXIT();
}
