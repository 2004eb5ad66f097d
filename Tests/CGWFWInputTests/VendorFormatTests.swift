import CGWFWModel
import XCTest
@testable import CGWFWInput

final class VendorFormatTests: XCTestCase {
    func testStrongSwanIPsecConf() throws {
        let result = try loadFixture("strongswan-ipsec.conf")
        XCTAssertEqual(result.diagnostics.errors, [])
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertEqual(connection.format, .ipsecConf)
        XCTAssertEqual(connection.id, "vpn-0123123123123123a")
        XCTAssertEqual(connection.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" },
                       ["198.51.100.7 192.0.2.10", "198.51.100.7 192.0.2.20"])
        XCTAssertEqual(connection.tunnels.map(\.ikeVersion), [.ikev2, .ikev2])
        XCTAssertEqual(connection.tunnels.map(\.natTraversal), [true, nil])
        XCTAssertEqual(connection.tunnels.map(\.insideCIDR), ["169.254.10.2/30", nil])
        XCTAssertEqual(connection.tunnels.map(\.dpdIntervalSeconds), [10, 10])
        XCTAssertEqual(connection.tunnels.map(\.tcpMSS), [1359, 1379], "tunnel 1 proposes sha2_512")
        XCTAssertEqual(connection.tunnels.map(\.configTCPMSS), [nil, nil])
        XCTAssertTrue(result.diagnostics(.note).contains { $0.message.contains("AWS's defaults") })
        let text = try String(contentsOfFile: fixture("strongswan-ipsec.conf"), encoding: .utf8)
        XCTAssertEqual(connection.tunnels.map(\.line),
                       [position(of: "conn Tunnel1", in: text)!.line, position(of: "conn Tunnel2", in: text)!.line])
    }

    func testProposalSplitting() {
        let parsed = IPsecConfParser.proposals("aes128-sha1;modp1024,aes256-sha2_512-modp2048!")
        XCTAssertEqual(parsed.encryption, ["aes128", "aes256"])
        XCTAssertEqual(parsed.integrity, ["sha1", "sha2_512"])
    }

    func testVyOS() throws {
        let result = try loadFixture("vyos.txt")
        XCTAssertEqual(result.diagnostics.errors, [])
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertEqual(connection.format, .vyos)
        XCTAssertEqual(connection.id, "vpn-0456456456456456a")
        XCTAssertEqual(connection.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" },
                       ["198.51.100.7 192.0.2.10", "198.51.100.7 192.0.2.20"])
        XCTAssertEqual(connection.tunnels.map(\.mtu), [1436, 1436])
        XCTAssertEqual(connection.tunnels.map(\.insideCIDR), ["169.254.10.2/30", "169.254.11.2/30"])
        XCTAssertEqual(connection.tunnels.map(\.bgpNeighbor), ["169.254.10.1", "169.254.11.1"])
        XCTAssertEqual(connection.tunnels.map(\.tcpMSS), [1379, 1379])
        XCTAssertEqual(connection.tunnels.map(\.clearDF), [true, true])
        XCTAssertEqual(connection.tunnels.first?.ikeIntegrity, ["sha1"])
        XCTAssertEqual(connection.tunnels.first?.dpdIntervalSeconds, 15)
    }

    func testVyOSPlaceholderLocalAddressIsReportedAtItsColumn() throws {
        let text = try String(contentsOfFile: fixture("vyos.txt"), encoding: .utf8)
            .replacingOccurrences(of: "local-address '198.51.100.7'", with: "local-address 'YOUR_UPLINK_ADDRESS'")
        let result = loadText(text, name: "vyos.txt")
        let errors = result.diagnostics.errors
        XCTAssertEqual(errors.count, 2)
        let expected = try XCTUnwrap(position(of: "YOUR_UPLINK_ADDRESS", in: text))
        XCTAssertEqual(errors.first?.line, expected.line)
        XCTAssertEqual(errors.first?.column, expected.column)
    }

    func testFormatOverrideSkipsDetection() {
        let text = genericText(customerGateway: ["198.51.100.7", "198.51.100.7"], aws: ["192.0.2.10", "192.0.2.20"])
        XCTAssertEqual(loadText(text, format: .generic).tunnels.count, 2)
        let asVyOS = loadText(text, format: .vyos)
        XCTAssertTrue(asVyOS.errorMessages.contains { $0.contains("no IPsec tunnel found") }, "\(asVyOS.errorMessages)")
    }
}
