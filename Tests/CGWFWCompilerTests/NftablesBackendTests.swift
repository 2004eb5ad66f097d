import XCTest
import Foundation
import CGWFWModel
@testable import CGWFWCompiler

/// nftables output loaded by the real `nft` in a throwaway network namespace, twice; the kernel's listing is
/// then checked packet by packet against AWS's table for every tunnel.
final class NftablesBackendTests: XCTestCase {
    static let foreignTable = """
    table inet filter {
    \tchain input {
    \t\ttype filter hook input priority filter; policy drop;
    \t\tct state established,related accept
    \t}
    }

    """

    struct Loaded {
        var first: NftListing
        var second: NftListing
        var firstText: String
        var secondText: String
        var foreignBefore: String
        var foreignAfter: String
    }

    /// Loads `script` twice into a fresh namespace that already holds a foreign table; returns both listings.
    func loadTwice(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Loaded {
        try XCTSkipUnless(isRoot(), "needs root for a network namespace and nft (running as uid \(geteuid()))")
        let path = try temporaryFile(script, suffix: ".nft")
        let foreign = try temporaryFile(Self.foreignTable, suffix: ".nft")
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: foreign) }
        let marker = "----cgwfw-marker----"
        let result = shell("""
            unshare -n sh -ec 'nft -f \(foreign); nft list table inet filter; echo \(marker); \
            nft -f \(path); nft -j list ruleset; echo \(marker); nft list ruleset; echo \(marker); \
            nft -f \(path); nft -j list ruleset; echo \(marker); nft list ruleset; echo \(marker); nft list table inet filter'
            """)
        XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
        let parts = result.output.components(separatedBy: marker + "\n")
        guard parts.count == 6 else { throw XCTSkip("unexpected output: \(result.output)") }
        return Loaded(first: try NftListing(json: parts[1]), second: try NftListing(json: parts[3]),
                      firstText: parts[2], secondText: parts[4], foreignBefore: parts[0], foreignAfter: parts[5])
    }

    /// The JSON listing without object handles (a reload recreates the table, so handles move on).
    func withoutHandles(_ listing: NftListing) -> String {
        func strip(_ value: Any) -> Any {
            if let dict = value as? [String: Any] {
                return dict.filter { $0.key != "handle" }.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        let data = try! JSONSerialization.data(withJSONObject: listing.objects.map(strip), options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The WAN interface packets from/to AWS use in the gateway test ("eth0"); anything else is "lan0".
    var wan = "lan0"

    func packet(_ family: IPAddress.Family, _ source: IPAddress, _ destination: IPAddress, _ traffic: TunnelTraffic,
                sourcePort: Int? = nil, inbound: Bool) -> NftListing.Packet {
        var packet = NftListing.Packet(family: family, source: source.description, destination: destination.description,
                                       proto: traffic == .esp ? "esp" : "udp",
                                       sourcePort: traffic.udpPort.map { sourcePort ?? Int($0) },
                                       destinationPort: traffic.udpPort.map(Int.init))
        if inbound { packet.inInterface = wan } else { packet.outInterface = wan }
        return packet
    }

    /// Every tunnel of `connections` gets IKE and ESP both ways, NAT-T only where `natTraversal` says.
    func assertAWSTable(_ listing: NftListing, connections: [Connection], placement: Placement, strict: Bool,
                        natTraversal: (Connection) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let (inChain, outChain) = placement == .host ? ("input", "output") : ("forward", "forward")
        var tunnels = 0
        for connection in connections {
            for tunnel in connection.tunnels {
                tunnels += 1
                let c = tunnel.customerGatewayAddress, v = tunnel.vpnGatewayAddress, family = c.family
                let set = IntentBuilder.pairsSetName(family)
                XCTAssertTrue(listing.elements(table: "cgwfw", set: set).contains { $0 == [c.description, v.description] },
                              "\(set) lacks \(c) . \(v)", file: file, line: line)
                for traffic in [TunnelTraffic.ike, .esp] {
                    XCTAssertEqual(listing.verdict(table: "cgwfw", chain: inChain, packet: packet(family, v, c, traffic, inbound: true)), "accept",
                                   "inbound \(traffic) \(v) → \(c)", file: file, line: line)
                    XCTAssertEqual(listing.verdict(table: "cgwfw", chain: outChain, packet: packet(family, c, v, traffic, inbound: false)), "accept",
                                   "outbound \(traffic) \(c) → \(v)", file: file, line: line)
                }
                let expectNATT = natTraversal(connection)
                let inbound = listing.verdict(table: "cgwfw", chain: inChain, packet: packet(family, v, c, .natTraversal, inbound: true))
                let outbound = listing.verdict(table: "cgwfw", chain: outChain, packet: packet(family, c, v, .natTraversal, inbound: false))
                XCTAssertEqual(inbound, expectNATT ? "accept" : (strict ? "drop" : nil), "NAT-T in \(v) → \(c)", file: file, line: line)
                XCTAssertEqual(outbound, expectNATT ? "accept" : (strict ? "drop" : nil), "NAT-T out \(c) → \(v)", file: file, line: line)
                // IKE from the right port pair only: a random source port is not AWS's rule.
                XCTAssertNotEqual(listing.verdict(table: "cgwfw", chain: inChain,
                                                  packet: packet(family, v, c, .ike, sourcePort: 40000, inbound: true)), "accept",
                                  file: file, line: line)
                let rogue = family == .ipv4 ? IPAddress("203.0.113.99")! : IPAddress("2001:db8:ffff::99")!
                for traffic in TunnelTraffic.allCases {
                    XCTAssertEqual(listing.verdict(table: "cgwfw", chain: inChain, packet: packet(family, rogue, c, traffic, inbound: true)),
                                   strict ? "drop" : nil, "rogue \(traffic) → \(c)", file: file, line: line)
                    XCTAssertEqual(listing.verdict(table: "cgwfw", chain: outChain, packet: packet(family, c, rogue, traffic, inbound: false)),
                                   strict ? "drop" : nil, "\(c) → rogue \(traffic)", file: file, line: line)
                }
            }
        }
        XCTAssertEqual(tunnels, connections.reduce(0) { $0 + $1.tunnels.count }, file: file, line: line)
    }

    func check(profile: Profile, connections: [Connection] = Fixtures.all,
               natTraversal: @escaping (Connection) -> Bool = { $0.id == "vpn-0ccc3333" }, file: StaticString = #filePath, line: UInt = #line) throws -> Loaded {
        let intent = IntentBuilder.build(connections: connections, profile: profile).intent
        let (script, diagnostics) = NftablesBackend.render(intent)
        XCTAssertFalse(diagnostics.hasErrors, "\(diagnostics.all)", file: file, line: line)
        let loaded = try loadTwice(script, file: file, line: line)
        XCTAssertEqual(withoutHandles(loaded.first), withoutHandles(loaded.second), "reload changed the ruleset", file: file, line: line)
        XCTAssertEqual(loaded.firstText, loaded.secondText, file: file, line: line)
        XCTAssertEqual(loaded.foreignBefore, loaded.foreignAfter, "the foreign table changed", file: file, line: line)
        assertAWSTable(loaded.second, connections: connections, placement: profile.placement, strict: profile.strict,
                       natTraversal: natTraversal, file: file, line: line)
        // Chains: policy accept, on the hooks the placement names.
        let chains = loaded.second.chains(table: "cgwfw")
        XCTAssertTrue(chains.allSatisfy { $0["policy"] as? String == "accept" }, file: file, line: line)
        XCTAssertEqual(Set(chains.compactMap { $0["name"] as? String }),
                       profile.placement == .host ? ["input", "output", "tunnel"] : ["forward"], file: file, line: line)
        return loaded
    }

    func testLinuxHostTwoConnectionsRedundantGatewayAndIPv6() throws {
        let loaded = try check(profile: try Fixtures.profile("linux-host"))
        let tunnel = loaded.second.rules(table: "cgwfw", chain: "tunnel")
        XCTAssertEqual(tunnel.count, 5)
        let comments = tunnel.compactMap { $0["comment"] as? String }
        XCTAssertTrue(comments.contains { $0.hasPrefix("mss-into-tunnel-ipv4:") && $0.hasSuffix("1359") })
        XCTAssertTrue(comments.contains { $0.hasPrefix("clear-df-ipv4:") })
        XCTAssertTrue(loaded.secondText.contains("rt ipsec exists"))
        XCTAssertTrue(loaded.secondText.contains("tcp option maxseg size set 1359"))
        XCTAssertTrue(loaded.secondText.contains("ip frag-off set ip frag-off & 49151"))
    }

    func testLinuxHostStrictWithTunnelInterfaces() throws {
        var profile = try Fixtures.profile("linux-host")
        profile.strict = true
        profile.tunnelSelection = .interfaces
        profile.tunnelInterfaces = ["vti0", "xfrm*"]
        let loaded = try check(profile: profile)
        XCTAssertEqual(loaded.second.elements(table: "cgwfw", set: "locals_ipv4"), [["198.51.100.7"], ["198.51.100.8"]])
        XCTAssertTrue(loaded.secondText.contains("oifname { \"vti0\", \"xfrm*\" }"), loaded.secondText)
    }

    func testLinuxGatewayStrictOnWANInterface() throws {
        var profile = try Fixtures.profile("linux-gateway")
        profile.wanInterface = "eth0"
        wan = "eth0"
        let loaded = try check(profile: profile)
        // The same IKE packet on another interface is not AWS's traffic on the WAN: no rule of ours matches it.
        wan = "lan0"
        let c = IPAddress("198.51.100.7")!, v = IPAddress("192.0.2.10")!
        XCTAssertNil(loaded.second.verdict(table: "cgwfw", chain: "forward", packet: packet(.ipv4, v, c, .ike, inbound: true)))
        XCTAssertTrue(loaded.secondText.contains("iifname \"eth0\""))
        XCTAssertTrue(loaded.secondText.contains("oifname \"eth0\""))
    }

    func testNoCountersNoCommentsStillTagsRules() throws {
        var profile = try Fixtures.profile("linux-host")
        profile.counters = false
        profile.comments = false
        let loaded = try check(profile: profile)
        XCTAssertFalse(loaded.secondText.contains("counter"))
        let comments = loaded.second.rules(table: "cgwfw", chain: "input").compactMap { $0["comment"] as? String }
        XCTAssertEqual(comments.first, "accept-ike-in-ipv4")
    }

    func testEmptyIntentLoadsAndAcceptsNothing() throws {
        let loaded = try check(profile: try Fixtures.profile("linux-host"), connections: [])
        XCTAssertEqual(loaded.second.rules(table: "cgwfw", chain: "input").count, 12)
    }

    func testCommentsCannotBreakOutOfTheirQuotes() {
        XCTAssertEqual(NftablesBackend.quoted("a\"b\\c\nd"), "\"a_b_c_d\"")
        XCTAssertEqual(NftablesBackend.quoted(String(repeating: "é", count: 100)).utf8.count, 126 + 2)
    }

    func testKeywordTableNamesAreRefused() {
        var intent = IntentBuilder.build(connections: [], profile: Profile()).intent
        intent.table = "fwd"
        XCTAssertTrue(NftablesBackend.render(intent).diagnostics.hasErrors)
    }
}
