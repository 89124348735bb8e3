/* test_tensor.c - core/tensor.c and core/idx.c against numpy/torch: reshape's
 * inferred -1, argmax's NaN (the first wins, as max), an IDX float64 beyond
 * float32's range refused with its position. */
#include <math.h>
#include <string.h>

#include "../../core/idx.h"
#include "../../core/tensor.h"
#include "harness.h"

static void test_reshape_infer(void)
{
    wb_err err;
    int64_t s6[1] = {6};
    wb_tensor *t = wb_tensor_new(WB_F32, 1, s6, &err);
    REQUIRE(t, "alloc");
    int64_t a[2] = {-1, 2}, b[3] = {1, -1, 3};
    CHECK(wb_tensor_reshape_inplace(t, 2, a, &err) == WB_OK, "%s", err.msg);
    CHECK(t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 2, "[-1, 2] -> [3, 2]");
    CHECK(wb_tensor_reshape_inplace(t, 3, b, &err) == WB_OK, "%s", err.msg);
    CHECK(t->ndim == 3 && t->shape[1] == 2, "[1, -1, 3] -> [1, 2, 3]");
    /* failures leave the shape as it was */
    int64_t bad1[2] = {-1, 4}, bad2[2] = {-1, -1}, bad3[2] = {-2, 3};
    CHECK(wb_tensor_reshape_inplace(t, 2, bad1, &err) == WB_ESHAPE &&
          strstr(err.msg, "6 is not a multiple of 4"), "%s", err.msg);
    CHECK(wb_tensor_reshape_inplace(t, 2, bad2, &err) == WB_EINVAL &&
          strstr(err.msg, "only one size may be -1"), "%s", err.msg);
    CHECK(wb_tensor_reshape_inplace(t, 2, bad3, &err) == WB_EINVAL &&
          strstr(err.msg, "size 1 is -2"), "%s", err.msg);
    CHECK(t->ndim == 3 && t->shape[0] == 1 && t->shape[2] == 3, "unchanged on failure");
    wb_tensor_free(t);
    int64_t s0[1] = {0}, z[2] = {-1, 0};
    t = wb_tensor_new(WB_F32, 1, s0, &err);
    REQUIRE(t, "alloc");
    CHECK(wb_tensor_reshape_inplace(t, 2, z, &err) == WB_ESHAPE &&
          strstr(err.msg, "could be any size"), "%s", err.msg);
    wb_tensor_free(t);
}

static void test_argmax_nan(void)
{
    wb_err err;
    int64_t s[2] = {3, 3};
    const float v[9] = {1, 5, NAN, NAN, 2, 1, NAN, NAN, 3};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, s, &err);
    REQUIRE(t, "alloc");
    memcpy(wb_tensor_f32(t), v, sizeof v);
    wb_tensor *r = wb_tensor_argmax(t, 1, &err);
    REQUIRE(r, "%s", err.msg);
    const float want[3] = {2, 0, 0}; /* torch.argmax(dim=1), 0-based */
    for (int i = 0; i < 3; i++)
        CHECK(wb_tensor_f32(r)[i] == want[i], "row %d: %g, expected %g", i,
              (double)wb_tensor_f32(r)[i], (double)want[i]);
    wb_tensor_free(r);
    wb_tensor_free(t);
}

static void put_be(unsigned char *p, const void *x, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = ((const unsigned char *)x)[n - 1 - i]; /* little-endian host */
}

static void test_idx_f64_range(void)
{
    wb_err err;
    unsigned char buf[12 + 3 * 8] = {0, 0, 0x0E, 2, 0, 0, 0, 1, 0, 0, 0, 3};
    double d[3] = {1.5, 1e30, -1e300};
    for (int i = 0; i < 3; i++)
        put_be(buf + 12 + 8 * i, &d[i], 8);
    wb_tensor *t = wb_idx_decode(buf, sizeof buf, "f64.idx", &err);
    CHECK(!t && err.code == WB_ERANGE, "1e300 refused");
    CHECK(strstr(err.msg, "f64.idx: element 3 ([1, 3]) is -1e+300, beyond float32's"),
          "%s", err.msg);
    wb_tensor_free(t);
    d[2] = -2;
    put_be(buf + 12 + 16, &d[2], 8);
    t = wb_idx_decode(buf, sizeof buf, "f64.idx", &err);
    REQUIRE(t, "%s", err.msg);
    CHECK(wb_tensor_f32(t)[1] == 1e30f && wb_tensor_f32(t)[2] == -2.0f, "values");
    wb_tensor_free(t);
}

int main(void)
{
    RUN(test_reshape_infer);
    RUN(test_argmax_nan);
    RUN(test_idx_f64_range);
    TH_EXIT();
}
