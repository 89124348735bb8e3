/* l_tensor.c - wb.Tensor: Lua face of core/tensor.h.
 *
 * A tensor userdata is a box owning one wb_tensor header (which owns one
 * storage reference). __gc, __close and t:free() are the same idempotent
 * release; a released tensor raises "attempt to use a released tensor".
 * Indices are 1-based here and converted at this boundary only.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lwb.h"
#include "../core/tensor_math.h"

/* The number at idx, checked to be storable in dt as it is (no clamp, no
 * rounding, no overflow to inf): bad argument idx otherwise. */
static lua_Number checkvalue(lua_State *L, int idx, wb_dtype dt)
{
    wb_err err;
    lua_Number v = lwb_checknumber(L, idx);
    if (wb_dtype_check_value(dt, v, &err))
        lwb_raise(L, idx, &err);
    return v;
}

static const char *const dtypes[] = {"float32", "uint8", NULL};

#define check_nargs lwb_checknargs /* lwb.h: extra arguments are refused */

/* The dtype at arg (float32 if none): an error names the ones there are. */
static wb_dtype check_dtype(lua_State *L, int arg)
{
    const char *name = lwb_optstring(L, arg, "float32");
    for (int i = 0; dtypes[i]; i++)
        if (strcmp(name, dtypes[i]) == 0)
            return (wb_dtype)i;
    return (wb_dtype)lwb_argerror(L, arg, lua_pushfstring(L, "expected a dtype, "
                                   "\"float32\" or \"uint8\", got \"%s\"", name));
}

/* The dtype given as a constructor's last argument (a string after the
 * shape), else float32; removed, so that the shape is what remains. A lone
 * string is a bad size (wb.zeros("a")), not a dtype. */
static wb_dtype trailing_dtype(lua_State *L)
{
    int top = lua_gettop(L);
    if (top < 2 || lua_type(L, top) != LUA_TSTRING)
        return WB_F32;
    wb_dtype dt = check_dtype(L, top);
    lua_settop(L, top - 1);
    return dt;
}

static wb_tensor *newtensor(lua_State *L, wb_dtype dt, int ndim, const int64_t *shape)
{
    wb_err err;
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_tensor_new(dt, ndim, shape, &err);
    if (!b->t)
        lwb_raise(L, 0, &err);
    lwb_gc_hint(L, b->t->storage->nbytes);
    return b->t;
}

/* wb.zeros(d1, d2, ... [, dtype]) or wb.zeros({d1, d2, ...} [, dtype]) */
static int l_zeros(lua_State *L)
{
    int64_t shape[WB_MAX_DIM];
    wb_dtype dt = trailing_dtype(L);
    int nd = lwb_checkshape(L, 1, shape);
    newtensor(L, dt, nd, shape);
    return 1;
}

/* wb.new_tensor({shape}, dtype): zero-filled tensor of any dtype. */
static int l_new_tensor(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    check_nargs(L, 2, "wb.new_tensor(shape, dtype)");
    wb_dtype dt = check_dtype(L, 2);
    int64_t shape[WB_MAX_DIM];
    lua_settop(L, 1);
    int nd = lwb_checkshape(L, 1, shape);
    newtensor(L, dt, nd, shape);
    return 1;
}

/* The shape at 1.. (after the dtype was taken off), filled with v. */
static int l_full_with(lua_State *L, float v, wb_dtype dt)
{
    int64_t shape[WB_MAX_DIM];
    int nd = lwb_checkshape(L, 1, shape);
    wb_tensor *t = newtensor(L, dt, nd, shape);
    wb_tensor_fill(t, v, NULL);
    return 1;
}

/* wb.ones(d1, d2, ... [, dtype]) or wb.ones({d1, d2, ...} [, dtype]) */
static int l_ones(lua_State *L)
{
    wb_dtype dt = trailing_dtype(L);
    return l_full_with(L, 1.0f, dt);
}

/* wb.full({d1, d2, ...}, value [, dtype]) */
static int l_full(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    check_nargs(L, 3, "wb.full(shape, value [, dtype])");
    wb_dtype dt = check_dtype(L, 3);
    float v = (float)checkvalue(L, 2, dt);
    lua_settop(L, 1);
    return l_full_with(L, v, dt);
}

/* Shape of a nested table: walks first elements. */
static int nested_shape(lua_State *L, int idx, int64_t *shape)
{
    int nd = 0;
    lua_pushvalue(L, idx);
    while (lua_istable(L, -1)) {
        if (nd == WB_MAX_DIM)
            luaL_error(L, "wb.tensor: more than %d nested levels", WB_MAX_DIM);
        shape[nd++] = (int64_t)luaL_len(L, -1);
        if (shape[nd - 1] == 0)
            break;
        lua_geti(L, -1, 1);
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    return nd;
}

/* Every key of the table at idx is one of 1..n: {[1] = 1, [3] = 3} (a nil
 * ended the list at 1) and {a = 1} lost their other entries without a word. */
static void check_list_keys(lua_State *L, int idx, int64_t n, const char *path)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            luaL_error(L, "wb.tensor: element %s: unknown key '%s' (expected a list of numbers)",
                       path[0] ? path : "{}", lua_tostring(L, -1));
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n)
            luaL_error(L, "wb.tensor: element %s has key %s, expected keys 1..%I (a nil in "
                       "the list?)", path[0] ? path : "{}",
                       luaL_tolstring(L, -1, NULL), (lua_Integer)n);
    }
}

static void fill_nested(lua_State *L, int idx, wb_tensor *t, const int64_t *shape,
                        int nd, int level, size_t *pos, char *path)
{
    int64_t n = (int64_t)luaL_len(L, idx);
    check_list_keys(L, idx, n, path);
    if (n != shape[level])
        luaL_error(L, "wb.tensor: ragged table: element %s has %I entries, expected %I",
                   path[0] ? path : "{}", (lua_Integer)n, (lua_Integer)shape[level]);
    size_t plen = strlen(path);
    for (int64_t i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        snprintf(path + plen, 64, "[%lld]", (long long)i);
        if (level + 1 < nd) {
            if (!lua_istable(L, -1))
                luaL_error(L, "wb.tensor: element %s is a %s, expected a table", path,
                           luaL_typename(L, -1));
            fill_nested(L, lua_gettop(L), t, shape, nd, level + 1, pos, path);
        } else {
            int isnum;
            lua_Number v = lua_tonumberx(L, -1, &isnum);
            wb_err err;
            if (!isnum)
                luaL_error(L, "wb.tensor: element %s is a %s, expected a number", path,
                           luaL_typename(L, -1));
            if (wb_dtype_check_value(t->dtype, v, &err))
                luaL_error(L, "wb.tensor: element %s: %s", path, err.msg);
            wb_tensor_set_flat(t, (*pos)++, v);
        }
        path[plen] = '\0';
        lua_pop(L, 1);
    }
}

/* wb.tensor(nested_table [, "uint8"]) or wb.tensor(number) */
static int l_tensor(lua_State *L)
{
    check_nargs(L, 2, "wb.tensor(table or number [, dtype])");
    wb_dtype dt = check_dtype(L, 2);
    if (lua_isnumber(L, 1)) {
        lua_Number v = checkvalue(L, 1, dt);
        wb_tensor *t = newtensor(L, dt, 0, NULL);
        wb_tensor_set_flat(t, 0, v);
        return 1;
    }
    lwb_checktype(L, 1, LUA_TTABLE);
    int64_t shape[WB_MAX_DIM];
    int nd = nested_shape(L, 1, shape);
    wb_tensor *t = newtensor(L, dt, nd, shape);
    size_t pos = 0;
    char path[WB_MAX_DIM * 24 + 64] = "";
    fill_nested(L, 1, t, shape, nd, 0, &pos, path); /* also when a size is 0: ragged? */
    return 1;
}

static int l_matmul(lua_State *L)
{
    wb_err err;
    wb_tensor *a = lwb_checktensor(L, 1), *b = lwb_checktensor(L, 2);
    check_nargs(L, 2, "wb.matmul(a, b)");
    lwb_tensor_box *box = lwb_newtensorbox(L);
    box->t = wb_matmul(a, b, &err);
    if (!box->t)
        return lwb_raise(L, 0, &err);
    return 1;
}

/* {==================== methods ==================== */

static int t_shape(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:shape()");
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int t_size(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 2, "t:size(dim)");
    lua_Integer d = lwb_checkinteger(L, 2);
    lwb_argcheck(L, d >= 1 && d <= t->ndim, 2, "dimension out of range");
    lua_pushinteger(L, t->shape[d - 1]);
    return 1;
}

static int t_dim(lua_State *L)
{
    check_nargs(L, 1, "t:dim()");
    lua_pushinteger(L, lwb_checktensor(L, 1)->ndim);
    return 1;
}

static int t_numel(lua_State *L)
{
    check_nargs(L, 1, "t:numel()");
    lua_pushinteger(L, (lua_Integer)wb_tensor_numel(lwb_checktensor(L, 1)));
    return 1;
}

static int t_len(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    lua_pushinteger(L, t->ndim ? t->shape[0] : 1);
    return 1;
}

static int t_dtype(lua_State *L)
{
    check_nargs(L, 1, "t:dtype()");
    lua_pushstring(L, wb_dtype_name(lwb_checktensor(L, 1)->dtype));
    return 1;
}

/* Flat offset of 1-based indices at args first..first+ndim-1. */
static size_t flat_index(lua_State *L, wb_tensor *t, int first)
{
    size_t off = 0;
    for (int d = 0; d < t->ndim; d++) {
        lua_Integer i = lwb_checkinteger(L, first + d);
        if (i < 1 || i > t->shape[d])
            lwb_input_error(L, "dimension %d's index is %I, expected 1..%I", d + 1,
                            (lua_Integer)i, (lua_Integer)t->shape[d]);
        off = off * (size_t)t->shape[d] + (size_t)(i - 1);
    }
    return off;
}

static int t_get(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    int nargs = lua_gettop(L) - 1;
    if (nargs != t->ndim)
        return lwb_input_error(L, "get: %d indices for a %d-dimensional tensor", nargs, t->ndim);
    size_t off = flat_index(L, t, 2);
    if (t->dtype == WB_U8)
        lua_pushinteger(L, wb_tensor_u8(t)[off]);
    else
        lua_pushnumber(L, wb_tensor_get_flat(t, off));
    return 1;
}

static int t_set(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    int nargs = lua_gettop(L) - 2;
    if (nargs != t->ndim)
        return lwb_input_error(L, "set: %d indices for a %d-dimensional tensor (then the "
                               "value)", nargs, t->ndim);
    lua_Number v = checkvalue(L, lua_gettop(L), t->dtype);
    size_t off = flat_index(L, t, 2);
    wb_tensor_set_flat(t, off, v);
    lua_settop(L, 1);
    return 1;
}

static int push_view(lua_State *L, wb_tensor *t, size_t offset, int nd, const int64_t *shape)
{
    wb_err err;
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_tensor_view(t, offset, nd, shape, &err);
    if (!b->t)
        return lwb_raise(L, 0, &err);
    return 1;
}

/* t:row(i) / t[i]: row i as a view (dimension 1 removed). */
static int row_view(lua_State *L, wb_tensor *t, lua_Integer i)
{
    if (t->ndim < 1)
        return luaL_error(L, "cannot index a scalar tensor");
    if (i < 1 || i > t->shape[0])
        return lwb_input_error(L, "index %I out of range 1..%I", (lua_Integer)i,
                               (lua_Integer)t->shape[0]);
    size_t row = wb_tensor_numel(t) / (t->shape[0] ? (size_t)t->shape[0] : 1);
    return push_view(L, t, (size_t)(i - 1) * row, t->ndim - 1, t->shape + 1);
}

/* t:rows(first, last): rows first..last (inclusive, 1-based) as a view. */
static int t_rows(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 3, "t:rows(first [, last])");
    lua_Integer a = lwb_checkinteger(L, 2), b = lwb_optinteger(L, 3, a);
    /* first < 1 or last < first - 1 is out of range for any tensor; checked
     * here so that a - 1 and b - a + 1 cannot overflow */
    lua_Integer n = t->ndim ? t->shape[0] : 0;
    if (a < 1 || b < a - 1) /* both in range: the order is what is wrong */
        return luaL_error(L, a >= 1 && a <= n && b >= 1
                          ? "rows %I..%I are in reverse order, expected first <= last "
                            "(in 1..%I)" : "rows %I..%I out of range 1..%I", a, b, n);
    lwb_tensor_box *box = lwb_newtensorbox(L);
    box->t = wb_tensor_rows(t, a - 1, b - a + 1, &err);
    if (!box->t)
        return lwb_raise(L, 0, &err);
    return 1;
}

static int t_reshape(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    int64_t shape[WB_MAX_DIM];
    int nd = lwb_checkviewshape(L, 2, shape); /* a -1 is inferred by core */
    wb_err err;
    push_view(L, t, 0, t->ndim, t->shape);
    wb_tensor *v = lwb_checktensor(L, -1);
    if (wb_tensor_reshape_inplace(v, nd, shape, &err) != WB_OK) /* a shape: the call's fault */
        return err.code == WB_ESHAPE ? lwb_input_code(L, "ESHAPE", err.msg) : lwb_raise(L, 0, &err);
    return 1;
}

static int t_clone(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:clone()");
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_tensor_clone(t, &err);
    if (!b->t)
        return lwb_raise(L, 0, &err);
    lwb_gc_hint(L, b->t->storage->nbytes);
    return 1;
}

static int t_float(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:float()");
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_tensor_to_f32(t, &err);
    if (!b->t)
        return lwb_raise(L, 0, &err);
    lwb_gc_hint(L, b->t->storage->nbytes);
    return 1;
}

static int t_fill(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 2, "t:fill(value)");
    if (wb_tensor_fill(t, (float)checkvalue(L, 2, WB_F32), &err) != WB_OK)
        return lwb_raise(L, 2, &err);
    lua_settop(L, 1);
    return 1;
}

static int t_copy(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1), *s = lwb_checktensor(L, 2);
    check_nargs(L, 2, "t:copy(src)");
    if (wb_tensor_copy(t, s, &err) != WB_OK)
        return lwb_raise(L, 2, &err);
    lua_settop(L, 1);
    return 1;
}

static void push_nested(lua_State *L, wb_tensor *t, int level, size_t *pos)
{
    if (level == t->ndim) {
        lua_pushnumber(L, wb_tensor_get_flat(t, (*pos)++));
        return;
    }
    lua_createtable(L, (int)t->shape[level], 0);
    for (int64_t i = 1; i <= t->shape[level]; i++) {
        push_nested(L, t, level + 1, pos);
        lua_rawseti(L, -2, i);
    }
}

static int t_totable(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:totable()");
    lwb_argcheck(L, wb_tensor_numel(t) <= (size_t)1 << 26, 1,
                  "tensor too large for a Lua table");
    size_t pos = 0;
    if (t->ndim == 0)
        lua_pushnumber(L, wb_tensor_get_flat(t, 0));
    else
        push_nested(L, t, 0, &pos);
    return 1;
}

/* t:sum(dim) etc.: along a dimension (1-based), which is removed. */
static int reduce_dim(lua_State *L, wb_reduce op)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    lua_Integer dim = lwb_checkinteger(L, 2);
    lwb_argcheck(L, dim >= 1 && dim <= t->ndim, 2, "dimension out of range");
    lwb_pushtensor(L, wb_tensor_reduce_dim(t, (int)dim - 1, op, &err), &err);
    return 1;
}

static int reduce(lua_State *L, int which)
{
    static const wb_reduce dim_ops[] = {WB_RED_SUM, WB_RED_MEAN, 0, WB_RED_MIN, WB_RED_MAX};
    static const char *const usage[] = {
        "t:sum([dim]) (one dimension at a time)", "t:mean([dim]) (one dimension at a time)",
        "t:std()", "t:min([dim]) (one dimension at a time)",
        "t:max([dim]) (one dimension at a time)", "t:norm()"};
    wb_err err;
    wb_stats st;
    lwb_checktensor(L, 1);
    check_nargs(L, 2, usage[which]); /* std, norm: a dim is refused below */
    if (!lua_isnoneornil(L, 2) && which != 2 && which != 5)
        return reduce_dim(L, dim_ops[which]);
    /* std and norm are over all elements only: a dim would be ignored */
    if (!lua_isnoneornil(L, 2))
        return lwb_argerror(L, 2, "no dimension expected (std and norm are over all "
                             "elements)");
    if (which == 3 || which == 4) { /* min, max: without the sums */
        double mn, mx;
        if (wb_tensor_minmax(lwb_checktensor(L, 1), &mn, &mx, &err) != WB_OK)
            return lwb_raise(L, 1, &err);
        lua_pushnumber(L, which == 3 ? mn : mx);
        return 1;
    }
    if (wb_tensor_stats(lwb_checktensor(L, 1), &st, &err) != WB_OK)
        return lwb_raise(L, 1, &err);
    double v[] = {st.sum, st.mean, st.std, st.min, st.max, st.norm};
    lua_pushnumber(L, v[which]);
    return 1;
}
static int t_sum(lua_State *L) { return reduce(L, 0); }
static int t_mean(lua_State *L) { return reduce(L, 1); }
static int t_std(lua_State *L) { return reduce(L, 2); }
static int t_min(lua_State *L) { return reduce(L, 3); }
static int t_max(lua_State *L) { return reduce(L, 4); }
static int t_norm(lua_State *L) { return reduce(L, 5); }

/* t:argmax([dim]) -> 1-based indices along dim (default: the last). */
static int t_argmax(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 2, "t:argmax([dim])");
    lua_Integer dim = lwb_optinteger(L, 2, t->ndim);
    lwb_argcheck(L, dim >= 1 && dim <= t->ndim, 2, "dimension out of range");
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_tensor_argmax(t, (int)dim - 1, &err);
    if (!b->t)
        return lwb_raise(L, 0, &err);
    size_t n = wb_tensor_numel(b->t);
    float *p = wb_tensor_f32(b->t);
    for (size_t i = 0; i < n; i++)
        p[i] += 1.0f;
    return 1;
}

static int unop(lua_State *L, wb_unop op)
{
    static const char *const usage[] = {"t:exp()", "t:log()", "t:abs()", "t:sqrt()",
                                        "t:sign()"};
    wb_err err;
    lwb_checktensor(L, 1);
    check_nargs(L, 1, usage[op]);
    lwb_pushtensor(L, wb_tensor_unop(lwb_checktensor(L, 1), op, &err), &err);
    return 1;
}
static int t_exp(lua_State *L) { return unop(L, WB_EXP); }
static int t_log(lua_State *L) { return unop(L, WB_LOG); }
static int t_abs(lua_State *L) { return unop(L, WB_ABS); }
static int t_sqrt(lua_State *L) { return unop(L, WB_SQRT); }
static int t_sign(lua_State *L) { return unop(L, WB_SIGN); }

static int t_pow(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 2, "t:pow(p)");
    float p = (float)lwb_checknumber(L, 2);
    lwb_pushtensor(L, wb_tensor_pow(t, p, &err), &err);
    return 1;
}

static int t_clamp(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 3, "t:clamp(lo, hi)");
    float lo = (float)lwb_checknumber(L, 2), hi = (float)lwb_checknumber(L, 3);
    lwb_pushtensor(L, wb_tensor_clamp(t, lo, hi, &err), &err);
    return 1;
}

static int t_t(lua_State *L)
{
    wb_err err;
    lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:t()");
    lwb_pushtensor(L, wb_tensor_transpose(lwb_checktensor(L, 1), &err), &err);
    return 1;
}

/* t:item(): the value of a one-element tensor. */
static int t_item(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    check_nargs(L, 1, "t:item()");
    if (wb_tensor_numel(t) != 1) {
        char s[WB_SHAPE_STR_MAX];
        return luaL_error(L, "item: expected a tensor of one element, got %s",
                          wb_shape_str(s, sizeof s, t->ndim, t->shape));
    }
    lua_pushnumber(L, wb_tensor_get_flat(t, 0));
    return 1;
}

static int t_free(lua_State *L)
{
    lwb_tensor_box *b = lwb_checkudata(L, 1, LWB_TENSOR);
    wb_tensor_free(b->t);
    b->t = NULL;
    return 0;
}

/* t:free(): as __gc and __close (which Lua calls with two arguments). */
static int t_free_method(lua_State *L)
{
    lwb_checkudata(L, 1, LWB_TENSOR);
    check_nargs(L, 1, "t:free()");
    return t_free(L);
}

static int binop(lua_State *L, wb_binop op)
{
    wb_err err;
    static const char *names[] = {"+", "-", "*", "/"};
    wb_tensor *a = lwb_totensor(L, 1), *b = lwb_totensor(L, 2);
    if (lua_isuserdata(L, 1) && !a)
        lwb_checktensor(L, 1);
    if (lua_isuserdata(L, 2) && !b)
        lwb_checktensor(L, 2);
    wb_tensor *res;
    if (a && b) {
        res = wb_tensor_binop(a, b, 0, op, &err);
    } else if (a && lua_isnumber(L, 2)) {
        res = wb_tensor_binop(a, NULL, (float)lua_tonumber(L, 2), op, &err);
    } else if (b && lua_isnumber(L, 1) && (op == WB_ADD || op == WB_MUL)) {
        res = wb_tensor_binop(b, NULL, (float)lua_tonumber(L, 1), op, &err);
    } else {
        return lwb_input_error(L, "tensor %s: expected tensor %s tensor|number, got %s and %s",
                               names[op], names[op], luaL_typename(L, 1), luaL_typename(L, 2));
    }
    lwb_pushtensor(L, res, &err);
    return 1;
}
static int t_add(lua_State *L) { return binop(L, WB_ADD); }
static int t_sub(lua_State *L) { return binop(L, WB_SUB); }
static int t_mul(lua_State *L) { return binop(L, WB_MUL); }
static int t_div(lua_State *L) { return binop(L, WB_DIV); }

static int t_unm(lua_State *L)
{
    wb_err err;
    wb_tensor *a = lwb_checktensor(L, 1);
    lwb_pushtensor(L, wb_tensor_binop(a, NULL, -1.0f, WB_MUL, &err), &err);
    return 1;
}

static int fmt_value(char *s, size_t size, const wb_tensor *t, size_t i)
{
    if (t->dtype == WB_U8)
        return snprintf(s, size, "%d", (int)wb_tensor_u8(t)[i]);
    float v = wb_tensor_f32(t)[i];
    if (isnan(v)) /* "nan", as PyTorch prints it: glibc writes 0/0 as "-nan" */
        return snprintf(s, size, "nan");
    return snprintf(s, size, "%.4g", (double)v);
}

/* The indices shown of n: all up to max, else the first and last max / 2
 * (-1 where "..." goes). Returns how many entries idx holds. */
static int shown(size_t n, size_t max, long long *idx)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        if (n > max && i == max / 2) {
            idx[k++] = -1;
            i = n - max / 2;
        }
        idx[k++] = (long long)i;
    }
    return k;
}

/* "Tensor[2, 3] float32" and then the values: a 1-D or 2-D view with at
 * most 6 rows and 8 columns shown, "..." for what is skipped. */
static int t_tostring(lua_State *L)
{
    lwb_tensor_box *box = lwb_checkudata(L, 1, LWB_TENSOR);
    if (!box->t) {
        lua_pushliteral(L, "Tensor(released)");
        return 1;
    }
    wb_tensor *t = box->t;
    char s[WB_SHAPE_STR_MAX];
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    luaL_addstring(&B, "Tensor");
    luaL_addstring(&B, wb_shape_str(s, sizeof s, t->ndim, t->shape));
    if (t->dtype == WB_U8)
        luaL_addstring(&B, " uint8");
    size_t n = wb_tensor_numel(t);
    if (n == 0 || t->ndim > 2) {
        if (t->ndim > 2 && n) {
            wb_stats st;
            wb_tensor_stats(t, &st, NULL);
            snprintf(s, sizeof s, " (min %.4g, mean %.4g, max %.4g)", st.min, st.mean, st.max);
            luaL_addstring(&B, s);
        }
        luaL_pushresult(&B);
        return 1;
    }
    size_t rows = t->ndim == 2 ? (size_t)t->shape[0] : 1;
    size_t cols = t->ndim == 0 ? 1 : (size_t)t->shape[t->ndim - 1];
    long long ri[8], ci[10];
    int nr = shown(rows, 6, ri), nc = shown(cols, 8, ci);
    /* one width for every value shown, so that columns line up */
    int width = 0;
    for (int a = 0; a < nr; a++)
        for (int b = 0; b < nc; b++)
            if (ri[a] >= 0 && ci[b] >= 0) {
                int w = fmt_value(s, sizeof s, t, (size_t)ri[a] * cols + (size_t)ci[b]);
                width = w > width ? w : width;
            }
    for (int a = 0; a < nr; a++) {
        if (ri[a] < 0) {
            luaL_addstring(&B, "\n  ...");
            continue;
        }
        luaL_addstring(&B, "\n ");
        for (int b = 0; b < nc; b++) {
            if (ci[b] < 0) {
                luaL_addstring(&B, "  ...");
                continue;
            }
            int w = fmt_value(s, sizeof s, t, (size_t)ri[a] * cols + (size_t)ci[b]);
            for (luaL_addchar(&B, ' '); w < width; w++)
                luaL_addchar(&B, ' ');
            luaL_addstring(&B, s);
        }
    }
    luaL_pushresult(&B);
    return 1;
}

/* t[i]: row i as a view; of a 1-D tensor element i, as t:get(i) (a 0-d view
 * never == a number: labels[i] == 7 was false on every row, silently). */
static int t_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TNUMBER) {
        wb_tensor *t = lwb_checktensor(L, 1);
        if (t->ndim == 1) {
            lua_Integer i = lwb_checkinteger(L, 2);
            if (i < 1 || i > t->shape[0])
                return luaL_error(L, "index %I out of range 1..%I", i, (lua_Integer)t->shape[0]);
            return lua_settop(L, 2), t_get(L);
        }
        return row_view(L, t, lwb_checkinteger(L, 2));
    }
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "__methods");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL)
        return 1;
    return lwb_no_field(L, LWB_TENSOR, 0); /* t.shpe, t:sumx(): an error */
}

/* t[i] = v: a 1-D tensor sets element i; otherwise row i is filled with
 * the number v or copied from the tensor v. */
static int t_newindex(lua_State *L)
{
    wb_err err;
    wb_tensor *t = lwb_checktensor(L, 1);
    lua_Integer i = lwb_checkinteger(L, 2);
    if (t->ndim == 1) {
        lua_Number v = checkvalue(L, 3, t->dtype);
        size_t off = flat_index(L, t, 2);
        wb_tensor_set_flat(t, off, v);
        return 0;
    }
    row_view(L, t, i);
    wb_tensor *row = lwb_checktensor(L, -1);
    wb_tensor *src = lwb_totensor(L, 3);
    if (src) {
        if (wb_tensor_copy(row, src, &err) != WB_OK)
            return lwb_raise(L, 3, &err);
    } else if (wb_tensor_fill(row, (float)checkvalue(L, 3, WB_F32), &err) != WB_OK) {
        return lwb_raise(L, 3, &err);
    }
    return 0;
}

static int t_row(lua_State *L)
{
    lwb_checktensor(L, 1);
    check_nargs(L, 2, "t:row(i)");
    return row_view(L, lwb_checktensor(L, 1), lwb_checkinteger(L, 2));
}

static const luaL_Reg methods[] = {
    {"shape", t_shape},   {"size", t_size},     {"dim", t_dim},
    {"numel", t_numel},   {"dtype", t_dtype},   {"get", t_get},
    {"set", t_set},       {"row", t_row},       {"rows", t_rows},
    {"reshape", t_reshape}, {"view", t_reshape}, {"clone", t_clone},
    {"float", t_float},   {"fill", t_fill},     {"copy", t_copy},
    {"totable", t_totable}, {"sum", t_sum},     {"mean", t_mean},
    {"std", t_std},       {"min", t_min},       {"max", t_max},
    {"norm", t_norm},     {"argmax", t_argmax}, {"free", t_free_method},
    {"exp", t_exp},       {"log", t_log},       {"abs", t_abs},
    {"sqrt", t_sqrt},     {"sign", t_sign},     {"pow", t_pow},
    {"clamp", t_clamp},   {"t", t_t},           {"item", t_item},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__index", t_index}, {"__newindex", t_newindex}, {"__len", t_len},
    {"__tostring", t_tostring}, {"__gc", t_free}, {"__close", t_free},
    {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
    {"__unm", t_unm}, {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones},
    {"full", l_full},     {"matmul", l_matmul}, {"new_tensor", l_new_tensor},
    {NULL, NULL},
};

/* }==================== */

int lwb_open_tensor(lua_State *L)
{
    luaL_newmetatable(L, LWB_TENSOR);
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__methods");
    lua_pop(L, 1);
    luaL_setfuncs(L, functions, 0); /* into wb (argument 1) */
    return 0;
}
