import CGWFWModel
import Foundation
import XCTest

/// docs/exit-codes.md and `cgwfw --help` list exactly the exit codes the code defines (SysExit).
final class ExitCodeDocumentationTests: XCTestCase {
    func testTheTableListsEveryExitCodeOnce() throws {
        let text = try String(contentsOf: CLIRunner.repoRoot.appendingPathComponent("docs/exit-codes.md"), encoding: .utf8)
        let codes = text.split(separator: "\n").compactMap { line -> Int32? in
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return line.hasPrefix("|") ? cells.first.flatMap { Int32($0) } : nil
        }
        XCTAssertEqual(codes, SysExit.allCases.map(\.rawValue).sorted(), "docs/exit-codes.md rows vs SysExit")
    }

    func testTheTopLevelHelpListsTheSameCodes() throws {
        let help = try CLIRunner.run(["--help"])
        // The paragraph from "Exit codes" to the next blank line, unwrapped.
        let start = try XCTUnwrap(help.stdout.range(of: "Exit codes"), help.stdout)
        let paragraph = help.stdout[start.lowerBound...].components(separatedBy: "\n\n")[0]
        let line = paragraph.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        let numbers = try NSRegularExpression(pattern: #"(?:: |, )(\d+) "#)
            .matches(in: String(line), range: NSRange(line.startIndex..., in: line))
            .compactMap { Range($0.range(at: 1), in: line).flatMap { Int32(line[$0]) } }
        XCTAssertEqual(numbers, SysExit.allCases.map(\.rawValue).sorted(), line)
    }
}
