import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation
import Glibc

struct ConfirmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Keep the rules of a pending `apply --confirm` (cancel the automatic rollback).",
        discussion: """
        After `cgwfw apply --confirm SECONDS`, a detached watchdog restores the previous rules at the deadline unless this command runs first. Run it over a fresh connection: that proves the new rules let you in. With nothing pending it says so and exits 0. The watchdog never restores over a change made in the meantime (it compares cgwfw's rules in the kernel with what the unconfirmed apply left, and logs to /run/cgwfw/watchdog.log what it did).

        Examples:
          cgwfw apply --confirm 120 vpn.txt
          cgwfw confirm
        """
    )

    @Flag(help: .hidden)
    var watchdog = false

    func run() throws {
        if watchdog {
            runWatchdog()
            return
        }
        // Like every command that changes the kernel's rules: without CAP_NET_ADMIN, 77 before touching anything.
        guard hasEffectiveCapability(netAdminCapability) else {
            printError("cgwfw: \(NetlinkError.permission("confirming a pending rollback"))")
            throw SysExit.noPermission.exit
        }
        // Nothing pending: say so without creating the state directory.
        guard FileManager.default.fileExists(atPath: CommitConfirmStore.pendingPath) else {
            print(nothingPending())
            return
        }
        let message: String = try CommitConfirmStore.locked {
            guard let pending = CommitConfirmStore.load() else { return nothingPending() }
            if pending.watchdogPID > 0 { kill(pending.watchdogPID, SIGTERM) }
            CommitConfirmStore.clear()
            return "cgwfw: confirmed: keeping the current rules of \(pending.table); rollback cancelled"
        }
        print(message)
    }

    private func nothingPending() -> String {
        let last = (try? String(contentsOfFile: CommitConfirmStore.lastOutcomePath, encoding: .utf8)) ?? ""
        return "cgwfw: nothing pending to confirm" + (last.isEmpty ? "" : " (last watchdog: \(last))")
    }

    /// The detached rollback: sleeps to the deadline (leaving early once confirmed), then restores.
    private func runWatchdog() {
        signal(SIGHUP, SIG_IGN)
        // No inherited descriptor may stay open: a caller waiting for EOF on a pipe (Ansible's run_command,
        // Foundation's Process) would otherwise wait for the watchdog's whole lifetime.
        // (posix_spawn_file_actions_addclosefrom_np is not visible to Swift.)
        let limit = min(Int32(sysconf(Int32(_SC_OPEN_MAX))), 65_536)
        for fd in 3..<max(limit, 3) { close(fd) }
        let me = getpid()
        while true {
            guard let pending = CommitConfirmStore.load(), pending.watchdogPID == me || pending.watchdogPID == 0 else {
                CommitConfirmStore.log("confirmed or replaced; no rollback")
                return
            }
            let now = Date().timeIntervalSince1970
            if now >= pending.deadline {
                        break
            }
            usleep(100_000)
        }
        _ = try? CommitConfirmStore.locked {
            guard let pending = CommitConfirmStore.load(), pending.watchdogPID == me else { return }
            defer { CommitConfirmStore.clear() }
            let outcome: String
            do {
                outcome = try Engine().rollback(pending)
            } catch {
                outcome = "rollback of \(pending.table) failed: \(error)"
            }
            CommitConfirmStore.log(outcome)
            try? "\(Date()) \(outcome)".write(toFile: CommitConfirmStore.lastOutcomePath, atomically: true, encoding: .utf8)
        }
    }
}

enum CommitConfirmError: Error, CustomStringConvertible {
    case pending(table: TableRef, secondsLeft: Int)
    case state(String)

    var description: String {
        switch self {
        case let .pending(table, seconds):
            return "a commit-confirm of \(table) is pending (rollback in \(seconds) s): run `cgwfw confirm` to keep "
                + "those rules, wait for the rollback, or pass --force"
        case let .state(text):
            return text
        }
    }

    var exitCode: SysExit {
        switch self {
        case .pending: return .tempFail
        case .state: return .cantCreate
        }
    }
}

/// apply with the commit-confirm rules: refuse while pending (unless --force), keep the previous state,
/// start the detached watchdog.
enum CommitConfirmRunner {
    static func apply(intent: RuleIntent, target: ApplyTarget, confirmSeconds: Int?, force: Bool,
                      renderText: Bool) throws -> ApplyReport {
        if confirmSeconds == nil && !FileManager.default.fileExists(atPath: CommitConfirmStore.pendingPath) {
            return try withEngine(renderText: renderText) { engine throws(NetlinkError) in
                try applyWithSnapshot(engine, intent: intent, target: target, dryRun: false).report
            }
        }
        return try CommitConfirmStore.locked {
            var pending = CommitConfirmStore.load()
            if let current = pending, current.watchdogPID > 0, kill(current.watchdogPID, 0) != 0 {
                CommitConfirmStore.clear()   // its watchdog is gone (reboot, kill): nothing will roll back
                pending = nil
            }
            if let pending, !force {
                throw CommitConfirmError.pending(table: pending.table,
                                                 secondsLeft: max(0, Int(pending.deadline - Date().timeIntervalSince1970)))
            }
            if let pending {
                if pending.watchdogPID > 0 { kill(pending.watchdogPID, SIGTERM) }
                CommitConfirmStore.clear()
            }
            let table = target.table(for: intent)
            let mode = target.mode(for: intent)
            return try withEngine(renderText: renderText) { engine throws(NetlinkError) -> ApplyReport in
                var previous = pending?.previous
                if confirmSeconds != nil && pending == nil {
                    previous = Engine.restorable(try engine.read(table: table, mode: mode))
                    if let previous, !previous.isRewritable {
                        throw NetlinkError.refused(object: "a restorable copy of \(table)", errno: EOPNOTSUPP,
                                                   detail: "its rules were edited by hand beyond what cgwfw writes; "
                                                       + "apply without --confirm first")
                    }
                }
                let outcome = try applyWithSnapshot(engine, intent: intent, target: target, dryRun: false)
                let report = outcome.report
                if let seconds = confirmSeconds, report.changed || pending != nil, let applied = outcome.applied?.desiredState {
                    startWatchdog(PendingConfirm(table: table, mode: mode, previous: previous, applied: applied,
                                                 deadline: Date().timeIntervalSince1970 + Double(seconds), watchdogPID: 0))
                }
                return report
            }
        }
    }

    /// Re-executes cgwfw as `confirm --watchdog` in a new session (no terminal, survives SSH logout).
    private static func startWatchdog(_ pending: PendingConfirm) {
        var pending = pending
        do {
            try CommitConfirmStore.save(pending)
        } catch {
            printError("cgwfw: warning: cannot record the pending rollback in \(CommitConfirmStore.directory): \(error)")
            return
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc, _GNU_SOURCE only, so not imported): the child starts a new session.
        posix_spawnattr_setflags(&attributes, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, CommitConfirmStore.logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let arguments = [executable, "confirm", "--watchdog"]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
        guard status == 0 else {
            CommitConfirmStore.clear()
            printError("cgwfw: warning: cannot start the rollback watchdog: \(String(cString: strerror(status))); "
                       + "the change stays applied without a rollback")
            return
        }
        pending.watchdogPID = pid
        try? CommitConfirmStore.save(pending)
    }
}

/// CAP_NET_ADMIN's bit in the capability sets (linux/capability.h).
let netAdminCapability = 12

/// Whether this process holds `capability` in its effective set (the CapEff line of /proc/self/status).
func hasEffectiveCapability(_ capability: Int) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let bits = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else {
        return geteuid() == 0
    }
    return bits & (1 << UInt64(capability)) != 0
}
