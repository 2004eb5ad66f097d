import Foundation
import XCTest

/// `cgwfw check` as an operator runs it: the built binary, its stdout, stderr and exit status.
final class CheckCLITests: XCTestCase {
    private var example: String { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt").path }
    private func inputFixture(_ name: String) -> String {
        CLIRunner.repoRoot.appendingPathComponent("Tests/CGWFWInputTests/Fixtures/\(name)").path
    }

    private func requireCorpus() throws -> URL {
        guard let corpus = CLIRunner.corpusDirectory else {
            print("skipping: ../shared/corpus/aws-configs is not present next to the repository")
            throw XCTSkip("../shared/corpus/aws-configs is not present next to the repository")
        }
        return corpus
    }

    func testReviewOfTheBundledExample() throws {
        let run = try CLIRunner.run(["check", example])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "")
        for expected in ["vpn-0a1b2c3d4e5f67890", "tunnel 1", "tunnel 2", "198.51.100.7", "192.0.2.10", "192.0.2.20",
                         "TCP MSS", "1379", "clear DF", "NAT-T", "IKE", "ikev1",
                         "tunnel interface MTU 1436", "fragment before encryption", "dead peer detection",
                         "BGP neighbour 169.254.10.1"] {
            XCTAssertTrue(run.stdout.contains(expected), "missing \(expected) in:\n\(run.stdout)")
        }
    }

    /// The key names of `check --json` are a contract (issue 2); nulls are present, not omitted.
    func testJSONShape() throws {
        let run = try CLIRunner.run(["check", "--json", example, inputFixture("xml-tgw-static.xml")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        XCTAssertTrue(Set(["connections", "skipped", "diagnostics"]).isSubset(of: root.keys))
        let connections = try XCTUnwrap(root["connections"] as? [[String: Any]])
        XCTAssertEqual(connections.count, 2)
        let connectionKeys: Set = ["id", "source", "format", "customer_gateway_id", "gateway_id", "tunnels"]
        let tunnelKeys: Set = ["number", "customer_gateway_address", "vpn_gateway_address", "inside_cidr", "tcp_mss",
                               "clear_df", "mtu", "ike_version", "line"]
        for connection in connections {
            XCTAssertTrue(connectionKeys.isSubset(of: connection.keys), "\(connection.keys)")
            for tunnel in try XCTUnwrap(connection["tunnels"] as? [[String: Any]]) {
                XCTAssertTrue(tunnelKeys.isSubset(of: tunnel.keys), "\(tunnel.keys)")
            }
        }
        let first = connections[0]
        XCTAssertEqual(first["id"] as? String, "vpn-0a1b2c3d4e5f67890")
        XCTAssertEqual(first["source"] as? String, example)
        XCTAssertEqual(first["format"] as? String, "generic")
        XCTAssertEqual(first["gateway_id"] as? String, "vgw-0a1b2c3d4e5f67890")
        let tunnel = try XCTUnwrap((first["tunnels"] as? [[String: Any]])?.first)
        XCTAssertEqual(tunnel["number"] as? Int, 1)
        XCTAssertEqual(tunnel["customer_gateway_address"] as? String, "198.51.100.7")
        XCTAssertEqual(tunnel["vpn_gateway_address"] as? String, "192.0.2.10")
        XCTAssertEqual(tunnel["inside_cidr"] as? String, "169.254.10.2/30")
        XCTAssertEqual(tunnel["tcp_mss"] as? Int, 1379)
        XCTAssertEqual(tunnel["clear_df"] as? Bool, true)
        XCTAssertEqual(tunnel["mtu"] as? Int, 1436)
        XCTAssertEqual(tunnel["ike_version"] as? String, "ikev1")
        let exampleLines = try String(contentsOfFile: example, encoding: .utf8).components(separatedBy: "\n")
        let line = try XCTUnwrap(tunnel["line"] as? Int)
        XCTAssertTrue(exampleLines[line - 1].contains("IPSec Tunnel #1"))

        let tgw = connections[1]
        XCTAssertEqual(tgw["format"] as? String, "xml")
        XCTAssertTrue(tgw["gateway_id"] is NSNull, "a Transit Gateway download without id gives null")
        let tgwTunnel = try XCTUnwrap((tgw["tunnels"] as? [[String: Any]])?.first)
        XCTAssertTrue(tgwTunnel["mtu"] is NSNull)
        XCTAssertTrue(tgwTunnel["ike_version"] is NSNull)
    }

    func testErrorsExit65WithNothingOnStdoutAndLocatedDiagnostics() throws {
        let placeholder = inputFixture("generic-placeholder.txt")
        let run = try CLIRunner.run(["check", placeholder])
        XCTAssertEqual(run.status, 65)
        XCTAssertEqual(run.stdout, "")
        let lines = try String(contentsOfFile: placeholder, encoding: .utf8).components(separatedBy: "\n")
        let lineNumber = try XCTUnwrap(lines.firstIndex { $0.contains("YOUR_UPLINK_ADDRESS") }) + 1
        let column = try XCTUnwrap(lines[lineNumber - 1].range(of: "YOUR_UPLINK_ADDRESS")).lowerBound.utf16Offset(in: lines[lineNumber - 1]) + 1
        XCTAssertTrue(run.stderr.contains("\(placeholder):\(lineNumber):\(column): error: "), run.stderr)
        XCTAssertTrue(run.stderr.contains("'YOUR_UPLINK_ADDRESS'"), run.stderr)

        let json = try CLIRunner.run(["check", "--json", placeholder])
        XCTAssertEqual(json.status, 65)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((root["connections"] as? [Any])?.count, 0)
        let diagnostics = try XCTUnwrap(root["diagnostics"] as? [[String: Any]])
        let error = try XCTUnwrap(diagnostics.first { $0["severity"] as? String == "error" })
        XCTAssertEqual(error["file"] as? String, placeholder)
        XCTAssertEqual(error["line"] as? Int, lineNumber)
        XCTAssertEqual(error["column"] as? Int, column)
    }

    func testLocalAddressMakesThePlaceholderExampleParse() throws {
        let run = try CLIRunner.run(["check", "--local-address", "203.0.113.9", inputFixture("generic-placeholder.txt")])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("203.0.113.9"))
        XCTAssertTrue(run.stderr.contains("note: customer gateway outside address (not an IP address, not repeated here) replaced by --local-address 203.0.113.9"),
                      run.stderr)
        XCTAssertTrue(run.stderr.contains("merged"), "both tunnels name one AWS address: \(run.stderr)")
    }

    func testExitCodesForUnreadableInputAndBadFlags() throws {
        let missing = try CLIRunner.run(["check", "/nonexistent/vpn.txt"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/vpn.txt"), missing.stderr)
        XCTAssertEqual(try CLIRunner.run(["check"]).status, 64)
        XCTAssertEqual(try CLIRunner.run(["check", "--bogus", example]).status, 64)
        XCTAssertEqual(try CLIRunner.run(["check", "--input-format", "cisco", example]).status, 64)
        XCTAssertEqual(try CLIRunner.run(["check", "--local-address", "YOUR_UPLINK_ADDRESS", example]).status, 64)
    }

    func testStandardInputAndFormatOverride() throws {
        let xml = try Data(contentsOf: URL(fileURLWithPath: inputFixture("xml-basic.xml")))
        let run = try CLIRunner.run(["check", "-"], stdin: xml)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("<stdin>, xml"), run.stdout)
        let forced = try CLIRunner.run(["check", "--input-format", "vyos", "-"], stdin: xml)
        XCTAssertEqual(forced.status, 65)
        // A FortiGate GUI-steps file mentions "VPN-->IPSec" like pfSense's: detected as FortiGate, and each
        // vendor has its own --input-format value.
        let gui = inputFixture("fortigate-gui.txt")
        let detected = try CLIRunner.run(["check", gui])
        XCTAssertEqual(detected.status, 0, detected.stderr)
        XCTAssertTrue(detected.stdout.contains("fortigate-gui.txt, fortigate)"), detected.stdout)
        XCTAssertEqual(try CLIRunner.run(["check", "--input-format", "fortigate", gui]).status, 0)
        XCTAssertEqual(try CLIRunner.run(["check", "--input-format", "pfsense", gui]).status, 65)
        let help = try CLIRunner.run(["check", "--help"])
        for format in ["cisco-ios", "cisco-asa", "junos", "panos", "fortigate", "pfsense"] {
            XCTAssertTrue(help.stdout.contains(format), "--input-format \(format) not in the help")
        }
    }

    func testDirectoryArgumentReadsEveryFileInIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-cli-dir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(atPath: example, toPath: directory.appendingPathComponent("a.txt").path)
        try FileManager.default.copyItem(atPath: inputFixture("xml-tgw-static.xml"), toPath: directory.appendingPathComponent("b.xml").path)
        let run = try CLIRunner.run(["check", "--json", directory.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let sources = (root["connections"] as? [[String: Any]])?.compactMap { $0["source"] as? String }
        XCTAssertEqual(sources, [directory.appendingPathComponent("a.txt").path, directory.appendingPathComponent("b.xml").path])
    }

    func testHelpShowsExamples() throws {
        let run = try CLIRunner.run(["check", "--help"])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("Examples:"), run.stdout)
        XCTAssertTrue(run.stdout.contains("cgwfw check --json"), run.stdout)
        XCTAssertTrue(run.stdout.contains("--local-address"), run.stdout)
    }

    func testHostileInputEndsQuicklyWithADiagnostic() throws {
        let inputs: [(String, Data)] = [
            ("empty", Data()),
            ("garbage", Data((0..<65_536).map { _ in UInt8.random(in: 0...255) })),
            ("8 MB line", Data(repeating: UInt8(ascii: "A"), count: 8 << 20)),
            ("nested XML", Data(String(repeating: "<a>", count: 200_000).utf8)),
        ]
        for (label, data) in inputs {
            let run = try CLIRunner.run(["check", "-"], stdin: data, timeout: 30)
            XCTAssertEqual(run.status, 65, "\(label): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("<stdin>:1"), "\(label): \(run.stderr)")
            XCTAssertLessThan(run.seconds, 10, label)
        }
    }

    /// Every corpus file through the binary: exit 0 for the ones that parse, 65 for placeholders, fragments
    /// and redactions (the expectations per file live in CGWFWInputTests.CorpusTests).
    func testCorpusExitCodes() throws {
        let corpus = try requireCorpus()
        // Documentation examples (placeholders), the XML fragment and the redacted download.
        let rejected: Set = ["generic-awsdocnag-1-bgp.txt", "generic-awsdocnag-2-static.txt",
                             "xml-tfprovider-issue17998-fragment.xml", "ciscoios-awsdocnag-1-bgp.txt",
                             "ciscoasa-awsdocnag-1-static.txt", "junipersrx-awsdocnag-1-bgp.txt",
                             "fortinet-awsdocnag-1-bgp.txt", "paloalto-awsdocnag-1-bgp.txt", "pfsense-awsdocnag-1-static.txt",
                             "generic-ahmadsoud-1-tgw-redacted.txt"]
        for name in try corpusFiles(corpus) {
            let run = try CLIRunner.run(["check", corpus.appendingPathComponent(name).path])
            XCTAssertEqual(run.status, rejected.contains(name) ? 65 : 0, "\(name): \(run.stderr)")
            if rejected.contains(name) { XCTAssertEqual(run.stdout, "", name) }
        }
        // Only the customer gateway address is a placeholder in these: --local-address completes each.
        let placeholders = ["generic-awsdocnag-1-bgp.txt", "generic-awsdocnag-2-static.txt", "ciscoios-awsdocnag-1-bgp.txt",
                            "junipersrx-awsdocnag-1-bgp.txt", "fortinet-awsdocnag-1-bgp.txt", "paloalto-awsdocnag-1-bgp.txt"]
            .map { corpus.appendingPathComponent($0).path }
        for path in placeholders {
            let run = try CLIRunner.run(["check", "--local-address", "203.0.113.9", path])
            XCTAssertEqual(run.status, 0, "\(path): \(run.stderr)")
        }
        // AWS's two Generic documentation examples share one made-up VPN id with different tunnels: together
        // they are the stale-copy mistake (issue 14).
        let both = try CLIRunner.run(["check", "--local-address", "203.0.113.9"] + placeholders.prefix(2))
        XCTAssertEqual(both.status, 65, both.stderr)
        XCTAssertTrue(both.stderr.contains("vpn-44a8938f is also in \(placeholders[0])"), both.stderr)
    }

    /// No pre-shared key of the corpus appears in any output of check (text, JSON, diagnostics), with or
    /// without --local-address, file by file and all files at once. The keys are found here with this
    /// test's own patterns, independent of the parsers.
    func testNoPreSharedKeyEverAppearsInOutput() throws {
        let corpus = try requireCorpus()
        let files = try corpusFiles(corpus)
        var keys: Set<String> = []
        let patterns = [
            #"Pre-Shared Key\s*:[ \t]*(\S+)"#,                 // Generic text, pfSense steps
            #"<pre_shared_key>([^<]+)</pre_shared_key>"#,       // XML, and the XML inside describe JSON
            #""PreSharedKey"\s*:\s*"([^"]+)""#,                 // describe JSON TunnelOptions
            #"PSK\s+"([^"]+)""#,                                // ipsec.secrets lines
            #"pre-shared-secret\s+'([^']+)'"#,                  // VyOS
            #"pre-shared-key\s+(?:address\s+\S+\s+key\s+|ascii-text\s+|key\s+)?(\S+)"#,  // Cisco, Juniper, Palo Alto
            #"set psksecret\s+(\S+)"#,                          // Fortinet
            #"ikev1 pre-shared-key\s+(\S+)"#,                   // Cisco ASA
        ]
        for name in files {
            let text = String(decoding: try Data(contentsOf: corpus.appendingPathComponent(name)), as: UTF8.self)
                .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\n", with: "\n")
            for pattern in patterns {
                let regex = try NSRegularExpression(pattern: pattern)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    guard let range = Range(match.range(at: 1), in: text) else { continue }
                    let key = String(text[range])
                    // Short words ("key", "address") are labels, not secrets; real keys here are 8+ characters.
                    // "<REDACTED_FOR_SECURITY>" is what an uploader put where the key was: not a secret.
                    if key.count >= 8 && !["pre-shared-keys", "address"].contains(key) && !key.hasPrefix("<") {
                        keys.insert(key)
                    }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(keys.count, 20, "the corpus holds at least 20 distinct keys; found \(keys.count)")

        var outputs: [String] = []
        var parsable: [String] = []
        let paths = files.map { corpus.appendingPathComponent($0).path }
        for arguments in [["check"], ["check", "--json"], ["check", "--local-address", "203.0.113.9"],
                          ["check", "--json", "--local-address", "203.0.113.9"]] {
            for path in paths {
                let run = try CLIRunner.run(arguments + [path])
                outputs.append(run.stdout + run.stderr)
                if arguments == ["check"] && run.status == 0 { parsable.append(path) }
            }
        }
        XCTAssertGreaterThan(parsable.count, 15)
        let all = try CLIRunner.run(["check", "--json"] + parsable)
        XCTAssertEqual(all.status, 0, all.stderr)
        outputs.append(all.stdout + all.stderr)
        for key in keys {
            for output in outputs where output.contains(key) {
                XCTFail("a pre-shared key (\(key.prefix(3))…) appears in check output")
            }
        }
    }

    private func corpusFiles(_ corpus: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0 != "SOURCES.md" }.sorted()
    }
}
