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
 * Hostile inputs (declared sizes far beyond the file, 1 MB malformed
 * inputs, odd paths, the committed fuzz findings) are test_corpus_hostile.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
    RUN(test_png_samples_load);
    RUN(test_png_formats_equal_8bit_grey);
    RUN(test_png_every_truncation_fails);
    RUN(test_png_byte_changes_are_clean);
    RUN(test_ckpt_samples_load);
    RUN(test_ckpt_every_truncation_fails);
    RUN(test_ckpt_byte_changes_are_clean);
    rmdir(tmpdir);
    TH_EXIT();
}
