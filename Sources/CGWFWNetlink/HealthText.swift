import CGWFWModel

/// The health report as `cgwfw show` prints it: a table per tunnel, then strict mode's drops.
public enum HealthText {
    public static func render(_ health: HealthReport) -> String {
        guard let window = health.countingWindowSeconds else {
            return "# per-tunnel counts are off (profile key counters: false, or rules applied by an older cgwfw: apply again)\n"
        }
        let span = ago(Double(window)).replacingOccurrences(of: " ago", with: "")
        var out = ""
        if health.tunnels.isEmpty { out += "no tunnels\n" }
        for tunnel in health.tunnels {
            out += "\(SafeText.escaped(tunnel.connection)) tunnel \(tunnel.tunnel): customer gateway \(tunnel.customerGateway), "
                + "AWS endpoint \(tunnel.awsEndpoint), NAT-T \(tunnel.natTraversal ? "open" : "closed")\n"
            out += row(["", "in packets", "bytes", "last seen", "out packets", "bytes", "last seen"])
            for traffic in TunnelTraffic.allCases {
                var cells = [name(traffic)]
                for direction in [TrafficDirection.inbound, .outbound] {
                    guard let flow = tunnel.flow(traffic, direction) else { cells += ["?", "?", "?"]; continue }
                    guard flow.open else { cells += ["closed", "", ""]; continue }
                    cells += ["\(flow.packets)", "\(flow.bytes)", flow.lastSeenSecondsAgo.map(ago) ?? "-"]
                }
                out += row(cells)
            }
        }
        out += "(- = no packet in the last \(span); counts restart after that long without one)\n"
        if let drops = health.strictDrops {
            guard !drops.isEmpty else { return out + "strict drops in the last \(span): none\n" }
            out += "strict drops in the last \(span), most first:\n"
            for drop in drops {
                out += "  \(drop.address) \(name(drop.traffic)) \(drop.direction == .inbound ? "in from it" : "out to it"): "
                    + "\(drop.packets) packets, \(drop.bytes) bytes, last \(drop.lastSeenSecondsAgo.map(ago) ?? "-")\n"
            }
        }
        return out
    }

    static func name(_ traffic: TunnelTraffic) -> String {
        switch traffic {
        case .ike: return "IKE (500)"
        case .natTraversal: return "NAT-T (4500)"
        case .esp: return "ESP"
        }
    }

    static func row(_ cells: [String]) -> String {
        let widths = [14, 11, 10, 11, 13, 10, 11]
        var line = "  " + cells[0].padding(toLength: widths[0], withPad: " ", startingAt: 0)
        for (cell, width) in zip(cells.dropFirst(), widths.dropFirst()) {
            line += String(repeating: " ", count: max(1, width - cell.count)) + cell
        }
        return line + "\n"
    }

    /// `4s ago`, `3m12s ago`, `2h5m ago`, `1d ago`.
    static func ago(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.down))
        if total < 60 { return "\(total)s ago" }
        if total < 3600 { return "\(total / 60)m\(total % 60 == 0 ? "" : "\(total % 60)s") ago" }
        if total < 86_400 { return "\(total / 3600)h\(total % 3600 / 60 == 0 ? "" : "\(total % 3600 / 60)m") ago" }
        return "\(total / 86_400)d\(total % 86_400 / 3600 == 0 ? "" : "\(total % 86_400 / 3600)h") ago"
    }
}
