/* idx.c - IDX reader. See idx.h. Files and memory take one path: a
 * descriptor (infile.h) read through zlib's gzdopen. */
#include "idx.h"

#include <float.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "alloc.h"
#include "infile.h"

/* Largest expansion of a deflate stream: 1032:1 (zlib's technical notes). */
#define DEFLATE_MAX_RATIO 1032u

typedef struct src {
    gzFile gz;       /* reads both raw and gzip files transparently */
    int compressed;
    int fd;          /* gz's: pread (which moves no offset) finds a gzip file's end */
    uint64_t file_size;
} src;

static wb_status read_exact(src *s, void *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        unsigned chunk = n - done > (1u << 30) ? (1u << 30) : (unsigned)(n - done);
        int r = gzread(s->gz, (unsigned char *)buf + done, chunk);
        if (r < 0)
            return WB_EIO;
        if (r == 0) {
            int zerr = Z_OK;
            gzerror(s->gz, &zerr); /* gzread may end early without -1 (trailer cut off) */
            if (zerr != Z_OK)
                return WB_EIO;
            break;
        }
        done += (size_t)r;
    }
    *got = done;
    return done == n ? WB_OK : WB_EFORMAT;
}

/* Take fd (closed here on failure, by gzclose later on success): sniff the
 * gzip magic, then read through zlib, which passes raw files through. */
static wb_status open_src(int fd, uint64_t size, const char *name, src *s, wb_err *err)
{
    unsigned char magic[2] = {0, 0};
    ssize_t m = pread(fd, magic, 2, 0);
    s->compressed = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    s->fd = fd;
    s->file_size = size;
    s->gz = gzdopen(fd, "rb");
    if (!s->gz) {
        close(fd);
        return wb_err_set(err, WB_ENOMEM, "%s: out of memory opening the stream", name);
    }
    gzbuffer(s->gz, 1 << 17);
    return WB_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
    }
}

/* Convert n big-endian elements of `type` in raw to float in out. A float64
 * beyond float32's range would become inf without a word (wb.tensor{1e300}
 * refuses it): the first such element's index (0-based) is returned in
 * *bad, else n. */
static void to_float(float *out, const unsigned char *raw, size_t n, int type, size_t *bad)
{
    *bad = n;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = raw + i * (size_t)type_size(type);
        switch (type) {
        case 0x09: out[i] = (float)(int8_t)p[0]; break;
        case 0x0B: out[i] = (float)(int16_t)(p[0] << 8 | p[1]); break;
        case 0x0C: out[i] = (float)(int32_t)be32(p); break;
        case 0x0D: { uint32_t u = be32(p); float f; memcpy(&f, &u, 4); out[i] = f; break; }
        case 0x0E: {
            uint64_t u = (uint64_t)be32(p) << 32 | be32(p + 4);
            double d; memcpy(&d, &u, 8); out[i] = (float)d;
            if (*bad == n && wb_dtype_check_value(WB_F32, d, NULL) != WB_OK)
                *bad = i;
            break;
        }
        }
    }
}

/* "[i, j, ...]": the 1-based indices of flat element k of shape. */
static const char *index_str(char *s, size_t size, int nd, const int64_t *shape, size_t k)
{
    int64_t idx[WB_MAX_DIM];
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = (int64_t)(k % (size_t)shape[d]) + 1;
        k /= (size_t)shape[d];
    }
    return wb_shape_str(s, size, nd, idx);
}

/* The bytes of fd (size bytes) after its last gzip member, found by inflating every
 * member (pread: gz's offset stays); 0 when none or when it cannot tell (a read error: the
 * main read reports those). zlib's gzread takes a member followed by anything but another
 * member's magic as the end and drops the rest without a word (audit X16d), where a plain
 * IDX file with bytes after its data is refused. UINT64_MAX: out of memory. */
static uint64_t gz_trailing(int fd, uint64_t size)
{
    enum { BUF = 1 << 16 };
    unsigned char *in = wb_malloc(2 * BUF), *out = in + BUF;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!in || inflateInit2(&z, 15 + 16) != Z_OK) { /* gzip framing only */
        wb_free(in);
        return UINT64_MAX;
    }
    uint64_t off = 0, left = 0;
    for (;;) {
        if (z.avail_in < 2 && off < size) { /* refill, keeping a byte not yet read */
            memmove(in, z.next_in ? z.next_in : in, z.avail_in);
            ssize_t n = pread(fd, in + z.avail_in, BUF - z.avail_in, (off_t)off);
            if (n <= 0)
                break;
            off += (uint64_t)n;
            z.next_in = in;
            z.avail_in += (uInt)n;
        }
        z.next_out = out;
        z.avail_out = BUF;
        int r = inflate(&z, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            if (z.avail_in < 2 && off < size)
                continue; /* the next member's magic may be in the next read */
            if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
                inflateReset(&z); /* another member: zlib reads it as more data */
                continue;
            }
            left = z.avail_in + (size - off);
            break;
        }
        if (r != Z_OK || (z.avail_in == 0 && off >= size))
            break; /* corrupt or cut short: the main read said so */
    }
    inflateEnd(&z);
    wb_free(in);
    return left;
}

/* The trailing bytes of gzip source s whose decompressed content is head (n bytes) then
 * data (data_bytes): none when the file ends with the trailer of that content (CRC-32
 * and length, little-endian), as a single-member file does; else every member inflated. */
static uint64_t trailing_gz(src *s, const unsigned char *head, size_t n,
                            const unsigned char *data, uint64_t data_bytes)
{
    unsigned char tail[8];
    if (s->file_size >= 8 && pread(s->fd, tail, 8, (off_t)(s->file_size - 8)) == 8) {
        uLong crc = crc32(0L, head, (uInt)n);
        for (uint64_t done = 0; done < data_bytes;) {
            uInt chunk = data_bytes - done > (1u << 30) ? (1u << 30) : (uInt)(data_bytes - done);
            crc = crc32(crc, data + done, chunk);
            done += chunk;
        }
        uint32_t isize = (uint32_t)(n + data_bytes), c = (uint32_t)crc;
        unsigned char want[8] = {c, c >> 8, c >> 16, c >> 24,
                                 isize, isize >> 8, isize >> 16, isize >> 24};
        if (memcmp(tail, want, 8) == 0)
            return 0;
    }
    return gz_trailing(s->fd, s->file_size);
}

/* A gzip stream that zlib rejects (bad data, CRC or length, cut short). */
static wb_status corrupt_gz(src *s, const char *path, wb_err *err)
{
    int zerr;
    const char *zmsg = gzerror(s->gz, &zerr);
    const char *sep = zmsg && strncmp(zmsg, "<fd:", 4) == 0 ? strstr(zmsg, ">: ") : NULL;
    if (sep)
        zmsg = sep + 3; /* gzerror starts with gzdopen's name, "<fd:3>: " */
    return wb_err_set(err, WB_EFORMAT, "%s: corrupt gzip data: %s", path,
                      zmsg ? zmsg : "unknown zlib error");
}

/* The IDX content of a file that fails its size check, in bytes: the file's size for a raw
 * file; for a gzip file, its trailer's ISIZE (the uncompressed size modulo 2^32 of its
 * last member; mod32 set), 0 when it cannot be read. Only a hint is drawn from it. */
static uint64_t content_bytes(src *s, int *mod32)
{
    unsigned char t[4];
    *mod32 = s->compressed;
    if (!s->compressed)
        return s->file_size;
    if (s->file_size < 18 || pread(s->fd, t, 4, (off_t)(s->file_size - 4)) != 4)
        return 0;
    return (uint64_t)t[0] | (uint64_t)t[1] << 8 | (uint64_t)t[2] << 16 | (uint64_t)t[3] << 24;
}

/* Whether the nd sizes at dims, read little-endian, give IDX content of exactly `bytes`
 * bytes (modulo 2^32 when mod32) with elements of esize bytes: a header written with
 * struct.pack("<I") where IDX wants ">I" was "truncated ... expected 0". Those sizes go
 * to swapped. */
static int sizes_fit_swapped(const unsigned char *dims, int nd, int esize, uint64_t bytes,
                             int mod32, int64_t *swapped)
{
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        const unsigned char *p = dims + 4 * i;
        uint32_t v = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
        swapped[i] = v;
        if (v && numel > UINT64_MAX / v / 8)
            return 0;
        numel *= v;
    }
    uint64_t want = 4 + 4 * (uint64_t)nd + numel * (uint64_t)esize;
    return bytes && (mod32 ? (uint32_t)want == (uint32_t)bytes : want == bytes);
}

/* Sets err and returns 1 when sizes that do not fit s fit it read little-endian (see
 * sizes_fit_swapped); 0, err untouched, when they do not. */
static int little_endian_error(src *s, const char *path, const char *shp,
                                      const unsigned char *dims, int nd, int type,
                                      wb_err *err)
{
    int64_t swapped[WB_MAX_DIM];
    char sw[WB_SHAPE_STR_MAX];
    int mod32;
    uint64_t bytes = content_bytes(s, &mod32);
    if (!sizes_fit_swapped(dims, nd, type_size(type), bytes, mod32, swapped))
        return 0;
    wb_shape_str(sw, sizeof sw, nd, swapped);
    wb_err_set(err, WB_EFORMAT, "%s: header declares %s, which does not fit the file "
               "(%llu bytes%s); read little-endian, its sizes %s fit it exactly: written "
               "little-endian? (IDX sizes are big-endian)", path, shp,
               (unsigned long long)bytes, s->compressed ? " after gunzip" : "", sw);
    return 1;
}

static wb_tensor *load(const char *path, src *s, wb_err *err)
{
    unsigned char head[4];
    size_t got = 0;
    char shp[WB_SHAPE_STR_MAX];
    wb_status rs = read_exact(s, head, 4, &got);
    if (rs == WB_EIO)
        return corrupt_gz(s, path, err), NULL;
    if (rs != WB_OK)
        return wb_err_set(err, WB_EFORMAT, "%s: truncated header: %zu bytes, expected "
                          "at least 4%s", path, got, s->compressed ? " (after gunzip)" : ""),
               NULL;
    uint32_t magic = be32(head);
    int type = head[2], nd = head[3];
    /* "expected 0x000008NN" named ubyte's type only, though all six are read */
    if (head[0] || head[1] || !type_size(type))
        return wb_err_set(err, WB_EFORMAT, "%s: bad magic 0x%08x: %s (IDX: 0x0000TTNN, 2 "
                          "zero bytes, a type byte TT of 08 ubyte, 09 byte, 0B short, 0C int, "
                          "0D float, 0E double, and the dimension count NN)", path, magic,
                          head[0] || head[1] ? "expected 2 zero bytes first"
                                             : "the type byte is not an IDX type"), NULL;
    if (nd < 1 || nd > WB_MAX_DIM)
        return wb_err_set(err, WB_EFORMAT, "%s: %d dimensions, expected 1..%d", path, nd,
                          WB_MAX_DIM), NULL;
    unsigned char dims[4 * WB_MAX_DIM];
    rs = read_exact(s, dims, 4 * (size_t)nd, &got);
    if (rs == WB_EIO)
        return corrupt_gz(s, path, err), NULL;
    if (rs != WB_OK)
        return wb_err_set(err, WB_EFORMAT, "%s: truncated header: %zu bytes, expected %d",
                          path, 4 + got, 4 + 4 * nd), NULL;
    int64_t shape[WB_MAX_DIM];
    uint64_t numel = 1;
    int overflow = 0;
    for (int i = 0; i < nd; i++) {
        shape[i] = be32(dims + 4 * i);
        if (shape[i] && numel > UINT64_MAX / (uint64_t)shape[i] / 8)
            overflow = 1;
        else
            numel *= (uint64_t)shape[i];
    }
    wb_shape_str(shp, sizeof shp, nd, shape);
    uint64_t header = 4 + 4 * (uint64_t)nd;
    uint64_t data_bytes = overflow ? UINT64_MAX : numel * (uint64_t)type_size(type);
    int misfit = s->compressed ? overflow || data_bytes / DEFLATE_MAX_RATIO > s->file_size
                               : overflow || header + data_bytes != s->file_size;
    if (misfit && little_endian_error(s, path, shp, dims, nd, type, err))
        return NULL;
    if (!s->compressed && (overflow || header + data_bytes != s->file_size)) {
        if (overflow) /* the size has no number to expect */
            return wb_err_set(err, WB_EFORMAT, "%s: truncated: header declares %s (more "
                              "than %llu data bytes) but the file has %llu bytes", path, shp,
                              (unsigned long long)UINT64_MAX / 8,
                              (unsigned long long)s->file_size), NULL;
        if (header + data_bytes > s->file_size)
            return wb_err_set(err, WB_EFORMAT, "%s: truncated: header declares %s "
                              "(%llu data bytes) but the file has %llu bytes, expected %llu",
                              path, shp, (unsigned long long)data_bytes,
                              (unsigned long long)s->file_size,
                              (unsigned long long)(header + data_bytes)), NULL;
        return wb_err_set(err, WB_EFORMAT, "%s: %llu bytes of trailing data: header "
                          "declares %s, expected a file of %llu bytes, got %llu", path,
                          (unsigned long long)(s->file_size - header - data_bytes), shp,
                          (unsigned long long)(header + data_bytes),
                          (unsigned long long)s->file_size), NULL;
    }
    if (s->compressed && (overflow || data_bytes / DEFLATE_MAX_RATIO > s->file_size))
        return wb_err_set(err, WB_EFORMAT, "%s: header declares %s, more than %llu "
                          "compressed bytes can hold", path, shp,
                          (unsigned long long)s->file_size), NULL;
    wb_dtype dt = type == 0x08 ? WB_U8 : WB_F32;
    size_t n;
    if (wb_shape_numel(nd, shape, dt, &n, err) != WB_OK ||
        (type != 0x08 && data_bytes > WB_MAX_BYTES))
        return wb_err_prefix(err, "%s: ", path), NULL;
    wb_tensor *t = wb_tensor_new_raw(dt, nd, shape, err); /* read or converted whole */
    if (!t)
        return wb_err_prefix(err, "%s: ", path), NULL;
    unsigned char *raw = type == 0x08 ? wb_tensor_u8(t) : wb_malloc(data_bytes ? data_bytes : 1);
    if (!raw) {
        wb_tensor_free(t);
        return wb_err_set(err, WB_ENOMEM, "%s: out of memory for %llu bytes", path,
                          (unsigned long long)data_bytes), NULL;
    }
    wb_status st = read_exact(s, raw, (size_t)data_bytes, &got);
    unsigned char extra;
    size_t more = 0;
    if (st == WB_OK && s->compressed &&
        read_exact(s, &extra, 1, &more) == WB_EIO) /* the gzip trailer (CRC, size) */
        st = WB_EIO;
    uint64_t trail = 0;
    if (st == WB_OK && more == 0 && s->compressed) {
        unsigned char hd[4 + 4 * WB_MAX_DIM];
        memcpy(hd, head, 4);
        memcpy(hd + 4, dims, 4 * (size_t)nd);
        trail = trailing_gz(s, hd, (size_t)header, raw, data_bytes);
    }
    size_t bad = n;
    double badv = 0;
    if (st == WB_OK && more == 0 && type != 0x08)
        to_float(wb_tensor_f32(t), raw, n, type, &bad);
    if (bad < n) {
        uint64_t u = (uint64_t)be32(raw + 8 * bad) << 32 | be32(raw + 8 * bad + 4);
        memcpy(&badv, &u, 8);
    }
    if (type != 0x08)
        wb_free(raw);
    if (bad < n) {
        char pos[WB_SHAPE_STR_MAX];
        wb_tensor_free(t);
        return wb_err_set(err, WB_ERANGE, "%s: element %zu (%s) is %g, beyond float32's "
                          "range (+-%g): the workbench computes in float32", path, bad + 1,
                          index_str(pos, sizeof pos, nd, shape, bad), badv,
                          (double)FLT_MAX), NULL;
    }
    if (st == WB_EIO) {
        wb_tensor_free(t);
        return corrupt_gz(s, path, err), NULL;
    }
    if (trail == UINT64_MAX) {
        wb_tensor_free(t);
        return wb_err_set(err, WB_ENOMEM, "%s: out of memory for the gzip check", path), NULL;
    }
    if (trail) {
        wb_tensor_free(t);
        return wb_err_set(err, WB_EFORMAT, "%s: %llu bytes of trailing data after the gzip "
                          "data (header declares %s), expected the file to end there", path,
                          (unsigned long long)trail, shp), NULL;
    }
    if (st != WB_OK || more) {
        wb_tensor_free(t);
        if (little_endian_error(s, path, shp, dims, nd, type, err))
            return NULL;
        if (more)
            return wb_err_set(err, WB_EFORMAT, "%s: trailing data after the %llu bytes "
                              "declared by the header %s", path,
                              (unsigned long long)(header + data_bytes), shp), NULL;
        return wb_err_set(err, WB_EFORMAT, "%s: truncated: header declares %s, expected "
                          "%llu data bytes, got %zu%s", path, shp,
                          (unsigned long long)data_bytes, got,
                          s->compressed ? " (after gunzip)" : ""), NULL;
    }
    return t;
}

/* Read from fd (owned: closed on every path). */
static wb_tensor *load_fd(int fd, uint64_t size, const char *name, wb_err *err)
{
    src s = {0};
    if (open_src(fd, size, name, &s, err) != WB_OK)
        return NULL;
    wb_tensor *t = load(name, &s, err);
    gzclose(s.gz);
    return t;
}

wb_tensor *wb_idx_load(const char *path, wb_err *err)
{
    char shown[WB_ERR_PATH];
    uint64_t size;
    int fd = wb_infile_open(path, &size, err);
    return fd < 0 ? NULL : load_fd(fd, size, wb_err_path(shown, path), err);
}

wb_tensor *wb_idx_decode(const void *buf, size_t n, const char *name, wb_err *err)
{
    name = name ? name : "<memory>";
    int fd = wb_infile_mem(buf, n, name, err);
    return fd < 0 ? NULL : load_fd(fd, n, name, err);
}
