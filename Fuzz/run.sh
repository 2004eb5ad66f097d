#!/bin/bash
# Runs the libFuzzer targets built by `make fuzz-build` (Fuzz/Package.swift), each for SECONDS, one after the
# other, and prints per target the executions, exec/s, corpus size and the verdict. Exits 1 when any target
# found a crash, a sanitizer report, a leak, a timeout or an out-of-memory input (its reproducer is kept
# under $FUZZ_WORK/artifacts/), 0 otherwise.
#
#   Fuzz/run.sh SECONDS [TARGET...]      (default: every target)
#
# Environment: FUZZ_BIN (the built targets, default .build-fuzz/release), FUZZ_WORK (corpora, seeds, logs and
# artifacts, default .build-fuzz/work), FUZZ_EXTRA_SEEDS (a directory of real AWS downloads added to the seeds
# when it exists, default ../shared/corpus/aws-configs), FUZZ_TIMEOUT (seconds per input, default 10),
# FUZZ_RSS_MB (memory limit, default 2048), FUZZ_ARGS (more libFuzzer flags).
set -u
cd "$(dirname "$0")/.." || exit 66

seconds=${1:?usage: Fuzz/run.sh SECONDS [TARGET...]}
shift
all_targets=(generic xml describe-json ipsec-conf vyos cisco-ios cisco-asa junos panos fortigate pfsense detect profile)
targets=("${@:-${all_targets[@]}}")
bin=${FUZZ_BIN:-.build-fuzz/release}
work=${FUZZ_WORK:-.build-fuzz/work}
extra=${FUZZ_EXTRA_SEEDS:-../shared/corpus/aws-configs}
timeout=${FUZZ_TIMEOUT:-10}
rss_mb=${FUZZ_RSS_MB:-2048}
# The Swift runtime's backtracer would run inside the crashing process under ASan and muddle its report;
# libFuzzer prints the stack and keeps the input.
export SWIFT_BACKTRACE=enable=no

# The repo's own files each target starts from (and the real downloads of the same format, when present).
seed_patterns() {
    local input=Tests/CGWFWInputTests/Fixtures compiler=Tests/CGWFWCompilerTests/Fixtures
    case $1 in
        generic) echo "$input/generic-* Examples/*.txt $extra/generic-*" ;;
        xml) echo "$input/*.xml $compiler/*.xml $extra/xml-*" ;;
        describe-json) echo "$input/*.json $extra/describe-*" ;;
        ipsec-conf) echo "$input/strongswan-* $input/openswan-* $extra/strongswan-* $extra/openswan-*" ;;
        vyos) echo "$input/vyos* $extra/vyos-*" ;;
        cisco-ios) echo "$input/cisco-ios* $extra/ciscoios-*" ;;
        cisco-asa) echo "$input/cisco-asa* $extra/ciscoasa-*" ;;
        junos) echo "$input/junos* $extra/junipersrx-*" ;;
        panos) echo "$input/panos* $extra/paloalto-*" ;;
        fortigate) echo "$input/fortigate* $extra/fortinet-*" ;;
        pfsense) echo "$input/pfsense* $extra/pfsense-*" ;;
        detect) echo "$input/* $compiler/* Examples/* $extra/*-*" ;;
        profile) echo "Profiles/*.yaml" ;;
        *) return 1 ;;
    esac
}

for target in "${targets[@]}"; do
    if ! seed_patterns "$target" >/dev/null; then echo "unknown fuzz target: $target" >&2; exit 64; fi
    if [ ! -x "$bin/fuzz-$target" ]; then echo "$bin/fuzz-$target is not built: run make fuzz-build" >&2; exit 66; fi
done

mkdir -p "$work/artifacts" "$work/logs"
failed=()
printf '%-14s %12s %9s %7s %8s  %s\n' target executions exec/s seconds corpus result
for target in "${targets[@]}"; do
    seeds=$work/seeds/$target corpus=$work/corpus/$target log=$work/logs/$target.log
    rm -rf "$seeds" && mkdir -p "$seeds" "$corpus"
    # shellcheck disable=SC2046 # the patterns are globs, split on purpose
    for file in $(seed_patterns "$target"); do [ -f "$file" ] && cp "$file" "$seeds/"; done
    start=$SECONDS
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    "$bin/fuzz-$target" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-" ${FUZZ_ARGS:-} \
        "$corpus" "$seeds" >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    size=$(find "$corpus" -type f | wc -l)
    if [ $status -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $status): $(grep -m1 -E '^==[0-9]+==|ERROR: libFuzzer|SUMMARY|Fatal error' "$log" || true)"
        failed+=("$target")
    fi
    printf '%-14s %12s %9s %7s %8s  %s\n' "$target" "${runs:-?}" "${rate:-?}" $((SECONDS - start)) "$size" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]}; logs in $work/logs, reproducers in $work/artifacts" >&2
    for target in "${failed[@]}"; do echo "--- $work/logs/$target.log (end)" >&2; tail -40 "$work/logs/$target.log" >&2; done
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets, no crash, leak or timeout"
