/* test_optim_state.c - optimizer state export/import (exact resume): an
 * optimizer given another's state steps bit-identically; bad input changes
 * nothing. */
#include <string.h>

#include "../../core/optim.h"
#include "harness.h"

static wb_tensor *vec(int64_t n, float base)
{
    wb_tensor *t = wb_tensor_new(WB_F32, 1, &n, NULL);
    if (t)
        for (int64_t i = 0; i < n; i++)
            wb_tensor_f32(t)[i] = base + 0.01f * (float)i;
    return t;
}

static void test_roundtrip_is_exact(void)
{
    wb_err err;
    wb_optim_config cfg;
    wb_optim_defaults(WB_OPTIM_ADAM, &cfg);
    wb_optim *a = wb_optim_new(&cfg, &err), *b = wb_optim_new(&cfg, &err);
    wb_tensor *pa[2] = {vec(5, 1), vec(3, -1)}, *pb[2] = {vec(5, 1), vec(3, -1)};
    wb_tensor *g[2] = {vec(5, 0.3f), vec(3, -0.2f)};
    REQUIRE(a && b && pa[0] && pa[1] && pb[0] && pb[1] && g[0] && g[1], "alloc");
    CHECK(wb_optim_state_get(a, 0, 0, &err) == NULL && err.code == WB_ESTATE, "no state");
    for (int s = 0; s < 3; s++)
        REQUIRE(!wb_optim_step(a, 2, pa, (const wb_tensor *const *)g, &err), "%s", err.msg);
    REQUIRE(wb_optim_n_slots(a) == 2, "adam has m and v");
    wb_tensor *bufs[4];
    for (int i = 0; i < 4; i++) {
        bufs[i] = wb_optim_state_get(a, i / 2, i % 2, &err);
        REQUIRE(bufs[i], "%s", err.msg);
    }
    for (int i = 0; i < 2; i++) /* the weights as they are after 3 steps */
        memcpy(wb_tensor_f32(pb[i]), wb_tensor_f32(pa[i]), wb_tensor_numel(pa[i]) * 4);
    REQUIRE(!wb_optim_state_set(b, 2, (const wb_tensor *const *)pb,
                                (const wb_tensor *const *)bufs, 3, &err), "%s", err.msg);
    CHECK(wb_optim_iterations(b) == 3, "iterations");
    REQUIRE(!wb_optim_step(a, 2, pa, (const wb_tensor *const *)g, &err), "%s", err.msg);
    REQUIRE(!wb_optim_step(b, 2, pb, (const wb_tensor *const *)g, &err), "%s", err.msg);
    for (int i = 0; i < 2; i++)
        CHECK(!memcmp(wb_tensor_f32(pa[i]), wb_tensor_f32(pb[i]),
                      wb_tensor_numel(pa[i]) * 4), "param %d differs", i + 1);
    /* a buffer of the wrong shape: refused, nothing changed */
    wb_tensor *bad[4] = {bufs[0], bufs[1], bufs[0], bufs[3]};
    CHECK(wb_optim_state_set(b, 2, (const wb_tensor *const *)pb,
                             (const wb_tensor *const *)bad, 7, &err) == WB_ESHAPE, "shape");
    CHECK(wb_optim_iterations(b) == 4 && wb_optim_n_params(b) == 2, "unchanged");
    CHECK(wb_optim_state_set(b, 0, NULL, NULL, 5, &err) == WB_EINVAL, "0 params, 5 steps");
    CHECK(!wb_optim_state_set(b, 0, NULL, NULL, 0, &err) && wb_optim_n_params(b) == 0,
          "n = 0 resets");
    for (int i = 0; i < 4; i++)
        wb_tensor_free(bufs[i]);
    for (int i = 0; i < 2; i++) {
        wb_tensor_free(pa[i]);
        wb_tensor_free(pb[i]);
        wb_tensor_free(g[i]);
    }
    wb_optim_free(a);
    wb_optim_free(b);
}

int main(void)
{
    RUN(test_roundtrip_is_exact);
    TH_EXIT();
}
