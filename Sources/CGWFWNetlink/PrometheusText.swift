import CGWFWModel
import CGWFWNftables

/// The health report and the rule counters in Prometheus' text exposition format (version 0.0.4), as
/// node_exporter's textfile collector reads it: `cgwfw show --format prometheus`. Metric and label names
/// are listed in docs/monitoring.md.
public enum PrometheusText {
    /// - Parameters:
    ///   - now: Unix time of the reading, for the last-seen timestamps.
    ///   - commitConfirmPending: whether a commit-confirm waits for `cgwfw confirm`.
    public static func render(_ live: LiveState, health: HealthReport, now: Double, commitConfirmPending: Bool) -> String {
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sample(_ name: String, _ labels: [(String, String)], _ value: String) {
            out += name
            if !labels.isEmpty {
                out += "{" + labels.map { "\($0.0)=\"\(escaped($0.1))\"" }.joined(separator: ",") + "}"
            }
            out += " \(value)\n"
        }

        family("cgwfw_rules_loaded", "gauge", "1 when cgwfw's table (or its chains in an attached table) is in the kernel.")
        sample("cgwfw_rules_loaded", [("table", live.table.description)], live.ownsNothing ? "0" : "1")
        family("cgwfw_commit_confirm_pending", "gauge", "1 while an apply --confirm waits for cgwfw confirm.")
        sample("cgwfw_commit_confirm_pending", [], commitConfirmPending ? "1" : "0")
        if let window = health.countingWindowSeconds {
            family("cgwfw_counting_window_seconds", "gauge",
                   "How long a tunnel's counters outlive its last packet (then they restart from 0).")
            sample("cgwfw_counting_window_seconds", [], "\(window)")
        }

        func tunnelLabels(_ tunnel: HealthReport.Tunnel) -> [(String, String)] {
            [("connection", tunnel.connection), ("tunnel", "\(tunnel.tunnel)"),
             ("customer_gateway", tunnel.customerGateway), ("aws_endpoint", tunnel.awsEndpoint)]
        }
        func flowLabels(_ tunnel: HealthReport.Tunnel, _ flow: HealthReport.Flow) -> [(String, String)] {
            tunnelLabels(tunnel) + [("protocol", flow.traffic.rawValue), ("direction", direction(flow.direction))]
        }
        if !health.tunnels.isEmpty {
            family("cgwfw_tunnel_nat_traversal", "gauge", "1 when UDP 4500 (NAT-T) is open for the tunnel.")
            for tunnel in health.tunnels { sample("cgwfw_tunnel_nat_traversal", tunnelLabels(tunnel), tunnel.natTraversal ? "1" : "0") }
        }
        let counted = health.tunnels.flatMap { tunnel in tunnel.flows.filter(\.open).map { (tunnel, $0) } }
        if !counted.isEmpty {
            family("cgwfw_tunnel_packets_total", "counter", "Packets cgwfw's rules let through, per tunnel, protocol and direction.")
            for (tunnel, flow) in counted { sample("cgwfw_tunnel_packets_total", flowLabels(tunnel, flow), "\(flow.packets)") }
            family("cgwfw_tunnel_bytes_total", "counter", "Bytes (IP packets) cgwfw's rules let through, per tunnel, protocol and direction.")
            for (tunnel, flow) in counted { sample("cgwfw_tunnel_bytes_total", flowLabels(tunnel, flow), "\(flow.bytes)") }
            let seen = counted.filter { $0.1.lastSeenSecondsAgo != nil }
            if !seen.isEmpty {
                family("cgwfw_tunnel_last_seen_timestamp_seconds", "gauge",
                       "Unix time of the last packet, per tunnel, protocol and direction (absent: none within the counting window).")
                for (tunnel, flow) in seen {
                    sample("cgwfw_tunnel_last_seen_timestamp_seconds", flowLabels(tunnel, flow),
                           seconds(now - flow.lastSeenSecondsAgo!))
                }
            }
        }
        if let drops = health.strictDrops {
            family("cgwfw_strict_dropped_packets_total", "counter",
                   "Packets strict mode dropped, per address at the other end (the source inbound), protocol and direction.")
            for drop in drops { sample("cgwfw_strict_dropped_packets_total", dropLabels(drop), "\(drop.packets)") }
            family("cgwfw_strict_dropped_bytes_total", "counter", "Bytes strict mode dropped, per address, protocol and direction.")
            for drop in drops { sample("cgwfw_strict_dropped_bytes_total", dropLabels(drop), "\(drop.bytes)") }
        }

        let rules = (live.jumps + live.rules).filter { $0.counter != nil }
        if !rules.isEmpty {
            family("cgwfw_rule_packets_total", "counter", "Packets matched by each of cgwfw's rules, by its tag.")
            for rule in rules { sample("cgwfw_rule_packets_total", ruleLabels(rule), "\(rule.counter!.packets)") }
            family("cgwfw_rule_bytes_total", "counter", "Bytes matched by each of cgwfw's rules, by its tag.")
            for rule in rules { sample("cgwfw_rule_bytes_total", ruleLabels(rule), "\(rule.counter!.bytes)") }
        }
        return out
    }

    static func direction(_ direction: TrafficDirection) -> String { direction == .inbound ? "in" : "out" }

    static func dropLabels(_ drop: HealthReport.Drop) -> [(String, String)] {
        [("address", drop.address), ("protocol", drop.traffic.rawValue), ("direction", direction(drop.direction))]
    }

    static func ruleLabels(_ rule: LiveRule) -> [(String, String)] {
        [("chain", rule.spec.chain), ("rule", rule.spec.tag)]
    }

    /// A label value as the format wants it: backslash, double quote and line feed escaped.
    static func escaped(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// Seconds with millisecond precision, without exponent notation.
    static func seconds(_ value: Double) -> String {
        let millis = Int64((value * 1000).rounded())
        let whole = millis / 1000, fraction = abs(millis % 1000)
        let digits = String(fraction)
        return "\(whole).\(String(repeating: "0", count: 3 - digits.count))\(digits)"
    }
}
