/* gen_seeds.c - write the fuzz seed corpora (no binary seed is committed).
 *
 *   gen_seeds DIR   creates DIR/idx, DIR/png, DIR/ckpt, DIR/gpquote and
 *                   writes one file per sample of gen.h (and a few quoting
 *                   strings) into them.
 *
 * tests/fuzz/run.sh builds and runs this before fuzzing; the committed
 * corpus (tests/fuzz/corpus/<target>/) holds only minimised findings.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "gen.h"

static void put_file(const char *dir, const char *kind, const char *name,
                     const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, kind);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", dir, kind, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_seeds DIR\n");
        return 64;
    }
    const char *dir = argv[1];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        perror(dir);
        return 73;
    }
    gen_buf g;
    for (int i = 0; i < GEN_IDX_N; i++) {
        gen_idx(i, &g);
        put_file(dir, "idx", g.name, g.p, g.n);
        gen_free(&g);
    }
    for (int i = 0; i < GEN_PNG_N; i++) {
        gen_png(i, &g);
        put_file(dir, "png", g.name, g.p, g.n);
        gen_free(&g);
    }
    for (int i = 0; i < GEN_CKPT_N; i++) {
        gen_ckpt(i, &g, dir);
        put_file(dir, "ckpt", g.name, g.p, g.n);
        gen_free(&g);
    }
    static const char *const quotes[] = {
        "", "plain", "it's", "'", "''x", "x'", "a\nb\tc", "@macro `echo hi` $1 \\n",
        "\"double\" and 'single'", "enhanced ^{up} _{down} &{sp}", "caf\xc3\xa9 \xff\x80",
    };
    for (size_t i = 0; i < sizeof quotes / sizeof quotes[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "q%02zu", i);
        put_file(dir, "gpquote", name, quotes[i], strlen(quotes[i]));
    }
    printf("gen_seeds: %d idx, %d png, %d ckpt, %zu gpquote seeds in %s\n", GEN_IDX_N,
           GEN_PNG_N, GEN_CKPT_N, sizeof quotes / sizeof quotes[0], dir);
    return 0;
}
