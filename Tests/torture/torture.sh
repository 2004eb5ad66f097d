#!/usr/bin/env bash
# Faults against the real kernel, in throwaway network namespaces (root only):
#   kill -9 in the middle of an apply, alternating two config sets: the kernel holds exactly the old or the
#   new set (never a mix), and the next diff and apply work; half the kill points fall anywhere in the apply,
#   half near its end (the commit and the snapshot file); a run in which no kill hit a running apply fails;
#   RACERS applies at once, alternating the two sets: each ends 0 or 75, and the kernel holds exactly one set.
# Usage: torture.sh CGWFW [KILL_TRIALS] [RACE_ROUNDS]     (make test: 30 and 3; make torture: 200 and 20)
set -u
CGWFW=$(readlink -f "${1:?usage: torture.sh CGWFW [KILL_TRIALS] [RACE_ROUNDS]}")
TRIALS=${2:-30}
ROUNDS=${3:-3}
RACERS=8
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then echo "torture: skipped: needs root for network namespaces (id -u = $(id -u))"; exit 0; fi
WORK=$(mktemp -d)
NS=cgwfwtort$$
cleanup() { ip netns pids "$NS" 2>/dev/null | xargs -r kill -9; ip netns del "$NS" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add "$NS"
STATE=$WORK/state
cg() { ip netns exec "$NS" "$CGWFW" "$1" --state-dir "$STATE" "${@:2}"; }
# Two sets of generated connections (benchmark ranges, no traffic is sent): 600 and 700 connections.
python3 "$HERE/../../Benchmarks/generate-configs.py" 600 "$WORK/a" >/dev/null
python3 "$HERE/../../Benchmarks/generate-configs.py" 700 "$WORK/b" >/dev/null
# What each set looks like in the kernel: its peer pairs, sorted.
pairs() { ip netns exec "$NS" nft list set inet cgwfw pairs_ipv4 2>/dev/null | grep -o '198\.1[89]\.[0-9.]* \. 198\.1[89]\.[0-9.]*' | sort; }
cg apply -q "$WORK/a" >/dev/null 2>&1 || { echo "torture: first apply failed"; exit 1; }
pairs >"$WORK/pairs-a"
cg apply -q "$WORK/b" >/dev/null 2>&1 || { echo "torture: apply of set b failed"; exit 1; }
pairs >"$WORK/pairs-b"
# How long a whole apply takes, as the trials run it (alternating sets, median of 5): each kill lands at a
# random point of it (parsing, lowering, the batch, the snapshot file).
times=()
for set in a b a b a; do
    start=$(date +%s%N)
    ip netns exec "$NS" "$CGWFW" apply -q --state-dir "$STATE" "$WORK/$set" >/dev/null 2>&1 || { echo "torture: apply of set $set failed"; exit 1; }
    times+=($(( ($(date +%s%N) - start) / 1000000 + 1 )))
done
duration_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
[ -s "$WORK/pairs-a" ] && ! cmp -s "$WORK/pairs-a" "$WORK/pairs-b" || { echo "torture: reference sets not distinct"; exit 1; }

state_is() { # prints a or b, or "mixed"
    pairs >"$WORK/now"
    if cmp -s "$WORK/now" "$WORK/pairs-a"; then echo a; elif cmp -s "$WORK/now" "$WORK/pairs-b"; then echo b; else echo mixed; fi
}

failed=0 old=0 new=0 killed=0 killed_new=0
current=b
for trial in $(seq "$TRIALS"); do
    if [ "$current" = a ]; then next=b; else next=a; fi
    ip netns exec "$NS" "$CGWFW" apply -q --state-dir "$STATE" "$WORK/$next" >/dev/null 2>&1 &
    pid=$!
    # Odd trials: anywhere in the apply. Even trials: its last fifth and a little past it, where the commit and
    # the snapshot file are (uniform kill points alone almost never land after the commit).
    if [ $((trial % 2)) = 1 ]; then
        delay=$((RANDOM % duration_ms))
    else
        delay=$((duration_ms * 4 / 5 + RANDOM % (duration_ms / 4 + 1)))
    fi
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    alive=0
    if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); alive=1; fi
    wait "$pid" 2>/dev/null
    now=$(state_is)
    case $now in
    "$current") old=$((old + 1)) ;;
    "$next") new=$((new + 1)); killed_new=$((killed_new + alive)) ;;
    *) echo "torture: trial $trial: the kernel holds neither set after kill -9"; failed=$((failed + 1)) ;;
    esac
    # The follow-up must work: diff exits 0 or 1, apply exits 0.
    cg diff -q "$WORK/$next" >/dev/null 2>&1
    rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then echo "torture: trial $trial: follow-up diff exited $rc"; failed=$((failed + 1)); fi
    if ! cg apply -q "$WORK/$next" >/dev/null 2>&1; then echo "torture: trial $trial: follow-up apply failed"; failed=$((failed + 1)); fi
    [ "$(state_is)" = "$next" ] || { echo "torture: trial $trial: follow-up apply left $(state_is)"; failed=$((failed + 1)); }
    current=$next
done
echo "torture: kill -9 at a random point of a ${duration_ms} ms apply: $TRIALS trials ($killed killed while running, $killed_new of them after the commit): $old left the old set, $new the new one, $failed faults"
# A run whose kills all missed the apply proved nothing.
if [ "$killed" = 0 ]; then echo "torture: no trial killed an apply while it ran (kill points from a ${duration_ms} ms reference)"; failed=$((failed + 1)); fi

race_faults=0
for round in $(seq "$ROUNDS"); do
    pids=()
    for racer in $(seq "$RACERS"); do
        if [ $((racer % 2)) = 0 ]; then set=a; else set=b; fi
        ip netns exec "$NS" "$CGWFW" apply -q --state-dir "$STATE" "$WORK/$set" >/dev/null 2>"$WORK/racer-$racer" &
        pids+=($!)
    done
    for index in "${!pids[@]}"; do
        wait "${pids[$index]}"
        rc=$?
        if [ "$rc" != 0 ] && [ "$rc" != 75 ]; then
            echo "torture: race round $round: a racer exited $rc: $(head -c 300 "$WORK/racer-$((index + 1))")"
            race_faults=$((race_faults + 1))
        fi
    done
    now=$(state_is)
    if [ "$now" = mixed ]; then echo "torture: race round $round: the kernel holds a mix"; race_faults=$((race_faults + 1)); fi
done
echo "torture: $RACERS racing applies x $ROUNDS rounds: $race_faults faults"
total=$((failed + race_faults))
echo "torture: $((TRIALS + ROUNDS - total)) passed, $total failed"
[ "$total" = 0 ]
