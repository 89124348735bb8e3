/* l_image.c - wb.image: Lua face of core/png.h and core/imgproc.h.
 *
 *   wb.image.load(path)                 --> float32 [h, w] grey in [0, 1]
 *   wb.image.save(t, path)              grey [h, w] / RGB [h, w, 3], 8-bit
 *   wb.image.to_mnist(img [, {steps = true}])
 *                                       --> [1, 784] [, steps table]
 *     steps = {inverted = [h, w] (ink bright, background removed),
 *              cropped = [bh, bw], scaled = [sh, sw] (longer side 20),
 *              centred = [28, 28], light_background = bool,
 *              background = number, bbox = {y, x, h, w} (1-based, input),
 *              offset = {rows above, columns left} of scaled in centred}
 *   wb.image.resize(img, h, w [, {method = "area" | "bilinear"}])
 *   wb.image.invert(img)                --> 1 - img
 *   wb.image.crop(img, y, x, h, w)      1-based top-left corner
 *   wb.image.bbox(img [, level = 0])    --> y, x, h, w of pixels > level
 *   wb.image.centre_of_mass(img)        --> y, x (1-based, fractional)
 *   wb.image.rgb(r [, g, b])            --> [h, w, 3]
 *
 * File errors (missing, malformed, I/O) raise the core's message as is
 * ("x.png: truncated: libpng: Read Error"); a wrong argument raises "bad
 * argument #n". Result boxes are pushed before the core call, so a Lua
 * error never strands a tensor.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../core/imgproc.h"
#include "../core/png.h"
#include "lwb.h"

/* Raise "unknown option 'k' (valid: a, b)" for a key of the options table
 * at idx that is not in valid (NULL-terminated). A nil idx is no options. */
static void check_opts(lua_State *L, int idx, const char *const *valid)
{
    if (lua_isnoneornil(L, idx))
        return;
    lwb_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        int ok = 0;
        for (int i = 0; k && valid[i]; i++)
            ok |= strcmp(k, valid[i]) == 0;
        if (!ok) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (int i = 0; valid[i]; i++) {
                luaL_addstring(&b, i ? ", " : "");
                luaL_addstring(&b, valid[i]);
            }
            luaL_pushresult(&b);
            lwb_argerror(L, idx, lua_pushfstring(L, "unknown option '%s' "
                          "(valid: %s)", k ? k : luaL_typename(L, -2),
                          lua_tostring(L, -1)));
        }
    }
}

/* A path argument: a string, not a number lua_tolstring would turn into one
 * (wb.image.load(42) looked for a file named "42": a bad argument, not 66). */
static const char *checkpath(lua_State *L, int arg)
{
    lwb_argexpected(L, lua_type(L, arg) == LUA_TSTRING, arg, "string");
    return lwb_checkpath(L, arg, 0);
}

static int image_load(lua_State *L)
{
    const char *path = checkpath(L, 1);
    lwb_checknargs(L, 1, "wb.image.load(path)");
    lwb_note_file(L, path, "r");
    lwb_tensor_box *box = lwb_newtensorbox(L);
    wb_err err;
    box->t = wb_png_load(path, &err);
    if (!box->t)
        return lwb_raise_path(L, 0, &err, path);
    lwb_gc_hint(L, box->t->storage->nbytes);
    return 1;
}

static int image_save(lua_State *L)
{
    wb_tensor *t = lwb_checktensor(L, 1);
    const char *path = checkpath(L, 2);
    lwb_checknargs(L, 2, "wb.image.save(t, path)");
    lwb_note_file(L, path, "w");
    wb_err err;
    if (wb_png_save(t, path, &err) != WB_OK)
        return lwb_raise_path(L, err.code == WB_EINVAL ? 2 :
                              err.code == WB_ESHAPE || err.code == WB_ERANGE ||
                              err.code == WB_ENONFINITE ? 1 : 0, &err, path);
    return 0;
}

/* Push t (owned by a box created earlier) as field name of the table on
 * top; the box is at index boxidx. */
static void set_box_field(lua_State *L, int boxidx, wb_tensor *t, const char *name)
{
    ((lwb_tensor_box *)lua_touserdata(L, boxidx))->t = t;
    lua_pushvalue(L, boxidx);
    lua_setfield(L, -2, name);
}

static void push_ints(lua_State *L, const int64_t *v, int n, int plus)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)(v[i] + (i < 2 ? plus : 0)));
        lua_rawseti(L, -2, i + 1);
    }
}

/* A float32 [h, w] image's pixels are in [0, 1] (as load gives them): a NaN
 * made the core say "ink contrast -nan", and a 0..255 image "no digit
 * found". The first bad pixel is named ("img: ", which wb/image.lua turns
 * into the file's name), with how many more there are. */
static void check_pixels(lua_State *L, const wb_tensor *img, int range)
{
    if (img->dtype != WB_F32 || img->ndim < 2 || (range && img->ndim != 2))
        return; /* the core names a wrong dtype or shape */
    const float *p = wb_tensor_f32(img);
    size_t n = wb_tensor_numel(img), first = n, more = 0;
    size_t ch = img->ndim == 3 ? (size_t)img->shape[2] : 1, wd = (size_t)img->shape[1];
    for (size_t i = 0; i < n; i++)
        if (range ? !(p[i] >= 0.0f && p[i] <= 1.0f) : !isfinite(p[i]))
            more += first < n ? 1 : (first = i, 0);
    if (first == n)
        return;
    wb_err err;
    char v[32];
    snprintf(v, sizeof v, isnan(p[first]) ? "nan" : "%g", (double)p[first]);
    const char *m = more ? lua_pushfstring(L, " (and %I more%s)", (lua_Integer)more,
                                           range ? " outside [0, 1]" : "") : "";
    if (range)
        wb_err_set(&err, WB_ERANGE, "img: pixel [%zu, %zu] is %s%s, expected values in [0, 1] "
                   "(as wb.image.load gives; a 0..255 image: divide it by 255)",
                   first / wd + 1, first % wd + 1, v, m);
    else /* resize: NaN in, NaN out without a word (to_mnist and save refuse it) */
        wb_err_set(&err, WB_ENONFINITE, "wb.image.resize: img: pixel [%zu, %zu] is %s%s, "
                   "expected finite values", first / ch / wd + 1, first / ch % wd + 1, v, m);
    lwb_raise(L, 0, &err);
}

static int image_to_mnist(lua_State *L)
{
    static const char *const valid[] = {"steps", NULL};
    wb_tensor *img = lwb_checktensor(L, 1);
    lwb_checknargs(L, 2, "wb.image.to_mnist(img [, opts])");
    check_opts(L, 2, valid);
    check_pixels(L, img, 1);
    int want = 0;
    if (!lua_isnoneornil(L, 2)) {
        int t = lua_getfield(L, 2, "steps");
        if (t != LUA_TNIL && t != LUA_TBOOLEAN) /* steps = "yes" was taken as true */
            lwb_argerror(L, 2, lua_pushfstring(L, "option 'steps': expected a boolean, got %s",
                                                luaL_typename(L, -1)));
        want = lua_toboolean(L, -1);
    }
    lua_settop(L, 2);
    lwb_tensor_box *out = lwb_newtensorbox(L);                 /* index 3 */
    for (int i = 0; want && i < 4; i++)
        lwb_newtensorbox(L);                                    /* 4 .. 7 */
    wb_mnist_steps st;
    wb_err err;
    out->t = wb_img_to_mnist(img, want ? &st : NULL, &err);
    if (!out->t)
        return lwb_raise(L, err.code == WB_ESHAPE ? 1 : 0, &err);
    if (!want)
        return 1;
    lua_settop(L, 7);
    lua_createtable(L, 0, 8);
    set_box_field(L, 4, st.inverted, "inverted");
    set_box_field(L, 5, st.cropped, "cropped");
    set_box_field(L, 6, st.scaled, "scaled");
    set_box_field(L, 7, st.centred, "centred");
    lua_pushboolean(L, st.light_background);
    lua_setfield(L, -2, "light_background");
    lua_pushnumber(L, st.background);
    lua_setfield(L, -2, "background");
    push_ints(L, st.bbox, 4, 1); /* 1-based y, x; then h, w */
    lua_setfield(L, -2, "bbox");
    push_ints(L, st.offset, 2, 0); /* rows above, columns left of the digit */
    lua_setfield(L, -2, "offset");
    lua_pushvalue(L, 3);
    lua_insert(L, -2);
    return 2;
}

static int image_resize(lua_State *L)
{
    static const char *const valid[] = {"method", NULL};
    static const char *const methods[] = {"area", "bilinear", NULL};
    wb_tensor *img = lwb_checktensor(L, 1);
    lua_Integer h = lwb_checkinteger(L, 2), w = lwb_checkinteger(L, 3);
    lwb_checknargs(L, 4, "wb.image.resize(img, h, w [, opts])");
    check_opts(L, 4, valid);
    int shrink = img->ndim == 2 && h <= img->shape[0] && w <= img->shape[1];
    int method = shrink ? WB_RESAMPLE_AREA : WB_RESAMPLE_BILINEAR;
    if (!lua_isnoneornil(L, 4) && lua_getfield(L, 4, "method") != LUA_TNIL) {
        const char *m = lua_tostring(L, -1);
        for (method = 0; methods[method] && (!m || strcmp(m, methods[method]));)
            method++;
        if (!methods[method])
            lwb_argerror(L, 4, lua_pushfstring(L, "method: expected 'area' or "
                          "'bilinear', got '%s'", luaL_tolstring(L, -1, NULL)));
    }
    check_pixels(L, img, 0);
    lwb_tensor_box *box = lwb_newtensorbox(L);
    wb_err err;
    box->t = wb_img_resize(img, h, w, (wb_resample)method, &err);
    if (!box->t)
        return lwb_raise(L, err.code == WB_ESHAPE ? 1 : 2, &err);
    lwb_gc_hint(L, box->t->storage->nbytes);
    return 1;
}

static int image_invert(lua_State *L)
{
    wb_tensor *img = lwb_checktensor(L, 1);
    lwb_checknargs(L, 1, "wb.image.invert(img)");
    check_pixels(L, img, 1); /* 1 - x of a 0..255 image went down to -254, silently */
    lwb_tensor_box *box = lwb_newtensorbox(L);
    wb_err err;
    box->t = wb_img_invert(img, &err);
    return box->t ? 1 : lwb_raise(L, err.code == WB_ENOMEM ? 0 : 1, &err);
}

static int image_crop(lua_State *L)
{
    wb_tensor *img = lwb_checktensor(L, 1);
    lua_Integer y = lwb_checkinteger(L, 2), x = lwb_checkinteger(L, 3);
    lua_Integer h = lwb_checkinteger(L, 4), w = lwb_checkinteger(L, 5);
    lwb_checknargs(L, 5, "wb.image.crop(img, y, x, h, w)");
    lwb_tensor_box *box = lwb_newtensorbox(L);
    wb_err err;
    box->t = wb_img_crop(img, y - 1, x - 1, h, w, &err);
    if (!box->t && err.code == WB_ERANGE) /* restate the range 1-based */
        return luaL_error(L, "crop: rows %I..%I, columns %I..%I do not fit in a "
                          "[%I, %I] image", y, y + h - 1, x, x + w - 1,
                          (lua_Integer)img->shape[0], (lua_Integer)img->shape[1]);
    return box->t ? 1 : lwb_raise(L, err.code == WB_ESHAPE ? 1 : 0, &err);
}

static int image_bbox(lua_State *L)
{
    wb_tensor *img = lwb_checktensor(L, 1);
    lwb_checknargs(L, 2, "wb.image.bbox(img [, level])");
    float level = (float)lwb_optnumber(L, 2, 0.0);
    int64_t box[4];
    wb_err err;
    if (wb_img_bbox(img, level, box, &err) != WB_OK)
        return lwb_raise(L, err.code == WB_ESHAPE ? 1 : 0, &err);
    for (int i = 0; i < 4; i++)
        lua_pushinteger(L, (lua_Integer)(box[i] + (i < 2)));
    return 4;
}

static int image_centre_of_mass(lua_State *L)
{
    wb_tensor *img = lwb_checktensor(L, 1);
    lwb_checknargs(L, 1, "wb.image.centre_of_mass(img)");
    double cy, cx;
    wb_err err;
    if (wb_img_centre_of_mass(img, &cy, &cx, &err) != WB_OK)
        return lwb_raise(L, err.code == WB_ESHAPE ? 1 : 0, &err);
    lua_pushnumber(L, cy + 1);
    lua_pushnumber(L, cx + 1);
    return 2;
}

static int image_rgb(lua_State *L)
{
    wb_tensor *r = lwb_checktensor(L, 1);
    lwb_checknargs(L, 3, "wb.image.rgb(r [, g, b])");
    wb_tensor *g = lua_isnoneornil(L, 2) ? NULL : lwb_checktensor(L, 2);
    wb_tensor *b = lua_isnoneornil(L, 3) ? NULL : lwb_checktensor(L, 3);
    lwb_argcheck(L, (g == NULL) == (b == NULL), 2, "give both g and b, or neither");
    lwb_tensor_box *box = lwb_newtensorbox(L);
    wb_err err;
    box->t = wb_img_rgb(r, g, b, &err);
    if (!box->t)
        return lwb_raise(L, 0, &err);
    lwb_gc_hint(L, box->t->storage->nbytes);
    return 1;
}

int lwb_open_image(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"load", image_load},     {"save", image_save},
        {"to_mnist", image_to_mnist}, {"resize", image_resize},
        {"invert", image_invert}, {"crop", image_crop},
        {"bbox", image_bbox},     {"centre_of_mass", image_centre_of_mass},
        {"rgb", image_rgb},       {NULL, NULL},
    };
    lwb_subtable(L, 1, "image");
    luaL_setfuncs(L, funcs, 0);
    lua_pushinteger(L, WB_PNG_MAX_SIDE);
    lua_setfield(L, -2, "max_side");
    lua_pop(L, 1);
    return 0;
}
