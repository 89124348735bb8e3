/* lineedit.h - the REPL's line input, behind a small seam (as lua.c's
 * lua_readline / lua_saveline / lua_freeline macros): GNU readline with a
 * history file and tab completion when stdin and stdout are terminals, a
 * plain getline otherwise (and always when built with -DWB_NO_READLINE).
 *
 * Only the executable links this file (bindings/workbench.c); wb.so does
 * not, so `require "wb"` in lua5.4 needs no readline.
 */
#ifndef WB_LINEEDIT_H
#define WB_LINEEDIT_H

#include <stddef.h>

#include <lua.h>

/* What le_readline returns. */
enum { LE_EOF = 0, LE_OK = 1, LE_CANCEL = -1 };

/* Start line editing for a REPL. complete_idx is the stack index of a Lua
 * function text -> {candidates} (wb.repl.complete), or 0 for none; errors
 * in it mean "no candidates". progname prefixes the one warning about an
 * unwritable history file ($WB_HISTORY, else ~/.workbench_history). */
void le_open(lua_State *L, int complete_idx, const char *progname);
/* Prompt (printed only on a terminal) and read one line into a malloc'd
 * *out without its newline. LE_CANCEL when Ctrl-C abandoned the line: the
 * caller must have installed le_sigint as the SIGINT handler. */
int le_readline(const char *prompt, char **out);
/* Add a complete statement to the history (and its file). */
void le_saveline(const char *line);
/* Release what le_open set up. */
void le_close(lua_State *L);
/* SIGINT handler for the time between statements: only sets a flag that
 * le_readline sees (its read returns EINTR). */
void le_sigint(int sig);
/* "8.2 (built with 8.2)", or "none (built with WB_NO_READLINE)", for -v. */
const char *le_version(char *buf, size_t n);

#endif
