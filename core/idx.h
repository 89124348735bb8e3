/* idx.h - reading IDX files (the MNIST format), raw or gzip-compressed.
 *
 * Layout: 2 zero bytes, a type byte (0x08 ubyte, 0x09 sbyte, 0x0B int16,
 * 0x0C int32, 0x0D float32, 0x0E float64), a dimension count, then one
 * big-endian uint32 per dimension, then the data, big-endian, row-major.
 * ubyte files load as uint8 tensors, every other type as float32.
 *
 * Every size is checked before anything is allocated: the declared element
 * count (overflow-safe) against the file length for raw files, and for
 * gzip files against the most a deflate stream of that length can expand
 * to (1032:1), and against WB_MAX_BYTES. Sizes that do not fit but would,
 * read little-endian, are named so (a hand-written header's usual mistake).
 * Only regular files are read (infile.h): anything else is WB_ENOENT at once.
 */
#ifndef WB_IDX_H
#define WB_IDX_H

#include "tensor.h"

/* Read the IDX file at path into a new tensor; NULL with err filled (the
 * message starts with the path) on failure. */
wb_tensor *wb_idx_load(const char *path, wb_err *err);

/* Same from n bytes in memory (raw or gzip); `name` (NULL: "<memory>")
 * starts error messages. Used by the fuzz harness and the corpus tests. */
wb_tensor *wb_idx_decode(const void *buf, size_t n, const char *name, wb_err *err);

#endif
