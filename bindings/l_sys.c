/* l_sys.c - Lua bindings for wb.sys (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_sys(lua_State *L)
{
    (void)L;
    return 0;
}
