#!/usr/bin/env bash
# Debug/release ratio of issue #17's table ("the same experiment in a debug build"): generates the
# replay experiment of benches/src/bin/gen_big.rs (nothing is committed), runs `itera run` from
# scratch with the release and the debug (dev profile) build in turn, RUNS times each, and prints
# the median whole-process wall and CPU seconds of each and their ratio (debug / release).
# Goal (issue #17): <= 3x.
#
#   bash benches/e2e/debug_ratio.sh [ROWS] [RUNS] [WORKDIR]   (defaults: 10000, 5, a fresh temp dir)
#
# The dev profile is the workspace's (Cargo.toml [profile.dev] and [profile.dev.package."*"]): the
# ratio printed is the one of this workspace's own debug builds and `cargo test`. A library user
# gets the same dependency optimization only by putting the same [profile.dev.package."*"] lines
# in their own workspace's Cargo.toml (README "Performance").
set -euo pipefail
rows="${1:-10000}"
runs="${2:-5}"
work="${3:-$(mktemp -d)}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cd "$root"
cargo build --release -q -p itera-cli -p itera-benches --bin itera --bin gen_big
cargo build -q -p itera-cli --bin itera
rel="$target/release/itera"
dbg="$target/debug/itera"
rm -rf "$work/big"
"$target/release/gen_big" --dir "$work/big" --rows "$rows" >/dev/null
cd "$work/big"
# One run from scratch: the output directory and the spent-test ledger beside it (G15) go first.
# Small data is underpowered for the registered T (G20): accepted, the point is the time.
once() {
    rm -rf out .itera-spent-tests.jsonl
    /usr/bin/time -f "%e %U %S" -o "$work/time.one" \
        "$1" -q run experiment.toml --out out --accept-underpowered "debug-ratio bench" >/dev/null
    read -r wall user sys <"$work/time.one"
    awk -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN { printf "%s %.2f\n", w, u + s }'
}
once "$rel" >/dev/null # warm-up: the page cache, for both
: >"$work/rel.txt"
: >"$work/dbg.txt"
for _ in $(seq "$runs"); do # in turn, so a drift of the machine's speed hits both
    once "$rel" >>"$work/rel.txt"
    once "$dbg" >>"$work/dbg.txt"
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
rw=$(median "$work/rel.txt" 1)
rc=$(median "$work/rel.txt" 2)
dw=$(median "$work/dbg.txt" 1)
dc=$(median "$work/dbg.txt" 2)
echo "rows $rows, $runs runs each, medians (whole process, itera run from scratch)"
echo "release: ${rw} s wall, ${rc} s cpu"
echo "debug:   ${dw} s wall, ${dc} s cpu"
awk -v dw="$dw" -v rw="$rw" -v dc="$dc" -v rc="$rc" \
    'BEGIN { printf "ratio debug/release: %.1fx wall, %.1fx cpu\n", dw / rw, dc / rc }'
