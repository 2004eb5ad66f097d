import Foundation
import XCTest

/// Nothing in the environment steers a privileged run: the Swift runtime's crash backtracer is not left to
/// `SWIFT_BACKTRACE` (cgwfw re-executes itself without it), and state paths come from flags only.
final class EnvironmentTests: XCTestCase {
    private func execveCount(_ environment: [String: String]) throws -> Int {
        let binary = try CLIRunner.requireBinary()
        let result = try CLIRunner.run(["-f", "-qq", "-e", "trace=execve", binary.path, "--version"],
                                       environment: environment, executable: URL(fileURLWithPath: "/usr/bin/strace"))
        XCTAssertEqual(result.status, 0, result.stderr)
        return result.stderr.split(separator: "\n").filter { $0.contains("execve(\"\(binary.path)\"") }.count
    }

    func testARootRunReExecutesWithoutSwiftBacktrace() throws {
        guard geteuid() == 0 else { throw XCTSkip("the scrub applies to privileged runs; not root (geteuid() != 0)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace not installed") }
        XCTAssertEqual(try execveCount([:]), 1)
        XCTAssertEqual(try execveCount(["SWIFT_BACKTRACE": "enable=yes,swift-backtrace=/tmp/not-a-backtracer"]), 2)
    }

    func testStateDirectoryIsNotTakenFromTheEnvironment() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to read /run/cgwfw's neighbourhood (geteuid() != 0)") }
        let planted = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-env-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: planted) }
        // The variables earlier versions read: a root `confirm` must not create or read state there.
        let result = try CLIRunner.run(["confirm"], environment: ["CGWFW_RUN_DIR": planted.path, "CGWFW_STATE_DIR": planted.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: planted.path))
    }
}
