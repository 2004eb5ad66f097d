@testable import CGWFWNetlink
import CGWFWCompiler
import CGWFWModel
import CGWFWNftables
import XCTest

/// No kernel: the counting sets as the reader returns them (elements the packet path added, with counters
/// and expiry) → the planner, the health report, its text and its Prometheus form.
final class HealthTests: XCTestCase {
    private let endpoints = ["192.0.2.10", "192.0.2.20"]

    /// What the kernel holds after traffic: `desired`, plus elements in the counting sets.
    private func liveAfterTraffic(_ desired: DesiredState, _ traffic: [String: [([UInt8], Counter, UInt64)]]) -> LiveState {
        let sets = desired.sets.map { spec -> LiveSet in
            var spec = spec
            var counters: [[UInt8]: Counter] = [:], expiry: [[UInt8]: UInt64] = [:]
            for (key, counter, expires) in traffic[spec.name] ?? [] {
                spec.elements.append(SetSpec.Element(key: key, comment: nil))
                counters[key] = counter
                expiry[key] = expires
            }
            return LiveSet(spec: spec, elementCounters: counters, elementExpiry: expiry)
        }
        return LiveState(generation: 3, table: desired.table, tableExists: true, tableComment: desired.tableComment,
                         chains: desired.chains, sets: sets,
                         rules: desired.rules.map { LiveRule(spec: $0, handle: 1, counter: Counter(packets: 9, bytes: 900)) },
                         jumps: [], attachedBaseChains: [], foreignBaseChains: [], mode: desired.mode)
    }

    private let local: [UInt8] = [198, 51, 100, 7]
    private func pair(_ last: UInt8) -> [UInt8] { local + [192, 0, 2, last] }

    /// vpn-test: tunnel 1 to 192.0.2.10, tunnel 2 to 192.0.2.20, from 198.51.100.7; strict, counters on.
    private func intent(strict: Bool = true, counters: Bool = true) -> RuleIntent {
        let tunnels = endpoints.enumerated().map { index, endpoint in
            Tunnel(number: index + 1, customerGatewayAddress: IPAddress("198.51.100.7")!, vpnGatewayAddress: IPAddress(endpoint)!, line: 1)
        }
        var profile = Profile()
        profile.strict = strict
        profile.counters = counters
        let connection = Connection(id: "vpn-test", source: "test", format: .generic, tunnels: tunnels)
        return IntentBuilder.build(connections: [connection], profile: profile).intent
    }

    private func sample() -> (DesiredState, LiveState) {
        let desired = Lowering.desiredState(intent: intent(), target: ApplyTarget())
        let live = liveAfterTraffic(desired, [
            "seen_ike_in_ipv4": [(pair(10), Counter(packets: 3, bytes: 204), 86_396_000)],
            "seen_ike_out_ipv4": [(pair(10), Counter(packets: 4, bytes: 352), 86_399_500)],
            "seen_esp_in_ipv4": [(pair(20), Counter(packets: 5, bytes: 600), 80_000_000)],
            "dropped_ike_in_ipv4": [([203, 0, 113, 66], Counter(packets: 2, bytes: 136), 86_000_000)],
        ])
        return (desired, live)
    }

    func testApplyNeverPlansTheKernelsCountingElements() {
        let (desired, live) = sample()
        XCTAssertTrue(desired.sets.contains { $0.dynamic != nil && $0.elements.isEmpty })
        XCTAssertTrue(Planner.plan(live: live, desired: desired).isEmpty, "the counting sets' elements are the kernel's")
        // What commit-confirm keeps to restore, and what show --json saves, carry no counting state either.
        XCTAssertEqual(Engine.restorable(live)?.sets, desired.sets)
        XCTAssertEqual(SavedState(live).sets, desired.sets)
    }

    func testHealthHasEveryTunnelProtocolAndDirectionApart() throws {
        let health = sample().1.health
        XCTAssertEqual(health.countingWindowSeconds, 86_400)
        XCTAssertEqual(health.tunnels.map(\.awsEndpoint), endpoints)
        let first = health.tunnels[0], second = health.tunnels[1]
        XCTAssertEqual(first.flows.count, 6)
        XCTAssertEqual(first.flow(.ike, .inbound)?.packets, 3)
        XCTAssertEqual(first.flow(.ike, .inbound)?.lastSeenSecondsAgo, 4)
        XCTAssertEqual(first.flow(.ike, .outbound)?.bytes, 352)
        XCTAssertEqual(first.flow(.ike, .outbound)?.lastSeenSecondsAgo, 0.5)
        XCTAssertEqual(first.flow(.esp, .inbound)?.packets, 0)
        XCTAssertNil(first.flow(.esp, .inbound)?.lastSeenSecondsAgo)
        XCTAssertEqual(second.flow(.esp, .inbound)?.packets, 5)
        XCTAssertEqual(second.flow(.esp, .inbound)?.lastSeenSecondsAgo, 6400)
        XCTAssertEqual(health.strictDrops, [HealthReport.Drop(traffic: .ike, direction: .inbound, address: "203.0.113.66",
                                                              packets: 2, bytes: 136, lastSeenSecondsAgo: 400)])

        let text = HealthText.render(health)
        XCTAssertTrue(text.contains("vpn-test tunnel 1: customer gateway 198.51.100.7, AWS endpoint 192.0.2.10, NAT-T"), text)
        XCTAssertTrue(text.contains("  IKE (500)               3       204     4s ago            4       352     0s ago\n"), text)
        XCTAssertTrue(text.contains("  ESP                     5       600  1h46m ago"), text)
        XCTAssertTrue(text.contains("203.0.113.66 IKE (500) in from it: 2 packets, 136 bytes, last 6m40s ago"), text)
    }

    func testWithoutCountingSetsShowSaysSoInsteadOfZeros() {
        let desired = Lowering.desiredState(intent: intent(counters: false), target: ApplyTarget())
        let health = liveAfterTraffic(desired, [:]).health
        XCTAssertNil(health.countingWindowSeconds)
        XCTAssertTrue(health.tunnels.allSatisfy(\.flows.isEmpty))
        XCTAssertTrue(HealthText.render(health).contains("per-tunnel counts are off"))
    }

    func testPrometheusTextEscapesLabelsAndWritesCountersAndTimestamps() {
        let (_, live) = sample()
        var health = live.health
        health.tunnels[0].connection = "vpn \"a\"\\b\nc"
        let text = PrometheusText.render(live, health: health, now: 1_796_000_000, commitConfirmPending: false)
        XCTAssertTrue(text.contains(#"cgwfw_tunnel_packets_total{connection="vpn \"a\"\\b\nc",tunnel="1",customer_gateway="198.51.100.7","#
                                    + #"aws_endpoint="192.0.2.10",protocol="ike",direction="in"} 3"# + "\n"), text)
        XCTAssertTrue(text.contains(#"cgwfw_tunnel_last_seen_timestamp_seconds{connection="vpn-test",tunnel="2",customer_gateway="198.51.100.7","#
                                    + #"aws_endpoint="192.0.2.20",protocol="esp",direction="in"} 1795993600.000"# + "\n"), text)
        XCTAssertTrue(text.contains("# TYPE cgwfw_strict_dropped_packets_total counter\n"
                                    + #"cgwfw_strict_dropped_packets_total{address="203.0.113.66",protocol="ike",direction="in"} 2"#), text)
        XCTAssertTrue(text.contains(#"cgwfw_rule_packets_total{chain="input",rule="accept-ike-in-ipv4"} 9"#), text)
        XCTAssertFalse(text.contains("nat-t\",direction=\"in\"} ") && !health.tunnels[0].natTraversal,
                       "NAT-T series only where NAT-T is open")
        // Every sample line belongs to the family its # TYPE line announced just before.
        var family = ""
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { family = String(line.split(separator: " ")[2]); continue }
            if line.hasPrefix("#") { continue }
            XCTAssertTrue(line.hasPrefix(family + "{") || line.hasPrefix(family + " "), "\(line) after # TYPE \(family)")
        }
    }
}
