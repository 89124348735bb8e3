/* workbench.c - minimal runner until the REPL lands: workbench FILE | -e CHUNK */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_wb(lua_State *L);

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_pushcfunction(L, traceback);
    luaL_requiref(L, "wb", luaopen_wb, 1);
    lua_pop(L, 1);
    int st = LUA_OK;
    if (argc > 2 && strcmp(argv[1], "-e") == 0)
        st = luaL_loadstring(L, argv[2]);
    else if (argc > 1) {
        lua_createtable(L, argc, 0);
        for (int i = 0; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_rawseti(L, -2, i - 1);
        }
        lua_setglobal(L, "arg");
        st = luaL_loadfile(L, argv[1]);
    }
    if (st == LUA_OK)
        st = lua_pcall(L, 0, 0, 1);
    if (st != LUA_OK)
        fprintf(stderr, "workbench: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return st == LUA_OK ? 0 : 1;
}
