/* l_hessian.c - wb.hessian.Operator: the C half of wb.hessian (the Lua half,
 * bindings/lua/wb/hessian.lua, is the public API).
 *
 * wb.hessian.Operator(layers, x, y, {loss, float64, max_rows}) makes a
 * wb.HessianOperator over a model's layers (a list of wb.Dense, wb.Dropout,
 * wb.Flatten, wb.Activation userdata) and its data, with the parameters as
 * they are now. Vectors cross as lists of float32 tensors shaped like the
 * parameters (Sequential:parameters() order); inside they are double, but
 * op:top's on a float32 engine: there its gradient list is read in place
 * and its kept vector is float (wb_hvp_top_f32).
 * Layers are 1-based model positions. The operator keeps the layers in its
 * user value (the engine borrows them) and views of x and y.
 */
#include <stdio.h>
#include <string.h>

#include "lwb.h"

#include "../core/alloc.h"
#include "../core/hvp.h"
#include "../core/hvp_eig.h"
#include "../core/hvp_reduce.h"
#include "../core/rng.h"

#define LWB_HOP "wb.HessianOperator"

/* l_nn.c's layer box: the core object first (NULL once released). */
typedef struct layer_box {
    void *p;
} layer_box;

typedef struct hop {
    wb_hvp *h;
    wb_rng rng;              /* the probes' own generator: never the global one,
                              * so measuring during training does not change it */
    int nparam;              /* parameter tensors */
    double *v, *hv;          /* [P] scratch */
    /* op:top's last Ritz vector (its next start): unit in top (double),
     * or topf / topn (float: wb_hvp_top_f32, on a float32 engine); which
     * one holds it (0: none yet), each allocated when first used */
    double *top;             /* [P] */
    float *topf;             /* [P] */
    double topn;
    int held;                /* 0, TOP_D, TOP_F or TOP_R */
    /* op:top on the first Dense's row space (core/hvp_reduce.h), when the
     * operator was made with reduce and the batch fits: then red holds the
     * batch reset last (use_red), set with the params given */
    wb_hvp_red *red;
    int use_red;
    const float **gp;        /* [nparam] a gradient list's tensors, in place */
    int64_t *gn;             /* [nparam] their sizes */
    int64_t shape[][2];      /* per parameter: [I, O], or [O, 0] for a bias */
} hop;

/* TOP_R: the reduced engine keeps it, in the row space of the batch it
 * was found on (wb_hvp_red_vector maps it out) */
enum { TOP_D = 1, TOP_F = 2, TOP_R = 3 };

static hop *checkop(lua_State *L)
{
    hop *o = lwb_checkudata(L, 1, LWB_HOP);
    if (!o->h)
        luaL_error(L, "attempt to use a released Hessian operator");
    return o;
}

static int hop_gc(lua_State *L)
{
    hop *o = lwb_checkudata(L, 1, LWB_HOP);
    wb_hvp_free(o->h);
    wb_hvp_red_free(o->red);
    o->red = NULL;
    wb_free(o->v);
    wb_free(o->hv);
    wb_free(o->top);
    wb_free(o->topf);
    wb_free(o->gp);
    wb_free(o->gn);
    o->h = NULL, o->v = o->hv = o->top = NULL, o->topf = NULL, o->gp = NULL, o->gn = NULL;
    return 0;
}

/* Layer i of the list at idx as an engine layer; raises on others. */
static wb_hvp_layer tolayer(lua_State *L, int idx, int i, int *nparam)
{
    wb_hvp_layer l = {WB_HVP_IDENTITY, NULL, WB_ACT_LINEAR};
    lua_geti(L, idx, i);
    layer_box *b;
    if ((b = luaL_testudata(L, -1, "wb.Dense"))) {
        l.kind = WB_HVP_DENSE, l.dense = b->p;
        *nparam += b->p && ((wb_dense *)b->p)->use_bias ? 2 : 1;
    } else if ((b = luaL_testudata(L, -1, "wb.Activation"))) {
        l.kind = WB_HVP_ACTIVATION;
        l.act = b->p ? ((wb_activation *)b->p)->act : WB_ACT_LINEAR;
    } else if (!(b = luaL_testudata(L, -1, "wb.Dropout")) &&
               !(b = luaL_testudata(L, -1, "wb.Flatten")))
        luaL_error(L, "layer %d: %s is not supported by wb.hessian (Dense, Activation, "
                   "Dropout, Flatten)", i, luaL_typename(L, -1));
    if (!b->p)
        luaL_error(L, "layer %d: attempt to use a released layer", i);
    lua_pop(L, 1);
    return l;
}

/* Layer k (from 1) an Activation("softmax"), last or not, under loss (1:
 * mse): refused naming why. The core takes softmax only in a last Dense
 * (wb/hessian_ops.lua passes Keras's last Dense(linear) + Activation("softmax")
 * under cross-entropy as that fused head); its own message, "element-wise
 * activations only", sent one with mse to look for another activation. */
static int softmax_refused(lua_State *L, int k, int last, int mse, int after_linear)
{
    wb_err err;
    if (last && !mse && after_linear) /* the case wb.hessian's functions fuse */
        wb_err_set(&err, WB_EINVAL, "layer %d: the operator takes softmax only inside the "
                   "last Dense (Dense{activation = 'softmax'}); wb.hessian.hvp, eigs and "
                   "trace fuse a linear Dense + Activation('softmax') themselves", k);
    else if (last && mse)
        wb_err_set(&err, WB_EINVAL, "layer %d: a last Activation softmax is supported with "
                   "cross-entropy only (after a linear Dense, as fit's fused head), not with "
                   "mse (the Hessian code has no softmax followed by mse): measure with loss "
                   "= 'cross_entropy', or train the mse model with another last activation", k);
    else if (last)
        wb_err_set(&err, WB_EINVAL, "layer %d: a last Activation softmax is supported only "
                   "right after a linear Dense (fit's fused softmax cross-entropy head)", k);
    else
        wb_err_set(&err, WB_EINVAL, "layer %d: Activation softmax is supported only last, "
                   "after a linear Dense, with cross-entropy (softmax is not element-wise)", k);
    return lwb_raise(L, 0, &err);
}

/* Operator(layers, x, y, loss, float64, max_rows, seed, reduce): every argument's
 * type is checked in order before any value (loss's name, the number of
 * layers), so a wrong type is reported at its own position. */
static int l_operator(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    const wb_tensor *x = lwb_checktensor(L, 2), *y = lwb_checktensor(L, 3);
    lwb_optstring(L, 4, NULL);
    int f64 = lua_toboolean(L, 5);
    lua_Integer rows = lwb_checkinteger(L, 6);
    lua_Integer seed = lwb_optinteger(L, 7, 1);
    int reduce = lua_toboolean(L, 8);
    static const char *const losses[] = {"cross_entropy", "mse", NULL};
    int loss = lwb_checkoption(L, 4, "cross_entropy", losses);
    int n = (int)luaL_len(L, 1), nparam = 0;
    lwb_argcheck(L, n >= 1 && n <= 4096, 1, "expected 1..4096 layers");
    wb_hvp_layer *ls = lua_newuserdatauv(L, (size_t)n * sizeof *ls, 0); /* GC-owned */
    for (int i = 0; i < n; i++)
        ls[i] = tolayer(L, 1, i + 1, &nparam);
    for (int i = 0; i < n; i++)
        if (ls[i].kind == WB_HVP_ACTIVATION && ls[i].act == WB_ACT_SOFTMAX)
            return softmax_refused(L, i + 1, i == n - 1, loss == 1,
                                   i > 0 && ls[i - 1].kind == WB_HVP_DENSE &&
                                       ls[i - 1].dense->act == WB_ACT_LINEAR);
    hop *o = lua_newuserdatauv(L, sizeof *o + (size_t)nparam * sizeof o->shape[0], 1);
    memset(o, 0, sizeof *o);
    wb_rng_seed(&o->rng, (uint64_t)seed);
    luaL_setmetatable(L, LWB_HOP);
    wb_hvp_opts op = {loss ? WB_HVP_MSE : WB_HVP_SCE, f64, rows, 0};
    wb_err err;
    if (!(o->h = wb_hvp_new(ls, n, &op, &err)))
        return lwb_raise(L, 0, &err);
    if (wb_hvp_set_data(o->h, x, y, &err))
        return lwb_raise(L, 0, &err);
    /* reduce: op:top in the first Dense's row space where it pays (float32,
     * WB_HVP_RED_MIN inputs a row of max_rows or more; else no red) */
    if (reduce && !f64 && !(o->red = wb_hvp_red_new(ls, n, op.loss, rows, &err)) &&
        err.code != WB_EINVAL)
        return lwb_raise(L, 0, &err);
    size_t P = (size_t)wb_hvp_numel(o->h);
    if (!(o->v = wb_malloc(P * sizeof(double))) || !(o->hv = wb_malloc(P * sizeof(double))) ||
        !(o->gp = wb_malloc((size_t)nparam * sizeof *o->gp)) ||
        !(o->gn = wb_malloc((size_t)nparam * sizeof *o->gn)))
        return luaL_error(L, "out of memory for vectors of %d parameters", (int)P);
    for (int i = 0; i < n; i++)
        if (ls[i].kind == WB_HVP_DENSE) {
            const wb_dense *d = ls[i].dense;
            o->shape[o->nparam][0] = d->n_in, o->shape[o->nparam++][1] = d->n_out;
            if (d->use_bias)
                o->shape[o->nparam][0] = d->n_out, o->shape[o->nparam++][1] = 0;
        }
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    return 1;
}

/* The list of tensors at idx (shaped like the parameters): into out [P]
 * (double), or outf (float), or with neither, each tensor's data and size
 * into o->gp, o->gn (read in place); raises "<what>: ..." (wb.hessian
 * prefixes the function's name). */
static void checklist_as(lua_State *L, hop *o, int idx, double *out, float *outf,
                         const char *what)
{
    if (lua_type(L, idx) != LUA_TTABLE || luaL_len(L, idx) != o->nparam)
        luaL_error(L, "%s: expected a list of %d tensors (shaped like the parameters), "
                   "got %s of %d", what, o->nparam, luaL_typename(L, idx),
                   lua_type(L, idx) == LUA_TTABLE ? (int)luaL_len(L, idx) : 0);
    size_t at = 0;
    for (int k = 0; k < o->nparam; k++) {
        lua_geti(L, idx, k + 1);
        const wb_tensor *t = lwb_totensor(L, -1);
        int64_t r = o->shape[k][0], c = o->shape[k][1];
        size_t cnt = (size_t)(c ? r * c : r);
        if (!t || t->dtype != WB_F32 || t->ndim != (c ? 2 : 1) || t->shape[0] != r ||
            (c && t->shape[1] != c)) {
            char want[64], got[WB_SHAPE_STR_MAX];
            snprintf(want, sizeof want, c ? "[%lld, %lld]" : "[%lld]", (long long)r,
                     (long long)c);
            if (t)
                wb_shape_str(got, sizeof got, t->ndim, t->shape);
            luaL_error(L, "%s: tensor %d: expected float32 %s, got %s %s", what, k + 1,
                       want, t ? wb_dtype_name(t->dtype) : luaL_typename(L, -1),
                       t ? got : "");
        }
        const float *s = wb_tensor_f32(t);
        if (out)
            for (size_t q = 0; q < cnt; q++)
                out[at + q] = s[q];
        else if (outf)
            memcpy(outf + at, s, cnt * sizeof *s);
        o->gp[k] = s, o->gn[k] = (int64_t)cnt;
        at += cnt;
        lua_pop(L, 1);
    }
}

static void checklist(lua_State *L, hop *o, int idx, double *out, float *outf)
{
    checklist_as(L, o, idx, out, outf, "v");
}

/* Push v [P] (else vf [P] times scale) as a new list of float32 tensors
 * shaped like the parameters. */
static void pushlist_f(lua_State *L, hop *o, const double *v, const float *vf, float scale)
{
    lua_createtable(L, o->nparam, 0);
    size_t at = 0;
    for (int k = 0; k < o->nparam; k++) {
        int64_t shape[2] = {o->shape[k][0], o->shape[k][1]};
        wb_err err;
        lwb_tensor_box *b = lwb_newtensorbox(L);
        if (!(b->t = wb_tensor_new(WB_F32, shape[1] ? 2 : 1, shape, &err)))
            lwb_raise(L, 0, &err);
        float *d = wb_tensor_f32(b->t);
        size_t cnt = wb_tensor_numel(b->t);
        for (size_t q = 0; v && q < cnt; q++)
            d[q] = (float)v[at + q];
        for (size_t q = 0; !v && q < cnt; q++)
            d[q] = vf[at + q] * scale;
        at += cnt;
        lua_rawseti(L, -2, k + 1);
    }
}

static void pushlist(lua_State *L, hop *o, const double *v)
{
    pushlist_f(L, o, v, NULL, 1);
}

/* The block of layer (1-based position, or nil/0: everything). */
static void block(lua_State *L, hop *o, int idx, int64_t *first, int64_t *count)
{
    lua_Integer layer = lwb_optinteger(L, idx, 0);
    *first = 0, *count = wb_hvp_numel(o->h);
    wb_err err;
    if (layer != 0 && wb_hvp_block(o->h, (int)layer - 1, first, count, &err))
        lwb_raise(L, idx, &err);
}

static void *scratch(lua_State *L, size_t n)
{
    return lua_newuserdatauv(L, n ? n : 1, 0);
}

/* op:hvp(v) -> list */
static int hop_hvp(lua_State *L)
{
    hop *o = checkop(L);
    checklist(L, o, 2, o->v, NULL);
    wb_err err;
    if (wb_hvp_apply(o->h, o->v, o->hv, &err))
        return lwb_raise(L, 0, &err);
    pushlist(L, o, o->hv);
    return 1;
}

/* op:reset(x, y, params|nil, z|nil): new data and the layers' current weights, or
 * the weights in params (a list shaped like the parameters, read in place:
 * the fit instruments' theta_t, without swapping it into the model and
 * back), in the same buffers (an operator kept across training steps
 * allocates nothing). Every argument is checked before any is used. */
static int hop_reset(lua_State *L)
{
    hop *o = checkop(L);
    const wb_tensor *x = lwb_checktensor(L, 2), *y = lwb_checktensor(L, 3);
    int given = !lua_isnoneornil(L, 4);
    if (given)
        checklist_as(L, o, 4, NULL, NULL, "params");
    /* z: the first Dense's pre-activation on x at params (a fit's forward
     * has it), rows at least x's, for the row space's kernel (checked there) */
    const wb_tensor *z = lua_isnoneornil(L, 5) ? NULL : lwb_checktensor(L, 5);
    lwb_argcheck(L, !z || (z->dtype == WB_F32 && z->ndim == 2 &&
                            z->shape[0] >= x->shape[0] && z->shape[1] == o->shape[0][1]),
                  5, "expected the first Dense's float32 pre-activation [rows of x or more, "
                  "its n_out]");
    wb_err err;
    o->use_red = 0;
    if (wb_hvp_set_data(o->h, x, y, &err))
        return lwb_raise(L, 0, &err);
    if (given)
        wb_hvp_set_theta_f32(o->h, o->gp, o->gn, o->nparam);
    else
        wb_hvp_sync(o->h);
    if (o->red && given && x->shape[0] <= wb_hvp_red_rows(o->red)) {
        wb_status st = wb_hvp_red_set(o->red, x, y, o->gp, o->gn, o->nparam,
                                      z ? wb_tensor_f32(z) : NULL, &err);
        if (st && st != WB_ENONFINITE) /* not finite: the whole engine's, as before */
            return lwb_raise(L, 0, &err);
        o->use_red = !st;
    }
    return 0;
}

/* op:loss_grad() -> loss, gradient list */
static int hop_loss_grad(lua_State *L)
{
    hop *o = checkop(L);
    double loss;
    wb_err err;
    if (wb_hvp_loss_grad(o->h, &loss, o->hv, &err))
        return lwb_raise(L, 0, &err);
    lua_pushnumber(L, loss);
    pushlist(L, o, o->hv);
    return 2;
}

/* op:eigs(k, tol, max_iter, v0 list|nil, layer|nil) -> values, vectors, converged */
static int hop_eigs(lua_State *L)
{
    hop *o = checkop(L);
    wb_eigs_opts eo = {(int)lwb_checkinteger(L, 2), lwb_checknumber(L, 3),
                       (int)lwb_checkinteger(L, 4), NULL};
    int64_t first, count, P = wb_hvp_numel(o->h);
    block(L, o, 6, &first, &count);
    lwb_argcheck(L, eo.k >= 1 && eo.k <= count, 2, "k is out of range");
    if (!lua_isnoneornil(L, 5)) {
        checklist(L, o, 5, o->v, NULL);
        eo.v0 = o->v + first;
    }
    double *vals = scratch(L, (size_t)eo.k * sizeof(double));
    double *vecs = scratch(L, (size_t)eo.k * (size_t)count * sizeof(double));
    int found, conv;
    wb_err err;
    if (wb_hvp_eigs(o->h, first, count, &eo, &o->rng, vals, vecs, &found, &conv,
                    &err))
        return lwb_raise(L, 0, &err);
    lua_createtable(L, found, 0);
    for (int i = 0; i < found; i++) {
        lua_pushnumber(L, vals[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_createtable(L, found, 0);
    for (int i = 0; i < found; i++) {
        memset(o->hv, 0, (size_t)P * sizeof(double));
        memcpy(o->hv + first, vecs + (size_t)i * (size_t)count, (size_t)count * sizeof(double));
        pushlist(L, o, o->hv);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushboolean(L, conv);
    return 3;
}

/* op:top(max_iter, tol, v0 list|false|nil, gmix|nil, g list|nil) -> value,
 * residual, products: the largest eigenvalue by at most max_iter Lanczos
 * steps (core/hvp_eig.h wb_hvp_top; tol on its Kato-Temple estimate) from
 * v0, else from the last op:top's Ritz vector (kept in the operator across
 * op:reset: a warm start without crossing a list; v0 false drops it: a
 * cold start, as the first), else from a Gaussian start; gmix > 0 adds
 * gmix times the unit gradient to the unit start (wb_hvp_top); g: that
 * gradient, given (else computed: wb_hvp_top_g); the residual
 * ||H y - value y|| / |value| of its Ritz vector y (no extra product). */
static int hop_top(lua_State *L)
{
    hop *o = checkop(L);
    int max_iter = (int)lwb_checkinteger(L, 2);
    double tol = lwb_checknumber(L, 3);
    int64_t P = wb_hvp_numel(o->h);
    lwb_argcheck(L, max_iter >= 1, 2, "expected max_iter >= 1");
    lwb_argcheck(L, tol >= 0, 3, "expected tol >= 0");
    double gmix = lwb_optnumber(L, 5, 0);
    lwb_argcheck(L, gmix >= 0, 5, "expected gmix >= 0");
    /* in float when the engine can: half the bytes of every sweep, and the
     * gradient read in place */
    int f = wb_hvp_f32_ready(o->h) && max_iter <= WB_HVP_TOP_F32_MAX;
    if (f ? !o->topf && !(o->topf = wb_malloc((size_t)P * sizeof(float)))
          : !o->top && !(o->top = wb_malloc((size_t)P * sizeof(double))))
        return luaL_error(L, "out of memory for a vector of %d parameters", (int)P);
    wb_err err;
    int red = f && o->use_red;
    if (lua_isboolean(L, 4) && !lua_toboolean(L, 4)) {
        o->held = 0, o->topn = 0;
    } else if (!lua_isnoneornil(L, 4)) {
        checklist(L, o, 4, f ? NULL : o->top, f ? o->topf : NULL);
        o->held = f ? TOP_F : TOP_D, o->topn = 0;
    } else if (o->held == TOP_R && !red) { /* mapped out, for the whole engine */
        if (!o->topf && !(o->topf = wb_malloc((size_t)P * sizeof(float))))
            return luaL_error(L, "out of memory for a vector of %d parameters", (int)P);
        if (wb_hvp_red_vector(o->red, o->topf, &o->topn, &err))
            return lwb_raise(L, 0, &err);
        o->held = TOP_F;
    }
    if (f && o->held == TOP_D) { /* the other kind's start */
        for (int64_t i = 0; i < P; i++)
            o->topf[i] = (float)o->top[i];
        o->held = TOP_F, o->topn = 0;
    } else if (!f && o->held == TOP_F) {
        for (int64_t i = 0; i < P; i++)
            o->top[i] = o->topf[i];
        o->held = TOP_D;
    }
    int have = o->held != 0, given = !lua_isnoneornil(L, 6);
    double value, resid;
    int steps;
    wb_status st;
    if (given) /* the batch gradient (else computed) */
        checklist(L, o, 6, f ? NULL : o->v, NULL);
    if (red) /* the batch gradient is the reduced engine's own; the start the
              * vector it kept, or topf (given, or the whole engine's) */
        st = wb_hvp_red_top(o->red, max_iter, tol, gmix, o->held == TOP_F ? o->topf : NULL,
                            o->held == TOP_R, &o->rng, &value, &resid, &steps, &err);
    else if (f)
        st = wb_hvp_top_f32(o->h, max_iter, tol, gmix, given ? o->gp : NULL, o->gn,
                            o->nparam, o->topf, &o->topn, have, &o->rng, &value, &resid,
                            &steps, &err);
    else
        st = wb_hvp_top_g(o->h, 0, P, max_iter, tol, gmix, given ? o->v : NULL, o->top,
                          have, &o->rng, &value, &resid, &steps, &err);
    /* on failure its contents are no longer a start */
    o->held = st ? 0 : red ? TOP_R : f ? TOP_F : TOP_D;
    if (st)
        return lwb_raise(L, 0, &err);
    lua_pushnumber(L, value);
    lua_pushnumber(L, resid);
    lua_pushinteger(L, steps);
    return 3;
}

/* op:reduced() -> whether op:top works in the first Dense's row space on
 * the batch reset last (made with reduce, params given, few enough rows) */
static int hop_reduced(lua_State *L)
{
    lua_pushboolean(L, checkop(L)->use_red);
    return 1;
}

/* op:top_vector() -> list (nil before the first op:top) */
static int hop_top_vector(lua_State *L)
{
    hop *o = checkop(L);
    if (!o->held)
        return 0;
    if (o->held == TOP_R) { /* mapped out, and still kept where it is */
        int64_t P = wb_hvp_numel(o->h);
        wb_err err;
        if (!o->topf && !(o->topf = wb_malloc((size_t)P * sizeof(float))))
            return luaL_error(L, "out of memory for a vector of %d parameters", (int)P);
        if (wb_hvp_red_vector(o->red, o->topf, &o->topn, &err))
            return lwb_raise(L, 0, &err);
    }
    if (o->held == TOP_D)
        pushlist(L, o, o->top);
    else
        pushlist_f(L, o, NULL, o->topf, (float)(1 / o->topn));
    return 1;
}

/* op:trace(probes, layer|nil) -> mean, stderr */
static int hop_trace(lua_State *L)
{
    hop *o = checkop(L);
    int probes = (int)lwb_checkinteger(L, 2);
    int64_t first, count;
    block(L, o, 3, &first, &count);
    double mean, se;
    wb_err err;
    if (wb_hvp_trace(o->h, first, count, probes, &o->rng, &mean, &se, &err))
        return lwb_raise(L, 2, &err);
    lua_pushnumber(L, mean);
    lua_pushnumber(L, se);
    return 2;
}

/* op:slq(probes, steps, layer|nil) -> nodes, weights (lists of lists) */
static int hop_slq(lua_State *L)
{
    hop *o = checkop(L);
    int probes = (int)lwb_checkinteger(L, 2), steps = (int)lwb_checkinteger(L, 3);
    lwb_argcheck(L, probes >= 1 && probes <= 100000, 2, "expected 1..100000");
    lwb_argcheck(L, steps >= 1 && steps <= 100000, 3, "expected 1..100000");
    int64_t first, count;
    block(L, o, 4, &first, &count);
    size_t cells = (size_t)probes * (size_t)steps;
    double *nodes = scratch(L, cells * sizeof(double));
    double *wts = scratch(L, cells * sizeof(double));
    int *taken = scratch(L, (size_t)probes * sizeof(int));
    wb_err err;
    if (wb_hvp_slq(o->h, first, count, probes, steps, &o->rng, nodes, wts, taken,
                   &err))
        return lwb_raise(L, 0, &err);
    for (int which = 0; which < 2; which++) {
        const double *src = which ? wts : nodes;
        lua_createtable(L, probes, 0);
        for (int p = 0; p < probes; p++) {
            lua_createtable(L, taken[p], 0);
            for (int i = 0; i < taken[p]; i++) {
                lua_pushnumber(L, src[(size_t)p * (size_t)steps + (size_t)i]);
                lua_rawseti(L, -2, i + 1);
            }
            lua_rawseti(L, -2, p + 1);
        }
    }
    return 2;
}

/* op:full() -> float32 [P, P], column j = H e_j */
static int hop_full(lua_State *L)
{
    hop *o = checkop(L);
    int64_t P = wb_hvp_numel(o->h), shape[2] = {P, P};
    wb_err err;
    lwb_tensor_box *b = lwb_newtensorbox(L);
    if (!(b->t = wb_tensor_new(WB_F32, 2, shape, &err)))
        return lwb_raise(L, 0, &err);
    lwb_gc_hint(L, (size_t)(P * P) * sizeof(float));
    float *H = wb_tensor_f32(b->t);
    memset(o->v, 0, (size_t)P * sizeof(double));
    for (int64_t j = 0; j < P; j++) {
        o->v[j] = 1;
        if (wb_hvp_apply(o->h, o->v, o->hv, &err))
            return lwb_raise(L, 0, &err);
        o->v[j] = 0;
        for (int64_t i = 0; i < P; i++)
            H[i * P + j] = (float)o->hv[i];
    }
    return 1;
}

static int hop_numel(lua_State *L)
{
    lua_pushinteger(L, wb_hvp_numel(checkop(L)->h));
    return 1;
}

static int hop_count(lua_State *L)
{
    lua_pushinteger(L, wb_hvp_count(checkop(L)->h));
    return 1;
}

static int hop_tostring(lua_State *L)
{
    hop *o = lwb_checkudata(L, 1, LWB_HOP);
    if (!o->h)
        lua_pushliteral(L, "HessianOperator(released)");
    else
        lua_pushfstring(L, "HessianOperator(%I parameters, %I products)",
                        (lua_Integer)wb_hvp_numel(o->h), (lua_Integer)wb_hvp_count(o->h));
    return 1;
}

int lwb_open_hessian(lua_State *L)
{
    static const luaL_Reg meta[] = {
        {"__gc", hop_gc}, {"__close", hop_gc}, {"__tostring", hop_tostring}, {NULL, NULL},
    };
    static const luaL_Reg methods[] = {
        {"hvp", hop_hvp}, {"reset", hop_reset}, {"loss_grad", hop_loss_grad}, {"eigs", hop_eigs},
        {"trace", hop_trace}, {"slq", hop_slq}, {"full", hop_full}, {"numel", hop_numel},
        {"count", hop_count}, {"free", hop_gc}, {"top", hop_top},
        {"top_vector", hop_top_vector}, {"reduced", hop_reduced}, {NULL, NULL},
    };
    int wb = lua_absindex(L, 1);
    luaL_newmetatable(L, LWB_HOP);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lwb_subtable(L, wb, "hessian");
    lua_pushcfunction(L, l_operator);
    lua_setfield(L, -2, "Operator");
    lua_pop(L, 1);
    return 0;
}
