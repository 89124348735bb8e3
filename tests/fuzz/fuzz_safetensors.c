/* fuzz_safetensors.c - libFuzzer target for the safetensors reader.
 *
 * Each input is written to a private temporary file and loaded: the reader
 * must fail cleanly or succeed, never crash, read out of bounds or leak
 * (wb_alloc_live returns to its value before the call).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
 *     tests/fuzz/fuzz_safetensors.c core/safetensors.c core/tensor.c \
 *     core/alloc.c core/err.c core/fsutil.c -lopenblas -lm -o fuzz_st
 *   ./fuzz_st -max_total_time=60 [corpus]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../core/alloc.h"
#include "../../core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_st_%d.safetensors", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    long live = wb_alloc_live();
    wb_err err;
    wb_safetensors *st = wb_safetensors_load(path, &err);
    if (st) {
        for (int i = 0; i < wb_safetensors_count(st); i++)
            (void)wb_safetensors_find(st, wb_safetensors_name(st, i));
    }
    wb_safetensors_free(st);
    if (wb_alloc_live() != live)
        abort();
    return 0;
}
