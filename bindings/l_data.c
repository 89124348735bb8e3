/* l_data.c - wb.data: IDX files and minibatch gathering.
 *
 * The Dataset class itself is Lua (bindings/lua/wb/data.lua); these are its
 * two C primitives.
 */
#include "../core/dataset.h"
#include "../core/idx.h"
#include "lwb.h"

/* wb.data.idx(path) -> tensor (uint8 for ubyte files, else float32) */
static int data_idx(lua_State *L)
{
    wb_err err;
    const char *path = lwb_checkpath(L, 1, 0);
    lwb_checknargs(L, 1, "wb.data.idx(path)");
    lwb_note_file(L, path, "r");
    lwb_tensor_box *b = lwb_newtensorbox(L);
    b->t = wb_idx_load(path, &err);
    if (!b->t)
        return lwb_raise_path(L, 0, &err, path);
    lwb_gc_hint(L, b->t->storage->nbytes);
    return 1;
}

/* wb.data.gather(x, y, images, labels, idx, first, count): rows
 * idx[first .. first+count-1] (1-based) into the buffers x, y. */
static int data_gather(lua_State *L)
{
    wb_err err;
    wb_tensor *x = lwb_checktensor(L, 1), *y = lwb_checktensor(L, 2);
    wb_tensor *images = lwb_checktensor(L, 3), *labels = lwb_checktensor(L, 4);
    wb_tensor *idx = lwb_checktensor(L, 5);
    lwb_checknargs(L, 7, "wb.data.gather(x, y, images, labels, idx, first, count)");
    lua_Integer first = lwb_checkinteger(L, 6), count = lwb_checkinteger(L, 7);
    lwb_argcheck(L, first >= 1, 6, "expected a 1-based position >= 1");
    if (wb_dataset_gather(x, y, images, labels, idx, first - 1, count, &err) != WB_OK)
        return lwb_raise(L, 0, &err);
    return 0;
}

static const luaL_Reg functions[] = {
    {"idx", data_idx}, {"gather", data_gather}, {NULL, NULL},
};

int lwb_open_data(lua_State *L)
{
    lwb_subtable(L, 1, "data");
    luaL_setfuncs(L, functions, 0);
    return 0;
}
