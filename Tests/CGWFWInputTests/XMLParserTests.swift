import CGWFWModel
import XCTest
@testable import CGWFWInput

final class XMLParserTests: XCTestCase {
    func testBasicDocument() throws {
        let result = try loadFixture("xml-basic.xml")
        XCTAssertEqual(result.diagnostics.all, [])
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertEqual(connection.format, .xml)
        XCTAssertEqual(connection.id, "vpn-0aaaaaaaaaaaaaaaa")
        XCTAssertEqual(connection.customerGatewayID, "cgw-0aaaaaaaaaaaaaaaa")
        XCTAssertEqual(connection.gatewayID, "vgw-0aaaaaaaaaaaaaaaa")
        XCTAssertEqual(connection.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" },
                       ["198.51.100.7 192.0.2.10", "198.51.100.7 192.0.2.20"])
        let tunnel = connection.tunnels[0]
        XCTAssertEqual(tunnel.insideCIDR, "169.254.10.2/30")
        XCTAssertEqual(tunnel.tcpMSS, 1379)
        XCTAssertTrue(tunnel.clearDF)
        XCTAssertNil(tunnel.mtu)
        XCTAssertEqual(tunnel.bgpNeighbor, "169.254.10.1")
        XCTAssertEqual(tunnel.bgpASN, "64512")
        XCTAssertEqual(tunnel.dpdIntervalSeconds, 10)
        XCTAssertEqual(tunnel.fragmentBeforeEncryption, true)
        let text = try String(contentsOfFile: fixture("xml-basic.xml"), encoding: .utf8)
        XCTAssertEqual(connection.tunnels.map(\.line),
                       [position(of: "<ipsec_tunnel>", in: text)!.line, position(of: "<ipsec_tunnel>", in: text, occurrence: 2)!.line])
    }

    func testTransitGatewayWithoutDeclarationSelfClosingIdAndNoBGP() throws {
        let result = try loadFixture("xml-tgw-static.xml")
        XCTAssertEqual(result.diagnostics.all, [])
        let connection = try XCTUnwrap(result.connections.first)
        XCTAssertNil(connection.gatewayID)
        XCTAssertEqual(connection.tunnels.map(\.bgpNeighbor), [nil, nil])
        XCTAssertEqual(connection.tunnels.map(\.vpnGatewayAddress), [IPAddress("192.0.2.30")!, IPAddress("192.0.2.40")!])
    }

    func testIPv6InsideAddressesAndOutsideAddresses() throws {
        let result = try loadFixture("xml-ipv6.xml")
        XCTAssertEqual(result.diagnostics.all, [])
        XCTAssertEqual(result.tunnels.map(\.customerGatewayAddress), [IPAddress("2001:db8:100::7")!, IPAddress("2001:db8:100::7")!])
        XCTAssertEqual(result.tunnels.first?.insideCIDR, "169.254.30.2/30")
    }

    func testSHA2_384IntegrityLowersMSS() throws {
        let result = try loadFixture("xml-sha2-384.xml")
        XCTAssertEqual(result.tunnels.map(\.tcpMSS), [1359, 1359])
        XCTAssertEqual(result.tunnels.map(\.configTCPMSS), [1379, 1379])
    }

    func testTruncatedDocumentNamesTheOpenElementAndLine() throws {
        let full = try String(contentsOfFile: fixture("xml-basic.xml"), encoding: .utf8)
        let cut = String(full.prefix(upTo: full.range(of: "<network_mask>")!.upperBound)) + "255.255"
        let result = loadText(cut, name: "cut.xml")
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
        XCTAssertTrue(error.message.contains("<network_mask>"), error.message)
        XCTAssertEqual(error.file, "cut.xml")
        XCTAssertEqual(error.line, cut.components(separatedBy: "\n").count)
        XCTAssertTrue(result.connections.isEmpty)
    }

    func testMismatchedEndTagIsAnErrorAtItsPosition() throws {
        let text = "<vpn_connection id=\"vpn-1\">\n  <customer_gateway_id>cgw-1</vpn_gateway_id>\n</vpn_connection>"
        let result = loadText(text, name: "bad.xml")
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertTrue(error.message.contains("</vpn_gateway_id> does not close <customer_gateway_id>"), error.message)
        XCTAssertEqual(error.line, 2)
        XCTAssertEqual(error.column, position(of: "</vpn_gateway_id>", in: text)?.column)
    }

    func testDTDIsRefused() {
        let text = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">]>\n<vpn_connection>&lol;</vpn_connection>"
        let result = loadText(text)
        XCTAssertTrue(result.errorMessages.contains { $0.contains("DTD") }, "\(result.errorMessages)")
    }

    func testOtherXMLIsNotAVPNConfiguration() {
        let result = loadText("<?xml version=\"1.0\"?><project><name>x</name></project>")
        XCTAssertTrue(result.errorMessages.contains { $0.contains("<project>") }, "\(result.errorMessages)")
    }

    func testEntitiesAndCDATAAreDecoded() throws {
        let root = try MiniXML.parse("<a x='1 &amp; 2'><b>&#49;92.0.2.1</b><c><![CDATA[<x>]]></c><!-- c --></a>")
        XCTAssertEqual(root.attributes["x"], "1 & 2")
        XCTAssertEqual(root.child("b")?.text, "192.0.2.1")
        XCTAssertEqual(root.child("c")?.text, "<x>")
    }

    func testValuePositionPointsAtTheAddress() throws {
        let text = try String(contentsOfFile: fixture("xml-basic.xml"), encoding: .utf8)
        let bad = text.replacingOccurrences(of: "<ip_address>192.0.2.20</ip_address>", with: "<ip_address>999.12.1.300</ip_address>")
        let result = loadText(bad, name: "bad.xml")
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        let expected = try XCTUnwrap(position(of: "999.12.1.300", in: bad))
        XCTAssertEqual(error.line, expected.line)
        XCTAssertEqual(error.column, expected.column)
        XCTAssertTrue(error.message.contains("'999.12.1.300'"), error.message)
    }
}

extension XMLParserTests {
    func testMinifiedSingleLineDocumentWithoutFinalNewlineIsClean() throws {
        let text = try String(contentsOfFile: fixture("xml-basic.xml"), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined()
        let result = loadText(text, name: "min.xml")
        XCTAssertEqual(result.diagnostics.all, [])
        XCTAssertEqual(result.tunnels.count, 2)
    }
}
