/* l_nn.c - Lua bindings for the layers and loss (wb.nn) and the global RNG.
 *
 * Classes (metatables): wb.Dense, wb.Dropout, wb.Activation, wb.Flatten,
 * wb.SparseCrossEntropy. Each userdata is a box holding one core object; __gc
 * and __close are the same idempotent release; a released layer raises
 * "attempt to use a released layer". The scaffolding of each class
 * (metatable, fields, tostring, gc) comes from one descriptor table,
 * classes[]. Layers follow the protocol wb.nn.Sequential calls: forward,
 * backward, parameters, zero_grad, l2_penalty (Dense also backward_logits
 * and logits).
 *
 * Returned tensors are views of layer-owned buffers, valid until the next call
 * on the layer. To make no garbage per training step, each returned view is a
 * tensor userdata cached in a user value of the layer and handed out again
 * while it still views the same storage, offset and shape; it is recreated
 * only when the batch size changes or a buffer grew (or the user freed it).
 * So `y1 = l:forward(x); y2 = l:forward(x)` gives the same object twice:
 * :clone() what must be kept. Parameter fields (.weight ...) are cached the
 * same way, so layer.weight == layer.weight, and each holds its own storage
 * reference (it outlives the layer).
 *
 * Also here: wb.seed, wb.rand, wb.randn, wb.randperm on the one global
 * generator (core/rng.h, seed 0 at start-up) that Dense initialisation and
 * Dropout masks draw from.
 */
#include <stdio.h>
#include <string.h>

#include "lwb.h"

#include "../core/dense.h"
#include "../core/dropout.h"
#include "../core/flatten.h"
#include "../core/loss.h"
#include "../core/rng.h"

#define LWB_DENSE "wb.Dense"
#define LWB_DROPOUT "wb.Dropout"
#define LWB_ACTIVATION "wb.Activation"
#define LWB_FLATTEN "wb.Flatten"
#define LWB_SCE "wb.SparseCrossEntropy"

/* User value slots of the layer userdata (cached tensor userdata). */
enum { UV_OUT = 1, UV_GRAD_IN, UV_LOGITS, UV_WEIGHT, UV_BIAS, UV_GWEIGHT, UV_GBIAS,
       UV_COUNT = UV_GBIAS };

typedef struct layer_box {
    void *p; /* the core object; NULL once released */
} layer_box;

/* {==================== shared helpers ==================== */

static void *checklayer(lua_State *L, int idx, const char *tname)
{
    layer_box *b = lwb_checkudata(L, idx, tname);
    if (!b->p)
        luaL_error(L, "attempt to use a released layer");
    return b->p;
}

static layer_box *newbox(lua_State *L, const char *tname)
{
    layer_box *b = lua_newuserdatauv(L, sizeof *b, UV_COUNT);
    b->p = NULL;
    luaL_setmetatable(L, tname);
    return b;
}

/* Raise a core failure: argument `pos` is at fault for bad values and
 * shapes; out-of-order calls and out-of-memory are plain errors. Where the
 * Lua call mirrors the C signature, pos is err->arg (see err.h). */
static int fail(lua_State *L, int pos, const wb_err *err)
{
    int arg = err->code == WB_EINVAL || err->code == WB_ESHAPE || err->code == WB_ERANGE;
    return lwb_raise(L, arg ? pos : 0, err);
}

/* Push a tensor userdata viewing `buf` from its start with shape (ndim,
 * shape), reusing the one cached in user value `slot` of the userdata at
 * `owner` while it views exactly that. */
static void push_view(lua_State *L, int owner, int slot, const wb_tensor *buf, int ndim,
                      const int64_t *shape)
{
    owner = lua_absindex(L, owner);
    lua_getiuservalue(L, owner, slot);
    lwb_tensor_box *b = luaL_testudata(L, -1, LWB_TENSOR);
    if (b && b->t && b->t->storage == buf->storage && b->t->offset == buf->offset &&
        b->t->dtype == buf->dtype && b->t->ndim == ndim &&
        memcmp(b->t->shape, shape, (size_t)ndim * sizeof *shape) == 0)
        return;
    lua_pop(L, 1);
    wb_err err;
    lwb_tensor_box *nb = lwb_newtensorbox(L);
    nb->t = wb_tensor_view(buf, 0, ndim, shape, &err);
    if (!nb->t)
        lwb_raise(L, 0, &err);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, owner, slot);
}

/* The rows [0, n) of a 2-D buffer [cap, cols]. */
static void push_rows(lua_State *L, int owner, int slot, const wb_tensor *buf, int64_t n)
{
    int64_t shape[2] = {n, buf->shape[1]};
    push_view(L, owner, slot, buf, 2, shape);
}

static int need_grad_input(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? 1 : lua_toboolean(L, idx);
}

/* One class: what differs between the layer types. The metatable, __index
 * (methods, then `kind`, then the class's fields), __newindex, __tostring,
 * __gc, __close and free are built from it by newclass. */
typedef struct layer_class {
    const char *tname;                     /* metatable name, "wb.Dense" */
    const char *kind;                      /* the kind field, the name in wb.nn */
    lua_CFunction new;                     /* wb.nn.<kind>(...) */
    void (*free)(void *p);                 /* the core release */
    void (*str)(lua_State *L, void *p);    /* push "Kind(...)" of a live layer;
                                              NULL: "Kind()" */
    int (*fields)(lua_State *L, void *p);  /* push field [key at index 2] and
                                              return 1, or 0; NULL: kind only */
    const char *const *field_names;        /* what fields answers, NULL-ended */
    const luaL_Reg *methods;               /* the class's own methods */
    int no_params;                         /* add the parameter-free protocol */
} layer_class;

#define CLASS(L) ((const layer_class *)lua_touserdata(L, lua_upvalueindex(1)))

static int layer_gc(lua_State *L)
{
    layer_box *b = lwb_checkudata(L, 1, CLASS(L)->tname);
    CLASS(L)->free(b->p);
    b->p = NULL;
    return 0;
}

static int layer_tostring(lua_State *L)
{
    layer_box *b = lwb_checkudata(L, 1, CLASS(L)->tname);
    if (b->p && CLASS(L)->str)
        CLASS(L)->str(L, b->p);
    else
        lua_pushfstring(L, b->p ? "%s()" : "%s(released)", CLASS(L)->kind);
    return 1;
}

/* __index: methods (upvalue 2) first, then kind and the class's fields. */
static int layer_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) != LUA_TNIL)
        return 1;
    lua_pop(L, 1);
    const layer_class *c = CLASS(L);
    if (lua_type(L, 2) != LUA_TSTRING)
        return lwb_no_field(L, lua_pushfstring(L, "wb.nn.%s", c->kind), 0);
    void *p = checklayer(L, 1, c->tname);
    if (strcmp(lua_tostring(L, 2), "kind") == 0)
        lua_pushstring(L, c->kind);
    else if (!c->fields || !c->fields(L, p)) /* dense.wieght: an error */
        return lwb_no_field(L, lua_pushfstring(L, "wb.nn.%s", c->kind), 0);
    return 1;
}

static int layer_newindex(lua_State *L)
{
    const char *key = luaL_tolstring(L, 2, NULL);
    return luaL_error(L, "cannot set field '%s' of %s (layer fields are read-only)", key,
                      luaL_tolstring(L, 1, NULL));
}

/* No parameters: parameters() -> {}, {}; zero_grad() -> self; penalty 0. */
static int l_noparams(lua_State *L)
{
    lua_newtable(L);
    lua_newtable(L);
    return 2;
}

static int l_noop_self(lua_State *L)
{
    lua_settop(L, 1);
    return 1;
}

static int l_zero(lua_State *L)
{
    lua_pushnumber(L, 0);
    return 1;
}

/* The metatable of class c, left registered under c->tname. */
static void newclass(lua_State *L, const layer_class *c)
{
    static const luaL_Reg meta[] = {
        {"__tostring", layer_tostring}, {"__gc", layer_gc}, {"__close", layer_gc},
        {"__newindex", layer_newindex}, {NULL, NULL},
    };
    static const luaL_Reg no_params[] = {
        {"parameters", l_noparams}, {"zero_grad", l_noop_self}, {"l2_penalty", l_zero},
        {NULL, NULL},
    };
    luaL_newmetatable(L, c->tname);
    lua_pushlightuserdata(L, (void *)c);
    luaL_setfuncs(L, meta, 1);
    lua_newtable(L); /* methods */
    luaL_setfuncs(L, c->methods, 0);
    if (c->no_params)
        luaL_setfuncs(L, no_params, 0);
    lua_pushlightuserdata(L, (void *)c);
    lua_pushcclosure(L, layer_gc, 1);
    lua_setfield(L, -2, "free");
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods"); /* for the REPL's tab completion */
    /* the fields' names too (Tab never calls __index): {name = true} */
    lua_newtable(L);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "kind");
    for (const char *const *f = c->field_names; f && *f; f++) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, *f);
    }
    lua_setfield(L, -3, "__fields");
    lua_pushlightuserdata(L, (void *)c);
    lua_insert(L, -2);
    lua_pushcclosure(L, layer_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

/* }==================== */

/* {==================== Dense ==================== */

static const char *const dense_keys[] = {"activation", "bias", "init", "l2", NULL};

/* Read opts (table at idx, or none/nil) into o; strings stay on the stack. A
 * mistake in them is an input error (lwb_input_argerror), as Lua's option
 * checks raise (wb/args.lua). */
static void dense_opts(lua_State *L, int idx, wb_dense_opts *o)
{
    *o = wb_dense_defaults();
    if (lua_isnoneornil(L, idx))
        return;
    if (lua_type(L, idx) == LUA_TSTRING) /* Keras's Dense(64, "relu") */
        lwb_input_argerror(L, idx, "wb.nn.Dense", lua_pushfstring(L, "options go in a table: "
                           "{activation = \"%s\"}", lua_tostring(L, idx)));
    if (!lua_istable(L, idx))
        lwb_input_argerror(L, idx, "wb.nn.Dense", lua_pushfstring(L, "expected a table of options "
                           "{activation, bias, init, l2}, got %s", luaL_typename(L, idx)));
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int k = -1;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int i = 0; dense_keys[i]; i++)
                if (strcmp(lua_tostring(L, -2), dense_keys[i]) == 0)
                    k = i;
        if (k < 0)
            lwb_input_argerror(L, idx, "wb.nn.Dense", lua_pushfstring(L, "unknown option '%s' "
                               "(valid: activation, bias, init, l2)",
                               luaL_tolstring(L, -2, NULL)));
        int want[] = {LUA_TSTRING, LUA_TBOOLEAN, LUA_TSTRING, LUA_TNUMBER};
        if (lua_type(L, -1) != want[k])
            lwb_input_argerror(L, idx, "wb.nn.Dense", lua_pushfstring(L, "option '%s': expected a "
                               "%s, got %s", dense_keys[k], lua_typename(L, want[k]),
                               luaL_typename(L, -1)));
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "activation") == LUA_TSTRING)
        o->activation = lua_tostring(L, -1); /* stays on the stack */
    if (lua_getfield(L, idx, "init") == LUA_TSTRING)
        o->init = lua_tostring(L, -1);
    if (lua_getfield(L, idx, "l2") == LUA_TNUMBER)
        o->l2 = lua_tonumber(L, -1);
    if (lua_getfield(L, idx, "bias") == LUA_TBOOLEAN)
        o->use_bias = lua_toboolean(L, -1);
}

/* wb.nn.Dense(n_in, n_out [, opts]) */
static int l_dense(lua_State *L)
{
    lua_Integer n_in = lwb_checkinteger(L, 1), n_out = lwb_checkinteger(L, 2);
    lwb_no_extra(L, 3, "wb.nn.Dense(n_in, n_out, opts) takes options in one table "
                 "{activation, bias, init, l2}");
    wb_dense_opts o;
    dense_opts(L, 3, &o);
    layer_box *b = newbox(L, LWB_DENSE);
    wb_err err;
    b->p = wb_dense_new(n_in, n_out, &o, wb_rng_global(), &err);
    if (!b->p && err.arg == 3 && err.code == WB_EINVAL) /* an option's value: as its type */
        return lwb_input_argerror(L, 3, "wb.nn.Dense", err.msg);
    if (!b->p && err.code == WB_EINVAL && (err.arg == 1 || err.arg == 2))
        return lwb_argerror(L, err.arg, err.msg); /* n_in, n_out: a size < 1, in the call */
    if (!b->p)
        return fail(L, err.arg, &err);
    lwb_gc_hint(L, 2 * (size_t)n_in * (size_t)n_out * sizeof(float));
    return 1;
}

static int dense_forward(lua_State *L)
{
    wb_dense *d = checklayer(L, 1, LWB_DENSE);
    const wb_tensor *x = lwb_checktensor(L, 2);
    wb_err err;
    if (wb_dense_forward(d, x, &err))
        return fail(L, 2, &err);
    push_rows(L, 1, UV_OUT, wb_dense_output(d), d->n_batch);
    return 1;
}

static int dense_backward_common(lua_State *L, int logits)
{
    wb_dense *d = checklayer(L, 1, LWB_DENSE);
    const wb_tensor *x = lwb_checktensor(L, 2), *g = lwb_checktensor(L, 3);
    int need = need_grad_input(L, 4);
    wb_err err;
    wb_status st = logits ? wb_dense_backward_logits(d, x, g, need, &err)
                          : wb_dense_backward(d, x, g, need, &err);
    if (st)
        return fail(L, err.arg, &err); /* self, x, grad: as in C */
    if (!need)
        return 0;
    push_rows(L, 1, UV_GRAD_IN, wb_dense_grad_input(d), d->n_batch);
    return 1;
}

static int dense_backward(lua_State *L) { return dense_backward_common(L, 0); }
static int dense_backward_logits(lua_State *L) { return dense_backward_common(L, 1); }

static int dense_logits(lua_State *L)
{
    wb_dense *d = checklayer(L, 1, LWB_DENSE);
    if (d->n_batch < 0)
        return luaL_error(L, "logits called before forward");
    push_rows(L, 1, UV_LOGITS, wb_dense_logits(d), d->n_batch);
    return 1;
}

/* A parameter tensor as a cached full view. */
static void push_param(lua_State *L, int owner, int slot, const wb_tensor *t)
{
    if (t)
        push_view(L, owner, slot, t, t->ndim, t->shape);
    else
        lua_pushnil(L);
}

static int dense_parameters(lua_State *L)
{
    wb_dense *d = checklayer(L, 1, LWB_DENSE);
    lua_createtable(L, 2, 0);
    push_param(L, 1, UV_WEIGHT, d->weight);
    lua_rawseti(L, -2, 1);
    if (d->bias) {
        push_param(L, 1, UV_BIAS, d->bias);
        lua_rawseti(L, -2, 2);
    }
    lua_createtable(L, 2, 0);
    push_param(L, 1, UV_GWEIGHT, d->grad_weight);
    lua_rawseti(L, -2, 1);
    if (d->grad_bias) {
        push_param(L, 1, UV_GBIAS, d->grad_bias);
        lua_rawseti(L, -2, 2);
    }
    return 2;
}

static int dense_zero_grad(lua_State *L)
{
    wb_dense_zero_grad(checklayer(L, 1, LWB_DENSE));
    lua_settop(L, 1);
    return 1;
}

static int dense_l2_penalty(lua_State *L)
{
    lua_pushnumber(L, wb_dense_l2_penalty(checklayer(L, 1, LWB_DENSE)));
    return 1;
}

static const char *const dense_field_names[] = {"n_in", "n_out", "activation", "l2",
    "use_bias", "init", "weight", "bias", "grad_weight", "grad_bias", NULL};

static int dense_fields(lua_State *L, void *p)
{
    wb_dense *d = p;
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "n_in") == 0)
        lua_pushinteger(L, d->n_in);
    else if (strcmp(k, "n_out") == 0)
        lua_pushinteger(L, d->n_out);
    else if (strcmp(k, "activation") == 0)
        lua_pushstring(L, wb_act_name(d->act));
    else if (strcmp(k, "l2") == 0)
        lua_pushnumber(L, d->l2);
    else if (strcmp(k, "use_bias") == 0)
        lua_pushboolean(L, d->use_bias);
    else if (strcmp(k, "init") == 0)
        lua_pushstring(L, wb_init_name(d->init));
    else if (strcmp(k, "weight") == 0)
        push_param(L, 1, UV_WEIGHT, d->weight);
    else if (strcmp(k, "bias") == 0)
        push_param(L, 1, UV_BIAS, d->bias);
    else if (strcmp(k, "grad_weight") == 0)
        push_param(L, 1, UV_GWEIGHT, d->grad_weight);
    else if (strcmp(k, "grad_bias") == 0)
        push_param(L, 1, UV_GBIAS, d->grad_bias);
    else
        return 0;
    return 1;
}

/* Two layers that train differently print differently: no bias and L2 are
 * shown when set (they were not: a new user's audit, tryS F4). */
static void dense_str(lua_State *L, void *p)
{
    wb_dense *d = p;
    char l2[48] = "";
    if (d->l2 > 0)
        snprintf(l2, sizeof l2, ", l2 %.9g", d->l2);
    lua_pushfstring(L, "Dense(%I -> %I, %s%s%s)", (lua_Integer)d->n_in, (lua_Integer)d->n_out,
                    wb_act_name(d->act), d->use_bias ? "" : ", no bias", l2);
}

static const luaL_Reg dense_methods[] = {
    {"forward", dense_forward}, {"backward", dense_backward},
    {"backward_logits", dense_backward_logits}, {"logits", dense_logits},
    {"parameters", dense_parameters}, {"zero_grad", dense_zero_grad},
    {"l2_penalty", dense_l2_penalty}, {NULL, NULL},
};

/* }==================== */

/* {==================== Dropout ==================== */

/* wb.nn.Dropout(rate) */
static int l_dropout(lua_State *L)
{
    lua_Number rate = lwb_checknumber(L, 1);
    lwb_no_extra(L, 1, "wb.nn.Dropout(rate) takes the rate only (Keras's noise_shape and "
                 "seed are not supported: masks come from the global generator, wb.seed)");
    layer_box *b = newbox(L, LWB_DROPOUT);
    wb_err err;
    if (!(b->p = wb_dropout_new(rate, &err)) && err.code == WB_EINVAL) /* as Dense's */
        return lwb_input_argerror(L, 1, "wb.nn.Dropout", err.msg);
    if (!b->p)
        return fail(L, 1, &err);
    return 1;
}

/* forward(x, training): training draws a mask; otherwise returns x itself */
static int dropout_forward(lua_State *L)
{
    wb_dropout *d = checklayer(L, 1, LWB_DROPOUT);
    const wb_tensor *x = lwb_checktensor(L, 2);
    wb_err err;
    if (wb_dropout_forward(d, x, lua_toboolean(L, 3), wb_rng_global(), &err))
        return fail(L, 2, &err);
    if (d->masked)
        push_view(L, 1, UV_OUT, wb_dropout_output(d), d->ndim, d->shape);
    else
        lua_pushvalue(L, 2);
    return 1;
}

/* backward(x, grad_y [, need]): grad_y * mask, or grad_y itself at inference */
static int dropout_backward(lua_State *L)
{
    wb_dropout *d = checklayer(L, 1, LWB_DROPOUT);
    lwb_checktensor(L, 2);
    const wb_tensor *g = lwb_checktensor(L, 3);
    int need = need_grad_input(L, 4);
    wb_err err;
    if (wb_dropout_backward(d, g, need, &err))
        return fail(L, 3, &err);
    if (!need)
        return 0;
    if (d->masked)
        push_view(L, 1, UV_GRAD_IN, wb_dropout_grad_input(d), d->ndim, d->shape);
    else
        lua_pushvalue(L, 3);
    return 1;
}

static int dropout_fields(lua_State *L, void *p)
{
    if (strcmp(lua_tostring(L, 2), "rate") != 0)
        return 0;
    lua_pushnumber(L, ((wb_dropout *)p)->rate);
    return 1;
}

static void dropout_str(lua_State *L, void *p)
{
    char buf[64];
    snprintf(buf, sizeof buf, "Dropout(%g)", ((wb_dropout *)p)->rate);
    lua_pushstring(L, buf);
}

static const luaL_Reg dropout_methods[] = {
    {"forward", dropout_forward}, {"backward", dropout_backward}, {NULL, NULL},
};

/* }==================== */

/* {==================== Activation ==================== */

/* wb.nn.Activation(name) */
static int l_activation(lua_State *L)
{
    const char *name = lwb_checkstring(L, 1);
    lwb_no_extra(L, 1, "wb.nn.Activation(name) takes the name only");
    layer_box *b = newbox(L, LWB_ACTIVATION);
    wb_err err;
    if (!(b->p = wb_activation_new(name, &err)) && err.code == WB_EINVAL) /* as Dense's */
        return lwb_input_argerror(L, 1, "wb.nn.Activation", err.msg);
    if (!b->p)
        return fail(L, 1, &err);
    return 1;
}

static int activation_forward(lua_State *L)
{
    wb_activation *a = checklayer(L, 1, LWB_ACTIVATION);
    const wb_tensor *x = lwb_checktensor(L, 2);
    wb_err err;
    if (wb_activation_forward(a, x, &err))
        return fail(L, 2, &err);
    push_view(L, 1, UV_OUT, wb_activation_output(a), a->ndim, a->shape);
    return 1;
}

static int activation_backward(lua_State *L)
{
    wb_activation *a = checklayer(L, 1, LWB_ACTIVATION);
    const wb_tensor *x = lwb_checktensor(L, 2), *g = lwb_checktensor(L, 3);
    int need = need_grad_input(L, 4);
    wb_err err;
    if (wb_activation_backward(a, x, g, need, &err))
        return fail(L, err.arg, &err);
    if (!need)
        return 0;
    push_view(L, 1, UV_GRAD_IN, wb_activation_grad_input(a), a->ndim, a->shape);
    return 1;
}

static int activation_fields(lua_State *L, void *p)
{
    if (strcmp(lua_tostring(L, 2), "activation") != 0)
        return 0;
    lua_pushstring(L, wb_act_name(((wb_activation *)p)->act));
    return 1;
}

static void activation_str(lua_State *L, void *p)
{
    lua_pushfstring(L, "Activation(%s)", wb_act_name(((wb_activation *)p)->act));
}

static const luaL_Reg activation_methods[] = {
    {"forward", activation_forward}, {"backward", activation_backward}, {NULL, NULL},
};

/* }==================== */

/* {==================== Flatten ==================== */

static int l_flatten(lua_State *L)
{
    lwb_no_extra(L, 0, "wb.nn.Flatten() takes no argument");
    layer_box *b = newbox(L, LWB_FLATTEN);
    wb_err err;
    if (!(b->p = wb_flatten_new(&err)))
        return fail(L, 0, &err);
    return 1;
}

/* forward(x): float x -> a reshaped view of x; uint8 x -> x / 255 (a buffer) */
static int flatten_forward(lua_State *L)
{
    wb_flatten *f = checklayer(L, 1, LWB_FLATTEN);
    const wb_tensor *x = lwb_checktensor(L, 2);
    wb_err err;
    if (wb_flatten_forward(f, x, &err))
        return fail(L, 2, &err);
    push_view(L, 1, UV_OUT, f->in_u8 ? f->buf : x, 2, f->out_shape);
    return 1;
}

/* backward(x, grad_y [, need]): grad_y viewed with x's shape; nil for uint8 */
static int flatten_backward(lua_State *L)
{
    wb_flatten *f = checklayer(L, 1, LWB_FLATTEN);
    lwb_checktensor(L, 2);
    const wb_tensor *g = lwb_checktensor(L, 3);
    wb_err err;
    if (wb_flatten_backward(f, g, &err))
        return fail(L, 3, &err);
    if (!need_grad_input(L, 4) || f->in_u8)
        return 0;
    push_view(L, 1, UV_GRAD_IN, g, f->ndim, f->shape);
    return 1;
}

static const luaL_Reg flatten_methods[] = {
    {"forward", flatten_forward}, {"backward", flatten_backward}, {NULL, NULL},
};

/* }==================== */

/* {==================== SparseCrossEntropy ==================== */

static int l_sce(lua_State *L)
{
    lwb_no_extra(L, 0, "wb.nn.SparseCrossEntropy() takes no argument");
    layer_box *b = newbox(L, LWB_SCE);
    wb_err err;
    if (!(b->p = wb_sce_new(&err)))
        return fail(L, 0, &err);
    return 1;
}

/* forward(logits, labels [, scores]) -> mean loss, number of correct argmax
 * predictions (of scores when given: a softmax head's probabilities) */
static int sce_forward(lua_State *L)
{
    wb_sce *ce = checklayer(L, 1, LWB_SCE);
    const wb_tensor *z = lwb_checktensor(L, 2), *t = lwb_checktensor(L, 3);
    const wb_tensor *s = lua_isnoneornil(L, 4) ? NULL : lwb_checktensor(L, 4);
    double loss;
    int64_t correct;
    wb_err err;
    if (wb_sce_forward_scored(ce, z, t, s, &loss, &correct, &err))
        return fail(L, err.arg, &err); /* self, logits, labels, scores: as in C */
    lua_pushnumber(L, loss);
    lua_pushinteger(L, correct);
    return 2;
}

/* backward() -> (softmax - onehot) / n, [n, C] */
static int sce_backward(lua_State *L)
{
    wb_sce *ce = checklayer(L, 1, LWB_SCE);
    const wb_tensor *g;
    wb_err err;
    if (wb_sce_backward(ce, &g, &err))
        return fail(L, 0, &err);
    int64_t shape[2] = {ce->n_batch, ce->n_classes};
    push_view(L, 1, UV_OUT, g, 2, shape);
    return 1;
}

static const luaL_Reg sce_methods[] = {
    {"forward", sce_forward}, {"backward", sce_backward}, {NULL, NULL},
};

/* }==================== */

/* {==================== global generator ==================== */

/* wb.seed(n): reseed the global generator (integers; negatives wrap). */
static int l_seed(lua_State *L)
{
    lwb_no_extra(L, 1, "wb.seed(n) takes the seed only");
    wb_rng_seed(wb_rng_global(), (uint64_t)lwb_checkinteger(L, 1));
    return 0;
}

/* wb.rng_state() -> string: the global generator's whole state as 81 hex
 * digits (s[0..3], the cached normal's bits, has_spare), for exact resume. */
static int l_rng_state(lua_State *L)
{
    /* wb.rng_state(saved) reads as a setter: it restored nothing, silently */
    lwb_no_extra(L, 0, "wb.rng_state() takes no argument; wb.set_rng_state(s) restores a state");
    const wb_rng *r = wb_rng_global();
    uint64_t spare;
    memcpy(&spare, &r->spare, sizeof spare);
    char buf[96];
    snprintf(buf, sizeof buf, "%016llx%016llx%016llx%016llx%016llx%d",
             (unsigned long long)r->s[0], (unsigned long long)r->s[1],
             (unsigned long long)r->s[2], (unsigned long long)r->s[3],
             (unsigned long long)spare, r->has_spare ? 1 : 0);
    lua_pushstring(L, buf);
    return 1;
}

/* wb.set_rng_state(s): restores a state from wb.rng_state. */
static int l_set_rng_state(lua_State *L)
{
    lwb_no_extra(L, 1, "wb.set_rng_state(s) takes the state only");
    size_t len;
    const char *str = lwb_checklstring(L, 1, &len);
    unsigned char b[40]; /* five big-endian 64-bit words */
    if (len != 81 || (str[80] != '0' && str[80] != '1') || !lwb_hex_decode(str, 80, b, 40))
        return lwb_argerror(L, 1, "expected a state from wb.rng_state() (81 hex digits)");
    uint64_t v[5] = {0};
    for (int i = 0; i < 40; i++)
        v[i / 8] = v[i / 8] << 8 | b[i];
    wb_rng *r = wb_rng_global();
    memcpy(r->s, v, sizeof r->s);
    memcpy(&r->spare, &v[4], sizeof r->spare);
    r->has_spare = str[80] == '1';
    return 0;
}

static int rand_common(lua_State *L, int normal)
{
    int64_t shape[WB_MAX_DIM];
    int nd = lwb_checkshape(L, 1, shape);
    wb_err err;
    lwb_tensor_box *b = lwb_newtensorbox(L);
    if (!(b->t = wb_tensor_new(WB_F32, nd, shape, &err)))
        return lwb_raise(L, 0, &err);
    size_t n = wb_tensor_numel(b->t);
    if (normal)
        wb_rng_fill_normal(wb_rng_global(), wb_tensor_f32(b->t), n, 0.0, 1.0);
    else
        wb_rng_fill_uniform(wb_rng_global(), wb_tensor_f32(b->t), n, 0.0, 1.0);
    lwb_gc_hint(L, n * sizeof(float));
    return 1;
}

/* wb.rand(shape...): U[0, 1); wb.randn(shape...): N(0, 1); float32 */
static int l_rand(lua_State *L) { return rand_common(L, 0); }
static int l_randn(lua_State *L) { return rand_common(L, 1); }

/* wb.randperm(n): float32 [n] holding 1..n in random order */
static int l_randperm(lua_State *L)
{
    lua_Integer n = lwb_checkinteger(L, 1);
    lwb_argcheck(L, n >= 0 && n <= (1 << 24), 1,
                  "expected a size in 0..16777216 (exact as float32)");
    int64_t shape[1] = {n};
    wb_err err;
    lwb_tensor_box *b = lwb_newtensorbox(L);
    if (!(b->t = wb_tensor_new(WB_F32, 1, shape, &err)))
        return lwb_raise(L, 0, &err);
    wb_rng_permutation_f32(wb_rng_global(), wb_tensor_f32(b->t), (size_t)n, 1);
    lwb_gc_hint(L, (size_t)n * sizeof(float));
    return 1;
}

/* }==================== */

static void dense_free(void *p) { wb_dense_free(p); }
static void dropout_free(void *p) { wb_dropout_free(p); }
static void activation_free(void *p) { wb_activation_free(p); }
static void flatten_free(void *p) { wb_flatten_free(p); }
static void sce_free(void *p) { wb_sce_free(p); }

static const layer_class classes[] = {
    {LWB_DENSE, "Dense", l_dense, dense_free, dense_str, dense_fields, dense_field_names,
     dense_methods, 0},
    {LWB_DROPOUT, "Dropout", l_dropout, dropout_free, dropout_str, dropout_fields,
     (const char *const[]){"rate", NULL}, dropout_methods, 1},
    {LWB_ACTIVATION, "Activation", l_activation, activation_free, activation_str,
     activation_fields, (const char *const[]){"activation", NULL}, activation_methods, 1},
    {LWB_FLATTEN, "Flatten", l_flatten, flatten_free, NULL, NULL, NULL, flatten_methods, 1},
    {LWB_SCE, "SparseCrossEntropy", l_sce, sce_free, NULL, NULL, NULL, sce_methods, 0},
};

int lwb_open_nn(lua_State *L)
{
    int wb = lua_absindex(L, 1);
    static const luaL_Reg rng_funcs[] = {
        {"seed", l_seed}, {"rand", l_rand}, {"randn", l_randn},
        {"randperm", l_randperm}, {"rng_state", l_rng_state},
        {"set_rng_state", l_set_rng_state}, {NULL, NULL},
    };
    lua_pushvalue(L, wb);
    luaL_setfuncs(L, rng_funcs, 0);
    lua_pop(L, 1);

    lwb_subtable(L, wb, "nn");
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        newclass(L, &classes[i]);
        lua_pushcfunction(L, classes[i].new);
        lua_setfield(L, -2, classes[i].kind);
    }
    lua_pop(L, 1);
    return 0;
}
