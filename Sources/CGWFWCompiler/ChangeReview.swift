import CGWFWModel

/// What one tunnel means for the firewall: the pair it allows, the MSS it needs and why, NAT-T and why.
/// Built from the connection model and the profile with the same decisions the intent builder makes.
public struct TunnelMeaning: Hashable, Sendable, Codable {
    public var connection: String
    public var tunnel: Int
    public var customerGateway: String
    public var awsEndpoint: String
    /// The MSS AWS requires for this tunnel (`Tunnel.tcpMSS`) and where that value comes from.
    public var mss: Int
    public var mssSource: String
    public var natTraversal: Bool
    public var natTraversalReason: String
    public var clearDF: Bool

    enum CodingKeys: String, CodingKey {
        case connection, tunnel, customerGateway = "customer_gateway", awsEndpoint = "aws_endpoint", mss
        case mssSource = "mss_source", natTraversal = "nat_traversal", natTraversalReason = "nat_traversal_reason"
        case clearDF = "clear_df"
    }

    public init(connection: Connection, tunnel: Tunnel, profile: Profile) {
        self.connection = connection.displayName
        self.tunnel = tunnel.number
        customerGateway = tunnel.customerGatewayAddress.description
        awsEndpoint = tunnel.vpnGatewayAddress.description
        mss = tunnel.tcpMSS
        mssSource = Self.mssSource(tunnel)
        let decision = NATTraversalDecision.decide(connection: connection, tunnel: tunnel, mode: profile.natTraversal,
                                                   behindNAT: profile.behindNAT)
        natTraversal = decision.open
        natTraversalReason = decision.reason
        clearDF = tunnel.clearDF
    }

    /// Why the tunnel needs the MSS it has: the SHA2-384/512 exception, the config's value, or AWS's default.
    static func mssSource(_ tunnel: Tunnel) -> String {
        let base = tunnel.configTCPMSS ?? AWSDefaults.tcpMSS
        if tunnel.usesSHA2_384or512 && base > AWSDefaults.tcpMSSWithSHA2_384or512 {
            return "SHA2-384/512 integrity: AWS requires \(AWSDefaults.tcpMSSWithSHA2_384or512)"
        }
        if tunnel.configTCPMSS != nil { return "config value" }
        return "AWS default (the config names none)"
    }

    public static func all(connections: [Connection], profile: Profile) -> [TunnelMeaning] {
        connections.flatMap { connection in
            connection.tunnels.map { TunnelMeaning(connection: connection, tunnel: $0, profile: profile) }
        }
    }
}

/// What the whole rule set does beyond its pairs: where it sits and what it clamps.
public struct RuleSetMeaning: Hashable, Sendable, Codable {
    public var placement: String
    public var strict: Bool
    public var wanInterface: String?
    public var table: String
    /// The MSS the IPv4 clamp writes (nil: no clamp).
    public var mssClamp: Int?
    public var clearsDF: Bool

    enum CodingKeys: String, CodingKey {
        case placement, strict, wanInterface = "wan_interface", table, mssClamp = "mss_clamp", clearsDF = "clears_df"
    }

    public init(intent: RuleIntent) {
        placement = intent.placement.rawValue
        strict = intent.strict
        wanInterface = intent.wanInterface
        table = intent.table
        var clamp: Int?
        var df = false
        for rule in intent.chains.flatMap(\.rules) {
            switch rule.action {
            case let .clampMSS(family, mss, direction, _) where family == .ipv4 && direction == .intoTunnel: clamp = mss
            case .clearDF: df = true
            default: break
            }
        }
        mssClamp = clamp
        clearsDF = df
    }
}

/// One change in meaning between two inputs, with the sentence a reviewer reads.
public struct MeaningChange: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable {
        case connectionAdded = "connection-added", connectionRemoved = "connection-removed"
        case tunnelAdded = "tunnel-added", tunnelRemoved = "tunnel-removed"
        case awsEndpointReplaced = "aws-endpoint-replaced", customerGatewayChanged = "customer-gateway-changed"
        case mssChanged = "mss-changed", natTraversalOpened = "nat-t-opened", natTraversalClosed = "nat-t-closed"
        case natTraversalReason = "nat-t-reason-changed", clearDFChanged = "clear-df-changed"
        case placementChanged = "placement-changed", strictChanged = "strict-changed"
        case wanInterfaceChanged = "wan-interface-changed", tableChanged = "table-changed"
        case mssClampChanged = "mss-clamp-changed", dfRuleChanged = "df-rule-changed"
    }
    public var kind: Kind
    /// nil for a change of the whole rule set (placement, strict, the clamp).
    public var connection: String?
    public var tunnel: Int?
    public var old: String?
    public var new: String?
    public var reason: String?
    /// The sentence, without the connection and tunnel (the report groups by them).
    public var text: String
}

/// Old inputs → new inputs, by meaning: per connection and tunnel, then the rule set as a whole.
public struct ChangeReview: Sendable {
    public var old: [TunnelMeaning]
    public var new: [TunnelMeaning]
    public var oldRules: RuleSetMeaning
    public var newRules: RuleSetMeaning
    public var changes: [MeaningChange]

    public init(oldConnections: [Connection], oldProfile: Profile, oldIntent: RuleIntent,
                newConnections: [Connection], newProfile: Profile, newIntent: RuleIntent) {
        old = TunnelMeaning.all(connections: oldConnections, profile: oldProfile)
        new = TunnelMeaning.all(connections: newConnections, profile: newProfile)
        oldRules = RuleSetMeaning(intent: oldIntent)
        newRules = RuleSetMeaning(intent: newIntent)
        changes = Self.connectionChanges(old: old, new: new) + Self.ruleSetChanges(old: oldRules, new: newRules)
    }

    static func pair(_ t: TunnelMeaning) -> String { "\(t.customerGateway) ↔ \(t.awsEndpoint)" }

    static func connectionChanges(old: [TunnelMeaning], new: [TunnelMeaning]) -> [MeaningChange] {
        var order: [String] = []
        var oldBy: [String: [TunnelMeaning]] = [:], newBy: [String: [TunnelMeaning]] = [:]
        for t in old { if oldBy[t.connection] == nil { order.append(t.connection) }; oldBy[t.connection, default: []].append(t) }
        for t in new {
            if oldBy[t.connection] == nil && newBy[t.connection] == nil { order.append(t.connection) }
            newBy[t.connection, default: []].append(t)
        }
        var changes: [MeaningChange] = []
        for name in order {
            switch (oldBy[name], newBy[name]) {
            case (nil, let tunnels?):
                changes.append(MeaningChange(kind: .connectionAdded, connection: name,
                                             new: tunnels.map(pair).joined(separator: ", "),
                                             text: "connection added: " + tunnels.map { "tunnel \($0.tunnel) \(pair($0))" }.joined(separator: ", ")))
            case (let tunnels?, nil):
                changes.append(MeaningChange(kind: .connectionRemoved, connection: name,
                                             old: tunnels.map(pair).joined(separator: ", "),
                                             text: "connection removed: " + tunnels.map { "tunnel \($0.tunnel) \(pair($0))" }.joined(separator: ", ")))
            case let (before?, after?):
                changes += tunnelChanges(connection: name, old: before, new: after)
            case (nil, nil):
                break
            }
        }
        return changes
    }

    static func tunnelChanges(connection: String, old: [TunnelMeaning], new: [TunnelMeaning]) -> [MeaningChange] {
        var changes: [MeaningChange] = []
        let numbers = (old.map(\.tunnel) + new.map(\.tunnel)).reduce(into: [Int]()) { if !$0.contains($1) { $0.append($1) } }
        for number in numbers {
            let a = old.first { $0.tunnel == number }, b = new.first { $0.tunnel == number }
            func change(_ kind: MeaningChange.Kind, old: String? = nil, new: String? = nil, reason: String? = nil,
                        _ text: String) {
                changes.append(MeaningChange(kind: kind, connection: connection, tunnel: number, old: old, new: new,
                                             reason: reason, text: text))
            }
            guard let a, let b else {
                if let b { change(.tunnelAdded, new: pair(b), "tunnel added: \(pair(b))") }
                if let a { change(.tunnelRemoved, old: pair(a), "tunnel removed: \(pair(a))") }
                continue
            }
            if a.awsEndpoint != b.awsEndpoint {
                change(.awsEndpointReplaced, old: a.awsEndpoint, new: b.awsEndpoint,
                       "AWS endpoint replaced: \(a.awsEndpoint) → \(b.awsEndpoint)")
            }
            if a.customerGateway != b.customerGateway {
                change(.customerGatewayChanged, old: a.customerGateway, new: b.customerGateway,
                       "customer gateway changed: \(a.customerGateway) → \(b.customerGateway)")
            }
            if a.mss != b.mss || a.mssSource != b.mssSource {
                change(.mssChanged, old: String(a.mss), new: String(b.mss), reason: b.mssSource,
                       "MSS \(a.mss) (\(a.mssSource)) → \(b.mss) (\(b.mssSource))")
            }
            if a.natTraversal != b.natTraversal {
                change(b.natTraversal ? .natTraversalOpened : .natTraversalClosed, reason: b.natTraversalReason,
                       "NAT-T (UDP 4500) \(b.natTraversal ? "opened" : "closed"): \(b.natTraversalReason)")
            } else if a.natTraversalReason != b.natTraversalReason {
                change(.natTraversalReason, old: a.natTraversalReason, new: b.natTraversalReason, reason: b.natTraversalReason,
                       "NAT-T (UDP 4500) stays \(b.natTraversal ? "open" : "closed"), now because \(b.natTraversalReason)")
            }
            if a.clearDF != b.clearDF {
                change(.clearDFChanged, old: String(a.clearDF), new: String(b.clearDF),
                       "DF clearing \(a.clearDF ? "wanted" : "not wanted") → \(b.clearDF ? "wanted" : "not wanted")")
            }
        }
        return changes
    }

    static func ruleSetChanges(old: RuleSetMeaning, new: RuleSetMeaning) -> [MeaningChange] {
        var changes: [MeaningChange] = []
        func change(_ kind: MeaningChange.Kind, _ a: String, _ b: String, _ text: String) {
            changes.append(MeaningChange(kind: kind, old: a, new: b, text: text))
        }
        if old.placement != new.placement {
            change(.placementChanged, old.placement, new.placement, "placement \(old.placement) → \(new.placement)")
        }
        if old.strict != new.strict {
            change(.strictChanged, String(old.strict), String(new.strict),
                   new.strict ? "strict mode on: IKE, NAT-T and ESP of any other peer are dropped"
                       : "strict mode off: other peers' IKE, NAT-T and ESP are no longer dropped")
        }
        if old.wanInterface != new.wanInterface {
            change(.wanInterfaceChanged, old.wanInterface ?? "any", new.wanInterface ?? "any",
                   "WAN interface \(old.wanInterface ?? "any") → \(new.wanInterface ?? "any")")
        }
        if old.table != new.table { change(.tableChanged, old.table, new.table, "table \(old.table) → \(new.table)") }
        if old.mssClamp != new.mssClamp {
            let a = old.mssClamp.map(String.init) ?? "none", b = new.mssClamp.map(String.init) ?? "none"
            change(.mssClampChanged, a, b, "MSS clamp of IPv4 SYNs into the tunnel \(a) → \(b)"
                   + (new.mssClamp.map { $0 < (old.mssClamp ?? .max) ? " (the smallest MSS a tunnel needs)" : "" } ?? ""))
        }
        if old.clearsDF != new.clearsDF {
            change(.dfRuleChanged, String(old.clearsDF), String(new.clearsDF),
                   new.clearsDF ? "DF is now cleared on IPv4 packets entering the tunnel" : "DF is no longer cleared")
        }
        return changes
    }
}

/// A tunnel as a firewall state shows it: the pair an element allows, the connection and tunnel its comment
/// names, and whether the NAT-T set holds the pair too. MSS and DF are rules, not per tunnel, there.
public struct PairedTunnel: Hashable, Sendable {
    public var connection: String
    public var tunnel: Int
    public var customerGateway: String
    public var awsEndpoint: String
    public var natTraversal: Bool
    public init(connection: String, tunnel: Int, customerGateway: String, awsEndpoint: String, natTraversal: Bool) {
        self.connection = connection
        self.tunnel = tunnel
        self.customerGateway = customerGateway
        self.awsEndpoint = awsEndpoint
        self.natTraversal = natTraversal
    }

    /// `vpn-1 tunnel 1, vpn-2 tunnel 2` (the element comment `Lowering.elementComment` writes) → origins.
    public static func origins(fromComment comment: String) -> [Origin] {
        comment.components(separatedBy: ", ").compactMap { part in
            guard let range = part.range(of: " tunnel ", options: .backwards), let number = Int(part[range.upperBound...]) else { return nil }
            return Origin(connection: String(part[..<range.lowerBound]), tunnel: number)
        }
    }
}

extension ChangeReview {
    /// The per-tunnel changes from what a firewall holds (`old`) to the configs (`new`). What the state cannot
    /// say per tunnel (MSS, DF, the reason NAT-T is closed) is taken as unchanged; the rule lines show the rest.
    public static func changes(from old: [PairedTunnel], to new: [TunnelMeaning]) -> [MeaningChange] {
        // By connection and tunnel: 20,000 tunnels searched one by one took 3 s (make bench, diff of 10,000).
        var newByTunnel: [String: [Int: TunnelMeaning]] = [:]
        for meaning in new where newByTunnel[meaning.connection]?[meaning.tunnel] == nil {
            newByTunnel[meaning.connection, default: [:]][meaning.tunnel] = meaning
        }
        let oldMeanings = old.map { state -> TunnelMeaning in
            var meaning = newByTunnel[state.connection]?[state.tunnel]
                ?? TunnelMeaning(connection: state.connection, tunnel: state.tunnel, customerGateway: "", awsEndpoint: "", mss: 0,
                                 mssSource: "", natTraversal: false, natTraversalReason: "", clearDF: false)
            meaning.customerGateway = state.customerGateway
            meaning.awsEndpoint = state.awsEndpoint
            if meaning.natTraversal != state.natTraversal {
                meaning.natTraversal = state.natTraversal
                meaning.natTraversalReason = "as saved"
            }
            return meaning
        }
        return connectionChanges(old: oldMeanings, new: new)
    }
}

extension TunnelMeaning {
    init(connection: String, tunnel: Int, customerGateway: String, awsEndpoint: String, mss: Int, mssSource: String,
         natTraversal: Bool, natTraversalReason: String, clearDF: Bool) {
        self.connection = connection
        self.tunnel = tunnel
        self.customerGateway = customerGateway
        self.awsEndpoint = awsEndpoint
        self.mss = mss
        self.mssSource = mssSource
        self.natTraversal = natTraversal
        self.natTraversalReason = natTraversalReason
        self.clearDF = clearDF
    }
}
