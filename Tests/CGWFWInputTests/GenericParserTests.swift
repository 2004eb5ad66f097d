import CGWFWModel
import XCTest
@testable import CGWFWInput

final class GenericParserTests: XCTestCase {
    func testBasicDownload() throws {
        let result = try loadFixture("generic-basic.txt")
        XCTAssertFalse(result.diagnostics.hasErrors, "\(result.diagnostics.all)")
        XCTAssertEqual(result.connections.count, 1)
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertEqual(connection.id, "vpn-0123456789abcdef0")
        XCTAssertEqual(connection.customerGatewayID, "cgw-0123456789abcdef0")
        XCTAssertEqual(connection.gatewayID, "vgw-0123456789abcdef0")
        XCTAssertEqual(connection.format, .generic)
        XCTAssertEqual(connection.tunnels.map(\.number), [1, 2])
        XCTAssertEqual(connection.tunnels.map(\.customerGatewayAddress), [IPAddress("198.51.100.7")!, IPAddress("198.51.100.7")!])
        XCTAssertEqual(connection.tunnels.map(\.vpnGatewayAddress), [IPAddress("192.0.2.10")!, IPAddress("192.0.2.20")!])
        let first = connection.tunnels[0]
        XCTAssertEqual(first.insideCIDR, "169.254.10.2/30")
        XCTAssertEqual(first.tcpMSS, 1379)
        XCTAssertEqual(first.configTCPMSS, 1379)
        XCTAssertTrue(first.clearDF)
        XCTAssertEqual(first.mtu, 1436)
        XCTAssertEqual(first.ikeVersion, .ikev1)
        XCTAssertEqual(first.ikeIntegrity, ["sha1"])
        XCTAssertEqual(first.ipsecIntegrity, ["hmac-sha1-96"])
        XCTAssertEqual(first.dpdIntervalSeconds, 10)
        XCTAssertEqual(first.fragmentBeforeEncryption, true)
        XCTAssertEqual(first.bgpNeighbor, "169.254.10.1")
        XCTAssertEqual(first.bgpASN, "64512")
        XCTAssertNil(first.natTraversal, "the Generic text only recommends; it does not state NAT-T")
        XCTAssertEqual(first.configCustomerGatewayAddress, "198.51.100.7")
        let text = try String(contentsOfFile: fixture("generic-basic.txt"), encoding: .utf8)
        XCTAssertEqual(first.line, position(of: "IPSec Tunnel #1", in: text)?.line)
        XCTAssertEqual(connection.tunnels[1].line, position(of: "IPSec Tunnel #2", in: text)?.line)
    }

    func testExampleShippedWithTheRepositoryParsesCleanly() throws {
        let path = fixturesDirectory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Examples/generic-example.txt").path
        let result = try InputLoader.load(paths: [path])
        XCTAssertEqual(result.diagnostics.all, [])
        XCTAssertEqual(result.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" },
                       ["198.51.100.7 192.0.2.10", "198.51.100.7 192.0.2.20"])
    }

    /// CRLF, a UTF-8 BOM, free text before the header, "IPSEC", TAB/space padding, a stray double colon,
    /// an empty gateway id (Transit Gateway) and static routing, all in one file.
    func testToleratesWhatRealFilesContain() throws {
        let bytes = try Data(contentsOf: fixturesDirectory.appendingPathComponent("generic-crlf-bom-tgw.txt"))
        XCTAssertEqual(Array(bytes.prefix(3)), [0xEF, 0xBB, 0xBF], "fixture must start with a BOM")
        XCTAssertTrue(bytes.contains(0x0D), "fixture must use CRLF")
        let result = try loadFixture("generic-crlf-bom-tgw.txt")
        XCTAssertEqual(result.diagnostics.errors, [])
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertEqual(connection.id, "vpn-0fedcba9876543210")
        XCTAssertNil(connection.gatewayID)
        XCTAssertEqual(connection.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" },
                       ["203.0.113.5 192.0.2.30", "203.0.113.5 192.0.2.40"])
        XCTAssertEqual(connection.tunnels.map(\.bgpNeighbor), [nil, nil])
        XCTAssertEqual(connection.tunnels.map(\.line), [16, 67], "lines count from the file's first line, CRLF as one ending")
    }

    func testLabelPaddingAndStrayColon() {
        let cases: [(String, String, String)] = [
            ("  - Customer Gateway \t\t        : 3.34.214.63 ", "customer gateway", "3.34.214.63"),
            ("- Customer Gateway:        : YOUR_UPLINK_ADDRESS ", "customer gateway", "YOUR_UPLINK_ADDRESS"),
            ("  - Virtual Private  Gateway ASN          : 64512", "virtual private gateway asn", "64512"),
            ("Your VPN Connection ID\t\t         : vpn-", "your vpn connection id", "vpn-"),
            ("  - Pre-Shared Key           : ", "pre-shared key", ""),
        ]
        for (line, label, value) in cases {
            let parsed = GenericParser.labelAndValue(Substring(line))
            XCTAssertEqual(parsed?.label, label, line)
            XCTAssertEqual(parsed.map { String($0.value) }, value, line)
            if let parsed, !value.isEmpty {
                XCTAssertEqual(parsed.column, position(of: value, in: line)?.column, line)
            }
        }
    }

    func testTunnelHeadingSpellings() {
        XCTAssertEqual(GenericParser.tunnelHeading("ipsec tunnel #1"), 1)
        XCTAssertEqual(GenericParser.tunnelHeading("IPsec Tunnel #2".lowercased()), 2)
        XCTAssertEqual(GenericParser.tunnelHeading("IPSEC Tunnel #3".lowercased()), 3)
        XCTAssertNil(GenericParser.tunnelHeading("ipsec tunnel"))
    }

    func testIPv6OutsideAddresses() throws {
        let result = try loadFixture("generic-ipv6.txt")
        XCTAssertEqual(result.diagnostics.errors, [])
        XCTAssertEqual(result.tunnels.map(\.customerGatewayAddress.family), [.ipv6, .ipv6])
        XCTAssertEqual(result.tunnels.map(\.vpnGatewayAddress), [IPAddress("2001:db8:200::10")!, IPAddress("2001:db8:200::20")!])
        XCTAssertEqual(result.tunnels.map(\.ikeVersion), [.ikev2, .ikev2])
    }

    func testSHA2_512IntegrityLowersMSSTo1359() throws {
        let result = try loadFixture("generic-sha2-512.txt")
        XCTAssertEqual(result.diagnostics.errors, [])
        XCTAssertEqual(result.tunnels.map(\.configTCPMSS), [1379, 1379])
        XCTAssertEqual(result.tunnels.map(\.tcpMSS), [1359, 1359])
        XCTAssertEqual(result.diagnostics(.note).filter { $0.message.contains("1359") }.count, 2)
    }

    func testRedactedIdsAndEmptyKeysStillParse() {
        var text = genericText(customerGateway: ["198.51.100.7", "198.51.100.7"], aws: ["192.0.2.10", "192.0.2.20"])
        text = text.replacingOccurrences(of: "vpn-0123456789abcdef0", with: "vpn-")
            .replacingOccurrences(of: "inline-made-up-key-1", with: "")
        let result = loadText(text)
        XCTAssertEqual(result.diagnostics.errors, [])
        XCTAssertEqual(result.connections.first?.id, "vpn-")
        XCTAssertEqual(result.connections.first?.displayName, "inline.txt")
        XCTAssertEqual(result.tunnels.count, 2)
    }
}

extension GenericParserTests {
    func testIPv6ValueStartingWithColonsIsNotTakenForAStrayColon() {
        let parsed = GenericParser.labelAndValue("  - Virtual Private Gateway  : ::ffff:192.0.2.1")
        XCTAssertEqual(parsed.map { String($0.value) }, "::ffff:192.0.2.1")
    }
}

extension GenericParserTests {
    func testTwoDownloadsPastedIntoOneFileAreTwoConnections() {
        let first = genericText(customerGateway: ["198.51.100.7", "198.51.100.7"], aws: ["192.0.2.10", "192.0.2.20"])
        let second = genericText(customerGateway: ["198.51.100.7", "198.51.100.7"], aws: ["192.0.2.30", "192.0.2.40"])
            .replacingOccurrences(of: "vpn-0123456789abcdef0", with: "vpn-0999999999999999a")
        let text = first + "\n" + second
        let result = loadText(text)
        XCTAssertEqual(result.diagnostics.all, [])
        XCTAssertEqual(result.connections.map(\.id), ["vpn-0123456789abcdef0", "vpn-0999999999999999a"])
        XCTAssertEqual(result.connections.map { $0.tunnels.map(\.number) }, [[1, 2], [1, 2]])
        XCTAssertEqual(result.connections[1].tunnels[0].line, position(of: "IPSec Tunnel #1", in: text, occurrence: 2)?.line)
    }
}
