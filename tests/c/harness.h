/* harness.h - a tiny in-tree test harness for the C unit tests.
 *
 * Each test file defines `static void test_x(void)` functions and a main
 * that calls RUN(test_x) for each. A test prints one line, "ok - name" or
 * "not ok - name: file:line: message", which tests/run.sh counts. CHECK
 * records a failure and keeps going; REQUIRE stops the current test.
 */
#ifndef WB_TEST_HARNESS_H
#define WB_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int th_failed_now;
static int th_failures;
static char th_msg[1024];

#define TH_FAIL(...)                                                          \
    do {                                                                      \
        if (!th_failed_now) {                                                 \
            int th_n = snprintf(th_msg, sizeof th_msg, "%s:%d: ", __FILE__,   \
                                __LINE__);                                    \
            snprintf(th_msg + th_n, sizeof th_msg - (size_t)th_n, __VA_ARGS__); \
        }                                                                     \
        th_failed_now = 1;                                                    \
    } while (0)

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (!(cond))                                                          \
            TH_FAIL(__VA_ARGS__);                                             \
    } while (0)

#define REQUIRE(cond, ...)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            TH_FAIL(__VA_ARGS__);                                             \
            return;                                                           \
        }                                                                     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                 \
    CHECK(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, expected %.9g " \
          "(tol %g)", #a, (double)(a), (double)(b), (double)(tol))

#define RUN(fn)                                                               \
    do {                                                                      \
        th_failed_now = 0;                                                    \
        fn();                                                                 \
        if (th_failed_now) {                                                  \
            th_failures++;                                                    \
            printf("not ok - %s: %s\n", #fn, th_msg);                         \
        } else {                                                              \
            printf("ok - %s\n", #fn);                                         \
        }                                                                     \
        fflush(stdout);                                                       \
    } while (0)

#define TH_EXIT() return th_failures ? 1 : 0

#endif
