import Foundation
import XCTest

/// Commit-confirm under faults: a killed watchdog, a reused process id, a restart inside the window, and
/// state directories someone prepared to mislead cgwfw. Each in a throwaway network namespace.
final class CommitConfirmTests: XCTestCase {
    private var namespaces: [KernelNamespace] = []

    override func setUpWithError() throws {
        try KernelNamespace.requireRoot()
    }

    override func tearDown() {
        for namespace in namespaces { namespace.destroy() }
    }

    private func makeNamespace() throws -> KernelNamespace {
        let namespace = try KernelNamespace()
        namespaces.append(namespace)
        return namespace
    }

    private var example: String { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt").path }

    /// The example with tunnel 2's AWS endpoint replaced.
    private func changed(in namespace: KernelNamespace) throws -> String {
        let text = try String(contentsOfFile: example, encoding: .utf8).replacingOccurrences(of: "192.0.2.20", with: "192.0.2.30")
        let url = namespace.scratch.appendingPathComponent("changed.txt")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func pendingRecord(_ namespace: KernelNamespace) throws -> [String: Any] {
        let data = try Data(contentsOf: namespace.scratch.appendingPathComponent("state/lib/pending.json"))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private func writePendingRecord(_ namespace: KernelNamespace, _ record: [String: Any]) throws {
        let url = namespace.scratch.appendingPathComponent("state/lib/pending.json")
        try JSONSerialization.data(withJSONObject: record).write(to: url)
        chmod(url.path, 0o600)
    }

    private func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    private func killWatchdog(_ namespace: KernelNamespace) throws -> Int32 {
        let pid = try XCTUnwrap(try pendingRecord(namespace)["watchdogPID"] as? Int).int32
        XCTAssertTrue(isAlive(pid))
        kill(pid, SIGKILL)
        for _ in 0..<50 where isAlive(pid) { usleep(20_000) }
        usleep(50_000)
        return pid
    }

    func testAKilledWatchdogIsReportedByShowDiffApplyAndConfirmNeverSilently() throws {
        let ns = try makeNamespace()
        XCTAssertEqual(try ns.cgwfw(["apply", example]).status, 0)
        let changed = try changed(in: ns)
        XCTAssertEqual(try ns.cgwfw(["apply", "--confirm", "30", changed]).status, 0)
        let show = try ns.cgwfw(["show"])
        XCTAssertTrue(show.stdout.contains("is pending: the previous rules come back in"), show.stdout)
        _ = try killWatchdog(ns)

        let afterKill = try ns.cgwfw(["show", "--json"])
        XCTAssertTrue(afterKill.stdout.contains("watchdog is gone"), afterKill.stdout)
        let diff = try ns.cgwfw(["diff", changed])
        XCTAssertTrue(diff.stdout.contains("watchdog is gone") || diff.stderr.contains("watchdog is gone"), diff.stdout + diff.stderr)
        let apply = try ns.cgwfw(["apply", changed])
        XCTAssertEqual(apply.status, 75, apply.stderr)
        XCTAssertTrue(apply.stderr.contains("watchdog is gone"), apply.stderr)
        let confirm = try ns.cgwfw(["confirm"])
        XCTAssertEqual(confirm.status, 0, confirm.stderr)
        XCTAssertTrue(confirm.stdout.contains("no longer running"), confirm.stdout)
        XCTAssertEqual(try ns.cgwfw(["apply", changed]).status, 0, "confirmed: apply works again")
    }

    func testConfirmNeverSignalsTheProcessThatGotTheWatchdogsPID() throws {
        let ns = try makeNamespace()
        let changed = try changed(in: ns)
        XCTAssertEqual(try ns.cgwfw(["apply", "--confirm", "30", changed]).status, 0)
        _ = try killWatchdog(ns)
        // An unrelated process now has "the watchdog's" process id.
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { bystander.terminate() }
        var record = try pendingRecord(ns)
        record["watchdogPID"] = Int(bystander.processIdentifier)
        try writePendingRecord(ns, record)
        let confirm = try ns.cgwfw(["confirm"])
        XCTAssertEqual(confirm.status, 0, confirm.stderr)
        XCTAssertTrue(confirm.stdout.contains("no longer running"), confirm.stdout)
        usleep(100_000)
        XCTAssertTrue(bystander.isRunning, "confirm signalled an unrelated process")
        let apply = try ns.cgwfw(["apply", "--confirm", "30", changed])
        XCTAssertEqual(apply.status, 0, "a reused PID never blocks apply: \(apply.stderr)")
        XCTAssertTrue(bystander.isRunning)
        XCTAssertEqual(try ns.cgwfw(["confirm"]).status, 0)
    }

    func testARestartInsideTheWindowBringsBackTheLastConfirmedRulesAtBoot() throws {
        let before = try makeNamespace()
        XCTAssertEqual(try before.cgwfw(["apply", example]).status, 0)
        let confirmedRules = try before.tableJSON("inet cgwfw")
        let changed = try changed(in: before)
        XCTAssertEqual(try before.cgwfw(["apply", "--confirm", "30", changed]).status, 0)
        _ = try killWatchdog(before)

        // The restart: a fresh kernel (another namespace), /run gone, the persistent record kept, another boot id.
        let after = try makeNamespace()
        try FileManager.default.removeItem(at: before.scratch.appendingPathComponent("state/run"))
        var record = try pendingRecord(before)
        record["bootID"] = "00000000-0000-0000-0000-000000000000"
        try writePendingRecord(before, record)
        let stateDir = before.scratch.appendingPathComponent("state").path
        let boot = try after.cgwfwWithState(stateDir, ["apply", "--boot", changed])
        XCTAssertEqual(boot.status, 0, boot.stderr)
        XCTAssertTrue((boot.stdout + boot.stderr).contains("restarted inside the commit-confirm window"), boot.stdout + boot.stderr)
        XCTAssertEqual(try after.tableJSON("inet cgwfw"), confirmedRules, "the boot applied the unconfirmed configs")
        let confirm = try after.cgwfwWithState(stateDir, ["confirm"])
        XCTAssertTrue(confirm.stdout.contains("nothing pending") && confirm.stdout.contains("restarted"), confirm.stdout)

        // Without --boot (by hand after the restart) the interrupted record is reported, not dropped.
        XCTAssertEqual(try before.cgwfw(["apply", "--confirm", "30", example]).status, 0)
        _ = try killWatchdog(before)
        var again = try pendingRecord(before)
        again["bootID"] = "00000000-0000-0000-0000-000000000000"
        try writePendingRecord(before, again)
        let byHand = try before.cgwfw(["apply", changed])
        XCTAssertEqual(byHand.status, 75, byHand.stderr)
        XCTAssertTrue(byHand.stderr.contains("when the machine restarted"), byHand.stderr)
        let rollback = try before.cgwfw(["confirm", "--rollback"])
        XCTAssertEqual(rollback.status, 0, rollback.stderr)
        XCTAssertTrue(rollback.stdout.contains("rolled back"), rollback.stdout)
    }

    func testStateDirectoriesAndFilesAreRefusedWhenTheyCouldMislead() throws {
        let ns = try makeNamespace()
        let changed = try changed(in: ns)
        let state = ns.scratch.appendingPathComponent("state")
        // A run directory others can write to.
        try FileManager.default.createDirectory(at: state.appendingPathComponent("run"), withIntermediateDirectories: true)
        chmod(state.appendingPathComponent("run").path, 0o777)
        let open = try ns.cgwfw(["apply", "--confirm", "30", changed])
        XCTAssertEqual(open.status, 77, open.stderr)
        XCTAssertTrue(open.stderr.contains("has mode 777, not 0700"), open.stderr)
        XCTAssertTrue(try ns.tableJSON("inet cgwfw").hasPrefix("(no table"), "applied despite an unsafe state directory")
        chmod(state.appendingPathComponent("run").path, 0o700)

        // A planted symlink where the pending record goes: never followed, never written through.
        let victim = ns.scratch.appendingPathComponent("victim")
        try "precious\n".write(to: victim, atomically: true, encoding: .utf8)
        chmod(victim.path, 0o600)
        try FileManager.default.createDirectory(at: state.appendingPathComponent("lib"), withIntermediateDirectories: true)
        chmod(state.appendingPathComponent("lib").path, 0o700)
        try FileManager.default.createSymbolicLink(atPath: state.appendingPathComponent("lib/pending.json").path,
                                                   withDestinationPath: victim.path)
        let planted = try ns.cgwfw(["apply", "--confirm", "30", changed])
        XCTAssertEqual(planted.status, 77, planted.stderr)
        XCTAssertTrue(planted.stderr.contains("symbolic link"), planted.stderr)
        XCTAssertEqual(try String(contentsOf: victim, encoding: .utf8), "precious\n")
        try FileManager.default.removeItem(atPath: state.appendingPathComponent("lib/pending.json").path)

        // What cgwfw creates: directories 0700, files 0600.
        XCTAssertEqual(try ns.cgwfw(["apply", "--confirm", "30", changed]).status, 0)
        for directory in ["run", "lib"] {
            let path = state.appendingPathComponent(directory).path
            XCTAssertEqual(try mode(path), 0o700, path)
            for file in try FileManager.default.contentsOfDirectory(atPath: path) {
                XCTAssertEqual(try mode(path + "/" + file), 0o600, "\(directory)/\(file)")
            }
        }
        XCTAssertEqual(try ns.cgwfw(["confirm"]).status, 0)
    }

    private func mode(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (attributes[.posixPermissions] as? Int) ?? -1
    }
}

extension Int {
    fileprivate var int32: Int32 { Int32(self) }
}

extension KernelNamespace {
    /// cgwfw inside the namespace with another namespace's state directory (one machine's /var/lib across a restart).
    func cgwfwWithState(_ stateDir: String, _ arguments: [String]) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        return try CLIRunner.run(["netns", "exec", name, binary.path] + CLIRunner.withStateDir(arguments, stateDir),
                                 executable: URL(fileURLWithPath: "/usr/sbin/ip"))
    }
}
