#!/usr/bin/env bash
# Times `cgwfw compile --target nftables` over generated XML configs (2 tunnels each) and reports peak memory,
# output size, set elements and rules. The configs are passed as one directory argument; the last line compares
# 10,000 files given as arguments with that directory (issue 14: within 1.2x).
# Usage: Benchmarks/bench-compile.sh [path/to/cgwfw] [counts...]
set -euo pipefail
BIN=$(realpath "${1:-.build/release/cgwfw}")
shift || true
COUNTS=${*:-10 1000 10000}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

printf '%-12s %-8s %-10s %-10s %-10s %-10s %-7s %s\n' connections tunnels "wall s" "peak MB" "out lines" elements rules "non-element lines / rules"
for n in $COUNTS; do
    python3 "$HERE/generate-configs.py" "$n" "$WORK/$n"
    best=""
    # Best of three runs: the figure least disturbed by other work on the machine.
    for _ in 1 2 3; do
        /usr/bin/time -f '%e %M' -o "$WORK/time" "$BIN" compile --target nftables "$WORK/$n" >"$WORK/out.nft" 2>"$WORK/err"
        read -r wall kb <"$WORK/time"
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; peak=$kb; fi
    done
    lines=$(wc -l <"$WORK/out.nft")
    elements=$(grep -c $'^\t\t\t' "$WORK/out.nft" || true)
    rules=$(grep -cE $'^\t\t(udp|meta|rt|ip|ip6|tcp|iifname|oifname) ' "$WORK/out.nft" || true)
    ratio=$(awk "BEGIN{printf \"%.2f\", ($lines - $elements) / $rules}")
    printf '%-12s %-8s %-10s %-10s %-10s %-10s %-7s %s\n' "$n" $((2 * n)) "$best" "$(awk "BEGIN{printf \"%.1f\", $peak/1024}")" \
        "$lines" "$elements" "$rules" "$ratio"
done
echo "Goal: 10,000 connections in < 0.5 s wall and < 64 MB; rules and non-element lines constant across sizes."

# Many positional arguments: `cgwfw compile DIR/*` against `cgwfw compile DIR`, best of three each.
python3 "$HERE/generate-configs.py" 10000 "$WORK/args" >/dev/null
best_of_three() {
    local best=""
    for _ in 1 2 3; do
        /usr/bin/time -f '%e' -o "$WORK/time" "$@" >/dev/null 2>&1
        local wall; wall=$(cat "$WORK/time")
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; fi
    done
    echo "$best"
}
directory=$(cd "$WORK/args" && best_of_three "$BIN" compile -q --target nftables .)
arguments=$(cd "$WORK/args" && best_of_three "$BIN" compile -q --target nftables ./*)
printf '10,000 files as arguments: %s s, the directory once: %s s, ratio %s (goal <= 1.2)\n' "$arguments" "$directory" \
    "$(awk "BEGIN{printf \"%.2f\", $arguments / ($directory > 0 ? $directory : 0.01)}")"
