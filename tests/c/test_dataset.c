/* test_dataset.c - wb_dataset_gather's index check at the edge of float32's
 * integers (tests/lua/test_data.lua and test_audit_data.lua test the Lua
 * side). Failed before its fix: with n = 2^24 + 3 rows, index n is stored
 * as 2^24 + 4 and (float)n rounds to 2^24 + 4 too, so the gather read one
 * row past the end of the images and labels.
 * Also (found by mutation testing: a scale of 1/256 passed every C test) the
 * gathered rows and their scaling: uint8 pixels v read as v / 255, float
 * images copied as they are, from rows idx[first ..].
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

/* 5 images of 37 pixels (past any vector width: a scalar tail), rows
 * idx[1 .. 3] = 4, 1, 5 gathered: pixel v reads v / 255 (255 reads 1). */
static void test_gather_rows_and_scale(void)
{
    wb_err err;
    int64_t n = 5, d = 37, k = 3, m = 4;
    int64_t ishape[2] = {n, d}, xshape[2] = {k, d};
    wb_tensor *im = wb_tensor_new(WB_U8, 2, ishape, NULL);
    wb_tensor *imf = wb_tensor_new(WB_F32, 2, ishape, NULL);
    wb_tensor *lab = wb_tensor_new(WB_U8, 1, &n, NULL);
    wb_tensor *x = wb_tensor_new(WB_F32, 2, xshape, NULL);
    wb_tensor *y = wb_tensor_new(WB_U8, 1, &k, NULL);
    wb_tensor *idx = wb_tensor_new(WB_F32, 1, &m, NULL);
    REQUIRE(im && imf && lab && x && y && idx, "alloc");
    for (int64_t i = 0; i < n; i++) {
        wb_tensor_u8(lab)[i] = (uint8_t)(10 + i);
        for (int64_t j = 0; j < d; j++) {
            unsigned v = j == 0 ? 255u : (unsigned)((i * d + j) * 7 % 256);
            wb_tensor_u8(im)[i * d + j] = (uint8_t)v;
            wb_tensor_f32(imf)[i * d + j] = (float)v * 0.5f - 3.0f;
        }
    }
    const float rows[4] = {2, 4, 1, 5}; /* 1-based; the gather starts at idx[1] */
    memcpy(wb_tensor_f32(idx), rows, sizeof rows);
    REQUIRE(wb_dataset_gather(x, y, im, lab, idx, 1, k, &err) == WB_OK, "%s", err.msg);
    for (int64_t r = 0; r < k; r++) {
        int64_t i = (int64_t)rows[r + 1] - 1;
        CHECK(wb_tensor_u8(y)[r] == 10 + i, "label %lld: %d", (long long)r,
              wb_tensor_u8(y)[r]);
        for (int64_t j = 0; j < d; j++) {
            /* the correctly rounded quotient, as numpy's float32 / 255 */
            float want = (float)(wb_tensor_u8(im)[i * d + j] / 255.0);
            CHECK(wb_tensor_f32(x)[r * d + j] == want, "pixel %lld, %lld", (long long)r,
                  (long long)j);
        }
    }
    REQUIRE(wb_dataset_gather(x, y, imf, lab, idx, 1, k, &err) == WB_OK, "%s", err.msg);
    for (int64_t r = 0; r < k; r++) {
        int64_t i = (int64_t)rows[r + 1] - 1;
        for (int64_t j = 0; j < d; j++)
            CHECK(wb_tensor_f32(x)[r * d + j] == wb_tensor_f32(imf)[i * d + j],
                  "float row %lld pixel %lld", (long long)r, (long long)j);
    }
    wb_tensor_free(im); wb_tensor_free(imf); wb_tensor_free(lab); wb_tensor_free(x);
    wb_tensor_free(y); wb_tensor_free(idx);
}

int main(void)
{
    RUN(test_index_past_the_end_beyond_2_24);
    RUN(test_gather_rows_and_scale);
    TH_EXIT();
}
