/* init.c - Keras initializers. See init.h. */
#include "init.h"

#include <math.h>
#include <string.h>

#define TRUNC_STD 0.87962566103423978 /* std of N(0,1) truncated to [-2, 2] */

static const char *const names[WB_INIT_COUNT] = {
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "uniform", "normal", "zeros", "ones",
};

const char *wb_init_name(wb_init k)
{
    return (unsigned)k < WB_INIT_COUNT ? names[k] : "?";
}

wb_status wb_init_parse(const char *name, wb_init *out, wb_err *err)
{
    if (!name) {
        *out = WB_INIT_GLOROT_UNIFORM;
        return WB_OK;
    }
    for (int i = 0; i < WB_INIT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (wb_init)i;
            return WB_OK;
        }
    return wb_err_set(err, WB_EINVAL, "init: unknown '%s' (valid: glorot_uniform, "
                      "glorot_normal, he_uniform, he_normal, lecun_uniform, "
                      "lecun_normal, uniform, normal, zeros, ones)", name);
}

void wb_init_fill(wb_init k, float *w, size_t n, int64_t fan_in, int64_t fan_out,
                  wb_rng *rng)
{
    double fi = fan_in > 0 ? (double)fan_in : 1.0;
    double favg = fan_in + fan_out > 0 ? (double)(fan_in + fan_out) / 2.0 : 1.0;
    double lim, std;
    switch (k) {
    case WB_INIT_GLOROT_UNIFORM: /* VarianceScaling: limit = sqrt(3 scale / n) */
        lim = sqrt(3.0 / favg);
        wb_rng_fill_uniform(rng, w, n, -lim, lim);
        break;
    case WB_INIT_GLOROT_NORMAL:
        std = sqrt(1.0 / favg) / TRUNC_STD;
        wb_rng_fill_truncated_normal(rng, w, n, 0.0, std);
        break;
    case WB_INIT_HE_UNIFORM:
        lim = sqrt(6.0 / fi);
        wb_rng_fill_uniform(rng, w, n, -lim, lim);
        break;
    case WB_INIT_HE_NORMAL:
        std = sqrt(2.0 / fi) / TRUNC_STD;
        wb_rng_fill_truncated_normal(rng, w, n, 0.0, std);
        break;
    case WB_INIT_LECUN_UNIFORM:
        lim = sqrt(3.0 / fi);
        wb_rng_fill_uniform(rng, w, n, -lim, lim);
        break;
    case WB_INIT_LECUN_NORMAL:
        std = sqrt(1.0 / fi) / TRUNC_STD;
        wb_rng_fill_truncated_normal(rng, w, n, 0.0, std);
        break;
    case WB_INIT_UNIFORM: wb_rng_fill_uniform(rng, w, n, -0.05, 0.05); break;
    case WB_INIT_NORMAL: wb_rng_fill_normal(rng, w, n, 0.0, 0.05); break;
    case WB_INIT_ONES:
        for (size_t i = 0; i < n; i++)
            w[i] = 1.0f;
        break;
    case WB_INIT_ZEROS:
    default:
        memset(w, 0, n * sizeof *w);
        break;
    }
}
