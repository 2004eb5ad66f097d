import Foundation
import XCTest

/// apply / diff / remove / show / confirm against the real kernel, each test in its own throwaway network
/// namespace (`ip netns add`), running the built binary under `ip netns exec`. Every assertion reads the
/// kernel with `nft -j list ...`, not cgwfw's own report.
final class ApplyCLITests: XCTestCase {
    private var namespaces: [String] = []
    private var scratch: URL!

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for network namespaces and nftables (geteuid() != 0)") }
        _ = try CLIRunner.requireBinary()
        guard shell("command -v nft && command -v ip").status == 0 else { throw XCTSkip("nft or ip (iproute2) not installed") }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-apply-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for ns in namespaces { _ = shell("ip netns pids \(ns) | xargs -r kill; ip netns del \(ns)") }
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    // MARK: - Helpers

    @discardableResult
    private func shell(_ command: String) -> (status: Int32, output: String) { KernelNamespace.run(command) }

    private func makeNamespace() -> String {
        let name = "cgwfwt\(UInt32.random(in: 0..<UInt32.max))"
        XCTAssertEqual(shell("ip netns add \(name)").status, 0)
        namespaces.append(name)
        return name
    }

    /// cgwfw ARGS inside `ns`, with its commit-confirm files in this test's scratch directory.
    private func cgwfw(_ ns: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", ns, binary.path]
            + CLIRunner.withStateDir(arguments, scratch.appendingPathComponent("state-\(ns)").path)
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)")
        let err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: try String(contentsOf: out, encoding: .utf8),
                         stderr: try String(contentsOf: err, encoding: .utf8),
                         seconds: Date().timeIntervalSince(start))
    }

    private func nft(_ ns: String, _ arguments: String) -> String {
        let result = shell("ip netns exec \(ns) nft \(arguments)")
        XCTAssertEqual(result.status, 0, "nft \(arguments): \(result.output)")
        return result.output
    }

    /// `nft -j list ruleset` with handles removed (they are allocation order, not state) and set
    /// elements sorted (the kernel lists hash sets in hash order); optionally with counters zeroed.
    private func ruleset(_ ns: String, zeroCounters: Bool = false) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(nft(ns, "-j list ruleset").utf8))
        func normalise(_ value: Any) -> Any {
            if var dict = value as? [String: Any] {
                dict.removeValue(forKey: "handle")
                if zeroCounters, dict["packets"] != nil, dict["bytes"] != nil { dict["packets"] = 0; dict["bytes"] = 0 }
                for (key, inner) in dict { dict[key] = normalise(inner) }
                if let elements = dict["elem"] as? [Any] {
                    dict["elem"] = elements.map(normalise).sorted { canonical($0) < canonical($1) }
                }
                return dict
            }
            if let array = value as? [Any] { return array.map(normalise) }
            return value
        }
        return canonical(normalise(object))
    }

    private func canonical(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    private func tableJSON(_ ns: String, _ table: String) throws -> [[String: Any]] {
        let result = shell("ip netns exec \(ns) nft -j list table \(table)")
        guard result.status == 0 else { return [] }
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return (object?["nftables"] as? [[String: Any]]) ?? []
    }

    private func objects(_ json: [[String: Any]], _ kind: String) -> [[String: Any]] {
        json.compactMap { $0[kind] as? [String: Any] }
    }

    private func elements(_ ns: String, set: String) throws -> [String: [String: Any]] {
        let json = try tableJSON(ns, "inet cgwfw")
        guard let found = objects(json, "set").first(where: { $0["name"] as? String == set }) else { return [:] }
        var result: [String: [String: Any]] = [:]
        for entry in (found["elem"] as? [Any]) ?? [] {
            guard let elem = (entry as? [String: Any])?["elem"] as? [String: Any],
                  let concat = (elem["val"] as? [String: Any])?["concat"] as? [String] else { continue }
            result[concat.joined(separator: " . ")] = elem
        }
        return result
    }

    private var example: URL { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt") }

    /// The example with tunnel 2's AWS endpoint replaced (one peer pair changes).
    private func exampleWithOtherEndpoint() throws -> URL {
        let text = try String(contentsOf: example, encoding: .utf8).replacingOccurrences(of: "192.0.2.20", with: "192.0.2.30")
        let url = scratch.appendingPathComponent("changed.txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    private let foreignRuleset = """
    table inet filter {
    \tchain input {
    \t\ttype filter hook input priority filter; policy drop;
    \t\tct state established,related accept
    \t\tiifname "lo" accept
    \t\ttcp dport 22 accept
    \t}
    \tchain forward {
    \t\ttype filter hook forward priority filter; policy drop;
    \t}
    \tchain output {
    \t\ttype filter hook output priority filter; policy accept;
    \t}
    }
    table ip nat {
    \tchain POSTROUTING {
    \t\ttype nat hook postrouting priority srcnat; policy accept;
    \t\toifname != "docker0" ip saddr 172.17.0.0/16 masquerade
    \t}
    \tchain DOCKER {
    \t\tiifname "docker0" return
    \t}
    }

    """

    private func loadForeign(_ ns: String) throws {
        let url = scratch.appendingPathComponent("foreign.nft")
        try foreignRuleset.write(to: url, atomically: true, encoding: .utf8)
        _ = nft(ns, "-f \(url.path)")
    }

    // MARK: - Tests

    func testApplyLeavesTheSameKernelStateAsNftFOfTheNftablesTarget() throws {
        let variants: [[String]] = [
            [],
            ["--profile", "linux-gateway", "--strict", "--wan-interface", "eth0"],
            ["--strict", "--nat-traversal", "on", "--tunnel-interface", "vti0"],
            ["--tunnel-interface", "vti0", "--tunnel-interface", "vti1"],
        ]
        for flags in variants {
            let viaNft = makeNamespace(), viaNetlink = makeNamespace()
            let compiled = try CLIRunner.run(["compile", "--target", "nftables"] + flags + [example.path])
            XCTAssertEqual(compiled.status, 0, compiled.stderr)
            let script = scratch.appendingPathComponent("compiled.nft")
            try compiled.stdout.write(to: script, atomically: true, encoding: .utf8)
            _ = nft(viaNft, "-f \(script.path)")
            let applied = try cgwfw(viaNetlink, ["apply"] + flags + [example.path])
            XCTAssertEqual(applied.status, 0, applied.stderr)
            XCTAssertEqual(try ruleset(viaNetlink), try ruleset(viaNft), "flags \(flags)")
            XCTAssertEqual(nft(viaNetlink, "list ruleset"), nft(viaNft, "list ruleset"), "flags \(flags)")
            // Matching by meaning: what nft -f loaded is what apply wants, so nothing to do.
            let over = try cgwfw(viaNft, ["apply", "--json"] + flags + [example.path])
            XCTAssertEqual(over.status, 0, over.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(over.stdout.utf8)) as? [String: Any]
            XCTAssertEqual(report?["changed"] as? Bool, false, "flags \(flags): \(over.stdout)")
        }
    }

    func testReapplyIsUnchangedAndWritesNothing() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let before = try ruleset(ns)
        let events = scratch.appendingPathComponent("monitor.txt")
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        monitor.arguments = ["netns", "exec", ns, "nft", "monitor"]
        _ = FileManager.default.createFile(atPath: events.path, contents: nil)
        monitor.standardOutput = try FileHandle(forWritingTo: events)
        try monitor.run()
        usleep(300_000)
        let again = try cgwfw(ns, ["apply", "--json", example.path])
        // A write of our own after it proves the monitor was listening the whole time.
        _ = nft(ns, "add table inet probe")
        usleep(300_000)
        monitor.terminate()
        monitor.waitUntilExit()
        XCTAssertEqual(again.status, 0, again.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["changed"] as? Bool, false)
        let seen = try String(contentsOf: events, encoding: .utf8).split(separator: "\n").map(String.init)
        // Exactly one event and one new generation, both nft's: the re-apply committed nothing.
        XCTAssertEqual(seen.filter { !$0.hasPrefix("# new generation") }, ["add table inet probe"], "re-apply wrote to the kernel")
        XCTAssertEqual(seen.filter { $0.hasPrefix("# new generation") && $0.hasSuffix("(nft)") }.count, 1, seen.joined(separator: "\n"))
        XCTAssertEqual(seen.count, 2, seen.joined(separator: "\n"))
        _ = nft(ns, "delete table inet probe")
        XCTAssertEqual(try ruleset(ns), before)
        let diff = try cgwfw(ns, ["diff", example.path])
        XCTAssertEqual(diff.status, 0, "diff of an applied config must exit 0")
    }

    func testPeerChangeOnlyTouchesSetElementsAndCountersSurvive() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        // IKE from the gateway to tunnel 1's endpoint: counted by the output rule and by the pair's element
        // in the counting set of that rule.
        XCTAssertEqual(shell("""
            ip netns exec \(ns) sh -c 'ip link set lo up && ip addr add 198.51.100.7/32 dev lo && ip addr add 192.0.2.10/32 dev lo && \
            python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((\\"198.51.100.7\\", 500)); s.sendto(b\\"x\\", (\\"192.0.2.10\\", 500))"'
            """).status, 0)
        let rulesBefore = objects(try tableJSON(ns, "inet cgwfw"), "rule")
        let elementBefore = try elements(ns, set: "seen_ike_out_ipv4")["198.51.100.7 . 192.0.2.10"]
        let packetsBefore = ((elementBefore?["counter"] as? [String: Any])?["packets"] as? Int) ?? 0
        XCTAssertGreaterThan(packetsBefore, 0, "the element counter did not count the IKE packet")

        let changed = try exampleWithOtherEndpoint()
        let diff = try cgwfw(ns, ["diff", "--json", changed.path])
        XCTAssertEqual(diff.status, 1)
        let review = try JSONSerialization.jsonObject(with: Data(diff.stdout.utf8)) as? [String: Any]
        let texts = review?["diff"] as? [String: String]
        XCTAssertTrue(texts?["before"]?.contains("198.51.100.7 . 192.0.2.20") ?? false, diff.stdout)
        XCTAssertTrue(texts?["after"]?.contains("198.51.100.7 . 192.0.2.30") ?? false, diff.stdout)
        XCTAssertEqual(review?["removed"] as? [String], ["element pairs_ipv4 198.51.100.7 . 192.0.2.20 (vpn-0a1b2c3d4e5f67890 tunnel 2)"])
        let applied = try cgwfw(ns, ["apply", "--json", changed.path])
        XCTAssertEqual(applied.status, 0, applied.stderr)

        let rulesAfter = objects(try tableJSON(ns, "inet cgwfw"), "rule")
        XCTAssertEqual(canonical(rulesAfter), canonical(rulesBefore), "rules (handles, counters) must not change")
        XCTAssertEqual(Set(try elements(ns, set: "pairs_ipv4").keys), ["198.51.100.7 . 192.0.2.10", "198.51.100.7 . 192.0.2.30"])
        let after = try elements(ns, set: "seen_ike_out_ipv4")
        let packetsAfter = ((after["198.51.100.7 . 192.0.2.10"]?["counter"] as? [String: Any])?["packets"] as? Int) ?? 0
        XCTAssertEqual(packetsAfter, packetsBefore, "the unchanged pair's counter must survive")
    }

    func testIncrementalApplyFromTheSnapshotLeavesWhatNftLeaves() throws {
        // The text report needs no diff text, so apply compares the snapshot's element lines with the config's.
        let ns = makeNamespace(), viaNft = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let changed = try exampleWithOtherEndpoint()
        let applied = try cgwfw(ns, ["apply", changed.path], environment: ["CGWFW_TIMING": "1"])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertTrue(applied.stderr.contains("element-diff"), "the element-line path was not taken: \(applied.stderr)")
        XCTAssertTrue(applied.stdout.contains("1 added, 1 removed (peers only"), applied.stdout)
        XCTAssertTrue(applied.stdout.contains("- element pairs_ipv4 198.51.100.7 . 192.0.2.20 (vpn-0a1b2c3d4e5f67890 tunnel 2)"),
                      applied.stdout)
        XCTAssertTrue(applied.stdout.contains("+ element pairs_ipv4 198.51.100.7 . 192.0.2.30 (vpn-0a1b2c3d4e5f67890 tunnel 2)"),
                      applied.stdout)
        let compiled = try CLIRunner.run(["compile", "--target", "nftables", changed.path])
        XCTAssertEqual(compiled.status, 0, compiled.stderr)
        let script = scratch.appendingPathComponent("changed.nft")
        try compiled.stdout.write(to: script, atomically: true, encoding: .utf8)
        _ = nft(viaNft, "-f \(script.path)")
        XCTAssertEqual(try ruleset(ns, zeroCounters: true), try ruleset(viaNft, zeroCounters: true))

        // Back, forth again (each from the snapshot the last one wrote), then nothing to do.
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        XCTAssertEqual(try cgwfw(ns, ["apply", changed.path]).status, 0)
        let again = try cgwfw(ns, ["apply", changed.path], environment: ["CGWFW_TIMING": "1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("element-diff"), again.stderr)
        XCTAssertEqual(again.stdout, "inet cgwfw: unchanged\n")
        XCTAssertFalse(again.stderr.contains("commit"), "an unchanged apply committed: \(again.stderr)")
        XCTAssertEqual(try ruleset(ns, zeroCounters: true), try ruleset(viaNft, zeroCounters: true))
    }

    func testChangesByOthersBetweenAppliesAreSeenDespiteTheSnapshot() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let expected = try ruleset(ns)
        _ = nft(ns, "add element inet cgwfw pairs_ipv4 { 198.51.100.7 . 203.0.113.9 }")
        _ = nft(ns, "delete element inet cgwfw pairs_ipv4 { 198.51.100.7 . 192.0.2.10 }")
        let repaired = try cgwfw(ns, ["apply", example.path])
        XCTAssertEqual(repaired.status, 0, repaired.stderr)
        XCTAssertEqual(try ruleset(ns), expected)

        // Another namespace with the same run directory (the snapshot belongs to the first one).
        let other = makeNamespace()
        _ = nft(other, "add table inet cgwfw { comment \\\"managed by cgwfw\\\" \\; }")
        let changed = try exampleWithOtherEndpoint()
        let binary = try CLIRunner.requireBinary()
        let run = shell("ip netns exec \(other) \(binary.path) apply --state-dir "
                        + "\(scratch.appendingPathComponent("state-\(ns)").path) \(changed.path) 2>&1")
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertEqual(Set(try elements(other, set: "pairs_ipv4").keys), ["198.51.100.7 . 192.0.2.10", "198.51.100.7 . 192.0.2.30"])
    }

    func testRemoveIsIdempotent() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        XCTAssertFalse(try tableJSON(ns, "inet cgwfw").isEmpty)
        let removed = try cgwfw(ns, ["remove", "--json"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertTrue(try tableJSON(ns, "inet cgwfw").isEmpty)
        let again = try cgwfw(ns, ["remove", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(report?["changed"] as? Bool, false)
        XCTAssertEqual(try ruleset(ns), try rulesetOfEmptyNamespace())
    }

    private func rulesetOfEmptyNamespace() throws -> String { try ruleset(makeNamespace()) }

    func testDiffShowsTheNftTextOfEveryRuleItWouldRemoveAlsoAnUntaggedOne() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        _ = nft(ns, "add rule inet cgwfw input tcp dport 22 accept")
        let diff = try cgwfw(ns, ["diff", try exampleWithOtherEndpoint().path])
        XCTAssertEqual(diff.status, 1, diff.stderr)
        XCTAssertTrue(diff.stdout.contains("- rule input: tcp dport 22 accept\n"), diff.stdout)
        XCTAssertTrue(diff.stdout.contains("+ element pairs_ipv4 198.51.100.7 . 192.0.2.30 (vpn-0a1b2c3d4e5f67890 tunnel 2)"), diff.stdout)
        let applied = try cgwfw(ns, ["apply", try exampleWithOtherEndpoint().path])
        XCTAssertTrue(applied.stdout.contains("- rule input: tcp dport 22 accept"), applied.stdout)
    }

    func testATableOfTheSameNameThatCgwfwDidNotCreateIsRefusedUnlessAdopted() throws {
        let ns = makeNamespace()
        try loadForeign(ns)
        let before = nft(ns, "list ruleset")
        for command in [["apply", "--table", "filter", example.path], ["diff", "--table", "filter", example.path],
                        ["remove", "--table", "filter"]] {
            let refused = try cgwfw(ns, command)
            XCTAssertEqual(refused.status, 65, "\(command): \(refused.stderr)")
            XCTAssertTrue(refused.stderr.contains("table inet filter") && refused.stderr.contains("policy drop")
                          && refused.stderr.contains("--adopt"), refused.stderr)
        }
        XCTAssertEqual(nft(ns, "list ruleset"), before, "a refused command changed the kernel")
        // Before anything is written, the review names every object of somebody else's that --adopt deletes,
        // with its rules as nft text, and warns (the Ansible module passes warnings on).
        for command in [["apply", "--dry-run", "--json", "--table", "filter", "--adopt", example.path],
                        ["remove", "--dry-run", "--json", "--table", "filter", "--adopt"]] {
            let review = try cgwfw(ns, command)
            let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(review.stdout.utf8)) as? [String: Any],
                                       "\(command): \(review.stdout) \(review.stderr)")
            let removed = report["removed"] as? [String] ?? []
            for object in ["table inet filter", "chain input (hook input, policy drop, 3 rules; not cgwfw's)",
                           "rule input: tcp dport 22 accept (not cgwfw's)", "rule input: iifname \"lo\" accept (not cgwfw's)",
                           "chain forward (hook forward, policy drop, 0 rules; not cgwfw's)"] {
                XCTAssertTrue(removed.contains(object), "\(command): \(object) not in \(removed)")
            }
            let warnings = report["warnings"] as? [String] ?? []
            XCTAssertTrue(warnings.contains { $0.contains("--adopt replaces what cgwfw did not create") && $0.contains("chain input") },
                          "\(command): \(warnings)")
            let text = try cgwfw(ns, command.filter { $0 != "--json" })
            XCTAssertTrue(text.stdout.contains("- rule input: tcp dport 22 accept (not cgwfw's)"), text.stdout)
        }
        XCTAssertEqual(nft(ns, "list ruleset"), before, "a dry run changed the kernel")
        let adopted = try cgwfw(ns, ["apply", "--table", "filter", "--adopt", example.path])
        XCTAssertEqual(adopted.status, 0, adopted.stderr)
        XCTAssertTrue(nft(ns, "list table inet filter").contains("comment \"managed by cgwfw\""))
        XCTAssertEqual(try cgwfw(ns, ["remove", "--table", "filter"]).status, 0, "adopted: now cgwfw's own")
    }

    func testForeignTablesStayByteIdenticalAndTheConflictIsReported() throws {
        let ns = makeNamespace()
        try loadForeign(ns)
        let filter = nft(ns, "list table inet filter"), nat = nft(ns, "list table ip nat")
        let applied = try cgwfw(ns, ["apply", example.path])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertTrue(applied.stderr.contains("table inet filter chain input"), applied.stderr)
        XCTAssertTrue(applied.stderr.contains("--attach \"inet filter\""), applied.stderr)
        XCTAssertFalse(applied.stderr.contains("ip nat"), "a nat chain that drops nothing is no conflict")
        XCTAssertEqual(nft(ns, "list table inet filter"), filter)
        XCTAssertEqual(nft(ns, "list table ip nat"), nat)
        XCTAssertEqual(try cgwfw(ns, ["remove"]).status, 0)
        XCTAssertEqual(nft(ns, "list ruleset"), filter + nat)
    }

    func testAttachModeJumpsFromTheTopAndRemoveRestoresTheTableByteForByte() throws {
        let ns = makeNamespace()
        try loadForeign(ns)
        let before = nft(ns, "list ruleset")
        let applied = try cgwfw(ns, ["apply", "--attach", "inet filter", example.path])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        let json = try tableJSON(ns, "inet filter")
        XCTAssertTrue(try tableJSON(ns, "inet cgwfw").isEmpty, "attach mode must not create its own table")
        let inputRules = objects(json, "rule").filter { $0["chain"] as? String == "input" }
        let firstExpr = (inputRules.first?["expr"] as? [[String: Any]])?.first
        XCTAssertEqual((firstExpr?["jump"] as? [String: Any])?["target"] as? String, "cgwfw-input")
        XCTAssertTrue(objects(json, "chain").contains { $0["name"] as? String == "cgwfw-input" })
        XCTAssertTrue(objects(json, "set").contains { $0["name"] as? String == "cgwfw-pairs_ipv4" })
        let again = try cgwfw(ns, ["apply", "--json", "--attach", "inet filter", example.path])
        XCTAssertTrue(again.stdout.contains("\"changed\" : false"), again.stdout)
        // A structural change (strict adds sets and rules) replaces cgwfw's objects and nothing else.
        let strict = try cgwfw(ns, ["apply", "--strict", "--attach", "inet filter", example.path])
        XCTAssertEqual(strict.status, 0, strict.stderr)
        let strictJSON = try tableJSON(ns, "inet filter")
        XCTAssertTrue(objects(strictJSON, "set").contains { $0["name"] as? String == "cgwfw-locals_ipv4" })
        XCTAssertEqual(objects(strictJSON, "rule").filter { ($0["comment"] as? String)?.hasPrefix("cgwfw-jump-") ?? false }.count, 3)
        let removed = try cgwfw(ns, ["remove", "--attach", "inet filter"])
        XCTAssertEqual(removed.status, 0, removed.stderr)
        XCTAssertEqual(nft(ns, "list ruleset"), before)
        XCTAssertEqual(try cgwfw(ns, ["remove", "--attach", "inet filter"]).status, 0)
        XCTAssertEqual(nft(ns, "list ruleset"), before)
    }

    func testWithoutCapNetAdminExits77AndChangesNothing() throws {
        guard shell("command -v setpriv").status == 0 else { throw XCTSkip("setpriv (util-linux) not installed") }
        let ns = makeNamespace()
        // The unprivileged user must be able to reach the binary and the config whatever the
        // permissions of the checkout's parent directories (CI clones into a 0700 temporary directory).
        let world = scratch.appendingPathComponent("world-readable")
        try FileManager.default.createDirectory(at: world, withIntermediateDirectories: true)
        let binary = world.appendingPathComponent("cgwfw")
        try FileManager.default.copyItem(at: try CLIRunner.requireBinary(), to: binary)
        let config = world.appendingPathComponent("example.txt")
        try FileManager.default.copyItem(at: example, to: config)
        XCTAssertEqual(shell("chmod -R a+rX \(scratch.path)").status, 0)
        let unprivileged = "ip netns exec \(ns) "
            + "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \(binary.path) apply"
        let result = shell("\(unprivileged) \(config.path)")
        XCTAssertEqual(result.status, 77, result.output)
        XCTAssertTrue(result.output.contains("CAP_NET_ADMIN"), result.output)
        XCTAssertTrue(try tableJSON(ns, "inet cgwfw").isEmpty)
        // A bad config is reported (65) before netlink is opened, even without the privilege.
        let bad = world.appendingPathComponent("bad.txt")
        try "this is not an AWS VPN configuration\n".write(to: bad, atomically: true, encoding: .utf8)
        XCTAssertEqual(shell("chmod a+r \(bad.path)").status, 0)
        let badResult = shell("\(unprivileged) \(bad.path)")
        XCTAssertEqual(badResult.status, 65, badResult.output)
    }

    func testKernelRefusalExits70NamingTheObjectAndAppliesNothing() throws {
        let ns = makeNamespace()
        // A table that another process owns (flag owner, held by an open nft -i): the kernel refuses to
        // delete or change it, whoever asks.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "(echo 'add table inet cgwfw { flags owner ; comment \"managed by cgwfw\" ; }'; sleep 30) | ip netns exec \(ns) nft -i"]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { holder.terminate() }
        var owned = false
        for _ in 0..<50 where !owned {
            usleep(100_000)
            owned = shell("ip netns exec \(ns) nft list table inet cgwfw").output.contains("owner")
        }
        XCTAssertTrue(owned)
        let before = nft(ns, "list ruleset")
        let result = try cgwfw(ns, ["apply", example.path])
        XCTAssertEqual(result.status, 70, result.stderr)
        XCTAssertTrue(result.stderr.contains("refused table inet cgwfw"), result.stderr)
        XCTAssertTrue(result.stderr.contains("Operation not permitted"), result.stderr)
        XCTAssertEqual(nft(ns, "list ruleset"), before, "part of a refused batch was applied")
    }

    func testBatchesLargerThanTheSocketBufferWork() throws {
        let directory = scratch.appendingPathComponent("many")
        let generator = CLIRunner.repoRoot.appendingPathComponent("Benchmarks/generate-configs.py")
        XCTAssertEqual(shell("python3 \(generator.path) 10000 \(directory.path)").status, 0)
        let ns = makeNamespace()
        let binary = try CLIRunner.requireBinary()
        let result = shell("cd \(directory.path) && ip netns exec \(ns) \(binary.path) apply * 2>&1 >/dev/null")
        XCTAssertEqual(result.status, 0, String(result.output.suffix(2000)))
        let json = try tableJSON(ns, "inet cgwfw")
        let pairs = objects(json, "set").first { $0["name"] as? String == "pairs_ipv4" }
        XCTAssertEqual((pairs?["elem"] as? [Any])?.count, 20_000)
    }

    func testShowReportsCountersPerRuleAndTheTunnels() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let show = try cgwfw(ns, ["show", "--json"])
        XCTAssertEqual(show.status, 0, show.stderr)
        let report = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any]
        let rules = report?["rules"] as? [[String: Any]] ?? []
        let kernelRules = objects(try tableJSON(ns, "inet cgwfw"), "rule")
        XCTAssertEqual(rules.count, kernelRules.count)
        // Every rule but the counting ones (their counts are per tunnel, in health) has a counter.
        XCTAssertTrue(rules.allSatisfy { ($0["packets"] is Int) != ($0["tag"] as? String ?? "").hasPrefix("count-") }, "\(rules)")
        let elements = report?["elements"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(elements.compactMap { $0["element"] as? String }), Set(try self.elements(ns, set: "pairs_ipv4").keys))
        let tunnels = (report?["health"] as? [String: Any])?["tunnels"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(tunnels.compactMap { tunnel in
            (tunnel["customer_gateway"] as? String).map { "\($0) . \(tunnel["aws_endpoint"] as? String ?? "")" }
        }), Set(try self.elements(ns, set: "pairs_ipv4").keys))
    }

    // MARK: - Commit-confirm

    func testUnconfirmedApplyIsRolledBackInTime() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let previous = try ruleset(ns, zeroCounters: true)
        let changed = try exampleWithOtherEndpoint()
        let start = Date()
        let applied = try cgwfw(ns, ["apply", "--confirm", "2", changed.path])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertNotEqual(try ruleset(ns, zeroCounters: true), previous)
        var restoredAt: Date?
        while Date().timeIntervalSince(start) < 6 {
            if try ruleset(ns, zeroCounters: true) == previous { restoredAt = Date(); break }
            usleep(100_000)
        }
        let elapsed = restoredAt.map { $0.timeIntervalSince(start) }
        XCTAssertNotNil(elapsed, "not restored")
        XCTAssertLessThanOrEqual(elapsed ?? 99, 3.0, "restored later than timeout + 1 s")
        let confirm = try cgwfw(ns, ["confirm"])
        XCTAssertEqual(confirm.status, 0)
        XCTAssertTrue(confirm.stdout.contains("nothing pending"), confirm.stdout)
        XCTAssertTrue(confirm.stdout.contains("restored the previous rules"), confirm.stdout)
    }

    func testConfirmedApplyStays() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let changed = try exampleWithOtherEndpoint()
        XCTAssertEqual(try cgwfw(ns, ["apply", "--confirm", "1", changed.path]).status, 0)
        let applied = try ruleset(ns, zeroCounters: true)
        let confirm = try cgwfw(ns, ["confirm"])
        XCTAssertEqual(confirm.status, 0, confirm.stderr)
        XCTAssertTrue(confirm.stdout.contains("confirmed"), confirm.stdout)
        usleep(2_500_000)
        XCTAssertEqual(try ruleset(ns, zeroCounters: true), applied)
    }

    func testSecondApplyWhilePendingIsRefusedUnlessForced() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let original = try ruleset(ns, zeroCounters: true)
        let changed = try exampleWithOtherEndpoint()
        XCTAssertEqual(try cgwfw(ns, ["apply", "--confirm", "30", changed.path]).status, 0)
        let pending = try ruleset(ns, zeroCounters: true)
        let second = try cgwfw(ns, ["apply", "--confirm", "30", example.path])
        XCTAssertEqual(second.status, 75, second.stderr)
        XCTAssertTrue(second.stderr.contains("pending"), second.stderr)
        XCTAssertEqual(try ruleset(ns, zeroCounters: true), pending, "a refused apply changed the kernel")
        // --force keeps the original rollback target: the rollback returns to the state before both.
        let third = try cgwfw(ns, ["apply", "--force", "--confirm", "1", "--strict", example.path])
        XCTAssertEqual(third.status, 0, third.stderr)
        var restored = false
        for _ in 0..<40 where !restored {
            usleep(100_000)
            restored = try ruleset(ns, zeroCounters: true) == original
        }
        XCTAssertTrue(restored, "the forced apply's rollback did not return to the original state")
    }

    func testRollbackDoesNotOverwriteSomeoneElsesChange() throws {
        let ns = makeNamespace()
        XCTAssertEqual(try cgwfw(ns, ["apply", example.path]).status, 0)
        let changed = try exampleWithOtherEndpoint()
        XCTAssertEqual(try cgwfw(ns, ["apply", "--confirm", "1", changed.path]).status, 0)
        _ = nft(ns, "add element inet cgwfw pairs_ipv4 { 198.51.100.7 . 203.0.113.9 }")
        let edited = try ruleset(ns, zeroCounters: true)
        usleep(2_500_000)
        XCTAssertEqual(try ruleset(ns, zeroCounters: true), edited, "the watchdog restored over someone else's change")
        let log = try String(contentsOf: scratch.appendingPathComponent("state-\(ns)/run/watchdog.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("not restoring"), log)
    }
}
