/* l_doc.c - lwb_docs: C functions' help text into wb._docs.
 *
 * A binding file keeps the help text of its functions in a NULL-terminated
 * array of strings beside its luaL_Reg table, one string per public name,
 * in the format wb/help.lua reads from `---` blocks in Lua files: the first
 * line is the signature that names the entry ("wb.zeros(d1, d2, ...) ->
 * wb.Tensor", "wb.Tensor:sum() -> number", "wb.Tensor" for the class), then
 * a paragraph, optional "@param name type" / "@return type" lines and an
 * "Example:" line. The opener calls lwb_docs once; help() parses the
 * strings when first asked. Not here: any parsing (that is Lua's job).
 */
#include "lwb.h"

void lwb_docs(lua_State *L, int wbidx, const char *const *docs)
{
    wbidx = lua_absindex(L, wbidx);
    lwb_subtable(L, wbidx, "_docs");
    lua_Integer n = luaL_len(L, -1);
    for (const char *const *d = docs; *d != NULL; d++) {
        lua_pushstring(L, *d);
        lua_rawseti(L, -2, ++n);
    }
    lua_pop(L, 1);
}
