import XCTest
import Foundation
import CGWFWModel
@testable import CGWFWCompiler

/// iptables / ip6tables output through `*-restore --test` and real `*-restore --noflush` loads in a throwaway
/// namespace, with both the nft and the legacy variants, next to a foreign chain that must stay untouched.
final class IptablesBackendTests: XCTestCase {
    struct Saved {
        var afterFirstReload: String
        var afterSecondReload: String
        var foreignBefore: [String]
        var foreignAfter: [String]
        var before: String
        var afterRemoval: String
        var afterSecondRemoval: String
    }

    /// `iptables-save` without counters and comment lines, so two saves of the same rules compare equal.
    static func normalised(_ save: String) -> String {
        save.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.hasPrefix(":") ? String($0.split(separator: " ").prefix(2).joined(separator: " ")) : String($0) }
            .joined(separator: "\n")
    }

    /// The load command a file's header documents, for `variant` and `path`.
    static func documentedCommand(_ text: String, command: String, variant: String, path: String) throws -> String {
        let line = try XCTUnwrap(text.split(separator: "\n").first { $0.hasPrefix("#   \(command)-save ") }, text)
        return String(line.dropFirst(4)).replacingOccurrences(of: "\(command)-save", with: "\(command)-\(variant)-save")
            .replacingOccurrences(of: "\(command)-restore", with: "\(command)-\(variant)-restore")
            .replacingOccurrences(of: " FILE ", with: " \(path) ")
    }

    /// On a host with someone else's rules: the documented command with --test and for real on the fresh host,
    /// twice more (reloads), then the removal file twice, each through its own documented command.
    func load(_ text: String, removal: String, command: String, variant: String,
              file: StaticString = #filePath, line: UInt = #line) throws -> Saved {
        try XCTSkipUnless(isRoot(), "needs root for a network namespace and \(command)-\(variant)-restore (uid \(geteuid()))")
        let save = "\(command)-\(variant)-save", tool = "\(command)-\(variant)"
        try XCTSkipUnless(shell("command -v \(command)-\(variant)-restore").status == 0, "\(command)-\(variant)-restore is not installed")
        let path = try temporaryFile(text, suffix: ".rules"), removalPath = try temporaryFile(removal, suffix: ".rules")
        let load = try Self.documentedCommand(text, command: command, variant: variant, path: path)
        let remove = try Self.documentedCommand(removal, command: command, variant: variant, path: removalPath)
        let marker = "----cgwfw-marker----"
        let script = try temporaryFile("""
            set -e
            \(tool) -N FOREIGN; \(tool) -A FOREIGN -p tcp --dport 22 -j ACCEPT; \(tool) -A INPUT -j FOREIGN
            \(tool) -t mangle -A FORWARD -p tcp --dport 80 -j MARK --set-mark 7
            \(save) | grep -v "^#"; echo \(marker)
            \(load.replacingOccurrences(of: "-restore --noflush", with: "-restore --noflush --test"))
            \(save) | grep -q CGWFW && { echo "--test changed the rules"; exit 8; }
            \(load)
            \(load); \(save); echo \(marker)
            \(load); \(save); echo \(marker)
            \(remove); \(save); echo \(marker)
            \(remove); \(save)
            """, suffix: ".sh")
        defer { for p in [path, removalPath, script] { try? FileManager.default.removeItem(atPath: p) } }
        let result = shell("unshare -n sh \(script)")
        XCTAssertEqual(result.status, 0, result.output, file: file, line: line)
        let parts = result.output.components(separatedBy: marker + "\n")
        guard parts.count == 5 else { throw XCTSkip("unexpected output: \(result.output)") }
        func foreign(_ save: String) -> [String] {
            save.split(separator: "\n").map(String.init).filter { $0.contains("FOREIGN") || $0.contains("MARK") || $0.hasPrefix("*") }
                .filter { !$0.contains("CGWFW") }
        }
        return Saved(afterFirstReload: parts[1], afterSecondReload: parts[2],
                     foreignBefore: foreign(parts[0]), foreignAfter: foreign(parts[2]),
                     before: parts[0], afterRemoval: parts[3], afterSecondRemoval: parts[4])
    }

    /// One `-A` line as option → value (`-s`, `-d`, `-p`, `--sport`, `--dport`, `-j`, `-i`, `-o`).
    static func rules(in save: String, chain: String) -> [[String: String]] {
        save.split(separator: "\n").filter { $0.hasPrefix("-A \(chain) ") }.map { line in
            var words = line.split(separator: " ").map(String.init)
            var options: [String: String] = [:]
            var index = 2
            while index < words.count {
                let word = words[index]
                if word == "--comment" {  // quoted text: skip to the closing quote
                    index += 1
                    while index < words.count && !words[index].hasSuffix("\"") { index += 1 }
                } else if word.hasPrefix("-"), index + 1 < words.count {
                    options[word] = words[index + 1]
                    index += 1
                }
                index += 1
            }
            words.removeAll()
            return options
        }
    }

    func assertAWSTable(_ save: String, connections: [Connection], family: IPAddress.Family, strict: Bool,
                        natTraversal: (Connection) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let bits = family == .ipv4 ? "/32" : "/128"
        let input = Self.rules(in: save, chain: "CGWFW-INPUT"), output = Self.rules(in: save, chain: "CGWFW-OUTPUT")
        func has(_ rules: [[String: String]], _ source: String, _ destination: String, _ traffic: TunnelTraffic, _ target: String) -> Bool {
            rules.contains { rule in
                rule["-s"] == source && rule["-d"] == destination && rule["-j"] == target
                    && rule["-p"] == (traffic == .esp ? "esp" : "udp")
                    && rule["--sport"] == traffic.udpPort.map(String.init) && rule["--dport"] == traffic.udpPort.map(String.init)
            }
        }
        var tunnels = 0
        for connection in connections {
            for tunnel in connection.tunnels where tunnel.customerGatewayAddress.family == family {
                tunnels += 1
                let c = tunnel.customerGatewayAddress.description + bits, v = tunnel.vpnGatewayAddress.description + bits
                for traffic in [TunnelTraffic.ike, .esp] {
                    XCTAssertTrue(has(input, v, c, traffic, "ACCEPT"), "inbound \(traffic) \(v) → \(c)", file: file, line: line)
                    XCTAssertTrue(has(output, c, v, traffic, "ACCEPT"), "outbound \(traffic) \(c) → \(v)", file: file, line: line)
                }
                let natT = natTraversal(connection)
                XCTAssertEqual(has(input, v, c, .natTraversal, "ACCEPT"), natT, "NAT-T in \(v) → \(c)", file: file, line: line)
                XCTAssertEqual(has(output, c, v, .natTraversal, "ACCEPT"), natT, "NAT-T out \(c) → \(v)", file: file, line: line)
                XCTAssertEqual(input.contains { $0["-d"] == c && $0["-j"] == "DROP" && $0["-s"] == nil && $0["--dport"] == "500" },
                               strict, "strict drop of IKE to \(c)", file: file, line: line)
            }
        }
        XCTAssertEqual(tunnels, connections.flatMap(\.tunnels).filter { $0.customerGatewayAddress.family == family }.count,
                       file: file, line: line)
        XCTAssertGreaterThan(tunnels, 0, file: file, line: line)
    }

    func check(variant: String, family: IPAddress.Family, strict: Bool, connections: [Connection] = Fixtures.all,
               natTraversalMode: Profile.NATTraversal = .auto, expectedMSS: Int? = 1359,
               file: StaticString = #filePath, line: UInt = #line) throws {
        var profile = try Fixtures.profile("linux-host-iptables")
        profile.strict = strict
        profile.natTraversal = natTraversalMode
        let natTraversal: (Connection) -> Bool = { connection in
            natTraversalMode == .auto ? connection.id == "vpn-0ccc3333" : natTraversalMode == .on
        }
        let intent = IntentBuilder.build(connections: connections, profile: profile).intent
        let (text, diagnostics) = IptablesBackend.render(intent, family: family)
        XCTAssertFalse(diagnostics.hasErrors, file: file, line: line)
        let command = family == .ipv4 ? "iptables" : "ip6tables"
        let saved = try load(text, removal: IptablesBackend.renderRemoval(intent, family: family), command: command,
                             variant: variant, file: file, line: line)
        XCTAssertEqual(Self.normalised(saved.afterFirstReload), Self.normalised(saved.afterSecondReload),
                       "reload changed the rules", file: file, line: line)
        // The removal takes out exactly what the loads added, and running it again changes nothing.
        let tablesWithRules = { (save: String) in Self.normalised(save).split(separator: "\n").filter { !$0.hasPrefix("*") && $0 != "COMMIT" } }
        XCTAssertEqual(tablesWithRules(saved.afterRemoval), tablesWithRules(saved.before), "removal", file: file, line: line)
        XCTAssertEqual(Self.normalised(saved.afterSecondRemoval), Self.normalised(saved.afterRemoval), file: file, line: line)
        XCTAssertEqual(saved.foreignBefore, saved.foreignAfter, "foreign rules changed", file: file, line: line)
        let save = saved.afterSecondReload
        for (chain, jump) in [("INPUT", "CGWFW-INPUT"), ("OUTPUT", "CGWFW-OUTPUT"), ("FORWARD", "CGWFW-TUNNEL")] {
            let jumps = save.split(separator: "\n").filter { $0.hasPrefix("-A \(chain) ") && $0.hasSuffix("-j \(jump)") }
            XCTAssertEqual(jumps.count, 1, "\(chain) → \(jump) jumps: \(jumps)", file: file, line: line)
            let first = save.split(separator: "\n").first { $0.hasPrefix("-A \(chain) ") && !$0.contains("MARK") }
            XCTAssertEqual(first.map(String.init), "-A \(chain) -j \(jump)", "jump is first in \(chain)", file: file, line: line)
        }
        assertAWSTable(save, connections: connections, family: family, strict: strict, natTraversal: natTraversal,
                       file: file, line: line)
        let clamps = Self.rules(in: save, chain: "CGWFW-TUNNEL")
        XCTAssertEqual(clamps.count, 2, file: file, line: line)
        if let expectedMSS {
            XCTAssertTrue(clamps.allSatisfy { $0["-j"] == "TCPMSS" && $0["--set-mss"] == String(family == .ipv4 ? expectedMSS : expectedMSS - 20) },
                          "\(clamps)", file: file, line: line)
        }
    }

    func testIptablesNft() throws { try check(variant: "nft", family: .ipv4, strict: false) }
    func testIptablesLegacy() throws { try check(variant: "legacy", family: .ipv4, strict: false) }
    func testIp6tablesNftStrict() throws { try check(variant: "nft", family: .ipv6, strict: true) }
    func testIp6tablesLegacyStrict() throws { try check(variant: "legacy", family: .ipv6, strict: true) }
    func testIptablesLegacyStrict() throws { try check(variant: "legacy", family: .ipv4, strict: true) }

    func testDFIsAWarningAndACommentNeverSilent() throws {
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: try Fixtures.profile("linux-host-iptables")).intent
        let (text, diagnostics) = IptablesBackend.render(intent, family: .ipv4)
        XCTAssertTrue(diagnostics.warnings.contains { $0.message.contains("DF") })
        XCTAssertTrue(text.contains("# clear-df-ipv4: NOT DONE"))
        XCTAssertTrue(diagnostics.all.contains { $0.severity == .note && $0.message.contains("--target ip6tables") })
    }

    func testGatewayPlacementUsesForwardWithWANInterface() throws {
        var profile = try Fixtures.profile("linux-gateway")
        profile.wanInterface = "eth*"
        let intent = IntentBuilder.build(connections: Fixtures.twoConnectionsAndRedundantGateway, profile: profile).intent
        let (text, _) = IptablesBackend.render(intent, family: .ipv4)
        let forward = Self.rules(in: text, chain: "CGWFW-FORWARD")
        XCTAssertFalse(text.contains("*mangle"))
        XCTAssertTrue(forward.filter { $0["-j"] == "ACCEPT" && $0["-s"] == "192.0.2.10/32" }.allSatisfy { $0["-i"] == "eth+" })
        XCTAssertTrue(forward.filter { $0["-j"] == "ACCEPT" && $0["-d"] == "192.0.2.10/32" }.allSatisfy { $0["-o"] == "eth+" })
    }
}
