/* gen.h - tiny valid IDX, PNG and checkpoint files, generated in memory.
 *
 * Shared by the corpus test (tests/c/test_corpus.c: every truncation and
 * byte change of each sample must load correctly or fail cleanly) and by
 * the fuzz seed writer (tests/fuzz/gen_seeds.c), so that no binary sample
 * is committed. Header-only: include it from exactly one .c file.
 *
 *   gen_idx(i, &g)   i in 0 .. GEN_IDX_N-1: every IDX type (08 09 0B 0C 0D
 *                    0E), 1..4 dimensions, an empty dimension, gzip copies
 *   gen_png(i, &g)   i in 0 .. GEN_PNG_N-1: every colour type and bit depth
 *                    PNG allows, tRNS variants, each plain and interlaced
 *   gen_ckpt(i, &g)  i in 0 .. GEN_CKPT_N-1: safetensors files written by
 *                    core/safetensors.c (float and uint8 tensors, a scalar,
 *                    an empty tensor, metadata with JSON escapes)
 *
 * Each sample carries what a correct load must give: g.expect (float
 * values, row-major, as loaded) and g.shape. Buffers come from plain
 * malloc (not wb_malloc), so that generating does not move the core's
 * allocation counters between measurements; free with gen_free.
 */
#ifndef WB_FUZZ_GEN_H
#define WB_FUZZ_GEN_H

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../core/safetensors.h"
#include "../../core/tensor.h"

typedef struct gen_buf {
    unsigned char *p;
    size_t n, cap;
    char name[80];
    int ndim;
    int64_t shape[8];
    float *expect; /* numel values as a correct load gives them */
    size_t numel;
} gen_buf;

static void gen_free(gen_buf *g)
{
    free(g->p);
    free(g->expect);
    memset(g, 0, sizeof *g);
}

static void gen_put(gen_buf *g, const void *b, size_t n)
{
    if (g->n + n > g->cap) {
        size_t cap = g->cap ? g->cap : 256;
        while (cap < g->n + n)
            cap *= 2;
        unsigned char *p = realloc(g->p, cap);
        if (!p)
            abort();
        g->p = p;
        g->cap = cap;
    }
    memcpy(g->p + g->n, b, n);
    g->n += n;
}

static void gen_be32(gen_buf *g, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    gen_put(g, b, 4);
}

/* gzip the bytes of g in place (deflate with a gzip wrapper). */
static void gen_gzip(gen_buf *g)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    size_t cap = deflateBound(&zs, (uLong)g->n) + 32;
    unsigned char *out = malloc(cap);
    if (!out)
        abort();
    zs.next_in = g->p;
    zs.avail_in = (uInt)g->n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t n = cap - zs.avail_out;
    deflateEnd(&zs);
    free(g->p);
    g->p = out;
    g->n = n;
    g->cap = cap;
}

/* ------------------------------------------------------------------ IDX */

typedef struct gen_idx_spec {
    int type, ndim;
    uint32_t dims[4];
    int gz;
} gen_idx_spec;

static const gen_idx_spec gen_idx_specs[] = {
    {0x08, 3, {3, 4, 5, 0}, 0},   /* images */
    {0x08, 1, {10, 0, 0, 0}, 0},  /* labels */
    {0x09, 2, {2, 3, 0, 0}, 0},
    {0x0B, 2, {3, 2, 0, 0}, 0},
    {0x0C, 1, {5, 0, 0, 0}, 0},
    {0x0D, 2, {2, 2, 0, 0}, 0},
    {0x0E, 1, {3, 0, 0, 0}, 0},
    {0x08, 4, {2, 1, 2, 3}, 0},
    {0x08, 2, {0, 5, 0, 0}, 0},   /* no rows */
    {0x08, 3, {3, 4, 5, 0}, 1},   /* gzip */
    {0x0D, 2, {2, 2, 0, 0}, 1},
};
#define GEN_IDX_N ((int)(sizeof gen_idx_specs / sizeof gen_idx_specs[0]))

/* The element value number i of a sample (exactly representable). */
static double gen_idx_value(int type, size_t i)
{
    switch (type) {
    case 0x08: return (double)((i * 37 + 11) % 256);
    case 0x09: return (double)((int)((i * 53) % 256) - 128);
    case 0x0B: return (double)((int)(i * 4099 % 65536) - 32768);
    case 0x0C: return (double)((int32_t)(i * 2654435761u % 4294967296u) / 256 * 256);
    case 0x0D: return (double)((int)i - 2) * 0.375;
    default:   return (double)((int)i * 3 - 1) * 0.125;
    }
}

static void gen_idx(int i, gen_buf *g)
{
    const gen_idx_spec *s = &gen_idx_specs[i];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "idx%02d_t%02x_d%d%s", i, s->type, s->ndim,
             s->gz ? "_gz" : "");
    unsigned char head[4] = {0, 0, (unsigned char)s->type, (unsigned char)s->ndim};
    gen_put(g, head, 4);
    size_t numel = 1;
    g->ndim = s->ndim;
    for (int d = 0; d < s->ndim; d++) {
        gen_be32(g, s->dims[d]);
        g->shape[d] = s->dims[d];
        numel *= s->dims[d];
    }
    g->numel = numel;
    g->expect = calloc(numel + 1, sizeof *g->expect);
    for (size_t k = 0; k < numel; k++) {
        double v = gen_idx_value(s->type, k);
        g->expect[k] = (float)v;
        unsigned char b[8];
        switch (s->type) {
        case 0x08: case 0x09: b[0] = (unsigned char)(int)v; gen_put(g, b, 1); break;
        case 0x0B: { uint16_t u = (uint16_t)(int16_t)v;
            b[0] = (unsigned char)(u >> 8); b[1] = (unsigned char)u; gen_put(g, b, 2); break; }
        case 0x0C: gen_be32(g, (uint32_t)(int32_t)v); break;
        case 0x0D: { float f = (float)v; uint32_t u; memcpy(&u, &f, 4); gen_be32(g, u); break; }
        default: { uint64_t u; memcpy(&u, &v, 8);
            gen_be32(g, (uint32_t)(u >> 32)); gen_be32(g, (uint32_t)u); break; }
        }
    }
    if (s->gz)
        gen_gzip(g);
}

/* ------------------------------------------------------------------ PNG */

typedef struct gen_png_spec {
    int color, depth, interlace;
    int trns;  /* palette: alpha per entry; grey/RGB: one transparent colour */
} gen_png_spec;

#define GEN_PNG_W 7
#define GEN_PNG_H 5

static const gen_png_spec gen_png_base[] = {
    {PNG_COLOR_TYPE_GRAY, 1, 0, 0},       {PNG_COLOR_TYPE_GRAY, 2, 0, 0},
    {PNG_COLOR_TYPE_GRAY, 4, 0, 0},       {PNG_COLOR_TYPE_GRAY, 8, 0, 0},
    {PNG_COLOR_TYPE_GRAY, 16, 0, 0},      {PNG_COLOR_TYPE_GRAY, 8, 0, 1},
    {PNG_COLOR_TYPE_GRAY, 16, 0, 1},      {PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0},
    {PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0}, {PNG_COLOR_TYPE_RGB, 8, 0, 0},
    {PNG_COLOR_TYPE_RGB, 16, 0, 0},       {PNG_COLOR_TYPE_RGB, 8, 0, 1},
    {PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0},  {PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0},
    {PNG_COLOR_TYPE_PALETTE, 1, 0, 0},    {PNG_COLOR_TYPE_PALETTE, 2, 0, 0},
    {PNG_COLOR_TYPE_PALETTE, 4, 0, 0},    {PNG_COLOR_TYPE_PALETTE, 8, 0, 0},
    {PNG_COLOR_TYPE_PALETTE, 8, 0, 1},    {PNG_COLOR_TYPE_PALETTE, 2, 0, 1},
};
#define GEN_PNG_BASE ((int)(sizeof gen_png_base / sizeof gen_png_base[0]))
#define GEN_PNG_N (2 * GEN_PNG_BASE) /* each plain and interlaced */

static const unsigned gen_levels[4] = {0, 85, 170, 255};
static const unsigned gen_alphas[4] = {255, 128, 0, 255};

/* Level index (into gen_levels) of pixel (x, y) for a depth. */
static int gen_png_k(int x, int y, int depth)
{
    int k = (x + 2 * y + (x * y) % 3) % 4;
    return depth == 1 ? (k % 2) * 3 : k; /* 1 bit: levels 0 and 255 only */
}

typedef struct gen_png_out {
    gen_buf *g;
} gen_png_out;

static void gen_png_write_cb(png_structp png, png_bytep data, size_t n)
{
    gen_put(((gen_png_out *)png_get_io_ptr(png))->g, data, n);
}

static void gen_png_flush_cb(png_structp png) { (void)png; }

/* Is spec's sample (a grey/RGB level) the transparent colour of tRNS? */
#define GEN_TRNS_LEVEL 1 /* gen_levels[1] = 85 is transparent */

static const char *gen_color_name(int c)
{
    switch (c) {
    case PNG_COLOR_TYPE_GRAY: return "grey";
    case PNG_COLOR_TYPE_GRAY_ALPHA: return "greyalpha";
    case PNG_COLOR_TYPE_RGB: return "rgb";
    case PNG_COLOR_TYPE_RGB_ALPHA: return "rgba";
    default: return "palette";
    }
}

static void gen_png(int i, gen_buf *g)
{
    gen_png_spec s = gen_png_base[i % GEN_PNG_BASE];
    s.interlace = i >= GEN_PNG_BASE;
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "png%02d_%s%d%s%s", i, gen_color_name(s.color),
             s.depth, s.trns ? "_trns" : "", s.interlace ? "_adam7" : "");
    const int W = GEN_PNG_W, H = GEN_PNG_H;
    g->ndim = 2;
    g->shape[0] = H;
    g->shape[1] = W;
    g->numel = (size_t)W * H;
    g->expect = calloc(g->numel, sizeof *g->expect);
    int ch = s.color == PNG_COLOR_TYPE_GRAY ? 1 : s.color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
           : s.color == PNG_COLOR_TYPE_RGB ? 3 : s.color == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : 1;
    int bps = s.depth == 16 ? 2 : 1;
    unsigned maxv = s.color == PNG_COLOR_TYPE_PALETTE ? 255 : (1u << s.depth) - 1;
    unsigned char *rows = calloc((size_t)H, (size_t)W * ch * bps);
    png_bytep ptrs[GEN_PNG_H];
    for (int y = 0; y < H; y++) {
        ptrs[y] = rows + (size_t)y * W * ch * bps;
        for (int x = 0; x < W; x++) {
            int k = gen_png_k(x, y, s.depth);
            unsigned level = gen_levels[k];               /* 0..255 */
            unsigned alpha = 255;
            unsigned samp[4];
            if (s.color == PNG_COLOR_TYPE_PALETTE) {
                samp[0] = (unsigned)k;                    /* palette index */
                if (s.trns)
                    alpha = gen_alphas[k];
            } else {
                unsigned v = maxv == 255 ? level : maxv == 65535 ? level * 257
                                                                 : level * maxv / 255;
                int has_a = s.color == PNG_COLOR_TYPE_GRAY_ALPHA ||
                            s.color == PNG_COLOR_TYPE_RGB_ALPHA;
                unsigned a = has_a ? gen_alphas[(x + y) % 4] : 255;
                if (has_a)
                    alpha = a;
                if (s.trns && k == GEN_TRNS_LEVEL)
                    alpha = 0;
                int nc = ch - has_a;
                for (int c = 0; c < nc; c++)
                    samp[c] = v;
                if (has_a)
                    samp[nc] = s.depth == 16 ? a * 257 : a;
            }
            for (int c = 0; c < ch; c++) {
                unsigned char *p = ptrs[y] + ((size_t)x * ch + c) * bps;
                if (bps == 2) {
                    p[0] = (unsigned char)(samp[c] >> 8);
                    p[1] = (unsigned char)samp[c];
                } else {
                    p[0] = (unsigned char)samp[c];
                }
            }
            double a = alpha / 255.0, yv = level / 255.0;
            g->expect[(size_t)y * W + x] = (float)(a * yv + (1.0 - a));
        }
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png)))
        abort(); /* a generator bug, not a test outcome */
    gen_png_out out = {g};
    png_set_write_fn(png, &out, gen_png_write_cb, gen_png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, s.depth, s.color,
                 s.interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (s.color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[4];
        for (int k = 0; k < 4; k++)
            pal[k].red = pal[k].green = pal[k].blue = (png_byte)gen_levels[k];
        int npal = s.depth == 1 ? 2 : 4;
        if (s.depth == 1) /* indices 0 and 3 map to 0 and 1 */
            pal[1] = pal[3];
        png_set_PLTE(png, info, pal, npal);
        if (s.trns) {
            png_byte ta[4];
            for (int k = 0; k < 4; k++)
                ta[k] = (png_byte)gen_alphas[k];
            png_set_tRNS(png, info, ta, npal, NULL);
        }
    } else if (s.trns) {
        png_color_16 tc;
        memset(&tc, 0, sizeof tc);
        unsigned v = s.depth == 16 ? gen_levels[GEN_TRNS_LEVEL] * 257
                                   : gen_levels[GEN_TRNS_LEVEL];
        tc.gray = tc.red = tc.green = tc.blue = (png_uint_16)v;
        png_set_tRNS(png, info, NULL, 0, &tc);
    }
    png_set_compression_level(png, 9);
    png_write_info(png, info);
    if (s.depth < 8)
        png_set_packing(png);
    if (s.color == PNG_COLOR_TYPE_PALETTE && s.depth == 1)
        for (int y = 0; y < H; y++) /* index 3 -> entry 1 */
            for (int x = 0; x < W; x++)
                ptrs[y][x] = ptrs[y][x] ? 1 : 0;
    png_write_image(png, ptrs);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
}

/* ----------------------------------------------------------- checkpoints */

#define GEN_CKPT_N 4

/* Write sample i with core/safetensors.c into a temporary file in dir and
 * read the bytes back. */
static void gen_ckpt(int i, gen_buf *g, const char *dir)
{
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "ckpt%02d", i);
    wb_err err;
    wb_tensor *t[4] = {0};
    const char *names[4];
    const char *mk[3], *mv[3];
    int n = 0, nm = 0;
    if (i == 0 || i == 3) { /* a Dense 4->3 layer as model:save writes it */
        t[0] = wb_tensor_new(WB_F32, 2, (int64_t[]){4, 3}, &err);
        t[1] = wb_tensor_new(WB_F32, 1, (int64_t[]){3}, &err);
        names[0] = "layers.1.weight";
        names[1] = "layers.1.bias";
        n = 2;
        mk[0] = "format"; mv[0] = "workbench";
        mk[1] = "workbench.architecture";
        mv[1] = "[{\"kind\":\"Dense\",\"n_in\":4,\"n_out\":3,\"activation\":"
                "\"relu\",\"l2\":0,\"init\":\"glorot_uniform\",\"use_bias\":true}]";
        nm = 2;
        if (i == 3) { /* escapes and non-ASCII in metadata */
            mk[2] = "note \"q\"";
            mv[2] = "tab\there\nnew line \\ \xc3\xa9 \x01";
            nm = 3;
        }
    } else if (i == 1) { /* uint8, a scalar, an empty tensor */
        t[0] = wb_tensor_new(WB_U8, 2, (int64_t[]){2, 5}, &err);
        t[1] = wb_tensor_new(WB_F32, 0, NULL, &err);
        t[2] = wb_tensor_new(WB_F32, 2, (int64_t[]){0, 3}, &err);
        names[0] = "images"; names[1] = "scale"; names[2] = "empty";
        n = 3;
    } else { /* metadata only */
        mk[0] = "format"; mv[0] = "workbench";
        nm = 1;
    }
    size_t total = 0;
    for (int k = 0; k < n; k++)
        total += wb_tensor_numel(t[k]);
    g->expect = calloc(total + 1, sizeof *g->expect);
    g->numel = total;
    size_t at = 0;
    for (int k = 0; k < n; k++)
        for (size_t e = 0; e < wb_tensor_numel(t[k]); e++) {
            double v = t[k]->dtype == WB_U8 ? (double)((e * 97 + 3) % 256)
                                            : ((double)e - 4.5) * 0.25 + k;
            wb_tensor_set_flat(t[k], e, v);
            g->expect[at++] = (float)v;
        }
    char path[512];
    snprintf(path, sizeof path, "%s/gen_ckpt_%d_%d.safetensors", dir, (int)getpid(), i);
    if (wb_safetensors_save(path, n, names, (const wb_tensor *const *)t, nm, mk, mv,
                            &err) != WB_OK) {
        fprintf(stderr, "gen_ckpt: %s\n", err.msg);
        abort();
    }
    for (int k = 0; k < n; k++)
        wb_tensor_free(t[k]);
    FILE *f = fopen(path, "rb");
    if (!f)
        abort();
    unsigned char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0)
        gen_put(g, buf, r);
    fclose(f);
    remove(path);
}

#endif
