/* workbench.c - the `workbench` executable: scripts, -e chunks and the REPL.
 *
 * Built like Lua 5.4's lua.c, and deliberately close to it so that its
 * behaviour is familiar: main runs pmain under lua_pcall; every chunk runs
 * through docall, which installs a traceback message handler and a SIGINT
 * handler that only sets a hook raising "interrupted!" (so Ctrl-C stops a
 * long loop or `fit` and the REPL survives; a second Ctrl-C before the hook
 * runs, e.g. inside one long C call, ends the process, as in lua.c). The
 * REPL tries `return <line>` first, then the line as a statement, and reads
 * continuation lines while the syntax error ends in `<eof>`.
 *
 * What it adds to lua.c: the global `wb` (luaL_requiref of luaopen_wb), -v
 * with library versions, -h and -h NAME (NAME's help text from wb.help.cli;
 * status 1 when NAME has none), sysexits.h exit statuses, the OpenBLAS thread
 * default, and a REPL with a history file, tab completion and a result
 * printer (the last two in Lua: bindings/lua/wb/repl.lua). Not here:
 * LUA_INIT and -E (workbench runs no code from the environment).
 *
 * Exit status (README.md, "Exit status"): 0 success; 1 an error in the
 * script (message and traceback on stderr; also a piped REPL whose input
 * ends inside a statement); 3 training diverged (fit's {kind = "diverged"}
 * error object); EX_USAGE (64) bad option; EX_DATAERR (65) malformed input
 * (WB_EFORMAT, WB_ENONFINITE); EX_NOINPUT (66) script or input file missing
 * or unreadable (WB_ENOENT); EX_SOFTWARE (70) error in the error handler;
 * EX_OSERR (71) out of memory (Lua's, WB_ENOMEM, no Lua state);
 * EX_CANTCREAT (73) an output file cannot be created (WB_EIO "cannot
 * create"); EX_IOERR (74) other I/O errors (WB_EIO); 130 / 143 stopped by
 * SIGINT / SIGTERM. How: lwb_raise records each core failure's status and
 * message in the registry; the message handler, which sees the error
 * object where it was raised, classifies it (exit_for_error) and a raised
 * message that contains the recorded one takes its status. SIGPIPE and
 * SIGXFSZ are caught (a no-op handler, so children still get the default):
 * writes fail with EPIPE / EFBIG instead, and the run goes on or fails
 * cleanly.
 *
 * Line editing: GNU readline, not libedit. Debian's own lua5.4 links
 * readline, and its completion API (rl_attempted_completion_function,
 * rl_completion_matches, the callback interface we use to make Ctrl-C clear
 * the line) and history file (append_history, multi-line entries with
 * timestamps) are richer than libedit's emulation of them. Build with
 * -DWB_NO_READLINE for the plain getline fallback, which is also what runs
 * whenever stdin or stdout is not a terminal.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sysexits.h>
#include <unistd.h>

#include <cblas.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <png.h>

#if !defined(WB_NO_READLINE)
#include <readline/history.h>
#include <readline/readline.h>
#endif

#include "lwb.h"

#ifndef WB_VERSION
#define WB_VERSION "0.1.0"
#endif

int luaopen_wb(lua_State *L);

#define PROMPT "> "
#define PROMPT2 ">> "
#define HISTORY_MAX 1000
#define EOFMARK "<eof>"
#define MARKLEN (sizeof(EOFMARK) - 1)

static const char *progname = "workbench";
static lua_State *globalL = NULL;

#define EXIT_DIVERGED 3 /* custom: sysexits.h has nothing for it */
static volatile sig_atomic_t stop_signal; /* SIGINT or SIGTERM seen in a chunk */
static int chunk_exit = 1; /* exit status for the last chunk's error */

/* {==================================================================
** Signals, messages, protected calls (as in lua.c)
** =================================================================== */

static void setsignal(int sig, void (*handler)(int), struct sigaction *old)
{
    struct sigaction sa;
    sa.sa_handler = handler;
    sa.sa_flags = 0; /* no SA_RESTART: a blocked read/select sees EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, old);
}

/* Hook set by laction: stop the interpreter at the next Lua instruction. */
static void lstop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

/* A C signal cannot touch a Lua state safely; it only sets a hook. The
 * default action comes back, so a second Ctrl-C ends the process. */
static void laction(int sig)
{
    int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    stop_signal = sig;
    setsignal(sig, SIG_DFL, NULL);
    lua_sethook(globalL, lstop, flag, 1);
}

static void l_message(const char *pname, const char *msg)
{
    if (pname)
        fprintf(stderr, "%s: ", pname);
    fprintf(stderr, "%s\n", msg);
    fflush(stderr);
}

/* Print the error message on the stack top when status is not OK. */
static int report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        l_message(progname, msg ? msg : "(error object is not a string)");
        lua_pop(L, 1);
    }
    return status;
}

/* The exit status an error object means (see the header comment). Runs in
 * the message handler, where the raised object is still intact. */
static int exit_for_error(lua_State *L, int idx)
{
    if (lua_type(L, idx) == LUA_TTABLE) {
        int diverged = lua_getfield(L, idx, "kind") == LUA_TSTRING &&
                       strcmp(lua_tostring(L, -1), "diverged") == 0;
        lua_pop(L, 1);
        return diverged ? EXIT_DIVERGED : 1;
    }
    const char *msg = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
    if (!msg)
        return 1;
    if (stop_signal && strstr(msg, "interrupted!"))
        return 128 + stop_signal;
    int code = 1;
    if (lua_getfield(L, LUA_REGISTRYINDEX, "wb.last_msg") == LUA_TSTRING &&
        lua_rawlen(L, -1) > 0 && strstr(msg, lua_tostring(L, -1))) {
        lua_getfield(L, LUA_REGISTRYINDEX, "wb.last_status");
        switch ((wb_status)lua_tointeger(L, -1)) {
        case WB_EFORMAT: case WB_ENONFINITE: code = EX_DATAERR; break;
        case WB_ENOENT: code = EX_NOINPUT; break;
        case WB_ENOMEM: code = EX_OSERR; break;
        case WB_EIO: code = strstr(msg, "cannot create") ? EX_CANTCREAT : EX_IOERR; break;
        default: code = 1; break;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return code;
}

static int msghandler(lua_State *L)
{
    chunk_exit = exit_for_error(L, 1);
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) { /* error object is not a string */
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)",
                              luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Call the function below narg arguments with the traceback handler and the
 * Ctrl-C hook; the previous SIGINT action comes back afterwards. */
static int docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    globalL = L;
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "wb.last_msg"); /* a fresh chunk */
    chunk_exit = 1;
    stop_signal = 0;
    struct sigaction old, oldterm;
    setsignal(SIGINT, laction, &old);
    setsignal(SIGTERM, laction, &oldterm);
    int status = lua_pcall(L, narg, nres, base);
    sigaction(SIGINT, &old, NULL);
    sigaction(SIGTERM, &oldterm, NULL);
    if (status == LUA_ERRMEM) /* no message handler for these */
        chunk_exit = EX_OSERR;
    else if (status == LUA_ERRERR)
        chunk_exit = EX_SOFTWARE;
    /* A Ctrl-C that came as the chunk ended must not stop the next one. */
    if (lua_gethook(L) == lstop)
        lua_sethook(L, NULL, 0, 0);
    lua_remove(L, base);
    return status;
}

/* }================================================================== */

/* {==================================================================
** Options, versions, arguments, scripts
** =================================================================== */

enum { has_error = 1, has_i = 2, has_v = 4, has_e = 8, has_h = 16 };

static const char *help_topic; /* -h NAME: the name; NULL for plain -h */

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
            "  --        stop handling options\n"
            "  -         run stdin as the script and stop handling options\n"
            "With no script, runs the REPL (stdin a terminal) or the program "
            "read from stdin.\n",
            progname);
}

static void print_usage(const char *badoption)
{
    if (badoption[1] == 'e' || badoption[1] == 'l')
        fprintf(stderr, "%s: '%s' needs argument\n", progname, badoption);
    else
        fprintf(stderr, "%s: unrecognized option '%s'\n", progname, badoption);
    print_options(stderr);
}

static void print_version(void)
{
    int nt = openblas_get_num_threads();
    printf("workbench %s\n", WB_VERSION);
    printf("Lua       %s\n", LUA_RELEASE);
    printf("OpenBLAS  %s (core %s, %d thread%s)\n", openblas_get_config(),
           openblas_get_corename(), nt, nt == 1 ? "" : "s");
    printf("libpng    %s (built with %s)\n", png_get_libpng_ver(NULL),
           PNG_LIBPNG_VER_STRING);
#if !defined(WB_NO_READLINE)
    printf("readline  %s (built with %d.%d)\n", rl_library_version,
           RL_VERSION_MAJOR, RL_VERSION_MINOR);
#else
    printf("readline  none (built with WB_NO_READLINE)\n");
#endif
    fflush(stdout);
}

/* Traverse the options (lua.c's collectargs, plus -h). Returns a mask; sets
 * *first to the script's index (argc when none), or to the bad option's
 * index together with has_error. */
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
    if (status == LUA_OK)
        status = docall(L, 0, 0);
    else
        chunk_exit = status == LUA_ERRMEM ? EX_OSERR : 1;
    return report(L, status);
}

static int dostring(lua_State *L, const char *s, const char *name)
{
    return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod: mod = require("mod") */
static int dolibrary(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    int status = docall(L, 1, 1);
    if (status == LUA_OK)
        lua_setglobal(L, name);
    return report(L, status);
}

/* -h NAME: wb.help.cli (bindings/lua/wb/help.lua) prints NAME's help text
 * and returns the exit status: 0, or 1 when there is none. */
static int dohelp(lua_State *L, const char *topic)
{
    int status = luaL_loadstring(L, "return wb.help.cli(...)");
    if (status == LUA_OK) {
        lua_pushstring(L, topic);
        status = docall(L, 1, 1);
    }
    if (report(L, status) != LUA_OK)
        return 1;
    int code = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return code;
}

static int openwb(lua_State *L)
{
    luaL_requiref(L, "wb", luaopen_wb, 1); /* also the global `wb` */
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

/* Run the script argv[0] ("-" is stdin unless it came after "--").
 * Returns an exit status. */
/* Modules beside the script are found first (as Python's sys.path[0]):
 * package.path gets "<dir>/?.lua;<dir>/?/init.lua;" in front. */
static void add_script_dir(lua_State *L, const char *fname)
{
    const char *slash = strrchr(fname, '/');
    if (lua_getglobal(L, "package") != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    if (slash)
        lua_pushlstring(L, fname, (size_t)(slash - fname));
    else
        lua_pushliteral(L, ".");
    const char *dir = lua_tostring(L, -1);
    lua_getfield(L, -2, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -4, "path");
    lua_pop(L, 3);
}

static int handle_script(lua_State *L, char **argv)
{
    const char *fname = argv[0];
    if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0)
        fname = NULL;
    if (fname)
        add_script_dir(L, fname);
    int status = luaL_loadfile(L, fname);
    if (status == LUA_ERRFILE) {
        report(L, status); /* "cannot open x.lua: No such file or directory" */
        return EX_NOINPUT;
    }
    if (status == LUA_OK) {
        int base = lua_gettop(L);
        int n = pushargs(L);
        status = docall(L, n, LUA_MULTRET);
        if (status == LUA_OK && lua_gettop(L) >= base &&
            luaL_getmetafield(L, base, "__main") == LUA_TFUNCTION) {
            /* a script that returns a declaration (a task): run its main */
            lua_pushvalue(L, base);
            lua_getglobal(L, "arg");
            status = docall(L, 2, 1);
            if (status == LUA_OK && lua_isinteger(L, -1))
                return (int)lua_tointeger(L, -1);
        }
    } else {
        chunk_exit = status == LUA_ERRMEM ? EX_OSERR : 1; /* syntax error: 1 */
    }
    return report(L, status) == LUA_OK ? 0 : chunk_exit;
}

/* }================================================================== */

/* {==================================================================
** Line input: readline on a terminal, getline otherwise
** =================================================================== */

enum { LINE_EOF = 0, LINE_OK = 1, LINE_CANCEL = -1 };

static int use_readline;         /* stdin and stdout are terminals */
static int stdin_tty;            /* prompts are printed */
static int eof_in_statement;     /* input ended inside a statement */
static volatile sig_atomic_t got_sigint;
static int repl_key;             /* registry[&repl_key] = the wb.repl module */

static void sigint_flag(int sig)
{
    (void)sig;
    got_sigint = 1;
}

#if !defined(WB_NO_READLINE)

static char history_path[PATH_MAX];
static int history_warned;
static char *rl_result;
static int rl_finished;

/* Persist one entry: append it to the file (creating it if needed) and cap
 * the file at HISTORY_MAX entries. Failures warn once, never stop the REPL. */
static void history_save(const char *line)
{
    if (!line[0])
        return;
    HIST_ENTRY *last = history_get(history_base + history_length - 1);
    if (last && strcmp(last->line, line) == 0)
        return; /* no consecutive duplicates */
    add_history(line);
    if (!history_path[0])
        return;
    int e = append_history(1, history_path);
    if (e == ENOENT)
        e = write_history(history_path);
    if (e == 0)
        e = history_truncate_file(history_path, HISTORY_MAX);
    if (e != 0 && !history_warned) {
        history_warned = 1;
        fprintf(stderr, "%s: cannot write history file %s: %s\n", progname,
                history_path, strerror(e));
    }
}

static void history_open(void)
{
    const char *p = getenv("WB_HISTORY"), *home = getenv("HOME");
    if (p && p[0])
        snprintf(history_path, sizeof history_path, "%s", p);
    else if (home && home[0])
        snprintf(history_path, sizeof history_path, "%s/.workbench_history",
                 home);
    using_history();
    stifle_history(HISTORY_MAX);
    /* Timestamps separate entries in the file, so a multi-line statement
     * comes back as one entry. */
    history_comment_char = '#'; /* else the timestamps are not written */
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    if (history_path[0])
        read_history(history_path); /* a missing file is fine */
}

/* {---- completion: candidates come from wb.repl.complete(text) ---- */

static lua_State *completeL;
static char **cands;
static size_t ncands, icand;

static void free_cands(void)
{
    for (size_t i = icand; i < ncands; i++)
        free(cands[i]);
    free(cands);
    cands = NULL;
    ncands = icand = 0;
}

static int l_complete(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &repl_key);
    lua_getfield(L, -1, "complete");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
}

/* Fill cands from Lua; errors in the completer are ignored (no matches). */
static void fill_cands(const char *text)
{
    lua_State *L = completeL;
    free_cands();
    if (!L || !lua_checkstack(L, 4))
        return;
    lua_pushcfunction(L, l_complete);
    lua_pushstring(L, text);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        size_t n = lua_rawlen(L, -1);
        cands = n ? calloc(n, sizeof *cands) : NULL;
        for (size_t i = 0; cands && i < n; i++) {
            lua_rawgeti(L, -1, (lua_Integer)i + 1);
            const char *s = lua_tostring(L, -1);
            char *c = s ? strdup(s) : NULL;
            if (c)
                cands[ncands++] = c;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* readline generator: hands over one malloc'd candidate per call. */
static char *next_cand(const char *text, int state)
{
    if (state == 0)
        fill_cands(text);
    return icand < ncands ? cands[icand++] : NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)start, (void)end;
    rl_attempted_completion_over = 1; /* never fall back to file names */
    rl_completion_suppress_append = 1;
    return rl_completion_matches(text, next_cand);
}

/* }---- */

static void rl_online(char *line)
{
    rl_result = line;
    rl_finished = 1;
    rl_callback_handler_remove();
}

/* readline through its callback interface, so that Ctrl-C (our handler
 * only sets a flag; select sees EINTR) abandons the line cleanly. */
static int rl_getline(const char *prompt, char **out)
{
    int fd = fileno(rl_instream ? rl_instream : stdin);
    rl_result = NULL;
    rl_finished = 0;
    got_sigint = 0;
    rl_callback_handler_install(prompt, rl_online);
    while (!rl_finished) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int r = select(fd + 1, &fds, NULL, NULL, NULL);
        if (got_sigint) {
            got_sigint = 0;
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_echo_signal_char(SIGINT);
            rl_callback_handler_remove();
            fputc('\n', stdout);
            fflush(stdout);
            return LINE_CANCEL;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rl_callback_handler_remove();
            return LINE_EOF;
        }
        rl_callback_read_char();
    }
    *out = rl_result;
    return rl_result ? LINE_OK : LINE_EOF;
}

static void saveline(const char *line)
{
    if (use_readline)
        history_save(line);
}

#else /* WB_NO_READLINE */

static void saveline(const char *line)
{
    (void)line;
}

#endif

/* Read one line into a malloc'd *out (without the newline). */
static int readline_any(const char *prompt, char **out)
{
#if !defined(WB_NO_READLINE)
    if (use_readline)
        return rl_getline(prompt, out);
#endif
    if (stdin_tty) {
        fputs(prompt, stdout);
        fflush(stdout);
    }
    char *line = NULL;
    size_t cap = 0;
    got_sigint = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        if (got_sigint && ferror(stdin)) { /* Ctrl-C: EINTR, not the end */
            clearerr(stdin);
            fputc('\n', stdout);
            return LINE_CANCEL;
        }
        return LINE_EOF;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    *out = line;
    return LINE_OK;
}

/* }================================================================== */

/* {==================================================================
** The REPL (lua.c's loadline / addreturn / multiline / doREPL)
** =================================================================== */

static const char *get_prompt(lua_State *L, int firstline)
{
    if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
        return firstline ? PROMPT : PROMPT2; /* nil stays on the stack */
    const char *p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    return p;
}

/* Is status a syntax error ending in <eof>, i.e. an unfinished statement?
 * (The message stays on the stack.) */
static int incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return 0;
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    return lmsg >= MARKLEN && strcmp(msg + lmsg - MARKLEN, EOFMARK) == 0;
}

/* Prompt, read a line, push it. Returns LINE_OK, LINE_EOF or LINE_CANCEL. */
static int pushline(lua_State *L, int firstline)
{
    char *b = NULL;
    const char *prompt = get_prompt(L, firstline);
    int r = readline_any(prompt, &b);
    lua_pop(L, 1); /* prompt */
    if (r != LINE_OK)
        return r;
    if (firstline && b[0] == '=') /* 5.2 compatibility: "=x" means "return x" */
        lua_pushfstring(L, "return %s", b + 1);
    else
        lua_pushstring(L, b);
    free(b);
    return LINE_OK;
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
            saveline(line);
    } else {
        lua_pop(L, 2);
    }
    return status;
}

/* Read continuation lines until the statement is complete. */
static int multiline(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *line = lua_tolstring(L, 1, &len);
        int status = luaL_loadbuffer(L, line, len, "=stdin");
        if (!incomplete(L, status)) {
            saveline(line);
            return status;
        }
        int r = pushline(L, 0);
        if (r == LINE_EOF) { /* keep the syntax error, say what happened */
            saveline(line);
            eof_in_statement = 1;
            lua_pushfstring(L, "input ended inside an unfinished statement (%s)",
                            lua_tostring(L, -1));
            lua_remove(L, -2);
            return LUA_ERRSYNTAX;
        }
        if (r == LINE_CANCEL) {
            lua_pop(L, 1);
            return LINE_CANCEL;
        }
        lua_remove(L, -2); /* the syntax error */
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

/* Read one complete statement and compile it. Returns a Lua status with
 * the chunk (or error) on the stack, LINE_CANCEL, or -10 at end of input. */
#define REPL_EOF (-10)
static int loadline(lua_State *L)
{
    lua_settop(L, 0);
    int r = pushline(L, 1);
    if (r == LINE_EOF)
        return REPL_EOF;
    if (r == LINE_CANCEL)
        return LINE_CANCEL;
    int status = addreturn(L);
    if (status != LUA_OK)
        status = multiline(L);
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
    if (docall(L, n, 0) != LUA_OK)
        l_message(progname, lua_pushfstring(L, "error printing the result (%s)",
                                            lua_tostring(L, -1)));
}

static int loadrepl(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "wb.repl");
    lua_call(L, 1, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &repl_key);
    return 0;
}

static void repl_open(lua_State *L)
{
    lua_pushcfunction(L, loadrepl);
    if (docall(L, 0, 0) != LUA_OK) {
        l_message(progname, lua_pushfstring(L, "wb.repl not loaded, results "
                  "print plainly, no completion (%s)", lua_tostring(L, -1)));
        lua_pop(L, 2);
    }
    use_readline = 0;
#if !defined(WB_NO_READLINE)
    use_readline = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (use_readline) {
        static char breaks[] = " \t\n\"\\'><=;+-*/%^~#{}()[],&|";
        completeL = L;
        rl_readline_name = "workbench"; /* for $if workbench in ~/.inputrc */
        rl_catch_signals = 0;           /* SIGINT is ours (rl_getline) */
        rl_basic_word_break_characters = breaks;
        rl_completer_word_break_characters = breaks;
        rl_attempted_completion_function = complete;
        history_open();
    }
#endif
}

static void repl_close(void)
{
#if !defined(WB_NO_READLINE)
    if (use_readline)
        free_cands();
    completeL = NULL;
#endif
}

/* Returns the exit status: 1 if a piped REPL's input ended inside a
 * statement, else 0. */
static int doREPL(lua_State *L)
{
    const char *oldprogname = progname;
    progname = NULL; /* REPL errors read "stdin:1: ...", as in lua.c */
    repl_open(L);
    struct sigaction old;
    setsignal(SIGINT, sigint_flag, &old); /* between lines, Ctrl-C is a flag */
    int status, result = 0;
    while ((status = loadline(L)) != REPL_EOF) {
        if (status == LINE_CANCEL)
            continue;
        if (status == LUA_OK)
            status = docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            l_print(L);
        else
            report(L, status);
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
    repl_close();
    progname = oldprogname;
    return result;
}

/* }================================================================== */

static void print_banner(void)
{
    printf("workbench %s (%s, OpenBLAS %d thread%s) - `wb` is loaded; "
           "Tab completes, Ctrl-D exits\n", WB_VERSION, LUA_RELEASE,
           openblas_get_num_threads(),
           openblas_get_num_threads() == 1 ? "" : "s");
    fflush(stdout);
}

/* Everything runs here, in protected mode. Pushes the exit status. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = (char **)lua_touserdata(L, 2);
    int script, status = 0;
    int args = collectargs(argv, &script);
    luaL_checkversion(L);
    stdin_tty = isatty(STDIN_FILENO);
    if (args == has_error) {
        print_usage(argv[script]);
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
    createargtable(L, argv, argc, script);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);
    lua_pushcfunction(L, openwb);
    if (report(L, docall(L, 0, 0)) != LUA_OK)
        status = chunk_exit;
    else if (args & has_h)
        status = dohelp(L, help_topic);
    else if (!runargs(L, argv, script))
        status = chunk_exit;
    else if (script < argc)
        status = handle_script(L, argv + script);
    if (status == 0) {
        if (args & has_i) {
            if (stdin_tty)
                print_banner();
            status = doREPL(L);
        } else if (script == argc && !(args & (has_e | has_v | has_h))) {
            if (stdin_tty) {
                print_banner();
                status = doREPL(L);
            } else { /* the program comes from stdin, as in lua5.4 */
                status = dochunk(L, luaL_loadfile(L, NULL)) == LUA_OK ? 0 : chunk_exit;
            }
        }
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

int main(int argc, char **argv)
{
    setsignal(SIGPIPE, signal_noop, NULL);
    setsignal(SIGXFSZ, signal_noop, NULL);
    if (argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        progname = slash ? slash + 1 : argv[0];
    }
    lwb_sys_blas_init(); /* before any BLAS call, once per process */
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        l_message(progname, "cannot create state: not enough memory");
        return EX_OSERR;
    }
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int code = status == LUA_OK ? (int)lua_tointeger(L, -1) : 1;
    report(L, status);
    lua_close(L);
    return code;
}
