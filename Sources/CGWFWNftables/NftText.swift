import CGWFWModel

/// The typed nftables model as nft text: what `compile` prints (after its prolog), and what `diff`,
/// `show` and commit-confirm print of what the kernel holds. Printed from the expressions alone, in words
/// that nft parses back into the very same expressions (the parity tests load this text with `nft -f`
/// and compare the kernel's state with `cgwfw apply`'s); anything cgwfw does not write shows as `<name>`.
public enum NftText {
    /// - Parameter elementExpiry: per set, per element key: milliseconds until a dynamic set's element expires.
    public static func table(_ state: DesiredState, elementCounters: [String: [[UInt8]: Counter]] = [:],
                             elementExpiry: [String: [[UInt8]: UInt64]] = [:], ruleCounters: [RuleSpec: Counter] = [:]) -> String {
        var out = "table \(state.table) {\n"
        if let comment = state.tableComment { out += "\tcomment \(NftString.quoted(comment))\n\n" }
        if state.mode.isAttach { out += "\t# attach mode: only cgwfw's objects of this table are shown\n" }
        var blocks: [String] = []
        for set in state.sets {
            var block = "\tset \(set.name) {\n\t\ttype \(set.keyType.nftTypeName)\n"
            if let dynamic = set.dynamic { block += "\t\tsize \(dynamic.size)\n\t\tflags dynamic,timeout\n" }
            if set.counters { block += "\t\tcounter\n" }
            if let dynamic = set.dynamic { block += "\t\ttimeout \(duration(milliseconds: dynamic.timeoutMilliseconds))\n" }
            if let comment = set.comment { block += "\t\tcomment \(NftString.quoted(comment))\n" }
            let sorted = set.elements.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            if !sorted.isEmpty {
                block.reserveCapacity(sorted.count * 64)
                block += "\t\telements = {\n"
                for (index, element) in sorted.enumerated() {
                    block += "\t\t\t"
                    block += set.keyText(element.key)
                    if let counter = elementCounters[set.name]?[element.key] {
                        block += " counter packets \(counter.packets) bytes \(counter.bytes)"
                    }
                    if let expires = elementExpiry[set.name]?[element.key] {
                        block += " expires \(duration(milliseconds: expires))"
                    }
                    if let comment = element.comment {
                        block += " comment "
                        block += NftString.quoted(comment)
                    }
                    block += index == sorted.count - 1 ? "\n" : ",\n"
                }
                block += "\t\t}\n"
            }
            blocks.append(block + "\t}\n")
        }
        for chain in state.chains {
            var block = "\tchain \(chain.name) {\n"
            if let base = chain.base {
                block += "\t\ttype \(base.type) hook \(base.hook.rawValue) priority \(priority(base.priority)); "
                    + "policy \(base.policyAccept ? "accept" : "drop");\n"
            }
            if let comment = chain.comment { block += "\t\tcomment \(NftString.quoted(comment))\n" }
            for rule in state.rules where rule.chain == chain.name {
                block += "\t\t\(self.rule(rule, counter: ruleCounters[rule]))\n"
            }
            blocks.append(block + "\t}\n")
        }
        out += blocks.joined(separator: "\n")
        let jumpChains = Array(Set(state.jumps.map(\.chain))).sorted()
        for chain in jumpChains {
            out += "\t# in base chain \(chain), first rule:\n"
            for jump in state.jumps where jump.chain == chain {
                out += "\t#\t\(rule(jump, counter: nil))\n"
            }
        }
        return out + "}\n"
    }

    /// An attach-mode state as a loadable fragment: cgwfw's sets and chains inside the existing table, an
    /// empty `chain NAME {}` for each source chain (which changes an existing chain in nothing, and keeps the
    /// inserts below loadable when the table lacks one), then the jumps, inserted at the top.
    public static func attachFragment(_ state: DesiredState, sourceChains: [String]) -> String {
        var owned = state
        owned.jumps = []
        owned.mode = .standalone   // the comment header of the review text is not for a loadable file
        var out = table(owned)
        out.removeLast(2)          // "}\n": the source chains go inside the same table block
        for source in sourceChains { out += "\n\tchain \(source) {\n\t}\n" }
        out += "}\n"
        for jump in state.jumps { out += "insert rule \(state.table) \(jump.chain) \(rule(jump))\n" }
        return out
    }

    /// nft's names for the standard priorities of filter chains (what `nft list` prints), else the number.
    static func priority(_ value: Int32) -> String {
        switch value {
        case 0: return "filter"
        case -150: return "mangle"
        case -300: return "raw"
        case 50: return "security"
        default: return "\(value)"
        }
    }

    /// nft's way of writing a duration: `1d`, `2h30m`, `59m58s980ms`.
    public static func duration(milliseconds: UInt64) -> String {
        if milliseconds == 0 { return "0s" }
        var rest = milliseconds
        var out = ""
        for (unit, size) in [("d", UInt64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] where rest >= size {
            out += "\(rest / size)\(unit)"
            rest %= size
        }
        return out
    }

    /// `198.51.100.7 . 192.0.2.10` for an element of `set`.
    public static func element(_ set: SetSpec, _ element: SetSpec.Element) -> String { set.keyText(element.key) }

    /// One rule: its expressions as nft words, then its comment.
    public static func rule(_ rule: RuleSpec, counter: Counter? = nil) -> String {
        var words = expressions(rule.exprs, counter: counter)
        if !rule.comment.isEmpty { words.append("comment " + NftString.quoted(rule.comment)) }
        return words.joined(separator: " ")
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        "0x" + bytes.map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    private static func number(_ bytes: [UInt8]) -> Int { bytes.reduce(0) { $0 << 8 | Int($1) } }

    /// Reads the expression list back into nft words, pattern by pattern.
    static func expressions(_ exprs: [Expr], counter: Counter?) -> [String] {
        var words: [String] = []
        var i = 0
        func at(_ k: Int) -> Expr? { i + k < exprs.count ? exprs[i + k] : nil }
        let protocols: [UInt8: String] = [6: "tcp", 17: "udp", 50: "esp"]
        var transport = "th"
        while i < exprs.count {
            switch (exprs[i], at(1), at(2)) {
            case let (.meta(key, _), .cmp(op, _, data)?, _):
                let opText = op == .eq ? "" : "!= "
                switch key {
                case .iifname, .oifname:
                    words.append("\(key == .iifname ? "iifname" : "oifname") \(opText)\(interfaceText(data))")
                // nft leaves out the protocol a following header match implies.
                case .nfproto:
                    if case .payload(.network, _, _, _)? = at(2) { break }
                    words.append("meta nfproto \(opText)\(data.first == 2 ? "ipv4" : data.first == 10 ? "ipv6" : "\(data)")")
                case .l4proto:
                    transport = protocols[data.first ?? 0] ?? "th"
                    if case .payload(.transport, _, _, _)? = at(2), transport != "th" { break }
                    words.append("meta l4proto \(opText)\(protocols[data.first ?? 0] ?? "\(data.first ?? 0)")")
                case .secpath: words.append("meta ipsec \(data.first == 1 ? "exists" : "missing")")
                }
                i += 2
            case let (.rt(.xfrm, _), .cmp(_, _, data)?, _):
                words.append("rt ipsec \(data.first == 1 ? "exists" : "missing")")
                i += 2
            case let (.payload(.transport, 0, 4, _), .cmp(.eq, _, data)?, _) where data.count == 4:
                words.append("\(transport) sport \(number(Array(data[0..<2]))) \(transport) dport \(number(Array(data[2..<4])))")
                i += 2
            case let (.payload(.transport, 2, 2, _), .cmp(.eq, _, data)?, _):
                words.append("\(transport) dport \(number(data))")
                i += 2
            case let (.payload(.transport, 13, 1, _), .bitwise(_, _, mask, _)?, .cmp(.neq, _, _)?) where mask == [0x02]:
                words.append("tcp flags syn")
                i += 3
            case let (.payload(.network, 6, 2, _), .bitwise(_, _, mask, _)?, .cmp(.neq, _, _)?) where mask == [0x40, 0x00]:
                words.append("ip frag-off & 0x4000 != 0")
                i += 3
            case let (.payload(.network, 6, 2, _), .bitwise(_, _, mask, _)?, .payloadWrite?) where mask == [0xbf, 0xff]:
                words.append("ip frag-off set ip frag-off & 0xbfff")
                i += 3
            case let (.payload(.network, o1, l1, _), .payload(.network, o2, l2, _)?, .lookup(set, _, inverted)?):
                words.append("\(field(o1, l1)) . \(field(o2, l2)) \(inverted ? "!= " : "")@\(set)")
                i += 3
            case let (.payload(.network, o1, l1, _), .payload(.network, o2, l2, _)?, .dynsetUpdate(set, _)?):
                words.append("update @\(set) { \(field(o1, l1)) . \(field(o2, l2)) }")
                i += 3
            case let (.payload(.network, o, l, _), .dynsetUpdate(set, _)?, _):
                words.append("update @\(set) { \(field(o, l)) }")
                i += 2
            case let (.meta(key, _), .interfaceSet(patterns, _, _)?, _):
                let list = patterns.map { NftString.quoted($0.description) }
                words.append("\(key == .iifname ? "iifname" : "oifname") { \(list.joined(separator: ", ")) }")
                i += 2
            case let (.payload(.network, o, l, _), .lookup(set, _, inverted)?, _):
                words.append("\(field(o, l)) \(inverted ? "!= " : "")@\(set)")
                i += 2
            case let (.tcpOptionLoad(2, 2, 2, _), .cmp(op, _, data)?, _):
                words.append("tcp option maxseg size \(op == .gt ? ">" : "\(op)") \(number(data))")
                i += 2
            case let (.immediate(_, data), .tcpOptionWrite(2, 2, 2, _)?, _):
                words.append("tcp option maxseg size set \(number(data))")
                i += 2
            case (.counter, _, _):
                words.append(counter.map { "counter packets \($0.packets) bytes \($0.bytes)" } ?? "counter")
                i += 1
            case let (.verdict(verdict), _, _):
                switch verdict {
                case .accept: words.append("accept")
                case .drop: words.append("drop")
                case .continue: words.append("continue")
                case .return: words.append("return")
                case .reject: words.append("reject")
                case let .jump(chain): words.append("jump \(chain)")
                case let .goto(chain): words.append("goto \(chain)")
                }
                i += 1
            case let (.other(name, _), _, _):
                words.append("<\(name)>")
                i += 1
            case let (.cmp(op, _, data), _, _):
                words.append("<cmp \(op) \(hex(data))>")
                i += 1
            default:
                words.append("<\(exprs[i])>")
                i += 1
            }
        }
        return words
    }

    /// A compared interface name: padded to 16 bytes it is exact, shorter it is a `name*` prefix.
    static func interfaceText(_ data: [UInt8]) -> String {
        let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
        if data.count < 16 { return NftString.quoted(name + "*") }
        // A literal asterisk in an exact name (written by hand): nft's escape keeps it from being a wildcard.
        return String(NftString.quoted(name).flatMap { $0 == "*" ? ["\\", "*"] : [$0] })
    }

    private static func field(_ offset: UInt32, _ length: UInt32) -> String {
        switch (offset, length) {
        case (12, 4): return "ip saddr"
        case (16, 4): return "ip daddr"
        case (8, 16): return "ip6 saddr"
        case (24, 16): return "ip6 daddr"
        default: return "@nh,\(offset * 8),\(length * 8)"
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

