import CGWFWModel

/// The elements of the anonymous set nft builds for `oifname { … }`, and back. Exact names only: one
/// 16-byte key each. With a wildcard among them nft makes an interval set (measured with
/// `nft --debug=netlink`): a leading end marker at key 0, then per pattern a start key and an end key —
/// the name plus one for an exact name, the prefix with its last byte plus one for `name*`.
public enum InterfaceSetElements {
    public struct Element: Hashable, Sendable {
        public var key: [UInt8]
        /// NFT_SET_ELEM_INTERVAL_END.
        public var intervalEnd: Bool
        public init(key: [UInt8], intervalEnd: Bool) {
            self.key = key
            self.intervalEnd = intervalEnd
        }
    }

    public static let keyLength = 16

    public static func isInterval(_ patterns: [InterfacePattern]) -> Bool { patterns.contains(where: \.isWildcard) }

    public static func encode(_ patterns: [InterfacePattern]) -> [Element] {
        let keys = patterns.map(Lowering.interfaceKey)
        guard isInterval(patterns) else { return keys.map { Element(key: $0, intervalEnd: false) } }
        var result: [Element] = []
        let zero = [UInt8](repeating: 0, count: keyLength)
        if keys.first != zero { result.append(Element(key: zero, intervalEnd: true)) }
        for (pattern, start) in zip(patterns, keys) {
            result.append(Element(key: start, intervalEnd: false))
            result.append(Element(key: end(of: pattern), intervalEnd: true))
        }
        return result
    }

    /// The patterns a kernel set's elements stand for, or nil when they are not what `encode` writes.
    public static func decode(_ elements: [Element]) -> [InterfacePattern]? {
        guard elements.allSatisfy({ $0.key.count == keyLength }) else { return nil }
        guard elements.contains(where: \.intervalEnd) else {
            return elements.map { .exact(name($0.key)) }
                .sorted { Lowering.interfaceKey($0).lexicographicallyPrecedes(Lowering.interfaceKey($1)) }
        }
        let sorted = elements.sorted { a, b in
            a.key == b.key ? a.intervalEnd && !b.intervalEnd : a.key.lexicographicallyPrecedes(b.key)
        }
        var patterns: [InterfacePattern] = []
        var index = 0
        while index < sorted.count {
            let element = sorted[index]
            if element.intervalEnd {
                // Only the leading marker may stand alone.
                guard element.key.allSatisfy({ $0 == 0 }) else { return nil }
                index += 1
                continue
            }
            guard index + 1 < sorted.count, sorted[index + 1].intervalEnd else { return nil }
            let stem = name(element.key)
            let candidates: [InterfacePattern] = [.exact(stem), .prefix(stem)]
            guard let pattern = candidates.first(where: { end(of: $0) == sorted[index + 1].key && Lowering.interfaceKey($0) == element.key })
            else { return nil }
            patterns.append(pattern)
            index += 2
        }
        return patterns
    }

    private static func name(_ key: [UInt8]) -> String { String(decoding: key.prefix { $0 != 0 }, as: UTF8.self) }

    /// The first key after the pattern's interval (big-endian increment of the last significant byte).
    static func end(of pattern: InterfacePattern) -> [UInt8] {
        var key = Lowering.interfaceKey(pattern)
        var position = pattern.isWildcard ? pattern.stem.utf8.count - 1 : keyLength - 1
        while position >= 0 {
            if key[position] == 0xff {
                key[position] = 0
                position -= 1
            } else {
                key[position] += 1
                break
            }
        }
        return key
    }
}
