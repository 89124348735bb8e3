#!/usr/bin/env bash
# run.sh WORKBENCH CTEST_DIR - run every test and print "N passed, N failed".
#
# C unit tests are the binaries in CTEST_DIR; Lua tests are
# tests/lua/test_*.lua, each run in its own workbench process so that a crash
# in one is counted and does not hide the others. Every test prints
# "ok - name" or "not ok - name: why". A process that dies or exits non-zero
# without reporting a failure counts as one failure of its own.
# Slow tests (full-MNIST training) run unless WB_FAST=1. A skipped test
# ("ok - name # SKIP why") tested nothing: it is not counted as passed, but
# counted and listed apart before the last line.
set -u
wb=$(realpath "${1:-./workbench}")
cdir=${2:-build/tests}
export WB="$wb"
cd "$(dirname "$0")/.." || exit 2
passed=0 failed=0 skipped=0
failures=()
details="" # each failure's lines again at the end, where a log's tail shows them
skips=""   # each skipped test's line again at the end

run_one() { # name, command...
    local name=$1; shift
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^(ok|not ok) - ' | sed "s|^|[$name] |"
    local skip
    skip=$(printf '%s\n' "$out" | grep -E '^ok - .* # SKIP ' | sed "s|^ok - |[$name] |")
    [ -n "$skip" ] && skips+="$skip"$'\n'
    local p f s
    p=$(printf '%s\n' "$out" | grep -c '^ok - ')
    s=$(printf '%s\n' "$out" | grep -c -E '^ok - .* # SKIP ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok - ')
    passed=$((passed + p - s)); skipped=$((skipped + s)); failed=$((failed + f))
    if [ "$f" -gt 0 ]; then
        failures+=("$name")
        local why
        why=$(printf '%s\n' "$out" | grep -v -E '^ok - ' | head -40 | sed "s|^|[$name]   |")
        printf '%s\n' "$why"; details+="$why"$'\n'
    elif [ "$rc" -ne 0 ]; then
        failed=$((failed + 1)); failures+=("$name (exit $rc)")
        local why
        why="[$name] not ok - process exited with status $rc"$'\n'
        why+=$(printf '%s\n' "$out" | tail -20 | sed "s|^|[$name]   |")
        printf '%s\n' "$why"; details+="$why"$'\n'
    fi
}

for t in "$cdir"/test_*; do
    [ -x "$t" ] || continue
    run_one "c/$(basename "$t")" "$t"
done
for t in tests/lua/test_*.lua; do
    [ -f "$t" ] || continue
    run_one "lua/$(basename "$t" .lua)" "$wb" "$t"
done
if [ -n "$skips" ]; then # not counted as passed: they tested nothing here
    printf '\n%d skipped here (not counted as passed):\n%s' "$skipped" "$skips"
fi
if [ ${#failures[@]} -gt 0 ]; then
    printf '\nthe failures again:\n%s' "$details"
    echo "failing: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
