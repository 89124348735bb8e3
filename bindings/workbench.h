/* workbench.h - what the `workbench` executable's two files share:
 * workbench.c (options, chunks, scripts, exit statuses; lua.c's part before
 * its REPL), workbench_repl.c (the REPL) and workbench_textonly.c (the
 * loaders). Not part of wb.so. */
#ifndef WB_WORKBENCH_H
#define WB_WORKBENCH_H

#include <lua.h>

/* The program's name in messages ("workbench"); NULL while the REPL runs,
 * so that its errors read "stdin:1: ...", as in lua.c. */
extern const char *wbx_progname;

/* "pname: msg" on stderr (lua.c's l_message). */
void wbx_message(const char *pname, const char *msg);

/* Print the error on the stack (when status is not LUA_OK) and pop it;
 * returns status (lua.c's report). */
int wbx_report(lua_State *L, int status);

/* Call the function below its narg arguments with the traceback handler
 * and the signal handler armed (lua.c's docall); the status. */
int wbx_docall(lua_State *L, int narg, int nres);

/* The REPL until end of input (workbench_repl.c). Returns the exit status:
 * 1 if a piped REPL's input ended inside a statement, else 0. */
int wbx_repl(lua_State *L);

/* load and loadfile default to text chunks, dofile and require's Lua
 * searcher take text only (workbench_textonly.c): Lua does not verify
 * bytecode. Call after luaL_openlibs. */
void wbx_text_only(lua_State *L);

#endif
