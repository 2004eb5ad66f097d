#!/usr/bin/env bash
# Tests of `make install`, cgwfw.service and its entry point cgwfw-boot, with the real cgwfw binary.
#   bash systemd/tests/run_tests.sh .build/debug/cgwfw
# The unit is checked with systemd-analyze verify; the commands it runs are run for real in a throwaway
# network namespace, as systemd would run them (environment from the installed cgwfw.env).
# Ends with a line `systemd: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/../.."
cgwfw=$(realpath "${1:?usage: run_tests.sh CGWFW_BINARY}")
passed=0 failed=0
work=$(mktemp -d /tmp/cgwfw-systemd-test.XXXXXX)
netns=cgwfw-systemd-$$
cleanup() { ip netns del "$netns" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "systemd: SKIPPED: installing to /tmp roots and network namespaces need root here"
    echo "systemd: 0 passed, 0 failed, 7 skipped"
    exit 0
fi

run_case() {
    local name=$1
    local log="$work/$name.log"
    # Not inside `if`: bash ignores set -e in a condition, also in subshells there.
    ( set -e; "$name" ) >"$log" 2>&1
    if [ $? = 0 ]; then
        passed=$((passed + 1)); echo "PASS $name"
    else
        failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/    /' "$log"
    fi
}

fail() { echo "$*" >&2; return 1; }

# mode PATH -> octal permission bits
mode() { stat -c %a "$1"; }

# pairs TABLE -> the concatenated set elements of inet TABLE in the namespace, one "a b" per line, sorted
pairs() {
    ip netns exec "$netns" nft -j list ruleset | /usr/bin/python3 -c '
import json, sys
table = sys.argv[1]
for item in json.load(sys.stdin)["nftables"]:
    s = item.get("set")
    if not s or s["table"] != table or s["family"] != "inet":
        continue
    for e in s.get("elem", []):
        if isinstance(e, dict) and "elem" in e:
            e = e["elem"]["val"]
        if isinstance(e, dict) and "concat" in e:
            print(" ".join(sorted(e["concat"])))
' "$1" | sort -u
}

# natt_pairs TABLE -> the pairs in the sets that rules matching UDP 4500 refer to (NAT-T open for them)
natt_pairs() {
    ip netns exec "$netns" nft -j list ruleset | /usr/bin/python3 -c '
import json, re, sys
table = sys.argv[1]
items = json.load(sys.stdin)["nftables"]
referenced = set()
for item in items:
    rule = item.get("rule")
    if rule and rule["table"] == table and "4500" in json.dumps(rule["expr"]):
        referenced |= set(re.findall(r"\"@([^\"]+)\"", json.dumps(rule["expr"])))
for item in items:
    s = item.get("set")
    if not s or s["table"] != table or s["name"] not in referenced:
        continue
    for e in s.get("elem", []):
        if isinstance(e, dict) and "elem" in e:
            e = e["elem"]["val"]
        if isinstance(e, dict) and "concat" in e:
            print(" ".join(sorted(e["concat"])))
' "$1" | sort -u
}

# The fixture's pairs, written by hand from ansible/tests/fixtures/vpn-a.txt.
expected_a=$'192.0.2.10 198.51.100.7\n192.0.2.20 198.51.100.7'

test_install_into_destdir() {
    local dest=$work/destdir
    make -s install DESTDIR="$dest" PREFIX=/usr/local INSTALL_BIN="$cgwfw"
    local p=$dest/usr/local
    [ "$(mode "$p/bin/cgwfw")" = 755 ] || fail "bin/cgwfw mode $(mode "$p/bin/cgwfw")"
    cmp "$cgwfw" "$p/bin/cgwfw" || fail "installed binary differs"
    [ "$(mode "$p/libexec/cgwfw/cgwfw-boot")" = 755 ] || fail "cgwfw-boot not 755"
    [ "$(mode "$p/lib/systemd/system/cgwfw.service")" = 644 ] || fail "unit not 644"
    [ "$(mode "$p/share/ansible/plugins/modules/cgwfw.py")" = 644 ] || fail "module not 644"
    [ "$(mode "$dest/etc/cgwfw/connections")" = 700 ] || fail "connections dir not 700"
    [ "$(mode "$dest/etc/cgwfw/cgwfw.env")" = 644 ] || fail "cgwfw.env not 644"
    for profile in Profiles/*.yaml; do
        [ "$(mode "$p/share/cgwfw/profiles/${profile##*/}")" = 644 ] || fail "profile ${profile##*/} missing or not 644"
    done
    ! grep -n '@[A-Z]*@' "$p/lib/systemd/system/cgwfw.service" "$p/libexec/cgwfw/cgwfw-boot" || fail "unsubstituted @VAR@"
    grep -qx 'ExecStart=/usr/local/libexec/cgwfw/cgwfw-boot apply' "$p/lib/systemd/system/cgwfw.service" \
        || fail "ExecStart does not name the installed cgwfw-boot"
    grep -q '/usr/local/bin/cgwfw' "$p/libexec/cgwfw/cgwfw-boot" || fail "cgwfw-boot does not name /usr/local/bin/cgwfw"
    # The installed binary finds the installed profiles (share/cgwfw/profiles next to its bin/).
    env -u CGWFW_PROFILES_DIR "$p/bin/cgwfw" profiles | grep -q linux-host || fail "installed cgwfw does not list linux-host"
    # A second install keeps the operator's settings.
    echo 'CGWFW_PROFILE=linux-gateway' > "$dest/etc/cgwfw/cgwfw.env"
    make -s install DESTDIR="$dest" PREFIX=/usr/local INSTALL_BIN="$cgwfw"
    grep -qx 'CGWFW_PROFILE=linux-gateway' "$dest/etc/cgwfw/cgwfw.env" || fail "reinstall overwrote cgwfw.env"
}

test_unit_verifies() {
    # In an installed root of its own: every command the unit names must exist there.
    local dest=$work/verify-root
    make -s install DESTDIR="$dest" PREFIX=/usr/local INSTALL_BIN="$cgwfw"
    local unit=$dest/usr/local/lib/systemd/system/cgwfw.service
    # verify exits 0 on some findings (an unknown key, a bad value it ignores): any output is a failure.
    local findings
    findings=$(systemd-analyze verify --root="$dest" "$unit" 2>&1) || fail "verify --root failed: $findings"
    [ -z "$findings" ] || fail "verify --root: $findings"
    # Against this machine's units (nftables.service, network-pre.target, ...), installed under /tmp paths.
    make -s install PREFIX="$work/verify-usr" SYSCONFDIR="$work/verify-etc" UNITDIR="$work/verify-units" \
        INSTALL_BIN="$cgwfw"
    findings=$(systemd-analyze verify "$work/verify-units/cgwfw.service" 2>&1) || fail "verify failed: $findings"
    [ -z "$findings" ] || fail "verify: $findings"
    # The check is live: an unknown key is reported (exit 0, a message) ...
    sed 's|^\[Service\]$|[Service]\nRemainAfterExits=yes|' "$work/verify-units/cgwfw.service" > "$work/typo.service"
    findings=$(systemd-analyze verify "$work/typo.service" 2>&1)
    [ -n "$findings" ] || fail "verify said nothing about an unknown key"
    # ... and a unit naming a missing command fails it.
    sed 's|^ExecStart=.*|ExecStart=/nonexistent/cgwfw-boot apply|' "$work/verify-units/cgwfw.service" > "$work/broken.service"
    if systemd-analyze verify "$work/broken.service" 2>/dev/null; then fail "verify accepted a broken unit"; fi
    # Ordering that the boot sequence relies on.
    grep -q '^After=nftables.service' "$unit" || fail "not ordered after nftables.service"
    grep -q '^Before=.*strongswan-starter.service' "$unit" || fail "not ordered before strongswan-starter.service"
    grep -q '^Before=network-pre.target' "$unit" || fail "not ordered before network-pre.target"
}

# Installs with real paths under $work (no DESTDIR), so the installed cgwfw-boot runs as it would at boot.
install_live() {
    local root=$work/live
    rm -rf "$root"
    make -s install PREFIX="$root/usr" SYSCONFDIR="$root/etc" UNITDIR="$root/units" INSTALL_BIN="$cgwfw"
    live_unit=$root/units/cgwfw.service
    live_etc=$root/etc/cgwfw
    ip netns add "$netns"
}

# unit_command KEY -> the command line of ExecStart/ExecReload/ExecStop in the installed unit
unit_command() { sed -n "s/^$1=//p" "$live_unit"; }

# as_systemd KEY -> runs that command in the namespace with the environment the unit reads
as_systemd() {
    local -a environment=()
    while IFS= read -r line; do
        case $line in ''|'#'*) continue ;; esac
        environment+=("$line")
    done < "$live_etc/cgwfw.env"
    # shellcheck disable=SC2046
    ip netns exec "$netns" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${environment[@]}" $(unit_command "$1")
}

test_boot_applies_configs_and_survives_nftables_reload() {
    install_live
    cp ansible/tests/fixtures/vpn-a.txt "$live_etc/connections/"
    chmod 600 "$live_etc/connections/vpn-a.txt"
    touch "$live_etc/connections/.vpn-a.txt.swp"  # editors' dot files are not configs
    # An editor's backup holding the old AWS endpoint, and a package manager's copy: not applied (issue 14).
    sed 's/192\.0\.2\.10/192.0.2.99/' ansible/tests/fixtures/vpn-a.txt > "$live_etc/connections/vpn-a.txt~"
    cp "$live_etc/connections/vpn-a.txt~" "$live_etc/connections/vpn-a.txt.dpkg-old"
    as_systemd ExecStart 2>"$work/start.err"
    [ "$(pairs cgwfw)" = "$expected_a" ] || fail "after ExecStart: $(pairs cgwfw)"
    grep -q 'not read: .vpn-a.txt.swp, vpn-a.txt.dpkg-old, vpn-a.txt~' "$work/start.err" || fail "no note naming the leftovers: $(cat "$work/start.err")"
    # What Debian's nftables.service does on start and reload: /etc/nftables.conf begins with flush ruleset.
    printf 'flush ruleset\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n' \
        > "$work/nftables.conf"
    ip netns exec "$netns" nft -f "$work/nftables.conf"
    [ -z "$(pairs cgwfw)" ] || fail "flush ruleset left cgwfw's table"
    local filter_before; filter_before=$(ip netns exec "$netns" nft list table inet filter)
    # PartOf= / ReloadPropagatedFrom= make systemd run this after nftables.service restarts or reloads.
    as_systemd ExecReload
    [ "$(pairs cgwfw)" = "$expected_a" ] || fail "after ExecReload: $(pairs cgwfw)"
    [ "$(ip netns exec "$netns" nft list table inet filter)" = "$filter_before" ] || fail "inet filter changed"
    as_systemd ExecStop
    ip netns exec "$netns" nft list tables | grep -q 'inet cgwfw' && fail "ExecStop left the table"
    [ "$(ip netns exec "$netns" nft list table inet filter)" = "$filter_before" ] || fail "ExecStop touched inet filter"
    ip netns del "$netns"
}

test_boot_settings_are_used() {
    install_live
    cp ansible/tests/fixtures/vpn-a.txt "$live_etc/connections/"
    printf 'CGWFW_PROFILE=linux-host\nCGWFW_TABLE=vpnedge\nCGWFW_OPTIONS=--nat-traversal off\n' > "$live_etc/cgwfw.env"
    as_systemd ExecStart
    [ "$(pairs vpnedge)" = "$expected_a" ] || fail "CGWFW_TABLE not used: $(pairs vpnedge)"
    [ -z "$(natt_pairs vpnedge)" ] || fail "UDP 4500 open with CGWFW_OPTIONS=--nat-traversal off: $(natt_pairs vpnedge)"
    sed -i 's/--nat-traversal off/--nat-traversal on/' "$live_etc/cgwfw.env"
    as_systemd ExecReload
    [ "$(natt_pairs vpnedge)" = "$expected_a" ] || fail "UDP 4500 not open with --nat-traversal on: $(natt_pairs vpnedge)"
    as_systemd ExecStop
    ip netns exec "$netns" nft list tables | grep -q 'inet vpnedge' && fail "ExecStop left inet vpnedge"
    ip netns del "$netns"
}

test_boot_without_configs_and_with_a_bad_one() {
    install_live
    as_systemd ExecStart 2>"$work/empty.err" || fail "an empty connections directory is an error"
    grep -q 'nothing applied' "$work/empty.err" || fail "no message for an empty connections directory"
    cp ansible/tests/fixtures/bad-placeholder.txt "$live_etc/connections/"
    local status=0
    as_systemd ExecStart 2>"$work/bad.err" || status=$?
    [ "$status" = 65 ] || fail "a bad config exited $status, not 65"
    grep -q 'YOUR_UPLINK_ADDRESS' "$work/bad.err" || fail "the journal would not name the bad address"
    ip netns exec "$netns" nft list tables | grep -q cgwfw && fail "a bad config left a table"
    ip netns del "$netns"
}

test_nftables_conf_include_alternative() {
    # The documented alternative to the unit: include cgwfw's compiled file from /etc/nftables.conf.
    ip netns add "$netns"
    "$cgwfw" compile --target nftables -o "$work/cgwfw.nft" ansible/tests/fixtures/vpn-a.txt
    printf 'flush ruleset\ntable inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\ninclude "%s"\n' \
        "$work/cgwfw.nft" > "$work/nftables.conf"
    ip netns exec "$netns" nft -f "$work/nftables.conf"
    [ "$(pairs cgwfw)" = "$expected_a" ] || fail "after the first load: $(pairs cgwfw)"
    local first; first=$(ip netns exec "$netns" nft list ruleset)
    ip netns exec "$netns" nft -f "$work/nftables.conf"
    [ "$(ip netns exec "$netns" nft list ruleset)" = "$first" ] || fail "a second load of nftables.conf differs"
    ip netns del "$netns"
}

test_metrics_timer_writes_the_textfile() {
    install_live
    local units=$work/live/units
    local findings
    findings=$(systemd-analyze verify "$units/cgwfw-metrics.timer" "$units/cgwfw-metrics.service" 2>&1) \
        || fail "verify failed: $findings"
    [ -z "$findings" ] || fail "verify: $findings"
    grep -qx 'OnUnitActiveSec=15s' "$units/cgwfw-metrics.timer" || fail "timer does not repeat every 15 s"
    cp ansible/tests/fixtures/vpn-a.txt "$live_etc/connections/"
    as_systemd ExecStart
    # The service's command, with the collector's directory moved under $work.
    local command textfile=$work/node-exporter/cgwfw.prom
    mkdir -p "$work/node-exporter"
    command=$(sed -n 's/^ExecStart=//p' "$units/cgwfw-metrics.service")
    command=${command//\/var\/lib\/prometheus\/node-exporter/$work\/node-exporter}
    # shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
    ip netns exec "$netns" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin $command
    grep -q '^cgwfw_rules_loaded{table="inet cgwfw"} 1$' "$textfile" || fail "no cgwfw_rules_loaded 1 in $(cat "$textfile")"
    grep -q '^cgwfw_tunnel_packets_total{connection=' "$textfile" || fail "no per-tunnel counters in $(cat "$textfile")"
    [ "$(stat -c %a "$textfile")" = 644 ] || fail "textfile mode $(stat -c %a "$textfile"): node_exporter must read it"
    local left; left=$(find "$work/node-exporter" -mindepth 1 ! -name cgwfw.prom)
    [ -z "$left" ] || fail "temporary files left: $left"
    as_systemd ExecStop
    ip netns del "$netns"
}

for name in test_install_into_destdir test_unit_verifies test_boot_applies_configs_and_survives_nftables_reload \
    test_boot_settings_are_used test_boot_without_configs_and_with_a_bad_one test_nftables_conf_include_alternative \
    test_metrics_timer_writes_the_textfile; do
    ip netns del "$netns" 2>/dev/null
    run_case "$name"
done
echo "systemd: $passed passed, $failed failed"
[ "$failed" = 0 ]
