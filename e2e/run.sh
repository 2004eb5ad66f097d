#!/usr/bin/env bash
# End-to-end wire tests for cgwfw: real IKEv2/IPsec tunnels (strongSwan, userspace ESP) between network
# namespaces, through firewalls built by cgwfw. Every case asserts on what crossed the wire: ping replies,
# captured headers, packets delivered to raw sockets, kernel counters read with `nft -j`.
#
#   e2e/run.sh [CASE...]      run all cases, or only the named ones (0 1 2 3 4 5 6 7)
#   CGWFW=path/to/cgwfw       binary under test (default: .build/debug/cgwfw)
#   E2E_APPLY=nft             load `cgwfw compile --target nftables` with nft -f instead of `cgwfw apply`
#                             (standalone cases only; the attach cases 1 and 2 need apply)
#   E2E_KEEP=1                keep the logs after the run (for debugging)
#   E2E_HOLD=SECONDS          wait before tearing the topology down (to look around with ip netns exec)
#
# The topology is drawn in README.md ("How we test"). Needs root; prints a skip reason and exits 0 otherwise.
set -u -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
CGWFW=${CGWFW:-$ROOT/.build/debug/cgwfw}
PY=/usr/bin/python3
WIRE="$PY $HERE/wire.py"
P=cgwe2e                              # namespace prefix: cgwe2e-aws1, cgwe2e-fw, ...
NAMESPACES=(net aws1 aws2 rogue fw cgw lan nat cgwn)
CHARONS=(aws1 aws2 cgw rogue cgwn)

if [ "$(id -u)" != 0 ]; then
    echo "e2e: skipped: needs root (network namespaces, nftables, strongSwan); 0 passed, 0 failed"
    exit 0
fi
for tool in ip nft conntrack swanctl tcpdump unshare /usr/lib/ipsec/charon "$PY"; do
    command -v "$tool" >/dev/null || { echo "e2e: missing $tool (make deps installs it)"; echo "0 passed, 1 failed"; exit 1; }
done
[ -x "$CGWFW" ] || echo "e2e: warning: $CGWFW is not built; cases that need cgwfw will fail"

# One run at a time: the namespace names are fixed.
exec {LOCK}>/run/cgwe2e.lock
flock -n "$LOCK" || { echo "e2e: another e2e run holds /run/cgwe2e.lock"; echo "0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d /tmp/cgwe2e.XXXXXX)
PASSED=0 FAILED=0

# --- addresses (documentation ranges only) -------------------------------------------------------------
AWS1=192.0.2.10 AWS2=192.0.2.20 ROUTER=192.0.2.1 FW_WAN=192.0.2.2
CGW=198.51.100.7 FW_LAN=198.51.100.1                   # 198.51.100.0/28: fw - cgw
NAT_PUBLIC=198.51.100.17                              # the NAT box's internet address (config's CGW)
NAT_INSIDE=198.51.100.33 CGWN=198.51.100.34            # 198.51.100.32/28: behind the NAT
CGW_LAN=198.51.100.65 LAN=198.51.100.66 LAN_NET=198.51.100.64/26
ROGUE=203.0.113.66
VPC1=203.0.113.129 VPC1_NET=203.0.113.128/27           # reachable only through tunnel 1 (aws1)
VPC2=203.0.113.161 VPC2_NET=203.0.113.160/27           # reachable only through tunnel 2 (aws2)
AWS1_6=2001:db8:2::10 AWS2_6=2001:db8:2::20 ROGUE_6=2001:db8:113::66
CGW_6=2001:db8:51::7 FW_LAN_6=2001:db8:51::1
LAN_6=2001:db8:64::66 CGW_LAN_6=2001:db8:64::1 LAN_NET_6=2001:db8:64::/64
VPC1_6=2001:db8:128::1 VPC1_NET_6=2001:db8:128::/64 VPC2_6=2001:db8:160::1 VPC2_NET_6=2001:db8:160::/64

nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
swan() { local n=$1 command=$2; shift 2; nsx "$n" swanctl "$command" --uri "unix://$WORK/$n/charon.vici" "$@"; }
log() { echo "  $*"; }

# --- cleanup: every namespace, process and file, also on failure ---------------------------------------
cleanup() {
    local pid n
    [ -n "${E2E_HOLD:-}" ] && { echo "e2e: holding the topology for $E2E_HOLD s"; sleep "$E2E_HOLD"; }
    # Every background job of this script: charons, captures, listeners.
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
    wait 2>/dev/null
    for n in "${NAMESPACES[@]}"; do
        if ip netns list | grep -qw "$P-$n"; then
            for pid in $(ip netns pids "$P-$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
            ip netns del "$P-$n"
        fi
    done
    rm -f /run/cgwe2e.lock
    if [ "${E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept logs in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'echo "e2e: interrupted"; echo "$PASSED passed, $((FAILED + 1)) failed"; exit 130' INT TERM

# --- topology --------------------------------------------------------------------------------------------
#   net routes between aws1, aws2, rogue, fw and nat. Every link is a veth pair; net's side carries the
#   router address 192.0.2.1 / fe80::1 on each link and a host route to its neighbour.
link() { # link NS_A IF_A NS_B IF_B
    ip link add "$2" netns "$P-$1" type veth peer name "$4" netns "$P-$3"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

# A host hanging off net: /32 and /128 on its veth, default routes to net's link-local router addresses.
internet_host() { # internet_host NS ADDR4 ADDR6
    link net "n-$1" "$1" eth0
    nsx net ip addr add "$ROUTER/32" dev "n-$1"
    nsx net ip addr add fe80::1/64 dev "n-$1" nodad
    nsx net ip route add "$2/32" dev "n-$1"
    nsx "$1" ip addr add "$2/32" dev eth0
    nsx "$1" ip route add "$ROUTER" dev eth0 scope link
    nsx "$1" ip route add default via "$ROUTER" dev eth0
    if [ -n "$3" ]; then
        nsx net ip -6 route add "$3/128" dev "n-$1"
        nsx "$1" ip addr add "$3/128" dev eth0 nodad
        nsx "$1" ip -6 route add default via fe80::1 dev eth0
    fi
}

setup_topology() {
    local n
    for n in "${NAMESPACES[@]}"; do
        ip netns del "$P-$n" 2>/dev/null
        ip netns add "$P-$n"
        nsx "$n" ip link set lo up
        nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.ip_forward=1 \
            net.ipv6.conf.all.forwarding=1
    done
    internet_host aws1 "$AWS1" "$AWS1_6"
    internet_host aws2 "$AWS2" "$AWS2_6"
    internet_host rogue "$ROGUE" "$ROGUE_6"
    nsx aws1 ip addr add "$VPC1/32" dev lo
    nsx aws1 ip addr add "$VPC1_6/128" dev lo
    nsx aws2 ip addr add "$VPC2/32" dev lo
    nsx aws2 ip addr add "$VPC2_6/128" dev lo

    # fw: the firewall in front of cgw; cgw owns 198.51.100.0/28 and 2001:db8:51::/64 behind it.
    link net n-fw fw wan0
    nsx net ip addr add "$ROUTER/32" dev n-fw
    nsx net ip addr add fe80::1/64 dev n-fw nodad
    nsx net ip route add "$FW_WAN/32" dev n-fw
    nsx net ip route add 198.51.100.0/28 via "$FW_WAN" dev n-fw
    nsx net ip -6 route add 2001:db8:51::/64 via fe80::2 dev n-fw
    nsx fw ip addr add "$FW_WAN/32" dev wan0
    nsx fw ip addr add fe80::2/64 dev wan0 nodad
    nsx fw ip route add "$ROUTER" dev wan0 scope link
    nsx fw ip route add default via "$ROUTER" dev wan0
    nsx fw ip -6 route add default via fe80::1 dev wan0
    link fw lan0 cgw wan0
    nsx fw ip addr add "$FW_LAN/28" dev lan0
    nsx fw ip addr add "$FW_LAN_6/64" dev lan0 nodad
    nsx cgw ip addr add "$CGW/28" dev wan0
    nsx cgw ip addr add "$CGW_6/64" dev wan0 nodad
    nsx cgw ip route add default via "$FW_LAN"
    nsx cgw ip -6 route add default via "$FW_LAN_6"
    link cgw lan0 lan eth0
    nsx cgw ip addr add "$CGW_LAN/26" dev lan0
    nsx cgw ip addr add "$CGW_LAN_6/64" dev lan0 nodad
    nsx lan ip addr add "$LAN/26" dev eth0
    nsx lan ip addr add "$LAN_6/64" dev eth0 nodad
    nsx lan ip route add default via "$CGW_LAN"
    nsx lan ip -6 route add default via "$CGW_LAN_6"

    # nat: a masquerading NAT box with cgwn (a second customer gateway) on its private side.
    link net n-nat nat wan0
    nsx net ip addr add "$ROUTER/32" dev n-nat
    nsx net ip route add "$NAT_PUBLIC/32" dev n-nat
    nsx nat ip addr add "$NAT_PUBLIC/32" dev wan0
    nsx nat ip route add "$ROUTER" dev wan0 scope link
    nsx nat ip route add default via "$ROUTER" dev wan0
    link nat lan0 cgwn wan0
    nsx nat ip addr add "$NAT_INSIDE/28" dev lan0
    nsx cgwn ip addr add "$CGWN/28" dev wan0
    nsx cgwn ip route add default via "$NAT_INSIDE"
}

nat_masquerade() {
    nsx nat nft -f - <<EOF
table ip masq {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
EOF
}

# --- strongSwan ----------------------------------------------------------------------------------------
IKE_PROPOSALS=aes128-sha256-modp2048
ESP_PROPOSALS=aes128-sha256-modp2048

# conn NAME LOCAL_ADDR REMOTE_ADDR LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS [REMOTE_PORT]
conn() {
    cat <<EOF
    $1 {
        version = 2
        local_addrs = $2
        remote_addrs = $3
        ${8:+remote_port = $8}
        encap = yes
        mobike = no
        proposals = $IKE_PROPOSALS
        dpd_delay = 0
        local { auth = psk
                id = $4 }
        remote { auth = psk
                 id = $5 }
        children {
            $1 { local_ts = $6
                 remote_ts = $7
                 esp_proposals = $ESP_PROPOSALS }
        }
    }
EOF
}

# secret NAME ID1 ID2 KEY — one secret per pair of ids, so no side ever picks another tunnel's key.
secret() {
    cat <<EOF
    ike-$1 { id-1 = $2
             id-2 = $3
             secret = "$4" }
EOF
}

KEY1=e2e_made_up_key_tunnel_one KEY2=e2e_made_up_key_tunnel_two

write_swanctl() {
    local d=$WORK/$1
    case $1 in
    aws1) { echo "connections {"
            conn cgw "$AWS1" "$CGW" "$AWS1" "$CGW" "$VPC1_NET" "$LAN_NET"
            conn cgw6 "$AWS1_6" "$CGW_6" "$AWS1_6" "$CGW_6" "$VPC1_NET_6" "$LAN_NET_6"
            conn cgwn "$AWS1" "$NAT_PUBLIC" "$AWS1" "$NAT_PUBLIC" "$VPC1_NET" "$CGWN/32"
            echo "}"; echo "secrets {"
            secret cgw "$AWS1" "$CGW" "$KEY1"; secret cgw6 "$AWS1_6" "$CGW_6" "$KEY1"
            secret cgwn "$AWS1" "$NAT_PUBLIC" "$KEY1"
            echo "}"; } ;;
    aws2) { echo "connections {"
            conn cgw "$AWS2" "$CGW" "$AWS2" "$CGW" "$VPC2_NET" "$LAN_NET"
            conn cgw6 "$AWS2_6" "$CGW_6" "$AWS2_6" "$CGW_6" "$VPC2_NET_6" "$LAN_NET_6"
            echo "}"; echo "secrets {"
            secret cgw "$AWS2" "$CGW" "$KEY2"; secret cgw6 "$AWS2_6" "$CGW_6" "$KEY2"
            echo "}"; } ;;
    cgw)  { echo "connections {"
            conn t1 "$CGW" "$AWS1" "$CGW" "$AWS1" "$LAN_NET" "$VPC1_NET"
            conn t2 "$CGW" "$AWS2" "$CGW" "$AWS2" "$LAN_NET" "$VPC2_NET"
            conn t1v6 "$CGW_6" "$AWS1_6" "$CGW_6" "$AWS1_6" "$LAN_NET_6" "$VPC1_NET_6"
            conn t2v6 "$CGW_6" "$AWS2_6" "$CGW_6" "$AWS2_6" "$LAN_NET_6" "$VPC2_NET_6"
            echo "}"; echo "secrets {"
            secret t1 "$CGW" "$AWS1" "$KEY1"; secret t2 "$CGW" "$AWS2" "$KEY2"
            secret t1v6 "$CGW_6" "$AWS1_6" "$KEY1"; secret t2v6 "$CGW_6" "$AWS2_6" "$KEY2"
            echo "}"; } ;;
    cgwn) { echo "connections {"
            conn n1 "$CGWN" "$AWS1" "$NAT_PUBLIC" "$AWS1" "$CGWN/32" "$VPC1_NET"
            echo "}"; echo "secrets {"
            secret n1 "$NAT_PUBLIC" "$AWS1" "$KEY1"
            echo "}"; } ;;
    rogue) { echo "connections {"    # not an AWS endpoint: tries IKE to cgw on 500 and straight on 4500
            conn r500 "$ROGUE" "$CGW" "$ROGUE" "$CGW" "$ROGUE/32" "$LAN_NET"
            conn r4500 "$ROGUE" "$CGW" "$ROGUE" "$CGW" "$ROGUE/32" "$LAN_NET" 4500
            conn r6_500 "$ROGUE_6" "$CGW_6" "$ROGUE_6" "$CGW_6" "$ROGUE_6/128" "$LAN_NET_6"
            conn r6_4500 "$ROGUE_6" "$CGW_6" "$ROGUE_6" "$CGW_6" "$ROGUE_6/128" "$LAN_NET_6" 4500
            echo "}"; echo "secrets {"
            secret r "$ROGUE" "$CGW" rogue_made_up_key; secret r6 "$ROGUE_6" "$CGW_6" rogue_made_up_key
            echo "}"; } ;;
    esac >"$d/swanctl.conf"
}

start_charon() {
    local n=$1 d=$WORK/$1
    mkdir -p "$d/run"
    cat >"$d/strongswan.conf" <<EOF
charon {
    load_modular = no
    # kernel-libipsec (userspace ESP over the TUN device ipsec0) before kernel-netlink; no kernel ESP here.
    load = random nonce openssl aes sha1 sha2 hmac kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
    retransmit_tries = 2
    retransmit_timeout = 1.0
    retransmit_base = 1.4
    install_virtual_ip = no
    filelog {
        main {
            path = $d/charon.log
            time_format = %T
            default = 1
            ike = 2
            flush_line = yes
        }
    }
    syslog {
        daemon {
            default = -1
        }
    }
    plugins {
        vici {
            socket = unix://$d/charon.vici
        }
    }
}
EOF
    write_swanctl "$n"
    rm -f "$d/charon.vici"
    # A private /run: charon's pid file path is compiled in and would clash between namespaces.
    ip netns exec "$P-$n" env STRONGSWAN_CONF="$d/strongswan.conf" unshare -m sh -c \
        "mount --make-rprivate / && mount --bind $d/run /run && exec /usr/lib/ipsec/charon" \
        >"$d/charon.out" 2>&1 &
    echo $! >"$d/pid"
    for _ in $(seq 50); do [ -S "$d/charon.vici" ] && break; sleep 0.1; done
    { swan "$n" --load-creds --file "$d/swanctl.conf" && swan "$n" --load-conns --file "$d/swanctl.conf"; } \
        >"$d/load.out" 2>&1 || { grep -v "^plugin" "$d/load.out"; return 1; }
}

initiate() { # initiate NS CHILD [TIMEOUT]: true when the tunnel came up
    echo "--- initiate $2 $(date +%T)" >>"$WORK/$1/swanctl.out"
    swan "$1" --initiate --child "$2" --timeout "${3:-8}" >>"$WORK/$1/swanctl.out" 2>&1
}

terminate_all() {
    local name
    for name in t1 t2 t1v6 t2v6; do swan cgw --terminate --ike "$name" --timeout 3 >/dev/null 2>&1; done
    swan cgwn --terminate --ike n1 --timeout 3 >/dev/null 2>&1
    for name in r500 r4500 r6_500 r6_4500; do swan rogue --terminate --ike "$name" --force >/dev/null 2>&1; done
    for name in cgw cgw6 cgwn; do
        swan aws1 --terminate --ike "$name" --force >/dev/null 2>&1
        swan aws2 --terminate --ike "$name" --force >/dev/null 2>&1
    done
}

# --- firewalls and observation ---------------------------------------------------------------------------
flush_conntrack() { local n; for n in "${NAMESPACES[@]}"; do nsx "$n" conntrack -F >/dev/null 2>&1; done; }

# Between cases: no firewall anywhere (the NAT box keeps its masquerade), no SAs, no conntrack state.
reset_state() {
    local n
    for n in "${NAMESPACES[@]}"; do nsx "$n" nft flush ruleset; done
    nat_masquerade
    terminate_all
    flush_conntrack
}

# Counters in a table of the test's own (inet e2eobs), read back from the kernel with nft -j.
# observe NS 'chain definitions...'
observe() {
    nsx "$1" nft -f - <<EOF
table inet e2eobs {
$2
}
EOF
}

counter() { # counter NS NAME -> packets
    nsx "$1" nft -j list counter inet e2eobs "$2" |
        $PY -c 'import json,sys; print(next(o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o))'
}

ping_ok() { # ping_ok NS DST: at least 2 of 3 echo replies
    local out received
    out=$(nsx "$1" ping -c 3 -i 0.2 -W 2 "$2" 2>&1)
    received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
    [ "${received:-0}" -ge 2 ]
}

# Generic config for the test topology, rendered from e2e/configs/generic.txt.in.
render_config() { # render_config OUT VPN_ID CGW AWS1 AWS2 IKE_INTEGRITY ESP_INTEGRITY
    sed -e "s/@VPN_ID@/$2/" -e "s/@CGW@/$3/" -e "s/@AWS1@/$4/" -e "s/@AWS2@/$5/" \
        -e "s/@IKE_INTEGRITY@/$6/" -e "s/@ESP_INTEGRITY@/$7/" "$HERE/configs/generic.txt.in" >"$1"
}

render_configs() {
    CONFIG_V4=$WORK/generic-v4.txt CONFIG_V4_SHA384=$WORK/generic-v4-sha384.txt
    CONFIG_NAT=$WORK/generic-nat.txt CONFIG_V6=$WORK/generic-v6.txt
    render_config "$CONFIG_V4" vpn-0e2e0000000000004 "$CGW" "$AWS1" "$AWS2" sha2-256 hmac-sha2-256-128
    render_config "$CONFIG_V4_SHA384" vpn-0e2e0000000000384 "$CGW" "$AWS1" "$AWS2" sha2-384 hmac-sha2-384-192
    render_config "$CONFIG_NAT" vpn-0e2e000000000000a "$NAT_PUBLIC" "$AWS1" "$AWS2" sha2-256 hmac-sha2-256-128
    render_config "$CONFIG_V6" vpn-0e2e0000000000006 "$CGW_6" "$AWS1_6" "$AWS2_6" sha2-256 hmac-sha2-256-128
}

# cgwfw NS ARGS...: run the binary under test in a namespace; its output goes to the case log.
cgwfw() {
    local n=$1; shift
    echo "--- [$n] cgwfw $*" >>"$WORK/cgwfw.out"
    nsx "$n" "$CGWFW" "$@" >>"$WORK/cgwfw.out" 2>&1
    local rc=$?
    [ $rc = 0 ] || echo "    (exit $rc)" >>"$WORK/cgwfw.out"
    return $rc
}

# --- case bookkeeping ------------------------------------------------------------------------------------
FAILED_CASES=() REASON=""
# fail REASON: record why the case failed; returns 1, so use it as `check || fail ... || return 1`
# or `bad && { fail ...; return 1; }`.
fail() { REASON="$*"; return 1; }

diagnose() {
    local n
    echo "  --- diagnostics"
    echo "  --- cgwfw invocations"; tail -n 40 "$WORK/cgwfw.out" 2>/dev/null | sed 's/^/    /'
    for n in "${NAMESPACES[@]}"; do
        echo "  --- nft list ruleset in $n"; nsx "$n" nft list ruleset 2>&1 | sed 's/^/    /'
    done
    for n in "${CHARONS[@]}"; do
        echo "  --- charon log of $n (last 30 lines)"; tail -n 30 "$WORK/$n/charon.log" 2>/dev/null | sed 's/^/    /'
    done
}

run_case() { # run_case ID TITLE FUNCTION
    local started=$SECONDS
    echo "=== case $1: $2"
    REASON=""
    : >"$WORK/cgwfw.out"
    if "$3"; then
        echo "PASS case $1 ($((SECONDS - started)) s)"
        PASSED=$((PASSED + 1))
    else
        echo "FAIL case $1: ${REASON:-no reason recorded} ($((SECONDS - started)) s)"
        diagnose
        FAILED=$((FAILED + 1)) FAILED_CASES+=("$1")
    fi
    reset_state
}

need_cgwfw() { [ -x "$CGWFW" ] || fail "cgwfw binary $CGWFW not built"; }
need_command() { # need_command SUBCOMMAND: the feature has landed in the binary under test
    need_cgwfw || return 1
    "$CGWFW" --help 2>/dev/null | grep -q "^  $1 " || fail "cgwfw has no '$1' subcommand yet"
}

. "$HERE/cases.sh"

# --- main ------------------------------------------------------------------------------------------------
ALL_CASES=(0 1 2 3 4 5 6 7)
SELECTED=("$@")
[ ${#SELECTED[@]} = 0 ] && SELECTED=("${ALL_CASES[@]}")

echo "e2e: building topology in namespaces $P-* (work dir $WORK)"
setup_topology || { echo "e2e: topology setup failed"; echo "0 passed, 1 failed"; exit 1; }
nat_masquerade
render_configs
for n in "${CHARONS[@]}"; do
    start_charon "$n" || { echo "e2e: charon in $n did not start"; diagnose; echo "0 passed, 1 failed"; exit 1; }
done

for id in "${SELECTED[@]}"; do
    case $id in
    0) run_case 0 "harness: tunnels through a hand-written default-drop ruleset" case_harness ;;
    1) run_case 1 "gateway placement, strict, default-deny fw: tunnels up, down after remove" case_gateway ;;
    2) run_case 2 "attach mode into fw's inet filter: tunnel up, table byte-identical after remove" case_attach ;;
    3) run_case 3 "host placement on cgw, strict: AWS accepted, rogue IKE/NAT-T/ESP dropped" case_host ;;
    4) run_case 4 "NAT traversal: cgw behind masquerading NAT, --local-address" case_nat ;;
    5) run_case 5 "raw ESP (protocol 50) from aws1 and rogue, gateway placement, strict" case_raw_esp ;;
    6) run_case 6 "MSS clamp and DF clear on the wire (host placement, tunnel interface)" case_mss_df ;;
    7) run_case 7 "IPv6 outside addresses: tunnel pair up, rogue dropped" case_ipv6 ;;
    *) echo "e2e: unknown case '$id'"; FAILED=$((FAILED + 1)); FAILED_CASES+=("$id") ;;
    esac
done

echo "e2e: failed cases: ${FAILED_CASES[*]:-none}"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
