/* l_optim.c - Lua bindings for wb.optim (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_optim(lua_State *L)
{
    (void)L;
    return 0;
}
