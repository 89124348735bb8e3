/* simd.c - which copy of the kernels runs (see simd.h). */
#include "simd.h"

static int allowed = 1; /* wb_simd_allow_avx2 */

int wb_simd_avx2(void)
{
#ifdef WB_SIMD_HAVE_AVX2
    static int cpu = -1;
    if (cpu < 0)
        cpu = __builtin_cpu_supports("avx2") ? 1 : 0;
    return cpu && allowed;
#else
    return 0;
#endif
}

int wb_simd_allow_avx2(int on)
{
    allowed = on != 0;
    return wb_simd_avx2();
}
