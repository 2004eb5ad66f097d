import CGWFWCompiler
import CGWFWInput
import CGWFWModel
import CGWFWNftables
import Foundation
import XCTest
@testable import CGWFWNetlink

/// The lowered expressions of the built-in nftables profiles, as libnftnl prints them, against reviewed
/// goldens (no root needed); a root test checks the same goldens against `nft --debug=netlink` of the text
/// backend's output, i.e. against nft's own lowering of the words cgwfw prints.
final class ExpressionGoldenTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let repo = here.deletingLastPathComponent().deletingLastPathComponent()
    static let golden = here.appendingPathComponent("Golden")

    struct Case: Sendable {
        var file: String
        var profile: String
        var adjust: @Sendable (inout Profile) -> Void
    }

    static let cases: [Case] = [
        Case(file: "linux-host.netlink", profile: "linux-host") { _ in },
        Case(file: "linux-host-interfaces.netlink", profile: "linux-host") {
            $0.tunnelSelection = .interfaces
            $0.tunnelInterfaces = ["vti*", "ipsec0"]
            $0.strict = true
        },
        Case(file: "linux-host-wildcard.netlink", profile: "linux-host") {
            $0.tunnelSelection = .interfaces
            $0.tunnelInterfaces = ["vti*"]
        },
        Case(file: "linux-gateway.netlink", profile: "linux-gateway") { _ in },
        Case(file: "linux-gateway-wan.netlink", profile: "linux-gateway") {
            $0.wanInterface = "wan*"
            $0.strict = true
            $0.natTraversal = .on
        },
    ]

    static func intent(_ testCase: Case) throws -> RuleIntent {
        var profile = try ProfileLoader.load(nameOrPath: repo.appendingPathComponent("Profiles/\(testCase.profile).yaml").path)
        testCase.adjust(&profile)
        let fixtures = repo.appendingPathComponent("Tests/CGWFWCompilerTests/Fixtures").path
        let parsed = try InputLoader.load(paths: [fixtures])
        XCTAssertFalse(parsed.diagnostics.hasErrors, "\(parsed.diagnostics.all)")
        return IntentBuilder.build(connections: parsed.connections, profile: profile).intent
    }

    /// Set CGWFW_UPDATE_GOLDEN=1 to rewrite the files; then review every change (and run the root test).
    func testLoweredExpressionsMatchTheReviewedGoldens() throws {
        let update = ProcessInfo.processInfo.environment["CGWFW_UPDATE_GOLDEN"] == "1"
        for testCase in Self.cases {
            let text = NetlinkDebugText.text(Lowering.desiredState(intent: try Self.intent(testCase), target: ApplyTarget()))
            let url = Self.golden.appendingPathComponent(testCase.file)
            if update {
                try text.write(to: url, atomically: true, encoding: .utf8)
                continue
            }
            XCTAssertEqual(text, try String(contentsOf: url, encoding: .utf8),
                           "\(testCase.file) differs from the reviewed golden (CGWFW_UPDATE_GOLDEN=1 rewrites it)")
        }
    }

    /// nft's own lowering of the text backend's script gives the goldens' expressions, rule by rule.
    func testGoldensAreWhatNftMakesOfTheTextBackendsScript() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root: nft --debug=netlink sends the batch to a kernel (unshare -rn may be refused)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft") else { throw XCTSkip("nft not installed") }
        for testCase in Self.cases {
            let script = NftablesBackend.render(try Self.intent(testCase)).text
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-golden-\(UUID().uuidString).nft")
            try script.write(to: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: path) }
            let output = try run("/usr/bin/unshare", ["-n", "/usr/sbin/nft", "--debug=netlink", "-f", path.path])
            let fromNft = Self.rulesAndElements(nftDebug: output)
            let golden = try String(contentsOf: Self.golden.appendingPathComponent(testCase.file), encoding: .utf8)
            XCTAssertEqual(fromNft, Self.rulesAndElements(golden: golden), testCase.file)
        }
    }

    /// Per rule, its chain, expression lines and (for an interface set) element lines, from nft's printout.
    static func rulesAndElements(nftDebug text: String) -> [String] {
        var rules: [String] = []
        var current: [String]?
        var pendingElements: [String] = []
        var inAnonymousSet = false
        func finish() {
            if let rule = current { rules.append((rule + pendingElements).joined(separator: "\n")) ; pendingElements = [] }
            current = nil
        }
        for line in text.split(separator: "\n").map(String.init) {
            let words = line.split(separator: " ")
            if line.hasPrefix("  [ ") {
                current?.append(line.trimmingCharacters(in: .whitespaces))
            } else if words.count == 3, words[0] == "inet" {
                finish()
                current = ["chain \(words[2])"]
                inAnonymousSet = false
            } else if line.hasPrefix("__set%d ") {
                finish()
                inAnonymousSet = true
            } else if inAnonymousSet, line.hasPrefix("\telement ") {
                // The anonymous set's elements, printed (on one line) before the rule that uses them.
                pendingElements += line.components(separatedBy: "\telement ").dropFirst()
                    .map { "element " + $0.trimmingCharacters(in: .whitespaces) }
            } else if !line.hasPrefix("  userdata") {
                finish()
            }
        }
        finish()
        return rules
    }

    static func rulesAndElements(golden text: String) -> [String] {
        text.components(separatedBy: "chain ").dropFirst().map { block in
            let lines = ("chain " + block).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            return lines.joined(separator: "\n")
        }
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: data, as: UTF8.self))
        return String(decoding: data, as: UTF8.self)
    }
}
