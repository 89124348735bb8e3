/* lwb.c - helpers shared by the binding files (declared in lwb.h): tensor
 * boxes, shapes, and wb.Error, the value a core failure becomes in Lua.
 *
 * A core failure travels as a value, the way liolib's luaL_fileresult hands
 * back (fail, message, errno): lwb_raise raises a wb.Error table
 * {code = "EIO", message = ..., path = ...}, `code` being the core status's
 * name (core/err.c wb_status_name). Whoever catches it (fit's divergence
 * check, the executable's exit status) reads `code`, never the text. Its
 * __tostring is the text a plain luaL_error / luaL_argerror would have
 * raised, position and "bad argument #n to 'f' (...)" included, so messages
 * read as before. A bad argument is no failure but a mistake in the call:
 * the bindings' argument checks (lwb_checkinteger, lwb_argcheck, ...: lauxlib's,
 * raised by lwb_argerror) make it an input error, printed in one line.
 * Also the observer of the files the bindings open
 * (lwb_note_file) and the hex decoding of saved generator states
 * (lwb_hex_decode). Not here: the per-type bindings (l_*.c).
 */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "lwb.h"

/* {==================== the file observer ==================== */

static const char observer_key = 0; /* its address keys the observer in the registry */

void lwb_note_file(lua_State *L, const char *path, const char *mode)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &observer_key) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_pushstring(L, path);
    lua_pushstring(L, mode);
    lua_call(L, 2, 0); /* an error goes on: nothing of the binding is owned yet */
}

int lwb_observe(lua_State *L)
{
    if (!lua_isnoneornil(L, 1))
        lwb_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &observer_key);
    lua_pushvalue(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &observer_key);
    return 1;
}

/* }==================== */

/* {==================== tensor boxes and shapes ==================== */

wb_tensor *lwb_totensor(lua_State *L, int idx)
{
    lwb_tensor_box *b = luaL_testudata(L, idx, LWB_TENSOR);
    return b ? b->t : NULL;
}

wb_tensor *lwb_checktensor(lua_State *L, int idx)
{
    lwb_tensor_box *b = lwb_checkudata(L, idx, LWB_TENSOR);
    if (!b->t)
        luaL_error(L, "attempt to use a released tensor");
    return b->t;
}

lwb_tensor_box *lwb_newtensorbox(lua_State *L)
{
    lwb_tensor_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->t = NULL;
    luaL_setmetatable(L, LWB_TENSOR);
    return b;
}

void lwb_gc_hint(lua_State *L, size_t nbytes)
{
    if (nbytes >= 64 * 1024)
        lua_gc(L, LUA_GCSTEP, (int)(nbytes / 1024 > 1 << 20 ? 1 << 20 : nbytes / 1024));
}

void lwb_pushtensor(lua_State *L, wb_tensor *t, wb_err *err)
{
    if (!t)
        lwb_raise(L, 0, err);
    lwb_tensor_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->t = t;
    luaL_setmetatable(L, LWB_TENSOR);
    if (t->storage->refcount == 1)
        lwb_gc_hint(L, t->storage->nbytes);
}

/* The size at stack index idx; a bad one is blamed on argument arg, and on
 * its entry when the sizes come in a table (entry > 0). */
static int64_t checkdim(lua_State *L, int idx, int arg, int entry, int infer)
{
    lua_Integer n;
    int isnum;
    const char *what = NULL;
    n = lua_tointegerx(L, idx, &isnum);
    if (!isnum) {
        /* 1e10 is a float with an exact integer value: accept it. */
        lua_Number d = lua_tonumberx(L, idx, &isnum);
        if (!isnum || d != floor(d) || !(fabs(d) < 9.2e18))
            what = "must be an integer";
        n = (lua_Integer)(what ? 0 : d);
    }
    if (!what && n < 0 && !(infer && n == -1))
        what = infer ? "must not be negative (but -1, inferred)" : "must not be negative";
    if (what && entry > 0)
        lwb_argerror(L, arg, lua_pushfstring(L, "size %d %s, got %s", entry, what,
                                              luaL_tolstring(L, idx, NULL)));
    if (what)
        lwb_argerror(L, arg, lua_pushfstring(L, "dimension %s", what));
    return (int64_t)n;
}

static int checkshape(lua_State *L, int first, int64_t *shape, int infer)
{
    int ndim = 0;
    if (lua_istable(L, first)) {
        int n = (int)luaL_len(L, first);
        lwb_argcheck(L, n <= WB_MAX_DIM, first, "too many dimensions");
        /* wb.zeros({2, 3}, "uint8") dropped the dtype: nothing may follow */
        if (lua_gettop(L) > first)
            lwb_argerror(L, first + 1, lua_pushfstring(L, "unexpected %s after the shape "
                          "table (the sizes are all in the table)", luaL_typename(L, first + 1)));
        for (int i = 1; i <= n; i++) {
            lua_geti(L, first, i);
            shape[ndim++] = checkdim(L, lua_gettop(L), first, i, infer);
            lua_pop(L, 1);
        }
        return ndim;
    }
    int top = lua_gettop(L);
    lwb_argcheck(L, top - first + 1 <= WB_MAX_DIM, first, "too many dimensions");
    for (int i = first; i <= top; i++)
        shape[ndim++] = checkdim(L, i, i, 0, infer);
    return ndim;
}

void lwb_checknargs(lua_State *L, int max, const char *usage)
{
    if (lua_gettop(L) > max)
        lwb_argerror(L, max + 1, lua_pushfstring(L, "unexpected %s: expected %s",
                                                  luaL_typename(L, max + 1), usage));
}

int lwb_checkshape(lua_State *L, int first, int64_t *shape)
{
    return checkshape(L, first, shape, 0);
}

int lwb_checkviewshape(lua_State *L, int first, int64_t *shape)
{
    return checkshape(L, first, shape, 1);
}

/* }==================== */

/* {==================== wb.Error ==================== */

/* The status names a wb.Error may carry: every core status but WB_OK. */
static int known_code(const char *code)
{
    for (int c = WB_OK + 1; strcmp(wb_status_name((wb_status)c), "EUNKNOWN") != 0; c++)
        if (strcmp(code, wb_status_name((wb_status)c)) == 0)
            return 1;
    return 0;
}

void lwb_pusherror(lua_State *L, const char *code, const char *message, const char *path)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    if (path) {
        lua_pushstring(L, path);
        lua_setfield(L, -2, "path");
    }
    luaL_setmetatable(L, LWB_ERROR);
}

/* lauxlib.c's findfield / pushglobalfuncname (Lua 5.4, MIT licence): the
 * name under which package.loaded reaches the function at ar ("wb.zeros"),
 * as luaL_argerror finds it when the call site gives none. */
static int findfield(lua_State *L, int objidx, int level)
{
    if (level == 0 || !lua_istable(L, -1))
        return 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            if (lua_rawequal(L, objidx, -1)) {
                lua_pop(L, 1);
                return 1;
            } else if (findfield(L, objidx, level - 1)) {
                lua_pushliteral(L, ".");
                lua_replace(L, -3);
                lua_concat(L, 3);
                return 1;
            }
        }
        lua_pop(L, 1);
    }
    return 0;
}

static int pushglobalfuncname(lua_State *L, lua_Debug *ar)
{
    int top = lua_gettop(L);
    lua_getinfo(L, "f", ar);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    luaL_checkstack(L, 6, "not enough stack");
    if (findfield(L, top + 1, 2)) {
        const char *name = lua_tostring(L, -1);
        if (strncmp(name, LUA_GNAME ".", 3) == 0) {
            lua_pushstring(L, name + 3);
            lua_remove(L, -2);
        }
        lua_copy(L, -1, top + 1);
        lua_settop(L, top + 1);
        return 1;
    }
    lua_settop(L, top);
    return 0;
}

/* Push the text luaL_argerror(L, arg, extramsg) raises, without raising. */
static void pushargtext(lua_State *L, int arg, const char *extramsg)
{
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar)) {
        lua_pushfstring(L, "bad argument #%d (%s)", arg, extramsg);
        return;
    }
    lua_getinfo(L, "n", &ar);
    if (ar.namewhat && strcmp(ar.namewhat, "method") == 0) {
        arg--; /* self is not counted */
        if (arg == 0) {
            lua_pushfstring(L, "calling '%s' on bad self (%s)", ar.name, extramsg);
            return;
        }
    }
    int named = 0;
    if (ar.name == NULL) {
        named = pushglobalfuncname(L, &ar);
        ar.name = named ? lua_tostring(L, -1) : "?";
    }
    lua_pushfstring(L, "bad argument #%d to '%s' (%s)", arg, ar.name, extramsg);
    if (named)
        lua_remove(L, -2);
}

int lwb_raise_path(lua_State *L, int pos, const wb_err *err, const char *path)
{
    const char *msg = err ? err->msg : "unknown error";
    const char *code = err ? wb_status_name(err->code) : "EUNKNOWN";
    luaL_where(L, 1); /* as luaL_error: the caller's position */
    if (pos > 0)
        pushargtext(L, pos, msg);
    else
        lua_pushstring(L, msg);
    lua_concat(L, 2);
    lwb_pusherror(L, code, lua_tostring(L, -1), path);
    /* the core's own words, without position or "bad argument": for a
     * caller that puts them in its own context (a Sequential's layer) */
    lua_pushstring(L, msg);
    lua_setfield(L, -2, "reason");
    return lua_error(L);
}

int lwb_input_argerror(lua_State *L, int arg, const char *fname, const char *msg)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, "wb.input_error") != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return luaL_argerror(L, arg, msg);
    }
    lua_Debug ar; /* the name luaL_argerror shows: the call's, else fname (a pcall's) */
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
        fname = ar.name;
    luaL_where(L, 1);
    lua_pushfstring(L, "%sbad argument #%d to '%s' (%s)", lua_tostring(L, -1), arg, fname, msg);
    lua_remove(L, -2);
    lua_call(L, 1, 1);
    return lua_error(L);
}

/* The text on top (its position in it) raised as an input error with code. */
static int input_error_top(lua_State *L, const char *code)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, "wb.input_error") == LUA_TFUNCTION) {
        lua_insert(L, -2);
        lua_call(L, 1, 1);
        if (code && lua_istable(L, -1)) { /* e.code, as a wb.Error's: the status stays 1 */
            lua_pushstring(L, code);
            lua_setfield(L, -2, "code");
        }
    } else {
        lua_pop(L, 1);
    }
    return lua_error(L);
}

int lwb_input_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    luaL_where(L, 1);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return input_error_top(L, NULL);
}

int lwb_input_code(lua_State *L, const char *code, const char *msg)
{
    luaL_where(L, 1);
    lua_pushstring(L, msg);
    lua_concat(L, 2);
    return input_error_top(L, code);
}

/* {==================== argument checks: input errors ====================
 *
 * lauxlib's luaL_check* and luaL_opt* (Lua 5.4), the same tests and the same
 * words, raised through lwb_argerror: a bad argument to a library function
 * is a mistake in the call, which workbench prints alone, in one line
 * (README, "Exit status"); luaL_argerror's string got a traceback into the
 * binding, which says nothing the message does not. The bindings call
 * these, never luaL_check*: one place decides what a bad argument is. */

int lwb_argerror(lua_State *L, int arg, const char *extramsg)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, "wb.input_error") != LUA_TFUNCTION) {
        lua_pop(L, 1); /* wb/args.lua not loaded yet: lauxlib's string */
        return luaL_argerror(L, arg, extramsg);
    }
    luaL_where(L, 1);
    pushargtext(L, arg, extramsg);
    lua_concat(L, 2);
    lua_call(L, 1, 1);
    return lua_error(L);
}

int lwb_typeerror(lua_State *L, int arg, const char *tname)
{
    const char *got;
    if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING)
        got = lua_tostring(L, -1);
    else if (lua_type(L, arg) == LUA_TLIGHTUSERDATA)
        got = "light userdata";
    else
        got = luaL_typename(L, arg);
    return lwb_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", tname, got));
}

lua_Integer lwb_checkinteger(lua_State *L, int arg)
{
    int isnum;
    lua_Integer v = lua_tointegerx(L, arg, &isnum);
    if (!isnum) {
        if (lua_isnumber(L, arg))
            lwb_argerror(L, arg, "number has no integer representation");
        else
            lwb_typeerror(L, arg, lua_typename(L, LUA_TNUMBER));
    }
    return v;
}

lua_Number lwb_checknumber(lua_State *L, int arg)
{
    int isnum;
    lua_Number v = lua_tonumberx(L, arg, &isnum);
    if (!isnum)
        lwb_typeerror(L, arg, lua_typename(L, LUA_TNUMBER));
    return v;
}

const char *lwb_checklstring(lua_State *L, int arg, size_t *len)
{
    const char *s = lua_tolstring(L, arg, len);
    if (s == NULL)
        lwb_typeerror(L, arg, lua_typename(L, LUA_TSTRING));
    return s;
}

void lwb_checktype(lua_State *L, int arg, int t)
{
    if (lua_type(L, arg) != t)
        lwb_typeerror(L, arg, lua_typename(L, t));
}

void lwb_checkany(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TNONE)
        lwb_argerror(L, arg, "value expected");
}

void *lwb_checkudata(lua_State *L, int arg, const char *tname)
{
    void *p = luaL_testudata(L, arg, tname);
    if (p == NULL)
        lwb_typeerror(L, arg, tname);
    return p;
}

int lwb_checkoption(lua_State *L, int arg, const char *def, const char *const lst[])
{
    const char *name = def ? lwb_optstring(L, arg, def) : lwb_checkstring(L, arg);
    for (int i = 0; lst[i]; i++)
        if (strcmp(lst[i], name) == 0)
            return i;
    return lwb_argerror(L, arg, lua_pushfstring(L, "invalid option '%s'", name));
}

lua_Integer lwb_optinteger(lua_State *L, int arg, lua_Integer def)
{
    return lua_isnoneornil(L, arg) ? def : lwb_checkinteger(L, arg);
}

lua_Number lwb_optnumber(lua_State *L, int arg, lua_Number def)
{
    return lua_isnoneornil(L, arg) ? def : lwb_checknumber(L, arg);
}

const char *lwb_optlstring(lua_State *L, int arg, const char *def, size_t *len)
{
    if (lua_isnoneornil(L, arg)) {
        if (len)
            *len = def ? strlen(def) : 0;
        return def;
    }
    return lwb_checklstring(L, arg, len);
}

/* }================================================================== */

int lwb_raise(lua_State *L, int pos, const wb_err *err)
{
    return lwb_raise_path(L, pos, err, NULL);
}

void lwb_no_extra(lua_State *L, int max, const char *usage)
{
    for (int i = max + 1; i <= lua_gettop(L); i++)
        if (!lua_isnil(L, i))
            lwb_argerror(L, i, lua_pushfstring(L, "unexpected argument (a %s): %s",
                                                luaL_typename(L, i), usage));
}

const char *lwb_checkpath(lua_State *L, int arg, int empty_ok)
{
    size_t len;
    const char *path = lwb_checklstring(L, arg, &len);
    if (strlen(path) != len)
        lwb_argerror(L, arg, lua_pushfstring(L, "the path \"%s\" has a NUL byte after it: "
                                                 "the file would be that part alone", path));
    if (len == 0 && !empty_ok)
        lwb_argerror(L, arg, "an empty path names no file");
    return path;
}

int lwb_is_error(lua_State *L, int idx)
{
    if (!lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, LWB_ERROR);
    int is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

/* wb.Error{code = "EIO", message = "...", path = "..."}: a new error object
 * (called through wb.Error's __call, so the table is argument 2). */
static int error_new(lua_State *L)
{
    static const char *const keys[] = {"code", "message", "path"};
    if (!lua_istable(L, 2))
        return luaL_error(L, "wb.Error: expected a table {code =, message =, path =}, "
                             "got %s", luaL_typename(L, 2));
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        int ok = 0;
        for (int i = 0; i < 3 && !ok; i++)
            ok = lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), keys[i]) == 0;
        if (!ok)
            return luaL_error(L, "wb.Error: unknown key '%s' (valid: code, message, path)",
                              luaL_tolstring(L, -2, NULL));
        lua_pop(L, 1);
    }
    const char *f[3];
    for (int i = 0; i < 3; i++) {
        int t = lua_getfield(L, 2, keys[i]);
        if (t != LUA_TSTRING && !(i == 2 && t == LUA_TNIL))
            return luaL_error(L, "wb.Error: '%s' must be a string, got %s", keys[i],
                              luaL_typename(L, -1));
        f[i] = lua_tostring(L, -1);
    }
    if (!known_code(f[0]))
        return luaL_error(L, "wb.Error: unknown code '%s' (valid: EINVAL, ESHAPE, ERANGE, "
                             "ENOMEM, EIO, EFORMAT, ESTATE, ENONFINITE, ENOENT, ECREATE)",
                          f[0]);
    lwb_pusherror(L, f[0], f[1], f[2]);
    return 1;
}

/* wb.is_error(v): whether v is a wb.Error. */
static int error_is(lua_State *L)
{
    lwb_checkany(L, 1);
    lua_pushboolean(L, lwb_is_error(L, 1));
    return 1;
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    if (!lua_isstring(L, -1))
        lua_pushliteral(L, "(wb.Error without a message)");
    return 1;
}

/* `"context: " .. err` keeps working where code built a message from a
 * caught error (the result is a string: the code is lost, so the library
 * rethrows a new wb.Error instead, see nn.lua). */
static int error_concat(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    luaL_tolstring(L, 2, NULL);
    lua_concat(L, 2);
    return 1;
}

int lwb_open_error(lua_State *L)
{
    luaL_newmetatable(L, LWB_ERROR); /* __name = "wb.Error" */
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, error_concat);
    lua_setfield(L, -2, "__concat");
    lua_createtable(L, 0, 1); /* wb.Error{...} constructs */
    lua_pushcfunction(L, error_new);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    lua_setfield(L, 1, "Error");
    lua_pushcfunction(L, error_is);
    lua_setfield(L, 1, "is_error");
    return 0;
}

/* }==================== */

/* {==================== unknown fields ==================== */

int lwb_no_field(lua_State *L, const char *tname, int extra)
{
    extra = extra ? lua_absindex(L, extra) : 0;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "wb.spec_keys");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "no_field");
    lua_pushstring(L, tname);
    lua_pushvalue(L, 2);
    if (!lua_getmetatable(L, 1))
        lua_pushnil(L);
    if (extra)
        lua_pushvalue(L, extra);
    else
        lua_pushnil(L);
    lua_call(L, 4, 1);
    if (lua_isnil(L, -1))
        return 1; /* a listed field this object lacks: nil */
    return luaL_error(L, "%s", lua_tostring(L, -1));
}

/* }==================== */

/* {==================== hex state strings ==================== */

int lwb_hex_decode(const char *s, size_t len, unsigned char *out, size_t n)
{
    if (len != 2 * n)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
        if (d < 0)
            return 0;
        out[i / 2] = (unsigned char)(i % 2 ? out[i / 2] << 4 | d : d);
    }
    return 1;
}

/* }==================== */
