import Foundation
import XCTest

/// `cgwfw diff --from/--to` and `--against` as a reviewer runs them: unprivileged (as `nobody` through
/// setpriv when the tests run as root), over a real corpus file and edited copies of it.
final class ReviewCLITests: XCTestCase {
    static let corpusFile = "generic-cloudneta-1-static.txt"
    static let oldEndpoint = "13.209.231.134"
    static let newEndpoint = "203.0.113.9"
    private var scratch: URL!
    private var namespaces: [String] = []

    override func setUpWithError() throws {
        _ = try CLIRunner.requireBinary()
        scratch = URL(fileURLWithPath: "/tmp").appendingPathComponent("cgwfw-review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        for ns in namespaces { _ = KernelNamespace.run("ip netns del \(ns)") }
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    /// The corpus file, or a skip with the reason.
    private func corpus(_ name: String = corpusFile) throws -> String {
        guard let directory = CLIRunner.corpusDirectory else {
            throw XCTSkip("no corpus at ../shared/corpus/aws-configs next to the repository")
        }
        let path = directory.appendingPathComponent(name).path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw XCTSkip("\(path) is not in the corpus") }
        return text
    }

    /// A world-readable copy in the scratch directory (nobody must read it).
    private func write(_ name: String, _ text: String) throws -> String {
        let url = scratch.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        return url.path
    }

    /// cgwfw as `nobody` when we are root (the reviewer has no privileges), else as ourselves.
    private func unprivileged(_ arguments: [String]) throws -> CLIResult {
        guard geteuid() == 0 else { return try CLIRunner.run(arguments) }
        // A copy nobody can execute from anywhere (CI clones into a 0700 directory; `diff --against` of an
        // nft -j file runs the binary again inside a user namespace).
        let copy = scratch.appendingPathComponent("cgwfw")
        if !FileManager.default.fileExists(atPath: copy.path) {
            try FileManager.default.copyItem(at: try CLIRunner.requireBinary(), to: copy)
            chmod(copy.path, 0o755)
        }
        return try CLIRunner.run(["--reuid=nobody", "--regid=nogroup", "--clear-groups", copy.path] + arguments,
                                 executable: URL(fileURLWithPath: "/usr/bin/setpriv"))
    }

    private func edited(_ text: String, _ from: String, _ to: String) -> String {
        XCTAssertTrue(text.contains(from), "the corpus file no longer contains \(from)")
        return text.replacingOccurrences(of: from, with: to)
    }

    /// Old file, edited copies, and the pre-shared keys of the corpus file (which must never be printed).
    private func cases() throws -> (old: String, edits: [String: String], keys: [String]) {
        let text = try corpus()
        let keys = text.split(separator: "\n").compactMap { line -> String? in
            guard line.contains("Pre-Shared Key"), let colon = line.lastIndex(of: ":") else { return nil }
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }.filter { $0.count > 8 }
        XCTAssertFalse(keys.isEmpty, "the corpus file has no pre-shared key to check for")
        let old = try write("old.txt", text)
        let edits = [
            "endpoint": try write("endpoint.txt", edited(text, Self.oldEndpoint, Self.newEndpoint)),
            "sha384": try write("sha384.txt", edited(text, "Authentication Algorithm : sha1", "Authentication Algorithm : sha2-384")),
            "natt": try write("natt.txt", edited(text, "  - Protocol                 : esp\n",
                                                 "  - Protocol                 : esp\n  - NAT Traversal            : enabled\n")),
            "same": try write("same.txt", text),
        ]
        return (old, edits, keys)
    }

    func testOfflineDiffSaysWhatChangesInMeaningAndExitsLikeDiff() throws {
        let (old, edits, keys) = try cases()
        let second = try write("second.txt", try corpus("generic-shawkot-1.txt"))
        let expectations: [(String, [String], [String], Int32)] = [
            ("same", [old], ["no change in meaning (1 → 1 connections, 2 → 2 tunnels); nftables rules identical"], 0),
            ("endpoint", [old], ["vpn-006dfdf3f4989c4df\n  tunnel 1: AWS endpoint replaced: \(Self.oldEndpoint) → \(Self.newEndpoint)",
                                 "-\t\t\t54.255.135.113 . \(Self.oldEndpoint) comment \"vpn-006dfdf3f4989c4df tunnel 1\"",
                                 "+\t\t\t54.255.135.113 . \(Self.newEndpoint) comment \"vpn-006dfdf3f4989c4df tunnel 1\""], 1),
            ("sha384", [old], ["tunnel 1: MSS 1379 (config value) → 1359 (SHA2-384/512 integrity: AWS requires 1359)",
                               "tunnel 2: MSS 1379 (config value) → 1359 (SHA2-384/512 integrity: AWS requires 1359)",
                               "rule set\n  MSS clamp of IPv4 SYNs into the tunnel 1379 → 1359",
                               "+\t\tmeta nfproto ipv4 rt ipsec exists tcp flags syn tcp option maxseg size > 1359"], 1),
            ("natt", [old], ["tunnel 1: NAT-T (UDP 4500) opened: the config enables NAT-T",
                             "tunnel 2: NAT-T (UDP 4500) opened: the config enables NAT-T"], 1),
        ]
        for (edit, from, lines, status) in expectations {
            let result = try unprivileged(["diff", "-q", "--from"] + from + ["--to", edits[edit]!])
            XCTAssertEqual(result.status, status, "\(edit): \(result.stdout)\n\(result.stderr)")
            for line in lines { XCTAssertTrue(result.stdout.contains(line), "\(edit): no `\(line)` in\n\(result.stdout)") }
            for key in keys { XCTAssertFalse(result.stdout.contains(key) || result.stderr.contains(key), "\(edit): a key leaked") }
            XCTAssertFalse(result.stdout.contains("\u{1b}["), "colour without a terminal")
        }
        // A connection added, then removed: several files on one side.
        var result = try unprivileged(["diff", "-q", "--from", old, "--to", old, second])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.contains("vpn-0c6ac1d8593e17c48\n  connection added: tunnel 1 "), result.stdout)
        result = try unprivileged(["diff", "-q", "--from", old, second, "--to", old])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.contains("vpn-0c6ac1d8593e17c48\n  connection removed: tunnel 1 "), result.stdout)
        XCTAssertTrue(result.stdout.contains("1 change in meaning (2 → 1 connections, 4 → 2 tunnels)"), result.stdout)
        // The same change in the other targets' rules.
        for (arguments, line) in [(["--target", "iptables"], "+-A CGWFW-INPUT -s \(Self.newEndpoint)/32"),
                                  (["--target", "pf", "--profile", "openbsd-pf"], "+table <cgwfw_aws_0> { 15.164.154.116, \(Self.newEndpoint) }")] {
            result = try unprivileged(["diff", "-q"] + arguments + ["--from", old, "--to", edits["endpoint"]!])
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("AWS endpoint replaced: \(Self.oldEndpoint) → \(Self.newEndpoint)"), result.stdout)
            XCTAssertTrue(result.stdout.contains(line), "\(arguments): no `\(line)` in\n\(result.stdout)")
        }
        // A profile change on the old side only: strict mode and placement.
        result = try unprivileged(["diff", "-q", "--from-profile", "linux-gateway", "--from", old, "--to", old])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.contains("rule set\n  placement gateway → host"), result.stdout)
        result = try unprivileged(["diff", "-q", "--strict", "--from", old, "--to", old])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("strict mode on"), "--strict applies to both sides: \(result.stdout)")
    }

    func testJSONIsSchemaOneAndMarkdownRendersATable() throws {
        let (old, edits, keys) = try cases()
        var result = try unprivileged(["diff", "-q", "--json", "--from", old, "--to", edits["endpoint"]!])
        XCTAssertEqual(result.status, 1, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(object["schema"] as? Int, 1)
        XCTAssertEqual(object["changed"] as? Bool, true)
        let changes = try XCTUnwrap(object["changes"] as? [[String: Any]])
        XCTAssertEqual(changes.count, 1)
        XCTAssertEqual(changes[0]["kind"] as? String, "aws-endpoint-replaced")
        XCTAssertEqual(changes[0]["old"] as? String, Self.oldEndpoint)
        XCTAssertEqual(changes[0]["new"] as? String, Self.newEndpoint)
        XCTAssertEqual(changes[0]["tunnel"] as? Int, 1)
        let tunnels = try XCTUnwrap((object["new"] as? [String: Any])?["tunnels"] as? [[String: Any]])
        XCTAssertEqual(tunnels.map { $0["aws_endpoint"] as? String }, [Self.newEndpoint, "15.164.154.116"])
        XCTAssertEqual(tunnels.first?["mss_source"] as? String, "config value")
        let rules = try XCTUnwrap(object["rules"] as? [String: Any])
        XCTAssertEqual(rules["target"] as? String, "nftables")
        XCTAssertEqual(rules["added"] as? Int, 2)

        result = try unprivileged(["diff", "-q", "--format", "markdown", "--from", old, "--to", edits["sha384"]!])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("### cgwfw diff: 3 changes in meaning"), result.stdout)
        XCTAssertTrue(result.stdout.contains("| Connection | Tunnel | Change |\n|---|---|---|\n| vpn-006dfdf3f4989c4df | 1 | MSS 1379"), result.stdout)
        XCTAssertTrue(result.stdout.contains("<details><summary>nftables rules: +4 −4 lines</summary>\n\n```diff\n--- old (nftables)"), result.stdout)
        for key in keys { XCTAssertFalse(result.stdout.contains(key)) }
    }

    func testErrorsExitWithSysexits() throws {
        let (old, _, _) = try cases()
        let bad = try write("bad.txt", "Amazon Web Services\nIPSec Tunnel #1\n  - Customer Gateway : 999.1.2.3\n")
        XCTAssertEqual(try unprivileged(["diff", "--from", scratch.appendingPathComponent("missing.txt").path, "--to", old]).status, 66)
        let data = try unprivileged(["diff", "--from", bad, "--to", old])
        XCTAssertEqual(data.status, 65)
        XCTAssertTrue(data.stderr.contains("bad.txt:2:1: error: connection tunnel 1: no AWS outside address found"), data.stderr)
        XCTAssertEqual(try unprivileged(["diff", "--from", old]).status, 64, "--from without --to")
        XCTAssertEqual(try unprivileged(["diff", "--format", "yaml", "--from", old, "--to", old]).status, 64)
        XCTAssertEqual(try unprivileged(["diff", "--against", scratch.appendingPathComponent("none.json").path, old]).status, 66)
        let notState = try write("not-state.json", "{\"hello\": 1}")
        XCTAssertEqual(try unprivileged(["diff", "--against", notState, old]).status, 65)
    }

    // MARK: - --against: the same comparison as apply

    private func inNamespace(_ ns: String, _ arguments: [String]) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        return try CLIRunner.run(["netns", "exec", ns, binary.path] + arguments,
                                 environment: ["CGWFW_RUN_DIR": scratch.appendingPathComponent("run").path],
                                 executable: URL(fileURLWithPath: "/usr/sbin/ip"))
    }

    /// The gateway's state saved two ways; `diff --against` each (as nobody) must print and exit exactly as
    /// `apply --dry-run` in the namespace that holds the state.
    func testAgainstASavedStateAgreesWithApplyDryRun() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for a network namespace holding the saved state") }
        guard KernelNamespace.run("command -v nft && command -v ip && command -v unshare").status == 0 else {
            throw XCTSkip("nft, ip or unshare missing")
        }
        let (old, edits, keys) = try cases()
        let second = try write("second.txt", try corpus("generic-shawkot-1.txt"))
        for profile in ["linux-host", "linux-gateway"] {
            let ns = "review\(UInt32.random(in: 0..<UInt32.max))"
            XCTAssertEqual(KernelNamespace.run("ip netns add \(ns)").status, 0)
            namespaces.append(ns)
            let applied = try inNamespace(ns, ["apply", "-q", "--profile", profile, old])
            XCTAssertEqual(applied.status, 0, applied.stderr)
            let shown = try inNamespace(ns, ["show", "--json", "--profile", profile])
            XCTAssertEqual(shown.status, 0, shown.stderr)
            let savedShow = try write("show-\(profile).json", shown.stdout)
            let savedNft = try write("nft-\(profile).json", KernelNamespace.run("ip netns exec \(ns) nft -j list ruleset").output)
            var saves = [savedShow, savedNft]
            if let refused = KernelNamespace.userNamespaceRefusesHeaderRewrite {
                print("skipped the `nft -j` save (cgwfw says to save `show --json` instead): \(refused)")
                saves.removeLast()
            }
            for new in [edits["same"]!, edits["endpoint"]!, edits["sha384"]!, edits["natt"]!, second] {
                let dryRun = try inNamespace(ns, ["apply", "-q", "--dry-run", "--profile", profile, new])
                XCTAssertTrue([0, 1].contains(dryRun.status), dryRun.stderr)
                for saved in saves {
                    let against = try unprivileged(["diff", "-q", "--profile", profile, "--against", saved, new])
                    XCTAssertEqual(against.status, dryRun.status, "\(profile) \(saved) \(new): \(against.stderr)")
                    // The per-tunnel summary first, then exactly apply's report.
                    XCTAssertTrue(against.stdout.hasSuffix(dryRun.stdout), "\(profile) \(saved) \(new):\n\(against.stdout)\nvs\n\(dryRun.stdout)")
                    if new == edits["same"]! { XCTAssertEqual(against.stdout, dryRun.stdout, "no summary when nothing changes") }
                    for key in keys { XCTAssertFalse(against.stdout.contains(key) || against.stderr.contains(key)) }
                }
            }
            let endpoint = try unprivileged(["diff", "-q", "--profile", profile, "--against", savedShow, edits["endpoint"]!])
            XCTAssertTrue(endpoint.stdout.hasPrefix("vpn-006dfdf3f4989c4df\n  tunnel 1: AWS endpoint replaced: \(Self.oldEndpoint) → \(Self.newEndpoint)\n"
                                                    + "inet cgwfw: would change: 1 added, 1 removed"), endpoint.stdout)
            XCTAssertTrue(endpoint.stdout.contains("+ element pairs_ipv4 54.255.135.113 . \(Self.newEndpoint) (vpn-006dfdf3f4989c4df tunnel 1)"),
                          endpoint.stdout)
            let added = try unprivileged(["diff", "-q", "--json", "--profile", profile, "--against", savedShow, edits["natt"]!, second])
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(added.stdout.utf8)) as? [String: Any])
            let summary = try XCTUnwrap(object["summary"] as? [[String: Any]])
            XCTAssertEqual(summary.compactMap { $0["kind"] as? String },
                           ["nat-t-opened", "nat-t-opened", "connection-added"],
                           added.stdout)
            let tunnels = try XCTUnwrap(object["tunnels"] as? [[String: Any]])
            XCTAssertEqual(tunnels.count, 4)
        }
    }
}
