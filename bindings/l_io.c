/* l_io.c - Lua bindings for wb.io (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_io(lua_State *L)
{
    (void)L;
    return 0;
}
