/// The backend-neutral rule intent: what must be allowed, dropped, clamped and cleared, with where each
/// part came from. Every backend (nftables text, iptables text, pf text, netlink) renders this value and
/// nothing else.
public struct RuleIntent: Hashable, Sendable, Codable {
    /// Name of the owned table (nftables), chain prefix (iptables) or anchor (pf).
    public var table: String
    public var placement: Placement
    /// Gateway placement: restrict rules to this interface (the internet side). nil = any interface.
    public var wanInterface: String?
    public var counters: Bool
    public var strict: Bool
    /// Comments on rules and set elements (profile key `comments`).
    public var comments: Bool
    public var sets: [PeerSet]
    public var chains: [IntentChain]

    public init(table: String, placement: Placement, wanInterface: String? = nil, counters: Bool, strict: Bool,
                comments: Bool = true, sets: [PeerSet], chains: [IntentChain]) {
        self.table = table
        self.placement = placement
        self.wanInterface = wanInterface
        self.counters = counters
        self.strict = strict
        self.comments = comments
        self.sets = sets
        self.chains = chains
    }

    public func set(named name: String) -> PeerSet? { sets.first { $0.name == name } }
}

public enum Placement: String, Sendable, Codable, CaseIterable {
    /// Rules on the customer gateway itself: input/output for IKE/ESP, forward for MSS/DF.
    case host
    /// A firewall between the internet and the customer gateway: forward only, no MSS/DF.
    case gateway
}

/// Where a connection part came from, for comments, diffs and `show`.
public struct Origin: Hashable, Sendable, Codable, CustomStringConvertible {
    public var connection: String
    public var tunnel: Int
    public init(connection: String, tunnel: Int) {
        self.connection = connection
        self.tunnel = tunnel
    }
    public var description: String { "\(connection) tunnel \(tunnel)" }
}

/// A named set of addresses (`locals`) or of (customer gateway . AWS endpoint) pairs, or a set the kernel
/// fills as packets pass (`seen`, `dropped`) so each pair and each rogue address has its own counter.
public struct PeerSet: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Elements are `local . remote`: customer gateway outside address, AWS endpoint.
        case pairs
        /// Elements are customer gateway outside addresses alone (strict mode's "to/from C").
        case locals
        /// Filled by the kernel: one element `local . remote` per pair that one accept rule let through,
        /// with its packet and byte counter; it lives `Dynamic.timeout` after the pair's last packet.
        case seen
        /// Filled by the kernel: one element per address at the other end of what one strict drop rule
        /// dropped (the source inbound, the destination outbound), with its counter.
        case dropped
    }

    /// What a kernel-filled set counts, and how its elements age.
    public struct Dynamic: Hashable, Sendable, Codable {
        public var traffic: TunnelTraffic
        public var direction: TrafficDirection
        /// Seconds an element lives after the last packet that refreshed it: how far back "last seen" reaches.
        public var timeout: Int
        /// Most elements the set holds; past it new addresses go uncounted (the traffic itself is unaffected).
        public var capacity: Int
        public init(traffic: TunnelTraffic, direction: TrafficDirection, timeout: Int, capacity: Int) {
            self.traffic = traffic
            self.direction = direction
            self.timeout = timeout
            self.capacity = capacity
        }
    }

    public struct Element: Hashable, Sendable, Codable, Comparable {
        public var local: IPAddress
        public var remote: IPAddress?
        public var origins: [Origin]
        public init(local: IPAddress, remote: IPAddress? = nil, origins: [Origin]) {
            self.local = local
            self.remote = remote
            self.origins = origins
        }
        /// Connection and tunnel names, as the element comment says them.
        public var comment: String { origins.map(\.description).joined(separator: ", ") }
        public static func < (a: Element, b: Element) -> Bool {
            if a.local != b.local { return a.local < b.local }
            switch (a.remote, b.remote) {
            case let (x?, y?): return x < y
            case (nil, _?): return true
            default: return false
            }
        }
    }

    public var name: String
    public var family: IPAddress.Family
    public var kind: Kind
    /// Sorted, no duplicates; always empty for the kernel-filled kinds.
    public var elements: [Element]
    /// `seen` and `dropped` sets only.
    public var dynamic: Dynamic?

    public init(name: String, family: IPAddress.Family, kind: Kind, elements: [Element], dynamic: Dynamic? = nil) {
        self.name = name
        self.family = family
        self.kind = kind
        self.elements = elements
        self.dynamic = dynamic
    }
}

/// A chain cgwfw owns, by role; backends map roles to hooks and names.
public struct IntentChain: Hashable, Sendable, Codable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// Host placement: packets to the gateway itself (AWS → C).
        case input
        /// Host placement: packets from the gateway itself (C → AWS).
        case output
        /// Gateway placement: packets crossing the firewall in front of the gateway.
        case forward
        /// Host placement: LAN traffic entering/leaving the tunnel (MSS clamp, DF clear); mangle priority.
        case tunnel
    }
    public var role: Role
    public var rules: [IntentRule]
    public init(role: Role, rules: [IntentRule]) {
        self.role = role
        self.rules = rules
    }
}

/// The three kinds of tunnel traffic AWS's firewall table names.
public enum TunnelTraffic: String, Sendable, Codable, CaseIterable {
    /// UDP source port 500, destination port 500.
    case ike
    /// UDP source port 4500, destination port 4500 (NAT traversal).
    case natTraversal = "nat-t"
    /// IP protocol 50.
    case esp

    public var udpPort: UInt16? {
        switch self {
        case .ike: return 500
        case .natTraversal: return 4500
        case .esp: return nil
        }
    }
}

/// Relative to the customer gateway C: inbound is AWS → C, outbound is C → AWS.
public enum TrafficDirection: String, Sendable, Codable {
    case inbound, outbound
}

/// How the gateway recognises LAN traffic that enters or leaves a tunnel.
public enum TunnelSelector: Hashable, Sendable, Codable {
    /// Policy-based IPsec on Linux: `rt ipsec exists` (to the tunnel) / `meta ipsec exists` (from it).
    case ipsecPolicy
    /// Route-based IPsec: the tunnel interfaces (VTI, XFRM, TUN of a userspace IPsec).
    case interfaces([String])
}

public struct IntentRule: Hashable, Sendable, Codable {
    public enum Action: Hashable, Sendable, Codable {
        /// Accept `traffic` for every pair in the `pairs` set (direction decides which end is source).
        case acceptPeers(traffic: TunnelTraffic, direction: TrafficDirection, family: IPAddress.Family, set: String)
        /// Strict mode: drop `traffic` to/from a customer gateway address (`locals` set) that no accept matched.
        case dropUnknownPeers(traffic: TunnelTraffic, direction: TrafficDirection, family: IPAddress.Family, set: String)
        /// Counting only, no verdict (placed just before the `acceptPeers` rule it mirrors): the pair of each
        /// packet that rule will accept is added to, or refreshed in, the `seen` set `into`. Kept apart from
        /// the accept so that a full set can never keep a packet from being accepted.
        case countPeers(traffic: TunnelTraffic, direction: TrafficDirection, family: IPAddress.Family, set: String, into: String)
        /// Counting only, just before the `dropUnknownPeers` rule it mirrors: the address at the other end
        /// goes into the `dropped` set `into`.
        case countUnknownPeers(traffic: TunnelTraffic, direction: TrafficDirection, family: IPAddress.Family, set: String,
                               into: String)
        /// Lower the MSS of TCP SYNs above `mss` to `mss`; never raises a smaller one.
        case clampMSS(family: IPAddress.Family, mss: Int, direction: TunnelDirection, selector: TunnelSelector)
        /// Clear DF on IPv4 packets entering a tunnel.
        case clearDF(selector: TunnelSelector)
    }

    public enum TunnelDirection: String, Sendable, Codable {
        case intoTunnel = "into-tunnel"
        case fromTunnel = "from-tunnel"
    }

    /// Stable identity of the rule across runs (stored as a tag in the kernel so apply can match by meaning).
    public var tag: String
    public var action: Action
    /// Human text: which AWS requirement this rule serves ("AWS I1/I2: IKE from AWS endpoints").
    public var comment: String

    public init(tag: String, action: Action, comment: String) {
        self.tag = tag
        self.action = action
        self.comment = comment
    }
}

/// The compiler's output: the intent plus what it had to say.
public struct CompileResult: Sendable {
    public var intent: RuleIntent
    public var diagnostics: Diagnostics
    public init(intent: RuleIntent, diagnostics: Diagnostics) {
        self.intent = intent
        self.diagnostics = diagnostics
    }
}
