import Foundation
import XCTest

/// Input text echoed by cgwfw — ids, file names, values in diagnostics — never carries control characters
/// to the terminal or into JSON: a config cannot clear the screen or forge a line such as "unchanged".
final class SafePrintingTests: XCTestCase {
    private func hostileCopy(badAddress: Bool) throws -> URL {
        let example = CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt")
        var text = try String(contentsOf: example, encoding: .utf8)
            .replacingOccurrences(of: "vpn-0a1b2c3d4e5f67890", with: "vpn-0a1b\u{1b}[2J\u{1b}[31mX\u{202e}Y\u{7f}")
        if badAddress { text = text.replacingOccurrences(of: "192.0.2.20", with: "192.0.2.2\u{1b}[1A\u{9b}0m") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-safe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("vpn\u{1b}]0;owned\u{07}\nunchanged.txt")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Bytes a terminal acts on: C0 controls other than newline and tab, DEL, the C1 range and bidi overrides.
    private func assertClean(_ output: String, _ what: String) {
        for scalar in output.unicodeScalars {
            let value = scalar.value
            let control = (value < 0x20 && value != 0x0a && value != 0x09) || (0x7f...0x9f).contains(value)
                || (0x202a...0x202e).contains(value) || (0x2066...0x2069).contains(value)
            XCTAssertFalse(control, "\(what) prints U+\(String(value, radix: 16)): \(output.debugDescription.prefix(300))")
            if control { return }
        }
    }

    func testIdsFileNamesAndValuesAreEscapedInTextAndJSON() throws {
        let clean = try hostileCopy(badAddress: false)
        defer { try? FileManager.default.removeItem(at: clean.deletingLastPathComponent()) }
        for arguments in [["check"], ["check", "--json"], ["compile"], ["compile", "--target", "iptables"],
                          ["compile", "--target", "json"], ["compile", "--profile", "openbsd-pf"]] {
            let result = try CLIRunner.run(arguments + [clean.path])
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            assertClean(result.stdout, "\(arguments) stdout")
            assertClean(result.stderr, "\(arguments) stderr")
        }
        let review = try CLIRunner.run(["check", clean.path])
        XCTAssertTrue(review.stdout.contains("vpn-0a1b\\u{1b}[2J"), review.stdout)

        let bad = try hostileCopy(badAddress: true)
        defer { try? FileManager.default.removeItem(at: bad.deletingLastPathComponent()) }
        for arguments in [["check"], ["check", "--json"], ["compile"]] {
            let result = try CLIRunner.run(arguments + [bad.path])
            XCTAssertEqual(result.status, 65, "\(arguments): \(result.stderr)")
            assertClean(result.stdout, "\(arguments) stdout")
            assertClean(result.stderr, "\(arguments) stderr")
            XCTAssertTrue((result.stdout + result.stderr).contains("\\u{1b}[1A"), result.stderr)
        }
    }
}
