/* safetensors.c - safetensors writer and validating reader. See safetensors.h.
 *
 * The header's JSON goes through libjansson both ways: json_dumpb writes it,
 * json_loadb parses it (JSON_REJECT_DUPLICATES: a name twice is an error)
 * and validates its UTF-8. jansson allocates through the core's choke point
 * (alloc.h), so fault injection and the fuzzer's leak check cover it. What
 * is left here is safetensors itself: the schema (dtype, shape,
 * data_offsets, a __metadata__ object of strings), and every length and
 * offset read from a file checked against the file size, in uint64
 * arithmetic, before anything is allocated from it.
 *
 * Files are read from a descriptor (infile.h: regular files only; memory
 * through a memfd, the same path) and written through fsutil's streaming
 * atomic writer (temporary file in the same folder, fsync, rename, folder
 * fsync).
 */
#include "safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "fsutil.h"
#include "infile.h"

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

static void *json_alloc(size_t n) { return wb_malloc(n ? n : 1); }

/* Before each use: idempotent, and the core is single-threaded. */
static void json_setup(void) { json_set_alloc_funcs(json_alloc, wb_free); }

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

/* {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, or NULL. */
static json_t *tensor_json(const wb_tensor *t, uint64_t begin, uint64_t end)
{
    json_t *shape = json_array();
    for (int d = 0; shape && d < t->ndim; d++)
        if (json_array_append_new(shape, json_integer(t->shape[d])) != 0) {
            json_decref(shape);
            shape = NULL;
        }
    return json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_tag(t->dtype), "shape",
                     shape, "data_offsets", (json_int_t)begin, (json_int_t)end);
}

/* obj[key] = val (stolen). jansson refuses both a failed allocation and a
 * string that is not UTF-8 with NULL or -1; the allocator's failure count
 * tells the two apart. `what` and `i` name the entry. */
static wb_status put(json_t *obj, const char *key, json_t *val, long fails0,
                     const char *what, int i, wb_err *err)
{
    if (json_object_set_new(obj, key, val) == 0)
        return WB_OK;
    if (wb_alloc_failures() != fails0)
        return wb_err_set(err, WB_ENOMEM, "out of memory building the header");
    return wb_err_set(err, WB_EINVAL, "%s %d is not valid UTF-8", what, i + 1);
}

/* The header JSON, padded with spaces to a multiple of 8: *out [*len]. */
static wb_status build_header(char **out, size_t *len, int n, const char *const *names,
                              const wb_tensor *const *tensors, int n_meta,
                              const char *const *keys, const char *const *vals,
                              wb_err *err)
{
    long fails0 = wb_alloc_failures();
    json_t *root = json_object(), *meta = NULL;
    wb_status st = root ? WB_OK : WB_ENOMEM;
    if (st == WB_OK && n_meta > 0) {
        meta = json_object(); /* borrowed once put into root */
        st = put(root, "__metadata__", meta, fails0, "metadata", 0, err);
    }
    for (int i = 0; st == WB_OK && i < n_meta; i++) {
        json_t *v = json_string(vals[i]);
        if (!v && wb_alloc_failures() == fails0)
            st = wb_err_set(err, WB_EINVAL, "metadata value %d is not valid UTF-8", i + 1);
        else
            st = put(meta, keys[i], v, fails0, "metadata key", i, err);
    }
    uint64_t off = 0;
    for (int i = 0; st == WB_OK && i < n; i++) {
        const wb_tensor *t = tensors[i];
        uint64_t bytes = (uint64_t)wb_tensor_numel(t) * wb_dtype_size(t->dtype);
        st = put(root, names[i], tensor_json(t, off, off + bytes), fails0, "tensor name",
                 i, err);
        off += bytes;
    }
    if (st == WB_OK) {
        size_t need = json_dumpb(root, NULL, 0, JSON_COMPACT); /* 0: no memory */
        char *buf = need ? wb_malloc(need + 8) : NULL;
        if (buf && json_dumpb(root, buf, need, JSON_COMPACT) == need &&
            wb_alloc_failures() == fails0) { /* no byte dropped on the way */
            while (need % 8)
                buf[need++] = ' ';
            *out = buf;
            *len = need;
        } else {
            wb_free(buf);
            st = WB_ENOMEM;
        }
    }
    json_decref(root);
    if (st == WB_ENOMEM)
        wb_err_set(err, WB_ENOMEM, "out of memory building the header");
    return st;
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
static wb_status write_atomic(const char *path, const char *hdr, size_t hlen, int n,
                              const wb_tensor *const *tensors, wb_err *err)
{
    wb_atomic *f = wb_atomic_new(path, err);
    if (!f)
        return err ? err->code : WB_EIO;
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    wb_status st = wb_atomic_write(f, len8, 8, err);
    if (st == WB_OK)
        st = wb_atomic_write(f, hdr, hlen, err);
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
    wb_err local;
    char shown[WB_ERR_PATH];
    if (!err)
        err = &local;
    json_setup();
    char *hdr = NULL;
    size_t hlen = 0;
    wb_status st = check_save_args(n, names, tensors, n_meta, meta_keys, meta_vals, err);
    if (st == WB_OK)
        st = build_header(&hdr, &hlen, n, names, tensors, n_meta, meta_keys, meta_vals,
                          err);
    if (st != WB_OK)
        return wb_err_prefix(err, "%s: ", wb_err_path(shown, path));
    st = write_atomic(path, hdr, hlen, n, tensors, err);
    wb_free(hdr);
    return st;
}

/* ---------------------------------------------------------------------------
 * Header reader (the safetensors schema, on jansson's tree)
 */
typedef struct entry {
    const char *name;           /* borrowed from the tree */
    wb_dtype dtype;
    int ndim;
    int64_t shape[WB_MAX_DIM];
    uint64_t begin, end;        /* data_offsets, relative to the data start */
} entry;

typedef struct parser {
    const char *path;
    wb_err *err;
    json_t *root;
    entry *e;                   /* [ne] */
    int ne;
    json_t *meta;               /* the __metadata__ object (borrowed), or NULL */
} parser;

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a fraction or exponent";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

static int perr(parser *p, const char *tensor, const char *what, const json_t *v)
{
    wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': %s, got %s", p->path, tensor, what,
               type_name(v));
    return -1;
}

/* An array of at most max unsigned integers into out[*count]. */
static int u64_array(parser *p, const char *tensor, const char *field, const json_t *a,
                     uint64_t *out, int max, int *count)
{
    char what[64];
    if (!json_is_array(a))
        return snprintf(what, sizeof what, "%s: expected an array", field),
               perr(p, tensor, what, a);
    if (json_array_size(a) > (size_t)max) {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': %s has %zu elements, at most "
                   "%d", p->path, tensor, field, json_array_size(a), max);
        return -1;
    }
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_integer(v) && json_integer_value(v) < 0) { /* its value, not its type */
            wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': %s[%zu]: expected an unsigned "
                       "integer, got %lld", p->path, tensor, field, i + 1,
                       (long long)json_integer_value(v));
            return -1;
        }
        if (!json_is_integer(v))
            return snprintf(what, sizeof what, "%s[%zu]: expected an unsigned integer",
                            field, i + 1), perr(p, tensor, what, v);
        out[i] = (uint64_t)json_integer_value(v);
    }
    *count = (int)json_array_size(a);
    return 0;
}

static int read_entry(parser *p, const char *name, const json_t *v, entry *e)
{
    uint64_t u[WB_MAX_DIM];
    int k;
    if (!json_is_object(v))
        return perr(p, name, "expected an object", v);
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        const char *key = json_object_iter_key(it);
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets")) {
            wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': unknown field '%s' (expected "
                       "dtype, shape, data_offsets)", p->path, name, key);
            return -1;
        }
    }
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (int i = 0; i < 3; i++)
        if (!json_object_get(v, fields[i])) {
            wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': missing field '%s'",
                       p->path, name, fields[i]);
            return -1;
        }
    e->name = name;
    const char *dt = json_string_value(json_object_get(v, "dtype"));
    if (!dt)
        return perr(p, name, "dtype: expected a string", json_object_get(v, "dtype"));
    if (strcmp(dt, "F32") && strcmp(dt, "U8")) {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': dtype %s is not supported "
                   "(F32 or U8)", p->path, name, dt);
        return -1;
    }
    e->dtype = strcmp(dt, "U8") == 0 ? WB_U8 : WB_F32;
    if (u64_array(p, name, "shape", json_object_get(v, "shape"), u, WB_MAX_DIM, &k))
        return -1;
    for (int d = 0; d < k; d++)
        e->shape[d] = (int64_t)u[d]; /* jansson's integers are int64: no overflow */
    e->ndim = k;
    if (u64_array(p, name, "data_offsets", json_object_get(v, "data_offsets"), u, 2, &k))
        return -1;
    if (k != 2) {
        wb_err_set(p->err, WB_EFORMAT, "%s: tensor '%s': data_offsets must have 2 "
                   "elements, got %d", p->path, name, k);
        return -1;
    }
    e->begin = u[0];
    e->end = u[1];
    return 0;
}

static int check_meta(parser *p, json_t *m)
{
    const char *key;
    const json_t *v;
    if (!json_is_object(m)) {
        wb_err_set(p->err, WB_EFORMAT, "%s: __metadata__: expected an object, got %s",
                   p->path, type_name(m));
        return -1;
    }
    json_object_foreach((json_t *)m, key, v) {
        if (!json_is_string(v)) {
            wb_err_set(p->err, WB_EFORMAT, "%s: __metadata__ '%s': expected a string, "
                       "got %s", p->path, key, type_name(v));
            return -1;
        }
    }
    p->meta = m;
    return 0;
}

static int cmp_offset(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
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

static wb_status parse_header(parser *p, const char *hdr, size_t n, uint64_t data_size)
{
    json_error_t je;
    /* Any failed allocation inside jansson fails the parse: jansson 2.14's
     * lexer drops a byte it cannot store and goes on (a truncated name). */
    long fails0 = wb_alloc_failures();
    p->root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &je);
    if (wb_alloc_failures() != fails0)
        return wb_err_set(p->err, WB_ENOMEM, "%s: out of memory parsing the header",
                          p->path);
    if (!p->root)
        return wb_err_set(p->err, WB_EFORMAT, "%s: header byte %d: %s", p->path,
                          je.position, je.text);
    if (!json_is_object(p->root))
        return wb_err_set(p->err, WB_EFORMAT, "%s: header: expected a JSON object, got %s",
                          p->path, type_name(p->root));
    json_t *meta = json_object_get(p->root, "__metadata__");
    p->e = wb_calloc(json_object_size(p->root) + 1, sizeof *p->e);
    if (!p->e)
        return wb_err_set(p->err, WB_ENOMEM, "%s: out of memory reading the header",
                          p->path);
    if (meta && check_meta(p, meta))
        return WB_EFORMAT;
    for (void *it = json_object_iter(p->root); it; it = json_object_iter_next(p->root, it)) {
        const char *key = json_object_iter_key(it);
        if (strcmp(key, "__metadata__") != 0 &&
            read_entry(p, key, json_object_iter_value(it), &p->e[p->ne++]))
            return WB_EFORMAT;
    }
    return validate(p, data_size);
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

/* Copy the parsed names and metadata out of the tree into a new result and
 * read the data (entries are in offset order, packed: one sequential read). */
static wb_safetensors *build(parser *p, FILE *f, wb_err *err)
{
    wb_safetensors *st = wb_calloc(1, sizeof *st);
    if (!st)
        goto oom;
    st->names = wb_calloc((size_t)p->ne + 1, sizeof *st->names);
    st->tensors = wb_calloc((size_t)p->ne + 1, sizeof *st->tensors);
    size_t nm = p->meta ? json_object_size(p->meta) : 0;
    st->meta_keys = wb_calloc(nm + 1, sizeof *st->meta_keys);
    st->meta_vals = wb_calloc(nm + 1, sizeof *st->meta_vals);
    if (!st->names || !st->tensors || !st->meta_keys || !st->meta_vals)
        goto oom;
    for (void *it = p->meta ? json_object_iter(p->meta) : NULL; it;
         it = json_object_iter_next(p->meta, it), st->n_meta++) {
        st->meta_keys[st->n_meta] = wb_strdup(json_object_iter_key(it));
        st->meta_vals[st->n_meta] = wb_strdup(json_string_value(json_object_iter_value(it)));
        if (!st->meta_keys[st->n_meta] || !st->meta_vals[st->n_meta]) {
            st->n_meta++; /* freed with the rest */
            goto oom;
        }
    }
    for (int i = 0; i < p->ne; i++) {
        entry *e = &p->e[i];
        char *name = wb_strdup(e->name);
        if (!name)
            goto oom;
        wb_tensor *t = wb_tensor_new(e->dtype, e->ndim, e->shape, err);
        if (!t) {
            wb_free(name);
            wb_err_prefix(err, "%s: tensor '%s': ", p->path, e->name);
            goto fail;
        }
        st->names[st->n] = name;
        st->tensors[st->n++] = t;
        size_t bytes = (size_t)(e->end - e->begin);
        if (bytes && fread(t->storage->data, 1, bytes, f) != bytes) {
            wb_err_set(err, WB_EIO, "%s: tensor '%s': read failed at data offset %llu",
                       p->path, name, (unsigned long long)e->begin);
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

/* Read and validate fd (owned: closed here) of fsize bytes, file or memory. */
static wb_safetensors *load_fd(int fd, const char *path, uint64_t fsize, wb_err *err)
{
    uint64_t hlen = 0;
    char *hdr = NULL;
    wb_safetensors *st = NULL;
    parser p = {.path = path, .err = err};
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        wb_err_set(err, WB_ENOMEM, "%s: cannot open a stream: %s", path, strerror(errno));
    } else if (read_header(f, path, fsize, &hdr, &hlen, err) == WB_OK &&
               parse_header(&p, hdr, (size_t)hlen, fsize - 8 - hlen) == WB_OK) {
        st = build(&p, f, err);
    }
    json_decref(p.root);
    wb_free(p.e);
    wb_free(hdr);
    if (f)
        fclose(f);
    if (!st) /* names from the file may hold control characters: one line */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
    return st;
}

wb_safetensors *wb_safetensors_load(const char *path, wb_err *err)
{
    wb_err local;
    char shown[WB_ERR_PATH];
    uint64_t size;
    if (!err)
        err = &local;
    json_setup();
    int fd = wb_infile_open(path, &size, err);
    return fd < 0 ? NULL : load_fd(fd, wb_err_path(shown, path), size, err);
}

wb_safetensors *wb_safetensors_decode(const void *buf, size_t n, const char *name,
                                      wb_err *err)
{
    wb_err local;
    if (!err)
        err = &local;
    name = name ? name : "<memory>";
    json_setup();
    int fd = wb_infile_mem(buf, n, name, err);
    return fd < 0 ? NULL : load_fd(fd, name, n, err);
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
