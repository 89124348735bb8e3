/* fuzz_ckpt.c - libFuzzer target for the checkpoint reader (wb_safetensors_decode).
 *
 * The property is fz_ckpt in checks.h (clean success or clean failure, no
 * leak); ASan and UBSan report memory errors. Built and run by
 * tests/fuzz/run.sh (make fuzz); its corpus, tests/fuzz/corpus/ckpt/, is
 * replayed by tests/c/test_corpus.c in make test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fz_ckpt(data, size) != 0) {
        fprintf(stderr, "fuzz_ckpt: %s\n", fz_why);
        abort();
    }
    return 0;
}
