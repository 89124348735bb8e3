/* l_nn.c - Lua bindings for wb.nn (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_nn(lua_State *L)
{
    (void)L;
    return 0;
}
