import CGWFWCompiler
import Foundation
import XCTest

final class LineDiffTests: XCTestCase {
    /// Both texts come back out of the diff, and it is as short as diff(1)'s (both find a longest common subsequence).
    func testReconstructsBothSidesAndIsAsShortAsDiffUtility() throws {
        var generator = SystemRandomNumberGenerator()
        let words = ["accept", "drop", "counter", "ip saddr 192.0.2.1", "ip daddr 198.51.100.2", "}", ""]
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-linediff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        for _ in 0..<40 {
            let a = (0..<Int.random(in: 0...30, using: &generator)).map { _ in words.randomElement(using: &generator)! }
            var b = a
            for _ in 0..<Int.random(in: 0...6, using: &generator) {
                if !b.isEmpty && Bool.random(using: &generator) { b.remove(at: Int.random(in: 0..<b.count, using: &generator)) }
                else { b.insert(words.randomElement(using: &generator)!, at: Int.random(in: 0...b.count, using: &generator)) }
            }
            let old = a.joined(separator: "\n"), new = b.joined(separator: "\n")
            let diff = LineDiff(old: old, new: new)
            var left: [String] = [], right: [String] = []
            for line in diff.lines {
                switch line {
                case let .same(s): left.append(s); right.append(s)
                case let .removed(s): left.append(s)
                case let .added(s): right.append(s)
                }
            }
            XCTAssertEqual(left.joined(separator: "\n"), old)
            XCTAssertEqual(right.joined(separator: "\n"), new)
            XCTAssertEqual(diff.isEmpty, old == new)
            let oldURL = scratch.appendingPathComponent("a"), newURL = scratch.appendingPathComponent("b")
            try (old + "\n").write(to: oldURL, atomically: true, encoding: .utf8)
            try (new + "\n").write(to: newURL, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
            process.arguments = ["--minimal", "-U0", oldURL.path, newURL.path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let changed = output.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2)
                .filter { ($0.hasPrefix("+") || $0.hasPrefix("-")) }.count
            XCTAssertEqual(diff.added + diff.removed, changed, "old:\n\(old)\nnew:\n\(new)")
        }
    }

    func testUnifiedHunkHeaders() {
        let diff = LineDiff(old: "a\nb\nc\nd\ne\nf\ng\nh\ni", new: "a\nb\nc\nd\nE\nf\ng\nh\ni")
        XCTAssertEqual(diff.unified(context: 1), "--- old\n+++ new\n@@ -4,3 +4,3 @@\n d\n-e\n+E\n f")
        XCTAssertEqual(LineDiff(old: "x", new: "x").unified(), "")
    }
}
