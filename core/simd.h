/* simd.h - the one way core gets AVX2 code from plain loops.
 *
 * A kernel is written once, as a plain loop in a WB_SIMD_BODY function.
 * WB_SIMD_KERNEL(name, body, (params), (args)) compiles body(args) three
 * times, as the static functions name_base(params), for the build's
 * baseline (x86-64-v2, i.e. SSE4.2), name_avx2(params) and
 * name_avx512(params) (AVX-512F/VL/BW/DQ, 512-bit vectors); the compiler
 * vectorises each copy for its target. WB_SIMD_CALL(name)(...) calls the
 * widest copy the CPU runs: at batch 8 the Adam update over every parameter
 * is most of a training step, and its divide and square root run twice as
 * many lanes per instruction in 512 bits (issue 14). args may pass
 * constants (a flag the loop tests), so one body serves as several
 * branch-free kernels. The build has -ffp-contract=off (no FMA) and no
 * -ffast-math, so both copies do the same IEEE operations in the same order
 * per element (no float reduction is vectorised without -ffast-math): which
 * one ran never changes a result (tests compare them by turning the wide
 * copies off with wb_simd_allow_avx2(0)).
 */
#ifndef WB_SIMD_H
#define WB_SIMD_H

/* 1 when wider copies than the baseline run (AVX2 or AVX-512): the CPU has
 * AVX2 and no test turned them off. */
int wb_simd_avx2(void);
/* 1 when the AVX-512 copies run (the CPU has AVX-512F/VL/BW/DQ, allowed). */
int wb_simd_avx512(void);
/* on = 0 makes every kernel run its baseline copy; 1 allows the widest copy
 * the CPU runs again, 2 allows AVX2 but not AVX-512 (for tests that compare
 * the copies). Returns wb_simd_avx2() afterwards. */
int wb_simd_allow_avx2(int on);

/* The body is inlined into each copy, so each is vectorised for its target. */
#define WB_SIMD_BODY static inline __attribute__((always_inline)) void

#define WB_SIMD_BASE(name, body, params, args) static void name##_base params { body args; }

#if defined(__GNUC__) && defined(__x86_64__) && !defined(WB_SIMD_NO_AVX2)
#define WB_SIMD_HAVE_AVX2 1
#define WB_SIMD_AVX512_TARGET \
    target("avx512f,avx512vl,avx512bw,avx512dq,avx2,prefer-vector-width=512")
#define WB_SIMD_KERNEL(name, body, params, args)                                \
    WB_SIMD_BASE(name, body, params, args)                                      \
    __attribute__((target("avx2"))) static void name##_avx2 params { body args; } \
    __attribute__((WB_SIMD_AVX512_TARGET)) static void name##_avx512 params { body args; }
/* The same with other arguments for the AVX-512 copy (args512), e.g. a flag
 * that turns on a loop written for 512-bit vectors. */
#define WB_SIMD_KERNEL_W(name, body, params, args, args512)                     \
    WB_SIMD_BASE(name, body, params, args)                                      \
    __attribute__((target("avx2"))) static void name##_avx2 params { body args; } \
    __attribute__((WB_SIMD_AVX512_TARGET)) static void name##_avx512 params { body args512; }
#define WB_SIMD_CALL(name)                                                      \
    (wb_simd_avx512() ? name##_avx512 : wb_simd_avx2() ? name##_avx2 : name##_base)
#else
#define WB_SIMD_KERNEL WB_SIMD_BASE
#define WB_SIMD_KERNEL_W(name, body, params, args, args512) WB_SIMD_BASE(name, body, params, args)
#define WB_SIMD_CALL(name) name##_base
#endif

#endif
