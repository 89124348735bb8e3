/* spawn.c - wb.sys._spawn: a program run as a child without losing a signal.
 *
 * os.execute is C's system(), which ignores SIGINT (and SIGQUIT) in this
 * process while the child runs. A SIGINT sent to the workbench itself
 * (kill -INT, a harness, a supervisor; unlike the terminal's Ctrl-C, which
 * the whole foreground process group gets) during a gnuplot render was
 * dropped, and the script ran on and exited 0 (audit X17). Here the child
 * is started with posix_spawnp and waited for with waitpid while this
 * process's handlers (interrupt.c) stay in place: a SIGINT or SIGTERM is
 * passed on to the child as a SIGTERM, the child is waited for (nothing it
 * writes is still being written once this returns), then the interrupt is
 * raised, as wb.sys.sleep does. A signal that came before the call (a
 * cleanup after a caught interrupt runs the child) is left to the caller.
 *
 * The library's own (gnuplot): a hook runs a command with os.execute or
 * io.popen, which wb/identity_reads.lua sees; the underscore keeps this out
 * of help, as wb.io._observe.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np (glibc 2.29, musl 1.1.24) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwb.h"

extern char **environ;

/* opts' keys: the folder, then the files of fds 0, 1, 2 */
static const char *const keys[] = {"dir", "stdin", "stdout", "stderr"};
#define NKEYS 4

/* Reads opts (index 2) into path[NKEYS] (NULL: not given); raises on an
 * unknown key or a value that is not a string. The strings stay owned by
 * the table. */
static void read_opts(lua_State *L, const char *path[NKEYS])
{
    for (int k = 0; k < NKEYS; k++)
        path[k] = NULL;
    if (lua_isnoneornil(L, 2))
        return;
    lwb_checktype(L, 2, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        int k = 0;
        if (lua_type(L, -2) == LUA_TSTRING)
            while (k < NKEYS && strcmp(lua_tostring(L, -2), keys[k]) != 0)
                k++;
        if (k == NKEYS || lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "_spawn: unknown option %s, expected dir, stdin, stdout or stderr",
                       lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                      : luaL_typename(L, -2));
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "_spawn: option %s is a %s, expected a path (a string)", keys[k],
                       luaL_typename(L, -1));
        path[k] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
}

static void close_all(const int fd[3])
{
    for (int i = 0; i < 3; i++)
        if (fd[i] >= 0)
            close(fd[i]);
}

/* _spawn(argv, opts) -> "exit" | "signal", code
 * Runs argv[1] (found on PATH as execvp does) with argv[2..] as its
 * arguments, in opts.dir (else this process's folder), fd 0 read from
 * opts.stdin, 1 and 2 written to opts.stdout / opts.stderr (created or
 * truncated; paths relative to this process's folder, not to dir); a
 * stream not given is this process's. Returns as os.execute: "exit" and
 * the exit status, or "signal" and the signal that ended it. Raises when
 * a file cannot be opened or the program cannot be started (naming it),
 * and with the interrupt's error when a SIGINT or SIGTERM came meanwhile
 * (after passing it on and waiting for the child). */
int lwb_spawn(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TTABLE);
    lwb_no_extra(L, 2, "_spawn(argv, opts)");
    const char *path[NKEYS];
    read_opts(L, path);
    lua_Integer n = luaL_len(L, 1);
    lwb_argcheck(L, n >= 1 && n < 65536, 1, "expected the program and its arguments (1 or "
                  "more strings)");
    char **argv = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *argv, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_geti(L, 1, i) != LUA_TSTRING)
            return luaL_error(L, "_spawn: argv[%d] is a %s, expected a string", (int)i,
                              luaL_typename(L, -1));
        argv[i - 1] = (char *)lua_tostring(L, -1); /* still referenced by the table */
        lua_pop(L, 1);
    }
    argv[n] = NULL;

    wb_err err;
    int fd[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++) {
        const char *p = path[i + 1];
        if (!p)
            continue;
        /* close-on-exec here: only the dup2 copies reach the child */
        fd[i] = i == 0 ? open(p, O_RDONLY | O_CLOEXEC)
                       : open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd[i] < 0) {
            int e = errno;
            close_all(fd);
            wb_err_set(&err, i == 0 ? WB_ENOENT : WB_ECREATE,
                       "_spawn: %s: cannot open %s (its %s): %s", argv[0], p, keys[i + 1],
                       strerror(e));
            return lwb_raise_path(L, 0, &err, p);
        }
    }
    posix_spawn_file_actions_t fa;
    int e = posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3 && e == 0; i++)
        if (fd[i] >= 0)
            e = posix_spawn_file_actions_adddup2(&fa, fd[i], i);
    if (e == 0 && path[0])
        e = posix_spawn_file_actions_addchdir_np(&fa, path[0]);
    pid_t pid = -1;
    if (e == 0)
        e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close_all(fd);
    if (e != 0) {
        /* glibc reports the child's failing chdir or exec here */
        wb_err_set(&err, e == ENOENT ? WB_ENOENT : WB_EIO, "_spawn: cannot start %s%s%s: %s",
                   argv[0], path[0] ? " in " : "", path[0] ? path[0] : "", strerror(e));
        return lwb_raise_path(L, 0, &err, path[0]);
    }
    /* a signal seen before this call was caught by a pcall whose cleanup
     * runs this child: not this wait's to stop */
    int before = lwb_interrupt_status() != 0;
    int status = 0, passed = 0;
    for (;;) {
        /* checked before each wait too: a signal that came while the
         * child was being started ended no waitpid */
        if (!before && lwb_interrupt_status() && !passed)
            passed = kill(pid, SIGTERM) == 0;
        if (waitpid(pid, &status, 0) >= 0)
            break;
        if (errno != EINTR) {
            e = errno;
            wb_err_set(&err, WB_EIO, "_spawn: waiting for %s: %s", argv[0], strerror(e));
            return lwb_raise(L, 0, &err);
        }
    }
    if (!before && lwb_interrupt_status())
        lwb_check_interrupt(L); /* returns only outside the executable (no handler armed) */
    if (WIFSIGNALED(status)) {
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WTERMSIG(status));
    } else {
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    return 2;
}
