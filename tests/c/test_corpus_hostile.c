/* test_corpus_hostile.c - hostile inputs: every parser refuses them cleanly,
 * without allocating what the input only claims to need.
 *
 * Inputs are built in memory (tests/fuzz/gen.h); nothing binary is committed
 * but the fuzz findings. Declared sizes far beyond the file (IDX dimensions,
 * PNG sides and text chunks, checkpoint headers): an error naming them, with
 * no allocation at all before it; 1 MB malformed inputs (each fails within a
 * bound on core allocations: work is counted, never timed); odd paths
 * (missing, a directory, /dev/zero, empty: the non-regular ones refused
 * before any read); and the committed fuzz findings in
 * tests/fuzz/corpus/{idx,png,ckpt} replayed. "Cleanly" is tests/fuzz/checks.h:
 * a status, one line naming the input, no leak (wb_alloc_live), and nothing
 * for ASan/UBSan to report. Valid samples, truncations and byte changes are
 * test_corpus.c.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/rng.h"
#include "../fuzz/checks.h"
/* gen.h's sample generators (gen_idx, gen_png, gen_ckpt) serve test_corpus.c;
 * this file builds its inputs with gen.h's buffer helpers alone. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../fuzz/gen.h"
#pragma GCC diagnostic pop
#include "harness.h"

typedef int (*fz_fn)(const unsigned char *, size_t);

static char tmpdir[256];

/* ------------------------------------------------------------------ IDX */

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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/wb_test_corpus_hostile.%d", (int)getpid());
    if (mkdir(tmpdir, 0700) != 0) {
        perror(tmpdir);
        return 1;
    }
    RUN(test_idx_declared_sizes_checked_before_allocating);
    RUN(test_png_huge_declared_sizes);
    RUN(test_ckpt_hostile_headers);
    RUN(test_malformed_megabyte_fails_fast);
    RUN(test_odd_paths);
    RUN(test_fuzz_corpora_replay);
    rmdir(tmpdir);
    TH_EXIT();
}
