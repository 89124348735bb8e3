/* wb.c - luaopen_wb, the one entry point of the workbench Lua module.
 *
 * Used by the `workbench` executable and by stock lua5.4 (`require "wb"`
 * with wb.so on LUA_CPATH). Builds the `wb` table from the C bindings, then
 * runs the Lua half of the library (bindings/lua/wb/init.lua), which adds
 * Sequential, fit, callbacks, plots and the experiment runner.
 *
 * The Lua files are found without environment variables: next to the binary
 * that holds this code (source tree: <dir>/bindings/lua; installed:
 * <prefix>/share/workbench/lua, reached from <prefix>/bin or
 * <prefix>/lib/lua/5.4), else the source tree this was built from.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lwb.h"
#ifdef WB_CORE_FILES_H
#include WB_CORE_FILES_H /* WB_CORE_FILES, made by the Makefile */
#endif

#ifndef WB_SRC_LUADIR
#define WB_SRC_LUADIR "bindings/lua"
#endif
#ifndef WB_VERSION
#define WB_VERSION "0.1.0"
#endif

int luaopen_wb(lua_State *L);

static int is_luadir(const char *dir)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/wb/init.lua", dir);
    return access(path, R_OK) == 0;
}

/* Fill out with the Lua library folder; 0 when none is found. */
static int find_luadir(char *out, size_t n)
{
    Dl_info info;
    char self[PATH_MAX] = "";
    if (dladdr((void *)luaopen_wb, &info) && info.dli_fname) {
        /* dli_fname is the executable's name as invoked for the main
         * program; /proc/self/exe is exact there. */
        if (strchr(info.dli_fname, '/') && strstr(info.dli_fname, ".so"))
            snprintf(self, sizeof self, "%s", info.dli_fname);
    }
    if (!self[0]) {
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        self[len > 0 ? len : 0] = '\0';
    }
    char real[PATH_MAX];
    if (self[0] && realpath(self, real)) {
        char *slash = strrchr(real, '/');
        if (slash) {
            *slash = '\0';
            const char *rel[] = {"/bindings/lua", "/../share/workbench/lua",
                                 "/../../../share/workbench/lua"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(out, n, "%s%s", real, rel[i]);
                if (is_luadir(out))
                    return 1;
            }
        }
    }
    snprintf(out, n, "%s", WB_SRC_LUADIR);
    return is_luadir(out);
}

void lwb_subtable(lua_State *L, int wbidx, const char *name)
{
    wbidx = lua_absindex(L, wbidx);
    if (lua_getfield(L, wbidx, name) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, wbidx, name);
    }
}

int lwb_open_instruments(lua_State *L); /* l_instruments.c */

int luaopen_wb(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "wb") == LUA_TTABLE)
        return 1; /* already loaded */
    lua_pop(L, 1);

    lua_newtable(L);
    int wb = lua_gettop(L);
    lua_pushvalue(L, wb);
    lua_setfield(L, -3, "wb"); /* package.loaded.wb: submodules require it */

    lua_CFunction openers[] = {lwb_open_error, lwb_open_tensor, lwb_open_data, lwb_open_nn,
                               lwb_open_optim, lwb_open_image, lwb_open_io,
                               lwb_open_sys, lwb_open_hessian, lwb_open_instruments};
    for (size_t i = 0; i < sizeof openers / sizeof openers[0]; i++) {
        lua_pushcfunction(L, openers[i]);
        lua_pushvalue(L, wb);
        lua_call(L, 1, 0);
    }
    lua_pushliteral(L, WB_VERSION);
    lua_setfield(L, wb, "version");
#ifdef WB_CORE_ID
    lua_pushliteral(L, WB_CORE_ID); /* hash of core/: part of a run's identity */
    lua_setfield(L, wb, "core_id");
#endif
#ifdef WB_CORE_FILES
    lua_pushliteral(L, WB_CORE_FILES); /* its files' cksum: the tree's are checked */
    lua_setfield(L, wb, "core_files");
#endif

    char dir[PATH_MAX];
    if (!find_luadir(dir, sizeof dir)) {
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_pushnil(L);
        lua_setfield(L, -2, "wb");
        return luaL_error(L, "wb: cannot find the Lua library (wb/init.lua); "
                             "looked beside the binary and in %s", dir);
    }
    lua_pushstring(L, dir);
    lua_setfield(L, wb, "luadir");

    /* Make wb.* Lua modules requirable: prepend dir/?.lua to package.path. */
    lua_getglobal(L, "package");
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s/?.lua;%s", dir, luaL_optstring(L, -1, ""));
        lua_setfield(L, -3, "path");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);

    char init[PATH_MAX + 16];
    snprintf(init, sizeof init, "%s/wb/init.lua", dir);
    if (luaL_loadfile(L, init) != LUA_OK) {
        lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
        lua_pushnil(L);
        lua_setfield(L, -2, "wb");
        return lua_error(L);
    }
    lua_pushvalue(L, wb);
    lua_call(L, 1, 0); /* init.lua receives the wb table and extends it */
    lua_pushvalue(L, wb);
    return 1;
}
