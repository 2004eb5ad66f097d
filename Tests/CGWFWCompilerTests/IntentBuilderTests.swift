import XCTest
import CGWFWModel
@testable import CGWFWCompiler

final class IntentBuilderTests: XCTestCase {
    func testEveryTunnelIsAPairWithItsOrigins() throws {
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: try Fixtures.profile("linux-host")).intent
        let pairs4 = try XCTUnwrap(intent.set(named: "pairs_ipv4"))
        XCTAssertEqual(pairs4.kind, .pairs)
        XCTAssertEqual(pairs4.elements.count, 6)
        XCTAssertEqual(pairs4.elements, pairs4.elements.sorted())
        let first = try XCTUnwrap(pairs4.elements.first { $0.remote == IPAddress("192.0.2.10") })
        XCTAssertEqual(first.local, IPAddress("198.51.100.7"))
        XCTAssertEqual(first.origins, [Origin(connection: "vpn-0aaa1111", tunnel: 1)])
        XCTAssertEqual(first.comment, "vpn-0aaa1111 tunnel 1")
        let pairs6 = try XCTUnwrap(intent.set(named: "pairs_ipv6"))
        XCTAssertEqual(pairs6.elements.map(\.remote), [IPAddress("2001:db8:a::10"), IPAddress("2001:db8:a::20")])
    }

    func testDuplicatePairsMergeTheirOrigins() throws {
        let a = Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "198.51.100.7", "192.0.2.10")])
        let b = Fixtures.connection("vpn-0bbb2222", [Fixtures.tunnel(2, "198.51.100.7", "192.0.2.10")])
        let intent = IntentBuilder.build(connections: [a, b], profile: Profile()).intent
        let pairs = try XCTUnwrap(intent.set(named: "pairs_ipv4"))
        XCTAssertEqual(pairs.elements.count, 1)
        XCTAssertEqual(pairs.elements[0].comment, "vpn-0aaa1111 tunnel 1, vpn-0bbb2222 tunnel 2")
    }

    func testRuleCountDoesNotDependOnTunnelsOrFamilies() throws {
        for name in ["linux-host", "linux-gateway"] {
            var profile = try Fixtures.profile(name)
            for strict in [false, true] {
                profile.strict = strict
                let none = IntentBuilder.build(connections: [], profile: profile).intent
                let v4 = IntentBuilder.build(connections: Fixtures.twoConnectionsAndRedundantGateway, profile: profile).intent
                let both = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent
                XCTAssertEqual(none.chains, v4.chains.map { chain in
                    IntentChain(role: chain.role, rules: chain.rules.map { rule in
                        // Only the MSS value may differ: it follows the tunnels' configs.
                        if case let .clampMSS(family, _, direction, selector) = rule.action {
                            return IntentRule(tag: rule.tag, action: .clampMSS(family: family, mss: family == .ipv4 ? 1379 : 1359,
                                                                              direction: direction, selector: selector),
                                              comment: none.chains.flatMap(\.rules).first { $0.tag == rule.tag }!.comment)
                        }
                        return rule
                    })
                }, "\(name) strict=\(strict)")
                XCTAssertEqual(v4.chains, both.chains, "\(name) strict=\(strict): adding IPv6 tunnels must only add set elements")
                XCTAssertEqual(none.sets.map(\.name), both.sets.map(\.name))
                XCTAssertEqual(Set(v4.chains.flatMap(\.rules).map(\.tag)).count, v4.chains.flatMap(\.rules).count, "tags unique")
            }
        }
    }

    func testHostPlacementHasInputOutputAndTunnelChains() throws {
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: try Fixtures.profile("linux-host")).intent
        XCTAssertEqual(intent.chains.map(\.role), [.input, .output, .tunnel])
        let input = intent.chains[0].rules
        XCTAssertEqual(input.count, 12)  // IKE, NAT-T, ESP × 2 families, each counted then accepted
        for (count, accept) in zip(input.indices.filter { $0 % 2 == 0 }.map { input[$0] }, input.indices.filter { $0 % 2 == 1 }.map { input[$0] }) {
            guard case let .countPeers(traffic, .inbound, family, set, into) = count.action,
                  case .acceptPeers(traffic, .inbound, family, set) = accept.action else {
                return XCTFail("\(count.tag), \(accept.tag): not a count rule before the accept rule it mirrors")
            }
            XCTAssertEqual(into, IntentBuilder.seenSetName(traffic, .inbound, family))
            XCTAssertEqual(intent.set(named: into)?.kind, .seen)
            XCTAssertEqual(intent.set(named: into)?.dynamic?.traffic, traffic)
        }
        XCTAssertEqual(input.map(\.tag).prefix(2), ["count-ike-in-ipv4", "accept-ike-in-ipv4"])
        let tunnel = intent.chains[2].rules
        // Smallest MSS among the tunnels (vpn-0bbb2222 tunnel 2 says 1359), IPv6 20 bytes less.
        let clamps = tunnel.compactMap { rule -> (IPAddress.Family, Int, TunnelSelector)? in
            if case let .clampMSS(family, mss, _, selector) = rule.action { return (family, mss, selector) }
            return nil
        }
        XCTAssertEqual(clamps.count, 4)
        XCTAssertTrue(clamps.allSatisfy { $0.1 == ($0.0 == .ipv4 ? 1359 : 1339) && $0.2 == .ipsecPolicy })
        XCTAssertEqual(tunnel.last?.tag, "clear-df-ipv4")
    }

    func testGatewayPlacementHasOnlyAForwardChainAndSaysWhyNoMSS() throws {
        var profile = try Fixtures.profile("linux-gateway")
        profile.tcpMSS = .auto
        profile.wanInterface = "eth0"
        let result = IntentBuilder.build(connections: Fixtures.all, profile: profile)
        XCTAssertEqual(result.intent.chains.map(\.role), [.forward])
        XCTAssertEqual(result.intent.wanInterface, "eth0")
        // Accepts both ways + strict drops both ways, each after its counting rule.
        XCTAssertEqual(result.intent.chains[0].rules.count, 2 * (12 + 12))
        XCTAssertTrue(result.diagnostics.all.contains { $0.severity == .note && $0.message.contains("encrypted") })
    }

    func testStrictAddsLocalsAndDropsAfterTheAccepts() throws {
        var profile = Profile()
        profile.strict = true
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent
        let locals = try XCTUnwrap(intent.set(named: "locals_ipv4"))
        XCTAssertEqual(locals.kind, .locals)
        XCTAssertEqual(locals.elements.map(\.local), [IPAddress("198.51.100.7")!, IPAddress("198.51.100.8")!])
        XCTAssertEqual(intent.set(named: "locals_ipv6")?.elements.map(\.local), [IPAddress("2001:db8:1::7")!])
        let input = intent.chains[0].rules
        let firstDrop = try XCTUnwrap(input.firstIndex { $0.tag.hasPrefix("count-drop-") })
        XCTAssertTrue(input[..<firstDrop].allSatisfy { $0.tag.hasPrefix("accept-") || $0.tag.hasPrefix("count-") })
        XCTAssertTrue(input[firstDrop...].allSatisfy { $0.tag.hasPrefix("drop-") || $0.tag.hasPrefix("count-drop-") })
        // Each drop is counted per source just before it, into a set of its own.
        for index in input.indices where input[index].tag.hasPrefix("drop-") {
            guard case let .countUnknownPeers(traffic, .inbound, family, locals, into) = input[index - 1].action,
                  locals == IntentBuilder.localsSetName(family) else {
                return XCTFail("\(input[index].tag) is not preceded by its counting rule")
            }
            XCTAssertEqual(into, IntentBuilder.droppedSetName(traffic, .inbound, family))
            XCTAssertEqual(intent.set(named: into)?.kind, .dropped)
        }
    }

    func testCountersOffLeavesOutTheCountingRulesAndSets() throws {
        var profile = Profile()
        profile.strict = true
        profile.counters = false
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent
        XCTAssertFalse(intent.chains.flatMap(\.rules).contains { $0.tag.hasPrefix("count-") })
        XCTAssertTrue(intent.sets.allSatisfy { $0.dynamic == nil && ($0.kind == .pairs || $0.kind == .locals) })
    }

    func testNATTraversalFollowsConfigDeploymentAndFlag() throws {
        let plain = Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "198.51.100.7", "192.0.2.10")])
        let accelerated = Fixtures.connection("vpn-0ccc3333", [Fixtures.tunnel(1, "198.51.100.8", "203.0.113.50")], accelerated: true)
        let stated = Fixtures.connection("vpn-0eee5555", [Fixtures.tunnel(1, "198.51.100.9", "203.0.113.70", natTraversal: true)])
        let behindNAT = Fixtures.connection("vpn-0fff6666", [Fixtures.tunnel(1, "10.0.0.5", "203.0.113.80", configLocal: "198.51.100.10")])
        let placeholder = Fixtures.connection("vpn-0abc7777", [Fixtures.tunnel(1, "198.51.100.11", "203.0.113.90",
                                                                                configLocal: "YOUR_UPLINK_ADDRESS")])
        let connections = [plain, accelerated, stated, behindNAT, placeholder]
        func natRemotes(_ profile: Profile) -> [String] {
            IntentBuilder.build(connections: connections, profile: profile).intent.set(named: "natt_ipv4")!
                .elements.compactMap { $0.remote?.description }
        }
        // Sorted by customer gateway address: 10.0.0.5, 198.51.100.8, 198.51.100.9.
        XCTAssertEqual(natRemotes(Profile()), ["203.0.113.80", "203.0.113.50", "203.0.113.70"])
        var on = Profile(); on.natTraversal = .on
        XCTAssertEqual(natRemotes(on).count, 5)
        var off = Profile(); off.natTraversal = .off
        XCTAssertEqual(natRemotes(off), [])
        var nat = Profile(); nat.behindNAT = true
        XCTAssertEqual(natRemotes(nat).count, 5)

        let notes = IntentBuilder.build(connections: connections, profile: Profile()).diagnostics.all
            .filter { $0.severity == .note }.map(\.message)
        XCTAssertTrue(notes.contains { $0.hasPrefix("vpn-0aaa1111: NAT-T (UDP 4500) closed for tunnel 1") })
        XCTAssertTrue(notes.contains { $0.hasPrefix("vpn-0ccc3333: NAT-T (UDP 4500) open") && $0.contains("accelerated") })
        XCTAssertTrue(notes.contains { $0.hasPrefix("vpn-0eee5555: NAT-T (UDP 4500) open") && $0.contains("config enables") })
        XCTAssertTrue(notes.contains { $0.hasPrefix("vpn-0fff6666: NAT-T (UDP 4500) open") && $0.contains("behind NAT") })
        XCTAssertTrue(notes.contains { $0.hasPrefix("vpn-0abc7777: NAT-T (UDP 4500) closed") })
    }

    func testMSSAndDFSettings() throws {
        var profile = Profile()
        profile.tcpMSS = .fixed(1300)
        profile.clearDF = .off
        var rules = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent.chains.first { $0.role == .tunnel }!.rules
        XCTAssertEqual(rules.count, 4)
        XCTAssertTrue(rules.allSatisfy {
            if case let .clampMSS(family, mss, _, _) = $0.action { return mss == (family == .ipv4 ? 1300 : 1280) }
            return false
        })
        profile.tcpMSS = .off
        profile.clearDF = .on
        rules = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent.chains.first { $0.role == .tunnel }!.rules
        XCTAssertEqual(rules.map(\.tag), ["clear-df-ipv4"])
        profile.clearDF = .auto
        let noDF = Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "198.51.100.7", "192.0.2.10", clearDF: false)])
        XCTAssertNil(IntentBuilder.build(connections: [noDF], profile: profile).intent.chains.first { $0.role == .tunnel })
        profile.tunnelSelection = .interfaces
        profile.tunnelInterfaces = ["vti0", "vti1"]
        profile.tcpMSS = .auto
        rules = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent.chains.first { $0.role == .tunnel }!.rules
        if case let .clampMSS(_, _, _, selector) = rules[0].action {
            XCTAssertEqual(selector, .interfaces(["vti0", "vti1"]))
        } else { XCTFail("first tunnel rule is not a clamp") }
    }

    func testMixedFamilyTunnelIsAnError() {
        let bad = Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "198.51.100.7", "2001:db8:a::10")])
        let result = IntentBuilder.build(connections: [bad], profile: Profile())
        XCTAssertTrue(result.diagnostics.hasErrors)
        XCTAssertEqual(result.diagnostics.errors.first?.file, "vpn-0aaa1111.txt")
        XCTAssertEqual(result.diagnostics.errors.first?.line, 10)
    }
}
