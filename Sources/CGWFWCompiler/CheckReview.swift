import CGWFWModel

/// The human review `check` prints.
public enum CheckReview {
    public static func text(_ result: ParseResult) -> String {
        var out = ""
        for connection in result.connections {
            out += "\(connection.displayName)  (\(connection.source), \(connection.format.rawValue))\n"
            var ids: [String] = []
            if let id = connection.customerGatewayID { ids.append("customer gateway \(id)") }
            if let id = connection.gatewayID {
                ids.append(id.hasPrefix("tgw-") ? "transit gateway \(id)" : "virtual private gateway \(id)")
            } else {
                ids.append("gateway id not stated (Transit Gateway download?)")
            }
            if connection.accelerated == true { ids.append("accelerated VPN") }
            out += "  " + ids.joined(separator: ", ") + "\n"
            for tunnel in connection.tunnels {
                out += tunnelText(tunnel, in: connection)
            }
            out += reminders(connection)
            out += "\n"
        }
        for skipped in result.skipped {
            out += "skipped \(skipped.id ?? "a connection") in \(skipped.source): \(skipped.reason)\n"
        }
        if result.connections.isEmpty { out += "no usable VPN connection found\n" }
        return out
    }

    private static func row(_ label: String, _ value: String) -> String {
        "    " + label + String(repeating: " ", count: max(1, 20 - label.count)) + value + "\n"
    }

    private static func tunnelText(_ tunnel: Tunnel, in connection: Connection) -> String {
        var out = "  tunnel \(tunnel.number) (line \(tunnel.line))\n"
        var customer = "\(tunnel.customerGatewayAddress)"
        if let configured = tunnel.configCustomerGatewayAddress, IPAddress(configured) != tunnel.customerGatewayAddress {
            customer += " (--local-address; the config says \(configured))"
        }
        out += row("customer gateway", customer)
        out += row("AWS endpoint", "\(tunnel.vpnGatewayAddress)")
        if let inside = tunnel.insideCIDR { out += row("inside address", inside) }
        var mss = "\(tunnel.tcpMSS)"
        if let configured = tunnel.configTCPMSS, configured != tunnel.tcpMSS {
            mss += " (config says \(configured); SHA2-384/512 integrity needs \(AWSDefaults.tcpMSSWithSHA2_384or512))"
        } else if tunnel.configTCPMSS == nil {
            mss += " (AWS default; the config states none)"
        }
        out += row("TCP MSS", mss)
        out += row("clear DF", tunnel.clearDF ? "yes" : "no")
        out += row("NAT-T (UDP 4500)", natTraversalText(tunnel, in: connection))
        let decision = NATTraversalDecision.decide(connection: connection, tunnel: tunnel, mode: .auto, behindNAT: false)
        out += row("UDP 4500 rule", "\(decision.open ? "opened" : "not opened") by compile (nat_traversal auto): \(decision.reason)")
        var ike = tunnel.ikeVersion?.rawValue ?? "version not stated"
        let algorithms = (tunnel.ikeEncryption + tunnel.ikeIntegrity).joined(separator: ", ")
        if !algorithms.isEmpty { ike += "; \(algorithms)" }
        out += row("IKE", ike)
        return out
    }

    /// What the config says about NAT traversal. The compiler decides whether UDP 4500 is opened and may
    /// extend this line with its reason.
    public static func natTraversalText(_ tunnel: Tunnel, in connection: Connection) -> String {
        switch (tunnel.natTraversal, connection.accelerated) {
        case (true?, _): return "enabled in the config"
        case (false?, _): return "disabled in the config"
        case (nil, true?): return "accelerated VPN: NAT-T must be enabled"
        default: return "not stated in the config (needed behind NAT)"
        }
    }

    private static func reminders(_ connection: Connection) -> String {
        let tunnels = connection.tunnels
        var lines: [String] = []
        let mtus = Set(tunnels.compactMap(\.mtu))
        if mtus.isEmpty {
            lines.append("tunnel interface MTU: the config states none; AWS recommends \(AWSDefaults.tunnelMTU)")
        } else {
            lines.append("tunnel interface MTU \(mtus.sorted().map(String.init).joined(separator: "/"))")
        }
        if tunnels.contains(where: { $0.fragmentBeforeEncryption != false }) {
            lines.append("fragment before encryption")
        }
        let dynamic = tunnels.contains { $0.bgpNeighbor != nil }
        let intervals = Set(tunnels.compactMap(\.dpdIntervalSeconds))
        let interval = intervals.isEmpty ? "" : " (interval \(intervals.sorted().map(String.init).joined(separator: "/")) s)"
        lines.append(dynamic
            ? "enable dead peer detection\(interval): dynamic routing needs it to fail over between tunnels"
            : "enable dead peer detection\(interval)")
        for tunnel in tunnels {
            if let neighbor = tunnel.bgpNeighbor {
                let asn = tunnel.bgpASN.map { " (AS \($0))" } ?? ""
                lines.append("BGP neighbour \(neighbor)\(asn) over tunnel \(tunnel.number)")
            }
        }
        return "  reminders (device settings, not firewall rules):\n"
            + lines.map { "    - \($0)\n" }.joined()
    }
}

/// `check --json`: the key names are a contract other tools rely on.
public struct CheckReport: Encodable {
    public var connections: [Connection]
    public var skipped: [SkippedConnection]
    public var diagnostics: [Diagnostic]

    public init(connections: [Connection], skipped: [SkippedConnection], diagnostics: [Diagnostic]) {
        self.connections = connections
        self.skipped = skipped
        self.diagnostics = diagnostics
    }

    enum Keys: String, CodingKey {
        case connections, skipped, diagnostics
        case id, source, format, customerGatewayID = "customer_gateway_id", gatewayID = "gateway_id", accelerated
        case tunnels, reason
        case number, customerGatewayAddress = "customer_gateway_address", vpnGatewayAddress = "vpn_gateway_address"
        case insideCIDR = "inside_cidr", tcpMSS = "tcp_mss", clearDF = "clear_df", mtu
        case ikeVersion = "ike_version", line
        case configCustomerGatewayAddress = "config_customer_gateway_address", configTCPMSS = "config_tcp_mss"
        case natTraversal = "nat_traversal", fragmentBeforeEncryption = "fragment_before_encryption"
        case dpdIntervalSeconds = "dpd_interval_seconds", bgpNeighbor = "bgp_neighbor", bgpASN = "bgp_asn"
        case ikeEncryption = "ike_encryption", ikeIntegrity = "ike_integrity"
        case ipsecEncryption = "ipsec_encryption", ipsecIntegrity = "ipsec_integrity"
        case severity, file, column, message
    }

    public func encode(to encoder: Encoder) throws {
        var root = encoder.container(keyedBy: Keys.self)
        var connectionList = root.nestedUnkeyedContainer(forKey: .connections)
        for connection in connections {
            var c = connectionList.nestedContainer(keyedBy: Keys.self)
            try c.encode(connection.id, forKey: .id)
            try c.encode(connection.source, forKey: .source)
            try c.encode(connection.format.rawValue, forKey: .format)
            try c.encode(connection.customerGatewayID, forKey: .customerGatewayID)
            try c.encode(connection.gatewayID, forKey: .gatewayID)
            try c.encode(connection.accelerated, forKey: .accelerated)
            var tunnelList = c.nestedUnkeyedContainer(forKey: .tunnels)
            for tunnel in connection.tunnels {
                var t = tunnelList.nestedContainer(keyedBy: Keys.self)
                try t.encode(tunnel.number, forKey: .number)
                try t.encode(tunnel.customerGatewayAddress.description, forKey: .customerGatewayAddress)
                try t.encode(tunnel.vpnGatewayAddress.description, forKey: .vpnGatewayAddress)
                try t.encode(tunnel.insideCIDR, forKey: .insideCIDR)
                try t.encode(tunnel.tcpMSS, forKey: .tcpMSS)
                try t.encode(tunnel.clearDF, forKey: .clearDF)
                try t.encode(tunnel.mtu, forKey: .mtu)
                try t.encode(tunnel.ikeVersion?.rawValue, forKey: .ikeVersion)
                try t.encode(tunnel.line, forKey: .line)
                try t.encode(tunnel.configCustomerGatewayAddress, forKey: .configCustomerGatewayAddress)
                try t.encode(tunnel.configTCPMSS, forKey: .configTCPMSS)
                try t.encode(tunnel.natTraversal, forKey: .natTraversal)
                try t.encode(tunnel.fragmentBeforeEncryption, forKey: .fragmentBeforeEncryption)
                try t.encode(tunnel.dpdIntervalSeconds, forKey: .dpdIntervalSeconds)
                try t.encode(tunnel.bgpNeighbor, forKey: .bgpNeighbor)
                try t.encode(tunnel.bgpASN, forKey: .bgpASN)
                try t.encode(tunnel.ikeEncryption, forKey: .ikeEncryption)
                try t.encode(tunnel.ikeIntegrity, forKey: .ikeIntegrity)
                try t.encode(tunnel.ipsecEncryption, forKey: .ipsecEncryption)
                try t.encode(tunnel.ipsecIntegrity, forKey: .ipsecIntegrity)
            }
        }
        var skippedList = root.nestedUnkeyedContainer(forKey: .skipped)
        for entry in skipped {
            var s = skippedList.nestedContainer(keyedBy: Keys.self)
            try s.encode(entry.id, forKey: .id)
            try s.encode(entry.source, forKey: .source)
            try s.encode(entry.reason, forKey: .reason)
        }
        var diagnosticList = root.nestedUnkeyedContainer(forKey: .diagnostics)
        for diagnostic in diagnostics {
            var d = diagnosticList.nestedContainer(keyedBy: Keys.self)
            try d.encode(diagnostic.severity.rawValue, forKey: .severity)
            try d.encode(diagnostic.file, forKey: .file)
            try d.encode(diagnostic.line, forKey: .line)
            try d.encode(diagnostic.column, forKey: .column)
            try d.encode(diagnostic.message, forKey: .message)
        }
    }
}
