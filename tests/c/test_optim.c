/* test_optim.c - SGD, Adam, AdamW, RMSprop (core/optim.c).
 *
 * Each optimizer is checked for three steps against a reference written here
 * independently, in double precision, from the textbook form of the Keras
 * formulas (KERAS.md 12-14, keras/src/optimizers/rmsprop.py). The model has
 * a [2, 3] weight (4 elements take the SSE path, 2 the scalar tail) and a [3]
 * bias (scalar path only). Then: state shape checks, all-or-nothing steps,
 * hyper-parameter validation, allocation counts and a convergence check.
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

#define NW 6 /* weight [2, 3] */
#define NB 3 /* bias [3] */
#define NALL (NW + NB)

static const float w0[NALL] = {0.5f, -1.25f, 2.0f, 0.75f, -0.3f, 1.1f, /* W */
                               0.1f, -0.2f, 0.05f};                     /* b */

/* Gradient of element k at step s (1-based): varied signs and magnitudes. */
static float grad_at(int s, int k)
{
    return (float)(sin(1.3 * k + 0.7 * s) * (0.5 + 0.25 * k) + 0.05 * s);
}

static wb_tensor *tensor_of(int ndim, const int64_t *shape, const float *vals)
{
    wb_tensor *t = wb_tensor_new(WB_F32, ndim, shape, NULL);
    if (t && vals)
        memcpy(wb_tensor_f32(t), vals, wb_tensor_numel(t) * sizeof(float));
    return t;
}

static wb_tensor *vec(int64_t n, const float *vals) { return tensor_of(1, &n, vals); }

/* A two-parameter model: p[0] = W [2, 3], p[1] = b [3]; g the same shapes. */
typedef struct model {
    wb_tensor *p[2], *g[2];
} model;

static void model_init(model *m)
{
    int64_t ws[2] = {2, 3}, bs[1] = {NB};
    m->p[0] = tensor_of(2, ws, w0);
    m->p[1] = tensor_of(1, bs, w0 + NW);
    m->g[0] = tensor_of(2, ws, NULL);
    m->g[1] = tensor_of(1, bs, NULL);
}

static void model_free(model *m)
{
    for (int i = 0; i < 2; i++) {
        wb_tensor_free(m->p[i]);
        wb_tensor_free(m->g[i]);
    }
}

static float *elem(wb_tensor **ts, int k)
{
    return k < NW ? wb_tensor_f32(ts[0]) + k : wb_tensor_f32(ts[1]) + (k - NW);
}

static void set_grads(model *m, int s)
{
    for (int k = 0; k < NALL; k++)
        *elem(m->g, k) = grad_at(s, k);
}

/* ------------------------------------------------------------------------
 * Double-precision references (one element, step t = 1, 2, ...)
 * ------------------------------------------------------------------------ */

typedef struct ref {
    double w, a, b; /* weight and two state values */
} ref;

static void ref_step(const wb_optim_config *c, ref *r, double g, int t)
{
    switch (c->kind) {
    case WB_OPTIM_SGD:
        r->a = c->momentum * r->a - c->lr * g;
        r->w += c->nesterov ? c->momentum * r->a - c->lr * g : r->a;
        break;
    case WB_OPTIM_ADAMW:
        r->w = r->w - r->w * c->weight_decay * c->lr; /* fall through */
    case WB_OPTIM_ADAM: {
        r->a = c->beta1 * r->a + (1 - c->beta1) * g;
        r->b = c->beta2 * r->b + (1 - c->beta2) * g * g;
        double alpha = c->lr * sqrt(1 - pow(c->beta2, t)) / (1 - pow(c->beta1, t));
        r->w -= alpha * r->a / (sqrt(r->b) + c->eps);
        break;
    }
    case WB_OPTIM_RMSPROP:
        r->b = c->rho * r->b + (1 - c->rho) * g * g;
        r->w -= c->lr * g / sqrt(r->b + c->eps);
        break;
    }
}

/* Three steps of cfg on the model against the reference, element by element. */
static void check_three_steps(const wb_optim_config *cfg, double tol)
{
    wb_err err;
    model m;
    model_init(&m);
    wb_optim *o = wb_optim_new(cfg, &err);
    REQUIRE(o, "new: %s", err.msg);
    ref r[NALL];
    for (int k = 0; k < NALL; k++)
        r[k] = (ref){w0[k], 0, 0};
    for (int s = 1; s <= 3; s++) {
        set_grads(&m, s);
        wb_status st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, &err);
        CHECK(st == WB_OK, "step %d: %s", s, err.msg);
        for (int k = 0; k < NALL; k++) {
            ref_step(cfg, &r[k], (double)grad_at(s, k), s);
            double got = *elem(m.p, k);
            CHECK(fabs(got - r[k].w) <= tol, "%s step %d elem %d: %.9g, expected %.9g",
                  wb_optim_kind_name(cfg->kind), s, k, got, r[k].w);
        }
    }
    CHECK(wb_optim_iterations(o) == 3, "iterations %lld", (long long)wb_optim_iterations(o));
    CHECK(wb_optim_n_params(o) == 2, "n_params %d", wb_optim_n_params(o));
    wb_optim_free(o);
    model_free(&m);
}

static wb_optim_config cfg_of(wb_optim_kind kind)
{
    wb_optim_config c;
    wb_optim_defaults(kind, &c);
    return c;
}

static void test_sgd_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0.1;
    check_three_steps(&c, 1e-6);
}

static void test_sgd_momentum_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0.1;
    c.momentum = 0.9;
    check_three_steps(&c, 1e-6);
}

static void test_sgd_nesterov_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0.05;
    c.momentum = 0.8;
    c.nesterov = 1;
    check_three_steps(&c, 1e-6);
}

static void test_adam_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_ADAM);
    check_three_steps(&c, 1e-6); /* defaults: lr 1e-3 */
    c.lr = 0.1;
    c.beta1 = 0.5;
    c.beta2 = 0.75;
    c.eps = 1e-3;
    check_three_steps(&c, 2e-6);
}

static void test_adamw_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_ADAMW);
    check_three_steps(&c, 1e-6);
    c.lr = 0.1;
    c.weight_decay = 0.5; /* large, so a missing or misplaced decay shows */
    check_three_steps(&c, 2e-6);
}

static void test_rmsprop_reference(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_RMSPROP);
    check_three_steps(&c, 1e-6);
    c.lr = 0.1;
    c.rho = 0.5;
    c.eps = 0.25; /* large: eps inside vs outside the root differ visibly */
    check_three_steps(&c, 2e-6);
}

/* The docstring example of keras/src/optimizers/rmsprop.py: lr 0.1, loss
 * w^2/2 from w = 10, one step -> 9.683772. */
static void test_rmsprop_keras_example(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_RMSPROP);
    c.lr = 0.1;
    wb_optim *o = wb_optim_new(&c, NULL);
    float ten = 10.0f;
    wb_tensor *w = vec(1, &ten), *g = vec(1, &ten);
    REQUIRE(o && w && g, "setup");
    CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK, "step");
    CHECK_NEAR(wb_tensor_f32(w)[0], 9.683772, 1e-6);
    wb_tensor_free(w);
    wb_tensor_free(g);
    wb_optim_free(o);
}

/* Decoupled decay reaches every parameter, biases included: with a zero
 * gradient Adam's update is 0, so only w *= (1 - wd*lr) per step remains. */
static void test_adamw_decays_bias(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_ADAMW);
    c.lr = 0.1;
    c.weight_decay = 0.2;
    model m;
    model_init(&m);
    wb_optim *o = wb_optim_new(&c, NULL);
    REQUIRE(o, "new");
    for (int s = 0; s < 3; s++)
        CHECK(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, NULL) == WB_OK,
              "step");
    for (int k = 0; k < NALL; k++)
        CHECK_NEAR(*elem(m.p, k), w0[k] * pow(1 - 0.2 * 0.1, 3), 1e-6);
    /* plain Adam leaves them alone */
    wb_optim_free(o);
    model_free(&m);
    model_init(&m);
    c.kind = WB_OPTIM_ADAM;
    o = wb_optim_new(&c, NULL);
    REQUIRE(o, "new adam");
    CHECK(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, NULL) == WB_OK, "step");
    for (int k = 0; k < NALL; k++)
        CHECK(*elem(m.p, k) == w0[k], "adam moved elem %d with zero grad", k);
    wb_optim_free(o);
    model_free(&m);
}

/* The SSE lanes and the scalar tail compute identically: equal inputs in all
 * five elements give bit-equal outputs. */
static void test_simd_and_tail_agree(void)
{
    const wb_optim_kind kinds[] = {WB_OPTIM_SGD, WB_OPTIM_ADAM, WB_OPTIM_ADAMW,
                                   WB_OPTIM_RMSPROP};
    for (int q = 0; q < 4; q++) {
        wb_optim_config c = cfg_of(kinds[q]);
        c.momentum = 0.9;
        c.nesterov = 1;
        float wv[5] = {0.7f, 0.7f, 0.7f, 0.7f, 0.7f}, gv[5];
        wb_tensor *w = vec(5, wv), *g = vec(5, NULL);
        wb_optim *o = wb_optim_new(&c, NULL);
        REQUIRE(w && g && o, "setup");
        for (int s = 1; s <= 4; s++) {
            for (int k = 0; k < 5; k++)
                gv[k] = grad_at(s, 3);
            memcpy(wb_tensor_f32(g), gv, sizeof gv);
            CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK,
                  "step");
        }
        const float *x = wb_tensor_f32(w);
        for (int k = 1; k < 5; k++)
            CHECK(memcmp(&x[k], &x[0], sizeof x[0]) == 0, "%s: elem %d %.9g vs %.9g",
                  wb_optim_kind_name(kinds[q]), k, x[k], x[0]);
        CHECK(x[0] != 0.7f, "%s did not move", wb_optim_kind_name(kinds[q]));
        wb_tensor_free(w);
        wb_tensor_free(g);
        wb_optim_free(o);
    }
}

/* Both copies of every kernel (baseline, and AVX2 where the CPU has it; see
 * core/simd.h) give bit-identical weights after three steps, and find an
 * infinity wherever it is (vector body or tail). 1013 = 126*8 + 4 + 1
 * leaves a tail for every vector width. */
static void test_widths_bit_identical(void)
{
    enum { N = 1013 };
    wb_optim_config cs[5];
    for (int q = 0; q < 4; q++)
        cs[q] = cfg_of((wb_optim_kind)q);
    cs[0].lr = 0.1;
    cs[4] = cfg_of(WB_OPTIM_SGD);
    cs[4].momentum = 0.9;
    cs[4].nesterov = 1;
    int top = wb_simd_allow_avx2(1);
    static float base[N], wv[N];
    for (int q = 0; q < 5; q++) {
        for (int lv = 0; lv <= top; lv++) {
            CHECK(wb_simd_allow_avx2(lv) == lv, "avx2 %d", lv);
            for (int k = 0; k < N; k++)
                wv[k] = (float)cos(0.37 * k);
            wb_tensor *w = vec(N, wv), *g = vec(N, NULL);
            wb_optim *o = wb_optim_new(&cs[q], NULL);
            REQUIRE(w && g && o, "setup");
            for (int s = 1; s <= 3; s++) {
                for (int k = 0; k < N; k++)
                    wb_tensor_f32(g)[k] = grad_at(s, k % 50);
                CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == 0, "s");
            }
            const float *x = wb_tensor_f32(w);
            if (lv == 0)
                memcpy(base, x, sizeof base);
            for (int k = 0; k < N; k++)
                if (memcmp(&x[k], &base[k], sizeof base[k]) != 0) {
                    CHECK(0, "%s level %d elem %d: %.9g vs %.9g",
                          wb_optim_kind_name(cs[q].kind), lv, k, x[k], base[k]);
                    break;
                }
            const int at[3] = {0, 517, N - 1};
            for (int a = 0; a < 3; a++) {
                wb_err err;
                wb_tensor_f32(g)[at[a]] = INFINITY;
                CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, &err) ==
                      WB_ENONFINITE, "level %d: inf at %d missed", lv, at[a]);
                char want[32];
                snprintf(want, sizeof want, "at element %d)", at[a] + 1);
                CHECK(strstr(err.msg, want), "level %d: %s", lv, err.msg);
                wb_tensor_f32(g)[at[a]] = 0.5f;
            }
            wb_tensor_free(w);
            wb_tensor_free(g);
            wb_optim_free(o);
        }
    }
    wb_simd_allow_avx2(1);
}

/* Bit patterns recorded from the optimizer kernels as they were before the
 * SIMD rewrite (three hand-written widths, commit 8da3788), on an AVX2
 * machine: five steps of each optimizer over 1013 elements (vector bodies
 * and tails), hashed (FNV-1a over the float bits). A kernel change that moves
 * any element by one ulp changes the hash. */
static void test_golden_bits(void)
{
    enum { N = 1013 };
    static const struct {
        wb_optim_kind kind;
        double momentum;
        int nesterov;
        uint64_t hash;
    } gold[] = {
        {WB_OPTIM_SGD, 0.0, 0, 0xbb3cb02cf802b32bu},
        {WB_OPTIM_SGD, 0.9, 0, 0x752ff2ab79d5a376u},
        {WB_OPTIM_SGD, 0.9, 1, 0x9cacecb902701b6eu},
        {WB_OPTIM_ADAM, 0.0, 0, 0x21618b9f2790f9afu},
        {WB_OPTIM_ADAMW, 0.0, 0, 0xe96d7b39024611aeu},
        {WB_OPTIM_RMSPROP, 0.0, 0, 0x5faa23468b7db9c8u},
    };
    static float wv[N];
    for (size_t q = 0; q < sizeof gold / sizeof gold[0]; q++) {
        wb_optim_config c = cfg_of(gold[q].kind);
        c.momentum = gold[q].momentum;
        c.nesterov = gold[q].nesterov;
        for (int k = 0; k < N; k++)
            wv[k] = (float)cos(0.37 * k);
        wb_tensor *w = vec(N, wv), *g = vec(N, NULL);
        wb_optim *o = wb_optim_new(&c, NULL);
        REQUIRE(w && g && o, "setup");
        for (int s = 1; s <= 5; s++) {
            for (int k = 0; k < N; k++)
                wb_tensor_f32(g)[k] = grad_at(s, k % 50) * (float)(1 + k % 7);
            CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == 0, "step");
        }
        uint64_t h = 14695981039346656037u;
        for (int k = 0; k < N; k++) {
            uint32_t bits;
            memcpy(&bits, wb_tensor_f32(w) + k, sizeof bits);
            for (int b = 0; b < 4; b++)
                h = (h ^ ((bits >> (8 * b)) & 0xffu)) * 1099511628211u;
        }
        CHECK(h == gold[q].hash, "%s momentum %g nesterov %d: hash 0x%016llx, recorded "
              "0x%016llx", wb_optim_kind_name(c.kind), c.momentum, c.nesterov,
              (unsigned long long)h, (unsigned long long)gold[q].hash);
        wb_tensor_free(w);
        wb_tensor_free(g);
        wb_optim_free(o);
    }
}

/* ------------------------------------------------------------------------
 * Shapes and all-or-nothing steps
 * ------------------------------------------------------------------------ */

static void test_state_shape_change(void)
{
    wb_err err;
    model m;
    model_init(&m);
    wb_optim *o = wb_optim_new(&(wb_optim_config){.kind = WB_OPTIM_ADAM, .lr = 1e-3,
                                                  .beta1 = 0.9, .beta2 = 0.999,
                                                  .eps = 1e-7}, &err);
    REQUIRE(o, "new: %s", err.msg);
    REQUIRE(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, &err) == WB_OK,
            "first: %s", err.msg);
    /* parameter 2 replaced by a [4] tensor (and its gradient) */
    wb_tensor *p2[2] = {m.p[0], vec(4, NULL)}, *g2[2] = {m.g[0], vec(4, NULL)};
    float before = wb_tensor_f32(m.p[0])[0];
    wb_status st = wb_optim_step(o, 2, p2, (const wb_tensor *const *)g2, &err);
    CHECK(st == WB_ESHAPE, "status %s", wb_status_name(st));
    CHECK(strstr(err.msg, "parameter 2") && strstr(err.msg, "[4]") && strstr(err.msg, "[3]"),
          "message: %s", err.msg);
    CHECK(wb_tensor_f32(m.p[0])[0] == before, "parameter 1 was updated");
    CHECK(wb_optim_iterations(o) == 1, "iterations moved");
    /* a different count */
    st = wb_optim_step(o, 1, m.p, (const wb_tensor *const *)m.g, &err);
    CHECK(st == WB_ESHAPE && strstr(err.msg, "expected 2 parameters") &&
          strstr(err.msg, "got 1"), "count: %s", err.msg);
    /* after reset the new shapes are accepted */
    wb_optim_reset(o);
    CHECK(wb_optim_iterations(o) == 0 && wb_optim_n_params(o) == 0, "reset");
    CHECK(wb_optim_step(o, 2, p2, (const wb_tensor *const *)g2, &err) == WB_OK,
          "after reset: %s", err.msg);
    wb_tensor_free(p2[1]);
    wb_tensor_free(g2[1]);
    wb_optim_free(o);
    model_free(&m);
}

static void test_grad_shape_and_type(void)
{
    wb_err err;
    model m;
    model_init(&m);
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    wb_optim *o = wb_optim_new(&c, &err);
    REQUIRE(o, "new");
    int64_t s23[2] = {3, 2};
    wb_tensor *bad = tensor_of(2, s23, NULL);
    wb_tensor *g[2] = {bad, m.g[1]};
    wb_status st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)g, &err);
    CHECK(st == WB_ESHAPE, "status %s", wb_status_name(st));
    CHECK(strstr(err.msg, "gradient 1") && strstr(err.msg, "[2, 3]") &&
          strstr(err.msg, "[3, 2]"), "message: %s", err.msg);
    CHECK(wb_optim_n_params(o) == 0, "state allocated by a failed first step");

    wb_tensor *u8 = wb_tensor_new(WB_U8, 1, (int64_t[]){NB}, NULL);
    g[0] = m.g[0];
    g[1] = u8;
    st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)g, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "gradient 2") && strstr(err.msg, "uint8"),
          "dtype: %s", err.msg);

    g[1] = m.p[1]; /* the parameter itself as its gradient */
    st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)g, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "parameter 2") && strstr(err.msg, "share"),
          "overlap: %s", err.msg);

    st = wb_optim_step(o, 0, m.p, (const wb_tensor *const *)m.g, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "no parameters"), "empty: %s", err.msg);
    g[1] = NULL;
    st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)g, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "gradient 2 is NULL"), "NULL: %s", err.msg);
    CHECK(*elem(m.p, 0) == w0[0], "weights changed by failed steps");
    wb_tensor_free(bad);
    wb_tensor_free(u8);
    wb_optim_free(o);
    model_free(&m);
}

/* A NaN/inf gradient in parameter 2 leaves every weight, the state and the
 * iteration count as they were: continuing matches a run that never saw it. */
static void test_nonfinite_changes_nothing(void)
{
    const float bads[2] = {NAN, -INFINITY};
    for (int q = 0; q < 2; q++) {
        wb_err err;
        model a, b;
        model_init(&a);
        model_init(&b);
        wb_optim_config c = cfg_of(WB_OPTIM_ADAMW);
        c.lr = 0.05;
        wb_optim *oa = wb_optim_new(&c, NULL), *ob = wb_optim_new(&c, NULL);
        REQUIRE(oa && ob, "new");
        set_grads(&a, 1);
        set_grads(&b, 1);
        wb_optim_step(oa, 2, a.p, (const wb_tensor *const *)a.g, NULL);
        wb_optim_step(ob, 2, b.p, (const wb_tensor *const *)b.g, NULL);
        float snap[NALL];
        for (int k = 0; k < NALL; k++)
            snap[k] = *elem(a.p, k);
        set_grads(&a, 2);
        *elem(a.g, NW + 2) = bads[q]; /* last bias element */
        wb_status st = wb_optim_step(oa, 2, a.p, (const wb_tensor *const *)a.g, &err);
        CHECK(st == WB_ENONFINITE, "status %s", wb_status_name(st));
        CHECK(strstr(err.msg, "gradient 2") && strstr(err.msg, "element 3") &&
              strstr(err.msg, q ? "-inf" : "nan"), "message: %s", err.msg);
        for (int k = 0; k < NALL; k++)
            CHECK(memcmp(elem(a.p, k), &snap[k], sizeof(float)) == 0, "elem %d moved", k);
        CHECK(wb_optim_iterations(oa) == 1, "iterations %lld",
              (long long)wb_optim_iterations(oa));
        for (int s = 2; s <= 3; s++) {
            set_grads(&a, s);
            set_grads(&b, s);
            CHECK(wb_optim_step(oa, 2, a.p, (const wb_tensor *const *)a.g, NULL) == 0, "a");
            CHECK(wb_optim_step(ob, 2, b.p, (const wb_tensor *const *)b.g, NULL) == 0, "b");
        }
        for (int k = 0; k < NALL; k++)
            CHECK(*elem(a.p, k) == *elem(b.p, k), "elem %d: %.9g vs %.9g", k,
                  *elem(a.p, k), *elem(b.p, k));
        wb_optim_free(oa);
        wb_optim_free(ob);
        model_free(&a);
        model_free(&b);
    }
}

/* A parameter that is a view (rows 1..2 of a [4, 3] tensor) is updated in
 * place; the rows around it are untouched. */
static void test_view_parameter(void)
{
    int64_t s43[2] = {4, 3};
    float base[12];
    for (int k = 0; k < 12; k++)
        base[k] = (float)k;
    wb_tensor *big = tensor_of(2, s43, base);
    wb_tensor *w = wb_tensor_rows(big, 1, 2, NULL);
    int64_t s23[2] = {2, 3};
    float ones[6] = {1, 1, 1, 1, 1, 1};
    wb_tensor *g = tensor_of(2, s23, ones);
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0.5;
    wb_optim *o = wb_optim_new(&c, NULL);
    REQUIRE(big && w && g && o, "setup");
    CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK, "step");
    const float *x = wb_tensor_f32(big);
    for (int k = 0; k < 12; k++)
        CHECK(x[k] == (k >= 3 && k < 9 ? base[k] - 0.5f : base[k]), "elem %d = %g", k, x[k]);
    wb_tensor_free(w);
    wb_tensor_free(big);
    wb_tensor_free(g);
    wb_optim_free(o);
}

/* ------------------------------------------------------------------------
 * Hyper-parameters, names, options
 * ------------------------------------------------------------------------ */

static void expect_bad(wb_optim_kind kind, const char *key, double value, const char *want)
{
    wb_optim_config c = cfg_of(kind);
    wb_optim_config_set(&c, wb_optim_key_find(kind, key), value);
    wb_err err = {0};
    wb_optim *o = wb_optim_new(&c, &err);
    CHECK(!o && err.code == WB_EINVAL, "%s %s=%g accepted", wb_optim_class_name(kind), key,
          value);
    CHECK(strstr(err.msg, key) && strstr(err.msg, want), "%s=%g: message '%s'", key,
          value, err.msg);
    wb_optim_free(o);
}

static void test_bad_hyperparameters(void)
{
    expect_bad(WB_OPTIM_SGD, "lr", NAN, "got nan");
    expect_bad(WB_OPTIM_ADAM, "lr", -0.1, "got -0.1");
    expect_bad(WB_OPTIM_RMSPROP, "lr", INFINITY, "got inf");
    expect_bad(WB_OPTIM_SGD, "momentum", 1.5, "[0, 1], got 1.5"); /* 1: Keras's too */
    expect_bad(WB_OPTIM_SGD, "momentum", -0.5, "got -0.5");
    expect_bad(WB_OPTIM_SGD, "momentum", NAN, "got nan");
    expect_bad(WB_OPTIM_ADAM, "beta1", 1.0, "got 1");
    expect_bad(WB_OPTIM_ADAMW, "beta2", -0.1, "got -0.1");
    expect_bad(WB_OPTIM_ADAM, "eps", 0.0, "> 0, got 0");
    expect_bad(WB_OPTIM_RMSPROP, "eps", -1e-7, "got -1e-07");
    expect_bad(WB_OPTIM_ADAMW, "weight_decay", -0.01, "got -0.01");
    expect_bad(WB_OPTIM_RMSPROP, "rho", 1.5, "got 1.5");
    /* nesterov without momentum is plain SGD: a setting that changes nothing */
    expect_bad(WB_OPTIM_SGD, "nesterov", 1, "needs a momentum > 0");
    /* the boundaries that are allowed */
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0;
    c.momentum = 0.999;
    wb_optim *o = wb_optim_new(&c, NULL);
    CHECK(o != NULL, "lr 0, momentum 0.999 rejected");
    wb_optim_free(o);
}

static void test_set_lr(void)
{
    wb_err err;
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    wb_optim *o = wb_optim_new(&c, NULL);
    REQUIRE(o, "new");
    CHECK(wb_optim_lr(o) == 0.01, "default lr %g", wb_optim_lr(o));
    CHECK(wb_optim_set_lr(o, -1, &err) == WB_EINVAL && strstr(err.msg, "lr") &&
          strstr(err.msg, "got -1"), "negative: %s", err.msg);
    CHECK(wb_optim_set_lr(o, NAN, &err) == WB_EINVAL, "nan accepted");
    CHECK(wb_optim_lr(o) == 0.01, "lr changed by a failed set");
    CHECK(wb_optim_set_lr(o, 0.25, &err) == WB_OK, "set");
    float one = 1.0f, two = 2.0f;
    wb_tensor *w = vec(1, &one), *g = vec(1, &two);
    CHECK(wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL) == WB_OK, "step");
    CHECK(wb_tensor_f32(w)[0] == 0.5f, "new lr not used: %g", wb_tensor_f32(w)[0]);
    wb_tensor_free(w);
    wb_tensor_free(g);
    wb_optim_free(o);
}

static void test_names_and_options(void)
{
    wb_err err;
    wb_optim_kind k = WB_OPTIM_SGD;
    CHECK(wb_optim_kind_parse("AdamW", &k, &err) == WB_OK && k == WB_OPTIM_ADAMW, "AdamW");
    CHECK(wb_optim_kind_parse("rmsprop", &k, &err) == WB_OK && k == WB_OPTIM_RMSPROP, "rms");
    CHECK(wb_optim_kind_parse("adagrad", &k, &err) == WB_EINVAL &&
          strstr(err.msg, "adagrad") && strstr(err.msg, "sgd, adam, adamw, rmsprop"),
          "unknown: %s", err.msg);
    CHECK(wb_optim_key_find(WB_OPTIM_ADAM, "beta2") == 2, "beta2 index");
    CHECK(wb_optim_key_find(WB_OPTIM_ADAM, "momentum") == -1, "momentum on adam");
    wb_optim_key_error(WB_OPTIM_ADAM, "beta_1", &err);
    CHECK(strstr(err.msg, "Adam: unknown option 'beta_1'") &&
          strstr(err.msg, "valid: lr, beta1, beta2, eps"), "key error: %s", err.msg);
    CHECK(wb_optim_key_is_bool(WB_OPTIM_SGD, 2) && !wb_optim_key_is_bool(WB_OPTIM_SGD, 0),
          "nesterov is the boolean");

    const char *want[4] = {
        "SGD(lr=0.01, momentum=0, nesterov=false)",
        "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07)",
        "AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-07, weight_decay=0.004)",
        "RMSprop(lr=0.001, rho=0.9, eps=1e-07)"};
    for (int q = 0; q < 4; q++) {
        wb_optim_config c = cfg_of((wb_optim_kind)q);
        wb_optim *o = wb_optim_new(&c, NULL);
        char buf[WB_OPTIM_STR_MAX];
        CHECK(o && strcmp(wb_optim_str(o, buf, sizeof buf), want[q]) == 0, "str '%s'", buf);
        wb_optim_free(o);
    }
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    wb_optim_config_set(&c, 2, 1);
    wb_optim_config_set(&c, 1, 0.5);
    CHECK(c.nesterov == 1 && c.momentum == 0.5 && wb_optim_config_get(&c, 1) == 0.5, "set");
}

/* ------------------------------------------------------------------------
 * Memory
 * ------------------------------------------------------------------------ */

static void test_zero_alloc_after_first_step(void)
{
    wb_optim_config cs[5];
    for (int q = 0; q < 4; q++)
        cs[q] = cfg_of((wb_optim_kind)q);
    cs[4] = cfg_of(WB_OPTIM_SGD);
    cs[4].momentum = 0.9;
    for (int q = 0; q < 5; q++) {
        model m;
        model_init(&m);
        long live0 = wb_alloc_live();
        wb_optim *o = wb_optim_new(&cs[q], NULL);
        REQUIRE(o, "new");
        set_grads(&m, 1);
        CHECK(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, NULL) == 0, "first");
        wb_alloc_fail_at(0, 0); /* resets the counter */
        for (int s = 2; s <= 6; s++) {
            set_grads(&m, s);
            CHECK(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, NULL) == 0, "step");
        }
        CHECK(wb_alloc_count() == 0, "%s: %ld allocations in steps 2..6",
              wb_optim_kind_name(cs[q].kind), wb_alloc_count());
        wb_optim_free(o);
        CHECK(wb_alloc_live() == live0, "leak: %ld live, was %ld", wb_alloc_live(), live0);
        model_free(&m);
    }
}

/* Allocation failures at construction and at the first step: ENOMEM,
 * nothing changed, nothing leaked, and the next attempt works. */
static void test_alloc_failure(void)
{
    wb_err err;
    wb_optim_config c = cfg_of(WB_OPTIM_ADAM);
    long live0 = wb_alloc_live();
    wb_alloc_fail_at(1, 0);
    CHECK(wb_optim_new(&c, &err) == NULL && err.code == WB_ENOMEM, "new under failure");
    wb_alloc_fail_at(0, 0);
    model m;
    model_init(&m);
    wb_optim *o = wb_optim_new(&c, &err);
    REQUIRE(o, "new");
    for (int nth = 1; nth <= 2; nth++) {
        wb_alloc_fail_at(nth, 0);
        wb_status st = wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, &err);
        CHECK(st == WB_ENOMEM, "fail at %d: %s", nth, wb_status_name(st));
        CHECK(wb_optim_n_params(o) == 0 && wb_optim_iterations(o) == 0, "state after fail");
    }
    wb_alloc_fail_at(0, 0);
    set_grads(&m, 1);
    CHECK(wb_optim_step(o, 2, m.p, (const wb_tensor *const *)m.g, &err) == WB_OK,
          "after: %s", err.msg);
    CHECK(*elem(m.p, 0) != w0[0], "no update");
    wb_optim_free(o);
    model_free(&m);
    CHECK(wb_alloc_live() == live0, "leak: %ld live, was %ld", wb_alloc_live(), live0);
}

/* ------------------------------------------------------------------------
 * Convergence: minimise sum((w - c)^2), gradient 2 (w - c)
 * ------------------------------------------------------------------------ */

static double minimise(const wb_optim_config *cfg, int steps)
{
    enum { N = 37 };
    float target[N], wv[N];
    for (int k = 0; k < N; k++) {
        target[k] = (float)(sin(0.9 * k) * 2.0);
        wv[k] = (float)(cos(0.4 * k) * 3.0);
    }
    wb_tensor *w = vec(N, wv), *g = vec(N, NULL);
    wb_optim *o = wb_optim_new(cfg, NULL);
    double worst = INFINITY;
    if (w && g && o) {
        float *x = wb_tensor_f32(w), *d = wb_tensor_f32(g);
        for (int s = 0; s < steps; s++) {
            for (int k = 0; k < N; k++)
                d[k] = 2.0f * (x[k] - target[k]);
            if (wb_optim_step(o, 1, &w, (const wb_tensor *const *)&g, NULL))
                break;
        }
        worst = 0;
        for (int k = 0; k < N; k++)
            worst = fmax(worst, fabs((double)x[k] - target[k]));
    }
    wb_tensor_free(w);
    wb_tensor_free(g);
    wb_optim_free(o);
    return worst;
}

static void test_convergence(void)
{
    wb_optim_config c = cfg_of(WB_OPTIM_SGD);
    c.lr = 0.1;
    CHECK(minimise(&c, 200) < 1e-5, "sgd: %g", minimise(&c, 200));
    c.momentum = 0.9;
    CHECK(minimise(&c, 400) < 1e-5, "momentum: %g", minimise(&c, 400));
    c.nesterov = 1;
    CHECK(minimise(&c, 400) < 1e-5, "nesterov: %g", minimise(&c, 400));
    c = cfg_of(WB_OPTIM_ADAM);
    c.lr = 0.05;
    CHECK(minimise(&c, 3000) < 1e-3, "adam: %g", minimise(&c, 3000));
    c = cfg_of(WB_OPTIM_ADAMW);
    c.lr = 0.05;
    c.weight_decay = 0; /* decay moves the minimum: checked above instead */
    CHECK(minimise(&c, 3000) < 1e-3, "adamw: %g", minimise(&c, 3000));
    c = cfg_of(WB_OPTIM_RMSPROP);
    c.lr = 0.01;
    CHECK(minimise(&c, 3000) < 2e-2, "rmsprop: %g", minimise(&c, 3000));
}

int main(void)
{
    RUN(test_sgd_reference);
    RUN(test_sgd_momentum_reference);
    RUN(test_sgd_nesterov_reference);
    RUN(test_adam_reference);
    RUN(test_adamw_reference);
    RUN(test_rmsprop_reference);
    RUN(test_rmsprop_keras_example);
    RUN(test_adamw_decays_bias);
    RUN(test_simd_and_tail_agree);
    RUN(test_widths_bit_identical);
    RUN(test_golden_bits);
    RUN(test_state_shape_change);
    RUN(test_grad_shape_and_type);
    RUN(test_nonfinite_changes_nothing);
    RUN(test_view_parameter);
    RUN(test_bad_hyperparameters);
    RUN(test_set_lr);
    RUN(test_names_and_options);
    RUN(test_zero_alloc_after_first_step);
    RUN(test_alloc_failure);
    RUN(test_convergence);
    TH_EXIT();
}
