/* l_io.c - wb.io: low-level safetensors files (core/safetensors.h).
 *
 *   wb.io.save_safetensors(path, tensors [, metadata])
 *     tensors: {name = tensor, ...} (float32 or uint8; written in sorted
 *     name order); metadata: {key = "string value", ...} (sorted by key:
 *     the same tensors and metadata give the same bytes). Atomic.
 *   wb.io.load_safetensors(path) --> tensors, metadata, names
 *     tensors: {name = tensor}; metadata: {key = value}; names: the tensor
 *     names in file order.
 *
 * Private: wb.io._observe(f|nil) -> previous, the observer of the files the
 * bindings read and write (lwb.h lwb_note_file; wb/identity_reads.lua);
 * wb.io._hash(t), a hash of a tensor's elements (fit's record of its data);
 * wb.io._json_clean(v, null, integers), what cjson decoded made plain data.
 *
 * Not the model checkpoint API: model:save, wb.load and model:load_weights
 * (bindings/lua/wb/checkpoint.lua) build on these two functions. Errors
 * raise with the file name and the problem, as the core reports it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "../core/alloc.h"
#include "../core/fsutil.h"
#include "../core/safetensors.h"
#include "lwb.h"

#define IO_FILE "wb.io.SafetensorsFile"

typedef struct named {
    const char *name;
    const wb_tensor *t;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

/* Collect a {string = tensor} table into a sorted array (a userdata, so an
 * error leaves nothing to free). Returns the count. */
static int collect_tensors(lua_State *L, int idx, named **out)
{
    int n = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "bad argument #2 to 'save_safetensors' (tensor names "
                          "must be strings, got %s)", luaL_typename(L, -2));
        if (!lwb_totensor(L, -1))
            luaL_error(L, "bad argument #2 to 'save_safetensors' (tensors['%s']: "
                          "wb.Tensor expected, got %s)", lua_tostring(L, -2),
                       luaL_typename(L, -1));
        n++;
    }
    named *v = lua_newuserdatauv(L, sizeof *v * (size_t)(n ? n : 1), 0);
    int i = 0;
    for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
        v[i].name = lua_tostring(L, -2); /* kept alive by the table */
        v[i++].t = lwb_totensor(L, -1);
    }
    qsort(v, (size_t)n, sizeof *v, cmp_named);
    *out = v;
    return n;
}

typedef struct meta_pair {
    const char *key, *val;
} meta_pair;

static int cmp_meta(const void *a, const void *b)
{
    return strcmp(((const meta_pair *)a)->key, ((const meta_pair *)b)->key);
}

/* Collect {string = string} metadata into two arrays (userdata), sorted by
 * key: a table's order differs between processes, the file must not. */
static int collect_meta(lua_State *L, int idx, const char ***keys, const char ***vals)
{
    int n = 0;
    if (!lua_isnoneornil(L, idx)) {
        lwb_checktype(L, idx, LUA_TTABLE);
        for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "bad argument #3 to 'save_safetensors' (metadata keys "
                              "and values must be strings, got %s = %s)",
                           luaL_typename(L, -2), luaL_typename(L, -1));
            n++;
        }
    }
    meta_pair *p = lua_newuserdatauv(L, sizeof *p * (size_t)(n + 1), 0);
    const char **k = lua_newuserdatauv(L, sizeof *k * (size_t)(2 * n + 1), 0);
    int i = 0;
    if (n)
        for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
            p[i].key = lua_tostring(L, -2);
            p[i++].val = lua_tostring(L, -1);
        }
    qsort(p, (size_t)n, sizeof *p, cmp_meta);
    for (i = 0; i < n; i++) {
        k[i] = p[i].key;
        k[n + i] = p[i].val;
    }
    *keys = k;
    *vals = k + n;
    return n;
}

static int io_save_safetensors(lua_State *L)
{
    const char *path = lwb_checkpath(L, 1, 0);
    lwb_checktype(L, 2, LUA_TTABLE);
    lwb_no_extra(L, 3, "wb.io.save_safetensors(path, tensors, metadata)");
    lua_settop(L, 3); /* metadata may be absent: slot 3 is nil, not a scratch value */
    named *v;
    const char **keys, **vals;
    int n = collect_tensors(L, 2, &v);
    int n_meta = collect_meta(L, 3, &keys, &vals);
    const char **names = lua_newuserdatauv(L, sizeof *names * (size_t)(n + 1), 0);
    const wb_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)(n + 1), 0);
    for (int i = 0; i < n; i++) {
        names[i] = v[i].name;
        ts[i] = v[i].t;
    }
    lwb_note_file(L, path, "w");
    wb_err err;
    if (wb_safetensors_save(path, n, names, ts, n_meta, keys, vals, &err) != WB_OK)
        return lwb_raise_path(L, 0, &err, path);
    return 0;
}

typedef struct st_box {
    wb_safetensors *st;
} st_box;

static int st_gc(lua_State *L)
{
    st_box *b = lwb_checkudata(L, 1, IO_FILE);
    wb_safetensors_free(b->st);
    b->st = NULL;
    return 0;
}

/* An EFORMAT on a file that is no safetensors at all (README.md, a PNG: no
 * JSON header after its 8-byte length) said only "header length
 * 7305519684788887587 exceeds file size 71551": that comes first now. */
static void say_not_safetensors(const char *path, wb_err *err)
{
    unsigned char head[9];
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == sizeof head && head[8] == '{')
        return;
    char msg[WB_ERR_MSG];
    const char *why = err->msg; /* the core's words, without their "path: " */
    size_t lp = strlen(path);
    if (strncmp(why, path, lp) == 0 && strncmp(why + lp, ": ", 2) == 0)
        why += lp + 2;
    snprintf(msg, sizeof msg, "%s: not a safetensors file (no JSON header after its first "
             "8 bytes): ", path);
    size_t k = strlen(msg);
    snprintf(msg + k, sizeof msg - k, "%s", why);
    memcpy(err->msg, msg, sizeof msg);
}

static int io_load_safetensors(lua_State *L)
{
    const char *path = lwb_checkpath(L, 1, 0);
    lwb_note_file(L, path, "r");
    st_box *b = lua_newuserdatauv(L, sizeof *b, 0); /* owns st until the end */
    b->st = NULL;
    luaL_setmetatable(L, IO_FILE);
    wb_err err;
    b->st = wb_safetensors_load(path, &err);
    if (!b->st && err.code == WB_EFORMAT)
        say_not_safetensors(path, &err);
    if (!b->st)
        return lwb_raise_path(L, 0, &err, path);
    int n = wb_safetensors_count(b->st), nm = wb_safetensors_meta_count(b->st);
    lua_createtable(L, 0, n);  /* tensors */
    lua_createtable(L, 0, nm); /* metadata */
    lua_createtable(L, n, 0);  /* names */
    for (int i = 0; i < n; i++) {
        const wb_tensor *t = wb_safetensors_tensor(b->st, i);
        lwb_tensor_box *tb = lwb_newtensorbox(L);
        tb->t = wb_tensor_view(t, 0, t->ndim, t->shape, &err); /* shares storage */
        if (!tb->t)
            return lwb_raise(L, 0, &err);
        lwb_gc_hint(L, t->storage->nbytes);
        lua_setfield(L, -4, wb_safetensors_name(b->st, i));
        lua_pushstring(L, wb_safetensors_name(b->st, i));
        lua_rawseti(L, -2, i + 1);
    }
    for (int i = 0; i < nm; i++) {
        lua_pushstring(L, wb_safetensors_meta_value(b->st, i));
        lua_setfield(L, -3, wb_safetensors_meta_key(b->st, i));
    }
    wb_safetensors_free(b->st); /* the views keep the storages alive */
    b->st = NULL;
    return 3;
}

/* wb.io._faults() -> alloc_injected, io_injected, allocs, ios, live: the
 * faults WB_FAULT_ALLOC / WB_FAULT_IO injected so far (core/alloc.h,
 * core/fsutil.h), the core allocations and the writes/fsyncs/renames made,
 * and the core allocations still live. For the fault-loop test
 * (tests/lua/test_fault_loop.lua); private (underscore), not documented API. */
static int io_faults(lua_State *L)
{
    lua_pushinteger(L, wb_alloc_injected());
    lua_pushinteger(L, wb_fsutil_injected());
    lua_pushinteger(L, wb_alloc_count());
    lua_pushinteger(L, wb_fsutil_io_count());
    lua_pushinteger(L, wb_alloc_live());
    return 5;
}

/* wb.io._hash(t) -> 32 hex digits: XXH3-128 of t's elements as stored
 * (tensors are contiguous), as wb.sys.hash_file writes a file's. What fit
 * records of its data for a resume to compare (wb/fit_args.lua): a file of
 * the same rows but other data is refused. Private: not documented API. */
static int io_hash(lua_State *L)
{
    const wb_tensor *t = lwb_checktensor(L, 1);
    size_t n = wb_tensor_numel(t) * wb_dtype_size(t->dtype);
    const uint8_t *p = (const uint8_t *)t->storage->data + t->offset * wb_dtype_size(t->dtype);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(n ? p : NULL, n));
    char hex[2 * sizeof c.digest + 1];
    for (size_t i = 0; i < sizeof c.digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
    lua_pushstring(L, hex);
    return 1;
}

/* What cjson's decode gives back, made what the library reads: values
 * raw-equal to null (cjson.null) removed and, with integers, floats of
 * integral value below 2^53 turned into integers (JSON has one number type
 * and cjson decodes every number as a float: seed 2, not 2.0). The table at
 * index t, walked to its depth (cjson's decode limits that to 1000). In C
 * because a record of every step's instruments holds about a million
 * numbers: the same walk in Lua took 0.1 s a 2.7 MB record, read twice for
 * each run a task reuses. */
/* Whether the value at idx is a float of integral value below 2^53 (*i
 * its integer): what JSON's one number type gives back as 2.0 for 2. */
static int integral_float(lua_State *L, int idx, lua_Integer *i)
{
    if (lua_type(L, idx) != LUA_TNUMBER || lua_isinteger(L, idx))
        return 0;
    lua_Number x = lua_tonumber(L, idx);
    if (!(x == floor(x) && fabs(x) < 9007199254740992.0))
        return 0;
    *i = (lua_Integer)x;
    return 1;
}

static void json_clean(lua_State *L, int t, int null, int integers)
{
    lua_Integer i;
    luaL_checkstack(L, 3, "json_clean: too deep");
    lua_pushnil(L);
    while (lua_next(L, t)) {
        /* a field already present may be set (or cleared) while walking */
        if (lua_rawequal(L, -1, null)) {
            lua_pushvalue(L, -2);
            lua_pushnil(L);
            lua_rawset(L, t);
        } else if (lua_type(L, -1) == LUA_TTABLE) {
            json_clean(L, lua_gettop(L), null, integers);
        } else if (integers && integral_float(L, -1, &i)) {
            lua_pushvalue(L, -2);
            lua_pushinteger(L, i);
            lua_rawset(L, t);
        }
        lua_pop(L, 1);
    }
}

/* wb.io._json_clean(v, null [, integers]) -> v: json_clean on table v (any
 * other v is returned as it is, null as nil). Private (wb/util.lua,
 * wb/record.lua). */
static int io_json_clean(lua_State *L)
{
    lwb_checkany(L, 2);
    int integers = lua_toboolean(L, 3);
    lua_Integer i;
    lua_settop(L, 2);
    if (lua_rawequal(L, 1, 2))
        lua_pushnil(L);
    else if (integers && integral_float(L, 1, &i))
        lua_pushinteger(L, i);
    else {
        if (lua_type(L, 1) == LUA_TTABLE)
            json_clean(L, 1, 2, integers);
        lua_pushvalue(L, 1);
    }
    return 1;
}

static const luaL_Reg functions[] = {
    {"save_safetensors", io_save_safetensors},
    {"load_safetensors", io_load_safetensors},
    {"_faults", io_faults},
    {"_hash", io_hash},
    {"_json_clean", io_json_clean},
    {"_observe", lwb_observe},
    {NULL, NULL},
};

int lwb_open_io(lua_State *L)
{
    luaL_newmetatable(L, IO_FILE);
    lua_pushcfunction(L, st_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lwb_subtable(L, 1, "io");
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
    return 0;
}
