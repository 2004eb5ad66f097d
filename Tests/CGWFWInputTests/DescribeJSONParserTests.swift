import CGWFWModel
import XCTest
@testable import CGWFWInput

final class DescribeJSONParserTests: XCTestCase {
    func testSeveralConnectionsSkippedOnesAndTunnelOptions() throws {
        let result = try loadFixture("describe-three-connections.json")
        XCTAssertEqual(result.diagnostics.errors, [])
        XCTAssertEqual(result.connections.map(\.id), ["vpn-0aaaaaaaaaaaaaaaa", "vpn-0ffffffffffffffff"])
        XCTAssertEqual(result.connections.map(\.format), [.describeJSON, .describeJSON])
        XCTAssertEqual(result.skipped.map(\.id), ["vpn-0deleted000000000", "vpn-0noconfig00000000"])
        XCTAssertEqual(result.skipped.first?.reason, "state is deleted")
        XCTAssertTrue(result.skipped[1].reason.contains("no CustomerGatewayConfiguration"))

        let plain = result.connections[0]
        XCTAssertNil(plain.accelerated)
        XCTAssertEqual(plain.gatewayID, "vgw-0aaaaaaaaaaaaaaaa")
        XCTAssertEqual(plain.tunnels.map(\.tcpMSS), [1379, 1379])

        let accelerated = result.connections[1]
        XCTAssertEqual(accelerated.accelerated, true)
        XCTAssertEqual(accelerated.gatewayID, "tgw-0ffffffffffffffff")
        XCTAssertEqual(accelerated.tunnels.map(\.ipsecIntegrity), [["SHA2-512"], ["SHA2-256"]])
        XCTAssertEqual(accelerated.tunnels.map(\.tcpMSS), [1359, 1379], "only the SHA2-512 tunnel is lowered")
        XCTAssertEqual(accelerated.tunnels.map(\.ikeVersion), [.ikev2, nil], "two allowed versions say nothing definite")

        let text = try String(contentsOfFile: fixture("describe-three-connections.json"), encoding: .utf8)
        XCTAssertEqual(accelerated.tunnels[0].line, position(of: "\"192.0.2.50\"", in: text)?.line)
    }

    func testCreateVpnConnectionOutput() throws {
        let result = try loadFixture("create-vpn-connection.json")
        XCTAssertEqual(result.diagnostics.errors, [])
        XCTAssertEqual(result.connections.map(\.id), ["vpn-0dddddddddddddddd"])
        XCTAssertEqual(result.tunnels.map(\.tcpMSS), [1359, 1359], "SHA2-384 in the embedded XML")
    }

    func testPreSharedKeysAreNotInTheModel() throws {
        let result = try loadFixture("describe-three-connections.json")
        let encoded = String(decoding: try JSONEncoder().encode(result.connections), as: UTF8.self)
        for key in ["example.json.key.one", "example.json.key.two", "example.xml.key.one"] {
            XCTAssertFalse(encoded.contains(key))
        }
    }

    func testBrokenEmbeddedXMLPointsAtTheJSONLineAndTheXMLLine() throws {
        let text = try String(contentsOfFile: fixture("create-vpn-connection.json"), encoding: .utf8)
        let broken = text.replacingOccurrences(of: "</vpn_connection>", with: "")
        let result = loadText(broken, name: "create.json")
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertEqual(error.line, position(of: "\"CustomerGatewayConfiguration\"", in: broken)?.line)
        XCTAssertTrue(error.message.contains("of its CustomerGatewayConfiguration XML"), error.message)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
    }

    func testTruncatedJSONPointsAtItsEnd() throws {
        let text = try String(contentsOfFile: fixture("describe-three-connections.json"), encoding: .utf8)
        let cut = String(text.prefix(text.count / 2))
        let result = loadText(cut, name: "cut.json")
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertTrue(error.message.hasPrefix("invalid JSON"), error.message)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
        XCTAssertEqual(error.line, cut.components(separatedBy: "\n").count)
    }

    func testJSONWithoutConnectionsIsUnknown() {
        let result = loadText("{\"Reservations\": []}")
        XCTAssertTrue(result.errorMessages.contains { $0.contains("neither VpnConnections") }, "\(result.errorMessages)")
    }
}

extension DescribeJSONParserTests {
    /// `aws ec2 describe-vpn-connections --query VpnConnections` and `--query 'VpnConnections[0]'`.
    func testQueriedArrayAndSingleObject() throws {
        let text = try String(contentsOfFile: fixture("describe-three-connections.json"), encoding: .utf8)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let list = try XCTUnwrap(object["VpnConnections"] as? [[String: Any]])
        let arrayText = String(decoding: try JSONSerialization.data(withJSONObject: list, options: [.prettyPrinted, .sortedKeys]),
                               as: UTF8.self)
        let fromArray = loadText(arrayText, name: "array.json")
        XCTAssertEqual(fromArray.diagnostics.errors, [])
        XCTAssertEqual(fromArray.connections.map(\.id), ["vpn-0aaaaaaaaaaaaaaaa", "vpn-0ffffffffffffffff"])
        XCTAssertEqual(fromArray.skipped.count, 2)
        XCTAssertEqual(fromArray.connections[1].tunnels[0].line, position(of: "\"192.0.2.50\"", in: arrayText)?.line)

        let singleText = String(decoding: try JSONSerialization.data(withJSONObject: list[0], options: [.prettyPrinted]),
                                as: UTF8.self)
        let single = loadText(singleText, name: "one.json")
        XCTAssertEqual(single.diagnostics.errors, [])
        XCTAssertEqual(single.connections.map(\.id), ["vpn-0aaaaaaaaaaaaaaaa"])
        XCTAssertEqual(single.tunnels.count, 2)
    }
}

extension DescribeJSONParserTests {
    func testOnlySkippedConnectionsIsAWarning() throws {
        let text = #"{"VpnConnections": [{"VpnConnectionId": "vpn-0deleted000000000", "State": "deleted"}]}"#
        let result = loadText(text)
        XCTAssertFalse(result.diagnostics.hasErrors)
        XCTAssertEqual(result.skipped.map(\.reason), ["state is deleted"])
        XCTAssertEqual(result.diagnostics.warnings.map(\.message), ["no usable VPN connection in the input (1 skipped)"])
    }
}
