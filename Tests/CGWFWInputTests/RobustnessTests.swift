import CGWFWModel
import Foundation
import XCTest
@testable import CGWFWInput

/// Any input ends quickly with a diagnostic or a result: never a crash, a hang or a silent pass.
final class RobustnessTests: XCTestCase {
    /// Generous for a debug build on a busy 2-core machine; a hang or quadratic blow-up still fails it.
    private let secondsPerInput = 5.0

    private func assertHandled(_ bytes: [UInt8], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        let result = InputLoader.load(contents: [(label, bytes)])
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, secondsPerInput, "\(label) took \(elapsed) s", file: file, line: line)
        XCTAssertTrue(result.diagnostics.hasErrors || !result.connections.isEmpty
                      || result.diagnostics.warnings.contains { $0.message.hasPrefix("no usable VPN connection") },
                      "\(label): neither a connection nor an error", file: file, line: line)
        for diagnostic in result.diagnostics.all {
            XCTAssertLessThan(diagnostic.message.count, 600, "\(label): message too long", file: file, line: line)
        }
    }

    func testEmptyAndBlank() {
        assertHandled([], "empty")
        assertHandled(Array(" \n\n\t \r\n".utf8), "blank")
        assertHandled([0xEF, 0xBB, 0xBF], "bom only")
    }

    func testGarbageBytes() {
        var generator = SystemRandomNumberGenerator()
        for size in [1, 17, 4096, 1 << 20] {
            let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            assertHandled(bytes, "random \(size) bytes")
        }
        assertHandled(Array(repeating: 0, count: 1 << 16), "NULs")
        assertHandled(Array(repeating: 0xFF, count: 1 << 16), "invalid UTF-8")
    }

    func testEightMegabyteSingleLines() {
        let size = 8 << 20
        assertHandled(Array(repeating: UInt8(ascii: "A"), count: size), "8 MB of A")
        assertHandled(Array("{\"VpnConnections\": [\"".utf8) + Array(repeating: UInt8(ascii: "x"), count: size), "8 MB JSON string")
        assertHandled(Array("<vpn_connection>".utf8) + Array(repeating: UInt8(ascii: "y"), count: size), "8 MB XML text")
        assertHandled(Array("IPSec Tunnel #1\n  - Customer Gateway : ".utf8) + Array(repeating: UInt8(ascii: "1"), count: size),
                      "8 MB generic value")
        assertHandled(Array(String(repeating: "set vpn ipsec site-to-site peer 192.0.2.1 local-address '1' ", count: size / 60).utf8),
                      "8 MB VyOS line")
    }

    /// Each vendor syntax at sizes no download has: one 8 MB line, 10,000 tunnels' worth of lines, and a
    /// block header repeated without end.
    func testVendorSyntaxesAtHostileSizes() {
        let size = 8 << 20
        let lines: [(String, String)] = [
            ("Cisco IOS", "crypto keyring k\n  pre-shared-key address 192.0.2.1 key "),
            ("Cisco ASA", "tunnel-group 192.0.2.1 type ipsec-l2l\naccess-list a extended permit ip host 192.0.2.1 host "),
            ("JunOS", "set security ike gateway g address "),
            ("PAN-OS", "edit network ike gateway g\n set peer-address ip "),
            ("FortiGate", "config vpn ipsec phase1-interface\nedit t\n set remote-gw "),
            ("FortiGate GUI", "Go to VPN-->IPSec--> AutoKey, create Phase 1\n c. IP address: "),
            ("pfSense", "Go to VPN-->IPSec. Add a new Phase1 entry\n e. Remote Gateway: "),
        ]
        for (vendor, prefix) in lines {
            assertHandled(Array(prefix.utf8) + Array(repeating: UInt8(ascii: "7"), count: size), "8 MB \(vendor) value")
        }
        let many: [(String, (Int) -> String)] = [
            ("Cisco IOS", { "crypto keyring k\($0)\n local-address 198.51.100.7\n pre-shared-key address 10.\($0 >> 16).\($0 >> 8 & 255).\($0 & 255) key k\n" }),
            ("JunOS", { "set security ike gateway g\($0) address 10.\($0 >> 16).\($0 >> 8 & 255).\($0 & 255)\n" }),
            ("PAN-OS", { "edit network ike gateway g\($0)\n set local-address ip 198.51.100.7\n set peer-address ip 10.\($0 >> 16).\($0 >> 8 & 255).\($0 & 255)\n top\n" }),
            ("FortiGate", { "config vpn ipsec phase1-interface\nedit t\($0)\n set local-gw 198.51.100.7\n set remote-gw 10.\($0 >> 16).\($0 >> 8 & 255).\($0 & 255)\nnext\nend\n" }),
        ]
        for (vendor, tunnel) in many {
            let text = "! Amazon Web Services\n" + (0..<10_000).map(tunnel).joined()
            assertHandled(Array(text.utf8), "10,000 \(vendor) tunnels")
        }
        assertHandled(Array(String(repeating: "interface Tunnel1\n", count: 100_000).utf8), "endless Cisco headers")
        assertHandled(Array(String(repeating: "edit network ike gateway g\n", count: 100_000).utf8), "endless PAN-OS gateways")
        assertHandled(Array(String(repeating: "config vpn ipsec phase1-interface\nconfig neighbor\n", count: 100_000).utf8),
                      "endless FortiGate sections")
    }

    /// Redaction stays linear: 5,000 distinct keys and an error per tunnel.
    func testRedactingManyKeysInManyMessages() {
        let count = 5_000
        let text = genericText(customerGateway: Array(repeating: "198.51.100.7", count: count),
                               aws: (0..<count).map { "inline-made-up-key-\($0 + 1)" })
        let start = Date()
        let result = loadText(text)
        XCTAssertLessThan(Date().timeIntervalSince(start), secondsPerInput)
        XCTAssertEqual(result.diagnostics.errors.count, count)
        XCTAssertFalse(result.errorMessages.contains { $0.contains("inline-made-up-key") })
        XCTAssertTrue(result.errorMessages.allSatisfy { $0.contains("'<redacted>' is not an IP address") })
    }

    func testMillionsOfShortLines() {
        let lines = InputLoader.maxInputLines + 1
        assertHandled(Array(repeating: Array("a\n".utf8), count: lines).flatMap { $0 }, "\(lines) lines")
    }

    func testDeeplyNestedInputs() {
        let depth = 100_000
        assertHandled(Array((String(repeating: "<a>", count: depth)).utf8), "nested XML")
        assertHandled(Array(("<vpn_connection>" + String(repeating: "<ipsec_tunnel>", count: depth)).utf8), "nested tunnels")
        assertHandled(Array((String(repeating: "[", count: depth)).utf8), "nested JSON arrays")
        assertHandled(Array(("{\"VpnConnections\":" + String(repeating: "[", count: depth)).utf8), "nested describe JSON")
        assertHandled(Array((String(repeating: "<a/>", count: 300_000)).utf8), "many XML siblings")
    }

    func testEntityTricksAreRefused() {
        let billionLaughs = """
        <?xml version="1.0"?>
        <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
        <vpn_connection id="&lol2;"></vpn_connection>
        """
        assertHandled(Array(billionLaughs.utf8), "billion laughs")
        assertHandled(Array("<vpn_connection id=\"&#xFFFFFFFF;\"></vpn_connection>".utf8), "bad character reference")
    }

    /// Random byte edits (flip, insert, delete, duplicate a span) of every fixture, from a fixed seed so a
    /// failure reproduces: each result is handled, none crashes.
    func testRandomMutationsOfFixtures() throws {
        var random = SplitMix64(seed: 0xC6F_F1)
        let names = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path).sorted()
        let interesting = Array("<>/:=.'\"{}[]#-\n\t 0123456789".utf8)
        for name in names {
            let original = Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
            for round in 0..<120 {
                var bytes = original
                for _ in 0..<(1 + Int(random.next() % 8)) where !bytes.isEmpty {
                    let at = Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 4 {
                    case 0: bytes[at] = interesting[Int(random.next() % UInt64(interesting.count))]
                    case 1: bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: at)
                    case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int(random.next() % 64)))
                    default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int(random.next() % 200))], at: at)
                    }
                }
                assertHandled(bytes, "\(name) mutation \(round)")
            }
        }
    }

    /// Every prefix of every fixture (cut at many points) is handled: either an error or connections.
    func testTruncatedFixturesAtManyPoints() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path).sorted()
        XCTAssertGreaterThan(names.count, 5)
        for name in names {
            let bytes = Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
            for cut in stride(from: 1, to: bytes.count, by: max(1, bytes.count / 40)) {
                assertHandled(Array(bytes[..<cut]), "\(name) cut at \(cut)")
            }
        }
    }

    func testTruncatedXMLAndJSONAlwaysError() throws {
        for name in ["xml-basic.xml", "describe-three-connections.json", "create-vpn-connection.json"] {
            let bytes = Array(try Data(contentsOf: fixturesDirectory.appendingPathComponent(name)))
            // Trailing whitespace is not content: only cuts inside the document must fail.
            let end = bytes.lastIndex { ![0x0A, 0x0D, 0x20].contains($0) }!
            for cut in stride(from: 1, through: end, by: 97) {
                let result = InputLoader.load(contents: [(name, Array(bytes[..<cut]))])
                XCTAssertTrue(result.diagnostics.hasErrors, "\(name) cut at \(cut) passed")
            }
        }
    }
}

/// A tiny deterministic generator (SplitMix64), so random tests replay the same inputs every run.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
