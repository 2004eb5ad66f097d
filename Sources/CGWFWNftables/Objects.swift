import CGWFWModel

/// nftables address families cgwfw can own objects in.
public enum TableFamily: String, Sendable, Codable, CaseIterable {
    case ip, ip6, inet, arp, bridge, netdev

    public init?(nfproto: UInt32) {
        switch nfproto {
        case 2: self = .ip
        case 10: self = .ip6
        case 1: self = .inet
        case 3: self = .arp
        case 7: self = .bridge
        case 5: self = .netdev
        default: return nil
        }
    }

    public var nfproto: UInt8 {
        switch self {
        case .ip: return 2
        case .ip6: return 10
        case .inet: return 1
        case .arp: return 3
        case .bridge: return 7
        case .netdev: return 5
        }
    }
}

/// A table named as nft names it: `inet cgwfw`.
public struct TableRef: Hashable, Sendable, Codable, CustomStringConvertible {
    public var family: TableFamily
    public var name: String
    public init(family: TableFamily, name: String) {
        self.family = family
        self.name = name
    }
    /// Parses `"inet filter"`; a bare name means `inet`.
    public init?(_ text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch words.count {
        case 1: self.init(family: .inet, name: words[0])
        case 2:
            guard let family = TableFamily(rawValue: words[0]) else { return nil }
            self.init(family: family, name: words[1])
        default: return nil
        }
    }
    public var description: String { "\(family.rawValue) \(name)" }
}

public enum Hook: String, Sendable, Codable {
    case prerouting, input, forward, output, postrouting

    public init?(number: UInt32) {
        switch number {
        case 0: self = .prerouting
        case 1: self = .input
        case 2: self = .forward
        case 3: self = .output
        case 4: self = .postrouting
        default: return nil
        }
    }
    public var number: UInt32 {
        switch self {
        case .prerouting: return 0
        case .input: return 1
        case .forward: return 2
        case .output: return 3
        case .postrouting: return 4
        }
    }
}

/// A chain as cgwfw writes it or reads it: base (hook set) or regular.
public struct ChainSpec: Hashable, Sendable, Codable {
    public struct Base: Hashable, Sendable, Codable {
        public var type: String
        public var hook: Hook
        public var priority: Int32
        public var policyAccept: Bool
        public init(type: String, hook: Hook, priority: Int32, policyAccept: Bool) {
            self.type = type
            self.hook = hook
            self.priority = priority
            self.policyAccept = policyAccept
        }
    }
    public var name: String
    public var base: Base?
    /// The chain's comment: `Ownership.marker` on every chain cgwfw creates.
    public var comment: String?
    public init(name: String, base: Base? = nil, comment: String? = nil) {
        self.name = name
        self.base = base
        self.comment = comment
    }
}

/// A named set; `elements` are keyed by their bytes (concatenated fields padded to 4 bytes).
public struct SetSpec: Hashable, Sendable, Codable {
    public enum KeyType: Hashable, Sendable, Codable {
        case address(IPAddress.Family)
        case addressPair(IPAddress.Family)

        public var fieldLength: Int { family == .ipv4 ? 4 : 16 }
        public var family: IPAddress.Family {
            switch self { case let .address(f), let .addressPair(f): return f }
        }
        public var fieldCount: Int {
            if case .addressPair = self { return 2 }
            return 1
        }
        public var keyLength: Int { fieldLength * fieldCount }
        /// nft's datatype ids: ipv4_addr 7, ipv6_addr 8; a concatenation shifts earlier fields by 6 bits.
        public var nftTypeID: UInt32 {
            let one: UInt32 = family == .ipv4 ? 7 : 8
            return fieldCount == 2 ? (one << 6) | one : one
        }
        /// The key type a set with nft's datatype id `id` has, when it is one cgwfw writes.
        public init?(nftTypeID id: UInt32) {
            guard let found = [KeyType.address(.ipv4), .address(.ipv6), .addressPair(.ipv4), .addressPair(.ipv6)]
                .first(where: { $0.nftTypeID == id }) else { return nil }
            self = found
        }
        public var nftTypeName: String {
            let one = family == .ipv4 ? "ipv4_addr" : "ipv6_addr"
            return fieldCount == 2 ? "\(one) . \(one)" : one
        }
    }

    public struct Element: Hashable, Sendable, Codable {
        public var key: [UInt8]
        public var comment: String?
        public init(key: [UInt8], comment: String?) {
            self.key = key
            self.comment = comment
        }

        // Keys as hex text: compact, and fast to read back for 20,000 elements.
        private enum CodingKeys: String, CodingKey { case key, comment }
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let hex = Array(try container.decode(String.self, forKey: .key).utf8)
            func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c - 87 : c - 48 }
            key = stride(from: 0, to: hex.count - 1, by: 2).map { nibble(hex[$0]) << 4 | nibble(hex[$0 + 1]) }
            comment = try container.decodeIfPresent(String.self, forKey: .comment)
        }
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            let digits = Array("0123456789abcdef".utf8)
            var hex: [UInt8] = []
            hex.reserveCapacity(key.count * 2)
            for byte in key { hex.append(digits[Int(byte >> 4)]); hex.append(digits[Int(byte & 15)]) }
            try container.encode(String(decoding: hex, as: UTF8.self), forKey: .key)
            try container.encodeIfPresent(comment, forKey: .comment)
        }
    }

    /// A set the packet path fills (`update @set { ... }`): `flags dynamic,timeout`, with a size. Its
    /// elements are the kernel's, not cgwfw's: apply never adds, compares or deletes them.
    public struct Dynamic: Hashable, Sendable, Codable {
        public var timeoutMilliseconds: UInt64
        public var size: UInt32
        public init(timeoutMilliseconds: UInt64, size: UInt32) {
            self.timeoutMilliseconds = timeoutMilliseconds
            self.size = size
        }
    }

    public var name: String
    public var keyType: KeyType
    public var counters: Bool
    public var elements: [Element]
    /// The set's comment: `Ownership.marker` on every set cgwfw creates.
    public var comment: String?
    public var dynamic: Dynamic?

    public init(name: String, keyType: KeyType, counters: Bool, elements: [Element], comment: String? = nil,
                dynamic: Dynamic? = nil) {
        self.name = name
        self.keyType = keyType
        self.counters = counters
        self.elements = elements
        self.comment = comment
        self.dynamic = dynamic
    }

    /// Everything but the elements: what forces a set to be recreated when it differs.
    public var definition: SetSpec {
        var copy = self
        copy.elements = []
        return copy
    }

    /// `198.51.100.7 . 192.0.2.10` for a key.
    public func keyText(_ key: [UInt8]) -> String { keyFields(key).joined(separator: " . ") }

    /// `["198.51.100.7", "192.0.2.10"]` for a key: each field's address.
    public func keyFields(_ key: [UInt8]) -> [String] {
        let length = keyType.fieldLength
        var fields: [String] = []
        var offset = 0
        while offset + length <= key.count {
            fields.append(IPAddress(bytes: key[offset..<offset + length])?.description ?? "?")
            offset += length
        }
        return fields
    }
}

/// A rule as cgwfw writes it: its tag (in the nft comment udata) identifies it; its meaning is the rest.
public struct RuleSpec: Hashable, Sendable, Codable {
    public var chain: String
    public var tag: String
    /// The full comment stored in the kernel (starts with the tag).
    public var comment: String
    public var exprs: [Expr]

    public init(chain: String, tag: String, comment: String, exprs: [Expr]) {
        self.chain = chain
        self.tag = tag
        self.comment = comment
        self.exprs = exprs
    }

    public static func == (a: RuleSpec, b: RuleSpec) -> Bool {
        a.chain == b.chain && a.comment == b.comment && a.exprs == b.exprs
    }
    public func hash(into h: inout Hasher) {
        h.combine(chain)
        h.combine(comment)
        h.combine(exprs)
    }
}

/// A rule read from the kernel.
public struct LiveRule: Sendable {
    public var spec: RuleSpec
    public var handle: UInt64
    public var counter: Counter?
    public init(spec: RuleSpec, handle: UInt64, counter: Counter?) {
        self.spec = spec
        self.handle = handle
        self.counter = counter
    }
}

/// Everything cgwfw wants to exist, in one table.
public struct DesiredState: Sendable, Codable, Equatable {
    public var table: TableRef
    public var mode: OwnershipMode
    public var chains: [ChainSpec]
    public var sets: [SetSpec]
    /// Rules of cgwfw's own chains, in chain order.
    public var rules: [RuleSpec]
    /// Attach mode: the jump rules cgwfw puts at the top of the table's base chains.
    public var jumps: [RuleSpec]
    /// Standalone: the table's comment, `Ownership.marker` (attach mode leaves the table's own alone).
    public var tableComment: String?

    public init(table: TableRef, mode: OwnershipMode, chains: [ChainSpec], sets: [SetSpec], rules: [RuleSpec],
                jumps: [RuleSpec], tableComment: String? = nil) {
        self.tableComment = tableComment
        self.table = table
        self.mode = mode
        self.chains = chains
        self.sets = sets
        self.rules = rules
        self.jumps = jumps
    }
}

extension DesiredState {
    /// False when a rule holds an expression cgwfw cannot write back (read from a hand-edited rule).
    public var isRewritable: Bool {
        !(rules + jumps).contains { rule in
            rule.exprs.contains { if case .other = $0 { return true } else { return false } }
        }
    }
}

/// How cgwfw proves an object is its own: the comment it gives every table, chain and set it creates.
/// apply, remove and commit-confirm change or delete nothing of cgwfw's names that lacks it (unless the
/// operator adopts it with `--adopt`).
public enum Ownership {
    public static let marker = "managed by cgwfw"
    public static func isMarked(_ comment: String?) -> Bool { comment == marker }
}

/// What cgwfw owns: a whole table (standalone) or `<prefix>-*` chains/sets plus tagged jumps (attach).
public enum OwnershipMode: Hashable, Sendable, Codable {
    case standalone
    case attach(prefix: String)

    public var isAttach: Bool {
        if case .attach = self { return true }
        return false
    }
}

/// What cgwfw left in the kernel at a generation, so the next apply can skip dumping the set elements
/// while the generation (and network namespace) is still the same: nothing has changed since.
public struct OwnedSnapshot: Codable, Sendable {
    /// SO_NETNS_COOKIE of the network namespace (unique per boot); the caller adds the boot id.
    public var netnsCookie: UInt64
    public var generation: UInt32
    public var state: DesiredState

    public init(netnsCookie: UInt64, generation: UInt32, state: DesiredState) {
        self.netnsCookie = netnsCookie
        self.generation = generation
        self.state = state
    }
}
