/* png.h - PNG files in and out of float32 tensors, through libpng.
 *
 * What it is: a loader that turns ANY PNG (grey, grey+alpha, RGB, RGBA,
 * palette with or without tRNS, 1/2/4/8/16-bit, interlaced or not) into one
 * grey float32 [h, w] tensor in [0, 1], and a writer for 8-bit grey or RGB.
 * What it is not: a colour-managed decoder. gAMA, cHRM, sRGB and iCCP are
 * ignored: samples are taken as stored (sample / (2^depth - 1)).
 *
 * Conventions of the loader:
 * - Colour to grey with the ITU-R BT.601 luma, computed here (not libpng's
 *   rgb_to_gray): Y = 0.299 R + 0.587 G + 0.114 B on the stored values.
 * - Alpha (an alpha channel, or tRNS turned into alpha) is composited over
 *   WHITE: v = a * Y + (1 - a) * 1, so a transparent background reads as
 *   paper, which is what a drawn digit means.
 * - 16-bit samples are kept at 16 bits and scaled by 1/65535.
 * - Size limit, checked BEFORE any pixel buffer is allocated (decompression
 *   bombs): each side at most WB_PNG_MAX_SIDE and at most WB_PNG_MAX_PIXELS
 *   pixels in all; libpng's own chunk allocations are capped at
 *   WB_PNG_MAX_CHUNK bytes (zTXt/iCCP bombs). And the declared image data
 *   (rows plus filter bytes) must fit in what the file's bytes can inflate
 *   to (deflate expands at most 1032:1): a 100-byte file cannot make the
 *   loader allocate a 256 MB image. Every ancillary chunk's length is
 *   checked against the bytes that follow it before libpng reads the file
 *   (libpng itself allocates a text chunk's declared length, up to 2 GB).
 *
 * Errors name the file and keep libpng's own words, for example
 *   "digit.png: not a PNG file"
 *   "x.png: truncated: libpng: Read Error"
 *   "x.png: 100000x100000 exceeds the limit of 16384 pixels per side (and 64
 *   Mpixels in all)"
 *   "x.png: libpng: IDAT: CRC error"
 * libpng's setjmp/longjmp never leaves png.c; warnings are dropped (the last
 * one decorates an "Invalid IHDR data" error, where it says what is wrong).
 */
#ifndef WB_PNG_H
#define WB_PNG_H

#include <stddef.h>

#include "err.h"
#include "tensor.h"

#define WB_PNG_MAX_SIDE 16384
#define WB_PNG_MAX_PIXELS ((size_t)64 << 20)  /* 64 Mpixels */
#define WB_PNG_MAX_CHUNK ((size_t)8 << 20)    /* 8 MiB per ancillary chunk */

/* Load the PNG at path as a new float32 [h, w] tensor in [0, 1] (see the
 * conventions above). Returns NULL and fills err on failure: WB_ENOENT when
 * the file cannot be opened (path and strerror) or is not a regular file
 * (refused at once, infile.h), WB_EFORMAT for a malformed or truncated
 * file or one whose header declares an image over the size limit (naming
 * the declared size), WB_ENOMEM, WB_EIO for a read error. Nothing is leaked
 * on any path. */
wb_tensor *wb_png_load(const char *path, wb_err *err);

/* Same, from a memory buffer of n bytes; `name` (may be NULL: "<memory>")
 * prefixes error messages. Used by the fuzz harness and the tests. */
wb_tensor *wb_png_decode(const void *buf, size_t n, const char *name,
                         wb_err *err);

/* Write t as an 8-bit PNG at path. t: float32 [h, w] or [h, w, 1] (grey) or
 * [h, w, 3] (RGB), values in [0, 1] (written as round(v * 255)); or
 * uint8 of the same shapes, written as is. A NaN or an infinity is
 * WB_ENONFINITE, a value outside [0, 1] WB_ERANGE (both naming the first
 * one's 1-based position and value: clamping would write a picture that is
 * not the data). A path not ending in .png (any case) is WB_EINVAL. The
 * file is written atomically with
 * core/fsutil's wb_atomic: a temporary file in the same folder, fsync,
 * rename, folder fsync; on failure the temporary file is removed and an
 * existing file at path is untouched. New files get 0666 minus the umask.
 * Each side must be at most WB_PNG_MAX_SIDE (so it loads back). */
wb_status wb_png_save(const wb_tensor *t, const char *path, wb_err *err);

#endif
