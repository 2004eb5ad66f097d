import CGWFWModel

/// A small host-placement intent: IKE and ESP accepts for `endpoints` (one customer gateway), optionally
/// strict, and the MSS/DF chain with `selector`.
func sampleIntent(endpoints: [String], strict: Bool = false, selector: TunnelSelector = .ipsecPolicy) -> RuleIntent {
    let local = IPAddress("198.51.100.7")!
    let elements = endpoints.enumerated().map { index, remote in
        PeerSet.Element(local: local, remote: IPAddress(remote)!, origins: [Origin(connection: "vpn-test", tunnel: index + 1)])
    }
    var rules = [IntentRule(tag: "accept-ike-in-ipv4", action: .acceptPeers(traffic: .ike, direction: .inbound, family: .ipv4, set: "pairs_ipv4"),
                            comment: "IKE"),
                 IntentRule(tag: "accept-esp-in-ipv4", action: .acceptPeers(traffic: .esp, direction: .inbound, family: .ipv4, set: "pairs_ipv4"),
                            comment: "ESP")]
    var sets = [PeerSet(name: "pairs_ipv4", family: .ipv4, kind: .pairs, elements: elements)]
    if strict {
        rules.append(IntentRule(tag: "drop-ike-in-ipv4", action: .dropUnknownPeers(traffic: .ike, direction: .inbound, family: .ipv4, set: "locals_ipv4"),
                                comment: "strict"))
        sets.append(PeerSet(name: "locals_ipv4", family: .ipv4, kind: .locals,
                            elements: [PeerSet.Element(local: local, origins: [Origin(connection: "vpn-test", tunnel: 1)])]))
    }
    let tunnel = IntentChain(role: .tunnel, rules: [
        IntentRule(tag: "mss-into-tunnel-ipv4", action: .clampMSS(family: .ipv4, mss: 1379, direction: .intoTunnel, selector: selector), comment: "MSS"),
        IntentRule(tag: "clear-df-ipv4", action: .clearDF(selector: selector), comment: "DF"),
    ])
    return RuleIntent(table: "cgwfw", placement: .host, counters: true, strict: strict, sets: sets,
                      chains: [IntentChain(role: .input, rules: rules), tunnel])
}
