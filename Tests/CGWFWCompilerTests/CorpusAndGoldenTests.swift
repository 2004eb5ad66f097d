import XCTest
import Foundation
import CGWFWModel
import CGWFWInput
@testable import CGWFWCompiler

/// The real AWS configs of ../shared/corpus/aws-configs. Nothing derived from them is stored in the repo: the
/// tests compile them, load the output into the real firewalls and check the structure.
enum Corpus {
    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpus/aws-configs")

    /// Every corpus file cgwfw reads, with `--local-address 203.0.113.9` for the documentation examples whose
    /// customer gateway address is a placeholder; files it rejects (other placeholders, fragments, redactions)
    /// are listed.
    static func connections() throws -> [Connection] {
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw XCTSkip("corpus not found at \(directory.path); corpus tests skipped")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasSuffix(".md") }.sorted()
        var connections: [Connection] = []
        var rejected: [String] = []
        for file in files {
            let path = directory.appendingPathComponent(file).path
            var result = try InputLoader.load(paths: [path])
            if result.diagnostics.hasErrors {
                result = try InputLoader.load(paths: [path], localAddress: IPAddress("203.0.113.9"))
            }
            if result.diagnostics.hasErrors || result.connections.isEmpty {
                rejected.append(file)
            } else {
                connections += result.connections
            }
        }
        print("corpus: \(connections.count) connections from \(files.count - rejected.count) files; not readable: "
              + rejected.joined(separator: ", "))
        return connections
    }

    /// Pre-shared keys as the corpus files write them (Generic and GUI steps, XML, JSON, ipsec.secrets, VyOS,
    /// Cisco IOS/ASA, JunOS, PAN-OS, FortiGate).
    static func preSharedKeys() throws -> Set<String> {
        let patterns = [#"Pre-Shared Key\s*:[ \t]*(\S+)"#, #"<pre_shared_key>([^<]+)</pre_shared_key>"#,
                        #""PreSharedKey"\s*:\s*"([^"]+)""#, #"PSK\s+"([^"]+)""#, #"pre-shared-secret\s+'([^']+)'"#,
                        #"pre-shared-key\s+(?:address\s+\S+\s+key\s+|ascii-text\s+|key\s+)?"?([^\s"]+)"#,
                        #"set psksecret\s+(\S+)"#]
        var keys = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
            let text = (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? ""
            for pattern in patterns {
                let regex = try NSRegularExpression(pattern: pattern)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text), text[range].count >= 8,
                       !["pre-shared-keys", "address"].contains(String(text[range])), !text[range].hasPrefix("<") {
                        keys.insert(String(text[range]))
                    }
                }
            }
        }
        return keys
    }
}

extension NftablesBackendTests {
    func testCorpusLoadsIntoNftWithEveryProfile() throws {
        let connections = try Corpus.connections()
        for name in ["linux-host", "linux-gateway"] {
            for strict in [false, true] {
                for mode in [Profile.NATTraversal.on, .off] {
                    var profile = try Fixtures.profile(name)
                    profile.strict = strict
                    profile.natTraversal = mode
                    _ = try check(profile: profile, connections: connections, natTraversal: { _ in mode == .on })
                }
            }
        }
    }
}

extension IptablesBackendTests {
    func testCorpusThroughIptablesRestore() throws {
        let connections = try Corpus.connections()
        for variant in ["nft", "legacy"] {
            try check(variant: variant, family: .ipv4, strict: true, connections: connections, natTraversalMode: .on, expectedMSS: nil)
        }
    }
}

extension PFBackendTests {
    func testCorpusFollowsPFGrammar() throws {
        let connections = try Corpus.connections()
        for name in ["openbsd-pf", "freebsd-pf"] {
            var profile = try Fixtures.profile(name)
            profile.strict = true
            profile.natTraversal = .off
            let intent = IntentBuilder.build(connections: connections, profile: profile).intent
            let (text, diagnostics) = PFBackend.render(intent, dialect: profile.pfDialect)
            XCTAssertFalse(diagnostics.hasErrors)
            let checker = try PFChecker(text, dialect: profile.pfDialect)
            assertAWSTable(checker, strict: true, connections: connections, natTraversal: { _ in false })
        }
    }
}

final class GoldenTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = here.appendingPathComponent("Fixtures")
    static let golden = here.appendingPathComponent("Golden")

    /// Profile × target pairs with a reviewed expected output in Golden/.
    static let cases: [(profile: String, target: Profile.Target, file: String)] = [
        ("linux-host", .nftables, "linux-host.nft"),
        ("linux-host", .json, "linux-host.json"),
        ("linux-gateway", .nftables, "linux-gateway.nft"),
        ("linux-host-iptables", .iptables, "linux-host-iptables.iptables"),
        ("linux-host-iptables", .ip6tables, "linux-host-iptables.ip6tables"),
        ("openbsd-pf", .pf, "openbsd-pf.pf"),
        ("freebsd-pf", .pf, "freebsd-pf.pf"),
    ]

    /// Set CGWFW_UPDATE_GOLDEN=1 to rewrite the files; then review every change by hand before committing.
    func testFixtureOutputsMatchReviewedGoldens() throws {
        let parsed = try InputLoader.load(paths: [Self.fixtures.path])
        XCTAssertFalse(parsed.diagnostics.hasErrors, "\(parsed.diagnostics.all)")
        XCTAssertEqual(parsed.connections.count, 4)
        let update = ProcessInfo.processInfo.environment["CGWFW_UPDATE_GOLDEN"] == "1"
        for (name, target, file) in Self.cases {
            let output = Compiler.compile(connections: parsed.connections, profile: try Fixtures.profile(name), target: target)
            XCTAssertFalse(output.text.contains("made.up.fixture.key"), "\(file) contains a pre-shared key")
            let url = Self.golden.appendingPathComponent(file)
            if update {
                try FileManager.default.createDirectory(at: Self.golden, withIntermediateDirectories: true)
                try output.text.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            let expected = try String(contentsOf: url, encoding: .utf8)
            XCTAssertEqual(output.text, expected, "\(file) differs from the reviewed golden (CGWFW_UPDATE_GOLDEN=1 rewrites it)")
        }
    }

    func testJSONIsTheIntentAndRoundTrips() throws {
        let parsed = try InputLoader.load(paths: [Self.fixtures.path])
        let output = Compiler.compile(connections: parsed.connections, profile: Profile(), target: .json)
        let decoded = try JSONDecoder().decode(RuleIntent.self, from: Data(output.text.utf8))
        XCTAssertEqual(decoded, output.intent)
    }

    func testNoOutputOverTheCorpusContainsAPreSharedKey() throws {
        let connections = try Corpus.connections()
        let keys = try Corpus.preSharedKeys()
        XCTAssertGreaterThan(keys.count, 5)
        for target in Profile.Target.allCases {
            var profile = Profile()
            profile.strict = true
            let output = Compiler.compile(connections: connections, profile: profile, target: target)
            let everything = output.text + output.diagnostics.all.map(\.description).joined(separator: "\n")
            for key in keys {
                XCTAssertFalse(everything.contains(key), "\(target) output contains a pre-shared key")
            }
        }
    }
}
