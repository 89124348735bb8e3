/* l_image.c - Lua bindings for wb.image (being written; registers nothing yet). */
#include "lwb.h"

int lwb_open_image(lua_State *L)
{
    (void)L;
    return 0;
}
