/* fuzz_gpquote.c - libFuzzer target for wb.plot's gnuplot and shell quoting.
 *
 * The quoting functions are Lua (U.q and U.sh in
 * bindings/lua/wb/plot/util.lua), so this target embeds Lua 5.4: it loads
 * tests/fuzz/gpquote_check.lua once and calls its check(s) with each input
 * as a Lua string. A non-nil result (the property failed: see that file) or
 * a Lua error aborts, which libFuzzer reports as a finding. WB_SRC_DIR is
 * the source tree (set by run.sh; the current folder by default).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef WB_SRC_DIR
#define WB_SRC_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static int check_ref = LUA_NOREF;

static void die(const char *what)
{
    fprintf(stderr, "fuzz_gpquote: %s: %s\n", what, lua_tostring(L, -1));
    abort();
}

static void init(void)
{
    const char *root = getenv("WB_SRC_DIR");
    if (!root || !root[0])
        root = WB_SRC_DIR;
    L = luaL_newstate();
    if (!L)
        abort();
    luaL_openlibs(L);
    lua_pushfstring(L, "%s/tests/fuzz/gpquote_check.lua", root);
    if (luaL_loadfile(L, lua_tostring(L, -1)) != LUA_OK)
        die("cannot load the check");
    if (lua_pcall(L, 0, 1, 0) != LUA_OK)
        die("cannot run the check file");
    lua_pushstring(L, root);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        die("cannot make the check");
    lua_getfield(L, -1, "check");
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!L)
        init();
    lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        die("the check raised");
    if (!lua_isnil(L, -1))
        die("property failed");
    lua_settop(L, 0);
    if (lua_gc(L, LUA_GCCOUNT, 0) > 64 * 1024) /* KiB: keep memory flat */
        lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
