/* simd.c - which copy of the kernels runs (see simd.h). */
#include "simd.h"

static int allowed = 2; /* wb_simd_allow_avx2: 0 baseline, 1 AVX2, 2 AVX-512 */

/* The widest copy the CPU runs: 0, 1 (AVX2) or 2 (AVX-512F/VL/BW/DQ). */
static int cpu_level(void)
{
#ifdef WB_SIMD_HAVE_AVX2
    static int level = -1;
    if (level < 0)
        level = !__builtin_cpu_supports("avx2") ? 0
                : __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                        __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq")
                    ? 2
                    : 1;
    return level;
#else
    return 0;
#endif
}

int wb_simd_avx2(void) { return cpu_level() >= 1 && allowed >= 1; }
int wb_simd_avx512(void) { return cpu_level() >= 2 && allowed >= 2; }

int wb_simd_allow_avx2(int on)
{
    allowed = on == 0 ? 0 : on == 2 ? 1 : 2;
    return wb_simd_avx2();
}
