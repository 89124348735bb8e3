/* test_activation.c - every activation against a double reference, its
 * derivative by central differences, softmax, the fused bias and the
 * Activation layer.
 *
 * Tolerances: float forward vs double reference 2e-6 (abs) + 2e-6 (rel);
 * float backward vs the double derivative 1e-5 + 1e-5 rel; the double
 * derivative vs central differences of the double function (h = 1e-5)
 * 1e-7 + 1e-7 rel; central differences of the float kernels (h = 1e-2,
 * accumulated in double) 2e-3 + 2e-3 rel.
 */
#include <stdlib.h>

#include "../../core/activation.h"
#include "../../core/alloc.h"
#include "../../core/rng.h"
#include "harness.h"

#define N_PTS 41

/* test points away from the kinks of relu/selu at 0 */
static void points(float *z)
{
    for (int i = 0; i < N_PTS; i++)
        z[i] = -6.13f + 0.3f * (float)i; /* -6.13 .. 5.87, never 0 */
}

static int near(double a, double b, double atol, double rtol)
{
    return fabs(a - b) <= atol + rtol * fabs(b);
}

static void test_forward_vs_reference(void)
{
    float z[N_PTS], y[N_PTS];
    for (int a = 0; a < WB_ACT_SOFTMAX; a++) {
        points(z);
        wb_act_forward((wb_act)a, y, z, NULL, 1, N_PTS);
        for (int i = 0; i < N_PTS; i++) {
            double want = wb_act_ref((wb_act)a, z[i]);
            CHECK(near(y[i], want, 2e-6, 2e-6), "%s(%g) = %.9g, expected %.9g",
                  wb_act_name((wb_act)a), z[i], y[i], want);
        }
    }
    /* named values */
    CHECK_NEAR(wb_act_ref(WB_ACT_GELU, 1.0), 0.8413447460685429, 1e-12);
    CHECK_NEAR(wb_act_ref(WB_ACT_GELU_TANH, 1.0), 0.8411919906082768, 1e-12);
    /* torch.nn.functional.selu in float64 at -1 and 2 */
    CHECK_NEAR(wb_act_ref(WB_ACT_SELU, -1.0), -1.1113307378125625, 1e-15);
    CHECK_NEAR(wb_act_ref(WB_ACT_SELU, 2.0), 2.101401974710961, 1e-15);
    CHECK_NEAR(wb_act_ref(WB_ACT_SOFTSIGN, -3.0), -0.75, 1e-15);
}

static void test_reference_derivative_fd(void)
{
    for (int a = 0; a < WB_ACT_SOFTMAX; a++) {
        float z[N_PTS];
        points(z);
        for (int i = 0; i < N_PTS; i++) {
            double h = 1e-5, v = z[i];
            double fd = (wb_act_ref((wb_act)a, v + h) - wb_act_ref((wb_act)a, v - h)) /
                        (2 * h);
            double an = wb_act_ref_grad((wb_act)a, v);
            CHECK(near(an, fd, 1e-7, 1e-7), "%s'(%g) = %.12g, fd %.12g",
                  wb_act_name((wb_act)a), v, an, fd);
        }
    }
}

static void test_backward_vs_reference_and_fd(void)
{
    wb_rng r;
    wb_rng_seed(&r, 11);
    for (int a = 0; a < WB_ACT_SOFTMAX; a++) {
        float z[N_PTS], y[N_PTS], dy[N_PTS], dz[N_PTS], yp[N_PTS], ym[N_PTS];
        float zp[N_PTS], zm[N_PTS];
        points(z);
        wb_rng_fill_uniform(&r, dy, N_PTS, -1, 1);
        wb_act_forward((wb_act)a, y, z, NULL, 1, N_PTS);
        wb_act_backward((wb_act)a, dz, dy, z, y, 1, N_PTS);
        for (int i = 0; i < N_PTS; i++) {
            double want = dy[i] * wb_act_ref_grad((wb_act)a, z[i]);
            CHECK(near(dz[i], want, 1e-5, 1e-5), "%s backward at %g: %.9g vs %.9g",
                  wb_act_name((wb_act)a), z[i], dz[i], want);
        }
        /* central differences of the float kernel, per element */
        float h = 1e-2f;
        for (int i = 0; i < N_PTS; i++) {
            zp[i] = z[i] + h;
            zm[i] = z[i] - h;
        }
        wb_act_forward((wb_act)a, yp, zp, NULL, 1, N_PTS);
        wb_act_forward((wb_act)a, ym, zm, NULL, 1, N_PTS);
        for (int i = 0; i < N_PTS; i++) {
            double fd = (double)dy[i] * ((double)yp[i] - ym[i]) /
                        ((double)zp[i] - zm[i]);
            CHECK(near(dz[i], fd, 2e-3, 2e-3), "%s fd at %g: %.9g vs %.9g",
                  wb_act_name((wb_act)a), z[i], dz[i], fd);
        }
    }
}

static void test_relu_at_zero_and_extremes(void)
{
    float z[4] = {0.0f, -0.0f, 1e30f, -1e30f}, y[4], dy[4] = {1, 1, 1, 1}, dz[4];
    wb_act_forward(WB_ACT_RELU, y, z, NULL, 1, 4);
    wb_act_backward(WB_ACT_RELU, dz, dy, z, y, 1, 4);
    CHECK(dz[0] == 0 && dz[1] == 0 && dz[2] == 1 && dz[3] == 0, "relu' %g %g %g %g",
          dz[0], dz[1], dz[2], dz[3]);
    /* NaN passes through every elementwise activation, relu included (as
     * PyTorch's; relu made it 0, so a NaN input gave a finite output) */
    for (int a = 0; a < WB_ACT_COUNT; a++) {
        if (a == WB_ACT_SOFTMAX)
            continue;
        float zn[2] = {NAN, 1.0f}, yn[2];
        wb_act_forward((wb_act)a, yn, zn, NULL, 1, 2);
        CHECK(isnan(yn[0]) && !isnan(yn[1]), "%s(NaN) = %g", wb_act_name((wb_act)a), yn[0]);
        CHECK(isnan(wb_act_ref((wb_act)a, NAN)), "reference %s(NaN)", wb_act_name((wb_act)a));
    }
    /* saturating activations stay finite at +-1e30 */
    for (int a = 0; a < WB_ACT_COUNT; a++) {
        float zz[4] = {1e30f, -1e30f, 88.0f, -88.0f}, yy[4], gg[4];
        wb_act_forward((wb_act)a, yy, zz, NULL, 1, a == WB_ACT_SOFTMAX ? 1 : 4);
        wb_act_backward((wb_act)a, gg, dy, zz, yy, 1, a == WB_ACT_SOFTMAX ? 1 : 4);
        int m = a == WB_ACT_SOFTMAX ? 1 : 4;
        for (int i = 0; i < m; i++)
            CHECK(!isnan(yy[i]) && !isnan(gg[i]), "%s at %g: y %g dz %g",
                  wb_act_name((wb_act)a), zz[i], yy[i], gg[i]);
    }
}

static void test_softmax(void)
{
    /* rows of 7 (odd), including +-1000 */
    enum { R = 3, C = 7 };
    float z[R * C], y[R * C];
    wb_rng r;
    wb_rng_seed(&r, 12);
    wb_rng_fill_uniform(&r, z, R * C, -3, 3);
    z[C] = 1000.0f;
    z[C + 1] = -1000.0f;
    float zc[R * C];
    memcpy(zc, z, sizeof z);
    wb_act_forward(WB_ACT_SOFTMAX, y, zc, NULL, R, C);
    for (int i = 0; i < R; i++) {
        double m = -INFINITY, s = 0, sum = 0;
        for (int j = 0; j < C; j++)
            m = fmax(m, z[i * C + j]);
        for (int j = 0; j < C; j++)
            s += exp(z[i * C + j] - m);
        for (int j = 0; j < C; j++) {
            double want = exp(z[i * C + j] - m) / s;
            CHECK(near(y[i * C + j], want, 1e-7, 1e-5), "softmax[%d,%d] %g vs %g", i, j,
                  y[i * C + j], want);
            sum += y[i * C + j];
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
    /* backward: L = sum(dy * softmax(z)), central differences in z */
    float dy[R * C], dz[R * C];
    wb_rng_fill_uniform(&r, dy, R * C, -1, 1);
    wb_rng_fill_uniform(&r, z, R * C, -2, 2); /* moderate values for the fd */
    wb_act_forward(WB_ACT_SOFTMAX, y, z, NULL, R, C);
    wb_act_backward(WB_ACT_SOFTMAX, dz, dy, z, y, R, C);
    for (int k = 0; k < R * C; k++) {
        float h = 1e-2f, save = z[k], yp[R * C], ym[R * C];
        z[k] = save + h;
        wb_act_forward(WB_ACT_SOFTMAX, yp, z, NULL, R, C);
        z[k] = save - h;
        wb_act_forward(WB_ACT_SOFTMAX, ym, z, NULL, R, C);
        z[k] = save;
        double lp = 0, lm = 0;
        for (int j = 0; j < R * C; j++) {
            lp += (double)dy[j] * yp[j];
            lm += (double)dy[j] * ym[j];
        }
        double fd = (lp - lm) / (2.0 * h);
        CHECK(near(dz[k], fd, 2e-4, 2e-3), "softmax fd %d: %.9g vs %.9g", k, dz[k], fd);
    }
}

static void test_fused_bias(void)
{
    enum { R = 3, C = 5 };
    float z[R * C], zref[R * C], y[R * C], b[C];
    wb_rng r;
    wb_rng_seed(&r, 13);
    wb_rng_fill_uniform(&r, z, R * C, -2, 2);
    wb_rng_fill_uniform(&r, b, C, -1, 1);
    for (int a = 0; a < WB_ACT_COUNT; a++) {
        float zz[R * C];
        memcpy(zz, z, sizeof z);
        for (int k = 0; k < R * C; k++)
            zref[k] = z[k] + b[k % C];
        wb_act_forward((wb_act)a, y, zz, b, R, C);
        for (int k = 0; k < R * C; k++)
            CHECK(zz[k] == zref[k], "%s: z + b not stored", wb_act_name((wb_act)a));
        float y2[R * C];
        wb_act_forward((wb_act)a, y2, zref, NULL, R, C);
        CHECK(memcmp(y, y2, sizeof y) == 0, "%s: fused differs", wb_act_name((wb_act)a));
    }
    /* linear in place: y == z */
    float zz[R * C];
    memcpy(zz, z, sizeof z);
    wb_act_forward(WB_ACT_LINEAR, zz, zz, b, R, C);
    for (int k = 0; k < R * C; k++)
        CHECK(zz[k] == z[k] + b[k % C], "linear in place");
}

static void test_parse(void)
{
    wb_act a;
    wb_err err;
    for (int i = 0; i < WB_ACT_COUNT; i++) {
        CHECK(wb_act_parse(wb_act_name((wb_act)i), NULL, &a, &err) == WB_OK && a == (wb_act)i,
              "round trip %d", i);
    }
    CHECK(wb_act_parse(NULL, NULL, &a, &err) == WB_OK && a == WB_ACT_LINEAR, "NULL");
    CHECK(wb_act_parse("rleu", "activation", &a, &err) == WB_EINVAL, "rleu accepted");
    CHECK(strstr(err.msg, "activation: unknown 'rleu'") &&
              strstr(err.msg, "linear, relu, tanh, softsign, gelu, gelu_tanh, sigmoid, "
                              "elu, selu, swish, softmax"),
          "message: %s", err.msg);
}

static void test_layer(void)
{
    wb_err err;
    CHECK(wb_activation_new("bogus", &err) == NULL && err.code == WB_EINVAL, "bogus");
    wb_activation *a = wb_activation_new("tanh", &err);
    REQUIRE(a, "%s", err.msg);
    int64_t shape[2] = {3, 5};
    wb_tensor *x = wb_tensor_new(WB_F32, 2, shape, &err);
    wb_tensor *g = wb_tensor_new(WB_F32, 2, shape, &err);
    REQUIRE(x && g, "alloc");
    wb_rng r;
    wb_rng_seed(&r, 14);
    wb_rng_fill_uniform(&r, wb_tensor_f32(x), 15, -2, 2);
    wb_rng_fill_uniform(&r, wb_tensor_f32(g), 15, -1, 1);
    CHECK(wb_activation_backward(a, x, g, 1, &err) == WB_ESTATE &&
              strcmp(err.msg, "backward called before forward") == 0,
          "before forward: %s", err.msg);
    REQUIRE(wb_activation_forward(a, x, &err) == WB_OK, "%s", err.msg);
    const float *y = wb_tensor_f32(wb_activation_output(a));
    for (int k = 0; k < 15; k++)
        CHECK(near(y[k], tanh(wb_tensor_f32(x)[k]), 2e-6, 2e-6), "y[%d]", k);
    REQUIRE(wb_activation_backward(a, x, g, 1, &err) == WB_OK, "%s", err.msg);
    const float *dx = wb_tensor_f32(wb_activation_grad_input(a));
    for (int k = 0; k < 15; k++) {
        double t = tanh(wb_tensor_f32(x)[k]);
        CHECK(near(dx[k], wb_tensor_f32(g)[k] * (1 - t * t), 1e-5, 1e-5), "dx[%d]", k);
    }
    /* wrong shapes */
    int64_t other[2] = {2, 5};
    wb_tensor *x2 = wb_tensor_new(WB_F32, 2, other, &err);
    CHECK(wb_activation_backward(a, x2, g, 1, &err) == WB_ESHAPE &&
              strstr(err.msg, "input: expected [3, 5] (the shape of the last forward), "
                              "got [2, 5]"),
          "shape: %s", err.msg);
    /* a smaller batch reuses the buffer: no allocation */
    wb_alloc_fail_at(0, 0);
    REQUIRE(wb_activation_forward(a, x2, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_activation_forward(a, x, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_activation_backward(a, x, g, 1, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_alloc_count() == 0, "%ld allocations in steady state", wb_alloc_count());
    wb_tensor_free(x);
    wb_tensor_free(x2);
    wb_tensor_free(g);
    wb_activation_free(a);
    wb_activation_free(NULL);
}

int main(void)
{
    RUN(test_forward_vs_reference);
    RUN(test_reference_derivative_fd);
    RUN(test_backward_vs_reference_and_fd);
    RUN(test_relu_at_zero_and_extremes);
    RUN(test_softmax);
    RUN(test_fused_bias);
    RUN(test_parse);
    RUN(test_layer);
    TH_EXIT();
}
