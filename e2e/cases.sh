# The cases of e2e/run.sh (sourced). Each returns 0 on pass, or calls `fail REASON` and returns 1.

# Both tunnels of cgw come up and a ping from lan crosses each (VPC1/VPC2 are routed nowhere else).
tunnels_up_and_pinging() {
    initiate cgw t1 || fail "tunnel 1 (cgw - aws1) did not come up" || return 1
    initiate cgw t2 || fail "tunnel 2 (cgw - aws2) did not come up" || return 1
    ping_ok lan "$VPC1" || fail "no ping replies from $VPC1 through tunnel 1" || return 1
    ping_ok lan "$VPC2" || fail "no ping replies from $VPC2 through tunnel 2" || return 1
    log "tunnels 1 and 2 up; ping from lan crossed each"
}

# After the firewall's allowances are gone: SAs down, state flushed, a fresh IKE negotiation must fail.
fresh_ike_fails() {
    terminate_all
    flush_conntrack
    ping_ok lan "$VPC1" && { fail "ping to $VPC1 answered without a tunnel"; return 1; }
    initiate cgw t1 6 && { fail "tunnel 1 came up again without the firewall's allowances"; return 1; }
    log "fresh IKE negotiation failed as it should"
}

case_harness() {
    nsx fw nft -f - <<EOT
table inet e2efw {
    set pairs4 {
        type ipv4_addr . ipv4_addr
        elements = { $CGW . $AWS1, $CGW . $AWS2 }
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ip saddr . ip daddr @pairs4 udp dport { 500, 4500 } accept
        ip daddr . ip saddr @pairs4 udp sport { 500, 4500 } accept
    }
}
EOT
    tunnels_up_and_pinging || return 1
    nsx fw nft flush chain inet e2efw forward
    fresh_ike_fails
}

# --- cgwfw's rules: applied over netlink, or (E2E_APPLY=nft) compiled and loaded with nft -f ----------
apply_rules() { # apply_rules NS ARGS... CONFIG...
    local n=$1; shift
    if [ "${E2E_APPLY:-netlink}" = nft ]; then
        need_cgwfw || return 1
        [[ " $* " != *" --attach "* ]] || fail "attach mode needs cgwfw apply (E2E_APPLY=nft cannot attach)" || return 1
        echo "--- [$n] cgwfw compile --target nftables $* | nft -f -" >>"$WORK/cgwfw.out"
        "$CGWFW" compile --target nftables "$@" 2>>"$WORK/cgwfw.out" >"$WORK/compiled.nft" &&
            nsx "$n" nft -f "$WORK/compiled.nft" >>"$WORK/cgwfw.out" 2>&1 || fail "cgwfw compile | nft -f failed in $n"
        return
    fi
    need_command apply || return 1
    cgwfw "$n" apply "$@" || fail "cgwfw apply $* failed in $n (exit $?)"
}

remove_rules() { # remove_rules NS [--attach "FAMILY TABLE"]
    local n=$1; shift
    if [ "${E2E_APPLY:-netlink}" = nft ]; then
        nsx "$n" nft delete table inet cgwfw || fail "no table inet cgwfw to delete in $n"
        return
    fi
    need_command remove || return 1
    cgwfw "$n" remove "$@" || fail "cgwfw remove $* failed in $n (exit $?)"
}

# --- observation helpers ----------------------------------------------------------------------------------
# rogue counts every IKE/NAT-T answer from cgw (both families) before anything else sees it.
observe_rogue_answers() {
    observe rogue "
    counter answers4 {}
    counter answers6 {}
    chain input {
        type filter hook input priority -400; policy accept;
        ip saddr $CGW udp sport { 500, 4500 } counter name answers4
        ip6 saddr $CGW_6 udp sport { 500, 4500 } counter name answers6
    }"
}

# NS counts what rogue sends towards cgw as it arrives (prerouting, before any filter).
observe_rogue_arrivals() { # observe_rogue_arrivals NS
    observe "$1" "
    counter rogue_ike {}
    counter rogue_natt {}
    counter rogue_esp {}
    chain prerouting {
        type filter hook prerouting priority -400; policy accept;
        ip saddr $ROGUE udp dport 500 counter name rogue_ike
        ip6 saddr $ROGUE_6 udp dport 500 counter name rogue_ike
        ip saddr $ROGUE udp dport 4500 counter name rogue_natt
        ip6 saddr $ROGUE_6 udp dport 4500 counter name rogue_natt
        ip saddr $ROGUE meta l4proto esp counter name rogue_esp
        ip6 saddr $ROGUE_6 meta l4proto esp counter name rogue_esp
    }"
}

# Packets counted by drop rules in NS outside the test's own observation table. The test's firewalls
# have no drop rules (only drop policies), so these are cgwfw's strict drops.
drop_rule_packets() { # drop_rule_packets NS
    nsx "$1" nft -j list ruleset | $PY -c 'import json, sys
total = 0
for item in json.load(sys.stdin)["nftables"]:
    rule = item.get("rule")
    if rule and rule["table"] != "e2eobs" and any("drop" in e for e in rule["expr"]):
        total += sum(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
print(total)'
}

# rogue tries IKE on 500 and straight on 4500 (both at once); true when cgw answered anything.
rogue_gets_answers() { # rogue_gets_answers 4|6
    local before after c500=r500 c4500=r4500
    [ "$1" = 6 ] && c500=r6_500 c4500=r6_4500
    before=$(counter rogue "answers$1")
    initiate rogue "$c500" 6 &
    local first=$!
    initiate rogue "$c4500" 6
    wait "$first"
    swan rogue --terminate --ike "$c500" --force >/dev/null 2>&1
    swan rogue --terminate --ike "$c4500" --force >/dev/null 2>&1
    after=$(counter rogue "answers$1")
    log "rogue's IKE to cgw (IPv$1, ports 500 and 4500): $((after - before)) answers"
    [ "$after" -gt "$before" ]
}

# Raw ESP from aws1 and rogue to DST in NS; prints "AWS1_COUNT ROGUE_COUNT" as delivered to NS's raw socket.
esp_delivered() { # esp_delivered NS DST AWS1_SRC ROGUE_SRC
    local ready=$WORK/esp.ready result
    rm -f "$ready"
    nsx "$1" $WIRE esp-listen 5 "$ready" >"$WORK/esp.json" &
    local listener=$!
    for _ in $(seq 50); do [ -f "$ready" ] && break; sleep 0.1; done
    nsx aws1 $WIRE esp-send "$3" "$2" 3 &
    local sender=$!
    nsx rogue $WIRE esp-send "$4" "$2" 3
    wait "$sender" "$listener"
    result=$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], 0), d.get(sys.argv[3], 0))' \
        "$WORK/esp.json" "$3" "$4")
    echo "$result"
}

# Host firewall of cgw for the host cases: default-drop input, but IPsec from anywhere is allowed (a common
# "allow VPN" rule). cgwfw runs in its own table; its strict drops are what narrow IPsec to the AWS pairs.
# (An accept in cgwfw's table cannot override a drop in this table's base chain, so this table itself must
# let IPsec in; attach mode is tested on fw.)
host_firewall() { # host_firewall NS
    nsx "$1" nft -f - <<EOT
table inet host {
    chain input {
        type filter hook input priority filter; policy drop;
        iif lo accept
        ct state established,related accept
        meta l4proto { icmp, ipv6-icmp } accept
        iifname "ipsec0" accept
        udp dport { 500, 4500 } accept
        meta l4proto esp accept
    }
}
EOT
}

# --- 1: gateway placement, default-deny fw ------------------------------------------------------------
# fw's default deny is a table of its own with forward policy drop and nothing else. In nftables an accept
# in cgwfw's own table cannot override that drop, so cgwfw attaches its chains to it (--attach); every
# packet that crosses fw was accepted by a cgwfw rule. kernel-libipsec always UDP-encapsulates ESP, so
# NAT-T is on (--nat-traversal on) for the tunnels to come up at all.
default_deny_fw() {
    nsx fw nft -f - <<EOT
table inet fw {
    chain forward {
        type filter hook forward priority filter; policy drop;
    }
}
EOT
}

case_gateway() {
    default_deny_fw
    observe_rogue_answers
    observe_rogue_arrivals fw
    apply_rules fw --profile linux-gateway --strict --nat-traversal on --attach "inet fw" "$CONFIG_V4" || return 1
    tunnels_up_and_pinging || return 1
    local drops
    drops=$(drop_rule_packets fw)
    rogue_gets_answers 4 && { fail "rogue's IKE to cgw was answered through fw"; return 1; }
    [ "$(counter fw rogue_ike)" -gt 0 ] || fail "rogue's IKE never reached fw (test is not meaningful)" || return 1
    [ "$(drop_rule_packets fw)" -gt "$drops" ] || fail "no strict drop rule counted rogue's IKE on fw" || return 1
    log "rogue's IKE counted by cgwfw's strict drop rules on fw"
    remove_rules fw --attach "inet fw" || return 1
    fresh_ike_fails
}

# --- 2: attach mode into a realistic inet filter ----------------------------------------------------------
foreign_filter() {
    nsx fw nft -f - <<EOT
table inet filter {
    set admin_hosts {
        type ipv4_addr
        elements = { 192.0.2.99, 203.0.113.5 }
    }
    chain input {
        type filter hook input priority filter; policy drop;
        iif lo accept
        ct state established,related accept
        ip saddr @admin_hosts tcp dport 22 counter accept comment "ssh from admins"
    }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related counter accept
        meta l4proto { icmp, ipv6-icmp } accept
        iifname "lan0" oifname "wan0" tcp dport { 80, 443 } accept comment "web out"
    }
    chain output {
        type filter hook output priority filter; policy accept;
    }
}
table ip nat {
    chain PREROUTING {
        type nat hook prerouting priority dstnat; policy accept;
        fib daddr type local counter jump DOCKER
    }
    chain DOCKER {
        iifname "docker0" return
    }
    chain POSTROUTING {
        type nat hook postrouting priority srcnat; policy accept;
        oifname != "docker0" ip saddr 172.17.0.0/16 masquerade
    }
}
EOT
}

case_attach() {
    foreign_filter
    local before_filter before_nat during
    before_filter=$(nsx fw nft list table inet filter)
    before_nat=$(nsx fw nft list table ip nat)
    apply_rules fw --profile linux-gateway --strict --nat-traversal on --attach "inet filter" "$CONFIG_V4" || return 1
    during=$(nsx fw nft list table inet filter)
    [ "$during" != "$before_filter" ] || fail "attach left inet filter unchanged: no jump to cgwfw's chains" || return 1
    tunnels_up_and_pinging || return 1
    remove_rules fw --attach "inet filter" || return 1
    if [ "$(nsx fw nft list table inet filter)" != "$before_filter" ]; then
        diff <(echo "$before_filter") <(nsx fw nft list table inet filter) | sed 's/^/    /'
        fail "inet filter differs after cgwfw remove"; return 1
    fi
    [ "$(nsx fw nft list table ip nat)" = "$before_nat" ] || fail "ip nat differs after apply/remove" || return 1
    log "inet filter and ip nat byte-identical after remove"
    fresh_ike_fails
}

# --- 3: host placement on cgw ---------------------------------------------------------------------------
case_host() {
    host_firewall cgw
    observe_rogue_answers
    observe_rogue_arrivals cgw
    rogue_gets_answers 4 || fail "baseline: cgw did not answer rogue's IKE before cgwfw (test is not meaningful)" || return 1
    local esp
    read -r -a esp <<<"$(esp_delivered cgw "$CGW" "$AWS1" "$ROGUE")"
    [ "${esp[1]}" -gt 0 ] || fail "baseline: rogue's ESP did not reach cgw before cgwfw" || return 1
    swan rogue --terminate --ike r500 --force >/dev/null 2>&1
    flush_conntrack
    apply_rules cgw --profile linux-host --strict --nat-traversal on "$CONFIG_V4" || return 1
    tunnels_up_and_pinging || return 1
    local ike_before natt_before esp_before drops
    ike_before=$(counter cgw rogue_ike) natt_before=$(counter cgw rogue_natt) esp_before=$(counter cgw rogue_esp)
    drops=$(drop_rule_packets cgw)
    rogue_gets_answers 4 && { fail "cgw answered rogue's IKE under strict"; return 1; }
    [ "$(counter cgw rogue_ike)" -gt "$ike_before" ] || fail "rogue's IKE (UDP 500) never reached cgw" || return 1
    [ "$(counter cgw rogue_natt)" -gt "$natt_before" ] || fail "rogue's NAT-T (UDP 4500) never reached cgw" || return 1
    read -r -a esp <<<"$(esp_delivered cgw "$CGW" "$AWS1" "$ROGUE")"
    log "raw ESP delivered on cgw: aws1 ${esp[0]}/3, rogue ${esp[1]}/3"
    [ "$(counter cgw rogue_esp)" -gt "$esp_before" ] || fail "rogue's ESP never reached cgw" || return 1
    [ "${esp[1]}" = 0 ] || fail "rogue's ESP was delivered on cgw under strict" || return 1
    [ "${esp[0]}" -gt 0 ] || fail "aws1's ESP was not delivered on cgw" || return 1
    log "cgwfw's strict drop rules on cgw counted $(( $(drop_rule_packets cgw) - drops )) packets"
    [ "$(drop_rule_packets cgw)" -gt "$drops" ] || fail "no strict drop rule counted rogue's packets on cgw" || return 1
}

# --- 4: NAT traversal -----------------------------------------------------------------------------------
# cgwn sits behind the masquerading nat namespace; the config names the NAT's public address, cgwfw runs
# on cgwn with --local-address set to its private address.
case_nat() {
    observe nat "
    counter ike_out {}
    counter natt_out {}
    chain postrouting {
        type filter hook postrouting priority 300; policy accept;
        ip saddr $NAT_PUBLIC ip daddr $AWS1 udp dport 500 counter name ike_out
        ip saddr $NAT_PUBLIC ip daddr $AWS1 udp dport 4500 counter name natt_out
    }"
    apply_rules cgwn --profile linux-host --strict --local-address "$CGWN" "$CONFIG_NAT" || return 1
    initiate cgwn n1 || fail "tunnel from behind the NAT did not come up with NAT-T auto" || return 1
    ping_ok cgwn "$VPC1" || fail "no ping replies from $VPC1 through the NAT-traversed tunnel" || return 1
    local ike natt
    ike=$(counter nat ike_out) natt=$(counter nat natt_out)
    log "left the NAT towards aws1: $ike IKE (500), $natt NAT-T (4500) packets"
    [ "$ike" -gt 0 ] && [ "$natt" -gt 0 ] || fail "tunnel did not float from UDP 500 to 4500" || return 1
    remove_rules cgwn || return 1
    swan cgwn --terminate --ike n1 --timeout 3 >/dev/null 2>&1
    flush_conntrack
    apply_rules cgwn --profile linux-host --strict --local-address "$CGWN" --nat-traversal off "$CONFIG_NAT" || return 1
    ike=$(counter nat ike_out) natt=$(counter nat natt_out)
    initiate cgwn n1 6 && { fail "tunnel came up with --nat-traversal off"; return 1; }
    [ "$(counter nat ike_out)" -gt "$ike" ] || fail "with NAT-T off, not even IKE on UDP 500 left the NAT" || return 1
    [ "$(counter nat natt_out)" = "$natt" ] || fail "with NAT-T off, UDP 4500 still left the NAT" || return 1
    log "with --nat-traversal off: IKE on 500 went out, nothing on 4500, the tunnel did not come up"
}

# --- 5: raw ESP through fw ------------------------------------------------------------------------------
# strongSwan's userspace ESP always rides in UDP, so real protocol-50 packets are crafted with scapy.
# fw runs cgwfw standalone (no other table there); cgw's raw socket shows what got through.
case_raw_esp() {
    observe_rogue_arrivals fw
    local esp4 esp6
    read -r -a esp4 <<<"$(esp_delivered cgw "$CGW" "$AWS1" "$ROGUE")"
    [ "${esp4[1]}" -gt 0 ] || fail "baseline: rogue's ESP did not reach cgw without cgwfw" || return 1
    apply_rules fw --profile linux-gateway --strict "$CONFIG_V4" "$CONFIG_V6" || return 1
    read -r -a esp4 <<<"$(esp_delivered cgw "$CGW" "$AWS1" "$ROGUE")"
    read -r -a esp6 <<<"$(esp_delivered cgw "$CGW_6" "$AWS1_6" "$ROGUE_6")"
    log "raw ESP delivered on cgw: IPv4 aws1 ${esp4[0]}/3 rogue ${esp4[1]}/3; IPv6 aws1 ${esp6[0]}/3 rogue ${esp6[1]}/3"
    [ "$(counter fw rogue_esp)" -ge 9 ] || fail "rogue's ESP did not all reach fw" || return 1
    [ "${esp4[0]}" = 3 ] || fail "aws1's IPv4 ESP did not all arrive at cgw" || return 1
    [ "${esp4[1]}" = 0 ] || fail "rogue's IPv4 ESP arrived at cgw under strict" || return 1
    [ "${esp6[0]}" = 3 ] || fail "aws1's IPv6 ESP did not all arrive at cgw" || return 1
    [ "${esp6[1]}" = 0 ] || fail "rogue's IPv6 ESP arrived at cgw under strict" || return 1
}

# --- 6: MSS clamp and DF clear ---------------------------------------------------------------------------
# Packets crafted with scapy in lan (so their checksums are real), captured on aws1's TUN after crossing
# tunnel 1 encrypted; kernel-libipsec's TUN on cgw is ipsec0, selected with --tunnel-interface.
capture_probes() { # capture_probes NAME: probes into the tunnel (seen on aws1's TUN) and out of it (on lan)
    local pcap=$WORK/$1.pcap pcap_lan=$WORK/$1-lan.pcap
    # Not through the nsx function: $! must be tcpdump itself (ip netns exec execs it) to signal it.
    ip netns exec "$P-aws1" tcpdump -i ipsec0 -U -n -w "$pcap" "src $LAN and (tcp[tcpflags] & tcp-syn != 0 or udp port 9)" 2>"$WORK/$1.tcpdump" &
    local capture=$!
    ip netns exec "$P-lan" tcpdump -i eth0 -U -n -w "$pcap_lan" "src $VPC1 and tcp[tcpflags] & tcp-syn != 0" 2>"$WORK/$1-lan.tcpdump" &
    local capture_lan=$!
    for _ in $(seq 50); do
        grep -q "listening on" "$WORK/$1.tcpdump" && grep -q "listening on" "$WORK/$1-lan.tcpdump" && break
        sleep 0.1
    done
    nsx lan $WIRE syn "$LAN" "$VPC1" 80 1460
    nsx lan $WIRE syn "$LAN" "$VPC1" 80 1200
    nsx lan $WIRE df "$LAN" "$VPC1" 9
    nsx aws1 $WIRE syn "$VPC1" "$LAN" 80 1460
    sleep 1
    kill -TERM "$capture" "$capture_lan"; wait "$capture" "$capture_lan"
    { nsx aws1 $WIRE analyze "$pcap"; nsx lan $WIRE analyze "$pcap_lan"; } >"$WORK/$1.json"
}

probe() { # probe NAME 'python predicate on record r' -> true when a captured packet satisfies it
    $PY -c 'import json,sys
records = [json.loads(line) for line in open(sys.argv[1])]
sys.exit(0 if any(eval(sys.argv[2], {"r": r}) for r in records) else 1)' "$WORK/$1.json" "$2" && return
    echo "  no captured packet satisfies: $2"
    sed 's/^/    captured: /' "$WORK/$1.json"
    return 1
}

wildcard_probe() { # wildcard_probe INTERFACE-FLAGS...: MSS clamp and DF clear with these interface flags
    apply_rules cgw --profile linux-host "$@" --nat-traversal on "$CONFIG_V4" || return 1
    capture_probes wildcard
    probe wildcard 'r.get("sport") == 1460 and r["mss"] == 1379 and r["tcp_checksum_ok"]' ||
        fail "with $*, SYN with MSS 1460 did not leave with MSS 1379" || return 1
    probe wildcard 'r.get("dport") == 9 and not r["df"] and r["ip_checksum_ok"]' ||
        fail "with $*, the DF datagram did not leave with DF clear" || return 1
    log "$*: MSS 1460 -> 1379 and DF cleared on the wire"
}

case_mss_df() {
    initiate cgw t1 || fail "tunnel 1 did not come up" || return 1
    capture_probes baseline
    probe baseline 'r.get("sport") == 1460 and r["mss"] == 1460' ||
        fail "baseline: the MSS 1460 SYN did not arrive unchanged without cgwfw" || return 1
    probe baseline 'r.get("dport") == 9 and r["df"]' || fail "baseline: DF was not set without cgwfw" || return 1
    probe baseline "r['src'] == '$VPC1' and r.get('mss') == 1460" ||
        fail "baseline: the MSS 1460 SYN from the VPC did not reach lan unchanged" || return 1

    apply_rules cgw --profile linux-host --tunnel-interface ipsec0 --nat-traversal on "$CONFIG_V4" || return 1
    capture_probes clamped
    probe clamped 'r.get("sport") == 1460 and r["mss"] == 1379 and r["tcp_checksum_ok"] and r["ip_checksum_ok"]' ||
        fail "SYN with MSS 1460 did not leave with MSS 1379 and valid checksums" || return 1
    probe clamped 'r.get("sport") == 1200 and r["mss"] == 1200 and r["tcp_checksum_ok"]' ||
        fail "SYN with MSS 1200 did not keep 1200" || return 1
    probe clamped 'r.get("dport") == 9 and not r["df"] and r["ip_checksum_ok"]' ||
        fail "DF datagram did not leave with DF clear and a correct IP header checksum" || return 1
    probe clamped "r['src'] == '$VPC1' and r.get('mss') == 1379 and r['tcp_checksum_ok']" ||
        fail "SYN with MSS 1460 coming out of the tunnel did not reach lan with MSS 1379" || return 1
    log "into the tunnel: MSS 1460 -> 1379, 1200 kept, DF cleared, checksums valid; out of it: 1460 -> 1379"

    # The same through interface wildcards (the TUN is ipsec0, so ipsec* stands for the usual vti*): one
    # wildcard, then a list with wildcards (nft's interval set), each applied by cgwfw apply.
    wildcard_probe --tunnel-interface 'ipsec*' || return 1
    wildcard_probe --tunnel-interface 'vti*' --tunnel-interface 'ipsec*' || return 1

    apply_rules cgw --profile linux-host --tunnel-interface ipsec0 --nat-traversal on "$CONFIG_V4_SHA384" || return 1
    capture_probes clamped384
    probe clamped384 'r.get("sport") == 1460 and r["mss"] == 1359 and r["tcp_checksum_ok"]' ||
        fail "with the SHA2-384 config, SYN with MSS 1460 did not leave with MSS 1359" || return 1
    log "SHA2-384 config: MSS 1460 -> 1359"
}

# --- 7: IPv6 outside addresses -----------------------------------------------------------------------------
case_ipv6() {
    host_firewall cgw
    observe_rogue_answers
    observe_rogue_arrivals cgw
    apply_rules cgw --profile linux-host --strict --nat-traversal on "$CONFIG_V6" || return 1
    initiate cgw t1v6 || fail "IPv6 tunnel 1 (cgw - aws1) did not come up" || return 1
    initiate cgw t2v6 || fail "IPv6 tunnel 2 (cgw - aws2) did not come up" || return 1
    ping_ok lan "$VPC1_6" || fail "no ping replies from $VPC1_6 through IPv6 tunnel 1" || return 1
    ping_ok lan "$VPC2_6" || fail "no ping replies from $VPC2_6 through IPv6 tunnel 2" || return 1
    log "IPv6 tunnels 1 and 2 up; ping from lan crossed each"
    rogue_gets_answers 6 && { fail "cgw answered rogue's IPv6 IKE under strict"; return 1; }
    [ "$(counter cgw rogue_ike)" -gt 0 ] && [ "$(counter cgw rogue_natt)" -gt 0 ] ||
        fail "rogue's IPv6 IKE/NAT-T never reached cgw" || return 1
    local esp
    read -r -a esp <<<"$(esp_delivered cgw "$CGW_6" "$AWS1_6" "$ROGUE_6")"
    log "raw IPv6 ESP delivered on cgw: aws1 ${esp[0]}/3, rogue ${esp[1]}/3"
    [ "${esp[1]}" = 0 ] || fail "rogue's IPv6 ESP was delivered on cgw under strict" || return 1
    [ "${esp[0]}" -gt 0 ] || fail "aws1's IPv6 ESP was not delivered on cgw" || return 1
}
