#!/usr/bin/env bash
# End-to-end benchmark of issue #17's table ("Fast at 100k rows"): generates the 100k-row replay
# experiment (benches/src/bin/gen_big.rs; nothing is committed), then times with /usr/bin/time
# the whole-process wall seconds and peak RSS of:
#   run      `itera run` from scratch (140k journal lines, ~83 MB)
#   re-run   `itera run` again on the concluded directory (refused at once: G46)
#   verify   `itera verify` (the full chain pass, every report file)
#   status   `itera status`
# Goals (issue #17): run <= 5 s and <= 150 MB; re-run <= 1 s; verify <= 2 s; status <= 1 s.
#
#   bash benches/e2e/big_run.sh [ROWS] [WORKDIR]      (defaults: 100000, a fresh temp dir)
#
# ITERA=path/to/itera times another build (e.g. main's, for a before/after pair).
set -euo pipefail
rows="${1:-100000}"
work="${2:-$(mktemp -d)}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${ITERA:-}" ]; then
    cargo build --release -q -p itera-cli -p itera-benches --bin itera --bin gen_big
    ITERA="$target/release/itera"
fi
gen="$target/release/gen_big"
[ -x "$gen" ] || cargo build --release -q -p itera-benches --bin gen_big
rm -rf "$work/big"
"$gen" --dir "$work/big" --rows "$rows" >/dev/null
timed() {
    local what="$1"
    shift
    /usr/bin/time -f "$what %e s wall, %M KB peak RSS, exit %x" "$@" >/dev/null 2>"$work/time.err" || true
    tail -n 1 "$work/time.err"
}
# The spent-test ledger beside the output (G15) would refuse a second fresh run: keep it apart.
timed "run    " "$ITERA" -q run "$work/big/experiment.toml" --out "$work/big/out"
echo "journal: $(wc -l <"$work/big/out/journal.jsonl") lines, $(du -m "$work/big/out/journal.jsonl" | cut -f1) MB"
timed "re-run " "$ITERA" -q run "$work/big/experiment.toml" --out "$work/big/out"
timed "verify " "$ITERA" -q verify "$work/big/out"
timed "status " "$ITERA" -q status "$work/big/out"
