/// An interface name as an operator writes it for `--tunnel-interface` / `--wan-interface`: an exact name
/// (`vti0`) or a prefix wildcard (`vti*`, every interface whose name starts with `vti`), as nft, iptables
/// (`vti+`) and the kernel understand them. Anything else is refused, never written differently.
public enum InterfacePattern: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    case exact(String)
    /// The name without its trailing `*`.
    case prefix(String)

    /// Linux interface names are at most IFNAMSIZ - 1 = 15 bytes.
    public static let maxLength = 15

    public init(_ text: String) throws(InterfacePatternError) {
        if let problem = Self.problem(text) { throw InterfacePatternError(text: text, reason: problem) }
        self = text.hasSuffix("*") ? .prefix(String(text.dropLast())) : .exact(text)
    }

    /// Why `text` is not an interface name or wildcard, or nil when it is one.
    public static func problem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        let name = bytes.last == UInt8(ascii: "*") ? bytes.dropLast() : bytes[...]
        if name.isEmpty { return text.isEmpty ? "an interface name is empty" : "'*' alone would match every interface" }
        if bytes.count > maxLength { return "longer than \(maxLength) characters (the kernel's limit)" }
        if name.contains(UInt8(ascii: "*")) { return "'*' is a wildcard only at the end of a name (vti* matches vti0, vti1, …)" }
        if text == "." || text == ".." { return "not an interface name" }
        let allowed = name.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || "_-.@".utf8.contains(byte)
        }
        return allowed ? nil : "only letters, digits and _ - . @ (and a trailing * wildcard) are allowed"
    }

    public var isWildcard: Bool {
        if case .prefix = self { return true }
        return false
    }

    /// The name or the prefix, without the `*`.
    public var stem: String {
        switch self {
        case let .exact(name), let .prefix(name): return name
        }
    }

    /// As the operator writes it and nft prints it: `vti0`, `vti*`.
    public var description: String { isWildcard ? stem + "*" : stem }
}

public struct InterfacePatternError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "'\(text)' is not an interface name: \(reason)" }
}
