import CGWFWModel

/// Where cgwfw's objects go: its own table, or regular chains inside an existing one.
public struct ApplyTarget: Sendable, Hashable {
    /// Attach mode: the existing table (e.g. `inet filter`).
    public var attach: TableRef?
    /// Attach mode: hook name → the base chain to jump from (default: every base chain on that hook).
    public var attachChains: [String: String]

    /// Take over objects of cgwfw's names that lack its ownership marker (`--adopt`): they are replaced.
    public var adopt: Bool

    public init(attach: TableRef? = nil, attachChains: [String: String] = [:], adopt: Bool = false) {
        self.attach = attach
        self.attachChains = attachChains
        self.adopt = adopt
    }

    public func table(for intent: RuleIntent) -> TableRef {
        attach ?? TableRef(family: .inet, name: intent.table)
    }

    public func mode(for intent: RuleIntent) -> OwnershipMode {
        attach == nil ? .standalone : .attach(prefix: "\(intent.table)-")
    }
}

/// Rule intent → the exact chains, sets, rules and expressions cgwfw writes. The expression lists are
/// those `nft -f` produces for the nftables backend's text of the same rules (checked with
/// `nft --debug=netlink`), so both paths leave the same kernel state.
public enum Lowering {
    /// The nft comment of a rule: its tag first, so apply finds its own rules by meaning. Cleaned and cut
    /// exactly as the nftables backend writes it, so both paths store the same bytes.
    public static func ruleComment(tag: String, comment: String, comments: Bool) -> String {
        NftString.clean(comments ? "\(tag): \(comment)" : tag)
    }

    /// The comment of a set element: the connections and tunnels it serves (`vpn-1 tunnel 2`), cleaned.
    public static func elementComment(_ element: PeerSet.Element) -> String {
        // Element.comment for the usual single origin, without its intermediate array (20,000 elements).
        let comment = element.origins.count == 1
            ? "\(element.origins[0].connection) tunnel \(element.origins[0].tunnel)"
            : element.comment
        return NftString.clean(comment)
    }

    /// The tag stored in a rule comment, or nil when the comment is not one of cgwfw's.
    public static func tag(fromComment comment: String) -> String {
        let bytes = Array(comment.utf8)
        for index in bytes.indices.dropLast() where bytes[index] == UInt8(ascii: ":") && bytes[index + 1] == UInt8(ascii: " ") {
            return String(decoding: bytes[..<index], as: UTF8.self)
        }
        return comment
    }

    public static func hook(for role: IntentChain.Role) -> Hook {
        switch role {
        case .input: return .input
        case .output: return .output
        case .forward, .tunnel: return .forward
        }
    }

    /// Standalone base chains: filter priority, mangle (-150) for the MSS/DF chain.
    static func baseChain(for role: IntentChain.Role) -> ChainSpec.Base {
        ChainSpec.Base(type: "filter", hook: hook(for: role), priority: role == .tunnel ? -150 : 0, policyAccept: true)
    }

    /// - Parameter attachedBaseChains: attach mode: the base chains the existing table has now.
    public static func desiredState(intent: RuleIntent, target: ApplyTarget,
                                    attachedBaseChains: [ChainSpec] = []) -> DesiredState {
        let table = target.table(for: intent)
        let mode = target.mode(for: intent)
        let prefix: String
        if case let .attach(p) = mode { prefix = p } else { prefix = "" }

        func setName(_ name: String) -> String { prefix + name }
        let sets = intent.sets.map { set -> SetSpec in
            let keyType: SetSpec.KeyType = set.kind == .pairs || set.kind == .seen ? .addressPair(set.family) : .address(set.family)
            if let dynamic = set.dynamic {
                // The counting sets carry the counters: one per pair (or rogue address) per rule.
                return SetSpec(name: setName(set.name), keyType: keyType, counters: true, elements: [],
                               comment: Ownership.marker,
                               dynamic: SetSpec.Dynamic(timeoutMilliseconds: UInt64(dynamic.timeout) * 1000,
                                                        size: UInt32(dynamic.capacity)))
            }
            // Hoisted: read per element, a property of `intent` or `set` can copy the whole value.
            let comments = intent.comments
            let pairs = set.kind == .pairs
            var elements: [SetSpec.Element] = []
            elements.reserveCapacity(set.elements.count)
            for element in set.elements {
                let remote = pairs ? element.remote : nil
                let key = [UInt8](unsafeUninitializedCapacity: byteCount(element.local) + (remote.map(byteCount) ?? 0)) { buffer, count in
                    count = writeBytes(element.local, to: buffer, at: 0)
                    if let remote { count = writeBytes(remote, to: buffer, at: count) }
                }
                guard comments else {
                    elements.append(SetSpec.Element(key: key, comment: nil))
                    continue
                }
                elements.append(SetSpec.Element(key: key, comment: elementComment(element)))
            }
            return SetSpec(name: setName(set.name), keyType: keyType, counters: false, elements: elements,
                           comment: Ownership.marker)
        }

        var chains: [ChainSpec] = []
        var rules: [RuleSpec] = []
        var jumps: [RuleSpec] = []
        for chain in intent.chains {
            let name = prefix + chain.role.rawValue
            let hook = hook(for: chain.role)
            if mode.isAttach {
                let named = target.attachChains[hook.rawValue]
                let sources = attachedBaseChains.filter { $0.base?.hook == hook && (named == nil || $0.name == named) }
                if sources.isEmpty {
                    // No base chain on this hook in the existing table: cgwfw's chain hooks in itself.
                    chains.append(ChainSpec(name: name, base: baseChain(for: chain.role), comment: Ownership.marker))
                } else {
                    chains.append(ChainSpec(name: name, comment: Ownership.marker))
                    for source in sources {
                        let tag = "\(prefix)jump-\(chain.role.rawValue)"
                        jumps.append(RuleSpec(chain: source.name, tag: tag, comment: tag, exprs: [.verdict(.jump(name))]))
                    }
                }
            } else {
                chains.append(ChainSpec(name: name, base: baseChain(for: chain.role), comment: Ownership.marker))
            }
            for rule in chain.rules {
                rules.append(RuleSpec(chain: name, tag: rule.tag,
                                      comment: ruleComment(tag: rule.tag, comment: rule.comment, comments: intent.comments),
                                      exprs: lower(rule.action, intent: intent, setName: setName)))
            }
        }
        return DesiredState(table: table, mode: mode, chains: chains, sets: sets, rules: rules, jumps: jumps,
                            tableComment: mode.isAttach ? nil : Ownership.marker)
    }

    /// How many bytes `address` takes in a set key.
    static func byteCount(_ address: IPAddress) -> Int {
        if case .v4 = address { return 4 }
        return 16
    }

    /// Writes the address's bytes (network order) at `offset`; returns the offset after them.
    static func writeBytes(_ address: IPAddress, to buffer: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        switch address {
        case let .v4(value):
            for index in 0..<4 { buffer[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * index)) }
            return offset + 4
        case let .v6(high, low):
            for index in 0..<8 {
                buffer[offset + index] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * index))
                buffer[offset + 8 + index] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * index))
            }
            return offset + 16
        }
    }

    // MARK: - Expressions

    static func be16(_ value: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)] }

    /// What nft compares an interface name with: the name padded with NULs to IFNAMSIZ (16) for an exact
    /// name, only the prefix's bytes for a `name*` wildcard (measured: `nft --debug=netlink`).
    static func interfaceBytes(_ pattern: InterfacePattern) -> [UInt8] {
        let stem = Array(pattern.stem.utf8.prefix(InterfacePattern.maxLength))
        return pattern.isWildcard ? stem : stem + [UInt8](repeating: 0, count: 16 - stem.count)
    }

    /// The patterns an interface list matches as nft would build them: valid names (checked when the profile
    /// was resolved), without duplicates and without names a wildcard of the list already covers, in key order.
    public static func interfacePatterns(_ names: [String]) -> [InterfacePattern] {
        let patterns = Set(names.compactMap { try? InterfacePattern($0) })
        let kept = patterns.filter { pattern in
            !patterns.contains { $0.isWildcard && $0 != pattern && pattern.stem.hasPrefix($0.stem) }
        }
        return kept.sorted { interfaceKey($0).lexicographicallyPrecedes(interfaceKey($1)) }
    }

    /// The 16-byte key where a pattern's interval starts (for ordering and for interval sets).
    public static func interfaceKey(_ pattern: InterfacePattern) -> [UInt8] {
        let stem = Array(pattern.stem.utf8.prefix(InterfacePattern.maxLength))
        return stem + [UInt8](repeating: 0, count: 16 - stem.count)
    }

    /// `iifname`/`oifname` matching one name, one wildcard, or several (an anonymous set, as nft builds it).
    static func interfaceMatch(_ key: Expr.MetaKey, _ names: [String]) -> [Expr] {
        let patterns = interfacePatterns(names)
        if patterns.count == 1 { return metaMatch(key, interfaceBytes(patterns[0])) }
        return [.meta(key, dreg: Expr.reg1), .interfaceSet(patterns: patterns, matching: key, sreg: Expr.reg1)]
    }

    static func metaMatch(_ key: Expr.MetaKey, _ data: [UInt8]) -> [Expr] {
        [.meta(key, dreg: Expr.reg1), .cmp(.eq, sreg: Expr.reg1, data: data)]
    }

    static func familyMatch(_ family: IPAddress.Family) -> [Expr] {
        metaMatch(.nfproto, [family == .ipv4 ? 2 : 10])
    }

    /// `udp sport P udp dport P` (nft merges both into one 4-byte compare), `udp dport P` for strict's
    /// drops (any source port), or `meta l4proto esp`.
    static func trafficMatch(_ traffic: TunnelTraffic, anySourcePort: Bool = false) -> [Expr] {
        guard let port = traffic.udpPort else { return metaMatch(.l4proto, [50]) }
        if anySourcePort {
            return metaMatch(.l4proto, [17]) + [
                .payload(.transport, offset: 2, length: 2, dreg: Expr.reg1),
                .cmp(.eq, sreg: Expr.reg1, data: be16(Int(port))),
            ]
        }
        return metaMatch(.l4proto, [17]) + [
            .payload(.transport, offset: 0, length: 4, dreg: Expr.reg1),
            .cmp(.eq, sreg: Expr.reg1, data: be16(Int(port)) + be16(Int(port))),
        ]
    }

    static func addressOffset(_ family: IPAddress.Family, source: Bool) -> (offset: UInt32, length: UInt32) {
        switch family {
        case .ipv4: return (source ? 12 : 16, 4)
        case .ipv6: return (source ? 8 : 24, 16)
        }
    }

    /// `ip daddr . ip saddr` into registers 1 and 9 (IPv6: 1 and 2): a pair set's key, `local . remote`;
    /// inbound packets carry the local address as destination.
    static func pairKey(_ family: IPAddress.Family, localIsSource: Bool) -> [Expr] {
        let first = addressOffset(family, source: localIsSource)
        let second = addressOffset(family, source: !localIsSource)
        let secondRegister = family == .ipv4 ? Expr.reg32_01 : Expr.reg2
        return [
            .payload(.network, offset: first.offset, length: first.length, dreg: Expr.reg1),
            .payload(.network, offset: second.offset, length: second.length, dreg: secondRegister),
        ]
    }

    static func wanMatch(_ intent: RuleIntent, _ direction: TrafficDirection) -> [Expr] {
        guard intent.placement == .gateway, let wan = intent.wanInterface else { return [] }
        return interfaceMatch(direction == .inbound ? .iifname : .oifname, [wan])
    }

    /// The expression list of one rule.
    static func lower(_ action: IntentRule.Action, intent: RuleIntent, setName: (String) -> String) -> [Expr] {
        let counter: [Expr] = intent.counters ? [.counter] : []
        switch action {
        case let .acceptPeers(traffic, direction, family, set):
            return wanMatch(intent, direction) + trafficMatch(traffic) + familyMatch(family)
                + pairKey(family, localIsSource: direction == .outbound) + [
                .lookup(set: setName(set), sreg: Expr.reg1, inverted: false),
            ] + counter + [.verdict(.accept)]
        case let .countPeers(traffic, direction, family, set, into):
            let key = pairKey(family, localIsSource: direction == .outbound)
            return wanMatch(intent, direction) + trafficMatch(traffic) + familyMatch(family) + key + [
                .lookup(set: setName(set), sreg: Expr.reg1, inverted: false),
            ] + key + [.dynsetUpdate(set: setName(into), sreg: Expr.reg1)]
        case let .countUnknownPeers(traffic, direction, family, set, into):
            let local = addressOffset(family, source: direction == .outbound)
            let other = addressOffset(family, source: direction == .inbound)
            return wanMatch(intent, direction) + trafficMatch(traffic, anySourcePort: true) + familyMatch(family) + [
                .payload(.network, offset: local.offset, length: local.length, dreg: Expr.reg1),
                .lookup(set: setName(set), sreg: Expr.reg1, inverted: false),
                .payload(.network, offset: other.offset, length: other.length, dreg: Expr.reg1),
                .dynsetUpdate(set: setName(into), sreg: Expr.reg1),
            ]
        case let .dropUnknownPeers(traffic, direction, family, set):
            let local = addressOffset(family, source: direction == .outbound)
            return wanMatch(intent, direction) + trafficMatch(traffic, anySourcePort: true) + familyMatch(family) + [
                .payload(.network, offset: local.offset, length: local.length, dreg: Expr.reg1),
                .lookup(set: setName(set), sreg: Expr.reg1, inverted: false),
            ] + counter + [.verdict(.drop)]
        case let .clampMSS(family, mss, direction, selector):
            let tcpSyn: [Expr] = metaMatch(.l4proto, [6]) + [
                .payload(.transport, offset: 13, length: 1, dreg: Expr.reg1),
                .bitwise(sreg: Expr.reg1, dreg: Expr.reg1, mask: [0x02], xor: [0x00]),
                .cmp(.neq, sreg: Expr.reg1, data: [0x00]),
            ]
            let clamp: [Expr] = [
                .tcpOptionLoad(kind: 2, offset: 2, length: 2, dreg: Expr.reg1),
                .cmp(.gt, sreg: Expr.reg1, data: be16(mss)),
                .immediate(dreg: Expr.reg1, data: be16(mss)),
                .tcpOptionWrite(kind: 2, offset: 2, length: 2, sreg: Expr.reg1),
            ] + counter
            return familyMatch(family) + selectorMatch(selector, direction) + tcpSyn + clamp
        case let .clearDF(selector):
            let clear: [Expr] = [
                .payload(.network, offset: 6, length: 2, dreg: Expr.reg1),
                .bitwise(sreg: Expr.reg1, dreg: Expr.reg1, mask: [0x40, 0x00], xor: [0x00, 0x00]),
                .cmp(.neq, sreg: Expr.reg1, data: [0x00, 0x00]),
                .payload(.network, offset: 6, length: 2, dreg: Expr.reg1),
                .bitwise(sreg: Expr.reg1, dreg: Expr.reg1, mask: [0xbf, 0xff], xor: [0x00, 0x00]),
                .payloadWrite(.network, offset: 6, length: 2, sreg: Expr.reg1, checksumOffset: 10),
            ] + counter
            // The family check after the selector, where nft puts the one `ip frag-off` implies: nft -j
            // leaves an explicit `meta nfproto ipv4` out, and loading its output back gives this order.
            return selectorMatch(selector, .intoTunnel) + familyMatch(.ipv4) + clear
        }
    }

    /// `rt ipsec exists` / `meta ipsec exists`, or `oifname`/`iifname` with the tunnel interface(s).
    static func selectorMatch(_ selector: TunnelSelector, _ direction: IntentRule.TunnelDirection) -> [Expr] {
        switch selector {
        case .ipsecPolicy:
            if direction == .intoTunnel {
                return [.rt(.xfrm, dreg: Expr.reg1), .cmp(.eq, sreg: Expr.reg1, data: [1])]
            }
            return metaMatch(.secpath, [1])
        case let .interfaces(names):
            return interfaceMatch(direction == .intoTunnel ? .oifname : .iifname, names)
        }
    }
}
