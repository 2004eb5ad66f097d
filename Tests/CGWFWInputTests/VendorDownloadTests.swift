import CGWFWModel
import Foundation
import XCTest
@testable import CGWFWInput

/// The vendor downloads (Cisco IOS/ASA, JunOS, PAN-OS, FortiGate CLI and GUI, pfSense, Openswan in Markdown),
/// each from a fixture of our own in the layout of the real files. Expected values are read from the fixture
/// text; positions are found in the text independently of the parsers.
final class VendorDownloadTests: XCTestCase {
    private struct Expected {
        var fixture: String
        var format: InputFormat
        var id: String
        /// Present when the download has no customer gateway address: the text that stands in for it.
        var standIn: String?
        var inside: [String?]
        var mss: Int = 1379
        var mtu: Int?
        var dpd: Int?
        var natTraversal: Bool?
        var ikeVersion: IKEVersion?
        var bgpNeighbor: [String?] = [nil, nil]
        /// Text on the line each tunnel's `line` must point at.
        var tunnelMarker: String
    }

    private let expectations: [Expected] = [
        Expected(fixture: "cisco-ios.txt", format: .ciscoIOS, id: "vpn-0a1a1a1a1a1a1a1a1",
                 inside: ["169.254.10.2/30", "169.254.11.2/30"], dpd: 10, ikeVersion: .ikev1,
                 bgpNeighbor: ["169.254.10.1", "169.254.11.1"], tunnelMarker: "crypto keyring"),
        Expected(fixture: "cisco-asa-vti.txt", format: .ciscoASA, id: "vpn-0b2b2b2b2b2b2b2b2",
                 standIn: "tunnel source interface 'outside_interface'",
                 inside: ["169.254.10.2/30", "169.254.11.2/30"], dpd: 10, ikeVersion: .ikev1, tunnelMarker: "tunnel-group"),
        Expected(fixture: "cisco-asa-policy.txt", format: .ciscoASA, id: "vpn-0c3c3c3c3c3c3c3c3",
                 inside: [nil, nil], dpd: 10, ikeVersion: .ikev1, tunnelMarker: "tunnel-group"),
        Expected(fixture: "junos.txt", format: .junos, id: "vpn-0d4d4d4d4d4d4d4d4",
                 inside: ["169.254.10.2/30", "169.254.11.2/30"], mtu: 1436, dpd: 10, natTraversal: false,
                 ikeVersion: .ikev1, tunnelMarker: "set security ike gateway"),
        Expected(fixture: "panos.txt", format: .panos, id: "vpn-0e5e5e5e5e5e5e5e5",
                 inside: ["169.254.10.2/30", "169.254.11.2/30"], mtu: 1427, dpd: 10, ikeVersion: .ikev1,
                 bgpNeighbor: ["169.254.10.1", "169.254.11.1"], tunnelMarker: "edit network ike gateway"),
        Expected(fixture: "fortigate.txt", format: .fortigate, id: "vpn-0f6f6f6f6f6f6f6f6",
                 inside: ["169.254.10.2/32", "169.254.11.2/32"], mtu: 1427, dpd: 10,
                 bgpNeighbor: ["169.254.10.1", "169.254.11.1"], tunnelMarker: "edit vpn-"),
        Expected(fixture: "fortigate-gui.txt", format: .fortigate, id: "vpn-0a7a7a7a7a7a7a7a7",
                 inside: ["169.254.10.2", "169.254.11.2"], mtu: 1427, ikeVersion: .ikev1, tunnelMarker: "create Phase 1"),
        Expected(fixture: "pfsense.txt", format: .pfsense, id: "vpn-0b8b8b8b8b8b8b8b8", standIn: "d. Interface : WAN",
                 inside: [nil, nil], dpd: 10, natTraversal: true, ikeVersion: .ikev1, tunnelMarker: "Add a new Phase1 entry"),
        Expected(fixture: "strongswan-route-based.txt", format: .ipsecConf, id: "vpn-0e0e0e0e0e0e0e0e0",
                 inside: ["169.254.10.2/30", "169.254.11.2/30"], mtu: 1419, dpd: 10, ikeVersion: .ikev1,
                 tunnelMarker: "conn Tunnel"),
        Expected(fixture: "openswan-markdown.txt", format: .ipsecConf, id: "vpn-0c9c9c9c9c9c9c9c9",
                 inside: [nil, nil], dpd: 10, tunnelMarker: "conn Tunnel"),
    ]

    func testEveryVendorFixtureIsReadIntoTheModel() throws {
        for expected in expectations {
            let name = expected.fixture
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            XCTAssertEqual(FormatDetector.detect(SourceText(name: name, bytes: Array(text.utf8))), .format(expected.format), name)
            let result = try loadFixture(name, localAddress: expected.standIn == nil ? nil : "198.51.100.7")
            XCTAssertEqual(result.diagnostics.errors, [], name)
            let connection = try XCTUnwrap(result.connections.first, name)
            XCTAssertEqual(connection.format, expected.format, name)
            XCTAssertEqual(connection.id, expected.id, name)
            let tunnels = connection.tunnels
            XCTAssertEqual(tunnels.map(\.number), [1, 2], "\(name): numbered by order, whatever the name suffixes")
            XCTAssertEqual(tunnels.map { "\($0.customerGatewayAddress) → \($0.vpnGatewayAddress)" },
                           ["198.51.100.7 → 192.0.2.10", "198.51.100.7 → 192.0.2.20"], name)
            XCTAssertEqual(tunnels.map(\.tcpMSS), [expected.mss, expected.mss], name)
            XCTAssertEqual(tunnels.map(\.insideCIDR), expected.inside, name)
            XCTAssertEqual(tunnels.map(\.mtu), [expected.mtu, expected.mtu], name)
            XCTAssertEqual(tunnels.map(\.dpdIntervalSeconds), [expected.dpd, expected.dpd], name)
            XCTAssertEqual(tunnels.map(\.natTraversal), [expected.natTraversal, expected.natTraversal], name)
            XCTAssertEqual(tunnels.map(\.ikeVersion), [expected.ikeVersion, expected.ikeVersion], name)
            XCTAssertEqual(tunnels.map(\.bgpNeighbor), expected.bgpNeighbor, name)
            XCTAssertTrue(tunnels.allSatisfy { !$0.ikeIntegrity.isEmpty && !$0.ipsecIntegrity.isEmpty }, "\(name): algorithms")
            let lines = text.components(separatedBy: "\n")
            for tunnel in tunnels {
                XCTAssertTrue(lines[tunnel.line - 1].contains(expected.tunnelMarker), "\(name):\(tunnel.line): \(lines[tunnel.line - 1])")
            }
        }
    }

    /// JunOS (comment only, or nothing), ASA VTI and pfSense: without the address in the file, exit 65 naming the
    /// text that stands in for it and its line; with --local-address the file is read.
    func testMissingCustomerGatewayAddressAsksForLocalAddress() throws {
        var junos = try String(contentsOfFile: fixture("junos.txt"), encoding: .utf8)
        junos = junos.components(separatedBy: "\n").filter { !$0.contains("IP address 198.51.100.7") }.joined(separator: "\n")
        let cases: [(name: String, text: String, standIn: String)] = [
            ("junos-no-comment.txt", junos, "external-interface ge-0/0/0.0"),
            ("cisco-asa-vti.txt", try String(contentsOfFile: fixture("cisco-asa-vti.txt"), encoding: .utf8),
             "tunnel source interface 'outside_interface'"),
            ("pfsense.txt", try String(contentsOfFile: fixture("pfsense.txt"), encoding: .utf8), "d. Interface : WAN"),
        ]
        for (name, text, standIn) in cases {
            let result = loadText(text, name: name)
            XCTAssertTrue(result.connections.isEmpty, name)
            XCTAssertEqual(result.diagnostics.errors.map(\.line), [position(of: standIn, in: text)?.line,
                                                                    position(of: standIn, in: text, occurrence: 2)?.line], name)
            for error in result.diagnostics.errors {
                XCTAssertTrue(error.message.contains("names no customer gateway outside address"), error.message)
                XCTAssertTrue(error.message.contains(standIn), error.message)
                XCTAssertTrue(error.message.contains("--local-address"), error.message)
            }
            let replaced = loadText(text, name: name, localAddress: "203.0.113.9")
            XCTAssertEqual(replaced.diagnostics.errors, [], name)
            XCTAssertEqual(replaced.tunnels.map { "\($0.customerGatewayAddress)" }, ["203.0.113.9", "203.0.113.9"], name)
        }
    }

    /// Without its address line, each vendor's outside interface stands in for the customer gateway in the error.
    func testInterfaceStandsInWhenTheAddressLineIsMissing() throws {
        let cases: [(name: String, drop: String, standIn: String)] = [
            ("panos.txt", "set local-address ip 198.51.100.7", "set local-address interface ethernet1/1"),
            ("fortigate.txt", "set local-gw 198.51.100.7", "set interface \"wan1\""),
            ("fortigate-gui.txt", "j. Local-gateway: Select Specify and enter 198.51.100.7", "d. Local Interface: wan1"),
            ("cisco-ios.txt", "198.51.100.7", "tunnel source GigabitEthernet0/0"),
        ]
        for (name, drop, standIn) in cases {
            let original = try String(contentsOfFile: fixture(name), encoding: .utf8)
            let text = name == "cisco-ios.txt"
                ? original.components(separatedBy: "\n").filter { !$0.contains("local-address") }.joined(separator: "\n")
                    .replacingOccurrences(of: "tunnel source 198.51.100.7", with: standIn)
                : original.components(separatedBy: "\n").filter { !$0.contains(drop) }.joined(separator: "\n")
            let result = loadText(text, name: name)
            XCTAssertEqual(result.diagnostics.errors.count, 2, "\(name): \(result.errorMessages)")
            // fortigate.txt also says `set interface "wan1"` in each tunnel interface block (occurrences 2, 4).
            let occurrences = name == "fortigate.txt" ? [1, 3] : [1, 2]
            for (error, occurrence) in zip(result.diagnostics.errors, occurrences) {
                XCTAssertTrue(error.message.contains("names no customer gateway outside address"), error.message)
                XCTAssertTrue(error.message.contains(standIn.trimmingCharacters(in: .whitespaces).prefix(30)), error.message)
                XCTAssertEqual(error.line, position(of: standIn, in: text, occurrence: occurrence)?.line, name)
            }
            XCTAssertEqual(loadText(text, localAddress: "203.0.113.9").tunnels.count, 2, name)
        }
    }

    /// Cisco IOS with IKEv2 (the layout AWS uses for it): keyring peers, profile `match address local`,
    /// `match identity remote address`, `dpd`; `pre-shared-key local K` keeps only K as the key.
    func testCiscoIOSIKEv2() {
        let text = """
        ! Amazon Web Services
        ! Your VPN Connection ID : vpn-0d1d1d1d1d1d1d1d1
        crypto ikev2 proposal PROPOSAL1
          encryption aes-cbc-256
          integrity sha512
          group 14
        crypto ikev2 keyring KEYRING1
          peer 192.0.2.10
            address 192.0.2.10
            pre-shared-key local madeUpIkev2Key_local_0123456789
            pre-shared-key remote madeUpIkev2Key_local_0123456789
        crypto ikev2 profile IKEV2-PROFILE-1
          match address local 198.51.100.7
          match identity remote address 192.0.2.10 255.255.255.255
          authentication remote pre-share
          authentication local pre-share
          keyring local KEYRING1
          dpd 10 10 on-demand
        interface Tunnel1
          ip address 169.254.10.2 255.255.255.252
          tunnel source 198.51.100.7
          tunnel destination 192.0.2.10
          tunnel protection ipsec profile ipsec-vpn-1
        """
        let result = loadText(text)
        XCTAssertEqual(result.connections.first?.format, .ciscoIOS)
        XCTAssertEqual(result.errorMessages, [])
        let tunnel = result.tunnels.first
        XCTAssertEqual(tunnel.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" }, "198.51.100.7 192.0.2.10")
        XCTAssertEqual(tunnel?.ikeVersion, .ikev2)
        XCTAssertEqual(tunnel?.dpdIntervalSeconds, 10)
        XCTAssertEqual(tunnel?.tcpMSS, 1359, "sha512 integrity")
        let pasted = loadText(text.replacingOccurrences(of: "tunnel destination 192.0.2.10",
                                                        with: "tunnel destination madeUpIkev2Key_local_0123456789"))
        XCTAssertFalse(pasted.diagnostics.all.contains { $0.message.contains("madeUpIkev2Key") })
        XCTAssertFalse(pasted.diagnostics.all.contains { $0.message.contains("--<redacted>") }, "'local' is not a key")
    }

    /// The JunOS comment naming the customer gateway is taken, at its column; a placeholder there is refused.
    func testJunOSCustomerGatewayFromTheCommentAndItsPlaceholder() throws {
        let text = try String(contentsOfFile: fixture("junos.txt"), encoding: .utf8)
        let tunnels = loadText(text).tunnels
        XCTAssertEqual(tunnels.map(\.configCustomerGatewayAddress), ["198.51.100.7", "198.51.100.7"])
        let placeholder = text.replacingOccurrences(of: "IP address 198.51.100.7 is", with: "IP address YOUR_UPLINK_ADDRESS is")
        let result = loadText(placeholder, name: "junos.txt")
        let expected = try XCTUnwrap(position(of: "YOUR_UPLINK_ADDRESS", in: placeholder))
        XCTAssertEqual(result.diagnostics.errors.first?.line, expected.line)
        XCTAssertEqual(result.diagnostics.errors.first?.column, expected.column)
        XCTAssertTrue(result.errorMessages.allSatisfy { $0.contains("'YOUR_UPLINK_ADDRESS' is not an IP address") })
        XCTAssertEqual(loadText(placeholder, localAddress: "203.0.113.9").tunnels.count, 2)
    }

    /// PAN-OS reuses `set peer-address ip` / `set local-address ip` in the BGP peer block for inside addresses;
    /// only the IKE gateway block's count. A `/30` on the outside address (as the download's comment asks) is
    /// the interface mask, not part of the address.
    func testPANOSBGPBlockIsNotTakenForOutsideAddresses() throws {
        let text = try String(contentsOfFile: fixture("panos.txt"), encoding: .utf8)
        let tunnels = loadText(text).tunnels
        XCTAssertFalse(tunnels.contains { "\($0.vpnGatewayAddress)".hasPrefix("169.254.") })
        XCTAssertEqual(tunnels.map { $0.line }, [position(of: "edit network ike gateway", in: text)!.line,
                                                  position(of: "edit network ike gateway", in: text, occurrence: 2)!.line])
        let masked = text.replacingOccurrences(of: "set local-address ip 198.51.100.7", with: "set local-address ip 198.51.100.7/30")
        XCTAssertEqual(loadText(masked).tunnels.map { "\($0.customerGatewayAddress)" }, ["198.51.100.7", "198.51.100.7"])
    }

    /// Cisco IOS keyrings are suffixed -0/-1, JunOS gateways -1/-2, with full or shortened ids: tunnel numbers
    /// and the connection id do not come from object names.
    func testTunnelSuffixesAndShortenedIdsDoNotMatter() throws {
        let ios = try String(contentsOfFile: fixture("cisco-ios.txt"), encoding: .utf8)
        XCTAssertTrue(ios.contains("keyring-vpn-0a1a1a1a1a1a1a1a1-0") && ios.contains("keyring-vpn-0a1a1a1a1a1a1a1a1-1"))
        let junos = try String(contentsOfFile: fixture("junos.txt"), encoding: .utf8)
        XCTAssertTrue(junos.contains("gw-vpn-0d4d4d4-1") && junos.contains("gw-vpn-0d4d4d4-2"))
        let fullIds = junos.replacingOccurrences(of: "vpn-0d4d4d4-", with: "vpn-0d4d4d4d4d4d4d4d4-")
        for text in [ios, junos, fullIds] {
            let result = loadText(text)
            XCTAssertEqual(result.tunnels.map(\.number), [1, 2])
            XCTAssertEqual(result.tunnels.map { "\($0.vpnGatewayAddress)" }, ["192.0.2.10", "192.0.2.20"])
            XCTAssertTrue(result.connections.first?.id?.count == 21, "\(result.connections.first?.id ?? "nil")")
        }
    }

    /// Trailing spaces after values, CRLF line ends and no final newline: the same values.
    func testTrailingSpacesCRLFAndNoFinalNewline() throws {
        for name in ["cisco-ios.txt", "junos.txt", "panos.txt", "fortigate.txt", "fortigate-gui.txt", "cisco-asa-policy.txt"] {
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            let reference = loadText(text).tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress) \($0.tcpMSS)" }
            XCTAssertEqual(reference.count, 2, name)
            let padded = text.components(separatedBy: "\n").map { $0 + "  \t" }.joined(separator: "\r\n")
            var unterminated = text
            while unterminated.hasSuffix("\n") { unterminated.removeLast() }
            for variant in [padded, unterminated] {
                let result = loadText(variant, name: name)
                XCTAssertEqual(result.diagnostics.errors, [], name)
                XCTAssertEqual(result.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress) \($0.tcpMSS)" },
                               reference, name)
            }
        }
        let junos = try String(contentsOfFile: fixture("junos.txt"), encoding: .utf8)
        XCTAssertFalse(junos.hasSuffix("\n"), "the JunOS fixture keeps the real file's missing final newline")
    }

    /// Each vendor file pasted into Markdown (indentation lost, `---` rules, `##` headings, code fences): the
    /// same tunnels.
    func testDownloadsPastedIntoMarkdown() throws {
        for name in ["cisco-ios.txt", "cisco-asa-policy.txt", "junos.txt", "panos.txt", "fortigate.txt", "fortigate-gui.txt",
                     "strongswan-ipsec.conf", "vyos.txt", "generic-basic.txt"] {
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            let reference = loadText(text).tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress) \($0.tcpMSS)" }
            XCTAssertEqual(reference.count, 2, name)
            var markdown = ["## \(name)", "", "---", "", "```"]
            for line in text.components(separatedBy: "\n") {
                let stripped = String(line.drop { $0 == " " || $0 == "\t" })
                if stripped.lowercased().contains("tunnel #2") { markdown += ["```", "", "---", "", "## Tunnel 2", "```"] }
                markdown.append(stripped)
            }
            markdown += ["```", "---"]
            let result = loadText(markdown.joined(separator: "\n"), name: name)
            XCTAssertEqual(result.diagnostics.errors, [], name)
            XCTAssertEqual(result.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress) \($0.tcpMSS)" },
                           reference, name)
        }
    }

    /// The MSS a vendor file states is used; with SHA2-384/512 integrity it is 1359 (AWS's rule).
    func testStatedMSSAndSHA2_384or512() throws {
        let cases: [(name: String, from: String, to: String)] = [
            ("cisco-ios.txt", "esp-sha-hmac", "esp-sha512-hmac"),
            ("junos.txt", "authentication-algorithm sha1", "authentication-algorithm sha-384"),
            ("panos.txt", "set hash sha1", "set hash sha384"),
            ("fortigate.txt", "set proposal aes128-sha1", "set proposal aes256-sha512"),
            ("fortigate-gui.txt", "l. Authentication: sha1", "l. Authentication: sha512"),
            ("pfsense.txt", "Hash algorithm :  sha1", "Hash algorithm :  sha384"),
            ("cisco-asa-policy.txt", "hash sha", "hash sha512"),
        ]
        for (name, from, to) in cases {
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            XCTAssertTrue(text.contains(from), "\(name) lacks \(from)")
            let local = name == "pfsense.txt" ? "198.51.100.7" : nil
            XCTAssertEqual(loadText(text, localAddress: local).tunnels.map(\.tcpMSS), [1379, 1379], name)
            XCTAssertEqual(loadText(text.replacingOccurrences(of: from, with: to), localAddress: local).tunnels.map(\.tcpMSS),
                           [1359, 1359], "\(name) with \(to)")
        }
        let stated = try String(contentsOfFile: fixture("cisco-ios.txt"), encoding: .utf8)
            .replacingOccurrences(of: "adjust-mss 1379", with: "adjust-mss 1387")
        XCTAssertEqual(loadText(stated).tunnels.map(\.configTCPMSS), [1387, 1387])
        let asa = try String(contentsOfFile: fixture("cisco-asa-policy.txt"), encoding: .utf8)
            .replacingOccurrences(of: "tcpmss 1379", with: "tcpmss 1360")
        XCTAssertEqual(loadText(asa).tunnels.map(\.tcpMSS), [1360, 1360])
    }

    /// A FortiGate GUI-steps file says "Go to VPN-->IPSec" as pfSense's does: it is FortiGate, and each
    /// --input-format value reads its own vendor.
    func testDetectionDoesNotConfuseVendors() throws {
        for (name, format) in [("fortigate-gui.txt", InputFormat.fortigate), ("pfsense.txt", .pfsense),
                               ("cisco-asa-vti.txt", .ciscoASA), ("cisco-asa-policy.txt", .ciscoASA), ("cisco-ios.txt", .ciscoIOS)] {
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            XCTAssertEqual(FormatDetector.detect(SourceText(name: name, bytes: Array(text.utf8))), .format(format), name)
            let forced = loadText(text, format: format, localAddress: "198.51.100.7")
            XCTAssertEqual(forced.tunnels.count, 2, name)
        }
        let gui = try String(contentsOfFile: fixture("fortigate-gui.txt"), encoding: .utf8)
        XCTAssertTrue(gui.contains("Go to VPN-->IPSec"))
        let asPfSense = loadText(gui, format: .pfsense)
        XCTAssertTrue(asPfSense.connections.isEmpty && asPfSense.diagnostics.hasErrors, "\(asPfSense.errorMessages)")
    }

    /// Vendors cgwfw does not read are named, never reported as some other format.
    func testVendorsNotReadAreNamed() {
        for (text, vendor) in [("/ip ipsec peer add address=192.0.2.10\n", "MikroTik RouterOS"),
                               ("set ike gateway AWS address 192.0.2.10 main outgoing-interface ethernet0/0\n", "Juniper ScreenOS")] {
            let result = loadText("! Amazon Web Services\n! Virtual Private Cloud\n" + text)
            XCTAssertEqual(result.diagnostics.errors.count, 1)
            let message = result.errorMessages.first ?? ""
            XCTAssertTrue(message.contains(vendor) && message.contains("does not read"), message)
            XCTAssertFalse(message.contains("not supported yet"), message)
            XCTAssertEqual(result.diagnostics.errors.first?.line, 3)
        }
    }

    /// A placeholder or redaction on the AWS side is refused at its line and column, with or without
    /// --local-address (which only stands for the customer gateway).
    func testAWSPlaceholdersAndRedactionsAreRefusedWhereTheyStand() throws {
        let cases: [(fixture: String, address: String, placeholder: String)] = [
            ("pfsense.txt", "192.0.2.10", "AWS_ENPOINT_1"),
            ("cisco-asa-policy.txt", "192.0.2.10", "AWS_ENDPOINT_1"),
            ("junos.txt", "192.0.2.10", "<REDACTED_FOR_SECURITY>"),
            ("panos.txt", "192.0.2.10", "AWS_ENDPOINT_1"),
            ("fortigate-gui.txt", "192.0.2.10", "AWS_ENDPOINT_1"),
            ("generic-basic.txt", "192.0.2.10", "<REDACTED_FOR_SECURITY>"),
        ]
        for (name, address, placeholder) in cases {
            let original = try String(contentsOfFile: fixture(name), encoding: .utf8)
            XCTAssertTrue(original.contains(address), name)
            let text = original.replacingOccurrences(of: address, with: placeholder)
            let expected = try XCTUnwrap(position(of: placeholder, in: text), name)
            for local in [nil, "203.0.113.9"] {
                let result = loadText(text, name: name, localAddress: local)
                // Tunnel 2 is fine; the error makes the run exit 65 and nothing is compiled or applied.
                // (pfSense names no customer gateway: without --local-address neither tunnel is usable.)
                XCTAssertEqual(result.tunnels.map { "\($0.vpnGatewayAddress)" },
                               name == "pfsense.txt" && local == nil ? [] : ["192.0.2.20"], name)
                let error = try XCTUnwrap(result.diagnostics.errors.first { $0.message.contains("'\(placeholder)'") },
                                          "\(name): \(result.errorMessages)")
                XCTAssertTrue(error.message.contains("is not an IP address"), error.message)
                XCTAssertEqual(error.line, expected.line, name)
                XCTAssertEqual(error.column, expected.column, name)
            }
        }
    }

    /// A Cisco block ends at the next top-level command even without `exit`: another interface's address is
    /// not the tunnel's.
    func testCiscoBlockEndsAtTheNextTopLevelCommand() throws {
        let text = try String(contentsOfFile: fixture("cisco-ios.txt"), encoding: .utf8)
            .replacingOccurrences(of: "  ip tcp adjust-mss 1379 \n  no shutdown\nexit\n\nip sla 100",
                                  with: "  ip tcp adjust-mss 1379 \ninterface GigabitEthernet0/0\n  ip address 203.0.113.1 255.255.255.0\nip sla 100")
        XCTAssertTrue(text.contains("GigabitEthernet0/0"))
        XCTAssertEqual(loadText(text).tunnels.map(\.insideCIDR), ["169.254.10.2/30", "169.254.11.2/30"])
    }

    /// Cisco policies and transform sets are global: each algorithm once, Cisco's "sha" spelt sha1.
    func testCiscoAlgorithmsAreListedOnce() throws {
        let tunnels = try loadFixture("cisco-ios.txt").tunnels
        XCTAssertEqual(tunnels.map(\.ikeEncryption), [["aes128"], ["aes128"]])
        XCTAssertEqual(tunnels.map(\.ikeIntegrity), [["sha1"], ["sha1"]])
        XCTAssertEqual(tunnels.map(\.ipsecEncryption), [["aes128"], ["aes128"]])
        XCTAssertEqual(tunnels.map(\.ipsecIntegrity), [["sha1"], ["sha1"]])
    }

    /// Two different customer gateway addresses for one tunnel (keyring vs tunnel source) are an error.
    func testConflictingCustomerGatewayAddressesAreAnError() throws {
        let text = try String(contentsOfFile: fixture("cisco-ios.txt"), encoding: .utf8)
        let edited = text.replacingOccurrences(of: "tunnel source 198.51.100.7\n  tunnel destination 192.0.2.20",
                                               with: "tunnel source 198.51.100.99\n  tunnel destination 192.0.2.20")
        XCTAssertNotEqual(edited, text)
        let result = loadText(edited)
        XCTAssertEqual(result.diagnostics.errors.count, 1, "\(result.errorMessages)")
        XCTAssertEqual(result.diagnostics.errors.first?.line, position(of: "198.51.100.99", in: edited)?.line)
        XCTAssertTrue(result.errorMessages.first?.contains("'198.51.100.99'") == true)
    }
}
