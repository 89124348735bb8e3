/* test_dataset.c - wb_dataset_gather's index check at the edge of float32's
 * integers (tests/lua/test_data.lua and test_audit_data.lua test the Lua
 * side). Failed before its fix: with n = 2^24 + 3 rows, index n is stored
 * as 2^24 + 4 and (float)n rounds to 2^24 + 4 too, so the gather read one
 * row past the end of the images and labels.
 */
#include <string.h>

#include "../../core/dataset.h"
#include "../../core/tensor.h"
#include "harness.h"

static void test_index_past_the_end_beyond_2_24(void)
{
    wb_err err;
    int64_t n = ((int64_t)1 << 24) + 3, one = 1;
    int64_t ishape[2] = {n, 1}, xshape[2] = {1, 1};
    wb_tensor *im = wb_tensor_new(WB_U8, 2, ishape, NULL);
    wb_tensor *lab = wb_tensor_new(WB_U8, 1, &n, NULL);
    wb_tensor *x = wb_tensor_new(WB_F32, 2, xshape, NULL);
    wb_tensor *y = wb_tensor_new(WB_U8, 1, &one, NULL);
    wb_tensor *idx = wb_tensor_new(WB_F32, 1, &one, NULL);
    REQUIRE(im && lab && x && y && idx, "alloc");
    wb_tensor_f32(idx)[0] = (float)n; /* 16777219 rounds to 16777220: past the end */
    CHECK(wb_tensor_f32(idx)[0] > (double)n, "float32 holds n exactly here: no test");
    CHECK(wb_dataset_gather(x, y, im, lab, idx, 0, 1, &err) == WB_ERANGE,
          "index %.0f of %lld rows gathered", (double)wb_tensor_f32(idx)[0], (long long)n);
    CHECK(strstr(err.msg, "index 1 is 16777220, expected an integer in 1..16777219"),
          "message: %s", err.msg);
    wb_tensor_f32(idx)[0] = (float)(n - 3); /* 2^24: exact, the last row it can name */
    CHECK(wb_dataset_gather(x, y, im, lab, idx, 0, 1, &err) == WB_OK, "%s", err.msg);
    wb_tensor_free(im); wb_tensor_free(lab); wb_tensor_free(x); wb_tensor_free(y);
    wb_tensor_free(idx);
}

int main(void)
{
    RUN(test_index_past_the_end_beyond_2_24);
    TH_EXIT();
}
