import CGWFWModel

/// nft-style text of cgwfw's owned objects, for `diff --json` before/after and `show`. Rendered from the
/// typed expressions (the vocabulary cgwfw writes); anything else shows as `<name>`.
enum Render {
    static func text(_ state: DesiredState, elementCounters: [String: [[UInt8]: Counter]] = [:],
                     ruleCounters: [RuleSpec: Counter] = [:]) -> String {
        var out = "table \(state.table) {\n"
        if state.mode.isAttach { out += "\t# attach mode: only cgwfw's objects of this table are shown\n" }
        for set in state.sets {
            out += "\tset \(set.name) {\n\t\ttype \(set.keyType.nftTypeName)\n"
            if set.counters { out += "\t\tcounter\n" }
            let sorted = set.elements.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            if !sorted.isEmpty {
                out += "\t\telements = {\n"
                for (index, element) in sorted.enumerated() {
                    out += "\t\t\t\(set.keyText(element.key))"
                    if let counter = elementCounters[set.name]?[element.key] {
                        out += " counter packets \(counter.packets) bytes \(counter.bytes)"
                    }
                    if let comment = element.comment { out += " comment \"\(comment)\"" }
                    out += index == sorted.count - 1 ? "\n" : ",\n"
                }
                out += "\t\t}\n"
            }
            out += "\t}\n"
        }
        for chain in state.chains {
            out += "\tchain \(chain.name) {\n"
            if let base = chain.base {
                out += "\t\ttype \(base.type) hook \(base.hook.rawValue) priority \(base.priority); "
                    + "policy \(base.policyAccept ? "accept" : "drop");\n"
            }
            for rule in state.rules where rule.chain == chain.name {
                out += "\t\t\(self.rule(rule, counter: ruleCounters[rule]))\n"
            }
            out += "\t}\n"
        }
        let jumpChains = Array(Set(state.jumps.map(\.chain))).sorted()
        for chain in jumpChains {
            out += "\t# in base chain \(chain), first rule:\n"
            for jump in state.jumps where jump.chain == chain {
                out += "\t#\t\(rule(jump, counter: nil))\n"
            }
        }
        return out + "}\n"
    }

    static func rule(_ rule: RuleSpec, counter: Counter?) -> String {
        var words = expressions(rule.exprs, counter: counter)
        if !rule.comment.isEmpty { words.append("comment \"\(rule.comment)\"") }
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
                    let name = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
                    words.append("\(key == .iifname ? "iifname" : "oifname") \(opText)\"\(name)\"")
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
            case let (.meta(key, _), .interfaceSet(names, _, _)?, _):
                let list = names.map { "\"" + String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) + "\"" }
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

extension Engine {
    /// One rule as nft-style words (without counter values).
    public static func ruleText(_ rule: RuleSpec) -> String { Render.rule(rule, counter: nil) }
    /// `198.51.100.7 . 192.0.2.10` for an element of `set`.
    public static func elementText(_ set: SetSpec, _ element: SetSpec.Element) -> String { set.keyText(element.key) }
}
