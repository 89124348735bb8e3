/* safetensors.c - safetensors writer and validating reader. See safetensors.h.
 *
 * Not a general JSON library: the reader's parser accepts the safetensors
 * header schema only (one object of objects, strings, unsigned integers and
 * arrays of them), which keeps it short enough to audit. Every length and
 * offset read from a file is checked against the file size, in uint64
 * arithmetic, before anything is allocated from it.
 *
 * Files are written through fsutil's streaming atomic writer (temporary
 * file in the same folder, fsync, rename, folder fsync).
 */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fsutil.h"

struct wb_safetensors {
    int n, n_meta;
    char **names;          /* [n], file (offset) order */
    wb_tensor **tensors;   /* [n], owned */
    char **meta_keys;      /* [n_meta] */
    char **meta_vals;      /* [n_meta] */
};

static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Byte-swap n 4-byte elements in place (big-endian hosts only). */
static void swap32(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        uint8_t t0 = b[0], t1 = b[1];
        b[0] = b[3];
        b[1] = b[2];
        b[2] = t1;
        b[3] = t0;
    }
}

static const char *dtype_tag(wb_dtype dt) { return dt == WB_U8 ? "U8" : "F32"; }

/* ---------------------------------------------------------------------------
 * Growable string buffer (for the header the writer builds)
 */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = wb_realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_u64(sbuf *b, uint64_t v)
{
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    sb_add(b, tmp, (size_t)k);
}

/* A JSON string literal: quotes, backslash and control characters escaped;
 * other bytes (UTF-8) as they are. */
static void sb_json(sbuf *b, const char *s)
{
    sb_add(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char esc[8];
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*c;
            sb_add(b, esc, 2);
        } else if (*c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            sb_add(b, esc, 6);
        } else {
            sb_add(b, (const char *)c, 1);
        }
    }
    sb_add(b, "\"", 1);
}

/* ---------------------------------------------------------------------------
 * Writer
 */
static wb_status check_save_args(int n, const char *const *names,
                                 const wb_tensor *const *tensors, int n_meta,
                                 const char *const *keys, const char *const *vals,
                                 wb_err *err)
{
    if (n < 0 || n_meta < 0)
        return wb_err_set(err, WB_EINVAL, "negative tensor or metadata count");
    for (int i = 0; i < n; i++) {
        if (!names[i] || !names[i][0])
            return wb_err_set(err, WB_EINVAL, "tensor %d has an empty name", i + 1);
        if (strcmp(names[i], "__metadata__") == 0)
            return wb_err_set(err, WB_EINVAL,
                              "tensor %d: the name __metadata__ is reserved", i + 1);
        if (!tensors[i] || !tensors[i]->storage)
            return wb_err_set(err, WB_EINVAL, "tensor '%s' is missing", names[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return wb_err_set(err, WB_EINVAL, "tensor name '%s' appears twice",
                                  names[i]);
    }
    for (int i = 0; i < n_meta; i++)
        if (!keys[i] || !vals[i])
            return wb_err_set(err, WB_EINVAL, "metadata entry %d is missing", i + 1);
    return WB_OK;
}

/* The header JSON, padded with spaces to a multiple of 8. */
static wb_status build_header(sbuf *b, int n, const char *const *names,
                              const wb_tensor *const *tensors, int n_meta,
                              const char *const *keys, const char *const *vals,
                              wb_err *err)
{
    sb_str(b, "{");
    if (n_meta > 0) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i)
                sb_str(b, ",");
            sb_json(b, keys[i]);
            sb_str(b, ":");
            sb_json(b, vals[i]);
        }
        sb_str(b, "}");
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const wb_tensor *t = tensors[i];
        uint64_t bytes = (uint64_t)wb_tensor_numel(t) * wb_dtype_size(t->dtype);
        if (i || n_meta > 0)
            sb_str(b, ",");
        sb_json(b, names[i]);
        sb_str(b, ":{\"dtype\":\"");
        sb_str(b, dtype_tag(t->dtype));
        sb_str(b, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d)
                sb_str(b, ",");
            sb_u64(b, (uint64_t)t->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_u64(b, off);
        sb_str(b, ",");
        sb_u64(b, off + bytes);
        sb_str(b, "]}");
        off += bytes;
    }
    sb_str(b, "}");
    while (!b->oom && b->n % 8)
        sb_str(b, " ");
    if (b->oom)
        return wb_err_set(err, WB_ENOMEM, "out of memory building the header");
    return WB_OK;
}

static wb_status write_tensor(wb_atomic *f, const wb_tensor *t, wb_err *err)
{
    size_t n = wb_tensor_numel(t), esz = wb_dtype_size(t->dtype);
    const char *p = (const char *)t->storage->data + t->offset * esz;
    if (esz == 1 || little_endian())
        return wb_atomic_write(f, p, n * esz, err);
    /* Big-endian host: swap through a small stack buffer. */
    uint8_t chunk[4096];
    for (size_t done = 0; done < n;) {
        size_t k = n - done < sizeof chunk / 4 ? n - done : sizeof chunk / 4;
        memcpy(chunk, p + done * 4, k * 4);
        swap32(chunk, k);
        if (wb_atomic_write(f, chunk, k * 4, err) != WB_OK)
            return err ? err->code : WB_EIO;
        done += k;
    }
    return WB_OK;
}

/* Length, header, data through the streaming atomic writer (fsutil.h). */
static wb_status write_atomic(const char *path, const sbuf *hdr, int n,
                              const wb_tensor *const *tensors, wb_err *err)
{
    wb_atomic *f = wb_atomic_new(path, err);
    if (!f)
        return err ? err->code : WB_EIO;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hdr->n >> (8 * i));
    wb_status st = wb_atomic_write(f, len8, 8, err);
    if (st == WB_OK)
        st = wb_atomic_write(f, hdr->p, hdr->n, err);
    for (int i = 0; st == WB_OK && i < n; i++)
        st = write_tensor(f, tensors[i], err);
    if (st != WB_OK) {
        wb_atomic_free(f);
        return st;
    }
    return wb_atomic_commit(f, err);
}

wb_status wb_safetensors_save(const char *path, int n, const char *const *names,
                              const wb_tensor *const *tensors, int n_meta,
                              const char *const *meta_keys,
                              const char *const *meta_vals, wb_err *err)
{
    if (check_save_args(n, names, tensors, n_meta, meta_keys, meta_vals, err))
        return wb_err_prefix(err, "%s: ", path);
    sbuf hdr = {0};
    wb_status st = build_header(&hdr, n, names, tensors, n_meta, meta_keys,
                                meta_vals, err);
    if (st == WB_OK)
        st = write_atomic(path, &hdr, n, tensors, err);
    wb_free(hdr.p);
    return st;
}

/* ---------------------------------------------------------------------------
 * Header parser (the safetensors schema only)
 */
typedef struct entry {
    char *name;                 /* owned until moved into the result */
    wb_dtype dtype;
    int ndim;
    int64_t shape[WB_MAX_DIM];
    uint64_t begin, end;        /* data_offsets, relative to the data start */
    int seen;                   /* fields read: 1 dtype, 2 shape, 4 offsets */
} entry;

typedef struct parser {
    const char *s;              /* header text [n], NUL-terminated */
    size_t n, i;
    const char *path;
    wb_err *err;
    entry *e;
    int ne, cap_e;
    char **mk, **mv;            /* metadata keys and values */
    int nm, cap_m, have_meta;
} parser;

static int perr(parser *p, const char *what)
{
    wb_err_set(p->err, WB_EFORMAT, "%s: header byte %zu: %s", p->path, p->i, what);
    return -1;
}

static void ws(parser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                           p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int expect(parser *p, char c)
{
    char msg[40];
    ws(p);
    if (p->i < p->n && p->s[p->i] == c) {
        p->i++;
        return 0;
    }
    snprintf(msg, sizeof msg, "expected '%c'", c);
    return perr(p, msg);
}

/* Length of the valid UTF-8 sequence at s (at most avail bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (avail < len)
        return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int hex4(parser *p, size_t at, unsigned *out)
{
    unsigned v = 0;
    if (at + 4 > p->n)
        return -1;
    for (size_t k = at; k < at + 4; k++) {
        char c = p->s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape after a backslash at p->i; appends to o, advances p->i. */
static int unescape(parser *p, char *o, size_t *olen)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char c = p->i < p->n ? p->s[p->i] : '\0';
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit) {
        o[(*olen)++] = to[hit - from];
        p->i++;
        return 0;
    }
    unsigned cp, lo;
    if (c != 'u' || hex4(p, p->i + 1, &cp) != 0)
        return perr(p, "bad escape in string");
    p->i += 5;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return perr(p, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (p->i + 1 >= p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
            hex4(p, p->i + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return perr(p, "high surrogate without a low surrogate");
        p->i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp == 0)
        return perr(p, "\\u0000 is not supported in names");
    *olen += put_utf8(o + *olen, cp);
    return 0;
}

/* A JSON string at p->i into a new NUL-terminated buffer (*out, owned). */
static int parse_string(parser *p, char **out)
{
    ws(p);
    if (p->i >= p->n || p->s[p->i] != '"')
        return perr(p, "expected a string");
    size_t start = ++p->i, end = start;
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n)
        return perr(p, "unterminated string");
    char *o = wb_malloc(end - start + 1); /* decoding never lengthens */
    if (!o) {
        wb_err_set(p->err, WB_ENOMEM, "%s: out of memory reading the header", p->path);
        return -1;
    }
    size_t olen = 0;
    while (p->i < end) {
        const unsigned char *c = (const unsigned char *)p->s + p->i;
        size_t k;
        if (*c == '\\') {
            p->i++;
            if (unescape(p, o, &olen) != 0)
                goto fail;
        } else if (*c < 0x20) {
            perr(p, "control character in string");
            goto fail;
        } else if ((k = utf8_len(c, end - p->i)) == 0) {
            perr(p, "invalid UTF-8 in string");
            goto fail;
        } else {
            memcpy(o + olen, c, k);
            olen += k;
            p->i += k;
        }
    }
    if (p->i != end) {
        perr(p, "bad escape at the end of a string");
        goto fail;
    }
    p->i = end + 1;
    o[olen] = '\0';
    *out = o;
    return 0;
fail:
    wb_free(o);
    return -1;
}

/* An unsigned integer without sign, fraction or exponent. */
static int parse_u64(parser *p, uint64_t *out)
{
    ws(p);
    size_t start = p->i;
    uint64_t v = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        unsigned d = (unsigned)(p->s[p->i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return perr(p, "integer does not fit in 64 bits");
        v = v * 10 + d;
        p->i++;
    }
    if (p->i == start)
        return perr(p, "expected an unsigned integer");
    if (p->s[start] == '0' && p->i - start > 1)
        return perr(p, "integer with a leading zero");
    if (p->i < p->n && (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
        return perr(p, "expected an integer, got a fraction or exponent");
    *out = v;
    return 0;
}

/* [u64, ...] with at most max elements. */
static int parse_u64_array(parser *p, uint64_t *out, int max, int *count)
{
    *count = 0;
    if (expect(p, '['))
        return -1;
    ws(p);
    if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        return 0;
    }
    for (;;) {
        if (*count == max)
            return perr(p, "too many array elements");
        if (parse_u64(p, &out[(*count)++]))
            return -1;
        ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        return expect(p, ']');
    }
}

/* Calls item(p, key, ctx) for each "key": of an object; item consumes the
 * value and takes ownership of key (frees or keeps it). */
static int parse_object(parser *p, int (*item)(parser *, char *, void *), void *ctx)
{
    if (expect(p, '{'))
        return -1;
    ws(p);
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        return 0;
    }
    for (;;) {
        char *key;
        if (parse_string(p, &key))
            return -1;
        if (expect(p, ':')) {
            wb_free(key);
            return -1;
        }
        if (item(p, key, ctx))
            return -1;
        ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        return expect(p, '}');
    }
}

static int meta_item(parser *p, char *key, void *ctx)
{
    (void)ctx;
    if (p->nm == p->cap_m) {
        int cap = p->cap_m ? 2 * p->cap_m : 8;
        char **k = wb_realloc(p->mk, (size_t)cap * sizeof *k);
        if (k)
            p->mk = k;
        char **v = k ? wb_realloc(p->mv, (size_t)cap * sizeof *v) : NULL;
        if (!v) {
            wb_err_set(p->err, WB_ENOMEM, "%s: out of memory reading the header",
                       p->path);
            wb_free(key);
            return -1;
        }
        p->mv = v;
        p->cap_m = cap;
    }
    char *val;
    if (parse_string(p, &val)) {
        wb_free(key);
        return -1;
    }
    p->mk[p->nm] = key;
    p->mv[p->nm++] = val;
    return 0;
}

static int tensor_field_(parser *p, const char *key, entry *e);

static int tensor_field(parser *p, char *key, void *ctx)
{
    int r = tensor_field_(p, key, ctx);
    wb_free(key);
    return r;
}

static int tensor_field_(parser *p, const char *key, entry *e)
{
    uint64_t v[WB_MAX_DIM];
    int k, bit;
    if (strcmp(key, "dtype") == 0)
        bit = 1;
    else if (strcmp(key, "shape") == 0)
        bit = 2;
    else if (strcmp(key, "data_offsets") == 0)
        bit = 4;
    else {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': unknown field '%s'",
                   p->path, e->name, key);
        return -1;
    }
    if (e->seen & bit) {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': field '%s' appears twice",
                   p->path, e->name, key);
        return -1;
    }
    e->seen |= bit;
    if (bit == 1) {
        char *dt;
        if (parse_string(p, &dt))
            return -1;
        int f32 = strcmp(dt, "F32") == 0, u8 = strcmp(dt, "U8") == 0;
        if (!f32 && !u8)
            wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': dtype %s is not "
                       "supported (F32 or U8)", p->path, e->name, dt);
        wb_free(dt);
        e->dtype = u8 ? WB_U8 : WB_F32;
        return f32 || u8 ? 0 : -1;
    }
    if (bit == 2) {
        if (parse_u64_array(p, v, WB_MAX_DIM, &k))
            return -1;
        for (int d = 0; d < k; d++) {
            if (v[d] > (uint64_t)INT64_MAX)
                return perr(p, "shape dimension too large");
            e->shape[d] = (int64_t)v[d];
        }
        e->ndim = k;
        return 0;
    }
    if (parse_u64_array(p, v, 2, &k))
        return -1;
    if (k != 2)
        return perr(p, "data_offsets must have 2 elements");
    e->begin = v[0];
    e->end = v[1];
    return 0;
}

static int top_item(parser *p, char *key, void *ctx)
{
    (void)ctx;
    if (strcmp(key, "__metadata__") == 0) {
        wb_free(key);
        if (p->have_meta)
            return perr(p, "__metadata__ appears twice");
        p->have_meta = 1;
        return parse_object(p, meta_item, NULL);
    }
    if (p->ne == p->cap_e) {
        int cap = p->cap_e ? 2 * p->cap_e : 8;
        entry *e = wb_realloc(p->e, (size_t)cap * sizeof *e);
        if (!e) {
            wb_err_set(p->err, WB_ENOMEM, "%s: out of memory reading the header",
                       p->path);
            wb_free(key);
            return -1;
        }
        p->e = e;
        p->cap_e = cap;
    }
    entry *e = &p->e[p->ne++];
    memset(e, 0, sizeof *e);
    e->name = key; /* owned by the entry (parser_free) from here on */
    if (parse_object(p, tensor_field, e))
        return -1;
    if (e->seen != 7) {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': missing field '%s'", p->path,
                   key, !(e->seen & 1) ? "dtype" : !(e->seen & 2) ? "shape"
                                                               : "data_offsets");
        return -1;
    }
    return 0;
}

static void parser_free(parser *p)
{
    for (int i = 0; i < p->ne; i++)
        wb_free(p->e[i].name);
    for (int i = 0; i < p->nm; i++) {
        wb_free(p->mk[i]);
        wb_free(p->mv[i]);
    }
    wb_free(p->e);
    wb_free(p->mk);
    wb_free(p->mv);
}

static int cmp_offset(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Offsets against the data size, byte counts against shapes, packing. */
static wb_status validate(parser *p, uint64_t data_size)
{
    const char *path = p->path;
    char sh[WB_SHAPE_STR_MAX];
    for (int i = 0; i < p->ne; i++) {
        entry *e = &p->e[i];
        uint64_t need = wb_dtype_size(e->dtype), bytes = e->end - e->begin;
        if (e->begin > e->end)
            return wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': data_offsets "
                              "[%llu, %llu] end before begin", path, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end);
        if (e->end > data_size)
            return wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': data_offsets "
                              "end %llu exceeds the data size %llu (truncated file?)",
                              path, e->name, (unsigned long long)e->end,
                              (unsigned long long)data_size);
        for (int d = 0; d < e->ndim; d++) {
            uint64_t dim = (uint64_t)e->shape[d];
            need = dim && need > UINT64_MAX / dim ? UINT64_MAX : need * dim;
        }
        if (need != bytes)
            return wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': shape %s of %s "
                              "needs %llu bytes, data_offsets give %llu", path,
                              e->name, wb_shape_str(sh, sizeof sh, e->ndim, e->shape),
                              dtype_tag(e->dtype), (unsigned long long)need,
                              (unsigned long long)bytes);
    }
    if (p->ne > 1) /* p->e is NULL in a file with no tensors */
        qsort(p->e, (size_t)p->ne, sizeof *p->e, cmp_offset);
    uint64_t cur = 0;
    for (int i = 0; i < p->ne; i++) {
        entry *e = &p->e[i];
        if (e->begin < cur)
            return wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s' [%llu, %llu] "
                              "overlaps tensor '%s' [%llu, %llu]", path, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end,
                              p->e[i - 1].name, (unsigned long long)p->e[i - 1].begin,
                              (unsigned long long)p->e[i - 1].end);
        if (e->begin > cur)
            return wb_err_set(p->err, WB_EFORMAT, "%s: %llu unused data bytes "
                              "before tensor '%s' at offset %llu", path,
                              (unsigned long long)(e->begin - cur), e->name,
                              (unsigned long long)e->begin);
        cur = e->end;
    }
    if (cur != data_size)
        return wb_err_set(p->err, WB_EFORMAT, "%s: %llu bytes after the last "
                          "tensor (data size %llu)", path,
                          (unsigned long long)(data_size - cur),
                          (unsigned long long)data_size);
    return WB_OK;
}

/* Duplicate tensor or metadata names. */
static wb_status check_unique(parser *p, char **names, int n, const char *what)
{
    qsort(names, (size_t)n, sizeof *names, cmp_name);
    for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            return wb_err_set(p->err, WB_EFORMAT, "%s: %s '%s' appears twice",
                              p->path, what, names[i]);
    return WB_OK;
}

static wb_status parse_header(parser *p, uint64_t data_size)
{
    if (parse_object(p, top_item, NULL))
        return p->err->code ? p->err->code : WB_EFORMAT;
    ws(p);
    if (p->i != p->n)
        return perr(p, "unexpected bytes after the header object"), WB_EFORMAT;
    char **tmp = wb_calloc((size_t)(p->ne > p->nm ? p->ne : p->nm) + 1, sizeof *tmp);
    if (!tmp)
        return wb_err_set(p->err, WB_ENOMEM, "%s: out of memory", p->path);
    for (int i = 0; i < p->ne; i++)
        tmp[i] = p->e[i].name;
    wb_status st = check_unique(p, tmp, p->ne, "tensor");
    for (int i = 0; st == WB_OK && i < p->nm; i++)
        tmp[i] = p->mk[i];
    if (st == WB_OK)
        st = check_unique(p, tmp, p->nm, "metadata key");
    wb_free(tmp);
    return st ? st : validate(p, data_size);
}

/* ---------------------------------------------------------------------------
 * Reader
 */
void wb_safetensors_free(wb_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n; i++) {
        wb_free(st->names[i]);
        wb_tensor_free(st->tensors[i]);
    }
    for (int i = 0; i < st->n_meta; i++) {
        wb_free(st->meta_keys[i]);
        wb_free(st->meta_vals[i]);
    }
    wb_free(st->names);
    wb_free(st->tensors);
    wb_free(st->meta_keys);
    wb_free(st->meta_vals);
    wb_free(st);
}

/* Read the 8-byte length and the header text; checks the length against the
 * file size before allocating. *hdr is owned by the caller on success. */
static wb_status read_header(FILE *f, const char *path, uint64_t fsize, char **hdr,
                             uint64_t *hlen, wb_err *err)
{
    uint8_t b[8];
    if (fsize < 8)
        return wb_err_set(err, WB_EFORMAT, "%s: file is %llu bytes, too short for "
                          "the 8-byte header length", path, (unsigned long long)fsize);
    if (fread(b, 1, 8, f) != 8)
        return wb_err_set(err, WB_EIO, "%s: cannot read the header length", path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | b[i];
    if (n > fsize - 8)
        return wb_err_set(err, WB_EFORMAT, "%s: header length %llu exceeds file size "
                          "%llu", path, (unsigned long long)n, (unsigned long long)fsize);
    if (n > WB_ST_MAX_HEADER)
        return wb_err_set(err, WB_EFORMAT, "%s: header length %llu exceeds the limit "
                          "of %llu bytes", path, (unsigned long long)n,
                          (unsigned long long)WB_ST_MAX_HEADER);
    if (n < 2)
        return wb_err_set(err, WB_EFORMAT, "%s: header length %llu is too short for "
                          "a JSON object", path, (unsigned long long)n);
    char *h = wb_malloc((size_t)n + 1);
    if (!h)
        return wb_err_set(err, WB_ENOMEM, "%s: out of memory for a %llu-byte header",
                          path, (unsigned long long)n);
    if (fread(h, 1, (size_t)n, f) != (size_t)n) {
        wb_free(h);
        return wb_err_set(err, WB_EIO, "%s: cannot read the %llu-byte header", path,
                          (unsigned long long)n);
    }
    h[n] = '\0';
    *hdr = h;
    *hlen = n;
    return WB_OK;
}

/* Move the parsed names and metadata into a new result and read the data
 * (entries are in offset order, packed, so one sequential read). */
static wb_safetensors *build(parser *p, FILE *f, wb_err *err)
{
    wb_safetensors *st = wb_calloc(1, sizeof *st);
    if (!st)
        goto oom;
    st->names = wb_calloc((size_t)p->ne + 1, sizeof *st->names);
    st->tensors = wb_calloc((size_t)p->ne + 1, sizeof *st->tensors);
    st->meta_keys = wb_calloc((size_t)p->nm + 1, sizeof *st->meta_keys);
    st->meta_vals = wb_calloc((size_t)p->nm + 1, sizeof *st->meta_vals);
    if (!st->names || !st->tensors || !st->meta_keys || !st->meta_vals)
        goto oom;
    for (; st->n_meta < p->nm; st->n_meta++) {
        st->meta_keys[st->n_meta] = p->mk[st->n_meta];
        st->meta_vals[st->n_meta] = p->mv[st->n_meta];
    }
    p->nm = 0;
    for (int i = 0; i < p->ne; i++) {
        entry *e = &p->e[i];
        wb_tensor *t = wb_tensor_new(e->dtype, e->ndim, e->shape, err);
        if (!t) {
            wb_err_prefix(err, "%s: tensor '%s': ", p->path, e->name);
            goto fail;
        }
        st->names[st->n] = e->name;
        st->tensors[st->n++] = t;
        e->name = NULL;
        size_t bytes = (size_t)(e->end - e->begin);
        if (bytes && fread(t->storage->data, 1, bytes, f) != bytes) {
            wb_err_set(err, WB_EIO, "%s: tensor '%s': read failed at data offset %llu",
                       p->path, st->names[i], (unsigned long long)e->begin);
            goto fail;
        }
        if (t->dtype == WB_F32 && !little_endian())
            swap32(t->storage->data, bytes / 4);
    }
    return st;
oom:
    wb_err_set(err, WB_ENOMEM, "%s: out of memory", p->path);
fail:
    wb_safetensors_free(st);
    return NULL;
}

/* Read and validate an open stream of fsize bytes (file or memory). */
static wb_safetensors *load_stream(FILE *f, const char *path, uint64_t fsize,
                                   wb_err *err)
{
    uint64_t hlen = 0;
    char *hdr = NULL;
    wb_safetensors *st = NULL;
    parser p = {0};
    if (read_header(f, path, fsize, &hdr, &hlen, err) == WB_OK) {
        p.s = hdr;
        p.n = (size_t)hlen;
        p.path = path;
        p.err = err;
        if (parse_header(&p, fsize - 8 - hlen) == WB_OK)
            st = build(&p, f, err);
    }
    parser_free(&p);
    wb_free(hdr);
    if (!st) /* names from the file may hold control characters: one line */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
    return st;
}

wb_safetensors *wb_safetensors_load(const char *path, wb_err *err)
{
    wb_err local;
    if (!err)
        err = &local;
    FILE *f = fopen(path, "rb");
    if (!f) {
        wb_err_set(err, errno == ENOENT ? WB_ENOENT : WB_EIO, "%s: cannot open: %s",
                   path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        wb_err_set(err, WB_EIO, "%s: not a regular file", path);
        return NULL;
    }
    wb_safetensors *st = load_stream(f, path, (uint64_t)sb.st_size, err);
    fclose(f);
    return st;
}

wb_safetensors *wb_safetensors_decode(const void *buf, size_t n, const char *name,
                                      wb_err *err)
{
    wb_err local;
    static const char empty[1];
    if (!err)
        err = &local;
    if (!name)
        name = "<memory>";
    /* A read-only memory stream: the reader is shared with the file path. */
    FILE *f = fmemopen((void *)(uintptr_t)(n ? buf : empty), n ? n : 1, "rb");
    if (!f) {
        wb_err_set(err, WB_ENOMEM, "%s: cannot open a memory stream: %s", name,
                   strerror(errno));
        return NULL;
    }
    wb_safetensors *st = load_stream(f, name, (uint64_t)n, err);
    fclose(f);
    return st;
}

int wb_safetensors_count(const wb_safetensors *st) { return st->n; }
const char *wb_safetensors_name(const wb_safetensors *st, int i) { return st->names[i]; }
const wb_tensor *wb_safetensors_tensor(const wb_safetensors *st, int i)
{
    return st->tensors[i];
}
int wb_safetensors_meta_count(const wb_safetensors *st) { return st->n_meta; }
const char *wb_safetensors_meta_key(const wb_safetensors *st, int i)
{
    return st->meta_keys[i];
}
const char *wb_safetensors_meta_value(const wb_safetensors *st, int i)
{
    return st->meta_vals[i];
}

int wb_safetensors_find(const wb_safetensors *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->names[i], name) == 0)
            return i;
    return -1;
}
