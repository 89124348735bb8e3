/* fuzz_png.c - libFuzzer target for the PNG loader (wb_png_decode, through
 * libpng).
 *
 * The property is fz_png in checks.h (clean success or clean failure, no
 * leak); ASan and UBSan report memory errors. Most random changes break a
 * chunk CRC and libpng stops at once, so each input is decoded twice: as
 * given, and with every chunk CRC recomputed (then the changed chunk data
 * reach the decoder): fz_png_both in checks.h, which the replay uses too.
 * Built and run by tests/fuzz/run.sh (make fuzz); its corpus,
 * tests/fuzz/corpus/png/, is replayed by tests/c/test_corpus.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_png_both(data, size) != 0) {
        fprintf(stderr, "fuzz_png: %s\n", fz_why);
        abort();
    }
    return 0;
}
