/* test_err_arg.c - wb_err.arg names the operand at fault (its 1-based
 * position in the C signature), 0 when no single operand is: the bindings
 * turn it into "bad argument #n" without reading the message. Each failing
 * operand of wb_dense_new, the Dense and Activation forward/backward,
 * wb_sce_forward and wb_optim_step, and the failures that must leave 0. Every
 * call starts from a stale arg (99) so that a path which forgets to set or
 * reset it fails the check.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../core/activation.h"
#include "../../core/alloc.h"
#include "../../core/dense.h"
#include "../../core/loss.h"
#include "../../core/optim.h"
#include "../../core/rng.h"
#include "../../core/tensor.h"
#include "harness.h"

static wb_err stale(void)
{
    wb_err e;
    memset(&e, 0, sizeof e);
    e.arg = 99;
    return e;
}

static wb_tensor *t2(wb_dtype dt, int64_t a, int64_t b)
{
    int64_t s[2] = {a, b};
    return wb_tensor_new(dt, 2, s, NULL);
}

static wb_tensor *t1(wb_dtype dt, int64_t a) { return wb_tensor_new(dt, 1, &a, NULL); }

#define CHECK_ARG(e, want_code, want_arg, what)                                   \
    CHECK((e).code == (want_code) && (e).arg == (want_arg),                       \
          "%s: code %s arg %d, expected %s arg %d (%s)", what,                    \
          wb_status_name((e).code), (e).arg, wb_status_name(want_code), want_arg, \
          (e).msg)

static void test_err_set_and_prefix(void)
{
    wb_err e = stale();
    wb_err_set(&e, WB_EINVAL, "x");
    CHECK(e.arg == 0, "wb_err_set leaves arg %d, expected 0", e.arg);
    CHECK(wb_err_arg(&e, 4, WB_EINVAL) == WB_EINVAL && e.arg == 4, "arg %d", e.arg);
    CHECK(wb_err_arg(&e, 7, WB_OK) == WB_OK && e.arg == 4, "WB_OK changed arg to %d",
          e.arg);
    wb_err_prefix(&e, "p: ");
    CHECK(e.arg == 4 && strcmp(e.msg, "p: x") == 0, "prefix: arg %d msg %s", e.arg,
          e.msg);
    CHECK(wb_err_arg(NULL, 1, WB_ESHAPE) == WB_ESHAPE, "NULL err");
    /* a NaN with its sign bit set printed "-nan" (a new user's "index 1 is
     * -nan"); a name holding "-nan" keeps it */
    double nan_ = -(double)NAN;
    wb_err_set(&e, WB_ERANGE, "a: element 1 is %g (=%g, %g)", nan_, nan_, nan_);
    CHECK(strcmp(e.msg, "a: element 1 is nan (=nan, nan)") == 0, "%s", e.msg);
    wb_err_set(&e, WB_ERANGE, "x-nan.png: is %g", nan_);
    CHECK(strcmp(e.msg, "x-nan.png: is nan") == 0, "%s", e.msg);
    wb_err_set(&e, WB_ERANGE, "/d/-nan/f: -nan.png");
    CHECK(strcmp(e.msg, "/d/-nan/f: -nan.png") == 0, "%s", e.msg);
}

static void test_dense_new(void)
{
    wb_rng r;
    wb_rng_seed(&r, 1);
    wb_dense_opts o = wb_dense_defaults();
    wb_err e = stale();
    CHECK(!wb_dense_new(0, 3, &o, &r, &e), "n_in 0 accepted");
    CHECK_ARG(e, WB_EINVAL, 1, "n_in 0");
    e = stale();
    CHECK(!wb_dense_new(3, (int64_t)1 << 40, &o, &r, &e), "huge n_out accepted");
    CHECK_ARG(e, WB_ERANGE, 2, "n_out huge");
    e = stale();
    o.activation = "nope";
    CHECK(!wb_dense_new(3, 4, &o, &r, &e), "bad activation accepted");
    CHECK_ARG(e, WB_EINVAL, 3, "activation");
    o = wb_dense_defaults();
    o.init = "nope";
    e = stale();
    CHECK(!wb_dense_new(3, 4, &o, &r, &e), "bad init accepted");
    CHECK_ARG(e, WB_EINVAL, 3, "init");
    o = wb_dense_defaults();
    o.l2 = -1;
    e = stale();
    CHECK(!wb_dense_new(3, 4, &o, &r, &e), "l2 -1 accepted");
    CHECK_ARG(e, WB_EINVAL, 3, "l2");
    /* out of memory for the weights: the message starts "weight", the kind
     * is no operand's fault */
    o = wb_dense_defaults();
    int failed = 0;
    for (long k = 1; k <= 8; k++) {
        e = stale();
        wb_alloc_fail_at(k, 0);
        wb_dense *d = wb_dense_new(3, 4, &o, &r, &e);
        wb_alloc_fail_at(0, 0);
        if (d) {
            wb_dense_free(d);
            continue;
        }
        failed++;
        CHECK_ARG(e, WB_ENOMEM, 0, "allocation failure");
    }
    CHECK(failed >= 3, "only %d of 8 injected allocation failures failed", failed);
}

static void test_dense_forward_backward(void)
{
    wb_rng r;
    wb_rng_seed(&r, 2);
    wb_dense_opts o = wb_dense_defaults();
    o.activation = "relu";
    wb_err e = stale();
    wb_dense *d = wb_dense_new(3, 2, &o, &r, &e);
    wb_tensor *x = t2(WB_F32, 4, 3), *bad_x = t2(WB_F32, 4, 5), *u8x = t2(WB_U8, 4, 3);
    wb_tensor *g = t2(WB_F32, 4, 2), *bad_g = t2(WB_F32, 4, 7), *x5 = t2(WB_F32, 5, 3);
    REQUIRE(d && x && bad_x && u8x && g && bad_g && x5, "setup");

    e = stale();
    CHECK(wb_dense_backward(d, x, g, 1, &e) != WB_OK, "backward before forward");
    CHECK_ARG(e, WB_ESTATE, 0, "backward before forward");

    e = stale();
    CHECK(wb_dense_forward(d, bad_x, &e) != WB_OK, "forward bad x");
    CHECK_ARG(e, WB_ESHAPE, 2, "forward input shape");
    e = stale();
    CHECK(wb_dense_forward(d, u8x, &e) != WB_OK, "forward u8 x");
    CHECK_ARG(e, WB_EINVAL, 2, "forward input dtype");

    REQUIRE(wb_dense_forward(d, x, &e) == WB_OK, "%s", e.msg);
    e = stale();
    CHECK(wb_dense_backward(d, x5, g, 1, &e) != WB_OK, "backward other batch");
    CHECK_ARG(e, WB_ESHAPE, 2, "backward input batch");
    e = stale();
    CHECK(wb_dense_backward(d, x, bad_g, 1, &e) != WB_OK, "backward bad grad");
    CHECK_ARG(e, WB_ESHAPE, 3, "backward grad_output shape");
    e = stale();
    CHECK(wb_dense_backward_logits(d, u8x, g, 1, &e) != WB_OK, "logits u8 x");
    CHECK_ARG(e, WB_EINVAL, 2, "backward_logits input dtype");
    e = stale();
    CHECK(wb_dense_backward_logits(d, x, bad_g, 1, &e) != WB_OK, "logits bad grad");
    CHECK_ARG(e, WB_ESHAPE, 3, "backward_logits grad_logits shape");

    /* the layer's own grad-input buffer as the gradient: its shape [4, 3] is
     * wrong for grad_output, so use a layer with n_in == n_out */
    wb_dense *sq = wb_dense_new(2, 2, &o, &r, &e);
    REQUIRE(sq, "%s", e.msg);
    REQUIRE(wb_dense_forward(sq, g, &e) == WB_OK, "%s", e.msg);
    REQUIRE(wb_dense_backward(sq, g, g, 1, &e) == WB_OK, "%s", e.msg);
    int64_t shape[2] = {4, 2};
    wb_tensor *own = wb_tensor_view(wb_dense_grad_input(sq), 0, 2, shape, &e);
    REQUIRE(own, "%s", e.msg);
    e = stale();
    CHECK(wb_dense_backward(sq, g, own, 1, &e) != WB_OK, "own buffer accepted");
    CHECK_ARG(e, WB_EINVAL, 3, "backward grad_output own buffer");
    wb_tensor_free(own);
    wb_dense_free(sq);

    wb_tensor_free(x);
    wb_tensor_free(bad_x);
    wb_tensor_free(u8x);
    wb_tensor_free(g);
    wb_tensor_free(bad_g);
    wb_tensor_free(x5);
    wb_dense_free(d);
}

static void test_activation(void)
{
    wb_err e = stale();
    wb_activation *a = wb_activation_new("tanh", &e);
    wb_tensor *x = t2(WB_F32, 2, 3), *u8x = t2(WB_U8, 2, 3), *g = t2(WB_F32, 2, 3);
    wb_tensor *bad = t2(WB_F32, 3, 2);
    REQUIRE(a && x && u8x && g && bad, "setup");
    e = stale();
    CHECK(wb_activation_backward(a, x, g, 1, &e) != WB_OK, "backward before forward");
    CHECK_ARG(e, WB_ESTATE, 0, "activation backward before forward");
    e = stale();
    CHECK(wb_activation_forward(a, u8x, &e) != WB_OK, "u8 input");
    CHECK_ARG(e, WB_EINVAL, 2, "activation forward dtype");
    REQUIRE(wb_activation_forward(a, x, &e) == WB_OK, "%s", e.msg);
    e = stale();
    CHECK(wb_activation_backward(a, bad, g, 1, &e) != WB_OK, "bad input");
    CHECK_ARG(e, WB_ESHAPE, 2, "activation backward input");
    e = stale();
    CHECK(wb_activation_backward(a, x, bad, 1, &e) != WB_OK, "bad grad");
    CHECK_ARG(e, WB_ESHAPE, 3, "activation backward grad_output");
    wb_tensor_free(x);
    wb_tensor_free(u8x);
    wb_tensor_free(g);
    wb_tensor_free(bad);
    wb_activation_free(a);
}

static void test_sce_forward(void)
{
    wb_err e = stale();
    wb_sce *ce = wb_sce_new(&e);
    wb_tensor *z = t2(WB_F32, 3, 4), *zu8 = t2(WB_U8, 3, 4), *z1 = t1(WB_F32, 4);
    wb_tensor *t = t1(WB_F32, 3), *t_short = t1(WB_F32, 2);
    REQUIRE(ce && z && zu8 && z1 && t && t_short, "setup");
    double loss;
    int64_t correct;
    e = stale();
    CHECK(wb_sce_forward(ce, zu8, t, &loss, &correct, &e) != WB_OK, "u8 logits");
    CHECK_ARG(e, WB_EINVAL, 2, "logits dtype");
    e = stale();
    CHECK(wb_sce_forward(ce, z1, t, &loss, &correct, &e) != WB_OK, "1-D logits");
    CHECK_ARG(e, WB_ESHAPE, 2, "logits shape");
    e = stale();
    CHECK(wb_sce_forward(ce, z, t_short, &loss, &correct, &e) != WB_OK, "short labels");
    CHECK_ARG(e, WB_ESHAPE, 3, "labels shape");
    wb_tensor_set_flat(t, 1, 4); /* classes are 0..3 */
    e = stale();
    CHECK(wb_sce_forward(ce, z, t, &loss, &correct, &e) != WB_OK, "label 4 accepted");
    CHECK_ARG(e, WB_ERANGE, 3, "label out of range");
    wb_tensor_set_flat(t, 1, 3);
    e = stale();
    CHECK(wb_sce_forward(ce, z, t, &loss, &correct, &e) == WB_OK, "%s", e.msg);
    wb_tensor_free(z);
    wb_tensor_free(zu8);
    wb_tensor_free(z1);
    wb_tensor_free(t);
    wb_tensor_free(t_short);
    wb_sce_free(ce);
}

static void test_optim_step(void)
{
    wb_optim_config cfg;
    wb_optim_defaults(WB_OPTIM_ADAM, &cfg);
    wb_err e = stale();
    wb_optim *o = wb_optim_new(&cfg, &e);
    wb_tensor *p = t1(WB_F32, 3), *g = t1(WB_F32, 3), *g2 = t1(WB_F32, 2);
    wb_tensor *pu8 = t1(WB_U8, 3), *gu8 = t1(WB_U8, 3), *p2 = t1(WB_F32, 2);
    REQUIRE(o && p && g && g2 && pu8 && gu8 && p2, "setup");
    wb_tensor *ps[2] = {p, p2}, *gs[2] = {g, g2};
    const wb_tensor *const *cg = (const wb_tensor *const *)gs;

    e = stale();
    CHECK(wb_optim_step(NULL, 1, ps, cg, &e) != WB_OK, "NULL optimizer");
    CHECK_ARG(e, WB_EINVAL, 0, "NULL optimizer");
    e = stale();
    CHECK(wb_optim_step(o, 0, ps, cg, &e) != WB_OK, "n 0");
    CHECK_ARG(e, WB_EINVAL, 2, "empty list");

    wb_tensor *np[1] = {NULL}, *ng[1] = {NULL};
    e = stale();
    CHECK(wb_optim_step(o, 1, np, cg, &e) != WB_OK, "NULL parameter");
    CHECK_ARG(e, WB_EINVAL, 3, "NULL parameter");
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, (const wb_tensor *const *)ng, &e) != WB_OK, "NULL grad");
    CHECK_ARG(e, WB_EINVAL, 4, "NULL gradient");

    wb_tensor *bp[1] = {pu8}, *bg[1] = {gu8};
    e = stale();
    CHECK(wb_optim_step(o, 1, bp, cg, &e) != WB_OK, "u8 parameter");
    CHECK_ARG(e, WB_EINVAL, 3, "parameter dtype");
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, (const wb_tensor *const *)bg, &e) != WB_OK, "u8 grad");
    CHECK_ARG(e, WB_EINVAL, 4, "gradient dtype");

    wb_tensor *wrong[1] = {g2};
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, (const wb_tensor *const *)wrong, &e) != WB_OK,
          "gradient shape");
    CHECK_ARG(e, WB_ESHAPE, 4, "gradient shape");

    wb_tensor *same[1] = {p};
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, (const wb_tensor *const *)same, &e) != WB_OK,
          "overlap");
    CHECK_ARG(e, WB_EINVAL, 3, "parameter and gradient share memory");

    wb_tensor_fill(g, NAN, NULL);
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, cg, &e) != WB_OK, "NaN gradient");
    CHECK_ARG(e, WB_ENONFINITE, 4, "non-finite gradient");
    wb_tensor_fill(g, 0.5f, NULL);

    REQUIRE(wb_optim_step(o, 2, ps, cg, &e) == WB_OK, "%s", e.msg);
    e = stale();
    CHECK(wb_optim_step(o, 1, ps, cg, &e) != WB_OK, "count change");
    CHECK_ARG(e, WB_ESHAPE, 2, "count differs from the first step");
    wb_tensor *swapped_p[2] = {p2, p}, *swapped_g[2] = {g2, g};
    e = stale();
    CHECK(wb_optim_step(o, 2, swapped_p, (const wb_tensor *const *)swapped_g, &e) != WB_OK,
          "shape change");
    CHECK_ARG(e, WB_ESHAPE, 3, "parameter shape differs from the first step");

    wb_tensor_free(p);
    wb_tensor_free(g);
    wb_tensor_free(g2);
    wb_tensor_free(pu8);
    wb_tensor_free(gu8);
    wb_tensor_free(p2);
    wb_optim_free(o);
}

int main(void)
{
    RUN(test_err_set_and_prefix);
    RUN(test_dense_new);
    RUN(test_dense_forward_backward);
    RUN(test_activation);
    RUN(test_sce_forward);
    RUN(test_optim_step);
    TH_EXIT();
}
