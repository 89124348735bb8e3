/* l_sys.c - wb.sys: the few OS helpers the Lua library needs.
 *
 * Not a portability layer and not a general file API: only what fit,
 * checkpoints, run records and the REPL use (time, pid, host, folders,
 * atomic writes, file hashes, resource usage, BLAS threads, whether the
 * runner is still there). POSIX only.
 *
 * Errors: functions that act (mkdir_p, write_atomic, listdir, set_blas_threads)
 * raise with the path and strerror; functions that test (exists, isatty)
 * return a boolean; hash_file and reader_gone return nil and a message
 * when they cannot tell. The atomic write itself lives in core/fsutil.c so that
 * the C checkpoint writer shares it.
 */
/* realpath(3) is XSI, beyond the POSIX.1-2008 base the build asks for */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <cblas.h>
#include <lualib.h>

#include "../core/fsutil.h"
#include "lwb.h"

#define SYS_DIR "wb.sys.Dir"
#define SYS_LOCK "wb.sys.Lock"

/* ---- BLAS threads ---- */

/* Once per process: keep the user's choice when one of OpenBLAS's
 * environment variables is set, else use one thread. Our matrices are small
 * (batch x 784 x 128): threads cost more than they save here, and one
 * thread makes sums bit-identical from run to run. */
void lwb_sys_blas_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    const char *vars[] = {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS",
                          "OMP_NUM_THREADS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && v[0])
            return;
    }
    openblas_set_num_threads(1);
}

static int sys_blas_threads(lua_State *L)
{
    lua_pushinteger(L, openblas_get_num_threads());
    return 1;
}

/* set_blas_threads(n) -> the count now in effect (OpenBLAS caps n at the
 * number it was built for). */
static int sys_set_blas_threads(lua_State *L)
{
    lua_Integer n = lwb_checkinteger(L, 1);
    lwb_argcheck(L, n >= 1 && n <= 1024, 1, "expected 1..1024 threads");
    openblas_set_num_threads((int)n);
    lua_pushinteger(L, openblas_get_num_threads());
    return 1;
}

/* blas_core() -> string: the kernel OpenBLAS chose for this CPU (or
 * $OPENBLAS_CORETYPE), e.g. "Haswell": another kernel sums in another order,
 * so the same run gives other numbers; every run record names it. */
static int sys_blas_core(lua_State *L)
{
    const char *c = openblas_get_corename();
    lua_pushstring(L, c ? c : "unknown");
    return 1;
}

/* ---- process and machine ---- */

/* isatty(fd | file) -> boolean; fd is an integer (0 = stdin) or an io file. */
static int sys_isatty(lua_State *L)
{
    int fd;
    luaL_Stream *s = luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (s) {
        if (!s->closef)
            return lwb_argerror(L, 1, "attempt to use a closed file");
        fd = fileno(s->f);
    } else {
        lua_Integer i = lwb_checkinteger(L, 1);
        lwb_argcheck(L, i >= 0 && i <= 1 << 20, 1, "expected a file descriptor");
        fd = (int)i;
    }
    lua_pushboolean(L, isatty(fd));
    return 1;
}

/* term_columns(fd) -> integer | nil: the width in characters of the
 * terminal fd (an integer, 1 = stdout) is, nil when fd is no terminal or
 * the terminal does not say (a width of 0). */
static int sys_term_columns(lua_State *L)
{
    lua_Integer i = lwb_checkinteger(L, 1);
    lwb_argcheck(L, i >= 0 && i <= 1 << 20, 1, "expected a file descriptor");
    struct winsize ws;
    if (!isatty((int)i) || ioctl((int)i, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, ws.ws_col);
    return 1;
}

/* time() -> seconds from an arbitrary start, monotonic (for durations).
 * Private: _time, the same clock for the library's own timings (fit's
 * epoch_time, the instruments' seconds): the read tracker wraps time (a
 * hook's read is noted) and, while a run is tracked, each call walked the
 * stack to tell the library's reads from a hook's, 25 us a step with the
 * economy instruments every step. */
static int sys_time(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return luaL_error(L, "time: clock_gettime failed: %s", strerror(errno));
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

static int sys_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int sys_hostname(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0)
        return luaL_error(L, "hostname: %s", strerror(errno));
    name[sizeof name - 1] = '\0';
    lua_pushstring(L, name);
    return 1;
}

static int sys_nproc(lua_State *L)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n > 0 ? n : 1);
    return 1;
}

/* peak_rss_kb() -> the process's peak resident set size in KiB. */
static int sys_peak_rss_kb(lua_State *L)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return luaL_error(L, "peak_rss_kb: getrusage failed: %s", strerror(errno));
    lua_pushinteger(L, (lua_Integer)ru.ru_maxrss); /* KiB on Linux */
    return 1;
}

/* reader_gone(fd) -> boolean, or nil and a message when fd is not the write
 * end of a pipe: whether every reader of that pipe has closed it (poll
 * reports POLLERR), e.g. because the process reading it was killed. A child
 * of the runner watches the runner's pipe so (wb/runner.lua): SIGKILL
 * leaves it no other trace, and its pid may be a zombie's or reused. */
static int sys_reader_gone(lua_State *L)
{
    lua_Integer i = lwb_checkinteger(L, 1);
    lwb_argcheck(L, i >= 0 && i <= 1 << 20, 1, "expected a file descriptor");
    struct stat st;
    int fl = fcntl((int)i, F_GETFL);
    if (fl < 0 || fstat((int)i, &st) != 0 || !S_ISFIFO(st.st_mode)
        || (fl & O_ACCMODE) != O_WRONLY) {
        lua_pushnil(L);
        lua_pushfstring(L, "reader_gone: fd %d is not the write end of a pipe", (int)i);
        return 2;
    }
    struct pollfd p = {.fd = (int)i, .events = 0, .revents = 0};
    int n;
    while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return luaL_error(L, "reader_gone: poll: %s", strerror(errno));
    lua_pushboolean(L, n > 0 && (p.revents & (POLLERR | POLLHUP)) != 0);
    return 1;
}

/* ---- files and folders ---- */

static int sys_exists(lua_State *L)
{
    struct stat st;
    lua_pushboolean(L, stat(lwb_checkstring(L, 1), &st) == 0);
    return 1;
}

/* What path is, following links: a reader that opens anything named like
 * its file blocked on a FIFO and read a link to /dev/zero until memory ran
 * out (audit X20); nil when nothing is there. */
static int sys_kind(lua_State *L)
{
    struct stat st;
    if (stat(lwb_checkstring(L, 1), &st) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "folder"
                      : S_ISFIFO(st.st_mode) ? "fifo" : S_ISSOCK(st.st_mode) ? "socket"
                      : (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) ? "device" : "other");
    return 1;
}

/* _stat_sig(path) -> a string of path's device, inode, size and change
 * times, or nil when there is none or it may not tell an edit apart: the
 * read tracker (wb/identity_reads_again.lua) hashes a file a hook reads
 * again only when this differs from its first read's. nil ("racy", as git
 * calls it) when a time is within 2 s of now or ahead of it: an edit of the
 * same size within the file system's clock tick leaves the times as they were. */
static int sys_stat_sig(lua_State *L)
{
    struct stat st;
    struct timespec now;
    if (stat(lwb_checkstring(L, 1), &st) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0
        || now.tv_sec - st.st_mtim.tv_sec < 2 || now.tv_sec - st.st_ctim.tv_sec < 2) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushfstring(L, "%I:%I:%I:%I.%I:%I.%I", (lua_Integer)st.st_dev, (lua_Integer)st.st_ino,
                    (lua_Integer)st.st_size, (lua_Integer)st.st_mtim.tv_sec,
                    (lua_Integer)st.st_mtim.tv_nsec, (lua_Integer)st.st_ctim.tv_sec,
                    (lua_Integer)st.st_ctim.tv_nsec);
    return 1;
}

/* realpath(path) -> the absolute path with every symlink, "." and ".."
 * resolved (realpath(3)), or nil and a message naming path when it cannot
 * be (nothing there, a folder on the way unreadable). The runner tells a
 * file of its runs folder by this, however a hook spelled it. */
static int sys_realpath(lua_State *L)
{
    const char *path = lwb_checkpath(L, 1, 1);
    char *r = realpath(path, NULL);
    if (!r) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    lua_pushstring(L, r);
    free(r);
    return 1;
}

static int sys_mkdir_p(lua_State *L)
{
    wb_err err;
    const char *path = lwb_checkpath(L, 1, 1);
    if (wb_mkdir_p(path, &err) != WB_OK)
        return lwb_raise_path(L, 0, &err, path);
    lua_pushboolean(L, 1);
    return 1;
}

/* write_atomic(path, s): replace path with s, never leaving a torn file. */
static int sys_write_atomic(lua_State *L)
{
    wb_err err;
    const char *path = lwb_checkpath(L, 1, 1);
    size_t n;
    const char *s = lwb_checklstring(L, 2, &n);
    lwb_note_file(L, path, "w");
    if (wb_write_atomic(path, s, n, &err) != WB_OK) {
        wb_err_prefix(&err, "write_atomic: ");
        return lwb_raise_path(L, 0, &err, path);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* hash_string(s) -> 32 hex digits: XXH3-128 of s's bytes, as hash_file
 * gives for a file holding them. */
static int sys_hash_string(lua_State *L)
{
    size_t n;
    const char *s = lwb_checklstring(L, 1, &n);
    char hex[WB_HASH_HEX];
    wb_hash_bytes(s, n, hex);
    lua_pushstring(L, hex);
    return 1;
}

/* hash_file(path) -> 32 hex digits (XXH3-128 of the whole file, read in
 * chunks), or nil and a message naming the file when it cannot be read: a
 * test, as io.open is (the caller decides whether a missing file is an
 * error). */
static int sys_hash_file(lua_State *L)
{
    wb_err err;
    char hex[WB_HASH_HEX];
    const char *path = lwb_checkpath(L, 1, 1);
    lwb_note_file(L, path, "r"); /* its content decides the result */
    if (wb_hash_file(path, hex, &err) != WB_OK) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushstring(L, hex);
    return 1;
}

/* wb.sys._cksum(path) -> crc, size | nil, err: `cksum`'s numbers for the
 * file (wb_cksum_file), for the runner's check of the binary's C sources
 * against its tree (wb/runner_provenance.lua); wb's own, not noted as a
 * hook's read. */
static int sys_cksum(lua_State *L)
{
    wb_err err;
    uint32_t crc;
    uint64_t size;
    const char *path = lwb_checkpath(L, 1, 0);
    if (wb_cksum_file(path, &crc, &size, &err) != WB_OK) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)crc);
    lua_pushinteger(L, (lua_Integer)size);
    return 2;
}

/* The DIR handle lives in a userdata with __gc, so an error while names are
 * pushed (out of memory) cannot leak it. */
typedef struct dirbox {
    DIR *d;
} dirbox;

static int dir_gc(lua_State *L)
{
    dirbox *b = lwb_checkudata(L, 1, SYS_DIR);
    if (b->d)
        closedir(b->d);
    b->d = NULL;
    return 0;
}

static int cmpname(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* listdir(path) -> names in byte order, without "." and "..". */
static int sys_listdir(lua_State *L)
{
    const char *path = lwb_checkpath(L, 1, 1);
    dirbox *b = lua_newuserdatauv(L, sizeof *b, 0); /* index 2 */
    b->d = NULL;
    luaL_setmetatable(L, SYS_DIR);
    b->d = opendir(path);
    if (!b->d)
        return luaL_error(L, "listdir: cannot open %s: %s", path, strerror(errno));
    lua_newtable(L); /* index 3: names, anchors the strings */
    lua_Integer n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(b->d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            lua_pushstring(L, e->d_name);
            lua_rawseti(L, 3, ++n);
        }
        errno = 0;
    }
    int rerr = errno;
    closedir(b->d);
    b->d = NULL;
    if (rerr)
        return luaL_error(L, "listdir: reading %s: %s", path, strerror(rerr));
    /* Sort pointers to the anchored strings in Lua-owned memory. */
    const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names + 1, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 3, i);
        names[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1); /* still anchored by table 3 */
    }
    qsort(names, (size_t)n, sizeof *names, cmpname);
    lua_createtable(L, (int)n, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_pushstring(L, names[i - 1]);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* wb.sys.fail(kind, message): raise message as a wb.Error of a core kind
 * ("EFORMAT", "ENOENT", "ECREATE", "EIO", "ENOMEM", "EINVAL", ...), so that
 * the executable's exit status says what failed (README, Exit status) for
 * errors found by Lua code, e.g. a missing dataset. The message gets the
 * caller's position, as error(message) would give it. */
static int sys_fail(lua_State *L)
{
    static const char *const kinds[] = {"EINVAL", "ESHAPE", "ERANGE", "ENOMEM", "EIO",
                                        "EFORMAT", "ESTATE", "ENONFINITE", "ENOENT",
                                        "ECREATE", NULL};
    const char *name = lwb_checkstring(L, 1), *kind = NULL;
    for (int i = 0; kinds[i] && !kind; i++)
        kind = strcmp(name, kinds[i]) == 0 ? kinds[i] : NULL;
    if (!kind) /* luaL_checkoption said "invalid option 'bogus'" and no more */
        return lwb_argerror(L, 1, lua_pushfstring(L, "kind: unknown '%s', expected one of "
                             "EINVAL, ESHAPE, ERANGE, ENOMEM, EIO, EFORMAT, ESTATE, "
                             "ENONFINITE, ENOENT, ECREATE", name));
    luaL_where(L, 1);
    lua_pushstring(L, lwb_checkstring(L, 2));
    lua_concat(L, 2);
    lwb_pusherror(L, kind, lua_tostring(L, -1), NULL);
    return lua_error(L);
}

/* mktemp(kind) -> path: a new empty file (kind "file", the default) or
 * folder ("dir") named wb_XXXXXX in $TMPDIR, else /tmp. os.tmpname has /tmp
 * built in: with /tmp read-only, TMPDIR pointing elsewhere did not help and
 * every task failed with "unable to generate a unique filename", naming no
 * folder. Raises ECREATE naming the folder and what to set. */
static int sys_mktemp(lua_State *L)
{
    static const char *const kinds[] = {"file", "dir", NULL};
    int want_dir = lwb_checkoption(L, 1, "file", kinds);
    const char *env = getenv("TMPDIR"), *dir = env && *env ? env : "/tmp";
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    lua_pushlstring(L, dir, n);
    lua_pushliteral(L, "/wb_XXXXXX");
    lua_concat(L, 2);
    size_t len;
    const char *tmpl = lua_tolstring(L, -1, &len);
    char *path = lua_newuserdatauv(L, len + 1, 0);
    memcpy(path, tmpl, len + 1);
    int ok;
    if (want_dir) {
        ok = mkdtemp(path) != NULL;
    } else {
        int fd = mkstemp(path);
        ok = fd >= 0 && close(fd) == 0;
    }
    if (!ok) {
        int e = errno;
        lua_pushlstring(L, dir, n);
        const char *msg = lua_pushfstring(L, "cannot create a temporary %s in %s (%s): %s; "
            "set TMPDIR to a writable folder", want_dir ? "folder" : "file", lua_tostring(L, -1),
            env && *env ? "$TMPDIR" : "TMPDIR is unset", strerror(e));
        lwb_pusherror(L, "ECREATE", msg, NULL);
        return lua_error(L);
    }
    lua_pushstring(L, path);
    return 1;
}

/* ---- a lock held by this process ---- */

/* A flock(2) lock on an open file: the kernel releases it when this
 * process ends, killed or not, and no other process can end it early (the
 * root's lock was held by a child, sh, flock and tail --pid: killing that
 * tail let a second runner in while the first still trained). The file is
 * opened close-on-exec, so a program the runner starts does not hold it; a
 * child forked by fork_call shares it and ends with its parent. */
typedef struct sys_lock {
    int fd;
    pid_t owner; /* the process that took it: a forked child's copy never releases it */
} sys_lock;

static int lock_release(lua_State *L)
{
    sys_lock *k = lwb_checkudata(L, 1, SYS_LOCK);
    if (k->fd >= 0) {
        /* flock's lock belongs to the open file, which a forked child shares:
         * only the taker unlocks it; anyone may close its own descriptor */
        if (k->owner == getpid())
            flock(k->fd, LOCK_UN);
        close(k->fd);
        k->fd = -1;
    }
    return 0;
}

/* wb.sys.lock(path, shared, polls, note) -> lock | false | nil, message:
 * opens (creating) path and takes flock's exclusive lock (shared: a shared
 * one), trying polls + 1 times 0.1 s apart (polls = 0: once); then writes
 * note into the file in place (truncated: the same file, whose lock this
 * is, never one renamed over it), saying who holds it. false: another
 * process holds it; nil and a message: path could not be opened or locked.
 * lock:release() (also at collection; safe twice) unlocks and closes. */
static int sys_lock_take(lua_State *L)
{
    const char *path = lwb_checkpath(L, 1, 1);
    int shared = lua_toboolean(L, 2);
    lua_Integer polls = lwb_optinteger(L, 3, 0);
    size_t nlen = 0;
    const char *note = lwb_optlstring(L, 4, "", &nlen);
    lwb_no_extra(L, 4, "lock(path, shared, polls, note)");
    lwb_argcheck(L, polls >= 0, 3, "polls: expected 0 or more");
    /* 0666 as the umask allows (a group-shared root: the group may lock it
     * too); a lock file someone else made and this user may only read is
     * locked through a read-only descriptor (flock needs no write access),
     * and who holds it is then not written */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EACCES)
        fd = open(path, O_RDONLY | O_CLOEXEC), nlen = 0;
    if (fd < 0) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    int op = (shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    for (lua_Integer i = 0;; i++) {
        if (flock(fd, op) == 0)
            break;
        int e = errno;
        if (e == EINTR)
            continue;
        if (e != EWOULDBLOCK || i >= polls) {
            close(fd);
            if (e == EWOULDBLOCK) {
                lua_pushboolean(L, 0);
                return 1;
            }
            luaL_pushfail(L);
            lua_pushfstring(L, "%s: flock: %s", path, strerror(e));
            return 2;
        }
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        if (lwb_interrupt_status()) { /* Ctrl-C while waiting: stop waiting */
            close(fd);
            return lwb_check_interrupt(L), luaL_error(L, "lock: interrupted");
        }
    }
    if (nlen > 0 && (ftruncate(fd, 0) != 0 || pwrite(fd, note, nlen, 0) != (ssize_t)nlen)) {
        int e = errno;
        flock(fd, LOCK_UN);
        close(fd);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: writing who holds it: %s", path, strerror(e));
        return 2;
    }
    sys_lock *k = lua_newuserdatauv(L, sizeof *k, 0);
    k->fd = fd;
    k->owner = getpid();
    luaL_setmetatable(L, SYS_LOCK);
    return 1;
}

/* ---- a call in a child process ---- */

/* Child side of fork_call: f's string result (or the error's text) into
 * fd, then _exit: no atexit handler, __gc or <close> of the parent's state
 * runs twice (a lock's release, a buffered stream's flush). */
static void fork_child(lua_State *L, int fd)
{
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the parent killed: stop, as a runner's children do */
#endif
    lua_pushvalue(L, 1);
    int st = lua_pcall(L, 0, 1, 0);
    size_t n = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n)
                  : st == LUA_OK ? "" : "fork_call: the function raised a non-string error";
    if (st != LUA_OK && n == 0)
        n = strlen(s);
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        s += w;
        n -= (size_t)w;
    }
    fflush(NULL);
    _exit(st == LUA_OK ? 0 : 1);
}

/* wb.sys.fork_call(f) -> status, text: calls f() in a forked child of this
 * process and waits for it. f returns a string (or raises: status 1, text
 * the error if a string), which comes back as text; status is the child's
 * exit status (0 when f returned), or 128 + the signal that killed it. What
 * f changes (globals, upvalues, caches) stays in the child. Output buffered
 * before the fork is flushed first, so it is not written twice. A SIGINT or
 * SIGTERM seen by this process while it waits is passed on to the child
 * (which the terminal may not have signalled), and a child outlives its
 * parent by no more than its next Lua instruction (Linux: a SIGTERM when
 * the parent dies). */
static int sys_fork_call(lua_State *L)
{
    lwb_checktype(L, 1, LUA_TFUNCTION);
    lwb_no_extra(L, 1, "fork_call(f)");
    int fd[2];
    if (pipe(fd) != 0)
        return luaL_error(L, "fork_call: pipe: %s", strerror(errno));
    /* not inherited through exec: a process the child starts in the
     * background (a hook's `cmd &`, gnuplot -persist) would hold the pipe
     * open, and this process would wait for it to end, not for the child */
    fcntl(fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(fd[1], F_SETFD, FD_CLOEXEC);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fd[0]);
        close(fd[1]);
        return luaL_error(L, "fork_call: fork: %s", strerror(e));
    }
    if (pid == 0) {
        close(fd[0]);
        fork_child(L, fd[1]);
    }
    close(fd[1]);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char chunk[4096];
    int passed = 0;
    for (;;) {
        ssize_t r = read(fd[0], chunk, sizeof chunk);
        if (r > 0) {
            luaL_addlstring(&b, chunk, (size_t)r);
        } else if (r < 0 && errno == EINTR) {
            if (lwb_interrupt_status() && !passed)
                passed = kill(pid, SIGTERM) == 0;
        } else {
            break;
        }
    }
    close(fd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        if (lwb_interrupt_status() && !passed)
            passed = kill(pid, SIGTERM) == 0;
    luaL_pushresult(&b); /* before any other push: the buffer may be on the stack */
    lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1);
    lua_insert(L, -2);
    return 2;
}

/* {==================== math.random's state ==================== */

/* Lua 5.4's math.random keeps its xoshiro256** state (four 64-bit words) in
 * a full userdata, the first upvalue of math.random and math.randomseed
 * (lmathlib.c, setrandfunc); Lua has no call that reads it. A hook that
 * draws from math.random resumed with the stream of its seed again, not
 * where the stopped fit had got to (a new user's annealed lr repeated an
 * epoch's). Pushes that userdata's block, or returns NULL when math.random
 * is not Lua 5.4's own (replaced by a Lua function, another layout). */
#define MATH_RANDOM_BYTES 32
static unsigned char *math_random_block(lua_State *L)
{
    int top = lua_gettop(L);
    unsigned char *p = NULL;
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    if (lua_getfield(L, -1, "math") == LUA_TTABLE &&
        lua_getfield(L, -1, "random") == LUA_TFUNCTION && lua_iscfunction(L, -1) &&
        lua_getupvalue(L, -1, 1) != NULL && lua_type(L, -1) == LUA_TUSERDATA &&
        lua_rawlen(L, -1) == MATH_RANDOM_BYTES)
        p = lua_touserdata(L, -1);
    lua_settop(L, top);
    return p; /* alive after the pop: math.random holds it */
}

/* wb.sys.math_random_state() -> string | nil: 64 hex digits. */
static int sys_math_random_state(lua_State *L)
{
    lwb_no_extra(L, 0, "wb.sys.math_random_state() takes no argument");
    const unsigned char *p = math_random_block(L);
    if (p == NULL) {
        lua_pushnil(L);
        return 1;
    }
    char hex[2 * MATH_RANDOM_BYTES + 1];
    for (int i = 0; i < MATH_RANDOM_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", p[i]);
    lua_pushstring(L, hex);
    return 1;
}

/* wb.sys.set_math_random_state(s): restores a state from math_random_state. */
static int sys_set_math_random_state(lua_State *L)
{
    lwb_no_extra(L, 1, "wb.sys.set_math_random_state(s) takes the state only");
    size_t len;
    const char *s = lwb_checklstring(L, 1, &len);
    unsigned char v[MATH_RANDOM_BYTES];
    if (!lwb_hex_decode(s, len, v, sizeof v))
        return lwb_argerror(L, 1, "expected a state from wb.sys.math_random_state() "
                                   "(64 hex digits)");
    unsigned char *p = math_random_block(L);
    if (p == NULL)
        return luaL_error(L, "wb.sys.set_math_random_state: math.random is not Lua 5.4's own "
                             "(replaced?): its state cannot be set");
    memcpy(p, v, sizeof v);
    return 0;
}

/* }================================================================== */

static const luaL_Reg functions[] = {
    {"fail", sys_fail},
    {"math_random_state", sys_math_random_state},
    {"set_math_random_state", sys_set_math_random_state},
    {"isatty", sys_isatty},
    {"term_columns", sys_term_columns},
    {"time", sys_time},
    {"_time", sys_time},
    {"getpid", sys_getpid},
    {"hostname", sys_hostname},
    {"nproc", sys_nproc},
    {"peak_rss_kb", sys_peak_rss_kb},
    {"reader_gone", sys_reader_gone},
    {"check_interrupt", lwb_check_interrupt},
    {"sleep", lwb_sleep},
    {"hold_signals", lwb_hold_signals},
    {"hold_after_signal", lwb_hold_after_signal},
    {"_spawn", lwb_spawn},
    {"exists", sys_exists},
    {"kind", sys_kind},
    {"realpath", sys_realpath},
    {"_stat_sig", sys_stat_sig},
    {"mktemp", sys_mktemp},
    {"mkdir_p", sys_mkdir_p},
    {"write_atomic", sys_write_atomic},
    {"listdir", sys_listdir},
    {"hash_file", sys_hash_file},
    {"_cksum", sys_cksum},
    {"hash_string", sys_hash_string},
    {"blas_threads", sys_blas_threads},
    {"set_blas_threads", sys_set_blas_threads},
    {"blas_core", sys_blas_core},
    {"fork_call", sys_fork_call},
    {"lock", sys_lock_take},
    {NULL, NULL},
};

int lwb_open_sys(lua_State *L)
{
    lwb_sys_blas_init();
    luaL_newmetatable(L, SYS_DIR);
    lua_pushcfunction(L, dir_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, SYS_LOCK);
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    lua_pushcfunction(L, lock_release);
    lua_setfield(L, -2, "release");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lwb_subtable(L, 1, "sys");
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
    return 0;
}
