import Foundation
import XCTest

/// `cgwfw show`'s per-tunnel counts against packets really sent between two network namespaces: the
/// customer gateway (cgwfw applied there) and "AWS" (its endpoints and a rogue host), joined by veth.
final class HealthCLITests: XCTestCase {
    static let gatewayV4 = "198.51.100.7", endpoint1 = "192.0.2.10", endpoint2 = "192.0.2.20", laterEndpoint = "203.0.113.30"
    static let rogueV4 = "203.0.113.66"
    static let gatewayV6 = "2001:db8:100::7", endpointV6 = "2001:db8:200::10"
    static let flags = ["--strict", "--nat-traversal", "on"]

    private var gateway: KernelNamespace!
    private var aws: KernelNamespace!

    override func setUpWithError() throws {
        try KernelNamespace.requireRoot()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("/usr/bin/python3 is needed to send the test packets")
        }
        gateway = try KernelNamespace()
        aws = try KernelNamespace()
        let link = "cg\(UInt16.random(in: 0..<UInt16.max))"
        let wiring = KernelNamespace.run("""
            set -e
            ip link add \(link)a netns \(gateway.name) type veth peer name \(link)b netns \(aws.name)
            ip -n \(gateway.name) link set lo up; ip -n \(aws.name) link set lo up
            ip -n \(gateway.name) addr add \(Self.gatewayV4)/32 dev \(link)a
            ip -n \(gateway.name) addr add \(Self.gatewayV6)/128 dev \(link)a nodad
            for a in \(Self.endpoint1) \(Self.endpoint2) \(Self.laterEndpoint) \(Self.rogueV4); do
                ip -n \(aws.name) addr add $a/32 dev \(link)b
            done
            ip -n \(aws.name) addr add \(Self.endpointV6)/128 dev \(link)b nodad
            ip -n \(gateway.name) link set \(link)a up; ip -n \(aws.name) link set \(link)b up
            ip -n \(gateway.name) route add 192.0.2.0/24 dev \(link)a
            ip -n \(gateway.name) route add 203.0.113.0/24 dev \(link)a
            ip -n \(gateway.name) -6 route add 2001:db8:200::/48 dev \(link)a
            ip -n \(aws.name) route add 198.51.100.0/24 dev \(link)b
            ip -n \(aws.name) -6 route add 2001:db8:100::/48 dev \(link)b
            """)
        guard wiring.status == 0 else { throw XCTSkip("cannot wire two namespaces with veth: \(wiring.output)") }
    }

    override func tearDown() {
        gateway?.destroy()
        aws?.destroy()
    }

    private func config(_ name: String) -> String { CLIRunner.repoRoot.appendingPathComponent(name).path }
    private var configs: [String] {
        [config("ansible/tests/fixtures/vpn-a.txt"), config("Tests/CGWFWInputTests/Fixtures/generic-ipv6.txt")]
    }

    /// Sends COUNT packets of one kind from one namespace; returns the bytes nftables counts for them.
    @discardableResult
    private func send(_ kind: String, from namespace: KernelNamespace, _ source: String, to destination: String,
                      count: Int, payload: Int) -> UInt64 {
        let script = CLIRunner.repoRoot.appendingPathComponent("Tests/traffic/send.py").path
        let sent = namespace.shell("/usr/bin/python3 \(script) \(kind) \(source) \(destination) \(count) \(payload)")
        XCTAssertEqual(sent.status, 0, "send.py \(kind) \(source) → \(destination): \(sent.output)")
        return UInt64(count) * (UInt64(sent.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    private func health() throws -> [String: Any] {
        let shown = try gateway.cgwfw(["show", "--json"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(report["health"] as? [String: Any])
    }

    private func flow(_ health: [String: Any], _ endpoint: String, _ traffic: String, _ direction: String) -> [String: Any]? {
        let tunnels = health["tunnels"] as? [[String: Any]] ?? []
        let tunnel = tunnels.first { $0["aws_endpoint"] as? String == endpoint }
        return (tunnel?["flows"] as? [[String: Any]])?.first {
            $0["protocol"] as? String == traffic && $0["direction"] as? String == direction
        }
    }

    private func counts(_ flow: [String: Any]?) -> [UInt64] {
        [(flow?["packets"] as? NSNumber)?.uint64Value ?? 999, (flow?["bytes"] as? NSNumber)?.uint64Value ?? 999]
    }

    func testShowCountsEachTunnelPerProtocolAndDirectionAndStrictDropsPerSource() throws {
        let applied = try gateway.cgwfw(["apply"] + Self.flags + configs)
        XCTAssertEqual(applied.status, 0, applied.stderr)

        // What a call about "is tunnel 2 reaching us" needs apart: IKE, NAT-T and ESP, in and out.
        let ikeIn = send("ike", from: aws, Self.endpoint1, to: Self.gatewayV4, count: 3, payload: 40)
        let nattIn = send("natt", from: aws, Self.endpoint1, to: Self.gatewayV4, count: 2, payload: 10)
        let espIn = send("esp", from: aws, Self.endpoint2, to: Self.gatewayV4, count: 5, payload: 100)
        let ikeOut = send("ike", from: gateway, Self.gatewayV4, to: Self.endpoint1, count: 4, payload: 60)
        let espOut = send("esp", from: gateway, Self.gatewayV4, to: Self.endpoint2, count: 1, payload: 100)
        let espInV6 = send("esp", from: aws, Self.endpointV6, to: Self.gatewayV6, count: 6, payload: 50)
        let rogue = send("ike", from: aws, Self.rogueV4, to: Self.gatewayV4, count: 2, payload: 40)

        let report = try health()
        XCTAssertEqual(report["counting_window_seconds"] as? Int, 86_400)
        let expected: [(String, String, String, [UInt64])] = [
            (Self.endpoint1, "ike", "inbound", [3, ikeIn]), (Self.endpoint1, "nat-t", "inbound", [2, nattIn]),
            (Self.endpoint1, "esp", "inbound", [0, 0]), (Self.endpoint1, "ike", "outbound", [4, ikeOut]),
            (Self.endpoint1, "nat-t", "outbound", [0, 0]), (Self.endpoint1, "esp", "outbound", [0, 0]),
            (Self.endpoint2, "ike", "inbound", [0, 0]), (Self.endpoint2, "esp", "inbound", [5, espIn]),
            (Self.endpoint2, "esp", "outbound", [1, espOut]), (Self.endpointV6, "esp", "inbound", [6, espInV6]),
            (Self.endpointV6, "ike", "inbound", [0, 0]),
        ]
        for (endpoint, traffic, direction, packetsAndBytes) in expected {
            let found = flow(report, endpoint, traffic, direction)
            XCTAssertEqual(counts(found), packetsAndBytes, "\(endpoint) \(traffic) \(direction)")
            let ago = found?["last_seen_seconds_ago"] as? Double
            if packetsAndBytes[0] > 0 {
                XCTAssertNotNil(ago, "\(endpoint) \(traffic) \(direction): no last seen")
                XCTAssertLessThan(ago ?? 999, 60, "\(endpoint) \(traffic) \(direction)")
            } else {
                XCTAssertNil(ago, "\(endpoint) \(traffic) \(direction): seen without a packet")
            }
        }
        let drops = try XCTUnwrap(report["strict_drops"] as? [[String: Any]])
        XCTAssertEqual(drops.count, 1, "\(drops)")
        XCTAssertEqual(drops.first?["address"] as? String, Self.rogueV4)
        XCTAssertEqual(drops.first?["protocol"] as? String, "ike")
        XCTAssertEqual(counts(drops.first), [2, rogue])

        // The text table says the same, in rows an operator reads on a call.
        let text = try gateway.cgwfw(["show"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("vpn-0a11aa11aa11aa11a tunnel 2: customer gateway \(Self.gatewayV4), AWS endpoint \(Self.endpoint2)"),
                      text.stdout)
        XCTAssertTrue(text.stdout.contains("\(Self.rogueV4) IKE (500) in from it: 2 packets, \(rogue) bytes"), text.stdout)

        // A dump of this busy gateway (its counting sets full of elements) reviews as unchanged.
        let dump = gateway.scratch.appendingPathComponent("ruleset.json")
        try gateway.shell("nft -j list ruleset").output.write(to: dump, atomically: true, encoding: .utf8)
        XCTAssertTrue(try String(contentsOf: dump, encoding: .utf8).contains("\"expires\""), "no counting elements in the dump")
        if let refused = KernelNamespace.userNamespaceRefusesHeaderRewrite {
            print("skipped reviewing the `nft -j` dump: \(refused)")
        } else {
            let against = try CLIRunner.run(["diff", "-q", "--against", dump.path] + Self.flags + configs)
            XCTAssertEqual(against.status, 0, against.stdout + against.stderr)
        }

        // A re-apply changes nothing, and adding a connection changes only elements: the counts survive both.
        let again = try gateway.cgwfw(["apply", "--json"] + Self.flags + configs)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try json(again.stdout)["changed"] as? Bool, false, again.stdout)
        let more = try gateway.cgwfw(["apply", "--json"] + Self.flags + configs + [config("ansible/tests/fixtures/vpn-b.txt")])
        XCTAssertEqual(more.status, 0, more.stderr)
        let added = try json(more.stdout)["added"] as? [String] ?? []
        XCTAssertTrue(!added.isEmpty && added.allSatisfy { $0.hasPrefix("element ") }, "not an element-only change: \(more.stdout)")
        let after = try health()
        XCTAssertEqual(counts(flow(after, Self.endpoint2, "esp", "inbound")), [5, espIn])
        XCTAssertEqual(counts(flow(after, Self.laterEndpoint, "ike", "inbound")), [0, 0])
        send("ike", from: aws, Self.laterEndpoint, to: Self.gatewayV4, count: 1, payload: 40)
        XCTAssertEqual(counts(flow(try health(), Self.laterEndpoint, "ike", "inbound"))[0], 1)
    }

    /// Why "last seen" comes from the counting set's expiry and not from nftables' `last` statement: this
    /// nft cannot parse `last` (the kernel has it since 5.14). When an nft that can arrives, this fails, and
    /// docs/monitoring.md says what to change.
    func testThisNftCannotParseTheLastStatement() throws {
        let script = gateway.scratch.appendingPathComponent("last.nft")
        try "table inet lastcheck {\n\tchain input {\n\t\ttype filter hook input priority filter;\n\t\tudp dport 500 last counter accept\n\t}\n}\n"
            .write(to: script, atomically: true, encoding: .utf8)
        let checked = gateway.shell("nft -c -f \(script.path)")
        XCTAssertNotEqual(checked.status, 0, "nft now parses the `last` statement (\(gateway.shell("nft --version").output)): "
                          + "use it for last seen, as docs/monitoring.md says")
        XCTAssertTrue(checked.output.contains("syntax error"), checked.output)
    }

    func testPrometheusOutputParsesAndCarriesTheSameCounts() throws {
        let applied = try gateway.cgwfw(["apply"] + Self.flags + configs)
        XCTAssertEqual(applied.status, 0, applied.stderr)
        let espIn = send("esp", from: aws, Self.endpoint2, to: Self.gatewayV4, count: 7, payload: 80)
        let rogue = send("esp", from: aws, Self.rogueV4, to: Self.gatewayV4, count: 3, payload: 20)
        let textfile = gateway.scratch.appendingPathComponent("cgwfw.prom").path
        let written = try gateway.cgwfw(["show", "--format", "prometheus", "-o", textfile])
        XCTAssertEqual(written.status, 0, written.stderr)

        // prometheus_client's own parser, as Prometheus' Python tooling reads the format.
        let python = CLIRunner.repoRoot.appendingPathComponent(".build/pyvenv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw XCTSkip("\(python) missing: `make unit-test` installs prometheus_client there (make prometheus-tools)")
        }
        let parse = KernelNamespace.run("""
            \(python) - <<'EOF'
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open("\(textfile)").read()):
                for sample in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    print(f"{family.type} {sample.name} {labels} {float(sample.value):.3f}")
            EOF
            """)
        XCTAssertEqual(parse.status, 0, parse.output)
        let tunnelLabels = "aws_endpoint=\(Self.endpoint2),connection=vpn-0a11aa11aa11aa11a,customer_gateway=\(Self.gatewayV4)"
        XCTAssertTrue(parse.output.contains("counter cgwfw_tunnel_packets_total \(tunnelLabels),direction=in,protocol=esp,tunnel=2 7.000\n"),
                      parse.output)
        XCTAssertTrue(parse.output.contains("counter cgwfw_tunnel_bytes_total \(tunnelLabels),direction=in,protocol=esp,tunnel=2 \(espIn).000\n"),
                      parse.output)
        XCTAssertTrue(parse.output.contains("counter cgwfw_strict_dropped_packets_total address=\(Self.rogueV4),direction=in,protocol=esp 3.000\n"),
                      parse.output)
        XCTAssertTrue(parse.output.contains("counter cgwfw_strict_dropped_bytes_total address=\(Self.rogueV4),direction=in,protocol=esp \(rogue).000\n"),
                      parse.output)
        XCTAssertTrue(parse.output.contains("gauge cgwfw_rules_loaded table=inet cgwfw 1.000\n"), parse.output)
        let lastSeen = parse.output.split(separator: "\n").first {
            $0.hasPrefix("gauge cgwfw_tunnel_last_seen_timestamp_seconds \(tunnelLabels),direction=in,protocol=esp,tunnel=2 ")
        }
        let stamp = Double(lastSeen?.split(separator: " ").last ?? "") ?? 0
        XCTAssertLessThan(abs(stamp - Date().timeIntervalSince1970), 60, String(lastSeen ?? "no last-seen sample"))

        // promtool's lint of the exposition format.
        let promtool = CLIRunner.repoRoot.appendingPathComponent(".build/promtool/usr/bin/promtool").path
        guard FileManager.default.isExecutableFile(atPath: promtool) else {
            throw XCTSkip("\(promtool) missing: `make prometheus-tools` unpacks it from Debian's prometheus package")
        }
        let linted = KernelNamespace.run("\(promtool) check metrics < \(textfile)")
        XCTAssertEqual(linted.status, 0, linted.output)
        XCTAssertEqual(linted.output, "")
    }
}
