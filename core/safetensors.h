/* safetensors.h - checkpoint files in the safetensors format.
 *
 * Layout (https://github.com/huggingface/safetensors, "format"):
 *   8 bytes   N, the header length, unsigned little-endian
 *   N bytes   a JSON object, padded with spaces to a multiple of 8:
 *             {"__metadata__": {"key": "value", ...},
 *              "layers.1.weight": {"dtype": "F32", "shape": [784, 128],
 *                                  "data_offsets": [begin, end]}, ...}
 *   the data  raw little-endian elements; offsets are relative to the byte
 *             after the header, tensors packed without gaps or overlaps.
 * Supported dtypes: F32 and U8 (the two dtypes of wb_tensor).
 *
 * The writer writes a temporary file in the destination folder, fsyncs it
 * and renames it over the destination: a crash never leaves half a file.
 * The reader checks every length against the file size before allocating
 * anything from it (header length, JSON syntax, dtype, shape, offsets) and
 * names the file and the problem with numbers. The JSON is libjansson's
 * (duplicate keys rejected, UTF-8 validated); the schema above is ours:
 * anything else in the header (an unknown field, a non-string metadata
 * value) is an error. What Python's safetensors writes loads, and Python's
 * json + struct read what we write.
 */
#ifndef WB_SAFETENSORS_H
#define WB_SAFETENSORS_H

#include <stdint.h>

#include "err.h"
#include "tensor.h"

/* Largest header we accept (the reference implementation's limit). */
#define WB_ST_MAX_HEADER ((uint64_t)100 << 20)

/* Write n tensors (names[i], tensors[i]; names unique and non-empty, not
 * "__metadata__") and n_meta metadata pairs (meta_keys[i], meta_vals[i],
 * any UTF-8 strings; may be 0/NULL) to path, atomically. Tensors are written
 * in the order given. Fails with WB_EINVAL on a bad name (or a string that
 * is not UTF-8), WB_EIO when the
 * folder is not writable, the disk is full or the rename fails (the
 * destination is then unchanged and no temporary file is left). */
wb_status wb_safetensors_save(const char *path, int n, const char *const *names,
                              const wb_tensor *const *tensors, int n_meta,
                              const char *const *meta_keys,
                              const char *const *meta_vals, wb_err *err);

/* A loaded file: tensor names in file (offset) order, owned tensors, and the
 * metadata pairs. */
typedef struct wb_safetensors wb_safetensors;

/* Read and validate path. Returns an owned object (free with
 * wb_safetensors_free) or NULL with err: WB_ENOENT (cannot open),
 * WB_EFORMAT (anything malformed; the message starts with the path), WB_EIO,
 * WB_ENOMEM. A FIFO, device or directory is WB_ENOENT at once (infile.h). */
wb_safetensors *wb_safetensors_load(const char *path, wb_err *err);
/* Same from n bytes in memory; `name` (NULL: "<memory>") starts error
 * messages. Used by the fuzz harness and the corpus tests. */
wb_safetensors *wb_safetensors_decode(const void *buf, size_t n, const char *name,
                                      wb_err *err);
void wb_safetensors_free(wb_safetensors *st); /* NULL-safe */

int wb_safetensors_count(const wb_safetensors *st);
/* Borrowed; i in 0 .. count-1. */
const char *wb_safetensors_name(const wb_safetensors *st, int i);
const wb_tensor *wb_safetensors_tensor(const wb_safetensors *st, int i);
/* Index of the tensor called name, or -1. */
int wb_safetensors_find(const wb_safetensors *st, const char *name);

int wb_safetensors_meta_count(const wb_safetensors *st);
const char *wb_safetensors_meta_key(const wb_safetensors *st, int i);
const char *wb_safetensors_meta_value(const wb_safetensors *st, int i);

#endif
