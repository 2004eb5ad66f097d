import CGWFWModel
import CGWFWNftables
internal import CNftnl

/// The expressions of cgwfw's rules as libnftnl prints them — the same text `nft --debug=netlink` prints
/// for a script — so the lowering can be checked against nft's own lowering of the text backend's output
/// (the expression goldens and their root test).
public enum NetlinkDebugText {
    /// Per rule: `chain <name>`, then its `[ … ]` expression lines; an interface set's elements follow as
    /// `element` lines (key words and flags as libnftnl prints them).
    public static func text(_ state: DesiredState) -> String {
        var out = ""
        for rule in state.rules {
            out += "chain \(rule.chain)\n"
            let r = NetlinkKernel.makeRule(rule, table: state.table)
            defer { nftnl_rule_free(r) }
            out += expressionLines(printed(r, nftnl_rule_snprintf)).joined(separator: "\n") + "\n"
            for case let .interfaceSet(patterns, _, _) in rule.exprs {
                for element in InterfaceSetElements.encode(patterns) { out += "  " + elementLine(element) + "\n" }
            }
        }
        return out
    }

    /// The `[ … ]` lines of a libnftnl or nft printout, trimmed.
    public static func expressionLines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.drop { $0 == " " } }.filter { $0.hasPrefix("[ ") }.map(String.init)
    }

    /// `element 00697476 00000000 00000000 00000000  : 1 [end]`: 32-bit words in host order, then the flags.
    public static func elementLine(_ element: InterfaceSetElements.Element) -> String {
        var words: [String] = []
        var index = 0
        while index < element.key.count {
            let word = element.key[index..<min(index + 4, element.key.count)].enumerated()
                .reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            words.append(hex8(word))
            index += 4
        }
        return "element \(words.joined(separator: " "))  : \(element.intervalEnd ? 1 : 0) [end]"
    }

    private static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    private static func printed<T>(_ object: T,
                                   _ print: (UnsafeMutablePointer<CChar>?, Int, T, UInt32, UInt32) -> Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 16384)
        let length = buffer.withUnsafeMutableBufferPointer { print($0.baseAddress, $0.count, object, UInt32(NFTNL_OUTPUT_DEFAULT.rawValue), 0) }
        guard length > 0 else { return "" }
        return String(decoding: buffer.prefix(min(Int(length), buffer.count - 1)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
