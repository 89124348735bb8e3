/* workbench.c - the `workbench` executable: scripts, -e chunks and the REPL.
 *
 * Built like Lua 5.4's lua.c, function for function, so that its behaviour
 * is familiar: main runs pmain under lua_pcall; every chunk runs through
 * wbx_docall, which installs msghandler (traceback) and arms the SIGINT/SIGTERM
 * handler of bindings/interrupt.c, which only sets a hook raising
 * "interrupted!" (Ctrl-C stops a long loop or `fit` and the REPL survives; a
 * second Ctrl-C before the hook runs, e.g. inside one long C call, ends the
 * process, as in lua.c; unlike lua.c, wb.sys.check_interrupt raises it again
 * after a pcall caught it). The REPL, lua.c's as well, is in
 * workbench_repl.c (what the two files share: workbench.h); its line input
 * (readline, history, completion) sits behind bindings/lineedit.h, as
 * lua.c's lua_readline macros.
 *
 * What it adds to lua.c: the globals `wb` (luaL_requiref of luaopen_wb) and
 * `help` (wb.help.show); -v (--version) with library versions; -h / --help and -h NAME
 * (NAME's help text from wb.help.cli; status 1 when NAME has none); exit
 * statuses from sysexits.h; the OpenBLAS thread default; a main script may
 * return a task (below); and a REPL with a history file, tab completion and
 * a result printer (bindings/lua/wb/repl.lua). Not here: LUA_INIT and -E
 * (workbench runs no code from the environment).
 *
 * Exit status (README.md, "Exit status"; the table in code_exit) comes
 * from the error object, never from its text: a wb.Error's `code`
 * (bindings/lwb.c), fit's {kind = "diverged"} (3), or a SIGINT / SIGTERM
 * that came while the chunk ran (130 / 143, whatever error ended it).
 * msghandler reads it where it was raised; any other error is 1. A signal
 * that stopped fit is said in one line, the epoch and step (fit_interrupted).
 *
 * A main script that returns a value v whose metatable has a function
 * __main is a task declaration: __main(v, arg) runs under the same wbx_docall
 * (errors and signals as for the script), and its result counts as the
 * script's. A returned integer is the exit status (0..255; another number,
 * 300 or 2.5, is an error naming it: 1), a returned
 * error object (wb.Error, {kind = "diverged"}) is reported and exits by its
 * kind; nil, nothing or any other value means 0, as before. Modules
 * beside a script are found first, as Python's sys.path[0] (add_script_dir).
 * SIGPIPE and SIGXFSZ: see signal_noop. Output lost to a failed write on
 * stdout or stderr (not a closed pipe) ends in 74 with a line (check_output).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include <cblas.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <png.h>

#include "lineedit.h"
#include "lwb.h"
#include "workbench.h"

int luaopen_wb(lua_State *L);

#define EXIT_DIVERGED 3 /* custom: sysexits.h has nothing for it */

const char *wbx_progname = "workbench";

static int chunk_exit = 1;  /* exit status for the last chunk's error */
static int chunk_traced;    /* the last chunk's error got a traceback (msghandler) */

/* {==================== Messages, protected calls (as in lua.c) ==================== */

void wbx_message(const char *pname, const char *msg)
{
    if (pname)
        fprintf(stderr, "%s: ", pname);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

/* Print the error message on the stack top when status is not OK. */
int wbx_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        wbx_message(wbx_progname, msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* The exit status of a wb.Error code (README, Exit status). */
static int code_exit(const char *code)
{
    static const struct { const char *code; int status; } map[] = {
        {"EFORMAT", EX_DATAERR}, {"ENONFINITE", EX_DATAERR}, {"ENOENT", EX_NOINPUT},
        {"ENOMEM", EX_OSERR},    {"ECREATE", EX_CANTCREAT},  {"EIO", EX_IOERR},
        {"EUSAGE", EX_USAGE}, /* wb.spec.input_error(msg, "EUSAGE"): a command line's */
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].status;
    return 1;
}

/* The exit status an error object means (see the header comment). */
static int exit_for_error(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    int status = lwb_interrupt_status();
    if (status != 0)
        return status;
    status = 1;
    if (!lua_istable(L, idx))
        return status;
    lua_pushliteral(L, "kind");
    if (lua_rawget(L, idx) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "diverged") == 0)
        status = EXIT_DIVERGED;
    lua_pushliteral(L, "code");
    if (lua_rawget(L, idx) == LUA_TSTRING && status == 1)
        status = code_exit(lua_tostring(L, -1));
    lua_pop(L, 2);
    return status;
}

/* A wb.Error reads as a string error does: its text and a traceback. Other
 * objects with __tostring print as that, as in lua.c. */
static int msghandler(lua_State *L)
{
    chunk_exit = exit_for_error(L, 1);
    chunk_traced = 0;
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            if (!lwb_is_error(L, 1))
                return 1;
            msg = lua_tostring(L, -1);
        } else {
            msg = lua_pushfstring(L, "(error object is a %s value)",
                                  luaL_typename(L, 1));
        }
    }
    luaL_traceback(L, L, msg, 1);
    chunk_traced = 1;
    return 1;
}

/* A script or -e chunk a Ctrl-C stopped inside fit: the message on the top
 * (the error's text, "layer 1 (Dense 4->64): interrupted!", named whatever
 * library code ran then, and a traceback into fit) becomes the one line of
 * wb.fit_hooks.script_interrupted, saying the epoch and step. Only a traced
 * error: one printed alone (the runner's "[task] interrupted: ...") stays.
 * wb.fit_hooks is looked up, not loaded: no fit ran without it. */
static void fit_interrupted(lua_State *L)
{
    if (lwb_interrupt_status() == 0 || !chunk_traced)
        return;
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "wb.fit_hooks") == LUA_TTABLE &&
        lua_getfield(L, -1, "script_interrupted") == LUA_TFUNCTION &&
        lua_pcall(L, 0, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        lua_copy(L, -1, top); /* over the error */
    lua_settop(L, top);
}

/* Call the function below narg arguments with the traceback handler and the
 * Ctrl-C hook; the previous SIGINT action comes back afterwards. */
int wbx_docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    chunk_exit = 1;
    chunk_traced = 0;
    struct sigaction old[2];
    lwb_interrupt_arm(L, old);
    int status = lua_pcall(L, narg, nres, base);
    lwb_interrupt_disarm(L, old);
    if (status == LUA_ERRMEM) /* no message handler for these */
        chunk_exit = EX_OSERR;
    else if (status == LUA_ERRERR)
        chunk_exit = EX_SOFTWARE;
    lua_remove(L, base);
    return status;
}

/* }================================================================== */

/* {==================== Options and versions ==================== */

enum { has_error = 1, has_i = 2, has_v = 4, has_e = 8, has_h = 16 };

static const char *help_topic; /* -h NAME: the name; NULL for plain -h */
static int first_other; /* argv index of the first option other than one -h */

static void print_options(FILE *f)
{
    fprintf(f,
            "usage: %s [options] [script [args]]\n"
            "Available options are:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter the REPL after running 'script'\n"
            "  -l mod    require library 'mod' into global 'mod'\n"
            "  -v        show the versions of workbench and its libraries\n"
            "  -W        turn warnings on\n"
            "  -h [NAME] show this help, or the help text of NAME (wb.zeros, "
            "Tensor:sum, wb.runs)\n"
            "  --help [NAME]  the same as -h\n"
            "  --version      the same as -v\n"
            "  --        stop handling options\n"
            "  -         run stdin as the script and stop handling options\n"
            "With no script, runs the REPL (stdin a terminal) or the program "
            "read from stdin.\n",
            wbx_progname);
}

static void print_usage(const char *badoption)
{
    if (badoption[1] == 'e' || badoption[1] == 'l')
        fprintf(stderr, "%s: '%s' needs argument\n", wbx_progname, badoption);
    else
        fprintf(stderr, "%s: unrecognized option '%s'\n", wbx_progname, badoption);
    print_options(stderr);
}

static void print_version(void)
{
    int nt = openblas_get_num_threads();
    char rl[64];
    printf("workbench %s\n", WB_VERSION);
    printf("Lua       %s\n", LUA_RELEASE);
    printf("OpenBLAS  %s (core %s, %d thread%s)\n", openblas_get_config(),
           openblas_get_corename(), nt, nt == 1 ? "" : "s");
    printf("libpng    %s (built with %s)\n", png_get_libpng_ver(NULL),
           PNG_LIBPNG_VER_STRING);
    printf("readline  %s\n", le_version(rl, sizeof rl));
    fflush(stdout);
}

/* Traverse the options (lua.c's collectargs, plus -h / --help). Returns a
 * mask; sets *first to the script's index (argc when none), or to the bad
 * option's index together with has_error. */
static int collectargs(char **argv, int *first)
{
    int args = 0, i;
    if (argv[0] == NULL) {
        *first = 0;
        return 0;
    }
    for (i = 1; argv[i] != NULL; i++) {
        *first = i;
        if (argv[i][0] != '-')
            return args; /* the script */
        int is_h = strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0;
        if (!first_other && strcmp(argv[i], "--") != 0 && (!is_h || (args & has_h)))
            first_other = i; /* pmain refuses it beside -h ("--" runs nothing) */
        if (strcmp(argv[i], "--version") == 0) { /* the same as -v */
            args |= has_v;
            continue;
        }
        if (strcmp(argv[i], "--help") == 0) { /* the same as -h */
            args |= has_h;
            if (argv[i + 1] != NULL && argv[i + 1][0] != '-')
                help_topic = argv[++i];
            continue;
        }
        switch (argv[i][1]) {
        case '-': /* "--" */
            if (argv[i][2] != '\0')
                return has_error;
            *first = i + 1;
            return args;
        case '\0': /* "-": the script is stdin */
            return args;
        case 'W':
            if (argv[i][2] != '\0')
                return has_error;
            break;
        case 'h':
        case 'i':
        case 'v':
            if (argv[i][2] != '\0')
                return has_error;
            args |= argv[i][1] == 'h' ? has_h : argv[i][1] == 'i' ? has_i : has_v;
            if (argv[i][1] == 'h' && argv[i + 1] != NULL && argv[i + 1][0] != '-')
                help_topic = argv[++i]; /* -h NAME */
            break;
        case 'e':
            args |= has_e; /* FALLTHROUGH */
        case 'l': /* both need an argument */
            if (argv[i][2] == '\0') {
                i++;
                if (argv[i] == NULL || argv[i][0] == '-') {
                    *first = i - 1;
                    return has_error;
                }
            }
            break;
        default:
            return has_error;
        }
    }
    *first = i;
    return args;
}

/* }================================================================== */

/* {==================== Chunks: -e, -l, -h NAME, the script ==================== */

/* The global `arg` as lua5.4 builds it: arg[0] the script, arg[1..] its
 * arguments, negative indices the interpreter and options. Without a
 * script, arg[0] is the interpreter. */
static void createargtable(lua_State *L, char **argv, int argc, int script)
{
    if (script == argc)
        script = 0;
    int narg = argc - (script + 1);
    lua_createtable(L, narg > 0 ? narg : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK) {
        status = wbx_docall(L, 0, 0);
        if (status != LUA_OK)
            fit_interrupted(L);
    } else {
        chunk_exit = status == LUA_ERRMEM ? EX_OSERR : 1;
    }
    return wbx_report(L, status);
}

/* Chunks load as text ("t") only: Lua does not verify bytecode, and a
 * damaged precompiled chunk given as the script segfaulted (16 of 200
 * two-byte mutations of one luac file). */
static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbufferx(L, s, strlen(s), name, "t"));
}

/* Whether file fname starts as a precompiled chunk does (after a first
 * line that starts with '#', as luaL_loadfilex skips it). */
static int is_precompiled(const char *fname)
{
    FILE *f = fopen(fname, "rb");
    if (f == NULL)
        return 0;
    int c = getc(f);
    if (c == '#')
        while ((c = getc(f)) != EOF && c != '\n')
            ;
    if (c == '\n')
        c = getc(f);
    fclose(f);
    return c == LUA_SIGNATURE[0];
}

/* -l mod: mod = require("mod") */
static int dolibrary(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    int status = wbx_docall(L, 1, 1);
    if (status == LUA_OK)
        lua_setglobal(L, name);
    return wbx_report(L, status);
}

/* -h NAME: wb.help.cli (bindings/lua/wb/help.lua) prints NAME's help text
 * and returns the exit status: 0, or 1 when there is none. */
static int dohelp(lua_State *L, const char *topic)
{
    int status = luaL_loadstring(L, "return wb.help.cli(...)");
    if (status == LUA_OK) {
        lua_pushstring(L, topic);
        status = wbx_docall(L, 1, 1);
    }
    if (wbx_report(L, status) != LUA_OK)
        return 1;
    int code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return code;
}

/* The globals `wb` and `help` (the REPL's help(x), in scripts and -e too). */
static int openwb(lua_State *L)
{
    luaL_requiref(L, "wb", luaopen_wb, 1);
    if (lua_getfield(L, -1, "help") == LUA_TTABLE &&
        lua_getfield(L, -1, "show") == LUA_TFUNCTION)
        lua_setglobal(L, "help");
    return 0;
}

/* The -e, -l and -W options, in order. 0 when one of them failed. */
static int runargs(lua_State *L, char **argv, int n)
{
    for (int i = 1; i < n; i++) {
        int option = argv[i][1];
        if (option == 'e' || option == 'l') {
            const char *extra = argv[i] + 2;
            if (*extra == '\0')
                extra = argv[++i];
            int status = option == 'e' ? dostring(L, extra, "=(command line)")
                                       : dolibrary(L, extra);
            if (status != LUA_OK)
                return 0;
        } else if (option == 'W') {
            lua_warning(L, "@on", 0);
        }
    }
    return 1;
}

/* Push arg[1..n] for the script; returns n. */
static int pushargs(lua_State *L)
{
    if (lua_getglobal(L, "arg") != LUA_TTABLE)
        luaL_error(L, "'arg' is not a table");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++)
        lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

/* A result that is no task goes to wb.task._check_result (when wb.task is
 * loaded): a task declared and not returned, or an experiment returned,
 * ran nothing and exited 0 without a word. It raises what to write. */
static void check_result(lua_State *L)
{
    int top = lua_gettop(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "wb.task") == LUA_TTABLE
        && lua_getfield(L, -1, "_check_result") == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_call(L, 1, 0);
    }
    lua_settop(L, top);
}

/* Below its arguments, the main chunk: call it; if it returns a task (a
 * value whose metatable has __main), run __main(task, arg). One result. */
static int runmain(lua_State *L)
{
    lua_call(L, lua_gettop(L) - 1, 1);
    int t = luaL_getmetafield(L, 1, "__main");
    if (t == LUA_TNIL) {
        check_result(L);
        return 1;
    }
    if (t != LUA_TFUNCTION)
        return luaL_error(L, "the script returned a value whose __main is a %s, "
                             "expected a function", luaL_typename(L, -1));
    lua_insert(L, 1);
    lua_getglobal(L, "arg");
    lua_call(L, 2, 1);
    return 1;
}

/* The exit status a script's result means (header comment). */
static int result_exit(lua_State *L)
{
    int isint;
    lua_Integer n = lua_tointegerx(L, -1, &isint);
    int status = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        if (isint && n >= 0 && n <= 255)
            status = (int)n;
        else { /* 300 or 2.5 was meant as a status: never a silent 0 */
            const char *v = luaL_tolstring(L, -1, NULL);
            wbx_message(wbx_progname, lua_pushfstring(L, "the script returned exit status "
                      "%s, expected %s0..255", v, isint ? "" : "an integer "));
            lua_pop(L, 2);
            status = 1;
        }
    } else if (lua_istable(L, -1) && (lwb_is_error(L, -1) || exit_for_error(L, -1) != 1)) {
        status = exit_for_error(L, -1); /* an error object, returned */
        wbx_message(wbx_progname, luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return status;
}

/* package.path gets "<dir>/?.lua;<dir>/?/init.lua;" of the script in front */
static void add_script_dir(lua_State *L, const char *fname)
{
    const char *slash = strrchr(fname, '/');
    if (lua_getglobal(L, "package") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_pushlstring(L, slash ? fname : ".", slash ? (size_t)(slash - fname) : 1);
    const char *dir = lua_tostring(L, -1);
    lua_getfield(L, -2, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -4, "path");
    lua_pop(L, 3);
}

/* Run the script fname (NULL: stdin). Returns an exit status. */
static int run_script(lua_State *L, const char *fname)
{
    if (fname)
        add_script_dir(L, fname);
    /* a task read from stdin cannot give its children the script again:
     * its runner refuses it, reading this (wb/runner_checks.lua) */
    lua_pushboolean(L, fname == NULL);
    lua_setfield(L, LUA_REGISTRYINDEX, "wb.script_from_stdin");
    lua_pushcfunction(L, runmain);
    int status = luaL_loadfilex(L, fname, "t");
    /* Lua says "attempt to load a binary chunk (mode is 't')", naming no
     * file; stdin cannot be read again to look, so its message is matched */
    if (status == LUA_ERRSYNTAX && (fname ? is_precompiled(fname)
            : strstr(lua_tostring(L, -1), "attempt to load a binary chunk") != NULL)) {
        lua_pop(L, 1);
        lua_pushfstring(L, "%s: a precompiled Lua chunk (luac output): workbench runs Lua "
                        "source only (bytecode is not checked: a damaged chunk can crash it)",
                        fname ? fname : "stdin");
    }
    if (status == LUA_ERRFILE) {
        wbx_report(L, status); /* "cannot open x.lua: No such file or directory" */
        lua_pop(L, 1);
        return EX_NOINPUT;
    }
    if (status == LUA_OK) {
        int n = pushargs(L);
        status = wbx_docall(L, n + 1, 1);
        if (status == LUA_OK)
            return result_exit(L);
        fit_interrupted(L);
    } else {
        lua_remove(L, -2); /* runmain */
        chunk_exit = status == LUA_ERRMEM ? EX_OSERR : 1; /* syntax error: 1 */
    }
    wbx_report(L, status);
    return chunk_exit;
}

/* Run the script argv[0] ("-" is stdin unless it came after "--"). */
static int handle_script(lua_State *L, char **argv)
{
    int stdin_name = strcmp(argv[0], "-") == 0 && strcmp(argv[-1], "--") != 0;
    return run_script(L, stdin_name ? NULL : argv[0]);
}

/* }================================================================== */


static void print_banner(void)
{
    int nt = openblas_get_num_threads();
    printf("workbench %s (%s, OpenBLAS %d thread%s) - `wb` is loaded; "
           "Tab completes, Ctrl-D exits\n", WB_VERSION, LUA_RELEASE, nt, nt == 1 ? "" : "s");
    fflush(stdout);
}

/* Everything runs here, in protected mode. Pushes the exit status. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    int script, status = 0;
    int args = collectargs(argv, &script);
    int stdin_tty = isatty(STDIN_FILENO);
    luaL_checkversion(L);
    if (args == has_error) {
        print_usage(argv[script]);
        lua_pushinteger(L, EX_USAGE);
        return 1;
    }
    /* help runs nothing: a script, option or second -h would be ignored */
    if ((args & has_h) && (script < argc || first_other)) {
        fprintf(stderr, "%s: unexpected argument '%s': -h takes at most one NAME "
                "and runs nothing\n", wbx_progname,
                argv[first_other && first_other < script ? first_other : script]);
        print_options(stderr);
        lua_pushinteger(L, EX_USAGE);
        return 1;
    }
    if ((args & has_h) && help_topic == NULL) {
        print_options(stdout);
        lua_pushinteger(L, 0);
        return 1;
    }
    if (args & has_v)
        print_version();
    luaL_openlibs(L);
    wbx_text_only(L);
    createargtable(L, argv, argc, script);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(L, openwb);
    if (wbx_report(L, wbx_docall(L, 0, 0)) != LUA_OK)
        status = chunk_exit;
    else if (args & has_h)
        status = dohelp(L, help_topic);
    else if (!runargs(L, argv, script))
        status = chunk_exit;
    else if (script < argc)
        status = handle_script(L, argv + script);
    int bare = script == argc && !(args & (has_e | has_v | has_h)); /* nothing to do */
    if (status == 0 && ((args & has_i) || (bare && stdin_tty))) {
        if (stdin_tty)
            print_banner();
        status = wbx_repl(L);
    } else if (status == 0 && bare) {
        /* the program comes from stdin, as in lua5.4, and is a script as
         * `workbench -` runs it: its result (a status, an error, a task)
         * counts, where lua5.4 drops it */
        status = run_script(L, NULL);
    }
    lua_pushinteger(L, status);
    return 1;
}

/* SIGPIPE and SIGXFSZ: a write to a closed pipe fails with EPIPE, a write
 * past the file size limit (ulimit -f) with EFBIG, instead of killing the
 * run (`workbench x.lua | head -1`; a checkpoint then fails cleanly, its
 * temporary file removed). A handler, not SIG_IGN, so that programs started
 * by the script (gnuplot, sh) get the default actions again. */
static void signal_noop(int sig)
{
    (void)sig;
}

/* {==================== stdout and stderr at exit ==================== */

static int main_status = -1; /* main's status; -1: exit() came from os.exit */

/* Whether stream f lost output (a write or the last flush failed), other
 * than to a closed pipe: printed output cut off on a full disk or /dev/full
 * ended with status 0 and no word. A failed write leaves its data in the
 * buffer (glibc), so the last flush tries again and its errno says why. A
 * closed pipe is dropped on purpose (README, Exit status). */
static int stream_lost(FILE *f, const char *name)
{
    errno = 0;
    int flushed = fflush(f) == 0, err = errno;
    if (flushed && !ferror(f))
        return 0;
    struct stat st = {0};
    int is_pipe = fstat(fileno(f), &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
    if (err == EPIPE || (flushed && is_pipe))
        return 0;
    /* print flushes each line: the buffer of a write that failed then is
     * gone, and so is its errno; a full file system is the likely cause */
    struct statvfs fs;
    const char *why = !flushed && err ? strerror(err)
        : S_ISREG(st.st_mode) && fstatvfs(fileno(f), &fs) == 0 && fs.f_bavail == 0
        ? "a write failed: No space left on device" : "a write failed";
    fprintf(stderr, "%s: %s: %s: what was written there is incomplete\n", wbx_progname, name, why);
    return 1;
}

/* atexit: main's return and os.exit alike end here. 74 (EX_IOERR, as for
 * any other failed write) unless main already had a failure's status. */
static void check_output(void)
{
    int lost = stream_lost(stdout, "stdout");
    lost |= stream_lost(stderr, "stderr");
    if (lost)
        _exit(main_status > 0 ? main_status : EX_IOERR);
}

/* }================================================================== */

int main(int argc, char **argv)
{
    atexit(check_output);
    lwb_set_action(SIGPIPE, signal_noop, NULL);
    lwb_set_action(SIGXFSZ, signal_noop, NULL);
    if (argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        wbx_progname = slash ? slash + 1 : argv[0];
    }
    lwb_sys_blas_init(); /* before any BLAS call, once per process */
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        wbx_message(wbx_progname, "cannot create state: not enough memory");
        return EX_OSERR;
    }
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : 1;
    wbx_report(L, status);
    lua_close(L);
    main_status = code;
    return code;
}
