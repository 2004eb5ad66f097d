/// An IPv4 or IPv6 address, parsed without libc so the model stays pure Swift.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    public enum Family: String, Sendable, Codable, Hashable, Comparable, CaseIterable {
        case ipv4, ipv6
        public static func < (a: Family, b: Family) -> Bool { a == .ipv4 && b == .ipv6 }
    }

    public var family: Family {
        if case .v4 = self { return .ipv4 }
        return .ipv6
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` and an embedded IPv4 tail). No zone ids, no prefixes.
    public init?(_ text: some StringProtocol) {
        let s = Substring(text)
        // A byte search: Character iteration cost ~25 ns a character over 40,000 addresses. A ':' byte that
        // is no ':' Character (a combining mark follows) fails both parsers alike.
        if s.utf8.contains(UInt8(ascii: ":")) {
            guard let v6 = IPAddress.parseV6(s) else { return nil }
            self = v6
        } else {
            guard let v4 = IPAddress.parseV4(s) else { return nil }
            self = .v4(v4)
        }
    }

    static func parseV4(_ s: Substring) -> UInt32? {
        // One pass over the bytes: this runs for every address of every tunnel (tens of thousands in a bench).
        var value: UInt32 = 0
        var octet: UInt32 = 0
        var digits = 0
        var parts = 0
        var leadingZero = false
        for byte in s.utf8 {
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                value = value << 8 | octet
                parts += 1
                octet = 0
                digits = 0
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 3 else { return nil }
            if digits == 0 { leadingZero = byte == UInt8(ascii: "0") } else if leadingZero { return nil }  // octal to some parsers
            octet = octet * 10 + UInt32(byte - UInt8(ascii: "0"))
            guard octet <= 255 else { return nil }
            digits += 1
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | octet
    }

    static func parseV6(_ s: Substring) -> IPAddress? {
        guard s.count <= 45 else { return nil }
        var groups: [UInt16] = []
        var tailGroups: [UInt16] = []
        var sawDoubleColon = false
        let halves = s.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ part: String, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, field) in fields.enumerated() {
                if allowV4Tail && index == fields.count - 1 && field.contains(".") {
                    guard let v4 = parseV4(field) else { return nil }
                    out.append(UInt16(v4 >> 16)); out.append(UInt16(v4 & 0xffff))
                    continue
                }
                guard (1...4).contains(field.count), let g = UInt16(field, radix: 16) else { return nil }
                out.append(g)
            }
            return out
        }
        if halves.count == 2 {
            sawDoubleColon = true
            guard let head = parseGroups(halves[0], allowV4Tail: false),
                  let tail = parseGroups(halves[1], allowV4Tail: true) else { return nil }
            groups = head; tailGroups = tail
            guard groups.count + tailGroups.count <= 7 else { return nil }
        } else {
            guard let all = parseGroups(halves[0], allowV4Tail: true), all.count == 8 else { return nil }
            groups = all
        }
        var full = groups
        if sawDoubleColon {
            full += Array(repeating: 0, count: 8 - groups.count - tailGroups.count) + tailGroups
        }
        guard full.count == 8 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<4 { high = high << 16 | UInt64(full[i]) }
        for i in 4..<8 { low = low << 16 | UInt64(full[i]) }
        return .v6(high: high, low: low)
    }

    /// Network-order bytes (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let v):
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
        case .v6(let high, let low):
            return (0..<8).map { UInt8(high >> (56 - 8 * UInt64($0)) & 0xff) }
                + (0..<8).map { UInt8(low >> (56 - 8 * UInt64($0)) & 0xff) }
        }
    }

    public init?(bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        switch b.count {
        case 4:
            self = .v4(b.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            self = .v6(high: b[0..<8].reduce(0) { $0 << 8 | UInt64($1) },
                       low: b[8..<16].reduce(0) { $0 << 8 | UInt64($1) })
        default:
            return nil
        }
    }

    /// RFC 5952 text form.
    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        case .v6(let high, let low):
            let g = (0..<4).map { UInt16(high >> (48 - 16 * UInt64($0)) & 0xffff) }
                + (0..<4).map { UInt16(low >> (48 - 16 * UInt64($0)) & 0xffff) }
            // Longest run (length >= 2) of zero groups becomes "::".
            var bestStart = -1, bestLen = 0, i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen { bestStart = i; bestLen = j - i }
                    i = j
                } else { i += 1 }
            }
            func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
            if bestLen < 2 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        case (.v6(let ah, let al), .v6(let bh, let bl)): return (ah, al) < (bh, bl)
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an IP address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPAddress {
    /// Why an address can never be a tunnel's outside address, or nil when it can.
    public var unusableAsOutsideAddress: String? {
        switch self {
        case .v4(let v):
            if v == 0 { return "unspecified" }
            if v >> 24 == 0 { return "in 0.0.0.0/8 (this network)" }
            if v >> 24 == 127 { return "loopback" }
            if v >> 16 == 0xa9fe { return "link-local" }
            if v >> 28 == 0xe { return "multicast" }
            if v == 0xffff_ffff { return "broadcast" }
            if v >> 28 == 0xf { return "reserved (240.0.0.0/4)" }
            return nil
        case .v6(let high, let low):
            if high == 0 && low == 0 { return "unspecified" }
            if high == 0 && low == 1 { return "loopback" }
            if high >> 56 == 0xff { return "multicast" }
            if high >> 54 == 0x3fa { return "link-local" }  // fe80::/10
            return nil
        }
    }

    /// Private ranges are legal outside addresses (Private IP VPN over Direct Connect) but worth a note.
    public var isPrivate: Bool {
        switch self {
        case .v4(let v):
            return v >> 24 == 10 || v >> 20 == 0xac1 || v >> 16 == 0xc0a8 || v >> 22 == 0x191  // 100.64/10 shared
        case .v6(let high, _):
            return high >> 57 == 0x7e  // fc00::/7
        }
    }
}
