/* test_flatten.c - Flatten shapes, uint8 scaling, errors, no allocation. */
#include "../../core/alloc.h"
#include "../../core/flatten.h"
#include "harness.h"

static void test_shapes_and_u8(void)
{
    wb_err err;
    wb_flatten *f = wb_flatten_new(&err);
    int64_t s3[3] = {2, 3, 4};
    wb_tensor *img = wb_tensor_new(WB_U8, 3, s3, &err);
    REQUIRE(f && img, "alloc");
    for (int k = 0; k < 24; k++)
        wb_tensor_u8(img)[k] = (uint8_t)(k * 11);
    REQUIRE(wb_flatten_forward(f, img, &err) == WB_OK, "%s", err.msg);
    CHECK(f->out_shape[0] == 2 && f->out_shape[1] == 12 && f->in_u8, "out shape");
    for (int k = 0; k < 24; k++)
        CHECK(wb_tensor_f32(f->buf)[k] == (float)(k * 11) / 255.0f, "scale %d", k);
    int64_t s2[2] = {2, 12}, bad[2] = {2, 11};
    wb_tensor *g = wb_tensor_new(WB_F32, 2, s2, &err), *gb = wb_tensor_new(WB_F32, 2, bad, &err);
    CHECK(wb_flatten_backward(f, g, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_flatten_backward(f, gb, &err) == WB_ESHAPE &&
              strcmp(err.msg, "grad_output: expected [2, 12] (the output of the last "
                              "forward), got [2, 11]") == 0, "%s", err.msg);
    wb_tensor *fl = wb_tensor_new(WB_F32, 3, s3, &err);
    long before = wb_alloc_count();
    REQUIRE(wb_flatten_forward(f, fl, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_flatten_forward(f, img, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_alloc_count() == before, "steady state allocated");
    int64_t s1[1] = {5};
    wb_tensor *v = wb_tensor_new(WB_F32, 1, s1, &err);
    CHECK(wb_flatten_forward(f, v, &err) == WB_ESHAPE &&
              strcmp(err.msg, "input: expected [n, ...] with at least 2 dimensions, got "
                              "[5]") == 0, "%s", err.msg);
    wb_tensor_free(img), wb_tensor_free(g), wb_tensor_free(gb), wb_tensor_free(fl);
    wb_tensor_free(v);
    wb_flatten_free(f);
}

static void test_backward_before_forward(void)
{
    wb_err err;
    wb_flatten *f = wb_flatten_new(&err);
    int64_t s2[2] = {2, 12};
    wb_tensor *g = wb_tensor_new(WB_F32, 2, s2, &err);
    REQUIRE(f && g, "alloc");
    CHECK(wb_flatten_backward(f, g, &err) == WB_ESTATE, "no ESTATE");
    wb_tensor_free(g);
    wb_flatten_free(f);
    wb_flatten_free(NULL);
}

int main(void)
{
    RUN(test_shapes_and_u8);
    RUN(test_backward_before_forward);
    TH_EXIT();
}
