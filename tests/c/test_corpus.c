/* test_corpus.c - generated corpora: every parser loads a valid file
 * correctly and fails cleanly on every damaged one.
 *
 * Samples come from tests/fuzz/gen.h (tiny IDX files of every type, PNGs of
 * every colour type, bit depth and interlace, checkpoints written by
 * core/safetensors.c); nothing binary is committed. For each sample:
 *   - it loads to the expected shape and values (PNG: palette, 16-bit,
 *     tRNS and interlaced images give the same pixels as 8-bit grey);
 *   - every truncation fails cleanly;
 *   - single-byte changes either load to a self-consistent result or fail
 *     cleanly (every position; every value for IDX, a fixed set of
 *     structural and bit-flip values for PNG and checkpoints);
 * where "cleanly" is tests/fuzz/checks.h: a status, one line naming the
 * input, no leak (wb_alloc_live), and nothing for ASan/UBSan to report.
 * Then hostile inputs: declared sizes far beyond the file (no allocation at
 * all before the error), 1 MB malformed inputs (each fails within a bound
 * on core allocations: work is counted, never timed), odd paths (missing, a
 * directory, /dev/zero, empty: the non-regular ones refused before any read),
 * and the committed fuzz findings in tests/fuzz/corpus/{idx,png,ckpt}
 * replayed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/rng.h"
#include "../fuzz/checks.h"
#include "../fuzz/gen.h"
#include "harness.h"

typedef int (*fz_fn)(const unsigned char *, size_t);

static char tmpdir[256];

/* Every truncation of g must fail cleanly: returns the count checked. */
static long truncations(const gen_buf *g, wb_tensor *(*load)(const void *, size_t,
                                                             const char *, wb_err *),
                        int *bad, char *why, size_t whyn)
{
    long count = 0;
    for (size_t len = 0; len < g->n; len++) {
        long live = wb_alloc_live();
        wb_err err;
        memset(&err, 0, sizeof err);
        unsigned char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
        memcpy(copy, g->p, len);
        wb_tensor *t = load(copy, len, FZ_NAME, &err);
        free(copy);
        count++;
        if (t) {
            wb_tensor_free(t);
            snprintf(why, whyn, "%s truncated to %zu of %zu bytes loaded", g->name, len, g->n);
            *bad = 1;
            return count;
        }
        if (fz_check_err(&err) != 0 || wb_alloc_live() != live) {
            snprintf(why, whyn, "%s truncated to %zu: %.400s (live %ld -> %ld)", g->name, len,
                     fz_why, live, wb_alloc_live());
            *bad = 1;
            return count;
        }
    }
    return count;
}

/* Byte changes at every position: `values` (n_values of them) replace the
 * byte, or with xor_mode they are xor masks. Returns the number checked;
 * *bad and why on the first unclean result. */
static long byte_changes(const gen_buf *g, fz_fn fn, const unsigned char *values,
                         int n_values, int xor_mode, int *bad, char *why, size_t whyn)
{
    long count = 0;
    unsigned char *copy = malloc(g->n);
    for (size_t pos = 0; pos < g->n; pos++) {
        for (int v = 0; v < n_values; v++) {
            memcpy(copy, g->p, g->n);
            unsigned char nb = xor_mode ? (unsigned char)(g->p[pos] ^ values[v]) : values[v];
            if (nb == g->p[pos])
                continue;
            copy[pos] = nb;
            count++;
            if (fn(copy, g->n) != 0) {
                snprintf(why, whyn, "%s byte %zu 0x%02x -> 0x%02x: %.400s", g->name, pos,
                         g->p[pos], nb, fz_why);
                *bad = 1;
                free(copy);
                return count;
            }
        }
    }
    free(copy);
    return count;
}

static wb_tensor *idx_decode(const void *b, size_t n, const char *name, wb_err *e)
{
    return wb_idx_decode(b, n, name, e);
}

static wb_tensor *png_decode(const void *b, size_t n, const char *name, wb_err *e)
{
    return wb_png_decode(b, n, name, e);
}

/* The checkpoint loader returns a wb_safetensors: wrap it as "some tensor"
 * so that truncations() can drive it. */
static wb_tensor *ckpt_decode(const void *b, size_t n, const char *name, wb_err *e)
{
    wb_safetensors *st = wb_safetensors_decode(b, n, name, e);
    if (!st)
        return NULL;
    wb_safetensors_free(st);
    return wb_tensor_new(WB_F32, 1, (int64_t[]){1}, e);
}

static int values_match(const wb_tensor *t, const gen_buf *g, double tol, char *why,
                        size_t whyn)
{
    if (t->ndim != g->ndim) {
        snprintf(why, whyn, "%s: ndim %d, expected %d", g->name, t->ndim, g->ndim);
        return 0;
    }
    for (int d = 0; d < g->ndim; d++)
        if (t->shape[d] != g->shape[d]) {
            snprintf(why, whyn, "%s: dim %d is %lld, expected %lld", g->name, d,
                     (long long)t->shape[d], (long long)g->shape[d]);
            return 0;
        }
    for (size_t i = 0; i < g->numel; i++) {
        double v = wb_tensor_get_flat(t, i);
        if (!(fabs(v - g->expect[i]) <= tol)) {
            snprintf(why, whyn, "%s: element %zu is %.9g, expected %.9g", g->name, i, v,
                     (double)g->expect[i]);
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ IDX */

static void test_idx_samples_load(void)
{
    char why[700];
    for (int i = 0; i < GEN_IDX_N; i++) {
        gen_buf g;
        gen_idx(i, &g);
        wb_err err;
        long live = wb_alloc_live();
        wb_tensor *t = wb_idx_decode(g.p, g.n, g.name, &err);
        if (!t) {
            TH_FAIL("%s: %s", g.name, err.msg);
            gen_free(&g);
            return;
        }
        int ok = values_match(t, &g, 0, why, sizeof why);
        int want_u8 = gen_idx_specs[i].type == 0x08;
        CHECK(t->dtype == (want_u8 ? WB_U8 : WB_F32), "%s: dtype %d", g.name, t->dtype);
        wb_tensor_free(t);
        CHECK(ok, "%s", why);
        CHECK(wb_alloc_live() == live, "%s: leak", g.name);
        /* The file path gives the same tensor as memory. */
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmpdir, g.name);
        FILE *f = fopen(path, "wb");
        REQUIRE(f && fwrite(g.p, 1, g.n, f) == g.n && fclose(f) == 0, "write %s", path);
        t = wb_idx_load(path, &err);
        CHECK(t && values_match(t, &g, 0, why, sizeof why), "%s from a file: %s", g.name,
              t ? why : err.msg);
        wb_tensor_free(t);
        remove(path);
        gen_free(&g);
    }
}

static void test_idx_every_truncation_fails(void)
{
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_IDX_N && !bad; i++) {
        gen_buf g;
        gen_idx(i, &g);
        total += truncations(&g, idx_decode, &bad, why, sizeof why);
        /* gzip samples through a file too (zlib's gzread, not inflate). */
        for (size_t len = 0; gen_idx_specs[i].gz && !bad && len < g.n; len++) {
            char path[512];
            snprintf(path, sizeof path, "%s/trunc.gz", tmpdir);
            FILE *f = fopen(path, "wb");
            REQUIRE(f && fwrite(g.p, 1, len, f) == len && fclose(f) == 0, "write");
            wb_err err;
            wb_tensor *t = wb_idx_load(path, &err);
            if (t || err.code != WB_EFORMAT) {
                snprintf(why, sizeof why, "%s file truncated to %zu of %zu: %s", g.name,
                         len, g.n, t ? "loaded" : err.msg);
                bad = 1;
            }
            wb_tensor_free(t);
            remove(path);
            total++;
        }
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 300, "only %ld truncations", total);
}

/* A damaged gzip trailer (CRC-32 or length) must fail, from memory and
 * from a file: the data would otherwise load unchecked. */
static void test_idx_gzip_trailer_checked(void)
{
    for (int i = 0; i < GEN_IDX_N; i++) {
        if (!gen_idx_specs[i].gz)
            continue;
        gen_buf g;
        gen_idx(i, &g);
        for (size_t back = 1; back <= 8; back++) {
            g.p[g.n - back] ^= 0x5a;
            wb_err err;
            wb_tensor *t = wb_idx_decode(g.p, g.n, g.name, &err);
            CHECK(!t && err.code == WB_EFORMAT && strstr(err.msg, "corrupt gzip data"),
                  "%s trailer byte -%zu: %s", g.name, back, t ? "loaded" : err.msg);
            wb_tensor_free(t);
            char path[512];
            snprintf(path, sizeof path, "%s/trailer.gz", tmpdir);
            FILE *f = fopen(path, "wb");
            REQUIRE(f && fwrite(g.p, 1, g.n, f) == g.n && fclose(f) == 0, "write");
            t = wb_idx_load(path, &err);
            CHECK(!t && err.code == WB_EFORMAT && strstr(err.msg, "corrupt gzip data"),
                  "%s file, trailer byte -%zu: %s", g.name, back, t ? "loaded" : err.msg);
            wb_tensor_free(t);
            remove(path);
            g.p[g.n - back] ^= 0x5a;
        }
        gen_free(&g);
    }
}

static void test_idx_every_byte_change_is_clean(void)
{
    unsigned char all[256];
    for (int v = 0; v < 256; v++)
        all[v] = (unsigned char)v;
    /* gzip samples: inflate per input is slower, use bit flips + extremes */
    static const unsigned char some[] = {0x01, 0x02, 0x10, 0x80, 0xff};
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_IDX_N && !bad; i++) {
        gen_buf g;
        gen_idx(i, &g);
        if (gen_idx_specs[i].gz)
            total += byte_changes(&g, fz_idx, some, (int)sizeof some, 1, &bad, why,
                                  sizeof why);
        else
            total += byte_changes(&g, fz_idx, all, 256, 0, &bad, why, sizeof why);
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 50000, "only %ld byte changes", total);
}

/* Build an IDX header: type, dims; then `data` bytes of zeros. */
static void idx_file(gen_buf *g, int type, int nd, const uint32_t *dims, size_t data)
{
    memset(g, 0, sizeof *g);
    unsigned char head[4] = {0, 0, (unsigned char)type, (unsigned char)nd};
    gen_put(g, head, 4);
    for (int d = 0; d < nd; d++)
        gen_be32(g, dims[d]);
    unsigned char *z = calloc(1, data + 1);
    gen_put(g, z, data);
    free(z);
}

/* Declared sizes beyond the file: an error naming both, before any
 * allocation (wb_alloc_count stays 0). */
static void test_idx_declared_sizes_checked_before_allocating(void)
{
    struct {
        int type, nd;
        uint32_t dims[4];
        size_t data;
        int gz;
        const char *want;
    } cases[] = {
        {0x08, 3, {60000, 28, 28}, 1024, 0, "[60000, 28, 28]"},
        {0x08, 4, {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 16, 0, "more than"},
        {0x0E, 3, {0x10000000u, 0x10000000u, 0x100u}, 8, 0, "truncated"},
        {0x08, 3, {60000, 28, 28}, 4096, 1, "compressed bytes can hold"},
        {0x08, 1, {10}, 11, 0, "trailing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gen_buf g;
        idx_file(&g, cases[i].type, cases[i].nd, cases[i].dims, cases[i].data);
        if (cases[i].gz)
            gen_gzip(&g);
        wb_err err;
        wb_alloc_fail_at(0, 0); /* resets the counter */
        wb_tensor *t = wb_idx_decode(g.p, g.n, FZ_NAME, &err);
        long allocs = wb_alloc_count();
        CHECK(!t, "case %zu loaded", i);
        wb_tensor_free(t);
        CHECK(!t && err.code == WB_EFORMAT, "case %zu: status %d: %s", i, err.code, err.msg);
        CHECK(strstr(err.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i, err.msg,
              cases[i].want);
        CHECK(allocs == 0, "case %zu: %ld allocations before failing", i, allocs);
        gen_free(&g);
    }
}

/* ------------------------------------------------------------------ PNG */

static void test_png_samples_load(void)
{
    char why[700];
    for (int i = 0; i < GEN_PNG_N; i++) {
        gen_buf g;
        gen_png(i, &g);
        wb_err err;
        long live = wb_alloc_live();
        wb_tensor *t = wb_png_decode(g.p, g.n, g.name, &err);
        CHECK(t, "%s: %s", g.name, err.msg);
        if (t)
            CHECK(values_match(t, &g, 1e-6, why, sizeof why), "%s", why);
        wb_tensor_free(t);
        CHECK(wb_alloc_live() == live, "%s: leak", g.name);
        gen_free(&g);
    }
}

/* The case: palette, 16-bit, RGB and interlaced versions of an
 * opaque image decode to exactly the pixels of its 8-bit grey version. */
static void test_png_formats_equal_8bit_grey(void)
{
    gen_buf ref;
    gen_png(3, &ref); /* grey 8, plain */
    REQUIRE(strstr(ref.name, "grey8") && !strstr(ref.name, "adam7"), "%s", ref.name);
    wb_err err;
    wb_tensor *r = wb_png_decode(ref.p, ref.n, ref.name, &err);
    REQUIRE(r, "%s", err.msg);
    int compared = 0;
    for (int i = 0; i < GEN_PNG_N; i++) {
        gen_png_spec s = gen_png_base[i % GEN_PNG_BASE];
        int opaque = !s.trns && s.color != PNG_COLOR_TYPE_GRAY_ALPHA &&
                     s.color != PNG_COLOR_TYPE_RGB_ALPHA;
        if (!opaque || s.depth < 2)
            continue; /* 1-bit images have two levels only */
        gen_buf g;
        gen_png(i, &g);
        wb_tensor *t = wb_png_decode(g.p, g.n, g.name, &err);
        CHECK(t, "%s: %s", g.name, err.msg);
        for (size_t k = 0; t && k < ref.numel; k++) {
            float a = wb_tensor_f32(t)[k], b = wb_tensor_f32(r)[k];
            if (fabsf(a - b) > 1e-6f) {
                TH_FAIL("%s pixel %zu = %.9g, 8-bit grey gives %.9g", g.name, k, a, b);
                break;
            }
        }
        compared += t != NULL;
        wb_tensor_free(t);
        gen_free(&g);
    }
    wb_tensor_free(r);
    gen_free(&ref);
    CHECK(compared >= 16, "compared only %d images", compared);
}

static void test_png_every_truncation_fails(void)
{
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_PNG_N && !bad; i++) {
        gen_buf g;
        gen_png(i, &g);
        total += truncations(&g, png_decode, &bad, why, sizeof why);
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 2000, "only %ld truncations", total);
}

static void test_png_byte_changes_are_clean(void)
{
    /* Bit flips and extremes at every position of every sample, each also
     * with the chunk CRCs recomputed (so the change reaches the decoder). */
    static const unsigned char masks[] = {0x01, 0x04, 0x20, 0x80, 0xff};
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_PNG_N && !bad; i++) {
        gen_buf g;
        gen_png(i, &g);
        total += byte_changes(&g, fz_png_both, masks, (int)sizeof masks, 1, &bad, why,
                              sizeof why);
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 10000, "only %ld byte changes", total);
}

/* Append a PNG chunk with its CRC. */
static void png_chunk(gen_buf *g, const char *type, const unsigned char *d, uint32_t n)
{
    gen_be32(g, n);
    gen_put(g, type, 4);
    if (n)
        gen_put(g, d, n);
    uLong crc = crc32(0, (const Bytef *)type, 4);
    if (n)
        crc = crc32(crc, d, n);
    gen_be32(g, (uint32_t)crc);
}

/* A PNG whose IHDR declares w x h (8-bit grey) with `idat` bytes of a
 * valid zlib stream of zeros (far fewer than the image needs). */
static void png_declared(gen_buf *g, uint32_t w, uint32_t h, size_t idat_raw)
{
    memset(g, 0, sizeof *g);
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    gen_put(g, sig, 8);
    unsigned char ihdr[13] = {0};
    for (int k = 0; k < 4; k++) {
        ihdr[k] = (unsigned char)(w >> (24 - 8 * k));
        ihdr[4 + k] = (unsigned char)(h >> (24 - 8 * k));
    }
    ihdr[8] = 8; /* depth */
    png_chunk(g, "IHDR", ihdr, 13);
    unsigned char *raw = calloc(1, idat_raw + 1);
    uLongf zn = compressBound((uLong)idat_raw);
    unsigned char *z = malloc(zn);
    compress2(z, &zn, raw, (uLong)idat_raw, 9);
    png_chunk(g, "IDAT", z, (uint32_t)zn);
    png_chunk(g, "IEND", NULL, 0);
    free(raw);
    free(z);
}

static void test_png_huge_declared_sizes(void)
{
    /* 100000 x 100000: over the side limit, EFORMAT naming both sides. */
    gen_buf g;
    png_declared(&g, 100000, 100000, 64);
    wb_err err;
    wb_alloc_fail_at(0, 0);
    wb_tensor *t = wb_png_decode(g.p, g.n, FZ_NAME, &err);
    CHECK(!t && err.code == WB_EFORMAT && strstr(err.msg, "100000x100000"),
          "100000x100000: %d %s", err.code, err.msg);
    CHECK(wb_alloc_count() == 0, "%ld allocations", wb_alloc_count());
    wb_tensor_free(t);
    gen_free(&g);
    /* 8192 x 8192 (within the limits) in a few hundred bytes: a deflate
     * stream of that length cannot hold 64 MB, so the loader must say so
     * before allocating the 256 MB output (the "never allocates
     * more than its file size justifies"). */
    png_declared(&g, 8192, 8192, 1000);
    wb_alloc_fail_at(0, 0);
    t = wb_png_decode(g.p, g.n, FZ_NAME, &err);
    long allocs = wb_alloc_count();
    CHECK(!t && err.code == WB_EFORMAT, "8192x8192 in %zu bytes: %d %s", g.n, err.code,
          err.msg);
    CHECK(allocs == 0, "8192x8192 in %zu bytes: %ld core allocations before failing "
          "(%s)", g.n, allocs, err.msg);
    wb_tensor_free(t);
    gen_free(&g);
    /* A text chunk declaring 1.7 GB in a 60-byte file (fuzz finding: libpng
     * allocated the declared length before reading it). */
    gen_buf h;
    png_declared(&h, 7, 5, 40);
    memset(&g, 0, sizeof g);
    gen_put(&g, h.p, 33); /* signature + IHDR */
    gen_be32(&g, 0x68004321u);
    gen_put(&g, "zTXtab\0", 8);
    gen_free(&h);
    wb_alloc_fail_at(0, 0);
    t = wb_png_decode(g.p, g.n, FZ_NAME, &err);
    CHECK(!t && err.code == WB_EFORMAT && strstr(err.msg, "chunk 'zTXt' at byte 33") &&
          strstr(err.msg, "1744847649"), "zTXt of 1.7 GB: %d %s", err.code, err.msg);
    CHECK(wb_alloc_count() == 0, "zTXt of 1.7 GB: %ld core allocations", wb_alloc_count());
    wb_tensor_free(t);
    gen_free(&g);
}

/* ----------------------------------------------------------- checkpoints */

static void test_ckpt_samples_load(void)
{
    for (int i = 0; i < GEN_CKPT_N; i++) {
        gen_buf g;
        gen_ckpt(i, &g, tmpdir);
        wb_err err;
        long live = wb_alloc_live();
        wb_safetensors *st = wb_safetensors_decode(g.p, g.n, g.name, &err);
        CHECK(st, "%s: %s", g.name, err.msg);
        size_t at = 0;
        for (int k = 0; st && k < wb_safetensors_count(st); k++) {
            const wb_tensor *t = wb_safetensors_tensor(st, k);
            for (size_t e = 0; e < wb_tensor_numel(t) && at < g.numel; e++, at++)
                CHECK(wb_tensor_get_flat(t, e) == g.expect[at], "%s: tensor %d element "
                      "%zu", g.name, k, e);
        }
        CHECK(!st || at == g.numel, "%s: %zu of %zu values", g.name, at, g.numel);
        if (st && i == 3) {
            int m = -1;
            for (int k = 0; k < wb_safetensors_meta_count(st); k++)
                if (strcmp(wb_safetensors_meta_key(st, k), "note \"q\"") == 0)
                    m = k;
            CHECK(m >= 0 && strcmp(wb_safetensors_meta_value(st, m),
                                   "tab\there\nnew line \\ \xc3\xa9 \x01") == 0,
                  "escaped metadata did not round-trip");
        }
        wb_safetensors_free(st);
        CHECK(wb_alloc_live() == live, "%s: leak", g.name);
        gen_free(&g);
    }
}

static void test_ckpt_every_truncation_fails(void)
{
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_CKPT_N && !bad; i++) {
        gen_buf g;
        gen_ckpt(i, &g, tmpdir);
        total += truncations(&g, ckpt_decode, &bad, why, sizeof why);
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 1000, "only %ld truncations", total);
}

static void test_ckpt_byte_changes_are_clean(void)
{
    /* JSON structure, digits, escapes, UTF-8 lead/continuation bytes, NUL,
     * and bit flips (xor pass below) at every position. */
    static const unsigned char vals[] = {0x00, ' ', '"', '\\', '{', '}', '[', ']', ',',
                                         ':', '0', '9', '-', 'u', 'e', 0x7f, 0x80,
                                         0xc3, 0xff};
    static const unsigned char masks[] = {0x01, 0x20, 0x80};
    char why[700];
    int bad = 0;
    long total = 0;
    for (int i = 0; i < GEN_CKPT_N && !bad; i++) {
        gen_buf g;
        gen_ckpt(i, &g, tmpdir);
        total += byte_changes(&g, fz_ckpt, vals, (int)sizeof vals, 0, &bad, why,
                              sizeof why);
        if (!bad)
            total += byte_changes(&g, fz_ckpt, masks, (int)sizeof masks, 1, &bad, why,
                                  sizeof why);
        gen_free(&g);
    }
    CHECK(!bad, "%s", why);
    CHECK(total > 15000, "only %ld byte changes", total);
}

/* A checkpoint from a header text and data size. */
static void ckpt_file(gen_buf *g, const char *hdr, uint64_t hlen_field, size_t data)
{
    memset(g, 0, sizeof *g);
    unsigned char b[8];
    for (int k = 0; k < 8; k++)
        b[k] = (unsigned char)(hlen_field >> (8 * k));
    gen_put(g, b, 8);
    gen_put(g, hdr, strlen(hdr));
    unsigned char *z = calloc(1, data + 1);
    gen_put(g, z, data);
    free(z);
}

static void test_ckpt_hostile_headers(void)
{
    struct {
        const char *hdr;
        uint64_t hlen; /* 0: strlen(hdr) */
        size_t data;
        const char *want;
    } cases[] = {
        {"{}", (uint64_t)1 << 63, 0, "exceeds file size"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 0, 12,
         "overlaps"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 0, 4,
         "exceeds the data size"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
         "\"data_offsets\":[0,8]}}", 0, 8, "needs"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 0, 8,
         "end before begin"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 0, 8,
         "F64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gen_buf g;
        ckpt_file(&g, cases[i].hdr, cases[i].hlen ? cases[i].hlen : strlen(cases[i].hdr),
                  cases[i].data);
        wb_err err;
        long live = wb_alloc_live();
        wb_safetensors *st = wb_safetensors_decode(g.p, g.n, FZ_NAME, &err);
        CHECK(!st && err.code == WB_EFORMAT, "case %zu: %d %s", i, err.code,
              st ? "loaded" : err.msg);
        CHECK(st || strstr(err.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i,
              err.msg, cases[i].want);
        CHECK(st || fz_check_err(&err) == 0, "case %zu: %s", i, fz_why);
        wb_safetensors_free(st);
        CHECK(wb_alloc_live() == live, "case %zu: leak", i);
        gen_free(&g);
    }
}

/* ------------------------------------------- 1 MB malformed, odd paths */

static void test_malformed_megabyte_fails_fast(void)
{
    const size_t MB = 1 << 20;
    unsigned char *buf = malloc(MB);
    wb_rng r;
    wb_rng_seed(&r, 6);
    for (size_t i = 0; i < MB; i++)
        buf[i] = (unsigned char)wb_rng_next(&r);
    struct {
        const char *what;
        fz_fn fn;
        int setup;
        long max_allocs;
    } cases[] = {
        {"idx: random bytes", fz_idx, 0, 0},
        {"idx: 60000x28x28 header, 1 MB of data", fz_idx, 1, 0},
        {"idx: gzip magic, then garbage", fz_idx, 2, 0},
        {"png: signature, then random chunks", fz_png, 3, 0},
        {"png: valid IHDR, 1 MB IDAT of garbage", fz_png, 4, 8},
        {"ckpt: 1 MB header of nested brackets", fz_ckpt, 5, 8},
        {"ckpt: 1 MB header holding one long string", fz_ckpt, 6, 64},
        {"ckpt: 40000 tensors declared, data missing", fz_ckpt, 7, 10 * 40000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        gen_buf g;
        memset(&g, 0, sizeof g);
        switch (cases[c].setup) {
        case 0: gen_put(&g, buf, MB); break;
        case 1: idx_file(&g, 0x08, 3, (uint32_t[]){60000, 28, 28}, MB); break;
        case 2: gen_put(&g, "\x1f\x8b\x08\x00", 4); gen_put(&g, buf, MB); break;
        case 3: {
            static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
            gen_put(&g, sig, 8);
            gen_put(&g, buf, MB);
            break;
        }
        case 4: {
            gen_buf h;
            png_declared(&h, 4096, 4096, 16);
            gen_put(&g, h.p, 33); /* signature + IHDR */
            png_chunk(&g, "IDAT", buf, (uint32_t)MB);
            png_chunk(&g, "IEND", NULL, 0);
            gen_free(&h);
            break;
        }
        case 5: case 6: {
            char *h = malloc(MB + 1);
            memset(h, cases[c].setup == 5 ? '[' : 'x', MB);
            h[0] = '{';
            if (cases[c].setup == 6)
                h[1] = '"';
            h[MB] = 0;
            ckpt_file(&g, h, MB, 0);
            free(h);
            break;
        }
        case 7: {
            size_t cap = MB + 64, at = 0;
            char *h = malloc(cap);
            at += (size_t)snprintf(h, cap, "{");
            for (int k = 0; at + 80 < MB; k++)
                at += (size_t)snprintf(h + at, cap - at, "%s\"t%d\":{\"dtype\":\"F32\","
                                       "\"shape\":[1],\"data_offsets\":[%d,%d]}",
                                       k ? "," : "", k, 4 * k, 4 * k + 4);
            snprintf(h + at, cap - at, "}");
            ckpt_file(&g, h, strlen(h), 0);
            free(h);
            break;
        }
        }
        wb_alloc_fail_at(0, 0); /* resets the count */
        int rc = cases[c].fn(g.p, g.n);
        long allocs = wb_alloc_count();
        CHECK(rc == 0, "%s: %s", cases[c].what, fz_why);
        CHECK(allocs <= cases[c].max_allocs, "%s: %ld core allocations, at most %ld",
              cases[c].what, allocs, cases[c].max_allocs);
        /* It must be a failure, not a load. */
        wb_err err;
        memset(&err, 0, sizeof err);
        if (cases[c].fn == fz_idx) {
            wb_tensor *t = wb_idx_decode(g.p, g.n, FZ_NAME, &err);
            CHECK(!t, "%s loaded", cases[c].what);
            wb_tensor_free(t);
        } else if (cases[c].fn == fz_png) {
            wb_tensor *t = wb_png_decode(g.p, g.n, FZ_NAME, &err);
            CHECK(!t, "%s loaded", cases[c].what);
            wb_tensor_free(t);
        } else {
            wb_safetensors *st = wb_safetensors_decode(g.p, g.n, FZ_NAME, &err);
            CHECK(!st, "%s loaded", cases[c].what);
            wb_safetensors_free(st);
        }
        gen_free(&g);
    }
    free(buf);
}

static void test_odd_paths(void)
{
    char missing[512], empty[512];
    snprintf(missing, sizeof missing, "%s/no-such-file", tmpdir);
    snprintf(empty, sizeof empty, "%s/empty", tmpdir);
    FILE *f = fopen(empty, "wb");
    REQUIRE(f && fclose(f) == 0, "create %s", empty);
    const char *paths[] = {missing, tmpdir, "/dev/zero", empty};
    for (int p = 0; p < 4; p++) {
        for (int k = 0; k < 3; k++) {
            wb_err err;
            memset(&err, 0, sizeof err);
            long live = wb_alloc_live();
            int loaded = 0;
            if (k == 0) {
                wb_tensor *t = wb_idx_load(paths[p], &err);
                loaded = t != NULL;
                wb_tensor_free(t);
            } else if (k == 1) {
                wb_tensor *t = wb_png_load(paths[p], &err);
                loaded = t != NULL;
                wb_tensor_free(t);
            } else {
                wb_safetensors *st = wb_safetensors_load(paths[p], &err);
                loaded = st != NULL;
                wb_safetensors_free(st);
            }
            const char *what = k == 0 ? "idx" : k == 1 ? "png" : "safetensors";
            CHECK(!loaded, "%s loaded %s", what, paths[p]);
            CHECK(err.code != WB_OK && strncmp(err.msg, paths[p], strlen(paths[p])) == 0 &&
                  !strchr(err.msg, '\n'), "%s %s: %d '%s'", what, paths[p], err.code,
                  err.msg);
            if (p == 0)
                CHECK(err.code == WB_ENOENT, "%s missing file: status %d (%s)", what,
                      err.code, err.msg);
            if (p == 1 || p == 2) /* refused at open: never read (no wait on a device) */
                CHECK(err.code == WB_ENOENT && strstr(err.msg, "not a regular file"),
                      "%s %s: status %d (%s)", what, paths[p], err.code, err.msg);
            CHECK(wb_alloc_live() == live, "%s %s: leak", what, paths[p]);
        }
    }
    remove(empty);
}

/* ------------------------------------------------ committed fuzz corpus */

static void test_fuzz_corpora_replay(void)
{
    static const struct {
        const char *kind;
        fz_fn fn;
    } kinds[] = {{"idx", fz_idx}, {"png", fz_png_both}, {"ckpt", fz_ckpt}};
    int files = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", kinds[k].kind);
        DIR *d = opendir(dir);
        if (!d)
            continue; /* no findings committed for this target */
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[600];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            gen_buf g;
            memset(&g, 0, sizeof g);
            unsigned char b[4096];
            size_t r;
            while ((r = fread(b, 1, sizeof b, f)) > 0)
                gen_put(&g, b, r);
            fclose(f);
            unsigned char *exact = malloc(g.n ? g.n : 1); /* no slack for ASan */
            memcpy(exact, g.p, g.n);
            CHECK(kinds[k].fn(exact, g.n) == 0, "%.200s: %.400s", path, fz_why);
            free(exact);
            gen_free(&g);
            files++;
        }
        closedir(d);
    }
    printf("# replayed %d committed fuzz corpus files\n", files);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wb_test_corpus.%d", (int)getpid());
    if (mkdir(tmpdir, 0700) != 0) {
        perror(tmpdir);
        return 1;
    }
    RUN(test_idx_samples_load);
    RUN(test_idx_every_truncation_fails);
    RUN(test_idx_gzip_trailer_checked);
    RUN(test_idx_every_byte_change_is_clean);
    RUN(test_idx_declared_sizes_checked_before_allocating);
    RUN(test_png_samples_load);
    RUN(test_png_formats_equal_8bit_grey);
    RUN(test_png_every_truncation_fails);
    RUN(test_png_byte_changes_are_clean);
    RUN(test_png_huge_declared_sizes);
    RUN(test_ckpt_samples_load);
    RUN(test_ckpt_every_truncation_fails);
    RUN(test_ckpt_byte_changes_are_clean);
    RUN(test_ckpt_hostile_headers);
    RUN(test_malformed_megabyte_fails_fast);
    RUN(test_odd_paths);
    RUN(test_fuzz_corpora_replay);
    rmdir(tmpdir);
    TH_EXIT();
}
