/* test_alloc_faults.c - every allocation of a small end-to-end operation can
 * fail, and each failure is clean.
 *
 * The operation (run_all): build two Dense layers, the loss and Adam; one
 * training step (forward, loss, backward, optimizer step); save a checkpoint
 * of the four parameters with safetensors and load it back; save and load a
 * PNG; load a raw and a gzip IDX file. For N = 1, 2, ... the Nth core
 * allocation is made to fail (core/alloc.h: once, then in a second pass from
 * then on) until the operation gets through without reaching N. Each failed
 * run must:
 *   - report WB_ENOMEM with a message (never another status, never a crash);
 *   - free everything: wb_alloc_live() back to its value before the run;
 *   - leave the files as they were: the checkpoint and the PNG written by
 *     the last successful save are byte-identical, and no temporary file is
 *     left in the folder.
 * Finally, with injection off, the operation succeeds. ASan/LSan (make
 * test-asan) check the frees themselves.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/alloc.h"
#include "../../core/dense.h"
#include "../../core/idx.h"
#include "../../core/loss.h"
#include "../../core/optim.h"
#include "../../core/png.h"
#include "../../core/rng.h"
#include "../../core/safetensors.h"
#include "harness.h"

static char dir[256], ckpt[320], pngpath[320], idxraw[320], idxgz[320];

/* The whole operation; returns its first failure (err filled). `tag` goes
 * into the checkpoint metadata, so that every save writes new bytes. */
static wb_status run_all(long tag, wb_err *err)
{
    wb_status st = WB_OK;
    wb_rng rng;
    wb_rng_seed(&rng, 6);
    wb_dense *d1 = NULL, *d2 = NULL;
    wb_sce *ce = NULL;
    wb_optim *opt = NULL;
    wb_tensor *x = NULL, *y = NULL, *h = NULL, *z = NULL, *gh = NULL, *img = NULL;
    wb_tensor *back = NULL, *raw = NULL, *gz = NULL, *gl = NULL;
    wb_safetensors *loaded = NULL;
    const int B = 4;

    wb_dense_opts o1 = wb_dense_defaults(), o2 = wb_dense_defaults();
    o1.activation = "relu";
    o1.l2 = 0.01;
    d1 = wb_dense_new(8, 6, &o1, &rng, err);
    if (!d1) { st = err->code; goto done; }
    d2 = wb_dense_new(6, 3, &o2, &rng, err);
    if (!d2) { st = err->code; goto done; }
    ce = wb_sce_new(err);
    if (!ce) { st = err->code; goto done; }
    wb_optim_config cfg;
    wb_optim_defaults(WB_OPTIM_ADAM, &cfg);
    opt = wb_optim_new(&cfg, err);
    if (!opt) { st = err->code; goto done; }

    x = wb_tensor_new(WB_F32, 2, (int64_t[]){B, 8}, err);
    if (!x) { st = err->code; goto done; }
    y = wb_tensor_new(WB_U8, 1, (int64_t[]){B}, err);
    if (!y) { st = err->code; goto done; }
    wb_rng_fill_normal(&rng, wb_tensor_f32(x), (size_t)B * 8, 0, 1);
    for (int i = 0; i < B; i++)
        wb_tensor_u8(y)[i] = (uint8_t)(i % 3);

    /* one training step */
    if ((st = wb_dense_forward(d1, x, err)) != WB_OK) goto done;
    h = wb_tensor_rows(wb_dense_output(d1), 0, B, err);
    if (!h) { st = err->code; goto done; }
    if ((st = wb_dense_forward(d2, h, err)) != WB_OK) goto done;
    z = wb_tensor_rows(wb_dense_output(d2), 0, B, err);
    if (!z) { st = err->code; goto done; }
    double loss;
    int64_t correct;
    if ((st = wb_sce_forward(ce, z, y, &loss, &correct, err)) != WB_OK) goto done;
    const wb_tensor *gz_loss;
    if ((st = wb_sce_backward(ce, &gz_loss, err)) != WB_OK) goto done;
    wb_dense_zero_grad(d1);
    wb_dense_zero_grad(d2);
    gl = wb_tensor_view(gz_loss, 0, 2, (int64_t[]){B, 3}, err); /* flat -> [B, C] */
    if (!gl) { st = err->code; goto done; }
    if ((st = wb_dense_backward_logits(d2, h, gl, 1, err)) != WB_OK) goto done;
    gh = wb_tensor_rows(wb_dense_grad_input(d2), 0, B, err);
    if (!gh) { st = err->code; goto done; }
    if ((st = wb_dense_backward(d1, x, gh, 0, err)) != WB_OK) goto done;
    wb_tensor *params[4] = {d1->weight, d1->bias, d2->weight, d2->bias};
    const wb_tensor *grads[4] = {d1->grad_weight, d1->grad_bias, d2->grad_weight,
                                 d2->grad_bias};
    if ((st = wb_optim_step(opt, 4, params, grads, err)) != WB_OK) goto done;

    /* checkpoint: save, load, compare */
    const char *names[4] = {"layers.1.weight", "layers.1.bias", "layers.2.weight",
                            "layers.2.bias"};
    char tagtxt[32];
    snprintf(tagtxt, sizeof tagtxt, "%ld", tag);
    const char *mk[2] = {"format", "tag"}, *mv[2] = {"workbench", tagtxt};
    if ((st = wb_safetensors_save(ckpt, 4, names, (const wb_tensor *const *)params, 2, mk,
                                  mv, err)) != WB_OK)
        goto done;
    loaded = wb_safetensors_load(ckpt, err);
    if (!loaded) { st = err->code; goto done; }
    for (int i = 0; i < 4; i++) {
        int k = wb_safetensors_find(loaded, names[i]);
        const wb_tensor *t = k >= 0 ? wb_safetensors_tensor(loaded, k) : NULL;
        if (!t || memcmp(wb_tensor_f32(t), wb_tensor_f32(params[i]),
                         wb_tensor_numel(t) * 4) != 0) {
            st = wb_err_set(err, WB_EFORMAT, "checkpoint tensor %s differs", names[i]);
            goto done;
        }
    }

    /* PNG: save the first layer's kernel as an image, load it back */
    img = wb_tensor_new(WB_F32, 2, (int64_t[]){5, 7}, err);
    if (!img) { st = err->code; goto done; }
    for (int i = 0; i < 35; i++)
        wb_tensor_f32(img)[i] = (float)(((i * 37 + tag) % 256 + 256) % 256) / 255.0f;
    if ((st = wb_png_save(img, pngpath, err)) != WB_OK) goto done;
    back = wb_png_load(pngpath, err);
    if (!back) { st = err->code; goto done; }

    /* IDX, raw and gzip */
    raw = wb_idx_load(idxraw, err);
    if (!raw) { st = err->code; goto done; }
    gz = wb_idx_load(idxgz, err);
    if (!gz) { st = err->code; goto done; }
    if (wb_tensor_numel(raw) != 60 || wb_tensor_numel(gz) != 60)
        st = wb_err_set(err, WB_EFORMAT, "IDX sizes %zu, %zu", wb_tensor_numel(raw),
                        wb_tensor_numel(gz));
done:
    wb_tensor_free(gz);
    wb_tensor_free(raw);
    wb_tensor_free(back);
    wb_tensor_free(img);
    wb_safetensors_free(loaded);
    wb_tensor_free(gh);
    wb_tensor_free(gl);
    wb_tensor_free(z);
    wb_tensor_free(h);
    wb_tensor_free(y);
    wb_tensor_free(x);
    wb_optim_free(opt);
    wb_sce_free(ce);
    wb_dense_free(d2);
    wb_dense_free(d1);
    return st;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *b = NULL;
    size_t cap = 0, len = 0, r;
    char buf[4096];
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + r > cap) {
            cap = (len + r) * 2;
            b = realloc(b, cap);
        }
        memcpy(b + len, buf, r);
        len += r;
    }
    fclose(f);
    *n = len;
    return b ? b : calloc(1, 1);
}

/* Names in dir other than the files we made (temporaries left behind). */
static int stray_files(char *first, size_t n)
{
    DIR *d = opendir(dir);
    int count = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "m.safetensors") == 0 ||
            strcmp(e->d_name, "k.png") == 0 || strcmp(e->d_name, "a.idx") == 0 ||
            strcmp(e->d_name, "a.idx.gz") == 0)
            continue;
        if (!count)
            snprintf(first, n, "%s", e->d_name);
        count++;
    }
    if (d)
        closedir(d);
    return count;
}

static void write_idx_files(void)
{
    unsigned char b[8 + 4 + 60];
    memcpy(b, "\0\0\x08\x02\0\0\0\x06\0\0\0\x0a", 12);
    for (int i = 0; i < 60; i++)
        b[12 + i] = (unsigned char)i;
    FILE *f = fopen(idxraw, "wb");
    fwrite(b, 1, sizeof b, f);
    fclose(f);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "gzip -c %s > %s", idxraw, idxgz);
    if (system(cmd) != 0)
        fprintf(stderr, "gzip failed\n");
}

static void fault_loop(int persistent)
{
    wb_err err;
    wb_alloc_fail_at(0, 0);
    REQUIRE(run_all(0, &err) == WB_OK, "clean run failed: %s", err.msg);
    long total = wb_alloc_count();
    REQUIRE(total > 20, "only %ld allocations in the operation", total);
    size_t n0, p0;
    char *ck0 = slurp(ckpt, &n0), *pg0 = slurp(pngpath, &p0);
    long n;
    int failures = 0;
    for (n = 1; n <= total + 5; n++) {
        long live = wb_alloc_live();
        memset(&err, 0, sizeof err);
        wb_alloc_fail_at(n, persistent);
        wb_status st = run_all(n, &err);
        long reached = wb_alloc_count();
        wb_alloc_fail_at(0, 0);
        if (st == WB_OK) {
            CHECK(reached < n, "N=%ld: succeeded although allocation %ld failed", n, n);
            break;
        }
        failures++;
        CHECK(st == WB_ENOMEM && err.code == WB_ENOMEM && err.msg[0],
              "N=%ld: status %s, message '%s'", n, wb_status_name(st), err.msg);
        CHECK(wb_alloc_live() == live, "N=%ld (%s): %ld allocations leaked", n, err.msg,
              wb_alloc_live() - live);
        size_t n1, p1;
        char *ck1 = slurp(ckpt, &n1), *pg1 = slurp(pngpath, &p1);
        int same_ck = ck1 && n1 == n0 && memcmp(ck0, ck1, n0) == 0;
        int same_png = pg1 && p1 == p0 && memcmp(pg0, pg1, p0) == 0;
        /* A run that got past a save replaced the file completely: the
         * reference becomes the new content, else it must be unchanged. */
        if (!same_ck) {
            wb_safetensors *s = wb_safetensors_load(ckpt, NULL);
            CHECK(s != NULL, "N=%ld: checkpoint unreadable after a failed run", n);
            wb_safetensors_free(s);
            free(ck0);
            ck0 = ck1;
            n0 = n1;
            ck1 = NULL;
        }
        if (!same_png) {
            wb_tensor *t = wb_png_load(pngpath, NULL);
            CHECK(t != NULL, "N=%ld: PNG unreadable after a failed run", n);
            wb_tensor_free(t);
            free(pg0);
            pg0 = pg1;
            p0 = p1;
            pg1 = NULL;
        }
        free(ck1);
        free(pg1);
        char stray[256];
        CHECK(stray_files(stray, sizeof stray) == 0, "N=%ld (%s): file %s left behind", n,
              err.msg, stray);
        if (th_failed_now)
            break;
    }
    free(ck0);
    free(pg0);
    CHECK(failures >= total - 1, "%d failing runs for %ld allocations", failures, total);
    memset(&err, 0, sizeof err);
    CHECK(run_all(-1, &err) == WB_OK, "injection off: %s", err.msg);
    printf("# %s: %ld allocation points, %d clean failures\n",
           persistent ? "persistent" : "once", total, failures);
}

static void test_every_allocation_fails_once(void) { fault_loop(0); }
static void test_every_allocation_fails_from_then_on(void) { fault_loop(1); }

int main(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/wb_alloc_faults.%d", base, (int)getpid());
    if (mkdir(dir, 0700) != 0) {
        perror(dir);
        return 1;
    }
    snprintf(ckpt, sizeof ckpt, "%s/m.safetensors", dir);
    snprintf(pngpath, sizeof pngpath, "%s/k.png", dir);
    snprintf(idxraw, sizeof idxraw, "%s/a.idx", dir);
    snprintf(idxgz, sizeof idxgz, "%s/a.idx.gz", dir);
    write_idx_files();
    RUN(test_every_allocation_fails_once);
    RUN(test_every_allocation_fails_from_then_on);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    TH_EXIT();
}
