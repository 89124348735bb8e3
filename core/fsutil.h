/* fsutil.h - atomic file replacement, mkdir -p and whole-file hashing for
 * the core.
 *
 * Checkpoints and run records must never be seen half-written, even after a
 * crash or a full disk. An atomic write goes to "<path>.tmp.<pid>" in the
 * same folder, is fsync'd, renamed over <path>, and then the folder itself
 * is fsync'd so that the rename is durable. A reader sees the old file or the
 * complete new one. On any failure the temporary file is removed, <path> is
 * untouched, and the message names <path>, the step that failed and
 * strerror(errno). A symbolic link at <path> stays: the file it names is
 * what is replaced (in that file's folder). A device, FIFO or socket at
 * <path> (/dev/null, /dev/stdout, a pipe) is written through, not
 * replaced (a rename made it a plain file), without the guarantee: there
 * is no old file to keep.
 *
 * This is not a general file API: no reading (beyond hashing a file), no
 * locking. Two processes that write the same path race (last rename wins),
 * but never tear the file.
 */
#ifndef WB_FSUTIL_H
#define WB_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Replace the file at path with the n bytes at buf, atomically (above).
 * WB_ECREATE when the temporary file cannot be created (missing or read-only
 * folder), WB_EIO on any other system-call failure, WB_ENOMEM if the
 * temporary name cannot be allocated, WB_EINVAL for an empty path. */
wb_status wb_write_atomic(const char *path, const void *buf, size_t n,
                          wb_err *err);

/* Streaming variant, for writers that produce the file in chunks (the
 * checkpoint writer): _new opens the temporary file, _write appends,
 * _commit makes it visible at path, _free abandons it.
 *
 *   wb_atomic *f = wb_atomic_new(path, &err);    NULL + err (WB_ECREATE...)
 *   wb_atomic_write(f, buf, n, &err) ...         WB_EIO on failure
 *   wb_atomic_commit(f, &err);                   frees f, success or not
 *
 * After a failed _write the caller still owns f and must call _free (or
 * _commit, which then fails and cleans up). */
typedef struct wb_atomic wb_atomic;

wb_atomic *wb_atomic_new(const char *path, wb_err *err);
wb_status wb_atomic_write(wb_atomic *f, const void *buf, size_t n,
                          wb_err *err);
/* fsync, close, rename over the target, fsync the folder. Always frees f;
 * on failure the temporary file is removed and the target is untouched
 * (unless only the final folder fsync failed: then the new file is in
 * place but its durability is not guaranteed, and the error says so). */
wb_status wb_atomic_commit(wb_atomic *f, wb_err *err);
/* Abandon: close and remove the temporary file, free f. NULL-safe. */
void wb_atomic_free(wb_atomic *f);

/* Fault injection: make the nth write, fsync or rename of this module
 * (1-based, counted from this call) fail with EIO, once; 0 turns it off.
 * From the command line, WB_FAULT_IO=N does the same, counted from the
 * process's first operation. */
void wb_fsutil_fail_at(long nth);
/* Writes, fsyncs and renames so far (since the last wb_fsutil_fail_at). */
long wb_fsutil_io_count(void);
/* Failures injected so far in this process. */
long wb_fsutil_injected(void);

/* Create path and any missing parents (like `mkdir -p`, mode 0777 before
 * the umask). OK when path already is a directory; WB_EIO naming the
 * component when a component exists and is not a directory, WB_ECREATE when
 * one cannot be created. */
wb_status wb_mkdir_p(const char *path, wb_err *err);

/* Hash the whole content of the file at path with XXH3-128 (libxxhash),
 * read in chunks of 64 KiB through a buffer on the stack (no allocation the
 * size of the file): hex gets 32 lowercase hex digits and a NUL. What makes
 * two copies of a dataset the same data (bindings/lua/wb/identity.lua):
 * every byte counts, one edited pixel included. WB_ENOENT naming path when
 * it cannot be opened, WB_EIO naming path and the offset when a read fails
 * (a folder: "Is a directory"), WB_ENOMEM if the hash state cannot be
 * allocated; hex is then untouched. */
#define WB_HASH_HEX 33
wb_status wb_hash_file(const char *path, char hex[WB_HASH_HEX], wb_err *err);
/* The same hash of n bytes at p (a record's text: its checksum). */
void wb_hash_bytes(const void *p, size_t n, char hex[WB_HASH_HEX]);
/* The checksum `cksum` (POSIX) gives the file at path: its CRC-32 and its
 * size in bytes. The Makefile compiles the cksum of every source file of
 * WB_CORE_ID into the binary, and the runner compares them with the files
 * on disk (a binary built from other sources than its tree holds: a record
 * would name the tree's commit beside numbers of other code). WB_ENOENT
 * naming path when it cannot be opened, WB_EIO when a read fails; *crc and
 * *size are then untouched. */
wb_status wb_cksum_file(const char *path, uint32_t *crc, uint64_t *size, wb_err *err);

#endif
