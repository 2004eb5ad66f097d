import CGWFWModel
import Foundation
import XCTest
@testable import CGWFWInput

/// Every file of ../shared/corpus/aws-configs against expectations written by reading each file by hand
/// (outside addresses, MSS and DF per tunnel, or the rejection and its line). The table below is the
/// review; nothing in it was produced by running the parser.
final class CorpusTests: XCTestCase {
    private struct ExpectedTunnel {
        var customerGateway: String
        var aws: String
        var mss: Int
        var clearDF: Bool = true
    }

    private enum Expectation {
        case parses(format: InputFormat, id: String?, tunnels: [ExpectedTunnel], skipped: [String] = [])
        /// Rejected with exit 65: every error line, and text each of those messages must contain.
        case rejected(lines: [Int], mentions: String)
        /// A placeholder example: rejected as is, parsed with --local-address 203.0.113.9.
        case placeholder(lines: [Int], withLocalAddress: [ExpectedTunnel])
        /// Rejected as is (every error line, text each message contains), and still rejected with
        /// --local-address 203.0.113.9 at `withLocalAddressLines` (the AWS side is unusable too).
        case refused(lines: [Int], mentions: [String], withLocalAddressLines: [Int])
    }

    private static func pair(_ customerGateway: String, _ aws: String, mss: Int = 1379) -> ExpectedTunnel {
        ExpectedTunnel(customerGateway: customerGateway, aws: aws, mss: mss)
    }

    private static let expectations: [String: Expectation] = [
        "generic-kiwonyoon-vpn-1.txt": .parses(format: .generic, id: "vpn-0e69d9ffe151c77f1", tunnels: [
            pair("3.34.214.63", "18.180.179.172"), pair("3.34.214.63", "54.150.167.38")]),
        "generic-kiwonyoon-vpn-2.txt": .parses(format: .generic, id: "vpn-08d8a884e441e5e96", tunnels: [
            pair("132.145.95.50", "52.199.177.210"), pair("132.145.95.50", "54.238.86.111")]),
        "generic-kiwonyoon-vpn-3-redacted.txt": .parses(format: .generic, id: "vpn-", tunnels: [
            pair("3.34.214.63", "18.180.179.172"), pair("3.34.214.63", "54.150.167.38")]),
        "generic-cloudneta-1-static.txt": .parses(format: .generic, id: "vpn-006dfdf3f4989c4df", tunnels: [
            pair("54.255.135.113", "13.209.231.134"), pair("54.255.135.113", "15.164.154.116")]),
        "generic-abhi1782-1-static.txt": .parses(format: .generic, id: "vpn-0dcfd4c53deb88adf", tunnels: [
            pair("98.80.93.58", "3.7.174.38"), pair("98.80.93.58", "43.205.166.101")]),
        "generic-chimezdev-1-tgw-bgp.txt": .parses(format: .generic, id: "vpn-0c6b44b27cb67a89a", tunnels: [
            pair("44.209.199.51", "75.2.40.238"), pair("44.209.199.51", "99.83.240.177")]),
        "generic-chimezdev-2-tgw-bgp-annotated.txt": .parses(format: .generic, id: "vpn-0d1d372d090725874", tunnels: [
            pair("3.90.170.14", "15.197.175.253"), pair("3.90.170.14", "99.83.145.135")]),
        "generic-bradmorgan60-1-tgw-bgp.txt": .parses(format: .generic, id: "vpn-07bf7ced2b7485f2e", tunnels: [
            pair("54.242.9.198", "13.248.160.57"), pair("54.242.9.198", "99.83.246.199")]),
        // Documentation examples: both tunnels name one AWS address (merged), MSS 1387.
        "generic-awsdocnag-1-bgp.txt": .placeholder(lines: [85, 179], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.193", mss: 1387)]),
        "generic-awsdocnag-2-static.txt": .placeholder(lines: [85, 176], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.193", mss: 1387), pair("203.0.113.9", "72.21.209.225", mss: 1387)]),
        "xml-batfish-1.xml": .parses(format: .xml, id: "vpn-ba2e34a8", tunnels: [
            pair("147.75.69.27", "52.27.166.152"), pair("147.75.69.27", "52.39.121.126")]),
        "xml-batfish-2-tgw.xml": .parses(format: .xml, id: "vpn-034885b776a3f8a80", tunnels: [
            pair("2.2.2.2", "3.130.56.250"), pair("2.2.2.2", "3.133.183.196")]),
        "xml-batfish-3-static.xml": .parses(format: .xml, id: "vpn-05044757278685fd3", tunnels: [
            pair("1.1.1.1", "3.13.210.90"), pair("1.1.1.1", "18.221.157.90")]),
        "xml-khanhdoan-tfstate-1-static.xml": .parses(format: .xml, id: "vpn-0d64f4cd41c230771", tunnels: [
            pair("52.221.255.196", "18.140.229.165"), pair("52.221.255.196", "52.220.134.92")]),
        "xml-maxyboy50-tfstate-1.xml": .parses(format: .xml, id: "vpn-0bdff1c12c40629a6", tunnels: [
            pair("20.172.166.252", "3.13.61.134"), pair("20.172.166.252", "18.189.9.142")]),
        // Cut mid-tag on its last line ("</networ").
        "xml-tfprovider-issue17998-fragment.xml": .rejected(lines: [31], mentions: "truncated"),
        "describe-batfish-1.json": .parses(format: .describeJSON, id: "vpn-ba2e34a8", tunnels: [
            pair("147.75.69.27", "52.27.166.152"), pair("147.75.69.27", "52.39.121.126")]),
        "describe-batfish-2-tgw.json": .parses(format: .describeJSON, id: "vpn-034885b776a3f8a80", tunnels: [
            pair("2.2.2.2", "3.130.56.250"), pair("2.2.2.2", "3.133.183.196")]),
        "describe-batfish-3-static.json": .parses(format: .describeJSON, id: "vpn-05044757278685fd3", tunnels: [
            pair("1.1.1.1", "3.13.210.90"), pair("1.1.1.1", "18.221.157.90")]),
        "describe-batfish-4.json": .parses(format: .describeJSON, id: "vpn-03701a53bba3c48b7", tunnels: [
            pair("1.1.1.2", "3.130.237.53"), pair("1.1.1.2", "18.217.248.9")], skipped: ["vpn-05044757278685fd3"]),
        // TunnelOptions allow SHA2-512 integrity on both tunnels: 1359 instead of the XML's 1379.
        "describe-batfish-5-tunnelopts.json": .parses(format: .describeJSON, id: "vpn-ba2e34a8", tunnels: [
            pair("147.75.69.27", "52.27.166.152", mss: 1359), pair("147.75.69.27", "52.39.121.126", mss: 1359)]),
        // Vendor downloads without MSS/DF: AWS defaults.
        "vyos-cloudneta-1-bgp.txt": .parses(format: .vyos, id: "vpn-0056e880bc3e56d15", tunnels: [
            pair("52.76.100.41", "15.164.80.217"), pair("52.76.100.41", "52.78.188.212")]),
        "openswan-nilesyndicate-1-edited.txt": .parses(format: .ipsecConf, id: "vpn-08afed484ff57399f", tunnels: [
            pair("15.237.142.196", "3.121.54.225"), pair("15.237.142.196", "3.126.23.137")]),
        // Cisco IOS: CGW = keyring/profile local-address and tunnel source, AWS = keyring peer and tunnel destination.
        "ciscoios-awsdocnag-1-bgp.txt": .placeholder(lines: [49, 201], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.225", mss: 1387), pair("203.0.113.9", "72.21.209.193", mss: 1387)]),
        "ciscoios-hamzzzz-1.txt": .parses(format: .ciscoIOS, id: "vpn-01f8cd298e81015d2", tunnels: [
            pair("96.230.78.21", "34.193.85.87"), pair("96.230.78.21", "100.50.211.87")]),
        // ASA policy-based: AWS only as placeholders (tunnel-group lines), CGW placeholder in the ACL.
        "ciscoasa-awsdocnag-1-static.txt": .refused(lines: [58, 68, 85, 86], mentions: ["is not an IP address"],
                                                    withLocalAddressLines: [58, 68]),
        // JunOS: the CGW only in the comment before each gateway (here the placeholder).
        "junipersrx-awsdocnag-1-bgp.txt": .placeholder(lines: [48, 191], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.225", mss: 1387), pair("203.0.113.9", "72.21.209.193", mss: 1387)]),
        "junipersrx-ymcajudo-1.txt": .parses(format: .junos, id: "vpn-0d74f03606718cb07", tunnels: [
            pair("211.192.205.126", "34.218.107.193"), pair("211.192.205.126", "35.166.172.209")]),
        "fortinet-awsdocnag-1-bgp.txt": .placeholder(lines: [43, 239], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.193", mss: 1387), pair("203.0.113.9", "72.21.209.225", mss: 1387)]),
        // PAN-OS: no MSS line (AWS default); the BGP block's peer-address/local-address are inside addresses.
        "paloalto-awsdocnag-1-bgp.txt": .placeholder(lines: [46, 189], withLocalAddress: [
            pair("203.0.113.9", "72.21.209.193"), pair("203.0.113.9", "72.21.209.225")]),
        "paloalto-cestebanez91-1.txt": .parses(format: .panos, id: "vpn-08d6b84c2dba31d8b", tunnels: [
            pair("168.61.145.99", "52.28.139.146"), pair("168.61.145.99", "52.28.141.91")]),
        // pfSense: no CGW address at all ("d. Interface : WAN" stands in), AWS placeholders misspelt AWS_ENPOINT_n.
        "pfsense-awsdocnag-1-static.txt": .refused(lines: [38, 39, 117, 118],
                                                   mentions: ["'AWS_ENPOINT_", "names no customer gateway outside address"],
                                                   withLocalAddressLines: [39, 118]),
        // Route-based strongSwan: conn blocks (leftid=/right=), no MSS number (--clamp-mss-to-pmtu).
        "strongswan-jrdalino-1-pskredacted.txt": .parses(format: .ipsecConf, id: "vpn-083f813b66c465acf", tunnels: [
            pair("47.89.241.197", "15.188.41.231"), pair("47.89.241.197", "15.188.104.185")]),
        "generic-shawkot-1.txt": .parses(format: .generic, id: "vpn-0c6ac1d8593e17c48", tunnels: [
            pair("195.148.124.78", "13.49.206.52"), pair("195.148.124.78", "16.16.174.156")]),
        "generic-jaron360-1-tgw.txt": .parses(format: .generic, id: "vpn-0c3a52f1bbb510c11", tunnels: [
            pair("100.26.113.87", "13.248.152.92"), pair("100.26.113.87", "166.117.193.14")]),
        // Openswan pasted into Markdown: conn bodies lost their indentation.
        "openswan-harang-1-mdreformatted.txt": .parses(format: .ipsecConf, id: "vpn-0f2260c678dc6de0c", tunnels: [
            pair("13.230.39.165", "54.180.5.191"), pair("13.230.39.165", "54.180.224.136")]),
        // Both outside addresses of both tunnels redacted: nothing to build rules from, --local-address or not.
        "generic-ahmadsoud-1-tgw-redacted.txt": .refused(lines: [93, 94, 195, 196],
                                                         mentions: ["'<REDACTED_FOR_SECURITY>' is not an IP address"],
                                                         withLocalAddressLines: [94, 196]),
    ]

    func testEveryCorpusFileMatchesItsHandWrittenExpectation() throws {
        let corpus = try requireCorpus()
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0 != "SOURCES.md" }.sorted()
        XCTAssertFalse(files.isEmpty)
        let unexpected = Set(files).subtracting(Self.expectations.keys)
        XCTAssertEqual(unexpected, [], "corpus files without a hand-written expectation: add them to the table")
        for name in files {
            guard let expectation = Self.expectations[name] else { continue }
            let path = corpus.appendingPathComponent(name).path
            let result = try InputLoader.load(paths: [path])
            switch expectation {
            case .parses(let format, let id, let tunnels, let skipped):
                XCTAssertEqual(result.diagnostics.errors, [], name)
                XCTAssertEqual(result.connections.count, 1, name)
                XCTAssertEqual(result.connections.first?.format, format, name)
                XCTAssertEqual(result.connections.first?.id, id, name)
                XCTAssertEqual(result.connections.first?.source, path, name)
                check(result.tunnels, against: tunnels, name)
                XCTAssertEqual(result.skipped.map { $0.id ?? "" }, skipped, name)
            case .rejected(let lines, let mentions):
                assertRejected(result, lines: lines, mentions: [mentions], file: path, name)
            case .placeholder(let lines, let withLocalAddress):
                assertRejected(result, lines: lines, mentions: ["'YOUR_UPLINK_ADDRESS' is not an IP address"], file: path, name)
                let replaced = try InputLoader.load(paths: [path], localAddress: IPAddress("203.0.113.9"))
                XCTAssertEqual(replaced.diagnostics.errors, [], name)
                check(replaced.tunnels, against: withLocalAddress, name)
                XCTAssertTrue(replaced.tunnels.allSatisfy { $0.configCustomerGatewayAddress == "YOUR_UPLINK_ADDRESS" }, name)
            case .refused(let lines, let mentions, let withLocalAddressLines):
                assertRejected(result, lines: lines, mentions: mentions, file: path, name)
                let replaced = try InputLoader.load(paths: [path], localAddress: IPAddress("203.0.113.9"))
                assertRejected(replaced, lines: withLocalAddressLines, mentions: mentions, file: path, name)
                for mention in mentions {
                    XCTAssertTrue(result.errorMessages.contains { $0.contains(mention) }, "\(name): no error says \(mention)")
                }
            }
        }
    }

    private func check(_ tunnels: [Tunnel], against expected: [ExpectedTunnel], _ name: String) {
        XCTAssertEqual(tunnels.map { "\($0.customerGatewayAddress) → \($0.vpnGatewayAddress)" },
                       expected.map { "\($0.customerGateway) → \($0.aws)" }, name)
        XCTAssertEqual(tunnels.map(\.tcpMSS), expected.map(\.mss), "\(name): MSS")
        XCTAssertEqual(tunnels.map(\.clearDF), expected.map(\.clearDF), "\(name): DF")
    }

    /// Rejected: exactly these error lines, each message containing one of `mentions`.
    private func assertRejected(_ result: ParseResult, lines: [Int], mentions: [String], file: String, _ name: String) {
        XCTAssertTrue(result.connections.isEmpty, name)
        // The order errors come in is the parser's business; which lines they name is the expectation.
        XCTAssertEqual(result.diagnostics.errors.map { $0.line ?? 0 }.sorted(), lines, "\(name): \(result.diagnostics.errors)")
        for error in result.diagnostics.errors {
            XCTAssertEqual(error.file, file, name)
            XCTAssertTrue(mentions.contains { error.message.contains($0) }, "\(name): \(error.message)")
        }
    }

    /// The tunnel line each format reports points at the tunnel in the file, checked by reading the line.
    func testTunnelLinesPointAtTheTunnel() throws {
        let corpus = try requireCorpus()
        let markers: [String: String] = [
            "generic-kiwonyoon-vpn-1.txt": "IPSec Tunnel #", "openswan-nilesyndicate-1-edited.txt": "conn Tunnel",
            "xml-batfish-1.xml": "<ipsec_tunnel>", "vyos-cloudneta-1-bgp.txt": "site-to-site peer",
            "ciscoios-hamzzzz-1.txt": "crypto keyring", "junipersrx-ymcajudo-1.txt": "set security ike gateway",
            "paloalto-cestebanez91-1.txt": "edit network ike gateway", "openswan-harang-1-mdreformatted.txt": "conn Tunnel",
            "strongswan-jrdalino-1-pskredacted.txt": "conn Tunnel",
        ]
        for (name, marker) in markers {
            let path = corpus.appendingPathComponent(name).path
            let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
            let result = try InputLoader.load(paths: [path])
            XCTAssertEqual(result.tunnels.count, 2, name)
            for tunnel in result.tunnels {
                XCTAssertTrue(lines[tunnel.line - 1].contains(marker), "\(name):\(tunnel.line): \(lines[tunnel.line - 1])")
            }
        }
    }
}
