/* l_nn.c - Lua bindings for the layers and loss (wb.nn) and the global RNG.
 *
 * Classes (metatables): wb.Dense, wb.Dropout, wb.Activation, wb.Flatten,
 * wb.SparseCrossEntropy. Each userdata is a box holding one core object; __gc
 * and __close are the same idempotent release; a released layer raises
 * "attempt to use a released layer". The layer protocol is in
 * /work/notes/protocol.md (forward, backward, parameters, zero_grad,
 * l2_penalty; Dense also backward_logits and logits).
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
    layer_box *b = luaL_checkudata(L, idx, tname);
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
 * shapes; out-of-order calls and out-of-memory are plain errors. */
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

/* Argument position of a backward failure: messages start with the operand. */
static int backward_pos(const wb_err *err)
{
    return strncmp(err->msg, "input", 5) == 0 ? 2 : 3;
}

static int need_grad_input(lua_State *L, int idx)
{
    return lua_isnoneornil(L, idx) ? 1 : lua_toboolean(L, idx);
}

/* __index: methods first, then the class's field getter (upvalue 2). */
static int l_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return 1;
    if (lua_type(L, 2) != LUA_TSTRING)
        return 1; /* nil */
    lua_pop(L, 1);
    return lua_tocfunction(L, lua_upvalueindex(2))(L);
}

static int l_newindex(lua_State *L)
{
    const char *key = luaL_tolstring(L, 2, NULL);
    return luaL_error(L, "cannot set field '%s' of %s (layer fields are read-only)", key,
                      luaL_tolstring(L, 1, NULL));
}

/* Metatable `tname` with methods, a field getter and metamethods. */
static void newclass(lua_State *L, const char *tname, const luaL_Reg *methods,
                     lua_CFunction fields, const luaL_Reg *meta)
{
    luaL_newmetatable(L, tname);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods"); /* for the REPL's tab completion */
    lua_pushcfunction(L, fields);
    lua_pushcclosure(L, l_index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pop(L, 1);
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

/* }==================== */

/* {==================== Dense ==================== */

static const char *const dense_keys[] = {"activation", "bias", "init", "l2", NULL};

/* Read opts (table at idx, or none/nil) into o; strings stay on the stack. */
static void dense_opts(lua_State *L, int idx, wb_dense_opts *o)
{
    *o = wb_dense_defaults();
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int k = -1;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int i = 0; dense_keys[i]; i++)
                if (strcmp(lua_tostring(L, -2), dense_keys[i]) == 0)
                    k = i;
        if (k < 0)
            luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s' (valid keys: "
                          "activation, bias, init, l2)", luaL_tolstring(L, -2, NULL)));
        int want[] = {LUA_TSTRING, LUA_TBOOLEAN, LUA_TSTRING, LUA_TNUMBER};
        if (lua_type(L, -1) != want[k])
            luaL_argerror(L, idx, lua_pushfstring(L, "option '%s': expected a %s, got %s",
                          dense_keys[k], lua_typename(L, want[k]), luaL_typename(L, -1)));
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
    lua_Integer n_in = luaL_checkinteger(L, 1), n_out = luaL_checkinteger(L, 2);
    wb_dense_opts o;
    dense_opts(L, 3, &o);
    layer_box *b = newbox(L, LWB_DENSE);
    wb_err err;
    b->p = wb_dense_new(n_in, n_out, &o, wb_rng_global(), &err);
    if (!b->p) {
        int pos = strncmp(err.msg, "n_in:", 5) == 0    ? 1
                  : strncmp(err.msg, "n_out:", 6) == 0 ? 2
                  : strncmp(err.msg, "weight", 6) == 0 ? 0
                                                       : 3;
        return fail(L, pos, &err);
    }
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
        return fail(L, backward_pos(&err), &err);
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

static int dense_fields(lua_State *L)
{
    wb_dense *d = checklayer(L, 1, LWB_DENSE);
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "kind") == 0)
        lua_pushliteral(L, "Dense");
    else if (strcmp(k, "n_in") == 0)
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
        lua_pushnil(L);
    return 1;
}

static int dense_tostring(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_DENSE);
    wb_dense *d = b->p;
    if (!d)
        lua_pushliteral(L, "Dense(released)");
    else
        lua_pushfstring(L, "Dense(%I -> %I, %s)", (lua_Integer)d->n_in,
                        (lua_Integer)d->n_out, wb_act_name(d->act));
    return 1;
}

static int dense_gc(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_DENSE);
    wb_dense_free(b->p);
    b->p = NULL;
    return 0;
}

static const luaL_Reg dense_methods[] = {
    {"forward", dense_forward}, {"backward", dense_backward},
    {"backward_logits", dense_backward_logits}, {"logits", dense_logits},
    {"parameters", dense_parameters}, {"zero_grad", dense_zero_grad},
    {"l2_penalty", dense_l2_penalty}, {"free", dense_gc}, {NULL, NULL},
};
static const luaL_Reg dense_meta[] = {
    {"__tostring", dense_tostring}, {"__gc", dense_gc}, {"__close", dense_gc},
    {NULL, NULL},
};

/* }==================== */

/* {==================== Dropout ==================== */

/* wb.nn.Dropout(rate) */
static int l_dropout(lua_State *L)
{
    lua_Number rate = luaL_checknumber(L, 1);
    layer_box *b = newbox(L, LWB_DROPOUT);
    wb_err err;
    if (!(b->p = wb_dropout_new(rate, &err)))
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

static int dropout_fields(lua_State *L)
{
    wb_dropout *d = checklayer(L, 1, LWB_DROPOUT);
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "kind") == 0)
        lua_pushliteral(L, "Dropout");
    else if (strcmp(k, "rate") == 0)
        lua_pushnumber(L, d->rate);
    else
        lua_pushnil(L);
    return 1;
}

static int dropout_tostring(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_DROPOUT);
    char buf[64];
    if (b->p)
        snprintf(buf, sizeof buf, "Dropout(%g)", ((wb_dropout *)b->p)->rate);
    else
        snprintf(buf, sizeof buf, "Dropout(released)");
    lua_pushstring(L, buf);
    return 1;
}

static int dropout_gc(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_DROPOUT);
    wb_dropout_free(b->p);
    b->p = NULL;
    return 0;
}

static const luaL_Reg dropout_methods[] = {
    {"forward", dropout_forward}, {"backward", dropout_backward},
    {"parameters", l_noparams}, {"zero_grad", l_noop_self},
    {"l2_penalty", l_zero}, {"free", dropout_gc}, {NULL, NULL},
};
static const luaL_Reg dropout_meta[] = {
    {"__tostring", dropout_tostring}, {"__gc", dropout_gc}, {"__close", dropout_gc},
    {NULL, NULL},
};

/* }==================== */

/* {==================== Activation ==================== */

/* wb.nn.Activation(name) */
static int l_activation(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    layer_box *b = newbox(L, LWB_ACTIVATION);
    wb_err err;
    if (!(b->p = wb_activation_new(name, &err)))
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
        return fail(L, backward_pos(&err), &err);
    if (!need)
        return 0;
    push_view(L, 1, UV_GRAD_IN, wb_activation_grad_input(a), a->ndim, a->shape);
    return 1;
}

static int activation_fields(lua_State *L)
{
    wb_activation *a = checklayer(L, 1, LWB_ACTIVATION);
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "kind") == 0)
        lua_pushliteral(L, "Activation");
    else if (strcmp(k, "activation") == 0)
        lua_pushstring(L, wb_act_name(a->act));
    else
        lua_pushnil(L);
    return 1;
}

static int activation_tostring(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_ACTIVATION);
    lua_pushfstring(L, "Activation(%s)",
                    b->p ? wb_act_name(((wb_activation *)b->p)->act) : "released");
    return 1;
}

static int activation_gc(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_ACTIVATION);
    wb_activation_free(b->p);
    b->p = NULL;
    return 0;
}

static const luaL_Reg activation_methods[] = {
    {"forward", activation_forward}, {"backward", activation_backward},
    {"parameters", l_noparams}, {"zero_grad", l_noop_self},
    {"l2_penalty", l_zero}, {"free", activation_gc}, {NULL, NULL},
};
static const luaL_Reg activation_meta[] = {
    {"__tostring", activation_tostring}, {"__gc", activation_gc},
    {"__close", activation_gc}, {NULL, NULL},
};

/* }==================== */

/* {==================== Flatten ==================== */

static int l_flatten(lua_State *L)
{
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

static int flatten_fields(lua_State *L)
{
    checklayer(L, 1, LWB_FLATTEN);
    if (strcmp(lua_tostring(L, 2), "kind") == 0)
        lua_pushliteral(L, "Flatten");
    else
        lua_pushnil(L);
    return 1;
}

static int flatten_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, LWB_FLATTEN);
    lua_pushliteral(L, "Flatten()");
    return 1;
}

static int flatten_gc(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_FLATTEN);
    wb_flatten_free(b->p);
    b->p = NULL;
    return 0;
}

static const luaL_Reg flatten_methods[] = {
    {"forward", flatten_forward}, {"backward", flatten_backward},
    {"parameters", l_noparams}, {"zero_grad", l_noop_self},
    {"l2_penalty", l_zero}, {"free", flatten_gc}, {NULL, NULL},
};
static const luaL_Reg flatten_meta[] = {
    {"__tostring", flatten_tostring}, {"__gc", flatten_gc}, {"__close", flatten_gc},
    {NULL, NULL},
};

/* }==================== */

/* {==================== SparseCrossEntropy ==================== */

static int l_sce(lua_State *L)
{
    layer_box *b = newbox(L, LWB_SCE);
    wb_err err;
    if (!(b->p = wb_sce_new(&err)))
        return fail(L, 0, &err);
    return 1;
}

/* forward(logits, labels) -> mean loss, number of correct argmax predictions */
static int sce_forward(lua_State *L)
{
    wb_sce *ce = checklayer(L, 1, LWB_SCE);
    const wb_tensor *z = lwb_checktensor(L, 2), *t = lwb_checktensor(L, 3);
    double loss;
    int64_t correct;
    wb_err err;
    if (wb_sce_forward(ce, z, t, &loss, &correct, &err))
        return fail(L, strncmp(err.msg, "labels", 6) == 0 ? 3 : 2, &err);
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

static int sce_fields(lua_State *L)
{
    checklayer(L, 1, LWB_SCE);
    if (strcmp(lua_tostring(L, 2), "kind") == 0)
        lua_pushliteral(L, "SparseCrossEntropy");
    else
        lua_pushnil(L);
    return 1;
}

static int sce_tostring(lua_State *L)
{
    luaL_checkudata(L, 1, LWB_SCE);
    lua_pushliteral(L, "SparseCrossEntropy()");
    return 1;
}

static int sce_gc(lua_State *L)
{
    layer_box *b = luaL_checkudata(L, 1, LWB_SCE);
    wb_sce_free(b->p);
    b->p = NULL;
    return 0;
}

static const luaL_Reg sce_methods[] = {
    {"forward", sce_forward}, {"backward", sce_backward}, {"free", sce_gc},
    {NULL, NULL},
};
static const luaL_Reg sce_meta[] = {
    {"__tostring", sce_tostring}, {"__gc", sce_gc}, {"__close", sce_gc}, {NULL, NULL},
};

/* }==================== */

/* {==================== global generator ==================== */

/* wb.seed(n): reseed the global generator (integers; negatives wrap). */
static int l_seed(lua_State *L)
{
    wb_rng_seed(wb_rng_global(), (uint64_t)luaL_checkinteger(L, 1));
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
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= (1 << 24), 1,
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

int lwb_open_nn(lua_State *L)
{
    int wb = lua_absindex(L, 1);
    newclass(L, LWB_DENSE, dense_methods, dense_fields, dense_meta);
    newclass(L, LWB_DROPOUT, dropout_methods, dropout_fields, dropout_meta);
    newclass(L, LWB_ACTIVATION, activation_methods, activation_fields, activation_meta);
    newclass(L, LWB_FLATTEN, flatten_methods, flatten_fields, flatten_meta);
    newclass(L, LWB_SCE, sce_methods, sce_fields, sce_meta);

    static const luaL_Reg rng_funcs[] = {
        {"seed", l_seed}, {"rand", l_rand}, {"randn", l_randn},
        {"randperm", l_randperm}, {NULL, NULL},
    };
    lua_pushvalue(L, wb);
    luaL_setfuncs(L, rng_funcs, 0);
    lua_pop(L, 1);

    static const luaL_Reg nn_funcs[] = {
        {"Dense", l_dense}, {"Dropout", l_dropout}, {"Activation", l_activation},
        {"Flatten", l_flatten}, {"SparseCrossEntropy", l_sce}, {NULL, NULL},
    };
    lwb_subtable(L, wb, "nn");
    luaL_setfuncs(L, nn_funcs, 0);
    lua_pop(L, 1);
    return 0;
}
