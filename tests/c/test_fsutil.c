/* test_fsutil.c - atomic writes and mkdir -p (core/fsutil.c). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/alloc.h"
#include "../../core/fsutil.h"
#include "harness.h"

static char dir[256];

static char *path_in(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Whole file as a NUL-terminated string in out (n bytes max); -1 if absent. */
static long slurp(const char *path, char *out, size_t n)
{
    FILE *fh = fopen(path, "rb");
    if (!fh)
        return -1;
    size_t got = fread(out, 1, n - 1, fh);
    out[got] = '\0';
    fclose(fh);
    return (long)got;
}

/* Number of entries in dir whose name contains ".tmp." */
static int count_tmp(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_write_new_and_replace(void)
{
    wb_err err = {0};
    char buf[64];
    const char *p = path_in("a.json");
    REQUIRE(wb_write_atomic(p, "{\"x\":1}", 7, &err) == WB_OK, "%s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == 7 && strcmp(buf, "{\"x\":1}") == 0,
          "content %s", buf);
    REQUIRE(wb_write_atomic(p, "new", 3, &err) == WB_OK, "%s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == 3 && strcmp(buf, "new") == 0,
          "replaced content %s", buf);
    REQUIRE(wb_write_atomic(p, "", 0, &err) == WB_OK, "%s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == 0, "empty file expected");
    CHECK(count_tmp() == 0, "temporary file left behind");
}

static void test_missing_folder(void)
{
    wb_err err = {0};
    const char *p = path_in("no/such/dir/f.bin");
    wb_status st = wb_write_atomic(p, "x", 1, &err);
    CHECK(st == WB_ECREATE, "status %s", wb_status_name(st));
    CHECK(strstr(err.msg, p) != NULL, "message names the path: %s", err.msg);
    CHECK(strstr(err.msg, "No such file or directory") != NULL,
          "message has strerror: %s", err.msg);
    st = wb_write_atomic("", "x", 1, &err);
    CHECK(st == WB_EINVAL, "empty path: %s", wb_status_name(st));
    /* a folder where the file goes: ECREATE before writing (was EIO from
     * the rename, after all of it) */
    st = wb_write_atomic(dir, "x", 1, &err);
    CHECK(st == WB_ECREATE, "folder: %s", wb_status_name(st));
    CHECK(strstr(err.msg, "is a folder, expected the path of a file") != NULL, "%s", err.msg);
    CHECK(count_tmp() == 0, "temporary file left behind");
}

static void test_stream_commit_and_abort(void)
{
    wb_err err = {0};
    char buf[64];
    const char *p = path_in("s.txt");
    wb_atomic *f = wb_atomic_new(p, &err);
    REQUIRE(f, "%s", err.msg);
    CHECK(wb_atomic_write(f, "hello ", 6, &err) == WB_OK, "%s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == -1, "target visible before commit");
    CHECK(count_tmp() == 1, "expected one temporary file");
    CHECK(wb_atomic_write(f, "world", 5, &err) == WB_OK, "%s", err.msg);
    REQUIRE(wb_atomic_commit(f, &err) == WB_OK, "%s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == 11 && strcmp(buf, "hello world") == 0,
          "content %s", buf);

    f = wb_atomic_new(p, &err);
    REQUIRE(f, "%s", err.msg);
    CHECK(wb_atomic_write(f, "partial", 7, &err) == WB_OK, "%s", err.msg);
    wb_atomic_free(f);
    wb_atomic_free(NULL);
    CHECK(slurp(p, buf, sizeof buf) == 11 && strcmp(buf, "hello world") == 0,
          "abort changed the target: %s", buf);
    CHECK(count_tmp() == 0, "abort left the temporary file");
}

/* A write that fails half-way (file size limit: EFBIG) leaves the target
 * as it was and no temporary file. */
static void test_write_failure_keeps_target(void)
{
    wb_err err = {0};
    char buf[64];
    const char *p = path_in("keep.txt");
    REQUIRE(wb_write_atomic(p, "old", 3, &err) == WB_OK, "%s", err.msg);
    struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = 0};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0, "getrlimit");
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    static char big[8192];
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit");
    wb_status st = wb_write_atomic(p, big, sizeof big, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(st == WB_EIO, "status %s", wb_status_name(st));
    CHECK(strstr(err.msg, p) && strstr(err.msg, "File too large"),
          "message: %s", err.msg);
    CHECK(slurp(p, buf, sizeof buf) == 3 && strcmp(buf, "old") == 0,
          "target changed: %s", buf);
    CHECK(count_tmp() == 0, "temporary file left behind");
}

static void test_alloc_failure(void)
{
    wb_err err = {0};
    long live = wb_alloc_live();
    for (long nth = 1; nth <= 4; nth++) {
        wb_alloc_fail_at(nth, 0);
        wb_status st = wb_write_atomic(path_in("oom.txt"), "x", 1, &err);
        wb_alloc_fail_at(0, 0);
        CHECK(st == WB_ENOMEM, "alloc %ld: status %s", nth,
              wb_status_name(st));
        CHECK(wb_alloc_live() == live, "alloc %ld: leak", nth);
    }
    CHECK(count_tmp() == 0, "temporary file left behind");
}

/* A symbolic link: the file it names is replaced, the link stays (a rename
 * over the link replaced it and left its file unwritten); a dangling one
 * names the file to create. */
static void test_symlink_target(void)
{
    wb_err err = {0};
    char buf[64];
    struct stat st;
    REQUIRE(wb_write_atomic(path_in("real.txt"), "old", 3, &err) == WB_OK, "%s", err.msg);
    REQUIRE(symlink("real.txt", path_in("link.txt")) == 0, "symlink: %s", strerror(errno));
    REQUIRE(wb_write_atomic(path_in("link.txt"), "new", 3, &err) == WB_OK, "%s", err.msg);
    CHECK(lstat(path_in("link.txt"), &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    CHECK(slurp(path_in("real.txt"), buf, sizeof buf) == 3 && strcmp(buf, "new") == 0,
          "the linked file holds %s", buf);
    REQUIRE(symlink("made.txt", path_in("dangling")) == 0, "symlink: %s", strerror(errno));
    REQUIRE(wb_write_atomic(path_in("dangling"), "made", 4, &err) == WB_OK, "%s", err.msg);
    CHECK(lstat(path_in("dangling"), &st) == 0 && S_ISLNK(st.st_mode), "dangling link replaced");
    CHECK(slurp(path_in("made.txt"), buf, sizeof buf) == 4, "the named file was not made");
    REQUIRE(symlink("loop2", path_in("loop1")) == 0 && symlink("loop1", path_in("loop2")) == 0,
            "symlink: %s", strerror(errno));
    wb_status s = wb_write_atomic(path_in("loop1"), "x", 1, &err);
    CHECK(s == WB_ECREATE && strstr(err.msg, "loop1"), "a loop of links: %s", err.msg);
    CHECK(count_tmp() == 0, "temporary file left behind");
}

/* A FIFO (as a device or /dev/stdout's pipe) is written through and stays
 * what it is: a rename made it a plain file. The test holds its read end. */
static void test_fifo_written_through(void)
{
    wb_err err = {0};
    char buf[64] = {0};
    struct stat st;
    const char *p = path_in("fifo");
    REQUIRE(mkfifo(p, 0600) == 0, "mkfifo: %s", strerror(errno));
    int rd = open(p, O_RDONLY | O_NONBLOCK);
    REQUIRE(rd >= 0, "open: %s", strerror(errno));
    REQUIRE(symlink("fifo", path_in("to_fifo")) == 0, "symlink: %s", strerror(errno));
    CHECK(wb_write_atomic(p, "abc", 3, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_write_atomic(path_in("to_fifo"), "de", 2, &err) == WB_OK, "%s", err.msg);
    CHECK(read(rd, buf, sizeof buf - 1) == 5 && strcmp(buf, "abcde") == 0, "read %s", buf);
    close(rd);
    CHECK(stat(p, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");
    CHECK(count_tmp() == 0, "temporary file left behind");
}

static void test_mkdir_p(void)
{
    wb_err err = {0};
    struct stat st;
    const char *p = path_in("x/y//z/");
    REQUIRE(wb_mkdir_p(p, &err) == WB_OK, "%s", err.msg);
    CHECK(stat(path_in("x/y/z"), &st) == 0 && S_ISDIR(st.st_mode), "no dir");
    CHECK(wb_mkdir_p(p, &err) == WB_OK, "existing: %s", err.msg);
    REQUIRE(wb_write_atomic(path_in("file"), "x", 1, &err) == WB_OK, "w");
    wb_status s = wb_mkdir_p(path_in("file/sub"), &err);
    CHECK(s == WB_ECREATE && strstr(err.msg, "not a directory"), "file: %s",
          err.msg);
    s = wb_mkdir_p("", &err);
    CHECK(s == WB_EINVAL, "empty: %s", wb_status_name(s));
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_fsutil.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("not ok - mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    RUN(test_write_new_and_replace);
    RUN(test_missing_folder);
    RUN(test_stream_commit_and_abort);
    RUN(test_write_failure_keeps_target);
    RUN(test_alloc_failure);
    RUN(test_symlink_target);
    RUN(test_fifo_written_through);
    RUN(test_mkdir_p);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    TH_EXIT();
}
