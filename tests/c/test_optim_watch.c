/* test_optim_watch.c - the update's sums for instruments (core/optim.h
 * wb_optim_watch): a plain-SGD step armed by wb_optim_arm sums g^2 and
 * (w - theta0)^2 over the weights before the update in the update's own
 * pass. Checked against sums in double written here, on sizes that take
 * the 128-entry blocks and the tail; the update must stay bit for bit the
 * unarmed one, and every SIMD width must give the same bits. Then when it
 * does not measure (not armed, momentum, other tensors, a refused step,
 * stopped), and that armed steps allocate nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../core/alloc.h"
#include "../../core/optim.h"
#include "../../core/simd.h"
#include "../../core/tensor.h"
#include "harness.h"

enum { NT = 3 };
static const int64_t SIZES[NT] = {100352, 129, 127}; /* blocks + tail, tail, tail only */

typedef struct setup {
    wb_tensor *w[NT], *g[NT], *w0[NT];
    const float *p0[NT];
    size_t numel[NT];
} setup;

static wb_tensor *vec(int64_t n) { return wb_tensor_new(WB_F32, 1, &n, NULL); }

static void setup_init(setup *s)
{
    for (int t = 0; t < NT; t++) {
        s->w[t] = vec(SIZES[t]), s->g[t] = vec(SIZES[t]), s->w0[t] = vec(SIZES[t]);
        for (int64_t k = 0; k < SIZES[t]; k++) {
            wb_tensor_f32(s->w[t])[k] = (float)cos(0.37 * k + t);
            wb_tensor_f32(s->g[t])[k] = (float)(sin(1.3 * k - t) * 1e-2 * (1 + k % 7));
            wb_tensor_f32(s->w0[t])[k] = (float)cos(0.37 * k + t) + (float)(1e-3 * sin(0.1 * k));
        }
        s->p0[t] = wb_tensor_f32(s->w0[t]);
        s->numel[t] = (size_t)SIZES[t];
    }
}

static void setup_free(setup *s)
{
    for (int t = 0; t < NT; t++) {
        wb_tensor_free(s->w[t]);
        wb_tensor_free(s->g[t]);
        wb_tensor_free(s->w0[t]);
    }
}

static wb_optim *sgd(double lr, double momentum)
{
    wb_optim_config c;
    wb_optim_defaults(WB_OPTIM_SGD, &c);
    c.lr = lr, c.momentum = momentum;
    return wb_optim_new(&c, NULL);
}

static int step(wb_optim *o, setup *s, int n)
{
    return wb_optim_step(o, n, s->w, (const wb_tensor *const *)s->g, NULL);
}

static void test_sums_match_double_and_update_unchanged(void)
{
    int top = wb_simd_allow_avx2(1);
    double first[2 * NT];
    for (int lv = 0; lv <= top; lv++) {
        for (int with0 = 0; with0 <= 1; with0++) {
            CHECK(wb_simd_allow_avx2(lv) == lv, "level %d", lv);
            setup a, b;
            setup_init(&a);
            setup_init(&b);
            wb_optim *oa = sgd(0.05, 0), *ob = sgd(0.05, 0);
            REQUIRE(oa && ob, "optimizers");
            REQUIRE(wb_optim_watch(oa, NT, with0 ? a.p0 : NULL, a.numel, NULL) == WB_OK, "watch");
            double want[2 * NT];
            for (int t = 0; t < NT; t++) { /* the reference, before the step */
                double g2 = 0, d2 = 0;
                for (int64_t k = 0; k < SIZES[t]; k++) {
                    double g = wb_tensor_f32(a.g[t])[k];
                    double d = (double)wb_tensor_f32(a.w[t])[k] - a.p0[t][k];
                    g2 += g * g, d2 += d * d;
                }
                want[2 * t] = g2, want[2 * t + 1] = with0 ? d2 : 0;
            }
            wb_optim_arm(oa);
            CHECK(step(oa, &a, NT) == 0 && step(ob, &b, NT) == 0, "steps");
            int n = -1;
            const double *got = wb_optim_watched(oa, &n);
            REQUIRE(got && n == NT, "measured: n = %d", n);
            for (int q = 0; q < 2 * NT; q++) {
                double tol = 2e-6 * want[q] + 1e-30;
                CHECK(fabs(got[q] - want[q]) <= tol, "level %d theta0 %d sum %d: %.12g vs %.12g",
                      lv, with0, q, got[q], want[q]);
            }
            if (with0 && lv == 0)
                memcpy(first, got, sizeof first);
            else if (with0)
                CHECK(memcmp(first, got, sizeof first) == 0, "level %d: other bits than level 0",
                      lv);
            for (int t = 0; t < NT; t++)
                CHECK(memcmp(wb_tensor_f32(a.w[t]), wb_tensor_f32(b.w[t]),
                             (size_t)SIZES[t] * sizeof(float)) == 0,
                      "level %d tensor %d: the armed update differs from the plain one", lv, t);
            wb_optim_free(oa);
            wb_optim_free(ob);
            setup_free(&a);
            setup_free(&b);
        }
    }
    wb_simd_allow_avx2(1);
}

static void test_when_it_does_not_measure(void)
{
    setup s;
    setup_init(&s);
    wb_optim *o = sgd(0.05, 0), *m = sgd(0.05, 0.9);
    REQUIRE(o && m, "optimizers");
    int n = -1;
    CHECK(wb_optim_watched(o, &n) == NULL && n == 0, "nothing before any step");
    wb_optim_arm(o); /* not watched: arming does nothing */
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL), "armed but not watched");
    REQUIRE(wb_optim_watch(o, NT, s.p0, s.numel, NULL) == WB_OK, "watch");
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL), "not armed");
    wb_optim_arm(o);
    CHECK(step(o, &s, NT) == 0 && wb_optim_watched(o, NULL), "armed");
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL), "the step disarmed");
    wb_optim_arm(o);
    /* a refused step (non-finite gradient) disarms too */
    float keep = wb_tensor_f32(s.g[1])[5];
    wb_tensor_f32(s.g[1])[5] = NAN;
    CHECK(step(o, &s, NT) == WB_ENONFINITE && !wb_optim_watched(o, NULL), "refused step");
    wb_tensor_f32(s.g[1])[5] = keep;
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL), "disarmed by the refused step");
    REQUIRE(wb_optim_watch(m, NT, s.p0, s.numel, NULL) == WB_OK, "watch momentum");
    wb_optim_arm(m);
    CHECK(step(m, &s, NT) == 0 && !wb_optim_watched(m, NULL), "momentum is not measured");
    wb_optim *o2 = sgd(0.05, 0);
    REQUIRE(o2 && wb_optim_watch(o2, NT, s.p0, s.numel, NULL) == WB_OK, "o2");
    wb_optim_arm(o2);
    CHECK(step(o2, &s, NT - 1) == 0 && !wb_optim_watched(o2, NULL), "fewer tensors");
    size_t other[NT] = {s.numel[0], s.numel[2], s.numel[1]}; /* same count, other sizes */
    wb_optim *o3 = sgd(0.05, 0);
    REQUIRE(o3 && wb_optim_watch(o3, NT, s.p0, other, NULL) == WB_OK, "o3");
    wb_optim_arm(o3);
    CHECK(step(o3, &s, NT) == 0 && !wb_optim_watched(o3, NULL), "other sizes");
    CHECK(wb_optim_watch(o, 0, NULL, NULL, NULL) == WB_OK, "stop");
    wb_optim_arm(o);
    CHECK(step(o, &s, NT) == 0 && !wb_optim_watched(o, NULL), "stopped");
    wb_optim_free(o), wb_optim_free(m), wb_optim_free(o2), wb_optim_free(o3);
    setup_free(&s);
}

static void test_armed_steps_allocate_nothing(void)
{
    setup s;
    setup_init(&s);
    long live0 = wb_alloc_live();
    wb_optim *o = sgd(0.05, 0);
    REQUIRE(o && wb_optim_watch(o, NT, s.p0, s.numel, NULL) == WB_OK, "watch");
    CHECK(step(o, &s, NT) == 0, "first step");
    wb_alloc_fail_at(0, 0); /* resets the counter */
    for (int k = 0; k < 5; k++) {
        wb_optim_arm(o);
        CHECK(step(o, &s, NT) == 0 && wb_optim_watched(o, NULL), "armed step %d", k);
    }
    CHECK(wb_alloc_count() == 0, "%ld allocations in armed steps", wb_alloc_count());
    wb_optim_free(o);
    CHECK(wb_alloc_live() == live0, "leak: %ld live, was %ld", wb_alloc_live(), live0);
    setup_free(&s);
}

int main(void)
{
    RUN(test_sums_match_double_and_update_unchanged);
    RUN(test_when_it_does_not_measure);
    RUN(test_armed_steps_allocate_nothing);
    TH_EXIT();
}
