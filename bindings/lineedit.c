/* lineedit.c - the REPL's line input: readline, history and completion
 * (see lineedit.h). Not here: the REPL itself (bindings/workbench.c).
 *
 * GNU readline, not libedit. Debian's own lua5.4 links readline, and its
 * completion API (rl_attempted_completion_function, rl_completion_matches,
 * the callback interface we use to make Ctrl-C clear the line) and history
 * file (append_history, multi-line entries with timestamps) are richer than
 * libedit's emulation of them. Build with -DWB_NO_READLINE for the plain
 * getline fallback, which is also what runs whenever stdin or stdout is not
 * a terminal.
 */
#include "lineedit.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <lauxlib.h>

#if !defined(WB_NO_READLINE)
#include <readline/history.h>
#include <readline/readline.h>
#endif

#define HISTORY_MAX 1000

static int stdin_tty; /* prompts are printed */
static volatile sig_atomic_t got_sigint;

void le_sigint(int sig)
{
    (void)sig;
    got_sigint = 1;
}

/* Plain input: getline, with the prompt printed on a terminal only. */
static int plain_readline(const char *prompt, char **out)
{
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
            return LE_CANCEL;
        }
        return LE_EOF;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    *out = line;
    return LE_OK;
}

#if !defined(WB_NO_READLINE)

/* {==================== history ==================== */

static int use_readline; /* stdin and stdout are terminals */
static const char *le_progname = "workbench";
static char history_path[PATH_MAX];
static int history_warned;

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
        fprintf(stderr, "%s: cannot write history file %s: %s\n", le_progname,
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

/* }==================== */
/* {==================== completion ==================== */

static lua_State *completeL;
static int complete_key; /* registry[&complete_key] = the Lua completer */
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
    lua_rawgetp(L, LUA_REGISTRYINDEX, &complete_key);
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

/* }==================== */
/* {==================== reading a line ==================== */

static char *rl_result;
static int rl_finished;

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
            return LE_CANCEL;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rl_callback_handler_remove();
            return LE_EOF;
        }
        rl_callback_read_char();
    }
    *out = rl_result;
    return rl_result ? LE_OK : LE_EOF;
}

/* }==================== */

void le_open(lua_State *L, int complete_idx, const char *progname)
{
    stdin_tty = isatty(STDIN_FILENO);
    use_readline = stdin_tty && isatty(STDOUT_FILENO);
    if (!use_readline)
        return;
    /* not [ and ]: m[1].weight:<Tab> is one word (wb.repl.complete) */
    static char breaks[] = " \t\n\"\\'><=;+-*/%^~#{}(),&|";
    if (progname)
        le_progname = progname;
    if (complete_idx != 0 && lua_isfunction(L, complete_idx)) {
        lua_pushvalue(L, complete_idx);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &complete_key);
        completeL = L;
    }
    rl_readline_name = "workbench"; /* for $if workbench in ~/.inputrc */
    rl_catch_signals = 0;           /* SIGINT is ours (rl_getline) */
    rl_basic_word_break_characters = breaks;
    rl_completer_word_break_characters = breaks;
    rl_attempted_completion_function = complete;
    history_open();
}

void le_close(lua_State *L)
{
    if (use_readline)
        free_cands();
    if (completeL) {
        lua_pushnil(L);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &complete_key);
    }
    completeL = NULL;
}

int le_readline(const char *prompt, char **out)
{
    if (use_readline)
        return rl_getline(prompt, out);
    return plain_readline(prompt, out);
}

void le_saveline(const char *line)
{
    if (use_readline)
        history_save(line);
}

const char *le_version(char *buf, size_t n)
{
    snprintf(buf, n, "%s (built with %d.%d)", rl_library_version, RL_VERSION_MAJOR,
             RL_VERSION_MINOR);
    return buf;
}

#else /* WB_NO_READLINE */

void le_open(lua_State *L, int complete_idx, const char *progname)
{
    (void)L, (void)complete_idx, (void)progname;
    stdin_tty = isatty(STDIN_FILENO);
}

void le_close(lua_State *L)
{
    (void)L;
}

int le_readline(const char *prompt, char **out)
{
    return plain_readline(prompt, out);
}

void le_saveline(const char *line)
{
    (void)line;
}

const char *le_version(char *buf, size_t n)
{
    snprintf(buf, n, "none (built with WB_NO_READLINE)");
    return buf;
}

#endif
