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
    ping_ok lan "$VPC1" && fail "ping to $VPC1 answered without a tunnel" && return 1
    initiate cgw t1 6 && fail "tunnel 1 came up again without the firewall's allowances" && return 1
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
