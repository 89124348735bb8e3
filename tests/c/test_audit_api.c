/* test_audit_api.c - core checks found missing by the bad-input audit of the
 * tensor, optimizer and dataset API (tests/lua/test_audit_api.lua has the
 * Lua side). Each failed before its fix: a range message computed first +
 * count in int64 (signed overflow at the limits: UB, and a wrapped number);
 * a float32 -> uint8 copy clamped silently; whole-tensor min and max skipped
 * NaN; an eps that float32 cannot hold (0 or inf) was accepted.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../core/dataset.h"
#include "../../core/optim.h"
#include "../../core/tensor.h"
#include "harness.h"

static wb_tensor *t2(wb_dtype dt, int64_t a, int64_t b)
{
    int64_t s[2] = {a, b};
    return wb_tensor_new(dt, 2, s, NULL);
}

static void test_rows_message_at_the_limits(void)
{
    wb_err err;
    wb_tensor *t = t2(WB_F32, 2, 3);
    REQUIRE(t, "alloc");
    CHECK(!wb_tensor_rows(t, INT64_MAX, 1, &err) && err.code == WB_ERANGE, "no error");
    CHECK(strstr(err.msg, "rows 9223372036854775807..9223372036854775807 out of range"),
          "message: %s", err.msg);
    CHECK(!wb_tensor_rows(t, 1, INT64_MAX, &err), "no error");
    CHECK(strstr(err.msg, "rows 2..9223372036854775807 out of range"), "message: %s", err.msg);
    wb_tensor_free(t);
}

static void test_gather_message_at_the_limits(void)
{
    wb_err err;
    int64_t n1 = 1, n2 = 2;
    wb_tensor *x = t2(WB_F32, 1, 4), *y = wb_tensor_new(WB_U8, 1, &n1, NULL);
    wb_tensor *im = t2(WB_U8, 2, 4), *lab = wb_tensor_new(WB_U8, 1, &n2, NULL);
    wb_tensor *idx = wb_tensor_new(WB_F32, 1, &n1, NULL);
    REQUIRE(x && y && im && lab && idx, "alloc");
    CHECK(wb_dataset_gather(x, y, im, lab, idx, INT64_MAX, 1, &err) == WB_ERANGE, "no error");
    CHECK(strstr(err.msg, "rows 9223372036854775807..9223372036854775807 of an index of 1"),
          "message: %s", err.msg);
    wb_tensor_free(x); wb_tensor_free(y); wb_tensor_free(im); wb_tensor_free(lab);
    wb_tensor_free(idx);
}

static void test_copy_into_uint8_checks_every_value(void)
{
    wb_err err;
    int64_t n = 3;
    wb_tensor *src = wb_tensor_new(WB_F32, 1, &n, NULL), *dst = wb_tensor_new(WB_U8, 1, &n, NULL);
    REQUIRE(src && dst, "alloc");
    float *s = wb_tensor_f32(src);
    s[0] = 1; s[1] = 2; s[2] = 256;
    CHECK(wb_tensor_copy(dst, src, &err) == WB_ERANGE, "256 copied into uint8");
    CHECK(wb_tensor_u8(dst)[0] == 0 && wb_tensor_u8(dst)[1] == 0, "written before the error");
    s[2] = 2.5f;
    CHECK(wb_tensor_copy(dst, src, &err) == WB_ERANGE, "2.5 copied into uint8");
    s[2] = NAN;
    CHECK(wb_tensor_copy(dst, src, &err) == WB_ERANGE, "NaN copied into uint8");
    s[2] = 255;
    CHECK(wb_tensor_copy(dst, src, &err) == WB_OK && wb_tensor_u8(dst)[2] == 255, "255");
    wb_tensor_free(src); wb_tensor_free(dst);
}

static void test_stats_min_max_nan(void)
{
    wb_stats st;
    int64_t n = 3;
    wb_tensor *t = wb_tensor_new(WB_F32, 1, &n, NULL);
    REQUIRE(t, "alloc");
    wb_tensor_f32(t)[1] = NAN;
    REQUIRE(wb_tensor_stats(t, &st, NULL) == WB_OK, "stats");
    CHECK(isnan(st.min) && isnan(st.max), "min %g max %g", st.min, st.max);
    wb_tensor_free(t);
}

static void test_optim_float32_range(void)
{
    wb_err err;
    wb_optim_config c;
    wb_optim_defaults(WB_OPTIM_ADAM, &c);
    c.eps = 1e-50; /* 0 in float32 */
    CHECK(wb_optim_validate(&c, &err) == WB_EINVAL, "eps 1e-50 accepted");
    c.eps = 1e-40; /* subnormal, not 0 */
    CHECK(wb_optim_validate(&c, &err) == WB_OK, "eps 1e-40: %s", err.msg);
    c.eps = 1e39; /* inf in float32: every update 0 */
    CHECK(wb_optim_validate(&c, &err) == WB_EINVAL, "eps 1e39 accepted");
}

int main(void)
{
    RUN(test_rows_message_at_the_limits);
    RUN(test_gather_message_at_the_limits);
    RUN(test_copy_into_uint8_checks_every_value);
    RUN(test_stats_min_max_nan);
    RUN(test_optim_float32_range);
    TH_EXIT();
}
