/* infile.h - how every loader (IDX, PNG, checkpoint) opens its input.
 *
 * One path for files and for bytes in memory: a loader reads from a file
 * descriptor, and the memory entry points (wb_*_decode, used by the fuzz
 * harnesses and the corpus tests) hand it a memfd holding a copy of the
 * bytes. So the code the fuzzer exercises is the code that reads files,
 * gzip members and all.
 *
 * Only regular files are read. A FIFO, a device or a directory is refused
 * at once (the open does not block: O_NONBLOCK) with WB_ENOENT, like a
 * missing, unreadable or over-long path: the executable exits 66 for all
 * of them (README, Exit status).
 */
#ifndef WB_INFILE_H
#define WB_INFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Open path for reading (blocking mode, close-on-exec) and give its size.
 * -1 with err on failure: WB_ENOENT "<path>: cannot open: <reason>" or
 * "<path>: not a regular file (a directory)"; the path is elided in the
 * message when long (wb_err_path). */
int wb_infile_open(const char *path, uint64_t *size, wb_err *err);

/* A descriptor at offset 0 of an anonymous in-memory file holding a copy of
 * the n bytes at buf (buf may be NULL when n is 0). -1 with err: WB_ENOMEM,
 * or WB_EIO when the system refuses the memfd; `name` starts the message. */
int wb_infile_mem(const void *buf, size_t n, const char *name, wb_err *err);

#endif
