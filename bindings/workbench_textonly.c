/* workbench_textonly.c - the loaders a script calls take text chunks
 * unless it asks for binary ones.
 *
 * Lua does not verify precompiled chunks: a damaged one crashes the
 * process (audit X8: 16 of 200 mutations of one segfaulted). workbench
 * loads its script, `-` and `-e` as text only (workbench.c); here the same
 * holds for what a script loads: load and loadfile default to mode "t" (a
 * script that passes "b" or "bt" itself gets what it asked for, as
 * load(string.dump(f), nil, "b") needs), dofile loads text, and require's
 * searcher of Lua files (package.searchers[2]) loads text. A precompiled
 * chunk is then an error naming the file, not a segfault.
 */
#include "workbench.h"

#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

/* The original load / loadfile, kept as upvalue 1. A missing or nil mode
 * (argument mode_arg) becomes "t"; the rest go through unchanged. It is
 * called with copies: the arguments stay below its results (loadfile's
 * file name, read as a C string before, stays referenced). Returns the
 * number of results. */
static int text_default(lua_State *L, int mode_arg)
{
    if (lua_gettop(L) < mode_arg)
        lua_settop(L, mode_arg);
    if (lua_isnil(L, mode_arg)) {
        lua_pushliteral(L, "t");
        lua_replace(L, mode_arg);
    }
    int n = lua_gettop(L);
    luaL_checkstack(L, n + 1, "load: too many arguments");
    lua_pushvalue(L, lua_upvalueindex(1));
    for (int i = 1; i <= n; i++)
        lua_pushvalue(L, i);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L) - n;
}

/* Lua's message for a binary chunk under mode "t" names neither the file
 * (what: or the function) nor the way out: the message at the top, said
 * again with both (what a mode "t" the script gave refused keeps Lua's
 * words: it asked for that). */
static void name_binary(lua_State *L, const char *what)
{
    const char *msg = lua_tostring(L, -1);
    if (msg && strncmp(msg, "attempt to load a binary chunk", 30) == 0) {
        lua_pushfstring(L, "%s: a precompiled Lua chunk (luac output): workbench loads Lua "
                        "source unless the mode argument says \"b\" (load, loadfile: Lua "
                        "does not check precompiled chunks; a damaged one crashes)",
                        what ? what : "stdin");
        lua_replace(L, -2);
    }
}

static int load_text(lua_State *L)
{
    int asked = !lua_isnoneornil(L, 3);
    int n = text_default(L, 3);
    if (!asked && n == 2 && lua_isnil(L, -2))
        name_binary(L, "load");
    return n;
}

static int loadfile_text(lua_State *L)
{
    int asked = !lua_isnoneornil(L, 2);
    const char *fname = luaL_optstring(L, 1, NULL);
    int n = text_default(L, 2);
    if (!asked && n == 2 && lua_isnil(L, -2))
        name_binary(L, fname);
    return n;
}

/* dofile(filename): the base library's, with loadfile's mode "t". */
static int dofile_text(lua_State *L)
{
    const char *fname = luaL_optstring(L, 1, NULL);
    lua_settop(L, 1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) {
        name_binary(L, fname);
        return lua_error(L);
    }
    lua_call(L, 0, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* package.searchers[2] as loadlib.c's searcher_Lua, loading text: the
 * loader and the file name, or a string saying where it looked. */
static int searcher_text(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushstring(L, name);
    lua_getfield(L, -3, "path");
    if (!lua_isstring(L, -1))
        return luaL_error(L, "'package.path' must be a string");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
        return 1; /* searchpath's message: the files it tried */
    lua_pop(L, 1);
    const char *fname = lua_tostring(L, -1);
    if (luaL_loadfilex(L, fname, "t") != LUA_OK) {
        name_binary(L, fname);
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, fname,
                          lua_tostring(L, -1));
    }
    lua_pushstring(L, fname);
    return 2;
}

void wbx_text_only(lua_State *L)
{
    static const struct {
        const char *name;
        lua_CFunction f;
    } wrap[] = {{"load", load_text}, {"loadfile", loadfile_text}};
    for (size_t i = 0; i < sizeof wrap / sizeof *wrap; i++) {
        lua_getglobal(L, wrap[i].name);
        lua_pushcclosure(L, wrap[i].f, 1);
        lua_setglobal(L, wrap[i].name);
    }
    lua_pushcfunction(L, dofile_text);
    lua_setglobal(L, "dofile");
    lua_getglobal(L, "package");
    if (lua_getfield(L, -1, "searchers") == LUA_TTABLE) {
        lua_pushcfunction(L, searcher_text);
        lua_rawseti(L, -2, 2);
    }
    lua_pop(L, 2);
}
