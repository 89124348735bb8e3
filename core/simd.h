/* simd.h - the one way core gets AVX2 code from plain loops.
 *
 * A kernel is written once, as a plain loop in a WB_SIMD_BODY function.
 * WB_SIMD_KERNEL(name, body, (params), (args)) compiles body(args) twice,
 * as the static functions name_base(params), for the build's baseline
 * (x86-64-v2, i.e. SSE4.2), and name_avx2(params); the compiler vectorises
 * each copy for its target. WB_SIMD_CALL(name)(...) calls the AVX2 copy
 * when the CPU has AVX2, the baseline copy otherwise. args may pass
 * constants (a flag the loop tests), so one body serves as several
 * branch-free kernels. The build has -ffp-contract=off (no FMA) and no
 * -ffast-math, so both copies do the same IEEE operations in the same order
 * per element: which one ran never changes a result (tests compare the two
 * by turning AVX2 off with wb_simd_allow_avx2(0)).
 */
#ifndef WB_SIMD_H
#define WB_SIMD_H

/* 1 when the AVX2 copies run: the CPU has AVX2 and no test turned them off. */
int wb_simd_avx2(void);
/* on = 0 makes every kernel run its baseline copy, 1 allows AVX2 again (for
 * tests that compare the two). Returns wb_simd_avx2() afterwards. */
int wb_simd_allow_avx2(int on);

/* The body is inlined into each copy, so each is vectorised for its target. */
#define WB_SIMD_BODY static inline __attribute__((always_inline)) void

#define WB_SIMD_BASE(name, body, params, args) static void name##_base params { body args; }

#if defined(__GNUC__) && defined(__x86_64__) && !defined(WB_SIMD_NO_AVX2)
#define WB_SIMD_HAVE_AVX2 1
#define WB_SIMD_KERNEL(name, body, params, args)                                \
    WB_SIMD_BASE(name, body, params, args)                                      \
    __attribute__((target("avx2"))) static void name##_avx2 params { body args; }
#define WB_SIMD_CALL(name) (wb_simd_avx2() ? name##_avx2 : name##_base)
#else
#define WB_SIMD_KERNEL WB_SIMD_BASE
#define WB_SIMD_CALL(name) name##_base
#endif

#endif
