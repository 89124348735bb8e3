/* l_data.c - Lua bindings for wb.data (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_data(lua_State *L)
{
    (void)L;
    return 0;
}
