import XCTest
import CGWFWModel
@testable import CGWFWCompiler

final class HostAddressCheckTests: XCTestCase {
    private let host = [IPAddress("127.0.0.1")!, IPAddress("10.0.0.5")!]

    func testOneMissingAddressIsOneWarningNamingItsConnectionsAndTheHostsAddresses() {
        let connections = [
            Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "198.51.100.7", "192.0.2.10"),
                                                 Fixtures.tunnel(2, "198.51.100.7", "192.0.2.20")]),
            Fixtures.connection("vpn-0bbb2222", [Fixtures.tunnel(1, "198.51.100.7", "192.0.2.30")]),
        ]
        let warnings = HostAddressCheck.diagnostics(connections: connections, hostAddresses: host).all
        XCTAssertEqual(warnings.count, 1, "\(warnings)")
        XCTAssertEqual(warnings.first?.severity, .warning)
        let message = warnings.first?.message ?? ""
        XCTAssertTrue(message.hasPrefix("customer gateway address 198.51.100.7 (vpn-0aaa1111, vpn-0bbb2222) is on no interface"),
                      message)
        XCTAssertTrue(message.contains("(its addresses: 10.0.0.5)"), message)
        XCTAssertTrue(message.contains("--local-address auto"), message)
    }

    func testAnAddressTheHostHasIsNoWarning() {
        let connections = [Fixtures.connection("vpn-0aaa1111", [Fixtures.tunnel(1, "10.0.0.5", "192.0.2.10")])]
        XCTAssertEqual(HostAddressCheck.diagnostics(connections: connections, hostAddresses: host).all, [])
    }

    /// A directory of configs for many gateways, checked on one of them (or a generated benchmark): one
    /// warning, not one a gateway; it names the first few and counts the rest.
    func testManyMissingAddressesAreOneWarningThatCountsTheRest() {
        let connections = (0..<10_000).map { index in
            Fixtures.connection("vpn-\(index)", [Fixtures.tunnel(1, "198.18.\(index / 250).\(index % 250 + 1)", "192.0.2.10")])
        }
        let warnings = HostAddressCheck.diagnostics(connections: connections, hostAddresses: host).all
        XCTAssertEqual(warnings.count, 1, "\(warnings.count) warnings")
        let message = warnings.first?.message ?? ""
        XCTAssertTrue(message.hasPrefix("customer gateway addresses 198.18.0.1 (vpn-0), 198.18.0.2 (vpn-1), "), message)
        XCTAssertTrue(message.contains("198.18.0.6 (vpn-5) and 9994 more are on no interface of this host"), message)
        XCTAssertFalse(message.contains("198.18.0.7"), message)
        XCTAssertTrue(message.contains("rules for them match nothing"), message)
        XCTAssertLessThan(message.utf8.count, 800, message)
    }
}
