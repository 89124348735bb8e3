/* test_optim_subnormal.c - the optimizers' moments never hold a subnormal
 * float (core/optim_impl.h wb_optim_flush), and the weights stay the bits
 * of the same float32 formulas without the flush (test_optim.c checks the
 * formulas themselves against double precision).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../core/optim.h"
#include "../../core/tensor.h"
#include "harness.h"

static wb_tensor *vec(int64_t n, const float *vals)
{
    wb_tensor *t = wb_tensor_new(WB_F32, 1, &n, NULL);
    if (t && vals)
        memcpy(wb_tensor_f32(t), vals, (size_t)n * sizeof(float));
    return t;
}

static wb_optim_config cfg_of(wb_optim_kind kind)
{
    wb_optim_config c;
    wb_optim_defaults(kind, &c);
    return c;
}

/* A weight whose gradient falls to 0 (a pixel 0 in most images) has its
 * moments decay into the subnormal floats, on which Intel CPUs take a slow
 * microcode assist: Adam's update was 83 % of a batch-8 step on one. The
 * moments are flushed to 0 below FLT_MIN; this checks that no state entry
 * is subnormal after the decay, and that the weights are the bits of the
 * same float32 formulas without the flush (a reference here, in Keras's
 * order of operations) every step, while that reference's own moments did
 * pass through the subnormals (else the test would check nothing). */
static int subnormal(float x) { return x != 0.0f && fabsf(x) < FLT_MIN; }

static void test_subnormal_moments(void)
{
    enum { N = 40, STEPS = 1500 };
    static const struct {
        wb_optim_kind kind;
        double momentum;
    } cases[] = {{WB_OPTIM_SGD, 0.9}, {WB_OPTIM_ADAM, 0}, {WB_OPTIM_ADAMW, 0},
                 {WB_OPTIM_RMSPROP, 0}};
    for (size_t q = 0; q < sizeof cases / sizeof cases[0]; q++) {
        wb_optim_config c = cfg_of(cases[q].kind);
        c.momentum = cases[q].momentum;
        float wv[N], rw[N], rm[N] = {0}, rv[N] = {0};
        for (int k = 0; k < N; k++)
            wv[k] = rw[k] = (float)cos(0.37 * k);
        wb_tensor *w = vec(N, wv), *g = vec(N, NULL);
        wb_optim *o = wb_optim_new(&c, NULL);
        REQUIRE(w && g && o, "setup");
        int seen = 0, same = 1, bad = 0;
        for (int s = 1; s <= STEPS; s++) {
            float *gv = wb_tensor_f32(g);
            for (int k = 0; k < N; k++) /* one step of gradients from 1e-3 to 1e-30, then 0 */
                gv[k] = s == 1 ? (float)((k % 2 ? -1 : 1) * pow(10.0, -3.0 - 27.0 * k / N)) : 0;
            REQUIRE(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK,
                    "step");
            double t = s;
            float lr = (float)c.lr, mu = (float)c.momentum, c1 = (float)(1.0 - c.beta1),
                  c2 = (float)(1.0 - c.beta2), eps = (float)c.eps, rho = (float)c.rho,
                  crho = (float)(1.0 - c.rho),
                  alpha = (float)(c.lr * sqrt(1.0 - pow(c.beta2, t)) / (1.0 - pow(c.beta1, t))),
                  dk = (float)(c.weight_decay * c.lr);
            for (int k = 0; k < N; k++) {
                float gk = gv[k];
                if (c.kind == WB_OPTIM_SGD) {
                    rm[k] = rm[k] * mu - gk * lr;
                    rw[k] = rw[k] + rm[k];
                } else if (c.kind == WB_OPTIM_RMSPROP) {
                    rv[k] = rho * rv[k] + crho * (gk * gk);
                    rw[k] = rw[k] - (lr * gk) / sqrtf(rv[k] + eps);
                } else {
                    if (c.kind == WB_OPTIM_ADAMW)
                        rw[k] -= rw[k] * dk;
                    rm[k] = rm[k] + (gk - rm[k]) * c1;
                    rv[k] = rv[k] + (gk * gk - rv[k]) * c2;
                    rw[k] = rw[k] - (rm[k] * alpha) / (sqrtf(rv[k]) + eps);
                }
                seen += subnormal(rm[k]) || subnormal(rv[k]);
                same = same && memcmp(&rw[k], wb_tensor_f32(w) + k, sizeof(float)) == 0;
            }
            int slots = c.kind == WB_OPTIM_ADAM || c.kind == WB_OPTIM_ADAMW ? 2 : 1;
            for (int slot = 0; slot < slots; slot++) { /* the state, after every step */
                wb_tensor *st = wb_optim_state_get(o, 0, slot, NULL);
                REQUIRE(st, "state %d", slot);
                for (int k = 0; k < N; k++)
                    bad += subnormal(wb_tensor_f32(st)[k]);
                wb_tensor_free(st);
            }
        }
        CHECK(seen > 0, "%s: the reference's moments never went subnormal",
              wb_optim_kind_name(c.kind));
        CHECK(same, "%s: a weight differs from the unflushed formulas' bits",
              wb_optim_kind_name(c.kind));
        CHECK(bad == 0, "%s: %d subnormal state entries over the steps",
              wb_optim_kind_name(c.kind), bad);
        wb_tensor_free(w);
        wb_tensor_free(g);
        wb_optim_free(o);
    }
}

int main(void)
{
    RUN(test_subnormal_moments);
    TH_EXIT();
}
