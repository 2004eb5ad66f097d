#!/usr/bin/env bash
# Times `cgwfw apply` (libnftnl over netlink) against `nft -f` of the nftables script `cgwfw compile` writes
# for the same generated configs (2 tunnels each), each run in a fresh network namespace; then an incremental
# apply that changes one connection among the largest count, and a diff of the largest count.
# "engine" is the netlink part cgwfw reports with CGWFW_TIMING=1 (read + plan + commit): the work that
# corresponds to `nft -f` of a ready script; "total" adds reading and compiling the configs, and is compared
# with the same end-to-end job done the text way: `cgwfw compile` then `nft -f` ("compile+nft").
# Root only (network namespaces). Usage: Benchmarks/bench-apply.sh [path/to/cgwfw] [counts...]
set -euo pipefail
BIN=$(realpath "${1:-.build/release/cgwfw}")
shift || true
COUNTS=${*:-10 1000 10000}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
NS=cgwfw-bench-$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
if [ "$(id -u)" != 0 ]; then echo "bench-apply: needs root (network namespaces); skipped"; exit 0; fi

fresh() { ip netns del "$NS" 2>/dev/null || true; ip netns add "$NS"; }
now() { date +%s.%N; }
# Sum of the phases in "cgwfw: timing: read 1.0 ms, plan 2.0 ms, commit 3.0 ms", in seconds.
engine_seconds() { grep 'cgwfw: timing:' "$1" | sed 's/.*timing: //' | tr ',' '\n' | awk '{s += $2} END {printf "%.4f", s / 1000}'; }
best() { sort -g | head -1; }

printf '%-12s %-10s %-10s %-10s %-14s %-12s %s\n' connections "nft -f s" "engine s" "total s" "compile+nft s" "engine/nft" "total/(compile+nft)"
for n in $COUNTS; do
    python3 "$HERE/generate-configs.py" "$n" "$WORK/$n"
    "$BIN" compile --target nftables "$WORK/$n" >"$WORK/$n.nft" 2>/dev/null
    nft_times=() engine_times=() total_times=() text_times=()
    for _ in 1 2 3; do
        fresh
        start=$(now); ip netns exec "$NS" nft -f "$WORK/$n.nft"; end=$(now)
        nft_times+=("$(awk "BEGIN{print $end - $start}")")
        fresh
        start=$(now)
        "$BIN" compile --target nftables "$WORK/$n" >"$WORK/text.nft" 2>/dev/null
        ip netns exec "$NS" nft -f "$WORK/text.nft"
        end=$(now)
        text_times+=("$(awk "BEGIN{print $end - $start}")")
        fresh
        start=$(now); CGWFW_TIMING=1 ip netns exec "$NS" "$BIN" apply "$WORK/$n" >/dev/null 2>"$WORK/err"; end=$(now)
        total_times+=("$(awk "BEGIN{print $end - $start}")")
        engine_times+=("$(engine_seconds "$WORK/err")")
    done
    nft_s=$(printf '%s\n' "${nft_times[@]}" | best)
    engine_s=$(printf '%s\n' "${engine_times[@]}" | best)
    total_s=$(printf '%s\n' "${total_times[@]}" | best)
    text_s=$(printf '%s\n' "${text_times[@]}" | best)
    printf '%-12s %-10.4f %-10.4f %-10.4f %-14.4f %-12.2f %.2f\n' "$n" "$nft_s" "$engine_s" "$total_s" "$text_s" \
        "$(awk "BEGIN{print $engine_s / $nft_s}")" "$(awk "BEGIN{print $total_s / $text_s}")"
    last=$n
    last_engine=$engine_s
    last_total=$total_s
done

# Incremental: the namespace holds the largest apply; change one AWS endpoint of one connection.
files=("$WORK/$last"/*)
first=$(basename "${files[0]}")
cp -r "$WORK/$last" "$WORK/changed"
endpoint=$(grep -A2 '<vpn_gateway>' "$WORK/changed/$first" | grep -o '198\.18\.[0-9]*\.[0-9]*' | sed -n 1p)
sed -i "s/$endpoint</203.0.113.99</" "$WORK/changed/$first"
inc_engine=() inc_total=()
for i in 1 2 3; do
    dir=$([ $((i % 2)) = 1 ] && echo changed || echo "$last")
    start=$(now); CGWFW_TIMING=1 ip netns exec "$NS" "$BIN" apply "$WORK/$dir" >"$WORK/out" 2>"$WORK/err"; end=$(now)
    grep -q 'peers only' "$WORK/out" || { echo "incremental apply was not element-only:"; cat "$WORK/out"; exit 1; }
    inc_total+=("$(awk "BEGIN{print $end - $start}")")
    inc_engine+=("$(engine_seconds "$WORK/err")")
done
ie=$(printf '%s\n' "${inc_engine[@]}" | best)
it=$(printf '%s\n' "${inc_total[@]}" | best)
printf 'incremental (1 of %s connections changed): engine %.4f s = %.1f%% of full engine; total %.4f s = %.0f%% of full total\n' \
    "$last" "$ie" "$(awk "BEGIN{print 100 * $ie / $last_engine}")" "$it" "$(awk "BEGIN{print 100 * $it / $last_total}")"

diff_engine=() diff_total=()
for _ in 1 2 3; do
    start=$(now); CGWFW_TIMING=1 ip netns exec "$NS" "$BIN" diff "$WORK/changed" >/dev/null 2>"$WORK/err" || true; end=$(now)
    diff_total+=("$(awk "BEGIN{print $end - $start}")")
    diff_engine+=("$(engine_seconds "$WORK/err")")
done
printf 'diff of %s connections: engine %.4f s, total %.4f s\n' "$last" \
    "$(printf '%s\n' "${diff_engine[@]}" | best)" "$(printf '%s\n' "${diff_total[@]}" | best)"
echo "Goals: full apply no slower than nft -f (engine/nft and total/(compile+nft) <= 1.0); incremental < 10% of full; diff of 10,000 < 0.3 s."
