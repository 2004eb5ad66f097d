import CGWFWModel

/// Whether UDP 4500 is opened for one tunnel, and why (said in `check` and `compile`).
public struct NATTraversalDecision: Hashable, Sendable {
    public var open: Bool
    public var reason: String

    public init(open: Bool, reason: String) {
        self.open = open
        self.reason = reason
    }

    /// - Parameters:
    ///   - mode: `--nat-traversal` / the profile's `nat_traversal`.
    ///   - behindNAT: the profile's `behind_nat`.
    public static func decide(connection: Connection, tunnel: Tunnel, mode: Profile.NATTraversal,
                              behindNAT: Bool) -> NATTraversalDecision {
        switch mode {
        case .on: return NATTraversalDecision(open: true, reason: "nat_traversal is on")
        case .off: return NATTraversalDecision(open: false, reason: "nat_traversal is off")
        case .auto: break
        }
        if connection.accelerated == true {
            return NATTraversalDecision(open: true, reason: "accelerated VPN (AWS requires NAT-T)")
        }
        if tunnel.natTraversal == true {
            return NATTraversalDecision(open: true, reason: "the config enables NAT-T")
        }
        // Comparing text first spares parsing the address again in the usual case (no --local-address).
        if let text = tunnel.configCustomerGatewayAddress, text != tunnel.customerGatewayAddress.description,
           let configured = IPAddress(text), configured != tunnel.customerGatewayAddress {
            return NATTraversalDecision(open: true, reason: "--local-address \(tunnel.customerGatewayAddress) differs from "
                                        + "the config's customer gateway address \(configured): behind NAT")
        }
        if behindNAT {
            return NATTraversalDecision(open: true, reason: "the profile says the gateway is behind NAT (behind_nat)")
        }
        if tunnel.natTraversal == false {
            return NATTraversalDecision(open: false, reason: "the config disables NAT-T")
        }
        return NATTraversalDecision(open: false, reason: "not accelerated and not behind NAT as far as the config and "
                                    + "profile say (use --nat-traversal on or behind_nat: true if it is)")
    }
}

/// Connections + profile → rule intent. Pure: no I/O, deterministic output for the same input.
public enum IntentBuilder {
    /// Names of the sets every intent has, per family: all pairs (IKE, ESP), NAT-T pairs, strict's locals.
    public static func pairsSetName(_ family: IPAddress.Family) -> String { "pairs_\(family.rawValue)" }
    public static func natTraversalSetName(_ family: IPAddress.Family) -> String { "natt_\(family.rawValue)" }
    public static func localsSetName(_ family: IPAddress.Family) -> String { "locals_\(family.rawValue)" }
    /// The kernel-filled sets that count each pair per accept rule (`seen_ike_in_ipv4`) and each rogue
    /// address per strict drop rule (`dropped_esp_out_ipv6`).
    public static func seenSetName(_ traffic: TunnelTraffic, _ direction: TrafficDirection, _ family: IPAddress.Family) -> String {
        "seen_\(setWord(traffic))_\(direction == .inbound ? "in" : "out")_\(family.rawValue)"
    }
    public static func droppedSetName(_ traffic: TunnelTraffic, _ direction: TrafficDirection, _ family: IPAddress.Family) -> String {
        "dropped_\(setWord(traffic))_\(direction == .inbound ? "in" : "out")_\(family.rawValue)"
    }
    static func setWord(_ traffic: TunnelTraffic) -> String { traffic == .natTraversal ? "natt" : traffic.rawValue }

    /// How far back "last seen" reaches: a counting set's element lives this long after its last packet.
    public static let countingTimeout = 86_400
    /// Elements per counting set: room for every pair of 30,000 connections, and a bound on what a flood
    /// of forged sources can make the kernel keep (about 100 bytes each).
    public static let countingCapacity = 65_535

    /// IPv6's fixed header is 20 bytes longer than IPv4's, so the same tunnel MTU leaves 20 bytes less payload.
    static let ipv6HeaderOverhead = 20

    public static func build(connections: [Connection], profile: Profile) -> CompileResult {
        var diagnostics = Diagnostics()
        var pairs: [IPAddress.Family: [Pair: [Origin]]] = [:]
        var natPairs: [IPAddress.Family: [Pair: [Origin]]] = [:]
        var locals: [IPAddress.Family: [IPAddress: [Origin]]] = [:]
        var smallestMSS: Int?
        var anyTunnelWantsDFCleared = false
        var tunnelCount = 0

        for connection in connections {
            let name = connection.displayName
            if connection.tunnels.isEmpty {
                diagnostics.warning("\(name): no tunnels, nothing to allow", file: connection.source)
            }
            var reasons: [(decision: NATTraversalDecision, tunnels: [Int])] = []
            for tunnel in connection.tunnels {
                tunnelCount += 1
                let local = tunnel.customerGatewayAddress, remote = tunnel.vpnGatewayAddress
                guard local.family == remote.family else {
                    diagnostics.error("\(name) tunnel \(tunnel.number): customer gateway \(local) and AWS endpoint "
                                      + "\(remote) are of different address families", file: connection.source, line: tunnel.line)
                    continue
                }
                let origin = Origin(connection: name, tunnel: tunnel.number)
                let pair = Pair(local: local, remote: remote)
                pairs[local.family, default: [:]][pair, default: []].append(origin)
                locals[local.family, default: [:]][local, default: []].append(origin)
                let decision = NATTraversalDecision.decide(connection: connection, tunnel: tunnel,
                                                           mode: profile.natTraversal, behindNAT: profile.behindNAT)
                if decision.open { natPairs[local.family, default: [:]][pair, default: []].append(origin) }
                if let index = reasons.firstIndex(where: { $0.decision == decision }) {
                    reasons[index].tunnels.append(tunnel.number)
                } else {
                    reasons.append((decision, [tunnel.number]))
                }
                smallestMSS = min(smallestMSS ?? tunnel.tcpMSS, tunnel.tcpMSS)
                anyTunnelWantsDFCleared = anyTunnelWantsDFCleared || tunnel.clearDF
            }
            for (decision, numbers) in reasons {
                let tunnels = (numbers.count == 1 ? "tunnel " : "tunnels ") + numbers.map(String.init).joined(separator: ", ")
                diagnostics.note("\(name): NAT-T (UDP 4500) \(decision.open ? "open" : "closed") for \(tunnels): \(decision.reason)",
                                 file: connection.source)
            }
        }
        if connections.isEmpty {
            diagnostics.warning("no connections: the rules allow nothing until peers are added")
        }

        var sets: [PeerSet] = []
        for family in IPAddress.Family.allCases {
            sets.append(PeerSet(name: pairsSetName(family), family: family, kind: .pairs,
                                elements: elements(pairs[family] ?? [:])))
            sets.append(PeerSet(name: natTraversalSetName(family), family: family, kind: .pairs,
                                elements: elements(natPairs[family] ?? [:])))
            if profile.strict {
                let localElements = (locals[family] ?? [:]).map { PeerSet.Element(local: $0.key, origins: $0.value.sortedUnique()) }
                sets.append(PeerSet(name: localsSetName(family), family: family, kind: .locals, elements: localElements.sorted()))
            }
            if profile.counters, (pairs[family]?.count ?? 0) > countingCapacity {
                diagnostics.note("\(pairs[family]!.count) \(family == .ipv4 ? "IPv4" : "IPv6") tunnel pairs: show counts "
                                 + "the first \(countingCapacity) of them per protocol and direction (the rules allow all)")
            }
        }
        if profile.counters {
            for family in IPAddress.Family.allCases {
                for direction in [TrafficDirection.inbound, .outbound] {
                    for traffic in TunnelTraffic.allCases {
                        let dynamic = PeerSet.Dynamic(traffic: traffic, direction: direction, timeout: countingTimeout,
                                                      capacity: countingCapacity)
                        sets.append(PeerSet(name: seenSetName(traffic, direction, family), family: family, kind: .seen,
                                            elements: [], dynamic: dynamic))
                        if profile.strict {
                            sets.append(PeerSet(name: droppedSetName(traffic, direction, family), family: family, kind: .dropped,
                                                elements: [], dynamic: dynamic))
                        }
                    }
                }
            }
        }

        var chains: [IntentChain] = []
        switch profile.placement {
        case .host:
            chains.append(IntentChain(role: .input, rules: peerRules(direction: .inbound, strict: profile.strict,
                                                                     counters: profile.counters)))
            chains.append(IntentChain(role: .output, rules: peerRules(direction: .outbound, strict: profile.strict,
                                                                      counters: profile.counters)))
            let tunnelRules = tunnelRules(profile: profile, smallestMSS: smallestMSS, tunnelCount: tunnelCount,
                                          anyTunnelWantsDFCleared: anyTunnelWantsDFCleared, diagnostics: &diagnostics)
            if !tunnelRules.isEmpty { chains.append(IntentChain(role: .tunnel, rules: tunnelRules)) }
        case .gateway:
            let counters = profile.counters
            chains.append(IntentChain(role: .forward, rules: peerRules(direction: .inbound, strict: false, counters: counters)
                                      + peerRules(direction: .outbound, strict: false, counters: counters)
                                      + (profile.strict ? dropRules(direction: .inbound, counters: counters)
                                         + dropRules(direction: .outbound, counters: counters) : [])))
            if profile.tcpMSS != .off || profile.clearDF != .off {
                diagnostics.note("gateway placement: a firewall in front of the customer gateway only sees encrypted "
                                 + "packets, so the MSS clamp and DF clear must be configured on the gateway itself "
                                 + "(tcp_mss / clear_df ignored)")
            }
        }

        let intent = RuleIntent(table: profile.table, placement: profile.placement, wanInterface: profile.wanInterface,
                                counters: profile.counters, strict: profile.strict, comments: profile.comments,
                                sets: sets, chains: chains)
        return CompileResult(intent: intent, diagnostics: diagnostics)
    }

    /// The accept rules of AWS's table for one direction, both families, then strict's drops; with
    /// counters, each preceded by the rule that counts its packets per pair (or per rogue address).
    static func peerRules(direction: TrafficDirection, strict: Bool, counters: Bool) -> [IntentRule] {
        var rules: [IntentRule] = []
        for family in IPAddress.Family.allCases {
            for traffic in TunnelTraffic.allCases {
                let set = traffic == .natTraversal ? natTraversalSetName(family) : pairsSetName(family)
                if counters {
                    rules.append(IntentRule(tag: tag("count", traffic, direction, family),
                                            action: .countPeers(traffic: traffic, direction: direction, family: family, set: set,
                                                                into: seenSetName(traffic, direction, family)),
                                            comment: "count \(trafficWords(traffic)) per tunnel for cgwfw show"))
                }
                rules.append(IntentRule(tag: tag("accept", traffic, direction, family),
                                        action: .acceptPeers(traffic: traffic, direction: direction, family: family, set: set),
                                        comment: acceptComment(traffic, direction)))
            }
        }
        return rules + (strict ? dropRules(direction: direction, counters: counters) : [])
    }

    static func trafficWords(_ traffic: TunnelTraffic) -> String {
        traffic == .esp ? "ESP" : (traffic == .ike ? "IKE (UDP 500)" : "NAT-T (UDP 4500)")
    }

    static func dropRules(direction: TrafficDirection, counters: Bool) -> [IntentRule] {
        var rules: [IntentRule] = []
        for family in IPAddress.Family.allCases {
            for traffic in TunnelTraffic.allCases {
                let what = trafficWords(traffic)
                let comment = direction == .inbound ? "strict: drop \(what) to the gateway from anyone else"
                    : "strict: drop \(what) from the gateway to anyone else"
                if counters {
                    rules.append(IntentRule(tag: tag("count-drop", traffic, direction, family),
                                            action: .countUnknownPeers(traffic: traffic, direction: direction, family: family,
                                                                       set: localsSetName(family),
                                                                       into: droppedSetName(traffic, direction, family)),
                                            comment: "count what the next rule drops per \(direction == .inbound ? "source" : "destination")"))
                }
                rules.append(IntentRule(tag: tag("drop", traffic, direction, family),
                                        action: .dropUnknownPeers(traffic: traffic, direction: direction, family: family,
                                                                  set: localsSetName(family)),
                                        comment: comment))
            }
        }
        return rules
    }

    /// `accept-ike-in-ipv4`, `drop-esp-out-ipv6`, `mss-into-tunnel-ipv4`, `clear-df-ipv4`: stable across runs.
    static func tag(_ verb: String, _ traffic: TunnelTraffic, _ direction: TrafficDirection, _ family: IPAddress.Family) -> String {
        "\(verb)-\(traffic.rawValue)-\(direction == .inbound ? "in" : "out")-\(family.rawValue)"
    }

    /// AWS's rule numbers: I1/I2 IKE and I3/I4 ESP inbound, O1–O4 outbound (one per tunnel of a connection).
    static func acceptComment(_ traffic: TunnelTraffic, _ direction: TrafficDirection) -> String {
        let inbound = direction == .inbound
        switch traffic {
        case .ike: return inbound ? "AWS I1/I2: IKE (UDP 500) from AWS endpoints" : "AWS O1/O2: IKE (UDP 500) to AWS endpoints"
        case .esp: return inbound ? "AWS I3/I4: ESP from AWS endpoints" : "AWS O3/O4: ESP to AWS endpoints"
        case .natTraversal: return inbound ? "NAT-T (UDP 4500) from AWS endpoints" : "NAT-T (UDP 4500) to AWS endpoints"
        }
    }

    static func tunnelRules(profile: Profile, smallestMSS: Int?, tunnelCount: Int, anyTunnelWantsDFCleared: Bool,
                            diagnostics: inout Diagnostics) -> [IntentRule] {
        let selector: TunnelSelector = profile.tunnelSelection == .ipsecPolicy ? .ipsecPolicy : .interfaces(profile.tunnelInterfaces)
        var rules: [IntentRule] = []
        let mss: Int?
        switch profile.tcpMSS {
        case .off: mss = nil
        case .fixed(let value): mss = value
        case .auto: mss = smallestMSS ?? AWSDefaults.tcpMSS
        }
        if let mss {
            for family in IPAddress.Family.allCases {
                let familyMSS = family == .ipv4 ? mss : mss - ipv6HeaderOverhead
                for direction in [IntentRule.TunnelDirection.intoTunnel, .fromTunnel] {
                    let way = direction == .intoTunnel ? "entering" : "leaving"
                    rules.append(IntentRule(tag: "mss-\(direction.rawValue)-\(family.rawValue)",
                                            action: .clampMSS(family: family, mss: familyMSS, direction: direction, selector: selector),
                                            comment: "clamp TCP MSS of \(family == .ipv4 ? "IPv4" : "IPv6") SYNs \(way) the tunnel to \(familyMSS)"))
                }
            }
        }
        let clearDF: Bool
        switch profile.clearDF {
        case .on: clearDF = true
        case .off: clearDF = false
        case .auto: clearDF = tunnelCount == 0 ? AWSDefaults.clearDF : anyTunnelWantsDFCleared
        }
        if clearDF {
            rules.append(IntentRule(tag: "clear-df-ipv4", action: .clearDF(selector: selector),
                                    comment: "clear DF on IPv4 packets entering the tunnel"))
        }
        return rules
    }

    private struct Pair: Hashable {
        var local: IPAddress
        var remote: IPAddress
    }

    private static func elements(_ pairs: [Pair: [Origin]]) -> [PeerSet.Element] {
        pairs.map { PeerSet.Element(local: $0.key.local, remote: $0.key.remote, origins: $0.value.sortedUnique()) }.sorted()
    }
}

extension Array where Element == Origin {
    func sortedUnique() -> [Origin] {
        if count < 2 { return self }  // nearly every pair has one origin: no set, no sort
        return Array(Set(self)).sorted { ($0.connection, $0.tunnel) < ($1.connection, $1.tunnel) }
    }
}
