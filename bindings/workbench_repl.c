/* workbench_repl.c - the `workbench` REPL, as lua.c's (get_prompt, pushline,
 * addreturn, multiline, loadline, l_print, doREPL): it tries `return
 * <line>` first, then the line as a statement, and reads continuation lines
 * while the syntax error ends in `<eof>`. Line input (readline, history,
 * completion) sits behind lineedit.h; results are printed and completion
 * served by bindings/lua/wb/repl.lua. The rest of the executable is
 * workbench.c (workbench.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "lineedit.h"
#include "lwb.h"
#include "workbench.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define EOFMARK "<eof>"
#define MARKLEN (sizeof(EOFMARK) - 1)

static int repl_key; /* registry[&repl_key]: the wb.repl module */

/* {==================================================================
** The REPL (lua.c's get_prompt / pushline / addreturn / multiline /
** loadline / l_print / wbx_repl)
** =================================================================== */

static int eof_in_statement; /* input ended inside a statement */

/* _PROMPT / _PROMPT2, read raw and converted under a pcall (lua.c's way, outside
 * wbx_docall, let a strict _G or a failing __tostring end the REPL). */
static int prompt_string(lua_State *L)
{
    int first = lua_toboolean(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushstring(L, first ? "_PROMPT" : "_PROMPT2");
    if (lua_rawget(L, -2) == LUA_TNIL)
        lua_pushstring(L, first ? PROMPT : PROMPT2);
    else
        luaL_tolstring(L, -1, NULL);
    return 1;
}

static const char *get_prompt(lua_State *L, int firstline)
{
    lua_pushcfunction(L, prompt_string);
    lua_pushboolean(L, firstline);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) { /* the error shows as the prompt */
        lua_pushfstring(L, "(bad _PROMPT: %s) ", lua_tostring(L, -1));
        lua_remove(L, -2);
    }
    return lua_tostring(L, -1);
}

/* Is status a syntax error ending in <eof>, i.e. an unfinished statement?
 * (The message stays on the stack.) Not "syntax error near <eof>", said of
 * a whole expression as a statement ("x = 1; (a +\nb)"): lua.c waits, and
 * the REPL took every later line at ">>" until Ctrl-C or another error. */
#define NOTSTAT "syntax error near " EOFMARK
static int incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return 0;
    size_t lmsg, lnot = sizeof(NOTSTAT) - 1;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    if (lmsg >= lnot && strcmp(msg + lmsg - lnot, NOTSTAT) == 0)
        return 0;
    return lmsg >= MARKLEN && strcmp(msg + lmsg - MARKLEN, EOFMARK) == 0;
}

/* Is line an unfinished expression ("{1,", "1 +")? Its error then replaces the statement's. */
static int incomplete_expr(lua_State *L, const char *line)
{
    const char *retline = lua_pushfstring(L, "return %s", line);
    int r = incomplete(L, luaL_loadbuffer(L, retline, strlen(retline), "=stdin"));
    if (r)
        lua_replace(L, -3); /* over the statement's error */
    lua_pop(L, r ? 1 : 2);
    return r;
}

/* Prompt, read a line, push it. Returns LE_OK, LE_EOF or LE_CANCEL. */
static int pushline(lua_State *L, int firstline)
{
    char *b = NULL;
    const char *prompt = get_prompt(L, firstline);
    int r = le_readline(prompt, &b);
    lua_pop(L, 1); /* prompt */
    if (r != LE_OK)
        return r;
    if (firstline && b[0] == '=') /* 5.2 compatibility: "=x" means "return x" */
        lua_pushfstring(L, "return %s", b + 1);
    else
        lua_pushstring(L, b);
    free(b);
    return LE_OK;
}

/* Compile the line on the stack as "return <line>;". On success the chunk
 * replaces the line; else the line stays. */
static int addreturn(lua_State *L)
{
    const char *line = lua_tostring(L, -1);
    const char *retline = lua_pushfstring(L, "return %s;", line);
    int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
    if (status == LUA_OK) {
        lua_remove(L, -2);
        if (line[0] != '\0')
            le_saveline(line);
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* Read continuation lines until the statement is complete, trying the
 * lines as an expression first each time (lua.c only tries the first): so
 * "wb.zeros(2,\n3)" prints its value and "{1,\n2}" is a table. */
static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *line = lua_tolstring(L, 1, &len);
        lua_pushvalue(L, 1); /* the lines so far are the only value */
        int status = addreturn(L);
        lua_remove(L, status == LUA_OK ? -2 : -1); /* the copy */
        if (status == LUA_OK)
            return status;
        status = luaL_loadbuffer(L, line, len, "=stdin");
        if (!incomplete(L, status) &&
            !(status == LUA_ERRSYNTAX && incomplete_expr(L, line))) {
            le_saveline(line);
            return status;
        }
        int r = pushline(L, 0);
        if (r == LE_EOF) { /* keep the syntax error, say what happened */
            le_saveline(line);
            eof_in_statement = 1;
            lua_pushfstring(L, "input ended inside an unfinished statement (%s)",
                            lua_tostring(L, -1));
            lua_remove(L, -2);
            return LUA_ERRSYNTAX;
        }
        if (r == LE_CANCEL) {
            lua_pop(L, 1);
            return LE_CANCEL;
        }
        lua_remove(L, -2); /* the syntax error */
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* A statement beginning `local name` (or `local function name`), said once
 * a session on stderr: each line is its own chunk, as in lua.c, so the local
 * is gone on the next line, where README's first block, typed line by line,
 * met "attempt to index a nil value (global 'm')" with nothing saying why. */
static void local_note(const char *text)
{
    static int noted;
    const char *p = text + strspn(text, " \t");
    if (noted || strncmp(p, "local", 5) != 0 || !strchr(" \t", p[5]) || p[5] == '\0')
        return;
    p += 5 + strspn(p + 5, " \t");
    if (strncmp(p, "function", 8) == 0 && p[8] != '\0' && strchr(" \t", p[8]))
        p += 8 + strspn(p + 8, " \t");
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789");
    if (n == 0 || (*p >= '0' && *p <= '9'))
        return;
    noted = 1;
    fprintf(stderr, "(the REPL runs each line as its own chunk: local %.*s lasts only this "
            "line; drop 'local' to keep it)\n", (int)(n < 40 ? n : 40), p);
    fflush(stderr);
}

/* Read one complete statement and compile it. Returns a Lua status with
 * the chunk (or error) on the stack, LE_CANCEL, or REPL_EOF. */
#define REPL_EOF (-10)
static int loadline(lua_State *L)
{
    lua_settop(L, 0);
    int r = pushline(L, 1);
    if (r == LE_EOF)
        return REPL_EOF;
    if (r == LE_CANCEL)
        return LE_CANCEL;
    int status = addreturn(L);
    if (status != LUA_OK && (status = multiline(L)) == LUA_OK)
        local_note(lua_tostring(L, 1)); /* the lines read, below the chunk */
    lua_remove(L, 1); /* the line */
    return status;
}

/* Print the results on the stack with wb.repl.print (or print). */
static void l_print(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &repl_key);
    if (!lua_istable(L, -1) || lua_getfield(L, -1, "print") != LUA_TFUNCTION) {
        lua_settop(L, n);
        lua_getglobal(L, "print");
    } else {
        lua_remove(L, -2);
    }
    lua_insert(L, 1);
    if (wbx_docall(L, n, 0) != LUA_OK)
        wbx_message(wbx_progname, lua_pushfstring(L, "error printing the result (%s)",
                                            lua_tostring(L, -1)));
}

/* A chunk a Ctrl-C stopped: the error on the top is replaced by the text of
 * wb.repl.interrupted (where a fit stopped; no traceback, no place in the
 * library: they read as if that code had failed). The error object the
 * chunk raised, which fit and the runner see, is left as it was. */
static void interrupted_message(lua_State *L)
{
    if (lwb_interrupt_status() == 0)
        return;
    int top = lua_gettop(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &repl_key) == LUA_TTABLE &&
        lua_getfield(L, -1, "interrupted") == LUA_TFUNCTION &&
        lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        lua_copy(L, -1, top); /* over the error */
    lua_settop(L, top);
}

static int loadrepl(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "wb.repl");
    lua_call(L, 1, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &repl_key);
    return 0;
}

/* Load wb.repl (printer, completer) and start line editing. */
static void repl_open(lua_State *L)
{
    lua_pushcfunction(L, loadrepl);
    if (wbx_docall(L, 0, 0) != LUA_OK) {
        wbx_message(wbx_progname, lua_pushfstring(L, "wb.repl not loaded, results "
                  "print plainly, no completion (%s)", lua_tostring(L, -1)));
        lua_pop(L, 2);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, &repl_key);
    if (lua_istable(L, -1))
        lua_getfield(L, -1, "complete");
    else
        lua_pushnil(L);
    le_open(L, lua_gettop(L), wbx_progname);
    lua_pop(L, 2);
}

/* Returns the exit status: 1 if a piped REPL's input ended inside a
 * statement, else 0. */
int wbx_repl(lua_State *L)
{
    const char *oldprogname = wbx_progname;
    int stdin_tty = isatty(STDIN_FILENO);
    repl_open(L);
    wbx_progname = NULL; /* REPL errors read "stdin:1: ...", as in lua.c */
    struct sigaction old;
    lwb_set_action(SIGINT, le_sigint, &old); /* between lines, Ctrl-C is a flag */
    int status, result = 0;
    while ((status = loadline(L)) != REPL_EOF) {
        if (status == LE_CANCEL)
            continue;
        if (status == LUA_OK)
            status = wbx_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            l_print(L);
        else {
            interrupted_message(L);
            wbx_report(L, status);
        }
        if (eof_in_statement && !stdin_tty) {
            result = 1; /* a pipe: the program is cut short */
            break;
        }
        eof_in_statement = 0;
    }
    lua_settop(L, 0);
    if (stdin_tty) {
        fputc('\n', stdout);
        fflush(stdout);
    }
    sigaction(SIGINT, &old, NULL);
    le_close(L);
    wbx_progname = oldprogname;
    return result;
}

/* }================================================================== */
