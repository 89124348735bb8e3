/* optim.c - SGD, Adam, AdamW and RMSprop with per-parameter state. See
 * optim.h for the hyper-parameters, their Keras defaults and the formulas.
 *
 * Legend for the kernels: w = parameter [n], g = its gradient [n], m and v =
 * state buffers [n] (SGD velocity, Adam first/second moment, RMSprop mean
 * square), n = number of elements. Every kernel is one fused plain loop,
 * compiled for the baseline and for AVX2 by simd.h; both copies give the
 * same bits (test_widths_bit_identical, test_golden_bits).
 *
 * A step checks everything first (shapes, state, every gradient finite),
 * then allocates the state if this is the first step, then writes.
 */
#include "optim.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "optim_impl.h"
#include "simd.h"

/* short names inside this file */
typedef wb_optim_pstate pstate;
typedef wb_optim_coef coef;

/* ------------------------------------------------------------------------
 * Names and option keys
 * ------------------------------------------------------------------------ */

typedef struct optkey {
    const char *name;
    size_t off; /* into wb_optim_config */
    int is_bool;
} optkey;

#define KEY(f) {#f, offsetof(wb_optim_config, f), 0}
static const optkey sgd_keys[] = {
    KEY(lr), KEY(momentum), {"nesterov", offsetof(wb_optim_config, nesterov), 1}};
static const optkey adam_keys[] = {KEY(lr), KEY(beta1), KEY(beta2), KEY(eps)};
static const optkey adamw_keys[] = {KEY(lr), KEY(beta1), KEY(beta2), KEY(eps),
                                    KEY(weight_decay)};
static const optkey rmsprop_keys[] = {KEY(lr), KEY(rho), KEY(eps)};
#undef KEY

static const struct {
    const char *name, *cls;
    const optkey *keys;
    int nkeys;
} kinds[] = {
    {"sgd", "SGD", sgd_keys, 3},
    {"adam", "Adam", adam_keys, 4},
    {"adamw", "AdamW", adamw_keys, 5},
    {"rmsprop", "RMSprop", rmsprop_keys, 3},
};
#define N_KINDS ((int)(sizeof kinds / sizeof kinds[0]))

static int kind_ok(wb_optim_kind k) { return (unsigned)k < (unsigned)N_KINDS; }

const char *wb_optim_kind_name(wb_optim_kind kind)
{
    return kind_ok(kind) ? kinds[kind].name : "?";
}

const char *wb_optim_class_name(wb_optim_kind kind)
{
    return kind_ok(kind) ? kinds[kind].cls : "?";
}

wb_status wb_optim_kind_parse(const char *name, wb_optim_kind *kind, wb_err *err)
{
    for (int k = 0; name && k < N_KINDS; k++) {
        if (strcasecmp(name, kinds[k].name) == 0) {
            *kind = (wb_optim_kind)k;
            return WB_OK;
        }
    }
    return wb_err_set(err, WB_EINVAL,
                      "unknown optimizer '%s' (valid: sgd, adam, adamw, rmsprop)",
                      name ? name : "(null)");
}

void wb_optim_defaults(wb_optim_kind kind, wb_optim_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->lr = kind == WB_OPTIM_SGD ? 0.01 : 1e-3;
    cfg->momentum = 0.0;
    cfg->nesterov = 0;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-7;
    cfg->weight_decay = kind == WB_OPTIM_ADAMW ? 0.004 : 0.0;
    cfg->rho = 0.9;
}

int wb_optim_nkeys(wb_optim_kind kind)
{
    return kind_ok(kind) ? kinds[kind].nkeys : 0;
}

const char *wb_optim_key_name(wb_optim_kind kind, int i)
{
    return kind_ok(kind) && i >= 0 && i < kinds[kind].nkeys ? kinds[kind].keys[i].name
                                                            : NULL;
}

int wb_optim_key_is_bool(wb_optim_kind kind, int i)
{
    return kind_ok(kind) && i >= 0 && i < kinds[kind].nkeys && kinds[kind].keys[i].is_bool;
}

int wb_optim_key_find(wb_optim_kind kind, const char *key)
{
    for (int i = 0; key && i < wb_optim_nkeys(kind); i++)
        if (strcmp(key, kinds[kind].keys[i].name) == 0)
            return i;
    return -1;
}

wb_status wb_optim_key_error(wb_optim_kind kind, const char *key, wb_err *err)
{
    char valid[128] = "";
    size_t used = 0;
    for (int i = 0; i < wb_optim_nkeys(kind) && used < sizeof valid; i++)
        used += (size_t)snprintf(valid + used, sizeof valid - used, "%s%s",
                                 i ? ", " : "", kinds[kind].keys[i].name);
    return wb_err_set(err, WB_EINVAL, "%s: unknown option '%s' (valid: %s)",
                      wb_optim_class_name(kind), key ? key : "(null)", valid);
}

double wb_optim_config_get(const wb_optim_config *cfg, int i)
{
    const char *key = wb_optim_key_name(cfg->kind, i);
    if (!key)
        return NAN;
    const optkey *k = &kinds[cfg->kind].keys[i];
    const char *p = (const char *)cfg + k->off;
    return k->is_bool ? (double)*(const int *)p : *(const double *)p;
}

void wb_optim_config_set(wb_optim_config *cfg, int i, double value)
{
    if (!wb_optim_key_name(cfg->kind, i))
        return;
    const optkey *k = &kinds[cfg->kind].keys[i];
    char *p = (char *)cfg + k->off;
    if (k->is_bool)
        *(int *)p = value != 0.0;
    else
        *(double *)p = value;
}

/* ------------------------------------------------------------------------
 * Validation
 * ------------------------------------------------------------------------ */

/* v as float32, an infinity beyond its range: (float) of a double float32
 * cannot hold is undefined in C (lr = 1e300 is how tests make a run diverge) */
static float to_f32(double v)
{
    return v > FLT_MAX ? INFINITY : v < -FLT_MAX ? -INFINITY : (float)v;
}

static wb_status check_lr(wb_optim_kind kind, double lr, wb_err *err)
{
    if (!(isfinite(lr) && lr >= 0.0))
        return wb_err_set(err, WB_EINVAL, "%s: lr must be a finite number >= 0, got %g",
                          wb_optim_class_name(kind), lr);
    return WB_OK;
}

/* value in [0, 1) (NaN fails) */
static wb_status check_unit(wb_optim_kind kind, const char *name, double v,
                            wb_err *err)
{
    if (!(v >= 0.0 && v < 1.0))
        return wb_err_set(err, WB_EINVAL, "%s: %s must be in [0, 1), got %g",
                          wb_optim_class_name(kind), name, v);
    return WB_OK;
}

/* SGD's momentum: Keras takes [0, 1] (1: a velocity that never decays) */
static wb_status check_momentum(double v, wb_err *err)
{
    if (!(v >= 0.0 && v <= 1.0))
        return wb_err_set(err, WB_EINVAL, "SGD: momentum must be in [0, 1], got %g", v);
    return WB_OK;
}

wb_status wb_optim_validate(const wb_optim_config *cfg, wb_err *err)
{
    wb_optim_kind kind = cfg->kind;
    if (!kind_ok(kind))
        return wb_err_set(err, WB_EINVAL, "unknown optimizer kind %d", (int)kind);
    const char *cls = wb_optim_class_name(kind);
    if (check_lr(kind, cfg->lr, err))
        return WB_EINVAL;
    if (kind == WB_OPTIM_SGD) {
        if (check_momentum(cfg->momentum, err))
            return WB_EINVAL;
        /* Nesterov's look-ahead is along the momentum: without one it is
         * plain SGD, and a variant nesterov = true trained what false did
         * (PyTorch refuses it too; Keras lets it through) */
        if (cfg->nesterov && cfg->momentum == 0.0)
            return wb_err_set(err, WB_EINVAL, "%s: nesterov = true needs a momentum > 0 "
                              "(with momentum 0 it is plain SGD), got momentum 0", cls);
        return WB_OK;
    }
    if (kind == WB_OPTIM_RMSPROP && check_unit(kind, "rho", cfg->rho, err))
        return WB_EINVAL;
    if (kind == WB_OPTIM_ADAM || kind == WB_OPTIM_ADAMW) {
        if (check_unit(kind, "beta1", cfg->beta1, err) ||
            check_unit(kind, "beta2", cfg->beta2, err))
            return WB_EINVAL;
    }
    /* The step computes in float32: an eps that float32 rounds to 0 gives
     * 0/0 = NaN wherever a gradient is 0, so eps must survive the cast
     * (evaluated once eps is known to be within float32's range). A huge lr
     * or weight decay is a divergence fit reports, not an input error. */
    if (!(isfinite(cfg->eps) && cfg->eps > 0.0 && cfg->eps <= FLT_MAX &&
          (float)cfg->eps > 0.0f))
        return wb_err_set(err, WB_EINVAL, "%s: eps must be a finite number > 0, got %g "
                          "(float32 holds %g .. %g)", cls, cfg->eps, (double)FLT_TRUE_MIN,
                          (double)FLT_MAX);
    if (kind == WB_OPTIM_ADAMW && !(isfinite(cfg->weight_decay) && cfg->weight_decay >= 0.0))
        return wb_err_set(err, WB_EINVAL,
                          "%s: weight_decay must be a finite number >= 0, got %g", cls,
                          cfg->weight_decay);
    return WB_OK;
}

/* ------------------------------------------------------------------------
 * Lifecycle and state
 * ------------------------------------------------------------------------ */

wb_optim *wb_optim_new(const wb_optim_config *cfg, wb_err *err)
{
    if (wb_optim_validate(cfg, err))
        return NULL;
    wb_optim *o = wb_calloc(1, sizeof *o);
    if (!o) {
        wb_err_set(err, WB_ENOMEM, "out of memory allocating an optimizer");
        return NULL;
    }
    o->cfg = *cfg;
    o->cfg.nesterov = cfg->nesterov != 0;
    return o;
}

void wb_optim_reset(wb_optim *o)
{
    if (!o)
        return;
    wb_free(o->params);
    wb_free(o->block);
    o->params = NULL;
    o->block = NULL;
    o->n_params = 0;
    o->iterations = 0;
}

void wb_optim_free(wb_optim *o)
{
    if (!o)
        return;
    wb_optim_reset(o);
    wb_optim_watch_clear(o);
    wb_free(o);
}

/* State buffers per parameter for this configuration (0, 1 or 2). */
static int n_slots(const wb_optim_config *cfg)
{
    switch (cfg->kind) {
    case WB_OPTIM_SGD: return cfg->momentum > 0.0 ? 1 : 0;
    case WB_OPTIM_ADAM:
    case WB_OPTIM_ADAMW: return 2;
    case WB_OPTIM_RMSPROP: return 1;
    }
    return 0;
}

/* Allocate records and zeroed state for params (already checked). Each
 * buffer starts on a 64-byte boundary (rounded up to 16 floats). */
static wb_status state_alloc(wb_optim *o, int n, wb_tensor *const *params,
                             wb_err *err)
{
    int slots = n_slots(&o->cfg);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t padded = (wb_tensor_numel(params[i]) + 15) & ~(size_t)15;
        if (padded > (SIZE_MAX / sizeof(float) - total) / 2)
            return wb_err_set(err, WB_ERANGE, "optimizer state is too large");
        total += (size_t)slots * padded;
    }
    pstate *ps = wb_calloc((size_t)n, sizeof *ps);
    float *block = total ? wb_alloc_aligned(total * sizeof(float)) : NULL;
    if (!ps || (total && !block)) {
        wb_free(ps);
        wb_free(block);
        return wb_err_set(err, WB_ENOMEM, "out of memory allocating optimizer state "
                          "(%zu bytes)", total * sizeof(float));
    }
    float *p = block;
    for (int i = 0; i < n; i++) {
        ps[i].ndim = params[i]->ndim;
        memcpy(ps[i].shape, params[i]->shape, sizeof ps[i].shape);
        ps[i].numel = wb_tensor_numel(params[i]);
        size_t padded = (ps[i].numel + 15) & ~(size_t)15;
        ps[i].m = slots >= 1 ? p : NULL;
        ps[i].v = slots >= 2 ? p + padded : NULL;
        p += (size_t)slots * padded;
    }
    o->params = ps;
    o->block = block;
    o->n_params = n;
    return WB_OK;
}

/* ------------------------------------------------------------------------
 * Argument checks (all before any write)
 * ------------------------------------------------------------------------ */

static int overlap(const wb_tensor *a, const wb_tensor *b)
{
    if (a->storage != b->storage)
        return 0;
    size_t na = wb_tensor_numel(a), nb = wb_tensor_numel(b);
    return na && nb && a->offset < b->offset + nb && b->offset < a->offset + na;
}

/* wb_optim_step's positions of its operands, for err->arg. */
enum { ARG_N = 2, ARG_PARAMS = 3, ARG_GRADS = 4 };

/* Parameter i (0-based) against its gradient and the recorded state. */
static wb_status check_pair(const wb_optim *o, int i, const wb_tensor *p,
                            const wb_tensor *g, wb_err *err)
{
    char s1[WB_SHAPE_STR_MAX], s2[WB_SHAPE_STR_MAX];
    if (!p || !g)
        return wb_err_arg(err, p ? ARG_GRADS : ARG_PARAMS,
                          wb_err_set(err, WB_EINVAL, "%s %d is NULL",
                                     p ? "gradient" : "parameter", i + 1));
    if (p->dtype != WB_F32 || g->dtype != WB_F32)
        return wb_err_arg(err, p->dtype != WB_F32 ? ARG_PARAMS : ARG_GRADS,
                          wb_err_set(err, WB_EINVAL, "%s %d: expected float32, got %s",
                                     p->dtype != WB_F32 ? "parameter" : "gradient", i + 1,
                                     wb_dtype_name(p->dtype != WB_F32 ? p->dtype
                                                                      : g->dtype)));
    if (!wb_tensor_same_shape(p, g))
        return wb_err_arg(err, ARG_GRADS, wb_err_set(err, WB_ESHAPE,
                          "gradient %d: expected %s (the shape of parameter %d), got %s",
                          i + 1, wb_shape_str(s1, sizeof s1, p->ndim, p->shape), i + 1,
                          wb_shape_str(s2, sizeof s2, g->ndim, g->shape)));
    if (overlap(p, g))
        return wb_err_arg(err, ARG_PARAMS, wb_err_set(err, WB_EINVAL,
                          "parameter %d and its gradient share memory", i + 1));
    if (o->n_params) {
        const pstate *s = &o->params[i];
        if (s->ndim != p->ndim ||
            memcmp(s->shape, p->shape, (size_t)p->ndim * sizeof p->shape[0]) != 0)
            return wb_err_arg(err, ARG_PARAMS, wb_err_set(err, WB_ESHAPE,
                              "parameter %d: shape %s differs from %s at the first step "
                              "(reset() the optimizer to start over)",
                              i + 1, wb_shape_str(s1, sizeof s1, p->ndim, p->shape),
                              wb_shape_str(s2, sizeof s2, s->ndim, s->shape)));
    }
    return WB_OK;
}

/* Whether x[n] holds a NaN or an infinity: a float is one exactly when its
 * exponent bits are all ones. Integer ops, so the loop vectorises as an OR. */
WB_SIMD_BODY any_nonfinite_body(const float *restrict x, size_t n, int *bad)
{
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof b);
        acc |= (b & 0x7f800000u) == 0x7f800000u;
    }
    *bad = acc != 0;
}
WB_SIMD_KERNEL(any_nonfinite, any_nonfinite_body,
               (const float *restrict x, size_t n, int *bad), (x, n, bad))

/* Index of the first non-finite element of x[n], or n when all are finite. */
static size_t first_nonfinite(const float *restrict x, size_t n)
{
    int bad;
    WB_SIMD_CALL(any_nonfinite)(x, n, &bad);
    for (size_t i = 0; bad && i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

size_t wb_optim_first_nonfinite(const wb_tensor *t)
{
    if (t->dtype != WB_F32)
        return wb_tensor_numel(t);
    return first_nonfinite(wb_tensor_f32(t), wb_tensor_numel(t));
}

static wb_status check_step(const wb_optim *o, int n, wb_tensor *const *params,
                            const wb_tensor *const *grads, wb_err *err)
{
    char s[WB_SHAPE_STR_MAX];
    if (n < 1)
        return wb_err_arg(err, ARG_N, wb_err_set(err, WB_EINVAL,
                          "no parameters to update (empty list)"));
    if (o->n_params && n != o->n_params)
        return wb_err_arg(err, ARG_N, wb_err_set(err, WB_ESHAPE,
                          "expected %d parameters as at the first step, got %d "
                          "(reset() the optimizer to start over)", o->n_params, n));
    for (int i = 0; i < n; i++) {
        wb_status st = check_pair(o, i, params[i], grads[i], err);
        if (st)
            return st;
    }
    for (int i = 0; i < n; i++) {
        size_t numel = wb_tensor_numel(grads[i]);
        const float *g = wb_tensor_f32(grads[i]);
        size_t j = first_nonfinite(g, numel);
        if (j < numel)
            return wb_err_arg(err, ARG_GRADS, wb_err_set(err, WB_ENONFINITE,
                              "gradient %d %s has a non-finite value (%g at element %zu); "
                              "no parameter was updated", i + 1,
                              wb_shape_str(s, sizeof s, grads[i]->ndim, grads[i]->shape),
                              (double)g[j], j + 1));
    }
    return WB_OK;
}

/* ------------------------------------------------------------------------
 * Kernels: one fused loop each (no FMA: -ffp-contract=off)
 * ------------------------------------------------------------------------ */

/* sgd without momentum: w -= g*lr */
WB_SIMD_BODY sgd_plain_body(float *restrict w, const float *restrict g, size_t n,
                            const coef *k)
{
    const float lr = k->lr;
    for (size_t i = 0; i < n; i++)
        w[i] -= g[i] * lr;
}
WB_SIMD_KERNEL(sgd_plain, sgd_plain_body,
               (float *restrict w, const float *restrict g, size_t n, const coef *k),
               (w, g, n, k))

/* sgd with momentum (optim_impl.h wb_optim_momentum_one); nesterov is a
 * constant in each kernel below. */
WB_SIMD_BODY sgd_momentum_body(float *restrict w, const float *restrict g,
                               float *restrict m, size_t n, const coef *k, int nesterov)
{
    for (size_t i = 0; i < n; i++)
        w[i] = wb_optim_momentum_one(w[i], g[i], m + i, k, nesterov);
}
WB_SIMD_KERNEL(sgd_momentum, sgd_momentum_body,
               (float *restrict w, const float *restrict g, float *restrict m,
                size_t n, const coef *k), (w, g, m, n, k, 0))
WB_SIMD_KERNEL(sgd_nesterov, sgd_momentum_body,
               (float *restrict w, const float *restrict g, float *restrict m,
                size_t n, const coef *k), (w, g, m, n, k, 1))

/* adam / adamw (optim_impl.h wb_optim_adam_one); decay is a constant in
 * each kernel below. */
WB_SIMD_BODY adam_body(float *restrict w, const float *restrict g, float *restrict m,
                       float *restrict v, size_t n, const coef *k, int decay)
{
    for (size_t i = 0; i < n; i++)
        w[i] = wb_optim_adam_one(w[i], g[i], m + i, v + i, k, decay);
}
WB_SIMD_KERNEL(adam_update, adam_body,
               (float *restrict w, const float *restrict g, float *restrict m,
                float *restrict v, size_t n, const coef *k), (w, g, m, v, n, k, 0))
WB_SIMD_KERNEL(adamw_update, adam_body,
               (float *restrict w, const float *restrict g, float *restrict m,
                float *restrict v, size_t n, const coef *k), (w, g, m, v, n, k, 1))

/* rmsprop (optim_impl.h wb_optim_rmsprop_one) */
WB_SIMD_BODY rmsprop_update_body(float *restrict w, const float *restrict g,
                                 float *restrict v, size_t n, const coef *k)
{
    for (size_t i = 0; i < n; i++)
        w[i] = wb_optim_rmsprop_one(w[i], g[i], v + i, k);
}
WB_SIMD_KERNEL(rmsprop_update, rmsprop_update_body,
               (float *restrict w, const float *restrict g, float *restrict v, size_t n,
                const coef *k), (w, g, v, n, k))

void wb_optim_update(wb_optim_kind kind, const coef *k, float *w, const float *g, float *m,
                     float *v, size_t n)
{
    switch (kind) {
    case WB_OPTIM_SGD:
        if (!m)
            WB_SIMD_CALL(sgd_plain)(w, g, n, k);
        else if (k->nesterov)
            WB_SIMD_CALL(sgd_nesterov)(w, g, m, n, k);
        else
            WB_SIMD_CALL(sgd_momentum)(w, g, m, n, k);
        break;
    case WB_OPTIM_ADAM:
    case WB_OPTIM_ADAMW: /* weight_decay 0 runs the adam kernel, as before */
        if (k->dk != 0.0f)
            WB_SIMD_CALL(adamw_update)(w, g, m, v, n, k);
        else
            WB_SIMD_CALL(adam_update)(w, g, m, v, n, k);
        break;
    case WB_OPTIM_RMSPROP:
        WB_SIMD_CALL(rmsprop_update)(w, g, m, n, k);
        break;
    }
}

/* ------------------------------------------------------------------------
 * The step
 * ------------------------------------------------------------------------ */

wb_status wb_optim_step(wb_optim *o, int n, wb_tensor *const *params,
                        const wb_tensor *const *grads, wb_err *err)
{
    if (!o || (n > 0 && (!params || !grads)))
        return wb_err_set(err, WB_EINVAL, "step: NULL optimizer or tensor list");
    int armed = o->armed; /* each step disarms, also a refused one */
    o->armed = o->measured = 0;
    wb_status st = check_step(o, n, params, grads, err);
    if (!st && !o->n_params)
        st = state_alloc(o, n, params, err);
    if (st) {
        o->has_dirs = 0;
        return st;
    }

    /* (1) decay and (3) bias correction: per-step scalars, once, in double */
    const wb_optim_config *c = &o->cfg;
    const double t = (double)(o->iterations + 1);
    coef k = {
        .lr = to_f32(c->lr), .mu = (float)c->momentum, .nesterov = c->nesterov,
        .c1 = (float)(1.0 - c->beta1), .c2 = (float)(1.0 - c->beta2),
        .alpha = to_f32(c->lr * sqrt(1.0 - pow(c->beta2, t)) / (1.0 - pow(c->beta1, t))),
        .eps = (float)c->eps,
        .dk = c->kind == WB_OPTIM_ADAMW ? to_f32(c->weight_decay * c->lr) : 0.0f,
        .rho = (float)c->rho, .crho = (float)(1.0 - c->rho),
    };
    /* an armed step over the watched tensors measures (optim_watch.c) */
    int measure = wb_optim_watch_begin(o, n, armed);
    for (int i = 0; i < n; i++) {
        /* (2) moments and (4) update, one fused loop per tensor (a block
         * at a time when measured) */
        float *w = wb_tensor_f32(params[i]);
        const float *g = wb_tensor_f32(grads[i]);
        const pstate *s = &o->params[i];
        if (measure)
            wb_optim_watch_update(o, i, w, g, &k);
        else
            wb_optim_update(c->kind, &k, w, g, s->m, s->v, s->numel);
    }
    o->measured = measure;
    o->has_dirs = 0;
    o->iterations++;
    return WB_OK;
}

/* ------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------ */

const wb_optim_config *wb_optim_get_config(const wb_optim *o) { return &o->cfg; }
double wb_optim_lr(const wb_optim *o) { return o->cfg.lr; }
int64_t wb_optim_iterations(const wb_optim *o) { return o->iterations; }
int wb_optim_n_params(const wb_optim *o) { return o->n_params; }

wb_status wb_optim_set_lr(wb_optim *o, double lr, wb_err *err)
{
    if (check_lr(o->cfg.kind, lr, err))
        return WB_EINVAL;
    o->cfg.lr = lr;
    return WB_OK;
}

char *wb_optim_str(const wb_optim *o, char *buf, size_t n)
{
    const wb_optim_config *c = &o->cfg;
    size_t used = (size_t)snprintf(buf, n, "%s(", wb_optim_class_name(c->kind));
    for (int i = 0; i < wb_optim_nkeys(c->kind) && used < n; i++) {
        double v = wb_optim_config_get(c, i);
        const char *key = wb_optim_key_name(c->kind, i), *sep = i ? ", " : "";
        if (wb_optim_key_is_bool(c->kind, i))
            used += (size_t)snprintf(buf + used, n - used, "%s%s=%s", sep, key,
                                     v != 0.0 ? "true" : "false");
        else
            used += (size_t)snprintf(buf + used, n - used, "%s%s=%g", sep, key, v);
    }
    if (used < n)
        snprintf(buf + used, n - used, ")");
    return buf;
}

/* ------------------------------------------------------------------------
 * State export / import
 * ------------------------------------------------------------------------ */

int wb_optim_n_slots(const wb_optim *o) { return n_slots(&o->cfg); }

wb_tensor *wb_optim_state_get(const wb_optim *o, int i, int slot, wb_err *err)
{
    if (!o->n_params)
        return wb_err_set(err, WB_ESTATE, "optimizer state: none before the first step"),
               NULL;
    if (i < 0 || i >= o->n_params || slot < 0 || slot >= n_slots(&o->cfg))
        return wb_err_set(err, WB_ERANGE, "optimizer state: parameter %d, buffer %d out "
                          "of range (%d parameters, %d buffers each)", i + 1, slot + 1,
                          o->n_params, n_slots(&o->cfg)), NULL;
    const pstate *ps = &o->params[i];
    wb_tensor *t = wb_tensor_new(WB_F32, ps->ndim, ps->shape, err);
    if (t)
        memcpy(wb_tensor_f32(t), slot == 0 ? ps->m : ps->v, ps->numel * sizeof(float));
    return t;
}

wb_status wb_optim_state_set(wb_optim *o, int n, const wb_tensor *const *params,
                             const wb_tensor *const *bufs, int64_t iterations,
                             wb_err *err)
{
    int slots = n_slots(&o->cfg);
    if (n < 0 || iterations < 0 || (n == 0) != (iterations == 0) ||
        (n > 0 && (!params || (slots && !bufs))))
        return wb_err_set(err, WB_EINVAL, "optimizer state: %d parameters after %lld "
                          "steps (expected both 0 or both positive)", n,
                          (long long)iterations);
    for (int i = 0; i < n; i++) {
        if (!params[i] || params[i]->dtype != WB_F32)
            return wb_err_set(err, WB_EINVAL, "optimizer state: parameter %d is not "
                              "float32", i + 1);
        for (int k = 0; k < slots; k++) {
            const wb_tensor *b = bufs[i * slots + k];
            if (!b)
                return wb_err_set(err, WB_EINVAL, "optimizer state: buffer %d of "
                                  "parameter %d is missing", k + 1, i + 1);
            if (b->dtype != WB_F32 || b->ndim != params[i]->ndim ||
                memcmp(b->shape, params[i]->shape, sizeof(int64_t) * (size_t)b->ndim))
                return wb_err_shape(err, "optimizer state buffer", params[i], b);
        }
    }
    pstate *old_ps = o->params;
    float *old_block = o->block;
    int old_n = o->n_params;
    o->params = NULL;
    o->block = NULL;
    o->n_params = 0;
    if (n > 0) {
        wb_status st = state_alloc(o, n, (wb_tensor *const *)params, err);
        if (st) {
            o->params = old_ps;
            o->block = old_block;
            o->n_params = old_n;
            return st;
        }
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < slots; k++)
            memcpy(k == 0 ? o->params[i].m : o->params[i].v,
                   wb_tensor_f32(bufs[i * slots + k]), o->params[i].numel * sizeof(float));
    wb_free(old_ps);
    wb_free(old_block);
    o->iterations = iterations;
    return WB_OK;
}
