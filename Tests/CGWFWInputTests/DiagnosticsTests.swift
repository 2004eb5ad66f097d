import CGWFWModel
import XCTest
@testable import CGWFWInput

/// One test per diagnostic the input stage emits: severity, file, line, column and the offending text.
final class DiagnosticsTests: XCTestCase {
    private let two = ["198.51.100.7", "198.51.100.7"]
    private let aws = ["192.0.2.10", "192.0.2.20"]

    private func assertSingleError(_ text: String, offending: String, occurrence: Int = 1, contains fragment: String,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let result = loadText(text, name: "case.txt")
        let error = try XCTUnwrap(result.diagnostics.errors.first, "no error for \(offending)", file: file, line: line)
        let expected = try XCTUnwrap(position(of: offending, in: text, occurrence: occurrence), file: file, line: line)
        XCTAssertEqual(error.file, "case.txt", file: file, line: line)
        XCTAssertEqual(error.line, expected.line, file: file, line: line)
        XCTAssertEqual(error.column, expected.column, file: file, line: line)
        XCTAssertTrue(error.message.contains("'\(offending)'"), error.message, file: file, line: line)
        XCTAssertTrue(error.message.contains(fragment), error.message, file: file, line: line)
    }

    func testPlaceholderCustomerGatewayAddress() throws {
        let text = genericText(customerGateway: ["YOUR_UPLINK_ADDRESS", "YOUR_UPLINK_ADDRESS"], aws: aws)
        try assertSingleError(text, offending: "YOUR_UPLINK_ADDRESS", contains: "is not an IP address")
        XCTAssertEqual(loadText(text).diagnostics.errors.count, 2, "one per tunnel")
        XCTAssertTrue(loadText(text).connections.isEmpty, "nothing is produced from a config with errors")
    }

    func testOutOfRangeOctets() throws {
        try assertSingleError(genericText(customerGateway: two, aws: ["999.12.1.300", "192.0.2.20"]),
                              offending: "999.12.1.300", contains: "AWS outside address")
    }

    func testUnusableAddresses() throws {
        let cases = [("0.0.0.0", "unspecified"), ("224.0.0.5", "multicast"), ("127.0.0.1", "loopback"),
                     ("169.254.3.4", "link-local"), ("::1", "loopback"), ("fe80::1", "link-local"), ("ff02::1", "multicast")]
        for (address, reason) in cases {
            let isV6 = address.contains(":")
            let text = genericText(customerGateway: isV6 ? ["2001:db8::7", "2001:db8::7"] : two,
                                   aws: [address, isV6 ? "2001:db8:1::20" : "192.0.2.20"])
            try assertSingleError(text, offending: address, occurrence: 1, contains: reason)
        }
    }

    func testMixedFamiliesAreAnError() {
        let result = loadText(genericText(customerGateway: two, aws: ["2001:db8::10", "192.0.2.20"]))
        XCTAssertTrue(result.errorMessages.contains { $0.contains("different families") }, "\(result.errorMessages)")
    }

    func testBadMSS() throws {
        let text = genericText(customerGateway: two, aws: aws, mss: "lots bytes")
        try assertSingleError(text, offending: "lots bytes", contains: "TCP MSS")
    }

    func testFewerThanTwoTunnelsIsAWarning() throws {
        let text = genericText(customerGateway: ["198.51.100.7"], aws: ["192.0.2.10"])
        let result = loadText(text)
        XCTAssertFalse(result.diagnostics.hasErrors)
        let warning = try XCTUnwrap(result.diagnostics.warnings.first)
        XCTAssertTrue(warning.message.contains("both tunnels"), warning.message)
        XCTAssertEqual(warning.line, 1)
        XCTAssertEqual(result.tunnels.count, 1)
    }

    func testPrivateOutsideAddressIsANoteNotAnError() throws {
        let result = loadText(genericText(customerGateway: ["10.20.30.40", "10.20.30.40"], aws: aws))
        XCTAssertFalse(result.diagnostics.hasErrors)
        XCTAssertEqual(result.diagnostics(.note).filter { $0.message.contains("private range") }.count, 2)
        XCTAssertEqual(result.tunnels.count, 2)
    }

    func testLocalAddressReplacesPlaceholderAndIsReported() throws {
        let text = genericText(customerGateway: ["YOUR_UPLINK_ADDRESS", "YOUR_UPLINK_ADDRESS"], aws: aws)
        let result = loadText(text, localAddress: "203.0.113.9")
        XCTAssertFalse(result.diagnostics.hasErrors, "\(result.diagnostics.all)")
        XCTAssertEqual(result.tunnels.map(\.customerGatewayAddress), [IPAddress("203.0.113.9")!, IPAddress("203.0.113.9")!])
        XCTAssertEqual(result.tunnels.map(\.configCustomerGatewayAddress), ["YOUR_UPLINK_ADDRESS", "YOUR_UPLINK_ADDRESS"])
        let note = try XCTUnwrap(result.diagnostics(.note).first { $0.message.contains("--local-address") })
        // The field's text is not an address, so it is not repeated (it might be a pasted key).
        XCTAssertFalse(note.message.contains("YOUR_UPLINK_ADDRESS"), note.message)
        XCTAssertTrue(note.message.contains("not an IP address, not repeated here") && note.message.contains("203.0.113.9"),
                      note.message)
        XCTAssertEqual(note.line, position(of: "YOUR_UPLINK_ADDRESS", in: text)?.line)
    }

    func testLocalAddressThatCannotBeAnEndpoint() {
        let result = loadText(genericText(customerGateway: two, aws: aws), localAddress: "127.0.0.1")
        XCTAssertTrue(result.errorMessages.contains { $0.contains("--local-address 127.0.0.1 is loopback") })
    }

    func testDuplicateTunnelsAreMergedWithANote() throws {
        let text = genericText(customerGateway: two, aws: ["192.0.2.10", "192.0.2.10"])
        let result = loadText(text)
        XCTAssertFalse(result.diagnostics.hasErrors)
        XCTAssertEqual(result.tunnels.map(\.number), [1])
        let note = try XCTUnwrap(result.diagnostics(.note).first { $0.message.contains("merged") })
        XCTAssertEqual(note.line, position(of: "IPSec Tunnel #2", in: text)?.line)
        XCTAssertTrue(result.diagnostics.warnings.isEmpty, "the config has both tunnels; merging is not a missing tunnel")
    }

    func testSameConnectionTwiceIsMergedAcrossFiles() {
        let text = Array(genericText(customerGateway: two, aws: aws).utf8)
        let result = InputLoader.load(contents: [("a.txt", text), ("b.txt", text)])
        XCTAssertEqual(result.connections.count, 1)
        XCTAssertEqual(result.diagnostics(.note).filter { $0.file == "b.txt" && $0.message.contains("merged") }.count, 2)
    }

    func testSeveralConnectionsOnOneGatewayAreNormal() {
        let first = Array(genericText(customerGateway: two, aws: aws).utf8)
        let second = Array(genericText(customerGateway: two, aws: ["192.0.2.30", "192.0.2.40"], id: "vpn-0fedcba9876543210").utf8)
        let result = InputLoader.load(contents: [("a.txt", first), ("b.txt", second)])
        XCTAssertEqual(result.diagnostics.all, [])
        XCTAssertEqual(result.tunnels.count, 4)
    }

    func testTruncatedGenericFile() throws {
        let text = genericText(customerGateway: two, aws: aws)
        let cut = String(text[..<text.range(of: "Outside IP Addresses:")!.lowerBound])
        let result = loadText(cut)
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
        XCTAssertEqual(error.line, position(of: "IPSec Tunnel #1", in: cut)?.line)
    }

    func testHeaderWithoutTunnels() throws {
        let result = loadText("Amazon Web Services\nVirtual Private Cloud\n\nVPN Connection Configuration\n=====\n")
        XCTAssertTrue(result.errorMessages.contains { $0.contains("no IPsec tunnel found") }, "\(result.errorMessages)")
    }

    func testUnknownFormatEmptyAndBinary() {
        XCTAssertTrue(loadText("hello world\nnothing to see\n").errorMessages.first?.contains("not an AWS VPN configuration") == true)
        XCTAssertTrue(loadText("").errorMessages.first?.contains("empty input") == true)
        XCTAssertTrue(loadText(" \n\t\r\n").errorMessages.first?.contains("empty input") == true)
        XCTAssertTrue(loadBytes([0x7F, 0x45, 0x4C, 0x46, 0, 0, 1]).errorMessages.first?.contains("binary") == true)
        let unknown = loadText("hello", name: "x.txt").diagnostics.errors.first
        XCTAssertEqual(unknown?.file, "x.txt")
        XCTAssertEqual(unknown?.line, 1)
    }

    func testUnreadableFileThrows() {
        XCTAssertThrowsError(try InputLoader.load(paths: ["/nonexistent/cgwfw-test"])) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/cgwfw-test"))
        }
    }

    func testOffendingTextIsShortenedInMessages() throws {
        let long = String(repeating: "X", count: 500)
        let result = loadText(genericText(customerGateway: [long, long], aws: aws))
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertLessThan(error.message.count, 250, error.message)
    }
}

extension DiagnosticsTests {
    /// A download cut in the middle of the second AWS address ("192.0.2.2" of "192.0.2.20") must not yield
    /// a tunnel to the wrong endpoint.
    func testGenericFileCutInsideAnAddress() throws {
        let text = genericText(customerGateway: two, aws: aws)
        let cut = String(text[..<text.range(of: "192.0.2.20")!.upperBound].dropLast())
        let result = loadText(cut)
        let error = try XCTUnwrap(result.diagnostics.errors.first)
        XCTAssertTrue(error.message.contains("truncated"), error.message)
        XCTAssertEqual(error.line, cut.components(separatedBy: "\n").count)
    }
}

extension DiagnosticsTests {
    func testDirectoryArgumentLoadsItsVisibleFilesInOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try genericText(customerGateway: two, aws: ["192.0.2.30", "192.0.2.40"], id: "vpn-0fedcba9876543210")
            .write(to: directory.appendingPathComponent("b.txt"), atomically: true, encoding: .utf8)
        try genericText(customerGateway: two, aws: aws)
            .write(to: directory.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        try "not a config".write(to: directory.appendingPathComponent(".hidden"), atomically: true, encoding: .utf8)
        let result = try InputLoader.load(paths: [directory.path])
        XCTAssertEqual(result.diagnostics.all.map(\.message), [
            "skipped 1 editor or package-manager leftover(s), not read: .hidden",
            "skipped subdirectories (not read recursively): sub/",
        ])
        XCTAssertEqual(result.connections.map { URL(fileURLWithPath: $0.source).lastPathComponent }, ["a.txt", "b.txt"])
    }
}

extension DiagnosticsTests {
    /// An ipsec.conf cut inside the last `right=` value ("192.0.2.2" of "192.0.2.20") is flagged.
    func testAddressOnAnUnterminatedLastLineIsFlagged() throws {
        let text = "conn Tunnel1\n\tleft=198.51.100.7\n\tright=192.0.2.10\n\nconn Tunnel2\n\tleft=198.51.100.7\n\tright=192.0.2.2"
        let result = loadText(text, name: "cut.conf")
        let warning = try XCTUnwrap(result.diagnostics.warnings.first { $0.message.contains("cut short") })
        XCTAssertEqual(warning.line, 7)
        XCTAssertEqual(warning.column, position(of: "192.0.2.2", in: text)?.column)
        XCTAssertTrue(warning.message.contains("'192.0.2.2'"), warning.message)
        XCTAssertTrue(loadText(text + "\n").diagnostics.warnings.isEmpty)
    }
}
