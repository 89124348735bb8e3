/* fsutil.c - atomic file replacement, mkdir -p and file hashing. See
 * fsutil.h.
 *
 * POSIX only (open/fsync/rename). Every failure path closes what it opened,
 * unlinks the temporary file and frees what it allocated before returning.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <xxhash.h>

#include "alloc.h"

struct wb_atomic {
    int fd;
    int dirfd;     /* the target's folder, opened by _new: commit allocates
                      nothing after the rename; -1 if it could not be opened */
    int dir_errno; /* why not */
    char *path; /* target, as given (messages name it) */
    char *dest; /* what is replaced: path, its symlinks followed */
    char *tmp;  /* dest.tmp.<pid>; NULL when written in place (direct) */
    int direct; /* dest is a device, FIFO or socket: written through */
};

/* Fault injection: WB_FAULT_IO=N (read at the first operation) or
 * wb_fsutil_fail_at(N) makes the Nth write, fsync or rename fail with EIO,
 * once, so that every failure path of the atomic writer can be reached from
 * a test, in C or through a whole `workbench` run. */
static long io_nth, io_count, io_injected;
static int io_configured;

static int io_fault(void)
{
    if (!io_configured) {
        const char *s = getenv("WB_FAULT_IO");
        io_configured = 1;
        io_nth = s ? strtol(s, NULL, 10) : 0;
    }
    if (++io_count != io_nth || io_nth <= 0)
        return 0;
    io_injected++;
    errno = EIO;
    return 1;
}

void wb_fsutil_fail_at(long nth)
{
    io_configured = 1;
    io_nth = nth;
    io_count = 0;
}

long wb_fsutil_io_count(void) { return io_count; }
long wb_fsutil_injected(void) { return io_injected; }

/* Open the folder holding path (for the fsync that makes a rename in it
 * durable), using buf (at least strlen(path) + 2 bytes) for its name. */
static int open_parent(const char *path, char *buf)
{
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
        memcpy(buf, path, n);
        buf[n] = '\0';
    }
    return open(slash ? buf : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* fsync the folder; filesystems that cannot fsync one (EINVAL) are fine. */
static int sync_parent(wb_atomic *f)
{
    if (f->dirfd < 0) {
        errno = f->dir_errno;
        return -1;
    }
    if (io_fault() || (fsync(f->dirfd) != 0 && errno != EINVAL))
        return -1;
    return 0;
}

/* What a write to path replaces: path itself, or when path is a symbolic
 * link, the file it names (renaming over the link replaced the link and
 * left that file unwritten). An existing file's by realpath (the kernel's
 * walk: /proc's links name no path one can follow by text); a dangling
 * link's (the file to create) by reading the links. A new string; NULL
 * with errno on failure (ELOOP, ENOMEM). */
static char *replaced_path(const char *path, int exists)
{
    struct stat st;
    char *out = NULL;
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) {
        if (!(out = wb_strdup(path)))
            errno = ENOMEM;
        return out;
    }
    if (exists) {
        char *r = realpath(path, NULL);
        if (!r)
            return NULL;
        if (!(out = wb_strdup(r)))
            errno = ENOMEM;
        free(r);
        return out;
    }
    char *cur = wb_strdup(path);
    for (int hops = 0; cur && hops < 40; hops++) {
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur;
        char link[4096];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            wb_free(cur);
            return NULL;
        }
        link[n] = '\0';
        const char *slash = strrchr(cur, '/');
        size_t dn = link[0] == '/' || !slash ? 0 : (size_t)(slash - cur) + 1;
        char *next = wb_malloc(dn + (size_t)n + 1); /* relative: to the link's folder */
        if (next) {
            memcpy(next, cur, dn);
            memcpy(next + dn, link, (size_t)n + 1);
        }
        wb_free(cur);
        cur = next;
    }
    int loop = cur != NULL;
    wb_free(cur);
    errno = loop ? ELOOP : ENOMEM;
    return NULL;
}

wb_atomic *wb_atomic_new(const char *path, wb_err *err)
{
    if (!path || !path[0]) {
        wb_err_set(err, WB_EINVAL, "write_atomic: empty path");
        return NULL;
    }
    /* A folder at path: said before anything is written (the rename at the
     * end would fail with EISDIR, an I/O error, after all the writing). */
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        wb_err_set(err, WB_ECREATE, "%s is a folder, expected the path of a file", path);
        return NULL;
    }
    /* A device, FIFO or socket (/dev/null, /dev/stdout, a pipe) is written
     * through, not replaced: a rename made it a plain file (for the whole
     * machine, run as root) and wrote nothing where the caller looked.
     * There is no old file to keep whole. */
    if (exists && !S_ISREG(st.st_mode)) {
        wb_atomic *d = wb_calloc(1, sizeof *d);
        char *target = wb_strdup(path);
        int fd = d && target ? open(path, O_WRONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
            int e = errno;
            if (!d || !target)
                wb_err_set(err, WB_ENOMEM, "%s: out of memory", path);
            else
                wb_err_set(err, WB_ECREATE, "%s: cannot open it for writing: %s", path,
                           strerror(e));
            wb_free(d), wb_free(target);
            return NULL;
        }
        d->fd = fd, d->dirfd = -1, d->path = target, d->direct = 1;
        return d;
    }
    char *dest = replaced_path(path, exists);
    if (!dest) {
        wb_err_set(err, errno == ENOMEM ? WB_ENOMEM : WB_ECREATE,
                   "%s: cannot follow its symbolic link: %s", path, strerror(errno));
        return NULL;
    }
    wb_atomic *f = wb_calloc(1, sizeof *f);
    size_t n = strlen(dest) + 32;
    char *tmp = wb_malloc(n);
    char *target = wb_strdup(path);
    if (!f || !tmp || !target) {
        wb_free(f), wb_free(tmp), wb_free(target), wb_free(dest);
        wb_err_set(err, WB_ENOMEM, "%s: out of memory for the temporary name",
                   path);
        return NULL;
    }
    f->dirfd = open_parent(dest, tmp);
    f->dir_errno = errno;
    snprintf(tmp, n, "%s.tmp.%ld", dest, (long)getpid());
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
    int fd = open(tmp, flags, 0666);
    if (fd < 0 && errno == EEXIST) {
        /* Left by a crashed writer whose pid we now carry: it is ours. */
        unlink(tmp);
        fd = open(tmp, flags, 0666);
    }
    if (fd < 0) {
        /* "x.tmp.123: No such file or directory" left the reader to work
         * out that the folder is what is missing: say it. */
        int e = errno;
        const char *slash = strrchr(dest, '/');
        int no_dir = e == ENOENT && f->dirfd < 0 && f->dir_errno == ENOENT && slash;
        wb_err_set(err, WB_ECREATE, "%s: cannot create temporary file %s: %s%s%.*s%s",
                   path, tmp, strerror(e), no_dir ? " (folder " : "",
                   no_dir ? (int)(slash - dest) : 0, dest,
                   no_dir ? " does not exist)" : "");
        if (f->dirfd >= 0)
            close(f->dirfd);
        wb_free(f), wb_free(tmp), wb_free(target), wb_free(dest);
        return NULL;
    }
    f->fd = fd;
    f->tmp = tmp;
    f->path = target;
    f->dest = dest;
    return f;
}

wb_status wb_atomic_write(wb_atomic *f, const void *buf, size_t n,
                          wb_err *err)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = io_fault() ? -1 : write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return wb_err_set(err, WB_EIO, "%s: write to %s failed: %s",
                              f->path, f->direct ? f->path : f->tmp, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return WB_OK;
}

void wb_atomic_free(wb_atomic *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    if (f->dirfd >= 0)
        close(f->dirfd);
    if (f->tmp)
        unlink(f->tmp);
    wb_free(f->tmp);
    wb_free(f->path);
    wb_free(f->dest);
    wb_free(f);
}

wb_status wb_atomic_commit(wb_atomic *f, wb_err *err)
{
    const char *step = NULL;
    if (f->direct) { /* a device or pipe: no fsync (most refuse one), no rename */
        int rc = close(f->fd), e = errno;
        if (io_fault())
            rc = -1, e = EIO;
        f->fd = -1;
        wb_status st = rc == 0 ? WB_OK
                               : wb_err_set(err, WB_EIO, "%s: close failed: %s", f->path,
                                            strerror(e));
        wb_atomic_free(f);
        return st;
    }
    if (io_fault() || fsync(f->fd) != 0)
        step = "fsync";
    int saved = errno;
    int rc = close(f->fd);
    f->fd = -1;
    if (!step && rc != 0) {
        step = "close";
        saved = errno;
    }
    if (!step && (io_fault() || rename(f->tmp, f->dest) != 0)) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        wb_err_set(err, WB_EIO, "%s: %s of %s failed: %s", f->path, step,
                   f->tmp, strerror(saved));
        wb_atomic_free(f); /* removes the temporary file */
        return WB_EIO;
    }
    wb_free(f->tmp); /* renamed: nothing left to unlink */
    f->tmp = NULL;
    wb_status st = WB_OK;
    if (sync_parent(f) != 0)
        st = wb_err_set(err, WB_EIO, "%s: written, but fsync of its folder "
                        "failed: %s", f->path, strerror(errno));
    wb_atomic_free(f);
    return st;
}

wb_status wb_write_atomic(const char *path, const void *buf, size_t n,
                          wb_err *err)
{
    wb_atomic *f = wb_atomic_new(path, err);
    if (!f)
        return err ? err->code : WB_EIO;
    wb_status st = wb_atomic_write(f, buf, n, err);
    if (st != WB_OK) {
        wb_atomic_free(f);
        return st;
    }
    return wb_atomic_commit(f, err);
}

/* mkdir one component; OK if it already is a directory. */
static wb_status mkdir_one(const char *dir, wb_err *err)
{
    if (mkdir(dir, 0777) == 0)
        return WB_OK;
    int saved = errno;
    struct stat st;
    if (saved == EEXIST && stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return WB_OK;
        return wb_err_set(err, WB_ECREATE, "mkdir_p: %s exists and is not a "
                          "directory", dir);
    }
    return wb_err_set(err, WB_ECREATE, "mkdir_p: cannot create %s: %s", dir,
                      strerror(saved));
}

wb_status wb_mkdir_p(const char *path, wb_err *err)
{
    if (!path || !path[0])
        return wb_err_set(err, WB_EINVAL, "mkdir_p: empty path");
    char *buf = wb_strdup(path);
    if (!buf)
        return wb_err_set(err, WB_ENOMEM, "mkdir_p: out of memory");
    wb_status st = WB_OK;
    /* Walk the separators: "a/b/c" creates "a", "a/b", then "a/b/c". */
    for (char *p = buf + 1; *p && st == WB_OK; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        st = mkdir_one(buf, err);
        *p = '/';
    }
    if (st == WB_OK)
        st = mkdir_one(buf, err);
    wb_free(buf);
    return st;
}

/* hex = the canonical (big-endian) digits of h, as xxhsum prints them */
static void hash_hex(XXH128_hash_t h, char hex[WB_HASH_HEX])
{
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    for (size_t i = 0; i < sizeof c.digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
}

void wb_hash_bytes(const void *p, size_t n, char hex[WB_HASH_HEX])
{
    hash_hex(XXH3_128bits(p, n), hex);
}

/* Feeds path's bytes to eat(ctx, buf, n) in blocks: the one read loop of
 * hash_file and cksum_file (what names the caller in an error); *size
 * the bytes read. */
static wb_status read_blocks(const char *path, const char *what,
                             void (*eat)(void *ctx, const unsigned char *b, size_t n),
                             void *ctx, uint64_t *size, wb_err *err)
{
    char shown[WB_ERR_PATH];
    if (!path || !path[0])
        return wb_err_set(err, WB_EINVAL, "%s: empty path", what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wb_err_set(err, WB_ENOENT, "%s: cannot open %s: %s", what,
                          wb_err_path(shown, path), strerror(errno));
    unsigned char buf[1 << 16];
    uint64_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close(fd);
            return wb_err_set(err, WB_EIO, "%s: reading %s at offset %llu: %s", what,
                              wb_err_path(shown, path), (unsigned long long)off,
                              strerror(saved));
        }
        if (n == 0)
            break;
        eat(ctx, buf, (size_t)n);
        off += (uint64_t)n;
    }
    close(fd);
    *size = off;
    return WB_OK;
}

static void hash_eat(void *ctx, const unsigned char *b, size_t n)
{
    XXH3_128bits_update(ctx, b, n);
}

wb_status wb_hash_file(const char *path, char hex[WB_HASH_HEX], wb_err *err)
{
    char shown[WB_ERR_PATH];
    XXH3_state_t *h = XXH3_createState();
    if (!h || XXH3_128bits_reset(h) != XXH_OK) {
        XXH3_freeState(h);
        return wb_err_set(err, WB_ENOMEM, "hash_file: %s: out of memory",
                          wb_err_path(shown, path ? path : ""));
    }
    uint64_t size;
    wb_status st = read_blocks(path, "hash_file", hash_eat, h, &size, err);
    if (st == WB_OK)
        hash_hex(XXH3_128bits_digest(h), hex);
    XXH3_freeState(h);
    return st;
}

/* POSIX cksum: CRC-32 with polynomial 0x04C11DB7, most significant bit
 * first, over the bytes, then over the length (least significant byte first,
 * as few bytes as it needs), complemented; a bit at a time (the sources are
 * under a megabyte, read once a process). */
static uint32_t crc_step(uint32_t crc, unsigned char c)
{
    crc ^= (uint32_t)c << 24;
    for (int k = 0; k < 8; k++)
        crc = crc & 0x80000000u ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    return crc;
}

static void crc_eat(void *ctx, const unsigned char *b, size_t n)
{
    uint32_t *c = ctx;
    for (size_t i = 0; i < n; i++)
        *c = crc_step(*c, b[i]);
}

wb_status wb_cksum_file(const char *path, uint32_t *crc, uint64_t *size, wb_err *err)
{
    uint32_t c = 0;
    uint64_t off;
    wb_status st = read_blocks(path, "cksum", crc_eat, &c, &off, err);
    if (st)
        return st;
    for (uint64_t len = off; len; len >>= 8)
        c = crc_step(c, (unsigned char)(len & 0xFF));
    *crc = ~c;
    *size = off;
    return WB_OK;
}
