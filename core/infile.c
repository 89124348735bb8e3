/* infile.c - opening loader inputs: regular files, and memory as a file.
 * See infile.h. */
#define _GNU_SOURCE /* memfd_create */
#include "infile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO"
         : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
         : S_ISSOCK(m) ? "a socket" : "an unknown kind";
}

int wb_infile_open(const char *path, uint64_t *size, wb_err *err)
{
    char shown[WB_ERR_PATH];
    /* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        wb_err_set(err, WB_ENOENT, "%s: cannot open: %s", wb_err_path(shown, path),
                   strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int saved = errno;
        close(fd);
        wb_err_set(err, WB_ENOENT, "%s: cannot stat: %s", wb_err_path(shown, path),
                   strerror(saved));
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        wb_err_set(err, WB_ENOENT, "%s: not a regular file (%s)", wb_err_path(shown, path),
                   kind_of(sb.st_mode));
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    *size = (uint64_t)sb.st_size;
    return fd;
}

int wb_infile_mem(const void *buf, size_t n, const char *name, wb_err *err)
{
    int fd = memfd_create("wb-input", MFD_CLOEXEC);
    if (fd < 0) {
        wb_err_set(err, errno == ENOMEM ? WB_ENOMEM : WB_EIO,
                   "%s: cannot create an in-memory file: %s", name, strerror(errno));
        return -1;
    }
    const char *p = buf;
    for (size_t left = n; left > 0;) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            wb_err_set(err, WB_ENOMEM, "%s: cannot fill an in-memory file: %s", name,
                       strerror(w < 0 ? errno : ENOSPC));
            close(fd);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        wb_err_set(err, WB_EIO, "%s: cannot rewind an in-memory file: %s", name,
                   strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
