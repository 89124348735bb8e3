/* test_safetensors.c - writer/reader round trip and the reader's validation:
 * every truncation, corrupted bytes, hostile header lengths and offsets, bad
 * dtypes, malformed JSON, allocation failures; no leaks (wb_alloc_live).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/alloc.h"
#include "../../core/safetensors.h"
#include "harness.h"

static char dir[64];

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static wb_tensor *ramp(wb_dtype dt, int ndim, const int64_t *shape, float scale)
{
    wb_err err;
    wb_tensor *t = wb_tensor_new(dt, ndim, shape, &err);
    size_t n = wb_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        wb_tensor_set_flat(t, i, dt == WB_U8 ? (double)(i % 256) : scale * (double)i - 1.5);
    return t;
}

/* Write a raw file: 8-byte length (hlen, or strlen(hdr) when hlen == 0),
 * the header text, then dlen bytes of data (0x11 each). */
static void put_raw(const char *path, const char *hdr, uint64_t hlen, size_t dlen)
{
    FILE *f = fopen(path, "wb");
    uint64_t n = hlen ? hlen : strlen(hdr);
    for (int i = 0; i < 8; i++)
        fputc((int)((n >> (8 * i)) & 0xFF), f);
    fwrite(hdr, 1, strlen(hdr), f);
    for (size_t i = 0; i < dlen; i++)
        fputc(0x11, f);
    fclose(f);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    if (fread(b, 1, *n, f) != *n)
        *n = 0;
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static int count_files(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Save a small model-like file: 3 tensors (one U8) + 2 metadata pairs. */
static wb_status save_small(const char *path, wb_err *err)
{
    int64_t s1[2] = {3, 4}, s2[1] = {4}, s3[2] = {2, 3};
    wb_tensor *t[3] = {ramp(WB_F32, 2, s1, 0.25f), ramp(WB_F32, 1, s2, -2.0f),
                       ramp(WB_U8, 2, s3, 1)};
    const char *names[3] = {"layers.1.weight", "layers.1.bias", "image \"q\""};
    const char *keys[2] = {"workbench.architecture", "note"};
    const char *vals[2] = {"[{\"kind\":\"Dense\"}]", "caf\xc3\xa9\n\ttab\\"};
    wb_status st = wb_safetensors_save(path, 3, names, (const wb_tensor *const *)t,
                                       2, keys, vals, err);
    for (int i = 0; i < 3; i++)
        wb_tensor_free(t[i]);
    return st;
}

static void test_round_trip(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    const char *path = tmp_path("rt.safetensors");
    REQUIRE(save_small(path, &err) == WB_OK, "save: %s", err.msg);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | raw[i];
    CHECK(hlen % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hlen);
    CHECK(n == 8 + hlen + 48 + 16 + 6, "file size %zu", n);
    CHECK(raw[8] == '{', "header starts with {");
    free(raw);

    wb_safetensors *st = wb_safetensors_load(path, &err);
    REQUIRE(st, "load: %s", err.msg);
    CHECK(wb_safetensors_count(st) == 3, "count %d", wb_safetensors_count(st));
    CHECK(strcmp(wb_safetensors_name(st, 0), "layers.1.weight") == 0, "name 0");
    CHECK(strcmp(wb_safetensors_name(st, 2), "image \"q\"") == 0, "escaped name");
    int w = wb_safetensors_find(st, "layers.1.weight");
    int b = wb_safetensors_find(st, "layers.1.bias");
    CHECK(wb_safetensors_find(st, "nope") == -1, "find missing");
    REQUIRE(w >= 0 && b >= 0, "find");
    const wb_tensor *tw = wb_safetensors_tensor(st, w), *tb = wb_safetensors_tensor(st, b);
    CHECK(tw->dtype == WB_F32 && tw->ndim == 2 && tw->shape[0] == 3 && tw->shape[1] == 4,
          "weight shape");
    CHECK_NEAR(wb_tensor_f32(tw)[5], 0.25 * 5 - 1.5, 0);
    CHECK_NEAR(wb_tensor_f32(tb)[3], -2.0 * 3 - 1.5, 0);
    const wb_tensor *tu = wb_safetensors_tensor(st, 2);
    CHECK(tu->dtype == WB_U8 && wb_tensor_u8(tu)[5] == 5, "u8 tensor");
    REQUIRE(wb_safetensors_meta_count(st) == 2, "meta count");
    CHECK(strcmp(wb_safetensors_meta_key(st, 0), "workbench.architecture") == 0, "meta key");
    CHECK(strcmp(wb_safetensors_meta_value(st, 0), "[{\"kind\":\"Dense\"}]") == 0,
          "meta value: %s", wb_safetensors_meta_value(st, 0));
    CHECK(strcmp(wb_safetensors_meta_value(st, 1), "caf\xc3\xa9\n\ttab\\") == 0,
          "meta escapes: %s", wb_safetensors_meta_value(st, 1));
    wb_safetensors_free(st);
    CHECK(wb_alloc_live() == live0, "leak: %ld live", wb_alloc_live() - live0);
}

static void test_every_truncation_fails(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    const char *path = tmp_path("full.safetensors"), *cut = tmp_path("cut.safetensors");
    REQUIRE(save_small(path, &err) == WB_OK, "save: %s", err.msg);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    for (size_t len = 0; len < n; len++) {
        spit(cut, raw, len);
        err.code = WB_OK;
        err.msg[0] = '\0';
        wb_safetensors *st = wb_safetensors_load(cut, &err);
        CHECK(!st, "truncated to %zu of %zu bytes loaded", len, n);
        wb_safetensors_free(st);
        CHECK(err.code == WB_EFORMAT, "len %zu: code %s: %s", len,
              wb_status_name(err.code), err.msg);
        CHECK(strstr(err.msg, cut) == err.msg, "len %zu: message names file: %s", len,
              err.msg);
    }
    free(raw);
    CHECK(wb_alloc_live() == live0, "leak: %ld live", wb_alloc_live() - live0);
}

static void test_huge_header_length(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    const char *path = tmp_path("huge.safetensors");
    put_raw(path, "{}", (uint64_t)1 << 63, 0);
    wb_safetensors *st = wb_safetensors_load(path, &err);
    REQUIRE(!st, "loaded");
    CHECK(err.code == WB_EFORMAT, "code %s", wb_status_name(err.code));
    CHECK(strstr(err.msg, "header length 9223372036854775808 exceeds file size 10"),
          "message: %s", err.msg);
    put_raw(path, "{}", UINT64_MAX, 0);
    st = wb_safetensors_load(path, &err);
    CHECK(!st && strstr(err.msg, "header length 18446744073709551615"), "max: %s", err.msg);
    put_raw(path, "{}", 11, 0); /* one byte past the end */
    st = wb_safetensors_load(path, &err);
    CHECK(!st && strstr(err.msg, "header length 11 exceeds file size 10"), "11: %s", err.msg);
    CHECK(wb_alloc_live() == live0, "leak");
}

/* Each header must be rejected with a message containing want. */
static void expect_bad(const char *hdr, size_t dlen, const char *want)
{
    wb_err err;
    const char *path = tmp_path("bad.safetensors");
    put_raw(path, hdr, 0, dlen);
    err.msg[0] = '\0';
    wb_safetensors *st = wb_safetensors_load(path, &err);
    CHECK(!st, "accepted: %s", hdr);
    wb_safetensors_free(st);
    CHECK(err.code == WB_EFORMAT, "%s: code %s", hdr, wb_status_name(err.code));
    CHECK(strstr(err.msg, want), "%s: message '%s' lacks '%s'", hdr, err.msg, want);
}

#define T1(dt, shape, off) "{\"a\":{\"dtype\":\"" dt "\",\"shape\":" shape \
                           ",\"data_offsets\":" off "}}"

static void test_offsets(void)
{
    long live0 = wb_alloc_live();
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
               24, "tensor 'b' [8, 24] overlaps tensor 'a' [0, 16]");
    expect_bad(T1("F32", "[4]", "[0,16]"), 12,
               "data_offsets end 16 exceeds the data size 12");
    expect_bad(T1("F32", "[4]", "[16,0]"), 16, "end before begin");
    expect_bad(T1("F32", "[4]", "[0,12]"), 12, "shape [4] of F32 needs 16 bytes, "
                                               "data_offsets give 12");
    expect_bad(T1("F32", "[4]", "[4,20]"), 20, "4 unused data bytes before tensor 'a'");
    expect_bad(T1("F32", "[4]", "[0,16]"), 20, "4 bytes after the last tensor");
    expect_bad(T1("F32", "[4611686018427387904,4]", "[0,16]"), 16, "needs 18446744073709551615");
    expect_bad(T1("F32", "[4]", "[0,18446744073709551616]"), 16, "too big integer");
    CHECK(wb_alloc_live() == live0, "leak");
}

static void test_bad_dtype_and_json(void)
{
    long live0 = wb_alloc_live();
    expect_bad(T1("F16", "[4]", "[0,8]"), 8, "tensor 'a': dtype F16 is not supported");
    expect_bad(T1("F64", "[1]", "[0,8]"), 8, "dtype F64");
    expect_bad("[]      ", 0, "header: expected a JSON object, got an array");
    expect_bad("{\"a\":{}}", 0, "tensor 'a': missing field 'dtype'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 0, "missing field 'data_offsets'");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\"}}", 0, "duplicate object key");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"x\":1}}", 0, "unknown field 'x'");
    expect_bad(T1("F32", "[-4]", "[0,16]"), 16, "expected an unsigned integer");
    expect_bad(T1("F32", "[04]", "[0,16]"), 16, "invalid token");
    expect_bad(T1("F32", "[4.0]", "[0,16]"), 16, "fraction or exponent");
    expect_bad(T1("F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]"), 4, "shape has 9 elements, at most 8");
    expect_bad(T1("F32", "[4]", "[0,16,3]"), 16, "data_offsets has 3 elements, at most 2");
    expect_bad(T1("F32", "[4]", "[0]"), 16, "data_offsets must have 2 elements");
    expect_bad("{\"a\\q\":{}}", 0, "invalid escape");
    expect_bad("{\"a\\ud800\":{}}", 0, "invalid Unicode");
    expect_bad("{\"\xff\":{}}", 0, "unable to decode byte 0xff");
    expect_bad("{\"\xc0\x80\":{}}", 0, "unable to decode byte 0xc0");
    expect_bad("{\"a\nb\":{}}", 0, "unexpected newline");
    expect_bad("{\"a", 0, "premature end of input");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}",
               0, "duplicate object key near '\"a\"'");
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "expected a string");
    expect_bad("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", 0, "duplicate object key near '\"k\"'");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate object key near '\"__metadata__\"'");
    expect_bad("{} x", 0, "header byte 4: end of file expected");
    CHECK(wb_alloc_live() == live0, "leak");
}

/* Flip every header byte to a few values: each load must fail cleanly or
 * succeed, never crash or leak (a small deterministic fuzz). */
static void test_corrupted_bytes(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    const char *path = tmp_path("c.safetensors"), *bad = tmp_path("c2.safetensors");
    REQUIRE(save_small(path, &err) == WB_OK, "save: %s", err.msg);
    size_t n;
    unsigned char *raw = slurp(path, &n);
    const unsigned char vals[] = {0x00, 0x22, 0x5c, 0x7b, 0x7d, 0x30, 0x39, 0xff, 0x20};
    int failed = 0, loaded = 0;
    for (size_t i = 0; i < n && i < 8 + 400; i++) {
        unsigned char keep = raw[i];
        for (size_t v = 0; v < sizeof vals; v++) {
            if (vals[v] == keep)
                continue;
            raw[i] = vals[v];
            spit(bad, raw, n);
            wb_safetensors *st = wb_safetensors_load(bad, &err);
            if (st)
                loaded++;
            else if (err.code == WB_EFORMAT && strstr(err.msg, bad) == err.msg)
                failed++;
            else
                CHECK(0, "byte %zu = 0x%02x: code %s: %s", i, vals[v],
                      wb_status_name(err.code), err.msg);
            wb_safetensors_free(st);
        }
        raw[i] = keep;
    }
    free(raw);
    CHECK(failed > 100, "only %d corruptions detected", failed);
    CHECK(wb_alloc_live() == live0, "leak: %ld live", wb_alloc_live() - live0);
}

static void test_alloc_failures(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    const char *path = tmp_path("oom.safetensors");
    REQUIRE(save_small(path, &err) == WB_OK, "save: %s", err.msg);
    int ok_load = 0, ok_save = 0;
    for (long k = 1; k < 300; k++) {
        wb_alloc_fail_at(k, 0);
        wb_safetensors *st = wb_safetensors_load(path, &err);
        wb_alloc_fail_at(0, 0);
        if (st)
            ok_load++;
        else
            CHECK(err.code == WB_ENOMEM, "load, alloc %ld: %s", k, err.msg);
        wb_safetensors_free(st);
    }
    /* the tensors of save_small are built under injection too: use a
     * prebuilt tensor instead. */
    int64_t s[2] = {5, 7};
    wb_tensor *t = ramp(WB_F32, 2, s, 1);
    const char *name = "w";
    for (long k = 1; k < 200; k++) {
        wb_alloc_fail_at(k, 0);
        wb_status st = wb_safetensors_save(path, 1, &name, (const wb_tensor *const *)&t,
                                           0, NULL, NULL, &err);
        wb_alloc_fail_at(0, 0);
        if (st == WB_OK)
            ok_save++;
        else
            CHECK(st == WB_ENOMEM || strstr(err.msg, "Cannot allocate memory"),
                  "save, alloc %ld: %s", k, err.msg);
    }
    wb_tensor_free(t);
    CHECK(ok_load > 0 && ok_save > 0, "some calls must succeed (%d, %d)", ok_load, ok_save);
    CHECK(wb_alloc_live() == live0, "leak: %ld live", wb_alloc_live() - live0);
}

static void test_atomic_write(void)
{
    long live0 = wb_alloc_live();
    wb_err err;
    int before = count_files();
    int64_t s[1] = {3};
    wb_tensor *t = ramp(WB_F32, 1, s, 1);
    const char *name = "w";
    wb_status st = wb_safetensors_save("/nonexistent-dir/m.safetensors", 1, &name,
                                       (const wb_tensor *const *)&t, 0, NULL, NULL, &err);
    CHECK(st == WB_ECREATE, "code %s", wb_status_name(st));
    CHECK(strstr(err.msg, "/nonexistent-dir/m.safetensors"), "message: %s", err.msg);
    const char *path = tmp_path("over.safetensors");
    REQUIRE(save_small(path, &err) == WB_OK, "save: %s", err.msg);
    REQUIRE(wb_safetensors_save(path, 1, &name, (const wb_tensor *const *)&t, 0, NULL,
                                NULL, &err) == WB_OK, "overwrite: %s", err.msg);
    wb_safetensors *f = wb_safetensors_load(path, &err);
    REQUIRE(f, "reload: %s", err.msg);
    CHECK(wb_safetensors_count(f) == 1 && wb_safetensors_meta_count(f) == 0,
          "replaced file has 1 tensor and no metadata");
    wb_safetensors_free(f);
    CHECK(count_files() <= before + 1, "temporary files left behind");
    const char *dup[2] = {"x", "x"};
    const wb_tensor *two[2] = {t, t};
    st = wb_safetensors_save(path, 2, dup, two, 0, NULL, NULL, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "'x' appears twice"), "dup: %s", err.msg);
    const char *meta = "__metadata__";
    st = wb_safetensors_save(path, 1, &meta, two, 0, NULL, NULL, &err);
    CHECK(st == WB_EINVAL && strstr(err.msg, "reserved"), "reserved: %s", err.msg);
    wb_tensor_free(t);
    wb_safetensors *m = wb_safetensors_load(tmp_path("missing"), &err);
    CHECK(!m && err.code == WB_ENOENT, "missing file: %s", wb_status_name(err.code));
    CHECK(wb_alloc_live() == live0, "leak");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/wb_st_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_round_trip);
    RUN(test_every_truncation_fails);
    RUN(test_huge_header_length);
    RUN(test_offsets);
    RUN(test_bad_dtype_and_json);
    RUN(test_corrupted_bytes);
    RUN(test_alloc_failures);
    RUN(test_atomic_write);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    TH_EXIT();
}
