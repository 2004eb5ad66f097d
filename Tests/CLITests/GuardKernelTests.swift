import Foundation
import XCTest

/// Issue 14 cases that need the kernel: each in its own throwaway network namespace named `guard…`.
final class GuardKernelTests: XCTestCase {
    private var namespaces: [String] = []
    private var scratch: URL!
    private var example: String { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt").path }

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for network namespaces and nftables (geteuid() != 0)") }
        _ = try CLIRunner.requireBinary()
        guard shell("command -v nft && command -v ip").status == 0 else { throw XCTSkip("nft or ip (iproute2) not installed") }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        // Readable by the unprivileged user of the confirm test.
        chmod(scratch.path, 0o755)
    }

    override func tearDown() {
        for ns in namespaces { _ = shell("ip netns pids \(ns) | xargs -r kill; ip netns del \(ns)") }
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    @discardableResult
    func shell(_ command: String) -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func makeNamespace() -> String {
        let name = "guard\(UInt32.random(in: 0..<UInt32.max))"
        XCTAssertEqual(shell("ip netns add \(name) && ip -n \(name) link set lo up").status, 0)
        namespaces.append(name)
        return name
    }

    /// cgwfw ARGS inside `ns` (optionally behind `wrapper`, e.g. setpriv), commit-confirm files in scratch.
    func cgwfw(_ ns: String, _ arguments: [String], wrapper: [String] = [], runDirectory: String? = nil) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)")
        let err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", ns] + wrapper + [binary.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CGWFW_RUN_DIR"] = runDirectory ?? scratch.appendingPathComponent("run-\(ns)").path
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                         stderr: try String(contentsOf: err, encoding: .utf8), seconds: Date().timeIntervalSince(start))
    }

    // MARK: - exit codes

    func testDryRunsExitLikeDiff() throws {
        let ns = makeNamespace()
        let wouldApply = try cgwfw(ns, ["apply", "--dry-run", example])
        XCTAssertEqual(wouldApply.status, 1, "changes pending: \(wouldApply.stderr)")
        XCTAssertEqual(try cgwfw(ns, ["diff", example]).status, 1)
        let nothingToRemove = try cgwfw(ns, ["remove", "--dry-run"])
        XCTAssertEqual(nothingToRemove.status, 0, nothingToRemove.stderr)

        XCTAssertEqual(try cgwfw(ns, ["apply", example]).status, 0)
        XCTAssertEqual(try cgwfw(ns, ["apply", "--dry-run", example]).status, 0, "nothing to do")
        XCTAssertEqual(try cgwfw(ns, ["diff", example]).status, 0)
        XCTAssertEqual(try cgwfw(ns, ["remove", "--dry-run"]).status, 1, "removal pending")
        XCTAssertTrue(shell("ip netns exec \(ns) nft list table inet cgwfw").status == 0, "a dry run removed the table")
    }

    func testConfirmWithoutPrivilegeExits77AndCreatesNothing() throws {
        let ns = makeNamespace()
        let runDirectory = scratch.appendingPathComponent("run-unprivileged").path
        let nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        let confirm = try cgwfw(ns, ["confirm"], wrapper: nobody, runDirectory: runDirectory)
        let apply = try cgwfw(ns, ["apply", example], wrapper: nobody, runDirectory: runDirectory)
        XCTAssertEqual(confirm.status, 77, confirm.stderr)
        XCTAssertEqual(apply.status, 77, apply.stderr)
        let sameMessage = "operation not permitted: cgwfw needs CAP_NET_ADMIN (run as root or grant the capability)"
        XCTAssertTrue(confirm.stderr.contains(sameMessage) && apply.stderr.contains(sameMessage),
                      "confirm: \(confirm.stderr)\napply: \(apply.stderr)")
        XCTAssertFalse(confirm.stderr.contains("NSCocoaErrorDomain"), confirm.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDirectory), "an unprivileged confirm created its state")

        let privileged = try cgwfw(ns, ["confirm"], runDirectory: runDirectory)
        XCTAssertEqual(privileged.status, 0, privileged.stderr)
        XCTAssertTrue(privileged.stdout.contains("nothing pending"), privileged.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDirectory), "confirm with nothing pending created its state")
    }
}
