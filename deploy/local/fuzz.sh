#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/, one per `waymark_testkit::fuzz` entry point)
# for a bounded time each and prints, per target, the runs made and the crashes found (a panic,
# a hang over the timeout, or memory over the RSS limit each count as one; must be 0).
#
#   deploy/local/fuzz.sh [SECONDS] [TARGET...]   default 60 s per target, every target
#
# Settings (environment):
#   WAYMARK_FUZZ_RSS_MB    libFuzzer -rss_limit_mb (default 2048)
#   WAYMARK_FUZZ_TIMEOUT   libFuzzer -timeout in seconds per input (default 10; the mapping
#                          runner's own wall-clock limit is 2 s)
#   WAYMARK_FUZZ_WORK      scratch folder (default /tmp/waymark-fuzz): the growing corpus and
#                          the crash artifacts; the committed seeds (fuzz/corpus/) are read only
#   CARGO_TARGET_DIR       where the instrumented build goes (default fuzz/target, ~3 GB)
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz from
# crates.io when missing. Builds once (`-O --debug-assertions`: optimised, overflow checks on),
# then runs each target from its committed seeds. A crash leaves its reproducer in
# $WAYMARK_FUZZ_WORK/artifacts/; replay it with `cargo +nightly fuzz run TARGET FILE`, and add
# it to fuzz/corpus/TARGET/ once fixed so the stable corpus test keeps it.
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${WAYMARK_FUZZ_WORK:-/tmp/waymark-fuzz}"
RSS_MB="${WAYMARK_FUZZ_RSS_MB:-2048}"
TIMEOUT="${WAYMARK_FUZZ_TIMEOUT:-10}"
FLAGS=(-O --debug-assertions)

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cd "$ROOT/fuzz"
if [ "$#" -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(cargo fuzz list)
fi

started=$(date +%s)
cargo +nightly fuzz build "${FLAGS[@]}"
echo "fuzz build: $(( $(date +%s) - started )) s"

mkdir -p "$WORK/artifacts"
total_crashes=0
printf '%-16s %12s %8s\n' target runs crashes
for t in "${TARGETS[@]}"; do
    mkdir -p "$WORK/corpus/$t"
    log="$WORK/$t.log"
    before=$(find "$WORK/artifacts" -name "$t-*" | wc -l)
    status=0
    cargo +nightly fuzz run "${FLAGS[@]}" "$t" "$WORK/corpus/$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$t-" \
        >"$log" 2>&1 || status=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(( $(find "$WORK/artifacts" -name "$t-*" | wc -l) - before ))
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes=1
        echo "$t: libFuzzer exited $status without an artifact; see $log" >&2
    fi
    total_crashes=$(( total_crashes + crashes ))
    printf '%-16s %12s %8s\n' "$t" "${runs:-?}" "$crashes"
done
echo "fuzzed ${#TARGETS[@]} targets for ${SECONDS_PER_TARGET} s each: $total_crashes crashes"
[ "$total_crashes" -eq 0 ]
