/* png.c - PNG load (any format -> grey float) and save (8-bit grey/RGB).
 *
 * See png.h for the conventions. How libpng's longjmp is contained: each
 * direction has one context struct (reader / writer) that lives in the
 * public function's frame and owns everything (png structs, FILE, row
 * buffers, the output tensor). A small `*_run` function does the setjmp and
 * all libpng calls, storing every allocation in the context before using
 * it; the public function then frees the context on both paths. So no
 * automatic variable of the setjmp frame is read after a longjmp, and no
 * error escapes this file. libpng's error handler copies its message into
 * the context; the warning handler keeps the last warning and prints
 * nothing.
 */
#include "png.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fsutil.h"
#include "infile.h"

#define MSG WB_ERR_MSG

/* What libpng's handlers fill: its error text and its last warning. */
typedef struct pngmsg {
    char err[MSG];
    char warn[MSG];
} pngmsg;

/* ---------------------------------------------------------------- load */

typedef struct reader {
    const char *name;            /* for messages */
    FILE *fp;                    /* the file, or memory as a file (infile.h) */
    uint64_t size;               /* bytes in it */
    size_t pos;                  /* bytes delivered so far */
    unsigned char head[24];      /* signature + IHDR length/type/w/h */
    int eof;                     /* input ended inside a read */
    int ioerr;                   /* errno of a failed read, else 0 */
    int oom;                     /* an allocation by libpng failed */
    wb_status code;              /* set by us for our own failures */
    pngmsg m;                    /* libpng's words, or ours with code */
    png_structp png;
    png_infop info;
    unsigned char *pixels;       /* rows (1 row, or all when interlaced) */
    png_bytep *ptrs;             /* row pointers when interlaced */
    wb_tensor *out;              /* [h, w] float32 */
} reader;

/* Read up to n bytes from the source; records the first 24 bytes. */
static size_t src_read(reader *r, unsigned char *dst, size_t n)
{
    size_t got = fread(dst, 1, n, r->fp);
    if (got < n && ferror(r->fp))
        r->ioerr = errno ? errno : EIO;
    for (size_t i = 0; i < got && r->pos + i < sizeof r->head; i++)
        r->head[r->pos + i] = dst[i];
    r->pos += got;
    if (got < n && !r->ioerr)
        r->eof = 1;
    return got;
}

static void read_cb(png_structp png, png_bytep data, size_t length)
{
    reader *r = png_get_io_ptr(png);
    if (src_read(r, data, length) < length)
        png_error(png, "Read Error");
}

/* libpng's allocator: malloc, noting a failure so that read_fail tells
 * out-of-memory from a bad file by value (libpng says it only in words). */
static png_voidp alloc_cb(png_structp png, png_alloc_size_t n)
{
    void *p = malloc(n);
    if (!p)
        *(int *)png_get_mem_ptr(png) = 1;
    return p;
}

static void free_cb(png_structp png, png_voidp p)
{
    (void)png;
    free(p);
}

static void error_cb(png_structp png, png_const_charp msg)
{
    pngmsg *m = png_get_error_ptr(png);
    snprintf(m->err, MSG, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void warn_cb(png_structp png, png_const_charp msg)
{
    pngmsg *m = png_get_error_ptr(png);
    snprintf(m->warn, MSG, "%s", msg ? msg : "");
}

/* One row after png_set_expand: 1..4 channels of 8 or 16 bits -> grey.
 * Y = 0.299 R + 0.587 G + 0.114 B (BT.601); v = a Y + (1 - a) (over white). */
static void convert_row(float *dst /* [w] */, const unsigned char *src,
                        size_t w, int channels, int depth)
{
    const double scale = depth == 16 ? 1.0 / 65535.0 : 1.0 / 255.0;
    double s[4] = {0, 0, 0, 1};
    for (size_t x = 0; x < w; x++) {
        for (int c = 0; c < channels; c++) {
            size_t i = x * (size_t)channels + (size_t)c;
            unsigned v = depth == 16 ? (unsigned)src[2 * i] << 8 | src[2 * i + 1]
                                     : src[i];
            s[c] = v * scale;
        }
        double y, a = 1.0;
        if (channels <= 2) {
            y = s[0];
            if (channels == 2)
                a = s[1];
        } else {
            y = 0.299 * s[0] + 0.587 * s[1] + 0.114 * s[2];
            if (channels == 4)
                a = s[3];
        }
        double v = a * y + (1.0 - a);
        dst[x] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
}

/* The setjmp frame. Returns 0 on success; on failure r->m.err (and r->code
 * for our own failures) says why. */
static int read_run(reader *r)
{
    png_structp png = r->png;
    png_infop info = r->info;
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_read_fn(png, r, read_cb);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, WB_PNG_MAX_SIDE, WB_PNG_MAX_SIDE);
    png_set_chunk_malloc_max(png, WB_PNG_MAX_CHUNK);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);

    size_t w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w * h > WB_PNG_MAX_PIXELS) { /* both <= 16384: no overflow */
        r->code = WB_EFORMAT;
        return -1; /* message composed from the header by the caller */
    }
    /* The filtered rows inflate from the IDAT stream, and deflate expands
     * at most 1032:1: a header declaring more than the file can hold is
     * refused before the output and row buffers are allocated. */
    uint64_t need = (uint64_t)h * ((uint64_t)png_get_rowbytes(png, info) + 1);
    if (r->size && need / 1032 > r->size) {
        r->code = WB_EFORMAT;
        snprintf(r->m.err, MSG, "header declares %zux%zu (%llu bytes of image data), "
                 "more than a %llu-byte file can hold (deflate expands at most 1032:1)",
                 w, h, (unsigned long long)need, (unsigned long long)r->size);
        return -1;
    }
    png_set_expand(png); /* palette -> RGB, grey < 8 bit -> 8, tRNS -> alpha */
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((depth != 8 && depth != 16) || channels < 1 || channels > 4 ||
        rowbytes != w * (size_t)channels * (size_t)depth / 8) {
        r->code = WB_EFORMAT;
        snprintf(r->m.err, MSG, "unsupported layout after expansion "
                 "(%d channels, %d bits)", channels, depth);
        return -1;
    }

    wb_err e;
    r->out = wb_tensor_new(WB_F32, 2, (int64_t[]){(int64_t)h, (int64_t)w}, &e);
    size_t nrows = passes > 1 ? h : 1;
    if (r->out)
        r->pixels = wb_malloc(nrows * rowbytes);
    if (r->pixels && passes > 1)
        r->ptrs = wb_malloc(h * sizeof *r->ptrs);
    if (!r->out || !r->pixels || (passes > 1 && !r->ptrs)) {
        r->code = r->out ? WB_ENOMEM : e.code;
        snprintf(r->m.err, MSG, "%s", r->out ? "out of memory for pixel rows"
                                          : e.msg);
        return -1;
    }
    float *dst = wb_tensor_f32(r->out);
    if (passes > 1) { /* Adam7: every pass touches every row */
        for (size_t y = 0; y < h; y++)
            r->ptrs[y] = r->pixels + y * rowbytes;
        png_read_image(png, r->ptrs);
        for (size_t y = 0; y < h; y++)
            convert_row(dst + y * w, r->ptrs[y], w, channels, depth);
    } else {
        for (size_t y = 0; y < h; y++) {
            png_read_row(png, r->pixels, NULL);
            convert_row(dst + y * w, r->pixels, w, channels, depth);
        }
    }
    png_read_end(png, NULL); /* checks the trailing chunks and IEND */
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Turn a failed read_run into err. A header over the size limit is the
 * file's fault, as any other bad header: WB_EFORMAT (exit 65), not
 * WB_ERANGE, which is for a caller's argument out of range. */
static wb_status read_fail(reader *r, wb_err *err)
{
    const char *n = r->name;
    if (r->pos >= 24 && memcmp(r->head + 12, "IHDR", 4) == 0) {
        uint64_t w = be32(r->head + 16), h = be32(r->head + 20);
        /* which limit: "16384x16384 exceeds the limit of 16384x16384 / 64
         * Mpixels" read as a contradiction (audit D6) */
        if (w > WB_PNG_MAX_SIDE || h > WB_PNG_MAX_SIDE)
            return wb_err_set(err, WB_EFORMAT, "%s: %llux%llu exceeds the limit of %d "
                              "pixels per side (and %zu Mpixels in all)", n,
                              (unsigned long long)w, (unsigned long long)h,
                              WB_PNG_MAX_SIDE, WB_PNG_MAX_PIXELS >> 20);
        if (w * h > WB_PNG_MAX_PIXELS)
            return wb_err_set(err, WB_EFORMAT, "%s: %llux%llu exceeds the limit of %zu "
                              "Mpixels in all (it has %.1f)", n, (unsigned long long)w,
                              (unsigned long long)h, WB_PNG_MAX_PIXELS >> 20,
                              (double)(w * h) / (1 << 20));
    }
    if (r->code != WB_OK)
        return wb_err_set(err, r->code, "%s: %s", n, r->m.err);
    if (r->ioerr)
        return wb_err_set(err, WB_EIO, "%s: read error: %s (libpng: %s)", n,
                          strerror(r->ioerr), r->m.err);
    if (r->eof)
        return wb_err_set(err, WB_EFORMAT, "%s: truncated: libpng: %s", n, r->m.err);
    if (r->oom)
        return wb_err_set(err, WB_ENOMEM, "%s: libpng: %s", n, r->m.err);
    if (strcmp(r->m.err, "Invalid IHDR data") == 0 && r->m.warn[0])
        return wb_err_set(err, WB_EFORMAT, "%s: libpng: %s (%s)", n, r->m.err,
                          r->m.warn);
    return wb_err_set(err, WB_EFORMAT, "%s: libpng: %s", n, r->m.err);
}

/* Walk the chunk headers (length, type) after the signature, up to IEND,
 * and check each ancillary chunk's length against the bytes that remain
 * before libpng sees the data: libpng 1.6.39 allocates a text chunk's
 * declared length (up to 2 GB) before reading it. Critical chunks (IHDR,
 * PLTE, IDAT, IEND) are read incrementally or have fixed limits, and a cut
 * in them is left to libpng ("truncated: libpng: Read Error"). Needs the
 * source size. Reads with pread: the stream position is not moved. 0, or -1 with r->m.err set. */
static int prescan(reader *r)
{
    uint64_t pos = 8, size = r->size;
    if (size == 0)
        return 0;
    while (size - pos >= 8) {
        unsigned char h[8];
        if (pread(fileno(r->fp), h, 8, (off_t)pos) != 8)
            return 0; /* let libpng meet (and report) the read error */
        uint64_t len = be32(h);
        int ancillary = h[4] & 0x20; /* lower-case first letter */
        if (ancillary && (len > size - pos - 8 || size - pos - 8 - len < 4)) {
            snprintf(r->m.err, MSG, "truncated: chunk '%c%c%c%c' at byte %llu declares "
                     "%llu data bytes, but only %llu bytes follow its header (with the "
                     "4-byte CRC)", isprint(h[4]) ? h[4] : '?', isprint(h[5]) ? h[5] : '?',
                     isprint(h[6]) ? h[6] : '?', isprint(h[7]) ? h[7] : '?',
                     (unsigned long long)pos, (unsigned long long)len,
                     (unsigned long long)(size - pos - 8));
            return -1;
        }
        if (memcmp(h + 4, "IEND", 4) == 0 || len + 12 > size - pos)
            return 0; /* the end, or a cut critical chunk (libpng's to report) */
        pos += 12 + len;
    }
    return 0; /* no IEND: libpng reports it */
}

/* Shared by load and decode: signature, libpng setup, run, cleanup. */
static wb_tensor *decode(reader *r, wb_err *err)
{
    unsigned char sig[8];
    size_t got = src_read(r, sig, 8);
    if (r->ioerr) {
        wb_err_set(err, WB_EIO, "%s: read error: %s", r->name, strerror(r->ioerr));
        return NULL;
    }
    if (got < 8 || png_sig_cmp(sig, 0, 8) != 0) {
        /* a photo renamed .png is the usual case: say what it is */
        int jpeg = got >= 3 && sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff;
        int gif = got >= 4 && memcmp(sig, "GIF8", 4) == 0;
        const char *is = got == 0 ? " (empty)"
                         : jpeg   ? " (a JPEG file: convert it to PNG)"
                         : gif    ? " (a GIF file: convert it to PNG)"
                                  : "";
        wb_err_set(err, WB_EFORMAT, "%s: not a PNG file%s", r->name, is);
        return NULL;
    }
    if (prescan(r) != 0) {
        wb_err_set(err, WB_EFORMAT, "%s: %s", r->name, r->m.err);
        return NULL;
    }
    r->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &r->m, error_cb, warn_cb,
                                       &r->oom, alloc_cb, free_cb);
    if (r->png)
        r->info = png_create_info_struct(r->png);
    if (!r->png || !r->info) {
        png_destroy_read_struct(r->png ? &r->png : NULL, NULL, NULL);
        wb_err_set(err, WB_ENOMEM, "%s: out of memory for libpng structs", r->name);
        return NULL;
    }
    int rc = read_run(r);
    png_destroy_read_struct(&r->png, &r->info, NULL);
    wb_free(r->ptrs);
    wb_free(r->pixels);
    if (rc != 0) {
        wb_tensor_free(r->out);
        read_fail(r, err);
        return NULL;
    }
    return r->out;
}

/* Decode from fd (owned: closed on every path). */
static wb_tensor *load_fd(int fd, uint64_t size, const char *name, wb_err *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.size = size;
    r.fp = fdopen(fd, "rb");
    if (!r.fp) {
        wb_err_set(err, WB_ENOMEM, "%s: cannot open a stream: %s", name, strerror(errno));
        close(fd);
        return NULL;
    }
    wb_tensor *t = decode(&r, err);
    fclose(r.fp);
    return t;
}

wb_tensor *wb_png_load(const char *path, wb_err *err)
{
    char shown[WB_ERR_PATH];
    uint64_t size;
    int fd = wb_infile_open(path, &size, err);
    return fd < 0 ? NULL : load_fd(fd, size, wb_err_path(shown, path), err);
}

wb_tensor *wb_png_decode(const void *buf, size_t n, const char *name,
                         wb_err *err)
{
    name = name ? name : "<memory>";
    int fd = wb_infile_mem(buf, n, name, err);
    return fd < 0 ? NULL : load_fd(fd, n, name, err);
}

/* ---------------------------------------------------------------- save */

typedef struct writer {
    const wb_tensor *t;
    wb_atomic *f;            /* the temporary file (core/fsutil.h) */
    wb_err werr;             /* why a write failed */
    int failed;
    int oom;                 /* an allocation by libpng failed */
    pngmsg m;
    png_structp png;
    png_infop info;
    unsigned char *row;      /* [w * channels] */
} writer;

static void write_cb(png_structp png, png_bytep data, size_t length)
{
    writer *w = png_get_io_ptr(png);
    if (wb_atomic_write(w->f, data, length, &w->werr) != WB_OK) {
        w->failed = 1;
        png_error(png, "Write Error");
    }
}

static void flush_cb(png_structp png)
{
    (void)png; /* unbuffered writes; wb_atomic_commit fsyncs */
}

static unsigned char to_byte(const wb_tensor *t, size_t i)
{
    if (t->dtype == WB_U8)
        return wb_tensor_u8(t)[i];
    double v = wb_tensor_f32(t)[i]; /* in [0, 1]: save_check */
    return (unsigned char)floor(v * 255.0 + 0.5); /* round(v * 255) */
}

static int write_run(writer *w)
{
    png_structp png = w->png;
    const wb_tensor *t = w->t;
    size_t h = (size_t)t->shape[0], wd = (size_t)t->shape[1];
    size_t ch = t->ndim == 3 ? (size_t)t->shape[2] : 1;
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_write_fn(png, w, write_cb, flush_cb);
    png_set_IHDR(png, w->info, (png_uint_32)wd, (png_uint_32)h, 8,
                 ch == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, w->info);
    for (size_t y = 0; y < h; y++) {
        for (size_t i = 0; i < wd * ch; i++)
            w->row[i] = to_byte(t, y * wd * ch + i);
        png_write_row(png, w->row);
    }
    png_write_end(png, NULL);
    return 0;
}

/* Element i of float32 image t (shape string s) is NaN, infinite or outside
 * [0, 1]: the error names it by its 1-based row, column (and channel) and
 * value. Clamping it instead would write a picture that is not the data. */
static wb_status out_of_range(const wb_tensor *t, const char *s, size_t i,
                              const char *path, wb_err *err)
{
    float v = wb_tensor_f32(t)[i];
    size_t ch = t->ndim == 3 ? (size_t)t->shape[2] : 1;
    size_t wd = (size_t)t->shape[1];
    char at[96];
    if (ch > 1)
        snprintf(at, sizeof at, "row %zu, column %zu, channel %zu", i / ch / wd + 1,
                 i / ch % wd + 1, i % ch + 1);
    else
        snprintf(at, sizeof at, "row %zu, column %zu", i / ch / wd + 1, i / ch % wd + 1);
    if (isnan(v) || isinf(v))
        return wb_err_set(err, WB_ENONFINITE, "%s: element %zu of %s (%s) is %s, "
                          "expected values in [0, 1]", path, i + 1, s, at,
                          isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf");
    return wb_err_set(err, WB_ERANGE, "%s: element %zu of %s (%s) is %.9g, expected "
                      "values in [0, 1]%s", path, i + 1, s, at, (double)v,
                      v > 1 ? " (data in 0..255: divide it by 255 first)" : "");
}

/* path ends in ".png", any case: a PNG under another name (x.jpg) would be
 * read by other programs as what its name says, and fail there. */
static int png_name(const char *path)
{
    size_t n = strlen(path);
    if (n < 4)
        return 0;
    const char *e = path + n - 4;
    return e[0] == '.' && tolower((unsigned char)e[1]) == 'p' &&
           tolower((unsigned char)e[2]) == 'n' && tolower((unsigned char)e[3]) == 'g';
}

/* Check t and path before touching the file system. */
static wb_status save_check(const wb_tensor *t, const char *path, wb_err *err)
{
    char s[WB_SHAPE_STR_MAX];
    wb_shape_str(s, sizeof s, t->ndim, t->shape);
    if (!png_name(path))
        return wb_err_set(err, WB_EINVAL, "%s: expected a file name ending in .png "
                          "(wb.image.save writes PNG files only)", path);
    int ok = (t->dtype == WB_F32 || t->dtype == WB_U8) &&
             (t->ndim == 2 || (t->ndim == 3 && (t->shape[2] == 1 || t->shape[2] == 3)));
    if (!ok)
        return wb_err_set(err, WB_ESHAPE, "%s: expected a float32 or uint8 "
                          "[h, w], [h, w, 1] or [h, w, 3] image, got %s %s",
                          path, wb_dtype_name(t->dtype), s);
    if (t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > WB_PNG_MAX_SIDE ||
        t->shape[1] > WB_PNG_MAX_SIDE)
        return wb_err_set(err, WB_ERANGE, "%s: image %s: each side must be 1 "
                          "to %d", path, s, WB_PNG_MAX_SIDE);
    if (t->dtype == WB_F32) {
        const float *p = wb_tensor_f32(t);
        size_t n = wb_tensor_numel(t);
        for (size_t i = 0; i < n; i++)
            if (!(p[i] >= 0.0f && p[i] <= 1.0f)) /* NaN fails both */
                return out_of_range(t, s, i, path, err);
    }
    return WB_OK;
}

/* Write the PNG into the open temporary file; returns status. */
static wb_status save_into(writer *w, const char *path, wb_err *err)
{
    w->png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &w->m, error_cb, warn_cb,
                                        &w->oom, alloc_cb, free_cb);
    if (w->png)
        w->info = png_create_info_struct(w->png);
    size_t ch = w->t->ndim == 3 ? (size_t)w->t->shape[2] : 1;
    if (w->info)
        w->row = wb_malloc((size_t)w->t->shape[1] * ch);
    wb_status st = WB_OK;
    if (!w->png || !w->info || !w->row)
        st = wb_err_set(err, WB_ENOMEM, "%s: out of memory for the PNG writer",
                        path);
    else if (write_run(w) != 0)
        st = w->failed ? wb_err_set(err, w->werr.code, "%s", w->werr.msg)
                       : wb_err_set(err, w->oom ? WB_ENOMEM : WB_EFORMAT,
                                    "%s: libpng: %s", path, w->m.err);
    png_destroy_write_struct(w->png ? &w->png : NULL, w->info ? &w->info : NULL);
    wb_free(w->row);
    return st;
}

wb_status wb_png_save(const wb_tensor *t, const char *path, wb_err *err)
{
    wb_err local;
    err = err ? err : &local;
    wb_status st = save_check(t, path, err);
    if (st != WB_OK)
        return st;
    writer w;
    memset(&w, 0, sizeof w);
    w.t = t;
    w.f = wb_atomic_new(path, err);
    if (!w.f)
        return err->code;
    st = save_into(&w, path, err);
    if (st != WB_OK) {
        wb_atomic_free(w.f); /* removes the temporary file */
        return st;
    }
    return wb_atomic_commit(w.f, err);
}
