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
    const char *path = luaL_checkstring(L, 1);
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
    lua_Integer first = luaL_checkinteger(L, 6), count = luaL_checkinteger(L, 7);
    if (wb_dataset_gather(x, y, images, labels, idx, first - 1, count, &err) != WB_OK)
        return lwb_raise(L, 0, &err);
    return 0;
}

static const luaL_Reg functions[] = {
    {"idx", data_idx}, {"gather", data_gather}, {NULL, NULL},
};

/* help() text of the names above (format: bindings/l_doc.c). */
static const char *const docs[] = {
    "wb.data.idx(path) -> wb.Tensor\n"
    "Loads an IDX file (the MNIST format; gzip-compressed files too) as a\n"
    "tensor: uint8 for ubyte files, else float32, with the file's shape. Every\n"
    "length is checked against the file size; a bad file is an error naming\n"
    "the path and the field.\n"
    "@param path string\n"
    "@return wb.Tensor\n"
    "Example: local labels = wb.data.idx(\"data/mnist/t10k-labels-idx1-ubyte\")",
    "wb.data.gather(x, y, images, labels, idx, first, count)\n"
    "Copies the samples idx[first .. first+count-1] (1-based row numbers in a\n"
    "float32 tensor) of images [n, ...] (uint8, scaled by 1/255, or float32) and\n"
    "labels [n] into the float32 buffers x [>= count, features] and y [>= count].\n"
    "The primitive under ds:batch; allocates nothing.\n"
    "@param x wb.Tensor\n"
    "@param y wb.Tensor\n"
    "@param images wb.Tensor\n"
    "@param labels wb.Tensor\n"
    "@param idx wb.Tensor\n"
    "@param first integer\n"
    "@param count integer\n"
    "Example: wb.data.gather(x, y, ds.images, ds.labels, perm, 1, 32)",
    NULL,
};

int lwb_open_data(lua_State *L)
{
    lwb_subtable(L, 1, "data");
    luaL_setfuncs(L, functions, 0);
    lwb_docs(L, 1, docs);
    return 0;
}
