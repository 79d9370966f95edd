#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for a fixed number of executions, one at a time on
# one core, and prints per target the executions, the wall time and any crash.
#
#   fuzz/run.sh                      # 1,000,000 executions of each target
#   RUNS=100000 fuzz/run.sh layer_tar dockerfile
#
# Needs `cargo +nightly` and cargo-fuzz (`cargo install cargo-fuzz`). New coverage goes to
# fuzz/corpus-new/<target> (ignored by git). The committed corpus was folded in with
#   cp -n fuzz/corpus-new/<target>/* fuzz/corpus/<target>/
#   cargo +nightly fuzz cmin -s none -a <target>
# then kept to the inputs under 8 KB plus the writer's seeds (`cargo run --example
# fuzz_seeds`): about 2 MB in all, at 92-100% of the full corpus's coverage.
# Crashes land in fuzz/artifacts/<target>/: copy each to tests/fuzz-regressions/<target>/ so
# `cargo test --test image fuzz_regressions` replays it, then fix the bug.
set -uo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-1000000}
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(docker_archive oci_layout layer_tar compressed_layer dockerfile)
fi
# One core: the readers' rayon pool would take them all.
export RAYON_NUM_THREADS=1
# Share the main target dir (the fuzz build lands in target/<triple>/), so nothing builds twice.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

# No sanitizer: safe Rust needs none, and ASan cost 3x the speed and 400 MB; debug assertions
# on, so arithmetic overflow panics.
FLAGS=(--sanitizer none --debug-assertions)
nice -n 10 cargo +nightly fuzz build "${FLAGS[@]}" || exit 1

summary=()
status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "fuzz/corpus-new/$t" "fuzz/artifacts/$t"
    log="fuzz/artifacts/$t/last-run.log"
    start=$(date +%s)
    nice -n 10 cargo +nightly fuzz run "${FLAGS[@]}" "$t" "fuzz/corpus-new/$t" "fuzz/corpus/$t" -- \
        -runs="$RUNS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(grep -E '^artifact_prefix|Test unit written to' "$log" | grep -o 'fuzz/artifacts/[^ ]*' | sort -u)
    line="$t: ${execs:-?} execs in ${secs}s (rc $rc)"
    if [ -n "$crashes" ]; then
        line="$line CRASH: $crashes"
        status=1
    elif [ $rc -ne 0 ]; then
        line="$line FAILED: see $log"
        status=1
    fi
    echo "$line"
    summary+=("$line")
done
echo
echo "summary (RUNS=$RUNS):"
printf '  %s\n' "${summary[@]}"
exit $status
