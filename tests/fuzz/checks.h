/* checks.h - the property each fuzz target checks, shared with the corpus
 * replay in `make test` (tests/c/test_corpus.c).
 *
 * fz_idx / fz_png / fz_ckpt feed n bytes to a parser's memory entry point
 * (wb_idx_decode, wb_png_decode, wb_safetensors_decode: each hands the bytes
 * to the file reader through a memfd, core/infile.h) and return 0 when
 * the result is clean, else fill why[] and return -1. Clean means:
 *   - success: the result is self-consistent (shape and element count,
 *     PNG values finite and in [0, 1], every checkpoint tensor readable);
 *   - failure: a status other than WB_OK, one line of message that starts
 *     with the name given to the parser;
 *   - either way: wb_alloc_live() is back to its value before the call.
 * Crashes, out-of-bounds reads and leaks are for the sanitizers to report.
 * Header-only: include it from exactly one .c file.
 */
#ifndef WB_FUZZ_CHECKS_H
#define WB_FUZZ_CHECKS_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../core/alloc.h"
#include "../../core/idx.h"
#include "../../core/png.h"
#include "../../core/safetensors.h"

#define FZ_NAME "fuzz-input"

static char fz_why[WB_ERR_MSG + 128];

static int fz_fail(const char *fmt, const char *a, long b)
{
    snprintf(fz_why, sizeof fz_why, fmt, a, b);
    return -1;
}

/* A failed call's error record: a code, one line, starting with the name. */
static int fz_check_err(const wb_err *err)
{
    if (err->code == WB_OK)
        return fz_fail("failure with status WB_OK: '%s'%ld", err->msg, 0);
    if (strncmp(err->msg, FZ_NAME ": ", strlen(FZ_NAME) + 2) != 0)
        return fz_fail("message does not start with the name: '%s' (status %ld)",
                       err->msg, (long)err->code);
    if (strchr(err->msg, '\n'))
        return fz_fail("message has more than one line: '%s'%ld", err->msg, 0);
    return 0;
}

static int fz_check_tensor(const wb_tensor *t, int want_f32_unit)
{
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return fz_fail("negative dimension%s %ld", "", (long)t->shape[d]);
        n *= (size_t)t->shape[d];
    }
    if (n * wb_dtype_size(t->dtype) > t->storage->nbytes)
        return fz_fail("tensor of %s%ld elements exceeds its storage", "", (long)n);
    volatile double sink = 0;
    for (size_t i = 0; i < n; i++) {
        double v = wb_tensor_get_flat(t, i); /* touches every element */
        if (want_f32_unit && !(v >= 0 && v <= 1))
            return fz_fail("pixel value out of [0, 1]%s at %ld", "", (long)i);
        sink += v;
    }
    (void)sink;
    return 0;
}

static int fz_idx(const unsigned char *data, size_t n)
{
    long live = wb_alloc_live();
    wb_err err;
    memset(&err, 0, sizeof err);
    wb_tensor *t = wb_idx_decode(data, n, FZ_NAME, &err);
    int rc = t ? fz_check_tensor(t, 0) : fz_check_err(&err);
    wb_tensor_free(t);
    if (rc == 0 && wb_alloc_live() != live)
        rc = fz_fail("leak: %s%ld allocations still live", "", wb_alloc_live() - live);
    return rc;
}

static int fz_png(const unsigned char *data, size_t n)
{
    long live = wb_alloc_live();
    wb_err err;
    memset(&err, 0, sizeof err);
    wb_tensor *t = wb_png_decode(data, n, FZ_NAME, &err);
    int rc = 0;
    if (t) {
        if (t->dtype != WB_F32 || t->ndim != 2 || t->shape[0] < 1 || t->shape[1] < 1)
            rc = fz_fail("decoded tensor is not float32 [h, w]%s%ld", "", 0);
        else
            rc = fz_check_tensor(t, 1);
    } else {
        rc = fz_check_err(&err);
    }
    wb_tensor_free(t);
    if (rc == 0 && wb_alloc_live() != live)
        rc = fz_fail("leak: %s%ld allocations still live", "", wb_alloc_live() - live);
    return rc;
}

/* fz_png on the input as given, then on a copy with the CRC of every whole
 * chunk recomputed (a random change then reaches libpng's decoding instead
 * of failing its CRC check). */
static int fz_png_both(const unsigned char *data, size_t n)
{
    if (fz_png(data, n) != 0)
        return -1;
    unsigned char *c = malloc(n ? n : 1);
    if (!c)
        abort();
    memcpy(c, data, n);
    size_t pos = 8;
    while (n >= pos + 12) {
        uint64_t len = (uint64_t)c[pos] << 24 | (uint64_t)c[pos + 1] << 16 |
                       (uint64_t)c[pos + 2] << 8 | c[pos + 3];
        if (len > n - pos - 12)
            break;
        uLong crc = crc32(0, c + pos + 4, (uInt)(4 + len));
        unsigned char *p = c + pos + 8 + len;
        p[0] = (unsigned char)(crc >> 24);
        p[1] = (unsigned char)(crc >> 16);
        p[2] = (unsigned char)(crc >> 8);
        p[3] = (unsigned char)crc;
        pos += 12 + (size_t)len;
    }
    int rc = fz_png(c, n);
    free(c);
    return rc;
}

static int fz_ckpt(const unsigned char *data, size_t n)
{
    long live = wb_alloc_live();
    wb_err err;
    memset(&err, 0, sizeof err);
    wb_safetensors *st = wb_safetensors_decode(data, n, FZ_NAME, &err);
    int rc = 0;
    if (st) {
        for (int i = 0; rc == 0 && i < wb_safetensors_count(st); i++) {
            const char *name = wb_safetensors_name(st, i);
            if (wb_safetensors_find(st, name) != i)
                rc = fz_fail("tensor '%s' is not found at its index %ld", name, i);
            else
                rc = fz_check_tensor(wb_safetensors_tensor(st, i), 0);
        }
        for (int i = 0; rc == 0 && i < wb_safetensors_meta_count(st); i++)
            if (!wb_safetensors_meta_key(st, i) || !wb_safetensors_meta_value(st, i))
                rc = fz_fail("metadata pair %s%ld is NULL", "", i);
    } else {
        rc = fz_check_err(&err);
    }
    wb_safetensors_free(st);
    if (rc == 0 && wb_alloc_live() != live)
        rc = fz_fail("leak: %s%ld allocations still live", "", wb_alloc_live() - live);
    return rc;
}

#endif
