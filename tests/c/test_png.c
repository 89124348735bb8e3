/* test_png.c - core/png.c: every PNG format decodes to the grey it means,
 * malformed files give clear errors and leak nothing, save is atomic.
 *
 * The corpus is generated here with libpng (no fixture files): a 13x7 grey
 * pattern G (odd sizes, so Adam7 passes are partial) is encoded in every
 * colour type and bit depth, with and without interlace, and each decode
 * is compared with the grey values the file stands for.
 */
#include <dirent.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../../core/alloc.h"
#include "../../core/png.h"
#include "harness.h"

#define W 13
#define H 7
#define TOL 1e-6

static char tmpdir[256];

/* ------------------------------------------------------------ encoder */

typedef struct membuf {
    unsigned char *p;
    size_t n, cap;
} membuf;

static void mem_write(png_structp png, png_bytep d, size_t len)
{
    membuf *m = png_get_io_ptr(png);
    if (m->n + len > m->cap) {
        m->cap = (m->n + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->n, d, len);
    m->n += len;
}

static void mem_flush(png_structp png) { (void)png; }

typedef struct spec {
    int color, depth, interlace;
    const unsigned *samples;       /* [H * W * channels], 0 .. 2^depth - 1 */
    const png_color *pal;
    int npal;
    const unsigned char *trans;    /* palette alpha */
    int ntrans;
    const png_color_16 *trans_col; /* grey / RGB transparent colour */
} spec;

static int channels_of(int color)
{
    switch (color) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Encode s into a fresh membuf (free m.p). */
static membuf encode(const spec *s)
{
    membuf m = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, 0, 0, 0);
    png_infop info = png_create_info_struct(png);
    int ch = channels_of(s->color);
    size_t rowbytes = ((size_t)W * ch * s->depth + 7) / 8;
    unsigned char *pix = calloc(H, rowbytes);
    png_bytep rows[H];
    for (int y = 0; y < H; y++) {
        rows[y] = pix + y * rowbytes;
        for (int i = 0; i < W * ch; i++) {
            unsigned v = s->samples[y * W * ch + i];
            if (s->depth == 16) {
                rows[y][2 * i] = (unsigned char)(v >> 8);
                rows[y][2 * i + 1] = (unsigned char)v;
            } else if (s->depth == 8) {
                rows[y][i] = (unsigned char)v;
            } else {
                int bit = i * s->depth;
                rows[y][bit / 8] |= (unsigned char)(v << (8 - s->depth - bit % 8));
            }
        }
    }
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "test encoder failed\n");
        exit(2);
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, W, H, s->depth, s->color,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s->pal)
        png_set_PLTE(png, info, s->pal, s->npal);
    if (s->trans || s->trans_col)
        png_set_tRNS(png, info, s->trans, s->ntrans, s->trans_col);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(pix);
    return m;
}

/* Decode m and compare with expect [H * W]; reports the first mismatch. */
static void check_decode(const membuf *m, const float *expect, const char *what)
{
    long live = wb_alloc_live();
    wb_err err = {0};
    wb_tensor *t = wb_png_decode(m->p, m->n, what, &err);
    REQUIRE(t, "%s: %s", what, err.msg);
    CHECK(t->dtype == WB_F32 && t->ndim == 2 && t->shape[0] == H &&
          t->shape[1] == W, "%s: bad shape", what);
    const float *p = wb_tensor_f32(t);
    for (int i = 0; i < W * H; i++)
        if (fabs(p[i] - expect[i]) > TOL) {
            TH_FAIL("%s: pixel %d = %.9g, expected %.9g", what, i, p[i], expect[i]);
            break;
        }
    wb_tensor_free(t);
    CHECK(wb_alloc_live() == live, "%s: leaked %ld", what, wb_alloc_live() - live);
}

/* The reference pattern G in 0..255. */
static unsigned g8(int i) { return (unsigned)((i * 37 + (i / W) * 11) % 256); }

/* ------------------------------------------------------------ corpus */

static void test_grey_all_depths(void)
{
    static unsigned s[W * H];
    float expect[W * H];
    int depths[] = {1, 2, 4, 8, 16};
    for (int k = 0; k < 5; k++)
        for (int il = 0; il < 2; il++) {
            int d = depths[k];
            for (int i = 0; i < W * H; i++) {
                /* 16-bit: a low byte that 8 bits would lose */
                s[i] = d == 16 ? g8(i) * 256 + (unsigned)(i * 7 % 256)
                               : g8(i) >> (8 - d);
                expect[i] = (float)(s[i] / (double)((1u << d) - 1));
            }
            spec sp = {PNG_COLOR_TYPE_GRAY, d, il, s, 0, 0, 0, 0, 0};
            membuf m = encode(&sp);
            char what[64];
            snprintf(what, sizeof what, "grey%d%s", d, il ? "i" : "");
            check_decode(&m, expect, what);
            free(m.p);
        }
}

/* grey+alpha, RGB, RGBA at 8 and 16 bits, opaque and grey (r = g = b):
 * each must equal the grey file. */
static void test_colour_types_equal_grey(void)
{
    static unsigned s[W * H * 4];
    float expect[W * H];
    int types[] = {PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                   PNG_COLOR_TYPE_RGB_ALPHA};
    for (int i = 0; i < W * H; i++)
        expect[i] = (float)(g8(i) / 255.0);
    for (int k = 0; k < 3; k++)
        for (int d = 8; d <= 16; d += 8)
            for (int il = 0; il < 2; il++) {
                int ch = channels_of(types[k]);
                unsigned max = d == 16 ? 65535 : 255, mul = d == 16 ? 257 : 1;
                for (int i = 0; i < W * H; i++)
                    for (int c = 0; c < ch; c++)
                        s[i * ch + c] = (ch % 2 == 0 && c == ch - 1) ? max : g8(i) * mul;
                spec sp = {types[k], d, il, s, 0, 0, 0, 0, 0};
                membuf m = encode(&sp);
                char what[64];
                snprintf(what, sizeof what, "type%d/%d%s", types[k], d, il ? "i" : "");
                check_decode(&m, expect, what);
                free(m.p);
            }
}

/* Real colours: BT.601 luma; alpha composited over white. */
static void test_luma_and_alpha(void)
{
    static unsigned s[W * H * 4];
    float expect[W * H];
    for (int i = 0; i < W * H; i++) {
        unsigned r = g8(i), g = g8(i + 5), b = g8(i + 9), a = (unsigned)(i * 3 % 256);
        s[4 * i] = r, s[4 * i + 1] = g, s[4 * i + 2] = b, s[4 * i + 3] = a;
        double y = (0.299 * r + 0.587 * g + 0.114 * b) / 255.0, al = a / 255.0;
        expect[i] = (float)(al * y + (1 - al));
    }
    for (int il = 0; il < 2; il++) {
        spec sp = {PNG_COLOR_TYPE_RGB_ALPHA, 8, il, s, 0, 0, 0, 0, 0};
        membuf m = encode(&sp);
        check_decode(&m, expect, il ? "rgba-colour-i" : "rgba-colour");
        free(m.p);
    }
    /* pure red, green, blue, transparent black */
    unsigned px[4][4] = {{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255},
                         {0, 0, 0, 0}};
    double want[4] = {0.299, 0.587, 0.114, 1.0};
    for (int i = 0; i < W * H; i++) {
        memcpy(s + 4 * i, px[i % 4], sizeof px[0]);
        expect[i] = (float)want[i % 4];
    }
    spec sp = {PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, s, 0, 0, 0, 0, 0};
    membuf m = encode(&sp);
    check_decode(&m, expect, "rgb-primaries");
    free(m.p);
}

/* Palette of greys at 1/2/4/8 bits, with and without tRNS. */
static void test_palette(void)
{
    static unsigned s[W * H];
    float expect[W * H];
    png_color pal[256];
    unsigned char trans[256];
    int depths[] = {1, 2, 4, 8};
    for (int k = 0; k < 4; k++)
        for (int mode = 0; mode < 4; mode++) { /* bit0: tRNS, bit1: interlace */
            int d = depths[k], n = 1 << d;
            for (int j = 0; j < n; j++) {
                /* a reversed grey ramp, so index != value */
                unsigned char v = (unsigned char)(255 - j * 255 / (n - 1));
                pal[j].red = pal[j].green = pal[j].blue = v;
                trans[j] = (unsigned char)(j % 3 == 0 ? 0 : j % 3 == 1 ? 255 : 128);
            }
            for (int i = 0; i < W * H; i++) {
                s[i] = g8(i) % (unsigned)n;
                double v = pal[s[i]].red / 255.0, a = (mode & 1) ? trans[s[i]] / 255.0 : 1;
                expect[i] = (float)(a * v + (1 - a));
            }
            spec sp = {PNG_COLOR_TYPE_PALETTE, d, mode >> 1, s, pal, n,
                       (mode & 1) ? trans : NULL, (mode & 1) ? n : 0, 0};
            membuf m = encode(&sp);
            char what[64];
            snprintf(what, sizeof what, "palette%d%s%s", d, mode & 1 ? "+tRNS" : "",
                     mode & 2 ? "i" : "");
            check_decode(&m, expect, what);
            free(m.p);
        }
}

/* tRNS on grey and RGB: one colour is transparent, so it reads as white. */
static void test_trns_colour(void)
{
    static unsigned s[W * H * 3];
    float expect[W * H];
    for (int d = 8; d <= 16; d += 8) {
        unsigned mul = d == 16 ? 257 : 1;
        png_color_16 tc = {0, (png_uint_16)(37 * mul), (png_uint_16)(37 * mul),
                           (png_uint_16)(37 * mul), (png_uint_16)(37 * mul)};
        for (int i = 0; i < W * H; i++) {
            unsigned v = i % 5 == 0 ? 37 : g8(i) == 37 ? 38 : g8(i);
            s[i] = v * mul;
            expect[i] = v == 37 ? 1.0f : (float)(v / 255.0);
        }
        spec sg = {PNG_COLOR_TYPE_GRAY, d, 0, s, 0, 0, 0, 0, &tc};
        membuf m = encode(&sg);
        check_decode(&m, expect, d == 16 ? "grey16+tRNS" : "grey8+tRNS");
        free(m.p);
        for (int i = W * H - 1; i >= 0; i--)
            s[3 * i] = s[3 * i + 1] = s[3 * i + 2] = s[i];
        spec sr = {PNG_COLOR_TYPE_RGB, d, 1, s, 0, 0, 0, 0, &tc};
        m = encode(&sr);
        check_decode(&m, expect, d == 16 ? "rgb16+tRNS" : "rgb8+tRNS");
        free(m.p);
    }
}

/* ------------------------------------------------------------ malformed */

static membuf grey8_file(void)
{
    static unsigned s[W * H];
    for (int i = 0; i < W * H; i++)
        s[i] = g8(i);
    spec sp = {PNG_COLOR_TYPE_GRAY, 8, 0, s, 0, 0, 0, 0, 0};
    return encode(&sp);
}

/* Decode buf and check the status and that msg contains each needle. */
static void expect_error(const void *buf, size_t n, wb_status code,
                         const char *needle1, const char *needle2)
{
    long live = wb_alloc_live();
    wb_err err = {0};
    wb_tensor *t = wb_png_decode(buf, n, "x.png", &err);
    CHECK(!t, "decoded a bad file (%s)", needle1);
    wb_tensor_free(t);
    CHECK(err.code == code, "code %s, expected %s (%s)", wb_status_name(err.code),
          wb_status_name(code), err.msg);
    CHECK(strncmp(err.msg, "x.png: ", 7) == 0, "no file name in '%s'", err.msg);
    CHECK(strstr(err.msg, needle1), "'%s' lacks '%s'", err.msg, needle1);
    CHECK(!needle2 || strstr(err.msg, needle2), "'%s' lacks '%s'", err.msg, needle2);
    CHECK(wb_alloc_live() == live, "leaked %ld (%s)", wb_alloc_live() - live, err.msg);
}

/* Offset of chunk `type` (its length field) in a PNG buffer, or 0. */
static size_t find_chunk(const membuf *m, const char *type)
{
    for (size_t off = 8; off + 8 <= m->n;) {
        uint32_t len = (uint32_t)m->p[off] << 24 | (uint32_t)m->p[off + 1] << 16 |
                       (uint32_t)m->p[off + 2] << 8 | m->p[off + 3];
        if (memcmp(m->p + off + 4, type, 4) == 0)
            return off;
        off += 12 + len;
    }
    return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Rewrite IHDR width/height and fix its CRC. */
static void set_ihdr(membuf *m, uint32_t w, uint32_t h)
{
    put32(m->p + 16, w);
    put32(m->p + 20, h);
    put32(m->p + 29, (uint32_t)crc32(0, m->p + 12, 17));
}

static void test_not_png(void)
{
    const char text[] = "hello, this is text, not an image at all";
    expect_error(text, sizeof text, WB_EFORMAT, "x.png: not a PNG file", NULL);
    expect_error("", 0, WB_EFORMAT, "not a PNG file (empty)", NULL);
    membuf m = grey8_file();
    expect_error(m.p, 5, WB_EFORMAT, "not a PNG file", NULL);
    m.p[1] = 'Q';
    expect_error(m.p, m.n, WB_EFORMAT, "not a PNG file", NULL);
    free(m.p);
}

static void test_truncated(void)
{
    membuf m = grey8_file();
    size_t idat = find_chunk(&m, "IDAT"), iend = find_chunk(&m, "IEND");
    REQUIRE(idat && iend, "chunks not found");
    uint32_t idat_len = (uint32_t)(iend - idat - 12);
    size_t cuts[] = {8, 12, 20, 30, idat, idat + 8 + idat_len / 2,
                     idat + 8 + idat_len + 2, iend, iend + 8, m.n - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        th_failed_now = 0;
        expect_error(m.p, cuts[k], WB_EFORMAT, "x.png: truncated: libpng: Read Error",
                     NULL);
        if (th_failed_now) {
            char note[64];
            snprintf(note, sizeof note, " [cut at %zu of %zu]", cuts[k], m.n);
            strncat(th_msg, note, sizeof th_msg - strlen(th_msg) - 1);
            break;
        }
    }
    wb_err err = {0};
    wb_tensor *t = wb_png_decode(m.p, m.n, "x.png", &err);
    CHECK(t, "the whole file must decode: %s", err.msg);
    wb_tensor_free(t);
    free(m.p);
}

static void test_bad_crc(void)
{
    membuf m = grey8_file();
    m.p[29] ^= 0xff; /* IHDR CRC */
    expect_error(m.p, m.n, WB_EFORMAT, "libpng: IHDR: CRC error", NULL);
    m.p[29] ^= 0xff;
    size_t idat = find_chunk(&m, "IDAT"), iend = find_chunk(&m, "IEND");
    m.p[iend - 1] ^= 0x55; /* IDAT CRC (its last byte) */
    expect_error(m.p, m.n, WB_EFORMAT, "libpng: IDAT: CRC error", NULL);
    m.p[iend - 1] ^= 0x55;
    m.p[idat + 8 + 3] ^= 0x40; /* IDAT data: zlib or CRC, either is an error */
    expect_error(m.p, m.n, WB_EFORMAT, "x.png: libpng: ", NULL);
    free(m.p);
}

static void test_dimension_limits(void)
{
    membuf m = grey8_file();
    set_ihdr(&m, 100000, 100000);
    long count0 = (wb_alloc_fail_at(0, 0), wb_alloc_count());
    /* bad data (exit 65), not a bad argument: the file declares the size */
    expect_error(m.p, m.n, WB_EFORMAT,
                 "x.png: 100000x100000 exceeds the limit of 16384 pixels per side (and "
                 "64 Mpixels in all)",
                 NULL);
    CHECK(wb_alloc_count() == count0, "allocated %ld before refusing",
          wb_alloc_count() - count0);
    set_ihdr(&m, 10000, 10000); /* sides fit, 100 Mpixels do not */
    expect_error(m.p, m.n, WB_EFORMAT, "10000x10000 exceeds the limit of 64 Mpixels in "
                 "all (it has 95.4)", NULL);
    CHECK(wb_alloc_count() == count0, "allocated before refusing 10000x10000");
    set_ihdr(&m, 20000, 1);
    expect_error(m.p, m.n, WB_EFORMAT, "20000x1 exceeds", NULL);
    set_ihdr(&m, 0, H);
    expect_error(m.p, m.n, WB_EFORMAT, "libpng: Invalid IHDR data",
                 "width is zero");
    set_ihdr(&m, W, 0);
    expect_error(m.p, m.n, WB_EFORMAT, "Invalid IHDR data", "height is zero");
    set_ihdr(&m, W + 1, H); /* consistent header, too little data */
    expect_error(m.p, m.n, WB_EFORMAT, "x.png: libpng: ", NULL);
    free(m.p);
}

/* Every allocation of a load can fail: an error or a result, no leak. */
static void test_alloc_failures(void)
{
    static unsigned s[W * H];
    for (int i = 0; i < W * H; i++)
        s[i] = g8(i);
    spec sp = {PNG_COLOR_TYPE_GRAY, 8, 1, s, 0, 0, 0, 0, 0};
    membuf m = encode(&sp);
    long live = wb_alloc_live();
    int failures = 0;
    for (long k = 1; k <= 8; k++) {
        wb_err err = {0};
        wb_alloc_fail_at(k, 0);
        wb_tensor *t = wb_png_decode(m.p, m.n, "x.png", &err);
        wb_alloc_fail_at(0, 0);
        if (!t) {
            failures++;
            CHECK(err.code == WB_ENOMEM, "alloc %ld: %s", k, err.msg);
        }
        wb_tensor_free(t);
        CHECK(wb_alloc_live() == live, "alloc %ld: leaked", k);
    }
    CHECK(failures >= 3, "only %d injected failures were seen", failures);
    free(m.p);
}

/* ------------------------------------------------------------ files */

static void test_missing_file(void)
{
    wb_err err = {0};
    char path[300];
    snprintf(path, sizeof path, "%s/nope.png", tmpdir);
    wb_tensor *t = wb_png_load(path, &err);
    CHECK(!t && err.code == WB_ENOENT, "code %s", wb_status_name(err.code));
    CHECK(strstr(err.msg, path) && strstr(err.msg, "No such file or directory"),
          "msg '%s'", err.msg);
    t = wb_png_load(tmpdir, &err); /* a directory: refused before reading */
    CHECK(!t && err.code == WB_ENOENT && strstr(err.msg, "not a regular file"), "dir: %s",
          err.msg);
}

static int count_tmp_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void test_save_load_round_trip(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/grey.png", tmpdir);
    wb_err err = {0};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, (int64_t[]){H, W}, &err);
    float *p = wb_tensor_f32(t);
    for (int i = 0; i < W * H; i++)
        p[i] = (float)(i % 17) / 16.0f; /* 0 .. 1 */
    long live = wb_alloc_live();
    REQUIRE(wb_png_save(t, path, &err) == WB_OK, "%s", err.msg);
    CHECK(wb_alloc_live() == live, "save leaked");
    wb_tensor *back = wb_png_load(path, &err);
    REQUIRE(back, "%s", err.msg);
    CHECK(back->shape[0] == H && back->shape[1] == W, "shape");
    for (int i = 0; i < W * H; i++) {
        float want = (float)(floor((double)p[i] * 255 + 0.5) / 255);
        if (fabsf(wb_tensor_f32(back)[i] - want) > TOL) {
            TH_FAIL("pixel %d: %g, expected %g", i, wb_tensor_f32(back)[i], want);
            break;
        }
    }
    struct stat st;
    mode_t um = umask(022);
    umask(um);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == (0666 & ~um), "mode %o",
          st.st_mode & 0777);
    wb_tensor_free(back);
    wb_tensor_free(t);
}

static void test_save_rgb_and_u8(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/rgb.png", tmpdir);
    wb_err err = {0};
    wb_tensor *t = wb_tensor_new(WB_F32, 3, (int64_t[]){H, W, 3}, &err);
    float *p = wb_tensor_f32(t);
    for (int i = 0; i < W * H * 3; i++)
        p[i] = (float)g8(i) / 255.0f;
    REQUIRE(wb_png_save(t, path, &err) == WB_OK, "%s", err.msg);
    wb_tensor *back = wb_png_load(path, &err);
    REQUIRE(back, "%s", err.msg);
    for (int i = 0; i < W * H; i++) {
        double y = (0.299 * g8(3 * i) + 0.587 * g8(3 * i + 1) + 0.114 * g8(3 * i + 2))
                   / 255;
        CHECK_NEAR(wb_tensor_f32(back)[i], y, TOL);
    }
    wb_tensor_free(back);
    wb_tensor_free(t);

    wb_tensor *u = wb_tensor_new(WB_U8, 2, (int64_t[]){H, W}, &err);
    for (int i = 0; i < W * H; i++)
        wb_tensor_u8(u)[i] = (uint8_t)g8(i);
    REQUIRE(wb_png_save(u, path, &err) == WB_OK, "%s", err.msg); /* replaces */
    back = wb_png_load(path, &err);
    REQUIRE(back, "%s", err.msg);
    for (int i = 0; i < W * H; i++)
        CHECK_NEAR(wb_tensor_f32(back)[i], g8(i) / 255.0, TOL);
    wb_tensor_free(back);
    wb_tensor_free(u);
    CHECK(count_tmp_files() == 0, "temporary files left behind");
}

static void test_save_errors(void)
{
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/keep.png", tmpdir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", tmpdir);
    wb_err err = {0};
    wb_tensor *t = wb_tensor_new(WB_F32, 2, (int64_t[]){H, W}, &err);
    REQUIRE(wb_png_save(t, path, &err) == WB_OK, "%s", err.msg);
    struct stat st0, st1;
    stat(path, &st0);
    long live = wb_alloc_live();

    wb_tensor_f32(t)[5] = NAN;
    CHECK(wb_png_save(t, path, &err) == WB_ENONFINITE &&
          strstr(err.msg, "element 6 of [7, 13] (row 1, column 6) is NaN, expected "
                 "values in [0, 1]"), "nan: %s", err.msg);
    wb_tensor_f32(t)[5] = -INFINITY;
    CHECK(wb_png_save(t, path, &err) == WB_ENONFINITE && strstr(err.msg, "is -inf"),
          "inf: %s", err.msg);
    /* out of [0, 1]: an error naming the first one, never clamped */
    wb_tensor_f32(t)[5] = 0;
    wb_tensor_f32(t)[2 * W + 3] = 255.0f;
    wb_tensor_f32(t)[3 * W] = -0.5f;
    CHECK(wb_png_save(t, path, &err) == WB_ERANGE &&
          strstr(err.msg, "keep.png: element 30 of [7, 13] (row 3, column 4) is 255, "
                 "expected values in [0, 1] (data in 0..255: divide it by 255 first)"),
          "range: %s", err.msg);
    wb_tensor_f32(t)[2 * W + 3] = 0;
    CHECK(wb_png_save(t, path, &err) == WB_ERANGE &&
          strstr(err.msg, "(row 4, column 1) is -0.5, expected values in [0, 1]") &&
          !strstr(err.msg, "255"), "range below: %s", err.msg);
    wb_tensor_f32(t)[3 * W] = 0;
    wb_tensor *c = wb_tensor_new(WB_F32, 3, (int64_t[]){2, 2, 3}, &err);
    memset(wb_tensor_f32(c), 0, 12 * sizeof(float));
    wb_tensor_f32(c)[7] = 1.5f;
    CHECK(wb_png_save(c, path, &err) == WB_ERANGE &&
          strstr(err.msg, "(row 2, column 1, channel 2) is 1.5"), "rgb: %s", err.msg);
    wb_tensor_free(c);
    /* a PNG under another name: refused, naming it; any case of .png is one */
    char jpg[300];
    snprintf(jpg, sizeof jpg, "%s/x.jpg", tmpdir);
    CHECK(wb_png_save(t, jpg, &err) == WB_EINVAL && strstr(err.msg, jpg) &&
          strstr(err.msg, "expected a file name ending in .png"), "jpg: %s", err.msg);
    CHECK(access(jpg, F_OK) != 0, "x.jpg was written");
    CHECK(wb_png_save(t, "png", &err) == WB_EINVAL, "short: %s", err.msg);
    snprintf(jpg, sizeof jpg, "%s/UP.PNG", tmpdir);
    CHECK(wb_png_save(t, jpg, &err) == WB_OK && unlink(jpg) == 0, "UP.PNG: %s", err.msg);

    wb_tensor *v = wb_tensor_new(WB_F32, 3, (int64_t[]){H, W, 2}, &err);
    CHECK(wb_png_save(v, path, &err) == WB_ESHAPE &&
          strstr(err.msg, "got float32 [7, 13, 2]"), "shape: %s", err.msg);
    wb_tensor_free(v);
    v = wb_tensor_new(WB_F32, 2, (int64_t[]){1, 20000}, &err);
    CHECK(wb_png_save(v, path, &err) == WB_ERANGE, "side: %s", err.msg);
    wb_tensor_free(v);

    CHECK(wb_png_save(t, bad, &err) == WB_ECREATE && strstr(err.msg, bad) &&
          strstr(err.msg, "No such file"), "dir: %s", err.msg);

    /* failures before and after the temporary file exists */
    int failures = 0;
    for (long k = 1; k <= 6; k++) {
        wb_alloc_fail_at(k, 0);
        wb_status s = wb_png_save(t, path, &err);
        wb_alloc_fail_at(0, 0);
        if (s != WB_OK && strstr(err.msg, "written, but")) {
            /* fsutil: only the final folder fsync failed; file in place */
            stat(path, &st0);
        } else if (s != WB_OK) {
            failures++;
            CHECK(s == WB_ENOMEM && strstr(err.msg, path), "alloc %ld: %s", k, err.msg);
            stat(path, &st1);
            CHECK(st0.st_ino == st1.st_ino && st0.st_size == st1.st_size,
                  "alloc %ld: the existing file was replaced", k);
        }
        CHECK(count_tmp_files() == 0, "alloc %ld: temporary file left behind", k);
    }
    CHECK(failures >= 4, "only %d injected failures seen", failures);
    CHECK(wb_alloc_live() == live, "leaked");
    wb_tensor_free(t);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wb_test_png.XXXXXX");
    if (!mkdtemp(tmpdir))
        return 2;
    RUN(test_grey_all_depths);
    RUN(test_colour_types_equal_grey);
    RUN(test_luma_and_alpha);
    RUN(test_palette);
    RUN(test_trns_colour);
    RUN(test_not_png);
    RUN(test_truncated);
    RUN(test_bad_crc);
    RUN(test_dimension_limits);
    RUN(test_alloc_failures);
    RUN(test_missing_file);
    RUN(test_save_load_round_trip);
    RUN(test_save_rgb_and_u8);
    RUN(test_save_errors);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        return 2;
    TH_EXIT();
}
