/* test_idx_endian.c - an IDX file whose sizes were written little-endian
 * (struct.pack("<I") where IDX wants ">I", a common mistake when writing IDX
 * by hand) is named as such when the swapped sizes fit the file exactly,
 * raw or gzipped, instead of "truncated ... expected 0" (tryF section 7).
 * A file that is merely cut short keeps its "truncated" message, and a
 * header whose size overflows expects no number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "../../core/idx.h"
#include "harness.h"

#define HINT "written little-endian? (IDX sizes are big-endian)"

/* An IDX ubyte file of nd sizes dims (written little-endian when le) and
 * `extra` more data bytes than they declare: its bytes in buf, its length
 * returned. */
static size_t make_idx(unsigned char *buf, int nd, const uint32_t *dims, int le, long extra)
{
    size_t n = 4, numel = 1;
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (unsigned char)nd;
    for (int i = 0; i < nd; i++, n += 4) {
        for (int b = 0; b < 4; b++)
            buf[n + (size_t)b] = (unsigned char)(dims[i] >> (le ? 8 * b : 24 - 8 * b));
        numel *= dims[i];
    }
    for (size_t i = 0; i < numel + (size_t)extra; i++)
        buf[n + i] = (unsigned char)(i * 7);
    return n + numel + (size_t)extra;
}

/* in (n bytes) gzip-compressed into out (cap bytes): the compressed length, 0 on failure. */
static size_t gzip_bytes(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    size_t got = z.total_out;
    deflateEnd(&z);
    return r == Z_STREAM_END ? got : 0;
}

/* The message of loading buf (n bytes) as `name`, which must fail with WB_EFORMAT. */
static const char *fails(const unsigned char *buf, size_t n, const char *name, wb_err *err)
{
    wb_tensor *t = wb_idx_decode(buf, n, name, err);
    if (t) {
        wb_tensor_free(t);
        return "(loaded)";
    }
    return err->code == WB_EFORMAT ? err->msg : "(another status)";
}

static unsigned char raw[80000], gz[80000];

static void test_little_endian_sizes_named(void)
{
    const uint32_t dims[3] = {10, 28, 28};
    wb_err err;
    size_t n = make_idx(raw, 3, dims, 1, 0);
    const char *m = fails(raw, n, "le.idx", &err);
    CHECK(strstr(m, "le.idx: header declares [167772160, 469762048, 469762048], which does "
                 "not fit the file (7856 bytes); read little-endian, its sizes [10, 28, 28] "
                 "fit it exactly: " HINT), "%s", m);
    CHECK(!strstr(m, "expected 0") && !strstr(m, "truncated"), "%s", m);
    size_t g = gzip_bytes(raw, n, gz, sizeof gz);
    REQUIRE(g > 0, "gzip failed");
    m = fails(gz, g, "le.idx.gz", &err);
    CHECK(strstr(m, "(7856 bytes after gunzip); read little-endian, its sizes [10, 28, 28] "
                 "fit it exactly: " HINT), "%s", m);
}

/* 65536 written little-endian reads 256: the file has more bytes than declared. */
static void test_little_endian_smaller_named(void)
{
    const uint32_t dims[1] = {65536};
    wb_err err;
    size_t n = make_idx(raw, 1, dims, 1, 0);
    const char *m = fails(raw, n, "le1.idx", &err);
    CHECK(strstr(m, "header declares [256], which does not fit the file (65544 bytes); read "
                 "little-endian, its sizes [65536] fit it exactly: " HINT), "%s", m);
    size_t g = gzip_bytes(raw, n, gz, sizeof gz);
    REQUIRE(g > 0, "gzip failed");
    m = fails(gz, g, "le1.idx.gz", &err);
    CHECK(strstr(m, "its sizes [65536] fit it exactly: " HINT), "%s", m);
}

/* Swapped sizes that do not fit either: no hint, the usual messages. */
static void test_no_hint_when_swapped_misfit(void)
{
    const uint32_t dims[3] = {10, 28, 28};
    wb_err err;
    size_t n = make_idx(raw, 3, dims, 0, -5);
    const char *m = fails(raw, n, "cut.idx", &err);
    CHECK(strstr(m, "cut.idx: truncated: header declares [10, 28, 28] (7840 data bytes) but "
                 "the file has 7851 bytes, expected 7856"), "%s", m);
    n = make_idx(raw, 3, dims, 1, 1); /* little-endian and a byte too many */
    m = fails(raw, n, "le_extra.idx", &err);
    CHECK(!strstr(m, "little-endian") && strstr(m, "truncated"), "%s", m);
    /* sizes beyond any file: all bytes ff, little-endian or not */
    memset(raw + 4, 0xff, 12);
    m = fails(raw, 16 + 8, "huge.idx", &err);
    CHECK(strstr(m, "huge.idx: truncated: header declares [4294967295, 4294967295, "
                 "4294967295] (more than 2305843009213693951 data bytes) but the file has 24 "
                 "bytes"), "%s", m);
    CHECK(!strstr(m, "expected 0") && !strstr(m, "little-endian"), "%s", m);
}

int main(void)
{
    RUN(test_little_endian_sizes_named);
    RUN(test_little_endian_smaller_named);
    RUN(test_no_hint_when_swapped_misfit);
    TH_EXIT();
}
