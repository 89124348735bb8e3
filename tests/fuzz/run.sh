#!/usr/bin/env bash
# run.sh - build the libFuzzer targets and run each for a bounded time
# (`make fuzz`).
#
#   bash tests/fuzz/run.sh [target ...]     default: idx png ckpt gpquote
#   FUZZ_TIME=60    seconds per target
#   FUZZ_OUT=build/fuzz    build folder (objects, binaries, working corpora)
#
# Targets (tests/fuzz/fuzz_<t>.c, the property in checks.h or
# gpquote_check.lua): idx (wb_idx_decode), png (wb_png_decode), ckpt
# (wb_safetensors_decode) and gpquote (wb.plot's U.q and U.sh, Lua embedded).
# Built with clang -fsanitize=fuzzer,address,undefined. Seeds are generated
# (gen_seeds.c, from gen.h); the committed corpus tests/fuzz/corpus/<t>/
# holds only minimised findings and is replayed by `make test`
# (tests/c/test_corpus.c and tests/lua/test_gpquote.lua).
#
# For each target prints executions, speed, corpus size and findings. A
# finding (crash, leak, sanitizer report, failed property) is minimised
# with -minimize_crash and copied into tests/fuzz/corpus/<t>/ (commit it
# with the fix). Exit status: 0 no findings, 1 findings, 2 build failure.
set -u
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
out=${FUZZ_OUT:-build/fuzz}
secs=${FUZZ_TIME:-60}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx png ckpt gpquote)
CLANG=${CLANG:-clang}

command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (make deps)"; exit 2; }
mkdir -p "$out/obj" "$out/work" "$out/findings" || exit 2

pkgs="lua5.4 openblas libpng zlib jansson"
cflags="-std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer \
  $(pkg-config --cflags $pkgs)"
libs="$(pkg-config --libs $pkgs) -lm -ldl"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

# Core objects, instrumented for coverage (rebuilt when a source changes).
objs=()
for c in core/*.c; do
    o="$out/obj/$(basename "$c" .c).o"
    if [ ! -f "$o" ] || [ "$c" -nt "$o" ] || [ -n "$(find core -name '*.h' -newer "$o")" ]; then
        "$CLANG" $cflags $san -fsanitize=fuzzer-no-link -c "$c" -o "$o" || exit 2
    fi
    objs+=("$o")
done

# Seeds: written fresh from gen.h each run (plain build, no instrumentation).
cc -std=c11 -D_POSIX_C_SOURCE=200809L -O1 $(pkg-config --cflags $pkgs) \
    -o "$out/gen_seeds" tests/fuzz/gen_seeds.c core/*.c $libs || exit 2
rm -rf "$out/seeds"
"$out/gen_seeds" "$out/seeds" >/dev/null || exit 2

# Dictionaries: the tokens a mutation should know about.
printf '%s\n' '"IHDR"' '"IDAT"' '"IEND"' '"PLTE"' '"tRNS"' '"zTXt"' '"iCCP"' '"sBIT"' \
    '"\x89PNG\x0d\x0a\x1a\x0a"' >"$out/png.dict"
printf '%s\n' '"dtype"' '"shape"' '"data_offsets"' '"__metadata__"' '"F32"' '"U8"' \
    '"\\u00e9"' '"\\ud83d"' >"$out/ckpt.dict"
printf '%s\n' '"\x1f\x8b\x08"' '"\x00\x00\x08\x03"' '"\x00\x00\x0d\x02"' \
    '"\xff\xff\xff\xff"' >"$out/idx.dict"

findings=0
for t in "${targets[@]}"; do
    src=tests/fuzz/fuzz_$t.c
    [ -f "$src" ] || { echo "fuzz: no target $t ($src)"; exit 2; }
    bin=$out/fuzz_$t
    "$CLANG" $cflags $san -fsanitize=fuzzer -DWB_SRC_DIR="\"$root\"" -o "$bin" "$src" \
        "${objs[@]}" $libs || exit 2
    work=$out/work/$t
    art=$out/findings/$t/
    mkdir -p "$work" "$art" "tests/fuzz/corpus/$t"
    dict=()
    [ -f "$out/$t.dict" ] && dict=(-dict="$out/$t.dict")
    log=$out/$t.log
    WB_SRC_DIR="$root" "$bin" -max_total_time="$secs" -print_final_stats=1 \
        -artifact_prefix="$art" -timeout=10 -rss_limit_mb=2048 "${dict[@]}" \
        "$work" "$out/seeds/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    units=$(ls "$work" | wc -l)
    found=0
    if [ $rc -ne 0 ]; then
        for a in "$art"*; do
            [ -f "$a" ] || continue
            case $(basename "$a") in minimized-*) continue ;; esac
            found=$((found + 1))
            min=$art/minimized-$(basename "$a")
            WB_SRC_DIR="$root" "$bin" -minimize_crash=1 -max_total_time=30 \
                -exact_artifact_path="$min" "$a" >"$log.min" 2>&1
            [ -s "$min" ] || cp "$a" "$min"
            name=finding-$(sha1sum "$min" | cut -c1-16)
            cp "$min" "tests/fuzz/corpus/$t/$name"
            echo "fuzz_$t: FINDING $(basename "$a") -> tests/fuzz/corpus/$t/$name" \
                "($(stat -c %s "$min") bytes after minimising)"
            grep -m3 -E 'ERROR|fuzz_[a-z]+: |SUMMARY' "$log" | sed 's/^/    /'
            rm -f "$a"
        done
        if [ $found -eq 0 ]; then
            found=1
            echo "fuzz_$t: libFuzzer exited $rc without an artifact; see $log"
            tail -5 "$log" | sed 's/^/    /'
        fi
    fi
    findings=$((findings + found))
    printf 'fuzz_%-8s %4s s  %10s executions  %7s/s  corpus %5s  findings %d\n' \
        "$t" "$secs" "${execs:-?}" "${speed:-?}" "$units" "$found"
done
echo "fuzz: $findings finding(s) in ${#targets[@]} target(s), ${secs} s each"
[ $findings -eq 0 ]
