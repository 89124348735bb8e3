/* test_hvp_band.c - wb_hvp_top's warm start with the gradient, band
 * Lanczos on {x, g} (core/hvp_band.h), on a block of theta (one layer's
 * parameters: the double rows with the block's copies), where test_hvp.c
 * checks the whole vector:
 *   - run to convergence it finds the block's top eigenvalue (wb_hvp_eigs on
 *     the block, itself checked against LAPACK in test_hvp.c);
 *   - capped, its residual (from T, no extra product) is the explicit
 *     ||H y - l y|| / |l| of the block's operator;
 *   - g along x (one start) and a zero g (one start) still work;
 *   - a warm call allocates nothing.
 */
#include <stdlib.h>

#include "../../core/alloc.h"
#include "../../core/hvp.h"
#include "../../core/hvp_eig.h"
#include "harness.h"

static wb_rng rng;

static wb_dense *dense(int64_t i, int64_t o, const char *act, double s)
{
    wb_dense_opts op = wb_dense_defaults();
    op.activation = act;
    wb_dense *d = wb_dense_new(i, o, &op, &rng, NULL);
    if (d) {
        wb_rng_fill_uniform(&rng, wb_tensor_f32(d->weight), (size_t)(i * o), -s, s);
        wb_rng_fill_uniform(&rng, wb_tensor_f32(d->bias), (size_t)o, -s, s);
    }
    return d;
}

/* ||H_b y - l y|| / |l| for the block [first, first + count) of H */
static double explicit_resid(wb_hvp *h, int64_t first, int64_t count, const double *y,
                             double l)
{
    int64_t P = wb_hvp_numel(h);
    double *v = wb_calloc((size_t)P, sizeof *v), *hv = wb_calloc((size_t)P, sizeof *hv);
    double e = 0, yy = 0;
    for (int64_t i = 0; i < count; i++)
        v[first + i] = y[i], yy += y[i] * y[i];
    wb_hvp_apply(h, v, hv, NULL);
    for (int64_t i = 0; i < count; i++)
        e += (hv[first + i] - l * y[i]) * (hv[first + i] - l * y[i]);
    wb_free(v), wb_free(hv);
    return sqrt(e / yy) / fabs(l);
}

static void test_block(void)
{
    wb_dense *d1 = dense(6, 8, "tanh", 0.6), *d2 = dense(8, 4, "softmax", 0.6);
    int64_t n = 20, sh[2] = {20, 6};
    wb_tensor *x = wb_tensor_new(WB_F32, 2, sh, NULL), *y = wb_tensor_new(WB_U8, 1, &n, NULL);
    REQUIRE(d1 && d2 && x && y, "setup");
    wb_rng_fill_uniform(&rng, wb_tensor_f32(x), 120, -1, 1);
    for (int64_t i = 0; i < n; i++)
        wb_tensor_u8(y)[i] = (uint8_t)wb_rng_below(&rng, 4);
    wb_hvp_layer ls[] = {{WB_HVP_DENSE, d1, 0}, {WB_HVP_DENSE, d2, 0}};
    wb_hvp_opts o = {WB_HVP_SCE, 1, 64, 0};
    wb_hvp *h = wb_hvp_new(ls, 2, &o, NULL);
    REQUIRE(h && !wb_hvp_set_data(h, x, y, NULL), "engine");
    int64_t first, count;
    REQUIRE(!wb_hvp_block(h, 1, &first, &count, NULL) && first > 0, "block");
    double top, val, res, *xv = wb_calloc((size_t)count, sizeof *xv);
    int found, conv, steps;
    wb_eigs_opts eo = {1, 1e-12, 200, NULL};
    REQUIRE(xv && !wb_hvp_eigs(h, first, count, &eo, &rng, &top, NULL, &found, &conv, NULL),
            "eigs on the block");
    for (int64_t i = 0; i < count; i++)
        xv[i] = wb_rng_normal(&rng);
    REQUIRE(!wb_hvp_top(h, first, count, 3, 0, 1, xv, 1, &rng, &val, &res, &steps, NULL),
            "capped");
    double e = explicit_resid(h, first, count, xv, val);
    CHECK(steps == 3 && fabs(res - e) <= 1e-8 * e && val <= top * (1 + 1e-12),
          "capped: %d products, %.12g (top %.12g), residual %.9g, explicit %.9g", steps, val,
          top, res, e);
    REQUIRE(!wb_hvp_top(h, first, count, 60, 1e-13, 1, xv, 1, &rng, &val, &res, &steps, NULL),
            "converged");
    CHECK(fabs(val - top) <= 1e-9 * fabs(top) && res < 1e-5, "block top %.12g vs eigs "
          "%.12g (residual %.3g, %d products)", val, top, res, steps);
    long a0 = wb_alloc_count();
    REQUIRE(!wb_hvp_top(h, first, count, 16, 1e-10, 1, xv, 1, &rng, &val, &res, &steps, NULL),
            "warm");
    CHECK(wb_alloc_count() == a0 && steps >= 6 && fabs(val - top) <= 1e-9 * fabs(top),
          "warm: %ld allocations, %d products, %.12g", wb_alloc_count() - a0, steps, val);
    /* g along x: one start (the gradient as x) */
    double loss, *g = wb_calloc((size_t)wb_hvp_numel(h), sizeof *g);
    REQUIRE(g && !wb_hvp_loss_grad(h, &loss, g, NULL), "gradient");
    for (int64_t i = 0; i < count; i++)
        xv[i] = -2 * g[first + i];
    REQUIRE(!wb_hvp_top_g(h, first, count, 60, 1e-13, 1, g + first, xv, 1, &rng, &val, &res,
                          &steps, NULL), "g along x");
    CHECK(fabs(val - top) <= 1e-9 * fabs(top), "g along x: %.12g vs %.12g", val, top);
    memset(g, 0, (size_t)wb_hvp_numel(h) * sizeof *g);
    REQUIRE(!wb_hvp_top_g(h, first, count, 60, 1e-13, 1, g + first, xv, 1, &rng, &val, &res,
                          &steps, NULL), "zero g");
    CHECK(fabs(val - top) <= 1e-9 * fabs(top), "zero g: %.12g vs %.12g", val, top);
    wb_free(g), wb_free(xv);
    wb_hvp_free(h);
    wb_tensor_free(x), wb_tensor_free(y);
    wb_dense_free(d1), wb_dense_free(d2);
}

int main(void)
{
    wb_rng_seed(&rng, 3);
    RUN(test_block);
    TH_EXIT();
}
