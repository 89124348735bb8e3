/* fuzz_png.c - libFuzzer target for the PNG loader (wb_png_decode, through libpng).
 *
 * The property is fz_png in checks.h (clean success or clean failure, no
 * leak); ASan and UBSan report memory errors. Built and run by
 * tests/fuzz/run.sh (make fuzz); its corpus, tests/fuzz/corpus/png/, is
 * replayed by tests/c/test_corpus.c in make test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_png(data, size) != 0) {
        fprintf(stderr, "fuzz_png: %s\n", fz_why);
        abort();
    }
    return 0;
}
