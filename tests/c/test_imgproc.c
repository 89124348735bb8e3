/* test_imgproc.c - core/imgproc.c: resampling weights, crop/bbox/centre of
 * mass, and the MNIST recipe on synthetic digits (geometry, inversion,
 * background removal, errors, allocation failures). */
#include <stdint.h>
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/imgproc.h"
#include "harness.h"

static wb_tensor *img_from(int64_t h, int64_t w, const float *v)
{
    wb_err err;
    wb_tensor *t = wb_tensor_new(WB_F32, 2, (int64_t[]){h, w}, &err);
    if (v)
        memcpy(wb_tensor_f32(t), v, (size_t)(h * w) * sizeof(float));
    return t;
}

static double mean_of(const wb_tensor *t)
{
    double s = 0;
    size_t n = wb_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        s += wb_tensor_f32(t)[i];
    return s / (double)n;
}

/* ------------------------------------------------------------ resample */

static void test_area_exact_weights(void)
{
    wb_err err;
    float v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (float)i;
    wb_tensor *a = img_from(4, 4, v);
    wb_tensor *b = wb_img_resize(a, 2, 2, WB_RESAMPLE_AREA, &err);
    REQUIRE(b, "%s", err.msg);
    float want[4] = {2.5f, 4.5f, 10.5f, 12.5f}; /* 2x2 block means */
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(wb_tensor_f32(b)[i], want[i], 1e-6);
    wb_tensor_free(b);
    /* 3 -> 2 along x: s = 1.5; out0 = (1*v0 + 0.5*v1) / 1.5 */
    float r[3] = {3, 6, 9};
    wb_tensor *c = img_from(1, 3, r);
    b = wb_img_resize(c, 1, 2, WB_RESAMPLE_AREA, &err);
    REQUIRE(b, "%s", err.msg);
    CHECK_NEAR(wb_tensor_f32(b)[0], (3 + 0.5 * 6) / 1.5, 1e-6);
    CHECK_NEAR(wb_tensor_f32(b)[1], (0.5 * 6 + 9) / 1.5, 1e-6);
    wb_tensor_free(b);
    wb_tensor_free(c);
    wb_tensor_free(a);
}

static void test_area_keeps_mean(void)
{
    wb_err err;
    float v[17 * 13];
    for (int i = 0; i < 17 * 13; i++)
        v[i] = (float)((i * 7919) % 101) / 100.0f;
    wb_tensor *a = img_from(17, 13, v);
    int64_t sizes[][2] = {{5, 7}, {17, 13}, {3, 1}, {40, 29}, {1, 1}};
    for (int k = 0; k < 5; k++) {
        wb_tensor *b = wb_img_resize(a, sizes[k][0], sizes[k][1], WB_RESAMPLE_AREA,
                                     &err);
        REQUIRE(b, "%s", err.msg);
        CHECK_NEAR(mean_of(b), mean_of(a), 1e-5);
        if (k == 1)
            for (int i = 0; i < 17 * 13; i++)
                CHECK_NEAR(wb_tensor_f32(b)[i], v[i], 1e-6);
        wb_tensor_free(b);
    }
    wb_tensor_free(a);
}

static void test_bilinear(void)
{
    wb_err err;
    float v[2] = {0, 1};
    wb_tensor *a = img_from(1, 2, v);
    wb_tensor *b = wb_img_resize(a, 3, 4, WB_RESAMPLE_BILINEAR, &err);
    REQUIRE(b, "%s", err.msg);
    /* centres at -0.25, 0.25, 0.75, 1.25 -> clamped */
    float want[4] = {0, 0.25f, 0.75f, 1};
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            CHECK_NEAR(wb_tensor_f32(b)[y * 4 + x], want[x], 1e-6);
    wb_tensor_free(b);
    CHECK(!wb_img_resize(a, 0, 4, WB_RESAMPLE_AREA, &err) && err.code == WB_ERANGE &&
          strstr(err.msg, "got 0x4"), "%s", err.msg);
    CHECK(!wb_img_resize(a, 20000, 4, WB_RESAMPLE_AREA, &err) &&
          err.code == WB_ERANGE, "%s", err.msg);
    wb_tensor_free(a);
    wb_tensor *u = wb_tensor_new(WB_U8, 2, (int64_t[]){2, 2}, &err);
    CHECK(!wb_img_resize(u, 1, 1, WB_RESAMPLE_AREA, &err) && err.code == WB_ESHAPE &&
          strstr(err.msg, "got uint8 [2, 2]"), "%s", err.msg);
    wb_tensor_free(u);
}

/* ------------------------------------------------------------ simple ops */

static void test_crop_bbox_com(void)
{
    wb_err err;
    wb_tensor *a = img_from(6, 8, NULL);
    float *p = wb_tensor_f32(a);
    p[1 * 8 + 2] = 1.0f, p[4 * 8 + 6] = 3.0f, p[3 * 8 + 4] = 0.05f;
    int64_t box[4];
    REQUIRE(wb_img_bbox(a, 0.1f, box, &err) == WB_OK, "%s", err.msg);
    CHECK(box[0] == 1 && box[1] == 2 && box[2] == 4 && box[3] == 5,
          "box %lld %lld %lld %lld", (long long)box[0], (long long)box[1],
          (long long)box[2], (long long)box[3]);
    double cy, cx;
    REQUIRE(wb_img_centre_of_mass(a, &cy, &cx, &err) == WB_OK, "%s", err.msg);
    CHECK_NEAR(cy, (1 * 1 + 4 * 3 + 3 * 0.05) / 4.05, 1e-6);
    CHECK_NEAR(cx, (2 * 1 + 6 * 3 + 4 * 0.05) / 4.05, 1e-6);
    wb_tensor *c = wb_img_crop(a, box[0], box[1], box[2], box[3], &err);
    REQUIRE(c, "%s", err.msg);
    CHECK(c->shape[0] == 4 && c->shape[1] == 5, "crop shape");
    CHECK(wb_tensor_f32(c)[0] == 1.0f && wb_tensor_f32(c)[19] == 3.0f, "crop corners");
    wb_tensor_free(c);
    CHECK(!wb_img_crop(a, 3, 0, 4, 1, &err) && err.code == WB_ERANGE &&
          strstr(err.msg, "do not fit in a [6, 8] image"), "%s", err.msg);
    CHECK(wb_img_bbox(a, 5.0f, box, &err) == WB_EINVAL &&
          strstr(err.msg, "no pixel above 5"), "%s", err.msg);
    wb_tensor *z = img_from(3, 3, NULL);
    CHECK(wb_img_centre_of_mass(z, &cy, &cx, &err) == WB_EINVAL, "zero com");
    wb_tensor *inv = wb_img_invert(z, &err);
    REQUIRE(inv, "%s", err.msg);
    CHECK_NEAR(mean_of(inv), 1.0, 0);
    wb_tensor_free(inv);
    wb_tensor_free(z);
    wb_tensor_free(a);
}

static void test_rgb(void)
{
    wb_err err;
    float r[2] = {0.1f, 0.2f}, g[2] = {0.3f, 0.4f};
    wb_tensor *a = img_from(1, 2, r), *b = img_from(1, 2, g);
    wb_tensor *c = wb_img_rgb(a, b, NULL, &err);
    REQUIRE(c && c->ndim == 3 && c->shape[2] == 3, "%s", err.msg);
    float want[6] = {0.1f, 0.3f, 0.1f, 0.2f, 0.4f, 0.2f};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(wb_tensor_f32(c)[i], want[i], 0);
    wb_tensor_free(c);
    wb_tensor *d = img_from(2, 1, r);
    CHECK(!wb_img_rgb(a, d, NULL, &err) && err.code == WB_ESHAPE &&
          strstr(err.msg, "g: ") && strstr(err.msg, "[2, 1]"), "%s", err.msg);
    wb_tensor_free(d);
    wb_tensor_free(a);
    wb_tensor_free(b);
}

/* ------------------------------------------------------------ MNIST */

/* A 100x60 white page with a black bar 60 tall and 10 wide (paper and ink
 * levels given), optionally a small blob to the right of it. */
static wb_tensor *bar_page(float paper, float ink, int blob)
{
    wb_tensor *t = img_from(100, 60, NULL);
    float *p = wb_tensor_f32(t);
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 60; x++) {
            int in = (y >= 20 && y < 80 && x >= 25 && x < 35) ||
                     (blob && y >= 70 && y < 80 && x >= 35 && x < 45);
            p[y * 60 + x] = in ? ink : paper;
        }
    return t;
}

static void test_mnist_bar(void)
{
    wb_err err;
    wb_mnist_steps st;
    wb_tensor *page = bar_page(1.0f, 0.0f, 0);
    wb_tensor *m = wb_img_to_mnist(page, &st, &err);
    REQUIRE(m, "%s", err.msg);
    CHECK(m->ndim == 2 && m->shape[0] == 1 && m->shape[1] == 784, "shape");
    CHECK(st.light_background == 1, "light background not detected");
    CHECK(st.bbox[0] == 20 && st.bbox[1] == 25 && st.bbox[2] == 60 && st.bbox[3] == 10,
          "bbox");
    CHECK(st.scaled->shape[0] == 20 && st.scaled->shape[1] == 3, "scaled [%lld, %lld]",
          (long long)st.scaled->shape[0], (long long)st.scaled->shape[1]);
    wb_tensor *c = st.centred;
    int64_t box[4];
    double cy, cx;
    REQUIRE(wb_img_bbox(c, 0.0f, box, &err) == WB_OK, "%s", err.msg);
    CHECK(box[2] == 20, "longer side %lld", (long long)box[2]);
    REQUIRE(wb_img_centre_of_mass(c, &cy, &cx, &err) == WB_OK, "%s", err.msg);
    CHECK(fabs(cy - 14) <= 0.5 && fabs(cx - 14) <= 0.5, "com (%g, %g)", cy, cx);
    float mx = 0, mn = 1;
    for (int i = 0; i < 784; i++) {
        mx = fmaxf(mx, wb_tensor_f32(m)[i]), mn = fminf(mn, wb_tensor_f32(m)[i]);
        CHECK(wb_tensor_f32(m)[i] == wb_tensor_f32(c)[i], "result != centred at %d", i);
    }
    CHECK(mx == 1.0f && mn == 0.0f, "range [%g, %g]", mn, mx);
    wb_mnist_steps_free(&st);
    wb_tensor_free(m);
    wb_tensor_free(page);
}

/* Light-on-dark, dark-on-light and grey paper with grey ink all give the
 * same digit; an off-centre blob pulls the bar left of centre. */
static void test_mnist_invariances(void)
{
    wb_err err;
    wb_tensor *pages[3] = {bar_page(1, 0, 1), bar_page(0, 1, 1), bar_page(0.8f, 0.15f, 1)};
    wb_tensor *out[3];
    for (int k = 0; k < 3; k++) {
        out[k] = wb_img_to_mnist(pages[k], NULL, &err);
        REQUIRE(out[k], "%d: %s", k, err.msg);
    }
    for (int i = 0; i < 784; i++) {
        CHECK_NEAR(wb_tensor_f32(out[1])[i], wb_tensor_f32(out[0])[i], 1e-6);
        CHECK_NEAR(wb_tensor_f32(out[2])[i], wb_tensor_f32(out[0])[i], 1e-5);
    }
    wb_tensor *c = out[0];
    wb_tensor_reshape_inplace(c, 2, (int64_t[]){28, 28}, &err);
    double cy, cx;
    REQUIRE(wb_img_centre_of_mass(c, &cy, &cx, &err) == WB_OK, "%s", err.msg);
    CHECK(fabs(cy - 14) <= 0.5 && fabs(cx - 14) <= 0.5, "com (%g, %g)", cy, cx);
    for (int k = 0; k < 3; k++) {
        wb_tensor_free(out[k]);
        wb_tensor_free(pages[k]);
    }
}

/* A small digit is enlarged (bilinear) to the 20 px box. */
static void test_mnist_small_input(void)
{
    wb_err err;
    wb_mnist_steps st;
    wb_tensor *t = img_from(12, 12, NULL);
    for (int y = 2; y < 10; y++)
        wb_tensor_f32(t)[y * 12 + 5] = wb_tensor_f32(t)[y * 12 + 6] = 1.0f;
    wb_tensor *m = wb_img_to_mnist(t, &st, &err);
    REQUIRE(m, "%s", err.msg);
    CHECK(st.light_background == 0, "dark background");
    CHECK(st.scaled->shape[0] == 20 && st.scaled->shape[1] == 5, "scaled [%lld, %lld]",
          (long long)st.scaled->shape[0], (long long)st.scaled->shape[1]);
    wb_mnist_steps_free(&st);
    wb_tensor_free(m);
    wb_tensor_free(t);
}

static void test_mnist_errors_and_leaks(void)
{
    wb_err err;
    wb_mnist_steps st;
    wb_tensor *blank = img_from(30, 30, NULL);
    wb_tensor_fill(blank, 0.9f, &err);
    wb_tensor_f32(blank)[400] = 0.89f; /* below the 0.02 contrast floor */
    CHECK(!wb_img_to_mnist(blank, &st, &err) && err.code == WB_EINVAL &&
          strstr(err.msg, "no digit found"), "%s", err.msg);
    CHECK(!st.inverted && !st.centred, "steps not cleared on failure");
    wb_tensor *flat = wb_tensor_new(WB_F32, 2, (int64_t[]){1, 784}, &err);
    for (int i = 3; i < 8; i++)
        wb_tensor_f32(flat)[i] = 1; /* a 1x5 stroke */
    /* a [1, 784] row is an MNIST row (to_mnist's own result), not an image
     * 1 px tall: refused by its shape (it went through as garbage) */
    CHECK(!wb_img_to_mnist(flat, NULL, &err) && err.code == WB_ESHAPE &&
          strstr(err.msg, "a [1, 784] image, 1 px on a side"), "%s", err.msg);
    wb_tensor *one = img_from(2, 2, NULL);
    wb_tensor_fill(one, 1.0f, &err);
    wb_tensor_f32(one)[3] = 0; /* one pixel of ink: no digit (audit D3) */
    CHECK(!wb_img_to_mnist(one, NULL, &err) && err.code == WB_EINVAL &&
          strstr(err.msg, "the ink's box is 1x1 px"), "%s", err.msg);
    wb_tensor_free(one);
    wb_tensor *three = wb_tensor_new(WB_F32, 3, (int64_t[]){2, 2, 3}, &err);
    CHECK(!wb_img_to_mnist(three, NULL, &err) && err.code == WB_ESHAPE &&
          strstr(err.msg, "got float32 [2, 2, 3]"), "%s", err.msg);
    wb_tensor *page = bar_page(1, 0, 1);
    long live = wb_alloc_live();
    int failed = 0;
    for (long k = 1; k <= 16; k++) {
        wb_alloc_fail_at(k, 0);
        wb_tensor *m = wb_img_to_mnist(page, (k % 2) ? &st : NULL, &err);
        wb_alloc_fail_at(0, 0);
        failed += !m;
        if (!m)
            CHECK(err.code == WB_ENOMEM, "alloc %ld: %s", k, err.msg);
        if (m && (k % 2))
            wb_mnist_steps_free(&st);
        wb_tensor_free(m);
        CHECK(wb_alloc_live() == live, "alloc %ld leaked %ld", k, wb_alloc_live() - live);
    }
    CHECK(failed >= 8, "only %d injected failures seen", failed);
    wb_tensor_free(page);
    wb_tensor_free(three);
    wb_tensor_free(flat);
    wb_tensor_free(blank);
}

int main(void)
{
    RUN(test_area_exact_weights);
    RUN(test_area_keeps_mean);
    RUN(test_bilinear);
    RUN(test_crop_bbox_com);
    RUN(test_rgb);
    RUN(test_mnist_bar);
    RUN(test_mnist_invariances);
    RUN(test_mnist_small_input);
    RUN(test_mnist_errors_and_leaks);
    TH_EXIT();
}
