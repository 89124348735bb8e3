/* l_optim.c - Lua bindings for wb.optim: SGD, Adam, AdamW, RMSprop.
 *
 *   local opt = wb.optim.Adam{lr = 1e-3}     -- Keras defaults for the rest
 *   wb.optim.new("sgd", {lr = 0.1, momentum = 0.9})   -- by name
 *   opt:step(params, grads)   -- two lists of float32 tensors -> opt
 *   opt.lr (read/write), opt.name ("adam"), opt.iterations, opt.beta1 ...
 *   opt:config() -> {name =, lr =, ...}; opt:reset() -> opt; tostring(opt)
 *
 * One userdata class "wb.Optimizer" holds a core wb_optim (core/optim.h).
 * Its user value 1 caches a scratch array of tensor pointers for step, so a
 * step after the first allocates nothing, in C or in Lua.
 */
#include <stdio.h>
#include <string.h>

#include "../core/optim.h"
#include "lwb.h"

#define LWB_OPTIM "wb.Optimizer"

typedef struct optbox {
    wb_optim *o; /* NULL once released */
} optbox;

static wb_optim *checkoptim(lua_State *L, int idx)
{
    optbox *b = lwb_checkudata(L, idx, LWB_OPTIM);
    if (!b->o)
        luaL_error(L, "attempt to use a released optimizer");
    return b->o;
}

/* ---- construction ----------------------------------------------------- */

/* Keras's names for options that mean exactly the same, so a Keras user's
 * first script runs (wb.optim.SGD{learning_rate = 0.1}). An alias counts
 * only where its name is an option of the class (no beta_1 for SGD). */
static const char *const aliases[][2] = {
    {"learning_rate", "lr"}, {"beta_1", "beta1"}, {"beta_2", "beta2"}, {"epsilon", "eps"},
};
#define NALIASES (sizeof aliases / sizeof aliases[0])

/* The option index of key (a name or an alias) for kind, or -1. Sets
 * *alias to the alias row when key is one. */
static int findkey(wb_optim_kind kind, const char *key, int *alias)
{
    *alias = -1;
    for (size_t i = 0; i < NALIASES; i++)
        if (strcmp(key, aliases[i][0]) == 0) {
            int k = wb_optim_key_find(kind, aliases[i][1]);
            if (k >= 0)
                *alias = (int)i;
            return k;
        }
    return wb_optim_key_find(kind, key);
}

/* The core's "unknown option" text, then the aliases this class takes. */
static void keyerror(lua_State *L, int idx, wb_optim_kind kind, const char *key)
{
    wb_err err;
    wb_optim_key_error(kind, key, &err);
    size_t used = strlen(err.msg);
    const char *sep = "; Keras names: ";
    for (size_t i = 0; i < NALIASES && used < sizeof err.msg; i++) {
        if (wb_optim_key_find(kind, aliases[i][1]) < 0)
            continue;
        used += (size_t)snprintf(err.msg + used, sizeof err.msg - used, "%s%s = %s", sep,
                                 aliases[i][0], aliases[i][1]);
        sep = ", ";
    }
    lwb_argerror(L, idx, err.msg); /* a misspelt option: a mistake in the call */
}

/* Apply the options table at idx to cfg; errors name the option. */
static void readopts(lua_State *L, int idx, wb_optim_config *cfg)
{
    const char *cls = wb_optim_class_name(cfg->kind);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            lwb_argerror(L, idx, lua_pushfstring(L, "%s: options are named (lr = ...), got "
                          "a %s key", cls, luaL_typename(L, -2)));
        const char *key = lua_tostring(L, -2);
        int alias;
        int k = findkey(cfg->kind, key, &alias);
        if (k < 0)
            keyerror(L, idx, cfg->kind, key);
        if (alias >= 0 && lua_getfield(L, idx, aliases[alias][1]) != LUA_TNIL)
            lwb_argerror(L, idx, lua_pushfstring(L, "%s: options '%s' and '%s' are the same "
                          "(%s is Keras's name for %s); give one", cls, key,
                          aliases[alias][1], key, aliases[alias][1]));
        if (alias >= 0)
            lua_pop(L, 1);
        int want = wb_optim_key_is_bool(cfg->kind, k) ? LUA_TBOOLEAN : LUA_TNUMBER;
        if (lua_type(L, -1) != want)
            lwb_argerror(L, idx, lua_pushfstring(L, "%s: option '%s' must be a %s, got %s",
                          cls, key, lua_typename(L, want), luaL_typename(L, -1)));
        wb_optim_config_set(cfg, k, want == LUA_TBOOLEAN ? lua_toboolean(L, -1)
                                                         : lua_tonumber(L, -1));
        lua_pop(L, 1);
    }
}

static int newoptim(lua_State *L, wb_optim_kind kind, int optidx)
{
    wb_optim_config cfg;
    wb_optim_defaults(kind, &cfg);
    const char *cls = wb_optim_class_name(kind);
    if (lua_type(L, optidx) == LUA_TNUMBER) /* Keras's SGD(0.01): learning_rate */
        lwb_argerror(L, optidx, lua_pushfstring(L, "%s: options are a table, e.g. "
                      "{lr = %s} (Keras's positional learning_rate), got a number", cls,
                      lua_tostring(L, optidx)));
    lwb_no_extra(L, optidx, "an optimizer takes its options in one table {lr = ...}");
    if (!lua_isnoneornil(L, optidx)) {
        lwb_checktype(L, optidx, LUA_TTABLE);
        readopts(L, optidx, &cfg);
    }
    optbox *b = lua_newuserdatauv(L, sizeof *b, 4); /* scratch, theta0, dirs, OWNER */
    b->o = NULL;
    luaL_setmetatable(L, LWB_OPTIM);
    wb_err err;
    b->o = wb_optim_new(&cfg, &err);
    if (!b->o)
        return err.code == WB_EINVAL ? lwb_argerror(L, optidx, err.msg) /* an option's value */
                                     : lwb_raise(L, 0, &err);
    return 1;
}

static int l_sgd(lua_State *L) { return newoptim(L, WB_OPTIM_SGD, 1); }
static int l_adam(lua_State *L) { return newoptim(L, WB_OPTIM_ADAM, 1); }
static int l_adamw(lua_State *L) { return newoptim(L, WB_OPTIM_ADAMW, 1); }
static int l_rmsprop(lua_State *L) { return newoptim(L, WB_OPTIM_RMSPROP, 1); }

static int l_new(lua_State *L)
{
    wb_err err;
    wb_optim_kind kind;
    if (wb_optim_kind_parse(lwb_checkstring(L, 1), &kind, &err))
        return lwb_raise(L, 1, &err);
    return newoptim(L, kind, 2);
}

/* ---- step --------------------------------------------------------------- */

/* Scratch for 2*n tensor pointers, cached in user value 1 of the optimizer
 * at index 1 (grown, once, when a longer list comes). */
static wb_tensor **scratch(lua_State *L, lua_Integer n)
{
    size_t need = 2 * (size_t)n * sizeof(wb_tensor *);
    lua_getiuservalue(L, 1, 1);
    void *p = lua_touserdata(L, -1);
    if (!p || lua_rawlen(L, -1) < need) {
        p = lua_newuserdatauv(L, need, 0);
        lua_setiuservalue(L, 1, 1);
    }
    lua_pop(L, 1);
    return p;
}

/* Fill out[0..n) from the list at idx; what = "parameter" / "gradient". */
static void readlist(lua_State *L, int idx, lua_Integer n, wb_tensor **out,
                     const char *what)
{
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        lwb_tensor_box *b = luaL_testudata(L, -1, LWB_TENSOR);
        if (!b)
            lwb_argerror(L, idx, lua_pushfstring(L, "%s %d: wb.Tensor expected, got %s",
                          what, (int)(i + 1), luaL_typename(L, -1)));
        if (!b->t)
            lwb_argerror(L, idx, lua_pushfstring(L, "%s %d: attempt to use a released "
                          "tensor", what, (int)(i + 1)));
        out[i] = b->t;
        lua_pop(L, 1); /* the list keeps the tensor alive during the call */
    }
}

/* User value OWNER: the first parameter tensor of the state (the one the
 * first step or set_state took). One optimizer stepped for a second model
 * (a loop over seeds that built it once) gave that model the first one's
 * moments and step count, without a word, as long as the shapes matched
 * (tryN 1; fit refuses it first, through _owns). A reference, not an
 * address: another model's tensor may sit where a collected one was. */
#define OWNER 4

/* Raise unless the list of parameters at idx is the state's (or it has none). */
static void check_owner(lua_State *L, wb_optim *o, int idx)
{
    lua_getiuservalue(L, 1, OWNER);
    lua_rawgeti(L, idx, 1);
    int same = lua_isnil(L, -2) || lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!same)
        lwb_argerror(L, idx, lua_pushfstring(L, "parameter 1 is not the tensor this "
                      "optimizer's state is for (%d step%s of other parameters: another "
                      "model's?); reset() it, or give each model an optimizer of its own",
                      (int)wb_optim_iterations(o), wb_optim_iterations(o) == 1 ? "" : "s"));
}

/* The state's parameters are now those of the list at idx (nil: none). */
static void set_owner(lua_State *L, int idx)
{
    if (idx)
        lua_rawgeti(L, idx, 1);
    else
        lua_pushnil(L);
    lua_setiuservalue(L, 1, OWNER);
}

/* opt:_owns(params) -> true, false, or nil when the state has no parameters
 * (new, reset() or set_state with none): whether params' first tensor is the
 * state's. fit asks it before any work to refuse another model's optimizer
 * with fit's words (wb/fit_optimizer.lua); the owner is kept here only. */
static int o_owns(lua_State *L)
{
    checkoptim(L, 1);
    lwb_checktype(L, 2, LUA_TTABLE);
    lwb_no_extra(L, 2, "opt:_owns(params) takes one list");
    if (lua_getiuservalue(L, 1, OWNER) == LUA_TNIL)
        return 1;
    lua_rawgeti(L, 2, 1);
    lua_pushboolean(L, lua_rawequal(L, -1, -2));
    return 1;
}

/* wb.optim._first_nonfinite(params) -> nil, or k, j, v: the first tensor of
 * the list holding a NaN or an infinity, its first such element (1-based,
 * flat) and value. One C call for a model's parameters: fit's check after
 * the user's hooks (wb/fit_finite.lua), which must allocate nothing. */
static int l_first_nonfinite(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    lwb_no_extra(L, 1, "wb.optim._first_nonfinite(params) takes one list");
    lua_Integer n = luaL_len(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        wb_tensor *t = lwb_checktensor(L, -1);
        size_t j = wb_optim_first_nonfinite(t), numel = wb_tensor_numel(t);
        lua_pop(L, 1);
        if (j < numel) {
            lua_pushinteger(L, i);
            lua_pushinteger(L, (lua_Integer)j + 1);
            lua_pushnumber(L, wb_tensor_f32(t)[j]);
            return 3;
        }
    }
    return 0;
}

/* opt:step(params, grads) -> opt */
static int o_step(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    lwb_checktype(L, 2, LUA_TTABLE);
    lwb_checktype(L, 3, LUA_TTABLE);
    lua_Integer np = luaL_len(L, 2), ng = luaL_len(L, 3);
    if (np < 1)
        return lwb_argerror(L, 2, "no parameters to update (empty list)");
    if (ng != np)
        return lwb_argerror(L, 3, lua_pushfstring(L, "%d gradients for %d parameters",
                                                   (int)ng, (int)np));
    if (np > 1 << 20)
        return lwb_argerror(L, 2, "too many parameters");
    wb_tensor **ps = scratch(L, np), **gs = ps + np;
    readlist(L, 2, np, ps, "parameter");
    readlist(L, 3, np, gs, "gradient");
    int fresh = wb_optim_n_params(o) == 0; /* no state yet: this step makes it */
    if (!fresh)
        check_owner(L, o, 2);
    wb_err err;
    if (wb_optim_step(o, (int)np, ps, (const wb_tensor *const *)gs, &err)) {
        /* C (o, n, params, grads) -> Lua (self, params, grads); n is no argument */
        return lwb_raise(L, err.arg >= 3 ? err.arg - 1 : 0, &err);
    }
    if (fresh)
        set_owner(L, 2);
    lua_settop(L, 1);
    return 1;
}

/* ---- the update's sums, for instruments --------------------------------- */

/* opt:_watch(params, theta0 | nil, c | nil [, need]) or opt:_watch(nil):
 * steps armed by opt:_arm() also give the instruments' sums per tensor of
 * params' sizes, with theta0 and c[i] = 2 l2 of each tensor's L2 term;
 * need: the sums to take, letters of "gmdu" (g^2, (g - c theta_t)^2,
 * distance^2, update^2; all when absent) (optim.h wb_optim_watch). The
 * optimizer keeps theta0 alive while it watches. For wb/instruments_fit.lua. */
static int o_watch(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    wb_err err;
    if (lua_isnoneornil(L, 2)) {
        wb_optim_watch(o, 0, NULL, NULL, NULL, 0, NULL);
        lua_pushnil(L);
        lua_setiuservalue(L, 1, 2);
        return 0;
    }
    const char *letters = lwb_optstring(L, 5, "gmdu"), *at;
    int need = 0;
    for (const char *p = letters; *p; p++) {
        if (!(at = strchr("gmdu", *p)))
            return lwb_argerror(L, 5, lua_pushfstring(L, "unknown sum '%c' (expected "
                                                       "letters of \"gmdu\")", *p));
        need |= 1 << (at - "gmdu");
    }
    lwb_checktype(L, 2, LUA_TTABLE);
    int has0 = !lua_isnoneornil(L, 3), hasc = !lua_isnoneornil(L, 4);
    lua_Integer n = luaL_len(L, 2);
    if (n < 1 || n > 1 << 20)
        return lwb_argerror(L, 2, "expected a list of 1 or more parameters");
    for (int a = 3; a <= 4; a++)
        if (a == 3 ? has0 : hasc) {
            lwb_checktype(L, a, LUA_TTABLE);
            if (luaL_len(L, a) != n)
                return lwb_argerror(L, a, lua_pushfstring(L, "%d entries for %d parameters",
                                                           (int)luaL_len(L, a), (int)n));
        }
    wb_tensor **ts = scratch(L, n); /* params, then theta0 */
    readlist(L, 2, n, ts, "parameter");
    if (has0)
        readlist(L, 3, n, ts + n, "theta0");
    size_t *numel = lua_newuserdatauv(L, (size_t)n * (sizeof *numel + sizeof(float *) +
                                                      sizeof(double)), 0);
    double *c = (double *)(numel + n);
    const float **t0 = (const float **)(c + n);
    for (lua_Integer i = 0; i < n; i++) {
        numel[i] = wb_tensor_numel(ts[i]);
        if (hasc) {
            lua_rawgeti(L, 4, i + 1);
            int isnum;
            c[i] = lua_tonumberx(L, -1, &isnum);
            if (!isnum)
                return lwb_argerror(L, 4, lua_pushfstring(L, "entry %d: number expected, "
                                                           "got %s", (int)(i + 1),
                                                           luaL_typename(L, -1)));
            lua_pop(L, 1);
        }
        if (!has0)
            continue;
        if (ts[n + i]->dtype != WB_F32 || wb_tensor_numel(ts[n + i]) != numel[i])
            return lwb_argerror(L, 3, lua_pushfstring(L, "theta0 %d: expected float32 with "
                                                       "%d elements", (int)(i + 1),
                                                       (int)numel[i]));
        t0[i] = wb_tensor_f32(ts[n + i]);
    }
    if (wb_optim_watch(o, (int)n, has0 ? t0 : NULL, numel, hasc ? c : NULL, need, &err))
        return lwb_raise(L, 0, &err);
    lua_pushvalue(L, 3);
    lua_setiuservalue(L, 1, 2);
    return 0;
}

/* opt:_arm(dirs | nil): the next step measures (if watched) and writes its
 * update into dirs (a list of tensors shaped as the watched parameters),
 * which the optimizer keeps alive until the next arming */
static int o_arm(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    wb_tensor **ts = NULL;
    lua_Integer n = 0;
    if (!lua_isnoneornil(L, 2)) {
        lwb_checktype(L, 2, LUA_TTABLE);
        n = luaL_len(L, 2);
        if (n > 1 << 20)
            return lwb_argerror(L, 2, "too many updates");
        ts = scratch(L, n);
        readlist(L, 2, n, ts, "update");
    }
    wb_err err;
    if (wb_optim_arm(o, (int)n, ts, &err))
        return lwb_raise(L, 2, &err);
    lua_settop(L, 2);
    lua_setiuservalue(L, 1, 3);
    return 0;
}

/* opt:_watched(into) -> false, or per with into[1 .. per n] = the last
 * step's sums, per (2 or 4) a tensor (optim.h wb_optim_watched) */
static int o_watched(lua_State *L)
{
    int n, per;
    const double *s = wb_optim_watched(checkoptim(L, 1), &n, &per);
    lwb_checktype(L, 2, LUA_TTABLE);
    for (int i = 0; s && i < per * n; i++) {
        lua_pushnumber(L, s[i]);
        lua_rawseti(L, 2, i + 1);
    }
    if (s)
        lua_pushinteger(L, per);
    else
        lua_pushboolean(L, 0);
    return 1;
}

/* ---- fields and methods ------------------------------------------------- */

static void pushoption(lua_State *L, const wb_optim_config *c, int k)
{
    double v = wb_optim_config_get(c, k);
    if (wb_optim_key_is_bool(c->kind, k))
        lua_pushboolean(L, v != 0.0);
    else
        lua_pushnumber(L, v);
}

/* opt:config() -> {name = "adam", lr = ..., beta1 = ..., ...} */
static int o_config(lua_State *L)
{
    lwb_no_extra(L, 1, "opt:config() takes no argument");
    const wb_optim_config *c = wb_optim_get_config(checkoptim(L, 1));
    int nk = wb_optim_nkeys(c->kind);
    lua_createtable(L, 0, nk + 1);
    lua_pushstring(L, wb_optim_kind_name(c->kind));
    lua_setfield(L, -2, "name");
    for (int k = 0; k < nk; k++) {
        pushoption(L, c, k);
        lua_setfield(L, -2, wb_optim_key_name(c->kind, k));
    }
    return 1;
}

/* opt:reset() -> opt: drop the per-parameter state and the step count. */
static int o_reset(lua_State *L)
{
    lwb_no_extra(L, 1, "opt:reset() takes no argument");
    wb_optim_reset(checkoptim(L, 1));
    set_owner(L, 0);
    lua_settop(L, 1);
    return 1;
}

/* opt:state() -> {iterations = t, slots = k, buffers = {copies, parameter-
 * major}} for exact resume (wb/state.lua). */
static int o_state(lua_State *L)
{
    /* opt:state(saved) reads as a setter: set_state(params, buffers, iterations) is */
    lwb_no_extra(L, 1, "opt:state() takes no argument; opt:set_state(params, buffers, "
                       "iterations) replaces the state");
    wb_optim *o = checkoptim(L, 1);
    int n = wb_optim_n_params(o), k = wb_optim_n_slots(o);
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, wb_optim_iterations(o));
    lua_setfield(L, -2, "iterations");
    lua_pushinteger(L, k);
    lua_setfield(L, -2, "slots");
    lua_createtable(L, n * k, 0);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            wb_err err;
            lwb_pushtensor(L, wb_optim_state_get(o, i, j, &err), &err);
            lua_rawseti(L, -2, i * k + j + 1);
        }
    lua_setfield(L, -2, "buffers");
    return 1;
}

/* opt:set_state(params, buffers, iterations) -> opt */
static int o_set_state(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    lwb_checktype(L, 2, LUA_TTABLE);
    lwb_checktype(L, 3, LUA_TTABLE);
    lua_Integer it = lwb_checkinteger(L, 4);
    lua_Integer np = luaL_len(L, 2), nb = luaL_len(L, 3), k = wb_optim_n_slots(o);
    lwb_argcheck(L, np <= 1 << 20, 2, "too many parameters");
    if (nb != np * k)
        return lwb_argerror(L, 3, lua_pushfstring(L, "%d buffers for %d parameters "
                             "(expected %d each)", (int)nb, (int)np, (int)k));
    wb_tensor **ps = scratch(L, np + nb), **bs = ps + np;
    readlist(L, 2, np, ps, "parameter");
    readlist(L, 3, nb, bs, "buffer");
    wb_err err;
    if (wb_optim_state_set(o, (int)np, (const wb_tensor *const *)ps,
                           (const wb_tensor *const *)bs, it, &err))
        return lwb_raise(L, 0, &err);
    set_owner(L, np > 0 ? 2 : 0);
    lua_settop(L, 1);
    return 1;
}

static int o_index(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    const wb_optim_config *c = wb_optim_get_config(o);
    if (lua_type(L, 2) != LUA_TSTRING) /* opt[true], opt[1]: was nil */
        return lwb_no_field(L, lua_pushfstring(L, "wb.optim.%s", wb_optim_class_name(c->kind)),
                            0);
    const char *key = lua_tostring(L, 2);
    if (lua_getfield(L, lua_upvalueindex(1), key) != LUA_TNIL)
        return 1; /* a method */
    int k = wb_optim_key_find(c->kind, key);
    if (k >= 0)
        pushoption(L, c, k); /* lr and every hyper-parameter */
    else if (strcmp(key, "name") == 0)
        lua_pushstring(L, wb_optim_kind_name(c->kind));
    else if (strcmp(key, "iterations") == 0)
        lua_pushinteger(L, (lua_Integer)wb_optim_iterations(o));
    else if (strcmp(key, "n_params") == 0)
        lua_pushinteger(L, wb_optim_n_params(o));
    else { /* opt.lrr: an error naming the nearest of its names, config's too */
        lua_pushcfunction(L, o_config); /* called with the optimizer alone: it */
        lua_pushvalue(L, 1);             /* refuses arguments (opt:config(x)) */
        lua_call(L, 1, 1);
        int cfg = lua_gettop(L);
        return lwb_no_field(L, lua_pushfstring(L, "wb.optim.%s", wb_optim_class_name(c->kind)),
                            cfg);
    }
    return 1;
}

/* opt.lr = x (ReduceLROnPlateau); every other field is read-only. */
static int o_newindex(lua_State *L)
{
    wb_optim *o = checkoptim(L, 1);
    const char *key = lua_tostring(L, 2);
    if (!key || strcmp(key, "lr") != 0)
        return luaL_error(L, "%s: cannot set field '%s' (only lr is writable)",
                          wb_optim_class_name(wb_optim_get_config(o)->kind),
                          key ? key : luaL_typename(L, 2));
    if (lua_type(L, 3) != LUA_TNUMBER)
        return luaL_error(L, "lr must be a number, got %s", luaL_typename(L, 3));
    wb_err err;
    if (wb_optim_set_lr(o, lua_tonumber(L, 3), &err))
        return lwb_raise(L, 0, &err);
    return 0;
}

static int o_tostring(lua_State *L)
{
    optbox *b = lwb_checkudata(L, 1, LWB_OPTIM);
    if (!b->o) {
        lua_pushliteral(L, "Optimizer(released)");
        return 1;
    }
    char buf[WB_OPTIM_STR_MAX];
    lua_pushstring(L, wb_optim_str(b->o, buf, sizeof buf));
    return 1;
}

/* __gc and __close: idempotent release. */
static int o_free(lua_State *L)
{
    optbox *b = lwb_checkudata(L, 1, LWB_OPTIM);
    wb_optim_free(b->o);
    b->o = NULL;
    return 0;
}

int lwb_open_optim(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"step", o_step}, {"config", o_config}, {"reset", o_reset},
        {"state", o_state}, {"set_state", o_set_state}, {"_watch", o_watch},
        {"_arm", o_arm}, {"_watched", o_watched}, {"_owns", o_owns}, {NULL, NULL}};
    static const luaL_Reg metamethods[] = {
        {"__newindex", o_newindex}, {"__tostring", o_tostring},
        {"__gc", o_free}, {"__close", o_free}, {NULL, NULL}};
    static const luaL_Reg functions[] = {
        {"SGD", l_sgd}, {"Adam", l_adam}, {"AdamW", l_adamw},
        {"RMSprop", l_rmsprop}, {"new", l_new},
        {"_first_nonfinite", l_first_nonfinite}, {NULL, NULL}};
    int wb = lua_absindex(L, 1);
    luaL_newmetatable(L, LWB_OPTIM);
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods"); /* for REPL completion and help */
    /* the fields every optimizer has, for Tab (which never calls __index;
     * the hyper-parameters differ by kind: opt:config() lists them) */
    lua_createtable(L, 0, 4);
    for (const char *const *f = (const char *const[]){"lr", "name", "iterations", "n_params",
                                                       NULL}; *f; f++) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, *f);
    }
    lua_setfield(L, -3, "__fields");
    lua_pushcclosure(L, o_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lwb_subtable(L, wb, "optim");
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
    return 0;
}
